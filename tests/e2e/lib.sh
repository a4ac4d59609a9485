# shellcheck shell=bash
# tests/e2e/lib.sh: the real-Slurm end-to-end harness.
#
# Sourced by the numbered scripts (NN-*.sh) and by node-up.sh / node-down.sh.
# It runs a real munged, slurmctld and one real slurmd per cloud node, each
# node in its own network namespace joined to a private bridge, all under one
# private work directory, and tears everything down again on exit, failure or
# signal.  Safe under `set -euo pipefail`.  See README.md for the walkthrough.
#
# Public surface (other scripts rely on these names; add, do not rename):
#
#   e2e_init                 work dir, traps, stale-run reaping, prerequisites
#   e2e_log MSG...           timestamped progress line on stderr
#   e2e_step MSG...          a numbered step banner
#   e2e_fail MSG...          print the reason and exit 1 (cleanup runs)
#   e2e_wait_for T DESC CMD...   poll CMD every 0.2 s for up to T seconds
#   e2e_spawn NAME CMD...    start CMD in the background, tracked for cleanup
#   e2e_track_pid PID NAME   track a process started elsewhere
#   e2e_stop_pid PID [T]     SIGTERM, wait up to T s (default 10), SIGKILL
#   e2e_bridge_up            create the bridge (refuses an existing one)
#   e2e_munge_start          munged with a private key and socket
#   e2e_wrapper [-l] NAME TARGET [VAR=VALUE...]   $W/bin/NAME: env + exec
#   e2e_cloud_partition PART HOSTLIST [NODE OPTIONS...]
#   e2e_slurm_conf           write $CCS_E2E_DIR/etc/slurm.conf
#   e2e_slurmctld_start / e2e_slurmctld_stop
#   e2e_ip_for NODE          the node's stable IP on the bridge subnet
#   e2e_node_up NODE [IP] / e2e_node_down NODE   (what node-up.sh/-down.sh run)
#   e2e_node_state NODE      slurmctld's State= of NODE, e.g. IDLE+CLOUD
#   e2e_node_field NODE KEY  any Key=Value of `scontrol -o show node`
#   e2e_node_state_is NODE RE / e2e_node_field_is NODE KEY VALUE /
#   e2e_job_state_is JOB RE / e2e_ns_gone NODE    conditions for e2e_wait_for
#   e2e_job_state JOBID      JobState= of JOBID
#   e2e_ns_name NODE         the network namespace of NODE
#
# Settings (environment; set before e2e_init unless noted):
#   E2E_BRIDGE      bridge name                      [ccsbr0]
#   E2E_NET         first three octets of the /24    [10.250.0]
#   E2E_NS_PREFIX   network namespace name prefix    [ccs-]
#   E2E_CTLD_PORT   SlurmctldPort                    [16817]
#   E2E_SLURMD_PORT SlurmdPort (inside namespaces)   [16818]
#   E2E_KEEP=1      keep the work dir (logs) after the run
# Settings read by e2e_slurm_conf:
#   E2E_SUSPEND_TIME [10]  E2E_SUSPEND_TIMEOUT [5]  E2E_RESUME_TIMEOUT [30]
#   E2E_RESUME_PROGRAM  E2E_SUSPEND_PROGRAM  E2E_RESUMEFAIL_PROGRAM
#   E2E_TOPOLOGY_PLUGIN [topology/none]  E2E_JOB_SUBMIT_PLUGINS []
#   E2E_PLUGIN_DIR (appended after the system plugin dir)
#   E2E_SYS_PLUGIN_DIR [/usr/lib/x86_64-linux-gnu/slurm-wlm]
#   E2E_CTLD_PARAMS (added to SlurmctldParameters, comma list)
#   E2E_INCLUDE (file to Include) [$CCS_E2E_DIR/etc/cloud-nodes.conf]
#   E2E_SLURM_EXTRA (lines appended verbatim)  E2E_SLURM_DEBUG [info]
#
# Exported for children: CCS_E2E_DIR (the work dir), SLURM_CONF.

# The hooks can be run by slurmctld's helpers, which give them no PATH.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

# shellcheck disable=SC2034 # for the scripts that source this file
E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

: "${E2E_BRIDGE:=ccsbr0}"
: "${E2E_NET:=10.250.0}"
: "${E2E_NS_PREFIX:=ccs-}"
: "${E2E_CTLD_PORT:=16817}"
: "${E2E_SLURMD_PORT:=16818}"
: "${E2E_KEEP:=0}"

_e2e_step_no=0
_e2e_failed=0
# Progress and failures reach the terminal even from inside a command whose
# stderr e2e_wait_for redirects.  Background daemons get it closed
# ({E2E_LOGFD}>&-) so that none holds the caller's stderr (a ctest pipe) open.
exec {E2E_LOGFD}>&2

# ---- Output and waiting --------------------------------------------------

e2e_log()
{
	local t
	printf -v t '%(%H:%M:%S)T' -1
	printf '%s e2e: %s\n' "$t" "$*" >&"${E2E_LOGFD:-2}"
}

e2e_step()
{
	_e2e_step_no=$((_e2e_step_no + 1))
	e2e_log "---- step $_e2e_step_no: $*"
}

e2e_fail()
{
	_e2e_failed=1
	e2e_log "FAIL: $*"
	exit 1
}

# Milliseconds on the monotonic-ish wall clock bash gives us for free.
_e2e_now_ms()
{
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# e2e_wait_for TIMEOUT_S DESCRIPTION COMMAND...: run COMMAND (its output
# kept in run/wait.out, shown on timeout) every 0.2 s until it succeeds; fail the test with DESCRIPTION
# after TIMEOUT_S seconds.  Prints how long the wait took.
e2e_wait_for()
{
	local timeout=$1 desc=$2 start deadline now
	shift 2
	start=$(_e2e_now_ms)
	deadline=$((start + timeout * 1000))
	while :; do
		if "$@" >"$CCS_E2E_DIR/run/wait.out" 2>&1; then
			now=$(_e2e_now_ms)
			e2e_log "ok: $desc ($((now - start)) ms)"
			return 0
		fi
		now=$(_e2e_now_ms)
		if ((now >= deadline)); then
			e2e_log "last attempt ($*) printed:"
			sed 's/^/    /' "$CCS_E2E_DIR/run/wait.out" >&"${E2E_LOGFD:-2}"
			e2e_fail "timed out after ${timeout}s waiting for: $desc"
		fi
		sleep 0.2
	done
}

# ---- Process tracking ----------------------------------------------------
#
# A process is recorded as "PID STARTTIME NAME" so that cleanup never signals
# a recycled PID: the start time (clock ticks since boot, /proc/PID/stat field
# 22) must still match.

_e2e_starttime()
{
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

# Is PID alive (not a zombie) and still the process that started at START?
_e2e_alive()
{
	local pid=$1 start=${2:-} s st
	s=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	st=$1
	[[ $st != Z && $st != X ]] || return 1
	[[ -z $start || $start == "${20}" ]]
}

e2e_track_pid()
{
	local pid=$1 name=$2 st
	st=$(_e2e_starttime "$pid") || return 0
	echo "$pid $st $name" >>"$CCS_E2E_DIR/pids"
}

# e2e_stop_pid PID [TIMEOUT_S] [STARTTIME]: SIGTERM, wait for the exit, then
# SIGKILL.  Returns 0 once the process is gone.
e2e_stop_pid()
{
	local pid=$1 timeout=${2:-10} start=${3:-} deadline
	_e2e_alive "$pid" "$start" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(_e2e_now_ms) + timeout * 1000))
	while _e2e_alive "$pid" "$start" && (($(_e2e_now_ms) < deadline)); do
		sleep 0.1
	done
	if _e2e_alive "$pid" "$start"; then
		e2e_log "pid $pid ignored SIGTERM for ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while _e2e_alive "$pid" "$start"; do
			sleep 0.05
		done
	fi
	# Reap it when it is our child, so no zombie outlives the test.
	wait "$pid" 2>/dev/null || true
	return 0
}

# e2e_spawn NAME CMD...: CMD in the background, stdin /dev/null, output to
# $CCS_E2E_DIR/log/NAME.out; tracked for cleanup.  Sets E2E_PID.
e2e_spawn()
{
	local name=$1
	shift
	"$@" </dev/null >>"$CCS_E2E_DIR/log/$name.out" 2>&1 {E2E_LOGFD}>&- &
	E2E_PID=$!
	e2e_track_pid "$E2E_PID" "$name"
}

# ---- Work dir, traps, cleanup --------------------------------------------

_e2e_need()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			e2e_fail "required program '$c' not found"
	done
}

e2e_init()
{
	# Skip (77) only when the suite cannot apply here at all.
	if ((EUID != 0)); then
		echo "SKIP: the e2e suite needs root (network namespaces, munged)" >&2
		exit 77
	fi
	if ! command -v slurmctld >/dev/null 2>&1; then
		echo "SKIP: slurmctld is not installed" >&2
		exit 77
	fi
	_e2e_need slurmd scontrol sbatch srun sinfo munged munge unmunge ip \
		nsenter setpriv flock
	[[ $E2E_BRIDGE =~ ^[A-Za-z0-9_.-]{1,15}$ ]] ||
		e2e_fail "E2E_BRIDGE '$E2E_BRIDGE' is not a valid interface name"
	[[ $E2E_NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		e2e_fail "E2E_NET '$E2E_NET' is not three octets like 10.250.0"

	_e2e_reap_stale

	CCS_E2E_DIR=$(mktemp -d /tmp/ccs-e2e.XXXXXX)
	export CCS_E2E_DIR
	# munged (user munge) and job steps must traverse it; nobody may list it.
	chmod 0711 "$CCS_E2E_DIR"
	mkdir -p "$CCS_E2E_DIR"/{bin,etc,log,run,state,spool,nodes,ips,out}
	chmod 0755 "$CCS_E2E_DIR"/{bin,etc,log,out}
	echo "$$ $(_e2e_starttime $$) $0" >"$CCS_E2E_DIR/owner"
	: >"$CCS_E2E_DIR/pids"
	# What the hooks need to find this run from a bare environment.
	{
		printf 'E2E_BRIDGE=%q\n' "$E2E_BRIDGE"
		printf 'E2E_NET=%q\n' "$E2E_NET"
		printf 'E2E_NS_PREFIX=%q\n' "$E2E_NS_PREFIX"
		printf 'E2E_CTLD_PORT=%q\n' "$E2E_CTLD_PORT"
		printf 'E2E_SLURMD_PORT=%q\n' "$E2E_SLURMD_PORT"
	} >"$CCS_E2E_DIR/env"
	export SLURM_CONF="$CCS_E2E_DIR/etc/slurm.conf"

	trap '_e2e_on_exit' EXIT
	trap 'e2e_log "interrupted (SIGINT)"; _e2e_failed=1; exit 130' INT
	trap 'e2e_log "terminated (SIGTERM)"; _e2e_failed=1; exit 143' TERM
	trap 'e2e_log "hangup (SIGHUP)"; _e2e_failed=1; exit 129' HUP
	E2E_T0=$(_e2e_now_ms)
	e2e_log "work dir $CCS_E2E_DIR (bridge $E2E_BRIDGE, net $E2E_NET.0/24)"
}

# Load a run's settings from its work dir (for node-up.sh / node-down.sh).
e2e_attach()
{
	CCS_E2E_DIR=${1:-${CCS_E2E_DIR:-}}
	[[ -n $CCS_E2E_DIR && -f $CCS_E2E_DIR/env ]] ||
		{ echo "e2e: CCS_E2E_DIR is not set to a run's work dir" >&2; exit 2; }
	export CCS_E2E_DIR
	# shellcheck disable=SC1091
	. "$CCS_E2E_DIR/env"
	export SLURM_CONF="$CCS_E2E_DIR/etc/slurm.conf"
}

_e2e_on_exit()
{
	local rc=$?
	trap - EXIT INT TERM HUP
	# Finish the cleanup even if whoever reads our output has gone away
	# (`| head`) or a second signal arrives.
	trap '' PIPE INT TERM HUP
	set +e
	((rc != 0)) && _e2e_failed=1
	if ((_e2e_failed)); then
		_e2e_dump_logs
	fi
	e2e_cleanup_dir "$CCS_E2E_DIR"
	if [[ $E2E_KEEP == 1 ]]; then
		touch "$CCS_E2E_DIR/keep"
		e2e_log "E2E_KEEP=1: logs kept in $CCS_E2E_DIR"
	elif ((_e2e_failed)); then
		e2e_log "work dir removed; rerun with E2E_KEEP=1 to keep its logs"
		rm -rf "$CCS_E2E_DIR"
	else
		rm -rf "$CCS_E2E_DIR"
	fi
	if ((rc == 0)); then
		e2e_log "PASS in $((($(_e2e_now_ms) - E2E_T0) / 1000)) s"
	else
		e2e_log "exit $rc after $((($(_e2e_now_ms) - E2E_T0) / 1000)) s"
	fi
	exit "$rc"
}

_e2e_dump_logs()
{
	local f
	for f in "$CCS_E2E_DIR"/log/*; do
		[[ -s $f ]] || continue
		# slurmctld -D repeats its log file on stderr.
		[[ $f == */slurmctld.out && -s ${f%.out}.log ]] && continue
		printf '\n==== last lines of %s ====\n' "$f" >&2
		tail -n 25 "$f" >&2
	done
}

# e2e_cleanup_dir DIR: stop and remove everything the run in DIR started:
# slurmctld first (no more power-save programs), then the other tracked
# processes (daemon, fake) in reverse order, then every node (slurmd and
# whatever else runs in its namespace, veth, namespace), munged, the bridge.
# Idempotent; safe on a run that was SIGKILLed.
e2e_cleanup_dir()
{
	local dir=$1 pid st name n lines i
	[[ -d $dir ]] || return 0
	local CCS_E2E_DIR=$dir
	touch "$dir/closing"
	if [[ -f $dir/run/slurmctld.track ]]; then
		read -r pid st <"$dir/run/slurmctld.track"
		_e2e_stop_tree "$pid" "$st" 15
	fi
	if [[ -f $dir/pids ]]; then
		mapfile -t lines <"$dir/pids"
		for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
			read -r pid st name <<<"${lines[i]}"
			[[ $name == munged ]] && continue
			_e2e_stop_tree "$pid" "$st" 10
		done
	fi
	for n in "$dir"/nodes/*/; do
		[[ -d $n ]] || continue
		_e2e_node_teardown "$dir" "$(basename "$n")"
	done
	if [[ -f $dir/pids ]]; then
		while read -r pid st name; do
			[[ $name == munged ]] && e2e_stop_pid "$pid" 10 "$st"
		done <"$dir/pids"
	fi
	if [[ -f $dir/bridge ]]; then
		read -r name <"$dir/bridge"
		ip link del "$name" 2>/dev/null || true
		rm -f "$dir/bridge"
	fi
}

# Stop PID and then any of its children still alive (slurmctld leaves
# slurmscriptd behind when it is SIGKILLed).
_e2e_stop_tree()
{
	local pid=$1 st=$2 timeout=$3 kids=() k
	_e2e_alive "$pid" "$st" || return 0
	mapfile -t kids < <(pgrep -P "$pid" 2>/dev/null || true)
	e2e_stop_pid "$pid" "$timeout" "$st"
	for k in "${kids[@]}"; do
		e2e_stop_pid "$k" 5 ""
	done
}

# Runs whose owning shell died without cleaning up (SIGKILL, ctest timeout):
# free their namespaces, bridge and processes so this run can start.  Their
# files stay for post-mortem reading.
_e2e_reap_stale()
{
	local d pid st rest
	for d in /tmp/ccs-e2e.*/; do
		[[ -f $d/owner && ! -f $d/reaped ]] || continue
		read -r pid st rest <"$d/owner"
		_e2e_alive "$pid" "$st" && continue
		e2e_log "reaping stale run ${d%/} (owner pid $pid is gone); its files stay"
		e2e_cleanup_dir "${d%/}"
		touch "$d/reaped"
	done
}

# ---- Network --------------------------------------------------------------

e2e_bridge_ip()
{
	echo "$E2E_NET.1"
}

e2e_bridge_up()
{
	if ip link show dev "$E2E_BRIDGE" >/dev/null 2>&1; then
		e2e_fail "interface $E2E_BRIDGE already exists and is not this run's" \
			"(another run, or a leftover: 'ip link del $E2E_BRIDGE'," \
			"or set E2E_BRIDGE and E2E_NET)"
	fi
	if [[ -n $(ip -4 -o addr show to "$E2E_NET.0/24" 2>/dev/null) ]]; then
		e2e_fail "subnet $E2E_NET.0/24 is already in use here; set E2E_NET"
	fi
	ip link add "$E2E_BRIDGE" type bridge ||
		e2e_fail "cannot create bridge $E2E_BRIDGE"
	echo "$E2E_BRIDGE" >"$CCS_E2E_DIR/bridge"
	ip addr add "$(e2e_bridge_ip)/24" dev "$E2E_BRIDGE"
	ip link set "$E2E_BRIDGE" up
	e2e_log "bridge $E2E_BRIDGE up at $(e2e_bridge_ip)/24"
}

e2e_ns_name()
{
	echo "$E2E_NS_PREFIX$1"
}

# Host end of NODE's veth: interface names are limited to 15 bytes, node
# names are not, so use a checksum of bridge and node.
_e2e_veth_name()
{
	local c
	c=$(printf '%s/%s' "$E2E_BRIDGE" "$1" | cksum)
	printf 'cv%08x\n' "${c%% *}"
}

_e2e_check_node_name()
{
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] ||
		e2e_fail "invalid node name '$1'"
}

# e2e_ip_for NODE: the node's address, allocated once per run from .10 up.
e2e_ip_for()
{
	local node=$1 n ip
	_e2e_check_node_name "$node"
	(
		flock 9
		if [[ -s $CCS_E2E_DIR/ips/$node ]]; then
			cat "$CCS_E2E_DIR/ips/$node"
			exit 0
		fi
		n=$(find "$CCS_E2E_DIR/ips" -type f | wc -l)
		((n + 10 < 255)) || exit 1
		ip="$E2E_NET.$((n + 10))"
		echo "$ip" >"$CCS_E2E_DIR/ips/$node"
		echo "$ip"
	) 9>"$CCS_E2E_DIR/ips.lock" || e2e_fail "no address left for $node"
}

# ---- Nodes ----------------------------------------------------------------

# e2e_node_up NODE [IP]: namespace, veth on the bridge, address, routes, and
# a real slurmd in it.  Quick, idempotent (an up node with the same IP and a
# live slurmd is left alone), safe to call concurrently for different nodes.
e2e_node_up()
{
	local node=$1 ip=${2:-} ns veth nd pid st
	_e2e_check_node_name "$node"
	[[ -n $ip ]] || ip=$(e2e_ip_for "$node")
	[[ $ip =~ ^${E2E_NET//./\\.}\.[0-9]{1,3}$ ]] ||
		e2e_fail "node $node: IP '$ip' is not in $E2E_NET.0/24"
	ns=$(e2e_ns_name "$node")
	veth=$(_e2e_veth_name "$node")
	nd=$CCS_E2E_DIR/nodes/$node
	mkdir -p "$nd"
	exec 8>"$nd/lock"
	flock 8
	[[ -f $CCS_E2E_DIR/closing ]] &&
		e2e_fail "node $node: the run is shutting down"
	if [[ -f $nd/slurmd.track && -f $nd/ip ]]; then
		read -r pid st <"$nd/slurmd.track"
		if [[ $(cat "$nd/ip") == "$ip" ]] && _e2e_alive "$pid" "$st"; then
			e2e_log "node $node already up at $ip (slurmd pid $pid)"
			exec 8>&-
			return 0
		fi
		e2e_log "node $node: stale or different address, re-creating"
	fi
	_e2e_node_teardown "$CCS_E2E_DIR" "$node" keep-lock
	if [[ -e /run/netns/$ns ]]; then
		e2e_fail "node $node: namespace $ns exists and is not this run's"
	fi
	if ip link show dev "$veth" >/dev/null 2>&1; then
		e2e_fail "node $node: interface $veth exists and is not this run's"
	fi
	# Record before creating, so a failure half-way is still cleaned up.
	echo "$ns" >"$nd/ns"
	echo "$veth" >"$nd/veth"
	echo "$ip" >"$nd/ip"
	ip netns add "$ns" || e2e_fail "node $node: ip netns add $ns failed"
	ip link add "$veth" type veth peer name eth0 netns "$ns" ||
		e2e_fail "node $node: cannot create veth $veth"
	ip link set "$veth" master "$E2E_BRIDGE" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$(e2e_bridge_ip)"
	mkdir -p "$CCS_E2E_DIR/spool/$node"
	# nsenter, not `ip netns exec`: the latter remounts /sys and slurmd
	# 22.05 then dies ("No filesystem mounted on /sys/fs/cgroup").  A UTS
	# namespace gives the "VM" its node name as hostname, as a real one has.
	# Every step execs, so $! is slurmd's PID; -D keeps it so.  setsid keeps
	# it out of the caller's process group, which slurmscriptd kills when a
	# ResumeProgram times out.  -b: a fake VM has the host's uptime, so
	# report a reboot or slurmctld waits for one until ResumeTimeout.
	# shellcheck disable=SC2016 # expanded by that sh, not here
	setsid unshare --uts -- /bin/sh -c \
		'hostname "$1" && shift && exec "$@"' sh "$node" \
		nsenter --net="/run/netns/$ns" \
		slurmd -D -b -N "$node" -f "$SLURM_CONF" \
		</dev/null >>"$CCS_E2E_DIR/log/slurmd-$node.out" 2>&1 \
		{E2E_LOGFD}>&- 8>&- &
	pid=$!
	st=$(_e2e_starttime "$pid") || st=""
	echo "$pid $st" >"$nd/slurmd.track"
	e2e_log "node $node up: ns $ns, $ip via $veth, slurmd pid $pid"
	exec 8>&-
}

e2e_node_down()
{
	local node=$1
	_e2e_check_node_name "$node"
	_e2e_node_teardown "$CCS_E2E_DIR" "$node"
}

# _e2e_node_teardown DIR NODE [keep-lock]: everything in the node's
# namespace (slurmd first, then slurmstepd and job processes), the veth
# (before the namespace, or re-creating it soon fails with "File exists"),
# then the namespace.  Only what DIR's records name is touched.
_e2e_node_teardown()
{
	local dir=$1 node=$2 mode=${3:-} nd ns veth pid st pids p
	nd=$dir/nodes/$node
	[[ -f $nd/ns || -f $nd/veth || -f $nd/slurmd.track ]] || return 0
	if [[ $mode != keep-lock ]]; then
		exec 7>"$nd/lock"
		flock 7
	fi
	if [[ -f $nd/slurmd.track ]]; then
		read -r pid st <"$nd/slurmd.track"
		# A VM's power-off is harsher than SIGKILL; do not wait long for a
		# slurmd stuck retrying an absent slurmctld (it ignores SIGTERM).
		e2e_stop_pid "$pid" 3 "$st"
		rm -f "$nd/slurmd.track"
	fi
	if [[ -f $nd/ns ]]; then
		read -r ns <"$nd/ns"
		if [[ -e /run/netns/$ns ]]; then
			mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
			for p in "${pids[@]}"; do
				e2e_stop_pid "$p" 3 ""
			done
		fi
	fi
	if [[ -f $nd/veth ]]; then
		read -r veth <"$nd/veth"
		ip link del "$veth" 2>/dev/null || true
		rm -f "$nd/veth"
	fi
	if [[ -f $nd/ns ]]; then
		ip netns del "$ns" 2>/dev/null || true
		rm -f "$nd/ns"
	fi
	rm -f "$nd/ip"
	if [[ $mode != keep-lock ]]; then
		exec 7>&-
		e2e_log "node $node down"
	fi
}

# ---- munge ------------------------------------------------------------------

# e2e_munge_start: munged as user munge, with a fresh key and its socket in
# the work dir, so the machine's own munge (if any) is never involved.
# Sets E2E_MUNGE_SOCKET.
e2e_munge_start()
{
	local m=$CCS_E2E_DIR/munge
	mkdir -p "$m"
	chown munge:munge "$m"
	chmod 0755 "$m"
	dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none
	chown munge:munge "$m/munge.key"
	chmod 0400 "$m/munge.key"
	E2E_MUNGE_SOCKET=$m/munge.socket
	e2e_spawn munged setpriv --reuid=munge --regid=munge --init-groups \
		munged -F --socket="$E2E_MUNGE_SOCKET" --key-file="$m/munge.key" \
		--pid-file="$m/munged.pid" --log-file="$m/munged.log" \
		--seed-file="$m/munged.seed"
	e2e_wait_for 10 "munged answers on $E2E_MUNGE_SOCKET" _e2e_munge_ok
}

_e2e_munge_ok()
{
	munge -n -S "$E2E_MUNGE_SOCKET" | unmunge -S "$E2E_MUNGE_SOCKET"
}

# ---- Slurm configuration ----------------------------------------------------

# e2e_wrapper [-l] NAME TARGET [VAR=VALUE...]: write $CCS_E2E_DIR/bin/NAME,
# a script that exports the variables and execs TARGET with its arguments:
# slurmctld gives its programs no environment.  -l sends the program's
# output to log/NAME.log (slurmctld closes stdout and stderr otherwise).
# Prints the wrapper's path.
e2e_wrapper()
{
	local log=0 name target f kv
	if [[ ${1:-} == -l ]]; then
		log=1
		shift
	fi
	name=$1 target=$2
	shift 2
	f=$CCS_E2E_DIR/bin/$name
	{
		echo '#!/bin/sh'
		printf 'PATH=%q; export PATH\n' "$PATH"
		printf 'CCS_E2E_DIR=%q; export CCS_E2E_DIR\n' "$CCS_E2E_DIR"
		for kv in "$@"; do
			printf '%s=%q; export %s\n' "${kv%%=*}" "${kv#*=}" "${kv%%=*}"
		done
		((log)) && printf 'exec >>%q 2>&1\n' "$CCS_E2E_DIR/log/$name.log"
		# shellcheck disable=SC2016 # expanded by the wrapper
		((log)) && printf 'echo "$(date +%%T) %s $*"\n' "$name"
		printf 'exec %q "$@"\n' "$target"
	} >"$f"
	chmod 0755 "$f"
	echo "$f"
}

# e2e_cloud_partition PART HOSTLIST [NODE OPTIONS...]: append a cloud
# partition to the Include file (State=CLOUD, Feature=cloud, one CPU).
e2e_cloud_partition()
{
	local part=$1 hl=$2 inc
	shift 2
	inc=${E2E_INCLUDE:-$CCS_E2E_DIR/etc/cloud-nodes.conf}
	{
		echo "NodeName=$hl State=CLOUD Feature=cloud CPUs=1 RealMemory=100 $*"
		echo "PartitionName=$part Nodes=$hl MaxTime=10 State=UP"
	} >>"$inc"
}

e2e_slurm_conf()
{
	local c=$CCS_E2E_DIR/etc/slurm.conf
	local inc=${E2E_INCLUDE:-$CCS_E2E_DIR/etc/cloud-nodes.conf}
	local pd=${E2E_SYS_PLUGIN_DIR:-/usr/lib/x86_64-linux-gnu/slurm-wlm}
	local params=power_save_interval=1,power_save_min_interval=0
	[[ -n ${E2E_PLUGIN_DIR:-} ]] && pd="$pd:$E2E_PLUGIN_DIR"
	[[ -n ${E2E_CTLD_PARAMS:-} ]] && params="$params,$E2E_CTLD_PARAMS"
	[[ -n ${E2E_MUNGE_SOCKET:-} ]] ||
		e2e_fail "e2e_slurm_conf: start munged first (e2e_munge_start)"
	[[ -e $inc ]] || : >"$inc"
	cat >"$c" <<EOF
# Generated by tests/e2e/lib.sh for one e2e run; everything lives in
# $CCS_E2E_DIR.
ClusterName=ccse2e
SlurmctldHost=$(hostname -s)($(e2e_bridge_ip))
SlurmctldPort=$E2E_CTLD_PORT
SlurmdPort=$E2E_SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$E2E_MUNGE_SOCKET,cred_expire=10
PluginDir=$pd
StateSaveLocation=$CCS_E2E_DIR/state
SlurmdSpoolDir=$CCS_E2E_DIR/spool/%n
SlurmctldPidFile=$CCS_E2E_DIR/run/slurmctld.pid
SlurmdPidFile=$CCS_E2E_DIR/run/slurmd-%n.pid
SlurmctldLogFile=$CCS_E2E_DIR/log/slurmctld.log
SlurmdLogFile=$CCS_E2E_DIR/log/slurmd-%n.log
SlurmctldDebug=${E2E_SLURM_DEBUG:-info}
SlurmdDebug=${E2E_SLURM_DEBUG:-info}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
# Powered-down cloud nodes are hidden from scontrol/sinfo otherwise.
PrivateData=cloud
SlurmctldParameters=$params
SuspendTime=${E2E_SUSPEND_TIME:-10}
SuspendTimeout=${E2E_SUSPEND_TIMEOUT:-5}
ResumeTimeout=${E2E_RESUME_TIMEOUT:-30}
ResumeRate=0
SuspendRate=0
TopologyPlugin=${E2E_TOPOLOGY_PLUGIN:-topology/none}
EOF
	[[ -n ${E2E_RESUME_PROGRAM:-} ]] &&
		echo "ResumeProgram=$E2E_RESUME_PROGRAM" >>"$c"
	[[ -n ${E2E_SUSPEND_PROGRAM:-} ]] &&
		echo "SuspendProgram=$E2E_SUSPEND_PROGRAM" >>"$c"
	[[ -n ${E2E_RESUMEFAIL_PROGRAM:-} ]] &&
		echo "ResumeFailProgram=$E2E_RESUMEFAIL_PROGRAM" >>"$c"
	[[ -n ${E2E_JOB_SUBMIT_PLUGINS:-} ]] &&
		echo "JobSubmitPlugins=$E2E_JOB_SUBMIT_PLUGINS" >>"$c"
	[[ -n ${E2E_SLURM_EXTRA:-} ]] && printf '%s\n' "$E2E_SLURM_EXTRA" >>"$c"
	echo "Include $inc" >>"$c"
	chmod 0644 "$c"
	e2e_log "slurm.conf written: $c"
}

# ---- slurmctld --------------------------------------------------------------

_e2e_ctld_up()
{
	scontrol ping 2>/dev/null | grep -q 'is UP'
}

e2e_slurmctld_start()
{
	[[ -f $SLURM_CONF ]] || e2e_fail "no slurm.conf: call e2e_slurm_conf"
	slurmctld -D -f "$SLURM_CONF" </dev/null \
		>>"$CCS_E2E_DIR/log/slurmctld.out" 2>&1 {E2E_LOGFD}>&- &
	local pid=$!
	echo "$pid $(_e2e_starttime "$pid")" >"$CCS_E2E_DIR/run/slurmctld.track"
	# shellcheck disable=SC2034 # for the caller
	E2E_CTLD_PID=$pid
	e2e_wait_for 30 "slurmctld (pid $pid) answers scontrol ping" \
		_e2e_ctld_alive_and_up "$pid"
}

_e2e_ctld_alive_and_up()
{
	_e2e_alive "$1" || e2e_fail "slurmctld exited during start-up" \
		"(see $CCS_E2E_DIR/log/slurmctld.log)"
	_e2e_ctld_up
}

e2e_slurmctld_stop()
{
	local pid st
	[[ -f $CCS_E2E_DIR/run/slurmctld.track ]] || return 0
	read -r pid st <"$CCS_E2E_DIR/run/slurmctld.track"
	_e2e_stop_tree "$pid" "$st" 15
	rm -f "$CCS_E2E_DIR/run/slurmctld.track"
	e2e_log "slurmctld stopped"
}

# ---- Queries ----------------------------------------------------------------

e2e_node_state()
{
	scontrol -o show node "$1" 2>/dev/null |
		sed -n 's/.* State=\([^ ]*\) .*/\1/p'
}

# e2e_node_field NODE FIELD: one Key=Value field of `scontrol show node`.
e2e_node_field()
{
	scontrol -o show node "$1" 2>/dev/null |
		sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}

e2e_node_field_is()
{
	[[ $(e2e_node_field "$1" "$2") == "$3" ]]
}

e2e_job_state()
{
	scontrol -o show job "$1" 2>/dev/null |
		sed -n 's/.* JobState=\([^ ]*\) .*/\1/p'
}

# e2e_node_state_is NODE REGEX: for e2e_wait_for.
e2e_node_state_is()
{
	[[ $(e2e_node_state "$1") =~ $2 ]]
}

e2e_job_state_is()
{
	[[ $(e2e_job_state "$1") =~ $2 ]]
}

# e2e_ns_gone NODE: the node's namespace no longer exists.
e2e_ns_gone()
{
	[[ ! -e /run/netns/$(e2e_ns_name "$1") ]]
}

# Run as a program: `bash lib.sh --cleanup DIR` frees what a killed run left.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	if [[ ${1:-} == --cleanup && -n ${2:-} ]]; then
		e2e_attach "$2"
		e2e_cleanup_dir "$2"
		touch "$2/reaped"
		exit 0
	fi
	echo "usage: bash lib.sh --cleanup WORKDIR" >&2
	exit 2
fi
