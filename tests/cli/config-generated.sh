#!/usr/bin/env bash
# config-generated.sh: the sample configuration conf/mbxstored.conf and the manual
# docs/man/mbxstored.conf.5 are what `mbxconfgen sample` and `mbxconfgen man` print from the
# table of src/daemon/config-table.c (conventions.md "Configuration": they cannot drift).
# Also: the sample loads (`mbxconfgen check`), the manual formats without warnings (when
# groff is installed), and `mbxconfgen check` lists every error of a bad file with its line.
#
# usage: config-generated.sh BUILD_DIR   (MBX_SRCDIR: the checkout, else found from this
# script's path). To refresh the files after changing the table:
#   BUILD_DIR/mbxconfgen sample > conf/mbxstored.conf
#   BUILD_DIR/mbxconfgen man > docs/man/mbxstored.conf.5
set -euo pipefail

build=${1:?usage: config-generated.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MBX_SRCDIR:-$(cd "$here/../.." && pwd)}

gen=
for cand in "$build/mbxconfgen" "$build/tools/mbxconfgen/mbxconfgen" "$build/bin/mbxconfgen"; do
	if [[ -x $cand ]]; then
		gen=$cand
		break
	fi
done
if [[ -z $gen ]]; then
	echo "FAIL: no mbxconfgen binary under $build"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

pass() {
	count=$((count + 1))
	echo "PASS: $1"
}
fail() {
	count=$((count + 1))
	failures=$((failures + 1))
	echo "FAIL: $1"
}

# 1-2: the committed files are the generated ones
check_generated() {
	local kind=$1 file=$2
	if "$gen" "$kind" >"$tmp/$kind.out" && cmp -s "$tmp/$kind.out" "$src/$file"; then
		pass "$file is what mbxconfgen $kind prints"
	else
		fail "$file differs from mbxconfgen $kind (regenerate: $gen $kind > $file)"
		diff -u "$src/$file" "$tmp/$kind.out" | head -n 40 || true
	fi
}
check_generated sample conf/mbxstored.conf
check_generated man docs/man/mbxstored.conf.5

# 3: the sample loads as it is
if "$gen" check "$src/conf/mbxstored.conf" 2>"$tmp/check.err"; then
	pass "the sample configuration loads"
else
	fail "the sample configuration does not load: $(cat "$tmp/check.err")"
fi

# 4: the manual formats cleanly
if command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$src/docs/man/mbxstored.conf.5" 2>"$tmp/groff.err" &&
		[[ ! -s $tmp/groff.err ]]; then
		pass "mbxstored.conf.5 formats without warnings"
	else
		fail "groff warns about mbxstored.conf.5: $(head -n 5 "$tmp/groff.err")"
	fi
else
	echo "SKIP: groff not installed"
fi

# 5: every error of a file, with its line, on standard error; exit 1
cat >"$tmp/bad.conf" <<'CONF'
[server]
name = SERVER1
nmae = SERVER2
legacy_dn = /o=Contoso/cn=SERVER1
ldap_dn = cn=SERVER1,dc=contoso,dc=com
[limits]
max_contexts = 0
[sever]
CONF
rc=0
"$gen" check "$tmp/bad.conf" >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
cat >"$tmp/bad.want" <<WANT
$tmp/bad.conf:3: unknown key "nmae" in [server]; did you mean "name"?
$tmp/bad.conf:7: max_contexts: 0 is out of range (1 to 1000000)
$tmp/bad.conf:8: unknown section [sever]; did you mean [server]?
WANT
if [[ $rc -eq 1 && ! -s $tmp/bad.out ]] && cmp -s "$tmp/bad.err" "$tmp/bad.want"; then
	pass "mbxconfgen check lists every error with its line"
else
	fail "mbxconfgen check on a bad file: exit $rc, stderr:"
	cat "$tmp/bad.err"
fi

# 6: dump prints a file that loads back to the same
if "$gen" dump "$src/conf/mbxstored.conf" >"$tmp/dump.conf" &&
	"$gen" dump "$tmp/dump.conf" >"$tmp/dump2.conf" &&
	diff <(tail -n +2 "$tmp/dump.conf") <(tail -n +2 "$tmp/dump2.conf") >/dev/null; then
	pass "mbxconfgen dump round-trips"
else
	fail "mbxconfgen dump does not round-trip"
fi

echo "$((count - failures))/$count passed"
[[ $failures -eq 0 ]]
