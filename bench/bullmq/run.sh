#!/usr/bin/env bash
# BullMQ's 3-job flow chain on this machine, the peer of `keel bench --workload W4`.
#
#   bench/bullmq/run.sh [--durable] [RUNS]
#
# Starts its own redis-server on 127.0.0.1 on a free port with its data in a temporary folder,
# runs flow.js against it and stops it (by its pid) however the run ends. Without --durable,
# Redis runs as BullMQ users run it by default: no snapshots, no append-only file
# (--save "" --appendonly no). With --durable, every write is in the append-only file and
# fsync'ed before Redis answers (--appendonly yes --appendfsync always), the durability closest
# to keel's fsync per commit. Installs redis-server with apt-get if it is missing, and runs
# `npm ci` if node_modules is missing. Environment: W4_RUNS (default 10000), W4_PRODUCERS (16),
# W4_WORKERS (4), W4_CONCURRENCY (jobs each worker runs at once, 100). Prints flow.js's RESULT line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
durable=0
runs="${W4_RUNS:-10000}"
for arg in "$@"; do
  case "$arg" in
    --durable) durable=1 ;;
    -h | --help)
      sed -n '2,14p' "$0"
      exit 0
      ;;
    *[!0-9]* | '')
      echo "run.sh: unknown argument '$arg' (expected --durable or a number of runs)" >&2
      exit 2
      ;;
    *) runs="$arg" ;;
  esac
done

if ! command -v redis-server >/dev/null 2>&1; then
  echo "run.sh: installing redis-server with apt-get" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y redis-server >&2
fi

cd "$here"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund >&2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/keel-bullmq.XXXXXX")"
redis_pid=""
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
if [ "$durable" = 1 ]; then
  persistence=(--appendonly yes --appendfsync always)
else
  persistence=(--appendonly no)
fi
redis-server --bind 127.0.0.1 --port "$port" --dir "$tmp" --save "" "${persistence[@]}" \
  --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!

for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
  if ! kill -0 "$redis_pid" 2>/dev/null; then
    echo "run.sh: redis-server exited; its log:" >&2
    cat "$tmp/redis.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
echo "run.sh: $(redis-server --version | cut -d' ' -f3) on 127.0.0.1:$port, durable=$durable," \
  "appendfsync=$(redis-cli -p "$port" config get appendfsync | tail -1)," \
  "appendonly=$(redis-cli -p "$port" config get appendonly | tail -1), bullmq" \
  "$(node -p 'require("bullmq/package.json").version'), node $(node --version)" >&2

REDIS_PORT="$port" W4_RUNS="$runs" W4_DURABLE="$durable" node flow.js &
node_pid=$!
status=0
wait "$node_pid" || status=$?
node_pid=""
exit "$status"
