#!/usr/bin/env bash
# The unit and scenario tests under valgrind (memcheck): no invalid read or write, no use of
# uninitialised memory, no leak. A build without sanitizers (valgrind and ASan do not mix).
#   scripts/valgrind.sh            every unit test and the scenario cases (see below)
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug -DSMTPC_SANITIZE=OFF > build-valgrind.log 2>&1 ||
	{ cat build-valgrind.log; exit 1; }
cmake --build build-valgrind -j"$(nproc)" >> build-valgrind.log 2>&1 || { tail -40 build-valgrind.log; exit 1; }

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --track-origins=yes)
export VG="${vg[*]}"
log=build-valgrind/valgrind-failures.txt
: > "$log"

run_one() { # FILE...: runs the command under valgrind, records failures
	if ! $VG "$@" > "build-valgrind/vg.$$.$RANDOM.out" 2>&1; then
		echo "$*" >> build-valgrind/valgrind-failures.txt
	fi
}
export -f run_one

units=$(find build-valgrind/tests/unit -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort)
# Cases that make TLS certificates take ~7 s each under valgrind: the plaintext cases all run,
# and one TLS case in five (ASan covers every one of them in the main run).
plain=$(grep -L -E '^(tls:|TLS)|implicit_tls|starttls' tests/scenario/cases/*.case)
tls=$(grep -l -E '^(tls:|TLS)|implicit_tls|starttls' tests/scenario/cases/*.case | awk 'NR % 5 == 1')
cases=$(printf '%s\n%s\n' "$plain" "$tls" | sed '/^$/d')
n_units=$(echo "$units" | wc -l)
n_cases=$(echo "$cases" | wc -l)
echo "valgrind: $n_units unit test programs, $n_cases scenario cases"
echo "$units" | xargs -P"$(nproc)" -I{} bash -c 'run_one "$@"' _ {}
echo "$cases" | xargs -P"$(nproc)" -I{} bash -c 'run_one build-valgrind/tests/scenario/scenario-runner "$@"' _ {}
if [ -s "$log" ]; then
	echo "valgrind found errors in:" >&2
	cat "$log" >&2
	for f in build-valgrind/vg.*.out; do grep -l "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]" "$f" 2> /dev/null; done | head -3 | xargs -r tail -40 >&2
	exit 1
fi
echo "valgrind: $((n_units + n_cases)) programs, 0 errors, 0 leaks"
