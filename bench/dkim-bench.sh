#!/usr/bin/env bash
# dkim-bench.sh - the cost of signing one small message with DKIM: libsmtpc
# (bench/dkim-bench.c) against dkimpy and OpenDKIM, in the same run.
#   bench/dkim-bench.sh [REPS]      (default 5 repetitions)
# In process (key loaded once, N signatures): libsmtpc and dkimpy, rsa-sha256
# (RSA 2048) and ed25519-sha256. Per process (what a sendmail-like command
# pays: start, load the key, sign one message, exit): libsmtpc's driver with
# N=1 against opendkim-testmsg, which only signs rsa-sha1 (relaxed/simple) and
# refuses Ed25519 keys. Each figure: median (min..max) of the repetitions,
# the client pinned to CPU 1 (bench/README.md). Needs python3-dkim,
# python3-nacl (dkimpy's Ed25519), opendkim-tools, openssl. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
BUILD=${SMTPC_BENCH_BUILD:-build-bench-dkim}
PY=/usr/bin/python3
TESTMSG=$(command -v opendkim-testmsg || echo /usr/sbin/opendkim-testmsg)
PIN=()
command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ] && PIN=(taskset -c 1)

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSMTPC_TESTS=OFF -DSMTPC_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" --target smtpc_static -j2 >/dev/null
cc -O2 -Iinclude bench/dkim-bench.c "$BUILD/libsmtpc.a" -lssl -lcrypto -o "$BUILD/dkim-bench"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem" 2>/dev/null
# A small message (about 700 bytes), LF line endings (opendkim-testmsg wants them).
{
	printf 'From: Alice Example <alice@example.org>\nTo: Bob Example <bob@example.net>\n'
	printf 'Subject: DKIM bench\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n'
	printf 'Message-ID: <bench.1@example.org>\nMIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=utf-8\n\n'
	for i in $(seq 1 8); do printf 'Line %d of a short message body, as a notification would be.\n' "$i"; done
} >"$tmp/msg.eml"

smtpc_inproc() { "${PIN[@]}" "$BUILD/dkim-bench" "$1" "$2" "$tmp/msg.eml"; }
dkimpy_inproc() {
	"${PIN[@]}" $PY - "$1" "$2" "$3" "$tmp/msg.eml" <<'PY'
import sys, time, dkim
key = open(sys.argv[1], "rb").read()
n = int(sys.argv[2])
msg = open(sys.argv[4], "rb").read().replace(b"\n", b"\r\n")
if sys.argv[3] == "ed25519-sha256":
    # dkimpy takes the raw 32-byte seed (base64) for Ed25519, not PEM.
    import base64, subprocess
    der = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-outform", "DER"], capture_output=True, check=True).stdout
    key = base64.b64encode(der[-32:])
t = time.perf_counter()
for _ in range(n):
    dkim.sign(msg, b"bench", b"example.org", key, signature_algorithm=sys.argv[3].encode())
print("%.1f" % ((time.perf_counter() - t) / n * 1e6))
PY
}
# per_process N CMD...: microseconds per run of CMD (stdin: the message).
per_process() {
	local n=$1 t0 t1
	shift
	t0=$(date +%s%N)
	for _ in $(seq 1 "$n"); do "${PIN[@]}" "$@" <"$tmp/msg.eml" >/dev/null; done
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / n / 1000))"
}

declare -A R
for rep in $(seq 1 "$REPS"); do
	R[smtpc_rsa]+=" $(smtpc_inproc "$tmp/rsa.pem" 2000)"
	R[smtpc_ed]+=" $(smtpc_inproc "$tmp/ed.pem" 5000)"
	R[dkimpy_rsa]+=" $(dkimpy_inproc "$tmp/rsa.pem" 300 rsa-sha256)"
	R[dkimpy_ed]+=" $(dkimpy_inproc "$tmp/ed.pem" 300 ed25519-sha256)"
	R[proc_smtpc]+=" $(per_process 100 "$BUILD/dkim-bench" "$tmp/rsa.pem" 1 /dev/stdin)"
	R[proc_opendkim]+=" $(per_process 100 "$TESTMSG" -d example.org -k "$tmp/rsa.pem" -s bench)"
	echo "repetition $rep done" >&2
done

stat() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {printf "%s (%s..%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }
echo "| what | µs per message, median (min..max) of $REPS |"
echo "| --- | --- |"
echo "| libsmtpc rsa-sha256 (RSA 2048), in process | $(stat "${R[smtpc_rsa]}") |"
echo "| dkimpy rsa-sha256 (RSA 2048), in process | $(stat "${R[dkimpy_rsa]}") |"
echo "| libsmtpc ed25519-sha256, in process | $(stat "${R[smtpc_ed]}") |"
echo "| dkimpy ed25519-sha256, in process | $(stat "${R[dkimpy_ed]}") |"
echo "| libsmtpc driver, one process per message (rsa-sha256) | $(stat "${R[proc_smtpc]}") |"
echo "| opendkim-testmsg, one process per message (rsa-sha1) | $(stat "${R[proc_opendkim]}") |"
