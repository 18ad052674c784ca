#!/usr/bin/env bash
# mbxstore set-up for a fresh Debian 12 machine: installs what is missing, builds, and then
#   tools/setup.sh test   builds with ASan+UBSan (clang, warnings as errors, libFuzzer
#                         harnesses) and runs every test: unit, program, integration, fuzz smoke
#   tools/setup.sh run    builds (release) and runs the daemon in the foreground on the sample
#                         directory (conf/directory.ldif, copied to build/run/), printing the URL;
#                         MBX_PORT chooses the HTTPS port (default 8443)
#   tools/setup.sh build  only installs and builds (release build in build/release)
# README.md gives these commands; .ci/run calls `tools/setup.sh test` and nothing else.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-test}
jobs=$(nproc 2>/dev/null || echo 2)

# Every Debian package the build, the tests and the tools need.
packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev llvm
	libevent-dev libssl-dev libldap-dev libcmocka-dev libinih-dev libxml2-dev
	libcurl4-openssl-dev slapd ldap-utils python3-exchangelib openssl curl
)

install_missing() {
	local missing=() p
	for p in "${packages[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	# slapd must not ask for an admin password; its own service is not used by the tests.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

build_release() {
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMBX_WERROR=ON >/dev/null
	cmake --build build/release -j "$jobs"
}

build_test() {
	# gcc with warnings as errors (what most users build with), compile only ...
	build_release
	# ... then the suite under clang with ASan+UBSan and the fuzzers.
	CC=clang cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMBX_WERROR=ON -DMBX_SANITIZE=ON -DMBX_FUZZ=ON \
		-DMBX_SHARED_DIR="$top/../shared" >/dev/null
	cmake --build build/test -j "$jobs"
}

# The daemon on the embedded default directory: a config generated from the sample one, on
# loopback, with a self-signed certificate made on first start.
run_daemon() {
	local run=$top/build/run port=${MBX_PORT:-8443}
	mkdir -p "$run"
	[ -f "$run/directory.ldif" ] || cp conf/directory.ldif "$run/directory.ldif"
	{
		echo "[server]"
		grep -E '^(name|legacy_dn|ldap_dn) = ' conf/mbxstored.conf
		echo "state_dir = $run/state"
		echo "[listen]"
		echo "https = 127.0.0.1:$port"
		echo "metrics = 127.0.0.1:$((port + 1))"
		echo "control_socket = $run/control.sock"
		echo "[directory]"
		echo "ldif_path = $run/directory.ldif"
		echo "[servers]"
		echo "SERVER1 = https://127.0.0.1:$port"
		echo "[log]"
		echo "target = stderr"
	} >"$run/mbxstored.conf"
	build/release/mbxstored -n -c "$run/mbxstored.conf"
	echo "mbxstored: MAPI/HTTP at https://127.0.0.1:$port/mapi/emsmdb/"
	echo "  self-signed certificate: $run/state/ (curl -k, or --cacert with it)"
	echo "  metrics: http://127.0.0.1:$((port + 1))/metrics; test accounts: README.md; Ctrl-C stops"
	echo "  administration: build/release/mbxctl -s $run/control.sock mailbox show alice@contoso.com"
	exec build/release/mbxstored -f -c "$run/mbxstored.conf"
}

case "$mode" in
test)
	install_missing
	build_test
	cd build/test
	ctest --output-on-failure -j "$jobs"
	;;
build)
	install_missing
	build_release
	;;
run)
	install_missing
	build_release
	run_daemon
	;;
*)
	echo "usage: tools/setup.sh test|run|build" >&2
	exit 2
	;;
esac
