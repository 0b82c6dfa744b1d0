/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops' loops for the ISA a context's CPU path runs (dispatch.c chose it). */
#include <string.h>

#include "channel_cpu.h"

extern const clrelu__cpu_channel clrelu__cpu_channel_scalar;
#if defined(CLRELU_HAVE_SSE2)
extern const clrelu__cpu_channel clrelu__cpu_channel_sse2;
#endif
#if defined(CLRELU_HAVE_AVX2)
extern const clrelu__cpu_channel clrelu__cpu_channel_avx2;
#endif
#if defined(CLRELU_HAVE_AVX512)
extern const clrelu__cpu_channel clrelu__cpu_channel_avx512;
#endif
#if defined(CLRELU_HAVE_NEON)
extern const clrelu__cpu_channel clrelu__cpu_channel_neon;
#endif

static const clrelu__cpu_channel *const tables[] = {
#if defined(CLRELU_HAVE_SSE2)
    &clrelu__cpu_channel_sse2,
#endif
#if defined(CLRELU_HAVE_AVX2)
    &clrelu__cpu_channel_avx2,
#endif
#if defined(CLRELU_HAVE_AVX512)
    &clrelu__cpu_channel_avx512,
#endif
#if defined(CLRELU_HAVE_NEON)
    &clrelu__cpu_channel_neon,
#endif
    &clrelu__cpu_channel_scalar,
};

const clrelu__cpu_channel *clrelu__cpu_channel_for(const char *isa) {
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; ++i)
        if (isa && strcmp(tables[i]->isa, isa) == 0)
            return tables[i];
    return &clrelu__cpu_channel_scalar;
}
