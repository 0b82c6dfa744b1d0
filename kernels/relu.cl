/* The ReLU family on cl_mem buffers: forward, forward writing the bitmask, backward (from x or
 * y: the same test), backward from the bitmask. The per-element semantics come from
 * relu_math.h, which the host prepends to this text.
 *
 * -D macros (set by host/ops.c):
 *   CLRELU_STORAGE  0 f32, 1 f16, 2 bf16, 3 f64 (then also CLRELU_WITH_F64=1)
 *   CLRELU_OP       0 relu, 1 leaky, 2 clipped (CR_RELU, CR_LEAKY, CR_CLIPPED)
 *   CLRELU_BLEND    0 out = f, 1 out = alpha * f, 2 out = alpha * f + beta * out
 *   CLRELU_VEC      elements per vector load and store: 2, 4, 8 or 16
 *
 * fwd and bwd are grid-stride loops over whole vectors, then an exact grid-stride tail, so
 * any global size covers every element exactly once; _a variants need every offset to be a
 * multiple of VEC (plain vector pointers), _u variants only element alignment (vloadn).
 * The mask kernels give one 32-bit mask word (32 elements) to a work-item per step.
 * Sizes and offsets are 64-bit end to end. */

#define CLRELU_CAT_(a, b) a##b
#define CLRELU_CAT(a, b) CLRELU_CAT_(a, b)

#if CLRELU_STORAGE == 0
#define S uint
#define DEC(s) (s)
#define ENC(c) (c)
#define DOM 32
#elif CLRELU_STORAGE == 1
#define S ushort
#define DEC(s) cr_f16_to_f32((uint)(s))
#define ENC(c) ((ushort)cr_f32_to_f16(c))
#define DOM 32
#elif CLRELU_STORAGE == 2
#define S ushort
#define DEC(s) cr_bf16_to_f32((uint)(s))
#define ENC(c) ((ushort)cr_f32_to_bf16(c))
#define DOM 32
#else
#define S ulong
#define DEC(s) (s)
#define ENC(c) (c)
#define DOM 64
#endif

#define CB CLRELU_CAT(cr_u, DOM)
#define FWD CLRELU_CAT(cr_fwd, DOM)
#define PASS CLRELU_CAT(cr_pass, DOM)
#define GRAD CLRELU_CAT(cr_grad, DOM)
#define BLENDF CLRELU_CAT(cr_blend, DOM)
#define SV CLRELU_CAT(S, CLRELU_VEC)
#define VLOAD CLRELU_CAT(vload, CLRELU_VEC)
#define VSTORE CLRELU_CAT(vstore, CLRELU_VEC)

#define LOAD_A(i, p) (((__global const SV *)(p))[i])
#define STORE_A(v, i, p) (((__global SV *)(p))[i] = (v))
#define LOAD_U(i, p) VLOAD(i, p)
#define STORE_U(v, i, p) VSTORE(v, i, p)

/* Apply M(lane, index) to every lane of a vector. */
#if CLRELU_VEC == 2
#define FOR_LANES(M) M(s0, 0) M(s1, 1)
#elif CLRELU_VEC == 4
#define FOR_LANES(M) M(s0, 0) M(s1, 1) M(s2, 2) M(s3, 3)
#elif CLRELU_VEC == 8
#define FOR_LANES(M) M(s0, 0) M(s1, 1) M(s2, 2) M(s3, 3) M(s4, 4) M(s5, 5) M(s6, 6) M(s7, 7)
#else
#define FOR_LANES(M)                                                                            \
    M(s0, 0) M(s1, 1) M(s2, 2) M(s3, 3) M(s4, 4) M(s5, 5) M(s6, 6) M(s7, 7) M(s8, 8) M(s9, 9)   \
        M(sa, 10) M(sb, 11) M(sc, 12) M(sd, 13) M(se, 14) M(sf, 15)
#endif

#define PARAMS const float slope, const ulong ceil_bits, const float alpha, const float beta

static inline S fwd_elem(S xs, S old, float slope, CB c, float alpha, float beta) {
    CB t = FWD(CLRELU_OP, DEC(xs), slope, c);
#if CLRELU_BLEND == CR_BLEND
    return ENC(BLENDF(CLRELU_BLEND, t, DEC(old), alpha, beta));
#else
    (void)old;
    return ENC(BLENDF(CLRELU_BLEND, t, (CB)0, alpha, beta));
#endif
}

static inline S grad_elem(int pass, S dys, S old, float slope, float alpha, float beta) {
    CB g = GRAD(CLRELU_OP, pass, DEC(dys), slope);
#if CLRELU_BLEND == CR_BLEND
    return ENC(BLENDF(CLRELU_BLEND, g, DEC(old), alpha, beta));
#else
    (void)old;
    return ENC(BLENDF(CLRELU_BLEND, g, (CB)0, alpha, beta));
#endif
}

static inline S bwd_elem(S dys, S ss, S old, float slope, CB c, float alpha, float beta) {
    return grad_elem(PASS(CLRELU_OP, DEC(ss), c), dys, old, slope, alpha, beta);
}

/* The old output, read only when blending needs it. */
#if CLRELU_BLEND == CR_BLEND
#define OLD_V(LOAD, i, p) LOAD(i, p)
#define OLD_S(p, t) (p)[t]
#else
#define OLD_V(LOAD, i, p) ((SV)0)
#define OLD_S(p, t) ((S)0)
#endif

#define CLRELU_DEFINE(suffix, LOAD, STORE)                                                        \
    __kernel void fwd##suffix(const ulong n, __global const S *x, const ulong x_off,              \
                              __global S *y, const ulong y_off, PARAMS) {                         \
        const ulong nv = n / CLRELU_VEC;                                                          \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        const CB c = (CB)ceil_bits;                                                               \
        __global const S *xs = x + x_off;                                                         \
        __global S *ys = y + y_off;                                                               \
        for (ulong i = gid; i < nv; i += stride) {                                                \
            const SV xv = LOAD(i, xs);                                                            \
            const SV ov = OLD_V(LOAD, i, ys);                                                     \
            SV r;                                                                                 \
            FOR_LANES(FWD_LANE)                                                                   \
            STORE(r, i, ys);                                                                      \
        }                                                                                         \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                 \
            ys[t] = fwd_elem(xs[t], OLD_S(ys, t), slope, c, alpha, beta);                         \
    }                                                                                             \
                                                                                                  \
    __kernel void bwd##suffix(const ulong n, __global const S *dy, const ulong dy_off,            \
                              __global const S *src, const ulong src_off, __global S *dx,         \
                              const ulong dx_off, PARAMS) {                                       \
        const ulong nv = n / CLRELU_VEC;                                                          \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        const CB c = (CB)ceil_bits;                                                               \
        __global const S *gs = dy + dy_off;                                                       \
        __global const S *ss = src + src_off;                                                     \
        __global S *os = dx + dx_off;                                                             \
        for (ulong i = gid; i < nv; i += stride) {                                                \
            const SV gv = LOAD(i, gs);                                                            \
            const SV sv = LOAD(i, ss);                                                            \
            const SV ov = OLD_V(LOAD, i, os);                                                     \
            SV r;                                                                                 \
            FOR_LANES(BWD_LANE)                                                                   \
            STORE(r, i, os);                                                                      \
        }                                                                                         \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                 \
            os[t] = bwd_elem(gs[t], ss[t], OLD_S(os, t), slope, c, alpha, beta);                  \
    }

#define FWD_LANE(l, k) r.l = fwd_elem(xv.l, ov.l, slope, c, alpha, beta);
#define BWD_LANE(l, k) r.l = bwd_elem(gv.l, sv.l, ov.l, slope, c, alpha, beta);

CLRELU_DEFINE(_a, LOAD_A, STORE_A)
CLRELU_DEFINE(_u, LOAD_U, STORE_U)

/* Forward that also writes the mask: bit j of word w is element 32 w + j's pass bit. The
 * bits of the last word past n are 0. */
__kernel void fwd_mask(const ulong n, __global const S *x, const ulong x_off, __global S *y,
                       const ulong y_off, __global uint *mask, const ulong mask_word_off,
                       PARAMS) {
    const ulong nw = n / 32 + (n % 32 != 0);
    const ulong gid = get_global_id(0), stride = get_global_size(0);
    const CB c = (CB)ceil_bits;
    __global const S *xs = x + x_off;
    __global S *ys = y + y_off;
    for (ulong w = gid; w < nw; w += stride) {
        const ulong base = w * 32;
        uint bits = 0;
        if (base + 32 <= n) {
            for (int k = 0; k < 32 / CLRELU_VEC; ++k) {
                const ulong at = base / CLRELU_VEC + (ulong)k;
                const SV xv = LOAD_U(at, xs);
                const SV ov = OLD_V(LOAD_U, at, ys);
                SV r;
#define MASK_FWD_LANE(l, j)                                                                       \
    r.l = fwd_elem(xv.l, ov.l, slope, c, alpha, beta);                                            \
    bits |= (uint)PASS(CLRELU_OP, DEC(xv.l), c) << (k * CLRELU_VEC + j);
                FOR_LANES(MASK_FWD_LANE)
                STORE_U(r, at, ys);
            }
        } else {
            for (ulong t = base; t < n; ++t) {
                const S xe = xs[t];
                ys[t] = fwd_elem(xe, OLD_S(ys, t), slope, c, alpha, beta);
                bits |= (uint)PASS(CLRELU_OP, DEC(xe), c) << (t - base);
            }
        }
        mask[mask_word_off + w] = bits;
    }
}

/* Backward from the mask: dy and 1 bit per element in, dx out. */
__kernel void bwd_mask(const ulong n, __global const S *dy, const ulong dy_off,
                       __global const uint *mask, const ulong mask_word_off, __global S *dx,
                       const ulong dx_off, PARAMS) {
    const ulong nw = n / 32 + (n % 32 != 0);
    const ulong gid = get_global_id(0), stride = get_global_size(0);
    (void)ceil_bits;
    __global const S *gs = dy + dy_off;
    __global S *os = dx + dx_off;
    for (ulong w = gid; w < nw; w += stride) {
        const ulong base = w * 32;
        const uint bits = mask[mask_word_off + w];
        if (base + 32 <= n) {
            for (int k = 0; k < 32 / CLRELU_VEC; ++k) {
                const ulong at = base / CLRELU_VEC + (ulong)k;
                const SV gv = LOAD_U(at, gs);
                const SV ov = OLD_V(LOAD_U, at, os);
                SV r;
#define MASK_BWD_LANE(l, j)                                                                       \
    r.l = grad_elem((int)((bits >> (k * CLRELU_VEC + j)) & 1u), gv.l, ov.l, slope, alpha, beta);
                FOR_LANES(MASK_BWD_LANE)
                STORE_U(r, at, os);
            }
        } else {
            for (ulong t = base; t < n; ++t)
                os[t] = grad_elem((int)((bits >> (t - base)) & 1u), gs[t], OLD_S(os, t), slope,
                                  alpha, beta);
        }
    }
}
