#!/usr/bin/env bash
# Interop: smtpc -> aiosmtpd (Python, Debian's /usr/bin/python3) on
# 127.0.0.1:<free port>, with aiosmtpd_server.py storing exactly the bytes
# received per message. Unlike Postfix and Dovecot, nothing is added or
# rewritten on the server side, so this checks the client's wire format:
# every line ending CRLF, dot-stuffing undone exactly, nothing lost or added.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

it_init aiosmtpd
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

# find_msg RCPT: print DIR/<n> of the one stored message whose envelope has RCPT.
find_msg() {
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

# check_msg RCPT SENT: the message stored for RCPT is SENT with CRLF line endings.
check_msg() {
    local m
    if ! m=$(find_msg "$1" 2>&1); then
        it_fail "aiosmtpd: $m"
        return 1
    fi
    it_compare crlf "$m.eml" "$2"
    echo "$m" > "$D/last-msg"
}

# envelope_is BASE KEY=VALUE...: fields of BASE.json (lists written a,b).
envelope_is() {
    local out
    out=$("$IT_PY" - "$@" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1] + ".json"))
for check in sys.argv[2:]:
    key, _, want = check.partition("=")
    got = meta.get(key)
    if isinstance(got, list):
        got = ",".join(got)
    if got != want:
        print("envelope %s is %r, expected %r" % (key, got, want))
EOF
    )
    [ -z "$out" ] || it_fail "$out"
}

# ------------------------------------------------------------------ 1. LF file -> CRLF on the wire
it_case "aiosmtpd: message arrives byte for byte with CRLF line endings; envelope and HELO as given"
cat > "$D/m1.eml" <<'EOF'
From: Sender <sender@example.org>
To: Receiver <plain@example.test>
Subject: byte for byte
Date: Fri, 29 Nov 2024 06:30:00 +0000
Message-ID: <aio1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello,
	a tab, trailing spaces   
   leading spaces

two empty lines follow


end
EOF
it_smtpc plain --server "$URL" --helo client.example.test --from "$FROM" --to plain@example.test "$D/m1.eml"
it_expect_exit 0
it_expect_result accepted plain@example.test 250
if check_msg plain@example.test "$D/m1.eml"; then
    envelope_is "$(cat "$D/last-msg")" helo=client.example.test mail_from="$FROM" rcpt_tos=plain@example.test
fi
it_case_end

# ------------------------------------------------------------------ 2. bare LF, bare CR (stdin)
it_case "aiosmtpd: bare LF and bare CR line endings (message on stdin) all arrive as CRLF"
printf 'Subject: mixed endings\nMessage-ID: <aio2@example.org>\r\n\nlf line\ncr line\rcrlf line\r\ncr cr\r\rlf lf\n\nlast cr\r' > "$D/m2.eml"
IT_STDIN=$D/m2.eml it_smtpc endings --server "$URL" --from "$FROM" --to endings@example.test
it_expect_exit 0
it_expect_result accepted endings@example.test 250
check_msg endings@example.test "$D/m2.eml"
if [ -s "$D/last-msg" ] && "$IT_PY" -c '
import re, sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if re.search(rb"\r(?!\n)|(?<!\r)\n", d) is None else 1)' "$(cat "$D/last-msg").eml"; then :; else
    it_fail "a bare CR or bare LF reached the server"
fi
it_case_end
rm -f "$D/last-msg"

# ------------------------------------------------------------------ 3. dot-stuffing
it_case "aiosmtpd: a body with CRLF.CRLF in the middle arrives whole (dot-stuffing)"
printf 'Subject: dots\r\nMessage-ID: <aio3@example.org>\r\n\r\nbefore\r\n.\r\nafter the lone dot\r\n..\r\n.x\r\n...\r\n. \r\n.\r\n' > "$D/m3.eml"
it_smtpc dots --server "$URL" --from "$FROM" --to dots@example.test "$D/m3.eml"
it_expect_exit 0
it_expect_result accepted dots@example.test 250
check_msg dots@example.test "$D/m3.eml"
it_case_end

# ------------------------------------------------------------------ 4. empty message
# The library sends an empty message as one empty line ("\r\n" + "."), like
# smtplib; see src/dataenc.h. So it is stored as exactly CRLF.
it_case "aiosmtpd: an empty message arrives as one empty line (CRLF)"
: > "$D/m4.eml"
it_smtpc empty --server "$URL" --from "$FROM" --to empty@example.test "$D/m4.eml"
it_expect_exit 0
it_expect_result accepted empty@example.test 250
check_msg empty@example.test "$D/m4.eml"
it_case_end

# ------------------------------------------------------------------ 5. no final line ending
it_case "aiosmtpd: a message without a final line ending gets CRLF before the dot"
printf 'Subject: unterminated\r\nMessage-ID: <aio5@example.org>\r\n\r\nno line ending here.' > "$D/m5.eml"
it_smtpc unterminated --server "$URL" --from "$FROM" --to unterminated@example.test "$D/m5.eml"
it_expect_exit 0
it_expect_result accepted unterminated@example.test 250
check_msg unterminated@example.test "$D/m5.eml"
it_case_end

# ------------------------------------------------------------------ 6. 1 MB
it_case "aiosmtpd: a 1 MB message arrives intact (sha256)"
"$IT_PY" - "$D/m6.eml" <<'EOF'
import hashlib, sys
out = [b"Subject: one megabyte\r\nMessage-ID: <aio6@example.org>\r\n\r\n"]
size, i = 0, 0
while size < 1024 * 1024:
    line = hashlib.sha256(str(i).encode()).hexdigest().encode() * 2 + b"\r\n"
    if i % 97 == 0:
        line = b"." + line          # some lines need dot-stuffing
    out.append(line)
    size += len(line)
    i += 1
open(sys.argv[1], "wb").write(b"".join(out))
EOF
it_smtpc big --server "$URL" --from "$FROM" --to big@example.test "$D/m6.eml"
it_expect_exit 0
it_expect_result accepted big@example.test 250
if m=$(find_msg big@example.test 2>&1); then
    got=$(it_sha256 "$m.eml") want=$(it_sha256 "$D/m6.eml")
    [ "$got" = "$want" ] || it_fail "sha256 of the stored message $got ($(stat -c %s "$m.eml") bytes) != sent $want ($(stat -c %s "$D/m6.eml") bytes)"
    envelope_is "$m" sha256="$want"
else
    it_fail "aiosmtpd: $m"
fi
it_case_end

# ------------------------------------------------------------------ 7. refusals without enhanced codes
it_case "aiosmtpd: 550 and 450 at RCPT without enhanced codes, exit 75, the accepted one gets the mail"
printf 'Subject: mixed\r\nMessage-ID: <aio7@example.org>\r\n\r\nmixed\r\n' > "$D/m7.eml"
it_smtpc mixed --server "$URL" --from "$FROM" --to mixed@example.test,x@reject.test,y@defer.test "$D/m7.eml"
it_expect_exit 75
it_expect_result accepted mixed@example.test 250
it_expect_result refused x@reject.test 550
it_expect_result refused y@defer.test 450
check_msg mixed@example.test "$D/m7.eml"
it_case_end

it_case "aiosmtpd: --json with a refusal that has no enhanced code, exit 69"
printf 'Subject: json\r\nMessage-ID: <aio8@example.org>\r\n\r\njson\r\n' > "$D/m8.eml"
it_smtpc json --json --server "$URL" --from "$FROM" --to json@example.test --to x@reject.test "$D/m8.eml"
it_expect_exit 69
it_expect_json "$IT_OUT" accepted=json@example.test nrefused=1 refused=x@reject.test:rcpt:550:- exit=69 error=null
check_msg json@example.test "$D/m8.eml"
it_case_end

it_finish
