#!/bin/bash
# 03-capacity.sh: a capacity failure requeues the job at once, not after
# ResumeTimeout.
#
# The fake CycleCloud refuses every hpc boot ("capacity" fault).  A two-node
# job triggers a create that adds no node; ccslurmd marks the nodes failed
# and tells slurmctld `State=POWER_DOWN_FORCE Reason="ccslurmd: <cloud
# error>"`, so the job is requeued within seconds of the create's answer
# (ResumeTimeout is 60 s).  The nodes return to idle~ after SuspendTimeout
# with the cloud's reason in `ccslurmctl nodes` and in Slurm's Reason.  Once
# the fault is cleared the job runs and completes.
# e2e-timeout: 300
set -euo pipefail
. "$(dirname "$0")/burst-lib.sh"

E2E_RESUME_TIMEOUT=60
E2E_SUSPEND_TIMEOUT=8
burst_init
burst_up
msg="Insufficient capacity for Standard_HB120rs_v3 in e2e-region"

e2e_step "capacity fault on nodearray hpc"
burst_fake POST faults "{\"kind\": \"capacity\", \"nodearray\": \"hpc\",
	\"count\": 1000, \"message\": \"$msg\"}" >/dev/null
burst_fake GET faults | grep -q capacity || e2e_fail "the fault is not pending"

e2e_step "a two-node hpc job: the create adds nothing, the job is requeued"
job=$(burst_submit -N2 -p hpc --wrap 'srun hostname')
e2e_log "job $job submitted"
# Polled every 0.2 s: the lag below is exact to that.
e2e_wait_for 30 "job $job requeued (Restarts >= 1)" \
	bash -c "scontrol -o show job $job | grep -q ' Restarts=[1-9]'"
t_requeue=$(date +%s.%N)
t_create=$(burst_fake GET log | burst_json \
	'[r["time"] for r in d["requests"] if r["path"].endswith("/nodes/create")][0]')
created=$(burst_fake GET log | burst_json \
	'[r["body"] for r in d["requests"] if r["path"].endswith("/nodes/create")][0]')
e2e_log "create: $created"
lag_ms=$(/usr/bin/python3 -c "print(int(($t_requeue - $t_create) * 1000))")
e2e_log "create sent -> job $job seen requeued: $lag_ms ms" \
	"(ResumeTimeout ${E2E_RESUME_TIMEOUT}s)"
((lag_ms < 10000)) || e2e_fail "requeue took $lag_ms ms, want < 10 s"
st=$(e2e_job_state "$job")
[[ $st == PENDING ]] || e2e_fail "job $job should be PENDING, is $st"

e2e_step "the failed nodes carry the cloud's reason and return to idle~"
mapfile -t failed < <(burst_ctl nodes --json | burst_json \
	"'\n'.join(n['name'] for n in d['nodes'] if n['state'] == 'failed')")
((${#failed[@]} == 2)) || e2e_fail "expected 2 failed nodes, got: ${failed[*]}"
burst_ctl nodes "$(IFS=,; echo "${failed[*]}")" | sed 's/^/    /' >&2
for n in "${failed[@]}"; do
	err=$(burst_ctl nodes --json | burst_json \
		"[x['error'] for x in d['nodes'] if x['name'] == '$n'][0]")
	[[ $err == *"$msg"* ]] || e2e_fail "ccslurmctl nodes $n: error '$err'"
	reason=$(scontrol show node "$n" | sed -n 's/^ *Reason=//p')
	e2e_log "$n: Slurm Reason=$reason"
	[[ $reason == *"ccslurmd: "*"$msg"* ]] ||
		e2e_fail "$n: Slurm's Reason lacks the cloud's error: '$reason'"
	e2e_ns_gone "$n" || e2e_fail "$n has a namespace"
done
for n in "${failed[@]}"; do
	e2e_wait_for 30 "$n idle~ (IDLE+CLOUD+POWERED_DOWN) after SuspendTimeout" \
		e2e_node_state_is "$n" '^IDLE\+CLOUD\+POWERED_DOWN$'
done
booted=$(burst_counter 'sum(d["node_starts"].values())')
((booted == 0)) || e2e_fail "$booted node(s) booted despite the fault"
[[ ! -s $CCS_E2E_DIR/log/resumefail.log ]] ||
	e2e_fail "ResumeFailProgram was called: the failure waited for ResumeTimeout"

e2e_step "clear the fault: the job runs and completes"
burst_fake POST clear-faults >/dev/null
e2e_wait_for 150 "job $job completed" e2e_job_state_is "$job" '^COMPLETED$'
e2e_log "job $job output: $(tr '\n' ' ' <"$CCS_E2E_DIR/out/job-$job.out")"
[[ $(wc -l <"$CCS_E2E_DIR/out/job-$job.out") == 2 ]] ||
	e2e_fail "job output should name two nodes"
burst_dump
