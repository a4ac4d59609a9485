#!/bin/bash
# 38-resume-file.sh: the job ids of SLURM_RESUME_FILE reach `ccslurmctl
# nodes`, in both formats (slurm-power-save.md): 22.05's
#   {"jobs":[{"job_id":N,"nodes":"..."}],"all_nodes":"..."}
# and 23.02+'s
#   {"all_nodes_resume":"...","jobs":[{"job_id":N,"nodes_alloc":"...",
#    "nodes_resume":"...","partition":...}]}
# The shim forwards the file's content, never its path (the file is gone
# once the program returns); a missing or garbage file is warned about and
# the request still goes through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config
ccs_start_daemon

jobs_of() { # NODE -> "1,2"
	ccs_ctl nodes --json "$1" |
	    ccs_json '",".join(str(j) for j in d["nodes"][0]["jobs"])'
}

ccs_step "22.05's format"
f=$CCS_T/resume-2205.json
printf '%s' '{"jobs":[{"job_id":101,"nodes":"hpc-pg0-[1-2]"},{"job_id":102,"nodes":"hpc-pg0-2"}],"all_nodes":"hpc-pg0-[1-2]"}' >"$f"
SLURM_RESUME_FILE=$f ccs_shim ccslurm-resume 'hpc-pg0-[1-2]'
rm -f "$f"	# as slurmctld does once the program returned
ccs_assert_eq 101 "$(jobs_of hpc-pg0-1)" "hpc-pg0-1's jobs"
ccs_assert_eq 101,102 "$(jobs_of hpc-pg0-2)" "hpc-pg0-2's jobs"

ccs_step "23.02's format"
f=$CCS_T/resume-2302.json
printf '%s' '{"all_nodes_resume":"htc-[1-2]","jobs":[{"extra":null,"features":"","job_id":7,"nodes_alloc":"htc-[1-2],onprem1","nodes_resume":"htc-[1-2]","oversubscribe":"OK","partition":"htc","reservation":null}]}' >"$f"
SLURM_RESUME_FILE=$f ccs_shim ccslurm-resume 'htc-[1-2]'
ccs_assert_eq 7 "$(jobs_of htc-1)" "htc-1's jobs"
ccs_assert_eq 7 "$(jobs_of htc-2)" "htc-2's jobs"

ccs_step "a garbage or missing file: warned, the request goes through"
printf 'not json' >"$CCS_T/garbage.json"
out=$(SLURM_RESUME_FILE=$CCS_T/garbage.json ccs_shim ccslurm-resume htc-3 2>&1)
ccs_assert_match 'accepted 1' "$out" "the shim with a garbage file"
out=$(SLURM_RESUME_FILE=$CCS_T/absent.json ccs_shim ccslurm-resume htc-4 2>&1)
ccs_assert_match 'accepted 1' "$out" "the shim with a missing file"
ccs_assert_eq "" "$(jobs_of htc-3)" "htc-3's jobs"
ccs_wait_for 30 "all six nodes ready" ccs_all_in ready 'hpc-pg0-[1-2],htc-[1-4]'
ccs_stop_daemon
