#!/bin/bash
# 30-faults.sh: the fault matrix against the fake CycleCloud.  For each
# fault (a bad TLS certificate, a CA that does not match, 429 with
# Retry-After, 5xx passing and lasting, dropped connections before and after
# the request is carried out, 2 s latency, a hung request, wrong credentials,
# the whole server stopped mid-burst): every node asked for ends ready, or
# failed with a reason; the fake's request counters stay bounded (nothing
# retries without bound); and `ccslurmctl status` answers within 1 s
# throughout, because nothing the cloud does blocks the daemon's loop.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hardening.sh"

hd_init

# Short timeouts so each case settles in seconds; bounded retries.
fault_config() {
	ccs_write_config "$CCS_CONFIG" "$@"
	sed -i -e 's/^  timeout: 10s$/  timeout: 3s\n  retry_max_attempts: 3\n  retry_max_time: 20s/' \
	    -e 's/^  reconcile_interval: 1h$/  reconcile_interval: 1h\n  auth_grace: 3s/' \
	    "$CCS_CONFIG"
}

# Restart the fake on the same port (the daemon's URL stays right) with the
# same password and test CA, serving CERT: the certificate expiring or being
# replaced under a running daemon.
restart_fake() { # CERT KEY
	local port
	port=$(cat "$CCS_T/fake.port")
	_ccs_stop_pid "$CCS_FAKE_PID" fakecc
	wait "$CCS_FAKE_PID" 2>/dev/null || true
	rm -f "$CCS_T/fake.port"
	"$CCS_PYTHON" "$CCS_SOURCE_DIR/tests/fake/fakecc.py" \
	    --listen "127.0.0.1:$port" --port-file "$CCS_T/fake.port" \
	    --cluster "$CCS_CLUSTER" --username "$CCS_USER" \
	    --password-file "$CCS_T/password" \
	    --nodearrays "$CCS_SOURCE_DIR/tests/fake/arrays-default.json" \
	    --tls-cert "$1" --tls-key "$2" \
	    --acquire-delay 0.3 --prepare-delay 0.3 --ip-delay 0.2 \
	    --stop-delay 0.2 --log-file "$CCS_T/fake.log" 2>>"$CCS_T/fake.log" &
	CCS_FAKE_PID=$!
	ccs_wait_for 20 "the fake's port file" test -s "$CCS_T/fake.port"
}
# The control API through any certificate (ccs_fake verifies against the CA).
insecure_counters() {
	curl -sfk "$CCS_FAKE_URL/__fake/counters"
}

node_error() { # NODE
	ccs_ctl nodes --json "$1" | ccs_json 'd["nodes"][0]["error"]'
}

fault() { ccs_fake POST faults "$1" >/dev/null; }

engine_started() {
	[ "$(ccs_ctl status --json | ccs_json 'd["engine"]["starting"]')" = False ]
}

ccs_start_fake
fault_config
ccs_start_daemon
ccs_wait_for 30 "the daemon's start-up listing" engine_started

ccs_step "the server's certificate expires under the daemon: the node fails with a TLS reason"
restart_fake "$CCS_T/certs/expired.pem" "$CCS_T/certs/expired-key.pem"
ccs_shim ccslurm-resume htc-1
hd_wait_settled 60 htc-1
ccs_assert_eq 1 "$(hd_count_state htc-1 failed)" "htc-1 failed"
ccs_assert_match '[Cc]ertificate' "$(node_error htc-1)" "the reason of htc-1"
ccs_assert_eq 0 "$(insecure_counters | ccs_json 'd["requests"]["total"]')" \
    "API requests through an expired certificate"
conns=$(insecure_counters | ccs_json 'd["connections"]')
[ "$conns" -le 10 ] || ccs_fail "$conns connections for one failing node"
ccs_log "expired certificate: $conns connection(s) tried, htc-1: $(node_error htc-1)"

ccs_step "started with a CA that did not sign the server's certificate"
# A reload changes only the password (engine_reconfigure), so a new ca_file
# takes a restart.  Until the start-up listing succeeds the node table is not
# loaded: the resume is kept (not failed), the error is in status, and the
# listing is retried with a pause, not in a loop.
restart_fake "$CCS_T/certs/server.pem" "$CCS_T/certs/server-key.pem"
ccs_stop_daemon
cp "$CCS_CONFIG" "$CCS_T/good.yaml"
sed -i "s|^  ca_file: .*|  ca_file: $CCS_T/certs/wrong-ca.pem|" "$CCS_CONFIG"
ccs_fake POST reset-counters >/dev/null
c0=$(ccs_fake GET counters | ccs_json 'd["connections"]')
ccs_start_daemon
ccs_shim ccslurm-resume htc-2
cc_error() {
	ccs_ctl status --json | ccs_json 'd["cyclecloud"]["last_error"]' |
	    grep -Eq 'certificate|issuer'
}
ccs_wait_for 30 "status to show the certificate error" cc_error
ccs_log "status: $(ccs_ctl status --json | ccs_json 'd["cyclecloud"]["last_error"]')"
# The listing is retried every poll_interval (200 ms here, 5 s by default),
# without a backoff: bounded in rate, not in count (see the report).
c0=$(ccs_fake GET counters | ccs_json 'd["connections"]')
sleep 3 # a rate is measured over time
c1=$(ccs_fake GET counters | ccs_json 'd["connections"]')
ccs_log "wrong CA: $((c1 - c0 - 1)) connection attempts in 3 s (poll_interval 200ms)"
[ $((c1 - c0 - 1)) -le 25 ] || ccs_fail "$((c1 - c0 - 1)) connections in 3 s of a bad CA"
ccs_assert_eq 0 "$(ccs_fake_requests total)" "API requests through a wrong CA"
ccs_stop_daemon
cp "$CCS_T/good.yaml" "$CCS_CONFIG"
ccs_start_daemon
hd_wait_settled 60 htc-2
ccs_assert_eq 1 "$(hd_count_state htc-2 ready)" "htc-2 kept through the bad CA"
ccs_fake POST reset-counters >/dev/null
hd_probe_start

ccs_step "429 with Retry-After 2: waited out, then done"
fault '{"kind":"http","status":429,"retry_after":2,"count":1,"endpoint":"create"}'
t0=$(hd_ms)
ccs_shim ccslurm-resume 'htc-[3-4]'
hd_wait_settled 60 'htc-[3-4]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[3-4]' ready)" "htc-3,4 ready after 429"
ccs_assert_eq 2 "$(ccs_fake_requests create)" "create calls (the 429, the retry)"
"$CCS_PYTHON" - "$(ccs_fake GET log)" <<'PY' || ccs_fail "Retry-After was not honoured"
import json, sys
log = [r for r in json.loads(sys.argv[1])["requests"] if r["path"].endswith("/nodes/create")]
assert [r["status"] for r in log] == [429, 202], log
t = [r["time"] for r in log]
gap = t[1] - t[0]
assert gap >= 1.9, "retried %.2fs after a Retry-After: 2" % gap
print("retry after %.2fs" % gap)
PY

ccs_step "503 twice: retried, then done; bounded"
ccs_fake POST reset-counters >/dev/null
fault '{"kind":"http","status":503,"count":2,"endpoint":"create"}'
ccs_shim ccslurm-resume 'htc-[5-6]'
hd_wait_settled 60 'htc-[5-6]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[5-6]' ready)" "htc-5,6 ready after 503s"
ccs_assert_eq 3 "$(ccs_fake_requests create)" "create calls (2 faults + 1)"

ccs_step "500 that lasts: the nodes fail with a reason after 3 attempts"
ccs_fake POST reset-counters >/dev/null
fault '{"kind":"http","status":500,"count":1000,"endpoint":"create"}'
ccs_shim ccslurm-resume 'htc-[7-8]'
hd_wait_settled 60 'htc-[7-8]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[7-8]' failed)" "htc-7,8 failed"
ccs_assert_match '500' "$(node_error htc-7)" "the reason of htc-7"
ccs_assert_eq 3 "$(ccs_fake_requests create)" "create calls (retry_max_attempts)"
hd_assert_quiet 2 "after giving up"
ccs_fake POST clear-faults >/dev/null

ccs_step "dropped connections, before and after the request is carried out"
ccs_fake POST reset-counters >/dev/null
fault '{"kind":"drop","count":1,"endpoint":"create","when":"before"}'
ccs_shim ccslurm-resume 'htc-[9-10]'
hd_wait_settled 60 'htc-[9-10]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[9-10]' ready)" "htc-9,10 after a drop"
fault '{"kind":"drop","count":1,"endpoint":"create","when":"after"}'
ccs_shim ccslurm-resume 'htc-[11-12]'
hd_wait_settled 60 'htc-[11-12]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[11-12]' ready)" "htc-11,12 after a drop"
# The ambiguous drop went through once; its retry found it by requestId.
ccs_assert_eq '{"htc-11": 1, "htc-12": 1}' "$(ccs_fake GET counters |
    ccs_json '{k: v for k, v in d["node_creates"].items() if k in ("htc-11", "htc-12")}')" \
    "creates of htc-11,12"
ccs_assert_eq '{"htc-11": 1, "htc-12": 1}' "$(ccs_fake GET counters |
    ccs_json '{k: v for k, v in d["node_starts"].items() if k in ("htc-11", "htc-12")}')" \
    "boots of htc-11,12"

ccs_step "2 s of latency on every request: slower, still done"
ccs_fake POST reset-counters >/dev/null
fault '{"kind":"latency","seconds":2,"count":6,"endpoint":"*"}'
ccs_shim ccslurm-resume 'htc-[13-14]'
hd_wait_settled 90 'htc-[13-14]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[13-14]' ready)" "htc-13,14 with latency"

ccs_step "a hung create: timed out after 3 s, retried, done"
ccs_fake POST clear-faults >/dev/null
ccs_fake POST reset-counters >/dev/null
fault '{"kind":"hang","count":1,"endpoint":"create"}'
ccs_shim ccslurm-resume 'htc-[15-16]'
hd_wait_settled 60 'htc-[15-16]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[15-16]' ready)" "htc-15,16 after a hang"
ccs_assert_eq 2 "$(ccs_fake_requests create)" "create calls (hung + retry)"

ccs_step "the whole server stopped mid-burst (SIGSTOP 6 s, SIGCONT)"
ccs_fake POST clear-faults >/dev/null
ccs_fake POST reset-counters >/dev/null
ccs_shim ccslurm-resume 'htc-[17-24]'
sent() {
	[ "$(ccs_ctl nodes --json 'htc-[17-24]' | ccs_json \
	    "sum(1 for n in d['nodes'] if n['state'] in ('requested', 'booting'))")" -ge 1 ]
}
ccs_wait_for 20 "the burst's create" sent
kill -STOP "$CCS_FAKE_PID"
t0=$(hd_ms)
while [ $(($(hd_ms) - t0)) -lt 6000 ]; do
	t1=$(hd_ms)
	ccs_ctl status >/dev/null || { kill -CONT "$CCS_FAKE_PID"; ccs_fail "status failed while the cloud hangs"; }
	d=$(($(hd_ms) - t1))
	[ "$d" -lt 1000 ] || { kill -CONT "$CCS_FAKE_PID"; ccs_fail "status took ${d} ms while the cloud hangs"; }
	sleep 0.3
done
kill -CONT "$CCS_FAKE_PID"
hd_wait_settled 90 'htc-[17-24]'
ready=$(hd_count_state 'htc-[17-24]' ready)
ccs_log "after the stopped server: $ready of 8 ready, the rest failed with a reason"
total=$(hd_requests_total)
[ "$total" -le 400 ] || ccs_fail "$total API requests for one 8-node burst"

ccs_step "wrong credentials: the nodes fail after auth_grace, then a reload fixes it"
ccs_fake POST reset-counters >/dev/null
ccs_fake POST password '{"password":"changed-behind-our-back"}' >/dev/null
ccs_shim ccslurm-resume 'htc-[25-26]'
hd_wait_settled 60 'htc-[25-26]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[25-26]' failed)" "htc-25,26 failed"
ccs_assert_match 'authentication failed' "$(node_error htc-25)" "the reason"
unauth=$(ccs_fake_requests unauthorized)
[ "$unauth" -ge 1 ] && [ "$unauth" -le 20 ] ||
	ccs_fail "$unauth unauthorized requests in a 3 s auth_grace"
hd_assert_quiet 2 "after the authentication failure"
(umask 077 && printf 'changed-behind-our-back\n' >"$CCS_T/password")
ccs_assert_eq "configuration reloaded" "$(ccs_ctl reload)" "reload"
ccs_shim ccslurm-resume 'htc-[27-28]'
hd_wait_settled 60 'htc-[27-28]'
ccs_assert_eq 2 "$(hd_count_state 'htc-[27-28]' ready)" "htc-27,28 ready"

hd_probe_stop 1000 "status through the fault matrix"

ccs_step "idle afterwards: no retries left running"
hd_assert_quiet 2 "idle"
ccs_stop_daemon
