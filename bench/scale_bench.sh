#!/bin/bash
# bench/scale_bench.sh [NODES] [TABLE_NODES]: the daemon with NODES nodes
# (default 50,000) in its table, every one an existing CycleCloud node record
# with a ~2 KB Configuration (4 nodearrays, pre-created as after
# `ccslurmctl create-nodes`), and Slurm (scontrol-recorder) listing them all
# powered down.
#
# Prints, after a full periodic pass (cluster sweep + Slurm listing +
# comparison; reconcile_interval $BENCH_RECONCILE_INTERVAL, default 20s):
#   - the pass time, from the fake receiving GET status?nodes=true to the
#     daemon's "reconcile: pass done" log line, and the daemon's CPU time
#     for it (/proc/PID/stat)
#   - the daemon's peak RSS (VmHWM) and RSS after it
#   - `ccslurmctl nodes --json` wall time for all NODES (best and median
#     of 5), and `ccslurmctl nodes HOSTLIST` (the table) for TABLE_NODES
#     (default 10,000) nodes
#
#   CCS_BUILD_DIR=build bench/scale_bench.sh 50000 10000
set -euo pipefail
# shellcheck source=bench/benchlib.sh
. "$(cd "$(dirname "$0")" && pwd)/benchlib.sh"

nodes=${1:-50000}
table=${2:-10000}
if ! [ "$nodes" -ge 4 ] 2>/dev/null || ! [ "$table" -ge 1 ] 2>/dev/null ||
    [ "$table" -gt "$nodes" ]; then
	echo "usage: scale_bench.sh [NODES>=4] [1<=TABLE_NODES<=NODES]" >&2
	exit 2
fi

ccs_init
bench_arrays "$CCS_T/arrays.json" "$nodes" 4 precreate
bench_py slurm-state "$CCS_T/arrays.json" >"$CCS_SCONTROL_STATE"
ccs_start_fake "$CCS_T/arrays.json"
bench_config 500ms 1s "${BENCH_RECONCILE_INTERVAL:-20s}"
bench_start_daemon
bench_wait_table "$nodes" 600
ccs_log "table loaded; waiting for the first periodic pass"
cpu0=$(bench_cpu_s "$CCS_DAEMON_PID")
ccs_wait_for 300 "a full reconciliation pass" \
    ccs_daemon_log_has 'reconcile: pass done'
cpu1=$(bench_cpu_s "$CCS_DAEMON_PID")
hwm=$(bench_kib "$CCS_DAEMON_PID" VmHWM)
rss=$(bench_kib "$CCS_DAEMON_PID" VmRSS)
ccs_fake GET log >"$CCS_T/fake-log.json"
"$CCS_PYTHON" - "$CCS_T/fake-log.json" "$CCS_T/daemon.log" "$nodes" \
    "$cpu0" "$cpu1" "$hwm" "$rss" "$BENCH_CONFIG_BYTES" <<'PY'
import json, re, sys
log = json.load(open(sys.argv[1]))["requests"]
done = None
for line in open(sys.argv[2]):
    m = re.match(r"^(\d+\.\d+) .*reconcile: pass done: (\d+) nodes compared,"
                 r" (\d+) actions, (\d+) ms", line)
    if m:
        done = (float(m.group(1)), int(m.group(2)), int(m.group(3)),
                int(m.group(4)))
        break
t_done, seen, acted, slurm_ms = done
st = [r for r in log if r["method"] == "GET" and "/status?nodes=true" in
      r["path"] and r["time"] <= t_done]
s = st[-1]
t_req = s["time"] - s["ms"] / 1000.0
print("scale: %s nodes in the table, each with a Configuration of ~%s "
      "bytes" % (sys.argv[3], sys.argv[8]))
print("  full pass       %.3f s  (GET status?nodes=true received -> "
      "'reconcile: pass done'; %d nodes compared, %d actions)" % (
          t_done - t_req, seen, acted))
print("    of which      %.3f s  Slurm's list (scontrol-recorder) and the "
      "comparison" % (slurm_ms / 1000.0))
print("  daemon CPU      %.2f s  for the pass (user+system)" % (
    float(sys.argv[5]) - float(sys.argv[4])))
print("  peak RSS        %.1f MiB VmHWM after the pass  (VmRSS %.1f MiB)" % (
    int(sys.argv[6]) / 1024.0, int(sys.argv[7]) / 1024.0))
PY

times=()
for _ in 1 2 3 4 5; do
	times+=("$(bench_ms ccs_ctl nodes --json)")
done
got=$(ccs_ctl nodes --json | ccs_json 'len(d["nodes"])')
ccs_assert_eq "$nodes" "$got" "nodes in ccslurmctl nodes --json"
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$nodes" '
    { t[NR] = $1 } END { printf "  nodes --json    best %d ms  median %d ms  (%d nodes, 5 runs)\n", t[1], t[3], n }'

hl=$(bench_py names "$CCS_T/arrays.json" "$table" | bench_py hostlist)
times=()
for _ in 1 2 3 4 5; do
	times+=("$(bench_ms ccs_ctl nodes "$hl")")
done
got=$(ccs_ctl nodes "$hl" | tail -n +2 | wc -l)
ccs_assert_eq "$table" "$got" "rows of ccslurmctl nodes $hl"
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$table" -v hl="$hl" '
    { t[NR] = $1 } END { printf "  nodes (table)   best %d ms  median %d ms  (%d nodes: %s, 5 runs)\n", t[1], t[3], n, hl }'
times=()
for _ in 1 2 3; do
	times+=("$(bench_ms ccs_ctl nodes)")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$nodes" '
    { t[NR] = $1 } END { printf "  nodes (table)   best %d ms  median %d ms  (all %d nodes, 3 runs)\n", t[1], t[2], n }'
ccs_stop_daemon
