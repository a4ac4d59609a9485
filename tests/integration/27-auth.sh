#!/bin/bash
# 27-auth.sh: a wrong CycleCloud password.  Requests wait (queued) for
# daemon.auth_grace, then their nodes fail with the reason "ccslurmd:
# CycleCloud authentication failed" (State=POWER_DOWN_FORCE) so their jobs
# requeue; nothing is created.  Both when the password is wrong from the
# daemon's start (the cluster cannot even be read) and when it changes while
# the daemon runs.  Then a wrong password fixed (password file + SIGHUP)
# within the grace: the waiting requests go through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
grace=3
ccs_write_config "$CCS_CONFIG"
sed -i -e "s/^  poll_interval: .*/  poll_interval: 300ms\n  auth_grace: ${grace}s/" \
    "$CCS_CONFIG"
good=$(cat "$CCS_T/password")
reason='ccslurmd: CycleCloud authentication failed'
now_ms() { echo $(($(date +%s%N) / 1000000)); }
unauthorized() {
	[ "$(ccs_fake GET counters | ccs_json 'd["requests"]["unauthorized"]')" -ge 1 ]
}
queued() { # N: requests waiting in the daemon
	[ "$(ccs_ctl status --json | ccs_json 'd["requests_queued"]')" = "$1" ]
}
down_calls() { # HOSTLIST: POWER_DOWN_FORCE calls for it with the auth reason
	ccs_scontrol_calls "^update NodeName=${1//[/\\[} State=POWER_DOWN_FORCE Reason=$reason\$"
}
down_told() { [ "$(down_calls "$1")" -ge 1 ]; }

ccs_step "run 1: the password is wrong from the start"
ccs_fake POST password '{"password": "rotated-elsewhere"}' >/dev/null
t0=$(now_ms)
ccs_start_daemon
ccs_wait_for 10 "a 401 from the fake" unauthorized
ccs_shim ccslurm-resume 'htc-[1-3]' 2>/dev/null
queued 3 || ccs_fail "the 3 nodes are not waiting"
ccs_assert_eq 0 "$(down_calls 'htc-[1-3]')" "POWER_DOWN_FORCE before the grace"
ccs_wait_for 15 "POWER_DOWN_FORCE for htc-[1-3]" down_told 'htc-[1-3]'
waited=$(($(now_ms) - t0))
ccs_log "requests failed ${waited} ms after the daemon started (auth_grace ${grace}s)"
[ "$waited" -ge $((grace * 1000)) ] || ccs_fail "failed before the grace: $waited ms"
ccs_assert_eq 1 "$(down_calls 'htc-[1-3]')" "POWER_DOWN_FORCE calls for htc-[1-3]"
queued 0 || ccs_fail "requests still waiting after the grace"
ccs_assert_eq 0 "$(ccs_fake_requests create)" "create calls"
ccs_assert_eq 0 "$(ccs_fake_requests start)" "start calls"
ccs_assert_eq 3 "$(ccs_ctl metrics |
    sed -n 's/^ccslurmd_node_failures_by_reason_total{reason="auth"} //p')" \
    "auth failures in the metrics"
ccs_stop_daemon

ccs_step "run 1, restarted with the right password: the failed resume is not carried out"
ccs_fake POST password "{\"password\": \"$good\"}" >/dev/null
ccs_start_daemon
ccs_wait_for 10 "the daemon to read the cluster" ccs_daemon_started
ccs_ctl nodes --json 'htc-[1-3]' | "$CCS_PYTHON" -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    assert n["state"] == "failed" and n["error"] == sys.argv[1], n
' "CycleCloud authentication failed" || ccs_fail "htc-[1-3] after the restart"
ccs_assert_eq 0 "$(ccs_fake_requests create)" "create calls after the restart"

ccs_step "run 1b: the password changes while the daemon runs"
ccs_fake POST password '{"password": "rotated-again"}' >/dev/null
t0=$(now_ms)
ccs_shim ccslurm-resume 'htc-[4-5]' 2>/dev/null
ccs_wait_for 10 "a 401 for the create" unauthorized
ccs_all_in queued 'htc-[4-5]' || ccs_fail "htc-[4-5] not waiting (queued)"
ccs_wait_for 15 "POWER_DOWN_FORCE for htc-[4-5]" down_told 'htc-[4-5]'
waited=$(($(now_ms) - t0))
ccs_log "requests failed ${waited} ms after the resume (auth_grace ${grace}s)"
[ "$waited" -ge $((grace * 1000 - 500)) ] || ccs_fail "failed before the grace: $waited ms"
ccs_ctl nodes 'htc-[4-5]' | grep -Ec '^htc-[45] +htc +failed .*CycleCloud authentication failed$' |
    grep -qx 2 || ccs_fail "ccslurmctl nodes does not show htc-[4-5] failed with the reason"
ccs_assert_eq 0 "$(ccs_fake GET counters | ccs_json 'len([k for k in d["node_creates"] if k.startswith("htc")])')" \
    "htc nodes created"
ccs_stop_daemon

ccs_step "run 2: wrong at the start, fixed (password file + SIGHUP) within the grace"
sed -i "s/^  auth_grace: .*/  auth_grace: 10s/" "$CCS_CONFIG"
ccs_start_daemon
ccs_shim ccslurm-resume 'htc-[6-7]' 2>/dev/null
queued 2 || ccs_fail "htc-[6-7] not waiting"
(umask 077 && printf 'rotated-again\n' >"$CCS_T/password.new") &&
	mv "$CCS_T/password.new" "$CCS_T/password"
kill -HUP "$CCS_DAEMON_PID"
ccs_wait_for 20 "htc-[6-7] ready" ccs_all_in ready 'htc-[6-7]'
ccs_assert_eq 0 "$(ccs_scontrol_calls 'htc-[67].*POWER_DOWN_FORCE')" \
    "POWER_DOWN_FORCE for htc-[6-7]"
ccs_each_once node_creates 'htc-[6-7]' || ccs_fail "node_creates"
ccs_assert_eq 2 "$(ccs_fake GET counters | ccs_json 'len([k for k in d["node_creates"] if k.startswith("htc")])')" \
    "htc nodes created in all"
! grep -q 'rotated-again' "$CCS_T/daemon.log" || ccs_fail "the password is in the log"
ccs_stop_daemon
