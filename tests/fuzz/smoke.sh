#!/usr/bin/env bash
# Smoke run of one libFuzzer harness for the test suite: a few seconds on a temporary copy of
# its seed corpus (the checkout is never written). Usage: smoke.sh FUZZER CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -d "$corpus" ]; then cp -r "$corpus"/. "$work/corpus/"; fi
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	corpus 2>&1 | tail -n 20
