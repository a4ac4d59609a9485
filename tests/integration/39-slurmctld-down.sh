#!/bin/bash
# 39-slurmctld-down.sh: telling Slurm when slurmctld does not answer, or
# refuses.
#  - slurmctld down (scontrol: "Unable to contact slurm controller"): the
#    address update is run again, first in line, with a growing pause,
#    until slurmctld answers; then it goes through, and the addresses reach
#    Slurm in order (nothing given up, nothing reordered);
#  - slurmctld refusing an update (an invalid state for that node): given up
#    at once, and the next update is not held behind it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
export CCS_SCONTROL_DOWN_FILE=$CCS_T/slurmctld-down
export CCS_SCONTROL_REFUSE_FILE=$CCS_T/slurmctld-refuses
ccs_write_config
ccs_start_daemon

ccs_step "slurmctld down: the address update waits and is tried again"
touch "$CCS_SCONTROL_DOWN_FILE"
ccs_shim ccslurm-resume 'hpc-pg0-[1-2]'
ccs_wait_for 30 "the nodes ready in the cloud" ccs_all_in ready 'hpc-pg0-[1-2]'
ccs_wait_for 30 "three tries of the update" \
    ccs_scontrol_called 'update NodeName=hpc-pg0-\[1-2\] NodeAddr=' 3
ccs_daemon_log_has 'slurmctld does not answer; retrying' ||
	ccs_fail "no warning that slurmctld does not answer"
ccs_daemon_log_has 'update given up' &&
	ccs_fail "the update was given up while slurmctld was only down"

ccs_step "slurmctld back: the same update goes through"
tries=$(ccs_scontrol_calls 'update NodeName=hpc-pg0-\[1-2\] NodeAddr=')
rm "$CCS_SCONTROL_DOWN_FILE"
ccs_wait_for 30 "the address update taken by slurmctld" \
    ccs_scontrol_called 'update NodeName=hpc-pg0-\[1-2\] NodeAddr=' \
    $((tries + 1))
addr=$("$CCS_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]));
print(",".join(n.get("addr","") for n in sorted(d["nodes"], key=lambda n: n["name"]) if n["name"].startswith("hpc-pg0-")))' \
    "$CCS_SCONTROL_STATE")
want=$(ccs_ctl nodes --json 'hpc-pg0-[1-2]' | ccs_json '",".join(n["ip"] for n in d["nodes"])')
ccs_assert_eq "$want" "$addr" "the addresses Slurm holds"

ccs_step "slurmctld refusing: given up at once, the next update not held"
touch "$CCS_SCONTROL_REFUSE_FILE"
ccs_shim ccslurm-suspend 'hpc-pg0-1'
ccs_wait_for 30 "the refused reset given up" \
    ccs_daemon_log_has 'update given up after 1 try: .*Invalid node state'
rm "$CCS_SCONTROL_REFUSE_FILE"
ccs_shim ccslurm-suspend 'hpc-pg0-2'
ccs_wait_for 30 "the next reset taken" \
    ccs_scontrol_called 'update NodeName=hpc-pg0-2 NodeAddr=hpc-pg0-2'
ccs_stop_daemon
