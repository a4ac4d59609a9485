# shellcheck shell=bash
# tests/integration/lib.sh: the daemon integration harness.
#
# Sourced by the numbered scripts (NN-*.sh).  Runs the real ccslurmd, shims
# and ccslurmctl against the fake CycleCloud (tests/fake/fakecc.py, over
# HTTPS with a test CA from tests/fake/mkcerts.sh) and a recording stand-in
# for scontrol (scontrol-recorder), all on a private socket, state and spool
# under one temporary directory, torn down on exit, failure or signal.  Safe
# under `set -euo pipefail`.
#
# Public surface (scripts rely on these names; add, do not rename):
#
#   ccs_init                    temp dir ($CCS_T), traps, binaries, checks
#   ccs_log MSG... / ccs_step MSG... / ccs_fail MSG...
#   ccs_wait_for T DESC CMD...  poll CMD every 0.1 s for up to T seconds
#   ccs_start_fake [ARRAYS.json] [FAKE ARGS...]   $CCS_FAKE_URL, $CCS_FAKE_PID
#   ccs_write_config [FILE] [YAML LINES...]  a config for the fake (extra
#                               lines appended verbatim, e.g. under log:)
#   ccs_start_daemon [ARGS...]  ccslurmd -f -c $CCS_CONFIG, waits for ping
#                               (under $CCS_DAEMON_WRAPPER when set, e.g.
#                               "valgrind --error-exitcode=1 --leak-check=full")
#   ccs_stop_daemon             SIGTERM, wait, check it exited 0
#   ccs_ctl ARGS...             ccslurmctl on the private socket
#   ccs_shim NAME ARGS...       ccslurm-resume|-suspend|-resumefail likewise
#   ccs_fake GET|POST PATH [JSON]   the fake's control API (/__fake/PATH)
#   ccs_fake_requests ENDPOINT  how many ENDPOINT calls the fake answered
#   ccs_json EXPR               read JSON on stdin, print the Python EXPR of it
#                               (the document is `d`), e.g. 'len(d["nodes"])'
#   ccs_scontrol_calls PATTERN  count recorded scontrol calls whose argv,
#                               joined by spaces, matches the regex PATTERN
#   ccs_daemon_log_has REGEX    the daemon's log has a matching line
#   ccs_assert_eq WANT GOT DESC / ccs_assert_match REGEX TEXT DESC
#   ccs_free_port               a free TCP port on 127.0.0.1 (for listeners)
#   ccs_write_arrays FILE SPEC...  an ARRAYS.json of autoscale nodearrays;
#                               SPEC is NAME:hpc|htc:MAXCOUNT[:SCALESET[:POLICY]]
#   ccs_all_in STATE HOSTLIST   every node of HOSTLIST is in STATE (daemon)
#   ccs_each_once KEY HOSTLIST  the fake's counters[KEY] (node_creates,
#                               node_starts) is exactly 1 for each node of
#                               HOSTLIST (and names no other node)
#   ccs_kill_daemon             SIGKILL the daemon and reap it
#   ccs_wait_daemon_exit T      wait up to T s for the daemon to end by
#                               itself (a failpoint); its exit status in
#                               $CCS_DAEMON_RC (137: SIGKILL)
#   ccs_journal_sum             a checksum of the daemon's state directory
#   ccs_metric NAME             the value of an unlabelled metric (ctl metrics)
#   ccs_scontrol_called PATTERN [N]  at least N (1) recorded calls match
#   ccs_daemon_started          the daemon has read the cluster (recovery
#                               done: status "engine.starting" is false)
#                               (for ccs_wait_for: re-counted on each try)
#
# Settings: KEEP=1 keeps $CCS_T (logs, config) after the run.
# From ctest: CCS_BUILD_DIR (binaries), CCS_SOURCE_DIR (fake, certs script).

CCS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${CCS_SOURCE_DIR:=$(cd "$CCS_LIB_DIR/../.." && pwd)}"
: "${CCS_BUILD_DIR:=$CCS_SOURCE_DIR/build}"

CCS_T=
CCS_FAKE_PID=
CCS_DAEMON_PID=
CCS_STEP=0
CCS_PYTHON=/usr/bin/python3

ccs_log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

ccs_step() {
	CCS_STEP=$((CCS_STEP + 1))
	ccs_log "---- $CCS_STEP. $*"
}

ccs_fail() {
	ccs_log "FAIL: $*"
	exit 1
}

ccs_assert_eq() { # WANT GOT DESC
	[ "$1" = "$2" ] || ccs_fail "$3: expected '$1', got '$2'"
}

ccs_assert_match() { # REGEX TEXT DESC
	grep -Eq -- "$1" <<<"$2" ||
		ccs_fail "$3: '$2' does not match /$1/"
}

# Poll a condition, never a bare sleep: CMD is re-run every 0.1 s.
ccs_wait_for() { # T DESC CMD...
	local t=$1 desc=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) / 1000000 + t * 1000))
	until "$@" >/dev/null 2>&1; do
		if [ "$(($(date +%s%N) / 1000000))" -ge "$deadline" ]; then
			ccs_fail "timed out after ${t}s waiting for: $desc"
		fi
		sleep 0.1
	done
}

_ccs_stop_pid() { # PID NAME
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	ccs_log "$2 (pid $pid) ignored SIGTERM for 10 s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

_ccs_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	_ccs_stop_pid "$CCS_DAEMON_PID" ccslurmd
	_ccs_stop_pid "$CCS_FAKE_PID" fakecc
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ -n "$CCS_T" ] && [ -f "$CCS_T/daemon.log" ]; then
		ccs_log "last lines of the daemon's log:"
		tail -n 40 "$CCS_T/daemon.log" >&2 || true
	fi
	if [ -n "$CCS_T" ] && [ -d "$CCS_T" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			ccs_log "KEEP=1: kept $CCS_T"
		else
			rm -rf "$CCS_T"
		fi
	fi
	if [ "$rc" -eq 0 ]; then
		ccs_log "PASS: $(basename "$0")"
	fi
	exit "$rc"
}

ccs_init() {
	local b
	CCSLURMD=$CCS_BUILD_DIR/daemon/ccslurmd
	CCSLURMCTL=$CCS_BUILD_DIR/client/ccslurmctl
	CCS_SHIM_DIR=$CCS_BUILD_DIR/client
	for b in "$CCSLURMD" "$CCSLURMCTL" "$CCS_SHIM_DIR/ccslurm-resume"; do
		[ -x "$b" ] || ccs_fail "$b not built (CCS_BUILD_DIR=$CCS_BUILD_DIR)"
	done
	for b in openssl curl; do
		command -v "$b" >/dev/null || ccs_fail "$b is needed"
	done
	CCS_T=$(mktemp -d /tmp/ccs-integ.XXXXXX)
	trap _ccs_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	mkdir -p "$CCS_T/run" "$CCS_T/state" "$CCS_T/spool" "$CCS_T/certs" \
	    "$CCS_T/slurm"
	CCS_SOCKET=$CCS_T/run/ccslurmd.sock
	CCS_CONFIG=$CCS_T/ccslurmd.yaml
	export CCSLURMD_SOCKET=$CCS_SOCKET
	export CCSLURMD_SPOOL=$CCS_T/spool
	export CCS_SCONTROL_LOG=$CCS_T/scontrol.log
	export CCS_SCONTROL_STATE=$CCS_T/scontrol-state.json
	: >"$CCS_SCONTROL_LOG"
	chmod 644 "$CCS_SCONTROL_LOG"
	ccs_log "work dir $CCS_T"
}

# The fake CycleCloud over HTTPS with the test CA; short node delays.
ccs_start_fake() { # [ARRAYS.json] [FAKE ARGS...]
	local arrays=${1:-$CCS_SOURCE_DIR/tests/fake/arrays-default.json}
	[ $# -gt 0 ] && shift
	sh "$CCS_SOURCE_DIR/tests/fake/mkcerts.sh" "$CCS_T/certs" >/dev/null
	CCS_CA=$CCS_T/certs/ca.pem
	(umask 077 && printf 'fake-password-%s\n' "$RANDOM$RANDOM" \
	    >"$CCS_T/password")
	CCS_CLUSTER=burst
	CCS_USER=ccslurmd-test
	"$CCS_PYTHON" "$CCS_SOURCE_DIR/tests/fake/fakecc.py" \
	    --listen 127.0.0.1:0 --port-file "$CCS_T/fake.port" \
	    --cluster "$CCS_CLUSTER" --username "$CCS_USER" \
	    --password-file "$CCS_T/password" --nodearrays "$arrays" \
	    --tls-cert "$CCS_T/certs/server.pem" \
	    --tls-key "$CCS_T/certs/server-key.pem" \
	    --acquire-delay 0.3 --prepare-delay 0.3 --ip-delay 0.2 \
	    --stop-delay 0.2 --log-file "$CCS_T/fake.log" "$@" \
	    2>>"$CCS_T/fake.log" &
	CCS_FAKE_PID=$!
	ccs_wait_for 20 "the fake's port file" test -s "$CCS_T/fake.port"
	CCS_FAKE_URL=https://127.0.0.1:$(cat "$CCS_T/fake.port")
	ccs_wait_for 20 "the fake to answer" ccs_fake GET counters
	ccs_log "fake CycleCloud at $CCS_FAKE_URL (pid $CCS_FAKE_PID)"
}

ccs_write_config() { # [FILE] [EXTRA YAML LINES...]
	local file=${1:-$CCS_CONFIG}
	[ $# -gt 0 ] && shift
	cat >"$file" <<EOF
cyclecloud:
  url: $CCS_FAKE_URL
  cluster: $CCS_CLUSTER
  username: $CCS_USER
  password_file: $CCS_T/password
  ca_file: $CCS_CA
  timeout: 10s
slurm:
  scontrol: $CCS_LIB_DIR/scontrol-recorder
  config_dir: $CCS_T/slurm
  scontrol_timeout: 10s
daemon:
  socket: $CCS_SOCKET
  state_dir: $CCS_T/state
  spool_dir: $CCS_T/spool
  batch_window: 100ms
  poll_interval: 200ms
  reconcile_interval: 1h
log:
  level: debug
EOF
	local line
	for line in "$@"; do
		printf '%s\n' "$line" >>"$file"
	done
}

ccs_ctl() { "$CCSLURMCTL" -s "$CCS_SOCKET" "$@"; }

ccs_shim() { # NAME ARGS...
	local name=$1
	shift
	"$CCS_SHIM_DIR/$name" "$@"
}

ccs_start_daemon() { # [ARGS...]
	# shellcheck disable=SC2086 # the wrapper is a command line
	${CCS_DAEMON_WRAPPER:-} "$CCSLURMD" -f -c "$CCS_CONFIG" "$@" \
	    2>>"$CCS_T/daemon.log" &
	CCS_DAEMON_PID=$!
	ccs_wait_for 60 "ccslurmd to answer ping" ccs_ctl ping
	ccs_log "ccslurmd up (pid $CCS_DAEMON_PID)"
}

ccs_stop_daemon() {
	local pid=$CCS_DAEMON_PID rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	CCS_DAEMON_PID=
	ccs_assert_eq 0 "$rc" "ccslurmd exit status after SIGTERM"
}

ccs_fake() { # GET|POST PATH [JSON]
	local method=$1 path=$2 body=${3:-}
	[ -n "$body" ] || body='{}'
	if [ "$method" = POST ]; then
		curl -sf --cacert "$CCS_CA" -X POST \
		    -H 'Content-Type: application/json' --data "$body" \
		    "$CCS_FAKE_URL/__fake/$path"
	else
		curl -sf --cacert "$CCS_CA" "$CCS_FAKE_URL/__fake/$path"
	fi
}

ccs_json() { # EXPR: the JSON document on stdin is d
	"$CCS_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); r=eval(sys.argv[1]); print(json.dumps(r) if isinstance(r,(dict,list)) else r)' "$1"
}

ccs_fake_requests() { # ENDPOINT
	ccs_fake GET counters | ccs_json "d['requests'].get('$1', 0)"
}

ccs_scontrol_calls() { # PATTERN
	"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" "$1" <<'EOF'
import json, re, sys
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        if re.search(sys.argv[2], " ".join(json.loads(line)["argv"])):
            n += 1
print(n)
EOF
}

ccs_free_port() {
	"$CCS_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ccs_daemon_log_has() { grep -Eq -- "$1" "$CCS_T/daemon.log"; }

ccs_write_arrays() { # FILE SPEC...
	local file=$1
	shift
	"$CCS_PYTHON" - "$@" >"$file" <<'PY'
import json, sys
arrays = []
for spec in sys.argv[1:]:
    f = spec.split(":")
    name, kind, maxc = f[0], f[1], int(f[2])
    scale = int(f[3]) if len(f) > 3 and f[3] else maxc
    policy = f[4] if len(f) > 4 else "Terminate"
    hpc = kind == "hpc"
    arrays.append({
        "name": name, "machineType": "Standard_F2s_v2",
        "vcpuCount": 2, "pcpuCount": 1, "memoryGB": 4.0,
        "infiniband": hpc, "maxCount": maxc, "maxScalesetSize": scale,
        "shutdownPolicy": policy,
        "configuration": {"slurm": {"autoscale": True, "hpc": hpc,
                                    "partition": name}},
        "precreate": False})
print(json.dumps({"nodearrays": arrays}))
PY
}

ccs_all_in() { # STATE HOSTLIST
	[ "$(ccs_ctl nodes --json "$2" | ccs_json \
	    "all(n['state'] == '$1' for n in d['nodes']) and len(d['nodes']) > 0")" = True ]
}

ccs_each_once() { # KEY HOSTLIST
	local names
	names=$(ccs_ctl hostnames "$2") || return 1
	ccs_fake GET counters | "$CCS_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)[sys.argv[1]]
want = set(sys.argv[2].split())
bad = {k: v for k, v in d.items() if k in want and v != 1}
missing = sorted(want - set(d))
if bad or missing:
    sys.exit("%s: not exactly once: %s, missing: %s" % (sys.argv[1],
             bad, missing[:10]))
' "$1" "$names"
}

ccs_kill_daemon() {
	[ -n "$CCS_DAEMON_PID" ] || return 0
	kill -KILL "$CCS_DAEMON_PID" 2>/dev/null || true
	wait "$CCS_DAEMON_PID" 2>/dev/null || true
	CCS_DAEMON_PID=
}

_ccs_dead() { # PID: gone, or a zombie not reaped yet
	! kill -0 "$1" 2>/dev/null || grep -q '^[^)]*) Z' "/proc/$1/stat"
}

ccs_wait_daemon_exit() { # T
	local rc=0
	ccs_wait_for "$1" "ccslurmd (pid $CCS_DAEMON_PID) to exit" \
	    _ccs_dead "$CCS_DAEMON_PID"
	wait "$CCS_DAEMON_PID" || rc=$?
	CCS_DAEMON_PID=
	CCS_DAEMON_RC=$rc
}

ccs_journal_sum() {
	(cd "$CCS_T/state" && find . -type f -print0 | sort -z |
	    xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}

ccs_metric() { # NAME
	ccs_ctl metrics | sed -n "s/^$1 //p"
}

ccs_scontrol_called() { # PATTERN [N]
	[ "$(ccs_scontrol_calls "$1")" -ge "${2:-1}" ]
}

ccs_daemon_started() {
	[ "$(ccs_ctl status --json | ccs_json 'd["engine"]["starting"]')" = False ]
}
