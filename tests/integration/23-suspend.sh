#!/bin/bash
# 23-suspend.sh: suspend of ready nodes resets the addresses the daemon set
# (one batched call, never for a node without one), then shuts the VMs down
# per daemon.shutdown: policy (each node's ShutdownPolicy), terminate,
# deallocate (the daemon restarted with each config).  resumefail does the
# same and keeps "ResumeTimeout reached..." as the node's error.  A suspend
# of a node already powered down or failed is a no-op: no cloud call.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake   # hpc: ShutdownPolicy Terminate, gpu: Deallocate

config() { # SHUTDOWN
	ccs_write_config "$CCS_CONFIG"
	sed -i -e "s/^  poll_interval: .*/&\n  shutdown: $1/" "$CCS_CONFIG"
}

# The fake's status of a node ("absent" once removed).
cc_status() {
	ccs_fake GET nodes | ccs_json \
	    "next((n['Status'] for n in d['nodes'] if n['Name'] == '$1'), 'absent')"
}

# Calls of the shutdown family so far, as "shutdown terminate deallocate".
family() {
	ccs_fake GET counters |
	    ccs_json '" ".join(str(d["requests"][k]) for k in ("shutdown", "terminate", "deallocate"))'
}

# The reset calls recorded so far, as one hostlist per line.
resets() {
	"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    argv = json.loads(line)["argv"]
    kv = dict(a.split("=", 1) for a in argv[1:] if "=" in a)
    if argv[0] == "update" and "NodeAddr" in kv and \
            not kv["NodeAddr"].split(",")[0][0].isdigit():
        # A reset gives each node its own name back, in hostlist order.
        assert kv["NodeAddr"] == kv["NodeHostName"], kv
        print(kv["NodeName"])
PY
}

burst() { # HOSTLIST
	ccs_shim ccslurm-resume "$1" 2>/dev/null
	ccs_wait_for 30 "$1 ready" ccs_all_in ready "$1"
	ccs_wait_for 10 "Slurm told the addresses of $1" bash -c \
	    '[ "$("$0" -s "$1" nodes --json "$2" | "$3" -c "import json,sys; print(all(n[\"ip\"] for n in json.load(sys.stdin)[\"nodes\"]))")" = True ]' \
	    "$CCSLURMCTL" "$CCS_SOCKET" "$1" "$CCS_PYTHON"
}

ccs_step "shutdown: policy: hpc (Terminate) removed, gpu (Deallocate) deallocated"
config policy
ccs_start_daemon
burst 'hpc-pg0-[1-2],gpu-[1-2]'
f0=$(family)
nreset0=$(resets | wc -l)
ccs_shim ccslurm-suspend 'hpc-pg0-[1-2],gpu-[1-2]' 2>/dev/null
ccs_wait_for 30 "the 4 nodes powered down" \
    ccs_all_in powered_down 'hpc-pg0-[1-2],gpu-[1-2]'
ccs_assert_eq "1 0 0" "$(family)" "shutdown/terminate/deallocate calls"
ccs_assert_eq absent "$(cc_status hpc-pg0-1)" "hpc-pg0-1 in the cloud"
ccs_assert_eq absent "$(cc_status hpc-pg0-2)" "hpc-pg0-2 in the cloud"
ccs_assert_eq Deallocated "$(cc_status gpu-1)" "gpu-1 in the cloud"
ccs_assert_eq Deallocated "$(cc_status gpu-2)" "gpu-2 in the cloud"
ccs_assert_eq $((nreset0 + 1)) "$(resets | wc -l)" "NodeAddr resets (one, batched)"
ccs_assert_eq "$(ccs_ctl hostnames 'gpu-[1-2],hpc-pg0-[1-2]' | sort)" \
    "$(ccs_ctl hostnames "$(resets | tail -1)" | sort)" "nodes reset"
[ "$f0" = "0 0 0" ] || ccs_fail "shutdown calls before the suspend: $f0"

ccs_step "suspend of a node never resumed: no-op, no reset, no cloud call"
out=$(ccs_ctl suspend hpc-pg0-5)
ccs_assert_match '0 of 1 node\(s\) taken on' "$out" "ctl suspend of a powered-down node"
ccs_assert_eq $((nreset0 + 1)) "$(resets | wc -l)" "resets after the no-op suspend"
ccs_assert_eq "1 0 0" "$(family)" "shutdown-family calls after the no-op suspend"
ccs_stop_daemon

ccs_step "shutdown: terminate: even a Deallocate-policy node is removed"
config terminate
ccs_start_daemon
burst 'hpc-pg0-[3-4],gpu-3'
ccs_shim ccslurm-suspend 'hpc-pg0-[3-4],gpu-3' 2>/dev/null
ccs_wait_for 30 "the 3 nodes powered down" \
    ccs_all_in powered_down 'hpc-pg0-[3-4],gpu-3'
ccs_assert_eq "1 1 0" "$(family)" "shutdown/terminate/deallocate calls"
for n in hpc-pg0-3 hpc-pg0-4 gpu-3; do
	ccs_assert_eq absent "$(cc_status $n)" "$n in the cloud"
done
ccs_stop_daemon

ccs_step "shutdown: deallocate: even a Terminate-policy node is kept, deallocated"
config deallocate
ccs_start_daemon
burst 'htc-[1-3],hpc-pg0-6'
ccs_shim ccslurm-suspend 'htc-[1-2],hpc-pg0-6' 2>/dev/null
ccs_wait_for 30 "the 3 nodes powered down" \
    ccs_all_in powered_down 'htc-[1-2],hpc-pg0-6'
ccs_assert_eq "1 1 1" "$(family)" "shutdown/terminate/deallocate calls"
for n in htc-1 htc-2 hpc-pg0-6; do
	ccs_assert_eq Deallocated "$(cc_status $n)" "$n in the cloud"
done

ccs_step "resumefail: the same, and the node keeps ResumeTimeout as its error"
nreset0=$(resets | wc -l)
ccs_shim ccslurm-resumefail htc-3 2>/dev/null
ccs_wait_for 30 "htc-3 powered down" ccs_all_in powered_down htc-3
ccs_assert_eq "1 1 2" "$(family)" "shutdown/terminate/deallocate calls"
ccs_assert_eq Deallocated "$(cc_status htc-3)" "htc-3 in the cloud"
ccs_assert_eq htc-3 "$(resets | tail -n +$((nreset0 + 1)))" "the reset for htc-3"
ccs_assert_match '^ResumeTimeout reached' \
    "$(ccs_ctl nodes --json htc-3 | ccs_json 'd["nodes"][0]["error"]')" \
    "htc-3's error"

ccs_step "suspend of a failed node (VM already shut down): no cloud call"
ccs_fake POST faults '{"kind": "fail_nodes", "nodearray": "htc", "count": 1,
    "message": "boot failed (test)"}' >/dev/null
ccs_shim ccslurm-resume htc-4 2>/dev/null
ccs_wait_for 30 "htc-4 failed" ccs_all_in failed htc-4
settled4() {
	[ "$(cc_status htc-4)" = Deallocated ] &&
	    [ "$(ccs_ctl status --json | ccs_json 'd["ops_in_flight"]')" = 0 ]
}
ccs_wait_for 30 "htc-4's VM deallocated, nothing in flight" settled4
f1=$(family)
ccs_assert_eq "1 1 3" "$f1" "shutdown/terminate/deallocate calls (htc-4's VM)"
nreset0=$(resets | wc -l)
out=$(ccs_ctl suspend 'htc-4,hpc-pg0-5')
ccs_assert_match '0 of 2 node\(s\) taken on' "$out" "ctl suspend of failed + powered-down"
ccs_shim ccslurm-suspend 'htc-4' 2>/dev/null
# A marker: a later request's cloud call has gone out and settled, so
# anything the suspends had caused would have gone out before it.
burst htc-5
ccs_assert_eq "$f1" "$(family)" "shutdown-family calls after the no-op suspends"
ccs_assert_eq "$nreset0" "$(resets | wc -l)" "resets after the no-op suspends"
ccs_assert_eq failed "$(ccs_ctl nodes --json htc-4 | ccs_json 'd["nodes"][0]["state"]')" \
    "htc-4 after the suspend"
ccs_stop_daemon
