#!/bin/bash
# 00-harness.sh: the harness's own self-test, without ccslurmd or the fake
# CycleCloud.  A real slurmctld with a cloud partition of two nodes whose
# ResumeProgram starts them (node-up.sh: namespace + real slurmd) and whose
# SuspendProgram stops them (node-down.sh).  A two-node job must burst both,
# run `srun hostname` on both, and the nodes must power down again to idle~
# with their namespaces gone.  Every later e2e script stands on this one.
# e2e-timeout: 240
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_init
here=$E2E_LIB_DIR

e2e_step "network: bridge $E2E_BRIDGE"
e2e_bridge_up

e2e_step "munged with a private key and socket"
e2e_munge_start

e2e_step "slurm.conf with a cloud partition cloud-[1-2]"
# The power-save programs: slurmctld passes no environment, so each is a
# script with the run's work dir written into it.
cat >"$CCS_E2E_DIR/bin/resume" <<EOF
#!/bin/bash
# ResumeProgram for 00-harness: give each node its address in Slurm (one
# scontrol call for the whole hostlist), then start its "VM".
set -euo pipefail
exec >>$(printf %q "$CCS_E2E_DIR/log/resume.log") 2>&1
export CCS_E2E_DIR=$(printf %q "$CCS_E2E_DIR")
. $(printf %q "$here/lib.sh")
e2e_attach
e2e_log "ResumeProgram \$1 (SLURM_RESUME_FILE=\${SLURM_RESUME_FILE:-unset})"
mapfile -t nodes < <(scontrol show hostnames "\$1")
((\${#nodes[@]} > 0)) || e2e_fail "bad hostlist '\$1'"
ips=()
for n in "\${nodes[@]}"; do
	ips+=("\$(e2e_ip_for "\$n")")
done
scontrol update NodeName="\$1" NodeAddr="\$(IFS=,; echo "\${ips[*]}")" \\
	NodeHostName="\$(IFS=,; echo "\${nodes[*]}")"
for i in "\${!nodes[@]}"; do
	$(printf %q "$here/node-up.sh") "\${nodes[i]}" "\${ips[i]}"
done
EOF
cat >"$CCS_E2E_DIR/bin/suspend" <<EOF
#!/bin/bash
# SuspendProgram for 00-harness: stop each node's "VM".
set -euo pipefail
exec >>$(printf %q "$CCS_E2E_DIR/log/suspend.log") 2>&1
export CCS_E2E_DIR=$(printf %q "$CCS_E2E_DIR")
. $(printf %q "$here/lib.sh")
e2e_attach
e2e_log "SuspendProgram \$1"
for n in \$(scontrol show hostnames "\$1"); do
	$(printf %q "$here/node-down.sh") "\$n"
done
EOF
cat >"$CCS_E2E_DIR/bin/resumefail" <<EOF
#!/bin/sh
echo "\$(date +%T) ResumeFailProgram \$1" >>$(printf %q "$CCS_E2E_DIR/log/resumefail.log")
EOF
chmod 0755 "$CCS_E2E_DIR"/bin/{resume,suspend,resumefail}
E2E_RESUME_PROGRAM=$CCS_E2E_DIR/bin/resume
E2E_SUSPEND_PROGRAM=$CCS_E2E_DIR/bin/suspend
E2E_RESUMEFAIL_PROGRAM=$CCS_E2E_DIR/bin/resumefail
E2E_SUSPEND_TIME=10
E2E_SUSPEND_TIMEOUT=5
E2E_RESUME_TIMEOUT=30
e2e_cloud_partition cloud 'cloud-[1-2]'
e2e_slurm_conf

e2e_step "slurmctld"
e2e_slurmctld_start
for n in cloud-1 cloud-2; do
	state=$(e2e_node_state "$n")
	e2e_log "$n: $state"
	[[ $state == IDLE+CLOUD+POWERED_DOWN ]] ||
		e2e_fail "$n should start IDLE+CLOUD+POWERED_DOWN, is '$state'"
done

e2e_step "submit a two-node job: sbatch -N2 --wrap 'srun hostname'"
t_submit=$(_e2e_now_ms)
job=$(sbatch --parsable -N2 -p cloud -o "$CCS_E2E_DIR/out/job-%j.out" \
	--wrap 'srun hostname')
job=${job%%;*}
[[ $job =~ ^[0-9]+$ ]] || e2e_fail "sbatch printed '$job', not a job id"
e2e_log "job $job submitted"

e2e_step "ResumeProgram brings both nodes up"
e2e_wait_for 15 "ResumeProgram called" \
	grep -q 'ResumeProgram cloud-\[1-2\]' "$CCS_E2E_DIR/log/resume.log"
for n in cloud-1 cloud-2; do
	e2e_wait_for 15 "namespace of $n exists" \
		test -e "/run/netns/$(e2e_ns_name "$n")"
	ip=$(cat "$CCS_E2E_DIR/ips/$n")
	e2e_wait_for 15 "slurmctld knows $n at $ip" \
		e2e_node_field_is "$n" NodeAddr "$ip"
done
for n in cloud-1 cloud-2; do
	e2e_wait_for 30 "$n registered (no longer powering up)" \
		e2e_node_state_is "$n" '^(ALLOCATED|MIXED|IDLE)\+CLOUD$'
done

e2e_step "the job runs on both nodes and completes"
e2e_wait_for 60 "job $job finished" e2e_job_state_is "$job" \
	'^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|BOOT_FAIL|OUT_OF_MEMORY)$'
t_done=$(_e2e_now_ms)
state=$(e2e_job_state "$job")
out=$CCS_E2E_DIR/out/job-$job.out
e2e_log "job $job: $state after $(((t_done - t_submit) / 1000)) s; output:"
sed 's/^/    /' "$out" >&2
[[ $state == COMPLETED ]] || e2e_fail "job $job ended $state"
[[ $(sort "$out" | tr '\n' ' ') == "cloud-1 cloud-2 " ]] ||
	e2e_fail "job output should be exactly the two node names"

e2e_step "idle nodes are suspended: idle~ and their namespaces gone"
for n in cloud-1 cloud-2; do
	e2e_wait_for 40 "$n back to IDLE+CLOUD+POWERED_DOWN" \
		e2e_node_state_is "$n" '^IDLE\+CLOUD\+POWERED_DOWN$'
	e2e_wait_for 10 "namespace of $n gone" e2e_ns_gone "$n"
done
grep -q 'SuspendProgram cloud-\[1-2\]' "$CCS_E2E_DIR/log/suspend.log" ||
	e2e_fail "SuspendProgram was not called with cloud-[1-2]"
for n in cloud-1 cloud-2; do
	[[ ! -e $CCS_E2E_DIR/nodes/$n/slurmd.track ]] ||
		e2e_fail "$n: slurmd still recorded after suspend"
done
if [[ -s $CCS_E2E_DIR/log/resumefail.log ]]; then
	e2e_fail "ResumeFailProgram was called: $(cat "$CCS_E2E_DIR/log/resumefail.log")"
fi
e2e_log "burst -> job -> suspend cycle: $((($(_e2e_now_ms) - t_submit) / 1000)) s"

e2e_step "stop slurmctld"
e2e_slurmctld_stop

e2e_step "hooks as the fake CycleCloud calls them (env, idempotent, fds closed)"
hook_env=(env -i PATH=/usr/bin:/bin "CCS_E2E_DIR=$CCS_E2E_DIR")
"${hook_env[@]}" CC_EVENT=ready CC_NODE_NAME=cloud-1 CC_NODE_IP="$E2E_NET.42" \
	"$here/node-up.sh"
[[ -e /run/netns/$(e2e_ns_name cloud-1) ]] || e2e_fail "node-up.sh made no namespace"
read -r pid1 _ <"$CCS_E2E_DIR/nodes/cloud-1/slurmd.track"
_e2e_alive "$pid1" || e2e_fail "node-up.sh: slurmd is not running"
addr=$(ip -n "$(e2e_ns_name cloud-1)" -4 -o addr show dev eth0)
[[ $addr == *" $E2E_NET.42/24 "* ]] || e2e_fail "cloud-1 has the wrong address: $addr"
"${hook_env[@]}" CC_EVENT=ready CC_NODE_NAME=cloud-1 CC_NODE_IP="$E2E_NET.42" \
	"$here/node-up.sh"
read -r pid2 _ <"$CCS_E2E_DIR/nodes/cloud-1/slurmd.track"
[[ $pid1 == "$pid2" ]] || e2e_fail "a second node-up.sh restarted slurmd"
# As slurmctld runs its programs: stdout and stderr closed.
"${hook_env[@]}" "$here/node-up.sh" cloud-2 >&- 2>&-
[[ -e /run/netns/$(e2e_ns_name cloud-2) ]] ||
	e2e_fail "node-up.sh with closed stdout/stderr made no namespace"
for n in cloud-1 cloud-2; do
	"${hook_env[@]}" CC_EVENT=stop CC_NODE_NAME=$n "$here/node-down.sh"
	"${hook_env[@]}" "$here/node-down.sh" "$n" >&- 2>&-
	e2e_ns_gone "$n" || e2e_fail "node-down.sh left the namespace of $n"
done
_e2e_alive "$pid1" && e2e_fail "node-down.sh left slurmd $pid1 running"
if "${hook_env[@]}" "$here/node-up.sh" 'bad/name' 2>/dev/null; then
	e2e_fail "node-up.sh accepted a bad node name"
fi
e2e_log "hooks ok"
