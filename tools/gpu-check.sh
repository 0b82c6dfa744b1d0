#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole check of one OpenCL device in one call, sized for a lent GPU machine (8 minutes):
# a release build, the device's tests and the CPU path's, the
# default benchmark (JSON, gnuplot data and the plot), the pipeline examples, and clrelu-tune
# when the build has it, then its database against the defaults (clrelu-bench --tuning both). Each step is timed and logged to $OUT/<step>.log; a failing step does
# not stop the others, and the exit status is non-zero when any failed. $OUT/summary.txt has the
# table. CONTRIBUTING.md, "The GPU check", says how to run it here and there.
#   tools/gpu-check.sh                              # CLRELU_DEVICE=nvidia, OUT=a new /tmp dir
#   CLRELU_DEVICE=pocl OUT=/tmp/gc tools/gpu-check.sh
# Environment: CLRELU_DEVICE (device spec, default nvidia), OUT, GPU_CHECK_BUILD (the build
# directory, default /tmp/clrelu-gpu-check.<checksum of the checkout's path>),
# GPU_CHECK_BUDGET_S (the whole run's time limit: 480 where an NVIDIA GPU is present, the lent
# machine's case, else 3600 for slower devices such as PoCL on 2 cores), GPU_CHECK_TUNE_ARGS
# (clrelu-tune's arguments, default --device SPEC --quick --dtype f32 --samples 3 --output
# $OUT/tune/tuning.json).
set -uo pipefail # no -e: a failing step is recorded and the next one still runs

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# One step's body, run by the top level below as `timeout LIMIT gpu-check.sh --step NAME LIMIT`
# so that a hang ends with the process group it started.
step() {
  set -e
  local limit=$2 device=$CLRELU_DEVICE
  case $1 in
  build)
    local gen=(-G "Unix Makefiles") keep=(-k)
    if command -v ninja >/dev/null; then
      gen=(-G Ninja) keep=(-k 0)
    fi
    # A build directory left by the other generator cannot be reconfigured: start it again.
    if [ -f "$build/CMakeCache.txt" ] &&
      ! grep -qxF "CMAKE_GENERATOR:INTERNAL=${gen[1]}" "$build/CMakeCache.txt"; then
      rm -rf "$build"
    fi
    # The device's tests only, registered as name@SPEC (tests/CMakeLists.txt), whatever SPEC is.
    cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      "-DCLRELU_TEST_PLATFORMS=$device"
    # Keep going past a target that fails, so that the steps after this one find what did build.
    cmake --build "$build" -j "$(nproc)" -- "${keep[@]}"
    ;;
  tests)
    if [ -x "$build/bench/clrelu-bench" ]; then
      "$build/bench/clrelu-bench" --list || true
    fi
    local dev_re cpu_re stop rc=0
    dev_re=$(printf '%s' "$device" | sed 's/[][\.*^$+?(){}|/]/\\&/g')
    cpu_re='cpu_.*|channel_cpu_.*|huge_cpu'
    # CTest ends the tests itself a few seconds before this step's limit: its summary then
    # names the ones cut short (Timeout), where the outer timeout would leave no summary.
    stop=$(($(date +%s) + limit - 10))
    ctest --test-dir "$build" -j "$(nproc)" --output-on-failure --no-tests=error \
      --output-junit "$OUT/tests.junit.xml" --stop-time "$(date -d "@$stop" +%H:%M:%S)" \
      -R "@${dev_re}\$|^(${cpu_re})\$" || rc=$?
    if [ "$rc" -ne 0 ]; then
      # Cut short by the stop time: the summary says TIMEOUT, as for the other steps.
      [ "$(date +%s)" -lt "$stop" ] || return 124
      return "$rc"
    fi
    # Every device test skipped means the device is not there (the NVIDIA ICD not written?):
    # that is a failed check, not a passed one.
    if ! grep -qE "Test +#[0-9]+: [^ ]+@${dev_re} \.+ +Passed" "$OUT/tests.log"; then
      echo "gpu-check: no test passed on CLRELU_DEVICE=$device: is that device present?" \
        "(clrelu-bench --list above; on the GPU machine: source .gpu-deps/env.sh)"
      return 1
    fi
    ;;
  bench)
    local bench=$build/bench/clrelu-bench
    # The default run, on this device alone. Its JSON is the record; a second run writes the
    # data bench/plot.sh draws (one format per run), without the host round trips it does not
    # draw. About a minute each on PoCL on 2 cores.
    "$bench" --device "$device" --format json --output "$OUT/bench.json"
    "$bench" --device "$device" --no-host-trip --quiet --format gnuplot --output "$OUT/bench.dat"
    ;;
  plot)
    if ! command -v gnuplot >/dev/null; then
      echo "gnuplot is not installed here: draw the plot where it is, from this run's data:"
      echo "  bench/plot.sh $OUT/bench.dat bench.png"
      return 77
    fi
    "$root/bench/plot.sh" "$OUT/bench.dat" "$OUT/bench.png"
    ;;
  example_*)
    local name=${1#example_} bin=$build/examples/${1#example_} rc=0
    if [ ! -x "$bin" ]; then
      echo "$name: not built (CLBlast not found? on the GPU machine: source .gpu-deps/env.sh)"
      return 1
    fi
    "$bin" || rc=$?
    # 77 is the example's "no OpenCL device": the device this check is for is missing.
    [ "$rc" -eq 0 ] || { echo "$name: exit status $rc"; return 1; }
    grep -q "^$name: .*: OK" "$OUT/$1.log"
    ;;
  tune)
    local bin
    bin=$(find "$build" -type f -name clrelu-tune -perm -u+x -print -quit 2>/dev/null || true)
    if [ -z "$bin" ]; then
      echo "clrelu-tune: not built"
      return 77
    fi
    # What it writes lands in $OUT/tune.
    mkdir -p "$OUT/tune"
    cd "$OUT/tune"
    # shellcheck disable=SC2086 # GPU_CHECK_TUNE_ARGS is a list of words
    "$bin" ${GPU_CHECK_TUNE_ARGS:---device $device --quick --dtype f32 --samples 3 --output $OUT/tune/tuning.json}
    ;;
  tuned)
    # The tuner's database against the device's defaults, side by side (the element-wise passes
    # at a size of each class, and the GPU target's 2^22 and 2^24).
    if [ ! -s "$OUT/tune/tuning.json" ]; then
      echo "tuned: no $OUT/tune/tuning.json (the tune step wrote none)"
      return 77
    fi
    CLRELU_TUNING_DB=$OUT/tune/tuning.json "$build/bench/clrelu-bench" --device "$device" \
      --op forward,backward,forward_mask,backward_mask --sizes 2^14,2^20,2^22,2^24 \
      --no-host-trip --quiet --tuning both --format json --output "$OUT/tuned.json"
    ;;
  *)
    echo "gpu-check: unknown step '$1'" >&2
    return 2
    ;;
  esac
}

if [ "${1:-}" = --step ]; then
  step "$2" "$3"
  exit
fi

device=${CLRELU_DEVICE:-nvidia}
build=${GPU_CHECK_BUILD:-/tmp/clrelu-gpu-check.$(printf '%s' "$root" | cksum | cut -d' ' -f1)}
OUT=${OUT:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -e /dev/nvidiactl ]; then
  budget=${GPU_CHECK_BUDGET_S:-480}
else
  budget=${GPU_CHECK_BUDGET_S:-3600}
fi
# Sourced by the caller or here: it writes the NVIDIA ICD and points CMake at the carried
# cmocka and CLBlast. Its PKG_CONFIG_SYSROOT_DIR says whether it has been.
if [ -f "$root/.gpu-deps/env.sh" ] && [ "${PKG_CONFIG_SYSROOT_DIR:-}" != "$root/.gpu-deps/root" ]; then
  # shellcheck source=/dev/null
  source "$root/.gpu-deps/env.sh"
fi
# The steps' builds go to a binary cache in the build tree, not to ~/.cache.
export CLRELU_DEVICE=$device OUT build CLRELU_CACHE_DIR=$build/clrelu-cache
cd "$root"
echo "gpu-check: CLRELU_DEVICE=$device, build in $build, output in $OUT, budget ${budget}s"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -n) $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "CLRELU_DEVICE=$device budget=${budget}s build=$build"
  echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-<unset>}; the ICD files and the drivers they name:"
  grep -H . "${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"/*.icd
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  command -v clinfo >/dev/null && clinfo -l
  cmake --version | head -n 1
} >"$OUT/env.log" 2>&1

# Each step's share of the budget, in percent; what a step leaves unused goes to the next ones.
# The shares add up to 95: the rest is for the kill grace below and the script itself. On the
# GPU machine (480 s): build 72 s, tests 168 s, bench 105 s, 9 s for the plot, 14 s for each
# example, 43 s for the tuner and 14 s for the tuned-against-default run, each less the grace.
steps=(build tests bench plot example_dense_layer example_mlp_train example_resnet_block tune tuned)
shares=(15 35 22 2 3 3 3 9 3)
grace=5 # seconds between timeout's TERM and its KILL
start=$(date +%s)
mark=$start
failed=0
printf '%-22s %-8s %8s %8s  %s\n' step status seconds limit log >"$OUT/summary.txt"
for i in "${!steps[@]}"; do
  name=${steps[$i]}
  mark=$((mark + budget * shares[i] / 100))
  limit=$((mark - $(date +%s) - grace))
  log=$OUT/$name.log
  t0=$(date +%s.%N)
  if [ "$limit" -lt 5 ]; then
    echo "gpu-check: no time left in the budget of ${budget}s" >"$log"
    rc=124
  else
    echo "gpu-check: $name, limit ${limit}s" >"$log"
    timeout -k "$grace" "$limit" bash "${BASH_SOURCE[0]}" --step "$name" "$limit" >>"$log" 2>&1
    rc=$?
  fi
  secs=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { print t1 - t0 }')
  case $rc in
  0) status=ok ;;
  77) status=skipped ;; # a step with nothing to run here (no tuner, no gnuplot): not a failure
  124 | 137) status=TIMEOUT failed=1 ;;
  *) status="FAIL($rc)" failed=1 ;;
  esac
  printf '%-22s %-8s %8.1f %8s  %s\n' "$name" "$status" "$secs" "$limit" "$name.log" |
    tee -a "$OUT/summary.txt"
done
total=$(($(date +%s) - start))
echo "total: ${total}s of a ${budget}s budget; $([ "$failed" -eq 0 ] && echo 'all passed' || echo 'FAILED')" |
  tee -a "$OUT/summary.txt"
echo "gpu-check: everything is in $OUT"
exit "$failed"
