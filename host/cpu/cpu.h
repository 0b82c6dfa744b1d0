/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU SIMD path: one table of kernels per instruction set, chosen once per context. */
#ifndef CLRELU_CPU_H
#define CLRELU_CPU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* What a kernel needs besides its arrays, computed once per call on the host. */
typedef struct clrelu__params {
    float slope; /* leaky's negative_slope */
    float alpha; /* blending */
    float beta;
    /* Clipped's ceiling in each domain (relu_math.h): "out" is what forward writes, "pass" the
     * threshold of the pass test (x < c, or y < the stored ceiling for backward from y). */
    uint32_t ceil_out32, ceil_pass32; /* f32 bits (f32, f16 and bf16 compute in f32) */
    uint64_t ceil_out64, ceil_pass64; /* f64 bits */
    uint32_t ceil_out16, ceil_pass16; /* stored f16 or bf16 bits (the conversion-free path) */
    /* The whole call's arrays are larger than the last-level cache: kernels that have them use
     * non-temporal stores (set per call by host_api.c; see clrelu__cpu_stream_min_bytes). */
    int stream;
    /* Where the f32 leaky kernels count their switches to the exact route for subnormals
     * (subnormal.h), or NULL: the context's count, which tests read. */
    atomic_ulong *exact_entries;
} clrelu__params;

/* Passes, ops (CR_RELU, CR_LEAKY, CR_CLIPPED in relu_math.h), dtypes (clrelu_dtype order) and
 * blending modes (CR_PLAIN, CR_SCALE, CR_BLEND) index the table. */
enum {
    CLRELU__PASS_FWD = 0,      /* in0 = x, out = y */
    CLRELU__PASS_FWD_MASK = 1, /* in0 = x, out = y, mask = the bitmask written */
    CLRELU__PASS_BWD = 2,      /* in0 = dy, in1 = x or y, out = dx */
    CLRELU__PASS_BWD_MASK = 3, /* in0 = dy, in1 = the bitmask (uint32_t words), out = dx */
    CLRELU__PASSES = 4
};
#define CLRELU__OPS    3
#define CLRELU__DTYPES 4
#define CLRELU__BLENDS 3

/* Every kernel works on n elements from the start of its arrays; an output may alias an input
 * exactly (in place), never partially. Masks start at bit 0 of word 0. */
typedef void (*clrelu__cpu_fn)(size_t n, const void *in0, const void *in1, void *out,
                               uint32_t *mask, const clrelu__params *p);

typedef struct clrelu__cpu_kernels {
    const char *isa;
    clrelu__cpu_fn fn[CLRELU__PASSES][CLRELU__OPS][CLRELU__DTYPES][CLRELU__BLENDS];
} clrelu__cpu_kernels;

extern const clrelu__cpu_kernels clrelu__cpu_scalar;
#if defined(CLRELU_HAVE_SSE2)
extern const clrelu__cpu_kernels clrelu__cpu_sse2;
#endif
#if defined(CLRELU_HAVE_AVX2)
extern const clrelu__cpu_kernels clrelu__cpu_avx2;
#endif
#if defined(CLRELU_HAVE_AVX512)
extern const clrelu__cpu_kernels clrelu__cpu_avx512;
#endif
#if defined(CLRELU_HAVE_NEON)
extern const clrelu__cpu_kernels clrelu__cpu_neon;
#endif

/* The kernels for isa (NULL: the best this CPU has). Returns NULL and writes the reason to
 * why when isa is unknown, not built, or not supported by this CPU. */
const clrelu__cpu_kernels *clrelu__cpu_select(const char *isa, char *why, size_t why_len);

/* Tests only: makes detection report that this CPU lacks isa, so the error path of a forced
 * ISA and the fallback of the default choice run on any machine. */
void clrelu__cpu_hide_for_testing(const char *isa);

/* The CPU's brand string ("AMD EPYC ..."), or "" when unknown. */
const char *clrelu__cpu_brand(void);

/* Cores this process may run on (at least 1). */
unsigned clrelu__cpu_count(void);

/* Bytes a host call must move (every array) for its stores to be non-temporal: 3/4 of the
 * last-level cache (sysfs, else sysconf, else 32 MiB), read once; measured in dispatch.c. */
size_t clrelu__cpu_stream_min_bytes(void);

/* threads.c: the process's worker threads. A call may use at most CLRELU__MAX_THREADS threads
 * and split its work into at most CLRELU__MAX_PARTS parts. */
#define CLRELU__MAX_THREADS 256
#define CLRELU__MAX_PARTS   4095
typedef void (*clrelu__part_fn)(void *arg, unsigned part, unsigned parts);
/* A host call that moves fewer bytes than this (every array, read and written) stays on the
 * calling thread; at the threshold it uses two threads, and one more per half threshold.
 *
 * Why 1 MiB. Threading costs the caller little wherever a worker is late: parts are claimed
 * one at a time, so the caller simply does more of them. Measured on the 2-vCPU AMD EPYC VM
 * (AVX-512; medians and minima of 11 samples, 1 thread vs 2 with the threshold at 0), with
 * the second core busy with other processes the whole time: the best samples of 2 threads
 * were 1 thread's time + 0.1 us from 32 KiB to 12 MiB (f32 relu forward 2^18: 21.7 vs 22.4
 * us; f16 leaky forward 2^18: 67.7 vs 68.2 us), i.e. the caller did every part and the
 * threaded path cost 0.1 us; the medians of 2 threads were 2x-10x worse, from workers that
 * claimed a part and were then preempted for a time slice. So: not below the L2 (1 MiB per
 * core here), where a call lasts ~10 us, of the order of waking a sleeping worker (~5-50 us),
 * and where one core already runs from cache; above it, on an idle machine each extra core
 * adds its share of bandwidth or arithmetic (f16/bf16 with conversions is compute-bound). */
#define CLRELU__THREAD_MIN_BYTES ((size_t)1 << 20)
/* Runs fn(arg, k, parts) for every k < parts on up to threads threads, the calling thread one
 * of them, and returns when all have returned; the pool's workers are started on first use
 * and kept. When another call is using the workers, every part runs on the calling thread. */
void clrelu__cpu_parallel(unsigned threads, unsigned parts, clrelu__part_fn fn, void *arg);
/* Part part of parts of n elements, [*begin, *end): cut at multiples of 32 elements. */
void clrelu__cpu_split(size_t n, unsigned part, unsigned parts, size_t *begin, size_t *end);

/* -0, the addend of the multiplies done as fma(a, b, -0) (relu_math.h's CR_FMUL says why), kept
 * out of the compiler's sight in dispatch.c. */
extern const float clrelu__neg_zero_f;
extern const double clrelu__neg_zero_d;

/* The floating-point environment the kernels assume (round to nearest, subnormals neither
 * flushed nor treated as zero), whatever the calling process set; restored by _leave. */
typedef struct clrelu__fpenv {
    unsigned saved;
} clrelu__fpenv;
void clrelu__fpenv_enter(clrelu__fpenv *env);
void clrelu__fpenv_leave(const clrelu__fpenv *env);

#endif
