#!/bin/bash
# 24-crash.sh: nothing accepted is lost and nothing is done twice across a
# crash.  For each failpoint (after-journal, after-op-journal, after-post,
# before-scontrol; a -DCCSLURMD_FAILPOINTS=ON build) the daemon is started
# with it set, a shim resumes three nodes, the daemon dies by SIGKILL at
# that point, and a restart without it brings every node to ready with each
# node created and booted exactly once and Slurm told every address.  Then
# a plain kill -9 after the shim's acknowledgement, inside the batch window.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config "$CCS_CONFIG"
sed -i -e 's/^  batch_window: .*/  batch_window: 1s/' \
    -e 's/^  poll_interval: .*/  poll_interval: 200ms/' "$CCS_CONFIG"
export CCSLURM_SHIM_RETRY_MS=300 CCSLURM_SHIM_TIMEOUT_MS=3000

# Every node of HOSTLIST: ready, created and booted once, Slurm holding the
# address CycleCloud gave it.
all_done() { # HOSTLIST
	ccs_wait_for 30 "$1 ready" ccs_all_in ready "$1"
	ccs_each_once node_creates "$1" || ccs_fail "node_creates of $1"
	ccs_each_once node_starts "$1" || ccs_fail "node_starts of $1"
	ccs_wait_for 10 "Slurm to hold the addresses of $1" addrs_told "$1"
	ccs_assert_eq 0 "$(find "$CCS_T/spool" -type f | wc -l)" "spool files"
}

addrs_told() { # HOSTLIST
	"$CCS_PYTHON" - "$CCS_SCONTROL_STATE" <(ccs_fake GET nodes) \
	    "$(ccs_ctl hostnames "$1")" <<'PY'
import json, sys
slurm = {n["name"]: n.get("addr") for n in json.load(open(sys.argv[1]))["nodes"]}
cloud = {n["Name"]: n.get("PrivateIp") for n in json.load(open(sys.argv[2]))["nodes"]}
sys.exit(any(slurm.get(n) is None or slurm.get(n) != cloud.get(n)
             for n in sys.argv[3].split()))
PY
}

# before-scontrol first: a restart re-tells Slurm the addresses of nodes
# already ready, which would trip it before the new request's nodes do.
# FP:CREATES = the create calls the fake must have seen when the daemon
# dies (0: it died before the POST; 1: after), so each point is where its
# name says.
i=0
for fpc in before-scontrol:1 after-journal:0 after-op-journal:0 after-post:1; do
	fp=${fpc%:*}
	hl="htc-[$((i * 3 + 1))-$((i * 3 + 3))]"
	i=$((i + 1))
	ccs_step "failpoint $fp: resume $hl, SIGKILL at the point, restart"
	CCSLURMD_FAILPOINT=$fp ccs_start_daemon
	creates0=$(ccs_fake_requests create)
	ccs_shim ccslurm-resume "$hl" 2>>"$CCS_T/shims.err" ||
		ccs_fail "the shim failed (it must ack or spool)"
	ccs_wait_daemon_exit 30
	ccs_assert_eq 137 "$CCS_DAEMON_RC" "ccslurmd's exit status at $fp (SIGKILL)"
	ccs_assert_eq $((creates0 + ${fpc#*:})) "$(ccs_fake_requests create)" \
	    "create calls when the daemon died at $fp"
	ccs_assert_eq 0 "$(ccs_scontrol_calls "NodeName=htc-\\[$((i * 3 - 2))-")" \
	    "scontrol calls for $hl before the restart"
	if [ "$fp" = after-journal ]; then
		# Killed before its acknowledgement: the shim spooled it too.
		ccs_assert_eq 1 "$(find "$CCS_T/spool" -type f | wc -l)" \
		    "requests spooled by the shim"
	fi
	ccs_start_daemon
	all_done "$hl"
	case $fp in
	after-op-journal)
		ccs_daemon_log_has 'recovery: create .* never reached CycleCloud' ||
			ccs_fail "the restart did not find the create unsent" ;;
	after-post)
		ccs_daemon_log_has 'recovery: create .* went through before the restart' ||
			ccs_fail "the restart did not find the create sent" ;;
	esac
	if [ "$fp" = after-journal ]; then
		# The journal's copy was carried out, the spool's dropped.
		ccs_assert_eq 1 "$(ccs_metric ccslurmd_requests_duplicate_total)" \
		    "duplicate requests dropped"
	fi
	ccs_stop_daemon
done

ccs_step "kill -9 after the shim's acknowledgement, inside the batch window"
hl='htc-[13-15]'
ccs_start_daemon
creates0=$(ccs_fake_requests create)
ccs_shim ccslurm-resume "$hl" 2>>"$CCS_T/shims.err"
ccs_kill_daemon
ccs_assert_eq "$creates0" "$(ccs_fake_requests create)" \
    "creates sent before the kill (the window was still open)"
ccs_start_daemon
all_done "$hl"
ccs_stop_daemon
ccs_each_once node_creates 'htc-[1-15]' || ccs_fail "node_creates overall"
