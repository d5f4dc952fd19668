#!/usr/bin/env python3
"""A scripted SMTP/LMTP server for tests/cli/test-cli.sh: the faults that a
well-behaved sink does not produce (outcome unknown, 421, protocol errors,
slow replies, hostile reply text), AUTH in clear (to test where passwords
come from) and STARTTLS refusals.

usage: fake-server.py SCENARIO PORT_FILE [--lmtp] [--unix PATH]
Listens on 127.0.0.1, an ephemeral port written to PORT_FILE (or on the
Unix socket PATH; PORT_FILE then gets "0"), serves one connection at a time
until killed. Only loopback. --lmtp: one reply per accepted recipient after
the final dot ("dotN" in a scenario overrides the reply for recipient N).
"""
import base64
import binascii
import os
import socket
import sys
import time

SCENARIOS = {
    # name: {stage: reply bytes, ...}; stages: greeting, ehlo, helo, mail, rcpt, data, dot
    "ok": {},
    "hangup-after-dot": {"dot": None},
    # reads 7000 bytes of the message, then nothing (small receive buffer): the end never arrives
    "stall-in-data": {"rcvbuf": 4096, "data-read-limit": 7000},
    # reads the whole message, then never answers it
    "silent-after-dot": {"dot-silent": True},
    "rcpt-421": {"rcpt2": b"421 4.3.2 shutting down\r\n"},
    "garbage-ehlo": {"ehlo": b"xyz\r\n"},
    "ehlo-502": {"ehlo": b"502 5.5.1 no ESMTP here\r\n"},
    "ehlo-451": {"ehlo": b"451 4.3.0 busy\r\n"},
    "greet-554": {"greeting": b"554 5.7.1 go away\r\n"},
    "slow-greeting": {"greeting-delay": 3},
    "mail-553": {"mail": b"553 5.7.1 sender refused\r\n"},
    "mail-451": {"mail": b"451 4.7.1 greylisted\r\n"},
    "data-554": {"dot": b"554 5.6.0 content refused\r\n"},
    "data-452": {"dot": b"452 4.3.1 out of space\r\n"},
    "lmtp-mixed": {"dot2": b"452 4.2.2 mailbox full\r\n"},
    "lmtp-hangup-second": {"dot2": None},
    # AUTH in clear (smtpc needs --starttls never --allow-plaintext-auth, or a Unix socket):
    # PLAIN and LOGIN accept alice / "pässwörd 1" (UTF-8)
    "auth": {"ehlo": b"250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"},
    "auth-454": {"ehlo": b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n",
                 "auth": b"454 4.7.0 temporary authentication failure\r\n"},
    # a challenge that is not base64, or base64 that is no SCRAM server-first: the client
    # cancels with "*" (answered 501)
    "auth-bad-challenge": {"ehlo": b"250-fake.test\r\n250 AUTH LOGIN\r\n",
                           "auth": b"334 !!not base64!!\r\n"},
    "auth-bad-scram": {"ehlo": b"250-fake.test\r\n250 AUTH SCRAM-SHA-256 PLAIN\r\n",
                       "auth": b"334 aGVsbG8=\r\n"},
    "starttls-454": {"ehlo": b"250-fake.test\r\n250 STARTTLS\r\n",
                     "starttls": b"454 4.7.0 TLS not available due to temporary reason\r\n"},
    "starttls-554": {"ehlo": b"250-fake.test\r\n250 STARTTLS\r\n",
                     "starttls": b"554 5.7.0 no TLS for you\r\n"},
    "hostile": {
        "greeting": b"220-fake \x1b]0;owned\x07 \xff\xfe caf\xc3\xa9\r\n220 second line\r\n",
        "ehlo": b"250-fake\r\n250-SIZE 10485760\r\n250-X-\x1b[2J\r\n250 PIPELINING\r\n",
        "dot": b"250-2.0.0 queued \x00 nul\r\n250 2.0.0 second \"q\" \\ line\r\n",
    },
    # the final reply with an escape sequence, a quote, a backslash and bytes over 0x7e
    "dot-esc": {"dot": b"250 2.0.0 queued \x1b[31mred\x1b[0m \"q\" \\ caf\xc3\xa9 \xff\r\n"},
    # valid UTF-8 that must not reach a terminal raw: C1 CSI (U+009B), RLO (U+202E), LRI
    # (U+2066), LINE SEPARATOR (U+2028); e-acute passes
    "unicode": {
        "greeting": "220 fake \u009b31m red \u202egnp.exe \u2066x\u2069 a\u2028b caf\u00e9\r\n".encode(),
        "dot": "250 2.0.0 queued \u009b2J \u202d\u2029\u061c\u200f\r\n".encode(),
    },
}

DEFAULTS = {
    "greeting": b"220 fake.test ESMTP\r\n",
    "ehlo": b"250-fake.test\r\n250-SIZE 10485760\r\n250 8BITMIME\r\n",
    "helo": b"250 fake.test\r\n",
    "mail": b"250 2.1.0 ok\r\n",
    "rcpt": b"250 2.1.5 ok\r\n",
    "data": b"354 go ahead\r\n",
    "dot": b"250 2.0.0 queued\r\n",
    "rset": b"250 2.0.0 ok\r\n",
    "quit": b"221 2.0.0 bye\r\n",
    "starttls": b"502 5.5.1 no STARTTLS here\r\n",
    "other": b"502 5.5.2 unknown command\r\n",
}


def reply(script, stage):
    return script[stage] if stage in script else DEFAULTS[stage]


def final_replies(conn, script, naccepted, lmtp):
    """Sends the replies after the final dot; False when the script hangs up."""
    if not lmtp:
        answer = reply(script, "dot")
        if answer is None:
            return False
        conn.sendall(answer)
        return True
    for i in range(1, naccepted + 1):
        answer = script.get("dot%d" % i, reply(script, "dot"))
        if answer is None:
            return False
        conn.sendall(answer)
    return True


USER = b"alice"
PASSWORD = "pässwörd 1".encode("utf-8")


def auth(f, conn, script, args):
    """AUTH PLAIN / LOGIN against USER and PASSWORD (or the scripted reply)."""
    if "auth" in script:
        return script["auth"]
    parts = args.split()
    mech = parts[0].upper() if parts else b""

    def ask(challenge):
        conn.sendall(b"334 " + base64.b64encode(challenge) + b"\r\n")
        return f.readline().strip()

    try:
        if mech == b"PLAIN":
            blob = parts[1] if len(parts) > 1 else ask(b"")
            ok = base64.b64decode(blob, validate=True) == b"\0" + USER + b"\0" + PASSWORD
        elif mech == b"LOGIN":
            user = base64.b64decode(parts[1] if len(parts) > 1 else ask(b"Username:"), validate=True)
            password = base64.b64decode(ask(b"Password:"), validate=True)
            ok = user == USER and password == PASSWORD
        else:
            return b"504 5.5.4 unknown mechanism\r\n"
    except (ValueError, binascii.Error):
        return b"501 5.5.2 bad base64\r\n"
    return b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 bad credentials\r\n"


def serve(conn, script, lmtp):
    f = conn.makefile("rb")
    time.sleep(script.get("greeting-delay", 0))
    conn.sendall(reply(script, "greeting"))
    nrcpt = naccepted = 0
    while True:
        line = f.readline()
        if not line:
            return
        verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper()
        if verb in (b"EHLO", b"LHLO"):
            stage = "ehlo"
        elif verb == b"HELO":
            stage = "helo"
        elif verb == b"MAIL":
            stage = "mail"
            nrcpt = naccepted = 0
        elif verb == b"RCPT":
            nrcpt += 1
            stage = "rcpt%d" % nrcpt if "rcpt%d" % nrcpt in script else "rcpt"
            if (reply(script, stage) or b"").startswith(b"2"):
                naccepted += 1
        elif verb == b"DATA":
            conn.sendall(reply(script, "data"))
            if "data-read-limit" in script:
                f.read(script["data-read-limit"])
                time.sleep(30)  # reads no more: the client gives up (killed at the end)
                return
            while True:
                body = f.readline()
                if not body or body == b".\r\n":
                    break
            if script.get("dot-silent"):
                time.sleep(30)  # never answers: the client gives up (killed at the end)
                return
            if not final_replies(conn, script, naccepted, lmtp):
                return
            continue
        elif verb == b"RSET":
            stage = "rset"
        elif verb == b"STARTTLS":
            stage = "starttls"
        elif verb == b"AUTH":
            conn.sendall(auth(f, conn, script, line.rstrip(b"\r\n")[5:]))
            continue
        elif verb == b"*":
            conn.sendall(b"501 5.7.0 authentication cancelled\r\n")
            continue
        elif verb == b"QUIT":
            conn.sendall(reply(script, "quit"))
            return
        else:
            stage = "other"
        answer = reply(script, stage)
        if answer is None:
            return
        conn.sendall(answer)
        if answer.startswith(b"421"):
            return


def listen(unix_path, script):
    if unix_path:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(unix_path)
    else:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if "rcvbuf" in script:  # inherited by the connection: a small window
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, script["rcvbuf"])
        srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv


def main():
    script = SCENARIOS[sys.argv[1]]
    port_file = sys.argv[2]
    lmtp = "--lmtp" in sys.argv[3:]
    unix_path = sys.argv[sys.argv.index("--unix") + 1] if "--unix" in sys.argv else None
    srv = listen(unix_path, script)
    with open(port_file + ".tmp", "w") as pf:
        pf.write("%d\n" % (0 if unix_path else srv.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, script, lmtp)
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
