#!/bin/sh
# test-cli-dkim.sh - smtpc send --dkim-* (issue 12): messages signed on their
# way to smtpc-sink on loopback, each delivered file verified with dkimpy
# (tests/dkim/dkimpy-verify.py, the public keys given without DNS): a file,
# standard input (a pipe), -t with Bcc removed, the sendmail mode with the
# dkim-* configuration keys and the fields it adds; then what is refused
# before connecting (a key file its group or others can read, bad values, a
# message without From) with nothing delivered.
#
# usage: tests/cli/test-cli-dkim.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3 with dkimpy (python3-dkim) and openssl. Exit status: 0 all
# passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=dkim
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"
# Missing verifier: skip (77), or fail when CI=true (as tests/interop).
if ! "$PYTHON" -c 'import dkim' 2>/dev/null || ! command -v openssl >/dev/null; then
	[ "${CI:-}" = true ] && { echo "FAIL: no dkimpy (python3-dkim) or openssl (CI=true)"; exit 1; }
	echo "skip: no dkimpy (python3-dkim) or openssl"
	exit 77
fi
VERIFY="$HERE/../dkim/dkimpy-verify.py"

mkdir -p "$TMP/md" "$TMP/bin"
"$SINK" --port-file "$TMP/sink.port" --maildir "$TMP/md" --quiet 2>"$TMP/sink.err" &
PIDS="$PIDS $!"
wait_file "$TMP/sink.port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$(cat "$TMP/sink.port")"
ln -s "$SMTPC" "$TMP/bin/sendmail"

umask 077
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$TMP/ed.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out "$TMP/rsa512.pem" 2>/dev/null
{
	echo "rsa._domainkey.example.org v=DKIM1; k=rsa; p=$(openssl pkey -in "$TMP/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
	echo "ed._domainkey.example.org v=DKIM1; k=ed25519; p=$(openssl pkey -in "$TMP/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"
} >"$TMP/keys"
umask 022
printf 'From: Alice <alice@example.org>\nTo: bob@ok.test\nSubject: signed\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n\nHello Bob,\n.a dot line   \n\n\n' >"$TMP/msg.txt"

# delivered MAILBOX: the newest file delivered to MAILBOX (empty when none).
delivered() {
	ls -t "$TMP/md/$1/new/" 2>/dev/null | head -1 | sed "s|^|$TMP/md/$1/new/|"
}

# verified FILE DESC: dkimpy verifies every DKIM signature of FILE.
verified() {
	if [ -n "$1" ] && "$PYTHON" "$VERIFY" "$TMP/keys" "$1" >"$TMP/verify.out" 2>&1; then
		pass
	else
		fail "$2: not verified: $(cat "$TMP/verify.out" 2>/dev/null)"
	fi
}

count() {
	find "$TMP/md" -type f -name '*.sink' | wc -l
}

DKIM_RSA="--dkim-key $TMP/rsa.pem --dkim-selector rsa --dkim-domain example.org"
DKIM_ED="--dkim-key $TMP/ed.pem --dkim-selector ed --dkim-domain example.org"

# ---------------------------------------------------------------- signed and delivered
# shellcheck disable=SC2086
expect 0 "a file, rsa-sha256" -- send --server "$U" --from a@example.org --to file@ok.test \
	$DKIM_RSA "$TMP/msg.txt"
f=$(delivered file@ok.test)
verified "$f" "a file, rsa-sha256"
if head -1 "$f" | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;'; then pass; else fail "the field comes first"; fi

cat "$TMP/msg.txt" >"$TMP/stdin.txt"
STDIN=$TMP/stdin.txt
# shellcheck disable=SC2086
cat "$TMP/msg.txt" | "$SMTPC" send --server "$U" --from a@example.org --to pipe@ok.test \
	$DKIM_ED --dkim-canon simple/simple --dkim-headers From:To:Subject:Subject \
	>"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ]; then pass; else fail "a pipe, ed25519: exit $(cat "$TMP/err")"; fi
f=$(delivered pipe@ok.test)
verified "$f" "a pipe, ed25519-sha256, simple/simple"
if grep -q 'h=From:To:Subject:Subject;' "$f"; then pass; else fail "--dkim-headers not used"; fi
unset STDIN

printf 'From: a@example.org\nTo: t@ok.test\nBcc: hidden@ok.test\nSubject: -t\n\nbody\n' >"$TMP/bcc.txt"
# shellcheck disable=SC2086
expect 0 "-t with Bcc" -- send --server "$U" -t $DKIM_RSA "$TMP/bcc.txt"
f=$(delivered t@ok.test)
verified "$f" "-t: Bcc removed after signing (not signed)"
if grep -q '^Bcc:' "$f"; then fail "-t: Bcc delivered"; else pass; fi

# A message built with --subject/--text/--attach is signed once built (after EHLO).
printf 'attached\n' >"$TMP/att.txt"
# shellcheck disable=SC2086
expect 0 "built and signed" -- send --server "$U" --from "Ann <a@example.org>" --to built@ok.test \
	--subject $'Gr\xc3\xbc\xc3\x9fe' --text "$TMP/msg.txt" --attach "$TMP/att.txt" $DKIM_ED
f=$(delivered built@ok.test)
verified "$f" "a built message with an attachment, ed25519-sha256"
if tr -d '\r\n\t ' <"$f" | grep -c 'h=From:From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;' >/dev/null; then
	pass
else
	fail "built: the MIME fields are not signed: $(head -4 "$f")"
fi

# FILE --attach: the message with its parts added is what is signed (before connecting).
# shellcheck disable=SC2086
expect 0 "FILE --attach, signed" -- send --server "$U" --from a@example.org \
	--to attached@ok.test --attach "$TMP/att.txt" $DKIM_RSA "$TMP/msg.txt"
f=$(delivered attached@ok.test)
verified "$f" "FILE --attach: the wrapped message, rsa-sha256"
if grep -c '^Content-Type: multipart/mixed;' "$f" >/dev/null && grep -c '^ filename="att.txt"' "$f" >/dev/null; then
	pass
else
	fail "FILE --attach, signed: the part is not there: $(head -12 "$f")"
fi

# The sendmail mode: the dkim-* keys, and the Date, Message-ID, From it adds are signed.
printf 'server %s\ndkim-key %s\ndkim-selector ed\ndkim-domain example.org\n' "$U" "$TMP/ed.pem" \
	>"$TMP/dkim.conf"
printf 'To: sm@ok.test\nSubject: sendmail mode\n\nbody\n' |
	SMTPC_CONFIG=$TMP/dkim.conf "$TMP/bin/sendmail" -f a@example.org sm@ok.test \
		>"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ]; then pass; else fail "sendmail mode: $(cat "$TMP/err")"; fi
f=$(delivered sm@ok.test)
verified "$f" "sendmail mode with the dkim-* keys"
if tr -d '\r\n\t' <"$f" | grep -q 'h=From:From:To:Subject:Date:Message-ID;'; then
	pass
else
	fail "sendmail mode: the added fields are not signed: $(head -4 "$f")"
fi

# The verifier is not blind: the delivered file with one body byte changed fails.
sed 's/^body/bodY/' "$f" >"$TMP/tampered"
if cmp -s "$f" "$TMP/tampered"; then
	fail "the tampered copy is not changed"
elif "$PYTHON" "$VERIFY" "$TMP/keys" "$TMP/tampered" >/dev/null 2>&1; then
	fail "a tampered body verified"
else
	pass
fi

# No key material on the transcript.
# shellcheck disable=SC2086
expect 0 "--debug" -- send --server "$U" --from a@example.org --to debug@ok.test $DKIM_RSA \
	--debug "$TMP/msg.txt"
no_secret "--debug with --dkim-key" "$(sed -n 2p "$TMP/rsa.pem")" "PRIVATE KEY"

# ---------------------------------------------------------------- refused before connecting
before=$(count)
cp "$TMP/rsa.pem" "$TMP/open.pem"
chmod 644 "$TMP/open.pem"
expect 78 "a key file others can read" -- send --server "$U" --from a@example.org \
	--to no@ok.test --dkim-key "$TMP/open.pem" --dkim-selector rsa --dkim-domain example.org \
	"$TMP/msg.txt"
has err "chmod 600" "a key file others can read: the fix is named"
chmod 640 "$TMP/open.pem"
expect 78 "a key file its group can read" -- send --server "$U" --from a@example.org \
	--to no@ok.test --dkim-key "$TMP/open.pem" --dkim-selector rsa --dkim-domain example.org \
	"$TMP/msg.txt"
expect 78 "RSA 512" -- send --server "$U" --from a@example.org --to no@ok.test \
	--dkim-key "$TMP/rsa512.pem" --dkim-selector rsa --dkim-domain example.org "$TMP/msg.txt"
expect 78 "not a key" -- send --server "$U" --from a@example.org --to no@ok.test \
	--dkim-key "$TMP/keys" --dkim-selector rsa --dkim-domain example.org "$TMP/msg.txt"
expect 78 "no key file" -- send --server "$U" --from a@example.org --to no@ok.test \
	--dkim-key "$TMP/none.pem" --dkim-selector rsa --dkim-domain example.org "$TMP/msg.txt"
expect 64 "no selector" -- send --server "$U" --from a@example.org --to no@ok.test \
	--dkim-key "$TMP/rsa.pem" --dkim-domain example.org "$TMP/msg.txt"
for bad in 'a;b' 'a b' "$(printf 'a\r\nb')" 'a=b' '.a'; do
	expect 64 "selector '$bad'" -- send --server "$U" --from a@example.org --to no@ok.test \
		--dkim-key "$TMP/rsa.pem" --dkim-selector "$bad" --dkim-domain example.org \
		"$TMP/msg.txt"
	expect 64 "domain '$bad'" -- send --server "$U" --from a@example.org --to no@ok.test \
		--dkim-key "$TMP/rsa.pem" --dkim-selector rsa --dkim-domain "$bad" "$TMP/msg.txt"
done
# shellcheck disable=SC2086
expect 64 "--dkim-headers without From" -- send --server "$U" --from a@example.org \
	--to no@ok.test $DKIM_RSA --dkim-headers To:Subject "$TMP/msg.txt"
# shellcheck disable=SC2086
expect 64 "--dkim-canon bad" -- send --server "$U" --from a@example.org --to no@ok.test \
	$DKIM_RSA --dkim-canon relaxed/loose "$TMP/msg.txt"
# shellcheck disable=SC2086
expect 64 "--dkim-algorithm bad" -- send --server "$U" --from a@example.org --to no@ok.test \
	$DKIM_RSA --dkim-algorithm rsa-sha1 "$TMP/msg.txt"
# shellcheck disable=SC2086
expect 65 "--dkim-algorithm not the key's" -- send --server "$U" --from a@example.org \
	--to no@ok.test $DKIM_RSA --dkim-algorithm ed25519-sha256 "$TMP/msg.txt"
printf 'Subject: no From\n\nbody\n' >"$TMP/nofrom.txt"
# shellcheck disable=SC2086
expect 65 "a message without From" -- send --server "$U" --from a@example.org --to no@ok.test \
	$DKIM_RSA "$TMP/nofrom.txt"
if [ "$(count)" -eq "$before" ]; then pass; else fail "a refused message was delivered"; fi

echo "cli.dkim: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
