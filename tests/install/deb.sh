#!/usr/bin/env bash
# deb.sh - the Debian packages (issue 13): builds libsmtpc0, libsmtpc-dev and smtpc with
# `dpkg-buildpackage -us -uc -b` in a copy of the tree (nocheck, parallel=2), runs lintian
# (an error fails), checks what each package holds, extracts them into a temporary root (the
# host's dpkg database is never touched), runs the extracted smtpc (--version, a send and the
# sendmail mode) against the extracted smtpc-sink, builds tests/install/consumer against the
# extracted -dev with pkg-config and with find_package(smtpc), and runs the package's own
# postinst/prerm in the temporary root (DPKG_ROOT): /usr/sbin/sendmail becomes smtpc, but a
# sendmail that is a file (an MTA's) is never replaced.
#   tests/install/deb.sh          about 1 min on 2 cores
# Exit status: 0 all passed, 1 a check failed.
# No `set -e`: a failed check is counted and the next one runs (as in consumer.sh).
set -uo pipefail

unset LD_LIBRARY_PATH
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-deb.XXXXXX") || exit 1
SINK_PID=""
FAILED=0
PASSED=0

cleanup() {
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
}

# check DESCRIPTION CMD...: CMD succeeds (its output, in $TMP/check.log, is shown on failure).
check() {
	local desc=$1
	shift
	if "$@" >"$TMP/check.log" 2>&1; then
		PASSED=$((PASSED + 1))
	else
		fail "$desc"
		head -c 3000 "$TMP/check.log"
		return 1
	fi
}

# ---------------------------------------------------------------- build
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
VERSION=$(sed -n 's/^project(smtpc VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
DEBVERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
MAJOR=${VERSION%%.*}
check "debian/changelog's upstream version ${DEBVERSION%-*} is CMakeLists.txt's $VERSION" \
	test "${DEBVERSION%-*}" = "$VERSION"

# The tracked and the new (not ignored) files only: no build-* tree, no log, and the
# debian/ build directories stay out of the source tree.
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || { echo "FAIL: $SRC is not a git checkout"; exit 1; }
mkdir "$TMP/src"
git -C "$SRC" ls-files -z --cached --others --exclude-standard |
	(cd "$SRC" && tar --null --ignore-failed-read -cf - -T -) | tar -xf - -C "$TMP/src"
echo "== dpkg-buildpackage -us -uc -b ($DEBVERSION, $ARCH, nocheck)"
if ! (cd "$TMP/src" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" \
	dpkg-buildpackage -us -uc -b -Pnocheck) >"$TMP/build.log" 2>&1; then
	tail -40 "$TMP/build.log"
	echo "FAIL: dpkg-buildpackage"
	exit 1
fi
check "dpkg-gensymbols: the exports match debian/libsmtpc0.symbols" \
	test "$(grep -c 'dpkg-gensymbols: warning' "$TMP/build.log")" -eq 0 ||
	grep -A20 'dpkg-gensymbols: warning' "$TMP/build.log"
for deb in libsmtpc0 libsmtpc-dev smtpc; do
	[ -f "$TMP/${deb}_${DEBVERSION}_$ARCH.deb" ] || { echo "FAIL: no $deb package"; exit 1; }
done
LIB=$TMP/libsmtpc0_${DEBVERSION}_$ARCH.deb
DEV=$TMP/libsmtpc-dev_${DEBVERSION}_$ARCH.deb
CLI=$TMP/smtpc_${DEBVERSION}_$ARCH.deb

echo "== lintian"
# Errors fail; warnings are shown. (Root is fine here: lintian only reads the packages.)
if lintian --fail-on error "$TMP/smtpc_${DEBVERSION}_$ARCH.changes" >"$TMP/lintian.log" 2>&1; then
	PASSED=$((PASSED + 1))
else
	fail "lintian reports errors"
fi
grep -v -e '^N:' -e '^running with root privileges' "$TMP/lintian.log" || true

# ---------------------------------------------------------------- contents
echo "== package contents"
# has DEB PATH [TARGET]: DEB holds PATH (a file, or a link to TARGET).
has() {
	local line
	line=$(dpkg-deb -c "$1" | awk -v p="./$2" '$6 == p')
	if [ $# -eq 3 ]; then
		[[ $line == *" -> $3" ]]
	else
		[[ -n $line && $line == -* ]]
	fi
}
L=usr/lib/$MA
check "libsmtpc0: $L/libsmtpc.so.$VERSION" has "$LIB" "$L/libsmtpc.so.$VERSION"
check "libsmtpc0: libsmtpc.so.$MAJOR -> libsmtpc.so.$VERSION" \
	has "$LIB" "$L/libsmtpc.so.$MAJOR" "libsmtpc.so.$VERSION"
check "libsmtpc0: nothing but the library and its documents" \
	test "$(dpkg-deb -c "$LIB" | awk '$1 !~ /^d/ {print $6}' |
		grep -cv -e "^./$L/libsmtpc\.so\.$MAJOR" -e '^./usr/share/doc/libsmtpc0/')" -eq 0
for f in usr/include/smtpc.h "$L/libsmtpc.a" "$L/pkgconfig/smtpc.pc" \
	"$L/cmake/smtpc/smtpcConfig.cmake" "$L/cmake/smtpc/smtpcConfigVersion.cmake" \
	"$L/cmake/smtpc/smtpcTargets.cmake" usr/share/man/man3/libsmtpc.3.gz \
	usr/share/man/man3/smtpc_sendmail.3.gz; do
	check "libsmtpc-dev: $f" has "$DEV" "$f"
done
check "libsmtpc-dev: libsmtpc.so -> libsmtpc.so.$MAJOR" has "$DEV" "$L/libsmtpc.so" "libsmtpc.so.$MAJOR"
check "libsmtpc-dev: depends on libsmtpc0 (= $DEBVERSION)" \
	grep -qF "libsmtpc0 (= $DEBVERSION)" <(dpkg-deb -f "$DEV" Depends)
for f in usr/bin/smtpc usr/bin/smtpc-sink usr/share/man/man1/smtpc.1.gz \
	usr/share/man/man1/smtpc-sink.1.gz usr/share/bash-completion/completions/smtpc \
	usr/share/zsh/vendor-completions/_smtpc usr/share/doc/smtpc/README.Debian; do
	check "smtpc: $f" has "$CLI" "$f"
done
check "smtpc: no /usr/sbin/sendmail of its own (an alternative only)" \
	test "$(dpkg-deb -c "$CLI" | grep -c sendmail)" -eq 0
check "smtpc: neither provides nor conflicts with mail-transport-agent" \
	test -z "$(dpkg-deb -f "$CLI" Provides Conflicts Breaks Replaces)"
check "smtpc: depends on libsmtpc0 (>= $VERSION)" \
	grep -qF "libsmtpc0 (>= $VERSION)" <(dpkg-deb -f "$CLI" Depends)

# ---------------------------------------------------------------- the extracted packages
echo "== the packages extracted into a temporary root"
ROOT=$TMP/root
for deb in "$LIB" "$DEV" "$CLI"; do
	dpkg-deb -x "$deb" "$ROOT"
done
export LD_LIBRARY_PATH=$ROOT/$L
SMTPC=$ROOT/usr/bin/smtpc
check "smtpc --version is 'smtpc $VERSION'" test "$("$SMTPC" --version)" = "smtpc $VERSION"
check "smtpc loads the extracted libsmtpc.so.$MAJOR" \
	grep -qF "libsmtpc.so.$MAJOR => $ROOT/$L/libsmtpc.so.$MAJOR" <(ldd "$SMTPC")

mkdir "$TMP/mail"
"$ROOT/usr/bin/smtpc-sink" --port-file "$TMP/port" --maildir "$TMP/mail" --quiet \
	2>"$TMP/sink.log" &
SINK_PID=$!
for _ in $(seq 200); do
	[ -s "$TMP/port" ] && break
	sleep 0.05
done
PORT=$(cat "$TMP/port" 2>/dev/null) || { echo "FAIL: smtpc-sink did not start"; cat "$TMP/sink.log"; exit 1; }

printf 'From: me@example.org\nTo: alice@example.org\nSubject: deb\n\nfrom the package\n' \
	>"$TMP/msg"
check "smtpc send to the sink" "$SMTPC" send --server "smtp://127.0.0.1:$PORT" \
	--from me@example.org --to alice@example.org "$TMP/msg"
check "the sink stored the message for alice" \
	grep -qx $'from the package\r' -r "$TMP/mail/alice@example.org/new"
# The sendmail mode, through a link named sendmail (what the alternative makes).
mkdir "$TMP/bin"
ln -s "$SMTPC" "$TMP/bin/sendmail"
check "sendmail -i bob@example.org (a link to the extracted smtpc)" \
	env SMTPC_CONFIG=/dev/null SMTPC_SERVER="smtp://127.0.0.1:$PORT" \
	"$TMP/bin/sendmail" -i -f me@example.org bob@example.org <"$TMP/msg"
check "the sink stored the message for bob" \
	grep -qx $'from the package\r' -r "$TMP/mail/bob@example.org/new"

# The -dev package: pkg-config with the temporary root as sysroot, then the CMake package.
PCDIR=$ROOT/$L/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$ROOT
export PKG_CONFIG_LIBDIR=$PCDIR:/usr/lib/$MA/pkgconfig:/usr/share/pkgconfig
check "pkg-config --modversion smtpc is $VERSION" test "$(pkg-config --modversion smtpc)" = "$VERSION"
read -r -a CFLAGS <<<"$(pkg-config --cflags smtpc)"
read -r -a LIBS <<<"$(pkg-config --libs smtpc)"
check "pkg-config --libs: -L$ROOT/$L" grep -qF -- "-L$ROOT/$L" <<<"${LIBS[*]}"
if check "consumer.c builds with pkg-config against the extracted -dev" \
	cc -std=c11 -Wall -Wextra -Werror "-DEXPECTED_VERSION=\"$VERSION\"" "${CFLAGS[@]}" \
	"$SRC/tests/install/consumer/consumer.c" "${LIBS[@]}" -o "$TMP/consumer"; then
	check "consumer (pkg-config) says EHLO to the sink" \
		grep -qxF "smtpc $VERSION: 250, CHUNKING yes" <("$TMP/consumer" "$PORT")
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
cmake_consumer() {
	cmake -S "$SRC/tests/install/consumer" -B "$TMP/consumer-cmake" -DCMAKE_PREFIX_PATH="$ROOT/usr" \
		-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON && cmake --build "$TMP/consumer-cmake"
}
if check "consumer builds with find_package(smtpc) from the extracted -dev" cmake_consumer; then
	check "find_package found $ROOT/$L/cmake/smtpc" \
		grep -qxF "smtpc_DIR:PATH=$ROOT/$L/cmake/smtpc" "$TMP/consumer-cmake/CMakeCache.txt"
	check "consumer (smtpc::smtpc_static) says EHLO to the sink" \
		grep -qxF "smtpc $VERSION: 250, CHUNKING yes" \
		<("$TMP/consumer-cmake/consumer_static" "$PORT")
fi

# ---------------------------------------------------------------- the alternative
echo "== postinst/prerm in the temporary root (DPKG_ROOT)"
dpkg-deb -e "$CLI" "$TMP/control"
# maint ROOT SCRIPT ARGS...: the package's maintainer script, run as dpkg would for ROOT.
maint() {
	local root=$1 script=$2
	shift 2
	mkdir -p "$root/etc/alternatives" "$root/var/lib/dpkg/alternatives" "$root/var/log" \
		"$root/usr/sbin" "$root/usr/lib"
	DPKG_ROOT=$root sh "$TMP/control/$script" "$@"
}
check "postinst configure" maint "$ROOT" postinst configure
check "/usr/sbin/sendmail -> /etc/alternatives/sendmail -> /usr/bin/smtpc" test \
	"$(readlink "$ROOT/usr/sbin/sendmail") $(readlink "$ROOT/etc/alternatives/sendmail")" = \
	"/etc/alternatives/sendmail /usr/bin/smtpc"
check "/usr/lib/sendmail -> /etc/alternatives/sendmail-lib -> /usr/bin/smtpc" test \
	"$(readlink "$ROOT/usr/lib/sendmail") $(readlink "$ROOT/etc/alternatives/sendmail-lib")" = \
	"/etc/alternatives/sendmail-lib /usr/bin/smtpc"
check "prerm remove" maint "$ROOT" prerm remove
check "prerm remove: /usr/sbin/sendmail and /usr/lib/sendmail are gone" \
	test ! -e "$ROOT/usr/sbin/sendmail" -a ! -L "$ROOT/usr/sbin/sendmail" -a ! -L "$ROOT/usr/lib/sendmail"
# An MTA's sendmail (a file) is there first: it stays as it is.
MTA=$TMP/mta
dpkg-deb -x "$CLI" "$MTA"
mkdir -p "$MTA/usr/sbin"
echo '#!/bin/sh' >"$MTA/usr/sbin/sendmail"
check "postinst configure with an MTA's /usr/sbin/sendmail" maint "$MTA" postinst configure
check "the MTA's /usr/sbin/sendmail is not replaced" \
	test ! -L "$MTA/usr/sbin/sendmail" -a "$(cat "$MTA/usr/sbin/sendmail")" = '#!/bin/sh'
check "prerm remove with an MTA's /usr/sbin/sendmail" maint "$MTA" prerm remove
check "the MTA's /usr/sbin/sendmail is still there" \
	test ! -L "$MTA/usr/sbin/sendmail" -a "$(cat "$MTA/usr/sbin/sendmail")" = '#!/bin/sh'

echo "deb: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
