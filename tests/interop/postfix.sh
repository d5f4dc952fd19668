#!/usr/bin/env bash
# Interop: smtpc -> a private Postfix on 127.0.0.1 (and [::1]) -> pipe(8) ->
# maildir-deliver -> Maildir files, compared byte for byte with what was sent.
#
# Postfix runs with its own config directory (postfix -c DIR start), queue and
# logs in a temporary folder, a free port, and access tables: *@reject.test
# recipients get "550 5.1.1", *@defer.test get "450 4.2.1". A bare LF from the
# client is refused (smtpd_forbid_bare_newline = reject), so a client that does
# not send CRLF shows up as a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init postfix
it_need_root
it_need_exec /usr/sbin/postfix /usr/sbin/postconf /usr/lib/postfix/sbin/master /usr/lib/postfix/sbin/pipe "$IT_PY"
it_need_user postfix nobody
getent group postdrop > /dev/null || it_prereq "group postdrop missing (postfix package)"
it_need_smtpc

# ------------------------------------------------------------------ start Postfix
D=$IT_DIR
HAVE_V6=0
it_have_ipv6 && HAVE_V6=1
if ((HAVE_V6)); then PORT=$(it_free_ports 1 v6); else PORT=$(it_free_ports 1); fi
[ -n "$PORT" ] || it_bail "no free port"
ETC=$D/pf/etc SPOOL=$D/pf/spool MAIL=$D/mail
NOGROUP=$(id -gn nobody)
mkdir -p "$ETC" "$SPOOL" "$D/pf/data" "$D/bin" "$MAIL"
chown postfix "$D/pf/data"
chown "nobody:$NOGROUP" "$MAIL"
chmod 755 "$D/pf" "$D/bin" "$MAIL"
cp "$HERE/maildir-deliver" "$D/bin/maildir-deliver"
chmod 755 "$D/bin/maildir-deliver"
IT_LOGS=("$D/log/postfix.log" "$D/log/postfix-start.log")

if ((HAVE_V6)); then
    INET_IF="127.0.0.1, [::1]" INET_PROTO=all NETWORKS="127.0.0.0/8 [::1]/128" ADDRS=("127.0.0.1" "[::1]")
else
    INET_IF="127.0.0.1" INET_PROTO=ipv4 NETWORKS="127.0.0.0/8" ADDRS=("127.0.0.1")
fi

cat > "$ETC/main.cf" <<EOF
# Private Postfix for the smtpc interop tests (generated).
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $D/pf/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $D/log/postfix.log
maillog_file_prefixes = $D/log
myhostname = localhost
mydomain = example.test
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $INET_IF
inet_protocols = $INET_PROTO
mynetworks = $NETWORKS
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
# Every address of every domain goes to the pipe(8) sink, one recipient at a time.
default_transport = sink
relay_transport = sink
local_transport = sink
virtual_transport = sink
sink_destination_recipient_limit = 1
delay_warning_time = 0
# No header rewriting, no headers added except Received:.
local_header_rewrite_clients =
always_add_missing_headers = no
message_size_limit = 10485760
smtputf8_enable = yes
# A bare LF from the client is a client bug: refuse it (Postfix >= 3.7.9).
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
smtpd_banner = \$myhostname ESMTP Postfix (smtpc interop test)
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 1000
smtpd_client_connection_rate_limit = 0
smtpd_delay_reject = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:\$config_directory/recipient_access
EOF
printf '%s\t%s\n' \
    reject.test "550 5.1.1 User unknown (smtpc interop: reject.test recipients are refused)" \
    defer.test "450 4.2.1 Mailbox temporarily unavailable (smtpc interop: defer.test recipients are deferred)" \
    > "$ETC/recipient_access"
{
    echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
    for a in "${ADDRS[@]}"; do
        echo "$a:$PORT inet n - n - - smtpd"
    done
    cat <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
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
# Postfix waits until a config file is at least 1 s old ("still being
# written"); date them back to start at once.
touch -d "@$(($(date +%s) - 60))" "$ETC"/*
/usr/sbin/postconf -c "$ETC" -n > "$D/log/postconf-n.txt" 2> "$D/log/postfix-start.log" ||
    it_bail "postconf rejects the configuration: $(cat "$D/log/postfix-start.log")"
/usr/sbin/postfix -c "$ETC" start >> "$D/log/postfix-start.log" 2>&1 < /dev/null ||
    it_bail "postfix start failed"
# The master daemonises; track it by the PID it records.
deadline=$((SECONDS + 10))
until [ -s "$SPOOL/pid/master.pid" ]; do
    ((SECONDS < deadline)) || it_bail "Postfix wrote no $SPOOL/pid/master.pid"
    sleep 0.05
done
MASTER_PID=$(tr -dc '0-9' < "$SPOOL/pid/master.pid")
it_track postfix "$MASTER_PID" postfix/sbin/master
it_wait_listen 20 postfix "$PORT" || it_bail "Postfix is not listening on port $PORT"
it_log "Postfix master pid $MASTER_PID on 127.0.0.1:$PORT$( ((HAVE_V6)) && echo " and [::1]:$PORT")"

URL=smtp://127.0.0.1:$PORT
FROM=sender@example.org

# msgfile NAME MESSAGE-ID: write a test message (CRLF endings) to $D/NAME, print its path.
msg_head() { # MESSAGE-ID SUBJECT
    printf 'From: Sender <%s>\r\nTo: Recipients <list@example.test>\r\nSubject: %s\r\nDate: Fri, 29 Nov 2024 06:30:00 +0000\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' \
        "$FROM" "$2" "$1"
}

# check_delivery RCPT MESSAGE-ID SENT-FILE: the mailbox of RCPT receives the
# message; its file is Received: + SENT with LF endings; envelope sender is $FROM.
check_delivery() {
    local rcpt=$1 id=$2 sent=$3 f
    local wait=-
    it_claimed "$1" || wait=0   # smtpc says it was not accepted: look, do not wait
    if ! it_wait_mail "$wait" "$MAIL/$rcpt" "$id"; then
        it_fail "no delivery to $rcpt within $IT_MAIL_WAITED s (Maildir $MAIL/$rcpt)"
        return
    fi
    f=$IT_MAIL_FILE
    it_compare lf "$f" "$sent" "Received" "Received"
    grep -qiF "$(basename "$f")	$FROM	$rcpt" "$MAIL/deliveries.log" ||
        it_fail "deliveries.log has no line with envelope sender $FROM for $rcpt"
}

# ------------------------------------------------------------------ 1. two recipients
it_case "postfix: one message to two recipients arrives byte for byte"
ID=case1.$$@example.org
{
    msg_head "$ID" "two recipients"
    printf 'Hello,\r\n\r\nline with trailing spaces   \r\n\ttab-indented line\r\n'
    printf 'x%.0s' {1..900}
    printf '\r\n\r\n\r\nlast line before two empty ones above\r\n'
} > "$D/m1.eml"
it_smtpc two-rcpts --server "$URL" --from "$FROM" --to one@example.test --to Two@Example.test "$D/m1.eml"
it_expect_exit 0
it_expect_result accepted one@example.test
it_expect_result accepted Two@Example.test
check_delivery one@example.test "$ID" "$D/m1.eml"
check_delivery two@example.test "$ID" "$D/m1.eml"
it_case_end

# ------------------------------------------------------------------ 2. dot-stuffing
it_case "postfix: lines starting with dots survive (dot-stuffing round trip, LF input)"
ID=case2.$$@example.org
{
    msg_head "$ID" "dots" | tr -d '\r'
    printf '.\n..\n...\n.leading dot\n..two leading dots\n . \nline\n.\n\n.\nend.\n.'
    printf '\n'
} > "$D/m2.eml"
it_smtpc dots --server "$URL" --from "$FROM" --to dots@example.test "$D/m2.eml"
it_expect_exit 0
it_expect_result accepted dots@example.test
check_delivery dots@example.test "$ID" "$D/m2.eml"
it_case_end

# ------------------------------------------------------------------ 3. mixed recipients
it_case "postfix: mixed recipients: 250/550/450, exit 75, the accepted one gets the mail"
ID=case3.$$@example.org
{ msg_head "$ID" "mixed"; printf 'mixed recipients\r\n'; } > "$D/m3.eml"
it_smtpc mixed --server "$URL" --from "$FROM" --to ok@example.test,x@reject.test --to y@defer.test "$D/m3.eml"
it_expect_exit 75
it_expect_result accepted ok@example.test
it_expect_result refused x@reject.test 550 5.1.1
it_expect_result refused y@defer.test 450 4.2.1
check_delivery ok@example.test "$ID" "$D/m3.eml"
it_case_end

# ------------------------------------------------------------------ 4. --json
it_case "postfix: --json reports accepted and refused recipients with codes"
ID=case4.$$@example.org
{ msg_head "$ID" "json"; printf 'json output\r\n'; } > "$D/m4.eml"
it_smtpc json --json --server "$URL" --from "$FROM" --to json@example.test --to x@reject.test --to y@defer.test "$D/m4.eml"
it_expect_exit 75
it_expect_json "$IT_OUT" accepted=json@example.test nrefused=2 \
    refused=x@reject.test:rcpt:550:5.1.1 refused=y@defer.test:rcpt:450:4.2.1 exit=75
check_delivery json@example.test "$ID" "$D/m4.eml"
it_case_end

# ------------------------------------------------------------------ 5. IPv6
if ((HAVE_V6)); then
    it_case "postfix: IPv6 smtp://[::1]:$PORT"
    ID=case5.$$@example.org
    { msg_head "$ID" "ipv6"; printf 'over IPv6\r\n'; } > "$D/m5.eml"
    it_smtpc ipv6 --server "smtp://[::1]:$PORT" --from "$FROM" --to v6@example.test "$D/m5.eml"
    it_expect_exit 0
    it_expect_result accepted v6@example.test
    check_delivery v6@example.test "$ID" "$D/m5.eml"
    if it_wait_mail 1 "$MAIL/v6@example.test" "$ID" && ! grep -qi 'ipv6:::1\|\[::1\]' "$IT_MAIL_FILE"; then
        it_fail "the Received: header does not show the client as ::1: $(head -n 3 "$IT_MAIL_FILE" | tr '\n' ' ')"
    fi
    it_case_end
else
    it_skip_case "postfix: IPv6" "no IPv6 on loopback"
fi

# ------------------------------------------------------------------ 6. DKIM
# Signed by smtpc (--dkim-*), through Postfix (which adds Received above the
# signature) into the Maildir; the delivered file verified by dkimpy.
if "$IT_PY" -c 'import dkim' 2> /dev/null && command -v openssl > /dev/null; then
    it_case "postfix: a DKIM-signed message verifies after delivery (dkimpy)"
    ID=case6.$$@example.org
    { msg_head "$ID" "dkim"; printf 'signed body  \r\n.dot line\r\n\r\n\r\n'; } > "$D/m6.eml"
    (umask 077 && openssl genpkey -algorithm ED25519 -out "$D/dkim.pem" 2> /dev/null)
    echo "sel._domainkey.example.org v=DKIM1; k=ed25519; p=$(openssl pkey -in "$D/dkim.pem" -pubout -outform DER | tail -c 32 | base64 -w0)" > "$D/dkim.keys"
    it_smtpc dkim --server "$URL" --from "$FROM" --to dkim@example.test --dkim-key "$D/dkim.pem" \
        --dkim-selector sel --dkim-domain example.org "$D/m6.eml"
    it_expect_exit 0
    it_expect_result accepted dkim@example.test
    if ! it_wait_mail - "$MAIL/dkim@example.test" "$ID"; then
        it_fail "no delivery to dkim@example.test within $IT_MAIL_WAITED s"
    elif ! head -n 1 "$IT_MAIL_FILE" | grep -q '^Received:'; then
        it_fail "no Received: added above the signature: $(head -n 1 "$IT_MAIL_FILE")"
    elif ! "$IT_PY" "$HERE/../dkim/dkimpy-verify.py" "$D/dkim.keys" "$IT_MAIL_FILE" > "$D/dkim.out" 2>&1; then
        it_fail "the delivered message does not verify: $(cat "$D/dkim.out")"
    fi
    it_case_end
else
    it_skip_case "postfix: DKIM" "no dkimpy (python3-dkim) or openssl"
fi

it_finish
