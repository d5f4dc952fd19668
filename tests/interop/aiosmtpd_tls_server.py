"""SMTP sink with STARTTLS and AUTH for the smtpc interop tests, on aiosmtpd
(run with Debian's /usr/bin/python3).

    aiosmtpd_tls_server.py --dir DIR --port PORT --cert CHAIN --key KEY --users FILE [--host ADDR]...

STARTTLS is required before anything but EHLO/NOOP/QUIT (530 otherwise),
AUTH (PLAIN, LOGIN; only offered and accepted after TLS) is required before
MAIL. FILE has one "name:password" line per user, in UTF-8.

For every message accepted by DATA it writes DIR/<n>.eml with exactly the
bytes received (line endings as they came, only the transparency dots of
RFC 5321 4.5.2 removed, nothing added) and DIR/<n>.json with the envelope and
the session: helo, mail_from, rcpt_tos, size, sha256, tls (the TLS version),
auth_login, auth_mechanism, conn. Both are complete before the 250 reply.

DIR/events.jsonl gets one JSON object per line, in order:
  {"conn": C, "event": "connect", "peer": [...]}
  {"conn": C, "event": "command", "verb": "EHLO", "tls": false}  every command line
      received (the verb only: never arguments, so no credentials)
  {"conn": C, "event": "auth", "mechanism": "PLAIN", "tls": true, "login": "alice",
   "login_hex": "...", "password_sha256": "...", "ok": true}  every AUTH that got
      as far as the credentials check: login and the SHA-256 of the password
      bytes exactly as received (the password itself is not stored)
SIGTERM/SIGINT/SIGHUP stop it.
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("smtpc-it-aiosmtpd-tls")
_conn_ids = itertools.count(1)
PEERS = {}  # peer -> (connection id, the SMTP instance)


class Events:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def add(self, **rec):
        self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.f.flush()


class CommandRecorder(logging.Handler):
    """aiosmtpd logs every command line at INFO as ('%r >> %r', peer, line),
    AUTH arguments masked. Only the verb is kept."""

    def __init__(self, events):
        super().__init__(logging.INFO)
        self.events = events

    def emit(self, record):
        try:
            if record.msg != "%r >> %r" or len(record.args) != 2:
                return
            peer, line = record.args
            conn, server = PEERS.get(peer, (None, None))
            if isinstance(line, bytes):
                line = line.decode("ascii", "replace")
            verb = line.split(" ", 1)[0].upper()
            tls = server is not None and server._tls_protocol is not None
            self.events.add(conn=conn, event="command", verb=verb, tls=tls)
        except Exception:  # never break the server over a log record
            self.handleError(record)


class RecordingSMTP(SMTP):
    def __init__(self, handler, events, **kw):
        super().__init__(handler, **kw)
        self._it_events = events
        self._it_conn = None

    def connection_made(self, transport):
        super().connection_made(transport)
        if self._it_conn is None:  # the first call; the second is the TLS upgrade
            self._it_conn = next(_conn_ids)
            PEERS[self.session.peer] = (self._it_conn, self)
            self._it_events.add(conn=self._it_conn, event="connect",
                                peer=list(self.session.peer) if self.session.peer else None)


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.count += 1
        base = os.path.join(self.dir, "%d" % self.count)
        tls = None
        if server._tls_protocol is not None:
            obj = server.transport.get_extra_info("ssl_object")
            tls = obj.version() if obj is not None else "yes"
        auth = session.auth_data if session.authenticated else None
        meta = {
            "n": self.count,
            "conn": getattr(server, "_it_conn", None),
            "helo": session.host_name,
            "tls": tls,
            "auth_login": auth.get("login") if isinstance(auth, dict) else auth,
            "auth_mechanism": auth.get("mechanism") if isinstance(auth, dict) else None,
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": [list(o) for o in envelope.rcpt_options],
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for suffix, content in ((".eml", data), (".json", json.dumps(meta, indent=1).encode())):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(content)
            os.rename(base + suffix + ".tmp", base + suffix)
        log.info("message %d: %d bytes from %r to %r", self.count, len(data),
                 envelope.mail_from, envelope.rcpt_tos)
        return "250 OK stored as message %d" % self.count


def load_users(path):
    users = {}
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line:
                name, _, pw = line.partition(b":")
                users[name] = pw
    return users


def make_authenticator(users, events):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = bytes(auth_data.login), bytes(auth_data.password)
        ok = login in users and users[login] == password
        events.add(conn=getattr(server, "_it_conn", None), event="auth", mechanism=mechanism,
                   tls=server._tls_protocol is not None,
                   login=login.decode("utf-8", "replace"), login_hex=login.hex(),
                   password_sha256=hashlib.sha256(password).hexdigest(), ok=ok)
        data = {"login": login.decode("utf-8", "replace"), "mechanism": mechanism}
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)
    return authenticator


async def main():
    ap = argparse.ArgumentParser(description="aiosmtpd STARTTLS+AUTH sink for the smtpc interop tests")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", action="append", default=[])
    ap.add_argument("--cert", required=True, help="PEM: server certificate, then its chain")
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", required=True, help="name:password lines (UTF-8)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd 1.4 itself touches its deprecated Session.login_data on AUTH.
    logging.getLogger("mail.log").addFilter(
        lambda rec: "login_data is deprecated" not in rec.getMessage())
    os.makedirs(args.dir, exist_ok=True)
    events = Events(os.path.join(args.dir, "events.jsonl"))
    logging.getLogger("mail.log").addHandler(CommandRecorder(events))

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    users = load_users(args.users)
    loop = asyncio.get_running_loop()
    sink = Sink(args.dir)
    hosts = args.host or ["127.0.0.1"]
    server = await loop.create_server(
        lambda: RecordingSMTP(sink, events, hostname="localhost",
                              ident="smtpc interop aiosmtpd TLS sink",
                              decode_data=False, enable_SMTPUTF8=True,
                              data_size_limit=20 * 1024 * 1024, tls_context=ctx,
                              require_starttls=True, auth_required=True, auth_require_tls=True,
                              authenticator=make_authenticator(users, events), loop=loop),
        host=hosts, port=args.port)
    open(os.path.join(args.dir, "ready"), "w").close()
    log.info("listening on %s port %d", hosts, args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
