#!/bin/bash
# 01-burst.sh: a two-node MPI-style job bursts two nodes through ccslurmd.
#
# sbatch -N2 -p hpc --wrap 'srun hostname' -> job_submit/cyclecloud gives it
# Switches=1 -> slurmctld runs ccslurm-resume with both nodes -> ccslurmd
# creates and starts them in the fake CycleCloud in few calls -> the fake's
# on-ready hook starts a real slurmd in a namespace holding the node's
# PrivateIp -> ccslurmd tells slurmctld the address -> the job runs srun on
# both nodes and completes; its output names both nodes.
# e2e-timeout: 240
set -euo pipefail
. "$(dirname "$0")/burst-lib.sh"

burst_init
burst_up

e2e_step "submit: sbatch -N2 -p hpc --wrap 'srun hostname'"
t0=$(_e2e_now_ms)
job=$(burst_submit -N2 -p hpc --wrap 'srun hostname')
e2e_log "job $job submitted"
sw=$(burst_job_field "$job" Switches)
[[ $sw == 1 || $sw == 1@* ]] ||
	e2e_fail "job $job should have Switches=1 from job_submit/cyclecloud," \
		"has '$sw': $(scontrol -o show job "$job")"
e2e_log "ok: job $job has Switches=$sw (job_submit/cyclecloud)"

e2e_step "ccslurm-resume is called and ccslurmd starts two nodes"
e2e_wait_for 20 "ResumeProgram called" \
	grep -q 'resume hpc-' "$CCS_E2E_DIR/log/resume.log"
line=$(grep 'resume hpc-' "$CCS_E2E_DIR/log/resume.log" | head -1)
e2e_log "ResumeProgram: $line"
hl=${line##* }
mapfile -t nodes < <(scontrol show hostnames "$hl")
((${#nodes[@]} == 2)) || e2e_fail "resume named ${#nodes[@]} nodes: $hl"
# Switches=1: both in one placement group (hpc-pgN-*).
[[ ${nodes[0]%-*} == "${nodes[1]%-*}" ]] ||
	e2e_fail "the nodes are in two placement groups: ${nodes[*]}"
for n in "${nodes[@]}"; do
	e2e_wait_for 30 "ccslurmd: $n ready" burst_cc_state_is "$n" '^ready$'
	read -r _ _ ip <<<"$(burst_node_row "$n")"
	e2e_wait_for 15 "slurmctld knows $n at $ip" \
		e2e_node_field_is "$n" NodeAddr "$ip"
	[[ -e /run/netns/$(e2e_ns_name "$n") ]] || e2e_fail "$n has no namespace"
done
t_ready=$(_e2e_now_ms)
burst_dump

e2e_step "the job runs on both nodes and completes"
e2e_wait_for 90 "job $job finished" e2e_job_state_is "$job" \
	'^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|BOOT_FAIL|OUT_OF_MEMORY)$'
t_done=$(_e2e_now_ms)
state=$(e2e_job_state "$job")
out=$CCS_E2E_DIR/out/job-$job.out
e2e_log "job $job: $state; output:"
sed 's/^/    /' "$out" >&2
[[ $state == COMPLETED ]] || e2e_fail "job $job ended $state"
want=$(printf '%s\n' "${nodes[@]}" | sort | tr '\n' ' ')
[[ $(sort "$out" | tr '\n' ' ') == "$want" ]] ||
	e2e_fail "job output should be exactly: $want"

e2e_step "few cloud calls: one create, at most one start"
creates=$(burst_counter 'd["requests"]["create"]')
starts=$(burst_counter 'd["requests"]["start"]')
booted=$(burst_counter 'sum(d["node_starts"].values())')
e2e_log "fake: create calls $creates, start calls $starts, node boots $booted"
((creates == 1)) || e2e_fail "expected 1 create call, saw $creates"
((starts <= 1)) || e2e_fail "expected at most 1 start call, saw $starts"
((booted == 2)) || e2e_fail "expected 2 node boots, saw $booted"
for n in "${nodes[@]}"; do
	c=$(burst_counter "d['node_starts'].get('$n', 0)")
	((c == 1)) || e2e_fail "$n booted $c times"
done
e2e_log "submit -> nodes ready $(((t_ready - t0) / 1000)) s," \
	"-> job done $(((t_done - t0) / 1000)) s"
