#!/bin/sh
# Joins orders and stock by SKU into one staging file beside the folder.
# Usage: load-staging.sh FILES_DIR DATE
set -eu
dir="$1" date="$2"
for f in orders.csv stock.csv; do
  [ -f "$dir/$f" ] || { echo "missing $dir/$f" >&2; exit 66; }
done
staging="$(dirname "$dir")/staging.csv"
echo "sku,ordered,on_hand" >"$staging.tmp"
# Skip the headers, then join on the SKU.
awk -F, 'NR == FNR { if (FNR > 1) stock[$1] = $2; next }
         FNR > 1 { on = ($1 in stock) ? stock[$1] : 0; print $1 "," $2 "," on }' \
  "$dir/stock.csv" "$dir/orders.csv" >>"$staging.tmp"
mv "$staging.tmp" "$staging"
rows=$(($(wc -l <"$staging") - 1))
echo "staged $rows row(s) in $staging"
printf '{"staging": "%s", "date": "%s", "rows": %d}\n' "$staging" "$date" "$rows" >"$KEEL_OUTPUT"
