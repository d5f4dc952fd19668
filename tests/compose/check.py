#!/usr/bin/env python3
"""check.py BUILD - the message builder checked by Python's email package.

Each case builds one message with BUILD (tests/compose/build.c, which also
checks that a second reading after smtpc_mime_rewind() is identical and as
long as announced), parses it with email (policy=default) and compares the
structure, every header and every part with what went in: text equal after
line-ending normalisation, attachments byte for byte. Every line must end in
CRLF and be at most 998 octets (76 in quoted-printable and base64 parts).
"""
import email
import email.policy
import os
import random
import subprocess
import sys
import tempfile

BUILD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="compose-")
failures = []
rng = random.Random(2026)


def write(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def norm(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_lines(raw, msg, case):
    lines = raw.split(b"\r\n")
    for ln in lines:
        if b"\n" in ln or b"\r" in ln:
            raise AssertionError("bare CR or LF in %r" % ln[:60])
        if len(ln) > 998:
            raise AssertionError("line of %d octets" % len(ln))
    for part in msg.walk():
        cte = part.get("Content-Transfer-Encoding", "7bit").lower()
        if cte in ("base64", "quoted-printable"):
            payload = part.get_payload(decode=False)
            for ln in payload.split("\n"):
                if len(ln.rstrip("\r")) > 76:
                    raise AssertionError("%s line of %d characters" % (cte, len(ln)))


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def structure(msg):
    if msg.is_multipart():
        return "%s(%s)" % (msg.get_content_subtype(), ",".join(structure(p) for p in msg.iter_parts()))
    return msg.get_content_type()


def run(case, args, expect):
    """expect: structure, headers {name: text}, addresses {field: [(name, addr)]},
    text, html, parts [(bytes, type, filename, cid)], cte {subtype: cte}."""
    p = subprocess.run([BUILD] + args, capture_output=True)
    if p.returncode != 0:
        failures.append("%s: build exited %d: %s" % (case, p.returncode, p.stderr.decode(errors="replace")))
        return
    raw = p.stdout
    try:
        if expect.get("utf8"):  # RFC 6532: the headers are UTF-8 text
            msg = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
        else:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
        check_lines(raw, msg, case)
        for part in msg.walk():
            if part.defects:
                raise AssertionError("defects %r" % part.defects)
        if "structure" in expect and structure(msg) != expect["structure"]:
            raise AssertionError("structure %s, expected %s" % (structure(msg), expect["structure"]))
        for name, value in expect.get("headers", {}).items():
            got = str(msg[name])
            if got != value:
                raise AssertionError("%s: %r, expected %r" % (name, got, value))
        for field, addrs in expect.get("addresses", {}).items():
            # Python 3.11 keeps the folding blank between two encoded words of a display
            # name (its own output does not survive either): blanks compared as runs.
            got = [(" ".join(a.display_name.split()), a.addr_spec) for a in msg[field].addresses]
            addrs = [(" ".join(n.split()), a) for n, a in addrs]
            if got != addrs:
                raise AssertionError("%s: %r, expected %r" % (field, got, addrs))
        for kind in ("text", "html"):
            if kind in expect:
                body = msg.get_body(("plain",) if kind == "text" else ("html",))
                if body is None or norm(body.get_content()) != norm(expect[kind]):
                    raise AssertionError("%s differs: %r" % (kind, body and body.get_content()[:80]))
        for sub, cte in expect.get("cte", {}).items():
            got = [p["Content-Transfer-Encoding"] for p in leaves(msg) if p.get_content_subtype() == sub]
            if got != [cte]:
                raise AssertionError("%s encoded %r, expected %s" % (sub, got, cte))
        parts = [p for p in leaves(msg) if p.get_content_disposition() in ("attachment", "inline")]
        want = expect.get("parts", [])
        if len(parts) != len(want):
            raise AssertionError("%d parts, expected %d" % (len(parts), len(want)))
        for part, (data, ctype, fname, cid) in zip(parts, want):
            if part.get_payload(decode=True) != data:
                raise AssertionError("part %s differs" % fname)
            if part.get_content_type() != ctype or part.get_filename() != fname:
                raise AssertionError("part %r %r, expected %r %r" % (part.get_content_type(), part.get_filename(), ctype, fname))
            if cid is not None and part["Content-ID"] != "<%s>" % cid:
                raise AssertionError("Content-ID %r" % part["Content-ID"])
        for check in expect.get("raw", []):
            check(raw)
    except Exception as e:  # one line per failed case, all cases run
        failures.append("%s: %s" % (case, e))
        return
    print("ok   %s" % case)


def refused(case, args):
    p = subprocess.run([BUILD] + args, capture_output=True)
    if p.returncode != 1:
        failures.append("%s: expected a refusal, build exited %d" % (case, p.returncode))
    else:
        print("ok   %s (refused)" % case)


FROM = ["--from", "", "a@example.com"]
TO = ["--to", "", "b@example.org"]
BASE = FROM + TO


def case_text(name, text, cte, extra=()):
    t = write(name + ".txt", text)
    run(name, BASE + list(extra) + ["--subject", name, "--text", t],
        {"structure": "text/plain", "text": text, "cte": {"plain": cte}})


case_text("ascii", "Hello, world.\nSecond line.\n", "7bit")
case_text("latin-qp", "Grüße aus Köln = 100% \nfin \n", "quoted-printable")
case_text("latin-8bit", "Grüße aus Köln\n", "8bit", ["--8bit"])
case_text("cyrillic-base64", "Привет, мир! " * 40 + "\n", "base64")
case_text("long-line-qp", "x" * 2500 + "\n" + "y = z " * 300, "quoted-printable")
case_text("dots-and-from", ".\n..leading dots\nFrom here\n.\nFrom \n", "7bit")
case_text("line-endings", "crlf\r\nbare cr\rlf\n\nlast without newline", "7bit")
case_text("empty-text", "", "7bit")
case_text("long-8bit-line-base64", "é" * 600 + "\n", "base64", ["--8bit"])
case_text("long-latin-line-qp", "Größe der Datei " * 100 + "\n", "quoted-printable", ["--8bit"])
case_text("trailing-blanks", "tab\t\nspace \n=3D\n", "7bit")
case_text("trailing-blanks-qp", "tab\t\nspace \n=3D é\n", "quoted-printable")

# text + HTML, and the HTML's inline image
txt = write("alt.txt", "Plain version\n")
htm = write("alt.html", "<p>HTML version é</p>\n")
png = bytes(rng.randrange(256) for _ in range(5000))
pngf = write("img.png", png)
run("alternative", BASE + ["--text", txt, "--html", htm],
    {"structure": "alternative(text/plain,text/html)", "text": "Plain version\n",
     "html": "<p>HTML version é</p>\n"})
run("related", BASE + ["--text", txt, "--html", htm, "--inline", pngf, "image/png", "logo.png", "logo@example.com"],
    {"structure": "alternative(text/plain,related(text/html,image/png))",
     "parts": [(png, "image/png", "logo.png", "logo@example.com")]})
run("html-only-related", BASE + ["--html", htm, "--inline", pngf, "-", "img.png", "i1@x"],
    {"structure": "related(text/html,image/png)", "parts": [(png, "image/png", "img.png", "i1@x")]})

# attachments from memory, a file descriptor and a callback, several chunks long
big = bytes(rng.randrange(256) for _ in range(300001))
bigf = write("big.bin", big)
emptyf = write("empty.bin", b"")
for via in ("mem", "fd", "cb"):
    run("attach-" + via, BASE + ["--via", via, "--text", txt, "--attach", bigf, "-", "big.bin",
                                 "--attach", emptyf, "text/plain", "empty.txt", "--attach", pngf, "-", "-"],
        {"structure": "mixed(text/plain,application/octet-stream,text/plain,application/octet-stream)",
         "parts": [(big, "application/octet-stream", "big.bin", None), (b"", "text/plain", "empty.txt", None),
                   (png, "application/octet-stream", None, None)]})
run("attach-only", BASE + ["--attach", pngf, "image/png", "a.png"],
    {"structure": "mixed(image/png)", "parts": [(png, "image/png", "a.png", None)]})
run("everything", BASE + ["--via", "fd", "--text", txt, "--html", htm, "--inline", pngf, "image/png", "l.png", "l@x",
                          "--attach", bigf, "application/pdf", "r.pdf"],
    {"structure": "mixed(alternative(text/plain,related(text/html,image/png)),application/pdf)",
     "parts": [(png, "image/png", "l.png", "l@x"), (big, "application/pdf", "r.pdf", None)]})

# file names: RFC 2231 for non-ASCII and long names, quoted strings otherwise
for i, fname in enumerate(["résumé – 2026.pdf", "名前" * 40 + ".txt", "a" * 150 + ".bin",
                           'quote " and \\ backslash.txt', "semi;colon=equal (x).txt", "=?utf-8?q?x?=.txt",
                           "%41 percent.txt", "tab less.txt"]):
    run("filename-%d" % i, BASE + ["--attach", pngf, "application/octet-stream", fname],
        {"parts": [(png, "application/octet-stream", fname, None)]})

# headers: encoded words, folding, literal "=?", addresses
subjects = ["Plain subject", "Ünïcödé subject", "x" * 1200, "word " * 100, "a few words then " + "y" * 1000,
            "Re: " + "z" * 990,
            "😀 emoji " * 30, "=?utf-8?q?not_an_encoded_word?=", " leading and trailing ",
            "mixed 日本語のテキスト and ASCII " * 8]
for i, s in enumerate(subjects):
    run("subject-%d" % i, BASE + ["--subject", s, "--text", txt], {"headers": {"Subject": s}})
run("addresses", ["--from", "Jöhn Dœ", "john@example.com", "--to", "Doe, Jane", "jane@example.org",
                  "--to", "", "bare@example.org", "--to", 'Quote " Back \\', "q@example.org",
                  "--cc", "Ĉu ĉi tio? " * 10, "cc@example.net", "--reply-to", "Support", "help@example.com",
                  "--text", txt],
    {"addresses": {"From": [("Jöhn Dœ", "john@example.com")],
                   "To": [("Doe, Jane", "jane@example.org"), ("", "bare@example.org"),
                          ('Quote " Back \\', "q@example.org")],
                   "Cc": [("Ĉu ĉi tio? " * 10, "cc@example.net")],
                   "Reply-To": [("Support", "help@example.com")]}})
run("custom-headers", BASE + ["--header", "X-Mailer", "smtpc tests", "--header", "X-Note", "naïve café",
                              "--header", "Date", "Tue, 01 Dec 2026 10:00:00 +0100",
                              "--header", "Message-ID", "<fixed.1@example.com>", "--text", txt],
    {"headers": {"X-Mailer": "smtpc tests", "X-Note": "naïve café",
                 "Date": "Tue, 01 Dec 2026 10:00:00 +0100", "Message-ID": "<fixed.1@example.com>"}})
run("utf8-headers", ["--utf8", "--from", "Jöhn", "jöhn@exämple.com", "--to", "", "b@example.org",
                     "--subject", "Grüße", "--text", write("u.txt", "Grüße\n")],
    {"headers": {"Subject": "Grüße"}, "addresses": {"From": [("Jöhn", "jöhn@exämple.com")]},
     "utf8": True, "cte": {"plain": "8bit"}, "raw": [lambda raw: raw.index("Subject: Grüße".encode())]})

# what must be refused: a line break or control character anywhere in a header
for i, args in enumerate([["--subject", "a\r\nBcc: x@y"], ["--subject", "a\nb"], ["--header", "X-A", "v\r\nX-B: w"],
                          ["--header", "Bad Name", "v"], ["--header", "Bcc", "x@y"], ["--header", "Content-Type", "x/y"],
                          ["--to", "x\r\nBcc: y", "c@d"], ["--to", "", "c@d>, e@f"], ["--to", "", "c@d\r\nX: y"],
                          ["--attach", pngf, "-", "a\r\nX-Evil: 1.txt"], ["--attach", pngf, "multipart/mixed", "a"],
                          ["--attach", pngf, "text/plain; x=y", "a"], ["--inline", pngf, "-", "a", "<x@y>"],
                          ["--to", "", "jöhn@example.com"]]):
    refused("refuse-%d" % i, BASE + args)

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
print("all cases passed")
