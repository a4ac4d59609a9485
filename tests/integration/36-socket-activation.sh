#!/bin/bash
# 36-socket-activation.sh: ccslurmd under socket activation, as
# systemd/ccslurmd.socket runs it, with systemd's own helper
# (systemd-socket-activate) handing over the listening socket:
#  - the first client's connection starts the daemon, and that client's
#    request is answered (nothing lost while the daemon starts);
#  - the daemon says it uses the passed socket, binds nothing itself;
#  - a shim's resume goes through the passed socket to the cloud.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null ||
	{ echo "SKIP: systemd-socket-activate not installed"; exit 77; }

ccs_init
ccs_start_fake
ccs_write_config

ccs_step "systemd-socket-activate listens; no daemon runs yet"
systemd-socket-activate -l "$CCS_SOCKET" \
    "$CCSLURMD" -f -c "$CCS_CONFIG" 2>>"$CCS_T/daemon.log" &
activator=$!
CCS_DAEMON_PID=$activator	# the activator execs ccslurmd: lib.sh stops it
ccs_wait_for 10 "the activator's socket" test -S "$CCS_SOCKET"
pgrep -f "^$CCSLURMD -f -c $CCS_CONFIG" >/dev/null &&
	ccs_fail "ccslurmd runs before anyone connected"

ccs_step "the first request starts the daemon and is answered"
out=$(ccs_ctl ping)
ccs_assert_match '^ccslurmd [0-9.]+, pid [0-9]+, up [0-9]+s$' "$out" \
    "the first ping"
ccs_daemon_log_has 'control: using the socket systemd passed' ||
	ccs_fail "the daemon did not use the passed socket"
ccs_daemon_log_has "listening on $CCS_SOCKET" &&
	ccs_fail "the daemon bound the socket itself"

ccs_step "a shim's resume goes through the passed socket"
ccs_shim ccslurm-resume 'hpc-pg0-1'
ccs_wait_for 30 "hpc-pg0-1 ready" ccs_all_in ready 'hpc-pg0-1'

ccs_step "SIGTERM stops the daemon cleanly"
kill -TERM "$activator"
ccs_wait_for 20 "the daemon to exit" \
    bash -c "! pgrep -f '^$CCSLURMD -f -c $CCS_CONFIG' >/dev/null"
