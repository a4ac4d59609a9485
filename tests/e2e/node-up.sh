#!/bin/bash
# node-up.sh [NODE [IP]]: bring one fake cloud VM up for an e2e run: a network
# namespace on the run's bridge with a real slurmd in it (see lib.sh,
# e2e_node_up).  NODE and IP come from the arguments or, as the fake
# CycleCloud's --on-ready hook passes them, from CC_NODE_NAME / CC_NODE_IP.
# Without an IP the node gets its stable address for the run.  The run is
# found through CCS_E2E_DIR.  Quick and idempotent.
set -euo pipefail

# slurmctld's programs run with stdout and stderr closed; writing to them
# would fail, so send our messages to the run's log instead.
# (Test with /proc: any redirection to probe them would itself take fd 1.)
if [[ ! -e /proc/$$/fd/1 || ! -e /proc/$$/fd/2 ]]; then
	exec >>"${CCS_E2E_DIR:-/dev/null}/log/hooks.log" 2>&1 ||
		exec >/dev/null 2>&1
fi

. "$(dirname "$0")/lib.sh"
e2e_attach
node=${1:-${CC_NODE_NAME:-}}
ip=${2:-${CC_NODE_IP:-}}
if [[ -z $node ]]; then
	echo "usage: node-up.sh NODE [IP] (or CC_NODE_NAME, CC_NODE_IP)" >&2
	exit 2
fi
e2e_node_up "$node" "$ip"
