# init.sh - the start every sink-backed CLI test shares, sourced first:
#   CLI_TEST=NAME; . "$(dirname "$0")/init.sh"
# takes SMTPC and SINK from the script's arguments (skips, 77, when they are not built or python3 is
# missing), sets HERE, PYTHON, TMP (a fresh directory), PIDS, PASSED, FAILED, then sources
# lib.sh (cleanup on exit, an empty configuration).
SMTPC=${1:?usage: test-cli-$CLI_TEST.sh SMTPC SMTPC-SINK}
SINK=${2:?usage: test-cli-$CLI_TEST.sh SMTPC SMTPC-SINK}
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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-$CLI_TEST.XXXXXX") || exit 1
PIDS=""
FAILED=0
PASSED=0
# shellcheck source=lib.sh
. "$HERE/lib.sh"
