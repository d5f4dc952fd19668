#!/bin/sh
# test-cli-msg.sh - end-to-end tests of how smtpc send takes its message:
# streaming from FILE and standard input (50 MB, byte for byte, peak RSS),
# -t (envelope from the headers, Bcc removed, Resent blocks), -f, the
# sendmail mode (a symlink named sendmail, SMTPC_SERVER and the
# configuration file), DSN options, --8bit, --no-pipelining, --no-chunking
# and --progress; against smtpc-sink on loopback only.
#
# usage: tests/cli/test-cli-msg.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3 (deliveries.jsonl, the pseudo-terminal); GNU time (/usr/bin/time)
# for the RSS figure. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=msg
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"
# The sendmail mode must not read this machine's /etc/smtpc.conf.
: >"$TMP/empty.conf"
export SMTPC_CONFIG="$TMP/empty.conf"
unset SMTPC_SERVER

# start_sink NAME ARGS...: starts smtpc-sink storing in $TMP/NAME.maildir; sets PORT.
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

# deliveries NAME: the number of messages sink NAME stored.
deliveries() {
	if [ -f "$TMP/$1.maildir/deliveries.jsonl" ]; then
		wc -l <"$TMP/$1.maildir/deliveries.jsonl"
	else
		echo 0
	fi
}

# delivered NAME EXPR DESC: the last line of sink NAME's deliveries.jsonl is d, the
# stored bytes are m, and the Python expression EXPR holds; the bytes go to $TMP/last.eml.
delivered() {
	if "$PYTHON" -c 'import json, sys
d = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[-1])
m = open(d["file"], "rb").read()
open(sys.argv[3], "wb").write(m)
assert eval(sys.argv[2]), sys.argv[2]' "$TMP/$1.maildir/deliveries.jsonl" "$2" "$TMP/last.eml" \
		2>"$TMP/pyerr"; then
		pass
	else
		fail "$3: $(tail -1 "$TMP/pyerr")"
	fi
}

# same_bytes EXPECTED DESC: $TMP/last.eml holds exactly the bytes of file EXPECTED.
same_bytes() {
	if cmp -s "$1" "$TMP/last.eml"; then
		pass
	else
		fail "$2: the stored message differs from $1: $(cmp "$1" "$TMP/last.eml" 2>&1)"
	fi
}

# sm_bytes EXPECTED DESC: $TMP/last.eml is a Date: and a Message-ID: line (which the
# sendmail mode adds to a message without them) and then exactly the bytes of EXPECTED.
sm_bytes() {
	if "$PYTHON" -c 'import re, sys
m = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read()
added = re.match(rb"Date: [^\r\n]+\r\nMessage-ID: <[0-9a-f]{32}\.[0-9a-f]+@[^\r\n>]+>\r\n", m)
assert added, m[:200]
assert m[added.end():] == want, (m[:300], want[:300])' "$TMP/last.eml" "$1" 2>"$TMP/pyerr"; then
		pass
	else
		fail "$2: $(tail -1 "$TMP/pyerr")"
	fi
}

# crlf IN OUT: OUT is IN with every LF made CRLF (IN has LF line endings only).
crlf() {
	sed 's/$/\r/' "$1" >"$2"
}

start_sink main --size 0
[ "$PORT" -ne 0 ] || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$PORT"

# ---------------------------------------------------------------- usage
printf 'From: a@x.test\nTo: b@ok.test\n\nhi\n' >"$TMP/small.txt"
expect 64 "no --from without -t" -- send --server "$U" --to a@ok.test "$TMP/small.txt"
has err "or -t to take it from the headers" "no --from without -t"
expect 64 "no --to without -t" -- send --server "$U" -f a@x.test "$TMP/small.txt"
expect 66 "-t parses without --from and --to" -- send --server "$U" -t "$TMP/nope"
expect 66 "--read-recipients" -- send --server "$U" --read-recipients "$TMP/nope"
expect 64 "-t on probe" -- probe --server "$U" -t
expect 64 "--progress on probe" -- probe --server "$U" --progress
for bad in '' bogus 'never,success' 'success,,failure' 'success,' 'SUCCESS FAILURE'; do
	expect 64 "--dsn-notify '$bad'" -- send --server "$U" -f a --to b --dsn-notify "$bad" "$TMP/small.txt"
	lines err 1 "--dsn-notify '$bad'"
done
expect 64 "--dsn-notify twice" -- send --server "$U" -f a --to b --dsn-notify never \
	--dsn-notify never "$TMP/small.txt"
expect 64 "--dsn-ret bogus" -- send --server "$U" -f a --to b --dsn-ret body "$TMP/small.txt"
expect 64 "--envid ''" -- send --server "$U" -f a --to b --envid '' "$TMP/small.txt"
expect 64 "--envid too long" -- send --server "$U" -f a --to b \
	--envid "$(printf '%0101d' 0)" "$TMP/small.txt"
expect 64 "--envid control character" -- send --server "$U" -f a --to b \
	--envid "$(printf 'a\tb')" "$TMP/small.txt"
expect 64 "--8bit bogus" -- send --server "$U" -f a --to b --8bit maybe "$TMP/small.txt"
expect 64 "--8bit twice" -- send --server "$U" -f a --to b --8bit send --8bit send "$TMP/small.txt"
expect 64 "--no-chunking=yes" -- send --server "$U" -f a --to b --no-chunking=yes "$TMP/small.txt"
expect 66 "a directory as FILE, before connecting" -- send --server smtp://127.0.0.1:1 -f a --to b "$TMP"
has err "Is a directory" "a directory as FILE"
STDIN=$TMP expect 66 "a directory as standard input" -- send --server smtp://127.0.0.1:1 -f a --to b
STDIN=/dev/null
# A regular file that fails while it is read (offset 0 of /proc/self/mem is EIO): the message
# could not be read, the network is not to blame: 66, nothing delivered (was 75).
if [ -r /proc/self/mem ]; then
	before=$(deliveries main)
	for how in '' -t; do
		expect 66 "read error on a regular file $how" -- send --server "$U" -f a@x.test \
			--to b@ok.test $how /proc/self/mem
		has err "smtpc: cannot read /proc/self/mem: Input/output error" "read error $how"
	done
	expect 66 "read error on a regular file --json" -- send --server "$U" -f a@x.test \
		--to b@ok.test --json /proc/self/mem
	json_check 'd["exit"] == 66 and d["accepted"] == [] and d["error"]["message"].startswith("cannot read /proc/self/mem")' "read error --json"
	[ "$(deliveries main)" -eq "$before" ] && pass || fail "read error: something was stored"
fi

# ---------------------------------------------------------------- -t: To, Cc, Bcc
printf '%s\n' 'From: Alice <alice@x.test>' 'To: Bob <bob@ok.test>, carol@ok.test' \
	'Subject: -t test' 'Bcc: "Eve, E." <eve@ok.test>,' '  frank@ok.test' \
	'Cc: (team) dave@ok.test' 'bcc: grace@ok.test' 'X-Other: kept' '' 'body' '.leading dot' \
	'Bcc: not a header' >"$TMP/t.txt"
printf '%s\n' 'From: Alice <alice@x.test>' 'To: Bob <bob@ok.test>, carol@ok.test' \
	'Subject: -t test' 'Cc: (team) dave@ok.test' 'X-Other: kept' '' 'body' '.leading dot' \
	'Bcc: not a header' >"$TMP/t.want"
crlf "$TMP/t.want" "$TMP/t.want.crlf"
expect 0 "-t" -- send --server "$U" -t "$TMP/t.txt"
has out "accepted bob@ok.test: 250" "-t"
has out "accepted eve@ok.test: 250" "-t"
lines out 6 "-t" # the second bcc field counts too: no recipient is skipped
# smtplib's order: To, Bcc and Cc fields, in that order; every field of each, so the second
# bcc field is read too (smtplib only removes it: grace would get nothing)
delivered main 'd["mail_from"] == "alice@x.test" and d["rcpt_to"] == ["bob@ok.test", "carol@ok.test", "eve@ok.test", "frank@ok.test", "grace@ok.test", "dave@ok.test"]' "-t envelope"
same_bytes "$TMP/t.want.crlf" "-t: Bcc removed, every other byte unchanged"
expect 0 "-t --json" -- send --server "$U" -t --json "$TMP/t.txt"
json_check 'd["accepted"] == ["bob@ok.test", "carol@ok.test", "eve@ok.test", "frank@ok.test", "grace@ok.test", "dave@ok.test"] and d["exit"] == 0' "-t --json"
STDIN=$TMP/t.txt expect 0 "-t from standard input" -- send --server "$U" -t
STDIN=/dev/null
same_bytes "$TMP/t.want.crlf" "-t from standard input"
# --to replaces the header recipients (smtplib's explicit to_addrs); Bcc is still removed
expect 0 "-t with --to" -- send --server "$U" -t --to x@ok.test "$TMP/t.txt"
lines out 1 "-t with --to"
delivered main 'd["mail_from"] == "alice@x.test" and d["rcpt_to"] == ["x@ok.test"]' "-t with --to"
same_bytes "$TMP/t.want.crlf" "-t with --to: Bcc removed"
expect 0 "-t with -f" -- send --server "$U" -t -f bounce@x.test "$TMP/t.txt"
delivered main 'd["mail_from"] == "bounce@x.test" and len(d["rcpt_to"]) == 6' "-t with -f"
expect 0 "-t with --from ''" -- send --server "$U" -t --from '' "$TMP/t.txt"
delivered main 'd["mail_from"] == ""' "-t with --from ''"
# without -t nothing in the message is read or changed: Bcc stays
expect 0 "-f without -t" -- send --server "$U" -f s@x.test --to a@ok.test "$TMP/t.txt"
delivered main 'd["mail_from"] == "s@x.test" and d["rcpt_to"] == ["a@ok.test"]' "-f without -t"
crlf "$TMP/t.txt" "$TMP/t.crlf"
same_bytes "$TMP/t.crlf" "-f without -t: the message unchanged"
printf '%s\n' 'Sender: secretary@x.test' 'From: boss@x.test, other@x.test' 'To: a@ok.test' '' \
	'x' >"$TMP/sender.txt"
expect 0 "-t with Sender" -- send --server "$U" -t "$TMP/sender.txt"
delivered main 'd["mail_from"] == "secretary@x.test" and d["rcpt_to"] == ["a@ok.test"]' "-t with Sender"

# ---------------------------------------------------------------- -t: hostile headers (issue 9)
# a bare CR ends a line for the header scanner as for the encoder: the Bcc is seen and removed
printf 'From: a@x.test\nTo: bob@ok.test\nSubject: report\rBcc: boss@ok.test\n\nbody\n' >"$TMP/cr.txt"
expect 0 "-t: Bcc after a bare CR" -- send --server "$U" -t "$TMP/cr.txt"
delivered main 'd["rcpt_to"] == ["bob@ok.test", "boss@ok.test"] and b"Bcc" not in m and b"boss" not in m' \
	"-t: Bcc after a bare CR is a recipient, and removed"
# a missing comma, or a NUL in an element: an error naming the field, nothing sent (65)
n=$(deliveries main)
printf 'From: a@x.test\nTo: x@ok.test\nCc: alice@ok.test bob@ok.test\n\nbody\n' >"$TMP/comma.txt"
expect 65 "-t: Cc with a missing comma" -- send --server "$U" -t "$TMP/comma.txt"
has err 'Cc: "alice@ok.test bob@ok.test" is not an address' "-t: the field and the element named"
printf 'From: a@x.test\nTo: x@ok.test, b\0b@ok.test\n\nbody\n' >"$TMP/nul.txt"
expect 65 "-t: a NUL in To" -- send --server "$U" -t "$TMP/nul.txt"
has err 'control character' "-t: a NUL in To is named"
[ "$(deliveries main)" = "$n" ] && pass || fail "-t: malformed recipients: nothing delivered"
# ESMTP parameters inside an address (item 1): refused before connecting, nothing sent
expect 65 "--from with parameters inside" -- send --server "$U" -f '<me@x.test> RET=HDRS ENVID=inj' \
	--to b@ok.test "$TMP/cr.txt"
has err 'not exactly one address' "--from with parameters inside"
expect 65 "--to with parameters inside" -- send --server "$U" -f me@x.test \
	--to '<a@ok.test> NOTIFY=SUCCESS ORCPT=rfc822;spy@evil.example' "$TMP/cr.txt"
expect 65 "--to with a bracket and a parameter" -- send --server "$U" -f me@x.test \
	--to 'victim@ok.test> NOTIFY=SUCCESS' "$TMP/cr.txt"
[ "$(deliveries main)" = "$n" ] && pass || fail "parameters inside addresses: nothing delivered"
# 8-bit header text needs 8BITMIME, not SMTPUTF8: a server without SMTPUTF8 takes it
start_sink no8 --ext PIPELINING,8BITMIME
U8="smtp://127.0.0.1:$PORT"
printf 'From: a@x.test\nTo: b@ok.test\nSubject: Gr\303\274\303\237e\n\nbody\n' >"$TMP/utf8subj.txt"
expect 0 "-t: UTF-8 Subject without SMTPUTF8" -- send --server "$U8" -t --debug "$TMP/utf8subj.txt"
has err 'MAIL FROM:<a@x.test> BODY=8BITMIME' "-t: UTF-8 Subject goes with BODY=8BITMIME"
hasnt err 'SMTPUTF8' "-t: UTF-8 Subject does not ask for SMTPUTF8"

# ---------------------------------------------------------------- -t: Resent blocks
printf '%s\n' 'Resent-From: holy@grail.test' 'Resent-To: arthur@ok.test' \
	'Resent-Bcc: lancelot@ok.test' 'Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000' \
	'From: foo@bar.test' 'To: john@ok.test' 'Bcc: root@ok.test' '' 'grail' >"$TMP/resent.txt"
printf '%s\n' 'Resent-From: holy@grail.test' 'Resent-To: arthur@ok.test' \
	'Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000' 'From: foo@bar.test' 'To: john@ok.test' '' \
	'grail' >"$TMP/resent.want"
crlf "$TMP/resent.want" "$TMP/resent.want.crlf"
expect 0 "-t with a Resent block" -- send --server "$U" -t "$TMP/resent.txt"
delivered main 'd["mail_from"] == "holy@grail.test" and d["rcpt_to"] == ["arthur@ok.test", "lancelot@ok.test"]' "Resent envelope"
same_bytes "$TMP/resent.want.crlf" "Resent: Bcc and Resent-Bcc removed"
printf '%s\n' 'Resent-From: one@x.test' 'Resent-To: a@ok.test' 'Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000' \
	'Resent-From: two@x.test' 'Resent-To: b@ok.test' 'Resent-Date: Tue, 2 Jan 2024 00:00:00 +0000' \
	'From: foo@bar.test' 'To: john@ok.test' '' 'x' >"$TMP/resent2.txt"
before=$(deliveries main)
expect 65 "-t with two Resent blocks" -- send --server "$U" -t --debug "$TMP/resent2.txt"
has err "several Resent- blocks" "two Resent blocks"
hasnt err "send: MAIL" "two Resent blocks: nothing sent"
lines out 0 "two Resent blocks"
expect 65 "-t with two Resent blocks --json" -- send --server "$U" -t --json "$TMP/resent2.txt"
json_check 'd["error"]["kind"] == "ValueError" and d["accepted"] == [] and d["refused"] == [] and d["mail"] is None and d["exit"] == 65' "two Resent blocks --json"
[ "$(deliveries main)" -eq "$before" ] && pass || fail "two Resent blocks: something was stored"
# smtpc_send_message() refuses several Resent blocks even with an explicit envelope, as
# smtplib's send_message does; without -t the message goes as it is
expect 65 "two Resent blocks with --from and --to" \
	-- send --server "$U" -t -f s@x.test --to a@ok.test "$TMP/resent2.txt"
expect 0 "two Resent blocks without -t" \
	-- send --server "$U" -f s@x.test --to a@ok.test "$TMP/resent2.txt"
printf 'Subject: nobody\n\nx\n' >"$TMP/norcpt.txt"
expect 65 "-t without recipients in the headers" -- send --server "$U" -t -f s@x.test "$TMP/norcpt.txt"
has err "no recipient" "-t without recipients"

# ---------------------------------------------------------------- DSN
expect 0 "DSN options" -- send --server "$U" -f s@x.test --to 'Bob <b@ok.test>',c@ok.test \
	--dsn-notify success,FAILURE --dsn-ret hdrs --envid 'id+1=a b' "$TMP/small.txt"
delivered main '"RET=HDRS" in d["mail_options"] and "ENVID=id+2B1+3Da+20b" in d["mail_options"] and d["rcpt_options"] == [["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b@ok.test"], ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;c@ok.test"]]' "DSN options"
expect 0 "--dsn-notify never, --dsn-ret full" -- send --server "$U" -f s@x.test --to a@ok.test \
	--dsn-notify never --dsn-ret FULL "$TMP/small.txt"
delivered main '"RET=FULL" in d["mail_options"] and not any(o.startswith("ENVID") for o in d["mail_options"]) and d["rcpt_options"] == [["NOTIFY=NEVER", "ORCPT=rfc822;a@ok.test"]]' "--dsn-notify never"
expect 0 "--dsn-notify delay with -t" -- send --server "$U" -t --dsn-notify delay "$TMP/small.txt"
delivered main 'd["rcpt_options"] == [["NOTIFY=DELAY"]]' "--dsn-notify with -t: no ORCPT"
start_sink nodsn --ext PIPELINING,8BITMIME,ENHANCEDSTATUSCODES
expect 69 "DSN without the server's DSN" -- send --server "smtp://127.0.0.1:$PORT" -f s@x.test \
	--to a@ok.test --envid x1 "$TMP/small.txt"
has err "does not offer DSN" "DSN without DSN"
has err "smtpc: hint: this server does not offer DSN" "DSN without DSN"
[ "$(deliveries nodsn)" -eq 0 ] && pass || fail "DSN without DSN: something was stored"

# ---------------------------------------------------------------- UTF-8 addresses (RFC 6531)
# --to and --from may be UTF-8, as -t takes them from the headers: MAIL asks for SMTPUTF8
expect 0 "--to UTF-8" -- send --server "$U" -f s@x.test --to "$(printf 'j\303\266@ok.test')" "$TMP/small.txt"
delivered main 'd["rcpt_to"] == ["j\u00f6@ok.test"] and "SMTPUTF8" in d["mail_options"] and "BODY=8BITMIME" in d["mail_options"]' "--to UTF-8: SMTPUTF8"
expect 0 "--from UTF-8" -- send --server "$U" -f "$(printf 'J\303\266 <j\303\266@x.test>')" --to a@ok.test "$TMP/small.txt"
delivered main 'd["mail_from"] == "j\u00f6@x.test" and "SMTPUTF8" in d["mail_options"]' "--from UTF-8: SMTPUTF8"
expect 0 "ASCII addresses" -- send --server "$U" -f s@x.test --to a@ok.test "$TMP/small.txt"
delivered main '"SMTPUTF8" not in d["mail_options"]' "ASCII addresses: no SMTPUTF8"
start_sink noutf8 --ext PIPELINING,8BITMIME,ENHANCEDSTATUSCODES
expect 69 "--to UTF-8, no SMTPUTF8" -- send --server "smtp://127.0.0.1:$PORT" -f s@x.test \
	--to "$(printf 'j\303\266@ok.test')" "$TMP/small.txt"
has err "need SMTPUTF8" "--to UTF-8, no SMTPUTF8"
[ "$(deliveries noutf8)" -eq 0 ] && pass || fail "--to UTF-8, no SMTPUTF8: something was stored"
# not UTF-8, or a character that hides what the address is: refused before connecting
for bad in '\377@ok.test' 'a\303@ok.test' 'a\302\205@ok.test' 'a\342\200\256@ok.test' \
	'a\342\201\246@ok.test' 'a\340\200\257@ok.test'; do
	expect 65 "--to '$bad'" -- send --server smtp://127.0.0.1:1 -f s@x.test --to "$(printf "$bad")" \
		"$TMP/small.txt"
	has err "invalid address" "--to '$bad'"
done
expect 65 "--from not UTF-8" -- send --server smtp://127.0.0.1:1 -f "$(printf 'a\377@x.test')" \
	--to a@ok.test "$TMP/small.txt"

# ---------------------------------------------------------------- --8bit, pipelining, chunking
printf 'Subject: 8bit\n\ncaf\303\251\n' >"$TMP/8bit.txt"
crlf "$TMP/8bit.txt" "$TMP/8bit.crlf"
start_sink no8bit --ext PIPELINING,ENHANCEDSTATUSCODES
N8=$PORT
expect 69 "8-bit message, no 8BITMIME: refused by default" -- send --server "smtp://127.0.0.1:$N8" \
	-f s@x.test --to a@ok.test "$TMP/8bit.txt"
has err "8-bit" "8-bit refused"
expect 69 "--8bit refuse" -- send --server "smtp://127.0.0.1:$N8" -f s@x.test --to a@ok.test \
	--8bit refuse "$TMP/8bit.txt"
[ "$(deliveries no8bit)" -eq 0 ] && pass || fail "--8bit refuse: something was stored"
expect 0 "--8bit send" -- send --server "smtp://127.0.0.1:$N8" -f s@x.test --to a@ok.test \
	--8bit send "$TMP/8bit.txt"
delivered no8bit '"BODY=8BITMIME" not in d["mail_options"]' "--8bit send"
same_bytes "$TMP/8bit.crlf" "--8bit send"
expect 0 "CHUNKING by default" -- send --server "$U" -f s@x.test --to a@ok.test "$TMP/small.txt"
delivered main 'd["transfer"] == "bdat"' "CHUNKING by default"
expect 0 "--no-chunking" -- send --server "$U" -f s@x.test --to a@ok.test --no-chunking "$TMP/t.txt"
delivered main 'd["transfer"] == "data"' "--no-chunking"
same_bytes "$TMP/t.crlf" "--no-chunking: dot-stuffing undone"
# PIPELINING: RCPT goes out before the reply to MAIL; --no-pipelining: one at a time
expect 0 "pipelining" -- send --server "$U" -f s@x.test --to a@ok.test --debug "$TMP/small.txt"
grep -A1 '^send: MAIL FROM' "$TMP/err" | tail -1 | grep -q '^send: RCPT' && pass ||
	fail "pipelining: MAIL and RCPT not in one flight"
expect 0 "--no-pipelining" -- send --server "$U" -f s@x.test --to a@ok.test --no-pipelining \
	--debug "$TMP/small.txt"
grep -A1 '^send: MAIL FROM' "$TMP/err" | tail -1 | grep -q '^reply: 250' && pass ||
	fail "--no-pipelining: RCPT sent before the reply to MAIL"

# ---------------------------------------------------------------- sendmail mode
mkdir -p "$TMP/bin"
ln -s "$SMTPC" "$TMP/bin/sendmail"
SM=$TMP/bin/sendmail
# sm ARGS...: the sendmail link with stdin from $STDIN through a pipe; RC, out, err
sm() {
	cat "${STDIN:-/dev/null}" | "$SM" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}
# smx WANT DESC -- ARGS...: sm, and checks the exit status and the sanitizers
smx() {
	want=$1
	desc=$2
	shift 3
	sm "$@"
	if [ "$RC" -ne "$want" ]; then
		fail "$desc: exit $RC, expected $want"
	elif grep -q Sanitizer "$TMP/err"; then
		fail "$desc: sanitizer report"
	else
		pass
	fi
}
export SMTPC_SERVER="$U"
STDIN=$TMP/t.txt
smx 0 "sendmail -t -i -oi -f" -- -t -i -oi -f bounce@x.test
lines out 0 "sendmail: quiet on success"
lines err 0 "sendmail: quiet on success"
delivered main 'd["mail_from"] == "bounce@x.test" and d["rcpt_to"] == ["bob@ok.test", "carol@ok.test", "eve@ok.test", "frank@ok.test", "grace@ok.test", "dave@ok.test"]' "sendmail -t"
sm_bytes "$TMP/t.want.crlf" "sendmail -t: Bcc removed"
n=$(deliveries main)
STDIN=$TMP/comma.txt
smx 65 "sendmail -t: Cc with a missing comma (issue 9)" -- -t -i
has err 'Cc: "alice@ok.test bob@ok.test" is not an address' "sendmail -t: the element named"
[ "$(deliveries main)" = "$n" ] && pass || fail "sendmail -t: malformed Cc: nothing delivered"
STDIN=$TMP/t.txt
smx 0 "sendmail RECIPIENT..." -- -oi zed@ok.test 'Yan <yan@ok.test>'
delivered main 'd["mail_from"] == "alice@x.test" and d["rcpt_to"] == ["zed@ok.test", "yan@ok.test"]' "sendmail RECIPIENT..."
sm_bytes "$TMP/t.want.crlf" "sendmail RECIPIENT...: Bcc removed"
smx 0 "sendmail -ti -fSENDER -- RECIPIENT" -- -ti -fbounce@x.test -bm -- only@ok.test
delivered main 'd["mail_from"] == "bounce@x.test" and d["rcpt_to"] == ["only@ok.test"]' "sendmail -t with arguments: they replace the headers'"
smx 69 "sendmail, a refused recipient" -- -f s@x.test a@ok.test r@reject.test
lines out 0 "sendmail, a refused recipient"
has err "smtpc: refused r@reject.test: 550 5.1.1" "sendmail, a refused recipient"
hasnt err "a@ok.test" "sendmail, a refused recipient"
smx 75 "sendmail, a deferred recipient" -- -f s@x.test d@defer.test
smx 64 "sendmail without recipients" --
has err "no recipients" "sendmail without recipients"
for flag in -q -bs -bp -oQ/tmp -X -BBINARYMIME -oX --help; do
	smx 64 "sendmail $flag" -- "$flag" a@ok.test
	has err "'$flag'" "sendmail $flag named"
done
smx 64 "sendmail -R body" -- -R body a@ok.test
has err "'body'" "sendmail -R body named"
smx 64 "sendmail -Nsometimes" -- -Nsometimes a@ok.test
has err "'sometimes'" "sendmail -N sometimes named"
smx 64 "sendmail -f without a value" -- -f
# -F: a From: field only when the message has none
printf 'Subject: no From\n\nbody\n' >"$TMP/nofrom.txt"
printf 'From: "Jo \\"J\\" Q. Public" <jo@x.test>\r\nSubject: no From\r\n\r\nbody\r\n' >"$TMP/nofrom.want"
STDIN=$TMP/nofrom.txt smx 0 "sendmail -F, no From" -- -F 'Jo "J" Q. Public' -f jo@x.test a@ok.test
delivered main 'd["mail_from"] == "jo@x.test"' "sendmail -F"
sm_bytes "$TMP/nofrom.want" "sendmail -F: From added"
printf 'line one\nline two\n' >"$TMP/nohdr.txt"
printf 'From: Jo <jo@x.test>\r\n\r\nline one\r\nline two\r\n' >"$TMP/nohdr.want"
STDIN=$TMP/nohdr.txt smx 0 "sendmail -F, no header block" -- -F Jo -f jo@x.test a@ok.test
delivered main 'd["rcpt_to"] == ["a@ok.test"]' "sendmail -F, no header block"
sm_bytes "$TMP/nohdr.want" "sendmail -F: a header block made"
STDIN=$TMP/t.txt smx 0 "sendmail -F with a From" -- -F Other -f jo@x.test a@ok.test
delivered main 'd["rcpt_to"] == ["a@ok.test"]' "sendmail -F with a From"
sm_bytes "$TMP/t.want.crlf" "sendmail -F with a From: unchanged (Date and Message-ID added)"
STDIN=$TMP/nofrom.txt smx 64 "sendmail -F non-ASCII" -- -F "$(printf 'J\303\266')" -f jo@x.test a@ok.test
has err "printable ASCII" "sendmail -F non-ASCII"
# no -f, no from, no From: the login name at this host (test-cli-sendmail.sh checks the name)
STDIN=$TMP/nofrom.txt smx 0 "sendmail: no sender at all: user@host" -- a@ok.test
delivered main 'd["mail_from"].count("@") == 1 and d["rcpt_to"] == ["a@ok.test"]' "sendmail: the default sender"
# a slow writer: the message is spooled first, the connection never waits on it
(printf 'From: a@x.test\nSubject: slow\n\n'; sleep 1; printf 'late body\n') | "$SM" -t b@ok.test \
	>"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && pass || fail "sendmail, slow writer: $(cat "$TMP/err")"
delivered main 'm.endswith(b"late body\r\n")' "sendmail, slow writer"
# the configuration
unset SMTPC_SERVER
STDIN=$TMP/t.txt
smx 78 "sendmail, no server configured" -- -t
has err "no server configured: set SMTPC_SERVER" "no server configured"
SMTPC_CONFIG=$TMP/nope.conf smx 78 "sendmail, SMTPC_CONFIG missing" -- -t
has err "nope.conf: No such file or directory" "SMTPC_CONFIG missing"
printf '# smtpc\n\nserver %s\nfrom   conf@x.test  \ntimeout 30\nstarttls opportunistic\n' "$U" >"$TMP/good.conf"
SMTPC_CONFIG=$TMP/good.conf smx 0 "sendmail with a configuration file" -- -t
delivered main 'd["mail_from"] == "conf@x.test" and len(d["rcpt_to"]) == 6' "configuration: server and from"
SMTPC_CONFIG=$TMP/good.conf smx 0 "sendmail -f over the configuration" -- -f f@x.test a@ok.test
delivered main 'd["mail_from"] == "f@x.test"' "-f over the configuration"
SMTPC_SERVER=smtp://127.0.0.1:1 SMTPC_CONFIG=$TMP/good.conf smx 75 "SMTPC_SERVER over the configuration" -- -t
printf 'server %s\nfrobnicate yes\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf smx 78 "configuration: unknown key" -- -t
has err "bad.conf:2: unknown key 'frobnicate'" "configuration: unknown key"
printf 'server %s\nstarttls sometimes\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf smx 78 "configuration: bad value" -- -t
has err "bad.conf:2: invalid value for 'starttls'" "configuration: bad value"
printf 'server %s\nserver %s\n' "$U" "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf smx 78 "configuration: a key twice" -- -t
printf 'server http://x\n' >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf smx 78 "configuration: bad URL" -- -t
has err "invalid --server 'http://x'" "configuration: bad URL"
printf 'server %s\nuser alice\npassword-file %s\n' "$U" "$TMP/nope.pw" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf smx 78 "configuration: AUTH needs STARTTLS" -- -t
SMTPC_SERVER=http://x smx 78 "SMTPC_SERVER: bad URL" -- -t
has err "check SMTPC_SERVER" "SMTPC_SERVER: bad URL"
STDIN=/dev/null

# ---------------------------------------------------------------- 50 MB, streamed
"$PYTHON" -c 'import sys
line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"From: a@x.test\nTo: big@ok.test\nSubject: 50 MB\n\n")
    for i in range(50 * 1000 * 1000 // len(line)):
        f.write(b"." + line if i % 1000 == 0 else line)' "$TMP/big.txt"
WANT=$(sed 's/$/\r/' "$TMP/big.txt" | sha256sum | cut -d' ' -f1)
rm -f "$TMP/big.want"
ASAN=0
if ldd "$SMTPC" 2>/dev/null | grep -q 'libasan\|libclang_rt.asan' ||
	nm "$SMTPC" 2>/dev/null | grep -q '__asan_init'; then
	ASAN=1
fi
if /usr/bin/time -v true >/dev/null 2>&1; then
	TIMEV="/usr/bin/time -v -o $TMP/time.txt"
else
	TIMEV=""
	echo "note: no GNU time (apt-get install time): peak RSS not measured"
fi
# big HOW DESC: checks the last run and its peak RSS (below 16 MB without ASan).
big() {
	if [ "$RC" -ne 0 ]; then
		fail "$2: exit $RC"
		return
	fi
	pass
	delivered main 'd["rcpt_to"] == ["big@ok.test"]' "$2"
	got=$(sha256sum "$TMP/last.eml" | cut -d' ' -f1)
	[ "$got" = "$WANT" ] && pass || fail "$2: sha256 $got, expected $WANT"
	rm -f "$TMP/last.eml"
	[ -n "$TIMEV" ] || return
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time.txt")
	echo "$2: peak RSS of smtpc ${rss} KiB$([ $ASAN -eq 1 ] && echo ' (ASan build: not asserted)')"
	if [ $ASAN -eq 0 ] && [ "$rss" -ge 16384 ]; then
		fail "$2: peak RSS ${rss} KiB, not below 16 MB"
	else
		pass
	fi
}
$TIMEV "$SMTPC" send --server "$U" -f s@x.test --to big@ok.test "$TMP/big.txt" >"$TMP/out" 2>"$TMP/err"
RC=$?
big file "50 MB from a file"
cat "$TMP/big.txt" | $TIMEV "$SMTPC" send --server "$U" -f s@x.test --to big@ok.test >"$TMP/out" 2>"$TMP/err"
RC=$?
big pipe "50 MB from a pipe"
cat "$TMP/big.txt" | $TIMEV "$SMTPC" send --server "$U" -t --no-chunking >"$TMP/out" 2>"$TMP/err"
RC=$?
big pipe "50 MB from a pipe, -t, DATA"

# ---------------------------------------------------------------- --progress
# ptyrun ARGS...: smtpc on a pseudo-terminal (stdin, stdout and stderr); all it wrote
# goes to $TMP/pty, the exit status to RC.
ptyrun() {
	"$PYTHON" -c 'import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
open(sys.argv[1], "wb").write(out)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))' "$TMP/pty" "$SMTPC" "$@"
	RC=$?
}
if "$PYTHON" -c 'import pty' 2>/dev/null; then
	ptyrun send --server "$U" -f s@x.test --to a@ok.test --progress "$TMP/big.txt"
	if [ "$RC" -eq 0 ] && "$PYTHON" -c 'import re, sys
out = open(sys.argv[1], "rb").read()
bars = re.findall(rb"\r\[[#.]{30}\] +\d+%  [\d.]+ / 47\.7 MiB  [\d.]+ MiB/s\x1b\[K", out)
assert len(bars) >= 1, "no bar"
assert b"] 100%  47.7 / 47.7 MiB" in out, "no final state"
final = out.index(b"] 100%")
assert out.index(b"\r\x1b[K", final) < out.index(b"accepted a@ok.test"), "not erased before the report"
assert out.count(b"] 100%") == 1, "final state drawn more than once"' "$TMP/pty" 2>"$TMP/pyerr"; then
		pass
	else
		fail "--progress on a terminal: exit $RC, $(tail -1 "$TMP/pyerr")"
	fi
	ptyrun send --server "$U" -f s@x.test --to a@ok.test --progress "$TMP/small.txt"
	if [ "$RC" -eq 0 ] && ! grep -q 'MiB' "$TMP/pty"; then
		pass
	else
		fail "--progress, a small message: no bar expected (exit $RC)"
	fi
	ptyrun send --server "$U" -f s@x.test --to a@ok.test --progress --json "$TMP/big.txt"
	if [ "$RC" -eq 0 ] && ! grep -q 'MiB' "$TMP/pty"; then
		pass
	else
		fail "--progress --json: no bar expected (exit $RC)"
	fi
fi
expect 0 "--progress, standard error not a terminal" -- send --server "$U" -f s@x.test \
	--to a@ok.test --progress "$TMP/big.txt"
lines err 0 "--progress, not a terminal"
rm -f "$TMP/big.txt"

echo "test-cli-msg: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
