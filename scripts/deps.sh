#!/usr/bin/env bash
# Installs what smtpc needs on Debian 12, only what is missing.
#   scripts/deps.sh build   the compiler, CMake, OpenSSL, cmocka (enough for the demo)
#   scripts/deps.sh test    the above, plus the real servers of the interop tests and what
#                           scripts/man-check.sh needs (scdoc, man, zsh) and tests/install/deb.sh
#                           (dpkg-dev, debhelper, lintian)
# (The build makes the man pages only when scdoc is found: `build` does not need it.)
set -euo pipefail

want=(gcc make cmake pkg-config libssl-dev libcmocka-dev clang-format ca-certificates)
if [ "${1:-build}" = test ]; then
	want+=(clang-tidy cppcheck clang libclang-rt-14-dev valgrind)
fi
if [ "${1:-build}" = test ]; then
	want+=(postfix dovecot-core dovecot-lmtpd python3-aiosmtpd swaks openssl)
	# the libraries of exim4-daemon-light, which tests/interop/exim.sh runs unpacked
	want+=(libidn12 libgnutls-dane0 libgnutls30 libdb5.3 libnsl2 libpcre2-8-0 libcrypt1)
	want+=(scdoc man-db groff-base zsh)
	# tests/install/deb.sh: dpkg-buildpackage (Rules-Requires-Root: no, so no fakeroot), lintian
	want+=(dpkg-dev debhelper lintian)
	# the independent DKIM verifiers of tests/dkim/verify.sh and bench/dkim-bench
	want+=(python3-dkim python3-nacl opendkim opendkim-tools)
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (or: sudo $0 $*)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix would ask how to configure the system's mailer: the tests run their own.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
if ! apt-get install -y --no-install-recommends "${missing[@]}" > /tmp/smtpc-apt.log 2>&1; then
	apt-get update > /dev/null 2>&1 || true
	apt-get install -y --no-install-recommends "${missing[@]}" > /tmp/smtpc-apt.log 2>&1 || {
		tail -20 /tmp/smtpc-apt.log >&2
		exit 1
	}
fi
# Package scripts may start daemons on hosts with an init system; the tests
# run their own private instances and never use the system ones.
