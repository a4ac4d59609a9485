#!/bin/bash
# 31-chaos.sh: random kills.  CHAOS_RUNS (default 10) runs of a 500-node
# burst, asked for the way slurmctld does (several resume calls in a row),
# during which the daemon is killed with SIGKILL at a random moment, of the
# burst or of the suspend that follows, and restarted.  After each run:
#   - zero requests lost: every node resumed ends ready;
#   - zero nodes started twice: the fake's node_creates and node_starts are
#     exactly 1 for each of the 500 nodes;
#   - zero VMs left running without a Slurm node wanting them: after the
#     suspend, the fake has no active node.
# The kill moments come from a seeded RNG; the seed is printed, and
# CHAOS_SEED=N replays a run.  Failpoint kills at fixed points are in the
# lead's crash tests; these are the extra random ones (decisions.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hardening.sh"

runs=${CHAOS_RUNS:-10}
seed=${CHAOS_SEED:-$(($(date +%s) % 32768))}
RANDOM=$seed
N=500
NODES="htc-[1-$N]"

hd_init
ccs_log "chaos: seed $seed (CHAOS_SEED=$seed replays it), $runs runs of $N nodes"
ccs_start_fake "$CCS_SOURCE_DIR/tests/fake/arrays-large.json" \
    --acquire-delay 1 --prepare-delay 1 --ip-delay 0.5 --stop-delay 1
ccs_write_config
# No debug log: 500 nodes a run would make it the slowest part.
sed -i 's/^  level: debug$/  level: info/' "$CCS_CONFIG"

engine_started() {
	[ "$(ccs_ctl status --json | ccs_json 'd["engine"]["starting"]')" = False ]
}

all_in_state() { # STATE
	[ "$(hd_count_state "$NODES" "$1")" = "$N" ]
}

# Every node of the burst created once and booted once, no other node.
check_once() { # RUN
	ccs_fake GET counters | "$CCS_PYTHON" -c '
import json, sys
d, n = json.load(sys.stdin), int(sys.argv[1])
want = {"htc-%d" % i for i in range(1, n + 1)}
for k in ("node_creates", "node_starts"):
    c = d[k]
    twice = sorted(x for x, v in c.items() if v != 1)
    missing = sorted(want - set(c))
    extra = sorted(set(c) - want)
    if twice or missing or extra:
        sys.exit("run %s: %s: not once: %s; never: %s; not asked for: %s"
                 % (sys.argv[2], k, twice[:10], missing[:10], extra[:10]))
' "$N" "$1"
}

# The node states just before the kill, to show what was in flight.
states() {
	ccs_ctl status --json 2>/dev/null | ccs_json \
	    '" ".join("%s=%d" % (k, v) for k, v in d["nodes"].items() if v and k != "powered_down")' ||
	    echo "status failed"
}

no_active_vm() {
	[ "$(ccs_fake GET nodes | ccs_json \
	    "sum(1 for n in d['nodes'] if n.get('Status') in ('Acquiring', 'Preparing', 'Ready', 'Terminating'))")" = 0 ]
}

# slurmctld calls the ResumeProgram once per batch of nodes: 5 calls of
# 100, a little apart, in the background.  A call that finds the daemon
# dead spools its request; the restarted daemon takes it from the spool.
resume_calls() {
	local i
	for i in 0 1 2 3 4; do
		ccs_shim ccslurm-resume "htc-[$((i * 100 + 1))-$((i * 100 + 100))]" \
		    >/dev/null 2>&1 || echo "resume call $i failed" >&2
		sleep 0.$((RANDOM % 3))
	done
}

t_all=$(hd_ms)
for run in $(seq 1 "$runs"); do
	# A fresh world each run: the fake back to its start, no journal.
	ccs_fake POST reset >/dev/null
	rm -rf "$CCS_T/state" && mkdir -p "$CCS_T/state"
	ccs_start_daemon
	ccs_wait_for 60 "the start-up listing" engine_started
	t_run=$(hd_ms)

	phase=$((RANDOM % 3))	# 0, 1: kill during the burst; 2: the suspend
	delay_ms=$((RANDOM % 3500))
	resume_calls &
	calls=$!
	if [ "$phase" -lt 2 ]; then
		sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
		at_kill=$(states)
		kill -KILL "$CCS_DAEMON_PID"
		wait "$CCS_DAEMON_PID" 2>/dev/null || true
		ccs_start_daemon
	fi
	wait "$calls"
	ccs_wait_for 180 "run $run: all $N nodes ready" all_in_state ready
	check_once "$run" || ccs_fail "run $run (seed $seed): a node made twice or never"

	ccs_shim ccslurm-suspend "$NODES" >/dev/null
	if [ "$phase" = 2 ]; then
		sleep "0.$(printf '%03d' $((delay_ms % 1000)))"
		at_kill=$(states)
		kill -KILL "$CCS_DAEMON_PID"
		wait "$CCS_DAEMON_PID" 2>/dev/null || true
		ccs_start_daemon
	fi
	ccs_wait_for 120 "run $run: all $N nodes powered down" \
	    all_in_state powered_down
	ccs_wait_for 60 "run $run: no VM left in the fake" no_active_vm
	ccs_log "run $run: killed $([ "$phase" = 2 ] && echo "in the suspend" ||
	    echo "in the burst") ($at_kill); $N ready once each, none left running ($(($(hd_ms) - t_run)) ms)"
	ccs_stop_daemon
done
ccs_log "chaos: $runs runs in $(($(hd_ms) - t_all)) ms (seed $seed)"
