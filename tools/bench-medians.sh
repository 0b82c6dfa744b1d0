#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs clrelu-bench RUNS times with the given arguments and prints, per (device, op, dtype, n,
# tuning), the median over the runs of GB/s, copy GB/s, % of copy (with its range), the kernel time
# and a batch's time per call (back-to-back calls: what clrelu-tune minimises).
# Shared, noisy machines need this: one run's figure can be off by tens of percent.
#   tools/bench-medians.sh 5 --sizes 2^22,2^24,2^26 --no-host-trip
set -euo pipefail
runs=${1:?usage: tools/bench-medians.sh RUNS [clrelu-bench arguments]}
shift
bench=${CLRELU_BENCH:-build/bench/clrelu-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
  "$bench" --quiet --format json --output "$tmp/run$i.json" "$@" >/dev/null
done
cat "$tmp"/run*.json | awk '
  function field(line, key,   m) {
    if (match(line, "\"" key "\": (\"[^\"]*\"|[-0-9.eE+]+|null)")) {
      m = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 4)
      gsub(/"/, "", m); return m
    }
    return ""
  }
  # The median of a list; lo and hi get its smallest and largest value.
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo = a[1]; hi = a[n]
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /"gbps":/ {
    tu = field($0, "tuning"); if (tu == "" || tu == "null") tu = "-"
    k = field($0, "device") " " field($0, "op") " " field($0, "dtype") " " field($0, "n") " " tu
    if (!(k in g)) order[++count] = k
    g[k] = g[k] " " field($0, "gbps"); c[k] = c[k] " " field($0, "copy_gbps"); p[k] = p[k] " " field($0, "pct_of_copy"); t[k] = t[k] " " field($0, "kernel_s_median")
    bn = field($0, "batch_n"); b[k] = b[k] " " (bn + 0 > 0 ? field($0, "batch_s") / bn : 0)
  }
  END {
    printf "%-6s %-21s %-5s %10s %9s %9s %8s %15s %11s %11s %s\n", "device", "op", "dtype", "n", "GB/s", "copy", "%copy", "%copy range", "kernel us", "batch us", "tuning"
    for (i = 1; i <= count; i++) {
      k = order[i]; split(k, f, " ")
      mt = median(t[k]); mb = median(b[k]); mg = median(g[k]); mc = median(c[k])
      mp = median(p[k]) # last: the range printed is that of % of copy
      printf "%-6s %-21s %-5s %10s %9.2f %9.2f %7.1f%% %6.1f..%5.1f%% %11.2f %11.2f %s\n", f[1], f[2], f[3], f[4], mg, mc, mp, lo, hi, mt * 1e6, mb * 1e6, f[5]
    }
  }'
echo "(medians of $runs runs of: clrelu-bench $*)"
