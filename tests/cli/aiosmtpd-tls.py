"""aiosmtpd server with STARTTLS or implicit TLS, and AUTH, for tests/cli/test-cli-tls.sh.

Run it with Debian's /usr/bin/python3 (python3-aiosmtpd), not another python3:

    aiosmtpd-tls.py MODE PORT_FILE CERT KEY OUTDIR [--client-ca CA]

MODE:
  starttls  STARTTLS offered and required before MAIL (require_starttls),
            AUTH offered after TLS only (auth_require_tls)
  implicit  TLS from the first byte (smtps), AUTH offered
  plain     no TLS at all, AUTH offered in clear (auth_require_tls off):
            a client must refuse to send credentials to it
  no-tls    no TLS, no AUTH (a server where STARTTLS is missing)

AUTH: PLAIN and LOGIN (aiosmtpd's own) accept user alice with the UTF-8
password "pässwörd 1"; XOAUTH2 (implemented here) accepts alice with the
token "tok-alice-1". Everything else gets 535.
Recipients @reject.test get 550, @defer.test 450.

Listens on 127.0.0.1 only, on an ephemeral port written to PORT_FILE once it
is bound. Each accepted message is written to OUTDIR/<n>.eml, and its
envelope with the authenticated user to OUTDIR/<n>.json. SIGTERM stops it.
With --client-ca the server asks for a client certificate (optional) and
records its subject in the JSON.
"""

import asyncio
import base64
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER = b"alice"
PASSWORD = "pässwörd 1".encode("utf-8")
TOKEN = b"tok-alice-1"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login == USER \
            and auth_data.password == PASSWORD:
        return AuthResult(success=True, auth_data=auth_data.login.decode())
    return AuthResult(success=False, handled=False)


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def auth_XOAUTH2(self, server, args):
        """Google's XOAUTH2: base64("user=" u ^A "auth=Bearer " t ^A ^A)."""
        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
            blob = base64.b64encode(blob)
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            return AuthResult(success=False, handled=False, message="501 5.5.2 bad base64")
        if raw == b"user=" + USER + b"\x01auth=Bearer " + TOKEN + b"\x01\x01":
            return AuthResult(success=True, auth_data="alice (xoauth2)")
        # As Gmail does: the error as base64 JSON in a 334, the client answers
        # with an empty line, then 535.
        error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
        await server.challenge_auth(error)
        return AuthResult(success=False, handled=False, message="535 5.7.8 token refused")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rpartition("@")[2].lower()
        if domain == "reject.test":
            return "550 5.1.1 <%s>: no such user" % address
        if domain == "defer.test":
            return "450 4.2.1 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.count += 1
        base = os.path.join(self.outdir, "%d" % self.count)
        # The transport knows both STARTTLS and implicit TLS (session.ssl is STARTTLS only).
        ssl_object = server.transport.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth": session.auth_data if session.authenticated else None,
            "tls": ssl_object is not None,
            "client_cert": dict(x[0] for x in cert.get("subject", ())) if cert else None,
        }
        for suffix, content in ((".eml", data), (".json", json.dumps(meta).encode())):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(content)
            os.rename(base + suffix + ".tmp", base + suffix)
        return "250 2.0.0 OK stored as message %d" % self.count


def main():
    mode, port_file, cert, key, outdir = sys.argv[1:6]
    client_ca = sys.argv[sys.argv.index("--client-ca") + 1] if "--client-ca" in sys.argv else None
    os.makedirs(outdir, exist_ok=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    handler = Handler(outdir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kwargs = {"hostname": "aiosmtpd.test", "authenticator": authenticator, "loop": loop}
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    elif mode in ("implicit", "plain"):
        kwargs.update(auth_require_tls=False)
    elif mode != "no-tls":  # no-tls: no STARTTLS, and AUTH needs TLS: not offered

        sys.exit("unknown mode " + mode)

    def factory():
        return SMTP(handler, **kwargs)

    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=0, ssl=ctx if mode == "implicit" else None))
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as pf:
        pf.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
