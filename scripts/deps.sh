#!/usr/bin/env bash
# deps.sh GROUP... — install the Debian/Ubuntu packages tracesync needs, only
# those not yet installed (checked with dpkg-query). Needs root or sudo when
# something is missing; does nothing (and needs no privilege) otherwise.
#
# Groups:
#   build    compile the app: cgo + OpenGL/X11 headers (see docs in README)
#   run      build + the Mesa drivers a window needs
#   test     build + Xvfb, D-Bus, ImageMagick, xdotool for the smoke test
#   package  build + mingw-w64 (Windows cross-compile) and xz (the .tar.xz)
set -euo pipefail

build=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev
	ca-certificates) # the Go module proxy is reached over HTTPS
run=(libgl1-mesa-dri)
test=(xvfb xauth libgl1-mesa-dri dbus imagemagick xdotool x11-utils)
package=(gcc-mingw-w64-x86-64 xz-utils tar)

want=()
for group in "$@"; do
	case "$group" in
	build) want+=("${build[@]}") ;;
	run) want+=("${build[@]}" "${run[@]}") ;;
	test) want+=("${build[@]}" "${test[@]}") ;;
	package) want+=("${build[@]}" "${package[@]}") ;;
	*)
		echo "deps.sh: unknown group '$group' (build, run, test, package)" >&2
		exit 2
		;;
	esac
done

if ! command -v go >/dev/null 2>&1; then
	echo "deps.sh: Go is not installed (or not on PATH): tracesync needs Go 1.26 or newer, see https://go.dev/dl/" >&2
	exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: not a Debian/Ubuntu system: make sure these (or your system's equivalents) are installed:" >&2
	echo "  ${want[*]}" >&2
	exit 0
fi

missing=()
declare -A seen=()
for p in "${want[@]}"; do
	[[ -n "${seen[$p]:-}" ]] && continue
	seen[$p]=1
	if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#seen[@]} packages present ($*)"
	exit 0
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: these packages are missing and installing them needs root (sudo is not installed):" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
	echo "deps: installing ${missing[*]} (needs sudo)"
else
	echo "deps: installing ${missing[*]}"
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
