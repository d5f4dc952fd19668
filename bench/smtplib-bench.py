#!/usr/bin/python3
"""smtplib-bench: the same load through Python's smtplib, one connection.

    smtplib-bench.py --port P [--host H] [-n N] [-r R] (--msg FILE | --file BIG)

sendmail() once per message on one SMTP object (smtplib speaks lock-step:
no PIPELINING, no CHUNKING). --file reads the whole message into memory, as
smtplib needs it. Prints "elapsed <seconds> msgs <N>" (connect to QUIT).
"""
import argparse
import smtplib
import sys
import time


def runq_wait():
    """Seconds this process has waited on a run queue (/proc/self/schedstat)."""
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", type=int, default=1)
    p.add_argument("-r", type=int, default=1)
    p.add_argument("--msg")
    p.add_argument("--file")
    a = p.parse_args()
    path = a.file or a.msg
    if not path:
        p.error("--msg or --file")
    rcpts = ["rcpt%d@example.test" % (i + 1) for i in range(a.r)]
    n = 1 if a.file else a.n
    q0 = runq_wait()
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        msg = f.read()
    s = smtplib.SMTP(a.host, a.port, local_hostname="client.example.test")
    for _ in range(n):
        refused = s.sendmail("bench@example.test", rcpts, msg)
        if refused:
            sys.exit("smtplib-bench: refused %r" % (refused,))
    s.quit()
    t1 = time.perf_counter()
    q1 = runq_wait()
    print("elapsed %.6f msgs %d runq %.6f" % (t1 - t0, n, q1 - q0))


if __name__ == "__main__":
    main()
