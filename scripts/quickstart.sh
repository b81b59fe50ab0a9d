#!/usr/bin/env bash
# Builds keel and runs it on the embedded SQLite database ./keel.db with the
# example workflows applied. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./build/keel serve --db ./keel.db --listen "${KEEL_LISTEN:-127.0.0.1:7070}" --workflows examples
