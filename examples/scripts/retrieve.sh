#!/bin/sh
# Takes the day's files into a fresh folder of this run: the orders file
# given (dropped into the inbox by a warehouse), or the warehouse folder's
# own orders.csv; the stock always comes from the warehouse folder of the
# region. The orders file is checked: a header `sku,qty`, then rows
# `SKU,QUANTITY`. Usage: retrieve.sh DATE REGION WORKSPACE [ORDERS_FILE]
set -eu
date="$1" region="$2" workspace="$3" orders="${4:-}"
bad_input() {
  echo "$*" >&2
  exit 66 # EX_NOINPUT: bad input, not retried
}
case "$date" in
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
  *) bad_input "date '$date' is not YYYY-MM-DD" ;;
esac
case "$region" in
  "" | *[!a-z]*) bad_input "no warehouse folder for region '$region'" ;;
esac
src="$(dirname "$0")/../warehouse/$region"
[ -d "$src" ] || bad_input "no warehouse folder for region '$region'"
[ -n "$orders" ] || orders="$src/orders.csv"
[ -f "$orders" ] || bad_input "no orders file '$orders'"
if ! awk -F, 'NR == 1 { if ($0 != "sku,qty") exit 1; next }
              NF != 2 || $1 == "" || $2 !~ /^[0-9]+$/ { exit 1 }' "$orders"; then
  bad_input "'$orders' is not an orders file (header sku,qty, then SKU,QUANTITY rows)"
fi
dest="$workspace/$KEEL_RUN_ID/files"
mkdir -p "$dest"
cp -- "$orders" "$dest/orders.csv"
cp -- "$src/stock.csv" "$dest/stock.csv"
rows=$(($(wc -l <"$dest/orders.csv") - 1))
echo "took $rows order row(s) from $orders and the $region stock for $date into $dest"
# The folder is under the workspace and named by the run id; date is checked
# above: neither holds a character JSON would need escaped (but a workspace
# with a quote or backslash makes invalid JSON, which fails the step).
printf '{"dir": "%s", "date": "%s", "rows": %d}\n' "$dest" "$date" "$rows" >"$KEEL_OUTPUT"
