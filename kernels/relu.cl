/* SPDX-License-Identifier: Apache-2.0 */
/* The ReLU family on cl_mem buffers: forward, forward writing the bitmask, backward (from x or
 * y), backward from the bitmask. The per-element semantics come from relu_math.h, which the
 * host prepends to this text.
 *
 * -D macros (set by host/ops.c):
 *   CLRELU_STORAGE  0 f32, 1 f16, 2 bf16, 3 f64 (then also CLRELU_WITH_F64=1)
 *   CLRELU_OP       0 relu, 1 leaky, 2 clipped (CR_RELU, CR_LEAKY, CR_CLIPPED)
 *   CLRELU_BLEND    0 out = f, 1 out = alpha * f, 2 out = alpha * f + beta * out
 *   CLRELU_VEC      elements per work-item and vector load: 2, 4, 8 or 16
 *   CLRELU_LOCAL    the work-group size (the mask kernel's tile)
 *
 * fwd, bwd and bwd_mask are grid-stride loops over whole vectors, then an exact grid-stride
 * tail, so any global size covers every element once; _a variants need every element offset
 * to be a multiple of VEC (plain vector pointers), _u variants only element alignment
 * (vloadn). fwd_mask loops over tiles of LOCAL * VEC elements, one vector per work-item, and
 * packs the pass bits into words through local memory. Sizes and offsets are 64-bit.
 *
 * The ceilings come as two arguments, in the domain the kernel decides in: ceil_out is what
 * clipped writes, ceil_pass the threshold of the pass test (relu_math.h says which values). */

#define CLRELU_CAT_(a, b) a##b
#define CLRELU_CAT(a, b) CLRELU_CAT_(a, b)

#if CLRELU_STORAGE == 0
#define S uint
#define DEC(s) (s)
#define ENC(c) (c)
#define DOM 32
#define CT uint
#elif CLRELU_STORAGE == 1
#define S ushort
#define DEC(s) cr_f16_to_f32((uint)(s))
#define ENC(c) ((ushort)cr_f32_to_f16(c))
#define DOM 32
#define CT uint
#define INF16 0x7c00u
#elif CLRELU_STORAGE == 2
#define S ushort
#define DEC(s) cr_bf16_to_f32((uint)(s))
#define ENC(c) ((ushort)cr_f32_to_bf16(c))
#define DOM 32
#define CT uint
#define INF16 0x7f80u
#else
#define S ulong
#define DEC(s) (s)
#define ENC(c) (c)
#define DOM 64
#define CT ulong
#endif

/* f16 and bf16 without arithmetic decide on the stored bits: nothing to convert. (host/ops.c
 * passes the ceilings in this domain under the same condition.) */
#if (CLRELU_STORAGE == 1 || CLRELU_STORAGE == 2) && CLRELU_BLEND == CR_PLAIN &&                  \
    CLRELU_OP != CR_LEAKY
#define BITS16 1
#else
#define BITS16 0
#endif

/* Scalar floats of each domain, for the bias sums. */
typedef float float32_t;
#define AS_F32(u) as_float(u)
#define AS_U32(f) as_uint(f)
#if CLRELU_WITH_F64
typedef double float64_t;
#define AS_F64(u) as_double(u)
#define AS_U64(f) as_ulong(f)
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

#define PARAMS                                                                                   \
    const float slope, const ulong ceil_out, const ulong ceil_pass, const float alpha,           \
        const float beta

/* Vectors. The main loops work on whole vectors with the vector twins below of relu_math.h's
 * scalar functions (OpenCL's relational operators give -1/0 per lane and select() tests the
 * top bit, so the same expressions hold lane by lane); the scalar tails use relu_math.h
 * itself, and the tests hold both to the same bits. BITS16 works on the stored bits; otherwise
 * f16 and bf16 are converted to f32 bits (and back) around the same f32 code. */
#define UV CLRELU_CAT(uint, CLRELU_VEC)
#define IV CLRELU_CAT(int, CLRELU_VEC)
#define FV CLRELU_CAT(float, CLRELU_VEC)
#define AS_UV CLRELU_CAT(as_uint, CLRELU_VEC)
#define AS_IV CLRELU_CAT(as_int, CLRELU_VEC)
#define AS_FV CLRELU_CAT(as_float, CLRELU_VEC)
#define CONVERT_UV CLRELU_CAT(convert_uint, CLRELU_VEC)
#define CONVERT_SV CLRELU_CAT(convert_ushort, CLRELU_VEC)
#define CONVERT_FV CLRELU_CAT(convert_float, CLRELU_VEC)

#if CLRELU_VEC == 2
#define LANE_BITS ((UV)(1u, 2u))
#elif CLRELU_VEC == 4
#define LANE_BITS ((UV)(1u, 2u, 4u, 8u))
#elif CLRELU_VEC == 8
#define LANE_BITS ((UV)(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u))
#else
#define LANE_BITS                                                                                \
    ((UV)(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u,  \
          32768u))
#endif

/* The lanes of a pass mask (-1/0 per lane) as bits 0..VEC-1 of a word, and back. */
static inline uint mask_to_bits(IV pass) {
    UV b = AS_UV(pass) & LANE_BITS;
    /* The lanes' bits are distinct: OR the halves together, a tree of vector ORs (log2 VEC
     * steps) rather than one scalar OR per lane, which compilers keep as lane extracts. */
#if CLRELU_VEC == 16
    uint8 b8 = b.lo | b.hi;
    uint4 b4 = b8.lo | b8.hi;
#elif CLRELU_VEC == 8
    uint4 b4 = b.lo | b.hi;
#elif CLRELU_VEC == 4
    uint4 b4 = b;
#endif
#if CLRELU_VEC >= 4
    uint2 b2 = b4.lo | b4.hi;
#else
    uint2 b2 = b;
#endif
    return b2.x | b2.y;
}

static inline IV bits_to_mask(uint bits) {
    return ((UV)bits & LANE_BITS) != (UV)0u;
}

#if DOM == 32
#define DV UV /* the compute domain's vectors */
#define DIV IV
#define DFV FV
#define AS_DV AS_UV
#define AS_DIV AS_IV
#define AS_DFV AS_FV
#define D_ABS CR_ABS32
#define D_INF CR_INF32
#define D_QNAN CR_QNAN32
#define D_PASS_MASK(m) (m)
#else
#define DV CLRELU_CAT(ulong, CLRELU_VEC)
#define DIV CLRELU_CAT(long, CLRELU_VEC)
#define DFV CLRELU_CAT(double, CLRELU_VEC)
#define AS_DV CLRELU_CAT(as_ulong, CLRELU_VEC)
#define AS_DIV CLRELU_CAT(as_long, CLRELU_VEC)
#define AS_DFV CLRELU_CAT(as_double, CLRELU_VEC)
#define D_ABS CR_ABS64
#define D_INF CR_INF64
#define D_QNAN CR_QNAN64
/* 64-bit lanes compare to longN masks; the bit packing works on intN. */
#define D_PASS_MASK(m) CLRELU_CAT(convert_int, CLRELU_VEC)(m)
#endif

static inline DIV nan_v(DV b) {
    return (b & D_ABS) > D_INF;
}
static inline DIV gt0_v(DV b) {
    return (AS_DIV(b) > 0) & (b <= D_INF);
}
static inline DV canon_v(DV b) {
    return select(b, (DV)D_QNAN, nan_v(b));
}
static inline DV mul_v(float s, DV b) {
    DFV r = (DFV)s * AS_DFV(b);
    return canon_v(AS_DV(r));
}
static inline DV fwd_v(DV x, float slope, CB c) {
#if CLRELU_OP == CR_CLIPPED
    DV pos = select((DV)c, x, x < c);
#else
    DV pos = x;
#endif
#if CLRELU_OP == CR_LEAKY
    DV neg = mul_v(slope, x);
#else
    DV neg = (DV)0;
    (void)slope;
#endif
    return select(select(neg, pos, gt0_v(x)), x, nan_v(x));
}
static inline DIV pass_v(DV x, CB c) {
#if CLRELU_OP == CR_LEAKY
    (void)c;
    return gt0_v(x);
#elif CLRELU_OP == CR_CLIPPED
    return nan_v(x) | (gt0_v(x) & (x < c));
#else
    (void)c;
    return nan_v(x) | gt0_v(x);
#endif
}
static inline DV add_v(DV x, DV b) { /* cr_add32 / cr_add64 */
    DFV r = AS_DFV(x) + AS_DFV(b);
    return select(select(canon_v(AS_DV(r)), b, nan_v(b)), x, nan_v(x));
}
static inline DV grad_v(DIV pass, DV dy, float slope) {
#if CLRELU_OP == CR_LEAKY
    DV other = mul_v(slope, dy);
#else
    DV other = (DV)0;
    (void)slope;
#endif
    return select(other, dy, pass);
}
static inline DV blend_v(DV t, DV old, float alpha, float beta) {
#if CLRELU_BLEND == CR_PLAIN
    (void)old, (void)alpha, (void)beta;
    return t;
#else
    DFV p = (DFV)alpha * AS_DFV(t);
    DFV r = p;
#if CLRELU_BLEND == CR_BLEND
    DFV q = (DFV)beta * AS_DFV(old);
    r = p + q;
#else
    (void)old, (void)beta;
#endif
    return select(canon_v(AS_DV(r)), t, nan_v(t));
#endif
}

/* The storage <-> compute-domain conversions of whole vectors: the scalar ones of relu_math.h
 * written for uintN (the tests hold them to the same bits). CV_DEC / CV_ENC are identities for
 * f32 and f64. */
#if CLRELU_STORAGE == 1
/* f16: the conversions of OpenCL C itself (vload_halfn / vstore_halfn_rte, core since 1.0, no
 * cl_khr_fp16 needed) on a private copy, which compilers turn into the hardware's conversion
 * (F16C on x86: a third of the integer route's instructions). They are exact, and round to
 * nearest even, but quiet a signalling NaN (PoCL: probed): NaN lanes are rebuilt from the
 * bits as relu_math.h has them, never from the NaN the conversion made. */
#define VLOAD_HALF CLRELU_CAT(vload_half, CLRELU_VEC)
#define VSTORE_HALF_RTE CLRELU_CAT(CLRELU_CAT(vstore_half, CLRELU_VEC), _rte)
static inline UV dec_v(SV h16) { /* cr_f16_to_f32 */
    __private SV tmp = h16;
    const UV f = AS_UV(VLOAD_HALF(0, (__private const half *)&tmp));
    const UV h = CONVERT_UV(h16);
    /* From the stored bits alone: a compiler may take the bits of a NaN that a conversion
     * produced as anything (LLVM does, and PoCL folded a bit-22 fix-up wrongly). */
    const UV exact_nan = ((h & 0x8000u) << 16) | (UV)CR_INF32 | ((h & 0x3ffu) << 13);
    return select(f, exact_nan, (h & 0x7fffu) > 0x7c00u);
}
static inline SV enc_v(UV f) { /* cr_f32_to_f16 */
    __private SV tmp;
    VSTORE_HALF_RTE(AS_FV(f), 0, (__private half *)&tmp);
    const UV payload = (f >> 13) & 0x3ffu;
    const UV nan =
        ((f >> 16) & 0x8000u) | 0x7c00u | payload | select((UV)0u, (UV)0x200u, payload == 0u);
    return select(tmp, CONVERT_SV(nan),
                  CLRELU_CAT(convert_short, CLRELU_VEC)((f & CR_ABS32) > CR_INF32));
}
#elif CLRELU_STORAGE == 2
static inline UV dec_v(SV h16) { /* cr_bf16_to_f32 */
    return CONVERT_UV(h16) << 16;
}
static inline SV enc_v(UV f) { /* cr_f32_to_bf16 */
    const UV rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
    const UV top = f >> 16;
    const UV nan = top | select((UV)0u, (UV)0x40u, (top & 0x7fu) == 0u);
    return CONVERT_SV(select(rounded, nan, (f & CR_ABS32) > CR_INF32));
}
#endif
#if CLRELU_STORAGE == 1 || CLRELU_STORAGE == 2
#define CV_DEC(v) dec_v(v)
#define CV_ENC(v) enc_v(v)
#else
#define CV_DEC(v) (v)
#define CV_ENC(v) (v)
#endif

#if BITS16
/* cr_fwd16 / cr_pass16 on ushortN, with intN masks (the stored bits widened to uintN). */
static inline UV fwd16_v(UV h, uint c_out) {
    IV nan = (h & 0x7fffu) > INF16;
    IV gt0 = (h - 1u) < INF16;
#if CLRELU_OP == CR_CLIPPED
    UV pos = select((UV)c_out, h, h < c_out);
#else
    UV pos = h;
    (void)c_out;
#endif
    return select(select((UV)0u, pos, gt0), h, nan);
}
static inline IV pass16_v(UV h, uint c_pass) {
    IV nan = (h & 0x7fffu) > INF16;
    IV gt0 = (h - 1u) < INF16;
#if CLRELU_OP == CR_CLIPPED
    return nan | (gt0 & (h < c_pass));
#else
    (void)c_pass;
    return nan | gt0;
#endif
}
#define L S
#define LV UV
#define TO_LV(v) CONVERT_UV(v)
#define FROM_LV(v) CONVERT_SV(v)
#define TO_L(s) (s)
#define FROM_L(c) (c)
#define FWD_V(x, old) fwd16_v(x, (uint)ceil_out)
#define PASS_V(x) pass16_v(x, (uint)ceil_pass)
#define GRAD_V(pass, dy, old) select((UV)0u, dy, pass)
#else
#define L CB
#define LV DV
#define TO_L(s) DEC(s)
#define FROM_L(c) ENC(c)
#define TO_LV(v) CV_DEC(v)
#define FROM_LV(v) CV_ENC(v)
#define FWD_V(x, old) blend_v(fwd_v(x, slope, (CB)ceil_out), old, alpha, beta)
#define PASS_V(x) D_PASS_MASK(pass_v(x, (CB)ceil_pass))
#define GRAD_V(pass, dy, old) blend_v(grad_v(pass, dy, slope), old, alpha, beta)
#endif

/* The old output, read only when blending needs it. */
#if CLRELU_BLEND == CR_BLEND
#define OLD_V(LOAD, i, p) TO_LV(LOAD(i, p))
#define OLD_S(p, t) TO_L((p)[t])
#else
#define OLD_V(LOAD, i, p) ((LV)0)
#define OLD_S(p, t) ((L)0)
#endif

/* The scalar forms, for the tails. */
static inline L fwd_lane(L x, L old, float slope, ulong c_out, float alpha, float beta) {
#if BITS16
    (void)old, (void)slope, (void)alpha, (void)beta;
    return (L)cr_fwd16(CLRELU_OP, (uint)x, INF16, (uint)c_out);
#else
    return BLENDF(CLRELU_BLEND, FWD(CLRELU_OP, x, slope, (CB)c_out), old, alpha, beta);
#endif
}

static inline int pass_lane(L s, ulong c_pass) {
#if BITS16
    return cr_pass16(CLRELU_OP, (uint)s, INF16, (uint)c_pass);
#else
    return PASS(CLRELU_OP, s, (CB)c_pass);
#endif
}

static inline L grad_lane(int pass, L dy, L old, float slope, float alpha, float beta) {
#if BITS16
    (void)old, (void)slope, (void)alpha, (void)beta;
    return (L)cr_sel32(pass, (uint)dy, 0u);
#else
    return BLENDF(CLRELU_BLEND, GRAD(CLRELU_OP, pass, dy, slope), old, alpha, beta);
#endif
}

/* The pass mask in the lane type GRAD_V selects with: intN for 32-bit lanes, longN for f64. */
#if BITS16
#define PASS_MASK_OF(v) pass16_v(v, (uint)ceil_pass)
#define LANE_PASS(m) (m)
#elif DOM == 32
#define PASS_MASK_OF(v) pass_v(v, (CB)ceil_pass)
#define LANE_PASS(m) (m)
#else
#define PASS_MASK_OF(v) pass_v(v, (CB)ceil_pass)
#define LANE_PASS(m) CLRELU_CAT(convert_long, CLRELU_VEC)(m)
#endif

#define CLRELU_DEFINE(suffix, LOAD, STORE)                                                        \
    __kernel void fwd##suffix(const ulong n, __global const S *x, const ulong x_off,              \
                              __global S *y, const ulong y_off, PARAMS) {                         \
        const ulong nv = n / CLRELU_VEC;                                                          \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        __global const S *xs = x + x_off;                                                         \
        __global S *ys = y + y_off;                                                               \
        (void)ceil_pass;                                                                          \
        for (ulong i = gid; i < nv; i += stride) {                                                \
            const LV xv = TO_LV(LOAD(i, xs));                                                     \
            const LV ov = OLD_V(LOAD, i, ys);                                                     \
            STORE(FROM_LV(FWD_V(xv, ov)), i, ys);                                                 \
        }                                                                                         \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                 \
            ys[t] = FROM_L(fwd_lane(TO_L(xs[t]), OLD_S(ys, t), slope, ceil_out, alpha, beta));    \
    }                                                                                             \
                                                                                                  \
    __kernel void bwd##suffix(const ulong n, __global const S *dy, const ulong dy_off,            \
                              __global const S *src, const ulong src_off, __global S *dx,         \
                              const ulong dx_off, PARAMS) {                                       \
        const ulong nv = n / CLRELU_VEC;                                                          \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        __global const S *gs = dy + dy_off;                                                       \
        __global const S *ss = src + src_off;                                                     \
        __global S *os = dx + dx_off;                                                             \
        (void)ceil_out;                                                                           \
        for (ulong i = gid; i < nv; i += stride) {                                                \
            const LV gv = TO_LV(LOAD(i, gs));                                                     \
            const LV sv = TO_LV(LOAD(i, ss));                                                     \
            const LV ov = OLD_V(LOAD, i, os);                                                     \
            STORE(FROM_LV(GRAD_V(PASS_MASK_OF(sv), gv, ov)), i, os);                              \
        }                                                                                         \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                 \
            os[t] = FROM_L(grad_lane(pass_lane(TO_L(ss[t]), ceil_pass), TO_L(gs[t]),              \
                                     OLD_S(os, t), slope, alpha, beta));                          \
    }                                                                                             \
                                                                                                  \
    /* Backward from the mask: vector i's VEC bits sit at bit (i * VEC) % 32 of word         */   \
    /* (i * VEC) / 32, since VEC divides 32.                                                  */   \
    __kernel void bwd_mask##suffix(const ulong n, __global const S *dy, const ulong dy_off,       \
                                   __global const uint *mask, const ulong mask_word_off,          \
                                   __global S *dx, const ulong dx_off, PARAMS) {                  \
        const ulong nv = n / CLRELU_VEC;                                                          \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        __global const S *gs = dy + dy_off;                                                       \
        __global const uint *ms = mask + mask_word_off;                                           \
        __global S *os = dx + dx_off;                                                             \
        (void)ceil_out, (void)ceil_pass;                                                          \
        for (ulong i = gid; i < nv; i += stride) {                                                \
            const ulong e = i * CLRELU_VEC;                                                       \
            const uint bits = ms[e / 32] >> (e % 32);                                             \
            const LV gv = TO_LV(LOAD(i, gs));                                                     \
            const LV ov = OLD_V(LOAD, i, os);                                                     \
            STORE(FROM_LV(GRAD_V(LANE_PASS(bits_to_mask(bits)), gv, ov)), i, os);                 \
        }                                                                                         \
        for (ulong t = nv * CLRELU_VEC + gid; t < n; t += stride)                                 \
            os[t] = FROM_L(grad_lane((int)((ms[t / 32] >> (t % 32)) & 1u), TO_L(gs[t]),           \
                                     OLD_S(os, t), slope, alpha, beta));                          \
    }

CLRELU_DEFINE(_a, LOAD_A, STORE_A)
CLRELU_DEFINE(_u, LOAD_U, STORE_U)

/* Forward that also writes the mask: bit j of word w is element 32 w + j's pass bit; the bits
 * of the last word past n are 0. A tile is LOCAL * VEC elements (a multiple of 32): each
 * work-item computes its vector and its VEC bits, then the first TILE / 32 work-items pack the
 * words. The tile loop runs the same number of times in every work-item of a group, so the
 * barriers are uniform. */
#define TILE (CLRELU_LOCAL * CLRELU_VEC)

__kernel __attribute__((reqd_work_group_size(CLRELU_LOCAL, 1, 1))) void
fwd_mask(const ulong n, __global const S *x, const ulong x_off, __global S *y, const ulong y_off,
         __global uint *mask, const ulong mask_word_off, PARAMS) {
    __local uint part[CLRELU_LOCAL];
    const uint lid = (uint)get_local_id(0);
    const ulong tiles = n / TILE + (n % TILE != 0);
    __global const S *xs = x + x_off;
    __global S *ys = y + y_off;
    for (ulong tile = get_group_id(0); tile < tiles; tile += get_num_groups(0)) {
        const ulong e = tile * TILE + (ulong)lid * CLRELU_VEC;
        uint bits = 0;
        if (e + CLRELU_VEC <= n) {
            const LV xv = TO_LV(VLOAD(0, xs + e));
            const LV ov = OLD_V(VLOAD, 0, ys + e);
            VSTORE(FROM_LV(FWD_V(xv, ov)), 0, ys + e);
            bits = mask_to_bits(PASS_V(xv));
        } else {
            for (ulong t = e; t < n; ++t) {
                const L xe = TO_L(xs[t]);
                ys[t] = FROM_L(fwd_lane(xe, OLD_S(ys, t), slope, ceil_out, alpha, beta));
                bits |= (uint)pass_lane(xe, ceil_pass) << (t - e);
            }
        }
        part[lid] = bits;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < TILE / 32) {
            const ulong word = tile * (TILE / 32) + lid;
            if (word * 32 < n) {
                uint w = 0;
                for (uint k = 0; k < 32 / CLRELU_VEC; ++k)
                    w |= part[lid * (32 / CLRELU_VEC) + k] << (k * CLRELU_VEC);
                mask[mask_word_off + word] = w;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* The same for CPU devices, without barriers (they split a work-group's loop in PoCL): a
 * work-item does one whole word, 32 / VEC vectors, and packs its bits itself. _a and _u as
 * above: PoCL stores a ushortN through vstoren one element at a time, a vector pointer whole. */
#define CLRELU_DEFINE_FWD_MASK_W(suffix, LOAD, STORE)                                             \
    __kernel void fwd_mask_w##suffix(const ulong n, __global const S *x, const ulong x_off,       \
                                     __global S *y, const ulong y_off, __global uint *mask,       \
                                     const ulong mask_word_off, PARAMS) {                         \
        const ulong words = n / 32 + (n % 32 != 0);                                               \
        const ulong gid = get_global_id(0), stride = get_global_size(0);                          \
        __global const S *xs = x + x_off;                                                         \
        __global S *ys = y + y_off;                                                               \
        for (ulong w = gid; w < words; w += stride) {                                             \
            const ulong base = w * 32;                                                            \
            uint word = 0;                                                                        \
            if (base + 32 <= n) {                                                                 \
                for (uint k = 0; k < 32 / CLRELU_VEC; ++k) {                                      \
                    const ulong v = base / CLRELU_VEC + k;                                        \
                    const LV xv = TO_LV(LOAD(v, xs));                                             \
                    const LV ov = OLD_V(LOAD, v, ys);                                             \
                    STORE(FROM_LV(FWD_V(xv, ov)), v, ys);                                         \
                    word |= mask_to_bits(PASS_V(xv)) << (k * CLRELU_VEC);                         \
                }                                                                                 \
            } else {                                                                              \
                for (ulong t = base; t < n; ++t) {                                                \
                    const L xe = TO_L(xs[t]);                                                     \
                    ys[t] = FROM_L(fwd_lane(xe, OLD_S(ys, t), slope, ceil_out, alpha, beta));     \
                    word |= (uint)pass_lane(xe, ceil_pass) << (t - base);                         \
                }                                                                                 \
            }                                                                                     \
            mask[mask_word_off + w] = word;                                                       \
        }                                                                                         \
    }

CLRELU_DEFINE_FWD_MASK_W(_a, LOAD_A, STORE_A)
CLRELU_DEFINE_FWD_MASK_W(_u, LOAD_U, STORE_U)

/* ---------------------------------------------------------------------------------------------
 * Many tensors in one launch. A tensor is (buffer slot, offset, n); up to 8 distinct buffers
 * per role are bound as arguments, and a table gives, per tensor t, 5 ulongs: the first
 * chunk (VEC elements) it owns in the launch's chunk space, n, the offsets in the input and
 * output buffers (backward: dy and dx; src uses the third slot's offset in entry 5), and the
 * slots. A work-item finds its tensor by binary search and does one chunk, so vectors never
 * straddle tensors.
 * ------------------------------------------------------------------------------------------ */
#define SLOT(p, s)                                                                                \
    ((s) == 0   ? p##0                                                                            \
     : (s) == 1 ? p##1                                                                            \
     : (s) == 2 ? p##2                                                                            \
     : (s) == 3 ? p##3                                                                            \
     : (s) == 4 ? p##4                                                                            \
     : (s) == 5 ? p##5                                                                            \
     : (s) == 6 ? p##6                                                                            \
                : p##7)
#define BATCH_STRIDE 6
#define BUFS(q, p)                                                                                \
    q S *p##0, q S *p##1, q S *p##2, q S *p##3, q S *p##4, q S *p##5, q S *p##6, q S *p##7

static inline uint batch_find(__global const ulong *table, uint count, ulong chunk) {
    uint lo = 0, hi = count - 1;
    while (lo < hi) {
        const uint mid = (lo + hi + 1) / 2;
        if (table[mid * BATCH_STRIDE] <= chunk)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* A work-item does BATCH_RUN consecutive chunks (one search, then walking forward): on CPU
 * devices that amortises the search; GPUs use runs of 1 so neighbours stay coalesced. */
#ifndef CLRELU_BATCH_RUN
#define CLRELU_BATCH_RUN 1
#endif

/* The entry of tensor t, read once into private variables (the table is __global, like the
 * outputs, so the compiler could not keep it in registers across a store). */
#define BATCH_ENTRY(t)                                                                            \
    do {                                                                                          \
        __global const ulong *e = table + (t) * BATCH_STRIDE;                                     \
        start = e[0];                                                                             \
        n = e[1];                                                                                 \
        off0 = e[2];                                                                              \
        off1 = e[3];                                                                              \
        off2 = e[4];                                                                              \
        slots = (uint)e[5];                                                                       \
        next = (t) + 1 < count ? table[((t) + 1) * BATCH_STRIDE] : chunks;                        \
    } while (0)

#define BATCH_LOOP(PTRS, BODY)                                                                          \
    const ulong gid = get_global_id(0), stride = get_global_size(0);                              \
    for (ulong base = gid * CLRELU_BATCH_RUN; base < chunks; base += stride * CLRELU_BATCH_RUN) { \
        uint t = batch_find(table, count, base);                                                  \
        ulong start, n, off0, off1, off2, next;                                                   \
        uint slots;                                                                               \
        BATCH_ENTRY(t);                                                                           \
        PTRS                                                                                      \
        const ulong end = base + CLRELU_BATCH_RUN < chunks ? base + CLRELU_BATCH_RUN : chunks;     \
        for (ulong ch = base; ch < end; ++ch) {                                                   \
            while (ch >= next) {                                                                  \
                ++t;                                                                              \
                BATCH_ENTRY(t);                                                                   \
                PTRS                                                                              \
            }                                                                                     \
            const ulong first = (ch - start) * CLRELU_VEC;                                        \
            BODY                                                                                  \
        }                                                                                         \
    }

__kernel void fwd_batch(const ulong chunks, const uint count, __global const ulong *table,
                        BUFS(__global const, x), BUFS(__global, y), PARAMS) {
    (void)ceil_pass;
    __global const S *xt;
    __global S *yt;
    BATCH_LOOP(
        {
            (void)off2;
            xt = SLOT(x, slots & 7u) + off0;
            yt = SLOT(y, (slots >> 8) & 7u) + off1;
        },
        {
            __global const S *xs = xt + first;
            __global S *ys = yt + first;
            if (first + CLRELU_VEC <= n) {
                const LV xv = TO_LV(VLOAD(0, xs));
                const LV ov = OLD_V(VLOAD, 0, ys);
                VSTORE(FROM_LV(FWD_V(xv, ov)), 0, ys);
            } else {
                for (ulong k = 0; k < n - first; ++k)
                    ys[k] = FROM_L(
                        fwd_lane(TO_L(xs[k]), OLD_S(ys, k), slope, ceil_out, alpha, beta));
            }
        })
}

__kernel void bwd_batch(const ulong chunks, const uint count, __global const ulong *table,
                        BUFS(__global const, g), BUFS(__global const, s), BUFS(__global, d),
                        PARAMS) {
    (void)ceil_out;
    __global const S *gt;
    __global const S *st;
    __global S *dt;
    BATCH_LOOP(
        {
            gt = SLOT(g, slots & 7u) + off0;
            dt = SLOT(d, (slots >> 8) & 7u) + off1;
            st = SLOT(s, (slots >> 16) & 7u) + off2;
        },
        {
            __global const S *gs = gt + first;
            __global const S *ss = st + first;
            __global S *ds = dt + first;
            if (first + CLRELU_VEC <= n) {
                const LV gv = TO_LV(VLOAD(0, gs));
                const LV sv = TO_LV(VLOAD(0, ss));
                const LV ov = OLD_V(VLOAD, 0, ds);
                VSTORE(FROM_LV(GRAD_V(PASS_MASK_OF(sv), gv, ov)), 0, ds);
            } else {
                for (ulong k = 0; k < n - first; ++k)
                    ds[k] = FROM_L(grad_lane(pass_lane(TO_L(ss[k]), ceil_pass), TO_L(gs[k]),
                                             OLD_S(ds, k), slope, alpha, beta));
            }
        })
}
