#!/bin/bash
# bench/parse_bench.sh [NODES]: parsing a `status?nodes=true` answer of
# NODES (default 50,000) pre-created nodes with ~2 KB Configurations: the
# daemon's parser (the whole answer into one json-c tree) against the
# element-by-element prototype docs/performance.md proposes
# (build/bench/status_parse_bench; one process a mode, for its VmHWM).
#
#   CCS_BUILD_DIR=build bench/parse_bench.sh 50000
set -euo pipefail
# shellcheck source=bench/benchlib.sh
. "$(cd "$(dirname "$0")" && pwd)/benchlib.sh"

nodes=${1:-50000}
if ! [ "$nodes" -ge 4 ] 2>/dev/null; then
	echo "usage: parse_bench.sh [NODES>=4]" >&2
	exit 2
fi
PARSE_BENCH=$CCS_BUILD_DIR/bench/status_parse_bench
[ -x "$PARSE_BENCH" ] || { echo "$PARSE_BENCH not built" >&2; exit 1; }

ccs_init
bench_arrays "$CCS_T/arrays.json" "$nodes" 4 precreate
ccs_start_fake "$CCS_T/arrays.json"
# The credential goes to curl on stdin, never on its command line.
curl -sf -o "$CCS_T/status.json" --cacert "$CCS_CA" -K - <<CFG
user = "$CCS_USER:$(cat "$CCS_T/password")"
url = "$CCS_FAKE_URL/clusters/$CCS_CLUSTER/status?nodes=true"
CFG
printf 'parse: status?nodes=true of %d nodes, %d bytes\n' "$nodes" \
    "$(stat -c %s "$CCS_T/status.json")"
for mode in tree stream stream-skip; do
	out=$("$PARSE_BENCH" "$mode" "$CCS_T/status.json")
	printf '%s\n' "$out"
	ccs_assert_match "^ +$mode +$nodes nodes " "$out" "nodes found by $mode"
done
