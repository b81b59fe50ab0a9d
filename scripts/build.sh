#!/usr/bin/env bash
# Builds keel into ./build (installing missing Debian packages first).
# Sources are compiled in unity batches of 16 (docs/development.md, "Build
# times"); KEEL_UNITY_BUILD=OFF compiles each file alone, for quick
# rebuilds of one file while editing and to check that each file includes
# what it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
  -DCMAKE_UNITY_BUILD=${KEEL_UNITY_BUILD:-ON} -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
