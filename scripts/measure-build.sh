#!/usr/bin/env bash
# Measures a cold build of keel (no compiler cache): configures BUILD_DIR from
# scratch with the given CMake arguments, builds it with -j2 under nice, and
# prints the CPU time (user + system) and the wall time. See docs/development.md.
#   scripts/measure-build.sh BUILD_DIR [CMAKE_ARGS...]
#   TARGET=keel_spec_test scripts/measure-build.sh build-cold-asan -DCMAKE_BUILD_TYPE=Debug ...
# BUILD_DIR is deleted first: use a directory of its own, never ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
dir=$1
shift
case "$dir" in
  build | build-asan | build-fuzz | . | / | "")
    echo "keel: measure in a directory of its own, not '$dir'" >&2
    exit 2
    ;;
esac
rm -rf "$dir"
export CCACHE_DISABLE=1
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
target=()
[ -n "${TARGET:-}" ] && target=(--target "$TARGET")
/usr/bin/time -v -o "$dir.time" nice -n 10 cmake --build "$dir" -j "${JOBS:-2}" "${target[@]}" >"$dir.log" 2>&1 || {
  tail -n 30 "$dir.log" >&2
  exit 1
}
awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} /Elapsed/ {w = $2}
  END {printf "cpu (user+sys): %.0f s   wall: %s\n", u + s, w}' "$dir.time"
echo "steps: $(grep -c '^\[' "$dir.log"), invalid precompiled headers: $(grep -c 'Winvalid-pch' "$dir.log" || true)"
