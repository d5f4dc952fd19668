#!/bin/sh
# test-cli-tls.sh - the smtpc command line with TLS and AUTH, end to end
# against Debian's aiosmtpd (tests/cli/aiosmtpd-tls.py, run with /usr/bin/python3)
# and certificates made here with the openssl CLI: STARTTLS and implicit TLS
# (smtps://), verification by CA file, CA directory, name and pin, --insecure,
# client certificates, AUTH with passwords (PLAIN, LOGIN) and OAuth tokens
# (XOAUTH2), and no secret in any output. Loopback only; every server is
# started here and stopped by its PID.
#
# usage: tests/cli/test-cli-tls.sh PATH/TO/smtpc
# Exit status: 0 all passed, 1 a test failed, 77 (skipped) when smtpc,
# /usr/bin/python3 with aiosmtpd, or openssl is missing.
set -u

SMTPC=${1:?usage: test-cli-tls.sh SMTPC}
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER="$HERE/aiosmtpd-tls.py"
# Debian's python3 has python3-aiosmtpd; another python3 on PATH may not.
PYTHON=/usr/bin/python3

[ -x "$SMTPC" ] || { echo "skip: $SMTPC not built"; exit 77; }
"$PYTHON" -c 'import aiosmtpd' 2>/dev/null || { echo "skip: no aiosmtpd for $PYTHON"; exit 77; }
command -v openssl >/dev/null || { echo "skip: no openssl command"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-cli-tls.XXXXXX") || exit 1
PIDS=""
FAILED=0
PASSED=0
# shellcheck source=lib.sh
. "$HERE/lib.sh"

M="$TMP/msg.txt"
printf 'Subject: smtpc cli tls test\n\nhello over TLS\n.leading dot\n' >"$M"

# ---------------------------------------------------------------- certificates
# ca.pem signs server.pem (localhost, 127.0.0.1) and client.pem; other-ca.pem signs nothing.
C="$TMP/certs"
mkdir -p "$C"
if ! (
	set -e
	umask 077
	for k in ca other-ca server client; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/$k.key"
	done
	for ca in ca other-ca; do
		openssl req -x509 -new -key "$C/$ca.key" -sha256 -days 2 -out "$C/$ca.pem" \
			-subj "/O=smtpc cli tests/CN=smtpc cli throwaway $ca" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	done
	openssl req -new -key "$C/server.key" -out "$C/server.csr" -subj "/O=smtpc cli tests/CN=localhost"
	printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$C/server.ext"
	openssl x509 -req -sha256 -days 2 -in "$C/server.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -extfile "$C/server.ext" -out "$C/server.pem"
	openssl req -new -key "$C/client.key" -out "$C/client.csr" -subj "/O=smtpc cli tests/CN=smtpc test client"
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=clientAuth" >"$C/client.ext"
	openssl x509 -req -sha256 -days 2 -in "$C/client.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -extfile "$C/client.ext" -out "$C/client.pem"
	chmod 644 "$C/ca.pem" "$C/other-ca.pem" "$C/server.pem" "$C/client.pem"
	# Debian's snakeoil: self-signed, CN = the host name, no CA anywhere
	openssl req -x509 -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/snakeoil.key" \
		-sha256 -days 2 -out "$C/snakeoil.pem" -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
	chmod 644 "$C/snakeoil.pem"
	mkdir "$C/ca.d"
	cp "$C/ca.pem" "$C/ca.d/"
	openssl rehash "$C/ca.d"
) >"$TMP/openssl.log" 2>&1; then
	echo "FAIL: cannot make the test certificates:"
	cat "$TMP/openssl.log"
	exit 1
fi
FP=$(openssl x509 -in "$C/server.pem" -outform DER | sha256sum | cut -d' ' -f1)
FP_COLONS=$(echo "$FP" | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//')
FP_OTHER=$(openssl x509 -in "$C/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)

# ---------------------------------------------------------------- secrets
PW='pässwörd 1'
export SMTPC_TEST_PW="$PW" SMTPC_TEST_BAD='wrong pässwörd'
printf '%s\n' "$PW" >"$TMP/pw"
chmod 600 "$TMP/pw"
TOKEN=tok-alice-1
# every form a secret could leak in: raw, base64 alone, PLAIN and XOAUTH2 blobs
SECRETS_PW_B64=$(printf '%s' "$PW" | base64)
SECRETS_PLAIN_B64=$(printf '\000alice\000%s' "$PW" | base64)
SECRETS_XOAUTH2_B64=$(printf 'user=alice\001auth=Bearer %s\001\001' "$TOKEN" | base64 -w0)
SECRETS_BAD_PLAIN_B64=$(printf '\000alice\000wrong pässwörd' | base64)
secrets_absent() {
	no_secret "$1" "$PW" "wrong pässwörd" "$TOKEN" "$SECRETS_PW_B64" "$SECRETS_PLAIN_B64" \
		"$SECRETS_XOAUTH2_B64" "$SECRETS_BAD_PLAIN_B64"
}

# ---------------------------------------------------------------- servers
# start_server NAME MODE ARGS...: aiosmtpd-tls.py in MODE; sets PORT (0 when it did not start).
start_server() {
	name=$1
	shift
	"$PYTHON" "$SERVER" "$1" "$TMP/$name.port" "$C/${CERT:-server}.pem" "$C/${CERT:-server}.key" "$TMP/$name.out" \
		"$@" 2>"$TMP/$name.log" &
	PIDS="$PIDS $!"
	PORT=0
	if wait_file "$TMP/$name.port"; then
		PORT=$(cat "$TMP/$name.port")
	else
		echo "FAIL: aiosmtpd ($name) did not start:"
		cat "$TMP/$name.log"
		FAILED=$((FAILED + 1))
	fi
}

# stored NAME N EXPR DESCRIPTION: message N of server NAME exists, is the test
# message (CRLF line endings), and the Python EXPR holds over its envelope m.
stored() {
	base="$TMP/$1.out/$2"
	if [ ! -f "$base.json" ]; then
		fail "$4: no message $2 stored by $1"
		return
	fi
	printf 'Subject: smtpc cli tls test\r\n\r\nhello over TLS\r\n.leading dot\r\n' >"$TMP/want.eml"
	if ! cmp -s "$TMP/want.eml" "$base.eml"; then
		fail "$4: message $2 of $1 differs from the one sent"
		return
	fi
	if "$PYTHON" -c 'import json, sys
m = json.load(open(sys.argv[1]))
assert eval(sys.argv[2]), (sys.argv[2], m)' "$base.json" "$3" 2>"$TMP/jsonerr"; then
		pass
	else
		fail "$4: $(cat "$TMP/jsonerr")"
	fi
}

# count NAME N DESCRIPTION: server NAME stored exactly N messages.
count() {
	n=$(find "$TMP/$1.out" -name '*.json' 2>/dev/null | wc -l)
	if [ "$n" -eq "$2" ]; then
		pass
	else
		fail "$3: $n messages stored by $1, expected $2"
	fi
}

start_server st starttls
ST=$PORT
start_server im implicit
IM=$PORT
start_server pl plain
PL=$PORT
start_server cc starttls --client-ca "$C/ca.pem"
CC=$PORT
CERT=snakeoil start_server ss starttls
SS=$PORT
if [ "$ST" -eq 0 ] || [ "$IM" -eq 0 ] || [ "$PL" -eq 0 ] || [ "$CC" -eq 0 ] || [ "$SS" -eq 0 ]; then
	echo "test-cli-tls: $PASSED passed, $FAILED failed"
	exit 1
fi
U="smtp://127.0.0.1:$ST"
SEND="send --from s@x.test --to a@ok.test"
CREDS="--user alice --password-env SMTPC_TEST_PW"

# ---------------------------------------------------------------- STARTTLS, verified
expect 0 "probe with STARTTLS" -- probe --server "$U" --ca-file "$C/ca.pem"
has out "greeting: 220 " "probe with STARTTLS"
has out "STARTTLS" "probe with STARTTLS"
has out "tls: TLSv1." "probe with STARTTLS"
has out ", verified" "probe with STARTTLS"
has out "after TLS:" "probe with STARTTLS"
has out "AUTH LOGIN PLAIN XOAUTH2" "probe with STARTTLS"
lines err 0 "probe with STARTTLS"
expect 0 "probe with STARTTLS --json" -- probe --server "$U" --ca-file "$C/ca.pem" --json
json_check 'd["tls"]["verified"] is True and d["tls"]["version"].startswith("TLSv1.") and d["tls"]["cipher"] and any(e["keyword"] == "STARTTLS" for e in d["extensions_before_tls"]) and not any(e["keyword"] == "STARTTLS" for e in d["extensions"]) and any(e["keyword"] == "AUTH" for e in d["extensions"]) and d["auth"] is None and d["exit"] == 0' "probe --json"

expect 0 "send, --ca-file, --user, --password-env" -- $SEND --server "$U" --ca-file "$C/ca.pem" $CREDS --debug "$M"
has out "accepted a@ok.test: 250 2.0.0 OK stored as message 1" "send with AUTH"
has err "send: STARTTLS" "send with AUTH"
has err "send: AUTH PLAIN [redacted]" "send with AUTH"
secrets_absent "send with AUTH"
stored st 1 'm["auth"] == "alice" and m["tls"] is True and m["rcpt_tos"] == ["a@ok.test"]' "send with AUTH"
expect 0 "send --json" -- $SEND --server "$U" --ca-file "$C/ca.pem" $CREDS --json "$M"
json_check 'd["tls"]["verified"] is True and d["auth"] == {"mechanism": "PLAIN", "ok": True} and d["accepted"] == ["a@ok.test"] and d["exit"] == 0' "send --json"
expect 0 "send without credentials (opportunistic)" -- $SEND --server "$U" --ca-file "$C/ca.pem" --json "$M"
json_check 'd["tls"]["verified"] is True and d["auth"] is None' "send without credentials"
stored st 3 'm["auth"] is None and m["tls"] is True' "send without credentials"
expect 0 "--password-file" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice --password-file "$TMP/pw" "$M"
expect 0 "--password-cmd" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice --password-cmd "cat '$TMP/pw'" "$M"
expect 0 "--auth LOGIN" -- $SEND --server "$U" --ca-file "$C/ca.pem" $CREDS --auth LOGIN --json --debug "$M"
json_check 'd["auth"] == {"mechanism": "LOGIN", "ok": True}' "--auth LOGIN"
secrets_absent "--auth LOGIN"
expect 0 "probe with AUTH" -- probe --server "$U" --ca-file "$C/ca.pem" $CREDS --debug
has out "auth: PLAIN ok" "probe with AUTH"
secrets_absent "probe with AUTH"
expect 0 "--ca-dir" -- $SEND --server "$U" --ca-dir "$C/ca.d" $CREDS "$M"
expect 0 "--tls-name localhost" -- $SEND --server "$U" --ca-file "$C/ca.pem" --tls-name localhost $CREDS "$M"
count st 8 "STARTTLS, verified"

# ---------------------------------------------------------------- refusals
expect 77 "wrong password" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--password-env SMTPC_TEST_BAD --debug "$M"
lines out 0 "wrong password"
has err "smtpc: authentication failed: PLAIN authentication refused: 535 (server said: 535 5.7.8 Authentication credentials invalid)" "wrong password"
secrets_absent "wrong password"
expect 77 "wrong password --json" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--password-env SMTPC_TEST_BAD --json "$M"
json_check 'd["auth"] == {"mechanism": None, "ok": False} and "PLAIN authentication refused" in d["error"]["message"] and d["tls"]["verified"] is True and d["error"]["code"] == 535 and d["exit"] == 77' "wrong password --json"
expect 77 "wrong user" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user bob --password-env SMTPC_TEST_PW "$M"
expect 69 "--auth SCRAM-SHA-256 not offered" -- $SEND --server "$U" --ca-file "$C/ca.pem" $CREDS \
	--auth SCRAM-SHA-256 "$M"
has err "does not offer SCRAM-SHA-256" "--auth SCRAM-SHA-256 not offered"
count st 8 "refusals deliver nothing"

# ---------------------------------------------------------------- certificate checks
expect 69 "system store only: the test CA is unknown" -- $SEND --server "$U" $CREDS --debug "$M"
lines out 0 "system store only"
has err "smtpc: cannot secure the connection to $U: certificate verification failed for 127.0.0.1" "system store only"
has err "smtpc: hint: " "system store only"
hasnt err "send: AUTH" "system store only"
secrets_absent "system store only"
expect 69 "system store only, no credentials, --starttls required" -- $SEND --server "$U" --starttls required --json "$M"
json_check 'd["tls"] is None and d["error"]["kind"] == "TLS error" and d["accepted"] == [] and d["exit"] == 69' "system store only --json"
expect 69 "wrong CA, --starttls required" -- $SEND --server "$U" --starttls required --ca-file "$C/other-ca.pem" "$M"
expect 69 "wrong name, --starttls required" -- $SEND --server "$U" --starttls required --ca-file "$C/ca.pem" \
	--tls-name mail.example.org "$M"
has err "hostname mismatch" "wrong name"
expect 69 "probe --starttls required: the test CA is unknown" -- probe --server "$U" --starttls required
has out "STARTTLS" "probe: the test CA is unknown"
hasnt out "after TLS:" "probe: the test CA is unknown"
expect 69 "credentials, opportunistic, the test CA is unknown" -- $SEND --server "$U" $CREDS \
	--starttls opportunistic --allow-plaintext-auth --debug "$M"
has err "certificate verification failed" "credentials, opportunistic, unknown CA"
hasnt err "send: AUTH" "credentials, opportunistic, unknown CA"
secrets_absent "credentials, opportunistic, unknown CA"
count st 8 "certificate failures deliver nothing"
# opportunistic (the default without credentials) encrypts if possible, as Postfix's "may"
expect 0 "opportunistic, no credentials, the test CA is unknown" -- $SEND --server "$U" --json --debug "$M"
json_check 'd["tls"]["verified"] is False and d["tls"]["version"].startswith("TLSv1.") and d["auth"] is None and d["accepted"] == ["a@ok.test"] and d["exit"] == 0' "opportunistic, unknown CA --json"
has err "encrypted, certificate NOT verified (unable to get local issuer certificate" "opportunistic, unknown CA"
lines out 1 "opportunistic, unknown CA"
stored st 9 'm["tls"] is True and m["auth"] is None' "opportunistic, unknown CA"
expect 0 "opportunistic, no credentials, wrong name" -- $SEND --server "$U" --ca-file "$C/ca.pem" \
	--tls-name mail.example.org --json "$M"
json_check 'd["tls"]["verified"] is False and d["exit"] == 0' "opportunistic, wrong name --json"
expect 0 "probe, opportunistic: the test CA is unknown" -- probe --server "$U"
has out ", NOT verified" "probe, opportunistic, unknown CA"
has out "after TLS:" "probe, opportunistic, unknown CA"
count st 10 "opportunistic without credentials delivers over unverified TLS"

expect 0 "--insecure" -- $SEND --server "$U" --json "$M" --insecure
has err "smtpc: warning: TLS certificate verification is disabled (--insecure)" "--insecure"
lines err 1 "--insecure"
json_check 'd["tls"]["verified"] is False and d["exit"] == 0' "--insecure --json"
expect 0 "--insecure (probe)" -- probe --server "$U" --insecure
has out ", NOT verified" "--insecure (probe)"
has err "smtpc: warning: TLS certificate verification is disabled (--insecure)" "--insecure (probe)"
expect 64 "--insecure with credentials" -- $SEND --server "$U" --insecure $CREDS "$M"
expect 0 "--insecure with credentials and --allow-plaintext-auth" -- $SEND --server "$U" --insecure \
	--allow-plaintext-auth $CREDS "$M"
stored st 12 'm["auth"] == "alice"' "--insecure --allow-plaintext-auth"

expect 0 "--fingerprint" -- $SEND --server "$U" --ca-file "$C/ca.pem" --fingerprint "$FP" $CREDS "$M"
expect 0 "--fingerprint with colons" -- probe --server "$U" --ca-file "$C/ca.pem" --fingerprint "$FP_COLONS"
has out ", verified, pinned" "--fingerprint with colons"
expect 69 "--fingerprint wrong" -- $SEND --server "$U" --ca-file "$C/ca.pem" --fingerprint "$FP_OTHER" $CREDS "$M"
has err "does not match the pinned SHA-256 fingerprint" "--fingerprint wrong"
expect 0 "--fingerprint with --insecure" -- $SEND --server "$U" --insecure --fingerprint "$FP" "$M"
expect 69 "--fingerprint wrong with --insecure" -- $SEND --server "$U" --insecure --fingerprint "$FP_OTHER" "$M"
count st 14 "fingerprints"

# ---------------------------------------------------------------- smtps://
I="smtps://127.0.0.1:$IM"
expect 0 "smtps://" -- $SEND --server "$I" --ca-file "$C/ca.pem" $CREDS --json "$M"
json_check 'd["tls"]["verified"] is True and d["auth"]["ok"] is True and d["exit"] == 0' "smtps://"
stored im 1 'm["auth"] == "alice" and m["tls"] is True' "smtps://"
expect 0 "smtps:// probe" -- probe --server "$I" --ca-file "$C/ca.pem"
has out "tls: TLSv1." "smtps:// probe"
hasnt out "after TLS:" "smtps:// probe"
hasnt out "STARTTLS" "smtps:// probe"
expect 69 "smtps://, the test CA is unknown" -- $SEND --server "$I" $CREDS "$M"
has err "smtpc: cannot connect to $I: certificate verification failed" "smtps://, unknown CA"
expect 0 "smtps:// --insecure --fingerprint" -- $SEND --server "$I" --insecure --fingerprint "$FP_COLONS" "$M"
run $SEND --server "smtps://127.0.0.1:$ST" --ca-file "$C/ca.pem" --timeout 5 "$M"
if [ "$RC" -ne 0 ] && [ "$RC" -ne 64 ] && ! grep -q Sanitizer "$TMP/err"; then
	pass
else
	fail "smtps:// to a plaintext port: exit $RC"
fi
expect 75 "STARTTLS to a TLS port: the greeting never comes" -- $SEND --server "smtp://127.0.0.1:$IM" \
	--ca-file "$C/ca.pem" $CREDS --timeout 1 "$M"
count im 2 "smtps://"

# ---------------------------------------------------------------- AUTH offered in clear
P="smtp://127.0.0.1:$PL"
expect 69 "credentials, no STARTTLS offered" -- $SEND --server "$P" $CREDS --debug "$M"
has err "STARTTLS is required" "credentials, no STARTTLS offered"
hasnt err "send: AUTH" "credentials, no STARTTLS offered"
secrets_absent "credentials, no STARTTLS offered"
expect 64 "credentials, --starttls opportunistic" -- $SEND --server "$P" $CREDS --starttls opportunistic "$M"
expect 0 "credentials in clear, allowed" -- $SEND --server "$P" $CREDS --starttls never \
	--allow-plaintext-auth --json "$M"
json_check 'd["tls"] is None and d["auth"]["ok"] is True' "credentials in clear, allowed"
stored pl 1 'm["auth"] == "alice" and m["tls"] is False' "credentials in clear, allowed"
count pl 1 "AUTH offered in clear"

# ---------------------------------------------------------------- OAuth 2.0 (XOAUTH2)
expect 0 "--oauth-token-cmd" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--oauth-token-cmd "echo $TOKEN" --json --debug "$M"
json_check 'd["auth"] == {"mechanism": "XOAUTH2", "ok": True} and d["exit"] == 0' "--oauth-token-cmd"
secrets_absent "--oauth-token-cmd"
stored st 15 'm["auth"] == "alice (xoauth2)"' "--oauth-token-cmd"
expect 77 "--oauth-token-cmd, token refused" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--oauth-token-cmd "echo tok-expired" --auth xoauth2 --json "$M"
json_check 'd["auth"] == {"mechanism": "XOAUTH2", "ok": False} and d["error"]["code"] == 535' "token refused"
expect 78 "--oauth-token-cmd failing" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--oauth-token-cmd "echo $TOKEN; exit 1" "$M"
has err "smtpc: --oauth-token-cmd: the command failed (exit status 1)" "--oauth-token-cmd failing"
secrets_absent "--oauth-token-cmd failing"
expect 78 "--oauth-token-cmd printing a space" -- $SEND --server "$U" --ca-file "$C/ca.pem" --user alice \
	--oauth-token-cmd "echo 'tok alice'" "$M"
count st 15 "OAuth"

# ---------------------------------------------------------------- client certificates
K="smtp://127.0.0.1:$CC"
expect 0 "--cert --key" -- $SEND --server "$K" --ca-file "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" "$M"
stored cc 1 'm["client_cert"] and m["client_cert"]["commonName"] == "smtpc test client"' "--cert --key"
cat "$C/client.pem" "$C/client.key" >"$TMP/client-both.pem"
expect 0 "--cert with the key inside" -- $SEND --server "$K" --ca-file "$C/ca.pem" --cert "$TMP/client-both.pem" "$M"
expect 69 "--cert with the wrong --key" -- $SEND --server "$K" --ca-file "$C/ca.pem" --cert "$C/client.pem" \
	--key "$C/server.key" "$M"
has err "client certificate" "--cert with the wrong --key"
expect 0 "no client certificate (optional)" -- $SEND --server "$K" --ca-file "$C/ca.pem" "$M"
stored cc 3 'm["client_cert"] is None' "no client certificate"

# ---------------------------------------------------------------- a self-signed relay (snakeoil)
S="smtp://127.0.0.1:$SS"
expect 0 "snakeoil, no credentials: delivered" -- $SEND --server "$S" --json --debug "$M"
json_check 'd["tls"]["verified"] is False and d["accepted"] == ["a@ok.test"] and d["exit"] == 0' "snakeoil --json"
has err "encrypted, certificate NOT verified (self-signed certificate" "snakeoil, no credentials"
stored ss 1 'm["tls"] is True and m["auth"] is None' "snakeoil, no credentials"
expect 69 "snakeoil, credentials: refused" -- $SEND --server "$S" $CREDS --json --debug "$M"
json_check 'd["tls"] is None and d["error"]["kind"] == "TLS error" and d["auth"] is None and d["accepted"] == [] and d["exit"] == 69' "snakeoil, credentials --json"
hasnt err "send: AUTH" "snakeoil, credentials"
secrets_absent "snakeoil, credentials"
expect 69 "snakeoil, credentials, opportunistic, --allow-plaintext-auth: refused" -- $SEND --server "$S" \
	$CREDS --starttls opportunistic --allow-plaintext-auth --debug "$M"
has err "certificate verification failed" "snakeoil, credentials, opportunistic"
hasnt err "send: AUTH" "snakeoil, credentials, opportunistic"
secrets_absent "snakeoil, credentials, opportunistic"
expect 69 "snakeoil, --starttls required: refused" -- $SEND --server "$S" --starttls required --json "$M"
json_check 'd["tls"] is None and d["error"]["kind"] == "TLS error" and d["exit"] == 69' "snakeoil, required --json"
# sendmail mode: "tls-verify no" in the configuration is --insecure
mkdir "$TMP/bin"
ln -s "$(cd "$(dirname "$SMTPC")" && pwd)/$(basename "$SMTPC")" "$TMP/bin/sendmail"
printf 'server %s\nstarttls required\n' "$S" >"$TMP/ss-verify.conf"
printf 'server %s\nstarttls required\ntls-verify no\n' "$S" >"$TMP/ss-noverify.conf"
printf 'server %s\ntls-verify maybe\n' "$S" >"$TMP/ss-bad.conf"
sendmail_run() {
	SMTPC_CONFIG=$1 "$TMP/bin/sendmail" -f s@x.test a@ok.test <"$M" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}
sendmail_run "$TMP/ss-verify.conf"
[ "$RC" -eq 69 ] && pass || fail "sendmail, snakeoil, starttls required: exit $RC, expected 69"
sendmail_run "$TMP/ss-noverify.conf"
[ "$RC" -eq 0 ] && pass || fail "sendmail, snakeoil, tls-verify no: exit $RC, expected 0"
has err "smtpc: warning: TLS certificate verification is disabled (--insecure)" "sendmail, tls-verify no"
sendmail_run "$TMP/ss-bad.conf"
[ "$RC" -eq 78 ] && pass || fail "sendmail, tls-verify maybe: exit $RC, expected 78"
has err "ss-bad.conf:2: invalid value for 'tls-verify'" "sendmail, tls-verify maybe"
count ss 2 "snakeoil"

echo "test-cli-tls: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
