# lib.sh - shell helpers of the smtpc command-line tests (test-cli.sh,
# test-cli-tls.sh), sourced after SMTPC, TMP and PYTHON are set.
#
#   run ARGS...                 smtpc with stdin from $STDIN (default /dev/null);
#                               RC, $TMP/out, $TMP/err
#   expect WANT DESC -- ARGS... run, check the exit status and that no sanitizer spoke
#   xfail WANT DESC ISSUE -- ARGS...  the same for a known library issue: a
#                               mismatch is reported as XFAIL, not counted as a failure
#   has FILE TEXT DESC / hasnt FILE TEXT DESC / lines FILE N DESC
#   json_check EXPR DESC        stdout is one JSON object d and EXPR holds
#   wait_file FILE              waits up to 10 s for FILE to be non-empty
#   no_secret DESC SECRET...    neither stdout nor stderr of the last run holds a SECRET
# Servers started by the tests put their PID in PIDS; cleanup kills exactly those.

# smtpc reads SMTPC_SERVER and a configuration file: never this machine's.
: >"$TMP/empty.conf"
export SMTPC_CONFIG="$TMP/empty.conf"
unset SMTPC_SERVER

cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
	PASSED=$((PASSED + 1))
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
	echo "  stdout: $(head -c 2000 "$TMP/out")"
	echo "  stderr: $(head -c 2000 "$TMP/err")"
}

# run CMD...: runs smtpc with stdin from /dev/null; sets RC, output in $TMP/out, $TMP/err.
run() {
	"$SMTPC" "$@" <"${STDIN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}

# expect WANT_EXIT DESCRIPTION -- ARGS...: runs smtpc, checks the exit status and
# that no sanitizer reported anything.
expect() {
	want=$1
	desc=$2
	shift 3
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		fail "$desc: exit $RC, expected $want"
		return 1
	fi
	if grep -q 'Sanitizer' "$TMP/err"; then
		fail "$desc: sanitizer report"
		return 1
	fi
	pass
}

# has FILE TEXT DESCRIPTION: FILE ($TMP/out or $TMP/err) holds a line starting with TEXT.
has() {
	if grep -q -F -- "$2" "$TMP/$1"; then
		pass
	else
		fail "$3: no '$2' in $1"
	fi
}

# hasnt FILE TEXT DESCRIPTION: no line of FILE holds TEXT.
hasnt() {
	if grep -q -F -- "$2" "$TMP/$1"; then
		fail "$3: '$2' in $1"
	else
		pass
	fi
}

# xfail WANT_EXIT DESCRIPTION ISSUE -- ARGS...: as expect, for a known library issue.
xfail() {
	want=$1
	desc=$2
	issue=$3
	shift 4
	run "$@"
	if [ "$RC" -eq "$want" ] && ! grep -q 'Sanitizer' "$TMP/err"; then
		echo "XPASS: $desc (fixed? $issue)"
		pass
	else
		echo "XFAIL: $desc: exit $RC, expected $want ($issue)"
	fi
}

lines() {
	n=$(wc -l <"$TMP/$1")
	if [ "$n" -eq "$2" ]; then
		pass
	else
		fail "$3: $n lines on $1, expected $2"
	fi
}

# json_check EXPR DESCRIPTION: stdout is one JSON object and the Python
# expression EXPR (over d) is true. Skipped without python3.
json_check() {
	[ -n "$PYTHON" ] || return 0
	if "$PYTHON" -c 'import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, "not one line"
d = json.loads(lines[0])
assert eval(sys.argv[2]), sys.argv[2]' "$TMP/out" "$1" 2>"$TMP/jsonerr"; then
		pass
	else
		fail "$2: JSON check $1: $(cat "$TMP/jsonerr")"
	fi
}

# wait_file FILE: waits up to 10 s for FILE to be non-empty.
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$1" ]
}


# no_secret DESCRIPTION SECRET...: the last run wrote none of the SECRETs (bytes).
no_secret() {
	desc=$1
	shift
	for secret in "$@"; do
		if LC_ALL=C grep -q -F -- "$secret" "$TMP/out" "$TMP/err"; then
			fail "$desc: a secret was written out"
			return 1
		fi
	done
	pass
}
