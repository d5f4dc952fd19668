#!/bin/sh
# test-cli-msmtp.sh - what msmtp users expect of smtpc (issue 13, item 5): --source-ip
# (and the source-ip key), against smtpc-sink on loopback, whose --log names the
# address each connection comes from; the Date, Message-ID and From fields that the
# sendmail mode adds to a message without them; the log (--log, --syslog).
#
# usage: tests/cli/test-cli-msmtp.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=msmtp
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"
EMPTY=$SMTPC_CONFIG

mkdir -p "$TMP/sink.maildir" "$TMP/bin"
"$SINK" --port-file "$TMP/sink.port" --maildir "$TMP/sink.maildir" --log "$TMP/sink.log" \
	--quiet 2>"$TMP/sink.err" &
PIDS="$PIDS $!"
wait_file "$TMP/sink.port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$(cat "$TMP/sink.port")"
ln -s "$SMTPC" "$TMP/bin/sendmail"
SM=$TMP/bin/sendmail
printf 'Subject: hello\n\nbody\n' >"$TMP/msg.txt"

# peer ADDR DESC: the last connection the sink logged came from ADDR.
peer() {
	last=$(grep '\*: connect from ' "$TMP/sink.log" | tail -1)
	case $last in
	*"connect from $1:"*) pass ;;
	*) fail "$2: the sink saw '$last', expected $1" ;;
	esac
}

# ---------------------------------------------------------------- --source-ip
STDIN=$TMP/msg.txt
expect 0 "--source-ip 127.0.0.2" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip 127.0.0.2
peer 127.0.0.2 "--source-ip 127.0.0.2"
expect 0 "--source-ip=127.0.0.3" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip=127.0.0.3
peer 127.0.0.3 "--source-ip=127.0.0.3"
expect 0 "probe --source-ip 127.0.0.4" -- probe --server "$U" --source-ip 127.0.0.4
peer 127.0.0.4 "probe --source-ip"
expect 0 "no --source-ip" -- send --server "$U" --from a@x.test --to b@ok.test
peer 127.0.0.1 "no --source-ip: the default address"
printf 'server %s\nsource-ip 127.0.0.5\n' "$U" >"$TMP/src.conf"
SMTPC_CONFIG=$TMP/src.conf expect 0 "the source-ip key" -- send --from a@x.test --to b@ok.test
peer 127.0.0.5 "the source-ip key"
SMTPC_CONFIG=$TMP/src.conf expect 0 "--source-ip wins over the key" -- send --from a@x.test \
	--to b@ok.test --source-ip 127.0.0.6
peer 127.0.0.6 "--source-ip wins over the key"
cat "$TMP/msg.txt" | SMTPC_CONFIG=$TMP/src.conf "$SM" b@ok.test >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ]; then pass; else fail "sendmail mode with source-ip: exit $?"; fi
peer 127.0.0.5 "the sendmail mode reads source-ip"

n=$(grep -c '\*: connect from ' "$TMP/sink.log")
for bad in foo 127.0.0 '127.0.0.1 ' '' 'localhost' "$(printf '127.0.0.1\r\nX')"; do
	expect 64 "--source-ip '$bad'" -- send --server "$U" --from a@x.test --to b@ok.test \
		--source-ip "$bad"
	has err "invalid --source-ip" "--source-ip '$bad': the message"
done
expect 64 "--source-ip twice" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip 127.0.0.2 --source-ip 127.0.0.3
if [ "$(grep -c '\*: connect from ' "$TMP/sink.log")" -eq "$n" ]; then
	pass
else
	fail "a bad --source-ip connected"
fi
# a well-formed address that is not this host's: bind() fails, EADDRNOTAVAIL
expect 68 "--source-ip 192.0.2.1 (not this host's)" -- send --server "$U" --from a@x.test \
	--to b@ok.test --source-ip 192.0.2.1
has err "Cannot assign requested address" "--source-ip 192.0.2.1: the reason"
expect 68 "probe --source-ip 192.0.2.1 --json" -- probe --server "$U" --source-ip 192.0.2.1 --json
json_check 'd["exit"] == 68 and "Cannot assign requested address" in d["error"]["message"]' "probe --source-ip 192.0.2.1: the JSON error"
printf 'server %s\nsource-ip nowhere\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf expect 78 "source-ip key not an address" -- send --from a@x.test \
	--to b@ok.test
has err "invalid value for 'source-ip'" "source-ip key: file and line"
STDIN=/dev/null

# ---------------------------------------------------------------- sendmail: Date, Message-ID, From
# sm WANT DESC -- ARGS...: the sendmail link, $STDIN through a pipe.
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

# delivered EXPR DESC: the last line of deliveries.jsonl is d, the stored bytes m, the
# header block hdr (a list of unfolded fields), EXPR holds; re, email.utils and the
# input file (sys.argv[3], bytes in i) are at hand.
delivered() {
	if "$PYTHON" -c 'import json, re, sys, email.utils, datetime
d = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[-1])
m = open(d["file"], "rb").read()
i = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""
hdr = m.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
def field(name):
    return [h.split(":", 1)[1].strip() for h in hdr if h.split(":", 1)[0].lower() == name.lower()]
assert eval(sys.argv[2]), (sys.argv[2], m[:600])' "$TMP/sink.maildir/deliveries.jsonl" "$1" \
		${3:+"$3"} 2>"$TMP/pyerr"; then
		pass
	else
		fail "$2: $(tail -1 "$TMP/pyerr")"
	fi
}

HOST=$("$PYTHON" -c 'import socket
h = socket.gethostname()
try:
    c = socket.getaddrinfo(h, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)[0][3]
except OSError:
    c = ""
print(c if "." in c else h)')
ME=$(id -un)@$HOST
printf 'To: b@ok.test\nSubject: bare\nBcc: hidden@ok.test\n\nbody\n' >"$TMP/bare.txt"
STDIN=$TMP/bare.txt
export SMTPC_SERVER="$U"
TZ=XYZ-5:30 sm 0 "a message without Date, Message-ID, From" -- b@ok.test
delivered 'len(field("Date")) == 1 and len(field("Message-ID")) == 1 and len(field("From")) == 1' "exactly one Date, Message-ID and From"
delivered 'hdr[:3] == [h for h in hdr if h.split(":")[0] in ("Date", "Message-ID", "From")] and hdr[3:] == ["To: b@ok.test", "Subject: bare"] and m.endswith(b"\r\n\r\nbody\r\n")' "added at the top of the header block, Bcc removed, the rest unchanged"
delivered 're.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0530", field("Date")[0]) and abs((email.utils.parsedate_to_datetime(field("Date")[0]) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 120' "Date: RFC 5322, local time (TZ +0530), now"
delivered "re.fullmatch(r'<[0-9a-f]{32}\.[0-9a-f]+@' + re.escape('$HOST') + r'>', field('Message-ID')[0])" "Message-ID: <128 random bits.time@$HOST>"
delivered "field('From') == ['$ME']" "From: the default sender"
delivered 'True' "remember the first Message-ID" && first=$("$PYTHON" -c 'import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for l in open(d["file"], "rb").read().split(b"\r\n"):
    if l.startswith(b"Message-ID: "):
        print(l.decode())' "$TMP/sink.maildir/deliveries.jsonl")
TZ=UTC sm 0 "a second message" -- b@ok.test
delivered "field('Message-ID')[0] != '${first#Message-ID: }' and field('Date')[0].endswith(' +0000')" "a new Message-ID each time; TZ=UTC: +0000"
sm 0 "-f and -F" -- -f 'al.ice@x.test' -F 'Alice "A" Smith' b@ok.test
delivered "field('From') == ['\"Alice \\\\\"A\\\\\" Smith\" <al.ice@x.test>'] and m.count(b'From:') == 1" "-F: one From with the name quoted"
printf 'server %s\ndomain example.test\n' "$U" >"$TMP/domain.conf"
SMTPC_CONFIG=$TMP/domain.conf sm 0 "with a domain" -- b@ok.test
delivered "field('Message-ID')[0].endswith('@example.test>') and field('From') == ['$(id -un)@example.test']" "with a domain: Message-ID and From at the domain"
sm 0 "the null sender: no From" -- -f '' b@ok.test
delivered "field('From') == [] and len(field('Date')) == 1 and len(field('Message-ID')) == 1" "-f '': Date and Message-ID, no From"

# A message that has them arrives with its own, byte for byte (any case of the names).
printf 'From: Alice <alice@x.test>\r\nTo: b@ok.test\r\nDATE: Thu, 01 Jan 2026 00:00:00 -0100\r\nmessage-id: <own@x.test>\r\nSubject: own\r\n\r\nbody\r\n' >"$TMP/own.txt"
STDIN=$TMP/own.txt
sm 0 "a message with Date, Message-ID, From" -- b@ok.test
delivered 'm == i' "its own fields, unchanged byte for byte" "$TMP/own.txt"
printf 'From: Alice <alice@x.test>\nSubject: partial\n\nbody\n' >"$TMP/partial.txt"
STDIN=$TMP/partial.txt
sm 0 "a message with From only" -- b@ok.test
delivered 'len(field("Date")) == 1 and len(field("Message-ID")) == 1 and field("From") == ["Alice <alice@x.test>"] and hdr[2:] == ["From: Alice <alice@x.test>", "Subject: partial"]' "From kept, Date and Message-ID added"
# No header block: the fields, then an empty line, then the text.
printf 'just text, no header\n' >"$TMP/text.txt"
STDIN=$TMP/text.txt
sm 0 "a message without a header block" -- b@ok.test
delivered 'len(hdr) == 3 and m.endswith(b"\r\n\r\njust text, no header\r\n") and len(field("From")) == 1' "no header block: the fields and an empty line before the text"
# Nothing of an argument reaches a header raw.
STDIN=$TMP/bare.txt
n=$(wc -l <"$TMP/sink.maildir/deliveries.jsonl")
sm 65 "-f with CR LF" -- -f "$(printf 'a@x.test\r\nBcc: evil@ok.test')" b@ok.test
sm 64 "-F with CR LF" -- -F "$(printf 'Name\r\nBcc: evil@ok.test')" b@ok.test
if [ "$(wc -l <"$TMP/sink.maildir/deliveries.jsonl")" -eq "$n" ]; then pass; else fail "CR LF in -f or -F: delivered"; fi
# smtpc send changes nothing.
"$SMTPC" send --from a@x.test --to b@ok.test "$TMP/bare.txt" >"$TMP/out" 2>"$TMP/err" || fail "smtpc send: exit $?"
delivered 'm == i.replace(b"\n", b"\r\n")' "smtpc send adds nothing" "$TMP/bare.txt"
unset SMTPC_SERVER
STDIN=/dev/null

# ---------------------------------------------------------------- --log, --syslog
# logline EXPR DESC: the last line of $TMP/smtpc.log, parsed into f (key=value; a quoted
# value is kept as written, quotes and escapes included), its raw bytes in b; EXPR holds.
logline() {
	if "$PYTHON" -c 'import re, sys, datetime
b = open(sys.argv[1], "rb").read().split(b"\n")[-2]
line = b.decode("ascii")
ts, rest = line.split(" ", 1)
f = {"time": ts}
for k, v in re.findall(r"([a-z-]+)=(\"(?:[^\"\\]|\\.)*\"|\S+)", rest):
    f[k] = v
now = datetime.datetime.now(datetime.timezone.utc)
t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
assert abs((now - t).total_seconds()) < 120, ts
assert eval(sys.argv[2]), (sys.argv[2], line)' "$TMP/smtpc.log" "$1" 2>"$TMP/pyerr"; then
		pass
	else
		fail "$2: $(tail -1 "$TMP/pyerr")"
	fi
}
STDIN=$TMP/msg.txt
P=${U##*:}
expect 0 "--log: a delivery" -- send --server "$U" --from a@x.test --to b@ok.test \
	--log "$TMP/smtpc.log"
logline 'f["server"] == "smtp://127.0.0.1:'$P'" and f["from"] == "<a@x.test>" and f["to"] == "<b@ok.test>" and "not-accepted" not in f and f["size"] == str(len(open("'$TMP/msg.txt'", "rb").read())) and re.fullmatch(r"\"250 2\.0\.0 Ok: queued as [0-9A-F]+\"", f["reply"]) and f["outcome"] == "accepted" and f["exit"] == "0"' "--log: the fields of a delivery"
lines_before=$(wc -l <"$TMP/smtpc.log")
expect 69 "--log: a refused recipient" -- send --server "$U" --from a@x.test --to c@reject.test \
	--log "$TMP/smtpc.log"
logline 'f["to"] == "<c@reject.test>" and f["not-accepted"] == "<c@reject.test>" and f["reply"].startswith("\"550 5.1.1 ") and f["size"] == "0" and f["outcome"] == "refused" and f["exit"] == "69"' "--log: a refused recipient"
expect 69 "--log: one of two refused" -- send --server "$U" --from a@x.test \
	--to b@ok.test,c@reject.test --log "$TMP/smtpc.log"
logline 'f["to"] == "<b@ok.test>,<c@reject.test>" and f["not-accepted"] == "<c@reject.test>" and f["reply"].startswith("\"250 ") and f["outcome"] == "partial" and f["exit"] == "69"' "--log: partial"
expect 75 "--log: nobody listening" -- send --server smtp://127.0.0.1:1 --from a@x.test \
	--to b@ok.test --log "$TMP/smtpc.log"
logline 'f["server"] == "smtp://127.0.0.1:1" and f["reply"] == "-" and "Connection refused" in f["error"] and f["outcome"] == "failed" and f["exit"] == "75"' "--log: a failed connection"
if [ "$(wc -l <"$TMP/smtpc.log")" -eq $((lines_before + 3)) ]; then pass; else fail "--log: one line per message"; fi
# Never credentials (the URL takes none: the server field is scheme, host and port).
if [ -n "$PYTHON" ]; then
	"$PYTHON" "$HERE/fake-server.py" auth "$TMP/auth.port" 2>"$TMP/auth.log" &
	PIDS="$PIDS $!"
	wait_file "$TMP/auth.port" || fail "fake-server.py did not start"
	PW=$(printf 'p\303\244ssw\303\266rd 1') expect 0 "--log with AUTH" -- send \
		--server "smtp://127.0.0.1:$(cat "$TMP/auth.port")" --user alice --password-env PW \
		--starttls never --allow-plaintext-auth --from a@x.test --to b@ok.test \
		--log "$TMP/smtpc.log"
	logline 'f["outcome"] == "accepted" and b"ssw" not in b and b"alice" not in b and b"AUTH" not in b' "--log: no credentials"
fi
expect 73 "--log: a log that cannot be opened" -- send --server "$U" --from a@x.test \
	--to b@ok.test --log "$TMP/no/such/dir/log"
has err "cannot open the log" "--log: the message"
n=$(grep -c '\*: connect from ' "$TMP/sink.log")
if [ "$(grep -c '\*: connect from ' "$TMP/sink.log")" -eq "$n" ]; then pass; else fail "--log unopenable: connected"; fi
expect 64 "--log is not an option of probe" -- probe --server "$U" --log "$TMP/smtpc.log"
expect 64 "--syslog is not an option of probe" -- probe --server "$U" --syslog
expect 64 "--log ''" -- send --server "$U" --from a@x.test --to b@ok.test --log ''
# the file is created 0600 and appended to (O_APPEND)
rm -f "$TMP/new.log"
expect 0 "--log: a new file" -- send --server "$U" --from a@x.test --to b@ok.test --log "$TMP/new.log"
if [ "$(stat -c %a "$TMP/new.log")" = 600 ]; then pass; else fail "--log: mode $(stat -c %a "$TMP/new.log")"; fi
expect 0 "--log: again" -- send --server "$U" --from a@x.test --to b@ok.test --log "$TMP/new.log"
lines new.log 2 "--log appends"
# The server's text is untrusted: no raw control or non-ASCII byte in the log.
if [ -n "$PYTHON" ]; then
	"$PYTHON" "$HERE/fake-server.py" dot-esc "$TMP/fake.port" 2>"$TMP/fake.log" &
	PIDS="$PIDS $!"
	wait_file "$TMP/fake.port" || fail "fake-server.py did not start"
	expect 0 "--log: a reply with ESC" -- send --server "smtp://127.0.0.1:$(cat "$TMP/fake.port")" \
		--from a@x.test --to b@ok.test --log "$TMP/smtpc.log"
	cat >"$TMP/esc.expected" <<'EOT'
"250 2.0.0 queued \x1b[31mred\x1b[0m \"q\" \\ caf\xc3\xa9 \xff"
EOT
	logline 'f["reply"] == open("'"$TMP/esc.expected"'").read().strip() and all(0x20 <= c <= 0x7e for c in b)' "--log: ESC, quote, backslash and 8-bit bytes escaped"
fi
# the sendmail mode: the log and syslog keys
printf 'server %s\nlog %s\nsyslog yes\n' "$U" "$TMP/smtpc.log" >"$TMP/log.conf"
STDIN=$TMP/bare.txt
SMTPC_CONFIG=$TMP/log.conf sm 0 "sendmail mode: the log key" -- -f a@x.test b@ok.test
logline 'f["from"] == "<a@x.test>" and f["to"] == "<b@ok.test>" and f["outcome"] == "accepted" and int(f["size"]) > len(open("'$TMP/bare.txt'", "rb").read())' "sendmail mode: logged (size with the added fields)"
SMTPC_CONFIG=$TMP/log.conf expect 0 "smtpc send: the log key" -- send --from a@x.test \
	--to b@ok.test "$TMP/msg.txt"
logline 'f["outcome"] == "accepted" and f["size"] == str(len(open("'$TMP/msg.txt'", "rb").read()))' "smtpc send: the log key"
printf 'server %s\nsyslog maybe\n' "$U" >"$TMP/badsys.conf"
SMTPC_CONFIG=$TMP/badsys.conf sm 78 "syslog maybe" -- b@ok.test
printf 'server %s\nlog %s\n' "$U" "$TMP/no/such/dir/log" >"$TMP/badlog.conf"
SMTPC_CONFIG=$TMP/badlog.conf sm 73 "sendmail mode: a log that cannot be opened" -- b@ok.test
STDIN=/dev/null

echo "test-cli-msmtp: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
