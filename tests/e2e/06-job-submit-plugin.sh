#!/bin/bash
# 06-job-submit-plugin.sh: job_submit/cyclecloud in a real slurmctld, with
# the Slurm configuration written by common/slurmgen.c.
#
# No slurmd and no ccslurmd: the ResumeProgram does nothing, so cloud jobs
# stay pending/configuring and we only look at what slurmctld made of them.
#   - generate cyclecloud.conf, topology.conf (beside the site's own
#     switch), gres.conf and cyclecloud-hpc-partitions with the real
#     generator (a small C driver linked against libccslurm_common.a);
#   - slurmctld loads them with TopologyPlugin=topology/tree and
#     JobSubmitPlugins=job_submit/cyclecloud from the build tree;
#   - HPC job -> Switches=1; a job with no partition (HPC is the default)
#     -> Switches=1; --switches=2 kept; --network=sn_single untouched;
#     HTC, on-prem and "hpc,onprem" jobs untouched;
#   - scontrol show partition / topology / node list what was generated.
# e2e-timeout: 180
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build=${CCS_BUILD_DIR:-$E2E_LIB_DIR/../../build}
src=${CCS_SOURCE_DIR:-$E2E_LIB_DIR/../..}
plugin=$build/plugin/job_submit_cyclecloud.so
lib=$build/common/libccslurm_common.a

e2e_init
[[ -f $plugin ]] || e2e_fail "$plugin not built (cmake --build: target job_submit_cyclecloud)"
[[ -f $lib ]] || e2e_fail "$lib not built (target ccslurm_common)"
etc=$CCS_E2E_DIR/etc

e2e_step "generate the Slurm configuration with common/slurmgen.c"
# The site's own topology.conf, which generation must keep.
printf '%s\n' '# the site: on-premises switch' 'SwitchName=onprem Nodes=onprem1' \
	>"$etc/topology.conf"
cat >"$CCS_E2E_DIR/gen.c" <<'EOF'
/* Drive ccs_slurmgen() for 06-job-submit-plugin.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "slurmgen.h"
#include "xmalloc.h"

int
main(int argc, char **argv)
{
	struct ccs_nodearray a[2];
	struct ccs_gen_result *r;
	char *cause, *js;
	json_object *j;

	/* HPC: 5 nodes, 2 per placement group -> 3 groups; the default. */
	ccs_nodearray_init(&a[0]);
	a[0].name = xstrdup("hpc");
	a[0].machine_type = xstrdup("Standard_HB120rs_v3");
	a[0].vcpu = a[0].pcpu = 120;
	a[0].memory_gb = 448;
	a[0].max_count = 5;
	a[0].max_scaleset_size = 2;
	a[0].autoscale = a[0].default_partition = true;
	/* HTC: hyperthreaded, CPUs = cores. */
	ccs_nodearray_init(&a[1]);
	a[1].name = xstrdup("htc");
	a[1].machine_type = xstrdup("Standard_F2s_v2");
	a[1].vcpu = 2;
	a[1].pcpu = 1;
	a[1].memory_gb = 4;
	a[1].max_count = 3;
	a[1].hpc = false;
	a[1].autoscale = true;
	if (argc != 2 || ccs_slurmgen(argv[1], a, 2, 0, time(NULL), &r,
	    &cause) != 0) {
		fprintf(stderr, "gen: %s\n", argc != 2 ? "usage" : cause);
		return 1;
	}
	j = ccs_gen_result_json(r, false);
	js = xstrdup(json_object_to_json_string(j));
	puts(js);
	free(js);
	json_object_put(j);
	ccs_gen_result_free(r);
	ccs_nodearray_clear(&a[0]);
	ccs_nodearray_clear(&a[1]);
	return 0;
}
EOF
gcc -std=c11 -D_GNU_SOURCE -I"$src/common" -I"$build/gen" \
	$(pkg-config --cflags json-c) -o "$CCS_E2E_DIR/bin/gen" \
	"$CCS_E2E_DIR/gen.c" "$lib" $(pkg-config --libs json-c yaml-0.1) -lm
"$CCS_E2E_DIR/bin/gen" "$etc" >"$CCS_E2E_DIR/out/gen.json"
e2e_log "plan: $(cat "$CCS_E2E_DIR/out/gen.json")"
grep -q '"node_set_changed": *true' "$CCS_E2E_DIR/out/gen.json" ||
	e2e_fail "first generation did not report a changed node set"
grep -qx 'hpc\*' "$etc/cyclecloud-hpc-partitions" ||
	e2e_fail "cyclecloud-hpc-partitions lacks hpc*: $(cat "$etc/cyclecloud-hpc-partitions")"
grep -qx 'SwitchName=onprem Nodes=onprem1' "$etc/topology.conf" ||
	e2e_fail "the site's switch was lost from topology.conf"
ls "$etc"/topology.conf.* >/dev/null ||
	e2e_fail "no dated backup of the site's topology.conf"

e2e_step "slurmctld with topology/tree and job_submit/cyclecloud"
e2e_bridge_up
e2e_munge_start
E2E_RESUME_PROGRAM=/bin/true
E2E_SUSPEND_PROGRAM=/bin/true
E2E_RESUME_TIMEOUT=600
# slurmctld inherits this: the plugin re-reads its list at every job
# (sites get a 10 s re-check interval).
export CCSLURM_PLUGIN_RECHECK_SECONDS=0
E2E_TOPOLOGY_PLUGIN=topology/tree
E2E_JOB_SUBMIT_PLUGINS=job_submit/cyclecloud
E2E_PLUGIN_DIR=$(dirname "$plugin")
E2E_INCLUDE=$etc/cyclecloud.conf
# An on-prem node and partition: never started, only submitted to.
E2E_SLURM_EXTRA="NodeName=onprem1 NodeAddr=127.0.0.1 CPUs=1 RealMemory=100 State=UNKNOWN
PartitionName=onprem Nodes=onprem1 State=UP"
e2e_slurm_conf
e2e_slurmctld_start
grep -q 'job_submit/cyclecloud: 1 cloud HPC partition(s) from' \
	"$CCS_E2E_DIR/log/slurmctld.log" ||
	e2e_fail "the plugin did not log loading the partition list"

e2e_step "scontrol shows the generated partitions, nodes and switches"
part=$(scontrol -o show partition hpc)
[[ $part == *" Nodes=hpc-pg0-[1-2],hpc-pg1-[1-2],hpc-pg2-1 "* ]] ||
	e2e_fail "partition hpc: $part"
[[ $part == *" Default=YES "* ]] || e2e_fail "hpc is not the default: $part"
part=$(scontrol -o show partition htc)
[[ $part == *" Nodes=htc-[1-3] "* ]] || e2e_fail "partition htc: $part"
topo=$(scontrol show topology)
e2e_log "topology: $(tr '\n' ';' <<<"$topo")"
for want in "SwitchName=hpc-Standard_HB120rs_v3-pg0 .*Nodes=hpc-pg0-\[1-2\]" \
	"SwitchName=hpc-Standard_HB120rs_v3-pg2 .*Nodes=hpc-pg2-1" \
	"SwitchName=htc .*Nodes=htc-\[1-3\]" "SwitchName=onprem .*Nodes=onprem1"; do
	grep -Eq "$want" <<<"$topo" || e2e_fail "scontrol show topology lacks /$want/"
done
node=$(scontrol -o show node htc-1)
[[ $node == *" CPUTot=1 "* && $node == *" ThreadsPerCore=2 "* &&
	$node == *" RealMemory=3072 "* ]] || e2e_fail "node htc-1: $node"
node=$(scontrol -o show node hpc-pg1-2)
[[ $node == *" CPUTot=120 "* && $node == *" RealMemory=435814 "* ]] ||
	e2e_fail "node hpc-pg1-2: $node"

submit()
{
	sbatch --parsable -o /dev/null "$@" --wrap 'sleep 600'
}
switches()
{
	# scontrol -o prints Switches=N[@wait] only when the job asked for some.
	scontrol -o show job "$1" | grep -o ' Switches=[0-9]*' | cut -d= -f2 || true
}
check()
{
	local job=$1 want=$2 desc=$3 got
	got=$(switches "$job")
	[[ $got == "$want" ]] ||
		e2e_fail "$desc (job $job): Switches='$got', want '$want';" \
			"$(scontrol -o show job "$job")"
	e2e_log "ok: $desc: Switches='${got}'"
}

# The same cases for the C plugin and for etc/job_submit.lua.
run_jobs()
{
	local j_hpc j_dflt j_sw2 j_sn j_htc j_onprem j_both j_htc2 j st
	j_hpc=$(submit -p hpc -N 2)
	j_dflt=$(submit -N 1)
	j_sw2=$(submit -p hpc -N 2 --switches=2)
	j_sn=$(submit -p hpc -N 1 --network=sn_single)
	j_htc=$(submit -p htc -N 1)
	j_onprem=$(submit -p onprem -N 1)
	j_both=$(submit -p hpc,onprem -N 1)
	jobs=("$j_hpc" "$j_dflt" "$j_sw2" "$j_sn" "$j_htc" "$j_onprem" "$j_both")
	e2e_log "jobs ${jobs[*]}"
	check "$j_hpc" 1 "HPC partition"
	check "$j_dflt" 1 "no partition (default hpc)"
	check "$j_sw2" 2 "--switches=2 kept"
	check "$j_sn" "" "--network=sn_single untouched"
	check "$j_htc" "" "HTC partition untouched"
	check "$j_onprem" "" "on-prem partition untouched"
	check "$j_both" "" "hpc,onprem untouched"
	# Cloud jobs wait for their (never booting) nodes, not on an error.
	for j in "$j_hpc" "$j_htc"; do
		st=$(e2e_job_state "$j")
		[[ $st == PENDING || $st == CONFIGURING ]] ||
			e2e_fail "job $j is $st: $(scontrol -o show job "$j")"
	done

	# A changed partition list takes effect without a restart.
	printf 'htc\n' >"$etc/cyclecloud-hpc-partitions.new"
	mv "$etc/cyclecloud-hpc-partitions.new" "$etc/cyclecloud-hpc-partitions"
	j_htc2=$(submit -p htc -N 1)
	jobs+=("$j_htc2")
	check "$j_htc2" 1 "htc after the list changed"

	scancel "${jobs[@]}"
	e2e_wait_for 30 "all jobs gone or cancelled" \
		bash -c '! squeue -h -t PD,CF,R | grep -q .'
}

e2e_step "jobs under job_submit/cyclecloud: which ones get Switches=1"
run_jobs

e2e_step "the same with etc/job_submit.lua (JobSubmitPlugins=lua)"
e2e_slurmctld_stop
# Regenerating restores the list the previous step replaced.
"$CCS_E2E_DIR/bin/gen" "$etc" >"$CCS_E2E_DIR/out/gen2.json"
grep -q '"node_set_changed": *false' "$CCS_E2E_DIR/out/gen2.json" ||
	e2e_fail "regeneration reported a changed node set: $(cat "$CCS_E2E_DIR/out/gen2.json")"
grep -qx 'hpc\*' "$etc/cyclecloud-hpc-partitions" ||
	e2e_fail "regeneration did not restore cyclecloud-hpc-partitions"
cp "$src/etc/job_submit.lua" "$etc/job_submit.lua"
E2E_JOB_SUBMIT_PLUGINS=lua
e2e_slurm_conf
e2e_slurmctld_start
run_jobs
e2e_log "PASS"
