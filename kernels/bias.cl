/* SPDX-License-Identifier: Apache-2.0 */
/* The bias epilogue of a dense layer, on rows x cols matrices with row pitches: y = f(x + bias)
 * and its backward, dx and the partial column sums that give dbias. Built in the same program
 * as relu.cl (the host appends this text), so the same -D macros and vector functions apply;
 * these kernels always work in the compute domain (x + bias is arithmetic, so nothing here
 * decides on stored 16-bit bits), and the host passes the compute-domain ceilings.
 *
 * A work-item owns VEC consecutive columns (the last one of a row may own fewer: its scalar
 * tail) and strides over rows (forward) or over blocks of CLRELU_BIAS_BLOCK rows (backward,
 * -D macro: the host's block size).
 * dbias sums, per column, the unblended gradient of each block in row order, then (bias_dbias)
 * the blocks in order: a fixed order, so every device gives the same bits. */

/* CLRELU_BIAS_BLOCK comes from the host (host/bias.c's BIAS_BLOCK), which sizes the partial
 * sums by it. */

__kernel void bias_fwd(const ulong rows, const ulong cols, __global const S *x, const ulong x_off,
                       const ulong x_pitch, __global const S *bias, const ulong b_off,
                       __global S *y, const ulong y_off, const ulong y_pitch, PARAMS) {
    const ulong c = get_global_id(0) * CLRELU_VEC;
    if (c >= cols)
        return;
    (void)ceil_pass;
    const ulong r0 = get_global_id(1), rstride = get_global_size(1);
    if (c + CLRELU_VEC <= cols) {
        const DV b = CV_DEC(VLOAD(0, bias + b_off + c));
        for (ulong r = r0; r < rows; r += rstride) {
            __global const S *xr = x + x_off + r * x_pitch + c;
            __global S *yr = y + y_off + r * y_pitch + c;
#if CLRELU_BLEND == CR_BLEND
            const DV old = CV_DEC(VLOAD(0, yr));
#else
            const DV old = (DV)0;
#endif
            const DV sum = add_v(CV_DEC(VLOAD(0, xr)), b);
            VSTORE(CV_ENC(blend_v(fwd_v(sum, slope, (CB)ceil_out), old, alpha, beta)), 0, yr);
        }
    } else {
        for (ulong r = r0; r < rows; r += rstride) {
            for (ulong k = c; k < cols; ++k) {
                __global S *yk = y + y_off + r * y_pitch + k;
                const CB sum = CLRELU_CAT(cr_add, DOM)(DEC(x[x_off + r * x_pitch + k]),
                                                       DEC(bias[b_off + k]));
#if CLRELU_BLEND == CR_BLEND
                const CB old = DEC(*yk);
#else
                const CB old = 0;
#endif
                *yk = ENC(BLENDF(CLRELU_BLEND, FWD(CLRELU_OP, sum, slope, (CB)ceil_out), old,
                                 alpha, beta));
            }
        }
    }
}

/* dx for a block of rows, and the block's column sums of the unblended gradient (into
 * partial[block * cols + column], compute-domain bits) when want_sums. The pass test reads
 * x + bias, or y itself when from_y (bias unused). */
__kernel void bias_bwd(const ulong rows, const ulong cols, __global const S *dy,
                       const ulong dy_off, const ulong dy_pitch, __global const S *src,
                       const ulong src_off, const ulong src_pitch, __global const S *bias,
                       const ulong b_off, __global S *dx, const ulong dx_off, const ulong dx_pitch,
                       __global CT *partial, const uint from_y, const uint want_sums, PARAMS) {
    const ulong c = get_global_id(0) * CLRELU_VEC;
    if (c >= cols)
        return;
    (void)ceil_out;
    const ulong blocks = rows / CLRELU_BIAS_BLOCK + (rows % CLRELU_BIAS_BLOCK != 0);
    for (ulong blk = get_global_id(1); blk < blocks; blk += get_global_size(1)) {
        const ulong r_end =
            (blk + 1) * CLRELU_BIAS_BLOCK < rows ? (blk + 1) * CLRELU_BIAS_BLOCK : rows;
        if (c + CLRELU_VEC <= cols) {
            const DV b = from_y ? (DV)0 : CV_DEC(VLOAD(0, bias + b_off + c));
            DFV acc = (DFV)0;
            for (ulong r = blk * CLRELU_BIAS_BLOCK; r < r_end; ++r) {
                __global S *dr = dx + dx_off + r * dx_pitch + c;
                const DV sv = CV_DEC(VLOAD(0, src + src_off + r * src_pitch + c));
                const DV s = from_y ? sv : add_v(sv, b);
                const DV g =
                    grad_v(pass_v(s, (CB)ceil_pass), CV_DEC(VLOAD(0, dy + dy_off + r * dy_pitch + c)),
                           slope);
#if CLRELU_BLEND == CR_BLEND
                const DV old = CV_DEC(VLOAD(0, dr));
#else
                const DV old = (DV)0;
#endif
                VSTORE(CV_ENC(blend_v(g, old, alpha, beta)), 0, dr);
                acc = acc + AS_DFV(g);
            }
            if (want_sums)
                VSTORE(AS_DV(acc), 0, partial + blk * cols + c);
        } else {
            for (ulong k = c; k < cols; ++k) {
                const CB b = from_y ? (CB)0 : DEC(bias[b_off + k]);
                CLRELU_CAT(CLRELU_CAT(float, DOM), _t) acc = 0;
                for (ulong r = blk * CLRELU_BIAS_BLOCK; r < r_end; ++r) {
                    __global S *dk = dx + dx_off + r * dx_pitch + k;
                    const CB sv = DEC(src[src_off + r * src_pitch + k]);
                    const CB s = from_y ? sv : CLRELU_CAT(cr_add, DOM)(sv, b);
                    const CB g = GRAD(CLRELU_OP, PASS(CLRELU_OP, s, (CB)ceil_pass),
                                      DEC(dy[dy_off + r * dy_pitch + k]), slope);
#if CLRELU_BLEND == CR_BLEND
                    const CB old = DEC(*dk);
#else
                    const CB old = 0;
#endif
                    *dk = ENC(BLENDF(CLRELU_BLEND, g, old, alpha, beta));
                    acc = acc + CLRELU_CAT(AS_F, DOM)(g);
                }
                if (want_sums)
                    partial[blk * cols + k] = CLRELU_CAT(AS_U, DOM)(acc);
            }
        }
    }
}

/* dbias[c] = alpha * (the sum of the blocks' sums, in order) + beta * dbias[c], each product
 * and sum rounded in the compute type, a NaN result canonical, then stored. */
__kernel void bias_dbias(const ulong cols, const ulong blocks, __global const CT *partial,
                         __global S *dbias, const ulong db_off, PARAMS) {
    const ulong c = get_global_id(0);
    if (c >= cols)
        return;
    (void)slope, (void)ceil_out, (void)ceil_pass;
    CLRELU_CAT(CLRELU_CAT(float, DOM), _t) sum = 0;
    for (ulong b = 0; b < blocks; ++b)
        sum = sum + CLRELU_CAT(AS_F, DOM)(partial[b * cols + c]);
#if CLRELU_BLEND == CR_PLAIN
    (void)alpha, (void)beta;
    const CB r = CLRELU_CAT(AS_U, DOM)(sum);
#else
    CLRELU_CAT(CLRELU_CAT(float, DOM), _t) p = alpha * sum;
#if CLRELU_BLEND == CR_BLEND
    CLRELU_CAT(CLRELU_CAT(float, DOM), _t) q = beta * CLRELU_CAT(AS_F, DOM)(DEC(dbias[db_off + c]));
    p = p + q;
#else
    (void)beta;
#endif
    const CB r = CLRELU_CAT(AS_U, DOM)(p);
#endif
    dbias[db_off + c] = ENC(CLRELU_CAT(cr_canon, DOM)(r));
}
