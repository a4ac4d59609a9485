#!/bin/bash
# bench/burst_bench.sh [NODES] [SHIM_CALLS]: a burst of NODES nodes over 4
# nodearrays against the fake CycleCloud with zero boot delay.
#
# The daemon runs with batch_window 500ms (the default) and poll_interval
# 1s ($BENCH_BATCH_WINDOW, $BENCH_POLL_INTERVAL), every node's record with a
# ~2 KB Configuration.  The burst is SHIM_CALLS (default 10) ccslurm-resume
# calls back to back, each naming a slice of every nodearray, as slurmctld
# hands a burst over.  Prints the cloud calls by endpoint, the scontrol
# calls (scontrol-recorder), the time from the first shim call to the last
# address given to Slurm, how long after the fake reported each node Ready
# Slurm was told (from the fake's request log and the recorder's time
# stamps), and the daemon's CPU time (/proc/PID/stat utime+stime).
#
#   CCS_BUILD_DIR=build bench/burst_bench.sh 10000
set -euo pipefail
# shellcheck source=bench/benchlib.sh
. "$(cd "$(dirname "$0")" && pwd)/benchlib.sh"

nodes=${1:-1000}
shims=${2:-10}
if ! [ "$nodes" -ge 4 ] 2>/dev/null || ! [ "$shims" -ge 1 ] 2>/dev/null; then
	echo "usage: burst_bench.sh [NODES>=4] [SHIM_CALLS>=1]" >&2
	exit 2
fi

ccs_init
unset CCS_SCONTROL_STATE	# the recorder only records: no state to keep
bench_arrays "$CCS_T/arrays.json" "$nodes" 4
ccs_start_fake "$CCS_T/arrays.json" --acquire-delay 0 --prepare-delay 0 \
    --ip-delay 0 --stop-delay 0
bench_config "${BENCH_BATCH_WINDOW:-500ms}" "${BENCH_POLL_INTERVAL:-1s}"
bench_start_daemon
bench_wait_table "$nodes"
bench_py slices "$CCS_T/arrays.json" "$shims" >"$CCS_T/slices"
ccs_fake POST reset-counters >/dev/null
: >"$CCS_SCONTROL_LOG"

cpu0=$(bench_cpu_s "$CCS_DAEMON_PID")
t0=$(bench_now)
while read -r hl; do
	ccs_shim ccslurm-resume "$hl"
done <"$CCS_T/slices"
t_shims=$(bench_now)
ready_all() {
	[ "$(ccs_ctl status --json | ccs_json 'd["nodes"]["ready"]')" = "$nodes" ]
}
ccs_wait_for 600 "all $nodes nodes ready in the daemon" ready_all
# A node is ready in the daemon once its NodeAddr update is queued; wait for
# the recorder to have seen every name.
told_all() { [ "$(bench_py told "$CCS_SCONTROL_LOG")" = "$nodes" ]; }
ccs_wait_for 120 "every address given to Slurm" told_all
cpu1=$(bench_cpu_s "$CCS_DAEMON_PID")
ccs_fake GET counters >"$CCS_T/counters.json"
ccs_fake GET log >"$CCS_T/fake-log.json"
awk -v n="$shims" -v a="$t0" -v b="$t_shims" \
    'BEGIN { printf "the %d shim calls took %.3f s\n", n, b - a }'
bench_py burst --fake-log "$CCS_T/fake-log.json" \
    --fake-counters "$CCS_T/counters.json" --scontrol-log "$CCS_SCONTROL_LOG" \
    --t0 "$t0" --nodes "$nodes" --shim-calls "$shims" \
    --cpu "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')"
ccs_stop_daemon
