#!/bin/bash
# 35-reload-lock.sh: what a reload may change and what it may not, and one
# daemon per state_dir.
#  - new CycleCloud settings (here the timeout) take effect without a
#    restart: a new client, the next resume goes through;
#  - a different cyclecloud.cluster is refused by `ccslurmctl reload`
#    (exit 1, the reason) and the old configuration stays;
#  - a second ccslurmd on the same state_dir refuses to start, saying why,
#    and the first one is unharmed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config
ccs_start_daemon

ccs_step "a reload with new CycleCloud settings applies them at once"
ccs_write_config "$CCS_CONFIG"
sed -i 's/^  timeout: 10s$/  timeout: 20s/' "$CCS_CONFIG"
ccs_ctl reload >/dev/null
ccs_wait_for 10 "the daemon to switch clients" \
    ccs_daemon_log_has 'reload: new CycleCloud settings'
ccs_shim ccslurm-resume 'hpc-pg0-1'
ccs_wait_for 30 "hpc-pg0-1 ready through the new client" \
    ccs_all_in ready 'hpc-pg0-1'

ccs_step "a reload that changes the cluster is refused, the old one kept"
sed -i "s/^  cluster: .*/  cluster: another-cluster/" "$CCS_CONFIG"
rc=0
out=$(ccs_ctl reload 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "reload exit status"
ccs_assert_match 'cyclecloud.cluster cannot change on reload' "$out" \
    "reload's reason"
st=$(ccs_ctl status --json)
ccs_assert_eq "$CCS_CLUSTER" "$(printf '%s' "$st" |
    ccs_json 'd["engine"]["cluster"]')" "cluster after the refused reload"
ccs_shim ccslurm-resume 'hpc-pg0-2'
ccs_wait_for 30 "hpc-pg0-2 ready" ccs_all_in ready 'hpc-pg0-2'

ccs_step "a second daemon on the same state_dir refuses to start"
ccs_write_config "$CCS_T/second.yaml"
sed -i "s|^  socket: .*|  socket: $CCS_T/run/second.sock|" "$CCS_T/second.yaml"
rc=0
out=$(timeout 20 "$CCSLURMD" -f -c "$CCS_T/second.yaml" 2>&1) || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
	ccs_fail "the second daemon did not refuse (exit $rc): $out"
ccs_assert_match "state_dir $CCS_T/state is in use by another ccslurmd" \
    "$out" "the second daemon's reason"
ccs_ctl ping >/dev/null || ccs_fail "the first daemon stopped answering"

ccs_stop_daemon
