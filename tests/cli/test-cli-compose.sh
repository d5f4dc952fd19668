#!/bin/sh
# test-cli-compose.sh - smtpc send building the message (--subject, --text, --html, --attach,
# --header; docs/COMPOSE.md) against smtpc-sink on loopback; each message the sink stored is
# parsed with Python's email package and compared with what went in.
#
# usage: tests/cli/test-cli-compose.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=compose
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"

# start_sink NAME [ARGS...]: a sink storing in $TMP/NAME.maildir; its URL in $U.
start_sink() {
	name=$1
	shift
	mkdir -p "$TMP/$name.maildir"
	"$SINK" --port-file "$TMP/$name.port" --maildir "$TMP/$name.maildir" --quiet "$@" \
		2>"$TMP/$name.err" &
	PIDS="$PIDS $!"
	wait_file "$TMP/$name.port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
	U="smtp://127.0.0.1:$(cat "$TMP/$name.port")"
}

# check DESC MAILDIR PYTHON-EXPR: the last message stored for b@ok.test, parsed as m, makes
# the expression true (files: the dictionary of the input files' bytes, by name).
check() {
	if "$PYTHON" - "$2" "$TMP" "$3" >"$TMP/check.out" 2>&1 <<'PY'
import email, email.policy, glob, os, sys
box, tmp, expr = sys.argv[1:]
path = sorted(glob.glob(os.path.join(box, "b@ok.test", "new", "*")), key=os.path.getmtime)[-1]
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
files = {n: open(os.path.join(tmp, n), "rb").read() for n in ("t.txt", "h.html", "pic.bin", "doc.pdf")}
parts = [p for p in m.walk() if p.get_content_disposition() == "attachment"]
assert not any(p.defects for p in m.walk()), [p.defects for p in m.walk()]
assert eval(expr), expr
PY
	then pass; else fail "$1: $(tail -3 "$TMP/check.out")"; fi
}

start_sink eight
EIGHT=$U
EIGHT_BOX=$TMP/eight.maildir
start_sink seven --ext PIPELINING,SIZE
SEVEN=$U
SEVEN_BOX=$TMP/seven.maildir

start_sink small --size 20000
SMALL=$U

printf 'Grüße aus Köln\n.leading dot\nFrom here\n' >"$TMP/t.txt"
printf '<p>Gr\303\274\303\237e</p>\n' >"$TMP/h.html"
head -c 70000 /dev/urandom >"$TMP/pic.bin"
printf '%%PDF-1.4\n%%\342\343\n' >"$TMP/doc.pdf"
cd "$TMP" || exit 1

STDIN=/dev/null
expect 0 "text, HTML, two attachments, a header" -- send --server "$EIGHT" \
	--from 'Ann Ö <a@x.test>' --to 'Bob <b@ok.test>' --subject 'Grüße ✓ subject' \
	--text t.txt --html h.html --attach 'pic.bin;type=image/png;name=Bild ü.png' \
	--attach doc.pdf --header 'X-Tag: one two'
check "the structure" "$EIGHT_BOX" \
	'[p.get_content_type() for p in m.walk()] == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "image/png", "application/pdf"]'
check "the headers" "$EIGHT_BOX" \
	'str(m["Subject"]) == "Grüße ✓ subject" and m["From"].addresses[0].display_name == "Ann Ö" and m["From"].addresses[0].addr_spec == "a@x.test" and str(m["To"]) == "Bob <b@ok.test>" and str(m["X-Tag"]) == "one two" and m["Message-ID"] and m["Date"].datetime'
check "the bodies (8bit: the sink offers 8BITMIME)" "$EIGHT_BOX" \
	'm.get_body(("plain",)).get_content().replace("\r\n", "\n") == files["t.txt"].decode() and m.get_body(("plain",))["Content-Transfer-Encoding"] == "8bit" and m.get_body(("html",)).get_content().replace("\r\n", "\n") == files["h.html"].decode()'
check "the attachments, byte for byte" "$EIGHT_BOX" \
	'[(p.get_filename(), p.get_payload(decode=True)) for p in parts] == [("Bild ü.png", files["pic.bin"]), ("doc.pdf", files["doc.pdf"])]'

expect 0 "no 8BITMIME: quoted-printable" -- send --server "$SEVEN" --from a@x.test \
	--to b@ok.test --subject 'ünïcode' --text t.txt
check "quoted-printable text, encoded subject" "$SEVEN_BOX" \
	'm["Content-Transfer-Encoding"] == "quoted-printable" and m.get_content().replace("\r\n", "\n") == files["t.txt"].decode() and str(m["Subject"]) == "ünïcode" and b"=?UTF-8?B?" in raw and max(map(len, raw.split(b"\r\n"))) <= 78'

STDIN=$TMP/t.txt
expect 0 "--text - reads standard input" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --text - --attach pic.bin
check "standard input as the text" "$EIGHT_BOX" \
	'm.get_body(("plain",)).get_content().replace("\r\n", "\n") == files["t.txt"].decode() and [p.get_filename() for p in parts] == ["pic.bin"] and parts[0].get_content_type() == "application/octet-stream"'
STDIN=/dev/null

# The size of a built message is known before MAIL (SIZE=): over the limit, nothing is sent.
expect 69 "over the server's SIZE limit" -- send --server "$SMALL" --from a@x.test \
	--to b@ok.test --attach pic.bin
has err "decided here" "over the SIZE limit: refused before MAIL, from the size announced"
if [ -z "$(find "$TMP/small.maildir" -type f -name '*.sink')" ]; then pass; else
	fail "over the SIZE limit: delivered"; fi
expect 0 "under the SIZE limit" -- send --server "$SMALL" --from a@x.test --to b@ok.test \
	--attach doc.pdf
check "under the SIZE limit: delivered" "$TMP/small.maildir" \
	'[p.get_payload(decode=True) for p in parts] == [files["doc.pdf"]]'

# What is refused, before anything is sent.
expect 64 "--subject with a message FILE (--attach alone adds parts: cli.attach)" -- send \
	--server "$EIGHT" --from a@x.test --to b@ok.test --subject s --attach pic.bin t.txt
expect 64 "--subject with -t" -- send --server "$EIGHT" -t --subject s
expect 64 "--attach ''" -- send --server "$EIGHT" --from a@x.test --to b@ok.test --attach ''
expect 66 "--attach of a missing file" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --attach no-such-file
expect 66 "--text of a missing file" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --text no-such-file
n=$(find "$EIGHT_BOX" -type f -name '*.sink' | wc -l)
CR=$(printf 'a\rBcc: c@evil.test')
LF=$(printf 'a\nBcc: c@evil.test')
expect 65 "a CR in --subject" -- send --server "$EIGHT" --from a@x.test --to b@ok.test \
	--subject "$CR"
expect 65 "a LF in --header" -- send --server "$EIGHT" --from a@x.test --to b@ok.test \
	--header "X-A: $LF"
expect 65 "a LF in an attachment name" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --attach "pic.bin;name=$LF"
expect 65 "--header Content-Type" -- send --server "$EIGHT" --from a@x.test --to b@ok.test \
	--header 'Content-Type: text/html'
expect 65 "--header without a colon" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --header 'X-A value'
expect 65 "a multipart type" -- send --server "$EIGHT" --from a@x.test --to b@ok.test \
	--attach 'pic.bin;type=multipart/mixed'
expect 65 "an unknown attachment parameter" -- send --server "$EIGHT" --from a@x.test \
	--to b@ok.test --attach 'pic.bin;name=x;size=3'
expect 65 "the null sender cannot be From" -- send --server "$EIGHT" --from '' \
	--to b@ok.test --subject s
if [ "$(find "$EIGHT_BOX" -type f -name '*.sink' | wc -l)" -eq "$n" ]; then pass; else
	fail "a refused message was delivered"; fi

echo "test-cli-compose: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
