#!/bin/bash
# 33-security.sh: the socket's mode and owner, refusals of a user who is not
# allowed (nobody), the CycleCloud password in no log, no argument list and
# no ccslurmctl output, the daemon non-dumpable, and a password file others
# may read refused at start with a clear message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hardening.sh"

hd_init
ccs_start_fake
ccs_write_config
PW=$(cat "$CCS_T/password")
[ ${#PW} -ge 16 ] || ccs_fail "the test password is too short to search for"

ccs_step "a password file readable by group or others is refused at start"
cp "$CCS_T/password" "$CCS_T/password.loose"
chmod 0640 "$CCS_T/password.loose"
ccs_write_config "$CCS_T/loose.yaml"
sed -i "s|^  password_file: .*|  password_file: $CCS_T/password.loose|" "$CCS_T/loose.yaml"
for mode in 0640 0604; do
	chmod "$mode" "$CCS_T/password.loose"
	rc=0
	out=$("$CCSLURMD" -f -c "$CCS_T/loose.yaml" 2>&1) || rc=$?
	ccs_assert_eq 1 "$rc" "ccslurmd exit status with a $mode password file"
	ccs_assert_match "$CCS_T/loose.yaml:[0-9]+: .*password_file.*(readable|writable) by group or others" \
	    "$out" "the refusal of a $mode password file"
	case $out in *"$PW"*) ccs_fail "the refusal prints the password" ;; esac
done

ccs_step "the daemon makes itself non-dumpable (prctl observed at start)"
# LeakSanitizer (scripts/test-sanitizers) needs ptrace at exit, which a
# process under strace cannot give it: no leak check for this one run.
CCS_DAEMON_WRAPPER="env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -qq -o $CCS_T/prctl.trace -e trace=prctl" \
    ccs_start_daemon
grep -q 'prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE) = 0' "$CCS_T/prctl.trace" ||
	ccs_fail "no successful prctl(PR_SET_DUMPABLE, 0): $(cat "$CCS_T/prctl.trace")"
dpid=$(pgrep -P "$CCS_DAEMON_PID" -x ccslurmd || echo "$CCS_DAEMON_PID")
grep -q '^CoreDumping:[[:space:]]*0' "/proc/$dpid/status" ||
	ccs_fail "no /proc status for the daemon"
# Stop the daemon itself (SIGTERM to strace would only detach it).
kill -TERM "$dpid"
rc=0
wait "$CCS_DAEMON_PID" || rc=$?
CCS_DAEMON_PID=
ccs_assert_eq 0 "$rc" "the daemon under strace stopped cleanly"
ccs_start_daemon

ccs_step "the socket: mode 0660, owned by the daemon's user"
ccs_assert_eq "660 root" "$(stat -c '%a %U' "$CCS_SOCKET")" "socket mode and owner"

ccs_step "nobody may not resume, suspend or reload (test mode: socket 0666)"
# Only a test opens the socket to everyone, so that a user who is not
# allowed can connect at all and the daemon's own refusal is what is seen.
chmod 0711 "$CCS_T" "$CCS_T/run"
chmod 0666 "$CCS_SOCKET"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env CCSLURMD_SOCKET="$CCS_SOCKET" "$@"
}
for cmd in "resume htc-1" "suspend htc-1" "reload"; do
	rc=0
	# shellcheck disable=SC2086 # the command and its argument
	out=$(as_nobody "$CCSLURMCTL" -s "$CCS_SOCKET" $cmd 2>&1) || rc=$?
	ccs_assert_eq 1 "$rc" "ccslurmctl $cmd as nobody: exit status"
	ccs_assert_match "permission denied: uid [0-9]+ may not ${cmd%% *}" "$out" \
	    "ccslurmctl $cmd as nobody"
done
as_nobody "$CCSLURMCTL" -s "$CCS_SOCKET" ping >/dev/null ||
	ccs_fail "nobody may not even ping"
ccs_assert_eq powered_down "$(ccs_ctl nodes --json htc-1 |
    ccs_json 'd["nodes"][0]["state"]')" "htc-1 after the refusals"
chmod 0660 "$CCS_SOCKET"

ccs_step "a burst and every read-out: the password appears nowhere"
ccs_shim ccslurm-resume 'htc-[1-2]' 2>"$CCS_T/shim.err"
hd_wait_settled 60 'htc-[1-2]'
# Wrong credentials too: the error path must not echo them either.
ccs_fake POST password '{"password":"another-one-entirely"}' >/dev/null
ccs_shim ccslurm-resume 'htc-[3-4]' 2>>"$CCS_T/shim.err"
seen_401() { [ "$(ccs_fake_requests unauthorized)" != 0 ]; }
ccs_wait_for 30 "a 401 seen" seen_401
ccs_fake POST password "{\"password\":\"$PW\"}" >/dev/null
out=$CCS_T/outputs
: >"$out"
for args in status "status --json" nodes "nodes --json" metrics ping \
    "check --slurm-conf /nonexistent"; do
	# shellcheck disable=SC2086
	ccs_ctl $args >>"$out" 2>&1 || true
done
# Every argument list of every process on the machine while all of ours run.
"$CCS_PYTHON" -c '
import glob
for f in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        print(open(f, "rb").read().replace(b"\0", b" ").decode("utf-8", "replace"))
    except OSError:
        pass' >"$CCS_T/cmdlines"
[ "$(grep -c ccslurmd "$CCS_T/cmdlines")" -ge 1 ] ||
	ccs_fail "the daemon's argument list was not seen"
ccs_fake GET log >"$CCS_T/fake-api.log"
for f in daemon.log fake.log fake-api.log outputs cmdlines shim.err \
    scontrol.log ccslurmd.yaml; do
	if grep -qF -- "$PW" "$CCS_T/$f"; then
		ccs_fail "the password is in $f"
	fi
done
# And not base64'd into a logged Authorization header either.
b64=$(printf '%s:%s' "$CCS_USER" "$PW" | base64 -w0)
if grep -rqF -- "$b64" "$CCS_T"; then
	ccs_fail "the Basic credentials appear under $CCS_T"
fi
ccs_stop_daemon
