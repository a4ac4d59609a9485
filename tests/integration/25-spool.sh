#!/bin/bash
# 25-spool.sh: shims while the daemon is down exit 0 and leave their
# requests in the spool; the daemon, once started, carries out every one of
# them (nodes ready, each created once), drops a second copy of an id,
# empties the spool, and moves a corrupt file aside to .bad with a warning.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config "$CCS_CONFIG"
export CCSLURM_SHIM_RETRY_MS=200

ccs_step "shims with no daemon (no socket): exit 0, spooled"
[ ! -e "$CCS_SOCKET" ] || ccs_fail "a socket exists before the daemon"
t0=$(date +%s%N)
ccs_shim ccslurm-resume 'htc-[1-2]' 2>"$CCS_T/shim1.err" ||
	ccs_fail "shim exit status with the daemon down"
t1=$(date +%s%N)
ccs_assert_match 'spooled as ' "$(cat "$CCS_T/shim1.err")" "the shim's message"
ccs_log "shim returned in $(((t1 - t0) / 1000000)) ms"
ccs_shim ccslurm-resume htc-3 2>/dev/null
ccs_shim ccslurm-resume 'hpc-pg0-[1-2]' 2>/dev/null
# A suspend of a node that is down anyway, spooled too: taken, a no-op.
ccs_shim ccslurm-suspend htc-9 2>/dev/null
ccs_assert_eq 4 "$(find "$CCS_T/spool" -name '*.req' | wc -l)" "spooled requests"
find "$CCS_T/spool" -name '*.req' -perm /077 | grep -q . &&
	ccs_fail "a spool file is readable by others"

ccs_step "a duplicate of one id, and a corrupt file"
first=$(find "$CCS_T/spool" -name '*.req' | sort | head -1)
base=$(basename "$first")
# The same request (same id) spooled twice: a shim that timed out waiting
# for an acknowledgement the daemon had in fact sent.
cp -p "$first" "$CCS_T/spool/9${base#?}"
printf '{"this is": not a request' >"$CCS_T/spool/0000000000000001-corrupt.req"
chmod 600 "$CCS_T/spool/0000000000000001-corrupt.req"

ccs_step "the daemon starts: every request carried out, the spool empty"
ccs_start_daemon
spool_empty() { [ "$(find "$CCS_T/spool" -name '*.req' | wc -l)" = 0 ]; }
ccs_wait_for 30 "the spool empty" spool_empty
ccs_wait_for 30 "htc-[1-3],hpc-pg0-[1-2] ready" ccs_all_in ready 'htc-[1-3],hpc-pg0-[1-2]'
ccs_each_once node_creates 'htc-[1-3],hpc-pg0-[1-2]' || ccs_fail "node_creates"
ccs_each_once node_starts 'htc-[1-3],hpc-pg0-[1-2]' || ccs_fail "node_starts"
ccs_assert_eq 5 "$(ccs_fake GET counters | ccs_json 'sum(1 for k in d["node_creates"] if not k.startswith("login"))')" \
    "nodes created in all"
ccs_assert_eq powered_down "$(ccs_ctl nodes --json htc-9 | ccs_json 'd["nodes"][0]["state"]')" \
    "htc-9 (spooled suspend)"
# Read from the spool: the 4 requests and the second copy (which counts as
# read, and as a duplicate that changed nothing).
ccs_assert_eq 5 "$(ccs_metric ccslurmd_requests_spooled_total)" \
    "requests read from the spool"
ccs_assert_eq 1 "$(ccs_metric ccslurmd_requests_duplicate_total)" \
    "duplicates dropped"
ccs_daemon_log_has 'resume htc-3 from spool \(uid 0, ccslurm-resume\), id [0-9a-f-]+: 1 nodes' ||
	ccs_fail "spooled requests are not logged with their id"

ccs_step "the corrupt file: moved to .bad and reported"
[ -f "$CCS_T/spool/0000000000000001-corrupt.req.bad" ] ||
	ccs_fail "the corrupt file was not moved to .bad"
ccs_daemon_log_has 'spool: .*0000000000000001-corrupt\.req: .*moved aside to .*\.bad' ||
	ccs_fail "the corrupt file is not reported"
ccs_assert_eq 1 "$(find "$CCS_T/spool" -type f | wc -l)" "files left in the spool"

ccs_step "a restart takes nothing again"
creates=$(ccs_fake_requests create)
ccs_stop_daemon
ccs_start_daemon
ccs_wait_for 10 "the restarted daemon to finish starting" ccs_daemon_started
ccs_assert_eq "$creates" "$(ccs_fake_requests create)" "creates after the restart"
ccs_all_in ready 'htc-[1-3],hpc-pg0-[1-2]' || ccs_fail "nodes not ready after the restart"

ccs_step "a request spooled while the daemon runs is taken within a poll round"
# (a shim spools when the daemon is slow to acknowledge, not only when it
# is down: here it is pointed at a socket nobody listens on)
CCSLURMD_SOCKET=$CCS_T/run/nobody-here.sock CCSLURMD_SPOOL=$CCS_T/spool \
    CCSLURM_SHIM_RETRY_MS=100 "$CCS_SHIM_DIR/ccslurm-resume" 'hpc-pg0-3'
ccs_wait_for 10 "hpc-pg0-3 ready from the spool" ccs_all_in ready 'hpc-pg0-3'
ccs_assert_eq 1 "$(find "$CCS_T/spool" -type f | wc -l)" \
    "files left in the spool (the .bad one)"
ccs_stop_daemon
