# SPDX-License-Identifier: Apache-2.0
# Cross-compiling for AArch64 with Debian's gcc-aarch64-linux-gnu, against the arm64 multiarch
# packages (libcmocka-dev:arm64, ocl-icd-opencl-dev:arm64); the tests run under qemu-user:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build-arm64 && ctest --test-dir build-arm64 -R '^cpu_'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries and packages for the target only (/usr/lib/aarch64-linux-gnu), programs of the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# CTest runs every test executable through qemu-user with the cross C library. -L alone would
# pair the cross dynamic loader (libc6-arm64-cross) with the multiarch libc.so.6 (libc6:arm64,
# which libcmocka0:arm64 pulls in), a different build of glibc whose GLIBC_PRIVATE interface
# differs: pthread_create then hangs. LD_LIBRARY_PATH puts the cross libc first.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
