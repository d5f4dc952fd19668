#!/bin/sh
# test-cli-sendmail.sh - the command lines that real programs give sendmail(8),
# run through a link named sendmail against smtpc-sink on loopback: Debian's
# cron, mutt with DSN, git send-email, PHP's mail(); the default sender
# (user@host) and the configured domain; smtpc send reading the same
# configuration and SMTPC_SERVER.
#
# usage: tests/cli/test-cli-sendmail.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3 (deliveries.jsonl). Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=sendmail
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"

mkdir -p "$TMP/sink.maildir" "$TMP/bin"
"$SINK" --port-file "$TMP/sink.port" --maildir "$TMP/sink.maildir" --quiet 2>"$TMP/sink.log" &
PIDS="$PIDS $!"
wait_file "$TMP/sink.port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$(cat "$TMP/sink.port")"
ln -s "$SMTPC" "$TMP/bin/sendmail"
SM=$TMP/bin/sendmail

# sm WANT DESC -- ARGS...: the sendmail link, the message $STDIN through a pipe (as
# programs write it); checks the exit status and the sanitizers. Output in out, err.
sm() {
	want=$1
	desc=$2
	shift 3
	cat "${STDIN:-/dev/null}" | "$SM" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	if [ "$RC" -ne "$want" ]; then
		fail "$desc: exit $RC, expected $want"
	elif grep -q Sanitizer "$TMP/err"; then
		fail "$desc: sanitizer report"
	else
		pass
	fi
}

# delivered EXPR DESC: the last line of deliveries.jsonl is d, the stored bytes m, EXPR holds.
delivered() {
	if "$PYTHON" -c 'import json, sys
d = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[-1])
m = open(d["file"], "rb").read()
assert eval(sys.argv[2]), (sys.argv[2], d)' "$TMP/sink.maildir/deliveries.jsonl" "$1" \
		2>"$TMP/pyerr"; then
		pass
	else
		fail "$2: $(tail -1 "$TMP/pyerr")"
	fi
}

count() {
	wc -l <"$TMP/sink.maildir/deliveries.jsonl" 2>/dev/null || echo 0
}

# The default sender: the login name at this host's name (canonical when it has a dot)
ME=$("$PYTHON" -c 'import os, pwd, socket
h = socket.gethostname()
try:
    c = socket.getaddrinfo(h, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)[0][3]
except OSError:
    c = ""
print(pwd.getpwuid(os.getuid()).pw_name + "@" + (c if "." in c else h))')

# ---------------------------------------------------------------- cron (Debian)
# cron writes its own From: and To: with bare names, and runs
# "sendmail -FCronDaemon -i -B8BITMIME -oem MAILTO"
printf '%s\n' 'From: root (Cron Daemon)' 'To: root' 'Subject: Cron <root@host> run-parts' \
	'MIME-Version: 1.0' 'Content-Type: text/plain; charset=UTF-8' \
	'Content-Transfer-Encoding: 8bit' 'X-Cron-Env: <SHELL=/bin/sh>' '' 'job output' >"$TMP/cron.txt"
printf 'server %s\ndomain example.test\n' "$U" >"$TMP/domain.conf"
STDIN=$TMP/cron.txt
SMTPC_CONFIG=$TMP/domain.conf sm 0 "cron: -FCronDaemon -i -B8BITMIME -oem root" \
	-- -FCronDaemon -i -B8BITMIME -oem root
lines err 0 "cron: quiet"
delivered 'd["rcpt_to"] == ["root@example.test"] and d["mail_from"] == "root@example.test" and m.startswith(b"Date: ") and b"\r\nFrom: root (Cron Daemon)\r\nTo: root\r\n" in m' "cron: arrives to root@domain (Date and Message-ID added)"
# without a domain a bare name goes as it is: the server decides (the sink refuses <root>)
SMTPC_SERVER=$U sm 69 "cron without a domain" -- -FCronDaemon -i -B8BITMIME -oem root
has err "sender refused: 501" "cron without a domain: MAIL FROM:<root> refused"
has err "smtpc: hint: an address without a domain was refused" "cron without a domain: the hint"
SMTPC_SERVER=$U sm 69 "a bare recipient refused, no domain" -- -f a@x.test root
has err "smtpc: hint: an address without a domain was refused" "a bare recipient: the hint"
SMTPC_SERVER=$U sm 69 "a full address refused: no hint" -- -f a@x.test r@reject.test
hasnt err "hint" "a full address refused: no hint"

# ---------------------------------------------------------------- the default sender
printf 'Subject: no From\n\nbody\n' >"$TMP/nofrom.txt"
STDIN=$TMP/nofrom.txt
SMTPC_SERVER=$U sm 0 "no -f, no from, no From: user@host" -- a@ok.test
delivered "d['mail_from'] == '$ME' and m.count(b'From:') == 1 and b'\r\nFrom: $ME\r\nSubject: no From\r\n' in m" "the default sender is $ME, and From: $ME is added"
SMTPC_SERVER=$U sm 0 "-F with the default sender" -- -F 'Cron Daemon' a@ok.test
delivered "d['mail_from'] == '$ME' and m.count(b'From:') == 1 and b'\r\nFrom: Cron Daemon <$ME>\r\nSubject: no From\r\n' in m" "-F with the default sender"
SMTPC_CONFIG=$TMP/domain.conf sm 0 "the default sender with a domain" -- a
delivered "d['mail_from'] == '${ME%@*}@example.test' and d['rcpt_to'] == ['a@example.test']" "the default sender with a domain"
printf 'server %s\nfrom cron\ndomain example.test\n' "$U" >"$TMP/from.conf"
SMTPC_CONFIG=$TMP/from.conf sm 0 "a bare configured from, qualified" -- -f '' postmaster 'Bob <bob>' c@ok.test
delivered 'd["mail_from"] == "" and d["rcpt_to"] == ["postmaster@example.test", "bob@example.test", "c@ok.test"]' "the null sender stays; bare recipients qualified"
SMTPC_CONFIG=$TMP/from.conf sm 0 "a bare configured from" -- c@ok.test
delivered 'd["mail_from"] == "cron@example.test"' "a bare configured from"
for bad in 'example..test' '-x.test' 'x_y.test' 'ex ample' "$(printf 'ex\303\251.test')"; do
	printf 'server %s\ndomain %s\n' "$U" "$bad" >"$TMP/bad.conf"
	SMTPC_CONFIG=$TMP/bad.conf sm 78 "domain '$bad'" -- a@ok.test
	has err "bad.conf:2: invalid domain" "domain '$bad'"
done

# ---------------------------------------------------------------- mutt, with DSN
# mutt's $sendmail with $dsn_notify and $dsn_return: -oem -oi -N LIST -R RET -- RECIPIENTS
printf '%s\n' 'From: Alice <alice@x.test>' 'To: bob@ok.test' 'Subject: mutt' '' 'hi' >"$TMP/mutt.txt"
export SMTPC_SERVER="$U"
STDIN=$TMP/mutt.txt
sm 0 "mutt: -oem -oi -N success,failure -R hdrs --" -- -oem -oi -N success,failure -R hdrs -- bob@ok.test
lines err 0 "mutt: quiet"
delivered 'd["mail_from"] == "alice@x.test" and "RET=HDRS" in d["mail_options"] and d["rcpt_to"] == ["bob@ok.test"] and d["rcpt_options"] == [["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@ok.test"]]' "mutt: NOTIFY and RET arrive"
sm 0 "mutt: -N never" -- -oem -oi -N never -- bob@ok.test
delivered 'd["rcpt_options"] == [["NOTIFY=NEVER", "ORCPT=rfc822;bob@ok.test"]] and not any(o.startswith("RET=") for o in d["mail_options"])' "-N never"
sm 0 "attached -Nsuccess -Rfull" -- -Nsuccess -Rfull bob@ok.test
delivered 'd["rcpt_options"] == [["NOTIFY=SUCCESS", "ORCPT=rfc822;bob@ok.test"]] and "RET=FULL" in d["mail_options"]' "-Nsuccess -Rfull"
sm 64 "-N never,success" -- -N never,success bob@ok.test
sm 64 "-N without a value" -- -N
# -v: the transcript on standard error, as --debug
sm 0 "-v" -- -v -oi bob@ok.test
has err "send: MAIL FROM:<alice@x.test>" "-v: the transcript"
has err "send: RCPT TO:<bob@ok.test>" "-v: the transcript"

# ---------------------------------------------------------------- git send-email
# git send-email runs "sendmail -i RECIPIENT..." (with -f when an envelope sender is set)
printf '%s\n' 'From: Dev <dev@x.test>' 'To: list@ok.test' 'Cc: rev@ok.test' \
	'Subject: [PATCH] x' '' '---' ' x | 1 +' >"$TMP/git.txt"
STDIN=$TMP/git.txt
sm 0 "git send-email: -i rcpt1 rcpt2" -- -i list@ok.test rev@ok.test
delivered 'd["mail_from"] == "dev@x.test" and d["rcpt_to"] == ["list@ok.test", "rev@ok.test"]' "git send-email"
sm 0 "git send-email: -i -f sender rcpt" -- -i -f bounce@x.test list@ok.test
delivered 'd["mail_from"] == "bounce@x.test" and d["rcpt_to"] == ["list@ok.test"]' "git send-email with -f"
sm 0 "-r SENDER (the old -f)" -- -i -r old@x.test list@ok.test
delivered 'd["mail_from"] == "old@x.test"' "-r"
sm 64 "-f and -r" -- -f a@x.test -r b@x.test list@ok.test

# ---------------------------------------------------------------- PHP mail()
# sendmail_path = "/usr/sbin/sendmail -t -i": recipients from the headers
printf '%s\n' 'To: php@ok.test' 'Subject: php' 'From: www@x.test' 'Bcc: hidden@ok.test' '' \
	'from php' >"$TMP/php.txt"
STDIN=$TMP/php.txt
sm 0 "PHP mail(): -t -i" -- -t -i
delivered 'd["mail_from"] == "www@x.test" and d["rcpt_to"] == ["php@ok.test", "hidden@ok.test"] and b"Bcc" not in m' "PHP mail()"

# ---------------------------------------------------------------- the other flags
STDIN=$TMP/mutt.txt
sm 0 "-odb -odi -oep -oem -B7BIT -bm" -- -odb -odi -oep -oem -B7BIT -bm bob@ok.test
sm 0 "-B 8BITMIME (separate value)" -- -B 8BITMIME bob@ok.test

# ---------------------------------------------------------------- smtpc send: the same configuration
unset SMTPC_SERVER
STDIN=/dev/null
EMPTY=$SMTPC_CONFIG
printf 'server %s\nfrom conf@x.test\ntimeout 20\n' "$U" >"$TMP/send.conf"
export SMTPC_CONFIG="$TMP/send.conf"
expect 0 "send: server and from of the configuration" -- send --to a@ok.test "$TMP/mutt.txt"
delivered 'd["mail_from"] == "conf@x.test" and d["rcpt_to"] == ["a@ok.test"]' "send: the configuration"
expect 0 "send: --from wins over the configuration" -- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
delivered 'd["mail_from"] == "me@x.test"' "send: --from wins"
SMTPC_SERVER=smtp://127.0.0.1:1 expect 75 "send: SMTPC_SERVER wins over the configuration" \
	-- send --to a@ok.test "$TMP/mutt.txt"
n=$(count)
SMTPC_SERVER=smtp://127.0.0.1:1 expect 0 "send: --server wins over SMTPC_SERVER" \
	-- send --server "$U" --to a@ok.test "$TMP/mutt.txt"
[ "$(count)" -eq $((n + 1)) ] && pass || fail "send: --server wins: nothing stored"
expect 0 "probe: the server of the configuration (from is not probe's)" -- probe
SMTPC_CONFIG=$EMPTY SMTPC_SERVER=$U expect 0 "send: SMTPC_SERVER alone" \
	-- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
SMTPC_CONFIG=$EMPTY expect 64 "send: no server anywhere" -- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
has err "missing --server URL (or SMTPC_SERVER" "send: no server anywhere"
SMTPC_CONFIG=$TMP/nope.conf expect 78 "send: SMTPC_CONFIG missing" -- send --to a@ok.test "$TMP/mutt.txt"
has err "nope.conf: No such file or directory" "send: SMTPC_CONFIG missing"
printf 'server %s\nfrobnicate 1\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf expect 78 "send: a bad configuration" -- send --to a@ok.test "$TMP/mutt.txt"
has err "bad.conf:2: unknown key 'frobnicate'" "send: a bad configuration"
printf 'server %s\ntimeout never\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf expect 78 "send: a bad value in the configuration" \
	-- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
has err "bad.conf:2: invalid value for 'timeout'" "send: a bad value"
printf 'server %s\ntimeout-final never\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf expect 78 "send: timeout-final is a configuration key" \
	-- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
has err "bad.conf:2: invalid value for 'timeout-final'" "send: timeout-final read"
SMTPC_CONFIG=$TMP/domain.conf expect 0 "send: a bare --from and --to qualified with the domain" \
	-- send -f me --to you,'"q@x"' "$TMP/mutt.txt"
delivered 'd["mail_from"] == "me@example.test" and d["rcpt_to"] == ["you@example.test", "\"q@x\"@example.test"]' "send: qualified"
# The TLS and AUTH keys belong to the configured server: never sent to another one.
printf 'server smtp://127.0.0.1:1\nuser alice\npassword-file %s\nstarttls required\n' \
	"$TMP/nope.pw" >"$TMP/auth.conf"
SMTPC_CONFIG=$TMP/auth.conf expect 78 "send: the configured server's credentials apply to it" \
	-- send -f me@x.test --to a@ok.test "$TMP/mutt.txt"
SMTPC_CONFIG=$TMP/auth.conf expect 0 "send --server: another server gets no credentials" \
	-- send --server "$U" -f me@x.test --to a@ok.test --debug "$TMP/mutt.txt"
hasnt err "STARTTLS" "another server: no STARTTLS required"
hasnt err "AUTH" "another server: no AUTH"
SMTPC_CONFIG=$TMP/auth.conf SMTPC_SERVER=$U STDIN=$TMP/mutt.txt \
	sm 0 "sendmail, SMTPC_SERVER: another server gets no credentials" -- a@ok.test
STDIN=/dev/null
export SMTPC_CONFIG="$EMPTY"

echo "test-cli-sendmail: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
