#!/usr/bin/env bash
# The message builder on one big attachment (issue 12): base64 encoding speed, and the peak
# RSS of sending it to the bundled sink on loopback, from the library (compose-bench) and from
# the command (smtpc send --attach). The attachment is a sparse file (no disk used).
# Not run in CI (too big); a small SIZE_MIB is the quick version.
#   bench/compose-bench.sh [SIZE_MIB]      (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
build=${SMTPC_BENCH_BUILD:-build-rel}
command -v /usr/bin/time > /dev/null || apt-get install -y time > /dev/null
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSMTPC_TESTS=OFF > /dev/null
cmake --build "$build" -j"$(nproc)" --target smtpc_static smtpc_cli smtpc-sink > /dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-compose.XXXXXX")
sink_pid=
cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2> /dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -std=c11 -Iinclude bench/compose-bench.c "$build/libsmtpc.a" -lssl -lcrypto \
	-o "$work/compose-bench"
truncate -s "${mib}M" "$work/big.bin"
"$build/smtpc-sink" --quiet --size 0 --timeout 0 --listen 127.0.0.1:0 --port-file "$work/port" &
sink_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

echo "| encoding ${mib} MiB | message bytes | seconds | MB/s of attachment |"
echo "| --- | ---: | ---: | ---: |"
for run in 1 2 3; do
	read -r _ out secs rate < <("$work/compose-bench" --memory "$mib")
	echo "| from memory, run $run | $out | $secs | $rate |"
done
for run in 1 2 3; do
	read -r _ out secs rate < <("$work/compose-bench" "$work/big.bin")
	echo "| from the file (pread), run $run | $out | $secs | $rate |"
done

rss() { # LABEL ARGS...: the peak RSS and the wall time of a command
	local label=$1
	shift
	/usr/bin/time -v -o "$work/time.txt" "$@" > /dev/null
	printf '| %s | %s KiB | %s |\n' "$label" \
		"$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")" \
		"$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")"
}
echo
echo "| sending ${mib} MiB attached | peak RSS | wall time |"
echo "| --- | ---: | ---: |"
rss "library (compose-bench), BDAT" "$work/compose-bench" "$work/big.bin" "$port"
printf 'see attachment\n' > "$work/text.txt"
send=("$build/smtpc" send --server "smtp://127.0.0.1:$port" --from a@example.org
	--to b@example.org --subject big --text "$work/text.txt" --attach "$work/big.bin")
rss "smtpc send --attach, BDAT" env SMTPC_CONFIG=/dev/null "${send[@]}"
rss "smtpc send --attach, DATA" env SMTPC_CONFIG=/dev/null "${send[@]}" --no-chunking
