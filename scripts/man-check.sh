#!/usr/bin/env bash
# Checks the man pages (man/*.scd) and the shell completion (completion/), as CI does from
# scripts/test.sh:
# - builds the pages with CMake (scdoc) and installs them and the completion files into a
#   scratch prefix (only the man/ and completion/ directories);
# - renders every page with man(1): no warning allowed (MANWIDTH=80 man --warnings);
# - every SMTPC_API function of include/smtpc.h is named in a page and opens with
#   `man 3 NAME` (its page, or a link page to the page of its group);
# - every long option of the option table of cli/args.c (and its short option) is in
#   smtpc(1), and every key of the configuration file (cli/config.c); every option of
#   smtpc-sink (tools/sink/smtpc-sink.c) is in smtpc-sink(1);
# - bash completion: `smtpc se<TAB>` gives send, `smtpc send --star<TAB>` --starttls, every
#   long option is offered to the command it belongs to (and only to it), and the values of
#   --starttls, --8bit and --dsn-ret are those that cli/args.c accepts, --auth src/sasl.c's table;
# - zsh completion: names every long option, and `zsh -n` accepts it (when zsh is here).
# Each extraction from the sources is checked once against a copy with one name added, so
# that a check that cannot fail fails this script.
#   scripts/man-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v scdoc > /dev/null || { echo "man-check: scdoc not found (scripts/deps.sh test)" >&2; exit 1; }
command -v man > /dev/null || { echo "man-check: man not found (scripts/deps.sh test)" >&2; exit 1; }

dir=build-man-check
prefix=$PWD/$dir/prefix
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
	echo "man-check: $*" >&2
	fail=1
}

echo "== man pages: build (scdoc) and install"
{
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSMTPC_TESTS=OFF -DSMTPC_MAN=ON &&
		cmake --build "$dir" --target man &&
		rm -rf "$prefix" &&
		cmake -DCMAKE_INSTALL_PREFIX="$prefix" -P "$dir/man/cmake_install.cmake" &&
		cmake -DCMAKE_INSTALL_PREFIX="$prefix" -P "$dir/completion/cmake_install.cmake"
} > "$dir.log" 2>&1 || { tail -30 "$dir.log"; exit 1; }
mandir=$prefix/share/man
bash_completion=$prefix/share/bash-completion/completions/smtpc
zsh_completion=$prefix/share/zsh/vendor-completions/_smtpc
for f in "$mandir/man1/smtpc.1" "$mandir/man1/smtpc-sink.1" "$mandir/man3/libsmtpc.3" \
	"$bash_completion" "$zsh_completion"; do
	[ -s "$f" ] || bad "not installed: ${f#"$prefix"/}"
done

# The text of a page as man renders it, one long line per paragraph (no line breaks inside
# words to get in the way of the searches below).
render() {
	MANWIDTH=1000 man -l "$1" 2> /dev/null
}

echo "== man pages: render (man --warnings)"
pages=0
for page in "$mandir"/man1/*.1 "$mandir"/man3/*.3; do
	if head -1 "$page" | grep -q '^\.so '; then
		target=$mandir/$(sed -n '1s/^\.so //p' "$page")
		[ -s "$target" ] || bad "${page#"$mandir"/} links to a missing page"
		continue
	fi
	pages=$((pages + 1))
	out=$(cd "$mandir" && MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null) || bad "man failed on $page"
	[ -z "$out" ] || bad "warnings from man on ${page#"$mandir"/}: $out"
	render "$page" > "$tmp/$(basename "$page").txt"
	[ -s "$tmp/$(basename "$page").txt" ] || bad "${page#"$mandir"/} renders empty"
done
cat "$tmp"/*.3.txt > "$tmp/all3.txt"
render "$mandir/man1/smtpc.1" > "$tmp/smtpc.txt"
render "$mandir/man1/smtpc-sink.1" > "$tmp/sink.txt"
echo "$pages pages"

# ---------------------------------------------------------------- extraction from the sources

# The functions of the public API: every SMTPC_API declaration (one name per line).
api_functions() {
	local n_decl names
	n_decl=$(grep -c '^SMTPC_API ' "$1")
	names=$(grep '^SMTPC_API ' "$1" | grep -oE '\bsmtpc_[a-z0-9_]+[[:space:]]*\(' | tr -d '( ')
	if [ "$(printf '%s\n' "$names" | grep -c .)" -ne "$n_decl" ]; then
		echo "man-check: cannot read a function name on every SMTPC_API line of $1" >&2
		return 1
	fi
	printf '%s\n' "$names"
}

# The long options of the option table of cli/args.c: "name short_name commands" per line.
cli_options() {
	sed -n '/^static const struct opt_spec OPTIONS\[\] = {/,/^};/p' "$1" |
		sed -nE 's/^[[:space:]]*\{"([a-z0-9-]+)", *(0|'"'"'(.)'"'"'), *[A-Z0-9_]+, *[01], *(FOR_[A-Z]+)\},?$/\1 \3 \4/p' |
		awk 'NF == 2 { print $1, "-", $2; next } { print }'
}

# The keys of the configuration file (CONFIG_KEYS of cli/config.c).
config_keys() {
	sed -n '/CONFIG_KEYS\[\] = {/,/^};/p' "$1" | grep -oE '"[a-z0-9-]+"' | tr -d '"'
}

# The long options of smtpc-sink (its getopt_long table).
sink_options() {
	grep -oE '^[[:space:]]*\{"[a-z0-9-]+", (no|required)_argument' "$1" | grep -oE '"[a-z0-9-]+"' | tr -d '"'
}

# The values an option accepts: the strings its parser compares the value with.
parser_values() { # file function
	sed -n "/^static int $2(/,/^}/p" "$1" | grep -oE 'str(case)?cmp\(value, "[^"]+"\)' |
		sed -E 's/.*"([^"]+)".*/\1/'
}

# ---------------------------------------------------------------- the checks (file arguments,
# so that the self-test below can give them a copy with one name added)

check_functions() { # header
	local f names
	names=$(api_functions "$1") || return 1
	[ "$(printf '%s\n' "$names" | grep -c .)" -ge 60 ] || { echo "man-check: too few functions read from $1" >&2; return 1; }
	for f in $names; do
		grep -qE "(^|[^A-Za-z0-9_])$f([^A-Za-z0-9_]|$)" "$tmp/all3.txt" ||
			{ echo "man-check: $f (smtpc.h) is in no man page" >&2; return 1; }
		[ -s "$mandir/man3/$f.3" ] || { echo "man-check: no man3/$f.3 (page or link)" >&2; return 1; }
	done
}

check_options() { # args.c config.c
	local name short cmds n=0
	while read -r name short cmds; do
		n=$((n + 1))
		grep -qE -- "(^|[^a-z0-9-])--$name([^a-z0-9-]|$)" "$tmp/smtpc.txt" ||
			{ echo "man-check: --$name (cli/args.c) is not in smtpc(1)" >&2; return 1; }
		if [ "$short" != - ]; then
			grep -qE -- "(^|[^a-zA-Z0-9-])-$short([^a-zA-Z0-9-]|$)" "$tmp/smtpc.txt" ||
				{ echo "man-check: -$short (cli/args.c) is not in smtpc(1)" >&2; return 1; }
		fi
	done < <(cli_options "$1")
	[ "$n" -ge 30 ] || { echo "man-check: too few options read from $1" >&2; return 1; }
	for name in $(config_keys "$2"); do
		grep -qE -- "(^|[^a-z0-9-])$name([^a-z0-9-]|$)" \
			<(sed -n '/^CONFIGURATION/,/^OUTPUT/p' "$tmp/smtpc.txt") ||
			{ echo "man-check: configuration key '$name' is not in smtpc(1) CONFIGURATION" >&2; return 1; }
	done
}

check_sink_options() { # smtpc-sink.c
	local name n=0
	for name in $(sink_options "$1"); do
		n=$((n + 1))
		grep -qE -- "(^|[^a-z0-9-])--$name([^a-z0-9-]|$)" "$tmp/sink.txt" ||
			{ echo "man-check: --$name (smtpc-sink.c) is not in smtpc-sink(1)" >&2; return 1; }
	done
	[ "$n" -ge 10 ] || { echo "man-check: too few options read from $1" >&2; return 1; }
}

# What the bash completion offers for a command line (the last word is being completed).
complete_bash() {
	bash --norc --noprofile -c '
		set -u
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_smtpc smtpc "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' complete_bash "$bash_completion" "$@"
}

check_bash_completion() { # args.c
	local name short cmds got want
	got=$(complete_bash smtpc se)
	[ "$got" = send ] || { echo "man-check: bash: 'smtpc se<TAB>' gives '$got', not send" >&2; return 1; }
	got=$(complete_bash smtpc send --star)
	[ "$got" = --starttls ] || { echo "man-check: bash: 'smtpc send --star<TAB>' gives '$got'" >&2; return 1; }
	complete_bash smtpc send -- > "$tmp/send-options"
	complete_bash smtpc probe -- > "$tmp/probe-options"
	while read -r name short cmds; do
		grep -qx -- "--$name" "$tmp/send-options" ||
			{ echo "man-check: bash: 'smtpc send --<TAB>' does not offer --$name" >&2; return 1; }
		if [ "$cmds" = FOR_ALL ]; then
			grep -qx -- "--$name" "$tmp/probe-options" ||
				{ echo "man-check: bash: 'smtpc probe --<TAB>' does not offer --$name" >&2; return 1; }
		elif grep -qx -- "--$name" "$tmp/probe-options"; then
			echo "man-check: bash: 'smtpc probe --<TAB>' offers --$name, an option of send only" >&2
			return 1
		fi
	done < <(cli_options "$1")
	for pair in starttls:parse_starttls 8bit:parse_8bit dsn-ret:parse_dsn_ret; do
		want=$(parser_values "$1" "${pair#*:}" | sort)
		[ -n "$want" ] || { echo "man-check: no values read for --${pair%%:*}" >&2; return 1; }
		got=$(complete_bash smtpc send "--${pair%%:*}" '' | sort)
		[ "$got" = "$want" ] ||
			{ echo "man-check: bash: --${pair%%:*} values '$(echo $got)', cli/args.c accepts '$(echo $want)'" >&2; return 1; }
	done
	# --auth takes the mechanisms of the library's table (src/sasl.c; args.c asks it for them).
	want=$(sed -n '/^} mechs\[SMTPC__SASL_COUNT\] = {/,/^};/p' src/sasl.c |
		grep -oE '\{"[A-Z0-9-]+"' | tr -d '{"' | sort)
	got=$(complete_bash smtpc send --auth '' | sort)
	[ "$got" = "$want" ] ||
		{ echo "man-check: bash: --auth values '$(echo $got)', cli/args.c accepts '$(echo $want)'" >&2; return 1; }
}

check_zsh_completion() { # args.c
	local name short cmds
	while read -r name short cmds; do
		grep -qE -- "(^|[^a-z0-9-])--$name([^a-z0-9-]|$)" "$zsh_completion" ||
			{ echo "man-check: zsh: _smtpc does not name --$name" >&2; return 1; }
	done < <(cli_options "$1")
}

echo "== man pages: every function of smtpc.h, every option and configuration key"
check_functions include/smtpc.h || fail=1
check_options cli/args.c cli/config.c || fail=1
check_sink_options tools/sink/smtpc-sink.c || fail=1

echo "== man pages: every function opens with man 3 NAME"
for f in $(api_functions include/smtpc.h); do
	out=$(MANWIDTH=80 man --warnings -M "$mandir" 3 "$f" 2>&1 > "$tmp/one.txt") || { bad "man 3 $f failed"; continue; }
	[ -z "$out" ] || bad "warnings from man 3 $f: $out"
	grep -qw "$f" "$tmp/one.txt" || bad "man 3 $f does not show $f"
done

echo "== completion: bash and zsh"
check_bash_completion cli/args.c || fail=1
check_zsh_completion cli/args.c || fail=1
if command -v zsh > /dev/null; then
	zsh -n "$zsh_completion" || bad "zsh -n rejects _smtpc"
else
	echo "zsh not found: _smtpc syntax not checked"
fi

echo "== self-test: each check fails on a name it does not know"
cp include/smtpc.h "$tmp/smtpc.h"
echo 'SMTPC_API int smtpc_man_check_missing(smtpc *s);' >> "$tmp/smtpc.h"
sed 's/^    {"progress", 0, OPT_PROGRESS, 0, FOR_SEND},$/&\n    {"man-check-missing", 0, OPT_PROGRESS, 0, FOR_ALL},/' cli/args.c > "$tmp/args.c"
grep -q man-check-missing "$tmp/args.c" || bad "self-test: cannot add an option to a copy of cli/args.c"
sed 's/"domain",      "tls-verify",/& "man-check-missing",/' cli/config.c > "$tmp/config.c"
grep -q man-check-missing "$tmp/config.c" || bad "self-test: cannot add a key to a copy of cli/config.c"
sed 's/^\t    {"daemon", no_argument, NULL, OPT_DAEMON},$/&\n\t    {"man-check-missing", no_argument, NULL, OPT_DAEMON},/' \
	tools/sink/smtpc-sink.c > "$tmp/smtpc-sink.c"
grep -q man-check-missing "$tmp/smtpc-sink.c" || bad "self-test: cannot add an option to a copy of smtpc-sink.c"
for t in "check_functions $tmp/smtpc.h" "check_options $tmp/args.c cli/config.c" \
	"check_options cli/args.c $tmp/config.c" "check_sink_options $tmp/smtpc-sink.c" \
	"check_bash_completion $tmp/args.c" "check_zsh_completion $tmp/args.c"; do
	if $t 2> "$tmp/err"; then
		bad "self-test: '${t%% *}' passed with a name that is documented nowhere"
	elif ! grep -qE "man[-_]check[-_]missing" "$tmp/err"; then
		bad "self-test: '${t%% *}' failed for another reason: $(cat "$tmp/err")"
	fi
done

[ $fail -eq 0 ] && echo "man-check: ok"
exit $fail
