#!/bin/bash
# 05-many-jobs.sh: 20 jobs submitted at once all complete, with few cloud
# calls.
#
# slurmctld gathers the nodes of every pending job into one (or a few)
# ResumeProgram calls; ccslurmd gathers those within its batch window into
# one create per batch.  20 one-node jobs on the 6-node htc array: at most 6
# nodes boot, each once, and the number of create/start calls stays small
# whatever the number of jobs.
# e2e-timeout: 300
set -euo pipefail
. "$(dirname "$0")/burst-lib.sh"

burst_init
burst_up

e2e_step "submit 20 one-node htc jobs at once"
jobs=()
t0=$(_e2e_now_ms)
for i in $(seq 1 20); do
	jobs+=("$(burst_submit -p htc -N1 --wrap 'hostname; sleep 1')")
done
e2e_log "jobs ${jobs[0]}..${jobs[19]} submitted in $(($(_e2e_now_ms) - t0)) ms"

e2e_step "all 20 complete"
all_done()
{
	local j st n=0
	for j in "${jobs[@]}"; do
		st=$(e2e_job_state "$j")
		[[ $st == COMPLETED ]] && n=$((n + 1))
		[[ $st =~ ^(FAILED|CANCELLED|TIMEOUT|NODE_FAIL|BOOT_FAIL)$ ]] &&
			e2e_fail "job $j ended $st"
	done
	echo "$n of ${#jobs[@]} completed"
	((n == ${#jobs[@]}))
}
e2e_wait_for 200 "all 20 jobs completed" all_done
t_done=$(_e2e_now_ms)
used=$(cat "$CCS_E2E_DIR"/out/job-*.out | sort | uniq -c | tr -s ' ' | tr '\n' ',')
e2e_log "jobs per node: $used"
[[ $(cat "$CCS_E2E_DIR"/out/job-*.out | wc -l) == 20 ]] ||
	e2e_fail "expected 20 lines of job output"

e2e_step "few cloud calls"
burst_dump
calls=$(grep -c 'resume htc' "$CCS_E2E_DIR/log/resume.log" || true)
creates=$(burst_counter 'd["requests"]["create"]')
starts=$(burst_counter 'd["requests"]["start"]')
booted=$(burst_counter 'sum(d["node_starts"].values())')
twice=$(burst_counter "[k for k, v in d['node_starts'].items() if v > 1]")
e2e_log "20 jobs: $calls ResumeProgram call(s), $creates create call(s)," \
	"$starts start call(s), $booted node boot(s) in $(((t_done - t0) / 1000)) s"
((booted >= 1 && booted <= 6)) || e2e_fail "$booted boots for a 6-node array"
[[ $twice == '[]' ]] || e2e_fail "nodes booted twice: $twice"
((creates + starts <= calls + 1)) ||
	e2e_fail "$creates creates + $starts starts for $calls resume calls: not batched"
((creates + starts <= 3)) || e2e_fail "too many cloud calls: $creates + $starts"
