#!/bin/bash
# cluster-init of ccslurmd's execute nodes: make this VM a slurmd of the
# on-premises cluster (docs/burst-setup.md, "The VM side").
#  1. munge with the controller's key, from /sched (readable by munge only);
#  2. slurmd of the controller's Slurm version (slurm.version);
#  3. slurm.conf from /sched, or configless (ccslurmd.conf_server);
#  4. slurmd started as this node's Slurm name (-N), which CycleCloud
#     gives the VM as its node name.
# A step that cannot be done stops the boot with a clear message: a VM that
# joins half-configured is worse than one that fails (ccslurmd then sets the
# node POWER_DOWN_FORCE and Slurm requeues its jobs).
set -euo pipefail

die() { echo "ccslurmd cluster-init: $*" >&2; exit 1; }
cfg() { jetpack config "$1" "${2-}"; }

node=$(cfg cyclecloud.node.name)
want=$(cfg slurm.version)
server=$(cfg ccslurmd.conf_server "")
[ -n "$node" ] || die "no node name from jetpack"
[ -n "$want" ] || die "slurm.version is not set in the cluster"
mountpoint -q /sched || die "/sched is not mounted (cyclecloud.mounts.sched)"

# Distribution packages of exactly that version; a site with its own Slurm
# build puts them in a repository the VM can reach.
if command -v dnf >/dev/null 2>&1; then
	dnf -y install munge "slurm-slurmd-${want}*" ||
		die "cannot install slurm-slurmd ${want}"
	sysconf=/etc/sysconfig/slurmd
elif command -v apt-get >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y munge \
		"slurmd=${want}*" || die "cannot install slurmd ${want}"
	sysconf=/etc/default/slurmd
else
	die "neither dnf nor apt-get: install slurmd ${want} in the image"
fi
have=$(slurmd -V | awk '{ print $2 }')
[ "$have" = "$want" ] || die "slurmd is $have, the controller is $want"

[ -f /sched/munge.key ] || die "/sched/munge.key is missing"
install -m 0400 -o munge -g munge /sched/munge.key /etc/munge/munge.key
systemctl enable --now munge

opts="-N $node"
if [ -n "$server" ]; then
	opts="$opts --conf-server $server"
else
	[ -f /sched/slurm.conf ] || die "/sched/slurm.conf is missing"
	mkdir -p /etc/slurm
	for f in slurm.conf cyclecloud.conf topology.conf gres.conf cgroup.conf; do
		[ -f "/sched/$f" ] && ln -sfn "/sched/$f" "/etc/slurm/$f"
	done
fi
echo "SLURMD_OPTIONS=\"$opts\"" >"$sysconf"
systemctl enable slurmd
systemctl restart slurmd
