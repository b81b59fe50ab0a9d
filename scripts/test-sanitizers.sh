#!/usr/bin/env bash
# Builds keel with AddressSanitizer and UndefinedBehaviorSanitizer into
# ./build-asan and runs every test under them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# -g1: line tables only, enough for the file:line of every frame of a
# sanitizer report, and a much smaller and faster build than full -g.
# A unity build (16 sources of a target per compiler run) takes less than
# half the CPU of compiling each file alone (docs/development.md).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DKEEL_SANITIZE=address,undefined -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 >/dev/null
cmake --build build-asan -j "${JOBS:-2}"
cd build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
