#!/usr/bin/env bash
# Builds keel and runs every test: unit tests, then the slower integration,
# crash and example tests (CTest label "slow").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
