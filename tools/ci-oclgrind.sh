#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI: clrelu's kernels under Oclgrind, a simulator that checks every work-item's memory
# accesses (out of bounds: always on), data races (OCLGRIND_DATA_RACES) and OpenCL API misuse
# (OCLGRIND_CHECK_API). Any report fails the step. Runs the device, batch, bias, channel, tuning and
# error tests of the build directory (default build/) at sizes up to CLRELU_TEST_MAX_N (5120:
# every tail, several work-groups and bias blocks, every offset of the tests), which reach every
# kernel variant: each op, dtype and blending mode, aligned and unaligned offsets, the mask
# kernels, the batch and bias kernels, PReLU and the residual epilogue (both layouts, the sums;
# its shapes are all small). Oclgrind reports a GPU, so clrelu picks its GPU launch settings
# there (the one place they run without a GPU); each test runs three times:
#   gpu       the GPU settings (16-byte vectors, 256-item groups, 8 groups per compute unit,
#             the tiled mask forward with barriers, one batch chunk per work-item);
#   gpu-loop  the same capped at 1 group per compute unit: every grid-stride loop turns;
#   cpu       the CPU devices' settings (64-byte vectors, 64-item groups, no cap, fwd_mask_w
#             without barriers, 64 batch chunks per work-item), through CLRELU_TUNING.
# test_tuning runs once, under the GPU settings: it goes through clrelu-tune's whole search
# space itself (every vector width, group sizes up to 256, no cap, 1 and 8 groups per compute
# unit) with the tiled mask forward, so each choice clrelu-tune may make on a GPU is checked.
# OCLGRIND_UNINITIALIZED stays off: docs/drivers.md says why.
# Needs tools/install-drivers.sh (Oclgrind registered in /etc/OpenCL/oclgrind-vendors).
#   tools/ci-oclgrind.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
vendors=${CLRELU_OCLGRIND_VENDORS:-/etc/OpenCL/oclgrind-vendors}
if [ ! -f "$vendors/oclgrind.icd" ]; then
  echo "ci-oclgrind: no $vendors/oclgrind.icd: run tools/install-drivers.sh" >&2
  exit 1
fi
for t in test_device test_batch test_bias test_channel test_errors test_tuning; do
  [ -x "$build/tests/$t" ] || { echo "ci-oclgrind: no $build/tests/$t: build first" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OCL_ICD_VENDORS=$vendors OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1
export CLRELU_TEST_MAX_N=${CLRELU_TEST_MAX_N:-5120} CLRELU_CACHE_DIR=$work/cache
export CLRELU_TEST_PLATFORM=oclgrind

# Oclgrind's reports, in a program's output: each kernel diagnostic names its kernel on a
# "<tab>Kernel: name" line, API checks start "Oclgrind - ". (Not OCLGRIND_LOG: in a test that
# creates several contexts, Oclgrind 21.10 left that file empty where stderr had the reports.)
report_pattern='^(Invalid (read|write)|Read-write data race|Write-write data race|Uninitiali[sz]ed|Oclgrind - |Oclgrind: )|^[[:space:]]+Kernel: '
reports() { # output
  grep -E -A8 "$report_pattern" "$1" || true
}

# First, that a report is seen: a kernel reading past its buffer, a data race, an API error.
cc -O2 tools/oclgrind/selftest.c -lOpenCL -o "$work/selftest"
"$work/selftest" >"$work/selftest.out" 2>&1
for what in "Invalid read" "data race" "runtime error detected"; do
  if ! reports "$work/selftest.out" | grep -q "$what"; then
    echo "ci-oclgrind: Oclgrind did not report the self-test's '$what': the step sees nothing" >&2
    exit 1
  fi
done
echo "ci-oclgrind: the self-test's invalid read, data race and API error were reported"

failed=0
run() { # name tuning test
  local name=$1 tuning=$2 test=$3 out=$work/$1-$3.out start=$SECONDS rc=0
  CLRELU_TUNING=$tuning timeout 900 "$build/tests/$test" >"$out" 2>&1 || rc=$?
  local found
  found=$(grep -cE "$report_pattern" "$out" || true)
  printf 'ci-oclgrind: %-8s %-12s exit %3d, %3d report line(s), %4d s\n' "$name" "$test" "$rc" \
    "$found" $((SECONDS - start))
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    grep -vE "$report_pattern" "$out" | tail -n 30
    reports "$out" | head -n 80
  fi
}
all="test_device test_batch test_bias test_channel test_errors"
for t in $all test_tuning; do run gpu "" "$t"; done
# (Only the elementwise and batch launches are capped; the bias launches and the error tests
# are the same under this setting.)
for t in test_device test_batch; do run gpu-loop 16,256,1 "$t"; done
for t in $all; do run cpu 64,64,1000000,1,64 "$t"; done
if [ "$failed" -ne 0 ]; then
  echo "ci-oclgrind: Oclgrind reported a problem or a test failed (above)" >&2
  exit 1
fi
echo "ci-oclgrind: clean"
