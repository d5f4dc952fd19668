#!/bin/bash
# Self-test of smtpc-sink: drives it with swaks and a small Python client (raw bytes, so that
# pipelining, odd splits, dot-stuffing and BDAT are exact) and checks replies, Maildir content
# byte for byte and deliveries.jsonl.
#
# usage: test-sink.sh [path/to/smtpc-sink]      (default: ./build/smtpc-sink)
# Only loopback addresses; every server started here is stopped by its pid.
set -u

SINK=${1:-./build/smtpc-sink}
SINK=$(cd "$(dirname "$SINK")" && pwd)/$(basename "$SINK")
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sink-test.XXXXXX")
PIDS=()
FAILS=0
PASSES=0

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSES=$((PASSES + 1)); echo "ok   $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $*"; }

# start_sink NAME ARGS...: foreground server; sets $PORT and $PID.
start_sink() {
	local name=$1
	shift
	rm -f "$WORK/$name.port"
	"$SINK" --quiet --port-file "$WORK/$name.port" --pid-file "$WORK/$name.pid" "$@" \
		2>"$WORK/$name.err" &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 100); do
		[ -s "$WORK/$name.port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$WORK/$name.port" 2>/dev/null)
	if [ -z "$PORT" ]; then
		fail "$name: server did not start: $(cat "$WORK/$name.err")"
		return 1
	fi
}

# stop_sink NAME PID: SIGTERM, then exit status 0 and nothing on stderr (--quiet; sanitizers).
stop_sink() {
	local name=$1 pid=$2 rc
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$WORK/$name.err" ]; then
		fail "$name: exit $rc: $(head -c 2000 "$WORK/$name.err")"
		return 1
	fi
}

command -v swaks >/dev/null || echo "note: swaks not found, its tests are skipped"

# ---------------------------------------------------------------- command line
out=$("$SINK" --listen 0.0.0.0:0 2>&1)
rc=$?
if [ $rc -eq 64 ] && [[ $out == *"not a loopback address"* ]]; then
	pass "non-loopback --listen refused"
else
	fail "non-loopback --listen: rc=$rc out=$out"
fi
out=$("$SINK" --listen 192.168.1.1:25 2>&1)
[ $? -eq 64 ] && pass "private address refused" || fail "192.168.1.1 accepted: $out"

# ---------------------------------------------------------------- SMTP with Maildir
MD=$WORK/md
start_sink smtp --maildir "$MD" --listen 127.0.0.1:0 --listen '[::1]:0' \
	--log "$WORK/smtp.log" --hostname sink.test || exit 1
SMTP_PID=$PID
SMTP_PORT=$PORT

cat >"$WORK/client.py" <<'EOF'
import json, os, socket, sys, time

failures = 0

def check(cond, what, detail=""):
    global failures
    if cond:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + (": " + repr(detail) if detail else ""))

class Client:
    def __init__(self, target):
        if isinstance(target, str):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(target)
        else:
            self.s = socket.create_connection(target)
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if l[3:4] != b"-":
                return int(l[:3]), lines

    def cmd(self, data):
        self.send(data + b"\r\n")
        return self.reply()

    def closed(self):
        """True when the server closes without sending anything more."""
        try:
            return self.s.recv(1) == b"" and self.buf == b""
        except ConnectionResetError:
            return self.buf == b""

    def close(self):
        self.s.close()

def text(r):
    return b"\n".join(r[1]).decode("latin-1")

mode, md = sys.argv[1], sys.argv[2]
target = sys.argv[3] if mode == "lmtp" else ("127.0.0.1", int(sys.argv[3]))
jsonl = os.path.join(md, "deliveries.jsonl")

def deliveries():
    try:
        with open(jsonl, "rb") as f:
            return [json.loads(l) for l in f.read().splitlines()]
    except FileNotFoundError:
        return []

def stored(d):
    with open(d["file"], "rb") as f:
        return f.read()

def stuff(body):
    """Dot-stuff a body that ends with CRLF and add the terminator."""
    out = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in body.split(b"\r\n"))
    return out + b".\r\n"

def tmp_files():
    n = 0
    for root, dirs, files in os.walk(md):
        if os.path.basename(root) == "tmp":
            n += len(files)
    return n

def smtp_tests():
    c = Client(target)
    check(c.greeting == (220, [b"220 sink.test smtpc-sink ESMTP"]), "greeting", c.greeting)
    check(c.cmd(b"MAIL FROM:<a@x.test>")[0] == 503, "MAIL before EHLO is 503")
    r = c.cmd(b"EHLO client.test")
    check(r[0] == 250 and b"250-PIPELINING" in r[1] and b"250 HELP" in r[1]
          and b"250-SIZE 52428800" in r[1] and b"250-CHUNKING" in r[1], "EHLO capabilities", r)
    check(c.cmd(b"RCPT TO:<b@y.test>")[1] == [b"503 5.5.1 Error: need MAIL command"], "RCPT before MAIL")
    check(c.cmd(b"DATA")[0] == 503, "DATA before MAIL")
    check(c.cmd(b"FOO bar")[1] == [b"500 5.5.2 Error: command not recognized"], "unknown command")
    check(c.cmd(b"VRFY someone")[1] == [b"252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery"], "VRFY")
    check(c.cmd(b"EXPN list")[0:1] == (502,) and text(c.cmd(b"NOOP")).startswith("250 2.0.0"), "EXPN 502, NOOP 250")
    r = c.cmd(b"HELP")
    check(r[0] == 214 and len(r[1]) > 1 and r[1][0].startswith(b"214-2.0.0"), "HELP multi-line", r)
    check(c.cmd(b"MAIL FROM:<a@x.test> FOO=bar")[0] == 555, "unknown MAIL parameter is 555")
    check(c.cmd(b"MAIL FROM:<a@x.test> SIZE=99999999999")[1] == [b"552 5.3.4 Error: message size exceeds fixed limit"], "SIZE= over the limit")
    check(c.cmd(b"MAIL FROM:a@x.test")[0] == 501, "MAIL without brackets is 501")
    check(c.cmd(b"MAIL FROM:<a@reject.test>")[1] == [b"550 5.7.1 Sender refused"], "sender @reject.test")
    check(c.cmd(b"MAIL FROM:<a@Defer.Test>")[1] == [b"450 4.7.1 Sender temporarily refused"], "sender @defer.test (any case)")
    check(c.cmd(b"MAIL FROM:<a@x.test>")[0] == 250, "MAIL")
    check(c.cmd(b"MAIL FROM:<a@x.test>")[0] == 503, "nested MAIL")
    check(c.cmd(b"RCPT TO:<r@reject.test>")[1] == [b"550 5.1.1 <r@reject.test>: Recipient address rejected"], "rcpt @reject.test")
    check(c.cmd(b"RCPT TO:<r@defer.test>")[1] == [b"450 4.2.1 <r@defer.test>: Mailbox temporarily unavailable"], "rcpt @defer.test")
    check(c.cmd(b"DATA")[1] == [b"554 5.5.1 Error: no valid recipients"], "DATA with no valid recipient")
    check(c.cmd(b"RSET")[0] == 250, "RSET")
    check(c.cmd(b"RCPT TO:<b@y.test>")[0] == 503, "RSET forgets MAIL")

    # line too long, then the session goes on
    c.send(b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\n")
    check(c.reply()[1] == [b"500 5.5.2 Line too long"], "line too long")
    check(c.reply()[0] == 250, "next command after a long line")
    c.send(b"NOOP " + b"y" * 10000)
    time.sleep(0.2)
    c.send(b"y" * 10000 + b"\r\nNOOP\r\n")
    check(c.reply()[1] == [b"500 5.5.2 Line too long"] and c.reply()[0] == 250, "long line in two reads")

    # pipelined transaction: all commands in one write
    body = b"Subject: pipelined\r\n\r\n.leading dot\r\n..two dots\r\nbare LF\n.\r\nstill data\r\nend\r\n"
    before = len(deliveries())
    c.send(b"MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=100\r\nRCPT TO:<B@Y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y.test\r\n"
           b"RCPT TO:<c@y.test>\r\nDATA\r\n")
    rs = [c.reply() for _ in range(4)]
    check([r[0] for r in rs] == [250, 250, 250, 354], "pipelined MAIL/RCPT/RCPT/DATA", rs)
    c.send(stuff(body) + b"NOOP\r\n")
    r = c.reply()
    check(r[0] == 250 and r[1][0].startswith(b"250 2.0.0 Ok: queued as "), "end of data", r)
    check(c.reply()[0] == 250, "command pipelined after the dot")
    ds = deliveries()
    check(len(ds) == before + 1, "one deliveries.jsonl line", ds)
    d = ds[-1]
    check(stored(d) == body, "Maildir content byte for byte (dot-stuffing removed, bare LF kept)", stored(d))
    check(d["rcpt_to"] == ["B@Y.test", "c@y.test"] and d["mail_from"] == "a@x.test"
          and d["mail_options"] == ["BODY=8BITMIME", "SIZE=100"]
          and d["rcpt_options"] == [["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b@y.test"], []]
          and d["proto"] == "smtp" and d["helo"] == "client.test" and d["size"] == len(body)
          and d["transfer"] == "data", "deliveries.jsonl fields", d)
    check(d["file"].startswith(os.path.join(md, "b@y.test", "new") + "/"), "Maildir lower-cased", d["file"])
    other = os.path.join(md, "c@y.test", "new", os.path.basename(d["file"]))
    check(os.path.exists(other) and os.stat(other).st_ino == os.stat(d["file"]).st_ino,
          "second recipient hard-linked", other)
    check(r[1][0].endswith(d["id"].encode()), "queue id in reply and jsonl")

    # the same message split at every byte of the end, with pauses so that reads split too
    tricky = b"a\r\n.\r\r\n..\r\n.x\r\nz\r\n"
    wire = stuff(tricky)
    for cut in range(1, len(wire)):
        c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<split@y.test>\r\nDATA\r\n")
        [c.reply() for _ in range(3)]
        c.send(wire[:cut])
        time.sleep(0.03)
        c.send(wire[cut:])
        r = c.reply()
        check(r[0] == 250 and stored(deliveries()[-1]) == tricky, "split at %d of %d" % (cut, len(wire)), (r, stored(deliveries()[-1])))

    # a large body with dots everywhere, in random-sized writes
    import random
    rnd = random.Random(5321)
    lines = []
    for i in range(40000):
        lines.append(rnd.choice([b".", b"..", b".x", b"x", b"", b"\r", b".\r", b"a.b"]) * rnd.randint(1, 3))
    big = b"\r\n".join(lines) + b"\r\n"
    wire_big = stuff(big)
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<big@y.test>\r\nDATA\r\n")
    [c.reply() for _ in range(3)]
    pos = 0
    while pos < len(wire_big):
        n = rnd.choice([1, 2, 3, 7, 100, 4096, 65535, 65536, 65537, 200000])
        c.send(wire_big[pos:pos + n])
        pos += n
    r = c.reply()
    check(r[0] == 250 and stored(deliveries()[-1]) == big, "large dotty body in random writes (%d bytes)" % len(big))

    # byte by byte
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<split@y.test>\r\nDATA\r\n")
    [c.reply() for _ in range(3)]
    for i in range(len(wire)):
        c.send(wire[i:i + 1])
        time.sleep(0.002)
    r = c.reply()
    check(r[0] == 250 and stored(deliveries()[-1]) == tricky, "body sent byte by byte")

    # empty message
    c.send(b"MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n")
    rs = [c.reply() for _ in range(3)]
    c.send(b".\r\n")
    r = c.reply()
    check([x[0] for x in rs] == [250, 250, 354] and r[0] == 250 and stored(deliveries()[-1]) == b""
          and deliveries()[-1]["mail_from"] == "", "null sender, <Postmaster>, empty body")

    # BDAT, pipelined with its data, content with things that look like the end of DATA
    chunk1 = b"Subject: bdat\r\n\r\n.\r\n"
    chunk2 = b"..\r\nQUIT\r\n\x00\xff"
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<bdat@y.test>\r\nBDAT %d\r\n" % len(chunk1) + chunk1
           + b"BDAT %d LAST\r\n" % len(chunk2) + chunk2 + b"NOOP\r\n")
    rs = [c.reply() for _ in range(5)]
    check([r[0] for r in rs] == [250, 250, 250, 250, 250], "BDAT pipelined", rs)
    check(rs[2][1] == [b"250 2.0.0 Ok: %d octets received" % len(chunk1)], "BDAT chunk reply", rs[2])
    d = deliveries()[-1]
    check(stored(d) == chunk1 + chunk2 and d["transfer"] == "bdat", "BDAT stored as is", stored(d))
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<bdat@y.test>\r\nBDAT 0 LAST\r\n")
    rs = [c.reply() for _ in range(3)]
    check([r[0] for r in rs] == [250, 250, 250] and stored(deliveries()[-1]) == b"", "BDAT 0 LAST")
    c.send(b"BDAT 5\r\nhelloNOOP\r\n")
    check(c.reply()[0] == 503 and c.reply()[0] == 250, "BDAT without MAIL: data skipped, then 503")
    c.send(b"MAIL FROM:<a@x.test> BODY=BINARYMIME\r\n")
    check(c.reply()[0] == 501, "BODY=BINARYMIME refused when not advertised")

    # datafail
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<ok@y.test>\r\nRCPT TO:<x@datafail.test>\r\nDATA\r\n")
    rs = [c.reply() for _ in range(4)]
    n = len(deliveries())
    c.send(b"hello\r\n.\r\n")
    check(c.reply()[1] == [b"554 5.6.0 Message refused"] and len(deliveries()) == n, "@datafail.test")
    check(c.cmd(b"QUIT")[1] == [b"221 2.0.0 Bye"] and c.closed(), "QUIT")

    # hangup: data complete, no reply, nothing stored
    c = Client(target)
    c.cmd(b"EHLO x")
    n = len(deliveries())
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<x@hangup.test>\r\nDATA\r\n")
    [c.reply() for _ in range(3)]
    c.send(b"hello\r\n.\r\n")
    check(c.closed(), "@hangup.test: closed without a reply")
    time.sleep(0.1)
    check(len(deliveries()) == n and tmp_files() == 0, "@hangup.test: nothing stored")

    # client disconnects mid-message
    c = Client(target)
    c.cmd(b"EHLO x")
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<mid@y.test>\r\nDATA\r\n")
    [c.reply() for _ in range(3)]
    c.send(b"Subject: half\r\n\r\n" + b"x" * 100000)
    time.sleep(0.2)
    check(tmp_files() == 1, "partial message in tmp/")
    c.close()
    time.sleep(0.2)
    check(tmp_files() == 0 and len(deliveries()) == n, "hang-up mid-message: tmp file removed, no delivery")

    # JSON escaping of odd bytes
    c = Client(target)
    c.cmd(b'EHLO a"b\\c\x01\xff\xc3\xa9')
    c.send(b"MAIL FROM:<\"q t\"@x.test>\r\nRCPT TO:<j@y.test>\r\nDATA\r\nx\r\n.\r\n")
    rs = [c.reply() for _ in range(4)]
    d = deliveries()[-1]
    check(rs[3][0] == 250 and d["helo"] == 'a"b\\c\x01\u00ff\u00e9' and d["mail_from"] == '"q t"@x.test',
          "JSON escaping", (rs, d))
    check(c.cmd(b"MAIL FROM:<\xc3\xa9@x.test>")[0] == 553
          and c.cmd(b"MAIL FROM:<\xc3\xa9@x.test> SMTPUTF8")[0] == 250, "SMTPUTF8 address")
    c.close()

    # a client that pipelines far more than it reads: the server holds back, nothing is lost
    import threading
    c = Client(target)
    n = 200000
    t = threading.Thread(target=c.send, args=(b"NOOP\r\n" * n + b"QUIT\r\n",))
    t.start()
    time.sleep(1)
    got = sum(1 for _ in range(n) if c.reply()[0] == 250)
    t.join()
    check(got == n and c.reply()[0] == 221, "%d pipelined NOOPs read late" % n, got)
    c.close()

    # many concurrent connections, each with a message, interleaved
    conns = [Client(target) for _ in range(300)]
    for i, k in enumerate(conns):
        k.send(b"HELO c%d\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<many@y.test>\r\nDATA\r\n" % i)
    ok = all([k.reply()[0] for _ in range(4)] == [250, 250, 250, 354] for k in conns)
    for i, k in enumerate(conns):
        k.send(b"message %d\r\n.\r\nQUIT\r\n" % i)
    ok = ok and all(k.reply()[0] == 250 and k.reply()[0] == 221 for k in conns)
    check(ok, "300 concurrent connections")
    for k in conns:
        k.close()
    many = [d for d in deliveries() if d["rcpt_to"] == ["many@y.test"]]
    check(len(many) == 300 and len({d["file"] for d in many}) == 300, "300 messages, unique names")

def lmtp_tests():
    c = Client(target)
    check(c.greeting[1][0].endswith(b"smtpc-sink LMTP"), "LMTP greeting", c.greeting)
    check(c.cmd(b"EHLO x")[1] == [b"500 5.5.1 LMTP requires LHLO"], "EHLO refused in LMTP")
    check(c.cmd(b"HELO x")[0] == 500, "HELO refused in LMTP")
    check(c.cmd(b"LHLO x")[0] == 250, "LHLO")
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<one@y.test>\r\nRCPT TO:<full@y.test>\r\n"
           b"RCPT TO:<r@reject.test>\r\nRCPT TO:<tempfail@y.test>\r\nRCPT TO:<x@datafail.test>\r\n"
           b"RCPT TO:<two@y.test>\r\nDATA\r\n")
    rs = [c.reply()[0] for _ in range(8)]
    check(rs == [250, 250, 250, 550, 250, 250, 250, 354], "LMTP envelope", rs)
    body = b"Subject: lmtp\r\n\r\n..dot\r\n"
    c.send(stuff(body))
    rs = [c.reply()[1][0] for _ in range(5)]
    check(rs == [b"250 2.0.0 <one@y.test> Saved", b"552 5.2.2 <full@y.test> Quota exceeded",
                 b"452 4.2.2 <tempfail@y.test> Mailbox busy", b"554 5.6.0 <x@datafail.test> Message refused",
                 b"250 2.0.0 <two@y.test> Saved"], "LMTP per-recipient replies in RCPT order", rs)
    d = deliveries()[-1]
    check(d["rcpt_to"] == ["one@y.test", "two@y.test"] and d["proto"] == "lmtp" and stored(d) == body,
          "LMTP delivery", d)
    two = os.path.join(md, "two@y.test", "new", os.path.basename(d["file"]))
    check(os.path.exists(two) and not os.path.exists(os.path.join(md, "full@y.test", "new", os.path.basename(d["file"]))),
          "LMTP: stored for accepted recipients only")
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<one@y.test>\r\nRCPT TO:<full@y.test>\r\nBDAT 3 LAST\r\nabc")
    rs = [c.reply()[0] for _ in range(5)]
    check(rs == [250, 250, 250, 250, 552] and stored(deliveries()[-1]) == b"abc", "LMTP BDAT", rs)
    check(c.cmd(b"QUIT")[0] == 221, "LMTP QUIT")

if mode == "smtp":
    smtp_tests()
elif mode == "lmtp":
    lmtp_tests()
elif mode == "size":
    c = Client(("127.0.0.1", int(sys.argv[3])))
    c.cmd(b"EHLO x")
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<big@y.test>\r\nDATA\r\n")
    [c.reply() for _ in range(3)]
    c.send(b"x" * 2000 + b"\r\n.\r\n")
    check(c.reply()[1] == [b"552 5.3.4 Error: message size exceeds fixed limit"] and deliveries() == [],
          "--size: 552 5.3.4 after the data")
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<big@y.test>\r\nBDAT 2000\r\n" + b"x" * 2000 + b"BDAT 1 LAST\r\nx")
    rs = [c.reply()[0] for _ in range(4)]
    check(rs == [250, 250, 552, 503] and tmp_files() == 0, "--size with BDAT", rs)
    c.send(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<small@y.test>\r\nDATA\r\nsmall\r\n.\r\n")
    rs = [c.reply()[0] for _ in range(4)]
    check(rs == [250, 250, 354, 250], "--size: small message goes through", rs)
    r = c.cmd(b"EHLO x")
    check(b"250-SIZE 1000" in r[1], "SIZE 1000 advertised", r)
elif mode == "ext":
    c = Client(("127.0.0.1", int(sys.argv[3])))
    r = c.cmd(b"EHLO x")
    check(r[1] == [b"250-localhost", b"250-PIPELINING", b"250 XFOO bar"], "--ext replaces the list", r)
    check(c.cmd(b"MAIL FROM:<a@x.test>")[1] == [b"250 Ok"], "no enhanced codes when not advertised")
    check(c.cmd(b"RCPT TO:<a@x.test> NOTIFY=NEVER")[0] == 555, "DSN parameter refused without DSN")
    check(c.cmd(b"BDAT 1 LAST")[0] == 500, "BDAT unknown without CHUNKING")

sys.exit(1 if failures else 0)
EOF

run_py() {
	local out
	out=$("$PYTHON" "$WORK/client.py" "$@" 2>&1)
	local rc=$?
	echo "$out" | grep -E '^(ok|FAIL) '
	PASSES=$((PASSES + $(echo "$out" | grep -c '^ok ')))
	FAILS=$((FAILS + $(echo "$out" | grep -c '^FAIL ')))
	if [ $rc -ne 0 ] && ! echo "$out" | grep -q '^FAIL '; then
		fail "python client crashed: $(echo "$out" | tail -5)"
	fi
}

run_py smtp "$MD" "$SMTP_PORT"

if command -v swaks >/dev/null; then
	if swaks --server "127.0.0.1:$SMTP_PORT" --from s@x.test --to swaks@y.test \
		--body 'hello from swaks' >"$WORK/swaks.out" 2>&1; then
		pass "swaks SMTP"
	else
		fail "swaks SMTP: $(tail -5 "$WORK/swaks.out")"
	fi
	if swaks --pipeline --server "127.0.0.1:$SMTP_PORT" --from s@x.test --to p1@y.test,p2@y.test \
		>"$WORK/swaks.out" 2>&1 && grep -q 'PIPELINING' "$WORK/swaks.out"; then
		pass "swaks --pipeline"
	else
		fail "swaks --pipeline: $(tail -5 "$WORK/swaks.out")"
	fi
	swaks --server "127.0.0.1:$SMTP_PORT" --from s@x.test --to r@reject.test >"$WORK/swaks.out" 2>&1
	rc=$?
	[ $rc -eq 24 ] && pass "swaks: @reject.test refused (exit 24)" || fail "swaks reject: rc=$rc"
fi

# [::1] listener: its port is found through /proc (the port file holds the first listener's)
"$PYTHON" - "$SMTP_PID" <<'EOF' && pass "[::1] listener" || fail "[::1] listener"
import socket, sys, os
# find the IPv6 port among the sink's listening sockets
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
port = None
with open("/proc/net/tcp6") as f:
    for line in f.readlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and parts[9] in inodes:
            port = int(parts[1].split(":")[1], 16)
if port is None:
    sys.exit(1)
s = socket.create_connection(("::1", port), timeout=5)
sys.exit(0 if s.recv(100).startswith(b"220 ") else 1)
EOF

grep -q '^[0-9]* C: <[0-9]* bytes of message data>$' "$WORK/smtp.log" && grep -q '^[0-9]* S: 220 ' "$WORK/smtp.log" &&
	pass "--log transcript" || fail "--log transcript"
stop_sink smtp "$SMTP_PID" && [ ! -e "$WORK/smtp.pid" ] && pass "SIGTERM: exit 0, pid file removed" ||
	fail "SIGTERM: pid file left"

# ---------------------------------------------------------------- LMTP over a Unix socket, daemon
LMD=$WORK/lmd
SOCK=$WORK/lmtp.sock
: >"$SOCK.stale" && mv "$SOCK.stale" "$SOCK" # not a socket: must be refused
"$SINK" --quiet --lmtp --unix "$SOCK" >/dev/null 2>&1 &&
	fail "--unix over a regular file accepted" || pass "--unix refuses to remove a regular file"
rm -f "$SOCK"
"$PYTHON" -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK" # stale socket
"$SINK" --daemon --quiet --lmtp --unix "$SOCK" --maildir "$LMD" --port-file "$WORK/lmtp.port" \
	--pid-file "$WORK/lmtp.pid"
rc=$?
if [ $rc -eq 0 ] && [ -s "$WORK/lmtp.port" ] && [ -s "$WORK/lmtp.pid" ] && [ -S "$SOCK" ]; then
	pass "--daemon returns with port file, pid file and socket ready"
else
	fail "--daemon: rc=$rc"
fi
LMTP_PID=$(cat "$WORK/lmtp.pid" 2>/dev/null)
PIDS+=("$LMTP_PID")

run_py lmtp "$LMD" "$SOCK"

if command -v swaks >/dev/null; then
	if swaks --protocol LMTP --socket "$SOCK" --from s@x.test --to l1@y.test,l2@y.test \
		>"$WORK/swaks.out" 2>&1 && [ -n "$(ls "$LMD/l2@y.test/new")" ]; then
		pass "swaks LMTP over the Unix socket"
	else
		fail "swaks LMTP: $(tail -5 "$WORK/swaks.out")"
	fi
fi

kill -TERM "$LMTP_PID"
for _ in $(seq 100); do
	kill -0 "$LMTP_PID" 2>/dev/null || break
	sleep 0.05
done
if ! kill -0 "$LMTP_PID" 2>/dev/null && [ ! -e "$SOCK" ] && [ ! -e "$WORK/lmtp.pid" ]; then
	pass "daemon: SIGTERM removes the socket and the pid file"
else
	fail "daemon did not clean up"
fi

# ---------------------------------------------------------------- --size, --ext, no Maildir
start_sink size --size 1000 --maildir "$WORK/smd" || exit 1
run_py size "$WORK/smd" "$PORT"
stop_sink size "$PID"

start_sink ext --ext 'PIPELINING, XFOO bar' || exit 1
run_py ext "$WORK/none" "$PORT"
stop_sink ext "$PID"
[ ! -e "$WORK/none" ] && pass "without --maildir nothing is written" || fail "wrote without --maildir"

# ---------------------------------------------------------------- idle timeout, listen forms
start_sink timeout --timeout 1 --listen localhost:0 --listen 127.0.0.2:0 || exit 1
"$PYTHON" - "$PORT" <<'EOF' && pass "idle timeout: 421 4.4.2 then close" || fail "idle timeout"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.time()
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data.startswith(b"220 ") and b"\r\n421 4.4.2 " in data and time.time() - t >= 0.9 else 1)
EOF
stop_sink timeout "$PID"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
