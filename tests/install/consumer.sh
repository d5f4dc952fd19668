#!/usr/bin/env bash
# consumer.sh - libsmtpc as a packager installs it and a user builds against it (issue 13).
# Checks an installed tree: the shared library's SONAME and symlinks, its exported symbols
# (the public API only), the installed command finding the library, the CMake package (its targets files hold no path of the source or
# build tree; find_package(smtpc) gives smtpc::smtpc and smtpc::smtpc_static and refuses
# another major version), smtpc.pc with and without --static; builds tests/install/consumer
# four ways (CMake shared and static, pkg-config shared and static) and runs each against
# the installed smtpc-sink and against a closed port; compiles the C example of README.md
# ("## The library") as it is and sends its message through the sink.
#
#   tests/install/consumer.sh                  Release build and install into a temporary
#                                              prefix first ($CC, default cc)
#   tests/install/consumer.sh PREFIX BUILD     an existing install of the build tree BUILD
#                                              (scripts/test.sh: the release builds)
# Exit status: 0 all passed, 1 a check failed.
set -uo pipefail

# Which libsmtpc a program loads is part of what is checked: the caller's search path is not.
unset LD_LIBRARY_PATH
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
SRC_AS_GIVEN=$(cd "$(dirname "$0")/../.." && pwd -L)
CC=${CC:-cc}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpc-install.XXXXXX") || exit 1
SINK_PID=""
FAILED=0
PASSED=0

cleanup() {
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
	PASSED=$((PASSED + 1))
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $*"
}

# check DESCRIPTION CMD...: CMD succeeds (its output goes to $TMP/check.log, shown on
# failure); returns CMD's success.
check() {
	desc=$1
	shift
	if "$@" >"$TMP/check.log" 2>&1; then
		pass
	else
		fail "$desc"
		head -c 3000 "$TMP/check.log"
		return 1
	fi
}

# no_match GREP-ARGS...: grep finds nothing (what it finds is the failure's log).
no_match() {
	! grep "$@"
}

# loaded_from BINARY: the file libsmtpc.so.MAJOR of BINARY resolves to (ldd; links followed).
loaded_from() {
	f=$(ldd "$1" | sed -n "s/^[[:space:]]*libsmtpc\.so\.$MAJOR => \(.*\) (0x[0-9a-f]*)\$/\1/p")
	[ -n "$f" ] && realpath "$f"
}

# ---------------------------------------------------------------- the installed tree
if [ $# -eq 0 ]; then
	BUILD=$TMP/build
	BUILD_AS_GIVEN=$BUILD
	PREFIX=$TMP/prefix
	echo "== Release build with $CC, install into a temporary prefix"
	{
		CC=$CC cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSMTPC_TESTS=OFF \
			-DCMAKE_INSTALL_PREFIX="$PREFIX" &&
			cmake --build "$BUILD" -j"$(nproc)" &&
			cmake --install "$BUILD"
	} >"$TMP/build.log" 2>&1 || { tail -40 "$TMP/build.log"; exit 1; }
elif [ $# -eq 2 ]; then
	PREFIX=$(cd "$1" && pwd -P) || exit 1
	BUILD=$(cd "$2" && pwd -P) || exit 1
	BUILD_AS_GIVEN=$(cd "$2" && pwd -L)
else
	echo "usage: consumer.sh [PREFIX BUILD-DIR]" >&2
	exit 1
fi
echo "== installed tree $PREFIX (built in $BUILD, consumers built with $CC)"

PC=$(find "$PREFIX" -name smtpc.pc -path '*/pkgconfig/*' | head -1)
[ -n "$PC" ] || { echo "FAIL: no smtpc.pc under $PREFIX"; exit 1; }
LIBDIR=$(dirname "$(dirname "$PC")")
VERSION=$(sed -n 's/^#define SMTPC_VERSION_STRING "\(.*\)"$/\1/p' "$PREFIX/include/smtpc.h")
MAJOR=${VERSION%%.*}
[ -n "$VERSION" ] || { echo "FAIL: no SMTPC_VERSION_STRING in $PREFIX/include/smtpc.h"; exit 1; }

# The shared library: the real file, the SONAME link, the development link; the archive.
check "libsmtpc.so.$VERSION is a file" test -f "$LIBDIR/libsmtpc.so.$VERSION" -a \
	! -L "$LIBDIR/libsmtpc.so.$VERSION"
check "libsmtpc.so.$MAJOR -> libsmtpc.so.$VERSION" \
	test "$(readlink "$LIBDIR/libsmtpc.so.$MAJOR")" = "libsmtpc.so.$VERSION"
check "libsmtpc.so -> libsmtpc.so.$MAJOR" \
	test "$(readlink "$LIBDIR/libsmtpc.so")" = "libsmtpc.so.$MAJOR"
check "libsmtpc.a" test -f "$LIBDIR/libsmtpc.a"
check "SONAME libsmtpc.so.$MAJOR" \
	grep -q "Library soname: \[libsmtpc.so.$MAJOR\]" <(readelf -d "$LIBDIR/libsmtpc.so.$VERSION")
check "no RPATH/RUNPATH in the library" \
	no_match -E 'RPATH|RUNPATH' <(readelf -d "$LIBDIR/libsmtpc.so.$VERSION")
# Only the public API is exported (-fvisibility=hidden, SMTPC_API): no smtpc__ internals.
nm -D --defined-only "$LIBDIR/libsmtpc.so.$VERSION" | awk '$2 ~ /^[TDBR]$/ {print $3}' \
	>"$TMP/exports"
for sym in smtpc_new smtpc_connect smtpc_sendmail smtpc_free; do
	check "exports: $sym" grep -qx -e "$sym" "$TMP/exports"
done
check "exports: nothing but smtpc_*" no_match -v -e '^smtpc_' -e '^_' "$TMP/exports"
check "exports: no internal smtpc__*" no_match -e '^smtpc__' "$TMP/exports"

# The CMake package: no path of this source tree or of the build tree (the import prefix is
# computed from the files' own place), and the include directory is the prefix's.
CMAKEDIR=$LIBDIR/cmake/smtpc
mapfile -t TREES < <(printf '%s\n' "$SRC" "$SRC_AS_GIVEN" "$BUILD" "$BUILD_AS_GIVEN" | sort -u)
for f in smtpcConfig.cmake smtpcConfigVersion.cmake smtpcTargets.cmake; do
	check "$f installed" test -f "$CMAKEDIR/$f"
done
for f in "$CMAKEDIR"/smtpcTargets*.cmake; do
	for p in "${TREES[@]}"; do
		check "$(basename "$f") holds no $p/" no_match -nF -e "$p/" -e "\"$p\"" "$f"
	done
	# Any absolute path at all (an include or library directory of the build machine).
	check "$(basename "$f") holds no absolute path" \
		no_match -v '^[0-9]*:#' <(grep -nE '("|;)/[[:alnum:]_.-]' "$f")
done
check "smtpcTargets.cmake: both targets have an include directory" \
	test "$(grep -c INTERFACE_INCLUDE_DIRECTORIES "$CMAKEDIR/smtpcTargets.cmake")" -eq 2
# shellcheck disable=SC2016 # the text of the file, not an expansion
check "smtpcTargets.cmake: include directory \${_IMPORT_PREFIX}/include only" \
	no_match -vxF '  INTERFACE_INCLUDE_DIRECTORIES "${_IMPORT_PREFIX}/include"' \
	<(grep INTERFACE_INCLUDE_DIRECTORIES "$CMAKEDIR/smtpcTargets.cmake")

# The command: it finds the library of its own prefix without LD_LIBRARY_PATH (RUNPATH
# $ORIGIN/../lib outside the system's library directories).
check "bin/smtpc --version runs without LD_LIBRARY_PATH" \
	grep -qx "smtpc $VERSION" <(env -u LD_LIBRARY_PATH "$PREFIX/bin/smtpc" --version)
check "bin/smtpc loads libsmtpc.so.$MAJOR from the prefix" \
	test "$(unset LD_LIBRARY_PATH && loaded_from "$PREFIX/bin/smtpc")" = \
	"$LIBDIR/libsmtpc.so.$VERSION"

# ---------------------------------------------------------------- a sink to talk to
SINK=$PREFIX/bin/smtpc-sink
mkdir -p "$TMP/mail"
"$SINK" --port-file "$TMP/port" --maildir "$TMP/mail" --quiet 2>"$TMP/sink.log" &
SINK_PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
PORT=$(cat "$TMP/port" 2>/dev/null) || { echo "FAIL: smtpc-sink did not start"; cat "$TMP/sink.log"; exit 1; }
# A port nothing listens on: a second sink's, once it has exited.
"$SINK" --port-file "$TMP/closed" --quiet &
pid=$!
i=0
while [ ! -s "$TMP/closed" ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill "$pid"
wait "$pid" 2>/dev/null
CLOSED=$(cat "$TMP/closed")

# run_consumer NAME BINARY [ENV...]: against the sink (exit 0, EHLO 250 with CHUNKING) and
# against the closed port (exit 1, SMTPConnectError).
run_consumer() {
	name=$1
	bin=$2
	shift 2
	check "$name: runs against the sink" \
		grep -qxF "smtpc $VERSION: 250, CHUNKING yes" <(env "$@" "$bin" "$PORT")
	env "$@" "$bin" "$CLOSED" >"$TMP/out" 2>&1
	rc=$?
	check "$name: closed port gives exit 1 (got $rc)" test $rc -eq 1
	check "$name: closed port gives SMTPConnectError" grep -q '^SMTPConnectError: ' "$TMP/out"
}

# needs BINARY LIB: the dynamic section of BINARY lists LIB.
needs() {
	readelf -d "$1" | grep -F "Shared library: [$2]" > /dev/null
}

# ---------------------------------------------------------------- find_package(smtpc)
echo "== find_package(smtpc): smtpc::smtpc, smtpc::smtpc_static"
CONSUMER=$TMP/consumer-cmake
if CC=$CC cmake -S "$SRC/tests/install/consumer" -B "$CONSUMER" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
	>"$TMP/cmake.log" 2>&1 && cmake --build "$CONSUMER" >>"$TMP/cmake.log" 2>&1; then
	pass
	check "smtpc_DIR is the installed package" \
		grep -qxF "smtpc_DIR:PATH=$CMAKEDIR" "$CONSUMER/CMakeCache.txt"
	check "smtpc::smtpc: consumer needs libsmtpc.so.$MAJOR" \
		needs "$CONSUMER/consumer_shared" "libsmtpc.so.$MAJOR"
	check "smtpc::smtpc: libsmtpc.so.$MAJOR loaded from the prefix" \
		test "$(loaded_from "$CONSUMER/consumer_shared")" = "$LIBDIR/libsmtpc.so.$VERSION"
	check "smtpc::smtpc_static: consumer does not need libsmtpc.so" \
		no_match -F libsmtpc <(readelf -d "$CONSUMER/consumer_static")
	check "smtpc::smtpc_static: OpenSSL linked through the target" \
		needs "$CONSUMER/consumer_static" libssl.so.3
	run_consumer "smtpc::smtpc" "$CONSUMER/consumer_shared"
	run_consumer "smtpc::smtpc_static" "$CONSUMER/consumer_static"
else
	fail "consumer project does not configure or build with find_package(smtpc)"
	tail -40 "$TMP/cmake.log"
fi
# smtpcConfigVersion.cmake: another major version is refused.
if CC=$CC cmake -S "$SRC/tests/install/consumer" -B "$TMP/consumer-wrong" \
	-DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
	-DSMTPC_WANT_VERSION=$((MAJOR + 1)).0 >"$TMP/wrong.log" 2>&1; then
	fail "find_package(smtpc $((MAJOR + 1)).0) accepted version $VERSION"
else
	check "find_package(smtpc $((MAJOR + 1)).0) refuses $VERSION" \
		grep -q "$CMAKEDIR/smtpcConfig.cmake, version: $VERSION" "$TMP/wrong.log"
fi

# ---------------------------------------------------------------- pkg-config
echo "== pkg-config smtpc (shared, --static)"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
check "pkg-config --modversion smtpc is $VERSION" test "$(pkg-config --modversion smtpc)" = "$VERSION"
check "pkg-config --cflags: -I$PREFIX/include" \
	test "$(pkg-config --cflags smtpc | xargs)" = "-I$PREFIX/include"
check "pkg-config --libs: -L$LIBDIR -lsmtpc" \
	test "$(pkg-config --libs smtpc | xargs)" = "-L$LIBDIR -lsmtpc"
check "pkg-config --static --libs: OpenSSL after -lsmtpc" \
	grep -qE -- '-lsmtpc .*-lssl .*-lcrypto' <(pkg-config --static --libs smtpc)
read -r -a CFLAGS <<<"$(pkg-config --cflags smtpc)"
read -r -a LIBS <<<"$(pkg-config --libs smtpc)"
read -r -a SLIBS <<<"$(pkg-config --static --libs smtpc)"
WARN=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
# The static link: libsmtpc.a (not the .so next to it) and everything --static lists.
STATIC=()
for a in "${SLIBS[@]}"; do
	if [ "$a" = -lsmtpc ]; then
		# shellcheck disable=SC2054 # linker options, not array elements
		STATIC+=(-Wl,-Bstatic -lsmtpc -Wl,-Bdynamic)
	else
		STATIC+=("$a")
	fi
done
if check "pkg-config: build (shared)" "$CC" "${WARN[@]}" "-DEXPECTED_VERSION=\"$VERSION\"" \
	"${CFLAGS[@]}" "$SRC/tests/install/consumer/consumer.c" "${LIBS[@]}" -o "$TMP/pc_shared"; then
	check "pkg-config shared: needs libsmtpc.so.$MAJOR" needs "$TMP/pc_shared" "libsmtpc.so.$MAJOR"
	run_consumer "pkg-config shared" "$TMP/pc_shared" LD_LIBRARY_PATH="$LIBDIR"
fi
if check "pkg-config: build (--static)" "$CC" "${WARN[@]}" "-DEXPECTED_VERSION=\"$VERSION\"" \
	"${CFLAGS[@]}" "$SRC/tests/install/consumer/consumer.c" "${STATIC[@]}" -o "$TMP/pc_static"; then
	check "pkg-config --static: does not need libsmtpc.so" \
		no_match -F libsmtpc <(readelf -d "$TMP/pc_static")
	run_consumer "pkg-config --static" "$TMP/pc_static"
fi

# ---------------------------------------------------------------- the README's example
echo "== README.md: the C example of \"## The library\""
awk '/^## The library/ {lib = 1; next} /^## / {lib = 0}
	lib && /^```c$/ {code = 1; next} code && /^```$/ {exit} code {print}' \
	"$SRC/README.md" >"$TMP/hello.c"
check "README.md has a C example under \"## The library\"" grep -q 'int main' "$TMP/hello.c"
if check "README example compiles as it is ($CC ${WARN[*]})" "$CC" "${WARN[@]}" "${CFLAGS[@]}" \
	"$TMP/hello.c" "${LIBS[@]}" -o "$TMP/hello"; then
	LD_LIBRARY_PATH=$LIBDIR "$TMP/hello" 127.0.0.1 "$PORT" >"$TMP/hello.out" 2>"$TMP/hello.err"
	rc=$?
	check "README example: exit 0 (got $rc: $(head -c 300 "$TMP/hello.err"))" test $rc -eq 0
	for rcpt in alice@example.org bob@example.org; do
		check "README example: $rcpt accepted" grep -q "^$rcpt: 250 " "$TMP/hello.out"
		check "README example: the sink stored the message for $rcpt" \
			grep -qx $'Hello from libsmtpc.\r' "$TMP/mail/$rcpt/new/"*
	done
	LD_LIBRARY_PATH=$LIBDIR "$TMP/hello" 127.0.0.1 "$CLOSED" >"$TMP/hello.out" 2>"$TMP/hello.err"
	rc=$?
	check "README example: closed port gives exit 1 (got $rc)" test $rc -eq 1
	check "README example: closed port: one line on stderr" test "$(wc -l <"$TMP/hello.err")" -eq 1
fi

echo "install: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
