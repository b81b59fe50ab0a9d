#!/usr/bin/env bash
# Installs the Debian 12 packages keel needs to build and test, if missing.
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config ccache git curl python3 sqlite3 tzdata openssl
  libsqlite3-dev libpq-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev libsodium-dev libcctz-dev
  libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format
  prometheus  # promtool lints /metrics in the tests
  prometheus-alertmanager  # a real Alertmanager receives keel's alerts in the tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "keel: installing missing packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
