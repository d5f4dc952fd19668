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
: > build-valgrind/valgrind-slow.txt

run_one() { # FILE...: runs the command under valgrind, records what valgrind finds
	local out="build-valgrind/vg.$$.$RANDOM.out" rc=0
	$VG "$@" > "$out" 2>&1 || rc=$?
	# 99: valgrind's own verdict (invalid access, uninitialised value, leak). Any other
	# failure is the test's: under valgrind a TLS handshake can outlast the fake server's
	# 5 s wait on a loaded machine; the ASan run already judged the behaviour.
	if [ "$rc" -eq 99 ] || grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$out"; then
		echo "$*" >> build-valgrind/valgrind-failures.txt
	elif [ "$rc" -ne 0 ]; then
		echo "$*" >> build-valgrind/valgrind-slow.txt
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
	grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' build-valgrind/vg.*.out | head -3 |
		xargs -r tail -40 >&2
	exit 1
fi
if [ -s build-valgrind/valgrind-slow.txt ]; then
	echo "valgrind: these failed for another reason than memory (timing under valgrind):"
	cat build-valgrind/valgrind-slow.txt
fi
echo "valgrind: $((n_units + n_cases)) programs, 0 errors, 0 leaks"
