#!/bin/sh
# check-man.sh SRCDIR [CCSLURMCTL]: every manual page renders at 80
# columns with no warning from groff (-ww) or man, says what its file name
# says, fits the width, and .so links resolve.  With the built ccslurmctl,
# every command it knows is documented in ccslurmctl(1) and completed by
# client/completion/ccslurmctl.bash.
set -eu
src=$1
ctl=${2:-}
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

for t in groff man; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# A man tree, so ".so man8/ccslurm-resume.8" resolves as when installed.
for f in "$src"/man/*.[1-8]; do
	s=${f##*.}
	mkdir -p "$tmp/man$s"
	cp "$f" "$tmp/man$s/"
done

n=0
cd "$tmp"
for f in man*/*; do
	n=$((n + 1))
	page=${f#*/}
	name=${page%.*}
	sect=${page##*.}
	if ! groff -ww -z -man "$f" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
		bad "$page: groff -ww:"; cat "$tmp/err" >&2
	fi
	if ! MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l -P cat "$f" \
	    >"$tmp/out" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
		bad "$page: man -l:"; cat "$tmp/err" >&2
	fi
	grep -q '^NAME' "$tmp/out" || bad "$page: no NAME section"
	grep -q '^SYNOPSIS' "$tmp/out" || bad "$page: no SYNOPSIS section"
	# A .so page must show its target, which names this page too.
	grep -q "^ *.*$name" "$tmp/out" || bad "$page: NAME does not say $name"
	awk -v p="$page" 'length($0) > 80 {
		print "FAIL: " p ": line wider than 80 columns: " $0; bad = 1
	} END { exit bad }' "$tmp/out" >&2 || fail=1
	if ! head -1 "$f" | grep -q '^\.so '; then
		th=$(grep '^\.TH ' "$f" | head -1)
		want=$(echo "$name" | tr 'a-z' 'A-Z' | sed 's/-/\\\\-/g')
		echo "$th" | grep -q "^\.TH $want $sect " ||
			bad "$page: .TH says '$th', want '$want $sect'"
	fi
done
[ "$n" -ge 6 ] || bad "only $n pages found in $src/man"

if [ -n "$ctl" ]; then
	"$ctl" --help >"$tmp/help"
	cmds=$(awk '/^  [a-z]/ { print $1 }' "$tmp/help")
	[ -n "$cmds" ] || bad "ccslurmctl --help lists no command"
	MANWIDTH=80 man -l -P cat man1/ccslurmctl.1 >"$tmp/ctl" 2>/dev/null
	for c in $cmds; do
		grep -Eq "^       $c( |$)" "$tmp/ctl" ||
			bad "ccslurmctl $c: not in ccslurmctl(1) COMMANDS"
		grep -Eq "(^|[[:space:]\"])$c([[:space:]\"]|\$)" \
		    "$src/client/completion/ccslurmctl.bash" ||
			bad "ccslurmctl $c: not completed by ccslurmctl.bash"
	done
fi
[ $fail -eq 0 ] && echo "ok: $n manual pages"
exit $fail
