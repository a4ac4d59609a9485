#!/bin/bash
# 10-daemon-basics.sh: ccslurmd starts, checks configs, answers ping, status
# and nodes, takes a shim's resume to the (fake) cloud and tells (the
# recording) scontrol the addresses, refuses a user who is not allowed with
# nothing changed, keeps its config when a reload's is bad, and stops cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake

ccs_step "ccslurmd -n: a good config is OK"
ccs_write_config
out=$("$CCSLURMD" -n -c "$CCS_CONFIG")
ccs_assert_eq "configuration OK" "$out" "ccslurmd -n output"

ccs_step "ccslurmd -n: a bad config lists every error as FILE:LINE and exits 1"
bad=$CCS_T/bad.yaml
ccs_write_config "$bad" "bogus_top_level: 1"
sed -i 's/^  batch_window: 100ms$/  batch_window: soon/' "$bad"
rc=0
out=$("$CCSLURMD" -n -c "$bad" 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "ccslurmd -n exit status on a bad config"
ccs_assert_match "^$bad:[0-9]+: .*batch_window" "$out" "the duration error"
ccs_assert_match "^$bad:[0-9]+: .*bogus_top_level" "$out" "the unknown key"
n=$(printf '%s\n' "$out" | grep -Ec "^$bad:[0-9]+: ")
[ "$n" -ge 2 ] || ccs_fail "expected 2 FILE:LINE errors, got: $out"

ccs_step "the daemon starts and answers ping, status and nodes"
mport=$(ccs_free_port)
ccs_write_config "$CCS_CONFIG" "metrics:" "  listen: 127.0.0.1:$mport"
ccs_start_daemon
out=$(ccs_ctl ping)
ccs_assert_match '^ccslurmd [0-9.]+, pid [0-9]+, up [0-9]+s$' "$out" "ping"
st=$(ccs_ctl status --json)
ccs_assert_eq "$CCS_DAEMON_PID" "$(printf '%s' "$st" | ccs_json 'd["pid"]')" \
    "status pid"
ccs_assert_eq "$CCS_SOCKET" "$(printf '%s' "$st" | ccs_json 'd["socket"]')" \
    "status socket"
# (Output is captured before grep: with pipefail, `grep -q` closing the pipe
# early would fail the writer.)
out=$(ccs_ctl status)
grep -q '^nodes: ' <<<"$out" || ccs_fail "status has no nodes line"
nodes=$(ccs_ctl nodes --json)
ccs_assert_eq list "$(printf '%s' "$nodes" |
    ccs_json 'type(d["nodes"]).__name__')" "nodes --json shape"
out=$(ccs_ctl nodes)
grep -Eq '^NAME +NODEARRAY +STATE +CC-STATUS +IP +AGE +ERROR$' <<<"${out%%$'\n'*}" ||
	ccs_fail "nodes table header"
out=$(ccs_ctl metrics)
grep -q '^ccslurmd_build_info{' <<<"$out" ||
	ccs_fail "metrics has no ccslurmd_build_info"
out=$(curl -sf "http://127.0.0.1:$mport/metrics")
grep -q '^ccslurmd_nodes{state="powered_down"} ' <<<"$out" ||
	ccs_fail "GET /metrics on metrics.listen"
ccs_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$mport/other")" "GET /other on metrics.listen"
"$CCSLURMCTL" -s "$CCS_T/run/nobody.sock" ping 2>/dev/null && rc=0 || rc=$?
ccs_assert_eq 3 "$rc" "ping of an absent daemon"

ccs_step "bad clients are answered or dropped, one by one, never fatal"
"$CCS_PYTHON" - "$CCS_SOCKET" <<'PY' || ccs_fail "control socket robustness"
import json, socket, struct, sys, time
path = sys.argv[1]
MAGIC, PING = 0x43435344, 203

def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(15)
    return s

def frame(t, body=b"{}", ver=1, magic=MAGIC, length=None):
    return struct.pack(">IHHI", magic, ver, t,
                       len(body) if length is None else length) + body

def answer(s):
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    if not data:
        return None
    magic, ver, t, n = struct.unpack(">IHHI", data[:12])
    assert magic == MAGIC and ver == 1, (magic, ver)
    return t, json.loads(data[12:12 + n])

def error_of(payload):
    s = conn()
    s.sendall(payload)
    t, body = answer(s)
    assert t == 2000, (t, body)
    return body["error"]

e = error_of(frame(PING, ver=2))
assert "protocol version 2" in e, e
e = error_of(b"GET / HTTP/1.0\r\n\r\n")
assert "magic" in e, e
e = error_of(frame(PING, length=0xFFFFFFF0)[:12])
assert "exceeds" in e, e
e = error_of(frame(PING, body=b"{]"))
assert e, e
e = error_of(frame(1203))
assert "unsupported" in e, e
e = error_of(frame(100, body=b'{"id": "x"}'))
assert "hostlist" in e, e
# A peer that never writes is dropped after the read timeout (5 s).
t0 = time.time()
assert answer(conn()) is None
assert 4 <= time.time() - t0 <= 10, time.time() - t0
# Over 512 connections: the newcomer is told "busy", the others are kept.
idle = [conn() for _ in range(512)]
t, body = answer(conn())
assert t == 2000 and "busy" in body["error"], body
for s in idle:
    s.close()
PY
ccs_wait_for 10 "the daemon to forget the idle peers" \
    bash -c '[ "$("$0" -s "$1" status --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"peers\"])")" = 1 ]' \
    "$CCSLURMCTL" "$CCS_SOCKET"
ccs_ctl ping >/dev/null || ccs_fail "the daemon did not survive bad clients"
ccs_daemon_log_has 'peers connected; refused' ||
	ccs_fail "the busy refusal is not logged"
ccs_assert_eq 1 "$(ccs_ctl metrics |
    sed -n 's/^ccslurmd_control_refused_total{reason="busy"} //p')" \
    "busy refusals in the metrics"

ccs_step "a user who is not allowed is refused, and nothing changes"
# The test's own way in for a non-root user: the socket and the directories
# above it opened up (never what a site does; decisions.md).
chmod 0711 "$CCS_T" "$CCS_T/run"
chmod 0666 "$CCS_SOCKET"
chmod 0777 "$CCS_T/spool"
creates0=$(ccs_fake_requests create)
starts0=$(ccs_fake_requests start)
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env CCSLURMD_SOCKET="$CCS_SOCKET" CCSLURMD_SPOOL="$CCS_T/spool" \
    "$CCS_SHIM_DIR/ccslurm-resume" 'hpc-pg0-[3-4]' 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "shim exit status for a refused user"
ccs_assert_match 'permission denied: uid [0-9]+ may not resume nodes \(allowed: root' \
    "$out" "the daemon's refusal"
ccs_daemon_log_has 'uid [0-9]+ may not resume nodes' ||
	ccs_fail "the refusal is not in the daemon's log"
ccs_assert_eq 0 "$(find "$CCS_T/spool" -type f | wc -l)" "files spooled"
ccs_assert_eq "$creates0" "$(ccs_fake_requests create)" "creates after refusal"
ccs_assert_eq "$starts0" "$(ccs_fake_requests start)" "starts after refusal"
ccs_assert_eq powered_down "$(ccs_ctl nodes --json hpc-pg0-3 |
    ccs_json 'd["nodes"][0]["state"]')" "hpc-pg0-3 after the refusal"
chmod 0660 "$CCS_SOCKET"

ccs_step "a shim resume of 2 nodes: created/started in the cloud, Slurm told"
ccs_shim ccslurm-resume 'hpc-pg0-[1-2]'
ready2() {
	[ "$(ccs_fake GET nodes | ccs_json \
	    'sum(1 for n in d["nodes"] if n["Name"] in ("hpc-pg0-1","hpc-pg0-2") and n["Status"]=="Ready")')" = 2 ]
}
ccs_wait_for 60 "the fake to show hpc-pg0-1 and -2 Ready" ready2
addr_told() {
	[ "$(ccs_scontrol_calls '^update NodeName=.*NodeAddr=')" -ge 1 ] &&
	    [ "$(ccs_ctl nodes --json 'hpc-pg0-[1-2]' |
	    ccs_json 'sum(1 for n in d["nodes"] if n["state"]=="ready")')" = 2 ]
}
ccs_wait_for 60 "both nodes ready in the daemon and NodeAddr given" addr_told
ccs_assert_eq 1 "$(ccs_scontrol_calls '^update NodeName=.*NodeAddr=')" \
    "scontrol update NodeAddr calls (one, batched)"
"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" <<'PY' || ccs_fail "NodeAddr did not cover both nodes with the fake's IPs"
import json, sys
for line in open(sys.argv[1]):
    argv = json.loads(line)["argv"]
    if argv[0] == "update" and any(a.startswith("NodeAddr=") for a in argv):
        kv = dict(a.split("=", 1) for a in argv[1:])
        names = kv["NodeName"]
        assert names in ("hpc-pg0-[1-2]", "hpc-pg0-1,hpc-pg0-2"), names
        assert len(kv["NodeAddr"].split(",")) == 2, kv["NodeAddr"]
PY
made=$(ccs_fake GET counters |
    ccs_json 'sum(d["node_creates"].values()) + sum(d["node_starts"].values())')
[ "$made" -ge 2 ] || ccs_fail "the fake created/started $made nodes, not 2"
out=$(ccs_ctl nodes 'hpc-pg0-[1-2]')
ccs_assert_eq 2 "$(grep -Ec '^hpc-pg0-[12] +hpc +ready +Ready +10\.' <<<"$out")" \
    "nodes table rows ready with an IP"

ccs_step "ccslurmctl resume --wait: follows to the end, exit 1 when a node failed"
ccs_fake POST faults '{"kind": "fail_nodes", "nodearray": "htc", "count": 1, "message": "test: VM failed"}' >/dev/null
rc=0
out=$(ccs_ctl resume --wait 'htc-[1-3]') || rc=$?
ccs_assert_eq 1 "$rc" "resume --wait exit status with a failed node"
ccs_assert_match '^failed: htc-[1-3]: .+' "$out" "the failed node and its reason"
ccs_assert_match '^resume htc-\[1-3\]: 2 node\(s\) done, 1 failed' "$out" \
    "the summary"
ccs_fake POST clear-faults >/dev/null
out=$(ccs_ctl suspend --wait 'htc-[1-3]')
ccs_assert_match '^suspend htc-\[1-3\]: 3 node\(s\) done, 0 failed' "$out" \
    "suspend --wait summary (the failed node is left failed, not a failure)"
ccs_assert_eq 2 "$(ccs_ctl nodes --json 'htc-[1-3]' |
    ccs_json 'sum(1 for n in d["nodes"] if n["state"]=="powered_down")')" \
    "htc-[1-3] powered down"

ccs_step "SIGHUP with a bad config keeps the old one"
cp "$CCS_CONFIG" "$CCS_T/good.yaml"
printf 'bogus_top_level: 1\n' >>"$CCS_CONFIG"
kill -HUP "$CCS_DAEMON_PID"
ccs_wait_for 10 "the daemon to report the bad reload" \
    ccs_daemon_log_has 'keeping the old configuration'
ccs_daemon_log_has "reload: $CCS_CONFIG:[0-9]+: .*bogus_top_level" ||
	ccs_fail "the reload error is not logged as FILE:LINE"
ccs_ctl ping >/dev/null || ccs_fail "the daemon did not survive a bad reload"
rc=0
out=$(ccs_ctl reload 2>&1) || rc=$?
ccs_assert_eq 1 "$rc" "ccslurmctl reload exit status on a bad config"
ccs_assert_match "^$CCS_CONFIG:[0-9]+: .*bogus_top_level" "$out" "reload errors"
ccs_assert_eq "$CCS_SOCKET" "$(ccs_ctl status --json | ccs_json 'd["socket"]')" \
    "status after the bad reload"
cp "$CCS_T/good.yaml" "$CCS_CONFIG"
ccs_assert_eq "configuration reloaded" "$(ccs_ctl reload)" "good reload"

ccs_step "metrics: well-formed Prometheus text that counts what happened"
ccs_ctl metrics >"$CCS_T/metrics.txt"
"$CCS_PYTHON" - "$CCS_T/metrics.txt" <<'PY' || ccs_fail "metrics text"
import re, sys
helps, types, samples = set(), {}, {}
line_re = re.compile(r'^(ccslurmd_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+|\+Inf)$')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        helps.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, typ = line.split()
        types[name] = typ
    else:
        m = line_re.match(line)
        assert m, "bad sample line: %r" % line
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
for key in samples:
    base = re.sub(r'(_bucket|_sum|_count)$', '', key.split("{")[0])
    name = base if base in types else key.split("{")[0]
    assert name in types and name in helps, "no HELP/TYPE for " + key
def get(k):
    return samples[k]
# What this test did: hpc-pg0-[1-2] ready; htc-[1-3] resumed (one failed)
# and suspended; one resume refused for permission; 512+ connections, one
# busy refusal.
assert get('ccslurmd_nodes{state="ready"}') == 2
assert get('ccslurmd_nodes{state="failed"}') == 1
assert get('ccslurmd_requests_total{action="resume"}') == 2
assert get('ccslurmd_requests_total{action="suspend"}') == 1
assert get('ccslurmd_node_failures_total{nodearray="htc"}') == 1
assert get('ccslurmd_node_failures_total{nodearray="hpc"}') == 0
assert get('ccslurmd_control_refused_total{reason="permission"}') == 1
assert get('ccslurmd_control_refused_total{reason="busy"}') == 1
assert get('ccslurmd_control_connections_total') > 512
assert get('ccslurmd_cc_api_calls_total{endpoint="create",outcome="ok"}') >= 1
assert get('ccslurmd_scontrol_calls_total') >= 1
# Histogram buckets are cumulative and end in _count.
prev = 0
for k, v in samples.items():
    if k.startswith('ccslurmd_resume_to_ready_seconds_bucket'):
        assert v >= prev, k
        prev = v
assert prev == get('ccslurmd_resume_to_ready_seconds_count') == 4
PY

ccs_step "SIGTERM: a clean stop, the socket removed"
ccs_stop_daemon
[ ! -e "$CCS_SOCKET" ] || ccs_fail "the socket is still there after the stop"

ccs_step "sd_notify: READY, STATUS, RELOADING, WATCHDOG and STOPPING"
"$CCS_PYTHON" - "$CCS_T/notify.sock" "$CCS_T/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as log:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        log.write(msg.replace("\n", " ") + "\n")
        log.flush()
        if "STOPPING=1" in msg:
            break
PY
listener=$!
ccs_wait_for 10 "the notify listener" test -S "$CCS_T/notify.sock"
NOTIFY_SOCKET=$CCS_T/notify.sock WATCHDOG_USEC=200000 ccs_start_daemon
ccs_wait_for 10 "READY=1" grep -q '^READY=1' "$CCS_T/notify.log"
grep -q '^STATUS=running' "$CCS_T/notify.log" || ccs_fail "no STATUS= line"
# Half of WATCHDOG_USEC: several pings within a second.
ccs_wait_for 10 "three WATCHDOG=1" \
    bash -c '[ "$(grep -c "^WATCHDOG=1" "$0")" -ge 3 ]' "$CCS_T/notify.log"
kill -HUP "$CCS_DAEMON_PID"
ccs_wait_for 10 "RELOADING=1" grep -q '^RELOADING=1' "$CCS_T/notify.log"
ccs_wait_for 10 "READY=1 after the reload" \
    bash -c '[ "$(grep -c "^READY=1" "$0")" -ge 2 ]' "$CCS_T/notify.log"
ccs_stop_daemon
wait "$listener" || ccs_fail "the notify listener"
grep -q '^STOPPING=1' "$CCS_T/notify.log" || ccs_fail "no STOPPING=1"
