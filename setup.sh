#!/usr/bin/env bash
# Tawasul set-up: installs what is missing (Debian 12, as root), builds, and
# then starts the demo federation or runs the whole test suite.
#
#   ./setup.sh demo    install, build, start a hub and two nodes on loopback
#   ./setup.sh test    install, build, run every test (also with ASan+UBSan)
#   ./setup.sh build   install and build only
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  demo|test|build) ;;
  *) echo "usage: ./setup.sh demo|test|build" >&2; exit 2 ;;
esac

packages=(
  g++ cmake make pkg-config
  libzmq3-dev cppzmq-dev liblmdb-dev lmdb-utils libsodium-dev
  libboost-program-options-dev libboost-dev catch2 libcpp-httplib-dev nlohmann-json3-dev libicu-dev
  curl clang-format
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs="$(nproc)"
build() {  # build DIR [cmake options...]
  local dir="$1"; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAWASUL_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

echo "== building"
build build

case "$mode" in
  build) ;;
  demo)
    exec ./build/node/tawasul demo
    ;;
  test)
    echo "== tests"
    ctest --test-dir build --output-on-failure -j "$jobs"
    echo "== tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer"
    build build-asan -DTAWASUL_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j "$jobs"
    ;;
esac
