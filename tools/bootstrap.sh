#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first Quickstart command: installs what clrelu needs from Debian's packages,
# builds it into build/, and runs clrelu-bench on every device present.
#   CLRELU_SKIP_BENCH=1          build only (CI runs the tests instead)
#   CLRELU_CMAKE_ARGS="..."      extra configure arguments (CI adds -DCLRELU_WERROR=ON)
#   CLRELU_BENCH_ARGS="..."      arguments for clrelu-bench (default: the full default run)
set -euo pipefail
cd "$(dirname "$0")/.."

# clang, libclang-rt-14-dev (sanitizer and libFuzzer runtimes), llvm (llvm-symbolizer) and
# valgrind are for tools/ci-hardening.sh.
packages=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
          libclblast-dev libcmocka-dev gnuplot-nox libdnnl-dev clang libclang-rt-14-dev llvm
          valgrind python3-numpy python3-pyopencl python3-pytest)
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${packages[@]}"

# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${CLRELU_CMAKE_ARGS:-}
cmake --build build -j "$(nproc)"

if [ "${CLRELU_SKIP_BENCH:-0}" != 1 ]; then
  # shellcheck disable=SC2086
  build/bench/clrelu-bench ${CLRELU_BENCH_ARGS:-}
fi
