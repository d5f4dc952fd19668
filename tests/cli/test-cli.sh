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
# Debian's python3 first: a version manager's shim on PATH costs about a second per start.
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3 || true)
fi

[ -x "$SMTPC" ] || { echo "skip: $SMTPC not built"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-cli.XXXXXX") || exit 1
PIDS=""
FAILED=0
PASSED=0
# shellcheck source=lib.sh
. "$HERE/lib.sh"

printf 'Subject: smtpc cli test\n\nhello\n.leading dot\n' >"$TMP/msg.txt"

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
FAKES=0
start_fake() {
	name=$1
	shift
	FAKES=$((FAKES + 1))
	name=$FAKES-$name
	"$PYTHON" "$FAKE" "${name#*-}" "$TMP/fake-$name.port" "$@" 2>"$TMP/fake-$name.log" &
	PIDS="$PIDS $!"
	PORT=0
	if wait_file "$TMP/fake-$name.port"; then
		PORT=$(cat "$TMP/fake-$name.port")
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
for url in 'smtps://' 'smtps://x:0' 'smtps://u:pw@x' 'submissions://x' 'smtps:/x'; do
	expect 64 "URL '$url'" -- probe --server "$url"
	lines err 1 "URL '$url'"
done
expect 64 "credentials" -- probe --server smtp://u:secret@127.0.0.1
has err "credentials" "credentials"

# ---------------------------------------------------------------- TLS and AUTH options
S="send --server smtp://127.0.0.1:1 --from a --to b"
for opt in --starttls --ca-file --ca-dir --cert --key --tls-name --fingerprint --user \
	--password-file --password-env --password-cmd --oauth-token-cmd --auth; do
	expect 64 "$opt without a value" -- $S "$TMP/msg.txt" $opt
	has err "this option needs a value: '$opt'" "$opt without a value"
	expect 64 "$opt ''" -- $S $opt '' "$TMP/msg.txt"
	lines err 1 "$opt ''"
done
for flag in --insecure --allow-plaintext-auth; do
	expect 64 "$flag=yes" -- $S $flag=yes "$TMP/msg.txt"
done
# no password on the command line, in any spelling; the value is never echoed
for arg in --password --password=s3cr3t-argv '--password= s3cr3t-argv'; do
	expect 64 "'$arg' refused" -- $S --user alice $arg s3cr3t-argv "$TMP/msg.txt"
	has err "passwords are never taken on the command line (visible to ps): use --password-file, --password-env or --password-cmd" "'$arg' refused"
	hasnt err "s3cr3t-argv" "'$arg' refused"
done
expect 64 "unknown option=value not echoed" -- $S --passwd=s3cr3t-argv "$TMP/msg.txt"
has err "unknown option '--passwd'" "unknown option=value"
hasnt err "s3cr3t-argv" "unknown option=value"
expect 64 "--starttls bogus" -- $S --starttls sometimes "$TMP/msg.txt"
has err "expected required, opportunistic or never" "--starttls bogus"
expect 64 "--starttls twice" -- $S --starttls never --starttls never "$TMP/msg.txt"
expect 64 "--starttls with smtps://" -- probe --server smtps://127.0.0.1 --starttls required
has err "--starttls does not go with smtps://" "--starttls with smtps://"
expect 64 "--starttls never with --user" -- $S --starttls never --user alice --password-env X "$TMP/msg.txt"
has err "credentials need --starttls required (or smtps://)" "--starttls never with --user"
expect 64 "--starttls opportunistic with --user" -- $S --starttls opportunistic --user alice \
	--password-env X "$TMP/msg.txt"
expect 64 "--starttls never with --oauth-token-cmd" -- $S --starttls never --user alice \
	--oauth-token-cmd true "$TMP/msg.txt"
expect 64 "--insecure with --user" -- $S --insecure --user alice --password-env X "$TMP/msg.txt"
has err "add --allow-plaintext-auth" "--insecure with --user"
expect 64 "--insecure with --user on smtps://" -- send --server smtps://127.0.0.1:1 --from a --to b \
	--insecure --user alice --password-env X "$TMP/msg.txt"
expect 64 "two password sources" -- $S --user alice --password-env X --password-file /dev/null "$TMP/msg.txt"
has err "give one password source only" "two password sources"
expect 64 "password source without --user" -- $S --password-env X "$TMP/msg.txt"
has err "a password source needs --user NAME" "password source without --user"
expect 64 "--oauth-token-cmd with a password" -- $S --user alice --oauth-token-cmd true \
	--password-env X "$TMP/msg.txt"
expect 64 "--auth XOAUTH2 without a token command" -- $S --user alice --auth XOAUTH2 "$TMP/msg.txt"
expect 64 "--oauth-token-cmd with --auth PLAIN" -- $S --user alice --auth plain --oauth-token-cmd true "$TMP/msg.txt"
expect 64 "--oauth-token-cmd without --user (XOAUTH2)" -- $S --oauth-token-cmd true "$TMP/msg.txt"
expect 64 "--auth PLAIN without --user" -- $S --auth PLAIN "$TMP/msg.txt"
expect 64 "--auth EXTERNAL with a password" -- $S --auth EXTERNAL --user a --password-env X "$TMP/msg.txt"
expect 64 "--auth bogus" -- $S --user alice --auth NTLM "$TMP/msg.txt"
has err "invalid --auth 'NTLM'" "--auth bogus"
expect 64 "--auth twice" -- $S --user alice --auth PLAIN --auth LOGIN "$TMP/msg.txt"
expect 64 "--key without --cert" -- $S --key /dev/null "$TMP/msg.txt"
for fp in abc 'zz' "$(printf '%063d' 0)" "$(printf '%065d' 0)" "$(printf '%064d' 0)x"; do
	expect 64 "--fingerprint '$fp'" -- $S --fingerprint "$fp" "$TMP/msg.txt"
	lines err 1 "--fingerprint '$fp'"
done
expect 64 "--user twice" -- $S --user a --user b --password-env X "$TMP/msg.txt"
# files named by TLS options are checked before connecting: EX_CONFIG
for opt in --ca-file --cert; do
	expect 78 "$opt missing" -- $S $opt "$TMP/nope.pem" "$TMP/msg.txt"
	has err "smtpc: cannot read $opt '$TMP/nope.pem': No such file or directory" "$opt missing"
done
expect 78 "--ca-dir missing" -- probe --server smtp://127.0.0.1:1 --ca-dir "$TMP/nope.d"
expect 78 "--key missing" -- probe --server smtp://127.0.0.1:1 --cert "$TMP/msg.txt" --key "$TMP/nope.key"
# the password sources are read before connecting: EX_CONFIG when they fail
U1="send --server smtp://127.0.0.1:1 --from a --to b --user alice"
expect 78 "--password-file missing" -- $U1 --password-file "$TMP/nope" "$TMP/msg.txt"
has err "cannot read --password-file '$TMP/nope': No such file or directory" "--password-file missing"
: >"$TMP/empty.pw"
expect 78 "--password-file empty" -- $U1 --password-file "$TMP/empty.pw" "$TMP/msg.txt"
has err "the first line is empty" "--password-file empty"
expect 78 "--password-file a directory" -- $U1 --password-file "$TMP" "$TMP/msg.txt"
expect 78 "--password-env unset" -- $U1 --password-env SMTPC_TEST_UNSET_VARIABLE "$TMP/msg.txt"
has err "--password-env 'SMTPC_TEST_UNSET_VARIABLE': the variable is not set" "--password-env unset"
export SMTPC_TEST_EMPTY='' SMTPC_TEST_PW=x
expect 78 "--password-env empty" -- $U1 --password-env SMTPC_TEST_EMPTY "$TMP/msg.txt"
expect 78 "--password-cmd failing" -- $U1 --password-cmd 'echo s3cr3t-cmd; exit 3' "$TMP/msg.txt"
has err "smtpc: --password-cmd: the command failed (exit status 3)" "--password-cmd failing"
hasnt err "s3cr3t-cmd" "--password-cmd failing"
expect 78 "--password-cmd killed" -- $U1 --password-cmd 'kill -9 $$' "$TMP/msg.txt"
has err "killed by signal 9" "--password-cmd killed"
expect 78 "--password-cmd printing nothing" -- $U1 --password-cmd true "$TMP/msg.txt"
expect 78 "--password-cmd not found" -- $U1 --password-cmd "$TMP/no-such-command" "$TMP/msg.txt"
expect 78 "--password-cmd NUL byte" -- $U1 --password-cmd "printf 'a\\000b\\n'" "$TMP/msg.txt"
has err "NUL byte" "--password-cmd NUL byte"
expect 64 "no password source, no terminal" -- $U1 "$TMP/msg.txt"
has err "--user needs a password" "no password source, no terminal"
# a password that was read: only then the connection fails (75, not 78)
expect 75 "--password-env read" -- $U1 --password-env SMTPC_TEST_PW "$TMP/msg.txt"

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
	json_check 'd["refused"] == [] and d["unknown"] == ["h@hangup.test"] and d["error"]["command"] in ("DATA", "BDAT") and d["exit"] == 79' "unknown --json: a list of its own"
	# the envelope addresses (as in RCPT), not the arguments; unknown apart from refused (a
	# retry of the refused list must not send twice)
	expect 79 "--json lists envelope addresses" -- send --server "$U" --from s@x.test \
		--to 'Ann <a@ok.test>, <r@reject.test>' --to ' "Hal" <h@hangup.test>' --json "$M"
	json_check 'd["accepted"] == [] and d["unknown"] == ["a@ok.test", "h@hangup.test"] and [(r["address"], r["stage"]) for r in d["refused"]] == [("r@reject.test", "rcpt")] and d["exit"] == 79' "--json: envelope addresses, unknown apart"
	expect 75 "--json lists envelope addresses (accepted)" -- send --server "$U" --from s@x.test \
		--to 'Ann <a@ok.test>,<d@defer.test>' --json "$M"
	json_check 'd["accepted"] == ["a@ok.test"] and d["refused"][0]["address"] == "d@defer.test" and d["unknown"] == []' "--json: accepted envelope address"
	expect 69 "message refused" -- send --server "$U" --from s@x.test --to x@datafail.test "$M"
	has out "failed x@datafail.test: 554" "message refused"
	expect 69 "sender refused" -- send --server "$U" --from s@reject.test --to a@ok.test "$M"
	has out "not-tried a@ok.test" "sender refused"
	has err "(server said: 550 5.7.1" "sender refused"
	expect 75 "sender deferred --json" -- send --server "$U" --from s@defer.test --to a@ok.test --json "$M"
	json_check 'd["error"]["kind"] == "SMTPSenderRefused" and d["error"]["code"] == 450 and d["refused"][0]["stage"] == "not-tried" and d["refused"][0]["code"] is None' "sender deferred --json"
	json_check 'd["error"]["local"] is False' "a server's refusal is not local"
	expect 65 "CR LF in --to" -- send --server "$U" --from s@x.test --to "$(printf 'a@ok.test\rRSET')" "$M"
	expect 0 "--debug" -- probe --server "$U" --debug
	has err "EHLO" "--debug"
fi

# A message over the server's SIZE limit is refused by the library before MAIL, with a 552
# of its own: said to be decided here, not by the server.
start_sink small --size 100
if [ "$PORT" -ne 0 ]; then
	head -c 500 /dev/zero | tr '\0' a >"$TMP/big500.txt"
	expect 69 "over the SIZE limit" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --debug "$TMP/big500.txt"
	has err "not sent (decided here, not by the server: 552 5.3.4 " "over the SIZE limit: local"
	hasnt err "server said" "over the SIZE limit: not the server's"
	hasnt err "send: MAIL" "over the SIZE limit: no MAIL"
	expect 69 "over the SIZE limit --json" -- send --server "smtp://127.0.0.1:$PORT" \
		--from s@x.test --to a@ok.test --json "$TMP/big500.txt"
	json_check 'd["error"]["local"] is True and d["error"]["code"] == 552 and d["mail"] is None' "over the SIZE limit --json"
	# from a pipe the size is not known before: the server's own 552 after the data
	cat "$TMP/big500.txt" | "$SMTPC" send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --json >"$TMP/out" 2>"$TMP/err"
	[ $? -eq 69 ] && pass || fail "over the SIZE limit, from a pipe: not 69"
	json_check 'd["refused"][0]["code"] == 552 and d["mail"]["code"] == 250 and d["error"]["local"] is False' "the server's 552 after the data is not local"
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
	json_check 'd["accepted"] == [] and [r["stage"] for r in d["refused"]] == ["not-tried", "not-tried"] and d["unknown"] == [] and d["mail"] is None and d["error"]["kind"] and d["exit"] == 75' "connection refused --json"
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
	# The end of a 2 MB message never reached the server (it stopped reading after 7 KB): not
	# delivered, 75; a server that read it all and never answered may have it: unknown, 79.
	head -c 2000000 /dev/zero | tr '\0' 'x' | fold -w 998 >"$TMP/big.txt"
	start_fake stall-in-data
	expect 75 "end of data never sent: not delivered" -- send --server "smtp://127.0.0.1:$PORT" \
		--from s@x.test --to a@ok.test --timeout 1 --json "$TMP/big.txt"
	json_check 'd["unknown"] == [] and d["refused"][0]["address"] == "a@ok.test" and d["refused"][0]["stage"] != "unknown" and d["error"]["kind"] == "timed out" and "not delivered" in d["error"]["message"] and d["exit"] == 75' "end of data never sent"
	start_fake silent-after-dot
	expect 79 "end of data sent, no reply: unknown" -- send --server "smtp://127.0.0.1:$PORT" \
		--from s@x.test --to a@ok.test --timeout 1 --json "$TMP/big.txt"
	json_check 'd["refused"] == [] and d["unknown"] == ["a@ok.test"] and d["exit"] == 79' "end of data sent, no reply"
	# --timeout-final bounds that wait alone: 0.5 s, not the 20 s of every other step.
	start_fake silent-after-dot
	t0=$(date +%s)
	expect 79 "--timeout-final" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --timeout 20 --timeout-final 0.5 "$TMP/msg.txt"
	if [ $(($(date +%s) - t0)) -lt 10 ]; then pass; else fail "--timeout-final: not applied"; fi
	expect 64 "--timeout-final 0" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --timeout-final 0 "$TMP/msg.txt"
	expect 64 "--timeout-final twice" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --timeout-final 1 --timeout-final 2 "$TMP/msg.txt"
	expect 64 "--timeout-final with probe" -- probe --server "smtp://127.0.0.1:$PORT" \
		--timeout-final 1
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
	# C1 controls, bidi overrides and separators: escaped in JSON (\u009b), \xHH in text
	start_fake unicode
	expect 0 "unicode hostile probe --json" -- probe --server "smtp://127.0.0.1:$PORT" --json
	for raw in '\302\233' '\342\200\256' '\342\201\246' '\342\201\251' '\342\200\250'; do
		if LC_ALL=C grep -q "$(printf "$raw")" "$TMP/out"; then
			fail "unicode --json: raw $raw on stdout"
		else
			pass
		fi
	done
	has out 'fake \u009b31m red \u202egnp.exe \u2066x\u2069 a\u2028b caf' "unicode --json escapes"
	LC_ALL=C grep -q "caf$(printf '\303\251')" "$TMP/out" && pass || fail "unicode --json: other UTF-8 not raw"
	json_check 'd["greeting"]["text"] == "fake \u009b31m red \u202egnp.exe \u2066x\u2069 a\u2028b caf\u00e9"' "unicode --json decodes to the reply"
	expect 0 "unicode send --json" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test --json "$M"
	has out 'queued \u009b2J \u202d\u2029\u061c\u200f' "unicode send --json escapes"
	expect 0 "unicode probe (text)" -- probe --server "smtp://127.0.0.1:$PORT"
	has out 'greeting: 220 fake \xc2\x9b31m red \xe2\x80\xaegnp.exe \xe2\x81\xa6x\xe2\x81\xa9 a\xe2\x80\xa8b caf\xc3\xa9' "unicode text escapes"
	expect 0 "unicode send (text)" -- send --server "smtp://127.0.0.1:$PORT" --from s@x.test \
		--to a@ok.test "$M"
	has out 'accepted a@ok.test: 250 2.0.0 queued \xc2\x9b2J \xe2\x80\xad\xe2\x80\xa9\xd8\x9c\xe2\x80\x8f' "unicode send text escapes"

	# ---------------------------------------------------------------- STARTTLS refused
	start_fake starttls-454
	U="smtp://127.0.0.1:$PORT"
	expect 0 "STARTTLS 454, opportunistic: plaintext" -- send --server "$U" --from s@x.test --to a@ok.test "$M"
	expect 0 "STARTTLS 454, opportunistic (probe)" -- probe --server "$U"
	has out "tls: none (STARTTLS refused)" "STARTTLS 454 probe"
	has err "smtpc: warning: continuing without TLS: STARTTLS refused: 454" "STARTTLS 454 probe"
	expect 75 "STARTTLS 454, required: temporary" -- send --server "$U" --starttls required \
		--from s@x.test --to a@ok.test --json "$M"
	json_check 'd["tls"] is None and d["error"]["code"] == 454 and d["mail"] is None and d["exit"] == 75' "STARTTLS 454 required"
	expect 75 "STARTTLS 454, required (probe): temporary" -- probe --server "$U" --starttls required --json
	json_check 'd["tls"] is None and d["error"]["kind"] == "TLS error" and d["error"]["code"] == 454 and d["exit"] == 75' "STARTTLS 454 required probe"
	start_fake starttls-554
	expect 69 "STARTTLS 554, required" -- send --server "smtp://127.0.0.1:$PORT" --starttls required \
		--from s@x.test --to a@ok.test "$M"
	lines out 0 "STARTTLS 554, required"
	has err "smtpc: cannot secure the connection to smtp://127.0.0.1:$PORT: STARTTLS is required" "STARTTLS 554"
	start_fake ok
	expect 69 "STARTTLS required, not offered" -- send --server "smtp://127.0.0.1:$PORT" \
		--starttls required --from s@x.test --to a@ok.test --debug "$M"
	hasnt err "send: MAIL" "STARTTLS required, not offered"
	expect 69 "STARTTLS required, not offered (probe)" -- probe --server "smtp://127.0.0.1:$PORT" --starttls required
	has err "the server does not offer STARTTLS" "STARTTLS required, not offered (probe)"
	expect 0 "no STARTTLS, opportunistic (probe)" -- probe --server "smtp://127.0.0.1:$PORT" --json
	json_check 'd["tls"] is None and d["auth"] is None and d["extensions_before_tls"] is None' "no STARTTLS probe --json"

	# ---------------------------------------------------------------- AUTH: password sources
	PW='pässwörd 1'
	PW_B64=$(printf '%s' "$PW" | base64)
	PLAIN_B64=$(printf '\000alice\000%s' "$PW" | base64)
	SECRETS="$PW $PW_B64 $PLAIN_B64"
	export SMTPC_TEST_PW="$PW" SMTPC_TEST_BAD='pässwörd 2'
	start_fake auth
	A="send --server smtp://127.0.0.1:$PORT --starttls never --allow-plaintext-auth --user alice --from s@x.test --to a@ok.test"
	# credentials never go to a server without TLS by default: STARTTLS is required
	expect 69 "credentials without TLS" -- send --server "smtp://127.0.0.1:$PORT" --user alice \
		--password-env SMTPC_TEST_PW --from s@x.test --to a@ok.test --debug "$M"
	hasnt err "send: AUTH" "credentials without TLS"
	no_secret "credentials without TLS" "$PW" "$PW_B64" "$PLAIN_B64"
	expect 0 "--password-env" -- $A --password-env SMTPC_TEST_PW --debug "$M"
	has err "send: AUTH PLAIN [redacted]" "--password-env"
	no_secret "--password-env" "$PW" "$PW_B64" "$PLAIN_B64"
	expect 0 "--password-env --json" -- $A --password-env SMTPC_TEST_PW --json "$M"
	json_check 'd["auth"] == {"mechanism": "PLAIN", "ok": True} and d["tls"] is None and d["exit"] == 0' "--password-env --json"
	printf '%s\n' "$PW" >"$TMP/pw"
	chmod 600 "$TMP/pw"
	expect 0 "--password-file" -- $A --password-file "$TMP/pw" "$M"
	lines err 0 "--password-file"
	printf '%s\r\nsecond line\n' "$PW" >"$TMP/pw-crlf"
	chmod 644 "$TMP/pw-crlf"
	expect 0 "--password-file CRLF, group-readable" -- $A --password-file "$TMP/pw-crlf" "$M"
	has err "smtpc: warning: --password-file '$TMP/pw-crlf' is readable by group or others" "group-readable"
	printf '%s' "$PW" >"$TMP/pw-nolf"
	chmod 600 "$TMP/pw-nolf"
	expect 0 "--password-file without a newline" -- $A --password-file "$TMP/pw-nolf" "$M"
	expect 0 "--password-cmd" -- $A --password-cmd "cat '$TMP/pw-crlf'" --debug "$M"
	no_secret "--password-cmd" "$PW" "$PW_B64" "$PLAIN_B64"
	expect 0 "--password-cmd, long output" -- $A --password-cmd "cat '$TMP/pw'; head -c 300000 /dev/zero" "$M"
	expect 0 "--auth LOGIN" -- $A --auth login --password-env SMTPC_TEST_PW --debug --json "$M"
	json_check 'd["auth"] == {"mechanism": "LOGIN", "ok": True}' "--auth LOGIN"
	no_secret "--auth LOGIN" "$PW" "$PW_B64" "$PLAIN_B64"
	expect 0 "probe with AUTH" -- probe --server "smtp://127.0.0.1:$PORT" --starttls never \
		--allow-plaintext-auth --user alice --password-env SMTPC_TEST_PW
	has out "auth: PLAIN ok" "probe with AUTH"
	expect 77 "wrong password" -- $A --password-env SMTPC_TEST_BAD --debug "$M"
	lines out 0 "wrong password"
	has err "smtpc: authentication failed: PLAIN authentication refused: 535 (server said: 535 5.7.8 bad credentials)" "wrong password"
	no_secret "wrong password" "pässwörd 2" "$(printf '\000alice\000pässwörd 2' | base64)"
	expect 77 "wrong password --json" -- $A --password-env SMTPC_TEST_BAD --json "$M"
	# smtpc_auth_mechanism() only names a mechanism that succeeded: smtpc chose it, the
	# error message names it
	json_check 'd["auth"] == {"mechanism": None, "ok": False} and "PLAIN authentication refused" in d["error"]["message"] and d["error"]["kind"] == "SMTPAuthenticationError" and d["error"]["code"] == 535 and d["refused"][0]["stage"] == "not-tried" and d["mail"] is None and d["exit"] == 77' "wrong password --json"
	expect 77 "wrong password (probe)" -- probe --server "smtp://127.0.0.1:$PORT" --starttls never \
		--allow-plaintext-auth --user alice --password-env SMTPC_TEST_BAD
	has out "auth: - failed" "wrong password (probe)"
	expect 69 "--auth CRAM-MD5 not offered" -- $A --auth CRAM-MD5 --password-env SMTPC_TEST_PW "$M"
	start_fake auth-454
	expect 75 "AUTH 454: temporary" -- send --server "smtp://127.0.0.1:$PORT" --starttls never \
		--allow-plaintext-auth --user alice --password-env SMTPC_TEST_PW --from s@x.test \
		--to a@ok.test "$M"
	# a malformed challenge is a protocol error (76, smtpc.h: SMTPC_EPROTO), not a refusal (77)
	start_fake auth-bad-challenge
	expect 76 "AUTH challenge not base64" -- send --server "smtp://127.0.0.1:$PORT" --starttls never \
		--allow-plaintext-auth --user alice --password-env SMTPC_TEST_PW --from s@x.test \
		--to a@ok.test --json "$M"
	json_check 'd["error"]["kind"] == "protocol error" and "not base64" in d["error"]["message"] and d["auth"]["ok"] is False and d["exit"] == 76' "AUTH challenge not base64"
	start_fake auth-bad-scram
	expect 76 "AUTH SCRAM server-first malformed" -- send --server "smtp://127.0.0.1:$PORT" \
		--starttls never --allow-plaintext-auth --user alice --password-env SMTPC_TEST_PW \
		--from s@x.test --to a@ok.test --debug "$M"
	has err "SCRAM-SHA-256: the server's challenge is malformed" "AUTH SCRAM server-first malformed"
	has err "send: *" "AUTH SCRAM server-first malformed"
	hasnt err "send: AUTH PLAIN" "AUTH SCRAM server-first malformed"
	no_secret "AUTH SCRAM server-first malformed" "$PW" "$PW_B64" "$PLAIN_B64"
	# a Unix socket is local: no TLS needed, no --allow-plaintext-auth
	start_fake auth --lmtp --unix "$TMP/auth.sock"
	expect 0 "AUTH over a Unix socket" -- send --server "lmtp:$TMP/auth.sock" --user alice \
		--password-env SMTPC_TEST_PW --from s@x.test --to a@ok.test "$M"

	# the prompt: on the terminal, echo off (a pseudo-terminal plays the user)
	PTY='import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out, typed = b"", False
end = time.time() + 20
while time.time() < end:
    if not typed and b"password for alice: " in out:
        time.sleep(0.2)
        os.write(fd, sys.argv[1].encode() + b"\n")
        typed = True
    if select.select([fd], [], [], 0.1)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    status = os.waitpid(pid, 0)[1]
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))'
	if "$PYTHON" -c 'import pty' 2>/dev/null; then
		"$PYTHON" -c "$PTY" "$PW" "$SMTPC" $A "$M" >"$TMP/out" 2>"$TMP/err"
		RC=$?
		if [ "$RC" -eq 0 ] && grep -q "password for alice: " "$TMP/out" &&
			grep -q "accepted a@ok.test" "$TMP/out" && ! grep -q -F "$PW" "$TMP/out"; then
			pass
		else
			fail "password prompt: exit $RC"
		fi
		"$PYTHON" -c "$PTY" "$PW" "$SMTPC" $A - >"$TMP/out" 2>"$TMP/err"
		RC=$?
		if [ "$RC" -eq 64 ] && grep -q "no terminal to ask on, or the message is read from standard input" "$TMP/out"; then
			pass
		else
			fail "no prompt when the message comes from standard input: exit $RC"
		fi
	fi
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
