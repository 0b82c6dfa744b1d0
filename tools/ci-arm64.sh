#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The AArch64 CPU path in CI: cross-compiles the library and test_cpu with Debian's
# gcc-aarch64-linux-gnu against the arm64 multiarch packages, and runs test_cpu under
# qemu-user (qemu-aarch64 -L /usr/aarch64-linux-gnu, see the toolchain file) for the scalar
# and NEON kernels: the same bit-exact tests as on x86. Installs what it needs (as root, or
# through sudo).
#   CLRELU_ARM64_BUILD=dir    build directory (default build-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ci-arm64: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
fi
$sudo apt-get update
# No recommends: ocl-icd-opencl-dev:arm64 would bring an arm64 Mesa. The tests need only the
# ICD loader to link (the CPU path touches no OpenCL device).
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
  libcmocka-dev:arm64 ocl-icd-opencl-dev:arm64 opencl-headers

build=${CLRELU_ARM64_BUILD:-build-arm64}
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DCLRELU_WERROR=ON -DCLRELU_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)" --target test_cpu test_channel
# cpu_default is cpu_neon on AArch64: run each kernel table once (the family's and the channel
# ops').
ctest --test-dir "$build" -j "$(nproc)" -R '^(cpu|channel_cpu)_(scalar|neon)$' --output-on-failure
