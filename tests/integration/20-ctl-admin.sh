#!/bin/bash
# 20-ctl-admin.sh: the admin commands that are not plain daemon queries,
# against the fake CycleCloud (HTTPS, test CA) and the real ccslurmd:
#   initialize  refuses a group-readable password file, a wrong password, an
#               untrusted certificate and an existing config (without
#               --force; with it a dated backup is kept), writes a config the
#               daemon loads, never shows the password;
#   generate    dry run (JSON plan, nothing written), real run (files,
#               restart advice, GresTypes), rerun (unchanged), default dir
#               from the config, exit 3 without a daemon;
#   create-nodes  dry run, one create call with one set a name run, the
#               error policy, allow-existing, and nodes whose names no
#               longer fit (removed only when Off);
#   check       against the running daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ccs_init

# A small cluster: hpc has two machine types (to make a mismatched node) and
# two placement groups (4 + 2); login is not autoscale and pre-created.
arrays=$CCS_T/arrays.json
cat >"$arrays" <<'JSON'
{"nodearrays": [
 {"name": "hpc", "machineType": ["Standard_HB120rs_v3", "Standard_HB176rs_v4"],
  "vcpuCount": 120, "memoryGB": 448, "maxCount": 6, "maxScalesetSize": 4,
  "configuration": {"slurm": {"autoscale": true, "hpc": true,
                              "default_partition": true}}},
 {"name": "htc", "machineType": "Standard_F2s_v2", "vcpuCount": 2,
  "pcpuCount": 1, "memoryGB": 4.0, "maxCount": 3,
  "configuration": {"slurm": {"autoscale": true, "hpc": false}}},
 {"name": "gpu", "machineType": "Standard_NC24ads_A100_v4", "vcpuCount": 24,
  "gpuCount": 1, "memoryGB": 220, "maxCount": 2, "shutdownPolicy": "Deallocate",
  "configuration": {"slurm": {"autoscale": true, "hpc": false}}},
 {"name": "login", "machineType": "Standard_D4s_v5", "vcpuCount": 4,
  "memoryGB": 16, "maxCount": 1, "precreate": true,
  "configuration": {"slurm": {"autoscale": false}}}
]}
JSON
ccs_start_fake "$arrays"
PW=$(cat "$CCS_T/password")

# Run a command, keeping its stdout, stderr and status: out, err, rc.
run() {
	rc=0
	"$@" >"$CCS_T/out" 2>"$CCS_T/err" || rc=$?
	out=$(cat "$CCS_T/out")
	err=$(cat "$CCS_T/err")
}
no_password() { # FILE...: the password appears in none of them
	! grep -qF -- "$PW" "$@" || ccs_fail "the password leaked into $*"
}

# ---------------------------------------------------------------- initialize
init_cfg=$CCS_T/init/ccslurmd.yaml
mkdir -p "$CCS_T/init"
init() { "$CCSLURMCTL" -c "$init_cfg" initialize --url "$CCS_FAKE_URL" \
    --cluster "$CCS_CLUSTER" --username "$CCS_USER" "$@"; }

ccs_step "initialize refuses a group-readable password file, contacting nothing"
cp "$CCS_T/password" "$CCS_T/pw-group"
chmod 640 "$CCS_T/pw-group"
before=$(ccs_fake_requests total)
run init --password-file "$CCS_T/pw-group" --ca-file "$CCS_CA"
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "^ccslurmctl: initialize: password file .*pw-group has mode 0640: it must not be readable or writable by group or others \(chmod 600 " "$err" "refusal"
ccs_assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "one-line error"
[ ! -e "$init_cfg" ] || ccs_fail "a config was written"
ccs_assert_eq "$before" "$(ccs_fake_requests total)" "requests to CycleCloud"

ccs_step "initialize with a wrong password: the cloud's refusal, nothing written"
(umask 077 && echo wrong-password >"$CCS_T/pw-wrong")
run init --password-file "$CCS_T/pw-wrong" --ca-file "$CCS_CA"
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "cannot read cluster burst at .*\(auth\).*nothing written" "$err" "auth error"
[ ! -e "$init_cfg" ] || ccs_fail "a config was written"

ccs_step "initialize verifies TLS by default: the test CA is not trusted"
run init --password-file "$CCS_T/password"
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "\(tls\)" "$err" "TLS error"
[ ! -e "$init_cfg" ] || ccs_fail "a config was written"

ccs_step "initialize writes a config the daemon loads, and reports the cluster"
run init --password-file "$CCS_T/password" --ca-file "$CCS_CA"
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_match "TLS verification on" "$out" "TLS on"
ccs_assert_match "cluster burst: 4 nodearray\(s\)" "$out" "nodearray count"
ccs_assert_match "^  hpc +autoscale +Standard_HB120rs_v3 +max 6, hpc" "$out" "hpc row"
ccs_assert_match "^  htc +autoscale +Standard_F2s_v2 +max 3, htc" "$out" "htc row"
ccs_assert_match "^  login +- +Standard_D4s_v5 +max 1" "$out" "login row"
ccs_assert_match "configuration OK" "$out" "validated"
ccs_assert_eq "configuration OK" "$("$CCSLURMD" -n -c "$init_cfg")" "ccslurmd -n"
grep -q "^  url: \"$CCS_FAKE_URL\"$" "$init_cfg" || ccs_fail "url not written"
grep -q "^  password_file: \"$CCS_T/password\"$" "$init_cfg" || ccs_fail "password_file"
grep -q "^  ca_file: \"$CCS_CA\"$" "$init_cfg" || ccs_fail "ca_file"
grep -q "^  verify_tls: true$" "$init_cfg" || ccs_fail "verify_tls"
no_password "$init_cfg" "$CCS_T/out" "$CCS_T/err"

ccs_step "initialize refuses to overwrite the config without --force"
sum=$(sha256sum <"$init_cfg")
run init --password-file "$CCS_T/password" --ca-file "$CCS_CA"
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "ccslurmd.yaml exists; --force replaces it" "$err" "refusal"
ccs_assert_eq "$sum" "$(sha256sum <"$init_cfg")" "config unchanged"

ccs_step "initialize --force --no-verify-tls keeps a dated backup"
run init --password-file "$CCS_T/password" --no-verify-tls --force
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_match "TLS verification OFF" "$out" "TLS off said"
backup=$(ls "$CCS_T"/init/ccslurmd.yaml.2*)
ccs_assert_eq 1 "$(printf '%s\n' "$backup" | wc -l)" "one backup"
ccs_assert_eq "$sum" "$(sha256sum <"$backup")" "backup holds the old config"
grep -q "^  verify_tls: false$" "$init_cfg" || ccs_fail "verify_tls false"
grep -q "^  # ca_file:" "$init_cfg" || ccs_fail "ca_file not commented out"
no_password "$init_cfg" "$CCS_T/out" "$CCS_T/err" "$CCS_T/fake.log"

# ------------------------------------------------------------------ generate
ccs_write_config
ccs_start_daemon
ccs_wait_for 30 "the daemon to read the cluster" \
    sh -c "'$CCSLURMCTL' -s '$CCS_SOCKET' generate --dry-run --output-dir '$CCS_T/slurm' --json"

ccs_step "generate --dry-run --json: the plan, nothing written"
run ccs_ctl generate --output-dir "$CCS_T/slurm" --dry-run --json
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_eq "True 11 True True" \
    "$(ccs_json '" ".join(str(x) for x in [d["dry_run"], d["nodes"], d["node_set_changed"], d["gres_types_needed"]])' <"$CCS_T/out")" "plan"
cc=$(ccs_json '[f["content"] for f in d["files"] if f["name"] == "cyclecloud.conf"][0]' <"$CCS_T/out")
ccs_assert_match "NodeName=hpc-pg0-\[1-4\] " "$cc" "hpc group 0"
ccs_assert_match "NodeName=hpc-pg1-\[1-2\] " "$cc" "hpc group 1"
ccs_assert_match "NodeName=gpu-\[1-2\] .*Gres=gpu:1" "$cc" "gpu nodes"
if printf '%s' "$cc" | grep -q login; then ccs_fail "login (not autoscale) generated"; fi
[ -z "$(ls "$CCS_T/slurm")" ] || ccs_fail "dry run wrote files"

ccs_step "generate writes the files and says what slurm.conf needs"
run ccs_ctl generate --output-dir "$CCS_T/slurm"
ccs_assert_eq 0 "$rc" "exit status ($err)"
for f in cyclecloud.conf topology.conf gres.conf cyclecloud-hpc-partitions; do
	[ -s "$CCS_T/slurm/$f" ] || [ "$f" = gres.conf ] || ccs_fail "$f not written"
	ccs_assert_match "^wrote $CCS_T/slurm/$f\$" "$out" "$f reported"
done
ccs_assert_match "Include $CCS_T/slurm/cyclecloud.conf" "$out" "Include line"
ccs_assert_match "GresTypes=gpu" "$out" "GresTypes"
ccs_assert_match "JobSubmitPlugins=job_submit/cyclecloud" "$out" "plugin"
ccs_assert_match "^node set changed: restart slurmctld \(22.05 needs a restart for new nodes\)$" "$out" "restart advice"
ccs_assert_eq "$cc" "$(cat "$CCS_T/slurm/cyclecloud.conf")" "written = planned"
ccs_assert_eq "hpc*" "$(grep -v '^#' "$CCS_T/slurm/cyclecloud-hpc-partitions")" "hpc partitions"

ccs_step "generate again (from the config's slurm.config_dir): all unchanged"
run "$CCSLURMCTL" -s "$CCS_SOCKET" -c "$CCS_CONFIG" generate
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_eq 4 "$(printf '%s\n' "$out" | grep -c '^unchanged ')" "unchanged files"
ccs_assert_match "^node set unchanged" "$out" "no restart"

ccs_step "generate without a daemon: exit 3; without a config or --output-dir: exit 1"
run "$CCSLURMCTL" -s "$CCS_T/none.sock" generate --output-dir "$CCS_T/slurm"
ccs_assert_eq 3 "$rc" "exit status"
ccs_assert_match "unreachable" "$err" "message"
run "$CCSLURMCTL" -s "$CCS_SOCKET" -c "$CCS_T/none.yaml" generate
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "give --output-dir" "$err" "message"

# -------------------------------------------------------------- create-nodes
# Nodes the naming rules do not give, made through the API itself (the
# password is read from its file, never put on a command line).
cc_create() { # JSON body of a create
	"$CCS_PYTHON" - "$CCS_FAKE_URL/clusters/$CCS_CLUSTER/nodes/create" \
	    "$CCS_USER" "$CCS_T/password" "$CCS_CA" "$1" <<'PY'
import base64, ssl, sys, urllib.request
url, user, pwfile, ca, body = sys.argv[1:]
pw = open(pwfile).read().rstrip("\n")
req = urllib.request.Request(url, data=body.encode(), method="POST",
    headers={"Content-Type": "application/json", "Authorization": "Basic " +
             base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()})
urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca))
PY
}

ccs_step "create-nodes --dry-run: 11 nodes in 4 sets, nothing created"
creates=$(ccs_fake_requests create)
run ccs_ctl create-nodes --dry-run --json
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_eq "11 4 0" "$(ccs_json '"%d %d %d" % (d["to_create"], len(d["sets"]), d["created"])' <"$CCS_T/out")" "plan"
ccs_assert_eq "$creates" "$(ccs_fake_requests create)" "create calls"

ccs_step "create-nodes: one create call, Fixed and not started"
ccs_fake POST reset-counters >/dev/null
run ccs_ctl create-nodes
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_match "^created 11 of 11 node\(s\); 0 already existed; operation " "$out" "summary"
ccs_assert_eq 1 "$(ccs_fake_requests create)" "create calls"
body=$(ccs_fake GET log | ccs_json '[r["body"] for r in d["requests"] if r["path"].endswith("/nodes/create")][0]')
ccs_assert_eq "hpc-pg0-%d:1:4:hpc-Standard_HB120rs_v3-pg0 hpc-pg1-%d:1:2:hpc-Standard_HB120rs_v3-pg1 htc-%d:1:3:None gpu-%d:1:2:None" \
    "$(printf '%s' "$body" | ccs_json '" ".join("%s:%s:%s:%s" % (s["nameFormat"], s["nameOffset"], s["count"], s.get("placementGroupId")) for s in d["sets"])')" "sets"
ccs_assert_eq "True" "$(printf '%s' "$body" | ccs_json 'all(s["nodeAttributes"] == {"Fixed": True, "StartAutomatically": False} for s in d["sets"]) and bool(d["requestId"])')" "node attributes and requestId"
ccs_assert_eq "11 11" "$(ccs_fake GET nodes | ccs_json '"%d %d" % (sum(1 for n in d["nodes"] if n["Template"] != "login" and n["Status"] == "Off" and n.get("Fixed")), len(d["nodes"]) - 1)')" "nodes Off and Fixed"

ccs_step "create-nodes again: policy error refuses, changing nothing"
run ccs_ctl create-nodes
ccs_assert_eq 1 "$rc" "exit status"
ccs_assert_match "^ccslurmctl: create-nodes: 11 partition node\(s\) already exist in CycleCloud; use --policy allow-existing" "$err" "refusal"
ccs_assert_eq 1 "$(ccs_fake_requests create)" "create calls"

ccs_step "allow-existing: invalid nodes reported, Off ones removed, the rest made"
# Two valid nodes exist (Off), hpc-pg7-1 (no such group) is Off, htc-9
# (beyond maxCount) is running.  (A node whose MachineType is no longer
# its array's cannot be made here: the fake gives every node its array's
# first machine type, whatever the create asks.)
ccs_fake POST reset >/dev/null
cc_create '{"sets": [{"nodearray": "hpc", "count": 1, "nameFormat": "hpc-pg0-%d", "nameOffset": 1, "nodeAttributes": {"StartAutomatically": false, "Fixed": true}}, {"nodearray": "hpc", "count": 1, "nameFormat": "hpc-pg7-1", "nodeAttributes": {"StartAutomatically": false, "Fixed": true}}, {"nodearray": "htc", "count": 1, "nameFormat": "htc-9"}, {"nodearray": "htc", "count": 1, "nameFormat": "htc-1", "nodeAttributes": {"StartAutomatically": false, "Fixed": true}}]}'
ccs_fake POST reset-counters >/dev/null
run ccs_ctl create-nodes --policy allow-existing --json
ccs_assert_eq 0 "$rc" "exit status ($err)"
ccs_assert_eq "9 2 [] ['htc-9', 'hpc-pg7-1'] ['hpc-pg7-1']" \
    "$(ccs_json '"%d %d %s %s %s" % (d["created"], d["existing"], d["mismatched"], sorted(d["invalid"], reverse=True), sorted(d["removed"]))' <"$CCS_T/out")" "summary"
ccs_assert_eq "1 1" "$(ccs_fake_requests create) $(ccs_fake_requests remove)" "create and remove calls"
names=$(ccs_fake GET nodes | ccs_json '" ".join(sorted(n["Name"] for n in d["nodes"]))')
ccs_assert_match "htc-9" "$names" "running invalid node kept"
ccs_assert_match "hpc-pg0-1 " "$names" "existing valid node kept"
if printf '%s' "$names" | grep -q 'hpc-pg7-1'; then ccs_fail "Off invalid node not removed: $names"; fi
ccs_assert_eq 11 "$(ccs_fake GET nodes | ccs_json 'sum(1 for n in d["nodes"] if n["Template"] != "login") - 1')" "partition nodes (11 + htc-9)"

ccs_step "a create-nodes whose requester leaves: the daemon carries on"
ccs_fake POST faults '{"kind": "latency", "seconds": 1.5, "endpoint": "status", "count": 1}' >/dev/null
seen=$(grep -c "create-nodes (policy error, dry run)" "$CCS_T/daemon.log" || true)
"$CCSLURMCTL" -s "$CCS_SOCKET" create-nodes --dry-run >/dev/null 2>&1 &
impatient=$!
ccs_wait_for 20 "the daemon to take the request" sh -c \
    "[ \$(grep -c 'create-nodes (policy error, dry run)' '$CCS_T/daemon.log') -gt $seen ]"
kill -TERM "$impatient"
wait "$impatient" || true
ccs_wait_for 10 "the daemon to notice" ccs_daemon_log_has "create-nodes: the requester went away"
# The next one waits for the first to finish (one at a time), then works.
ccs_wait_for 10 "a second create-nodes to run" \
    sh -c "'$CCSLURMCTL' -s '$CCS_SOCKET' create-nodes --dry-run --policy allow-existing"
ccs_ctl ping >/dev/null

ccs_step "create-nodes refuses a bad policy as a usage error"
run ccs_ctl create-nodes --policy sometimes
ccs_assert_eq 2 "$rc" "exit status"

# --------------------------------------------------------------------- check
ccs_step "check against the running daemon: socket, ping and CycleCloud are ok"
run ccs_ctl check --slurm-conf "$CCS_T/slurm/cyclecloud.conf" --json
ccs_assert_eq "ok ok ok" "$(ccs_json '" ".join([f["severity"] for f in d["findings"] if f["check"] == c][0] for c in ("socket", "ccslurmd", "CycleCloud"))' <"$CCS_T/out")" "daemon findings"
no_password "$CCS_T/daemon.log" "$CCS_T/fake.log"

ccs_stop_daemon
