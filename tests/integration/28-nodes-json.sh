#!/bin/bash
# 28-nodes-json.sh: `ccslurmctl nodes --json` is the daemon's text, written
# without json-c (daemon/nodes.c node_json_write()) and printed as received.
# Checked here end to end, with nodes in several states and a cloud error
# holding every character JSON escapes:
#  - the output is canonical JSON: byte for byte what Python's json.dumps
#    (compact, ensure_ascii=False) prints for the parsed document, which is
#    also json-c's format (lowercase \u00xx, short escapes, "/" and DEL as
#    is), and the keys and types are those of interfaces.md;
#  - a HOSTLIST selects those nodes in that order, table and --json alike;
#  - an error reply (unknown node, bad hostlist) exits 1 with one line on
#    stderr and nothing on stdout;
#  - a daemon stand-in that answers garbage (bad JSON, invalid UTF-8, a
#    truncated frame, another version) gets exit 1 and nothing printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_start_fake
ccs_write_config
ccs_start_daemon

ccs_step "nodes in several states, one failed with a nasty cloud message"
msg=$("$CCS_PYTHON" -c 'import json; print(json.dumps({"kind": "fail_nodes",
    "nodearray": "htc", "count": 1,
    "message": "quote \" back \\ slash / tab \t nl \n cr \r ctl \u0001\u001f del \u007f caf\u00e9 \u20ac \U0001f4a5 end"}))')
ccs_fake POST faults "$msg" >/dev/null
rc=0
ccs_ctl resume --wait 'htc-[1-2]' >/dev/null || rc=$?
ccs_assert_eq 1 "$rc" "resume --wait with one node failing"
ccs_ctl resume 'hpc-pg0-[1-3]' >/dev/null
ccs_wait_for 60 "hpc-pg0-[1-3] ready" bash -c \
    '[ "$("$0" -s "$1" nodes --json "hpc-pg0-[1-3]" | /usr/bin/python3 -c "import json,sys; print(sum(n[\"state\"] == \"ready\" for n in json.load(sys.stdin)[\"nodes\"]))")" = 3 ]' \
    "$CCSLURMCTL" "$CCS_SOCKET"

ccs_step "nodes --json: canonical JSON, interfaces.md's keys and types"
ccs_ctl nodes --json >"$CCS_T/all.json"
"$CCS_PYTHON" - "$CCS_T/all.json" <<'PY' || ccs_fail "nodes --json content"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"}\n") and raw.count(b"\n") == 1, raw[-40:]
d = json.loads(raw)
assert list(d) == ["nodes"], list(d)
canon = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
assert raw[:-1] == canon, "not canonical:\n%r\n%r" % (raw[:300], canon[:300])
states = {"powered_down", "queued", "requested", "booting", "ready",
          "stopping", "failed"}
seen = set()
for n in d["nodes"]:
    keys = ["name", "nodearray", "state", "cc_status", "ip", "since",
            "error", "jobs", "operation"]
    if n["nodearray"] == "hpc":
        keys.append("placement_group")
        assert isinstance(n["placement_group"], int)
    assert list(n) == keys, (n["name"], list(n))
    assert isinstance(n["name"], str) and isinstance(n["nodearray"], str)
    assert n["state"] in states, n
    for k in ("cc_status", "ip", "error", "operation"):
        assert n[k] is None or isinstance(n[k], str), (k, n)
    assert isinstance(n["since"], int) and n["since"] >= 0, n
    assert isinstance(n["jobs"], list), n
    assert all(isinstance(j, int) for j in n["jobs"]), n
    seen.add(n["state"])
    if n["state"] == "ready":
        assert n["ip"] and n["cc_status"] == "Ready", n
assert {"powered_down", "ready", "failed"} <= seen, seen
failed = [n for n in d["nodes"] if n["state"] == "failed"]
assert len(failed) == 1, failed
err = failed[0]["error"]
for part in ('quote " back \\ slash / tab \t', "ctl \u0001\u001f del \u007f",
             "caf\u00e9 \u20ac \U0001f4a5 end"):
    assert part in err, (part, err)
# What is escaped, and how: json-c's forms, lowercase.
for esc in (b'\\"', b"\\\\", b"\\t", b"\\u0001", b"\\u001f"):
    assert esc in raw, esc
for plain in (b"slash / tab", b"\x7f", "caf\u00e9".encode()):
    assert plain in raw, plain
PY

ccs_step "a HOSTLIST: those nodes, in that order, --json and table alike"
hl='htc-2,hpc-pg0-3,hpc-pg0-2,hpc-pg0-1,htc-1'
ccs_ctl nodes --json "$hl" >"$CCS_T/some.json"
"$CCS_PYTHON" - "$CCS_T/all.json" "$CCS_T/some.json" <<'PY' ||
import json, sys
alln = {n["name"]: n for n in json.load(open(sys.argv[1]))["nodes"]}
some = json.load(open(sys.argv[2]))["nodes"]
want = ["htc-2", "hpc-pg0-3", "hpc-pg0-2", "hpc-pg0-1", "htc-1"]
assert [n["name"] for n in some] == want, [n["name"] for n in some]
for n in some:
    a = dict(alln[n["name"]])
    assert {k: v for k, v in n.items() if k != "since"} == \
        {k: v for k, v in a.items() if k != "since"}, (n, a)
PY
	ccs_fail "nodes --json HOSTLIST"
ccs_ctl nodes "$hl" >"$CCS_T/some.txt"
ccs_assert_eq 6 "$(wc -l <"$CCS_T/some.txt")" "table rows (and the header)"
ccs_assert_eq "NAME htc-2 hpc-pg0-3 hpc-pg0-2 hpc-pg0-1 htc-1" \
    "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}' "$CCS_T/some.txt")" \
    "table names in order"
grep -Eq '^hpc-pg0-1 +hpc +ready +Ready +[0-9.]+ +[0-9a-z]+ +-$' \
    "$CCS_T/some.txt" || ccs_fail "a ready row: $(cat "$CCS_T/some.txt")"
# The failed node's error is escaped for the terminal, on its one line.
ccs_ctl nodes >"$CCS_T/all.txt"
ccs_assert_eq $(($("$CCS_PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$CCS_T/all.json") + 1)) \
    "$(wc -l <"$CCS_T/all.txt")" "one table row a node"
grep -Eq '^htc-[12] +htc +failed .* CycleCloud: quote " back [\\]{2} slash / tab [\\]x09 nl' \
    "$CCS_T/all.txt" || ccs_fail "the failed row: $(grep failed "$CCS_T/all.txt")"
if LC_ALL=C grep -q $'\x01\|\x7f\|\t' "$CCS_T/all.txt"; then
	ccs_fail "control characters reached the terminal table"
fi

ccs_step "an error reply: exit 1, one line on stderr, nothing on stdout"
for args in "--json nosuch-1" "nosuch-1" "--json htc-[1-" "htc-1,nosuch-[1-2]"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the arguments
	ccs_ctl nodes $args >"$CCS_T/out" 2>"$CCS_T/err" || rc=$?
	ccs_assert_eq 1 "$rc" "exit status of nodes $args"
	ccs_assert_eq 0 "$(wc -c <"$CCS_T/out")" "stdout bytes of nodes $args"
	ccs_assert_eq 1 "$(wc -l <"$CCS_T/err")" "stderr lines of nodes $args"
	ccs_assert_match '^ccslurmctl: nodes: ' "$(cat "$CCS_T/err")" \
	    "the error of nodes $args"
done
ccs_assert_match 'unknown node nosuch-1' "$(ccs_ctl nodes --json htc-1,nosuch-1 2>&1)" \
    "the unknown node named"
rc=0
ccs_ctl nodes --json a b 2>/dev/null || rc=$?
ccs_assert_eq 2 "$rc" "two hostlists: usage"
ccs_stop_daemon

ccs_step "a daemon stand-in answering garbage: exit 1, nothing printed"
stand=$CCS_T/run/standin.sock
"$CCS_PYTHON" - "$stand" "$CCS_T/standin.ready" <<'PY' &
import os, socket, struct, sys
MAGIC, REPLY, ERROR = 0x43435344, 1201, 2000
good = b'{"nodes":[{"name":"a"}]}'
def f(t, body, ver=1, length=None):
    return struct.pack(">IHHI", MAGIC, ver, t,
                       len(body) if length is None else length) + body
answers = [
    f(REPLY, good),
    f(REPLY, b'{"nodes":[1,]}'),
    f(REPLY, b'{"nodes":["\xff"]}'),
    f(REPLY, b'{"nodes":[]}{}x'),
    f(REPLY, b'{"nodes":[]}', length=100),
    f(REPLY, b'{"nodes":\x00}'),
    f(REPLY, b'{}', ver=2),
    f(ERROR, b'{"error":"no, because"}'),
    f(1203, b'{}'),
    f(REPLY, b'[1, 2, 3]'),
]
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
open(sys.argv[2], "w").close()
for a in answers:
    c, _ = s.accept()
    hdr = c.recv(12)
    n = struct.unpack(">IHHI", hdr)[3]
    while n > 0:
        n -= len(c.recv(n))
    c.sendall(a)
    c.close()
PY
standin=$!
ccs_wait_for 20 "the stand-in" test -e "$CCS_T/standin.ready"
out=$("$CCSLURMCTL" -s "$stand" nodes --json)
ccs_assert_eq '{"nodes":[{"name":"a"}]}' "$out" "a good answer, as received"
for what in "a trailing comma" "invalid UTF-8" "bytes after the JSON" \
    "a truncated frame" "a NUL" "another version" "an error reply" \
    "an unexpected type" "an array"; do
	rc=0
	"$CCSLURMCTL" -s "$stand" nodes --json >"$CCS_T/out" 2>"$CCS_T/err" ||
		rc=$?
	ccs_assert_eq 1 "$rc" "exit status on $what"
	ccs_assert_eq 0 "$(wc -c <"$CCS_T/out")" "stdout bytes on $what"
	ccs_assert_eq 1 "$(wc -l <"$CCS_T/err")" "stderr lines on $what"
	ccs_log "$what: $(cat "$CCS_T/err")"
	case $what in
	"an error reply")
		ccs_assert_eq "ccslurmctl: nodes: no, because" \
		    "$(cat "$CCS_T/err")" "the error's reason" ;;
	esac
done
wait "$standin" || ccs_fail "the stand-in did not see every call"
ccs_log "PASS"
