#!/usr/bin/env bash
# The demo: build smtpc, start the bundled sink on loopback, send a real
# message with the smtpc command, show the SMTP transcript and where the
# message landed, then an LMTP delivery over a Unix socket with one
# recipient refused after the data.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh build

echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMTPC_TESTS=OFF > build.log 2>&1 ||
	{ cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -40 build.log; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-demo.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

start_sink() { # NAME ARGS...: starts a sink in the background, waits for its port file
	local name=$1
	shift
	build/smtpc-sink --port-file "$work/$name.port" --pid-file "$work/$name.pid" \
		--maildir "$work/$name-mail" --log "$work/$name.log" "$@" &
	pids+=($!)
	for _ in $(seq 100); do
		[ -s "$work/$name.port" ] && return 0
		sleep 0.05
	done
	echo "demo: the sink did not start" >&2
	exit 1
}

cat > "$work/message.txt" << 'MSG'
From: Demo Sender <sender@example.org>
To: Alice <alice@example.org>
Subject: Hello from smtpc

This message went through libsmtpc.
.A line starting with a dot survives, thanks to dot-stuffing.
MSG

echo
echo "== SMTP: smtpc send to the sink on 127.0.0.1, with the transcript (--debug)"
start_sink smtp --listen 127.0.0.1:0
port=$(cat "$work/smtp.port")
set -x
build/smtpc send --server "smtp://127.0.0.1:$port" --from sender@example.org \
	--to alice@example.org --to bob@reject.test --debug "$work/message.txt" || echo "(exit status $?)"
{ set +x; } 2> /dev/null
echo
echo "== where the message landed"
find "$work/smtp-mail" -type f -path '*/new/*' | sed "s|$work/||"
echo "-- content of alice's copy:"
cat "$(find "$work/smtp-mail/alice@example.org/new" -type f | head -1)"
echo "-- the sink's delivery log:"
cat "$work/smtp-mail/deliveries.jsonl"

echo
echo "== LMTP over a Unix socket: one reply per recipient after the data (--json)"
start_sink lmtp --lmtp --unix "$work/lmtp.sock"
set -x
build/smtpc send --server "lmtp:$work/lmtp.sock" --from sender@example.org \
	--to alice@example.org,full@example.org --json "$work/message.txt" || echo "(exit status $?)"
{ set +x; } 2> /dev/null
