#!/usr/bin/env bash
# Interop: smtpc with TLS and AUTH -> a private Postfix submission service on
# loopback, SASL through a private Dovecot's auth socket -> pipe(8) ->
# maildir-deliver -> Maildir files, compared byte for byte with what was sent.
#
# Two Postfix listeners on free ports (127.0.0.1, and [::1] when available):
#   submission: STARTTLS required (smtpd_tls_security_level = encrypt), AUTH
#               only after TLS (smtpd_tls_auth_only), AUTH required for MAIL;
#   smtps:      implicit TLS (smtpd_tls_wrappermode = yes), AUTH required.
# Dovecot runs only its auth service (own config, base_dir and passwd-file
# with {PLAIN} passwords, so CRAM-MD5 and SCRAM work): alice/alicepw and
# carol/"c4rol pässwörd" (UTF-8, with a space); mechanisms PLAIN LOGIN
# CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; no delay after a wrong password
# (auth_failure_delay = 0, anvil's auth penalty socket disabled).
# The certificates are made here with openssl: a throwaway CA and a server
# certificate for DNS:localhost, IP:127.0.0.1, IP:::1.
#
# Checked for every run that carries a password: the password, and any base64
# form of it, appear neither in smtpc's output nor in its --debug transcript.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init postfix-submission
it_need_root
it_need_exec /usr/sbin/postfix /usr/sbin/postconf /usr/lib/postfix/sbin/master /usr/lib/postfix/sbin/pipe \
    /usr/sbin/dovecot /usr/lib/dovecot/auth "$IT_PY"
it_need_user postfix dovecot dovenull nobody
getent group postdrop > /dev/null || it_prereq "group postdrop missing (postfix package)"
command -v openssl > /dev/null || it_prereq "openssl not found"
it_need_smtpc

D=$IT_DIR
NOGROUP=$(id -gn nobody)
HAVE_V6=0
it_have_ipv6 && HAVE_V6=1
if ((HAVE_V6)); then PORTS=$(it_free_ports 2 v6); else PORTS=$(it_free_ports 2); fi
read -r SUB_PORT SMTPS_PORT <<< "$PORTS"
[ -n "${SMTPS_PORT:-}" ] || it_bail "no free ports"

# ------------------------------------------------------------------ certificates
it_make_certs "$D/tls" || it_bail "certificate generation failed: $(tail -n 5 "$D/tls/openssl.log")"
CA=$D/tls/ca.crt
OTHER_CA=$D/tls/other-ca.crt

# ------------------------------------------------------------------ Dovecot (auth only)
AUTH_SOCK=$D/dc/auth-client
mkdir -p "$D/dc/run" "$D/dc/state"
chmod 755 "$D/dc"
printf '%s\n' 'alice:{PLAIN}alicepw::::::' 'carol:{PLAIN}c4rol pässwörd::::::' > "$D/dc/users"
chgrp dovecot "$D/dc/users"
chmod 640 "$D/dc/users"
IT_LOGS=("$D/log/dovecot.log" "$D/log/dovecot.out" "$D/log/postfix.log" "$D/log/postfix-start.log")

cat > "$D/dc/dovecot.conf" <<EOF
# Private Dovecot for the smtpc interop tests: SASL for Postfix only (generated).
instance_name = smtpc-it-${D##*.}
base_dir = $D/dc/run
state_dir = $D/dc/state
log_path = $D/log/dovecot.log
info_log_path = $D/log/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
shutdown_clients = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
disable_plaintext_auth = yes
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/dc/users
}
userdb {
  driver = static
  args = uid=nobody gid=$NOGROUP home=/nonexistent
}
# No growing delay after failed logins (the tests fail logins on purpose).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener $AUTH_SOCK {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
/usr/sbin/dovecot -c "$D/dc/dovecot.conf" -n > "$D/log/doveconf-n.txt" 2> "$D/log/dovecot.out" ||
    it_bail "Dovecot rejects its configuration: $(cat "$D/log/dovecot.out")"
it_spawn dovecot /usr/sbin/dovecot "$D/log/dovecot.out" /usr/sbin/dovecot -F -c "$D/dc/dovecot.conf"

# ------------------------------------------------------------------ Postfix
ETC=$D/pf/etc SPOOL=$D/pf/spool MAIL=$D/mail
mkdir -p "$ETC" "$SPOOL" "$D/pf/data" "$D/bin" "$MAIL"
chown postfix "$D/pf/data"
chown "nobody:$NOGROUP" "$MAIL"
chmod 755 "$D/pf" "$D/bin" "$MAIL"
cp "$HERE/maildir-deliver" "$D/bin/maildir-deliver"
chmod 755 "$D/bin/maildir-deliver"
if ((HAVE_V6)); then
    INET_IF="127.0.0.1, [::1]" INET_PROTO=all ADDRS=("127.0.0.1" "[::1]")
else
    INET_IF="127.0.0.1" INET_PROTO=ipv4 ADDRS=("127.0.0.1")
fi

cat > "$ETC/main.cf" <<EOF
# Private Postfix for the smtpc interop tests: submission with TLS and SASL (generated).
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $D/pf/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $D/log/postfix.log
maillog_file_prefixes = $D/log
myhostname = localhost
mydomain = lab.test
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $INET_IF
inet_protocols = $INET_PROTO
# Nobody relays by address: only an authenticated client may send.
mynetworks =
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
default_transport = sink
relay_transport = sink
local_transport = sink
virtual_transport = sink
sink_destination_recipient_limit = 1
delay_warning_time = 0
local_header_rewrite_clients =
always_add_missing_headers = no
message_size_limit = 10485760
smtputf8_enable = yes
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
smtpd_banner = \$myhostname ESMTP Postfix (smtpc interop submission test)
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_client_connection_rate_limit = 0
smtpd_client_auth_rate_limit = 0
smtpd_delay_reject = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_sender_restrictions = permit_sasl_authenticated, check_client_access static:{530 5.7.0 Authentication required}

smtpd_tls_chain_files = $D/tls/server.key, $D/tls/server-chain.crt
smtpd_tls_security_level = encrypt
smtpd_tls_loglevel = 1
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $AUTH_SOCK
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = no
EOF
{
    echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
    for a in "${ADDRS[@]}"; do
        cat <<EOF
$a:$SUB_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
$a:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
EOF
    done
    cat <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
sink      unix  -       n       n       -       -       pipe
  flags=X user=nobody argv=/bin/sh $D/bin/maildir-deliver $MAIL \${sender} \${recipient}
EOF
} > "$ETC/master.cf"
# Postfix waits until a config file is at least 1 s old: date them back.
touch -d "@$(($(date +%s) - 60))" "$ETC"/*
/usr/sbin/postconf -c "$ETC" -n > "$D/log/postconf-n.txt" 2> "$D/log/postfix-start.log" ||
    it_bail "postconf rejects the configuration: $(cat "$D/log/postfix-start.log")"
/usr/sbin/postfix -c "$ETC" start >> "$D/log/postfix-start.log" 2>&1 < /dev/null ||
    it_bail "postfix start failed"
deadline=$((SECONDS + 10))
until [ -s "$SPOOL/pid/master.pid" ]; do
    ((SECONDS < deadline)) || it_bail "Postfix wrote no $SPOOL/pid/master.pid"
    sleep 0.05
done
MASTER_PID=$(tr -dc '0-9' < "$SPOOL/pid/master.pid")
it_track postfix "$MASTER_PID" postfix/sbin/master
it_wait_socket 20 dovecot "$AUTH_SOCK" || it_bail "Dovecot made no auth socket $AUTH_SOCK"
it_wait_listen 20 postfix "$SUB_PORT" "$SMTPS_PORT" || it_bail "Postfix is not listening on ports $SUB_PORT, $SMTPS_PORT"
it_log "Postfix master pid $MASTER_PID: submission (STARTTLS) port $SUB_PORT, smtps port $SMTPS_PORT; Dovecot auth $AUTH_SOCK"

# ------------------------------------------------------------------ helpers
FROM=alice@lab.test
RCPT=bob@lab.test
SUB=smtp://localhost:$SUB_PORT
SMTPS=smtps://localhost:$SMTPS_PORT
export IT_PW_ALICE='alicepw'
export IT_PW_CAROL='c4rol pässwörd'
export IT_PW_WRONG='not-alicepw 9'
ALICE=(--user alice --password-env IT_PW_ALICE)
CAROL=(--user carol --password-env IT_PW_CAROL)
STARTTLS=(--starttls required --ca-file "$CA")
NO_DELIVERY_IDS=()   # Message-IDs that must never arrive (checked at the end)

# msg FILE ID SUBJECT [lf]: a test message (CRLF endings unless "lf").
msg() {
    local eol=$'\r\n'
    [ "${4:-}" = lf ] && eol=$'\n'
    {
        printf 'From: Alice <%s>%sTo: Bob <%s>%sSubject: %s%s' "$FROM" "$eol" "$RCPT" "$eol" "$3" "$eol"
        printf 'Date: Fri, 29 Nov 2024 06:30:00 +0000%sMessage-ID: <%s>%s' "$eol" "$2" "$eol"
        printf 'MIME-Version: 1.0%sContent-Type: text/plain; charset=us-ascii%s%s' "$eol" "$eol" "$eol"
        printf 'Hello Bob,%s%s.a line starting with a dot%s.%strailing spaces   %s\tand a tab%s-- %sAlice%s' \
            "$eol" "$eol" "$eol" "$eol" "$eol" "$eol" "$eol" "$eol"
    } > "$1"
}

# check_delivery ID SENT [USER]: bob's Maildir gets the message once, as
# Postfix' Received: header + SENT with LF endings; envelope sender $FROM.
check_delivery() {
    local id=$1 sent=$2 f n wait=-
    it_claimed "$RCPT" || wait=0   # smtpc says it was not accepted: look, do not wait
    if ! it_wait_mail "$wait" "$MAIL/$RCPT" "$id"; then
        it_fail "no delivery to $RCPT within $IT_MAIL_WAITED s (Maildir $MAIL/$RCPT)"
        return 1
    fi
    f=$IT_MAIL_FILE
    it_compare lf "$f" "$sent" "Received" "Received"
    n=$(it_count_mail "$MAIL/$RCPT" "$id")
    [ "$n" = 1 ] || it_fail "$RCPT got the message $n times"
    grep -qF "$(basename "$f")	$FROM	$RCPT" "$MAIL/deliveries.log" ||
        it_fail "deliveries.log has no line with envelope sender $FROM for $RCPT"
}

# check_sasl MECH USER: Postfix logged, during this case, a message accepted
# from a client authenticated as USER with MECH (polls: postlogd writes late).
check_sasl() {
    local want="sasl_method=$1, sasl_username=$2" deadline=$((SECONDS + 3))
    until it_log_since_case "$D/log/postfix.log" | grep -F -- "$want" > /dev/null; do
        if ((SECONDS >= deadline)); then
            it_fail "postfix.log has no '$want' for this case (got: $(it_log_since_case "$D/log/postfix.log" | grep -o 'sasl_method=[^ ]* sasl_username=[^ ]*' | paste -sd' '))"
            return 1
        fi
        sleep 0.05
    done
}

# check_auth_sent MECH: the transcript shows exactly one AUTH command, with MECH,
# sent after STARTTLS (unless "implicit" is given as $2).
check_auth_sent() {
    local n
    n=$(grep -cE '^send: AUTH( |\\r)' "$IT_ERR")
    [ "$n" = 1 ] || it_fail "expected one AUTH command in the transcript, found $n"
    grep -qE "^send: AUTH $1( |\\\\r|$)" "$IT_ERR" ||
        it_fail "the transcript has no 'AUTH $1' ($(grep -E '^send: AUTH' "$IT_ERR" | cut -c1-40 | paste -sd'|'))"
    if [ "${2:-}" != implicit ]; then
        it_before "$IT_ERR" '^send: STARTTLS' '^send: AUTH' || it_fail "the transcript does not show STARTTLS before AUTH"
    fi
}

# no_secrets PASSWORD: neither stdout nor the transcript of the last run leaks it.
no_secrets() { it_expect_no_secret "$1" "$IT_OUT" "$IT_ERR"; }

# refused_early: the last run sent neither AUTH nor MAIL (TLS failed first).
refused_early() {
    ! grep -qE '^send: AUTH' "$IT_ERR" || it_fail "AUTH was sent although TLS verification failed"
    ! grep -qE '^send: MAIL' "$IT_ERR" || it_fail "MAIL was sent although the session should have ended"
}

# tls_error_exit: exit 69 (smtpc --help: "69 permanent failure (5xx, TLS)"),
# and a message on stderr that names the certificate problem.
tls_error_exit() {
    it_expect_exit 69
    grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | grep -iE 'certificate|verif|fingerprint|pin' > /dev/null ||
        it_fail "no error message about the certificate on stderr: $(grep '^smtpc' "$IT_ERR" | head -n 3 | paste -sd'|')"
}

# ------------------------------------------------------------------ 1. probe
it_case "submission: probe with STARTTLS lists the AUTH mechanisms offered after TLS"
IT_SUBCMD=probe it_smtpc probe --server "$SUB" "${STARTTLS[@]}"
it_expect_exit 0
grep -qE '^AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256$' "$IT_OUT" ||
    it_fail "probe output has no line 'AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256': $(paste -sd'|' "$IT_OUT")"
it_before "$IT_ERR" '^send: STARTTLS' '^reply: 250[- ]AUTH ' ||
    it_fail "the transcript does not show STARTTLS before the EHLO reply that offers AUTH"
it_case_end

# ------------------------------------------------------------------ 2-6. each mechanism
for MECH in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
    it_case "submission: STARTTLS + AUTH $MECH (--auth $MECH) as alice, message arrives byte for byte"
    ID=mech-$MECH.$$@lab.test
    msg "$D/m-$MECH.eml" "$ID" "auth $MECH"
    it_smtpc "auth-$MECH" --server "$SUB" "${STARTTLS[@]}" "${ALICE[@]}" --auth "$MECH" --from "$FROM" --to "$RCPT" "$D/m-$MECH.eml"
    it_expect_exit 0
    it_expect_result accepted "$RCPT" 250
    check_auth_sent "$MECH"
    no_secrets "$IT_PW_ALICE"
    check_delivery "$ID" "$D/m-$MECH.eml" && check_sasl "$MECH" alice
    it_case_end
done

# ------------------------------------------------------------------ 7. strongest by default
it_case "submission: without --auth the strongest mechanism is chosen (SCRAM-SHA-256)"
ID=default.$$@lab.test
msg "$D/m-default.eml" "$ID" "default mechanism" lf
it_smtpc auth-default --server "$SUB" "${STARTTLS[@]}" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-default.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
check_auth_sent SCRAM-SHA-256
no_secrets "$IT_PW_ALICE"
check_delivery "$ID" "$D/m-default.eml" && check_sasl SCRAM-SHA-256 alice
it_case_end

# ------------------------------------------------------------------ 8-9. UTF-8 password
for MECH in default PLAIN; do
    it_case "submission: carol's UTF-8 password with a space ('c4rol pässwörd'), $MECH"
    ID=carol-$MECH.$$@lab.test
    msg "$D/m-carol-$MECH.eml" "$ID" "utf-8 password $MECH"
    args=()
    [ "$MECH" = default ] || args=(--auth "$MECH")
    it_smtpc "carol-$MECH" --server "$SUB" "${STARTTLS[@]}" "${CAROL[@]}" "${args[@]}" --from "$FROM" --to "$RCPT" "$D/m-carol-$MECH.eml"
    it_expect_exit 0
    it_expect_result accepted "$RCPT" 250
    want=$MECH
    [ "$MECH" = default ] && want=SCRAM-SHA-256
    check_auth_sent "$want"
    no_secrets "$IT_PW_CAROL"
    check_delivery "$ID" "$D/m-carol-$MECH.eml" && check_sasl "$want" carol
    it_case_end
done

# ------------------------------------------------------------------ 10. wrong password
# A 535 to SCRAM is followed by one PLAIN attempt (smtpc.h: the server may hold no SCRAM
# secret for the account); the 535 to PLAIN ends it: two attempts, never the whole list.
it_case "submission: wrong password: exit 77, the server's 535 5.7.8 reported, SCRAM-SHA-256 then PLAIN once, no third attempt"
ID=wrongpw.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-wrong.eml" "$ID" "wrong password"
it_smtpc wrong-pw --server "$SUB" "${STARTTLS[@]}" --user alice --password-env IT_PW_WRONG --from "$FROM" --to "$RCPT" "$D/m-wrong.eml"
it_expect_exit 77
grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | cat - "$IT_OUT" | grep -E '535[ -]5\.7\.8' > /dev/null ||
    it_fail "neither stdout nor the error message (outside the transcript) shows the server's '535 5.7.8'"
n=$(grep -cE '^send: AUTH( |\\r)' "$IT_ERR")
[ "$n" = 2 ] || it_fail "expected two AUTH commands in the transcript, found $n"
it_before "$IT_ERR" '^send: AUTH SCRAM-SHA-256' '^send: AUTH PLAIN' ||
    it_fail "the transcript does not show AUTH SCRAM-SHA-256, then AUTH PLAIN"
! grep -qE '^send: MAIL' "$IT_ERR" || it_fail "MAIL was sent after the authentication failed"
no_secrets "$IT_PW_WRONG"
it_case_end

it_case "submission: wrong password with --auth PLAIN: exit 77, 535 5.7.8, not retried with another mechanism"
it_smtpc wrong-pw-plain --server "$SUB" "${STARTTLS[@]}" --user alice --password-env IT_PW_WRONG --auth PLAIN --from "$FROM" --to "$RCPT" "$D/m-wrong.eml"
it_expect_exit 77
grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | cat - "$IT_OUT" | grep -E '535[ -]5\.7\.8' > /dev/null ||
    it_fail "neither stdout nor the error message (outside the transcript) shows the server's '535 5.7.8'"
check_auth_sent PLAIN
no_secrets "$IT_PW_WRONG"
it_case_end

# ------------------------------------------------------------------ 11. implicit TLS
it_case "smtps: implicit TLS (smtps://localhost:$SMTPS_PORT), AUTH, message arrives byte for byte"
ID=smtps.$$@lab.test
msg "$D/m-smtps.eml" "$ID" "implicit tls"
it_smtpc smtps --server "$SMTPS" --ca-file "$CA" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-smtps.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
! grep -qE '^send: STARTTLS' "$IT_ERR" || it_fail "STARTTLS sent on an implicit-TLS connection"
check_auth_sent SCRAM-SHA-256 implicit
no_secrets "$IT_PW_ALICE"
check_delivery "$ID" "$D/m-smtps.eml" && check_sasl SCRAM-SHA-256 alice
it_case_end

# ------------------------------------------------------------------ 12-14. verification failures
it_case "submission: no --ca-file (system store): certificate verification fails, no AUTH, nothing sent"
ID=noca.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-noca.eml" "$ID" "no ca"
it_smtpc no-ca --server "$SUB" --starttls required "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-noca.eml"
tls_error_exit
refused_early
no_secrets "$IT_PW_ALICE"
it_case_end

it_case "smtps: no --ca-file: certificate verification fails, nothing sent"
it_smtpc no-ca-smtps --server "$SMTPS" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-noca.eml"
tls_error_exit
refused_early
! grep -qE '^send: EHLO' "$IT_ERR" || it_fail "EHLO was sent although the TLS handshake failed"
no_secrets "$IT_PW_ALICE"
it_case_end

it_case "submission: --ca-file with an unrelated CA: certificate verification fails, nothing sent"
it_smtpc other-ca --server "$SUB" --starttls required --ca-file "$OTHER_CA" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-noca.eml"
tls_error_exit
refused_early
it_case_end

# ------------------------------------------------------------------ 15-18. names and addresses
it_case "submission: smtp://127.0.0.1 verified through the certificate's IP SAN"
ID=ip4.$$@lab.test
msg "$D/m-ip4.eml" "$ID" "ip san"
it_smtpc ip-san --server "smtp://127.0.0.1:$SUB_PORT" "${STARTTLS[@]}" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-ip4.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
check_delivery "$ID" "$D/m-ip4.eml"
it_case_end

it_case "submission: smtp://127.0.0.1 with --tls-name localhost"
ID=tlsname.$$@lab.test
msg "$D/m-tlsname.eml" "$ID" "tls name"
it_smtpc tls-name --server "smtp://127.0.0.1:$SUB_PORT" "${STARTTLS[@]}" --tls-name localhost "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-tlsname.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
check_delivery "$ID" "$D/m-tlsname.eml"
it_case_end

it_case "submission: --tls-name mail.example.test (not in the certificate): verification fails, nothing sent"
ID=badname.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-badname.eml" "$ID" "bad tls name"
it_smtpc bad-tls-name --server "smtp://127.0.0.1:$SUB_PORT" "${STARTTLS[@]}" --tls-name mail.example.test "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-badname.eml"
tls_error_exit
refused_early
it_case_end

if ((HAVE_V6)); then
    it_case "submission: smtp://[::1] verified through the certificate's IP SAN ::1"
    ID=ip6.$$@lab.test
    msg "$D/m-ip6.eml" "$ID" "ipv6 san"
    it_smtpc ip6-san --server "smtp://[::1]:$SUB_PORT" "${STARTTLS[@]}" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-ip6.eml"
    it_expect_exit 0
    it_expect_result accepted "$RCPT" 250
    check_delivery "$ID" "$D/m-ip6.eml"
    it_case_end
else
    it_skip_case "submission: smtp://[::1] IP SAN" "no IPv6 on loopback"
fi

# ------------------------------------------------------------------ 19-20. pinning
PIN=$(it_cert_sha256 "$D/tls/server.crt")
PIN_COLONS=$(it_cert_sha256 "$D/tls/server.crt" colons)
WRONG_PIN=$(it_cert_sha256 "$CA")
it_case "submission: --fingerprint with the server certificate's SHA-256 (hex, and with colons)"
ID=pin.$$@lab.test
msg "$D/m-pin.eml" "$ID" "pinned"
it_smtpc pin --server "$SUB" "${STARTTLS[@]}" --fingerprint "$PIN" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-pin.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
check_delivery "$ID" "$D/m-pin.eml"
ID=pin2.$$@lab.test
msg "$D/m-pin2.eml" "$ID" "pinned colons"
it_smtpc pin-colons --server "$SMTPS" --ca-file "$CA" --fingerprint "$PIN_COLONS" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-pin2.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
check_delivery "$ID" "$D/m-pin2.eml"
it_case_end

it_case "submission: --fingerprint that does not match: the connection is refused, nothing sent"
ID=badpin.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-badpin.eml" "$ID" "wrong pin"
it_smtpc bad-pin --server "$SUB" "${STARTTLS[@]}" --fingerprint "$WRONG_PIN" "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-badpin.eml"
tls_error_exit
refused_early
it_case_end

# ------------------------------------------------------------------ 21-22. --insecure
# Credentials over TLS that is not verified count as plaintext: smtpc refuses
# the combination before connecting (usage error, 64) unless allowed.
it_case "submission: --insecure with credentials but without --allow-plaintext-auth: refused before connecting (64)"
ID=insecure.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-insecure.eml" "$ID" "insecure"
it_smtpc insecure --server "$SUB" --starttls required --insecure "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-insecure.eml"
it_expect_exit 64
grep -q -- '--allow-plaintext-auth' "$IT_ERR" || it_fail "the error does not name --allow-plaintext-auth: $(grep '^smtpc' "$IT_ERR" | head -n 1)"
refused_early
! grep -qE '^connect: ' "$IT_ERR" || it_fail "smtpc connected anyway"
no_secrets "$IT_PW_ALICE"
it_case_end

it_case "submission: --insecure --allow-plaintext-auth: unverified TLS, AUTH allowed, delivered"
ID=insecure2.$$@lab.test
msg "$D/m-insecure2.eml" "$ID" "insecure allowed"
it_smtpc insecure-allowed --server "$SUB" --starttls required --insecure --allow-plaintext-auth "${ALICE[@]}" --from "$FROM" --to "$RCPT" "$D/m-insecure2.eml"
it_expect_exit 0
it_expect_result accepted "$RCPT" 250
grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | grep -iE 'warning.*(insecure|verif)' > /dev/null ||
    it_fail "no warning on stderr that verification is off"
no_secrets "$IT_PW_ALICE"
check_delivery "$ID" "$D/m-insecure2.eml"
it_case_end

# ------------------------------------------------------------------ 23. no credentials
it_case "submission: no credentials: MAIL refused with 530 5.7.0, exit 69"
ID=noauth.$$@lab.test
NO_DELIVERY_IDS+=("$ID")
msg "$D/m-noauth.eml" "$ID" "no auth"
it_smtpc no-auth --server "$SUB" "${STARTTLS[@]}" --from "$FROM" --to "$RCPT" "$D/m-noauth.eml"
it_expect_exit 69
grep -v -E '^(send|reply|connect|tls|debug): ' "$IT_ERR" | cat - "$IT_OUT" | grep -E '530[ -]5\.7\.0' > /dev/null ||
    it_fail "the server's '530 5.7.0' is not reported"
! grep -qE '^send: AUTH' "$IT_ERR" || it_fail "AUTH sent without credentials"
it_case_end

# ------------------------------------------------------------------ last: nothing arrived for refused runs
it_case "nothing was delivered for the runs that had to fail"
sleep 1   # any stray delivery would have been queued long before this
for id in "${NO_DELIVERY_IDS[@]}"; do
    n=$(it_count_mail "$MAIL/$RCPT" "$id")
    [ "$n" = 0 ] || it_fail "message <$id> was delivered ($n file(s)) although its run failed"
done
it_case_end

it_finish
