#!/bin/bash
# 21-batching.sh: 200 shim calls, one node each, over two nodearrays, all
# within one batch window, become one create call (a set per nodearray and
# name run) and no start; Slurm hears the addresses in at most one
# `scontrol update ... NodeAddr=` per poll round; every node ends ready,
# created and booted exactly once (decisions.md, "Batching").
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init
ccs_write_arrays "$CCS_T/arrays.json" hpc:hpc:100:100 htc:htc:100
ccs_start_fake "$CCS_T/arrays.json"
# The window must outlast 200 shim processes started at once on a busy
# 2-core machine; the test checks below that they all made it.
ccs_write_config "$CCS_CONFIG"
sed -i -e 's/^  batch_window: .*/  batch_window: 2s/' \
    -e 's/^  poll_interval: .*/  poll_interval: 300ms/' "$CCS_CONFIG"
ccs_start_daemon
all='hpc-pg0-[1-100],htc-[1-100]'

ccs_step "200 shims, one node each, fired at once"
t0=$(date +%s%N)
pids=()
for i in $(seq 1 100); do
	ccs_shim ccslurm-resume "hpc-pg0-$i" 2>>"$CCS_T/shims.err" &
	pids+=($!)
	ccs_shim ccslurm-resume "htc-$i" 2>>"$CCS_T/shims.err" &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do
	wait "$p" || fails=$((fails + 1))
done
t1=$(date +%s%N)
ccs_log "200 shims acknowledged in $(((t1 - t0) / 1000000)) ms"
ccs_assert_eq 0 "$fails" "shims that exited non-zero"
ccs_assert_eq 0 "$(find "$CCS_T/spool" -type f | wc -l)" "requests spooled"
# All 200 were acknowledged before the window closed: nothing went out yet.
ccs_assert_eq 0 "$(ccs_fake_requests create)" "creates before the window ended"
ccs_assert_eq 200 "$(ccs_ctl status --json | ccs_json 'd["nodes"]["queued"]')" \
    "nodes queued"

ccs_step "every node ready"
ccs_wait_for 60 "all 200 nodes ready" ccs_all_in ready "$all"
ccs_wait_for 20 "Slurm told every address" bash -c '
	"$0" - "$1" <<PY
import json, sys
n = sum(len([a for a in json.loads(l)["argv"] if a.startswith("NodeAddr=")][0].split(","))
        for l in open(sys.argv[1]) if "NodeAddr=" in l)
sys.exit(n != 200)
PY' "$CCS_PYTHON" "$CCS_SCONTROL_LOG"

ccs_step "one create (a set per nodearray), no start"
ccs_assert_eq 1 "$(ccs_fake_requests create)" "create calls"
ccs_assert_eq 0 "$(ccs_fake_requests start)" "start calls"
ccs_fake GET log | "$CCS_PYTHON" -c '
import json, sys
reqs = [r for r in json.load(sys.stdin)["requests"]
        if r["method"] == "POST" and r["path"].endswith("/nodes/create")]
assert len(reqs) == 1, len(reqs)
b = reqs[0]["body"]
sets = {(s["nodearray"], s.get("nameFormat"), s.get("nameOffset")): s["count"]
        for s in b["sets"]}
assert len(b["sets"]) == 2, b["sets"]
assert sum(sets.values()) == 200, sets
assert sorted(k[0] for k in sets) == ["hpc", "htc"], sets
assert b.get("requestId"), b
' || ccs_fail "the create call is not one set per nodearray of 100"
ccs_each_once node_creates "$all" || ccs_fail "node_creates"
ccs_each_once node_starts "$all" || ccs_fail "node_starts"

ccs_step "Slurm: at most one NodeAddr update per poll round, each node once"
polls=$(ccs_fake GET log | ccs_json \
    'sum(1 for r in d["requests"] if r["method"] == "GET" and "operation=" in r["path"])')
addr=$(ccs_scontrol_calls '^update NodeName=.*NodeAddr=')
ccs_log "NodeAddr updates: $addr, poll rounds: $polls"
if [ "$addr" -lt 1 ] || [ "$addr" -gt "$polls" ]; then
	ccs_fail "$addr NodeAddr updates for $polls poll rounds"
fi
"$CCS_PYTHON" - "$CCS_SCONTROL_LOG" "$(ccs_ctl hostnames "$all")" <<'PY' ||
import json, sys
want = set(sys.argv[2].split())
seen = []
for line in open(sys.argv[1]):
    argv = json.loads(line)["argv"]
    if argv[0] != "update" or not any(a.startswith("NodeAddr=") for a in argv):
        continue
    kv = dict(a.split("=", 1) for a in argv[1:])
    addrs = kv["NodeAddr"].split(",")
    hosts = kv["NodeHostName"].split(",")
    assert len(addrs) == len(hosts), kv
    assert all(a.startswith("10.") for a in addrs), kv["NodeAddr"][:80]
    seen += hosts
assert len(seen) == len(set(seen)), "a node was told twice"
assert set(seen) == want, sorted(want ^ set(seen))[:10]
PY
	ccs_fail "NodeAddr updates do not name each node once with an IP"
# Each node's address is the one CycleCloud gave it.
"$CCS_PYTHON" - "$CCS_SCONTROL_STATE" <(ccs_fake GET nodes) <<'PY' ||
import json, sys
slurm = {n["name"]: n.get("addr") for n in json.load(open(sys.argv[1]))["nodes"]}
cloud = {n["Name"]: n.get("PrivateIp") for n in json.load(open(sys.argv[2]))["nodes"]}
assert len(cloud) == 200, len(cloud)
bad = [k for k in cloud if slurm.get(k) != cloud[k]]
assert not bad, bad[:5]
PY
	ccs_fail "Slurm's addresses differ from CycleCloud's"
ccs_stop_daemon
