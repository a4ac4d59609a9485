#!/bin/bash
# 10-daemon-basics.sh: ccslurmd starts, checks configs, answers ping, status
# and nodes, takes a shim's resume to the (fake) cloud and tells (the
# recording) scontrol the addresses, refuses a user who is not allowed with
# nothing changed, keeps its config when a reload's is bad, and stops cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake

ccs_step "ccslurmd -n: a good config is OK"
ccs_write_config
out=$("$CCSLURMD" -n -c "$CCS_CONFIG")
ccs_assert_eq "configuration OK" "$out" "ccslurmd -n output"

ccs_step "ccslurmd -n: a bad config lists every error as FILE:LINE and exits 1"
bad=$CCS_T/bad.yaml
ccs_write_config "$bad" "bogus_top_level: 1"
sed -i 's/^  batch_window: 100ms$/  batch_window: soon/' "$bad"
rc=0
out=$("$CCSLURMD" -n -c "$bad" 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "ccslurmd -n exit status on a bad config"
ccs_assert_match "^$bad:[0-9]+: .*batch_window" "$out" "the duration error"
ccs_assert_match "^$bad:[0-9]+: .*bogus_top_level" "$out" "the unknown key"
n=$(printf '%s\n' "$out" | grep -Ec "^$bad:[0-9]+: ")
[ "$n" -ge 2 ] || ccs_fail "expected 2 FILE:LINE errors, got: $out"

ccs_step "the daemon starts and answers ping, status and nodes"
ccs_start_daemon
out=$(ccs_ctl ping)
ccs_assert_match '^ccslurmd [0-9.]+, pid [0-9]+, up [0-9]+s$' "$out" "ping"
st=$(ccs_ctl status --json)
ccs_assert_eq "$CCS_DAEMON_PID" "$(printf '%s' "$st" | ccs_json 'd["pid"]')" \
    "status pid"
ccs_assert_eq "$CCS_SOCKET" "$(printf '%s' "$st" | ccs_json 'd["socket"]')" \
    "status socket"
ccs_ctl status | grep -q '^nodes: ' || ccs_fail "status has no nodes line"
nodes=$(ccs_ctl nodes --json)
ccs_assert_eq list "$(printf '%s' "$nodes" |
    ccs_json 'type(d["nodes"]).__name__')" "nodes --json shape"
ccs_ctl nodes | head -1 | grep -Eq '^NAME +NODEARRAY +STATE +CC-STATUS +IP +AGE +ERROR$' ||
	ccs_fail "nodes table header"
ccs_ctl metrics | grep -q '^ccslurmd_build_info{' ||
	ccs_fail "metrics has no ccslurmd_build_info"
"$CCSLURMCTL" -s "$CCS_T/run/nobody.sock" ping 2>/dev/null && rc=0 || rc=$?
ccs_assert_eq 3 "$rc" "ping of an absent daemon"

ccs_step "a user who is not allowed is refused, and nothing changes"
# The test's own way in for a non-root user: the socket and the directories
# above it opened up (never what a site does; decisions.md).
chmod 0711 "$CCS_T" "$CCS_T/run"
chmod 0666 "$CCS_SOCKET"
chmod 0777 "$CCS_T/spool"
creates0=$(ccs_fake_requests create)
starts0=$(ccs_fake_requests start)
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env CCSLURMD_SOCKET="$CCS_SOCKET" CCSLURMD_SPOOL="$CCS_T/spool" \
    "$CCS_SHIM_DIR/ccslurm-resume" 'hpc-pg0-[3-4]' 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "shim exit status for a refused user"
ccs_assert_match 'permission denied: uid [0-9]+ may not resume nodes \(allowed: root' \
    "$out" "the daemon's refusal"
ccs_daemon_log_has 'uid [0-9]+ may not resume nodes' ||
	ccs_fail "the refusal is not in the daemon's log"
ccs_assert_eq 0 "$(find "$CCS_T/spool" -type f | wc -l)" "files spooled"
ccs_assert_eq "$creates0" "$(ccs_fake_requests create)" "creates after refusal"
ccs_assert_eq "$starts0" "$(ccs_fake_requests start)" "starts after refusal"
ccs_assert_eq powered_down "$(ccs_ctl nodes --json hpc-pg0-3 |
    ccs_json 'd["nodes"][0]["state"]')" "hpc-pg0-3 after the refusal"
chmod 0660 "$CCS_SOCKET"

ccs_step "a shim resume of 2 nodes: created/started in the cloud, Slurm told"
ccs_shim ccslurm-resume 'hpc-pg0-[1-2]'
ready2() {
	[ "$(ccs_fake GET nodes | ccs_json \
	    'sum(1 for n in d["nodes"] if n["Name"] in ("hpc-pg0-1","hpc-pg0-2") and n["Status"]=="Ready")')" = 2 ]
}
ccs_wait_for 60 "the fake to show hpc-pg0-1 and -2 Ready" ready2
addr_told() {
	[ "$(ccs_scontrol_calls '^update NodeName=.*NodeAddr=')" -ge 1 ] &&
	    [ "$(ccs_ctl nodes --json 'hpc-pg0-[1-2]' |
	    ccs_json 'sum(1 for n in d["nodes"] if n["state"]=="ready")')" = 2 ]
}
ccs_wait_for 60 "both nodes ready in the daemon and NodeAddr given" addr_told
ccs_assert_eq 1 "$(ccs_scontrol_calls '^update NodeName=.*NodeAddr=')" \
    "scontrol update NodeAddr calls (one, batched)"
"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" <<'PY' || ccs_fail "NodeAddr did not cover both nodes with the fake's IPs"
import json, sys
for line in open(sys.argv[1]):
    argv = json.loads(line)["argv"]
    if argv[0] == "update" and any(a.startswith("NodeAddr=") for a in argv):
        kv = dict(a.split("=", 1) for a in argv[1:])
        names = kv["NodeName"]
        assert names in ("hpc-pg0-[1-2]", "hpc-pg0-1,hpc-pg0-2"), names
        assert len(kv["NodeAddr"].split(",")) == 2, kv["NodeAddr"]
PY
made=$(ccs_fake GET counters |
    ccs_json 'sum(d["node_creates"].values()) + sum(d["node_starts"].values())')
[ "$made" -ge 2 ] || ccs_fail "the fake created/started $made nodes, not 2"
ccs_ctl nodes 'hpc-pg0-[1-2]' | grep -Ec '^hpc-pg0-[12] +hpc +ready +Ready +10\.' |
    grep -qx 2 || ccs_fail "nodes table does not show both ready with an IP"

ccs_step "SIGHUP with a bad config keeps the old one"
cp "$CCS_CONFIG" "$CCS_T/good.yaml"
printf 'bogus_top_level: 1\n' >>"$CCS_CONFIG"
kill -HUP "$CCS_DAEMON_PID"
ccs_wait_for 10 "the daemon to report the bad reload" \
    ccs_daemon_log_has 'keeping the old configuration'
ccs_daemon_log_has "reload: $CCS_CONFIG:[0-9]+: .*bogus_top_level" ||
	ccs_fail "the reload error is not logged as FILE:LINE"
ccs_ctl ping >/dev/null || ccs_fail "the daemon did not survive a bad reload"
rc=0
out=$(ccs_ctl reload 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "ccslurmctl reload exit status on a bad config"
ccs_assert_match "^$CCS_CONFIG:[0-9]+: .*bogus_top_level" "$out" "reload errors"
ccs_assert_eq "$CCS_SOCKET" "$(ccs_ctl status --json | ccs_json 'd["socket"]')" \
    "status after the bad reload"
cp "$CCS_T/good.yaml" "$CCS_CONFIG"
ccs_assert_eq "configuration reloaded" "$(ccs_ctl reload)" "good reload"

ccs_step "SIGTERM: a clean stop, the socket removed"
ccs_stop_daemon
[ ! -e "$CCS_SOCKET" ] || ccs_fail "the socket is still there after the stop"
