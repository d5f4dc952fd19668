#!/usr/bin/env bash
# Peak RSS of the smtpc command sending one 1 GiB message (issue 4: bounded memory).
# Builds a Release tree, starts the bundled sink on loopback (no storage, no size limit),
# generates 1 GiB of ordinary text lines and sends it from a file and from a pipe, each
# with BDAT (the sink offers CHUNKING) and with DATA (--no-chunking), under GNU time.
#   bench/rss-1g.sh [SIZE_MIB]      (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
build=${SMTPC_BENCH_BUILD:-build-rel}
command -v /usr/bin/time > /dev/null || apt-get install -y time > /dev/null
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMTPC_TESTS=OFF > /dev/null
cmake --build "$build" -j"$(nproc)" --target smtpc_cli smtpc-sink > /dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-rss.XXXXXX")
sink_pid=
cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2> /dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
"$build/smtpc-sink" --quiet --size 0 --timeout 0 --listen 127.0.0.1:0 --port-file "$work/port" &
sink_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

# 1 GiB of 78-character lines with LF endings (the library makes them CRLF).
{
	printf 'From: a@example.org\nTo: b@example.org\nSubject: big\n\n'
	head -c $((mib * 1024 * 1024)) < <(yes 'The quick brown fox jumps over the lazy dog, and then some more text to 78 ch.')
} > "$work/big.txt"

measure() { # LABEL ARGS...: prints the label, the peak RSS and the time
	local label=$1
	shift
	/usr/bin/time -v -o "$work/time.txt" "$@" > /dev/null
	printf '| %s | %s KiB | %s |\n' "$label" \
		"$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")" \
		"$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")"
}
send=("$build/smtpc" send --server "smtp://127.0.0.1:$port" --from a@example.org --to b@example.org)
echo "| smtpc sending ${mib} MiB | peak RSS | wall time |"
echo "| --- | ---: | ---: |"
measure "from a file, BDAT" "${send[@]}" "$work/big.txt"
measure "from a file, DATA" "${send[@]}" --no-chunking "$work/big.txt"
measure "from a pipe, BDAT" bash -c "cat '$work/big.txt' | $(printf '%q ' "${send[@]}")"
