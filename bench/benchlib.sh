# shellcheck shell=bash
# bench/benchlib.sh: what the benchmark scripts share, on top of the
# integration harness (tests/integration/lib.sh: temp dir, fake CycleCloud
# over HTTPS, private socket, scontrol-recorder, cleanup on exit).
#
#   bench_arrays FILE TOTAL NARRAYS [PRECREATE]  write an ARRAYS.json of
#                       NARRAYS autoscale nodearrays (HPC and HTC in turn)
#                       totalling TOTAL nodes, each node's Configuration
#                       about $BENCH_CONFIG_BYTES (default 2048) bytes of JSON
#   bench_start_daemon  ccslurmd as ccs_start_daemon does, its log lines
#                       prefixed with the Unix time they were written
#   bench_cpu_s PID     user+system CPU seconds of PID (/proc/PID/stat)
#   bench_kib PID FIELD a /proc/PID/status field in KiB (VmHWM, VmRSS)
#   bench_now           Unix time, seconds with microseconds
#   bench_ms CMD...     run CMD (stdout discarded), print its wall time in ms
#   bench_py            the analysis helper (bench/bench_report.py)

# shellcheck source=tests/integration/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../tests/integration/lib.sh"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BENCH_CONFIG_BYTES:=2048}"

bench_py() { "$CCS_PYTHON" -B "$BENCH_DIR/bench_report.py" "$@"; }

bench_arrays() { # FILE TOTAL NARRAYS [PRECREATE]
	bench_py arrays --total "$2" --narrays "$3" \
	    --config-bytes "$BENCH_CONFIG_BYTES" \
	    ${4:+--precreate} >"$1"
}

bench_now() { date +%s.%6N; }

bench_start_daemon() {
	# The harness logs without time stamps; the benchmarks need them to
	# place daemon events against the fake's and the recorder's logs.
	${CCS_DAEMON_WRAPPER:-} "$CCSLURMD" -f -c "$CCS_CONFIG" "$@" \
	    2> >("$CCS_PYTHON" -u -c '
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line))
    sys.stdout.flush()' >>"$CCS_T/daemon.log") &
	CCS_DAEMON_PID=$!
	bench_wait_daemon 120
	ccs_log "ccslurmd up (pid $CCS_DAEMON_PID)"
}

# Like ccs_wait_for ping, but a daemon that exited (a bad config) fails the
# run at once, with its log, instead of at the end of the wait.
bench_wait_daemon() { # TIMEOUT
	local _
	for _ in $(seq 1 $(($1 * 10))); do
		kill -0 "$CCS_DAEMON_PID" 2>/dev/null ||
			ccs_fail "ccslurmd exited; its log follows"
		ccs_ctl ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	ccs_fail "timed out after $1 s waiting for ccslurmd to answer ping"
}

bench_cpu_s() { # PID
	local hz
	hz=$(getconf CLK_TCK)
	# Fields 14 and 15 (utime, stime) counted after the ")" of comm.
	sed 's/.*) //' "/proc/$1/stat" |
	    awk -v hz="$hz" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

bench_kib() { # PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

bench_ms() { # CMD...
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# The config the benchmarks run the daemon with: the harness's, at log level
# info (debug lines for every node would be measured too), with the batch
# window and poll interval given.
bench_config() { # BATCH_WINDOW POLL_INTERVAL [RECONCILE_INTERVAL]
	ccs_write_config
	sed -i -e 's/^  level: debug$/  level: info/' \
	    -e "s/^  batch_window: .*/  batch_window: $1/" \
	    -e "s/^  poll_interval: .*/  poll_interval: $2/" \
	    -e "s/^  reconcile_interval: .*/  reconcile_interval: ${3:-1h}/" \
	    "$CCS_CONFIG"
}

# Wait until the daemon's table holds N nodes (the first sweep is done).
bench_wait_table() { # N [TIMEOUT]
	ccs_wait_for "${2:-120}" "the daemon's table to hold $1 nodes" \
	    bench_table_has "$1"
}
bench_table_has() {
	[ "$(ccs_ctl status --json |
	    ccs_json 'd["nodes_total"] if not d["engine"]["starting"] else -1')" = "$1" ]
}
