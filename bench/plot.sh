#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Draws a clrelu-bench JSON run: GB/s and % of the same device's copy bandwidth against the
# element count, one line per (device, op, dtype). Needs gnuplot (Debian: gnuplot-nox).
#   bench/plot.sh results.json out.png
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 results.json out.png" >&2
  exit 2
fi
in=$1 out=$2
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$in" ] || { echo "plot.sh: cannot read $in" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# clrelu-bench writes one result object per line; those with "gbps" are kernel results.
awk '
  function field(line, key,   m) {
    if (match(line, "\"" key "\": (\"[^\"]*\"|[-0-9.eE+]+|null)")) {
      m = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 4)
      gsub(/"/, "", m)
      return m
    }
    return ""
  }
  /"gbps":/ {
    key = field($0, "device") " " field($0, "op") " " field($0, "dtype")
    if (!(key in series)) { series[key] = n++; order[series[key]] = key }
    g = field($0, "gbps"); p = field($0, "pct_of_copy")
    if (g == "null" || p == "null") next
    data[series[key]] = data[series[key]] field($0, "n") " " g " " p "\n"
  }
  END {
    for (i = 0; i < n; i++) {
      printf "%s\n\n\n", data[i] > "'"$tmp"'/data"
      print order[i] > "'"$tmp"'/titles"
    }
  }' "$in"
[ -s "$tmp/titles" ] || { echo "plot.sh: no results in $in" >&2; exit 1; }
version=$(grep -o '"clrelu_version": "[^"]*"' "$in" | head -1 | cut -d'"' -f4)
host=$(grep -o '"name": "[^"]*"' "$in" | head -1 | cut -d'"' -f4)

{
  echo "set terminal pngcairo size 1200,900 font 'sans,10' noenhanced"
  echo "set output '$out'"
  echo "set multiplot layout 2,1 title 'clrelu-bench $version on $host'"
  echo "set logscale x 2; set format x '2^{%L}'; set grid; set key outside right"
  echo "set xlabel 'elements'"
  for panel in gbps pct; do
    if [ $panel = gbps ]; then
      echo "set ylabel 'GB/s (bytes the op must move / median kernel time)'"; col=2
    else
      echo "set ylabel '% of the same device copy bandwidth'"; col=3
      echo "set yrange [0:*]"
    fi
    printf "plot "
    i=0
    while read -r title; do
      [ $i -gt 0 ] && printf ", "
      printf "'%s' index %d using 1:%d with linespoints title '%s'" "$tmp/data" $i $col "$title"
      i=$((i + 1))
    done < "$tmp/titles"
    echo
  done
  echo "unset multiplot"
} > "$tmp/plot.gp"
# gnuplot's format '2^{%L}' prints the exponent; noenhanced keeps it literal text.
sed -i "s/set format x '2^{%L}'/set format x '2^%L'/" "$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
echo "plot.sh: wrote $out"
