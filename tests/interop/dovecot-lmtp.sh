#!/usr/bin/env bash
# Interop: smtpc (LMTP) -> a private Dovecot LMTP server on a Unix socket and
# on 127.0.0.1:<free port> -> Maildirs, compared byte for byte.
#
# Users come from a passwd-file: alice and bob are ordinary mailboxes; "full"
# has a 1-byte quota (accepted at RCPT, "552 5.2.2" after the final dot) and
# "tempfail" the same with quota_full_tempfail ("452 4.2.2" after the dot).
# LMTP gives one reply per accepted recipient after DATA (RFC 2033 4.2), so a
# transaction alice, full, bob must come back as accepted / failed / accepted.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init dovecot-lmtp
it_need_root
it_need_exec /usr/sbin/dovecot /usr/lib/dovecot/lmtp "$IT_PY"
it_need_file /usr/lib/dovecot/modules/lib10_quota_plugin.so
it_need_user dovecot dovenull nobody
it_need_smtpc

# ------------------------------------------------------------------ start Dovecot
D=$IT_DIR
PORT=$(it_free_ports 1)
[ -n "$PORT" ] || it_bail "no free port"
NOGROUP=$(id -gn nobody)
SOCK=$D/lmtp.sock
MAIL=$D/mail
mkdir -p "$D/dc/run" "$D/dc/state" "$MAIL"
chmod 755 "$D/dc" "$MAIL"
chown "nobody:$NOGROUP" "$MAIL"
IT_LOGS=("$D/log/dovecot.log" "$D/log/dovecot.out")

cat > "$D/dc/users" <<'EOF'
alice:{PLAIN}alicepw::::::
bob:{PLAIN}bobpw::::::
full:{PLAIN}fullpw::::::userdb_quota_rule=*:storage=1B
tempfail:{PLAIN}tempfailpw::::::userdb_quota_rule=*:storage=1B userdb_quota_full_tempfail=yes
EOF
chgrp dovecot "$D/dc/users"
chmod 640 "$D/dc/users"

cat > "$D/dc/dovecot.conf" <<EOF
# Private Dovecot for the smtpc interop tests (generated).
instance_name = smtpc-it-${D##*.}
base_dir = $D/dc/run
state_dir = $D/dc/state
log_path = $D/log/dovecot.log
info_log_path = $D/log/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
hostname = localhost
postmaster_address = postmaster@example.test
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
shutdown_clients = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/dc/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $D/dc/users
  default_fields = uid=nobody gid=$NOGROUP home=$MAIL/%n
}
first_valid_uid = 1
mail_location = maildir:~:INDEX=MEMORY
mail_plugins = quota
plugin {
  quota = count:User quota
  quota_vsizes = yes
}
service lmtp {
  unix_listener $SOCK {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $PORT
  }
}
EOF
/usr/sbin/dovecot -c "$D/dc/dovecot.conf" -n > "$D/log/doveconf-n.txt" 2> "$D/log/dovecot.out" ||
    it_bail "Dovecot rejects its configuration: $(cat "$D/log/dovecot.out")"
it_spawn dovecot /usr/sbin/dovecot "$D/log/dovecot.out" /usr/sbin/dovecot -F -c "$D/dc/dovecot.conf"
it_wait_socket 20 dovecot "$SOCK" || it_bail "Dovecot made no LMTP socket"
it_wait_listen 20 dovecot "$PORT" || it_bail "Dovecot is not listening on port $PORT"
it_log "Dovecot on $SOCK and 127.0.0.1:$PORT"

FROM=sender@example.org
TRACE="Return-Path Delivered-To Received"   # what Dovecot may put on top
msg() { # FILE MESSAGE-ID SUBJECT BODY (LF endings; the client makes them CRLF)
    printf 'From: <%s>\nTo: <list@example.test>\nSubject: %s\nDate: Fri, 29 Nov 2024 06:30:00 +0000\nMessage-ID: <%s>\nMIME-Version: 1.0\n\n%s' \
        "$FROM" "$3" "$2" "$4" > "$1"
}

# check_delivery USER MESSAGE-ID SENT: USER's Maildir has the message once,
# as Return-Path: + Received: (+ Delivered-To:) + SENT with LF endings.
check_delivery() {
    local user=$1 id=$2 sent=$3 f n
    local wait=-
    it_claimed "$user@example.test" || wait=0   # smtpc says it was not accepted: look, do not wait
    if ! it_wait_mail "$wait" "$MAIL/$user" "$id"; then
        it_fail "no delivery to $user within $IT_MAIL_WAITED s ($MAIL/$user/new)"
        return
    fi
    f=$IT_MAIL_FILE
    it_compare lf "$f" "$sent" "$TRACE" "Return-Path Received"
    n=$(it_count_mail "$MAIL/$user" "$id")
    [ "$n" = 1 ] || it_fail "$user got the message $n times"
    grep -qF "Return-Path: <$FROM>" "$f" || it_fail "$user: no 'Return-Path: <$FROM>' in $f"
}
# check_no_delivery USER MESSAGE-ID
check_no_delivery() {
    local n
    n=$(it_count_mail "$MAIL/$1" "$2")
    [ "$n" = 0 ] || it_fail "$1 got the message although its delivery failed ($n file(s))"
}

# ------------------------------------------------------------------ 1. two users, socket
it_case "lmtp (unix socket): alice and bob get the message byte for byte"
ID=lmtp1.$$@example.org
msg "$D/m1.eml" "$ID" "two users" $'Hello alice and bob.\n\n.leading dot\n.\n..\nend\n'
it_smtpc two-users --server "lmtp:$SOCK" --from "$FROM" --to alice@example.test --to bob@example.test "$D/m1.eml"
it_expect_exit 0
it_expect_result accepted alice@example.test
it_expect_result accepted bob@example.test
check_delivery alice "$ID" "$D/m1.eml"
check_delivery bob "$ID" "$D/m1.eml"
it_case_end

# ------------------------------------------------------------------ 2. per-recipient replies, socket
it_case "lmtp (unix socket): alice, full, bob: one reply per recipient after DATA, exit 69"
ID=lmtp2.$$@example.org
msg "$D/m2.eml" "$ID" "one full mailbox" $'full cannot take this.\n'
it_smtpc full --server "lmtp:$SOCK" --from "$FROM" --to alice@example.test --to full@example.test --to bob@example.test "$D/m2.eml"
it_expect_exit 69
it_expect_result accepted alice@example.test 250 2.0.0
it_expect_result failed full@example.test 552 5.2.2
it_expect_result accepted bob@example.test 250 2.0.0
check_delivery alice "$ID" "$D/m2.eml"
check_delivery bob "$ID" "$D/m2.eml"
check_no_delivery full "$ID"
it_case_end

# ------------------------------------------------------------------ 3. TCP, temporary failure
it_case "lmtp (TCP): alice, tempfail: 250 then 452 after DATA, exit 75"
ID=lmtp3.$$@example.org
msg "$D/m3.eml" "$ID" "over TCP" $'LMTP over TCP\r\nmixed\rline\nendings\n'
it_smtpc tcp --server "lmtp://127.0.0.1:$PORT" --from "$FROM" --to alice@example.test,tempfail@example.test "$D/m3.eml"
it_expect_exit 75
it_expect_result accepted alice@example.test 250 2.0.0
it_expect_result failed tempfail@example.test 452 4.2.2
check_delivery alice "$ID" "$D/m3.eml"
check_no_delivery tempfail "$ID"
it_case_end

# ------------------------------------------------------------------ 4. --json, all outcomes
it_case "lmtp (TCP) --json: unknown user refused at RCPT, full and tempfail failed after DATA"
ID=lmtp4.$$@example.org
msg "$D/m4.eml" "$ID" "json" $'json\n'
it_smtpc json --json --server "lmtp://127.0.0.1:$PORT" --from "$FROM" \
    --to alice@example.test --to nosuchuser@example.test --to full@example.test --to tempfail@example.test --to bob@example.test "$D/m4.eml"
it_expect_exit 75
it_expect_json "$IT_OUT" accepted=alice@example.test,bob@example.test nrefused=3 \
    refused=nosuchuser@example.test:rcpt:550:5.1.1 \
    refused=full@example.test:data:552:5.2.2 \
    refused=tempfail@example.test:data:452:4.2.2 exit=75
check_delivery alice "$ID" "$D/m4.eml"
check_delivery bob "$ID" "$D/m4.eml"
check_no_delivery full "$ID"
check_no_delivery tempfail "$ID"
it_case_end

it_finish
