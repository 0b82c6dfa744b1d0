#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What the Python binding costs over the C call: clrelu_forward_host timed from C (a small
program compiled here against build/) and ctx.forward(x, out) timed from Python, on the CPU
path, f32 relu, alternating in one run. Prints the medians per call and the ratios.
    PYTHONPATH=python /usr/bin/python3 python/bench/overhead.py [--rounds 7]"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import clrelu

C_TIMER = r"""
#include <clrelu/clrelu.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
/* As numpy allocates large arrays: 2 MiB aligned and, on Linux, backed by huge pages where
 * the kernel allows them (transparent_hugepage=madvise), so both sides touch the same kind of
 * memory and the comparison is of the calls. */
static float *alloc(size_t n) {
    size_t bytes = (n * 4 + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    float *p = aligned_alloc(2u << 20, bytes);
#ifdef __linux__
    if (p && n * 4 >= (4u << 20))
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    size_t n = strtoull(argv[1], NULL, 10); long calls = atol(argv[2]);
    float *x = alloc(n), *y = alloc(n);
    for (size_t i = 0; i < n; ++i) x[i] = (float)((long)i % 7 - 3);
    clrelu_context *ctx; clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    if (clrelu_context_create(&ctx, "cpu")) return 1;
    for (long i = 0; i < calls / 10 + 1; ++i) clrelu_forward_host(ctx, &d, n, x, y);
    double t = now();
    for (long i = 0; i < calls; ++i) clrelu_forward_host(ctx, &d, n, x, y);
    printf("%.9f\n", (now() - t) / calls);
    clrelu_context_release(ctx); free(x); free(y); return 0;
}
"""


def build_c_timer(root, folder):
    src, exe = os.path.join(folder, "timer.c"), os.path.join(folder, "timer")
    with open(src, "w") as f:
        f.write(C_TIMER)
    subprocess.run(["cc", "-O2", "-I", f"{root}/include", "-I", f"{root}/build/generated/include",
                    src, "-o", exe, f"-L{root}/build/host", "-lclrelu",
                    f"-Wl,-rpath,{root}/build/host"], check=True)  # fmt: skip
    return exe


def c_call(exe, n, calls):
    return float(subprocess.run([exe, str(n), str(calls)], check=True, capture_output=True,
                                text=True).stdout)  # fmt: skip


def py_call(ctx, n, calls):
    x = (np.arange(n) % 7 - 3).astype(np.float32)
    y = np.empty_like(x)
    for _ in range(calls // 10 + 1):
        ctx.forward(x, y)
    t = time.perf_counter()
    for _ in range(calls):
        ctx.forward(x, y)
    return (time.perf_counter() - t) / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
    with tempfile.TemporaryDirectory() as folder, clrelu.Context("cpu") as ctx:
        exe = build_c_timer(root, folder)
        for n, calls in ((1024, 20000), (1 << 24, 20)):
            c, p = [], []
            for _ in range(args.rounds):
                c.append(c_call(exe, n, calls))
                p.append(py_call(ctx, n, calls))
            cm, pm = statistics.median(c), statistics.median(p)
            print(f"n={n}: C {cm * 1e6:.2f} us/call, Python {pm * 1e6:.2f} us/call, overhead "
                  f"{(pm - cm) * 1e6:.2f} us, Python throughput {100 * cm / pm:.0f}% of C "
                  f"({n * 8 / pm / 1e9:.2f} GB/s moved)")  # fmt: skip
    print("load:", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
