#!/bin/bash
# node-down.sh [NODE]: take one fake cloud VM of an e2e run down: stop its
# slurmd and everything else in its namespace, delete its veth, then its
# namespace (see lib.sh, e2e_node_down).  NODE comes from the argument or, as
# the fake CycleCloud's --on-stop hook passes it, from CC_NODE_NAME.  The run
# is found through CCS_E2E_DIR.  Quick and idempotent: a node that is not up
# is left alone.
set -euo pipefail

# slurmctld's programs run with stdout and stderr closed (see node-up.sh).
# (Test with /proc: any redirection to probe them would itself take fd 1.)
if [[ ! -e /proc/$$/fd/1 || ! -e /proc/$$/fd/2 ]]; then
	exec >>"${CCS_E2E_DIR:-/dev/null}/log/hooks.log" 2>&1 ||
		exec >/dev/null 2>&1
fi

. "$(dirname "$0")/lib.sh"
e2e_attach
node=${1:-${CC_NODE_NAME:-}}
if [[ -z $node ]]; then
	echo "usage: node-down.sh NODE (or CC_NODE_NAME)" >&2
	exit 2
fi
e2e_node_down "$node"
