#!/bin/bash
# 34-valgrind.sh: the daemon under valgrind (memcheck) through a short life:
# start, bad clients, a burst and its suspend, every read-out, a bad and a
# good reload, a clean SIGTERM.  valgrind exits 99 on any error or any
# definite/indirect leak, and ccs_stop_daemon asserts exit 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hardening.sh"

command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 77; }
hd_init
ccs_start_fake
ccs_write_config
export CCS_DAEMON_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no --log-file=$CCS_T/valgrind.log"
ccs_start_daemon
ccs_wait_for 60 "the start-up listing" bash -c \
    '"$0" -s "$1" status --json | grep -q "\"starting\":false"' \
    "$CCSLURMCTL" "$CCS_SOCKET"

ccs_step "bad clients"
"$CCS_PYTHON" - "$CCS_SOCKET" <<'PY'
import os, socket, struct, sys
for payload in (os.urandom(100), struct.pack(">IHHI", 0x43435344, 1, 204, 0xFFFFFFFF),
                struct.pack(">IHHI", 0x43435344, 1, 100, 5) + b"{]xx}"):
    s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
    s.sendall(payload)
    while s.recv(4096):
        pass
    s.close()
PY

ccs_step "a burst, read-outs, the suspend"
ccs_shim ccslurm-resume 'hpc-pg0-[1-2],htc-[1-3]'
hd_wait_settled 120 'hpc-pg0-[1-2],htc-[1-3]'
for args in status "status --json" nodes "nodes --json" metrics ping; do
	# shellcheck disable=SC2086
	ccs_ctl $args >/dev/null
done
ccs_shim ccslurm-suspend 'hpc-pg0-[1-2],htc-[1-3]'
down() {
	[ "$(hd_count_state 'hpc-pg0-[1-2],htc-[1-3]' powered_down)" = 5 ]
}
ccs_wait_for 120 "all 5 powered down" down

ccs_step "a bad reload, a good reload"
cp "$CCS_CONFIG" "$CCS_T/good.yaml"
printf 'bogus_top_level: 1\n' >>"$CCS_CONFIG"
ccs_ctl reload >/dev/null 2>&1 && ccs_fail "a bad reload succeeded"
cp "$CCS_T/good.yaml" "$CCS_CONFIG"
ccs_assert_eq "configuration reloaded" "$(ccs_ctl reload)" "good reload"

ccs_step "SIGTERM: valgrind reports nothing"
rc=0
ccs_stop_daemon || rc=$?
if [ -s "$CCS_T/valgrind.log" ]; then
	cat "$CCS_T/valgrind.log" >&2
	ccs_fail "valgrind reported errors or leaks"
fi
ccs_log "valgrind: no errors, no definite or indirect leaks"
