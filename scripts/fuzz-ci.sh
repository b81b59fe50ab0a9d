#!/usr/bin/env bash
# CI's fuzzing check: build the fuzz targets, replay every corpus file once,
# then fuzz each target for FUZZ_SECONDS (30 s). About 4 minutes on 2 cores
# with a warm compiler cache; fails on any crash, leak, sanitizer report,
# timeout or broken invariant (the input is saved to fuzz/crashes/).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fuzz.sh replay
./scripts/fuzz.sh all "${FUZZ_SECONDS:-30}"
