#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and runs
# each one for SECONDS (default 30) on a copy of its committed corpus.
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_TARGETS="reply caps" scripts/fuzz.sh 600     some targets only
# Prints per target the executions, exec/s and libFuzzer's result line.
# Exits 1 when any target crashes, leaks, times out or reports a sanitizer
# error; the input is then saved in build-fuzz/run/<target>/ (crash-*,
# leak-*, timeout-*), the log next to it. fuzz/README.md has the details.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-30}
case "$secs" in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac
targets=${FUZZ_TARGETS:-reply caps address addrlist message dataenc base64 sasl session dkim mime}
build=$root/build-fuzz
run=$build/run

# ---------------------------------------------------------------- tools
# clang and its libFuzzer runtime (libclang-rt-14-dev on Debian 12); CMake and
# OpenSSL for the library. Installed only when missing (needs root).
probe() {
	command -v clang > /dev/null 2>&1 || return 1
	command -v cmake > /dev/null 2>&1 || return 1
	command -v make > /dev/null 2>&1 || return 1
	local tmp
	tmp=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		> "$tmp/p.c"
	clang -fsanitize=fuzzer,address,undefined "$tmp/p.c" -o "$tmp/p" > /dev/null 2>&1 ||
		{ rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	[ -e /usr/include/openssl/ssl.h ] || return 1
}
if ! probe; then
	want=()
	for p in clang libclang-rt-14-dev cmake make pkg-config libssl-dev; do
		dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' ||
			want+=("$p")
	done
	if [ ${#want[@]} -gt 0 ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "fuzz: missing packages: ${want[*]}; run as root (or: sudo $0 $*)" >&2
			exit 1
		fi
		echo "fuzz: installing ${want[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y "${want[@]}" > /tmp/smtpc-fuzz-apt.log 2>&1; then
			apt-get update > /dev/null 2>&1 || true
			apt-get install -y "${want[@]}" > /tmp/smtpc-fuzz-apt.log 2>&1 ||
				{ tail -20 /tmp/smtpc-fuzz-apt.log >&2; exit 1; }
		fi
	fi
	probe || { echo "fuzz: clang cannot build a libFuzzer program" >&2; exit 1; }
fi

# ---------------------------------------------------------------- build
echo "== build (clang, libFuzzer + ASan + UBSan) in build-fuzz"
mkdir -p "$build"
CC=clang cmake -S . -B "$build" -DSMTPC_FUZZ=ON -DSMTPC_TESTS=OFF > "$build/fuzz-build.log" 2>&1 ||
	{ cat "$build/fuzz-build.log"; exit 1; }
# Only the fuzzers: nothing else of the tree needs to build with clang here.
cmake --build "$build" -j"$(nproc)" --target fuzzers >> "$build/fuzz-build.log" 2>&1 ||
	{ tail -50 "$build/fuzz-build.log"; exit 1; }

# ---------------------------------------------------------------- run
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== fuzzing ${secs}s per target"
printf '%-9s %12s %9s  %s\n' target executions exec/s result
failed=()
start=$(date +%s)
for t in $targets; do
	bin=$build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: no such target: $t" >&2; exit 2; }
	dir=$run/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus"
	# A copy: what the fuzzer finds never grows the committed corpus.
	cp fuzz/corpus/"$t"/* "$dir/corpus/"
	rc=0
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$dir/" "$dir/corpus" > "$dir/log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	result=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -1 || true)
	if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken' "$dir/log"; then
		result=$(grep -E 'ERROR: |runtime error:|invariant broken|SUMMARY: ' "$dir/log" | head -2 | tr '\n' ' ')
		result="FAILED (exit $rc): ${result:-see $dir/log}"
		failed+=("$t")
	fi
	printf '%-9s %12s %9s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "$result"
done
echo "== $(($(date +%s) - start))s of fuzzing; logs and artifacts in build-fuzz/run/<target>/"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	ls "$run"/*/crash-* "$run"/*/leak-* "$run"/*/timeout-* "$run"/*/oom-* 2> /dev/null >&2 || true
	exit 1
fi
echo "fuzz: no crash, leak or sanitizer report"
