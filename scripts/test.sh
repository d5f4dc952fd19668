#!/usr/bin/env bash
# Runs every test: static checks (scripts/lint.sh); unit (cmocka), scenario (fake server
# transcripts, lock-step and pipelined, and the fault-injection matrix), fuzz corpus replay,
# the CLI, the bundled sink, and interop against real Postfix, Dovecot, aiosmtpd and Exim
# started on loopback, all built with AddressSanitizer + UBSan; then the Release builds with
# GCC and Clang, installed and built against (tests/install/consumer.sh), the Debian packages
# (tests/install/deb.sh), valgrind over the unit and scenario tests, and every fuzzer for
# SMTPC_FUZZ_SECONDS (default 20) seconds.
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh test

bash scripts/lint.sh

echo "== build (ASan + UBSan, warnings are errors)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DSMTPC_SANITIZE=ON -DSMTPC_WERROR=ON > build-test.log 2>&1 ||
	{ cat build-test.log; exit 1; }
cmake --build build-test -j"$(nproc)" >> build-test.log 2>&1 || { tail -50 build-test.log; exit 1; }

echo "== tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-test --output-on-failure -j2 "$@"

# The whole run only (not when a subset was asked for): the release builds and what they
# install, the man pages and the shell completion, valgrind and the fuzzers.
if [ $# -eq 0 ]; then
	bash scripts/release-builds.sh
	for cc in gcc clang; do
		echo "== the $cc install: SONAME, CMake package, pkg-config, the README's example"
		CC=$cc bash tests/install/consumer.sh "build-release-$cc-prefix" "build-release-$cc"
	done
	echo "== the Debian packages: build, lintian, contents, the extracted files against the sink"
	bash tests/install/deb.sh
	echo "== man pages and shell completion"
	bash scripts/man-check.sh
	echo "== valgrind (unit and scenario tests)"
	bash scripts/valgrind.sh
	echo "== fuzzers (${SMTPC_FUZZ_SECONDS:-20} s each)"
	bash scripts/fuzz.sh "${SMTPC_FUZZ_SECONDS:-20}"
fi
