# shellcheck shell=bash
# tests/e2e/burst-lib.sh: ccslurmd bursting a real Slurm into the fake
# CycleCloud.  Sourced by 01..05 and by scripts/demo, after lib.sh's settings
# and instead of lib.sh (it sources lib.sh itself).
#
# burst_up builds the whole stack under the run's work dir ($CCS_E2E_DIR):
#
#   bridge + munged            (lib.sh)
#   fake CycleCloud            HTTPS with a test CA on 127.0.0.1, two small
#                              nodearrays (hpc: 4 nodes, placement groups of
#                              2; htc: 6 nodes), boot ~1-3 s, its hooks
#                              node-up.sh / node-down.sh, its IP pool on the
#                              bridge subnet
#   ccslurmd                   private socket, state and spool; real scontrol
#   ccslurmctl generate        cyclecloud.conf, topology.conf, gres.conf,
#                              cyclecloud-hpc-partitions into etc/
#   slurmctld                  Include cyclecloud.conf, topology/tree,
#                              job_submit/cyclecloud from the build tree, the
#                              shims as Resume/Suspend/ResumeFailProgram
#                              through wrappers that set CCSLURMD_SOCKET and
#                              CCSLURMD_SPOOL (slurmctld passes no environment)
#
# Everything is torn down by lib.sh's trap (slurmctld, then ccslurmd and the
# fake, then the nodes, munged, the bridge).
#
# Public surface (scripts rely on these names; add, do not rename):
#
#   burst_init               e2e_init + the build's binaries
#   burst_up                 the whole stack, as above
#   burst_daemon_start       (re)start ccslurmd and wait for its ping, with
#                            $BURST_DAEMON_ENV (VAR=VALUE words) added to
#                            its environment
#   burst_daemon_kill9       SIGKILL ccslurmd (a crash), wait until it is gone
#   burst_ctl ARGS...        ccslurmctl on the run's socket
#   burst_fake GET|POST PATH [JSON]   the fake's control API (/__fake/PATH)
#   burst_json EXPR          JSON on stdin -> Python EXPR of it (d = document)
#   burst_counter EXPR       EXPR of the fake's /__fake/counters
#   burst_api_calls          the fake's API requests, one line each:
#                            "HH:MM:SS.mmm METHOD PATH STATUS [names]"
#   burst_submit ARGS...     sbatch --parsable, output in out/job-N.out; prints N
#   burst_job_field JOB KEY  one Key=Value of `scontrol -o show job`
#   burst_node_row NODE      NODE's row of `ccslurmctl nodes --json`, as
#                            "state cc_status ip error"
#   burst_cc_state_is NODE RE   condition: ccslurmd's state of NODE matches
#   burst_dump               print ccslurmctl nodes and the API call summary
#
# Settings (before burst_up):
#   BURST_ACQUIRE_DELAY [1]  BURST_PREPARE_DELAY [1]  BURST_IP_DELAY [0.5]
#   BURST_STOP_DELAY [1]     the fake's life-cycle delays (seconds)
#   BURST_ARRAYS             nodearrays JSON [the small one written here]
#   E2E_SUSPEND_TIME [10] E2E_SUSPEND_TIMEOUT [8] E2E_RESUME_TIMEOUT [60]
#   BURST_DAEMON_EXTRA       YAML lines appended to ccslurmd's config

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${CCS_SOURCE_DIR:=$(cd "$E2E_LIB_DIR/../.." && pwd)}"
: "${CCS_BUILD_DIR:=$CCS_SOURCE_DIR/build}"
: "${BURST_ACQUIRE_DELAY:=1}"
: "${BURST_PREPARE_DELAY:=1}"
: "${BURST_IP_DELAY:=0.5}"
: "${BURST_STOP_DELAY:=1}"
: "${E2E_SUSPEND_TIME:=10}"
: "${E2E_SUSPEND_TIMEOUT:=8}"
: "${E2E_RESUME_TIMEOUT:=60}"
BURST_PYTHON=/usr/bin/python3

burst_init()
{
	local b
	e2e_init
	CCSLURMD=$CCS_BUILD_DIR/daemon/ccslurmd
	CCSLURMCTL=$CCS_BUILD_DIR/client/ccslurmctl
	BURST_PLUGIN=$CCS_BUILD_DIR/plugin/job_submit_cyclecloud.so
	for b in "$CCSLURMD" "$CCSLURMCTL" "$CCS_BUILD_DIR/client/ccslurm-resume" \
		"$CCS_BUILD_DIR/client/ccslurm-suspend" \
		"$CCS_BUILD_DIR/client/ccslurm-resumefail"; do
		[[ -x $b ]] || e2e_fail "$b is not built (CCS_BUILD_DIR=$CCS_BUILD_DIR)"
	done
	[[ -f $BURST_PLUGIN ]] ||
		e2e_fail "$BURST_PLUGIN is not built (target job_submit_cyclecloud)"
	_e2e_need openssl curl "$BURST_PYTHON"
	B=$CCS_E2E_DIR/ccs
	mkdir -p "$B"/{certs,state,spool,run}
	# The shims run as SlurmUser (root here); the daemon checks peers.
	chmod 0755 "$B" "$B/run"
	BURST_SOCKET=$B/run/ccslurmd.sock
	BURST_CONFIG=$B/ccslurmd.yaml
}

# ---- The fake CycleCloud ----------------------------------------------------

# The cluster for the burst tests: small, so that every node can be a real
# slurmd on this machine.  hpc: placement groups of 2 (an MPI job of 2 stays
# in one switch); htc: one CPU a node.
_burst_write_arrays()
{
	cat >"$B/arrays.json" <<'EOF'
{"nodearrays": [
 {"name": "hpc", "machineType": "Standard_HB120rs_v3", "vcpuCount": 1,
  "pcpuCount": 1, "memoryGB": 1, "infiniband": true, "maxCount": 4,
  "maxScalesetSize": 2, "shutdownPolicy": "Terminate",
  "configuration": {"slurm": {"autoscale": true, "hpc": true,
    "partition": "hpc", "default_partition": true}}},
 {"name": "htc", "machineType": "Standard_F2s_v2", "vcpuCount": 1,
  "pcpuCount": 1, "memoryGB": 1, "maxCount": 6, "maxScalesetSize": 100,
  "shutdownPolicy": "Terminate",
  "configuration": {"slurm": {"autoscale": true, "hpc": false,
    "partition": "htc"}}}
]}
EOF
	echo "$B/arrays.json"
}

_burst_start_fake()
{
	local arrays=${BURST_ARRAYS:-$(_burst_write_arrays)}
	sh "$CCS_SOURCE_DIR/tests/fake/mkcerts.sh" "$B/certs" >/dev/null ||
		e2e_fail "mkcerts.sh failed"
	BURST_CA=$B/certs/ca.pem
	(umask 077 && head -c 18 /dev/urandom | base64 >"$B/password")
	BURST_CLUSTER=e2e
	BURST_USER=ccslurmd-e2e
	# The hooks find the run through CCS_E2E_DIR (exported by e2e_init).
	# Pool: the upper half of the bridge subnet; lib.sh's own e2e_ip_for
	# hands out from .10 and is not used with the fake.
	e2e_spawn fake "$BURST_PYTHON" -B "$CCS_SOURCE_DIR/tests/fake/fakecc.py" \
		--listen 127.0.0.1:0 --port-file "$B/fake.port" \
		--cluster "$BURST_CLUSTER" --username "$BURST_USER" \
		--password-file "$B/password" --nodearrays "$arrays" \
		--tls-cert "$B/certs/server.pem" \
		--tls-key "$B/certs/server-key.pem" \
		--acquire-delay "$BURST_ACQUIRE_DELAY" \
		--prepare-delay "$BURST_PREPARE_DELAY" \
		--ip-delay "$BURST_IP_DELAY" --stop-delay "$BURST_STOP_DELAY" \
		--ip-pool "$E2E_NET.100-$E2E_NET.199" \
		--on-ready "$E2E_LIB_DIR/node-up.sh" \
		--on-stop "$E2E_LIB_DIR/node-down.sh" --hook-timeout 60 \
		--log-file "$CCS_E2E_DIR/log/fake.log"
	BURST_FAKE_PID=$E2E_PID
	e2e_wait_for 20 "the fake's port file" test -s "$B/fake.port"
	BURST_FAKE_URL=https://127.0.0.1:$(cat "$B/fake.port")
	e2e_wait_for 20 "the fake answers" burst_fake GET counters
	e2e_log "fake CycleCloud at $BURST_FAKE_URL (pid $BURST_FAKE_PID)"
}

burst_fake()
{
	local method=$1 path=$2 body=${3:-'{}'}
	if [[ $method == POST ]]; then
		curl -sSf --cacert "$BURST_CA" -X POST \
			-H 'Content-Type: application/json' --data "$body" \
			"$BURST_FAKE_URL/__fake/$path"
	else
		curl -sSf --cacert "$BURST_CA" "$BURST_FAKE_URL/__fake/$path"
	fi
}

burst_json()
{
	"$BURST_PYTHON" -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r, sort_keys=True) if isinstance(r, (dict, list)) else r)' "$1"
}

burst_counter()
{
	burst_fake GET counters | burst_json "$1"
}

# One line per API request the fake answered, with the node names a POST
# named or created.
burst_api_calls()
{
	burst_fake GET log | "$BURST_PYTHON" -c '
import json, sys, time
for r in json.load(sys.stdin)["requests"]:
    t = time.strftime("%H:%M:%S", time.localtime(r["time"]))
    t += ".%03d" % int(r["time"] * 1000 % 1000)
    b = r.get("body") or {}
    what = ""
    if isinstance(b, dict) and b.get("names"):
        what = ",".join(b["names"])
    elif isinstance(b, dict) and b.get("sets"):
        what = " ".join("%s:%s%s" % (s.get("nodearray"), s.get("count"),
                        " from %s" % (s.get("nameFormat", "") % s["nameOffset"])
                        if "nameOffset" in s and "%d" in s.get("nameFormat", "")
                        else "") for s in b["sets"])
    path = r["path"].split("?")[0]
    q = "?" + r["path"].split("?", 1)[1] if "?" in r["path"] else ""
    if len(q) > 40:
        q = q[:37] + "..."
    print("%s %s %s%s %s %s" % (t, r["method"], path, q,
                                r["status"], what))
'
}

# ---- ccslurmd ---------------------------------------------------------------

_burst_write_config()
{
	cat >"$BURST_CONFIG" <<EOF
# ccslurmd for e2e run $CCS_E2E_DIR
cyclecloud:
  url: $BURST_FAKE_URL
  cluster: $BURST_CLUSTER
  username: $BURST_USER
  password_file: $B/password
  ca_file: $BURST_CA
  timeout: 10s
slurm:
  scontrol: $(command -v scontrol)
  config_dir: $CCS_E2E_DIR/etc
daemon:
  socket: $BURST_SOCKET
  state_dir: $B/state
  spool_dir: $B/spool
  batch_window: 300ms
  poll_interval: 500ms
  reconcile_interval: 1h
log:
  level: debug
EOF
	[[ -n ${BURST_DAEMON_EXTRA:-} ]] &&
		printf '%s\n' "$BURST_DAEMON_EXTRA" >>"$BURST_CONFIG"
	chmod 0600 "$BURST_CONFIG"
}

burst_ctl()
{
	"$CCSLURMCTL" -s "$BURST_SOCKET" "$@"
}

# burst_daemon_start: ccslurmd in the foreground (log/ccslurmd.out), with
# SLURM_CONF in its environment for the scontrol it runs.
burst_daemon_start()
{
	# shellcheck disable=SC2086 # VAR=VALUE words, split on purpose
	e2e_spawn ccslurmd env ${BURST_DAEMON_ENV:-} "$CCSLURMD" -f \
		-c "$BURST_CONFIG"
	BURST_DAEMON_PID=$E2E_PID
	e2e_wait_for 30 "ccslurmd (pid $BURST_DAEMON_PID) answers ping" \
		_burst_daemon_up "$BURST_DAEMON_PID"
}

# burst_daemon_wait_exit T: wait up to T s for ccslurmd to die on its own
# (a failpoint); fails the test otherwise.
burst_daemon_wait_exit()
{
	local pid=$BURST_DAEMON_PID
	e2e_wait_for "$1" "ccslurmd (pid $pid) died" _burst_gone "$pid"
	wait "$pid" 2>/dev/null || true
}

_burst_daemon_up()
{
	_e2e_alive "$1" ||
		e2e_fail "ccslurmd exited (see $CCS_E2E_DIR/log/ccslurmd.out)"
	burst_ctl ping
}

# A zombie counts as gone: the daemon is our child until we wait for it.
_burst_gone()
{
	! _e2e_alive "$1"
}

burst_daemon_kill9()
{
	local pid=$BURST_DAEMON_PID
	kill -KILL "$pid"
	e2e_wait_for 10 "ccslurmd (pid $pid) gone" _burst_gone "$pid"
	wait "$pid" 2>/dev/null || true
}

# ---- The whole stack --------------------------------------------------------

burst_up()
{
	local w
	e2e_step "bridge, munged, fake CycleCloud (HTTPS), ccslurmd"
	e2e_bridge_up
	e2e_munge_start
	_burst_start_fake
	_burst_write_config
	"$CCSLURMD" -n -c "$BURST_CONFIG" >/dev/null ||
		e2e_fail "ccslurmd -n refused $BURST_CONFIG"
	burst_daemon_start

	e2e_step "ccslurmctl generate --output-dir $CCS_E2E_DIR/etc"
	# The daemon reads the cluster at start; generate asks it.
	e2e_wait_for 20 "generate succeeds" \
		burst_ctl generate --output-dir "$CCS_E2E_DIR/etc"
	cp "$CCS_E2E_DIR/run/wait.out" "$B/generate.out"
	[[ -s $CCS_E2E_DIR/etc/cyclecloud.conf ]] ||
		e2e_fail "generate wrote no cyclecloud.conf"
	sed 's/^/    /' "$CCS_E2E_DIR/etc/cyclecloud.conf" >&"$E2E_LOGFD"

	e2e_step "slurmctld with the shims, topology/tree, job_submit/cyclecloud"
	for w in resume suspend resumefail; do
		e2e_wrapper -l "$w" "$CCS_BUILD_DIR/client/ccslurm-$w" \
			CCSLURMD_SOCKET="$BURST_SOCKET" \
			CCSLURMD_SPOOL="$B/spool" >/dev/null
	done
	E2E_RESUME_PROGRAM=$CCS_E2E_DIR/bin/resume
	E2E_SUSPEND_PROGRAM=$CCS_E2E_DIR/bin/suspend
	E2E_RESUMEFAIL_PROGRAM=$CCS_E2E_DIR/bin/resumefail
	E2E_TOPOLOGY_PLUGIN=topology/tree
	E2E_JOB_SUBMIT_PLUGINS=job_submit/cyclecloud
	E2E_PLUGIN_DIR=$(dirname "$BURST_PLUGIN")
	E2E_INCLUDE=$CCS_E2E_DIR/etc/cyclecloud.conf
	# The "VMs" are namespaces on this machine: their slurmd sees its CPUs
	# and memory, not the nodearray's; trust slurm.conf instead.
	E2E_SLURM_EXTRA="SlurmdParameters=config_overrides${E2E_SLURM_EXTRA:+
$E2E_SLURM_EXTRA}"
	e2e_slurm_conf
	e2e_slurmctld_start
}

# ---- Slurm and ccslurmd queries ---------------------------------------------

burst_submit()
{
	local j
	j=$(sbatch --parsable -o "$CCS_E2E_DIR/out/job-%j.out" "$@") ||
		e2e_fail "sbatch $* failed"
	j=${j%%;*}
	[[ $j =~ ^[0-9]+$ ]] || e2e_fail "sbatch printed '$j', not a job id"
	echo "$j"
}

burst_job_field()
{
	scontrol -o show job "$1" 2>/dev/null |
		grep -o " $2=[^ ]*" | head -1 | cut -d= -f2-
}

burst_node_row()
{
	burst_ctl nodes --json | burst_json "' '.join(str(n.get(k)) for n in
d['nodes'] if n['name'] == '$1' for k in ('state', 'cc_status', 'ip'))"
}

burst_cc_state_is()
{
	local row
	row=$(burst_ctl nodes --json | burst_json \
		"' '.join(n['state'] for n in d['nodes'] if n['name'] == '$1')")
	echo "ccslurmd: $1 is '$row'"
	[[ $row =~ $2 ]]
}

burst_dump()
{
	e2e_log "ccslurmctl nodes:"
	burst_ctl nodes | sed 's/^/    /' >&2 || true
	e2e_log "the fake's API requests:"
	burst_api_calls | sed 's/^/    /' >&2 || true
}
