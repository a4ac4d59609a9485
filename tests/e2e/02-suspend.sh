#!/bin/bash
# 02-suspend.sh: idle burst nodes are suspended after SuspendTime.
#
# A two-node job bursts hpc nodes and completes.  Once the nodes have been
# idle for SuspendTime, slurmctld runs ccslurm-suspend; ccslurmd resets the
# addresses it set, shuts the VMs down in the fake CycleCloud (on-demand
# nodes are not Fixed, so the fake removes them), the fake's on-stop hook
# takes the namespaces down, and Slurm shows the nodes idle~ again
# (IDLE+CLOUD+POWERED_DOWN) with NodeAddr back to the node name.
# e2e-timeout: 240
set -euo pipefail
. "$(dirname "$0")/burst-lib.sh"

E2E_SUSPEND_TIME=10
E2E_SUSPEND_TIMEOUT=8
burst_init
burst_up

e2e_step "a two-node job bursts two nodes and completes"
job=$(burst_submit -N2 -p hpc --wrap 'srun hostname')
e2e_wait_for 20 "ResumeProgram called" \
	grep -q 'resume hpc-' "$CCS_E2E_DIR/log/resume.log"
hl=$(grep 'resume hpc-' "$CCS_E2E_DIR/log/resume.log" | head -1)
hl=${hl##* }
mapfile -t nodes < <(scontrol show hostnames "$hl")
((${#nodes[@]} == 2)) || e2e_fail "resume named ${#nodes[@]} nodes: $hl"
e2e_wait_for 90 "job $job completed" e2e_job_state_is "$job" '^COMPLETED$'
t_done=$(_e2e_now_ms)
for n in "${nodes[@]}"; do
	e2e_node_state_is "$n" '^IDLE\+CLOUD$' ||
		e2e_fail "$n should be IDLE+CLOUD after the job: $(e2e_node_state "$n")"
	burst_cc_state_is "$n" '^ready$' >/dev/null ||
		e2e_fail "ccslurmd should show $n ready: $(burst_node_row "$n")"
done

e2e_step "after SuspendTime=$E2E_SUSPEND_TIME the nodes are suspended"
e2e_wait_for 30 "SuspendProgram called for $hl" \
	grep -qF "suspend $hl" "$CCS_E2E_DIR/log/suspend.log"
t_susp=$(_e2e_now_ms)
e2e_log "SuspendProgram $(((t_susp - t_done) / 1000)) s after the job ended"
for n in "${nodes[@]}"; do
	e2e_wait_for 20 "ccslurmd: $n powered_down" \
		burst_cc_state_is "$n" '^powered_down$'
	e2e_wait_for 10 "namespace of $n gone" e2e_ns_gone "$n"
done
t_off=$(_e2e_now_ms)
gone=$(burst_fake GET nodes | burst_json "' '.join(n['Name'] + ':' +
n['Status'] for n in d['nodes'] if n['Name'] in ('${nodes[0]}', '${nodes[1]}'))")
[[ -z $gone ]] || e2e_fail "the fake still has the VMs: $gone"
e2e_log "ok: the fake removed both VMs (on-demand nodes, not Fixed)"
shutdowns=$(burst_counter 'd["requests"]["shutdown"]')
stops=$(burst_counter 'd["hooks"]["stop_ok"]')
e2e_log "fake: shutdown calls $shutdowns, on-stop hooks run $stops"
((shutdowns == 1)) || e2e_fail "expected one shutdown call, saw $shutdowns"
((stops == 2)) || e2e_fail "expected 2 on-stop hooks, saw $stops"

e2e_step "Slurm: idle~ again, addresses reset"
for n in "${nodes[@]}"; do
	e2e_wait_for 30 "$n back to IDLE+CLOUD+POWERED_DOWN" \
		e2e_node_state_is "$n" '^IDLE\+CLOUD\+POWERED_DOWN$'
	e2e_wait_for 10 "$n NodeAddr reset to $n" e2e_node_field_is "$n" NodeAddr "$n"
done
t_idle=$(_e2e_now_ms)
[[ ! -s $CCS_E2E_DIR/log/resumefail.log ]] ||
	e2e_fail "ResumeFailProgram was called: $(cat "$CCS_E2E_DIR/log/resumefail.log")"
burst_dump
e2e_log "job end -> SuspendProgram $(((t_susp - t_done) / 1000)) s," \
	"-> VMs gone $(((t_off - t_done) / 1000)) s," \
	"-> idle~ $(((t_idle - t_done) / 1000)) s"
