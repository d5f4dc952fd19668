#!/bin/bash
# verify.sh - DKIM signatures of libsmtpc checked by two independent
# verifiers: dkimpy (python3-dkim) and OpenDKIM (opendkim -t with
# TestPublicKeys: its own library, the public keys read from a file instead
# of DNS). Keys are made at test time (RSA 2048, Ed25519). A corpus of
# messages is signed with every key, the four canonicalisations and the four
# source kinds (memory, regular file, pipe, callback); every signature must
# verify with both. Then tampered copies (a body byte, a signed header, a
# From added above an over-signed one) must fail with both, and an added
# unsigned header must still pass.
#   verify.sh DKIM-SIGN
set -u
SIGN=$(cd "$(dirname "${1:?usage: verify.sh DKIM-SIGN}")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=/usr/bin/python3
# prereq REASON: a verifier is missing: skip (77), or fail when CI=true (as tests/interop).
prereq() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 (CI=true: scripts/deps.sh test installs it)"
		exit 1
	fi
	echo "skip: $1"
	exit 77
}
command -v openssl >/dev/null || prereq "no openssl"
$PYTHON -c 'import dkim' 2>/dev/null || prereq "no dkimpy (python3-dkim)"
OPENDKIM=$(command -v opendkim || echo /usr/sbin/opendkim)
[ -x "$OPENDKIM" ] || prereq "no opendkim (package opendkim)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-dkim.XXXXXX") || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
FAILED=0
cd "$TMP" || exit 1

# ---------------------------------------------------------------- keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
chmod 600 rsa.pem ed.pem
{
	echo "rsa._domainkey.example.org v=DKIM1; k=rsa; p=$(openssl pkey -in rsa.pem -pubout -outform DER 2>/dev/null | base64 -w0)"
	# RFC 8463 4.2: p= is the raw 32-byte key, the end of the DER SubjectPublicKeyInfo.
	echo "ed._domainkey.example.org v=DKIM1; k=ed25519; p=$(openssl pkey -in ed.pem -pubout -outform DER | tail -c 32 | base64 -w0)"
} >keys
printf 'Mode v\nSyslog no\nTestPublicKeys %s/keys\n' "$TMP" >opendkim.conf

# ---------------------------------------------------------------- the corpus
mkdir corpus signed
c() { printf "$2" >"corpus/$1.eml"; }
c 01-ascii 'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Hello\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello Bob.\r\n'
c 02-8bit 'From: =?UTF-8?Q?Ren=C3=A9?= <rene@example.org>\r\nTo: b@example.net\r\nSubject: caf\xc3\xa9 cr\xc3\xa8me\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac\r\nLatin-1 \xe9\xe8\r\n'
c 03-folds 'From: a@example.org\r\nTo: one@example.net, two@example.net,\r\n three@example.net,\r\n\tfour@example.net\r\nSubject: a   long subject\r\n    folded   over\r\n\tthree lines  \r\nReferences: <a@x>\r\n <b@x>\r\n <c@x>\r\n\r\nbody\r\n'
c 04-trailing-blank 'From: a@example.org\r\nSubject: t\r\n\r\nline\r\n\r\n\r\n\r\n  \r\n\t\r\n\r\n'
c 05-bare-lf 'From: a@example.org\nTo: b@example.net\nSubject: lf\n\nline one\nline two  \n\n\nend\n'
c 06-bare-cr 'From: a@example.org\rSubject: cr\r\rone\rtwo\r\r\n\r'
c 07-empty-body 'From: a@example.org\r\nSubject: empty\r\n\r\n'
c 08-no-body 'From: a@example.org\r\nSubject: no empty line\r\n'
c 09-dots 'From: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...\r\nend\r\n.\r\n'
c 10-multi-to 'From: a@example.org\r\nTo: b@example.net\r\nTo: c@example.net\r\nCc: d@example.net\r\nCc: e@example.net\r\nSubject: many\r\n\r\nx\r\n'
c 11-all-fields 'Return-Path: <a@example.org>\r\nFrom: a@example.org\r\nReply-To: r@example.org\r\nTo: b@example.net\r\nCc: c@example.net\r\nSubject: all\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <2@example.org>\r\nIn-Reply-To: <1@example.org>\r\nReferences: <1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\nX-Mailer: test\r\n\r\nall fields\r\n'
c 12-wsp 'From: a@example.org\r\nSubject: wsp\r\n\r\n  lead\r\nmid \t  runs\t\there\r\ntrail   \t\r\n \r\n\tx\r\n'
c 13-no-final-eol 'From: a@example.org\r\nSubject: eol\r\n\r\nno final line ending'
c 14-mixed-eol 'From: a@example.org\nSubject: mixed\r\n\nA\r\nB\nC\rD\r\r\nE\n\r'
c 15-upper-names 'FROM: a@example.org\r\nsubject: Lower\r\nTO: b@example.net\r\nFrom-Not: x\r\n\r\nx\r\n'
# OpenDKIM's test mode goes through its milter code, which gets a field's
# value without the whitespace after the colon and puts back one space: a
# field with other spacing there cannot pass c=simple headers with it,
# whoever signs. These messages ("x-") are checked by dkimpy only.
c x-spaces-after-colon 'From: a@example.org\r\nSubject:   three spaces\r\nTo:\tb@example.net\r\n\r\nx\r\n'
c 16-mime 'From: a@example.org\r\nTo: b@example.net\r\nSubject: mime\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\npart one\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n'
c 17-cr-at-header-end 'From: a@example.org\r\nSubject: x\r\r\nbody after a bare CR line\r\n'
# Bodies bigger than the library's 64 KiB reads, with a long line.
{ printf 'From: a@example.org\r\nSubject: big\r\n\r\n'; for i in $(seq 1 6000); do printf 'line %d of a big body   \n' "$i"; done; head -c 5000 /dev/zero | tr '\0' x; printf '\n\n\n'; } >corpus/18-big.eml

# ---------------------------------------------------------------- signing
# Every message with both keys and two canonicalisations (all four over two
# messages); the source kind changes from one signature to the next, so
# that each key and each canonicalisation meets every kind.
CANONS=(relaxed/relaxed simple/simple relaxed/simple simple/relaxed)
MODES=(mem file pipe callback)
n=0
i=0
for m in corpus/*.eml; do
	base=$(basename "$m" .eml)
	for key in rsa ed; do
		for canon in "${CANONS[@]:$((i % 2 * 2)):2}"; do
			mode=${MODES[$(((n + n / 4) % 4))]}
			out=signed/$base.$key.${canon/\//-}.$mode.eml
			if ! "$SIGN" -m "$mode" -c "$canon" "$key.pem" example.org "$key" "$m" >"$out" 2>err; then
				echo "FAIL: signing $out: $(cat err)"
				FAILED=$((FAILED + 1))
			fi
			n=$((n + 1))
		done
	done
	i=$((i + 1))
done
# A message verifiers would refuse (WSP before a colon) is refused.
printf 'FROM : a@example.org\r\n\r\nx\r\n' >refused.eml
if "$SIGN" ed.pem example.org ed refused.eml >/dev/null 2>&1; then
	echo "FAIL: a field with WSP before its colon was signed"
	FAILED=$((FAILED + 1))
fi
# Options: a given h= list with over-signed To and Subject, i=, t= and x=.
"$SIGN" -h From:To:To:Subject:Subject:Date -i user@mail.example.org -t "$(date +%s)" -x 86400 \
	rsa.pem example.org rsa corpus/01-ascii.eml >signed/opts.rsa.eml || FAILED=$((FAILED + 1))
"$SIGN" -m pipe -h from:subject:x-mailer -i @example.org ed.pem example.org ed corpus/11-all-fields.eml \
	>signed/opts.ed.eml || FAILED=$((FAILED + 1))
n=$((n + 2))

# The message as the DATA encoder sends it: the verifiers read CRLF lines.
mkdir wire
$PYTHON -c 'import re, sys
for name in sys.argv[1:]:
    t = re.sub(rb"\r\n|\r|\n", b"\r\n", open(name, "rb").read())
    t = t if t.endswith(b"\r\n") else t + b"\r\n"
    open("wire/" + name.split("/")[-1], "wb").write(t)' signed/*.eml

# ---------------------------------------------------------------- verifying
# dkimpy: one line per message, "ok NAME" or "FAIL NAME".
dkimpy() {
	$PYTHON "$HERE/dkimpy-verify.py" keys "$@"
}
# OpenDKIM: one run per message (a list stops early after some errors), the
# same "ok NAME" / "FAIL NAME" lines.
opendkim_check() {
	for f in "$@"; do
		out=$("$OPENDKIM" -x opendkim.conf -vv -t "$f" 2>&1)
		if [[ $out == *"$f: verification ("*") succeeded"* ]]; then
			echo "ok $f"
		else
			echo "FAIL $f"
		fi
	done
}

dkimpy wire/*.eml >dkimpy.out
py_ok=$(grep -c '^ok ' dkimpy.out)
opendkim_check wire/[0-9o]*.eml >opendkim.out
od_n=$(find wire -name '[0-9o]*.eml' | wc -l)
od_ok=$(grep -c '^ok ' opendkim.out)
echo "signed $n messages; dkimpy verified $py_ok of $n, OpenDKIM $od_ok of $od_n"
if [ "$py_ok" -ne "$n" ]; then
	grep -v '^ok ' dkimpy.out
	FAILED=$((FAILED + 1))
fi
if [ "$od_ok" -ne "$od_n" ]; then
	grep -v '^ok ' opendkim.out
	FAILED=$((FAILED + 1))
fi

# ---------------------------------------------------------------- tampering
mkdir tamper
# tamper NAME SOURCE SED-EXPRESSION: a changed copy (that it changed is checked).
tamper() {
	if [ ! -f "$2" ]; then
		echo "FAIL: no message to tamper with for $1"
		FAILED=$((FAILED + 1))
		return
	fi
	sed "$3" "$2" >"tamper/$1.eml"
	if cmp -s "$2" "tamper/$1.eml"; then
		echo "FAIL: tamper/$1.eml is not changed"
		FAILED=$((FAILED + 1))
	fi
}
t=$(ls wire/01-ascii.rsa.relaxed-relaxed.*.eml 2>/dev/null)
tamper body-byte "$t" 's/Hello Bob\./Hello Bob!/'
tamper signed-header "$t" 's/^Subject: Hello/Subject: Hellp/'
# From is over-signed by default: one more From, even above, breaks the signature.
tamper added-from "$t" 's/^From: Alice/From: Mallory <m@evil.example>\r\nFrom: Alice/'
# opts.rsa signs To twice with one present: an added To breaks it.
tamper added-to wire/opts.rsa.eml 's/^To: bob/To: eve@evil.example\r\nTo: bob/'
tamper big-body "$(ls wire/18-big.ed.relaxed-simple.*.eml 2>/dev/null)" 's/^line 3000 of/line 3001 of/'
tamper simple-header-space "$(ls wire/12-wsp.rsa.simple-relaxed.*.eml 2>/dev/null)" 's/^Subject: wsp/Subject: wsp /'
tamper ed-body-line "$(ls wire/09-dots.ed.relaxed-relaxed.*.eml 2>/dev/null)" 's/^\.leading/leading/'
dkimpy tamper/*.eml >tamper-py.out
opendkim_check tamper/*.eml >tamper-od.out
tampered=$(find tamper -name '*.eml' | wc -l)
py_bad=$(grep -c '^FAIL ' tamper-py.out)
od_bad=$(grep -c '^FAIL ' tamper-od.out)
echo "tampered $tampered messages; dkimpy rejected $py_bad, OpenDKIM rejected $od_bad"
if [ "$py_bad" -ne "$tampered" ] || [ "$od_bad" -ne "$tampered" ]; then
	cat tamper-py.out tamper-od.out
	FAILED=$((FAILED + 1))
fi
# Tolerated: an unsigned field added above (as a relay adds Received), and
# relaxed header canonicalisation absorbs re-folding.
sed '1i Received: from relay by mx; Mon, 7 Dec 2026 10:00:01 +0000\r' "$t" >added-received.eml
sed 's/^Subject: Hello/Subject:   Hello  /' "$t" >refolded.eml
dkimpy added-received.eml refolded.eml >tolerate-py.out
opendkim_check added-received.eml refolded.eml >tolerate-od.out
if [ "$(grep -c '^ok ' tolerate-py.out)" -ne 2 ] || [ "$(grep -c '^ok ' tolerate-od.out)" -ne 2 ]; then
	cat tolerate-py.out tolerate-od.out
	FAILED=$((FAILED + 1))
fi

[ "$FAILED" -eq 0 ] && echo "dkim.verify: all passed" || echo "dkim.verify: $FAILED failure(s)"
[ "$FAILED" -eq 0 ]
