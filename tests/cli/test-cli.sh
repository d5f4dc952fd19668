#!/bin/sh
# test-cli.sh - end-to-end tests of the smtpc command line: usage errors, URL
# errors, output formats and exit statuses, against servers started here on
# loopback only (smtpc-sink, and tests/cli/fake-server.py when python3 exists).
#
# usage: tests/cli/test-cli.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Exit status: 0 all passed, 1 a test failed, 77 (skipped) when smtpc is missing.
set -u

SMTPC=${1:?usage: test-cli.sh SMTPC SMTPC-SINK}
SINK=${2:?usage: test-cli.sh SMTPC SMTPC-SINK}
HERE=$(cd "$(dirname "$0")" && pwd)
FAKE="$HERE/fake-server.py"
PYTHON=$(command -v python3 || true)

[ -x "$SMTPC" ] || { echo "skip: $SMTPC not built"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-cli.XXXXXX") || exit 1
PIDS=""
FAILED=0
PASSED=0

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

printf 'Subject: smtpc cli test\n\nhello\n.leading dot\n' >"$TMP/msg.txt"

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

# start_sink NAME ARGS...: starts smtpc-sink; sets PORT (0 when it did not start).
start_sink() {
	name=$1
	shift
	mkdir -p "$TMP/$name.maildir"
	"$SINK" --port-file "$TMP/$name.port" --maildir "$TMP/$name.maildir" --quiet "$@" \
		2>"$TMP/$name.log" &
	PIDS="$PIDS $!"
	PORT=0
	if wait_file "$TMP/$name.port"; then
		PORT=$(cat "$TMP/$name.port")
	fi
}

# start_fake SCENARIO ARGS...: starts fake-server.py; sets PORT.
start_fake() {
	"$PYTHON" "$FAKE" "$1" "$TMP/fake-$1.port" 2>"$TMP/fake-$1.log" &
	PIDS="$PIDS $!"
	PORT=0
	if wait_file "$TMP/fake-$1.port"; then
		PORT=$(cat "$TMP/fake-$1.port")
	fi
}

# ---------------------------------------------------------------- usage
expect 64 "no arguments" -- 
has err "usage: smtpc send" "no arguments"
expect 0 "--help" -- --help
has out "usage: smtpc send" "--help"
lines err 0 "--help"
expect 0 "send --help" -- send --help
expect 0 "--version" -- --version
has out "smtpc 0.1" "--version"
expect 64 "unknown command" -- frobnicate
expect 64 "unknown option" -- send --server smtp://127.0.0.1 --from a --to b --bogus
expect 64 "abbreviated option" -- send --serv smtp://127.0.0.1 --from a --to b
expect 64 "missing --server" -- send --from a --to b
expect 64 "missing --from" -- send --server smtp://127.0.0.1 --to b
has err "missing --from" "missing --from"
expect 64 "missing --to" -- send --server smtp://127.0.0.1 --from a
expect 64 "empty --to element" -- send --server smtp://127.0.0.1 --from a --to 'b@x,,c@x'
expect 64 "missing option value" -- send --server smtp://127.0.0.1 --from a --to
expect 64 "flag with a value" -- probe --server smtp://127.0.0.1 --json=yes
expect 64 "--to on probe" -- probe --server smtp://127.0.0.1 --to b
expect 64 "FILE on probe" -- probe --server smtp://127.0.0.1 file
expect 64 "two FILEs" -- send --server smtp://127.0.0.1 --from a --to b f1 f2
expect 64 "--server twice" -- probe --server smtp://a --server smtp://b
expect 64 "empty --helo" -- probe --server smtp://127.0.0.1 --helo ''
for t in 0 0.0 -1 abc 1e3 . '' ' 1' 5s 2147484 inf; do
	expect 64 "--timeout '$t'" -- probe --server smtp://127.0.0.1 --timeout "$t"
	lines err 1 "--timeout '$t'"
done

# ---------------------------------------------------------------- URL errors
for url in 'smtp:/x' 'smtp:x' 'host:25' 'http://x' 'smtp://' 'smtp://:25' 'smtp://x:' \
	'smtp://x:0' 'smtp://x:65536' 'smtp://x:99999999999' 'smtp://x:2a' 'smtp://x:-1' \
	'smtp://user@x' 'smtp://user:pw@x:25' 'smtp://x/path' 'smtp://x?q' 'smtp://x#f' \
	'smtp://::1' 'smtp://[::1' 'smtp://[::1]x' 'smtp://[x]' 'smtp://[fe80::1%25lo]' \
	'smtp://a b' 'lmtp:' 'lmtp://' 'lmtp:relative/path' 'lmtp://x/path' 'lmtp://u@x'; do
	expect 64 "URL '$url'" -- probe --server "$url"
	lines err 1 "URL '$url'"
done
expect 64 "smtps://" -- probe --server smtps://127.0.0.1
has err "not supported yet: TLS arrives with issue 3" "smtps://"
expect 64 "credentials" -- probe --server smtp://u:secret@127.0.0.1
has err "credentials" "credentials"

# ---------------------------------------------------------------- input
expect 66 "missing FILE" -- send --server smtp://127.0.0.1:1 --from a --to b "$TMP/nope"
has err "cannot read" "missing FILE"
expect 66 "directory as FILE" -- send --server smtp://127.0.0.1:1 --from a --to b "$TMP"
lines out 0 "missing FILE"

# ---------------------------------------------------------------- SMTP, smtpc-sink
if [ -x "$SINK" ]; then
	start_sink smtp
else
	PORT=0
	echo "skip: $SINK not built"
fi
if [ "$PORT" -ne 0 ]; then
	U="smtp://127.0.0.1:$PORT"
	M="$TMP/msg.txt"
	expect 0 "probe" -- probe --server "$U" --helo client.test
	has out "greeting: 220 " "probe"
	has out "PIPELINING" "probe"
	expect 0 "probe --json" -- probe --server "$U" --json
	json_check 'd["greeting"]["code"] == 220 and d["esmtp"] is True and d["exit"] == 0 and any(e["keyword"] == "SIZE" for e in d["extensions"])' "probe --json"

	expect 0 "accepted" -- send --server "$U" --from s@x.test --to a@ok.test "$M"
	has out "accepted a@ok.test: 250 " "accepted"
	lines out 1 "accepted"
	# the bytes arrive unchanged but for CRLF line endings (dot-stuffing undone by the sink)
	printf 'Subject: smtpc cli test\r\n\r\nhello\r\n.leading dot\r\n' >"$TMP/want.eml"
	set -- "$TMP/smtp.maildir/a@ok.test/new/"*
	if [ $# -eq 1 ] && cmp -s "$TMP/want.eml" "$1"; then
		pass
	else
		fail "the message in the maildir differs from the one sent"
	fi
	STDIN=$M
	expect 0 "from standard input" -- send --server "$U" --from s@x.test --to a@ok.test
	expect 0 "- is standard input" -- send --server "$U" --from s@x.test --to a@ok.test -
	STDIN=/dev/null
	expect 0 "null sender" -- send --server "$U" --from '' --to a@ok.test "$M"
	expect 0 "two --to and a list" -- send --server "$U" --from s@x.test --to a@ok.test \
		--to 'b@ok.test, c@ok.test' "$M"
	lines out 3 "two --to and a list"
	expect 0 "options before the command" -- --server="$U" --from=s@x.test --to=a@ok.test send "$M"

	expect 69 "refused 550" -- send --server "$U" --from s@x.test --to r@reject.test "$M"
	has out "refused r@reject.test: 550 5.1.1 " "refused 550"
	has err "smtpc: " "refused 550"
	expect 75 "refused 450" -- send --server "$U" --from s@x.test --to d@defer.test "$M"
	has out "refused d@defer.test: 450 4.2.1 " "refused 450"
	expect 69 "some refused" -- send --server "$U" --from s@x.test --to a@ok.test,r@reject.test "$M"
	has out "accepted a@ok.test: 250" "some refused"
	has out "refused r@reject.test: 550" "some refused"
	expect 75 "temporary wins over permanent" -- send --server "$U" --from s@x.test \
		--to a@ok.test,r@reject.test,d@defer.test "$M"
	expect 75 "temporary wins over permanent --json" -- send --server "$U" --from s@x.test \
		--to a@ok.test,r@reject.test,d@defer.test --json "$M"
	json_check 'd["accepted"] == ["a@ok.test"] and [(r["address"], r["stage"], r["code"]) for r in d["refused"]] == [("r@reject.test", "rcpt", 550), ("d@defer.test", "rcpt", 450)] and d["error"] is None and d["exit"] == 75 and d["mail"]["code"] == 250 and d["final"]["code"] == 250' "--json"
	expect 79 "outcome unknown" -- send --server "$U" --from s@x.test --to a@ok.test,h@hangup.test "$M"
	has out "unknown a@ok.test: outcome unknown (connection lost after the end of data)" "unknown"
	expect 79 "outcome unknown --json" -- send --server "$U" --from s@x.test --to h@hangup.test --json "$M"
	json_check 'd["refused"][0]["stage"] == "unknown" and d["error"]["command"] == "DATA" and d["exit"] == 79' "unknown --json"
	expect 69 "message refused" -- send --server "$U" --from s@x.test --to x@datafail.test "$M"
	has out "failed x@datafail.test: 554" "message refused"
	expect 69 "sender refused" -- send --server "$U" --from s@reject.test --to a@ok.test "$M"
	has out "not-tried a@ok.test" "sender refused"
	has err "(server said: 550 5.7.1" "sender refused"
	expect 75 "sender deferred --json" -- send --server "$U" --from s@defer.test --to a@ok.test --json "$M"
	json_check 'd["error"]["kind"] == "SMTPSenderRefused" and d["error"]["code"] == 450 and d["refused"][0]["stage"] == "not-tried" and d["refused"][0]["code"] is None' "sender deferred --json"
	expect 65 "CR LF in --to" -- send --server "$U" --from s@x.test --to "$(printf 'a@ok.test\rRSET')" "$M"
	expect 0 "--debug" -- probe --server "$U" --debug
	has err "EHLO" "--debug"
fi

# connection refused: a port where nothing listens (a sink we stop)
start_sink gone
if [ "$PORT" -ne 0 ]; then
	GONE=$PORT
	pid=${PIDS##* }
	kill "$pid" && wait "$pid" 2>/dev/null
	expect 75 "connection refused" -- send --server "smtp://127.0.0.1:$GONE" --from s@x.test \
		--to a@ok.test "$TMP/msg.txt"
	lines out 0 "connection refused"
	has err "smtpc: cannot connect to smtp://127.0.0.1:$GONE: " "connection refused"
	expect 75 "connection refused --json" -- send --server "smtp://127.0.0.1:$GONE" \
		--from s@x.test --to a@ok.test,b@ok.test --json "$TMP/msg.txt"
	json_check 'd["accepted"] == [] and [r["stage"] for r in d["refused"]] == ["not-tried", "not-tried"] and d["mail"] is None and d["error"]["kind"] and d["exit"] == 75' "connection refused --json"
fi
expect 68 "unknown host" -- probe --server smtp://no-such-host.invalid --timeout 10

# ---------------------------------------------------------------- LMTP, smtpc-sink
if [ -x "$SINK" ]; then
	start_sink lmtp --lmtp --unix "$TMP/lmtp.sock"
	if [ "$PORT" -ne 0 ]; then
		M="$TMP/msg.txt"
		expect 0 "LMTP probe" -- probe --server "lmtp://127.0.0.1:$PORT"
		expect 0 "LMTP socket" -- send --server "lmtp:$TMP/lmtp.sock" --from s@x.test --to a@ok.test "$M"
		has out "accepted a@ok.test: 250" "LMTP socket"
		expect 75 "LMTP per recipient (lmtp:///)" -- send --server "lmtp://$TMP/lmtp.sock" \
			--from s@x.test --to a@ok.test,full@ok.test,tempfail@ok.test "$M"
		has out "accepted a@ok.test: 250" "LMTP per recipient"
		has out "failed full@ok.test: 552" "LMTP per recipient"
		has out "failed tempfail@ok.test: 452" "LMTP per recipient"
		expect 69 "LMTP permanent" -- send --server "lmtp://127.0.0.1:$PORT" --from s@x.test \
			--to a@ok.test,full@ok.test "$M"
	fi
	# IPv6 loopback, when the host has it
	start_sink v6 --listen '[::1]:0'
	if [ "$PORT" -ne 0 ]; then
		expect 0 "IPv6 literal" -- send --server "smtp://[::1]:$PORT" --from s@x.test \
			--to a@ok.test "$TMP/msg.txt"
	else
		echo "skip: no IPv6 loopback"
	fi
fi

# ---------------------------------------------------------------- faults, fake-server.py
if [ -n "$PYTHON" ]; then
	M="$TMP/msg.txt"
	start_fake rcpt-421
	expect 75 "421 at RCPT" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test,b@ok.test "$M"
	has out "refused b@ok.test: 421 4.3.2" "421 at RCPT"
	start_fake garbage-ehlo
	expect 76 "protocol error" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test --to a@ok.test "$M"
	expect 76 "protocol error (probe)" -- probe --server "smtp://127.0.0.1:$PORT"
	start_fake greet-554
	expect 69 "greeting 554" -- probe --server "smtp://127.0.0.1:$PORT"
	has err "(server said: 554 5.7.1 go away)" "greeting 554"
	start_fake slow-greeting
	expect 75 "timeout" -- probe --server "smtp://127.0.0.1:$PORT" --timeout 0.3
	start_fake ehlo-502
	expect 69 "EHLO 502 (probe)" -- probe --server "smtp://127.0.0.1:$PORT"
	expect 0 "EHLO 502, HELO fallback (send)" -- send --server "smtp://127.0.0.1:$PORT" \
		--from s@x.test --to a@ok.test "$M"
	start_fake ehlo-451
	expect 75 "EHLO 451 (probe)" -- probe --server "smtp://127.0.0.1:$PORT" --json
	json_check 'd["ehlo"]["code"] == 451 and d["extensions"] == [] and d["exit"] == 75' "EHLO 451"
	start_fake data-452
	expect 75 "message deferred" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test --to a@ok.test "$M"
	has out "failed a@ok.test: 452 4.3.1" "message deferred"
	start_fake hostile
	expect 0 "hostile text" -- probe --server "smtp://127.0.0.1:$PORT"
	if LC_ALL=C grep -q "$(printf '\033')" "$TMP/out"; then
		fail "hostile text: raw ESC on stdout"
	else
		pass
	fi
	has out 'greeting: 220 fake \x1b]0;owned\x07 \xff\xfe caf\xc3\xa9 / second line' "hostile text"
	expect 0 "hostile text --json" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --json "$M"
	json_check 'd["final"]["text"] == "queued \u0000 nul\nsecond \"q\" \\ line"' "hostile --json"
	expect 0 "hostile probe --json" -- probe --server "smtp://127.0.0.1:$PORT" --json
	json_check '"\u00ff\u00fe caf\u00e9" in d["greeting"]["text"]' "hostile probe --json"
else
	echo "skip: no python3 for fake-server.py"
fi

# ---------------------------------------------------------------- output errors
if [ -w /dev/full ]; then
	"$SMTPC" --version >/dev/full 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq 74 ]; then
		pass
	else
		fail "--version >/dev/full: exit $rc, expected 74"
	fi
fi

echo "test-cli: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
