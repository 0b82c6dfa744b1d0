/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU path of the channel ops (PReLU, the residual epilogue): per ISA, the element loops
 * of host/cpu/channel.inc; host/channel_host.c walks the tensor and sums. Internal. */
#ifndef CLRELU_CHANNEL_CPU_H
#define CLRELU_CHANNEL_CPU_H

#include <stddef.h>
#include <stdint.h>

/* What the element loops need besides their arrays, from the checked descriptor. */
typedef struct clrelu__ch_params {
    float slope, alpha, beta;         /* leaky's slope; blending */
    uint32_t ceil_out32, ceil_pass32; /* clipped's ceiling in the f32 domain (relu_math.h) */
    uint64_t ceil_out64, ceil_pass64; /* ... and in the f64 domain */
} clrelu__ch_params;

#define CLRELU__CH_OPS 4 /* CR_RELU, CR_LEAKY, CR_CLIPPED, CR_PRELU */

/* The loops work on n elements; s, dy, v, a, g and p are compute-domain bits (uint32_t for f32,
 * f16 and bf16; uint64_t for f64), out is storage (read first when blending), and out may be
 * the storage s or dy was decoded from (in place). A per-channel argument (v, a) holds one value
 * per element, or, with its *_one flag, one value for all (a channel's run).
 *   dec:  storage -> compute domain
 *   add:  d[i] = s[i] + v[i] (cr_add32 / cr_add64; d may be s)
 *   fwd:  out[i] = blend(f(s[i]; a[i]), out[i])   (a: PReLU's slopes, else unused)
 *   bwd:  g[i] = f'(s[i]) * dy[i]; p[i] = PReLU's s[i] * dy[i] where s[i] does not pass, else
 *         +0 (p unused for the other ops); out[i] = blend(g[i], out[i]); g and p may be NULL
 *         (no sums wanted: dx alone) */
typedef void (*clrelu__ch_dec_fn)(size_t n, const void *in, void *d);
typedef void (*clrelu__ch_add_fn)(size_t n, void *d, const void *s, const void *v, int v_one);
typedef void (*clrelu__ch_fwd_fn)(size_t n, const void *s, const void *a, int a_one, void *out,
                                  const clrelu__ch_params *p);
typedef void (*clrelu__ch_bwd_fn)(size_t n, const void *s, const void *dy, const void *a, int a_one,
                                  void *out, void *g, void *pg, const clrelu__ch_params *p);

/* dst = src for bytes, whole 64-byte lines of dst with non-temporal stores (the line is not
 * read first: a third of a forward's traffic), the parts of lines at the ends plainly; and the
 * fence that orders those stores, once a part of the work is done. */
typedef void (*clrelu__ch_store_fn)(void *dst, const void *src, size_t bytes);
typedef void (*clrelu__ch_fence_fn)(void);

typedef struct clrelu__cpu_channel {
    const char *isa;
    clrelu__ch_store_fn store_nt;
    clrelu__ch_fence_fn fence;
    clrelu__ch_dec_fn dec[4];                    /* by dtype */
    clrelu__ch_add_fn add[2];                    /* f32 domain, f64 domain */
    clrelu__ch_fwd_fn fwd[CLRELU__CH_OPS][4][3]; /* op, dtype, blending mode */
    clrelu__ch_bwd_fn bwd[CLRELU__CH_OPS][4][3];
} clrelu__cpu_channel;

/* The loops for the CPU path's ISA (its name, as clrelu__cpu_kernels.isa); the scalar ones for
 * a name this build has none for. */
const clrelu__cpu_channel *clrelu__cpu_channel_for(const char *isa);

#endif
