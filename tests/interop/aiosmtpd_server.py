"""SMTP sink for the smtpc interop tests, on aiosmtpd (run with /usr/bin/python3).

    aiosmtpd_server.py --dir DIR --port PORT [--host ADDR]...

For every message accepted by DATA it writes DIR/<n>.eml with exactly the
bytes received (line endings as they came, only the transparency dots of
RFC 5321 4.5.2 removed, nothing added) and DIR/<n>.json with the envelope:
helo, mail_from, mail_options, rcpt_tos, rcpt_options, size, sha256.
<n> counts from 1 per server. Both files are complete before the 250 reply.

Policy: recipients in the domain reject.test get "550", in defer.test "450"
(aiosmtpd does not advertise ENHANCEDSTATUSCODES; no x.y.z codes are sent).
DIR/ready is created once every listener is bound. SIGTERM/SIGINT stop it.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rpartition("@")[2].lower()
        if domain == "reject.test":
            return "550 <%s>: no such user (smtpc interop: reject.test is refused)" % address
        if domain == "defer.test":
            return "450 <%s>: try again later (smtpc interop: defer.test is deferred)" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.count += 1
        base = os.path.join(self.dir, "%d" % self.count)
        meta = {
            "n": self.count,
            "helo": session.host_name,
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": [list(o) for o in envelope.rcpt_options],
            "smtputf8": bool(envelope.smtp_utf8),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for suffix, content in ((".eml", data), (".json", json.dumps(meta, indent=1).encode())):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(content)
            os.rename(base + suffix + ".tmp", base + suffix)
        logging.info("message %d: %d bytes from %r to %r", self.count, len(data),
                     envelope.mail_from, envelope.rcpt_tos)
        return "250 OK stored as message %d" % self.count


async def main():
    ap = argparse.ArgumentParser(description="aiosmtpd sink for the smtpc interop tests")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", action="append", default=[])
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.makedirs(args.dir, exist_ok=True)
    loop = asyncio.get_running_loop()
    sink = Sink(args.dir)
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="localhost", ident="smtpc interop aiosmtpd sink",
                     decode_data=False, enable_SMTPUTF8=True, data_size_limit=20 * 1024 * 1024,
                     loop=loop),
        host=args.host or ["127.0.0.1"], port=args.port)
    open(os.path.join(args.dir, "ready"), "w").close()
    logging.info("listening on %s port %d", args.host or ["127.0.0.1"], args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
