#!/usr/bin/env bash
# Long fuzzing campaigns (docs/fuzzing.md). Builds the libFuzzer harnesses with ASan+UBSan in
# build/fuzz and runs one of them until it has done RUNS executions or SECONDS have passed,
# whichever comes first, on a working corpus in build/fuzz/corpus/<name> seeded from
# tests/fuzz/corpus/<name>. Crashes are written to build/fuzz/artifacts/<name>/.
#   tools/fuzz.sh list
#   tools/fuzz.sh run NAME [RUNS [SECONDS]]        e.g. tools/fuzz.sh run fuzz-rhe 10000000
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=build/fuzz

configure() {
	CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMBX_FUZZ=ON \
		-DMBX_SANITIZE=ON >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
}

case "${1:-}" in
list)
	ls tests/fuzz/fuzz-*.c | xargs -n1 basename | sed 's/\.c$//'
	;;
run)
	name=${2:?harness name}
	runs=${3:-10000000}
	seconds=${4:-0}
	configure
	corpus="$build/corpus/$name"
	artifacts="$build/artifacts/$name"
	mkdir -p "$corpus" "$artifacts"
	[ -d "tests/fuzz/corpus/$name" ] && cp -rn "tests/fuzz/corpus/$name"/. "$corpus/"
	args=(-runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$artifacts/")
	[ "$seconds" -gt 0 ] && args+=(-max_total_time="$seconds")
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	exec "$build/$name" "${args[@]}" "$corpus"
	;;
*)
	echo "usage: tools/fuzz.sh list | run NAME [RUNS [SECONDS]]" >&2
	exit 2
	;;
esac
