#!/bin/bash
# 22-capacity.sh: start failures reach Slurm at once.  A capacity refusal
# for some nodes of one nodearray: those nodes get State=POWER_DOWN_FORCE
# with the cloud's reason within one poll interval of the create's answer,
# `ccslurmctl nodes` shows them failed with it, and the other nodes go on
# to ready.  Nodes that CycleCloud shows Failed (fail_nodes) likewise fail,
# are powered down in Slurm, and their VMs are shut down.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
poll_ms=500
ccs_write_config "$CCS_CONFIG"
sed -i -e "s/^  poll_interval: .*/  poll_interval: ${poll_ms}ms/" \
    -e 's/^  batch_window: .*/  batch_window: 200ms/' "$CCS_CONFIG"
ccs_start_daemon

msg='AllocationFailed: no Standard_F2s_v2 capacity in westeurope (test)'
ccs_step "a capacity fault for 3 htc nodes; 5 htc and 2 hpc nodes resumed"
ccs_fake POST faults "{\"kind\": \"capacity\", \"nodearray\": \"htc\",
    \"count\": 3, \"message\": \"$msg\"}" >/dev/null
ccs_shim ccslurm-resume 'htc-[1-5],hpc-pg0-[1-2]' 2>/dev/null
ccs_wait_for 30 "3 htc nodes failed" bash -c '[ "$("$0" -s "$1" nodes --json "htc-[1-5]" |
    "$2" -c "import json,sys; print(sum(n[\"state\"] == \"failed\" for n in json.load(sys.stdin)[\"nodes\"]))")" = 3 ]' \
    "$CCSLURMCTL" "$CCS_SOCKET" "$CCS_PYTHON"
ccs_wait_for 30 "Slurm told POWER_DOWN_FORCE" \
    ccs_scontrol_called 'State=POWER_DOWN_FORCE'

ccs_step "the refused nodes: failed with the cloud's message, POWER_DOWN_FORCE in one call"
refused=$(ccs_fake GET nodes | ccs_json \
    '",".join(sorted({"htc-%d" % i for i in range(1, 6)} - {n["Name"] for n in d["nodes"]}))')
ccs_log "CycleCloud did not add: $refused"
ccs_assert_eq 3 "$(printf '%s\n' "$refused" | tr , '\n' | wc -l)" "nodes not added"
ccs_ctl nodes --json "$refused" | "$CCS_PYTHON" -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    assert n["state"] == "failed", n
    assert sys.argv[1] in (n["error"] or ""), n
' "$msg" || ccs_fail "nodes --json does not show the refused nodes failed with the message"
for n in ${refused//,/ }; do
	ccs_ctl nodes "$n" | grep -E "^$n +htc +failed .*AllocationFailed" >/dev/null ||
		ccs_fail "the nodes table does not show $n failed with the message"
done
ccs_assert_eq 1 "$(ccs_scontrol_calls 'State=POWER_DOWN_FORCE')" \
    "POWER_DOWN_FORCE calls (one, batched)"
"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" "$(ccs_ctl hostnames "$refused")" "$msg" \
    "$poll_ms" <(ccs_fake GET log) <<'PY' || ccs_fail "the POWER_DOWN_FORCE call"
import json, sys
want, msg, poll = set(sys.argv[2].split()), sys.argv[3], int(sys.argv[4])
for line in open(sys.argv[1]):
    rec = json.loads(line)
    if "State=POWER_DOWN_FORCE" in rec["argv"]:
        break
kv = dict(a.split("=", 1) for a in rec["argv"][1:])
reason = kv["Reason"]
assert reason.startswith("ccslurmd: ") and msg in reason, reason
create = [r for r in json.load(open(sys.argv[5]))["requests"]
          if r["path"].endswith("/nodes/create")][0]
delay = (rec["time"] - create["time"]) * 1000
print("create answered -> POWER_DOWN_FORCE recorded: %.0f ms (poll_interval %d ms)"
      % (delay, poll), file=sys.stderr)
assert 0 <= delay <= poll, delay
PY
# The hostlist of the call names exactly the refused nodes.
hl=$("$CCS_PYTHON" -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)["argv"]
    if "State=POWER_DOWN_FORCE" in a:
        print(a[1].split("=", 1)[1]); break' "$CCS_SCONTROL_LOG")
ccs_assert_eq "$(ccs_ctl hostnames "$refused")" "$(ccs_ctl hostnames "$hl")" \
    "nodes in the POWER_DOWN_FORCE call"

ccs_step "the other nodes go on to ready"
ok=$(ccs_fake GET nodes | ccs_json \
    '",".join(sorted(n["Name"] for n in d["nodes"] if n["Template"] != "login"))')
ccs_assert_eq 4 "$(printf '%s\n' "$ok" | tr , '\n' | wc -l)" "nodes added"
ccs_wait_for 30 "the 4 others ready" ccs_all_in ready "$ok"
ccs_each_once node_creates "$ok" || ccs_fail "node_creates"
ccs_assert_eq 1 "$(ccs_scontrol_calls 'State=POWER_DOWN_FORCE')" \
    "POWER_DOWN_FORCE calls after the others came up"

ccs_step "fail_nodes: 2 hpc nodes go Failed in the cloud"
fmsg='VM provisioning failed: test'
ccs_fake POST faults "{\"kind\": \"fail_nodes\", \"nodearray\": \"hpc\",
    \"count\": 2, \"message\": \"$fmsg\"}" >/dev/null
shut0=$(ccs_fake_requests shutdown)
ccs_shim ccslurm-resume 'hpc-pg0-[3-4]' 2>/dev/null
ccs_wait_for 30 "hpc-pg0-[3-4] failed" ccs_all_in failed 'hpc-pg0-[3-4]'
ccs_wait_for 10 "Slurm told POWER_DOWN_FORCE for hpc-pg0-[3-4]" \
    ccs_scontrol_called '^update NodeName=hpc-pg0-\[3-4\] State=POWER_DOWN_FORCE Reason=ccslurmd: '
ccs_assert_eq 1 "$(ccs_scontrol_calls 'NodeName=hpc-pg0-\[3-4\] State=POWER_DOWN_FORCE')" \
    "POWER_DOWN_FORCE calls for hpc-pg0-[3-4]"
# The reason: the cloud's StatusMessage when it gives one.
ccs_ctl nodes --json 'hpc-pg0-[3-4]' | "$CCS_PYTHON" -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    assert n["error"] == "CycleCloud: " + sys.argv[1], n
' "$fmsg" || ccs_fail "the nodes' error is not the cloud's message"
ccs_scontrol_called "^update NodeName=hpc-pg0-\\[3-4\\] State=POWER_DOWN_FORCE Reason=ccslurmd: CycleCloud: $fmsg\$" ||
	ccs_fail "the POWER_DOWN_FORCE reason is not the cloud's message"
gone() {
	[ "$(ccs_fake GET nodes | ccs_json \
	    'sum(1 for n in d["nodes"] if n["Name"] in ("hpc-pg0-3", "hpc-pg0-4"))')" = 0 ]
}
ccs_wait_for 30 "the failed VMs shut down (removed: Terminate, not Fixed)" gone
ccs_assert_eq $((shut0 + 1)) "$(ccs_fake_requests shutdown)" \
    "shutdown calls for the two failed nodes (one, batched)"
ccs_assert_eq failed "$(ccs_ctl nodes --json hpc-pg0-3 | ccs_json 'd["nodes"][0]["state"]')" \
    "hpc-pg0-3 after its VM went"
ccs_all_in ready 'hpc-pg0-[1-2]' || ccs_fail "hpc-pg0-[1-2] not ready any more"
ccs_stop_daemon
