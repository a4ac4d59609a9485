#!/bin/bash
# bench/shim_bench.sh [CALLS]: the shim's wall time against /bin/true.
#
# Starts the fake CycleCloud (zero boot delays; 4 nodearrays of CALLS nodes
# in all, each node with a ~2 KB Configuration) and a real ccslurmd on a
# private socket (batch_window 500ms, the default; poll_interval 1s), then
# runs build/bench/shim_bench: CALLS calls of ccslurm-resume, each resuming
# a different node, interleaved with as many /bin/true, both spawned the way
# slurmctld spawns its programs.  Then waits for every node to be ready and
# prints the cloud calls the whole burst cost.
#
#   CCS_BUILD_DIR=build bench/shim_bench.sh 1000
set -euo pipefail
# shellcheck source=bench/benchlib.sh
. "$(cd "$(dirname "$0")" && pwd)/benchlib.sh"

calls=${1:-1000}
if ! [ "$calls" -ge 4 ] 2>/dev/null; then
	echo "usage: shim_bench.sh [CALLS>=4]" >&2
	exit 2
fi
SHIM_BENCH=$CCS_BUILD_DIR/bench/shim_bench
[ -x "$SHIM_BENCH" ] || { echo "$SHIM_BENCH not built" >&2; exit 1; }

ccs_init
unset CCS_SCONTROL_STATE	# the recorder only records: no state to keep
bench_arrays "$CCS_T/arrays.json" "$calls" 4
ccs_start_fake "$CCS_T/arrays.json" --acquire-delay 0 --prepare-delay 0 \
    --ip-delay 0 --stop-delay 0
bench_config 500ms 1s
bench_start_daemon
bench_wait_table "$calls"
ccs_fake POST reset-counters >/dev/null

hl=$(bench_py slices "$CCS_T/arrays.json" 1)
cpu0=$(bench_cpu_s "$CCS_DAEMON_PID")
"$SHIM_BENCH" -n "$calls" "$CCS_SHIM_DIR/ccslurm-resume" "$hl"
all_ready() {
	[ "$(ccs_ctl status --json | ccs_json 'd["nodes"]["ready"]')" = "$calls" ]
}
ccs_wait_for 300 "all $calls nodes ready" all_ready
cpu1=$(bench_cpu_s "$CCS_DAEMON_PID")
ccs_fake GET counters >"$CCS_T/counters.json"
"$CCS_PYTHON" - "$CCS_T/counters.json" "$calls" "$cpu0" "$cpu1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
calls = int(sys.argv[2])
r = c["requests"]
up = r["create"] + r["start"]
print("  cloud calls for the %d resumes: create %d  start %d  polls %d  "
      "total %d  (%.4f create+start a shim call)" % (
          calls, r["create"], r["start"], r["nodes"], r["total"],
          up / calls))
print("  daemon CPU %.2f s for the %d calls and their nodes" % (
    float(sys.argv[4]) - float(sys.argv[3]), calls))
PY
ccs_stop_daemon
