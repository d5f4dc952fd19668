#!/usr/bin/env bash
# Interop: smtpc with STARTTLS and AUTH -> aiosmtpd (Debian's /usr/bin/python3)
# on loopback, with aiosmtpd_tls_server.py: STARTTLS required before anything
# but EHLO/NOOP/QUIT (530), AUTH PLAIN/LOGIN offered and accepted only after
# TLS, AUTH required before MAIL; user alice, password "pässwörd 1" (UTF-8,
# with a space). The server stores exactly the bytes received per message and
# logs, per connection, every command verb with the TLS state and every AUTH
# (login and the SHA-256 of the password bytes received), so the tests check
# from the server's side that AUTH never came before STARTTLS and that the
# password arrived as its exact UTF-8 bytes.
# The certificates are made here with openssl: a throwaway CA and a server
# certificate for DNS:localhost, IP:127.0.0.1, IP:::1.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init aiosmtpd-tls
it_need_exec "$IT_PY"
"$IT_PY" -c 'import aiosmtpd.smtp' 2> /dev/null || it_prereq "python3-aiosmtpd is not installed for $IT_PY"
command -v openssl > /dev/null || it_prereq "openssl not found"
it_need_smtpc

# ------------------------------------------------------------------ start aiosmtpd
D=$IT_DIR
HOSTS=(--host 127.0.0.1)
if it_have_ipv6; then
    PORT=$(it_free_ports 1 v6)
    HOSTS+=(--host ::1)
else
    PORT=$(it_free_ports 1)
fi
[ -n "$PORT" ] || it_bail "no free port"
it_make_certs "$D/tls" || it_bail "certificate generation failed: $(tail -n 5 "$D/tls/openssl.log")"
CA=$D/tls/ca.crt
export IT_PW_ALICE='pässwörd 1'
export IT_PW_WRONG='pässwörd 2'
printf 'alice:%s\n' "$IT_PW_ALICE" > "$D/users"
chmod 600 "$D/users"
SPOOL=$D/spool
EVENTS=$SPOOL/events.jsonl
IT_LOGS=("$D/log/aiosmtpd.log")
it_spawn aiosmtpd aiosmtpd_tls_server.py "$D/log/aiosmtpd.log" \
    "$IT_PY" "$HERE/aiosmtpd_tls_server.py" --dir "$SPOOL" "${HOSTS[@]}" --port "$PORT" \
    --cert "$D/tls/server-chain.crt" --key "$D/tls/server.key" --users "$D/users"
it_wait_listen 20 aiosmtpd "$PORT" || it_bail "aiosmtpd is not listening on port $PORT"
it_log "aiosmtpd (STARTTLS required, AUTH PLAIN LOGIN) on port $PORT$( ((${#HOSTS[@]} > 2)) && echo " (127.0.0.1 and ::1)")"

URL=smtp://localhost:$PORT
FROM=alice@example.org
ALICE=(--user alice --password-env IT_PW_ALICE)
STARTTLS=(--starttls required --ca-file "$CA")

# stored_for RCPT: print DIR/<n> of the one stored message whose envelope has RCPT.
stored_for() {
    "$IT_PY" - "$SPOOL" "$1" <<'EOF'
import glob, json, sys
spool, rcpt = sys.argv[1:]
hits = []
for p in sorted(glob.glob(spool + "/*.json")):
    with open(p) as f:
        if rcpt in json.load(f)["rcpt_tos"]:
            hits.append(p[:-5])
if len(hits) != 1:
    sys.exit("%d stored messages for %s" % (len(hits), rcpt))
print(hits[0])
EOF
}

# check_stored RCPT SENT MECH: the message for RCPT is SENT with CRLF line
# endings, and came over TLS from a session authenticated as alice with MECH.
check_stored() {
    local m out
    if ! m=$(stored_for "$1" 2>&1); then
        it_fail "aiosmtpd: $m"
        return 1
    fi
    it_compare crlf "$m.eml" "$2"
    out=$("$IT_PY" - "$m.json" "$3" <<'EOF'
import json, sys
meta, mech = json.load(open(sys.argv[1])), sys.argv[2]
if not meta.get("tls"):
    print("the message did not come over TLS (tls=%r)" % meta.get("tls"))
if meta.get("auth_login") != "alice":
    print("the session was not authenticated as alice (auth_login=%r)" % meta.get("auth_login"))
if meta.get("auth_mechanism") != mech:
    print("authenticated with %r, expected %r" % (meta.get("auth_mechanism"), mech))
if meta.get("mail_from") != "alice@example.org":
    print("envelope sender %r" % meta.get("mail_from"))
EOF
    )
    [ -z "$out" ] || it_fail "$out"
    echo "$m" > "$D/last-msg"
}

# conn_mark: remember the server's last connection number (before a run).
conn_mark() {
    CONN_MARK=$("$IT_PY" -c '
import json, sys
try:
    evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
except OSError:
    evs = []
print(max([e["conn"] for e in evs if e.get("conn") is not None] or [0]))' "$EVENTS")
}
CONN_MARK=0

# check_events [auth MECH SHA256 ok|fail] [noauth] [noconn]: the server's
# record of the connections since conn_mark: STARTTLS before any AUTH, every
# AUTH over TLS, and (auth) exactly one AUTH, with MECH, alice, the password
# bytes with SHA256, result ok; or (noauth) no AUTH command at all; or
# (noconn) no connection at all.
check_events() {
    local out
    out=$("$IT_PY" - "$EVENTS" "$CONN_MARK" "$@" <<'EOF'
import json, sys
path, mark, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    evs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
except OSError:
    evs = []
mine = [e for e in evs if e.get("conn") is not None and e["conn"] > mark]
if not mine and args and args[0] == "auth":
    print("the server recorded no connection for this run")
    sys.exit()
verbs = [e["verb"] for e in mine if e["event"] == "command"]
auths = [e for e in mine if e["event"] == "auth"]
if "AUTH" in verbs:
    if "STARTTLS" not in verbs or verbs.index("AUTH") < verbs.index("STARTTLS"):
        print("AUTH came before STARTTLS (commands: %s)" % " ".join(verbs))
for e in mine:
    if e["event"] == "command" and e["verb"] == "AUTH" and not e["tls"]:
        print("an AUTH command arrived without TLS (commands: %s)" % " ".join(verbs))
if args and args[0] == "auth":
    mech, sha, ok = args[1], args[2], args[3] == "ok"
    if verbs.count("AUTH") != 1 or len(auths) != 1:
        print("expected one AUTH, the server saw %d AUTH commands and %d credential checks (commands: %s)"
              % (verbs.count("AUTH"), len(auths), " ".join(verbs)))
    elif auths:
        a = auths[0]
        if a["mechanism"] != mech:
            print("AUTH %s, expected %s" % (a["mechanism"], mech))
        if a["login"] != "alice":
            print("login %r (hex %s), expected 'alice'" % (a["login"], a["login_hex"]))
        if a["password_sha256"] != sha:
            print("the password bytes received are not the UTF-8 bytes of the password (sha256 %s..., expected %s...)"
                  % (a["password_sha256"][:12], sha[:12]))
        if a["ok"] != ok:
            print("server's credentials check: %r, expected %r" % (a["ok"], ok))
elif args and args[0] == "noauth":
    if "AUTH" in verbs or auths:
        print("AUTH was sent (commands: %s)" % " ".join(verbs))
elif args and args[0] == "noconn":
    if mine:
        print("the client connected (commands: %s)" % " ".join(verbs))
EOF
    )
    if [ -n "$out" ]; then
        local l
        while IFS= read -r l; do it_fail "server side: $l"; done <<< "$out"
    fi
}

PW_SHA=$(printf '%s' "$IT_PW_ALICE" | sha256sum | cut -d' ' -f1)
WRONG_SHA=$(printf '%s' "$IT_PW_WRONG" | sha256sum | cut -d' ' -f1)
no_secrets() { it_expect_no_secret "$1" "$IT_OUT" "$IT_ERR"; }
transcript_starttls_first() {
    it_before "$IT_ERR" '^send: STARTTLS' '^send: AUTH' ||
        it_fail "the transcript does not show STARTTLS before AUTH: $(grep -oE '^send: [A-Z]+' "$IT_ERR" | cut -c7- | paste -sd' ')"
}

# ------------------------------------------------------------------ 1. probe
it_case "aiosmtpd-tls: probe with STARTTLS shows AUTH LOGIN PLAIN (offered only after TLS)"
IT_SUBCMD=probe it_smtpc probe --server "$URL" "${STARTTLS[@]}"
it_expect_exit 0
grep -qE '^AUTH LOGIN PLAIN$' "$IT_OUT" || it_fail "probe output has no line 'AUTH LOGIN PLAIN': $(paste -sd'|' "$IT_OUT")"
it_before "$IT_ERR" '^send: STARTTLS' '^reply: 250[- ]AUTH ' ||
    it_fail "the transcript does not show STARTTLS before the EHLO reply that offers AUTH"
it_case_end

# ------------------------------------------------------------------ 2. STARTTLS + AUTH PLAIN, byte for byte
it_case "aiosmtpd-tls: STARTTLS + AUTH PLAIN with a UTF-8 password, message arrives byte for byte with CRLF"
cat > "$D/m1.eml" <<'EOF'
From: Alice <alice@example.org>
To: Bob <plain@example.test>
Subject: STARTTLS and AUTH PLAIN
Date: Fri, 29 Nov 2024 06:30:00 +0000
Message-ID: <tls1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello,
	a tab, trailing spaces   
.a leading dot
.

two empty lines follow


end
EOF
conn_mark
it_smtpc plain --server "$URL" "${STARTTLS[@]}" "${ALICE[@]}" --auth PLAIN --from "$FROM" --to plain@example.test "$D/m1.eml"
it_expect_exit 0
it_expect_result accepted plain@example.test 250
transcript_starttls_first
check_events auth PLAIN "$PW_SHA" ok
check_stored plain@example.test "$D/m1.eml" PLAIN
no_secrets "$IT_PW_ALICE"
it_case_end

# ------------------------------------------------------------------ 3. AUTH LOGIN
it_case "aiosmtpd-tls: STARTTLS + AUTH LOGIN, message on stdin with CRLF endings"
printf 'Subject: AUTH LOGIN\r\nMessage-ID: <tls2@example.org>\r\n\r\nline 1\r\n..two dots\r\nlast\r\n' > "$D/m2.eml"
conn_mark
IT_STDIN=$D/m2.eml it_smtpc login --server "$URL" "${STARTTLS[@]}" "${ALICE[@]}" --auth LOGIN --from "$FROM" --to login@example.test
it_expect_exit 0
it_expect_result accepted login@example.test 250
transcript_starttls_first
check_events auth LOGIN "$PW_SHA" ok
check_stored login@example.test "$D/m2.eml" LOGIN
no_secrets "$IT_PW_ALICE"
it_case_end

# ------------------------------------------------------------------ 4. no --auth
it_case "aiosmtpd-tls: without --auth, PLAIN is chosen from 'AUTH LOGIN PLAIN' over TLS"
printf 'Subject: default mechanism\nMessage-ID: <tls3@example.org>\n\nbody\n' > "$D/m3.eml"
conn_mark
it_smtpc default --server "$URL" "${STARTTLS[@]}" "${ALICE[@]}" --from "$FROM" --to default@example.test "$D/m3.eml"
it_expect_exit 0
it_expect_result accepted default@example.test 250
transcript_starttls_first
check_events auth PLAIN "$PW_SHA" ok
check_stored default@example.test "$D/m3.eml" PLAIN
no_secrets "$IT_PW_ALICE"
it_case_end

# ------------------------------------------------------------------ 5. opportunistic
# Credentials with a policy that may fall back to plaintext need
# --allow-plaintext-auth; the server offers STARTTLS, so the upgrade must
# still come first.
it_case "aiosmtpd-tls: --starttls opportunistic --allow-plaintext-auth: upgrades first when offered, then authenticates"
printf 'Subject: opportunistic\nMessage-ID: <tls4@example.org>\n\nbody\n' > "$D/m4.eml"
conn_mark
it_smtpc opportunistic --server "$URL" --starttls opportunistic --allow-plaintext-auth --ca-file "$CA" "${ALICE[@]}" --from "$FROM" --to opp@example.test "$D/m4.eml"
it_expect_exit 0
it_expect_result accepted opp@example.test 250
transcript_starttls_first
check_events auth PLAIN "$PW_SHA" ok
check_stored opp@example.test "$D/m4.eml" PLAIN
no_secrets "$IT_PW_ALICE"
it_case_end

# ------------------------------------------------------------------ 6. --starttls never: no AUTH in plaintext
it_case "aiosmtpd-tls: --starttls never/opportunistic with credentials: refused before connecting (64), the message names --allow-plaintext-auth"
for policy in never opportunistic; do
    conn_mark
    it_smtpc "refuse-$policy" --server "$URL" --starttls "$policy" "${ALICE[@]}" --from "$FROM" --to never@example.test "$D/m4.eml"
    it_expect_exit 64
    grep -q -- '--allow-plaintext-auth' "$IT_ERR" || it_fail "--starttls $policy: the error does not name --allow-plaintext-auth: $(head -n 1 "$IT_ERR")"
    check_events noconn
done
it_case_end

it_case "aiosmtpd-tls: --starttls never --allow-plaintext-auth: AUTH is not offered in plaintext, so it is not sent; nothing stored"
printf 'Subject: never\nMessage-ID: <tls5@example.org>\n\nbody\n' > "$D/m5.eml"
conn_mark
it_smtpc never --server "$URL" --starttls never --allow-plaintext-auth "${ALICE[@]}" --from "$FROM" --to never@example.test "$D/m5.eml"
case $IT_RC in
    0 | 64 | 77) it_fail "exit status $IT_RC, expected a failure (AUTH not offered) other than 64 or 77" ;;
esac
! grep -qE '^send: AUTH' "$IT_ERR" || it_fail "the transcript shows AUTH sent without TLS"
! grep -qE '^send: MAIL' "$IT_ERR" || it_fail "MAIL sent although the login could not happen"
check_events noauth
if m=$(stored_for never@example.test 2> /dev/null); then it_fail "a message was stored ($m)"; fi
no_secrets "$IT_PW_ALICE"
it_case_end

# ------------------------------------------------------------------ 7. wrong password
it_case "aiosmtpd-tls: wrong password: exit 77, the server's 535 reported, one AUTH, nothing stored"
printf 'Subject: wrong password\nMessage-ID: <tls6@example.org>\n\nbody\n' > "$D/m6.eml"
conn_mark
it_smtpc wrong --server "$URL" "${STARTTLS[@]}" --user alice --password-env IT_PW_WRONG --from "$FROM" --to wrong@example.test "$D/m6.eml"
it_expect_exit 77
grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | cat - "$IT_OUT" | grep -E '535[ -]5\.7\.8' > /dev/null ||
    it_fail "neither stdout nor the error message (outside the transcript) shows the server's '535 5.7.8'"
transcript_starttls_first
check_events auth PLAIN "$WRONG_SHA" fail
! grep -qE '^send: MAIL' "$IT_ERR" || it_fail "MAIL was sent after the authentication failed"
if m=$(stored_for wrong@example.test 2> /dev/null); then it_fail "a message was stored ($m)"; fi
no_secrets "$IT_PW_WRONG"
it_case_end

# ------------------------------------------------------------------ 8. whole run, server side
it_case "aiosmtpd-tls: over every connection of this run, the server saw no AUTH before STARTTLS"
out=$("$IT_PY" - "$EVENTS" 2> "$D/conns.txt" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
conns = sorted({e["conn"] for e in evs if e.get("conn") is not None})
for c in conns:
    verbs = [e for e in evs if e.get("conn") == c and e["event"] == "command"]
    for e in verbs:
        if e["verb"] == "AUTH" and not e["tls"]:
            print("connection %d: AUTH without TLS (%s)" % (c, " ".join(v["verb"] for v in verbs)))
            break
print("%d connections" % len(conns), file=sys.stderr)
EOF
)
[ -z "$out" ] || it_fail "$out"
it_log "$(cat "$D/conns.txt") checked"
it_case_end

it_finish
