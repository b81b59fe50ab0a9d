#!/usr/bin/env bash
# Builds keel's libFuzzer targets into ./build-fuzz (clang 16, ASan + UBSan)
# and runs them. See docs/development.md.
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target (workflow, template, duration,
#                                    api_body, http_head) for SECONDS
#   scripts/fuzz.sh all SECONDS      fuzz each target for SECONDS
#   scripts/fuzz.sh replay           run every file of fuzz/corpus once (regression check)
# New inputs go to a scratch corpus in $KEEL_FUZZ_WORK (default /tmp/keel-fuzz),
# never into the repository; a crashing input is copied to fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(workflow template duration api_body http_head)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=${KEEL_FUZZ_WORK:-/tmp/keel-fuzz}
# Readable stacks in sanitizer reports (llvm-16 ships the symbolizer).
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-16/bin/llvm-symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

install_tools() {
  ./scripts/install-deps.sh
  local missing=()
  for p in clang-16 libfuzzer-16-dev libclang-rt-16-dev llvm-16; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "keel: installing missing packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  fi
}

build() {
  install_tools
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    CC=clang-16 CXX=clang++-16 cmake -S . -B "$BUILD_DIR" -G Ninja -DKEEL_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target keel_fuzzers
}

binary() { echo "$BUILD_DIR/fuzz/${1}_fuzzer"; }

check_target() {
  local t
  for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done
  echo "keel: unknown fuzz target '$1' (one of ${TARGETS[*]})" >&2
  exit 2
}

# Fuzzes $1 for $2 seconds: the repository corpus is read, new inputs are
# written to the scratch corpus only.
run() {
  local target=$1 seconds=$2
  local scratch="$WORK/$target"
  mkdir -p "$scratch/corpus" "$scratch/artifacts"
  echo "== fuzzing $target for ${seconds}s (scratch: $scratch)" >&2
  local status=0 dict=()
  [ -f "fuzz/dict/$target.dict" ] && dict=(-dict="fuzz/dict/$target.dict")
  "$(binary "$target")" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "${dict[@]}" \
    "$scratch/corpus" "fuzz/corpus/${target}_fuzzer" >"$scratch/log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$scratch/log" >&2 || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch/log" >&2
    mkdir -p fuzz/crashes
    local f
    for f in "$scratch"/artifacts/*; do
      [ -e "$f" ] || continue
      cp "$f" "fuzz/crashes/${target}-$(basename "$f")"
      echo "keel: $target found a problem; input saved as fuzz/crashes/${target}-$(basename "$f")" \
        "(reproduce: $(binary "$target") fuzz/crashes/${target}-$(basename "$f"))" >&2
    done
    return 1
  fi
}

# Runs every corpus file of $1 through its target once.
replay() {
  local target=$1
  echo "== replaying fuzz/corpus/${target}_fuzzer" >&2
  local log scratch="$WORK/replay-$target"
  mkdir -p "$scratch"
  log=$(mktemp)
  if ! "$(binary "$target")" -runs=0 -timeout=25 -artifact_prefix="$scratch/" \
    "fuzz/corpus/${target}_fuzzer" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    rm -f "$log"
    return 1
  fi
  grep -E 'INITED|DONE' "$log" | tail -n 1 >&2 || true
  rm -f "$log"
}

[ $# -ge 1 ] || usage
case "$1" in
  replay)
    build
    failed=0
    for t in "${TARGETS[@]}"; do replay "$t" || failed=1; done
    exit $failed
    ;;
  all)
    [ $# -eq 2 ] || usage
    build
    failed=0
    for t in "${TARGETS[@]}"; do run "$t" "$2" || failed=1; done
    exit $failed
    ;;
  -h | --help | help) usage ;;
  *)
    [ $# -eq 2 ] || usage
    check_target "$1"
    build
    run "$1" "$2"
    ;;
esac
