#!/bin/bash
# 37-ha.sh: high availability (daemon.ha, docs/high-availability.md).
#
# Two daemons on one machine play the two controller hosts: A (ha_hostname
# ctlA) and B (ctlB), each with its own socket and spool, sharing one
# state_dir and one fake CycleCloud.  scontrol-recorder answers `scontrol
# ping` from $CCS_T/ping.txt, so the test decides which slurmctld is in
# control.  Asserted: only the daemon beside the controller in control acts
# (status, metric, state_dir lock, no cloud calls from the passive one); a
# shim to the passive one spools (exit 0); when control moves, A gives up
# (journal closed, lock released) and B takes over: replays the journal,
# takes its spool, and every node A had accepted, booting ones included,
# ends ready, created and started exactly once; a failed or unreadable
# ping changes no role.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
# Slow boots, so that nodes are still booting when control moves.
ccs_start_fake "$CCS_SOURCE_DIR/tests/fake/arrays-default.json" \
    --acquire-delay 1 --prepare-delay 4
export CCSLURM_SHIM_RETRY_MS=200

export CCS_SCONTROL_PING=$CCS_T/ping.txt
ping_says() { # TEXT
	printf '%s\n' "$@" >"$CCS_T/ping.txt.tmp"
	mv "$CCS_T/ping.txt.tmp" "$CCS_T/ping.txt"
}
ping_says 'Slurmctld(primary) at ctlA is UP' 'Slurmctld(backup) at ctlB is UP'

# A: the lib's daemon ($CCS_CONFIG, $CCS_SOCKET, $CCS_T/spool).
ccs_write_config "$CCS_CONFIG"
sed -i -e 's/^  reconcile_interval: 1h$/  reconcile_interval: 1h\n  ha: true\n  ha_hostname: ctlA\n  ha_check_interval: 1s/' \
    "$CCS_CONFIG"
# B: the same but for its socket, spool and name.
SOCK_B=$CCS_T/run/b.sock
SPOOL_B=$CCS_T/spoolB
CONFIG_B=$CCS_T/b.yaml
mkdir -p "$SPOOL_B"
sed -e "s|^  socket: .*|  socket: $SOCK_B|" \
    -e "s|^  spool_dir: .*|  spool_dir: $SPOOL_B|" \
    -e 's/^  ha_hostname: ctlA$/  ha_hostname: ctlB/' \
    "$CCS_CONFIG" >"$CONFIG_B"
grep -q 'ha_hostname: ctlB' "$CONFIG_B" || ccs_fail "B's config"

B_PID=
_ha_cleanup() {
	local rc=$?
	if [ -n "$B_PID" ] && kill -0 "$B_PID" 2>/dev/null; then
		kill -TERM "$B_PID" 2>/dev/null || true
		wait "$B_PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -f "$CCS_T/daemonB.log" ]; then
		ccs_log "last lines of B's log:"
		tail -n 40 "$CCS_T/daemonB.log" >&2 || true
	fi
	# _ccs_cleanup reads the status from $?; not under set -e.
	set +e
	(exit "$rc")
	_ccs_cleanup
}
trap _ha_cleanup EXIT

ctl_b() { "$CCSLURMCTL" -s "$SOCK_B" "$@"; }
role() { # CTL-FUNCTION
	"$1" status --json | ccs_json 'd["ha"]["role"]'
}
is_role() { [ "$(role "$1")" = "$2" ]; }
metric_b() { ctl_b metrics | sed -n "s/^$1 //p"; }
all_in_b() { # STATE HOSTLIST
	[ "$(ctl_b nodes --json "$2" | ccs_json \
	    "all(n['state'] == '$1' for n in d['nodes']) and len(d['nodes']) > 0")" = True ]
}
b_started() {
	[ "$(ctl_b status --json | ccs_json 'd["engine"]["starting"]')" = False ]
}
b_log_has() { grep -Eq -- "$1" "$CCS_T/daemonB.log"; }
cloud_calls() { # every API call the fake answered (control API excluded)
	ccs_fake GET counters | ccs_json 'sum(d["requests"].values())'
}

ccs_step "B alone, ctlA in control: B passive, no journal, no cloud call"
"$CCSLURMD" -f -c "$CONFIG_B" 2>>"$CCS_T/daemonB.log" &
B_PID=$!
ccs_wait_for 30 "B to answer ping" ctl_b ping
ccs_wait_for 10 "B to see ctlA in control" b_log_has 'in control on ctlA'
ccs_assert_eq passive "$(role ctl_b)" "B's role"
ccs_assert_eq ctlA "$(ctl_b status --json | ccs_json 'd["ha"]["active_host"]')" \
    "B's active_host"
ccs_assert_eq ctlB "$(ctl_b status --json | ccs_json 'd["ha"]["hostname"]')" \
    "B's hostname"
ccs_assert_eq 0 "$(metric_b ccslurmd_ha_active)" "B's ccslurmd_ha_active"
ccs_assert_eq 0 "$(cloud_calls)" "cloud calls with only a passive daemon"
[ ! -e "$CCS_T/state/journal" ] || ccs_fail "a passive daemon opened the journal"

ccs_step "A starts: active (status, metric, lock); B stays passive"
ccs_start_daemon
ccs_wait_for 15 "A active" is_role ccs_ctl active
ccs_wait_for 30 "A to read the cluster" ccs_daemon_started
ccs_assert_eq 1 "$(ccs_metric ccslurmd_ha_active)" "A's ccslurmd_ha_active"
ccs_assert_eq "$CCS_DAEMON_PID" "$(tr -d '\n' <"$CCS_T/state/lock")" \
    "the pid in state_dir/lock"
ccs_assert_eq passive "$(role ctl_b)" "B's role with A active"

ccs_step "a resume to passive B is spooled there (exit 0); to A it is taken"
calls0=$(cloud_calls)
CCSLURMD_SOCKET=$SOCK_B CCSLURMD_SPOOL=$SPOOL_B \
    ccs_shim ccslurm-resume 'htc-[5-6]' 2>"$CCS_T/shimB.err" ||
	ccs_fail "shim to passive B: exit status"
ccs_assert_match 'spooled as ' "$(cat "$CCS_T/shimB.err")" "the shim's message"
ccs_assert_match 'passive \(the active daemon is on ctlA\)' \
    "$(cat "$CCS_T/shimB.err")" "the reason the shim gives"
ccs_assert_eq 1 "$(find "$SPOOL_B" -name '*.req' | wc -l)" "B's spool"
ccs_shim ccslurm-resume 'htc-[1-2]' 2>/dev/null || ccs_fail "shim to A"
ccs_wait_for 30 "htc-[1-2] ready (by A)" ccs_all_in ready 'htc-[1-2]'
ccs_shim ccslurm-resume 'htc-[3-4]' 2>/dev/null || ccs_fail "shim to A"
ccs_wait_for 15 "htc-[3-4] booting (by A)" ccs_all_in booting 'htc-[3-4]'
[ "$(cloud_calls)" -gt "$calls0" ] || ccs_fail "A made no cloud call"
ccs_assert_eq 1 "$(find "$SPOOL_B" -name '*.req' | wc -l)" \
    "B's spool (B must not take it while passive)"

ccs_step "control moves to ctlB: A passive and releases the lock, B takes over"
ping_says 'Slurmctld(primary) at ctlA is DOWN' 'Slurmctld(backup) at ctlB is UP'
t0=$(date +%s%N)
ccs_wait_for 10 "A passive" is_role ccs_ctl passive
ccs_wait_for 15 "B active" is_role ctl_b active
t1=$(date +%s%N)
ccs_log "takeover in $(((t1 - t0) / 1000000)) ms (ha_check_interval 1s)"
ccs_assert_eq 0 "$(ccs_metric ccslurmd_ha_active)" "A's ccslurmd_ha_active"
ccs_assert_eq 1 "$(metric_b ccslurmd_ha_active)" "B's ccslurmd_ha_active"
ccs_assert_eq ctlB "$(ccs_ctl status --json | ccs_json 'd["ha"]["active_host"]')" \
    "A's active_host"
ccs_daemon_log_has 'PASSIVE \(journal closed, state_dir lock released\)' ||
	ccs_fail "A did not log giving up"
ccs_assert_eq "$B_PID" "$(tr -d '\n' <"$CCS_T/state/lock")" \
    "the pid in state_dir/lock after the takeover"
b_log_has 'journal: [1-9][0-9]* requests' || ccs_fail "B replayed no request"

ccs_step "B finishes what A accepted and takes its spool: each node once"
ccs_wait_for 30 "B to read the cluster" b_started
ccs_wait_for 30 "B's spool empty" test -z "$(find "$SPOOL_B" -name '*.req')"
ccs_wait_for 40 "htc-[1-6] ready (by B)" all_in_b ready 'htc-[1-6]'
ccs_each_once node_creates 'htc-[1-6]' || ccs_fail "node_creates"
ccs_each_once node_starts 'htc-[1-6]' || ccs_fail "node_starts"
ccs_assert_eq 6 "$(ccs_fake GET counters | ccs_json 'sum(1 for k in d["node_creates"] if k.startswith("htc"))')" \
    "htc nodes created in all"
ccs_assert_eq 1 "$(metric_b ccslurmd_requests_spooled_total)" \
    "requests B read from its spool"

ccs_step "a resume to A, now passive, is spooled with B named as active"
ccs_shim ccslurm-resume htc-7 2>"$CCS_T/shimA.err" ||
	ccs_fail "shim to passive A: exit status"
ccs_assert_match 'active daemon is on ctlB' "$(cat "$CCS_T/shimA.err")" \
    "the reason the shim gives"
rm -f "$CCS_T"/spool/*.req

ccs_step "a failed or unreadable ping changes no role"
n0=$(grep -c 'ha: .*staying active' "$CCS_T/daemonB.log" || true)
ping_says 'slurm_load_ctl_conf error: Unable to contact slurm controller'
more_kept() { [ "$(grep -c 'ha: .*staying active' "$CCS_T/daemonB.log")" -gt "$n0" ]; }
ccs_wait_for 10 "B to log an unreadable ping" more_kept
ping_says 'Slurmctld(primary) at ctlA is DOWN' 'Slurmctld(backup) at ctlB is DOWN'
ccs_wait_for 10 "B to log a ping with none UP" b_log_has 'none UP: staying active'
# The recorder cannot read a directory: it fails (exit 1) like a
# scontrol that cannot run.
rm -f "$CCS_T/ping.txt"
mkdir "$CCS_T/ping.txt"
ccs_wait_for 10 "B to log a failed ping" \
    b_log_has 'ha: scontrol ping failed \(status 1\): staying active'
rmdir "$CCS_T/ping.txt"
ccs_assert_eq active "$(role ctl_b)" "B's role after bad pings"
ccs_assert_eq passive "$(role ccs_ctl)" "A's role after bad pings"

ccs_step "both stop cleanly"
ccs_stop_daemon
kill -TERM "$B_PID"
rc=0
wait "$B_PID" || rc=$?
B_PID=
ccs_assert_eq 0 "$rc" "B's exit status after SIGTERM"
