#!/usr/bin/env bash
# Interop: ESMTP parameters as a server sees them. aiosmtpd (Debian's
# /usr/bin/python3, decode_data=False, SMTPUTF8 enabled) through
# aiosmtpd_server.py, which stores the exact bytes of each message and the
# MAIL/RCPT parameters it received (DIR/<n>.eml, DIR/<n>.json).
#  - aiosmtpd does not advertise PIPELINING: every command waits for its reply;
#  - a UTF-8 address brings MAIL ... SMTPUTF8 BODY=8BITMIME;
#  - an 8-bit body brings BODY=8BITMIME (and no SMTPUTF8);
#  - SIZE= is the size of the message with CRLF line endings (RFC 1870:
#    without the dot-stuffing), which is also what the server stores.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init aiosmtpd-features
it_need_exec "$IT_PY"
"$IT_PY" -c 'import aiosmtpd.smtp' 2> /dev/null || it_prereq "python3-aiosmtpd is not installed for $IT_PY"
it_need_smtpc

# ------------------------------------------------------------------ start aiosmtpd
D=$IT_DIR
PORT=$(it_free_ports 1)
[ -n "$PORT" ] || it_bail "no free port"
SPOOL=$D/spool
IT_LOGS=("$D/log/aiosmtpd.log")
it_spawn aiosmtpd aiosmtpd_server.py "$D/log/aiosmtpd.log" \
    "$IT_PY" "$HERE/aiosmtpd_server.py" --dir "$SPOOL" --host 127.0.0.1 --port "$PORT"
it_wait_listen 20 aiosmtpd "$PORT" || it_bail "aiosmtpd is not listening on port $PORT"
it_log "aiosmtpd on 127.0.0.1:$PORT"

URL=smtp://127.0.0.1:$PORT
FROM=sender@example.org

# stored RCPT CHECK...: the one stored message whose envelope has RCPT
# (as UTF-8) satisfies every CHECK; its base path is left in $D/last-msg.
#   opts=P,P...     MAIL parameters received, exactly (order free)
#   opt=P           P is among the MAIL parameters received
#   smtputf8=true|false
#   rcpts=A,B...    RCPT TO addresses, in order
#   rcpt_opts=      no RCPT parameters at all
#   same=FILE       the stored bytes are FILE with CRLF line endings (as it_compare crlf)
#   size=N          the stored message has N bytes
stored() {
    local out
    rm -f "$D/last-msg"
    out=$("$IT_PY" - "$SPOOL" "$D/last-msg" "$@" <<'EOF'
import glob, json, re, sys
spool, last, rcpt, checks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
hits = []
for p in sorted(glob.glob(spool + "/*.json")):
    meta = json.load(open(p, encoding="utf-8"))
    if rcpt in meta["rcpt_tos"]:
        hits.append((p[:-5], meta))
if len(hits) != 1:
    print("%d stored messages for %s (expected 1)" % (len(hits), rcpt))
    sys.exit()
base, meta = hits[0]
open(last, "w").write(base)
data = open(base + ".eml", "rb").read()
for c in checks:
    key, _, val = c.partition("=")
    if key == "opts":
        want = sorted(v.upper() for v in val.split(",") if v)
        got = sorted(meta["mail_options"])
        if got != want:
            print("MAIL parameters received %r, expected %r" % (meta["mail_options"], want))
    elif key == "opt":
        if val.upper() not in meta["mail_options"]:
            print("MAIL parameters received %r, without %s" % (meta["mail_options"], val))
    elif key == "smtputf8":
        if meta["smtputf8"] != (val == "true"):
            print("the server's SMTPUTF8 flag is %r, expected %s" % (meta["smtputf8"], val))
    elif key == "rcpts":
        if meta["rcpt_tos"] != val.split(","):
            print("RCPT TO addresses received %r, expected %r" % (meta["rcpt_tos"], val.split(",")))
    elif key == "rcpt_opts":
        if any(meta["rcpt_options"]):
            print("RCPT parameters received: %r" % (meta["rcpt_options"],))
    elif key == "same":
        want = re.sub(rb"\r\n|\r|\n", b"\r\n", open(val, "rb").read())
        if not want.endswith(b"\r\n"):
            want += b"\r\n"
        if data != want:
            n = 0
            while n < min(len(data), len(want)) and data[n] == want[n]:
                n += 1
            print("stored message %s.eml (%d bytes) differs from %s with CRLF (%d bytes) at byte %d: got %r, expected %r"
                  % (base, len(data), val, len(want), n, data[max(0, n - 20):n + 30], want[max(0, n - 20):n + 30]))
    elif key == "size":
        if len(data) != int(val):
            print("stored message has %d bytes, expected %s" % (len(data), val))
    else:
        print("stored: unknown check %r" % c)
EOF
    )
    if [ -n "$out" ]; then
        local l
        while IFS= read -r l; do it_fail "aiosmtpd: $l"; done <<< "$out"
    fi
}

# ------------------------------------------------------------------ 1. lock-step
it_case "aiosmtpd-features: no PIPELINING offered: one command, one reply (MAIL, 3 RCPT, DATA); byte for byte"
printf 'From: <%s>\r\nTo: <a@example.test>, <b@example.test>\r\nSubject: lock-step\r\nMessage-ID: <aiof1@example.org>\r\n\r\none\r\n.two\r\n' "$FROM" > "$D/m1.eml"
it_smtpc lockstep --server "$URL" --from "$FROM" --to a@example.test,b@example.test,c@example.test "$D/m1.eml"
it_expect_exit 0
grep -q '^reply: 250.PIPELINING' "$IT_ERR" && it_fail "aiosmtpd advertised PIPELINING (test premise)"
it_tx "$IT_ERR" lockstep
it_tx "$IT_ERR" data
it_tx "$IT_ERR" mail-lacks SMTPUTF8
for r in a b c; do it_expect_result accepted $r@example.test 250; done
stored a@example.test same="$D/m1.eml" rcpts=a@example.test,b@example.test,c@example.test smtputf8=false rcpt_opts=
it_case_end

# ------------------------------------------------------------------ 2. UTF-8 address
it_case "aiosmtpd-features: a UTF-8 recipient address (-t): SMTPUTF8 and BODY=8BITMIME received, byte for byte"
printf 'From: Jörg Müller <%s>\r\nTo: Zoë <zoë@example.test>\r\nSubject: Grüße\r\nMessage-ID: <aiof2@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße ✓\r\n' "$FROM" > "$D/m2.eml"
it_smtpc utf8 -t --server "$URL" "$D/m2.eml"
it_expect_exit 0
it_tx "$IT_ERR" mail-has SMTPUTF8 BODY=8BITMIME
it_tx "$IT_ERR" lockstep
grep -q '^send: MAIL FROM:<sender@example.org>' "$IT_ERR" || it_fail "MAIL FROM is not the address of the From header"
it_expect_result accepted 'zo\xc3\xab@example.test' 250
stored 'zoë@example.test' same="$D/m2.eml" rcpts='zoë@example.test' smtputf8=true \
    opts="SMTPUTF8,BODY=8BITMIME,SIZE=$(stat -c %s "$D/m2.eml")"
it_case_end

# ------------------------------------------------------------------ 3. 8-bit body
it_case "aiosmtpd-features: an 8-bit body: BODY=8BITMIME received, no SMTPUTF8, byte for byte"
{
    printf 'From: <%s>\r\nTo: <eight@example.test>\r\nSubject: 8-bit\r\nMessage-ID: <aiof3@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' "$FROM"
    printf 'Gr\xfc\xdfe, caf\xe9\r\n'
    "$IT_PY" -c 'import sys; sys.stdout.buffer.write(bytes(b for b in range(128, 256)))'
    printf '\r\n'
} > "$D/m3.eml"
it_smtpc 8bit --server "$URL" --from "$FROM" --to eight@example.test "$D/m3.eml"
it_expect_exit 0
it_tx "$IT_ERR" mail-has BODY=8BITMIME
it_tx "$IT_ERR" mail-lacks SMTPUTF8
it_expect_result accepted eight@example.test 250
stored eight@example.test same="$D/m3.eml" smtputf8=false opts="BODY=8BITMIME,SIZE=$(stat -c %s "$D/m3.eml")"
it_case_end

# ------------------------------------------------------------------ 4. SIZE=
it_case "aiosmtpd-features: SIZE= is the size with CRLF line endings (LF input, dot lines, no final newline)"
{
    printf 'From: <%s>\nTo: <size@example.test>\nSubject: size\nMessage-ID: <aiof4@example.org>\n\n' "$FROM"
    for i in $(seq 1 300); do printf '.line %d with a leading dot\n..two\nplain line %d\n' "$i" "$i"; done
    printf '.\nlast line without a newline'
} > "$D/m4.eml"
WANT_SIZE=$("$IT_PY" -c '
import re, sys
d = re.sub(rb"\r\n|\r|\n", b"\r\n", open(sys.argv[1], "rb").read())
print(len(d) + (0 if d.endswith(b"\r\n") else 2))' "$D/m4.eml")
it_smtpc size --server "$URL" --from "$FROM" --to size@example.test "$D/m4.eml"
it_expect_exit 0
it_expect_result accepted size@example.test 250
it_tx "$IT_ERR" mail-has "SIZE=$WANT_SIZE"
stored size@example.test opt="SIZE=$WANT_SIZE" size="$WANT_SIZE" same="$D/m4.eml"
it_log "file $(stat -c %s "$D/m4.eml") bytes with LF, SIZE=$(it_tx_mail_param "$IT_ERR" SIZE) sent, $WANT_SIZE expected"
it_case_end

it_finish
