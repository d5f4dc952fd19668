#!/bin/sh
# test-cli-msmtp.sh - what msmtp users expect of smtpc (issue 13, item 5): --source-ip
# (and the source-ip key), against smtpc-sink on loopback, whose --log names the
# address each connection comes from.
#
# usage: tests/cli/test-cli-msmtp.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

SMTPC=${1:?usage: test-cli-msmtp.sh SMTPC SMTPC-SINK}
SINK=${2:?usage: test-cli-msmtp.sh SMTPC SMTPC-SINK}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3 || true)
fi
[ -x "$SMTPC" ] || { echo "skip: $SMTPC not built"; exit 77; }
[ -x "$SINK" ] || { echo "skip: $SINK not built"; exit 77; }
[ -n "$PYTHON" ] || { echo "skip: no python3"; exit 77; }
SMTPC=$(cd "$(dirname "$SMTPC")" && pwd)/$(basename "$SMTPC")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-msmtp.XXXXXX") || exit 1
PIDS=""
FAILED=0
PASSED=0
# shellcheck source=lib.sh
. "$HERE/lib.sh"
EMPTY=$SMTPC_CONFIG

mkdir -p "$TMP/sink.maildir" "$TMP/bin"
"$SINK" --port-file "$TMP/sink.port" --maildir "$TMP/sink.maildir" --log "$TMP/sink.log" \
	--quiet 2>"$TMP/sink.err" &
PIDS="$PIDS $!"
wait_file "$TMP/sink.port" || { echo "FAIL: smtpc-sink did not start"; exit 1; }
U="smtp://127.0.0.1:$(cat "$TMP/sink.port")"
ln -s "$SMTPC" "$TMP/bin/sendmail"
SM=$TMP/bin/sendmail
printf 'Subject: hello\n\nbody\n' >"$TMP/msg.txt"

# peer ADDR DESC: the last connection the sink logged came from ADDR.
peer() {
	last=$(grep '\*: connect from ' "$TMP/sink.log" | tail -1)
	case $last in
	*"connect from $1:"*) pass ;;
	*) fail "$2: the sink saw '$last', expected $1" ;;
	esac
}

# ---------------------------------------------------------------- --source-ip
STDIN=$TMP/msg.txt
expect 0 "--source-ip 127.0.0.2" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip 127.0.0.2
peer 127.0.0.2 "--source-ip 127.0.0.2"
expect 0 "--source-ip=127.0.0.3" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip=127.0.0.3
peer 127.0.0.3 "--source-ip=127.0.0.3"
expect 0 "probe --source-ip 127.0.0.4" -- probe --server "$U" --source-ip 127.0.0.4
peer 127.0.0.4 "probe --source-ip"
expect 0 "no --source-ip" -- send --server "$U" --from a@x.test --to b@ok.test
peer 127.0.0.1 "no --source-ip: the default address"
printf 'server %s\nsource-ip 127.0.0.5\n' "$U" >"$TMP/src.conf"
SMTPC_CONFIG=$TMP/src.conf expect 0 "the source-ip key" -- send --from a@x.test --to b@ok.test
peer 127.0.0.5 "the source-ip key"
SMTPC_CONFIG=$TMP/src.conf expect 0 "--source-ip wins over the key" -- send --from a@x.test \
	--to b@ok.test --source-ip 127.0.0.6
peer 127.0.0.6 "--source-ip wins over the key"
cat "$TMP/msg.txt" | SMTPC_CONFIG=$TMP/src.conf "$SM" b@ok.test >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ]; then pass; else fail "sendmail mode with source-ip: exit $?"; fi
peer 127.0.0.5 "the sendmail mode reads source-ip"

n=$(grep -c '\*: connect from ' "$TMP/sink.log")
for bad in foo 127.0.0 '127.0.0.1 ' '' 'localhost' "$(printf '127.0.0.1\r\nX')"; do
	expect 64 "--source-ip '$bad'" -- send --server "$U" --from a@x.test --to b@ok.test \
		--source-ip "$bad"
	has err "invalid --source-ip" "--source-ip '$bad': the message"
done
expect 64 "--source-ip twice" -- send --server "$U" --from a@x.test --to b@ok.test \
	--source-ip 127.0.0.2 --source-ip 127.0.0.3
if [ "$(grep -c '\*: connect from ' "$TMP/sink.log")" -eq "$n" ]; then
	pass
else
	fail "a bad --source-ip connected"
fi
# a well-formed address that is not this host's: bind() fails, EADDRNOTAVAIL
expect 68 "--source-ip 192.0.2.1 (not this host's)" -- send --server "$U" --from a@x.test \
	--to b@ok.test --source-ip 192.0.2.1
has err "Cannot assign requested address" "--source-ip 192.0.2.1: the reason"
printf 'server %s\nsource-ip nowhere\n' "$U" >"$TMP/bad.conf"
SMTPC_CONFIG=$TMP/bad.conf expect 78 "source-ip key not an address" -- send --from a@x.test \
	--to b@ok.test
has err "invalid value for 'source-ip'" "source-ip key: file and line"
STDIN=/dev/null

echo "test-cli-msmtp: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
