#!/bin/sh
# Joins orders and stock by SKU into one staging file.
# Usage: load-staging.sh INBOX_DIR
set -eu
inbox="$1"
for f in orders.csv stock.csv; do
  [ -f "$inbox/$f" ] || { echo "missing $inbox/$f" >&2; exit 66; }
done
staging="$(dirname "$inbox")/staging.csv"
echo "sku,ordered,on_hand" >"$staging.tmp"
# Skip the headers, then join on the SKU.
awk -F, 'NR == FNR { if (FNR > 1) stock[$1] = $2; next }
         FNR > 1 { on = ($1 in stock) ? stock[$1] : 0; print $1 "," $2 "," on }' \
  "$inbox/stock.csv" "$inbox/orders.csv" >>"$staging.tmp"
mv "$staging.tmp" "$staging"
rows=$(($(wc -l <"$staging") - 1))
echo "staged $rows row(s) in $staging"
printf '{"staging": "%s", "rows": %d}\n' "$staging" "$rows" >"$KEEL_OUTPUT"
