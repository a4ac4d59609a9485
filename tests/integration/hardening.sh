# shellcheck shell=bash
# tests/integration/hardening.sh: helpers shared by the fault, chaos, hostile
# client and security scripts (30-33).  Sourced after lib.sh.
#
#   hd_settled HOSTLIST         every node is ready, or failed with an error
#   hd_wait_settled T HOSTLIST  wait for that (ccs_wait_for)
#   hd_count_state HOSTLIST STATE   how many of HOSTLIST are in STATE
#   hd_probe_start / hd_probe_stop MAXMS DESC
#                               time `ccslurmctl status` every 0.2 s in the
#                               background; stop asserts every call answered
#                               within MAXMS ms (and prints the slowest)
#   hd_requests_total           the fake's total API request count
#   hd_assert_quiet SECS DESC   the fake sees no API request for SECS: the
#                               daemon retries nothing without bound
#   hd_ms                       monotonic-enough milliseconds (date)

HD_PROBE_PID=
HD_PROBE_FILE=

# The probe loop must never outlive the script, whatever way it ends: lib.sh's
# cleanup waits for every child.
_hd_cleanup() {
	local rc=$?
	if [ -n "$HD_PROBE_PID" ]; then
		kill "$HD_PROBE_PID" 2>/dev/null || true
	fi
	(exit "$rc")
	_ccs_cleanup
}

hd_init() {
	ccs_init
	trap _hd_cleanup EXIT
}

hd_ms() { echo $(($(date +%s%N) / 1000000)); }

hd_settled() { # HOSTLIST
	ccs_ctl nodes --json "$1" | "$CCS_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
bad = [n["name"] + "=" + n["state"] for n in d["nodes"]
       if not (n["state"] == "ready" or (n["state"] == "failed" and n["error"]))]
sys.exit(1 if bad or not d["nodes"] else 0)'
}

hd_wait_settled() { # T HOSTLIST
	ccs_wait_for "$1" "every node of $2 ready or failed with a reason" \
	    hd_settled "$2"
}

hd_count_state() { # HOSTLIST STATE
	ccs_ctl nodes --json "$1" |
	    ccs_json "sum(1 for n in d['nodes'] if n['state'] == '$2')"
}

hd_probe_start() {
	HD_PROBE_FILE=$CCS_T/probe.$RANDOM
	: >"$HD_PROBE_FILE"
	(
		trap 'exit 0' TERM
		while :; do
			t0=$(hd_ms)
			if ccs_ctl status >/dev/null 2>&1; then
				echo "$(($(hd_ms) - t0))"
			else
				echo "fail"
			fi
			sleep 0.2
		done
	) >>"$HD_PROBE_FILE" 2>/dev/null &
	HD_PROBE_PID=$!
}

hd_probe_stop() { # MAXMS DESC
	local max=$1 desc=$2 n worst
	kill "$HD_PROBE_PID" 2>/dev/null || true
	wait "$HD_PROBE_PID" 2>/dev/null || true
	HD_PROBE_PID=
	n=$(grep -c . "$HD_PROBE_FILE" || true)
	[ "$n" -gt 0 ] || ccs_fail "$desc: no status call was made"
	if grep -q fail "$HD_PROBE_FILE"; then
		ccs_fail "$desc: $(grep -c fail "$HD_PROBE_FILE") of $n status calls failed"
	fi
	worst=$(sort -n "$HD_PROBE_FILE" | tail -1)
	ccs_log "$desc: $n status calls, slowest ${worst} ms"
	[ "$worst" -lt "$max" ] ||
		ccs_fail "$desc: a status call took ${worst} ms (limit ${max} ms)"
}

hd_requests_total() { ccs_fake_requests total; }

hd_assert_quiet() { # SECS DESC
	local a b
	a=$(hd_requests_total)
	sleep "$1" # observing that nothing happens takes time by nature
	b=$(hd_requests_total)
	ccs_assert_eq "$a" "$b" "$2: API requests during ${1}s of quiet"
}
