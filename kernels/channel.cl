/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops: PReLU (a slope per channel) and the residual epilogue y = f((x + bias[c]) + z)
 * with any op of the family, forward and backward, on a tensor of outer x channels x inner
 * elements whose element (o, c, i) is o * pitch + c * inner + i from each tensor's offset.
 * Built in the same program as relu.cl and bias.cl (the host appends this text), so the same
 * -D macros and vector functions apply, with CLRELU_OP = CR_PRELU (3) for PReLU; these kernels
 * always work in the compute domain, and the host passes the compute-domain ceilings.
 *
 * The element kernels (ch_fwd, ch_bwd: dx only) see the tensor as rows of a matrix, in one of
 * three modes that host/channel.c chooses:
 *   RUNS    inner > 1: row (o, c) is the run of inner elements of channel c, one slope and
 *           bias for the row; dimension 1 of the range is c, dimension 2 the outer index o.
 *           (The other modes have one index along dimension 1, and their rows along 2.)
 *   COLS    inner = 1 (channels last): row o holds the channels, column j is channel j; the
 *           per-channel values are loaded as vectors once per work-item.
 *   MERGED  inner = 1, dense, and channels not a multiple of VEC: rows of `width` elements
 *           (a multiple of the channels and of VEC) over the flat tensor, the last one short
 *           (total elements in all); column j is channel j % channels.
 * A work-item owns VEC consecutive columns (the last one of a row may own fewer: a scalar
 * tail) and strides over rows (CH_ITEM). _a variants need every vector on a VEC
 * boundary (offsets, pitch and the row starts); _u variants use vloadn.
 *
 * With sums wanted (dbias, the slopes' gradient), ch_bsum does dx and the partial sums: a
 * work-item owns channel c and blocks of CLRELU_BIAS_BLOCK consecutive k = o * inner + i of
 * that channel, summing each block in order from +0; ch_total then adds a channel's blocks in
 * order from +0 and blends: the order clrelu.h documents, the same on every device. */

/* Modes and flags, as host/channel.c spells them (the two lists must agree). */
#define CH_RUNS 0u
#define CH_COLS 1u
#define CH_MERGED 2u
/* flags */
#define CH_BIAS 1u
#define CH_Z 2u
#define CH_FROM_Y 4u
#define CH_WANT_G 8u /* ch_bsum / ch_total: the gradient's sums (dbias) */
#define CH_WANT_P 16u /* ... the slopes' gradient sums (PReLU) */

#define CH_F CLRELU_CAT(CLRELU_CAT(float, DOM), _t) /* the compute domain's scalar float */
#define CH_ASF CLRELU_CAT(AS_F, DOM)
#define CH_ASU CLRELU_CAT(AS_U, DOM)
#define CH_ADD CLRELU_CAT(cr_add, DOM)
#define CH_CANON CLRELU_CAT(cr_canon, DOM)

/* cr_mul32 / cr_mul64 with a slope per lane (relu.cl's mul_v takes one slope). */
static inline DV ch_mul_v(DV s, DV b) {
    DFV r = AS_DFV(s) * AS_DFV(b);
    return canon_v(AS_DV(r));
}

/* f(s), with PReLU's slopes a (unused by the other ops). */
static inline DV ch_fwd_v(DV s, DV a, float slope, CB c_out) {
#if CLRELU_OP == CR_PRELU
    (void)slope, (void)c_out;
    return select(select(ch_mul_v(a, s), s, gt0_v(s)), s, nan_v(s)); /* cr_prelu_fwd */
#else
    (void)a;
    return fwd_v(s, slope, c_out);
#endif
}

static inline CB ch_fwd_s(CB s, CB a, float slope, CB c_out) {
#if CLRELU_OP == CR_PRELU
    (void)slope, (void)c_out;
    return CLRELU_CAT(cr_prelu_fwd, DOM)(s, a);
#else
    (void)a;
    return FWD(CLRELU_OP, s, slope, c_out);
#endif
}

/* f'(s) * dy, unblended. */
static inline DV ch_grad_v(DV s, DV dy, DV a, float slope, CB c_pass) {
#if CLRELU_OP == CR_PRELU
    (void)slope, (void)c_pass;
    return select(ch_mul_v(a, dy), dy, gt0_v(s)); /* cr_prelu_grad */
#else
    (void)a;
    return grad_v(pass_v(s, c_pass), dy, slope);
#endif
}

static inline CB ch_grad_s(CB s, CB dy, CB a, float slope, CB c_pass) {
#if CLRELU_OP == CR_PRELU
    (void)slope, (void)c_pass;
    return CLRELU_CAT(cr_prelu_grad, DOM)(s, dy, a);
#else
    (void)a;
    return GRAD(CLRELU_OP, PASS(CLRELU_OP, s, c_pass), dy, slope);
#endif
}

/* MERGED: lane k is channel (j + k) % chans (a gather, once per work-item and row walk;
 * lane by lane, as a private array would cost PoCL a copy per work-item). Apart from
 * ch_side_v, so that ch_side_v stays small enough to inline: PoCL 3.1 kept ch_side_v, gather
 * included, as a call per work-item, spilling the vectors around it (perf annotate), and the
 * channels-first PReLU ran at 68% of copy. */
static DV ch_side_gather(__global const S *p, const ulong off, const ulong j, const ulong chans) {
    DV v;
    ulong ch = j % chans;
#define CH_LANE(l, k)                                                                             \
    v.l = DEC(p[off + ch]);                                                                       \
    ch = ch + 1 == chans ? 0 : ch + 1;
    FOR_LANES(CH_LANE)
#undef CH_LANE
    return v;
}

/* A per-channel array's values for the VEC lanes at column j of a row (channel c in RUNS). */
static inline DV ch_side_v(__global const S *p, const ulong off, const uint mode, const ulong j,
                           const ulong chans, const ulong c) {
    if (mode == CH_RUNS)
        return (DV)(DEC(p[off + c]));
    /* COLS: the row's width is the channel count. A work-item whose VEC columns pass its end
     * takes the scalar tail and never uses these lanes; a vector load there would read past
     * the array (Oclgrind caught it with 16-lane vectors and 17 channels). */
    if (mode == CH_COLS)
        return j + CLRELU_VEC <= chans ? CV_DEC(VLOAD(0, p + off + j)) : (DV)0;
    return ch_side_gather(p, off, j, chans);
}

/* ... and the value for column k alone (the tails). */
static inline CB ch_side_s(__global const S *p, const ulong off, const uint mode, const ulong k,
                           const ulong chans, const ulong c) {
    return DEC(p[off + (mode == CH_RUNS ? c : mode == CH_COLS ? k : k % chans)]);
}

/* The row r of the matrix the mode makes: where it starts (elements from each tensor's offset)
 * and how many of its columns exist. */
#define CH_ROW(r)                                                                                 \
    const ulong base = mode == CH_RUNS     ? (r) * pitch + c * inner                              \
                       : mode == CH_COLS ? (r) * pitch                                          \
                                         : (r) * width;                                          \
    const ulong len = mode == CH_MERGED && total - (r) * width < width ? total - (r) * width      \
                                                                       : width;

/* A work-item's column j, channel c (RUNS) and rows: the range is (column vectors, channels,
 * rows) in RUNS, so that work-groups in launch order walk memory in order, and (column vectors,
 * 1, rows) otherwise; the rows dimension strides. (Constant dimension indices: PoCL cannot
 * link get_global_size of a computed one.) */
#define CH_ITEM                                                                                   \
    const ulong j = get_global_id(0) * CLRELU_VEC, c = get_global_id(1);                         \
    const ulong r0 = get_global_id(2), rstep = get_global_size(2);                               \
    (void)rstep;                                                                                  \
    if (j >= width || c >= chans)                                                                 \
        return;

/* One whole vector at element e of every tensor: the forward and the dx step, shared by
 * ch_fwd / ch_bwd and the whole-vector kernels (bv, av: the lanes' bias and slopes). */
#define CH_FWD_VEC(LOAD, STORE, e)                                                                \
    {                                                                                             \
        DV s = CV_DEC(LOAD(0, x + x_off + (e)));                                                  \
        if (flags & CH_BIAS)                                                                      \
            s = add_v(s, bv);                                                                     \
        if (flags & CH_Z)                                                                         \
            s = add_v(s, CV_DEC(LOAD(0, z + z_off + (e))));                                       \
        const DV old = CLRELU_BLEND == CR_BLEND ? CV_DEC(LOAD(0, y + y_off + (e))) : (DV)0;       \
        STORE(CV_ENC(blend_v(ch_fwd_v(s, av, slope, (CB)ceil_out), old, alpha, beta)), 0,         \
              y + y_off + (e));                                                                   \
    }
#define CH_BWD_VEC(LOAD, STORE, e)                                                                \
    {                                                                                             \
        DV s = CV_DEC(LOAD(0, src + src_off + (e)));                                              \
        if (flags & CH_BIAS)                                                                      \
            s = add_v(s, bv);                                                                     \
        if (flags & CH_Z)                                                                         \
            s = add_v(s, CV_DEC(LOAD(0, z + z_off + (e))));                                       \
        const DV g = CV_DEC(LOAD(0, dy + dy_off + (e)));                                          \
        const DV old = CLRELU_BLEND == CR_BLEND ? CV_DEC(LOAD(0, dx + dx_off + (e))) : (DV)0;     \
        STORE(CV_ENC(blend_v(ch_grad_v(s, g, av, slope, (CB)ceil_pass), old, alpha, beta)), 0,    \
              dx + dx_off + (e));                                                                 \
    }

#define CH_ARGS_SHAPE                                                                             \
    const ulong rows, const ulong chans, const ulong inner, const ulong pitch,                   \
        const ulong width, const ulong total, const uint mode, const uint flags

#define CH_DEFINE(suffix, LOAD, STORE, ROWS)                                                      \
    __kernel void ch_fwd##suffix(CH_ARGS_SHAPE, __global const S *x, const ulong x_off,           \
                                 __global const S *bias, const ulong b_off,                       \
                                 __global const S *z, const ulong z_off, __global const S *a,     \
                                 const ulong a_off, __global S *y, const ulong y_off, PARAMS) {   \
        CH_ITEM                                                                                   \
        (void)ceil_pass;                                                                          \
        const DV bv = flags & CH_BIAS ? ch_side_v(bias, b_off, mode, j, chans, c) : (DV)0;        \
        const DV av = CLRELU_OP == CR_PRELU ? ch_side_v(a, a_off, mode, j, chans, c) : (DV)0;     \
        ROWS {                                                                                    \
            CH_ROW(r)                                                                             \
            /* the vector, or the row's tail: loops rather than if/else, which PoCL compiles */   \
            /* far better here (measured 1.5-2x) */                                               \
            const ulong vend = j + CLRELU_VEC <= len ? j + CLRELU_VEC : j;                        \
            for (ulong v = j; v < vend; v += CLRELU_VEC)                                          \
                CH_FWD_VEC(LOAD, STORE, base + v)                                                 \
            {                                                                                     \
                for (ulong k = vend == j ? j : len; k < len; ++k) {                               \
                    CB s = DEC(x[x_off + base + k]);                                              \
                    if (flags & CH_BIAS)                                                          \
                        s = CH_ADD(s, ch_side_s(bias, b_off, mode, k, chans, c));                 \
                    if (flags & CH_Z)                                                             \
                        s = CH_ADD(s, DEC(z[z_off + base + k]));                                  \
                    const CB av_k = CLRELU_OP == CR_PRELU                                         \
                                        ? ch_side_s(a, a_off, mode, k, chans, c)                  \
                                        : (CB)0;                                                  \
                    const CB old = CLRELU_BLEND == CR_BLEND ? DEC(y[y_off + base + k]) : (CB)0;   \
                    y[y_off + base + k] = ENC(BLENDF(CLRELU_BLEND,                                \
                                                     ch_fwd_s(s, av_k, slope, (CB)ceil_out), old, \
                                                     alpha, beta));                               \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
                                                                                                  \
    /* dx only: s from src (x, plus bias and z as flags say) or src itself (y, CH_FROM_Y). */     \
    __kernel void ch_bwd##suffix(CH_ARGS_SHAPE, __global const S *dy, const ulong dy_off,         \
                                 __global const S *src, const ulong src_off,                      \
                                 __global const S *bias, const ulong b_off,                       \
                                 __global const S *z, const ulong z_off, __global const S *a,     \
                                 const ulong a_off, __global S *dx, const ulong dx_off, PARAMS) { \
        CH_ITEM                                                                                   \
        (void)ceil_out;                                                                           \
        const DV bv = flags & CH_BIAS ? ch_side_v(bias, b_off, mode, j, chans, c) : (DV)0;        \
        const DV av = CLRELU_OP == CR_PRELU ? ch_side_v(a, a_off, mode, j, chans, c) : (DV)0;     \
        ROWS {                                                                                    \
            CH_ROW(r)                                                                             \
            const ulong vend = j + CLRELU_VEC <= len ? j + CLRELU_VEC : j; /* as ch_fwd */       \
            for (ulong v = j; v < vend; v += CLRELU_VEC)                                          \
                CH_BWD_VEC(LOAD, STORE, base + v)                                                 \
            {                                                                                     \
                for (ulong k = vend == j ? j : len; k < len; ++k) {                               \
                    CB s = DEC(src[src_off + base + k]);                                          \
                    if (flags & CH_BIAS)                                                          \
                        s = CH_ADD(s, ch_side_s(bias, b_off, mode, k, chans, c));                 \
                    if (flags & CH_Z)                                                             \
                        s = CH_ADD(s, DEC(z[z_off + base + k]));                                  \
                    const CB av_k = CLRELU_OP == CR_PRELU                                         \
                                        ? ch_side_s(a, a_off, mode, k, chans, c)                  \
                                        : (CB)0;                                                  \
                    const CB old = CLRELU_BLEND == CR_BLEND ? DEC(dx[dx_off + base + k]) : (CB)0; \
                    dx[dx_off + base + k] = ENC(BLENDF(                                           \
                        CLRELU_BLEND,                                                             \
                        ch_grad_s(s, DEC(dy[dy_off + base + k]), av_k, slope, (CB)ceil_pass),     \
                        old, alpha, beta));                                                       \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

/* Rows: a work-item strides over them (a capped range, GPUs), or does its one row (_1: the
 * range covers every row, as on CPU devices, where a loop around the row costs PoCL and Intel's
 * compiler time). */
#define CH_ROWS_LOOP for (ulong r = r0; r < rows; r += rstep)
#define CH_ROWS_ONCE                                                                              \
    const ulong r = r0;                                                                           \
    if (r < rows)
CH_DEFINE(_a, LOAD_A, STORE_A, CH_ROWS_LOOP)
CH_DEFINE(_u, LOAD_U, STORE_U, CH_ROWS_LOOP)
CH_DEFINE(1_a, LOAD_A, STORE_A, CH_ROWS_ONCE)
CH_DEFINE(1_u, LOAD_U, STORE_U, CH_ROWS_ONCE)

/* Whole vectors: RUNS or COLS where every row is whole aligned vectors (the _a conditions with
 * the row length a multiple of VEC) and the range covers every row, as on CPU devices. One
 * vector per work-item and nothing else to decide: no tail, no row loop. In COLS the range's
 * dimension 1 is 1, so base is r * pitch there too. PoCL 3.1 and Intel's CPU compiler vectorise
 * neither kernel across work-items (one 64-byte vector each is already the width), so what a
 * work-item does besides its vector is what the shape costs: ch_fwd1_a's generic row walk
 * (mode selects, the tail's bounds, the side arrays behind a mode switch) is several times
 * the instructions of the vector step itself. */
#define CH_SIDE_W(p, off)                                                                         \
    (mode == CH_RUNS ? (DV)(DEC(p[off + c])) : CV_DEC(VLOAD(0, p + off + j)))
#define CH_ITEM_W                                                                                 \
    const ulong j = get_global_id(0) * CLRELU_VEC, c = get_global_id(1), r = get_global_id(2);   \
    (void)total;                                                                                  \
    if (j >= width || c >= chans || r >= rows)                                                    \
        return;                                                                                   \
    const ulong base = r * pitch + c * inner + j;

__kernel void ch_fwd_w(CH_ARGS_SHAPE, __global const S *x, const ulong x_off,
                       __global const S *bias, const ulong b_off, __global const S *z,
                       const ulong z_off, __global const S *a, const ulong a_off, __global S *y,
                       const ulong y_off, PARAMS) {
    CH_ITEM_W
    (void)ceil_pass;
    const DV bv = flags & CH_BIAS ? CH_SIDE_W(bias, b_off) : (DV)0;
    const DV av = CLRELU_OP == CR_PRELU ? CH_SIDE_W(a, a_off) : (DV)0;
    CH_FWD_VEC(LOAD_A, STORE_A, base)
}

__kernel void ch_bwd_w(CH_ARGS_SHAPE, __global const S *dy, const ulong dy_off,
                       __global const S *src, const ulong src_off, __global const S *bias,
                       const ulong b_off, __global const S *z, const ulong z_off,
                       __global const S *a, const ulong a_off, __global S *dx, const ulong dx_off,
                       PARAMS) {
    CH_ITEM_W
    (void)ceil_out;
    const DV bv = flags & CH_BIAS ? CH_SIDE_W(bias, b_off) : (DV)0;
    const DV av = CLRELU_OP == CR_PRELU ? CH_SIDE_W(a, a_off) : (DV)0;
    CH_BWD_VEC(LOAD_A, STORE_A, base)
}

/* dx for blocks of CLRELU_BIAS_BLOCK consecutive k = o * inner + i of channel c, and each
 * block's sums (compute-domain bits) of the unblended gradient (into part[g_off + c * blocks +
 * block], CH_WANT_G) and of PReLU's s * dy where s does not pass (part[p_off + ...],
 * CH_WANT_P). Flags as ch_bwd's; bias is the only per-channel value besides a. */
__kernel void ch_bsum(const ulong outer, const ulong chans, const ulong inner, const ulong pitch,
                      const ulong blocks, const uint flags, __global const S *dy,
                      const ulong dy_off, __global const S *src, const ulong src_off,
                      __global const S *bias, const ulong b_off, __global const S *z,
                      const ulong z_off, __global const S *a, const ulong a_off, __global S *dx,
                      const ulong dx_off, __global CT *part, const ulong g_off, const ulong p_off,
                      PARAMS) {
    const ulong c = get_global_id(0);
    (void)ceil_out;
    if (c >= chans)
        return;
    const ulong count = outer * inner; /* the channel's elements */
    const CB bc = flags & CH_BIAS ? DEC(bias[b_off + c]) : (CB)0;
    const CB ac = CLRELU_OP == CR_PRELU ? DEC(a[a_off + c]) : (CB)0;
    const CB opaque0 = (CB)(flags >> 31); /* 0: flags are small */
    for (ulong blk = get_global_id(2); blk < blocks; blk += get_global_size(2)) {
        const ulong k0 = blk * CLRELU_BIAS_BLOCK;
        const ulong k1 = k0 + CLRELU_BIAS_BLOCK < count ? k0 + CLRELU_BIAS_BLOCK : count;
        ulong o = k0 / inner, i = k0 % inner;
        CH_F acc_g = 0, acc_p = 0;
        for (ulong k = k0; k < k1; ++k) {
            const ulong e = o * pitch + c * inner + i;
            CB s = DEC(src[src_off + e]);
            if (flags & CH_BIAS)
                s = CH_ADD(s, bc);
            if (flags & CH_Z)
                s = CH_ADD(s, DEC(z[z_off + e]));
            const CB g0 = DEC(dy[dy_off + e]);
            const CB g = ch_grad_s(s, g0, ac, slope, (CB)ceil_pass);
            const CB old = CLRELU_BLEND == CR_BLEND ? DEC(dx[dx_off + e]) : (CB)0;
            dx[dx_off + e] = ENC(BLENDF(CLRELU_BLEND, g, old, alpha, beta));
            /* In order, one rounding each: the sums pass through an integer XOR with a value the
             * compiler cannot know (0), so that no vectoriser can split them into partial sums
             * (see ch_finish: Intel's CPU compiler did that to a loop of this shape). */
            acc_g = CH_ASF(CH_ASU(acc_g + CH_ASF(g)) ^ opaque0);
#if CLRELU_OP == CR_PRELU
            acc_p = CH_ASF(CH_ASU(acc_p + CH_ASF(CLRELU_CAT(cr_prelu_dslope, DOM)(s, g0))) ^
                           opaque0);
#endif
            if (++i == inner) {
                i = 0;
                ++o;
            }
        }
        if (flags & CH_WANT_G)
            part[g_off + c * blocks + blk] = CH_ASU(acc_g);
        if (flags & CH_WANT_P)
            part[p_off + c * blocks + blk] = CH_ASU(acc_p);
    }
}

/* out[c] = alpha * (channel c's block sums added in order from +0) + beta * out[c], each product
 * and sum rounded in the compute type, a NaN result canonical: dbias (CH_WANT_G) and the
 * slopes' gradient (CH_WANT_P). */
static inline CB ch_finish(__global const CT *part, const ulong blocks, const ulong c,
                           const CB old, const float alpha, const float beta, const CB opaque0) {
    CH_F sum = 0;
    /* In order. Intel's CPU compiler (intel-opencl-rt 2026.2) turned this loop, plain,
     * into partial sums: other bits from 8 blocks up (measured; PoCL kept the order). The XOR
     * with opaque0 (0 at run time) hides the reduction from it. */
    for (ulong b = 0; b < blocks; ++b)
        sum = CH_ASF(CH_ASU(sum + CH_ASF(part[c * blocks + b])) ^ opaque0);
#if CLRELU_BLEND == CR_PLAIN
    (void)old, (void)alpha, (void)beta;
#else
    CH_F p = alpha * sum;
#if CLRELU_BLEND == CR_BLEND
    CH_F q = beta * CH_ASF(old);
    p = p + q;
#else
    (void)old, (void)beta;
#endif
    sum = p;
#endif
    return CH_CANON(CH_ASU(sum));
}

__kernel void ch_total(const ulong chans, const ulong blocks, const uint flags,
                       __global const CT *part, const ulong g_off, const ulong p_off,
                       __global S *dbias, const ulong db_off, __global S *dslopes,
                       const ulong da_off, PARAMS) {
    const ulong c = get_global_id(0);
    (void)slope, (void)ceil_out, (void)ceil_pass;
    if (c >= chans)
        return;
    const CB opaque0 = (CB)(flags >> 31); /* 0: flags are small */
    if (flags & CH_WANT_G) {
        const CB old = CLRELU_BLEND == CR_BLEND ? DEC(dbias[db_off + c]) : (CB)0;
        dbias[db_off + c] = ENC(ch_finish(part + g_off, blocks, c, old, alpha, beta, opaque0));
    }
    if (flags & CH_WANT_P) {
        const CB old = CLRELU_BLEND == CR_BLEND ? DEC(dslopes[da_off + c]) : (CB)0;
        dslopes[da_off + c] = ENC(ch_finish(part + p_off, blocks, c, old, alpha, beta, opaque0));
    }
}
