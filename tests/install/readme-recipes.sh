#!/usr/bin/env bash
# readme-recipes.sh - runs the shell recipes of README.md against the bundled sink (issue 13;
# CTest: readme.recipes).
#   tests/install/readme-recipes.sh SMTPC SMTPC-SINK [README]
#
# Every ```sh block of the README is preceded by a marker line (an HTML comment, invisible
# on the rendered page); a block without one fails the test, so a new recipe is classified:
#   <!-- recipe: sink [ADDRESS...] -->   run it; afterwards the sink must have stored exactly
#                                        one message per ADDRESS listed (an address listed
#                                        twice: two messages), and nothing for anyone else
#   <!-- recipe: skip REASON -->         not run (a remote server, TLS with a real
#                                        certificate, OAuth, the quick start itself)
# A "sink" recipe runs as it is written, with `bash -e -o pipefail`, in an empty directory
# holding message.eml, msg and alert.txt, after these substitutions (and nothing else):
#   smtp://HOST[:PORT]         -> smtp://127.0.0.1:<the SMTP sink's port>
#   lmtp:/PATH                 -> lmtp:<the LMTP sink's Unix socket>
#   /etc/smtpc.conf            -> <tmp>/smtpc.conf (SMTPC_CONFIG names it: the file smtpc reads)
#   /usr/sbin/sendmail         -> <tmp>/bin/sendmail (<tmp>/bin, holding smtpc, is first on PATH)
# A recipe that still names /etc, /usr or /var after that is refused: it would change the host.
# Exit status: 0 all passed, 1 a check failed, 77 smtpc or the sink is not built.
set -euo pipefail

SMTPC=${1:?usage: readme-recipes.sh SMTPC SMTPC-SINK [README]}
SINK=${2:?usage: readme-recipes.sh SMTPC SMTPC-SINK [README]}
README=${3:-$(dirname "$0")/../../README.md}
[ -x "$SMTPC" ] || { echo "skip: $SMTPC not built"; exit 77; }
[ -x "$SINK" ] || { echo "skip: $SINK not built"; exit 77; }
SMTPC=$(cd "$(dirname "$SMTPC")" && pwd)/$(basename "$SMTPC")
SINK=$(cd "$(dirname "$SINK")" && pwd)/$(basename "$SINK")

T=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-readme.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
FAILED=0
PASSED=0
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
}

# ---------------------------------------------------------------- the recipes
# recipe.N.sh (the block) and recipe.N.mark (its marker), N = 1, 2, ...
awk -v dir="$T" '
	/^```sh$/ {
		n++
		mark = prev ~ /^<!-- recipe: .* -->$/ ? prev : ""
		sub(/^<!-- recipe: /, "", mark)
		sub(/ -->$/, "", mark)
		printf "%s\n", mark > (dir "/recipe." n ".mark")
		printf "" > (dir "/recipe." n ".sh")
		code = 1
		line = NR
		print line > (dir "/recipe." n ".line")
		next
	}
	code && /^```$/ { code = 0; next }
	code { print > (dir "/recipe." n ".sh") }
	{ prev = $0 }' "$README"

# ---------------------------------------------------------------- the sinks
mkdir "$T/mail" "$T/bin" "$T/home"
"$SINK" --port-file "$T/port" --maildir "$T/mail" --quiet 2>"$T/sink.log" &
PIDS+=($!)
"$SINK" --lmtp --unix "$T/lmtp.sock" --port-file "$T/lport" --maildir "$T/mail" --quiet \
	2>"$T/lsink.log" &
PIDS+=($!)
for _ in $(seq 200); do
	[ -s "$T/port" ] && [ -S "$T/lmtp.sock" ] && break
	sleep 0.05
done
PORT=$(cat "$T/port" 2>/dev/null) || { echo "FAIL: smtpc-sink did not start"; cat "$T/sink.log"; exit 1; }
[ -S "$T/lmtp.sock" ] || { echo "FAIL: the LMTP sink did not start"; cat "$T/lsink.log"; exit 1; }
ln -s "$SMTPC" "$T/bin/smtpc"

# ---------------------------------------------------------------- run each
n=0
ran=0
while [ -f "$T/recipe.$((n + 1)).sh" ]; do
	n=$((n + 1))
	mark=$(cat "$T/recipe.$n.mark")
	where="$(basename "$README"):$(cat "$T/recipe.$n.line")"
	case $mark in
	skip\ ?*)
		echo "== $where: skipped (${mark#skip })"
		continue
		;;
	sink | sink\ *) ;;
	*)
		fail "$where: a \`\`\`sh block without a <!-- recipe: sink|skip ... --> line before it"
		continue
		;;
	esac
	read -r -a want <<<"${mark#sink}"
	ran=$((ran + 1))
	# @T@ stands for the temporary directory while the result is checked for host paths.
	sed -E -e "s#smtp://(\[[^]]*\]|[A-Za-z0-9.-]+)(:[0-9]+)?#smtp://127.0.0.1:$PORT#g" \
		-e 's#lmtp:/[^ ]*#lmtp:@T@/lmtp.sock#g' \
		-e 's#/etc/smtpc\.conf#@T@/smtpc.conf#g' \
		-e 's#/usr/sbin/sendmail#@T@/bin/sendmail#g' "$T/recipe.$n.sh" >"$T/run.tmpl"
	echo "== $where: $(head -1 "$T/recipe.$n.sh")"
	if grep -nE '(^|[^[:alnum:]_.@-])/(etc|usr|var)(/|$)' "$T/run.tmpl"; then
		fail "$where: still names a path of the host after the substitutions"
		continue
	fi
	sed "s#@T@#$T#g" "$T/run.tmpl" >"$T/run.sh"
	# A fresh directory, empty configuration and the messages the recipes name.
	rm -rf "$T/work" "$T/bin/sendmail"
	mkdir "$T/work"
	: >"$T/smtpc.conf"
	for f in message.eml msg alert.txt; do
		printf 'From: me@example.org\nTo: you@example.net\nSubject: %s\n\nrecipe %s\n' \
			"$f" "$n" >"$T/work/$f"
	done
	mapfile -t before < <(find "$T/mail" -path '*/new/*' -type f | sort)
	if (cd "$T/work" && env -u SMTPC_SERVER HOME="$T/home" SMTPC_CONFIG="$T/smtpc.conf" \
		PATH="$T/bin:$PATH" timeout 60 bash -e -o pipefail "$T/run.sh") >"$T/out" 2>&1; then
		PASSED=$((PASSED + 1))
	else
		fail "$where: exit $? (the recipe after substitution, then its output):"
		sed 's/^/    /' "$T/run.sh"
		sed 's/^/  > /' "$T/out"
		continue
	fi
	# The deliveries: exactly the addresses of the marker, each as often as it is listed.
	mapfile -t after < <(find "$T/mail" -path '*/new/*' -type f | sort)
	got=$(comm -13 <(printf '%s\n' "${before[@]}") <(printf '%s\n' "${after[@]}") |
		sed -E "s#^$T/mail/([^/]*)/new/.*#\1#" | sort | xargs)
	expected=$(printf '%s\n' "${want[@]}" | sort | xargs)
	if [ "$got" = "$expected" ]; then
		PASSED=$((PASSED + 1))
	else
		fail "$where: the sink stored messages for '$got', the marker says '$expected'"
		sed 's/^/  > /' "$T/out"
	fi
done
[ "$ran" -gt 0 ] || fail "no recipe marked <!-- recipe: sink --> in $README"

echo "readme recipes: $ran run, $PASSED checks passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
