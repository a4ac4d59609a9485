#!/bin/bash
# 04-restart.sh: ccslurmd dies in the middle of a burst and is restarted;
# the job completes and no node is created or started twice.
#
# Two crashes in one burst:
#   1. the failpoint "after-post" (test builds: -DCCSLURMD_FAILPOINTS=ON)
#      kills the daemon right after it sent the create and before it
#      journaled the answer: the ambiguous case.  The restarted daemon
#      must find the create through its requestId, not create again.
#   2. kill -9 while the nodes boot in the fake CycleCloud: the restarted
#      daemon picks up the operation and tells Slurm the addresses.
# The fake's node_creates / node_starts counters prove each node was
# created and booted exactly once.
# e2e-timeout: 300
set -euo pipefail
. "$(dirname "$0")/burst-lib.sh"

# A boot window long enough to kill the daemon inside it.
BURST_ACQUIRE_DELAY=3
BURST_PREPARE_DELAY=3
burst_init
fp=0
if grep -aq CCSLURMD_FAILPOINT "$CCSLURMD"; then
	fp=1
	BURST_DAEMON_ENV=CCSLURMD_FAILPOINT=after-post
else
	e2e_log "ccslurmd built without CCSLURMD_FAILPOINTS: only the kill -9 part"
fi
burst_up

e2e_step "a two-node job; the resume is accepted"
job=$(burst_submit -N2 -p hpc --wrap 'srun hostname')
e2e_log "job $job submitted"
e2e_wait_for 20 "ResumeProgram called" \
	grep -q 'resume hpc-' "$CCS_E2E_DIR/log/resume.log"
hl=$(grep 'resume hpc-' "$CCS_E2E_DIR/log/resume.log" | head -1)
hl=${hl##* }
mapfile -t nodes < <(scontrol show hostnames "$hl")
((${#nodes[@]} == 2)) || e2e_fail "resume named ${#nodes[@]} nodes: $hl"
e2e_wait_for 10 "the shim's request was accepted" \
	grep -q 'accepted 2' "$CCS_E2E_DIR/log/resume.log"

if ((fp)); then
	e2e_step "crash 1: failpoint after-post (create sent, answer not journaled)"
	burst_daemon_wait_exit 20
	n=$(burst_counter 'd["requests"]["create"]')
	((n == 1)) || e2e_fail "the fake saw $n creates before the crash, want 1"
	e2e_log "ccslurmd died after its create reached the fake"
	BURST_DAEMON_ENV=
	burst_daemon_start
	e2e_log "restarted ccslurmd: pid $BURST_DAEMON_PID"
	# The restarted daemon settles the ambiguity by the create's requestId.
	rid=$(burst_fake GET log | burst_json '[r["body"]["requestId"] for r in
d["requests"] if r["path"].endswith("/nodes/create")][0]')
	e2e_wait_for 10 "ccslurmd looked up its create by requestId $rid" \
		bash -c "curl -sSf --cacert '$BURST_CA' '$BURST_FAKE_URL/__fake/log' |
			grep -q 'request_id=$rid'"
fi

e2e_step "crash 2: kill -9 while the nodes boot"
# Both VMs exist in the fake and are still booting.
booting()
{
	local s
	s=$(burst_fake GET nodes | burst_json "' '.join(sorted(n['Status']
for n in d['nodes'] if n['Name'] in ('${nodes[0]}', '${nodes[1]}')))")
	echo "fake: $s"
	[[ $s =~ ^(Acquiring|Preparing)\ (Acquiring|Preparing)$ ]]
}
e2e_wait_for 20 "both nodes booting in the fake" booting
burst_ctl nodes "$hl" | sed 's/^/    /' >&2
burst_daemon_kill9
e2e_log "ccslurmd killed with SIGKILL while the nodes boot"
burst_daemon_start
e2e_log "restarted ccslurmd: pid $BURST_DAEMON_PID"

e2e_step "the job completes"
for n in "${nodes[@]}"; do
	e2e_wait_for 30 "ccslurmd: $n ready" burst_cc_state_is "$n" '^ready$'
done
e2e_wait_for 90 "job $job finished" e2e_job_state_is "$job" \
	'^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|BOOT_FAIL)$'
st=$(e2e_job_state "$job")
[[ $st == COMPLETED ]] || e2e_fail "job $job ended $st"
e2e_log "job $job output: $(tr '\n' ' ' <"$CCS_E2E_DIR/out/job-$job.out")"
restarts=$(burst_job_field "$job" Restarts)
((restarts == 0)) || e2e_fail "job $job was requeued $restarts time(s)"

e2e_step "no node was created or started twice"
burst_dump
for n in "${nodes[@]}"; do
	c=$(burst_counter "d['node_creates'].get('$n', 0)")
	s=$(burst_counter "d['node_starts'].get('$n', 0)")
	e2e_log "$n: created $c time(s), booted $s time(s)"
	((c == 1)) || e2e_fail "$n was created $c times"
	((s == 1)) || e2e_fail "$n was booted $s times"
done
total=$(burst_counter 'sum(d["node_starts"].values())')
((total == 2)) || e2e_fail "$total boots in all, want 2"
e2e_log "fake: create calls $(burst_counter 'd["requests"]["create"]')," \
	"start calls $(burst_counter 'd["requests"]["start"]')"
