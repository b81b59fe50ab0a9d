#!/bin/sh
# Writes the planning feed: every SKU whose orders exceed the stock on hand,
# with the shortfall. Usage: feed-planning.sh STAGING_CSV DATE
set -eu
staging="$1" date="$2"
out="$(dirname "$staging")/planning-feed-$date.csv"
echo "sku,shortfall" >"$out.tmp"
awk -F, 'NR > 1 && $2 > $3 { print $1 "," ($2 - $3) }' "$staging" >>"$out.tmp"
mv "$out.tmp" "$out"
short=$(($(wc -l <"$out") - 1))
echo "planning feed $out: $short SKU(s) short"
printf '{"feed": "%s", "shortfalls": %d}\n' "$out" "$short" >"$KEEL_OUTPUT"
