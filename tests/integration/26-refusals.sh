#!/bin/bash
# 26-refusals.sh: what is refused changes nothing.  A user who can connect
# (socket 0666 in this test only) but is not allowed gets the daemon's
# refusal; a malformed hostlist, an unknown node and an empty hostlist get
# a one-line error and exit 1.  After each: the fake's request counters,
# the daemon's journal and state, Slurm (the recorder) and the spool are
# exactly as before.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config "$CCS_CONFIG"
ccs_start_daemon
ccs_wait_for 10 "the daemon to finish starting" ccs_daemon_started
# One node up, so that "nothing changes" covers a node with state too.
ccs_shim ccslurm-resume htc-1 2>/dev/null
ccs_wait_for 30 "htc-1 ready" ccs_all_in ready htc-1
ccs_wait_for 10 "nothing in flight" bash -c \
    '[ "$("$0" -s "$1" status --json | "$2" -c "import json,sys; d=json.load(sys.stdin); print(d[\"ops_in_flight\"], d[\"requests_queued\"])")" = "0 0" ]' \
    "$CCSLURMCTL" "$CCS_SOCKET" "$CCS_PYTHON"

snapshot() {
	printf '%s|%s|%s|%s|%s\n' \
	    "$(ccs_fake GET counters | ccs_json 'd["requests"]')" \
	    "$(ccs_journal_sum)" \
	    "$(wc -l <"$CCS_SCONTROL_LOG")" \
	    "$(find "$CCS_T/spool" -type f | wc -l)" \
	    "$(ccs_ctl nodes --json | ccs_json '[(n["name"], n["state"]) for n in d["nodes"] if n["state"] != "powered_down"]')"
}

# refused DESC WANT_REGEX CMD...: exit 1, exactly one line on stderr that
# matches, nothing on stdout, nothing changed.
refused() {
	local desc=$1 re=$2 before rc=0 out err
	shift 2
	before=$(snapshot)
	out=$("$@" 2>"$CCS_T/err") || rc=$?
	err=$(cat "$CCS_T/err")
	ccs_assert_eq 1 "$rc" "$desc: exit status"
	ccs_assert_eq "" "$out" "$desc: stdout"
	ccs_assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "$desc: stderr lines ($err)"
	ccs_assert_match "$re" "$err" "$desc: the error"
	# The daemon handles a request before it answers: nothing can follow.
	ccs_assert_eq "$before" "$(snapshot)" "$desc: state after"
	ccs_log "$desc: $err"
}

ccs_step "a user who is not allowed (nobody) is refused by the daemon"
chmod 0711 "$CCS_T" "$CCS_T/run"
chmod 0666 "$CCS_SOCKET"
chmod 0777 "$CCS_T/spool"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env CCSLURMD_SOCKET="$CCS_SOCKET" CCSLURMD_SPOOL="$CCS_T/spool" "$@"
}
refused "nobody: resume" \
    '^ccslurm-resume: .*refused by ccslurmd: permission denied: uid [0-9]+ may not resume nodes \(allowed: root' \
    as_nobody "$CCS_SHIM_DIR/ccslurm-resume" 'htc-[2-3]'
refused "nobody: suspend of a ready node" \
    'permission denied: uid [0-9]+ may not suspend nodes' \
    as_nobody "$CCS_SHIM_DIR/ccslurm-suspend" htc-1
refused "nobody: resumefail" 'permission denied: uid [0-9]+ may not' \
    as_nobody "$CCS_SHIM_DIR/ccslurm-resumefail" htc-1
refused "nobody: ccslurmctl resume" 'permission denied' \
    as_nobody "$CCSLURMCTL" -s "$CCS_SOCKET" resume htc-2
ccs_daemon_log_has 'uid [0-9]+ may not suspend nodes' ||
	ccs_fail "the refusal is not in the daemon's log"
ccs_ctl ping >/dev/null
chmod 0660 "$CCS_SOCKET"

ccs_step "malformed hostlists: one line, exit 1, nothing sent"
# ('htc-[1-' is not one: Slurm reads it as the name "htc-]", and so do we.)
for hl in 'htc-[3-1]' 'htc-[1-2]x' 'htc-[a-b]' 'htc-[1,,2]'; do
	refused "resume '$hl'" '^ccslurm-resume: .*(hostlist|range|bracket)' \
	    ccs_shim ccslurm-resume "$hl"
done
refused "suspend 'htc-[1-2]x'" '^ccslurm-suspend: .*text after' \
    ccs_shim ccslurm-suspend 'htc-[1-2]x'
refused "ctl resume 'htc-[3-1]'" '^ccslurmctl: .*invalid range' \
    ccs_ctl resume 'htc-[3-1]'

ccs_step "unknown nodes: the daemon refuses the whole request"
refused "resume of an unknown node" \
    'refused by ccslurmd: unknown node nosuch-1: not in an autoscale nodearray of cluster burst$' \
    ccs_shim ccslurm-resume nosuch-1
refused "resume of known and unknown nodes" \
    'unknown nodes (login-1,nosuch-1|nosuch-1,login-1)' \
    ccs_shim ccslurm-resume 'htc-[2-3],login-1,nosuch-1'
refused "suspend of an unknown node" 'unknown node htc-999' \
    ccs_shim ccslurm-suspend 'htc-[1,999]'
refused "ctl suspend of an unknown node" 'unknown node nosuch-1' \
    ccs_ctl suspend nosuch-1

ccs_step "empty hostlists"
refused "resume ''" '^ccslurm-resume: .*empty hostlist' ccs_shim ccslurm-resume ''
refused "resume ','" '^ccslurm-resume: .*(empty|hostlist)' ccs_shim ccslurm-resume ','
refused "ctl resume ''" '^ccslurmctl: .*empty hostlist' ccs_ctl resume ''

ccs_step "the daemon still works"
ccs_assert_eq ready "$(ccs_ctl nodes --json htc-1 | ccs_json 'd["nodes"][0]["state"]')" \
    "htc-1 after the refusals"
ccs_shim ccslurm-resume htc-2 2>/dev/null
ccs_wait_for 30 "htc-2 ready" ccs_all_in ready htc-2
ccs_stop_daemon
