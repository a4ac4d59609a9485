#!/bin/bash
# 40-reconcile.sh: reconciliation against Slurm's view (the recording
# scontrol plays slurmctld: its state file is what Slurm "has").
#  - Slurm has a node up with no VM behind it: POWER_DOWN_FORCE with a
#    reason;
#  - Slurm left a node down~ by "ResumeTimeout reached" and its VM is gone:
#    State=RESUME;
#  - a VM runs while Slurm has its node powered down (not powering up):
#    shut down after daemon.orphan_grace, not before;
#  - read with `scontrol show nodes -o` on a Slurm without --json (22.05),
#    and with `scontrol --json show nodes` where it exists (23.02+).
# e2e-timeout-like budget: about two minutes (orphan_grace is at least 1m).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

slurm_has() { # NAME STATE [REASON]: set what "Slurm" shows for a node
	"$CCS_PYTHON" - "$CCS_SCONTROL_STATE" "$@" <<'PY'
import fcntl, json, os, sys
path, name, state = sys.argv[1:4]
reason = sys.argv[4] if len(sys.argv) > 4 else ""
with open(path + ".lock", "a") as lk:
    fcntl.flock(lk, fcntl.LOCK_EX)
    d = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {"nodes": []}
    by = {n["name"]: n for n in d["nodes"]}
    n = by.setdefault(name, {"name": name})
    n["state"] = state
    if reason:
        n["reason"] = reason
    else:
        n.pop("reason", None)
    d["nodes"] = list(by.values())
    tmp = path + ".tmp"
    json.dump(d, open(tmp, "w"))
    os.rename(tmp, path)
PY
}
fake_status() { # NAME: the fake's Status of a node, or "absent"
	ccs_fake GET nodes | ccs_json \
	    "next((n['Status'] for n in d['nodes'] if n['Name'] == '$1'), 'absent')"
}
orphan_gone() { case $(fake_status "$1") in Off|absent|Deallocated) return 0;; esac; return 1; }

ccs_init
ccs_start_fake
ccs_write_config
sed -i 's/^  reconcile_interval: 1h$/  reconcile_interval: 10s\n  orphan_grace: 1m/' "$CCS_CONFIG"
for i in 1 2 3 4 5 6 7 8; do slurm_has "hpc-pg0-$i" IDLE+CLOUD+POWERED_DOWN; done
slurm_has hpc-pg0-1 IDLE+CLOUD
slurm_has hpc-pg0-2 DOWN+CLOUD+POWERED_DOWN+NOT_RESPONDING "ResumeTimeout reached"
ccs_start_daemon

ccs_step "a VM that Slurm will not want: resumed, then powered down in Slurm"
ccs_shim ccslurm-resume hpc-pg0-3
ccs_wait_for 30 "hpc-pg0-3 ready" ccs_all_in ready hpc-pg0-3
t_orphan=$(date +%s)
slurm_has hpc-pg0-3 IDLE+CLOUD+POWERED_DOWN

ccs_step "22.05: the text form; an up node without a VM, a ResumeTimeout leftover"
ccs_wait_for 40 "a reconciliation pass" \
    ccs_daemon_log_has 'reconcile: pass done'
ccs_daemon_log_has 'read with scontrol show nodes -o' ||
	ccs_fail "the daemon did not fall back to the text form"
ccs_wait_for 10 "POWER_DOWN_FORCE for hpc-pg0-1" ccs_scontrol_called \
    'update NodeName=hpc-pg0-1 State=POWER_DOWN_FORCE Reason=ccslurmd: no VM behind the node \(reconcile\)'
ccs_wait_for 10 "State=RESUME for hpc-pg0-2" \
    ccs_scontrol_called 'update NodeName=hpc-pg0-2 State=RESUME'
[ "$(ccs_scontrol_calls 'NodeName=hpc-pg0-[4-8] ')" = 0 ] ||
	ccs_fail "nodes Slurm has right were touched"

ccs_step "the orphan: shut down after orphan_grace, not before"
ccs_wait_for 120 "hpc-pg0-3's VM shut down" orphan_gone hpc-pg0-3
waited=$(($(date +%s) - t_orphan))
[ "$waited" -ge 60 ] || ccs_fail "the orphan went after ${waited} s, before orphan_grace"
ccs_log "orphan shut down ${waited} s after Slurm powered it down"
ccs_stop_daemon

ccs_step "23.02+: the --json form"
export CCS_SCONTROL_JSON=1
slurm_has hpc-pg0-4 IDLE+CLOUD
: >"$CCS_T/daemon.log"
ccs_start_daemon
ccs_wait_for 40 "a reconciliation pass" \
    ccs_daemon_log_has 'reconcile: pass done'
ccs_daemon_log_has 'read with scontrol --json show nodes' ||
	ccs_fail "the daemon did not use --json"
ccs_wait_for 10 "POWER_DOWN_FORCE for hpc-pg0-4" ccs_scontrol_called \
    'update NodeName=hpc-pg0-4 State=POWER_DOWN_FORCE Reason=ccslurmd: no VM behind the node \(reconcile\)'
ccs_stop_daemon
