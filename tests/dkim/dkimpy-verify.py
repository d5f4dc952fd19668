#!/usr/bin/env python3
"""Verifies DKIM signatures with dkimpy, the public key given without DNS.

dkimpy-verify.py KEYS MESSAGE...: KEYS holds one "NAME RECORD" line per key
(NAME: selector._domainkey.domain; RECORD: the TXT record, "v=DKIM1; k=...;
p=..."), the format of OpenDKIM's TestPublicKeys file.
Each message is read as the DATA encoder sends it (every CRLF, bare LF and
bare CR made CRLF, a last line ended). Prints "ok NAME" or "FAIL NAME" per
message; the exit status is the number of failures (at most 100).
"""
import re
import sys

import dkim


def wire(raw):
    text = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return text if text.endswith(b"\r\n") else text + b"\r\n"


def main():
    keys = {}
    for line in open(sys.argv[1], "rb"):
        name, record = line.strip().split(b" ", 1)
        keys[name.lower() + b"."] = record
    failed = 0
    for name in sys.argv[2:]:
        msg = wire(open(name, "rb").read())
        try:
            ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: keys.get(name.lower()))
        except dkim.DKIMException:
            ok = False
        print(("ok " if ok else "FAIL ") + name)
        failed += 0 if ok else 1
    sys.exit(min(failed, 100))


main()
