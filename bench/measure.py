#!/usr/bin/python3
"""bench/measure.py - the measurements of bench/run (see bench/README.md).

Called by bench/run once everything is built; not meant to be run alone
(but it can be: bench/measure.py --help). Starts its own servers on
loopback (smtpc-sink, Postfix smtp-sink, the delaying relay), kills them by
PID on exit, runs every client pinned to CPU 1 with the servers on CPU 0,
and writes bench/results/<date>.md and .png (+ latest.md/.png).
"""
import argparse
import datetime
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"  # Debian's python3 and its smtplib, whatever PATH says
SERVER_CPU = "0"
CLIENT_CPU = "1"
FROM = "bench@example.test"

SERVERS = []  # Popen objects of what we started; killed by PID at exit


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- servers

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(cmd, tmp, name, port_file=None, port=None):
    logf = open(os.path.join(tmp, name + ".log"), "wb")
    p = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=logf, stderr=logf,
                         stdin=subprocess.DEVNULL)
    SERVERS.append(p)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit("bench: %s exited at start (see %s.log): %s" % (name, name, " ".join(cmd)))
        if port_file and os.path.exists(port_file):
            with open(port_file) as f:
                txt = f.read().strip()
            if txt:
                return p, int(txt)
        if port:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                pass
        time.sleep(0.02)
    sys.exit("bench: %s did not start" % name)


def stop_servers():
    for p in SERVERS:
        if p.poll() is None:
            p.terminate()
    for p in SERVERS:
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    SERVERS.clear()


def proc_runq(pid):
    """Time a process has waited on a run queue, in seconds (None if unknown)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def proc_cpu(pid):
    """utime + stime of a process, in seconds (None if unknown)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# ---------------------------------------------------------------- clients

class Env:
    def __init__(self, a, tmp):
        self.bin = a.bench_bin
        self.sink_bin = a.sink
        self.tmp = tmp
        self.msg = os.path.join(tmp, "msg.eml")
        self.msg_lf = os.path.join(tmp, "msg-lf.eml")
        self.big = os.path.join(tmp, "big.eml")


# Each client: label -> (builder, pipelined?, servers it applies to).
# builder(env, port, n, rcpts, big) -> argv (without taskset).
def smtpc_cmd(*extra):
    def build(env, port, n, r, big=False):
        cmd = [os.path.join(env.bin, "smtpc-bench"), "--port", str(port), "-r", str(r)]
        if big:
            return cmd + ["--file", env.big] + list(extra)
        return cmd + ["-n", str(n), "--msg", env.msg] + list(extra)
    return build


def simple_cmd(prog):
    def build(env, port, n, r, big=False):
        if prog.endswith(".py"):
            cmd = [PY, os.path.join(HERE, prog)]
        else:
            cmd = [os.path.join(env.bin, prog)]
        cmd += ["--port", str(port), "-r", str(r)]
        return cmd + (["--file", env.big] if big else ["-n", str(n), "--msg", env.msg])
    return build


def smtp_source_cmd(env, port, n, r, big=False):
    # -d: one connection for all messages; -s 1: one session; -F: our message,
    # LF line endings (smtp-source appends CRLF to every line it reads).
    return ["smtp-source", "-d", "-s", "1", "-m", str(n), "-r", str(r), "-F", env.msg_lf,
            "-f", FROM, "-t", "rcpt@example.test", "-M", "client.example.test",
            "127.0.0.1:%d" % port]


BOTH = ("smtp-sink", "smtpc-sink")
ONLY_SMTPC = ("smtpc-sink",)
# label, builder, fast (pipelined: more messages per run), sinks
CLIENTS = [
    ("smtpc batch", smtpc_cmd("--mode", "batch"), True, BOTH),
    ("smtpc batch, DATA", smtpc_cmd("--mode", "batch", "--no-chunking"), True, ONLY_SMTPC),
    ("smtpc sendmail loop", smtpc_cmd("--mode", "loop"), True, BOTH),
    ("smtpc sendmail loop, DATA", smtpc_cmd("--mode", "loop", "--no-chunking"), True, ONLY_SMTPC),
    ("smtpc lock-step", smtpc_cmd("--mode", "loop", "--no-pipelining", "--no-chunking"), False,
     BOTH),
    ("smtpc lock-step, BDAT", smtpc_cmd("--mode", "loop", "--no-pipelining"), False, ONLY_SMTPC),
    ("smtp-source", smtp_source_cmd, False, BOTH),
    ("libESMTP", simple_cmd("esmtp-bench"), True, BOTH),
    ("libcurl", simple_cmd("curl-bench"), False, BOTH),
    ("smtplib", simple_cmd("smtplib-bench.py"), False, BOTH),
]
CLIENT = {c[0]: c for c in CLIENTS}
REF = "smtpc batch"
PY_CPU_REPS = 3
CPU10_CLIENTS = ("smtpc batch", "libESMTP")  # also measured with 10 recipients
CPU_CLIENTS = ["smtpc batch", "smtpc sendmail loop", "smtpc lock-step", "smtp-source", "libESMTP",
               "libcurl", "smtplib"]


def run(cmd, prefix=(), inner=(), timeout=900, sink_pid=None, sample=False):
    """Runs one client pinned to CLIENT_CPU: prefix + taskset + inner + cmd
    (valgrind and strace go inside taskset, as they do not follow its exec;
    /usr/bin/time outside). Returns a dict: elapsed (the client's own, or
    the wall time when it prints none), wall, cpu (user+sys of the client),
    sink_cpu, stderr, anon_peak (KiB, when sample)."""
    full = list(prefix) + ["taskset", "-c", CLIENT_CPU] + list(inner) + list(cmd)
    out_path = os.path.join(TMP, "client.out")
    err_path = os.path.join(TMP, "client.err")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = proc_cpu(sink_pid) if sink_pid else None
    w0 = proc_runq(sink_pid) if sink_pid else None
    anon_peak = 0
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        if sample:
            child = None
            while p.poll() is None:
                if child is None:
                    try:
                        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                            kids = f.read().split()
                        child = int(kids[0]) if kids else None
                    except OSError:
                        pass
                if child is not None:
                    try:
                        with open("/proc/%d/status" % child) as f:
                            for line in f:
                                if line.startswith("RssAnon:"):
                                    anon_peak = max(anon_peak, int(line.split()[1]))
                    except OSError:
                        pass
                time.sleep(0.002)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise RuntimeError("timeout: " + " ".join(full))
        wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = proc_cpu(sink_pid) if sink_pid else None
    w1 = proc_runq(sink_pid) if sink_pid else None
    with open(out_path, "rb") as f:
        out = f.read().decode(errors="replace")
    with open(err_path, "rb") as f:
        err = f.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("client failed (%d): %s\n%s%s" % (p.returncode, " ".join(full), out,
                                                             err[-2000:]))
    m = re.search(r"elapsed ([0-9.]+)", out)
    q = re.search(r"runq ([0-9.]+)", out)
    return {
        "runq": float(q.group(1)) if q else None,
        "sink_runq": (w1 - w0) if (w0 is not None and w1 is not None) else None,
        "elapsed": float(m.group(1)) if m else wall,
        "wall": wall,
        "cpu": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "sink_cpu": (s1 - s0) if (s0 is not None and s1 is not None) else None,
        "stderr": err,
        "anon_peak": anon_peak,
    }


# ---------------------------------------------------------------- statistics

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=0, pct=False):
    if x is None:
        return "–"
    if pct:
        return "%.0f%%" % (100 * x)
    if digits == 0:
        return "{:,.0f}".format(x)
    return "{:,.{}f}".format(x, digits)


def mrange(xs, digits=0):
    """'median (min..max)'."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return "%s (%s..%s)" % (fmt(med(xs), digits), fmt(min(xs), digits), fmt(max(xs), digits))


# ---------------------------------------------------------------- measurements

def measure_throughput(env, sinks, reps, seconds, calib):
    """1. msgs/s. Each client's message count is set from a short calibration
    run so that one run lasts about `seconds` (the machine is shared: a fixed
    count would make the slow clients' runs last minutes when it is busy).
    results[sink][rcpts][client] = list of per-rep dicts."""
    res = {s: {r: {} for r in (1, 10)} for s in sinks}
    counts = {}
    for sink, (port, pid) in sinks.items():
        for r in (1, 10):
            for label, build, fast, sk in CLIENTS:
                if sink not in sk:
                    continue
                n = calib[(r, fast)]
                x = run(build(env, port, n, r))
                counts[(sink, r, label)] = max(n, int(n / x["elapsed"] * seconds))
    rng = random.Random(5321)
    for rep in range(reps):
        for sink, (port, pid) in sinks.items():
            for r in (1, 10):
                order = [c for c in CLIENTS if sink in c[3]]
                rng.shuffle(order)
                for label, build, fast, _ in order:
                    n = counts[(sink, r, label)]
                    x = run(build(env, port, n, r), sink_pid=pid)
                    x["rate"] = n / x["elapsed"]
                    x["n"] = n
                    res[sink][r].setdefault(label, []).append(x)
                line = ", ".join("%s %.0f" % (c, res[sink][r][c][-1]["rate"])
                                 for c in sorted(res[sink][r]))
                log("  rep %d %s %d rcpt: %s" % (rep + 1, sink, r, line))
    return res, counts


def measure_rtt(env, sink_port, relay_port, reps, counts):
    """2. round trips per message through the relay."""
    n1, n2 = counts
    noop = lambda port, n: [os.path.join(env.bin, "smtpc-bench"), "--port", str(port),
                             "--mode", "noop", "-n", str(n)]
    rtts = []
    res = {r: {} for r in (1, 10)}
    def slope(builder, port, r=1, k=1):
        """ms/msg as the slope between k*n1 and k*n2 messages."""
        a = run(builder(port, k * n1, r))["elapsed"]
        b = run(builder(port, k * n2, r))["elapsed"]
        return (b - a) / (k * (n2 - n1))

    for rep in range(reps):
        nb = lambda port, n, r: noop(port, n)
        # NOOPs are cheap: four times as many, for a steadier RTT
        rtt = slope(nb, relay_port, k=4) - slope(nb, sink_port, k=4)
        rtts.append(rtt)
        for r in (1, 10):
            for label, build, _, _ in CLIENTS:
                b = lambda port, n, rr, build=build: build(env, port, n, rr)
                d = slope(b, relay_port, r) - slope(b, sink_port, r)
                res[r].setdefault(label, []).append(d / rtt)
        log("  rep %d: RTT %.2f ms; 1 rcpt: %s" % (rep + 1, rtt * 1000, ", ".join(
            "%s %.2f" % (c, v[-1]) for c, v in res[1].items())))
    return rtts, res


def callgrind_instr(cmd):
    x = run(cmd, inner=["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"])
    m = re.search(r"Collected : (\d+)", x["stderr"])
    if not m:
        raise RuntimeError("no callgrind total: " + x["stderr"][-500:])
    return int(m.group(1))


def strace_calls(cmd):
    out = os.path.join(TMP, "strace.txt")
    run(cmd, inner=["strace", "-f", "-c", "-o", out])
    calls = {}
    with open(out) as f:
        for line in f:
            fl = line.split()
            if (len(fl) >= 5 and re.match(r"^[0-9.]+$", fl[0]) and fl[3].isdigit()
                    and fl[-1] != "total"):
                calls[fl[-1]] = int(fl[3])
    return calls


def measure_cpu(env, port, reps, counts, py_counts):
    """3 and 4: marginal instructions and syscalls per message (1 rcpt)."""
    instr = {}
    sysc = {}
    for rep in range(reps):
        for label in CPU_CLIENTS:
            if label == "smtplib" and rep >= PY_CPU_REPS:
                continue  # python under callgrind takes ~12 s a run: 3 repetitions
            build = CLIENT[label][1]
            n1, n2 = py_counts if label == "smtplib" else counts
            i1 = callgrind_instr(build(env, port, n1, 1))
            i2 = callgrind_instr(build(env, port, n2, 1))
            instr.setdefault(label, []).append((i2 - i1) / (n2 - n1))
            n1, n2 = counts
            c1 = strace_calls(build(env, port, n1, 1))
            c2 = strace_calls(build(env, port, n2, 1))
            per = {k: (c2.get(k, 0) - c1.get(k, 0)) / (n2 - n1) for k in set(c1) | set(c2)}
            sysc.setdefault(label, []).append(per)
            if label in CPU10_CLIENTS:
                n1, n2 = counts
                i1 = callgrind_instr(build(env, port, n1, 10))
                i2 = callgrind_instr(build(env, port, n2, 10))
                instr.setdefault(label + "@10", []).append((i2 - i1) / (n2 - n1))
        log("  rep %d: instr/msg %s" % (rep + 1, ", ".join(
            "%s %.0f" % (c, v[-1]) for c, v in instr.items() if len(v) == rep + 1)))
    return instr, sysc


BIG_CLIENTS = [
    ("smtpc BDAT (fd source)", smtpc_cmd()),
    ("smtpc DATA (fd source)", smtpc_cmd("--no-chunking")),
    ("libcurl (read callback)", simple_cmd("curl-bench")),
    ("libESMTP (callback)", simple_cmd("esmtp-bench")),
    ("smtplib (in memory)", simple_cmd("smtplib-bench.py")),
]


def measure_big(env, port, pid, reps):
    size = os.path.getsize(env.big)
    res = {}
    for rep in range(reps):
        for label, build in BIG_CLIENTS:
            x = run(build(env, port, 1, 1, big=True), prefix=["/usr/bin/time", "-v"],
                    sink_pid=pid, sample=True)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", x["stderr"])
            x["rss"] = int(m.group(1)) if m else None
            x["mbs"] = size / 2**20 / x["elapsed"]
            res.setdefault(label, []).append(x)
        log("  rep %d: %s" % (rep + 1, ", ".join("%s %.0f MB/s %s KiB" % (
            c, v[-1]["mbs"], v[-1]["rss"]) for c, v in res.items())))
    # the same smtpc client sending nothing: connect, EHLO, QUIT
    base = run([os.path.join(env.bin, "smtpc-bench"), "--port", str(port), "--mode", "noop",
                "-n", "0"], prefix=["/usr/bin/time", "-v"], sample=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", base["stderr"])
    base["rss"] = int(m.group(1)) if m else None
    return size, res, base


def measure_encoder(env, reps):
    x = run([os.path.join(env.bin, "encoder-bench"), "--mb", "16", "--reps", str(reps)])
    with open(os.path.join(TMP, "client.out")) as f:
        out = f.read()
    res = {}
    for line in out.splitlines():
        fl = line.split()
        res[(fl[0], fl[1])] = (float(fl[2]), float(fl[3]), float(fl[4]), float(fl[6]))
    return res


# ---------------------------------------------------------------- inputs

def make_inputs(env, big_mib):
    lines = [
        "From: Bench Sender <bench@example.test>",
        "To: Bench Recipient <rcpt1@example.test>",
        "Subject: smtpc benchmark message",
        "Date: Sun, 29 Nov 2026 07:00:00 +0000",
        "Message-ID: <bench.0001@example.test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
    ]
    words = ("the quick brown fox jumps over the lazy dog while the mail server queues "
             "every message for delivery to its recipients").split()
    i = 0
    while sum(len(x) + 2 for x in lines) < 1300 - 80:
        line = ""
        while True:
            w = words[i % len(words)]
            i += 1
            if len(line) + len(w) + 1 > 72:
                break
            line = (line + " " + w) if line else w
        lines.append(line)
    with open(env.msg, "wb") as f:
        f.write("".join(x + "\r\n" for x in lines).encode())
    with open(env.msg_lf, "wb") as f:
        f.write("".join(x + "\n" for x in lines).encode())

    hdr = (b"From: Bench Sender <bench@example.test>\r\nTo: <rcpt1@example.test>\r\n"
           b"Subject: one big message\r\nMessage-ID: <big.1@example.test>\r\n\r\n")
    rng = random.Random(1)
    block = []
    for _ in range(4000):
        line = b""
        while True:
            w = words[rng.randrange(len(words))].encode()
            if len(line) + len(w) + 1 > 78:
                break
            line = line + b" " + w if line else w
        block.append(line.ljust(78, b".") + b"\r\n")
    block = b"".join(block)
    size = big_mib * 2**20
    with open(env.big, "wb") as f:
        f.write(hdr)
        n = len(hdr)
        while n < size:
            chunk = block[:size - n]
            f.write(chunk)
            n += len(chunk)
    return os.path.getsize(env.msg)


# ---------------------------------------------------------------- report

def cmd_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def write_dat(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join(('"%s"' % c) if isinstance(c, str) else repr(c) for c in row) + "\n")


def report(a, env, msg_size, started, load0, thr, rtt, cpu, big, enc):
    L = []
    add = L.append
    now = datetime.datetime.now(datetime.timezone.utc)
    commit = cmd_out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = cmd_out(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include"])
    add("# smtpc benchmark, %s%s" % (now.strftime("%Y-%m-%d %H:%M UTC"),
                                    " (quick run: fewer messages and repetitions)" if a.quick
                                    else ""))
    add("")
    add("Machine: %s, %d CPUs, Linux %s; load average %s at the start, %s at the end "
        "(a shared machine: compare the ratios, measured side by side, not absolute figures "
        "across runs). smtpc %s%s, built Release. libcurl %s, libESMTP %s, Python %s, "
        "Postfix %s. Run time %.0f s." % (
            cpu_model(), os.cpu_count(), platform.release(), load0,
            "%.2f %.2f %.2f" % os.getloadavg(), commit,
            " with uncommitted changes in src/ or include/" if dirty else "",
            cmd_out(["curl-config", "--version"]).replace("libcurl ", ""),
            pkg_version("libesmtp6"), platform.python_version() if sys.executable == PY
            else cmd_out([PY, "-c", "import platform;print(platform.python_version())"]),
            pkg_version("postfix"), time.monotonic() - started))
    add("")
    add("Method: servers pinned to CPU 0 and clients to CPU 1 (`taskset`); each figure is the "
        "median of %d repetitions with min..max; ratios are computed within each repetition "
        "(same minute, same load) and then their median is taken. Message: %d bytes "
        "(headers + text, CRLF). Commands: see bench/README.md." % (a.reps, msg_size))
    add("")

    targets = []  # (text, measured, ok)

    # ---------------- 1
    thr, counts = thr
    add("## 1. Small messages, one connection: msgs/s")
    add("")
    add("Each run lasts about %.1f s: every client's message count comes from a short "
        "calibration run (here %s to %s messages a run). msgs/s from the client's own clock, "
        "connect to QUIT (smtp-source prints none: wall time of the process). Client CPU: "
        "user + system time of the whole process (Python's start-up included) per message; "
        "sink CPU busy: the sink's CPU time over the run's duration (100%% = the sink is "
        "the bottleneck); waiting for a CPU: time spent runnable on a run queue while other "
        "work ran on that CPU (/proc/PID/schedstat) over the run's duration: the share of the "
        "run that the shared machine took away." % (a.seconds, fmt(min(counts.values())), fmt(max(counts.values()))))
    add("")
    sink_desc = {"smtp-sink": "Postfix `smtp-sink` (PIPELINING; it offers no CHUNKING, so "
                              "every client uses DATA)",
                 "smtpc-sink": "the bundled `smtpc-sink` (PIPELINING and CHUNKING)"}
    for sink in thr:
        add("### against %s" % sink_desc[sink])
        add("")
        add("| client | msgs/s 1 rcpt | msgs/s 10 rcpts | smtpc batch ÷ client, 1 rcpt | "
            "10 rcpts | client CPU µs/msg (1 / 10) | sink CPU busy (1 / 10) | "
            "client / sink waiting for a CPU (1 rcpt) |")
        add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, _, _, sinks in CLIENTS:
            if sink not in sinks:
                continue
            cells = [label]
            for r in (1, 10):
                cells.append(mrange([x["rate"] for x in thr[sink][r][label]]))
            for r in (1, 10):
                ref = thr[sink][r][REF]
                ratios = [ref[i]["rate"] / x["rate"] for i, x in enumerate(thr[sink][r][label])]
                cells.append(mrange(ratios, 2) if label != REF else "1")
            cells.append(" / ".join(fmt(med([x["cpu"] / x["n"] * 1e6 for x in thr[sink][r][label]]))
                                    for r in (1, 10)))
            cells.append(" / ".join(fmt(med([x["sink_cpu"] / x["elapsed"]
                                             if x["sink_cpu"] is not None else None
                                             for x in thr[sink][r][label]]), pct=True)
                                    for r in (1, 10)))
            xs = thr[sink][1][label]
            cells.append("%s / %s" % (
                fmt(med([x["runq"] / x["elapsed"] if x["runq"] is not None else None
                         for x in xs]), pct=True),
                fmt(med([x["sink_runq"] / x["elapsed"] if x["sink_runq"] is not None else None
                         for x in xs]), pct=True)))
            add("| " + " | ".join(cells) + " |")
        add("")
        for other, need, r in (("smtp-source", 2.5, 1), ("libESMTP", 2.0, 1), ("smtplib", 3.0, 1),
                               ("libcurl", 3.0, 1), ("libESMTP", 3.0, 10)):
            ref = thr[sink][r][REF]
            ratios = [ref[i]["rate"] / x["rate"] for i, x in enumerate(thr[sink][r][other])]
            m = med(ratios)
            targets.append(("%d rcpt%s, %s: smtpc msgs/s ≥ %.1f× %s" % (
                r, "s" if r > 1 else "", sink, need, other), "%.2f× (%s..%s)" % (
                m, fmt(min(ratios), 2), fmt(max(ratios), 2)), m >= need))

    # ---------------- 2
    rtts, rt = rtt
    add("## 2. Round trips per message")
    add("")
    add("Through `bench/relay` (5 ms each way) in front of smtpc-sink; measured RTT %s ms "
        "(lock-step NOOPs through the relay minus direct). Round trips/msg = (ms/msg through "
        "the relay − ms/msg direct) / RTT, each ms/msg the slope between %d and %d messages "
        "(connection set-up cancels out)." % (mrange([x * 1000 for x in rtts], 2),
                                             a.rtt_counts[0], a.rtt_counts[1]))
    add("")
    add("| client | round trips/msg 1 rcpt | 10 rcpts |")
    add("| --- | ---: | ---: |")
    for label, _, _, _ in CLIENTS:
        add("| %s | %s | %s |" % (label, mrange(rt[1][label], 2), mrange(rt[10][label], 2)))
    add("")
    for label in ("smtpc batch", "smtpc batch, DATA"):
        for r in (1, 10):
            m = med(rt[r][label])
            targets.append(("round trips/msg ≤ 1.1 with PIPELINING: %s, %d rcpt%s" % (
                label, r, "s" if r > 1 else ""), "%.2f" % m, m <= 1.1))

    # ---------------- 3 + 4
    instr, sysc = cpu
    add("## 3–4. CPU per message (1 rcpt, smtpc-sink): instructions and system calls")
    add("")
    add("Marginal: (count at %d messages − count at %d) / %d; instructions with "
        "`valgrind --tool=callgrind` (the client only, user space, libraries included; "
        "smtplib at %d and %d messages), system calls with `strace -f -c`." % (
            a.cpu_counts[1], a.cpu_counts[0], a.cpu_counts[1] - a.cpu_counts[0],
            a.py_counts[0], a.py_counts[1]))
    add("")
    add("| client | instructions/msg | with 10 rcpts | system calls/msg | the main ones |")
    add("| --- | ---: | ---: | ---: | --- |")
    for label in CPU_CLIENTS:
        tot = [sum(v for v in d.values()) for d in sysc[label]]
        names = sorted(set(k for d in sysc[label] for k in d))
        permed = {k: med([d.get(k, 0) for d in sysc[label]]) for k in names}
        top = sorted(((v, k) for k, v in permed.items() if v >= 0.05), reverse=True)[:5]
        add("| %s | %s | %s | %s | %s |" % (label, mrange(instr[label]),
                                            mrange(instr.get(label + "@10", [])), mrange(tot, 1),
                                            ", ".join("%s %.1f" % (k, v) for v, k in top)))
    add("")
    for label in ("smtpc batch", "smtpc lock-step"):
        m = med(instr[label])
        targets.append(("instructions/msg ≤ 25,000: %s" % label, fmt(m), m <= 25000))

    # ---------------- 5
    size, bres, base = big
    add("## 5. One %d MiB message to smtpc-sink `--size 0`" % (size // 2**20))
    add("")
    add("MB = MiB. Peak RSS from `/usr/bin/time -v` (\"Maximum resident set size\": it "
        "counts the pages of shared libraries that the process touched); peak anonymous RSS "
        "sampled every 2 ms from /proc (the client's own memory). The smtpc client that sends "
        "nothing (connect, EHLO, QUIT) peaks at %s KiB RSS, %s KiB anonymous." % (
            fmt(base["rss"]), fmt(base["anon_peak"])))
    add("")
    add("| client | MB/s | ÷ libcurl | peak RSS KiB | peak anon RSS KiB | sink CPU busy |")
    add("| --- | ---: | ---: | ---: | ---: | ---: |")
    curl = bres["libcurl (read callback)"]
    for label, _ in BIG_CLIENTS:
        xs = bres[label]
        ratios = [x["mbs"] / curl[i]["mbs"] for i, x in enumerate(xs)]
        add("| %s | %s | %s | %s | %s | %s |" % (
            label, mrange([x["mbs"] for x in xs]), mrange(ratios, 2),
            mrange([x["rss"] for x in xs]), mrange([x["anon_peak"] for x in xs]),
            fmt(med([x["sink_cpu"] / x["elapsed"] if x["sink_cpu"] is not None else None
                     for x in xs]), pct=True)))
    add("")
    for label in ("smtpc BDAT (fd source)", "smtpc DATA (fd source)"):
        xs = bres[label]
        ratios = [x["mbs"] / curl[i]["mbs"] for i, x in enumerate(xs)]
        m = med(ratios)
        rss = med([x["rss"] for x in xs])
        targets.append(("100 MB: %s ≥ 1.1× libcurl MB/s" % label, "%.2f×" % m, m >= 1.1))
        targets.append(("100 MB: %s peak RSS ≤ 4 MB (4,096 KiB)" % label,
                        "%s KiB (anonymous %s KiB)" % (fmt(rss), fmt(med(
                            [x["anon_peak"] for x in xs]))), rss <= 4096))

    # ---------------- 6
    add("## 6. Encoder micro-benchmark (`smtpc__dataenc_update`)")
    add("")
    add("16 MiB of 78-character text lines (one in 200 starting with a dot) fed in 64 KiB "
        "chunks; GB/s = 10^9 input bytes per second of the thread's CPU time "
        "(CLOCK_THREAD_CPUTIME_ID, so that time spent waiting for the shared CPU is not "
        "counted); median (min..max) of %d passes, pinned to CPU 1; the wall-clock median "
        "after it." % a.enc_reps)
    add("")
    add("| input | DATA (dot-stuffing) GB/s | wall clock | BDAT (line endings only) GB/s | "
        "wall clock |")
    add("| --- | ---: | ---: | ---: | ---: |")
    for eol in ("crlf", "lf"):
        cells = []
        for mode in ("data", "bdat"):
            v = enc[(eol, mode)]
            cells.append("%.2f (%.2f..%.2f) | %.2f" % v)
        add("| %s lines | %s | %s |" % (eol.upper(), cells[0], cells[1]))
    add("")
    for eol in ("crlf", "lf"):
        v = enc[(eol, "data")][0]
        targets.append(("encoder ≥ 2 GB/s, %s lines" % eol.upper(), "%.2f GB/s" % v, v >= 2.0))

    T = ["## Targets (issue 5)", "",
         "| target | measured (median, min..max of the per-repetition ratios) | met? |",
         "| --- | --- | :---: |"]
    for text, val, ok in targets:
        T.append("| %s | %s | %s |" % (text, val, "yes" if ok else "**no**"))
    T.append("")
    head = L[:6]
    md = "\n".join(head + T + L[6:]) + "\n"

    # ---------------- data for the chart
    dat = os.path.join(TMP, "plot")
    os.makedirs(dat, exist_ok=True)
    for sink in thr:
        rows = []
        for label, _, _, sinks in CLIENTS:
            if sink in sinks:
                rows.append([label] + [med([x["rate"] for x in thr[sink][r][label]])
                                       for r in (1, 10)])
        write_dat(os.path.join(dat, sink + ".dat"), rows)
    write_dat(os.path.join(dat, "rtt.dat"),
              [[label, med(rt[1][label]), med(rt[10][label])] for label, _, _, _ in CLIENTS])
    write_dat(os.path.join(dat, "cpu.dat"),
              [[label, med(instr[label]), med([sum(d.values()) for d in sysc[label]])]
               for label in CPU_CLIENTS])
    write_dat(os.path.join(dat, "big.dat"),
              [[label, med([x["mbs"] for x in bres[label]]),
                med([x["rss"] for x in bres[label]]) / 1024] for label, _ in BIG_CLIENTS])
    return md, dat, now


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def pkg_version(name):
    return cmd_out(["dpkg-query", "-W", "-f", "${Version}", name]) or "?"


# ---------------------------------------------------------------- main

def main():
    global TMP
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer messages and repetitions")
    ap.add_argument("--bench-bin", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--sink", default=os.path.join(ROOT, "build", "smtpc-sink"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--only", default="msgs,rtt,cpu,big,enc",
                    help="comma-separated sections to run (others are skipped: report "
                         "needs all, so only for trying)")
    a = ap.parse_args()
    q = a.quick
    a.reps = 3 if q else 5
    # calibration counts (also the minimum counts), seconds per run
    calib = {(1, True): 300, (1, False): 100, (10, True): 100, (10, False): 30}
    a.seconds = 0.3 if q else 1.0
    a.rtt_counts = (3, 13) if q else (5, 25)
    a.cpu_counts = (100, 300)
    a.py_counts = (100, 300)
    a.cpu_reps = 1 if q else 5
    a.big_mib = 100
    a.enc_reps = 11 if q else 31
    only = set(a.only.split(","))

    TMP = tempfile.mkdtemp(prefix="smtpc-bench.")
    env = Env(a, TMP)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    try:
        msg_size = make_inputs(env, a.big_mib)
        pf = os.path.join(TMP, "sink.port")
        sink, sink_port = start_server([a.sink, "--quiet", "--size", "0", "--timeout", "0",
                                        "--listen", "127.0.0.1:0", "--port-file", pf],
                                       TMP, "smtpc-sink", port_file=pf)
        pport = free_port()
        psink, _ = start_server(["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % pport, "1000"],
                                TMP, "smtp-sink", port=pport)
        rf = os.path.join(TMP, "relay.port")
        # The relay plays the network: real-time priority (chrt -f), so that its
        # wake-ups are not delayed by whatever else the shared machine runs.
        _, relay_port = start_server(["chrt", "-f", "10", os.path.join(a.bench_bin, "relay"),
                                      "--to-port",
                                      str(sink_port), "--delay-us", "5000", "--port-file", rf],
                                     TMP, "relay", port_file=rf)
        sinks = {"smtp-sink": (pport, psink.pid), "smtpc-sink": (sink_port, sink.pid)}

        thr = rtt = cpu = big = enc = None
        if "enc" in only:
            log("6. encoder micro-benchmark")
            enc = measure_encoder(env, a.enc_reps)
        if "msgs" in only:
            log("1. msgs/s, %d repetitions" % a.reps)
            thr = measure_throughput(env, sinks, a.reps, a.seconds, calib)
        if "rtt" in only:
            log("2. round trips per message")
            rtt = measure_rtt(env, sink_port, relay_port, a.reps, a.rtt_counts)
        if "cpu" in only:
            log("3-4. instructions and system calls per message")
            cpu = measure_cpu(env, sink_port, a.cpu_reps, a.cpu_counts, a.py_counts)
        if "big" in only:
            log("5. one %d MiB message" % a.big_mib)
            big = measure_big(env, sink_port, sink.pid, a.reps)
        stop_servers()
        if None in (thr, rtt, cpu, big, enc):
            log("bench: --only given: no report written")
            return 0
        md, dat, now = report(a, env, msg_size, started, load0, thr, rtt, cpu, big, enc)
        os.makedirs(a.results, exist_ok=True)
        stem = now.strftime("%Y-%m-%d") + ("-quick" if q else "")
        md_path = os.path.join(a.results, stem + ".md")
        png_path = os.path.join(a.results, stem + ".png")
        with open(md_path, "w") as f:
            f.write(md + "\n![chart](%s.png)\n" % stem)
        subprocess.run(["gnuplot", "-e", "dir='%s'; out='%s'; title='smtpc benchmark %s%s'" % (
            dat, png_path, now.strftime("%Y-%m-%d %H:%M UTC"), " (quick)" if q else ""),
            os.path.join(HERE, "plot.gp")], check=True)
        if not q:
            with open(os.path.join(a.results, "latest.md"), "w") as f:
                f.write(md + "\n![chart](latest.png)\n")
            shutil.copyfile(png_path, os.path.join(a.results, "latest.png"))
        print(md)
        log("bench: wrote %s and %s%s" % (md_path, png_path,
                                         "" if q else " (and latest.md/.png)"))
        return 0
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        stop_servers()
        shutil.rmtree(TMP, ignore_errors=True)


TMP = None
if __name__ == "__main__":
    sys.exit(main())
