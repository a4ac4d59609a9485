#!/bin/bash
# tests/fuzz/run-fuzzers.sh: build the libFuzzer targets with clang and run
# each for a bounded time; any crash, leak, sanitizer report or timeout is
# kept in tests/fuzz/crashes/ and fails the run.
#
#   FUZZ_SECONDS   seconds per target (default 60; CI uses 45)
#   FUZZ_TARGETS   which targets (default: all four)
#   FUZZ_BUILD_DIR where to build (default: a fresh temporary directory,
#                  removed afterwards unless KEEP=1)
#   FUZZ_JOBS      build parallelism (default 2)
#
# The seed corpora under tests/fuzz/corpus/ are read, never written: what a
# run discovers goes to a scratch corpus in the build directory.  A crash
# becomes a regression test by being copied into the corpus (README.md).
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$src/tests/fuzz
crashdir=$fuzzdir/crashes
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-fuzz_hostlist fuzz_proto fuzz_config fuzz_cc_json fuzz_cc_stream}

case $seconds in
'' | *[!0-9]*) echo "run-fuzzers: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac
command -v clang >/dev/null || { echo "run-fuzzers: clang is needed" >&2; exit 2; }

# Input size limits, per target: beyond what a real input ever is (a hostlist
# from slurmctld, a frame header plus payload, a config file, a CycleCloud
# answer) yet small enough for libFuzzer to explore quickly.
max_len() {
	case $1 in
	fuzz_hostlist) echo 4096 ;;
	fuzz_proto) echo 16384 ;;
	fuzz_config) echo 16384 ;;
	fuzz_cc_json) echo 65536 ;;
	fuzz_cc_stream) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

# fuzz_cc_stream checks the streamed parser against the whole-answer one:
# it starts from the CycleCloud answers too.
corpus_of() {
	case $1 in
	fuzz_cc_stream) echo "$fuzzdir/corpus/cc_json" ;;
	*) echo "$fuzzdir/corpus/${1#fuzz_}" ;;
	esac
}

if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
	build=$FUZZ_BUILD_DIR
	mkdir -p "$build"
else
	build=$(mktemp -d /tmp/ccs-fuzz.XXXXXX)
	if [ "${KEEP:-0}" != 1 ]; then
		trap 'rm -rf "$build"' EXIT
	fi
fi

echo "run-fuzzers: building in $build (clang, -Werror)"
CC=clang cmake -S "$src" -B "$build" -DCCSLURMD_FUZZ=ON \
	-DCCSLURMD_WERROR=ON -DCCSLURMD_E2E=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
	{ cat "$build/configure.log" >&2; echo "run-fuzzers: configure failed" >&2; exit 1; }
# shellcheck disable=SC2086 # a list of target names
cmake --build "$build" -j"$jobs" --target $targets

mkdir -p "$crashdir"
failed=
for t in $targets; do
	work=$build/corpus-work/$t
	mkdir -p "$work"
	log=$build/$t.log
	echo "run-fuzzers: $t for ${seconds}s (max_len $(max_len "$t"))"
	start=$(date +%s)
	rc=0
	# New inputs go to $work; the seed corpus is read only.  A single
	# input taking over 10 s, or 2 GB, counts as a failure too.
	"$build/tests/fuzz/$t" "$work" "$(corpus_of "$t")" \
		-max_total_time="$seconds" -max_len="$(max_len "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashdir/$t-" >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	echo "run-fuzzers: $t: exit $rc, $((end - start))s, ${execs:-?} runs, corpus $(find "$work" -type f | wc -l) new inputs"
	if [ "$rc" -ne 0 ]; then
		echo "run-fuzzers: $t FAILED; the end of its log:" >&2
		tail -n 60 "$log" >&2
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "run-fuzzers: FAILED:$failed" >&2
	echo "run-fuzzers: reproducers in $crashdir:" >&2
	ls -l "$crashdir" >&2
	echo "run-fuzzers: see tests/fuzz/README.md to turn each into a regression test" >&2
	exit 1
fi
echo "run-fuzzers: all targets clean"
