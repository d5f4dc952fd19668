#!/bin/sh
# test-cli-attach.sh - smtpc send FILE --attach (docs/COMPOSE.md "Attaching to a message
# file") against smtpc-sink on loopback: each message stored is parsed with Python's email
# package; the original parts must come out intact, the new ones byte for byte. Messages that
# cannot take attachments are refused (65) and nothing is delivered.
#
# usage: tests/cli/test-cli-attach.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=attach
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"

mkdir -p "$TMP/box"
"$SINK" --port-file "$TMP/port" --maildir "$TMP/box" --quiet 2>"$TMP/sink.err" &
PIDS="$PIDS $!"
wait_file "$TMP/port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$(cat "$TMP/port")"
BOX=$TMP/box

# check DESC PYTHON-EXPR: the last message stored for b@ok.test, parsed as m (raw: its bytes),
# makes the expression true. files: the attachments' bytes; att: the attachment parts;
# body(p): a part's decoded bytes with CRLF made LF.
check() {
	if "$PYTHON" - "$BOX" "$TMP" "$2" >"$TMP/check.out" 2>&1 <<'PY'
import email, email.policy, glob, os, sys
box, tmp, expr = sys.argv[1:]
path = sorted(glob.glob(os.path.join(box, "b@ok.test", "new", "*")), key=os.path.getmtime)[-1]
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
files = {n: open(os.path.join(tmp, n), "rb").read() for n in ("pic.bin", "doc.pdf")}
att = [p for p in m.walk() if p.get_content_disposition() == "attachment"]
types = [p.get_content_type() for p in m.walk()]
def body(p):
    return p.get_payload(decode=True).replace(b"\r\n", b"\n")
assert not any(p.defects for p in m.walk()), [p.defects for p in m.walk()]
assert eval(expr), (expr, types, raw[:2000])
PY
	then pass; else fail "$1: $(tail -3 "$TMP/check.out")"; fi
}

# delivered: how many messages the sink stored.
delivered() {
	find "$BOX" -type f | wc -l
}

head -c 70000 /dev/urandom >"$TMP/pic.bin"
printf '%%PDF-1.4\n%%\342\343\n' >"$TMP/doc.pdf"
cd "$TMP" || exit 1
SEND="send --server $U --from a@ok.test --to b@ok.test"

# A plain text message, no Content-Type: wrapped into a multipart/mixed.
printf 'From: a@ok.test\nTo: b@ok.test\nSubject: plain\n\nHello\n--\nworld\n' >plain.eml
# shellcheck disable=SC2086
expect 0 "a plain text message" -- $SEND --attach pic.bin \
	--attach 'doc.pdf;type=application/pdf;name=Bericht ü.pdf' plain.eml
check "plain: the structure" \
	'types == ["multipart/mixed", "text/plain", "application/octet-stream", "application/pdf"] and str(m["Subject"]) == "plain" and m["MIME-Version"] == "1.0"'
check "plain: the text intact, the attachments byte for byte" \
	'body(m.get_payload()[1 - 1]) == b"Hello\n--\nworld\n" and [(p.get_filename(), p.get_payload(decode=True)) for p in att] == [("pic.bin", files["pic.bin"]), ("Bericht ü.pdf", files["doc.pdf"])]'

# 8-bit text in quoted-printable: its Content-* fields move into the first part.
printf 'From: a@ok.test\nTo: b@ok.test\nSubject: qp\nMIME-Version: 1.0\nContent-Type: text/plain;\n charset="iso-8859-1"\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe aus K=F6ln=\n, soft break\n' >qp.eml
# shellcheck disable=SC2086
expect 0 "a quoted-printable ISO-8859-1 message" -- $SEND --attach pic.bin qp.eml
check "qp: the part keeps its charset and encoding" \
	'types == ["multipart/mixed", "text/plain", "application/octet-stream"] and m.get_payload()[0].get_content_charset() == "iso-8859-1" and m.get_payload()[0]["Content-Transfer-Encoding"] == "quoted-printable" and m["Content-Transfer-Encoding"] is None and raw.count(b"MIME-Version") == 1'
check "qp: the text decodes as before" \
	'body(m.get_payload()[0]) == b"Gr\xfc\xdfe aus K\xf6ln, soft break\n" and att[0].get_payload(decode=True) == files["pic.bin"]'

# 8bit text: the multipart that now holds it says 8bit too (RFC 2045 6.4).
printf 'From: a@ok.test\nTo: b@ok.test\nSubject: 8bit\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e\n' >eight.eml
# shellcheck disable=SC2086
expect 0 "an 8bit UTF-8 message" -- $SEND --attach pic.bin eight.eml
check "8bit: labelled at both levels, the text intact" \
	'm["Content-Transfer-Encoding"] == "8bit" and m.get_payload()[0]["Content-Transfer-Encoding"] == "8bit" and body(m.get_payload()[0]) == "Grüße\n".encode() and att[0].get_payload(decode=True) == files["pic.bin"]'

# multipart/mixed: a folded Content-Type with a comment and a quoted, escaped boundary; a
# preamble, a nested multipart/alternative, a line with the boundary in another case, an
# epilogue; the close delimiter with transport padding.
cat >mixed.eml <<'EOF'
From: a@ok.test
To: b@ok.test
Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed; (a comment; boundary="no")
	boundary="outer\=b"

preamble text
--outer=b
Content-Type: text/plain

first part
--OUTER=B--
--outer=b
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

alt plain
--inner
Content-Type: text/html

<p>alt html</p>
--inner--
--outer=b-- 	
epilogue text
EOF
# shellcheck disable=SC2086
expect 0 "a multipart/mixed message" -- $SEND --attach pic.bin mixed.eml
check "mixed: the structure, the new part last" \
	'types == ["multipart/mixed", "text/plain", "multipart/alternative", "text/plain", "text/html", "application/octet-stream"] and len(m.get_payload()) == 3'
check "mixed: preamble, parts and epilogue intact" \
	'"preamble text" in m.preamble and "epilogue text" in m.epilogue and body(m.get_payload()[0]) == b"first part\n--OUTER=B--" and body(m.get_payload()[1].get_payload()[1]) == b"<p>alt html</p>" and att[0].get_payload(decode=True) == files["pic.bin"]'

# CR-only line endings (as the DATA encoder reads them: a bare CR ends a line).
printf 'From: a@ok.test\rTo: b@ok.test\rSubject: cr\r\rline one\rline two\r' >cr.eml
# shellcheck disable=SC2086
expect 0 "CR-only line endings" -- $SEND --attach doc.pdf cr.eml
check "cr: wrapped, the text intact" \
	'types == ["multipart/mixed", "text/plain", "application/pdf"] and str(m["Subject"]) == "cr" and body(m.get_payload()[0]) == b"line one\nline two\n" and att[0].get_payload(decode=True) == files["doc.pdf"]'

# A header block without a body (and without a last line break).
printf 'From: a@ok.test\nTo: b@ok.test\nSubject: no body' >nobody.eml
# shellcheck disable=SC2086
expect 0 "a header block without body" -- $SEND --attach doc.pdf nobody.eml
check "no body: an empty first part" \
	'str(m["Subject"]) == "no body" and types == ["multipart/mixed", "text/plain", "application/pdf"] and body(m.get_payload()[0]) == b""'

# -t from standard input (a pipe is spooled: the message is read twice).
STDIN=$TMP/plain.eml
expect 0 "-t, the message on standard input" -- send --server "$U" -t --attach pic.bin
check "-t: the envelope from the headers, the part added" \
	'body(m.get_payload()[0]) == b"Hello\n--\nworld\n" and att[0].get_payload(decode=True) == files["pic.bin"]'
STDIN=/dev/null

# What cannot take attachments as it is: 65, nothing delivered.
n=$(delivered)
refused() { # refused DESC FILE TEXT: exit 65 and TEXT on standard error
	# shellcheck disable=SC2086
	expect 65 "$1" -- $SEND --attach pic.bin "$2" && has err "$3" "$1"
}
hdr='From: a@ok.test\nTo: b@ok.test\nSubject: r\nMIME-Version: 1.0\n'
printf "${hdr}Content-Type: multipart/alternative; boundary=b\n\n--b\n\nx\n--b--\n" >alt.eml
refused "multipart/alternative" alt.eml "it is multipart/alternative"
printf "${hdr}Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=b\n\n--b\n\nx\n--b\n\nsig\n--b--\n" >signed.eml
refused "multipart/signed" signed.eml "would break its signature"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--B--\n" >noclose.eml
refused "no close delimiter (one in another case)" noclose.eml "has no close delimiter"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b-- x\n" >trailing.eml
refused "a close delimiter with trailing text" trailing.eml "starts with its boundary"
printf "${hdr}Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n" >two.eml
refused "two Content-Type fields" two.eml "more than one Content-Type"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n--b\n\nx\n--b--\n" >b64.eml
refused "a multipart/mixed said to be base64" b64.eml "other than 7bit, 8bit or binary"
printf "${hdr}Content-Type: text/html\n\n<p>x</p>\n" >html.eml
refused "text/html" html.eml "it is text/html"
printf "${hdr}Content-Type: message/rfc822\n\nFrom: x@y\n\nx\n" >msg.eml
refused "message/rfc822" msg.eml "it is message/rfc822"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--bc\n--b--\n" >prefix.eml
refused "a line the boundary starts (a nested boundary)" prefix.eml "starts with its boundary"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\000\n" >nulclose.eml
refused "a close delimiter with a NUL byte" nulclose.eml "starts with its boundary"
printf "${hdr}Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--b--\n" >twoclose.eml
refused "two close delimiters" twoclose.eml "starts with its boundary"
printf "${hdr}Content-Type: multipart/mixed; boundary*0=b\n\n--b\n\nx\n--b--\n" >cont.eml
refused "an RFC 2231 boundary" cont.eml "cannot be parsed with certainty"
printf "${hdr}Content-Type: multipart/mixed; boundary=b (open\n\n--b\n\nx\n--b--\n" >comment.eml
refused "an unterminated comment" comment.eml "cannot be parsed with certainty"
printf "${hdr}Content-Type: multipart/mixed; boundary=\"b;c\"; boundary=d\n\n--b\n\nx\n--b--\n" >twob.eml
refused "two boundary parameters" twob.eml "cannot be parsed with certainty"
printf "${hdr}Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n" >nob.eml
refused "multipart/mixed without a boundary" nob.eml "without a boundary"
printf "${hdr}X-Bad: a\000b\n\nx\n" >nul.eml
refused "a NUL byte in the header block" nul.eml "NUL byte"
printf ' folded first\nFrom: a@ok.test\n\nx\n' >cont1.eml
refused "a continuation line first" cont1.eml "not a field"
if [ "$(delivered)" -eq "$n" ]; then pass; else fail "a refused message was delivered"; fi

# With a message FILE only --attach adds to it; the other composing options are usage errors.
# shellcheck disable=SC2086
expect 64 "--subject with a message FILE" -- $SEND --subject s --attach pic.bin plain.eml
# shellcheck disable=SC2086
expect 64 "--header with a message FILE" -- $SEND --header 'X-A: b' --attach pic.bin plain.eml
# shellcheck disable=SC2086
expect 66 "a missing attachment" -- $SEND --attach no-such-file plain.eml
if [ "$(delivered)" -eq "$n" ]; then pass; else fail "a refused message was delivered"; fi

echo "test-cli-attach: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
