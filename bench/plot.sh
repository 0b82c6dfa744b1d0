#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Draws a clrelu-bench run: GB/s and % of the same device's copy bandwidth against the element
# count, one line per (device, op, dtype), named by the device's name, with the slowest and
# the fastest call as error bars. It reads the data clrelu-bench writes for it (gnuplot's own
# format, so nothing here parses JSON). Needs gnuplot (Debian: gnuplot-nox).
#   clrelu-bench --format gnuplot --output run.dat [options]
#   bench/plot.sh run.dat run.png
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 run.dat out.png   (run.dat from clrelu-bench --format gnuplot --output run.dat)" >&2
  exit 2
fi
in=$1 out=$2
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$in" ] && [ -f "$in" ] || { echo "plot.sh: cannot read $in" >&2; exit 1; }
if [ "$(head -n 1 "$in")" != "# clrelu-bench gnuplot data" ]; then
  echo "plot.sh: $in is not clrelu-bench's gnuplot data (write it with clrelu-bench --format gnuplot --output $in)" >&2
  exit 1
fi
# One block per series, each headed by its quoted title.
blocks=$(grep -c '^"' "$in" || true)
[ "$blocks" -gt 0 ] || { echo "plot.sh: no results in $in" >&2; exit 1; }
title=$(sed -n 's/^# title: //p' "$in" | head -n 1 | tr -d "'\\\\")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# gnuplot's strings: the file name in single quotes, a quote inside it doubled.
data=${in//\'/\'\'}
png=${out//\'/\'\'}
cat > "$tmp/plot.gp" <<EOF
set terminal pngcairo size 1200,900 font 'sans,10' noenhanced
set output '$png'
set multiplot layout 2,1 title '$title'
set logscale x 2; set format x '2^%L'; set grid; set key outside right
# Room at both ends so the error bars of the first and last sizes are not on the border.
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel 'elements'
set ylabel 'GB/s (median; bars: slowest, fastest call)'
plot for [i=0:$((blocks - 1))] '$data' index i using 1:2:3:4 with yerrorlines title columnheader(1)
set ylabel '% of the same device copy (bars: slowest, fastest)'
set yrange [0:*]
plot for [i=0:$((blocks - 1))] '$data' index i using 1:5:6:7 with yerrorlines title columnheader(1)
unset multiplot
EOF
gnuplot "$tmp/plot.gp"
echo "plot.sh: wrote $out"
