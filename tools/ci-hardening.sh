#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hardening half of CI (issue 7), after .ci/run's main build and tests. Each step builds into
# its own directory (build-san, build-tsan, build-valgrind) and fails the run on any finding:
#   1. clang with AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer: the library and
#      the whole test suite, run on PoCL (alone: see pocl_only below) and on the CPU path;
#   2. the libFuzzer harness (tests/fuzz) for CLRELU_FUZZ_SECONDS (60) from the kept corpus and
#      the regression inputs, on PoCL and the CPU path, in the build of step 1;
#   3. ThreadSanitizer over the thread stress test;
#   4. valgrind memcheck over the test suite with OpenCL hidden (the CPU path).
# Usage: tools/ci-hardening.sh [san|fuzz|tsan|valgrind]...   (no argument: all four, in order)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
fuzz_seconds=${CLRELU_FUZZ_SECONDS:-60}
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(san fuzz tsan valgrind)

# Sanitizer reports stop the process (abort_on_error, halt_on_error), so a finding always fails
# its test. The suppression files name library functions only; see their comments.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tools/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:suppressions=$root/tools/sanitizers/tsan.supp"

# The OpenCL platform these steps see: PoCL alone (and its tests only, name@pocl). They check
# clrelu's host code, the same on every platform; Intel's runtime (tools/install-drivers.sh)
# leaks by LeakSanitizer's count (in DeviceProgram::initializeAllKernelArgsInfoFromIRData) and
# calls a pure virtual function at exit under ASan: it would need suppressions of its own. The
# plain build's suite runs every test on every platform.
pocl_icd=${CLRELU_POCL_ICD:-/etc/OpenCL/vendors/pocl.icd}
[ -f "$pocl_icd" ] || { echo "ci-hardening: no $pocl_icd (pocl-opencl-icd)" >&2; exit 1; }
pocl_only=$(mktemp -d)
trap 'rm -rf "$pocl_only"' EXIT
cp "$pocl_icd" "$pocl_only"/
chmod 755 "$pocl_only" # test_cache's children run as nobody
export OCL_ICD_VENDORS=$pocl_only

configure_san() {
  if [ ! -f build-san/build.ninja ] && [ ! -f build-san/Makefile ]; then
    CC=clang cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCLRELU_SANITIZE=address,undefined -DCLRELU_FUZZ=ON -DCLRELU_TEST_PLATFORMS=pocl
  fi
  cmake --build build-san -j "$jobs"
}

step_san() {
  echo "=== ASan + UBSan + LSan: the whole test suite, on PoCL and the CPU path"
  configure_san
  # The install tests build a consumer project against the installed library without sanitizer
  # flags (as a user would); they run in the plain build. cache and bench make PoCL compile
  # in-process (its kernel cache off), whose own leaks the suppression names by PoCL function:
  # that match needs whole malloc stacks, which cost time, so only those get them, and the fuzz
  # corpus, whose channel-op calls build programs no earlier test has (cold on a fresh machine).
  # huge_cpu is left to the plain build: instrumented, the CPU path's 16 passes over 2^31
  # elements took 14 minutes here, and the plain build checks every element of them anyway
  # (the huge device tests, where the kernels are PoCL's, stay).
  ctest --test-dir build-san --output-on-failure \
    -E '^(cache@.*|bench|fuzz_corpus@.*|huge_cpu|install_consumer_.*)$'
  ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
    ctest --test-dir build-san --output-on-failure -R '^(cache@.*|bench|fuzz_corpus@.*)$'
}

step_fuzz() {
  echo "=== libFuzzer: ${fuzz_seconds} s from tests/fuzz/corpus and tests/fuzz/regressions"
  configure_san
  # A copy: libFuzzer adds what it finds to its first corpus directory, the repository stays.
  local work
  work=$(mktemp -d)
  cp tests/fuzz/corpus/* "$work"/
  local crash=$root/build-san/fuzz_api-crash.bin
  rm -f "$crash"
  # Whole malloc stacks, as for the corpus replay: the fuzzer's channel-op calls make PoCL
  # compile in-process, and only a whole stack shows the suppression that it is PoCL's leak.
  if ! ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
      CLRELU_FUZZ_CRASH=$crash build-san/tests/fuzz/fuzz_api -max_total_time="$fuzz_seconds" \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$root/build-san/" \
      "$work" tests/fuzz/regressions \
      2>"$root/build-san/fuzz.log"; then
    # The report without ASan's shadow-byte map, so the stacks fit in what CI shows.
    grep -vE '^(=>|  )0x[0-9a-f]+:|^Shadow byte legend|^  [A-Z][a-zA-Z ]+: +[0-9a-f]{2}' \
      build-san/fuzz.log | tail -n 80
    echo "fuzz: a finding; the input is $crash (or a libFuzzer artifact in build-san/). Fix" \
         "it, add the input to tests/fuzz/regressions and a test that names it." >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
    build-san/fuzz.log || true
  rm -rf "$work"
}

step_tsan() {
  echo "=== ThreadSanitizer: 8 threads x 1000 operations, shared and per-thread contexts; the worker pool"
  if [ ! -f build-tsan/build.ninja ] && [ ! -f build-tsan/Makefile ]; then
    CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCLRELU_SANITIZE=thread -DCLRELU_BUILD_BENCH=OFF
  fi
  cmake --build build-tsan -j "$jobs" --target test_threads test_cpu
  build-tsan/tests/test_threads
  # The CPU path's worker pool: calls split over 1-3 threads, and callers racing for it.
  CLRELU_TEST_FILTER='test_cpu_threads__*' build-tsan/tests/test_cpu
}

step_valgrind() {
  echo "=== valgrind memcheck: the test suite on the CPU path (OpenCL hidden)"
  if [ ! -f build-valgrind/build.ninja ] && [ ! -f build-valgrind/Makefile ]; then
    # CLRELU_TEST_PLATFORMS empty: each test once, not once per platform (OpenCL is hidden).
    cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLRELU_BUILD_BENCH=OFF \
      -DCLRELU_TEST_PLATFORMS= \
      "-DCMAKE_CROSSCOMPILING_EMULATOR=valgrind;--tool=memcheck;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite,indirect;--show-leak-kinds=definite,indirect;--track-origins=yes;--suppressions=$root/tools/sanitizers/valgrind.supp"
  fi
  cmake --build build-valgrind -j "$jobs"
  # An empty vendor directory: the ICD loader finds no platform, so every test takes the CPU
  # path (device tests say SKIPPED). The huge tests need 8 GiB and hours under valgrind. The
  # per-ISA runs repeat the same templates (each took 3-4 minutes here under memcheck, and ASan
  # covers them).
  # SSE2, not the AVX2 valgrind reports: its emulation of FMA gives +0.0 where the hardware's
  # gives -0.0 (an f64 product of a zero slope and a negative x; fma(a, b, -0.0) is how the
  # AVX2 and AVX-512 kernels multiply, relu_math.h's CR_DMUL), so the bit-exact tests would
  # fail on valgrind's arithmetic, not clrelu's. The AVX2 and AVX-512 code is checked natively
  # by the ASan and per-ISA runs; memcheck still sees the template, the pool and the API.
  # cpu_default is left to those too: on SSE2 (f16 converted in software) it ran past 13
  # minutes under memcheck here, which the 90-minute CI cannot afford.
  local vendors
  vendors=$(mktemp -d)
  CLRELU_CPU_ISA=sse2 OCL_ICD_VENDORS=$vendors ctest --test-dir build-valgrind --output-on-failure -LE huge \
    -E '^(cpu_default|(cpu|channel_cpu)_(scalar|sse2|avx2|avx512|neon))$' --timeout 1800
  rmdir "$vendors"
}

for s in "${steps[@]}"; do
  case "$s" in
    san) step_san ;;
    fuzz) step_fuzz ;;
    tsan) step_tsan ;;
    valgrind) step_valgrind ;;
    *) echo "ci-hardening: unknown step $s (san, fuzz, tsan, valgrind)" >&2; exit 2 ;;
  esac
done
