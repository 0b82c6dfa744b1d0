/* SPDX-License-Identifier: Apache-2.0 */
/* Picks the CPU path's instruction set: features are detected once (cpuid and, for the AVX
 * families, xgetbv, since the OS must save the wider registers too); a context asks for the
 * best one, or for the one CLRELU_CPU_ISA forces. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <xmmintrin.h>
#define CLRELU__X86 1
#endif

typedef struct features {
    int sse2, avx2, avx512;
    char brand[64];
} features;

static features detected;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

#if defined(CLRELU__X86)
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

static void detect(void) {
#if defined(CLRELU__X86)
    unsigned a, b, c, d;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) {
        detected.sse2 = (d >> 26) & 1;
        int f16c = (c >> 29) & 1, fma = (c >> 12) & 1;
        int osxsave = (c >> 27) & 1;
        unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
        int os_avx = (xcr0 & 0x6) == 0x6;      /* XMM and YMM state */
        int os_avx512 = (xcr0 & 0xe6) == 0xe6; /* and opmask, ZMM_Hi256, Hi16_ZMM */
        if (max_leaf >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            /* "avx2" includes F16C (for the f16 conversions) and FMA (the multiply without a
             * slow path for subnormal products, relu_math.h's CR_FMUL): every AVX2 CPU from
             * Intel and AMD has both. */
            detected.avx2 = os_avx && ((b >> 5) & 1) && f16c && fma;
            /* "avx512" is the Skylake-X set the kernels are compiled for: F, DQ, BW, VL. */
            detected.avx512 = os_avx512 && ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) &&
                              ((b >> 31) & 1);
        }
    }
    if ((unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000004u) {
        unsigned regs[12];
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                        &regs[4 * i + 3]);
        memcpy(detected.brand, regs, sizeof regs);
        detected.brand[sizeof regs] = '\0';
        /* The brand string is padded with spaces on some CPUs. */
        char *s = detected.brand;
        while (*s == ' ')
            memmove(s, s + 1, strlen(s));
        for (size_t len = strlen(s); len > 0 && s[len - 1] == ' '; --len)
            s[len - 1] = '\0';
    }
#endif
}

typedef struct variant {
    const char *name;
    const clrelu__cpu_kernels *kernels; /* NULL: not built into this library */
    const int *usable;                  /* NULL: always usable */
} variant;

/* Best first; the first usable one is the default. */
static const variant variants[] = {
    {"avx512",
#if defined(CLRELU_HAVE_AVX512)
     &clrelu__cpu_avx512,
#else
     NULL,
#endif
     &detected.avx512},
    {"avx2",
#if defined(CLRELU_HAVE_AVX2)
     &clrelu__cpu_avx2,
#else
     NULL,
#endif
     &detected.avx2},
    {"sse2",
#if defined(CLRELU_HAVE_SSE2)
     &clrelu__cpu_sse2,
#else
     NULL,
#endif
     &detected.sse2},
    /* Advanced SIMD is part of every AArch64 CPU. */
    {"neon",
#if defined(CLRELU_HAVE_NEON)
     &clrelu__cpu_neon,
#else
     NULL,
#endif
     NULL},
    {"scalar", &clrelu__cpu_scalar, NULL},
};

const clrelu__cpu_kernels *clrelu__cpu_select(const char *isa, char *why, size_t why_len) {
    pthread_once(&detect_once, detect);
    size_t count = sizeof variants / sizeof variants[0];
    for (size_t i = 0; i < count; ++i) {
        const variant *v = &variants[i];
        int usable = v->kernels && (!v->usable || *v->usable);
        if (isa == NULL) {
            if (usable)
                return v->kernels;
            continue;
        }
        if (strcasecmp(isa, v->name) != 0)
            continue;
        if (!v->kernels)
            snprintf(why, why_len, "CLRELU_CPU_ISA=%s: this build of clrelu has no %s kernels", isa,
                     v->name);
        else if (!usable)
            snprintf(why, why_len, "CLRELU_CPU_ISA=%s: this CPU (%s) does not support %s", isa,
                     detected.brand[0] ? detected.brand : "unknown", v->name);
        return usable ? v->kernels : NULL;
    }
    snprintf(why, why_len,
             "CLRELU_CPU_ISA=%s: unknown ISA (expected scalar, sse2, avx2, avx512 or neon)", isa);
    return NULL;
}

void clrelu__cpu_hide_for_testing(const char *isa) {
    pthread_once(&detect_once, detect);
    if (strcasecmp(isa, "avx512") == 0)
        detected.avx512 = 0;
    else if (strcasecmp(isa, "avx2") == 0)
        detected.avx2 = 0;
    else if (strcasecmp(isa, "sse2") == 0)
        detected.sse2 = 0;
}

const char *clrelu__cpu_brand(void) {
    pthread_once(&detect_once, detect);
    return detected.brand;
}

static size_t llc_bytes;
static pthread_once_t llc_once = PTHREAD_ONCE_INIT;

/* The largest cache of cpu0 that sysfs describes; sysconf's figure is a fallback only, since
 * glibc reports some virtual machines' L3 as the whole host socket's. */
static void read_llc(void) {
    size_t best = 0;
    for (int i = 0; i < 8; ++i) {
        char path[96], text[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        if (fgets(text, sizeof text, f)) {
            char *end;
            unsigned long long v = strtoull(text, &end, 10);
            if (*end == 'K')
                v <<= 10;
            else if (*end == 'M')
                v <<= 20;
            if (v > best)
                best = (size_t)v;
        }
        fclose(f);
    }
#if defined(_SC_LEVEL3_CACHE_SIZE)
    if (!best) {
        long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
        best = v > 0 ? (size_t)v : 0;
    }
#endif
    llc_bytes = best ? best : (size_t)32 << 20;
}

/* Three quarters of the last-level cache. Measured on a 2-vCPU AMD EPYC VM with a 32 MiB L3
 * (AVX-512 f32 relu, medians of 9, GB/s plain -> non-temporal, 1 and 2 threads alike):
 * forward moving 16 MiB (2^21 floats) loses with streaming stores (67 -> 55 on one thread,
 * 50 -> 40 on two: the output would have stayed in L3), forward moving 32 MiB (2^22) gains
 * (38 -> 48, 33 -> 41), backward moving 24 MiB (2^21) gains (45 -> 66, 33 -> 45), and every
 * larger size gains 1.3x-1.5x (forward 2^26: 23 -> 35 on one thread, 25 -> 35 on two; the
 * store no longer reads each line before writing it). The cache is shared with other work,
 * so an array that merely fits is already mostly evicted.
 *
 * The cache counted is at most CLRELU__LLC_PER_CPU for each CPU the process may run on. A
 * virtual machine may describe its host's whole last-level cache while other tenants hold most
 * of it: the 2-vCPU Intel Xeon VM here reports 480 MiB, yet f32 relu on 2 threads ran at
 * 98-102% of copy moving 64 MiB and fell to 70% (forward) and 80% (backward) moving 128 MiB,
 * where non-temporal stores made them 1.58x and 1.42x faster (1.26x and 1.47x moving 256 MiB;
 * 0.94x and 1.05x at 64 and 96 MiB; medians of 3, interleaved). 48 MiB a CPU puts that VM's
 * threshold at 72 MiB, and leaves any machine whose cache is smaller than that share alone
 * (x86 cores have at most 12 MiB of L3 each, AMD's stacked cache). */
#define CLRELU__LLC_PER_CPU ((size_t)48 << 20)

size_t clrelu__cpu_stream_min_bytes(void) {
    pthread_once(&llc_once, read_llc);
    const size_t cpus = clrelu__cpu_count();
    size_t llc = llc_bytes;
    if (cpus < SIZE_MAX / CLRELU__LLC_PER_CPU && llc > cpus * CLRELU__LLC_PER_CPU)
        llc = cpus * CLRELU__LLC_PER_CPU;
    return llc / 4 * 3;
}

unsigned clrelu__cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* The addend of relu_math.h's CR_FMUL / CR_DMUL and of the hand-written kernels' multiplies,
 * fma(a, b, -0): a constant the compiler cannot see from there, so that it cannot fold the
 * fused multiply-add back into a plain multiply (Clang does), which is slow on subnormal
 * products. */
const float clrelu__neg_zero_f = -0.0f;
const double clrelu__neg_zero_d = -0.0;

/* MXCSR: all exceptions masked, round to nearest, FTZ and DAZ off (its reset value). On
 * AArch64, FPCR with round to nearest and FZ off. A process that enabled flush-to-zero (for
 * example a library built with -ffast-math) would otherwise change leaky and blended results
 * that are or start from subnormals; on AArch64 default-NaN mode would also change the NaNs
 * that the f16 conversions pass through. */
void clrelu__fpenv_enter(clrelu__fpenv *env) {
#if defined(CLRELU__X86)
    env->saved = _mm_getcsr();
    if (env->saved != 0x1f80u)
        _mm_setcsr(0x1f80u);
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    env->saved = (unsigned)fpcr;
    /* DN (default NaN), FZ, RMode, FZ16, and FEAT_AFP's AH and FIZ (RES0 without it). */
    unsigned long want =
        fpcr & ~((1ul << 25) | (1ul << 24) | (3ul << 22) | (1ul << 19) | (1ul << 1) | 1ul);
    if (want != fpcr)
        __asm__ volatile("msr fpcr, %0" : : "r"(want));
#else
    env->saved = 0;
#endif
}

void clrelu__fpenv_leave(const clrelu__fpenv *env) {
#if defined(CLRELU__X86)
    if (env->saved != 0x1f80u)
        _mm_setcsr(env->saved);
#elif defined(__aarch64__)
    unsigned long now;
    __asm__ volatile("mrs %0, fpcr" : "=r"(now));
    if (now != env->saved)
        __asm__ volatile("msr fpcr, %0" : : "r"((unsigned long)env->saved));
#else
    (void)env;
#endif
}
