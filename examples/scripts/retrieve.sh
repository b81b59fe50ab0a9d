#!/bin/sh
# Fetches the day's files for a region from the warehouse into a fresh
# folder of this run. Usage: retrieve.sh DATE REGION WORKSPACE
set -eu
date="$1" region="$2" workspace="$3"
src="$(dirname "$0")/../warehouse/$region"
if [ ! -d "$src" ]; then
  echo "no warehouse folder for region '$region'" >&2
  exit 66 # EX_NOINPUT: bad input, not retried
fi
dest="$workspace/$KEEL_RUN_ID/inbox"
mkdir -p "$dest"
count=0
for f in "$src"/*.csv; do
  cp "$f" "$dest/"
  count=$((count + 1))
done
echo "fetched $count file(s) for $region on $date into $dest"
printf '{"dir": "%s", "files": %d}\n' "$dest" "$count" >"$KEEL_OUTPUT"
