#!/usr/bin/env bash
# The builds users and packagers run without reading, checked as CI does: Release with GCC
# and with Clang (warnings are errors here, never in the default a packager gets), then
# `cmake --install` into a scratch prefix.
#   scripts/release-builds.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for cc in gcc clang; do
	command -v "$cc" > /dev/null || { echo "release-builds: $cc not found" >&2; exit 1; }
	dir=build-release-$cc
	log=$dir.log
	echo "== Release build with $cc (-Werror), install"
	rm -rf "$dir" "$dir-prefix"
	{
		CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSMTPC_WERROR=ON \
			-DCMAKE_INSTALL_PREFIX="$PWD/$dir-prefix" &&
			cmake --build "$dir" -j"$(nproc)" &&
			cmake --install "$dir"
	} > "$log" 2>&1 || { tail -40 "$log"; exit 1; }
	test -x "$dir-prefix/bin/smtpc" || { echo "release-builds: smtpc not installed" >&2; exit 1; }
done
