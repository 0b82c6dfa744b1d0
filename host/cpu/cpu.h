/* The CPU SIMD path: one table of kernels per instruction set, chosen once per context. */
#ifndef CLRELU_CPU_H
#define CLRELU_CPU_H

#include <stddef.h>

/* Every kernel works on n elements; outputs may alias an input exactly (in place), never
 * partially. They are pure bit operations, so every ISA gives the same bits. */
typedef struct clrelu__cpu_kernels {
    const char *isa;
    void (*relu_fwd_f32)(size_t n, const float *x, float *y);
    void (*relu_bwd_f32)(size_t n, const float *dy, const float *x, float *dx);
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

#endif
