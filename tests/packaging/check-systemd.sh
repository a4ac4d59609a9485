#!/bin/sh
# check-systemd.sh SRCDIR GENDIR CCSLURMD: the installed units (GENDIR holds
# them as cmake configured them) pass `systemd-analyze verify` with no
# message at all, and the tmpfiles snippet makes the spool and state
# directories as it should.
#
# verify checks that ExecStart= binaries exist and that Documentation=
# man pages resolve, so it runs on copies whose /usr/sbin/ccslurmd is the
# build's ccslurmd and with MANPATH pointing at our own man pages: what is
# verified is these units, these pages and this binary, not the machine's.
# A control copy with an unknown key must draw a complaint, or a silent
# verify proves nothing.
set -eu
src=$1
gen=$2
daemon=$3
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }
[ -x "$daemon" ] || { echo "FAIL: $daemon is not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for s in 1 5 8; do
	mkdir -p "$tmp/man/man$s"
	cp "$src"/man/*."$s" "$tmp/man/man$s/"
done
mkdir "$tmp/units" "$tmp/control"
for u in ccslurmd.service ccslurmd.socket; do
	[ -f "$gen/$u" ] || { echo "FAIL: $gen/$u missing" >&2; exit 1; }
	sed "s#/usr/sbin/ccslurmd#$daemon#g" "$gen/$u" >"$tmp/units/$u"
	cp "$tmp/units/$u" "$tmp/control/$u"
done
grep -q "^ExecStart=$daemon " "$tmp/units/ccslurmd.service" ||
	bad "ccslurmd.service: ExecStart is not /usr/sbin/ccslurmd"

verify() {
	(cd "$1" && MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 \
	    systemd-analyze verify ./ccslurmd.socket ./ccslurmd.service) \
	    >"$tmp/out" 2>&1
}
if ! verify "$tmp/units" || [ -s "$tmp/out" ]; then
	bad "systemd-analyze verify:"
	cat "$tmp/out" >&2
fi
sed -i 's/^\[Service\]$/[Service]\nNoSuchKey=1/' "$tmp/control/ccslurmd.service"
verify "$tmp/control" || true
grep -q "NoSuchKey" "$tmp/out" ||
	bad "control: verify did not notice an unknown key"

# The units as the daemon and docs expect them (decisions.md, "systemd").
svc="$tmp/units/ccslurmd.service"
for want in '^Type=notify$' '^User=slurm$' '^LimitCORE=0$' \
    '^ProtectSystem=strict$' '^RuntimeDirectoryPreserve=yes$' \
    '^ReadWritePaths=/var/spool/ccslurmd$' '^NoNewPrivileges=yes$' \
    '^LoadCredential=cyclecloud-password$' '^Requires=ccslurmd.socket$'; do
	grep -q "$want" "$svc" || bad "ccslurmd.service: no line $want"
done
grep -q '^ListenStream=/run/ccslurmd/ccslurmd.sock$' \
    "$tmp/units/ccslurmd.socket" || bad "ccslurmd.socket: ListenStream"
# The password never on a command line or in the environment.
grep -Eiq '^(Environment|ExecStart|ExecStartPre).*pass' "$svc" &&
	bad "ccslurmd.service: a password on a command line or in Environment"

# tmpfiles: in a scratch root with this machine's users.
if command -v systemd-tmpfiles >/dev/null 2>&1 &&
    getent passwd slurm >/dev/null 2>&1; then
	mkdir -p "$tmp/root/etc"
	getent passwd >"$tmp/root/etc/passwd"
	getent group >"$tmp/root/etc/group"
	systemd-tmpfiles --root="$tmp/root" --create "$gen/ccslurmd.tmpfiles" \
	    >"$tmp/out" 2>&1 || { bad "systemd-tmpfiles:"; cat "$tmp/out" >&2; }
	for d in var/spool/ccslurmd var/lib/ccslurmd; do
		got=$(stat -c '%a %U %G' "$tmp/root/$d" 2>/dev/null || echo none)
		[ "$got" = "700 slurm slurm" ] ||
			bad "tmpfiles: /$d is '$got', want '700 slurm slurm'"
	done
else
	echo "note: no systemd-tmpfiles or no user slurm: tmpfiles not run"
fi
[ $fail -eq 0 ] && echo "ok: units verified, tmpfiles applied"
exit $fail
