#!/usr/bin/env bash
# Runs every test: unit (cmocka), scenario (fake server transcripts), the
# bundled sink, and interop against real Postfix, Dovecot LMTP and aiosmtpd
# started on loopback. The build uses AddressSanitizer + UBSan.
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
