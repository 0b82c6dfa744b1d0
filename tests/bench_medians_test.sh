#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tools/bench-medians.sh against a stand-in for clrelu-bench whose runs give known figures: the
# medians (of kernel time, batch time per call and % of copy, with its range) must be those of
# the runs, per tuning. Usage: bench_medians_test.sh path/to/bench-medians.sh
set -euo pipefail
medians=${1:?usage: bench_medians_test.sh BENCH_MEDIANS}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Run i (1, 2, 3) reports kernel 10*k us, a 100-call batch of 30*k us a call, and 50*k % of
# copy, with k = 3, 1, 2 in turn: medians k = 2 (20 us, 60 us a call, 100%), range 50..150%.
# The tuned row is twice as fast in every run.
cat > "$dir/fake-bench" <<EOS
#!/usr/bin/env bash
n=\$(cat "$dir/count" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n > "$dir/count"
k=\$(echo 3 1 2 | cut -d' ' -f\$n)
out=""; while [ \$# -gt 0 ]; do [ "\$1" = --output ] && out=\$2; shift; done
{
  echo '{"results": ['
  echo "{\"device\": \"0:0\", \"op\": \"forward\", \"dtype\": \"f32\", \"n\": 1024, \"kernel_s_median\": \$(awk "BEGIN { print \$k * 0.00001 }"), \"batch_n\": 100, \"batch_s\": \$(awk "BEGIN { print \$k * 0.003 }"), \"bytes\": 8192, \"gbps\": \$k, \"copy_gbps\": 2, \"pct_of_copy\": \$((50 * k)), \"tuning\": \"default\"},"
  echo "{\"device\": \"0:0\", \"op\": \"forward\", \"dtype\": \"f32\", \"n\": 1024, \"kernel_s_median\": \$(awk "BEGIN { print \$k * 0.000005 }"), \"batch_n\": 100, \"batch_s\": \$(awk "BEGIN { print \$k * 0.0015 }"), \"bytes\": 8192, \"gbps\": \$((2 * k)), \"copy_gbps\": 2, \"pct_of_copy\": \$((100 * k)), \"tuning\": \"tuned\"}"
  echo ']}'
} > "\$out"
EOS
chmod +x "$dir/fake-bench"
got=$(CLRELU_BENCH="$dir/fake-bench" "$medians" 3 --sizes 1024)
echo "$got"
fail=0
expect() { # the line for a tuning, and the fields it must hold
  local line
  line=$(echo "$got" | awk -v t="$1" '$1 == "0:0" && $NF == t')
  shift
  for want in "$@"; do
    if ! echo "$line" | tr -s ' ' '\n' | grep -qx -- "$want"; then
      echo "FAIL: '$want' missing from: $line"
      fail=1
    fi
  done
}
expect default 2.00 100.0% 50.0..150.0% 20.00 60.00
expect tuned 4.00 200.0% 100.0..300.0% 10.00 30.00
[ "$(echo "$got" | head -1 | grep -c 'batch us')" = 1 ] || { echo "FAIL: no batch column"; fail=1; }
[ "$(cat "$dir/count")" = 3 ] || { echo "FAIL: the bench ran $(cat "$dir/count") times, not 3"; fail=1; }
exit $fail
