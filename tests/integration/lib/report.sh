#!/usr/bin/env bash
# report.sh: the PASS/FAIL lines and counters every integration test prints (sourced).
# After sourcing: pass TEXT, fail TEXT; $npass and $nfail count them for the closing
# "<test>: N passed, N failed" line each script prints itself.

npass=0
nfail=0
pass() {
	npass=$((npass + 1))
	echo "PASS: $*"
}
fail() {
	nfail=$((nfail + 1))
	echo "FAIL: $*"
}
