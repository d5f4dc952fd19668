#!/bin/sh
# test-cli-accounts.sh - the user's configuration and its accounts (issue 13, items 4 to 6),
# with a temporary HOME against two smtpc-sinks on loopback (a and b, told apart by their
# deliveries.jsonl): the default account, --account, the account of the envelope sender,
# an unknown account (78), ~/.msmtprc read when there is no smtpc file (and ignored when
# there is one; what it cannot carry over refused), passwords from commands and private
# files only, aliases in the sendmail mode, probe --account, the bash completion of account
# names. With aiosmtpd and openssl: an msmtprc account with STARTTLS and passwordeval.
#
# usage: tests/cli/test-cli-accounts.sh PATH/TO/smtpc PATH/TO/smtpc-sink
# Needs python3. Exit status: 0 all passed, 1 a test failed, 77 skipped.
set -u

CLI_TEST=accounts
# shellcheck source=init.sh
. "$(dirname "$0")/init.sh"

# Without SMTPC_CONFIG smtpc reads /etc/smtpc.conf under the user's file: not on this machine.
if [ -e /etc/smtpc.conf ]; then
	echo "skip: /etc/smtpc.conf exists (it would be read under the test's files)"
	exit 77
fi
EMPTY=$SMTPC_CONFIG
unset SMTPC_CONFIG XDG_CONFIG_HOME
HOME=$TMP/home
export HOME
CONF=$HOME/.config/smtpc/config
MSMTPRC=$HOME/.msmtprc
mkdir -p "$HOME/.config/smtpc" "$TMP/bin" "$TMP/a.maildir" "$TMP/b.maildir"
ln -s "$SMTPC" "$TMP/bin/sendmail"
SM=$TMP/bin/sendmail
printf 'Subject: hello\n\nbody\n' >"$TMP/msg.txt"
M=$TMP/msg.txt

for s in a b; do
	"$SINK" --port-file "$TMP/$s.port" --maildir "$TMP/$s.maildir" --quiet 2>"$TMP/$s.err" &
	PIDS="$PIDS $!"
	wait_file "$TMP/$s.port" || { echo "FAIL: smtpc-sink $s did not start"; exit 1; }
done
A="smtp://127.0.0.1:$(cat "$TMP/a.port")"
B="smtp://127.0.0.1:$(cat "$TMP/b.port")"

# stored SINK N DESC: SINK stored N messages in all.
stored() {
	n=$(cat "$TMP/$1.maildir/deliveries.jsonl" 2>/dev/null | wc -l)
	if [ "$n" -eq "$2" ]; then
		pass
	else
		fail "$3: sink $1 stored $n messages, expected $2"
	fi
}

# last SINK EXPR DESC: the last delivery of SINK holds the Python EXPR over d.
last() {
	if "$PYTHON" -c 'import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert eval(sys.argv[2]), (sys.argv[2], d)' "$TMP/$1.maildir/deliveries.jsonl" "$2" 2>"$TMP/pyerr"; then
		pass
	else
		fail "$3: $(tail -1 "$TMP/pyerr")"
	fi
}

# sendmail WANT DESC ARGS...: the sendmail link with the message on standard input.
sendmail() {
	want=$1
	desc=$2
	shift 2
	"$SM" "$@" <"$M" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ] && ! grep -q Sanitizer "$TMP/err"; then
		pass
	else
		fail "$desc: exit $rc, expected $want"
	fi
}

# ---------------------------------------------------------------- the smtpc file
cat >"$CONF" <<EOF
# defaults of every account
domain example.org
timeout 20

account work
server $A
from me@work.test
helo work.example
dsn-ret hdrs

account home
server $B
from me@home.test
aliases ~/aliases

account home2 : home
from other@home.test

default home
EOF
chmod 600 "$CONF"
printf '%s\n' '# local names' 'root: admin@example.org' 'staff: root, bob@example.org  # two' \
	'loop1: loop2' 'loop2: loop1' >"$HOME/aliases"

expect 0 "the default account" -- send --to x@ok.test "$M"
stored b 1 "the default account"
last b 'd["mail_from"] == "me@home.test"' "the default account's from"
expect 0 "--account work" -- send --account work --to x@ok.test "$M"
stored a 1 "--account work"
last a 'd["mail_from"] == "me@work.test" and d["helo"] == "work.example" and "RET=HDRS" in d["mail_options"]' \
	"--account work: its from, helo, dsn-ret"
expect 0 "--account=home2 (inherits home)" -- send --account=home2 --to x@ok.test "$M"
stored b 2 "--account=home2"
last b 'd["mail_from"] == "other@home.test"' "--account=home2: its own from"
expect 0 "--from wins over the account's from" -- send --account work --from you@work.test \
	--to x@ok.test "$M"
last a 'd["mail_from"] == "you@work.test"' "--from wins"
expect 0 "--server wins over the account" -- send --account work --server "$B" --to x@ok.test "$M"
stored b 3 "--server wins"

# the account whose from is the envelope sender: the domain in any case, the local part as is
expect 0 "the account of --from" -- send --from me@WORK.Test --to x@ok.test "$M"
stored a 3 "the account of --from"
expect 0 "another local part: the default account" -- send --from ME@work.test --to x@ok.test "$M"
stored b 4 "another local part: the default account"
expect 0 "-f chooses the account" -- send -f other@home.test --to x@ok.test "$M"
stored b 5 "-f chooses the account"

expect 78 "an unknown --account" -- send --account nope --to x@ok.test "$M"
has err "smtpc: $CONF: no account 'nope'" "an unknown --account: the file"
stored a 3 "an unknown --account sends nothing"
expect 78 "probe --account nope" -- probe --account nope
expect 0 "probe --account work" -- probe --account work --json
json_check "d['server'] == '$A'" "probe --account work: its server"
expect 0 "probe: the default account" -- probe --json
json_check "d['server'] == '$B'" "probe: the default account's server"
expect 64 "--account ''" -- send --account '' --to x@ok.test "$M"

# SMTPC_CONFIG replaces every other file
SMTPC_CONFIG=$EMPTY expect 64 "SMTPC_CONFIG: the user's file is not read" -- send --to x@ok.test "$M"
has err "missing --server URL" "SMTPC_CONFIG: the user's file is not read"

# ---------------------------------------------------------------- the sendmail mode
sendmail 0 "sendmail: the default account" x@ok.test
last b 'd["mail_from"] == "me@home.test" and d["rcpt_to"] == ["x@ok.test"]' "sendmail: the default account"
sendmail 0 "sendmail -a work" -a work x@ok.test
last a 'd["mail_from"] == "me@work.test"' "sendmail -a work"
sendmail 0 "sendmail --account=work" --account=work x@ok.test
stored a 5 "sendmail --account=work"
sendmail 0 "sendmail --account work -i" --account work -i x@ok.test
stored a 6 "sendmail --account work"
sendmail 0 "sendmail -f chooses the account" -f me@work.test x@ok.test
stored a 7 "sendmail -f chooses the account"
sendmail 78 "sendmail -a nope" -a nope x@ok.test
sendmail 64 "sendmail -a twice" -a work --account home x@ok.test

# aliases (the account home): root, a list with an alias in it, default absent
sendmail 0 "aliases: root" root
last b 'd["rcpt_to"] == ["admin@example.org"]' "aliases: root is admin@example.org"
sendmail 0 "aliases: a list, an alias in it" staff x@ok.test
last b 'd["rcpt_to"] == ["admin@example.org", "bob@example.org", "x@ok.test"]' "aliases: staff"
sendmail 0 "aliases: no entry, no default: the domain" carol
last b 'd["rcpt_to"] == ["carol@example.org"]' "aliases: carol@example.org"
sendmail 0 "aliases: 'Root <root>'" 'Root <root>'
last b 'd["rcpt_to"] == ["admin@example.org"]' "aliases: a display name"
sendmail 78 "aliases: a loop" loop1
has err "aliases nested too deep" "aliases: a loop"
sendmail 0 "aliases: not for the account work" -a work root
last a 'd["rcpt_to"] == ["root@example.org"]' "aliases: not for the account work"
printf 'default: catchall@example.org\nroot: admin@example.org\n' >"$HOME/aliases"
sendmail 0 "aliases: default" carol root
last b 'd["rcpt_to"] == ["catchall@example.org", "admin@example.org"]' "aliases: default"
printf 'root admin@example.org\n' >"$HOME/aliases"
sendmail 78 "aliases: a line without ':'" root
has err "$HOME/aliases:1: expected one ':'" "aliases: the file and line"
sendmail 0 "aliases: not read without a local name" x@ok.test
rm "$HOME/aliases"
sendmail 78 "aliases: a missing file" root
has err "$HOME/aliases: No such file or directory" "aliases: a missing file"

# ---------------------------------------------------------------- the file's own checks
chmod 666 "$CONF"
expect 78 "a user file writable by others" -- send --to x@ok.test "$M"
has err "writable by group or others" "a user file writable by others"
chmod 600 "$CONF"
cp "$CONF" "$TMP/good.conf"
for bad in 'default home2' 'account work' 'account x : nope' 'account a,b' 'frobnicate 1' \
	'from a@x.test
from b@x.test'; do
	{ cat "$TMP/good.conf"; printf '%s\n' "$bad"; } >"$CONF"
	expect 78 "a bad line: $bad" -- send --to x@ok.test "$M"
	has err "smtpc: $CONF:" "a bad line: $bad: the file and line"
done
printf 'default nope\naccount x : x\n' >"$CONF"
expect 78 "an account its own parent" -- send --to x@ok.test "$M"
has err "$CONF:2: no such account (yet): 'x'" "an account its own parent"
printf 'default nope\naccount x\nserver %s\n' "$A" >"$CONF"
expect 78 "default names no account" -- send --to x@ok.test "$M"
has err "$CONF:1: no such account: 'nope'" "default names no account"
cp "$TMP/good.conf" "$CONF"
expect 0 "the file is whole again" -- send --to x@ok.test "$M"

# ---------------------------------------------------------------- passwords
# a Unix socket is local: AUTH without TLS (fake-server.py accepts alice / "pässwörd 1")
"$PYTHON" "$HERE/fake-server.py" auth "$TMP/fake.port" --lmtp --unix "$TMP/auth.sock" \
	2>"$TMP/fake.log" &
PIDS="$PIDS $!"
wait_file "$TMP/fake.port" || { echo "FAIL: fake-server.py did not start"; exit 1; }
printf 'pässwörd 1\n' >"$TMP/pw"
chmod 600 "$TMP/pw"
cat >>"$CONF" <<EOF

account lmtp-cmd
server lmtp:$TMP/auth.sock
from alice@x.test
user alice
password-cmd cat '$TMP/pw'

account lmtp-file
server lmtp:$TMP/auth.sock
from alice@x.test
user alice
password-file $TMP/pw
EOF
expect 0 "password-cmd of an account" -- send --account lmtp-cmd --to x@ok.test --json "$M"
json_check 'd["auth"] == {"mechanism": "PLAIN", "ok": True}' "password-cmd of an account"
no_secret "password-cmd of an account" "pässwörd 1"
expect 0 "password-file of an account, mode 0600" -- send --account lmtp-file --to x@ok.test "$M"
chmod 640 "$TMP/pw"
expect 78 "password-file of an account, mode 0640" -- send --account lmtp-file --to x@ok.test "$M"
has err "refused password-file '$TMP/pw': readable or writable by group or others (chmod 600 it)" \
	"password-file 0640: why"
chmod 644 "$TMP/pw"
expect 78 "password-file of an account, mode 0644" -- send --account lmtp-file --to x@ok.test "$M"
expect 0 "--password-file 0644 on the command line: a warning" -- send --account lmtp-file \
	--user alice --password-file "$TMP/pw" --to x@ok.test "$M"
has err "is readable by group or others" "--password-file 0644 on the command line"
chmod 600 "$TMP/pw"
# files of someone else (root can make them)
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	chown nobody "$TMP/pw"
	expect 78 "password-file of another user" -- send --account lmtp-file --to x@ok.test "$M"
	has err "refused password-file '$TMP/pw': not owned by the user running smtpc" \
		"password-file of another user: why"
	chown 0 "$TMP/pw"
	chown nobody "$CONF"
	expect 78 "a user file of another user" -- send --to x@ok.test "$M"
	has err "$CONF: refused: not owned by the user running smtpc" "a user file of another user"
	chown 0 "$CONF"
fi
# the account's credentials go to its own server only
expect 0 "another --server: not the account's credentials" -- send --account lmtp-cmd \
	--server "$A" --to x@ok.test --json "$M"
json_check 'd["auth"] is None' "another --server: no AUTH"

# ---------------------------------------------------------------- ~/.msmtprc
mv "$CONF" "$TMP/smtpc.conf.saved"
PA=$(cat "$TMP/a.port")
PB=$(cat "$TMP/b.port")
cat >"$MSMTPRC" <<EOF
# msmtp's own file
defaults
port $PB
tls off
logfile ~/msmtp.log

account relay
host 127.0.0.1
from relay@msmtp.test
domain relay.example
aliases "~/msmtp-aliases"

account other : relay
port $PA
from other@msmtp.test

account default : relay

account secret
host 127.0.0.1
password s3cr3t-in-file
auth on
user alice

account nocheck
host 127.0.0.1
tls on
tls_certcheck off

account sha1
host 127.0.0.1
tls on
tls_fingerprint 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67

account clear
host 127.0.0.1
auth on
user alice
passwordeval cat '$TMP/pw'

account crl : relay
tls_crl_file /etc/ssl/revoked.crl
dsn_notify failure,delay
dsn_return headers
EOF
chmod 644 "$MSMTPRC"
printf 'root: msmtp-admin@example.org\n' >"$HOME/msmtp-aliases"
expect 0 "msmtprc: the account default" -- send --to x@ok.test "$M"
last b 'd["mail_from"] == "relay@msmtp.test" and d["helo"] == "relay.example"' "msmtprc: from, domain"
expect 0 "msmtprc: --account other (inherits relay)" -- send --account other --to x@ok.test "$M"
last a 'd["mail_from"] == "other@msmtp.test" and d["helo"] == "relay.example"' "msmtprc: other"
expect 0 "msmtprc: the account of --from" -- send --from other@msmtp.test --to x@ok.test "$M"
last a 'd["mail_from"] == "other@msmtp.test"' "msmtprc: the account of --from"
if [ -s "$HOME/msmtp.log" ]; then pass; else fail "msmtprc: logfile ~/msmtp.log not written"; fi
sendmail 0 "msmtprc: aliases in the sendmail mode" root
last b 'd["rcpt_to"] == ["msmtp-admin@example.org"]' "msmtprc: aliases"
expect 78 "msmtprc: password in the file refused" -- send --account secret --to x@ok.test "$M"
has err "$MSMTPRC:21: password: smtpc takes passwords from a command or a file only" "msmtprc: password"
no_secret "msmtprc: password" "s3cr3t-in-file"
expect 78 "msmtprc: tls_certcheck off refused" -- send --account nocheck --to x@ok.test "$M"
has err "$MSMTPRC:28: tls_certcheck off" "msmtprc: tls_certcheck off"
expect 78 "msmtprc: an SHA-1 fingerprint refused" -- send --account sha1 --to x@ok.test "$M"
has err "$MSMTPRC:33: tls_fingerprint: an SHA-1 or MD5 fingerprint" "msmtprc: SHA-1 fingerprint"
expect 0 "msmtprc: tls_crl_file, dsn_notify, dsn_return" -- send --account crl --to x@ok.test "$M"
has err "smtpc: warning: $MSMTPRC:42: tls_crl_file ignored" "msmtprc: tls_crl_file: a warning"
last b 'd["mail_options"][-1] == "RET=HDRS" and d["rcpt_options"][0][0] == "NOTIFY=FAILURE,DELAY"' \
	"msmtprc: dsn_notify, dsn_return"
expect 64 "msmtprc: credentials with tls off refused" -- send --account clear --from a@x.test \
	--to x@ok.test "$M"
has err "credentials need --starttls required" "msmtprc: credentials with tls off"
chmod 664 "$MSMTPRC"
expect 78 "msmtprc writable by the group" -- send --to x@ok.test "$M"
chmod 644 "$MSMTPRC"

# the smtpc file, when there is one, and not msmtp's
printf 'server %s\nfrom smtpc@x.test\n' "$A" >"$CONF"
chmod 600 "$CONF"
expect 0 "msmtprc ignored under an smtpc file" -- send --to x@ok.test "$M"
last a 'd["mail_from"] == "smtpc@x.test"' "msmtprc ignored under an smtpc file"
expect 78 "msmtprc ignored: its accounts too" -- send --account relay --to x@ok.test "$M"
printf 'account x\nserver %s\n' "$A" >"$CONF"
expect 64 "accounts, none chosen, no default" -- send --from a@x.test --to x@ok.test "$M"
has err "$CONF has accounts but no default one: give --account NAME" "accounts, no default: the hint"
sendmail 78 "sendmail: accounts, none chosen, no default" x@ok.test
has err "has accounts but no default one" "sendmail: accounts, no default: the hint"
rm "$CONF"

# ---------------------------------------------------------------- msmtprc with STARTTLS
if /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && command -v openssl >/dev/null; then
	C=$TMP/certs
	mkdir -p "$C"
	if (
		set -e
		umask 077
		openssl req -x509 -newkey EC -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/ca.key" \
			-sha256 -days 2 -out "$C/ca.pem" -subj "/CN=smtpc accounts test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
		openssl req -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$C/server.key" -out "$C/server.csr" -subj "/CN=localhost"
		printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
			>"$C/server.ext"
		openssl x509 -req -sha256 -days 2 -in "$C/server.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
			-set_serial 7 -extfile "$C/server.ext" -out "$C/server.pem"
	) >"$TMP/openssl.log" 2>&1; then
		/usr/bin/python3 "$HERE/aiosmtpd-tls.py" starttls "$TMP/tls.port" "$C/server.pem" \
			"$C/server.key" "$TMP/tls.out" 2>"$TMP/tls.log" &
		PIDS="$PIDS $!"
		if wait_file "$TMP/tls.port"; then
			cat >>"$MSMTPRC" <<EOF

account tls
host 127.0.0.1
port $(cat "$TMP/tls.port")
tls on
tls_trust_file $C/ca.pem
auth on
user alice
passwordeval cat '$TMP/pw'
EOF
			expect 0 "msmtprc: STARTTLS, tls_trust_file, passwordeval" -- send --account tls \
				--from a@x.test --to x@ok.test --debug "$M"
			has err "send: STARTTLS" "msmtprc: STARTTLS"
			has err "send: AUTH PLAIN [redacted]" "msmtprc: AUTH with the passwordeval password"
			no_secret "msmtprc: passwordeval" "pässwörd 1"
			if grep -q '"alice"' "$TMP/tls.out/1.json" 2>/dev/null; then
				pass
			else
				fail "msmtprc: the server did not see alice authenticated"
			fi
		else
			fail "aiosmtpd did not start: $(cat "$TMP/tls.log")"
		fi
	else
		fail "cannot make the test certificates: $(cat "$TMP/openssl.log")"
	fi
else
	echo "note: no aiosmtpd or openssl: the msmtprc STARTTLS test is skipped"
fi

# ---------------------------------------------------------------- completion
mv "$TMP/smtpc.conf.saved" "$CONF"
# complete SHELL-WORDS...: what the bash completion offers for the last word.
complete_bash() {
	bash --norc --noprofile -c '
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_smtpc
		printf "%s\n" "${COMPREPLY[@]}"' complete_bash "$HERE/../../completion/smtpc.bash" "$@"
}
got=$(complete_bash smtpc send --account '' | sort | tr '\n' ' ')
want="home home2 lmtp-cmd lmtp-file work "
if [ "$got" = "$want" ]; then pass; else fail "bash: --account offers '$got', not '$want'"; fi
got=$(complete_bash smtpc probe --account = w | tr '\n' ' ')
if [ "$got" = "work " ]; then pass; else fail "bash: --account=w offers '$got'"; fi
mv "$CONF" "$TMP/smtpc.conf.saved"
got=$(complete_bash smtpc send --account '' | sort | tr '\n' ' ')
want="clear crl default nocheck other relay secret sha1 "
[ -e "$TMP/tls.port" ] && want="clear crl default nocheck other relay secret sha1 tls "
if [ "$got" = "$want" ]; then pass; else fail "bash: msmtprc accounts '$got', not '$want'"; fi

echo "test-cli-accounts: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
