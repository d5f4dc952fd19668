#!/usr/bin/env bash
# Static checks (CI runs them from scripts/test.sh): formatting, banned string functions in
# src/, cppcheck on every C file, clang-tidy (.clang-tidy) on the library.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
echo "== clang-format"
files=$(git ls-files 'include/*.h' 'src/*.c' 'src/*.h' 'cli/*.c' 'cli/*.h' 'tools/*.c' 'tools/*.h')
clang-format --dry-run --Werror $files || fail=1

echo "== banned functions in src/ (unbounded or unchecked: snprintf, memcpy with a length, strtol)"
# Whole words followed by "(": sprintf, strcpy, strcat, strncpy, strtok, sscanf, atoi, gets.
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|sscanf|atoi|gets)[[:space:]]*\(' \
	src/*.c src/*.h include/*.h; then
	echo "banned functions used in the library" >&2
	fail=1
fi

echo "== cppcheck"
cppcheck --quiet --enable=warning,portability,performance --std=c11 --error-exitcode=1 \
	--inline-suppr -I include -I src src/ cli/ tools/ || fail=1

echo "== clang-tidy (src/)"
cmake -S . -B build-lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DSMTPC_TESTS=OFF > /dev/null
clang-tidy -p build-lint --quiet src/*.c 2> /dev/null || fail=1

exit $fail
