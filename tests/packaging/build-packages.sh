#!/bin/sh
# build-packages.sh SRCDIR SCRATCH: build the .deb and .rpm with cpack in a
# scratch build directory (a release build, prefix /usr, as a package is
# built), check what they hold and declare, then install the .deb on this
# machine, check the installed tree, and remove and purge it, leaving the
# machine as it was.
#
# Needs: cmake, dpkg-deb, dpkg-shlibdeps (dpkg-dev), rpm/rpmbuild (rpm), man
# (man-db), systemd-analyze (systemd); root for the install half.  Exit 77
# (skipped) when a tool is missing or when ccslurmd is already installed
# here: this test never touches an installation it did not make.
set -eu
src=$1
bld=$2
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
step() { echo "== $*"; }

for t in cmake cpack dpkg-deb dpkg-shlibdeps rpm rpmbuild; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; }
done

# The files every package must hold (programs, units, pages, docs).
expect_files="
/etc/ccslurmd/ccslurmd.yaml
/usr/sbin/ccslurmd
/usr/bin/ccslurmctl
/usr/libexec/ccslurmd/ccslurm-resume
/usr/libexec/ccslurmd/ccslurm-suspend
/usr/libexec/ccslurmd/ccslurm-resumefail
/usr/lib/systemd/system/ccslurmd.service
/usr/lib/systemd/system/ccslurmd.socket
/usr/lib/tmpfiles.d/ccslurmd.conf
/usr/share/bash-completion/completions/ccslurmctl
/usr/share/ccslurmd/job_submit.lua
/usr/share/ccslurmd/cyclecloud/slurm-headless.txt
/usr/share/doc/ccslurmd/README.md
/usr/share/doc/ccslurmd/burst-setup.md
/usr/share/doc/ccslurmd/troubleshooting.md
/usr/share/doc/ccslurmd/security.md
/usr/share/doc/ccslurmd/high-availability.md
/usr/share/doc/ccslurmd/cyclecloud-template.md
/usr/share/man/man1/ccslurmctl.1.gz
/usr/share/man/man5/ccslurmd.yaml.5.gz
/usr/share/man/man8/ccslurmd.8.gz
/usr/share/man/man8/ccslurm-resume.8.gz
/usr/share/man/man8/ccslurm-suspend.8.gz
/usr/share/man/man8/ccslurm-resumefail.8.gz
"
plugin=""
if [ -f /usr/include/slurm/slurm.h ]; then
	plugin=/usr/lib/x86_64-linux-gnu/slurm-wlm/job_submit_cyclecloud.so
	[ -d /usr/lib/x86_64-linux-gnu/slurm-wlm ] ||
		plugin=/usr/lib/slurm/job_submit_cyclecloud.so
	expect_files="$expect_files $plugin"
fi

step "build in $bld"
cmake -S "$src" -B "$bld" -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >"$bld.log" 2>&1 ||
	{ cat "$bld.log" >&2; exit 1; }
cmake --build "$bld" -j2 >>"$bld.log" 2>&1 || { tail -50 "$bld.log" >&2; exit 1; }
rm -f "$bld"/*.deb "$bld"/*.rpm
(cd "$bld" && cpack -G "DEB;RPM") >>"$bld.log" 2>&1 ||
	{ tail -50 "$bld.log" >&2; exit 1; }
deb=$(ls "$bld"/ccslurmd_*.deb)
rpmf=$(ls "$bld"/ccslurmd-*.rpm)
tmp=$(mktemp -d)
cleanup() {
	if [ -n "${installed:-}" ] && dpkg -s ccslurmd >/dev/null 2>&1; then
		dpkg --purge ccslurmd >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "deb: $deb"
dpkg-deb -c "$deb" >"$tmp/deb.list"
awk '{ print $6 }' "$tmp/deb.list" | sed 's#^\./#/#; s#/$##' >"$tmp/deb.files"
for f in $expect_files; do
	grep -qx "$f" "$tmp/deb.files" || bad "deb: $f missing"
done
grep -q '/ccslurm-suspend -> ccslurm-resume$' "$tmp/deb.list" ||
	bad "deb: ccslurm-suspend is not a link to ccslurm-resume"
grep '/etc/ccslurmd/ccslurmd.yaml$' "$tmp/deb.list" |
    grep -q '^-rw-r--r-- root/root' || bad "deb: ccslurmd.yaml not 0644 root"
grep -q 'password' "$tmp/deb.files" && bad "deb: ships a password file"
dpkg-deb -I "$deb" conffiles >"$tmp/conffiles"
[ "$(cat "$tmp/conffiles")" = /etc/ccslurmd/ccslurmd.yaml ] ||
	bad "deb: conffiles is '$(cat "$tmp/conffiles")'"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in 'slurm-client (>= 22.05)' libevent-2.1 libcurl4 libjson-c5 \
    libyaml-0-2 libsystemd0 libc6; do
	echo "$depends" | grep -qF "$d" || bad "deb: Depends lacks $d"
done
if [ -n "$plugin" ]; then
	# The plugin loads only into the slurmctld major.minor it was built for.
	v=$(sed -n 's/^#define SLURM_VERSION_NUMBER *0x\(..\)\(..\).*/\1 \2/p' \
	    /usr/include/slurm/slurm_version.h)
	set -- $v
	mm=$(printf '%d.%02d' "0x$1" "0x$2")
	echo "$depends" | grep -qF "slurmctld (>= $mm)" ||
		bad "deb: Depends lacks slurmctld (>= $mm)"
	echo "$depends" | grep -qF "slurmctld (<< " ||
		bad "deb: Depends has no upper bound on slurmctld"
fi
for s in postinst prerm postrm; do
	dpkg-deb -I "$deb" "$s" >/dev/null 2>&1 || bad "deb: no $s"
done
dpkg-deb -I "$deb" postinst >"$tmp/postinst"
grep -Eq 'systemctl +(--[a-z]+ +)*(enable|start|restart) ' "$tmp/postinst" &&
	bad "deb: postinst enables or starts the daemon"

step "rpm: $rpmf"
# The spec for native RHEL rebuilds must at least parse.
if command -v rpmspec >/dev/null 2>&1; then
	rpmspec -P "$src/packaging/ccslurmd.spec" >/dev/null 2>"$tmp/spec" ||
		{ bad "packaging/ccslurmd.spec does not parse:"; cat "$tmp/spec" >&2; }
fi
rpm -qpR "$rpmf" 2>/dev/null | sed 's/ .*//' | sort -u >"$tmp/rpm.req"
echo "Requires: $(tr '\n' ' ' <"$tmp/rpm.req")"
for d in glibc libevent libcurl json-c libyaml systemd-libs slurm; do
	grep -qx "$d" "$tmp/rpm.req" || bad "rpm: Requires lacks $d"
done
[ -z "$plugin" ] || grep -qx slurm-slurmctld "$tmp/rpm.req" ||
	bad "rpm: Requires lacks slurm-slurmctld"
# Debian names or sonames would not resolve on RHEL.
grep -E '^lib.*-[0-9]|\.so|^libc6$|^libjson-c5$' "$tmp/rpm.req" &&
	bad "rpm: Requires a Debian name or a soname"
rpm -qpl "$rpmf" 2>/dev/null >"$tmp/rpm.files"
for f in $expect_files; do
	grep -qx "$f" "$tmp/rpm.files" || bad "rpm: $f missing"
done
for d in /usr/sbin /usr/share/man /etc /usr/lib/systemd/system /usr/libexec; do
	grep -qx "$d" "$tmp/rpm.files" && bad "rpm: claims the system directory $d"
done
[ "$(rpm -qpc "$rpmf" 2>/dev/null)" = /etc/ccslurmd/ccslurmd.yaml ] ||
	bad "rpm: config files are: $(rpm -qpc "$rpmf" 2>/dev/null | tr '\n' ' ')"
rpm -qp --scripts "$rpmf" 2>/dev/null | grep -q 'systemd-tmpfiles --create' ||
	bad "rpm: %post does not create the directories"

if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root: the .deb was not installed"
	exit $fail
fi
if dpkg -s ccslurmd >/dev/null 2>&1 || [ -e /usr/sbin/ccslurmd ] ||
    [ -e /etc/ccslurmd ] || [ -e /var/spool/ccslurmd ] ||
    [ -e /var/lib/ccslurmd ]; then
	echo "SKIP: ccslurmd (or its directories) already on this machine:" \
	    "not installing over it"
	exit 77
fi

step "dpkg -i"
installed=1
dpkg -i "$deb" >"$tmp/dpkg.out" 2>&1 || { bad "dpkg -i:"; cat "$tmp/dpkg.out" >&2; }
for f in $expect_files; do
	[ -e "$f" ] || bad "installed: $f missing"
done
for d in /var/spool/ccslurmd /var/lib/ccslurmd; do
	got=$(stat -c '%a %U' "$d" 2>/dev/null || echo none)
	[ "$got" = "700 slurm" ] || bad "postinst: $d is '$got', want '700 slurm'"
done
/usr/sbin/ccslurmd -V >/dev/null 2>&1 || bad "ccslurmd -V failed"
/usr/bin/ccslurmctl --version >/dev/null 2>&1 || bad "ccslurmctl --version failed"
[ "$(man -w ccslurmd.yaml)" = /usr/share/man/man5/ccslurmd.yaml.5.gz ] ||
	bad "man -w ccslurmd.yaml: $(man -w ccslurmd.yaml 2>&1)"
MANWIDTH=80 man -P cat 8 ccslurm-resumefail 2>&1 | grep -q 'SUSPEND\|ccslurm-suspend' ||
	bad "man ccslurm-resumefail does not show the shims' page"
# Now the units name binaries that exist: verify them in place.
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify /usr/lib/systemd/system/ccslurmd.socket \
	    /usr/lib/systemd/system/ccslurmd.service >"$tmp/v" 2>&1 &&
	    [ ! -s "$tmp/v" ] || { bad "installed units:"; cat "$tmp/v" >&2; }
fi
# An installed shim refuses a malformed hostlist with one line.
# (It fails before any socket or spool is touched.)
if /usr/libexec/ccslurmd/ccslurm-suspend 'node[1-2]-ib' >"$tmp/o" 2>"$tmp/e"; then
	bad "ccslurm-suspend accepted a malformed hostlist"
fi
[ "$(wc -l <"$tmp/e")" -eq 1 ] || bad "ccslurm-suspend: not one line: $(cat "$tmp/e")"

step "ccslurmd -n on a fresh install"
# No password file yet: the one error a fresh install must have.
runuser -u slurm -- /usr/sbin/ccslurmd -n -c /etc/ccslurmd/ccslurmd.yaml \
    >"$tmp/n.out" 2>&1 && bad "ccslurmd -n passed without a password file"
cat "$tmp/n.out"
grep -v 'cyclecloud.password_file' "$tmp/n.out" | grep -q . &&
	bad "ccslurmd -n: errors a fresh install should not have"
grep -q 'ccslurmd.yaml:[0-9]*: cyclecloud.password_file:' "$tmp/n.out" ||
	bad "ccslurmd -n did not name the missing password file"
# With a password file as `ccslurmctl initialize` writes it (owner: the
# daemon's user, 0600) the shipped configuration is valid as it stands.
pw=/etc/ccslurmd/cyclecloud.password
(umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$pw")
chown slurm:slurm "$pw"
runuser -u slurm -- /usr/sbin/ccslurmd -n -c /etc/ccslurmd/ccslurmd.yaml \
    >"$tmp/n.out" 2>&1 || true
[ "$(cat "$tmp/n.out")" = "configuration OK" ] ||
	{ bad "ccslurmd -n with a password file:"; cat "$tmp/n.out" >&2; }
grep -qf "$pw" "$tmp/n.out" && bad "ccslurmd -n printed the password"

step "dpkg -r, dpkg --purge"
dpkg -r ccslurmd >"$tmp/dpkg.out" 2>&1 || { bad "dpkg -r:"; cat "$tmp/dpkg.out" >&2; }
[ -e /usr/sbin/ccslurmd ] && bad "dpkg -r left /usr/sbin/ccslurmd"
[ -f /etc/ccslurmd/ccslurmd.yaml ] || bad "dpkg -r removed the conffile"
dpkg --purge ccslurmd >"$tmp/dpkg.out" 2>&1 ||
	{ bad "dpkg --purge:"; cat "$tmp/dpkg.out" >&2; }
installed=""
while read -r f; do
	[ -n "$f" ] && [ "$f" != / ] || continue
	case $f in
	*ccslurm*) ;;
	*) [ -d "$f" ] && continue ;;	# a directory others share
	esac
	[ -e "$f" ] || [ -L "$f" ] && bad "purge left $f"
done <"$tmp/deb.files"
for f in /etc/ccslurmd /var/spool/ccslurmd /var/lib/ccslurmd; do
	[ -e "$f" ] && bad "purge left $f"
done
dpkg -s ccslurmd >/dev/null 2>&1 && bad "dpkg still knows ccslurmd"

[ $fail -eq 0 ] && echo "ok: .deb and .rpm built, checked, installed and purged"
exit $fail
