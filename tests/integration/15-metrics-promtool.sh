#!/bin/bash
# 15-metrics-promtool.sh: the metrics exposition is valid Prometheus text
# and docs/metrics.md lists exactly what the daemon emits.
#
# Both ways of reading it (`ccslurmctl metrics` and GET /metrics on
# metrics.listen) are checked with `promtool check metrics` (Debian package
# prometheus) at rest, and again after real traffic has filled every family:
# resumed nodes (histograms with observations), a capacity refusal (failure
# counters with a nodearray label), a refused request and a permission
# refusal.  Any promtool complaint, lint included, fails the test.  Then the
# metric names, types and label names in the exposition are compared with
# the tables of docs/metrics.md, both ways.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
[ -n "$PROMTOOL" ] || ccs_fail "promtool is needed (Debian: apt-get install prometheus)"

ccs_init
ccs_start_fake

# promtool prints nothing and exits 0 on a clean exposition; lint problems
# exit non-zero too, and any text at all is treated as a complaint.
promcheck() { # FILE DESC
	local out rc=0
	out=$("$PROMTOOL" check metrics <"$1" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		ccs_fail "$2: promtool check metrics (exit $rc): $out"
	fi
	ccs_log "$2: promtool check metrics: clean"
}

# Sanity of the checker itself: a broken exposition must be caught, or a
# passing run proves nothing.
ccs_step "promtool rejects a broken exposition"
printf '# TYPE ccslurmd_x counter\nccslurmd_x{a="1" 2\n' >"$CCS_T/broken.txt"
if "$PROMTOOL" check metrics <"$CCS_T/broken.txt" >/dev/null 2>&1; then
	ccs_fail "promtool accepted a broken exposition"
fi
printf '# HELP ccslurmd_y y\n# TYPE ccslurmd_y counter\nccslurmd_y 1\n' \
    >"$CCS_T/lint.txt"
out=$("$PROMTOOL" check metrics <"$CCS_T/lint.txt" 2>&1) && rc=0 || rc=$?
[ "$rc" -ne 0 ] || [ -n "$out" ] ||
	ccs_fail "promtool's lint did not flag a counter without _total"

mport=$(ccs_free_port)
ccs_write_config "$CCS_CONFIG" "metrics:" "  listen: 127.0.0.1:$mport"
ccs_start_daemon
ccs_wait_for 30 "the daemon to read the cluster" ccs_daemon_started

ccs_step "at rest: ccslurmctl metrics and GET /metrics are valid"
ccs_ctl metrics >"$CCS_T/m-ctl-0.txt"
promcheck "$CCS_T/m-ctl-0.txt" "ccslurmctl metrics at rest"
curl -sf -D "$CCS_T/m-http-0.hdr" "http://127.0.0.1:$mport/metrics" \
    >"$CCS_T/m-http-0.txt"
promcheck "$CCS_T/m-http-0.txt" "GET /metrics at rest"
ccs_assert_match '^[Cc]ontent-[Tt]ype: text/plain; version=0\.0\.4' \
    "$(cat "$CCS_T/m-http-0.hdr")" "the listener's Content-Type"

ccs_step "traffic: resumes, a capacity refusal, a bad request, a refused user"
ccs_fake POST faults '{"kind": "capacity", "nodearray": "htc", "count": 1,
    "message": "AllocationFailed: \"quoted\" capacity (test)"}' >/dev/null
ccs_shim ccslurm-resume 'htc-[1-3],hpc-pg0-[1-2]' 2>/dev/null
ccs_wait_for 60 "one htc node failed" bash -c '[ "$("$0" -s "$1" nodes --json "htc-[1-3]" |
    "$2" -c "import json,sys; print(sum(n[\"state\"] == \"failed\" for n in json.load(sys.stdin)[\"nodes\"]))")" = 1 ]' \
    "$CCSLURMCTL" "$CCS_SOCKET" "$CCS_PYTHON"
ccs_wait_for 60 "hpc-pg0-[1-2] ready" ccs_all_in ready 'hpc-pg0-[1-2]'
rc=0
ccs_shim ccslurm-resume 'nosuchnode-[1-2]' 2>/dev/null || rc=$?
ccs_assert_eq 1 "$rc" "a resume of unknown nodes is refused"
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	# The socket is 0660 (root and the allowed users' group): let nobody
	# connect for this one refusal, as 26-refusals.sh does.
	chmod 0711 "$CCS_T" "$CCS_T/run"
	chmod 0666 "$CCS_SOCKET"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$CCSLURMCTL" -s "$CCS_SOCKET" reload >/dev/null 2>&1 && rc=0 || rc=$?
	ccs_assert_eq 1 "$rc" "reload by nobody is refused"
	chmod 0660 "$CCS_SOCKET"
	want_perm=1
fi

ccs_step "after traffic: the exposition is still valid, the counters moved"
ccs_ctl metrics >"$CCS_T/m-ctl-1.txt"
promcheck "$CCS_T/m-ctl-1.txt" "ccslurmctl metrics after traffic"
curl -sf "http://127.0.0.1:$mport/metrics" >"$CCS_T/m-http-1.txt"
promcheck "$CCS_T/m-http-1.txt" "GET /metrics after traffic"
m=$(cat "$CCS_T/m-ctl-1.txt")
ccs_assert_match '^ccslurmd_resume_to_ready_seconds_count [1-9]' "$m" \
    "resume_to_ready observations"
ccs_assert_match '^ccslurmd_node_failures_total\{nodearray="htc"\} 1$' "$m" \
    "the failure counted for htc"
ccs_assert_match '^ccslurmd_requests_refused_total [1-9]' "$m" \
    "the refused request counted"
[ -z "${want_perm:-}" ] ||
	ccs_assert_match '^ccslurmd_control_refused_total\{reason="permission"\} 1$' \
	    "$m" "the permission refusal counted"
ccs_assert_match '^ccslurmd_cc_api_latency_seconds_count\{endpoint="create"\} [1-9]' \
    "$m" "create latency observed"

ccs_step "docs/metrics.md lists exactly the emitted names, types and labels"
"$CCS_PYTHON" - "$CCS_T/m-ctl-1.txt" "$CCS_SOURCE_DIR/docs/metrics.md" <<'PY' ||
import re, sys

text, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
emitted = {}
for name, typ in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
    emitted[name] = {"type": typ, "labels": set()}
for line in text.splitlines():
    m = re.match(r"^([a-z_]+)(?:\{(.*)\})? \S+$", line)
    if not m:
        continue
    name = m.group(1)
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base in emitted and emitted[base]["type"] == "histogram":
            name = base
            break
    assert name in emitted, "sample without # TYPE: " + line
    labels = set(re.findall(r'([a-z_]+)="', m.group(2) or ""))
    emitted[name]["labels"] |= labels - {"le"}

documented = {}
row = re.compile(r"^\| `(ccslurmd_[a-z_]+)` \| (\w+) \| ([^|]*)\|", re.M)
for name, typ, labels in row.findall(doc):
    documented[name] = {"type": typ,
                        "labels": set(re.findall(r"`([a-z_]+)`", labels))}

bad = []
for n in sorted(set(emitted) - set(documented)):
    bad.append("emitted, not in docs/metrics.md: " + n)
for n in sorted(set(documented) - set(emitted)):
    bad.append("in docs/metrics.md, not emitted: " + n)
for n in sorted(set(emitted) & set(documented)):
    e, d = emitted[n], documented[n]
    if e["type"] != d["type"]:
        bad.append("%s: type %s, documented %s" % (n, e["type"], d["type"]))
    if e["labels"] != d["labels"]:
        bad.append("%s: labels %s, documented %s" %
                   (n, sorted(e["labels"]), sorted(d["labels"])))
if bad:
    sys.exit("\n".join(bad))
print("%d metrics, all documented" % len(emitted))
PY
	ccs_fail "docs/metrics.md and the exposition differ"

ccs_stop_daemon
