# shellcheck shell=bash
# shellcheck disable=SC2034  # IT_* results are read by the scripts sourcing this
# tests/interop/lib.sh - shared helpers for the interop tests (sourced, not run).
#
# Every script: sources this file, calls it_init NAME, checks its
# prerequisites (it_need_*), starts its servers with it_spawn/it_track,
# waits for them (it_wait_listen/it_wait_socket), runs cases between
# it_case and it_case_end, and ends with it_finish.
#
# Rules kept here for every script:
#  - state lives in a private mktemp -d folder under ${TMPDIR:-/tmp}, removed
#    on success (and on skip), kept and named on failure;
#  - servers are only ever started by us, on loopback, and stopped by the PID
#    we recorded (checked against its command line first), on every exit path
#    (EXIT trap; INT/TERM/HUP are turned into an exit);
#  - every wait has a deadline.
#
# Environment: SMTPC (path of the smtpc program, set by CTest), CI ("true":
# a missing server is a failure, not a skip), IT_KEEP=1 (keep the state
# folder even on success), IT_TIMEOUT (seconds before one smtpc run is killed,
# default 20; smtpc itself gets --timeout 10 per step).

IT_PY=/usr/bin/python3   # Debian's python (python3-aiosmtpd), not whatever is on PATH
IT_NAME=''
IT_DIR=''
IT_FAILED=0              # number of failed cases
IT_PASSED=0
IT_SKIPPED=0
IT_CASE_NAME=''
IT_CASE_ERRS=()
IT_CASE_TRANSCRIPTS=()   # smtpc stderr files of the current case
IT_LOGS=()               # server log files, tail printed when a case fails
IT_PROCS=()              # "name pid match" of every server we started
IT_START_NS=0
IT_RC=0                  # exit status of the last it_smtpc
IT_OUT=''                # its stdout file
IT_ERR=''                # its stderr file (the --debug transcript)
IT_SEQ=0
IT_CLIENT_PID=''         # the running smtpc (its timeout(1) wrapper)
IT_HUNG=0                # smtpc was killed once: later runs are not attempted
IT_NOTHING_YET=0         # failed before anything worth keeping was made
IT_MAIL_WAIT=15          # seconds to wait for a delivery; 3 after one wait failed

it_log() { printf '# %s\n' "$*"; }

# ------------------------------------------------------------------ set-up
it_init() {
    IT_NAME=$1
    IT_START_NS=$(date +%s%N)
    local base=${TMPDIR:-/tmp}
    # Short path: Unix socket paths below it (Dovecot's go ~45 bytes deep)
    # must stay under 108 bytes, and Postfix/Dovecot/nobody must be able to
    # traverse every parent (o+x).
    case $base in /*) ;; *) base=/tmp ;; esac
    if ((${#base} > 50)); then
        it_log "TMPDIR ($base) is too long for Unix socket paths: using /tmp"
        base=/tmp
    fi
    IT_DIR=$(mktemp -d "${base%/}/smtpc-it.XXXXXX") || { echo "not ok - $IT_NAME: mktemp -d failed"; exit 1; }
    chmod 755 "$IT_DIR"
    trap it__on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    mkdir -p "$IT_DIR/log" "$IT_DIR/pids"
    chmod 755 "$IT_DIR/log"
    local p=$IT_DIR
    while [ "$p" != / ]; do
        if [ -z "$(find "$p" -maxdepth 0 -perm -o+x 2>/dev/null)" ]; then
            it_prereq "$p is not searchable by other users (the servers' users need it); set TMPDIR elsewhere"
        fi
        p=$(dirname "$p")
    done
    it_log "$IT_NAME: state in $IT_DIR"
}

it__on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$IT_CLIENT_PID" ] && it_pid_is "$IT_CLIENT_PID" timeout; then
        kill -TERM "$IT_CLIENT_PID" 2> /dev/null
    fi
    it_stop_all
    if [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ]; then
        if { [ "$rc" = 0 ] || [ "$rc" = 77 ] || ((IT_NOTHING_YET)); } && [ "${IT_KEEP:-0}" != 1 ]; then
            # A server's last child may still be closing a log file: retry once.
            rm -rf -- "$IT_DIR" 2> /dev/null || { sleep 0.5; rm -rf -- "$IT_DIR"; }
        else
            it_log "state kept for inspection: $IT_DIR"
        fi
    fi
    exit "$rc"
}

# it_prereq REASON: a server or tool is missing. Skip (77), or fail when CI=true.
it_prereq() {
    IT_NOTHING_YET=1
    if [ "${CI:-}" = true ]; then
        echo "not ok - $IT_NAME prerequisites: $1 (CI=true: a missing server is a failure)"
        exit 1
    fi
    echo "# SKIP $IT_NAME: $1"
    exit 77
}

# it_need_exec PATH... / it_need_user NAME... / it_need_file PATH...
it_need_exec() { local f; for f; do [ -x "$f" ] || it_prereq "$f not found"; done; }
it_need_file() { local f; for f; do [ -e "$f" ] || it_prereq "$f not found"; done; }
it_need_user() { local u; for u; do getent passwd "$u" > /dev/null || it_prereq "system user '$u' missing"; done; }
it_need_root() { [ "$(id -u)" = 0 ] || it_prereq "must run as root (the servers switch users)"; }

# The program under test. Its absence is always a failure, never a skip.
it_need_smtpc() {
    if [ -z "${SMTPC:-}" ] || [ ! -x "$SMTPC" ]; then
        IT_NOTHING_YET=1
        echo "not ok - $IT_NAME: SMTPC='${SMTPC:-}' is not an executable (run through CTest, or set SMTPC=/path/to/smtpc)"
        exit 1
    fi
}

# it_have_ipv6: true if a socket can be bound to ::1.
it_have_ipv6() {
    "$IT_PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2> /dev/null
}

# it_free_ports N [v6]: print N distinct TCP ports that can be bound on
# 127.0.0.1 (and on ::1 too with "v6"), outside the kernel's ephemeral range
# so that no outgoing connection takes one between here and the server's bind.
it_free_ports() {
    "$IT_PY" - "$1" "${2:-}" <<'EOF'
import random, socket, sys
n, v6 = int(sys.argv[1]), sys.argv[2] == "v6"
try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    lo, hi = 32768, 60999
ranges = [r for r in ((10000, lo - 1), (hi + 1, 65535)) if r[1] - r[0] > 1000] or [(1025, 65535)]
addrs = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if v6 else [])
rnd, got = random.SystemRandom(), []
for _ in range(5000):
    if len(got) == n:
        break
    a, b = rnd.choice(ranges)
    port = rnd.randint(a, b)
    if port in got:
        continue
    socks = []
    try:
        for fam, addr in addrs:
            s = socket.socket(fam, socket.SOCK_STREAM)
            socks.append(s)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
        got.append(port)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
if len(got) < n:
    sys.exit("no free ports found")
print(" ".join(map(str, got)))
EOF
}

# ------------------------------------------------------------------ processes
# pid_alive PID: exists and is not a zombie.
it_pid_alive() {
    local stat
    [ -n "${1:-}" ] || return 1
    stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
    stat=${stat##*) }
    case ${stat%% *} in Z | X | x | '') return 1 ;; esac
    return 0
}
# it_pid_is PID MATCH: alive and its command line contains MATCH (a recycled
# PID must never be signalled).
it_pid_is() {
    local cmd
    it_pid_alive "$1" || return 1
    cmd=$(tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null) || return 1
    [[ $cmd == *"$2"* ]]
}

# it_track NAME PID MATCH: remember a server to stop at exit.
it_track() {
    IT_PROCS+=("$1 $2 $3")
    echo "$2" > "$IT_DIR/pids/$1.pid"
}

# it_spawn NAME MATCH LOGFILE COMMAND...: start a foreground server in the
# background (stdin from /dev/null, output to LOGFILE) and track it.
it_spawn() {
    local name=$1 match=$2 logf=$3
    shift 3
    "$@" < /dev/null > "$logf" 2>&1 &
    it_track "$name" $! "$match"
}

# it__pid_of NAME: print the PID of the tracked server NAME.
it__pid_of() {
    local e name pid match
    for e in "${IT_PROCS[@]}"; do
        read -r name pid match <<< "$e"
        [ "$name" = "$1" ] && { echo "$pid"; return 0; }
    done
    return 1
}

# it__pgid PID: its process group (field 5 of /proc/PID/stat).
it__pgid() {
    local stat state ppid pgrp
    stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
    read -r state ppid pgrp _ <<< "${stat##*) }"
    echo "$pgrp"
}

# it_stop_all: SIGTERM every tracked server (if it still is what we started),
# wait up to 10 s, then SIGKILL (its process group if it leads one).
it_stop_all() {
    local e name pid match deadline alive=()
    for e in "${IT_PROCS[@]}"; do
        read -r name pid match <<< "$e"
        if it_pid_is "$pid" "$match"; then
            kill -TERM "$pid" 2> /dev/null && alive+=("$name $pid")
        fi
    done
    IT_PROCS=()
    deadline=$((SECONDS + 10))
    for e in "${alive[@]}"; do
        read -r name pid <<< "$e"
        while it_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
        if it_pid_alive "$pid"; then
            it_log "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
            if [ "$(it__pgid "$pid")" = "$pid" ]; then
                kill -KILL -- "-$pid" 2> /dev/null
            fi
            kill -KILL "$pid" 2> /dev/null
        fi
        rm -f "$IT_DIR/pids/$name.pid"
    done
    # Reap our own children (no zombies left behind).
    wait 2> /dev/null
    return 0
}

# ------------------------------------------------------------------ waiting
# it__listening PORT...: every PORT is in LISTEN state (any address), read
# from /proc/net/tcp{,6}: no test connection that would show up in the logs.
it__listening() {
    local files=() f
    for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && files+=("$f"); done
    awk -v want="$*" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[sprintf("%04X", w[i])] = 1 }
        FNR > 1 && $4 == "0A" { m = split($2, a, ":"); delete need[a[m]] }
        END { for (k in need) exit 1; exit 0 }' "${files[@]}"
}

# it_wait_listen TIMEOUT NAME PORT...: wait until the ports listen; fail at
# once if the tracked server NAME exits.
it_wait_listen() {
    local timeout=$1 name=$2 pid
    shift 2
    pid=$(it__pid_of "$name")
    local deadline=$((SECONDS + timeout))
    until it__listening "$@"; do
        if [ -n "$pid" ] && ! it_pid_alive "$pid"; then
            it_log "$name exited during start-up"
            return 1
        fi
        ((SECONDS < deadline)) || { it_log "$name: port(s) $* not listening after $timeout s"; return 1; }
        sleep 0.05
    done
}

# it_wait_socket TIMEOUT NAME PATH...: wait for Unix sockets.
it_wait_socket() {
    local timeout=$1 name=$2 pid s ok
    shift 2
    pid=$(it__pid_of "$name")
    local deadline=$((SECONDS + timeout))
    while :; do
        ok=1
        for s; do [ -S "$s" ] || ok=0; done
        ((ok)) && return 0
        if [ -n "$pid" ] && ! it_pid_alive "$pid"; then
            it_log "$name exited during start-up"
            return 1
        fi
        ((SECONDS < deadline)) || { it_log "$name: socket(s) $* missing after $timeout s"; return 1; }
        sleep 0.05
    done
}

# it_wait_mail TIMEOUT MAILDIR NEEDLE: wait for a file in MAILDIR/new that
# contains NEEDLE (e.g. the Message-ID), set IT_MAIL_FILE; fail at the deadline.
# TIMEOUT "-" means $IT_MAIL_WAIT, which drops to 3 s after the first miss
# (a server that does not deliver should not cost 15 s in every case).
# Must not run in a subshell for that: the path is left in IT_MAIL_FILE.
IT_MAIL_FILE='' IT_MAIL_WAITED=0
it_wait_mail() {
    local timeout=$1 dir=$2/new needle=$3 f
    [ "$timeout" = - ] && timeout=$IT_MAIL_WAIT
    ((IT_HUNG)) && timeout=0    # the client was killed: look once, do not wait
    IT_MAIL_WAITED=$timeout
    local deadline=$((SECONDS + timeout))
    IT_MAIL_FILE=''
    while :; do
        if [ -d "$dir" ]; then
            f=$(grep -lF -- "$needle" "$dir"/* 2> /dev/null | head -n 1)
            [ -n "$f" ] && { IT_MAIL_FILE=$f; return 0; }
        fi
        if ((SECONDS >= deadline)); then
            ((timeout > 3)) && IT_MAIL_WAIT=3
            return 1
        fi
        sleep 0.05
    done
}

# it_claimed ADDR: the last smtpc output says ADDR was accepted (a text line
# "accepted ADDR..." or, for --json, ADDR inside the "accepted" list). Used
# to avoid waiting for a delivery that cannot come.
it_claimed() {
    grep -qiF "accepted $1" "$IT_OUT" 2> /dev/null && return 0
    "$IT_PY" - "$IT_OUT" "$1" 2> /dev/null <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
acc = [a.get("address") if isinstance(a, dict) else a for a in doc.get("accepted", [])]
sys.exit(0 if sys.argv[2] in acc else 1)
EOF
}

# it_count_mail MAILDIR NEEDLE: how many files in MAILDIR/new contain NEEDLE.
it_count_mail() {
    [ -d "$1/new" ] || { echo 0; return 0; }
    grep -lF -- "$2" "$1"/new/* 2> /dev/null | wc -l
}

# ------------------------------------------------------------------ cases
IT_LOG_OFFSETS=()
it_case() {
    IT_CASE_NAME=$1
    IT_CASE_ERRS=()
    IT_CASE_TRANSCRIPTS=()
    # Remember where each server log ends, to show only this case's part.
    local f
    IT_LOG_OFFSETS=()
    for f in "${IT_LOGS[@]}"; do IT_LOG_OFFSETS+=("$(stat -c %s "$f" 2> /dev/null || echo 0)"); done
}
it_fail() { IT_CASE_ERRS+=("$*"); }

it_case_end() {
    if ((${#IT_CASE_ERRS[@]} == 0)); then
        echo "ok - $IT_CASE_NAME"
        IT_PASSED=$((IT_PASSED + 1))
        return 0
    fi
    IT_FAILED=$((IT_FAILED + 1))
    local e f
    echo "not ok - $IT_CASE_NAME: ${IT_CASE_ERRS[0]}"
    for e in "${IT_CASE_ERRS[@]:1}"; do echo "#   also: $e"; done
    for f in "${IT_CASE_TRANSCRIPTS[@]}"; do
        echo "#   --- smtpc stdout (${f%.err}.out):"
        head -c 4000 "${f%.err}.out" 2> /dev/null | sed 's/^/#   | /'
        echo "#   --- smtpc --debug transcript ($f), last 80 lines:"
        tail -n 80 "$f" 2> /dev/null | cut -c1-400 | sed 's/^/#   | /'
    done
    it_log_tails
    return 1
}

it_skip_case() {
    echo "ok - $1 # SKIP $2"
    IT_SKIPPED=$((IT_SKIPPED + 1))
}

# it_log_tails: the server logs (since the start of the current case, if
# one is running), at most 40 lines each.
it_log_tails() {
    local i f off
    for i in "${!IT_LOGS[@]}"; do
        f=${IT_LOGS[$i]}
        [ -s "$f" ] || continue
        off=${IT_LOG_OFFSETS[$i]:-0}
        if [ -n "$IT_CASE_NAME" ] && ((off > 0)); then
            echo "#   --- server log $f during this case (last 40 lines):"
        else
            echo "#   --- server log $f (last 40 lines):"
            off=0
        fi
        tail -c +$((off + 1)) "$f" | tail -n 40 | cut -c1-400 | sed 's/^/#   | /'
    done
}

it_finish() {
    local ms=$((($(date +%s%N) - IT_START_NS) / 1000000))
    echo "# $IT_NAME: $IT_PASSED passed, $IT_FAILED failed, $IT_SKIPPED skipped in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
    ((IT_FAILED == 0)) && exit 0
    exit 1
}

# A fatal set-up problem (server did not start, ...): not a skip.
it_bail() {
    echo "not ok - $IT_NAME set-up: $*"
    it_log_tails
    exit 1
}

# ------------------------------------------------------------------ running smtpc
# it_smtpc TAG ARG...: run "$SMTPC send --debug --timeout 10 ARG..." with a
# time limit, stdin from $IT_STDIN (default /dev/null); sets IT_RC, IT_OUT
# (stdout file), IT_ERR (stderr, the --debug transcript).
# IT_SUBCMD=probe it_smtpc TAG ARG... runs "smtpc probe" instead of "send".
it_smtpc() {
    local tag=$1
    shift
    IT_SEQ=$((IT_SEQ + 1))
    local base=$IT_DIR/smtpc.$IT_SEQ.$tag
    IT_OUT=$base.out IT_ERR=$base.err
    printf '%q ' "$SMTPC" "${IT_SUBCMD:-send}" --debug --timeout 10 "$@" > "$base.cmd"
    [ -n "${IT_STDIN:-}" ] && printf '< %q' "$IT_STDIN" >> "$base.cmd"
    echo >> "$base.cmd"
    IT_CASE_TRANSCRIPTS+=("$IT_ERR")
    if ((IT_HUNG)); then
        # One hang is enough to know; do not make every later case wait too.
        : > "$IT_OUT"
        echo "(not run: smtpc hung in an earlier case)" > "$IT_ERR"
        IT_RC=124
        it_fail "not run: smtpc hung in an earlier case"
        return 0
    fi
    # In the background + wait, so that a signal to this script is handled
    # at once (the EXIT trap then stops the client and the servers).
    timeout -k 5 "${IT_TIMEOUT:-20}" "$SMTPC" "${IT_SUBCMD:-send}" --debug --timeout 10 "$@" < "${IT_STDIN:-/dev/null}" > "$IT_OUT" 2> "$IT_ERR" &
    IT_CLIENT_PID=$!
    wait "$IT_CLIENT_PID"
    IT_RC=$?
    IT_CLIENT_PID=''
    if [ "$IT_RC" = 124 ] || [ "$IT_RC" = 137 ]; then
        IT_HUNG=1
        it_fail "smtpc did not finish within ${IT_TIMEOUT:-20} s (killed)"
    fi
    return 0
}

it_expect_exit() {
    [ "$IT_RC" = "$1" ] || it_fail "exit status $IT_RC, expected $1 ($(cat "${IT_OUT%.out}.cmd"))"
}

# it_expect_result STATUS ADDR [CODE [ENHANCED]]: the smtpc stdout has exactly
# one line about ADDR, and it is "STATUS ADDR: CODE ENHANCED ..." (or
# "STATUS ADDR" for not-tried).
it_expect_result() {
    local status=$1 addr=$2 code=${3:-} enh=${4:-} line n=0 found=''
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case $line in
            *" $addr:"* | *" $addr") ;;
            *) continue ;;
        esac
        case ${line%% *} in
            accepted | refused | failed | not-tried | unknown) ;;
            *) continue ;;
        esac
        n=$((n + 1))
        found=$line
    done < "$IT_OUT"
    if ((n != 1)); then
        it_fail "expected exactly one result line for $addr, found $n"
        return
    fi
    local want="$status $addr"
    [ -n "$code" ] && want+=": $code"
    [ -n "$enh" ] && want+=" $enh"
    case $found in
        "$want" | "$want "* | "$want:"*) ;;
        *) it_fail "for $addr expected a line starting '$want', got '$found'" ;;
    esac
}

# it_expect_json FILE CHECK...: the smtpc --json output parses as one JSON
# object and satisfies each CHECK:
#   accepted=ADDR,ADDR         the set of accepted addresses (strings, or objects with "address")
#   refused=ADDR:STAGE:CODE:ENHANCED   one refused entry (ENHANCED "-" = none/null/empty)
#   nrefused=N                 number of refused entries
#   exit=N                     the "exit" member
#   error=null                 "error" is null
it_expect_json() {
    local out
    out=$("$IT_PY" - "$@" <<'EOF'
import json, sys
path, checks = sys.argv[1], sys.argv[2:]
raw = open(path, "rb").read()
try:
    doc = json.loads(raw.decode("utf-8"))
except Exception as e:
    print("stdout is not one JSON document (%s): %r" % (e, raw[:300]))
    sys.exit(1)
if not isinstance(doc, dict):
    print("JSON is not an object: %r" % (doc,))
    sys.exit(1)
errs = []
def addr_of(x):
    return x.get("address") if isinstance(x, dict) else x
refused = doc.get("refused")
for c in checks:
    key, _, val = c.partition("=")
    if key == "accepted":
        want = sorted(a for a in val.split(",") if a)
        acc = doc.get("accepted")
        if not isinstance(acc, list):
            errs.append("'accepted' is not a list: %r" % (acc,))
            continue
        got = sorted(addr_of(a) for a in acc)
        if got != want:
            errs.append("accepted %r, expected %r" % (got, want))
    elif key == "refused":
        addr, stage, code, enh = val.split(":")
        if not isinstance(refused, list):
            errs.append("'refused' is not a list: %r" % (refused,))
            continue
        hits = [r for r in refused if isinstance(r, dict) and r.get("address") == addr]
        if len(hits) != 1:
            errs.append("expected one refused entry for %s, found %d in %r" % (addr, len(hits), refused))
            continue
        r = hits[0]
        if r.get("stage") != stage:
            errs.append("%s: stage %r, expected %r" % (addr, r.get("stage"), stage))
        if str(r.get("code")) != code:
            errs.append("%s: code %r, expected %s" % (addr, r.get("code"), code))
        if enh == "-":
            if r.get("enhanced") not in (None, ""):
                errs.append("%s: enhanced %r, expected none" % (addr, r.get("enhanced")))
        elif r.get("enhanced") != enh:
            errs.append("%s: enhanced %r, expected %r" % (addr, r.get("enhanced"), enh))
        if not isinstance(r.get("text"), str):
            errs.append("%s: text %r is not a string" % (addr, r.get("text")))
    elif key == "nrefused":
        n = len(refused) if isinstance(refused, list) else None
        if n != int(val):
            errs.append("%r refused entries, expected %s" % (n, val))
    elif key == "exit":
        if doc.get("exit") != int(val):
            errs.append("\"exit\": %r, expected %s" % (doc.get("exit"), val))
    elif key == "error":
        if val == "null" and doc.get("error") is not None:
            errs.append("\"error\": %r, expected null" % (doc.get("error"),))
    else:
        errs.append("bad check %r" % c)
for e in errs:
    print(e)
sys.exit(1 if errs else 0)
EOF
    ) || {
        local l
        while IFS= read -r l; do it_fail "json: $l"; done <<< "$out"
    }
}

# it_compare MODE DELIVERED SENT [TRACE_ALLOWED [TRACE_REQUIRED]]
#   MODE lf:   DELIVERED = trace header lines (only fields named in the
#              space-separated TRACE_ALLOWED list, each of TRACE_REQUIRED at
#              least once, with their continuation lines) followed by SENT
#              with every line ending (CRLF, bare CR, bare LF) as LF;
#   MODE crlf: DELIVERED = SENT with every line ending as CRLF, nothing else.
# In both modes a message that does not end with a line ending gets one:
# the client closes the last line before the final dot, and an empty message
# becomes one empty line (CRLF), as smtplib does (src/dataenc.h).
# On a mismatch, the expected bytes are saved next to DELIVERED's copy in
# the state folder and the first difference is reported.
it_compare() {
    local out
    out=$("$IT_PY" - "$IT_DIR" "$@" <<'EOF'
import hashlib, os, re, sys
state, mode, delivered, sent = sys.argv[1:5]
allowed = sys.argv[5].split() if len(sys.argv) > 5 else []
required = sys.argv[6].split() if len(sys.argv) > 6 else []
eol = b"\n" if mode == "lf" else b"\r\n"
data = open(sent, "rb").read()
want = re.sub(rb"\r\n|\r|\n", eol, data)
if not want.endswith(eol):
    want += eol
got = open(delivered, "rb").read()
body = got
seen = []
if mode == "lf":
    lines = got.split(b"\n")
    i = 0
    while i < len(lines):
        m = re.match(rb"([!-9;-~]+):", lines[i])
        if not m or m.group(1).decode().lower() not in [a.lower() for a in allowed]:
            break
        seen.append(m.group(1).decode().lower())
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    body = b"\n".join(lines[i:])
    for r in required:
        if r.lower() not in seen:
            print("the server's %s: header is missing at the top of %s (saw %s)" % (r, delivered, seen or "none"))
            sys.exit(1)
if body == want:
    sys.exit(0)
n = 0
while n < min(len(body), len(want)) and body[n] == want[n]:
    n += 1
name = os.path.join(state, "expected." + os.path.basename(delivered))
open(name, "wb").write(want)
print("%s differs from the message sent: %d bytes vs %d expected (sha256 %s vs %s), first difference at byte %d: got %r, expected %r; expected bytes saved in %s" % (
    delivered, len(body), len(want), hashlib.sha256(body).hexdigest()[:16], hashlib.sha256(want).hexdigest()[:16],
    n, body[max(0, n - 20):n + 40], want[max(0, n - 20):n + 40], name))
sys.exit(1)
EOF
    ) || it_fail "$out"
}

it_sha256() { sha256sum < "$1" | cut -d' ' -f1; }

# ------------------------------------------------------------------ TLS and credentials
# it_make_certs DIR: throwaway certificates made with the openssl CLI (EC
# P-256: fast to generate; valid 2 days):
#   DIR/ca.crt           the CA that signs the server certificate
#   DIR/server.crt       CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1,
#                        serverAuth; DIR/server.key its key (mode 600: the
#                        servers read it as root before dropping privileges)
#   DIR/server-chain.crt server certificate then CA
#   DIR/other-ca.crt     an unrelated CA (signed nothing here): a wrong trust anchor
# Fails (returns 1, log in DIR/openssl.log) when openssl does.
it_make_certs() {
    local d=$1
    mkdir -p "$d" || return 1
    (
        set -e
        umask 077
        for k in ca other-ca server; do
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$k.key"
        done
        openssl req -x509 -new -key "$d/ca.key" -sha256 -days 2 -out "$d/ca.crt" \
            -subj "/O=smtpc interop tests/CN=smtpc interop throwaway CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -x509 -new -key "$d/other-ca.key" -sha256 -days 2 -out "$d/other-ca.crt" \
            -subj "/O=smtpc interop tests/CN=unrelated CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -new -key "$d/server.key" -sha256 -out "$d/server.csr" -subj "/O=smtpc interop tests/CN=localhost"
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$d/server.ext"
        openssl x509 -req -sha256 -days 2 -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
            -set_serial "0x$(openssl rand -hex 8)" -extfile "$d/server.ext" -out "$d/server.crt"
        cat "$d/server.crt" "$d/ca.crt" > "$d/server-chain.crt"
        chmod 644 "$d/ca.crt" "$d/other-ca.crt" "$d/server.crt" "$d/server-chain.crt"
        rm -f "$d/ca.key" "$d/other-ca.key" "$d/server.csr"
    ) > "$d/openssl.log" 2>&1
}

# it_cert_sha256 CERT [colons]: SHA-256 of the certificate's DER encoding, as
# 64 lower-case hex digits (or upper-case pairs joined by ':' as openssl prints them).
it_cert_sha256() {
    local hex
    hex=$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1) || return 1
    if [ "${2:-}" = colons ]; then
        echo "$hex" | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//'
    else
        echo "$hex"
    fi
}

# it_expect_no_secret SECRET FILE...: none of the FILEs (smtpc's stdout and
# its --debug transcript) contains SECRET (UTF-8), nor SECRET in base64 at any
# alignment (alone, as AUTH LOGIN sends it, or inside a longer base64 string
# such as AUTH PLAIN's "\0user\0password"), in standard or URL-safe base64.
# The secret itself is never printed.
it_expect_no_secret() {
    local out
    out=$("$IT_PY" - "$@" <<'EOF'
import base64, sys
secret, files = sys.argv[1].encode("utf-8", "surrogateescape"), sys.argv[2:]
needles = [("the password", secret)]
for k in range(3):
    enc = base64.b64encode(b"\0" * k + secret)
    # Keep only the characters that depend on the secret's bytes alone.
    start = 4 if k else 0
    end = len(enc) - (4 if (k + len(secret)) % 3 else 0)
    frag = enc[start:end]
    if len(frag) >= 4:
        needles.append(("the password in base64 (offset %d mod 3)" % k, frag))
        url = frag.replace(b"+", b"-").replace(b"/", b"_")
        if url != frag:
            needles.append(("the password in URL-safe base64 (offset %d mod 3)" % k, url))
for path in files:
    try:
        data = open(path, "rb").read()
    except OSError as e:
        print("cannot read %s: %s" % (path, e))
        continue
    for what, n in needles:
        if n in data:
            print("%s contains %s" % (path, what))
EOF
    )
    if [ -n "$out" ]; then
        local l
        while IFS= read -r l; do it_fail "secret leaked: $l"; done <<< "$out"
    fi
}

# it_before FILE FIRST SECOND: in FILE, the first line matching the extended
# regex FIRST comes before the first line matching SECOND (both must exist).
it_before() {
    local a b
    a=$(grep -nE -m1 -- "$2" "$1" | cut -d: -f1)
    b=$(grep -nE -m1 -- "$3" "$1" | cut -d: -f1)
    [ -n "$a" ] && [ -n "$b" ] && ((a < b))
}

# it_log_since_case FILE: the part of FILE (one of IT_LOGS) written since the
# current it_case began.
it_log_since_case() {
    local i off=0
    for i in "${!IT_LOGS[@]}"; do
        [ "${IT_LOGS[$i]}" = "$1" ] && off=${IT_LOG_OFFSETS[$i]:-0}
    done
    tail -c +$((off + 1)) "$1" 2> /dev/null
}

# ------------------------------------------------------------------ unpacked .debs (exim.sh)
# it_fetch_deb PKG: the files of Debian package PKG, unpacked (never
# installed: dpkg -x) under a cache, ${SMTPC_CACHE:-$HOME/.cache/smtpc-interop}/PKG/root;
# sets IT_DEB_ROOT to that folder. The .deb comes from "apt-get download"
# the first time only (a later run needs no network); "apt-get update" runs
# first only on a machine that has no package lists at all (slim images).
# Concurrent runs serialise on a lock file in the cache.
# Returns 1 with the reason in IT_DEB_ERR when the package cannot be had.
IT_DEB_ROOT='' IT_DEB_ERR=''
it_fetch_deb() {
    local pkg=$1 cache=${SMTPC_CACHE:-${HOME:-/root}/.cache/smtpc-interop}
    local dir=$cache/$pkg rc
    IT_DEB_ROOT='' IT_DEB_ERR=''
    mkdir -p "$dir" 2> /dev/null || { IT_DEB_ERR="cannot create the cache folder $dir"; return 1; }
    (
        if command -v flock > /dev/null; then
            exec 8> "$dir/.lock"
            flock -w 300 8 || { echo "timed out waiting for the lock $dir/.lock" > "$dir/.err"; exit 1; }
        fi
        [ -e "$dir/root/.unpacked" ] && exit 0
        rm -f "$dir/.err"
        local deb
        deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
        if [ -z "$deb" ]; then
            if ! (cd "$dir" && apt-get download "$pkg") > "$dir/apt.log" 2>&1; then
                if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2> /dev/null | head -n 1)" ]; then
                    { apt-get update && (cd "$dir" && apt-get download "$pkg"); } >> "$dir/apt.log" 2>&1
                else
                    false
                fi || { echo "apt-get download $pkg failed (offline? see $dir/apt.log): $(tail -n 1 "$dir/apt.log")" > "$dir/.err"; exit 1; }
            fi
            deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
            [ -n "$deb" ] || { echo "apt-get download $pkg left no .deb in $dir" > "$dir/.err"; exit 1; }
        fi
        rm -rf "$dir/root.new"
        dpkg -x "$deb" "$dir/root.new" 2> "$dir/.err" || { echo "dpkg -x $deb failed: $(cat "$dir/.err")" > "$dir/.err"; exit 1; }
        basename "$deb" > "$dir/root.new/.unpacked"
        rm -rf "$dir/root" && mv "$dir/root.new" "$dir/root"
    )
    rc=$?
    if ((rc != 0)); then
        IT_DEB_ERR=$(cat "$dir/.err" 2> /dev/null)
        IT_DEB_ERR=${IT_DEB_ERR:-could not fetch $pkg}
        return 1
    fi
    IT_DEB_ROOT=$dir/root
}

# ------------------------------------------------------------------ transcripts
# it_tx FILE CHECK [ARG...]: checks on a --debug transcript (the "send:" and
# "reply:" lines; "send: [message...]" markers are not commands). Every
# failure becomes an it_fail. CHECKs:
#   flight CMD...   the first command starting with CMD1 is followed by
#                   commands starting with CMD2, CMD3... with no reply read in
#                   between (one pipelined flight), e.g. flight MAIL RCPT RCPT
#   lockstep        every command is answered before the next one is sent
#   mail-has P...   the MAIL FROM command carries each parameter P (a whole
#                   word: SMTPUTF8, BODY=8BITMIME, SIZE=123; NAME= alone: any value)
#   mail-lacks P... it carries none of them (NAME= alone: no NAME= at all)
#   no CMD          no command starts with CMD (e.g. no "MAIL FROM:")
#   bdat N          at least N BDAT commands, the last one "BDAT n LAST", no
#                   other with LAST, and no DATA command
#   data            a DATA command and no BDAT
# Commands are compared as sent, with \xHH escapes decoded to bytes (UTF-8).
it_tx() {
    local out
    out=$("$IT_PY" - "$@" <<'EOF'
import re, sys
path, check, args = sys.argv[1], sys.argv[2], sys.argv[3:]
def unesc(s):
    b = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), s.encode("latin-1"))
    return b.decode("utf-8", "replace")
events = []   # ("send", text) or ("reply", text)
for raw in open(path, "rb").read().decode("latin-1").splitlines():
    if raw.startswith("send: "):
        t = raw[6:]
        if t.startswith("["):
            continue
        if t.endswith("\\r\\n"):
            t = t[:-4]
        events.append(("send", unesc(t)))
    elif raw.startswith("reply: "):
        events.append(("reply", unesc(raw[7:])))
sends = [t for k, t in events if k == "send"]
def show(ev):
    return " | ".join(("> " if k == "send" else "< ") + t[:60] for k, t in ev)
errs = []
if check == "flight":
    idx = [i for i, (k, t) in enumerate(events) if k == "send" and t.startswith(args[0])]
    if not idx:
        errs.append("no command starting with %r in the transcript" % args[0])
    else:
        i = idx[0]
        got = events[i:i + len(args)]
        if [k for k, _ in got] != ["send"] * len(args) or any(not t.startswith(a) for (_, t), a in zip(got, args)):
            errs.append("expected %s sent in one flight (no reply between), transcript from there: %s"
                        % (" + ".join(args), show(events[i:i + len(args) + 3])))
elif check == "lockstep":
    for i, (k, t) in enumerate(events):
        if k == "send" and i + 1 < len(events) and events[i + 1][0] == "send":
            errs.append("not lock-step: %r was sent before the reply to %r: %s" % (events[i + 1][1][:60], t[:60], show(events[max(0, i - 1):i + 4])))
            break
    if not sends:
        errs.append("no commands in the transcript")
elif check in ("mail-has", "mail-lacks"):
    mails = [t for t in sends if t.upper().startswith("MAIL FROM:")]
    if not mails:
        errs.append("no MAIL FROM command in the transcript")
    else:
        m = re.match(r"MAIL FROM:(<[^>]*>|\S*)(.*)$", mails[0], re.I)
        params = m.group(2).split() if m else []
        for p in args:
            if p.endswith("="):
                hit = any(q.upper().startswith(p.upper()) for q in params)
            else:
                hit = any(q.upper() == p.upper() for q in params)
            if check == "mail-has" and not hit:
                errs.append("MAIL FROM lacks %s: %r" % (p, mails[0]))
            if check == "mail-lacks" and hit:
                errs.append("MAIL FROM carries %s: %r" % (p, mails[0]))
elif check == "no":
    hits = [t for t in sends if t.upper().startswith(args[0].upper())]
    if hits:
        errs.append("%r was sent: %r" % (args[0], hits[0]))
elif check == "bdat":
    bd = [t for t in sends if t.upper().startswith("BDAT ")]
    if len(bd) < int(args[0]):
        errs.append("%d BDAT commands, expected at least %s" % (len(bd), args[0]))
    elif not bd[-1].upper().endswith(" LAST") or any(t.upper().endswith(" LAST") for t in bd[:-1]):
        errs.append("BDAT commands not ended by exactly one final LAST: %r" % bd)
    if any(t.upper() == "DATA" for t in sends):
        errs.append("DATA was sent as well as BDAT")
elif check == "data":
    if not any(t.upper() == "DATA" for t in sends):
        errs.append("no DATA command")
    if any(t.upper().startswith("BDAT") for t in sends):
        errs.append("BDAT was sent (expected DATA)")
else:
    errs.append("it_tx: unknown check %r" % check)
for e in errs:
    print(e)
EOF
    )
    if [ -n "$out" ]; then
        local l
        while IFS= read -r l; do it_fail "transcript: $l"; done <<< "$out"
    fi
}

# it_tx_mail_param FILE NAME: print the value of MAIL FROM's parameter NAME
# (e.g. SIZE) in the transcript FILE; nothing when it is absent.
it_tx_mail_param() {
    grep -m1 -E '^send: MAIL FROM:' "$1" | sed 's/\\r\\n$//' | tr ' ' '\n' | grep -i -m1 "^$2=" | cut -d= -f2-
}

# ------------------------------------------------------------------ test messages
# it_big_message FILE MESSAGE-ID BYTES [lf]: a message of about BYTES bytes
# (headers, then 130-byte lines of hex, every 61st starting with a dot, one
# "." alone, so dot-stuffing is exercised), CRLF line endings ("lf": LF).
it_big_message() {
    "$IT_PY" - "$@" <<'EOF'
import hashlib, sys
path, msgid, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
eol = b"\n" if len(sys.argv) > 4 and sys.argv[4] == "lf" else b"\r\n"
head = (b"From: Big Sender <big@example.org>" + eol + b"To: big@example.test" + eol +
        b"Subject: large message" + eol + b"Date: Fri, 29 Nov 2024 06:30:00 +0000" + eol +
        b"Message-ID: <" + msgid.encode() + b">" + eol + b"MIME-Version: 1.0" + eol +
        b"Content-Type: text/plain; charset=us-ascii" + eol + eol)
seed = hashlib.sha256(msgid.encode()).hexdigest().encode()
line = (seed * 4)[:128]
n, i = len(head), 0
with open(path, "wb") as f:
    f.write(head)
    chunk = []
    while n < size:
        l = (b"." if i % 61 == 0 else b"") + line[i % 64:] + line[:i % 64] + eol
        if i == 1000:
            l = b"." + eol
        chunk.append(l)
        n += len(l)
        i += 1
        if len(chunk) == 4096:
            f.write(b"".join(chunk))
            chunk = []
    f.write(b"".join(chunk))
EOF
}
