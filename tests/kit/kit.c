/* SPDX-License-Identifier: Apache-2.0 */
/* The op descriptors shared by tests and clrelu-bench, and the host reference: see kit.h. */
#include "kit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Storage formats, decoded to and rounded from double by their definitions (no bit tricks
 * shared with the library).
 * ------------------------------------------------------------------------------------------ */

typedef struct format {
    int mant_bits; /* stored fraction bits */
    int exp_bits;
    int bias;
} format;

static const format fmt_f16 = {10, 5, 15};
static const format fmt_bf16 = {7, 8, 127};

static uint64_t load_bits(clrelu_dtype dt, const void *p, size_t i) {
    switch (dt) {
    case CLRELU_DTYPE_F32: {
        uint32_t b;
        memcpy(&b, (const char *)p + 4 * i, 4);
        return b;
    }
    case CLRELU_DTYPE_F16:
    case CLRELU_DTYPE_BF16: {
        uint16_t b;
        memcpy(&b, (const char *)p + 2 * i, 2);
        return b;
    }
    case CLRELU_DTYPE_F64: {
        uint64_t b;
        memcpy(&b, (const char *)p + 8 * i, 8);
        return b;
    }
    }
    return 0;
}

static void store_bits(clrelu_dtype dt, void *p, size_t i, uint64_t b) {
    if (dt == CLRELU_DTYPE_F32) {
        uint32_t v = (uint32_t)b;
        memcpy((char *)p + 4 * i, &v, 4);
    } else if (dt == CLRELU_DTYPE_F64) {
        memcpy((char *)p + 8 * i, &b, 8);
    } else {
        uint16_t v = (uint16_t)b;
        memcpy((char *)p + 2 * i, &v, 2);
    }
}

static double decode_small(const format *f, uint64_t b) {
    int sign = (int)((b >> (f->mant_bits + f->exp_bits)) & 1);
    int e = (int)((b >> f->mant_bits) & ((1u << f->exp_bits) - 1));
    double m = (double)(b & ((1u << f->mant_bits) - 1));
    double v;
    if (e == (1 << f->exp_bits) - 1)
        v = m != 0 ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, 1 - f->bias - f->mant_bits);
    else
        v = ldexp(m + ldexp(1.0, f->mant_bits), e - f->bias - f->mant_bits);
    return sign ? -v : v;
}

/* The nearest value of the format to v (ties to the even significand), encoded. v is finite
 * and exactly a float, so the double arithmetic below is exact. */
static uint64_t encode_small(const format *f, double v) {
    uint64_t sign = signbit(v) ? (uint64_t)1 << (f->mant_bits + f->exp_bits) : 0;
    double a = fabs(v);
    int min_exp = 1 - f->bias; /* of the smallest normal */
    int k;
    frexp(a, &k);
    k -= 1; /* a = 1.xxx * 2^k */
    int e = a == 0 || k < min_exp ? min_exp : k;
    double step = ldexp(1.0, e - f->mant_bits);
    double q = a / step;
    double r = floor(q);
    double frac = q - r;
    if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) == 1.0))
        r += 1;
    double rounded = r * step;
    int max_exp = (1 << f->exp_bits) - 2 - f->bias;
    double limit = ldexp(2.0, max_exp); /* 2^(max_exp + 1): beyond the largest finite */
    uint64_t inf = (uint64_t)((1u << f->exp_bits) - 1) << f->mant_bits;
    if (rounded >= limit)
        return sign | inf;
    if (rounded < ldexp(1.0, min_exp)) /* subnormal (or zero) */
        return sign | (uint64_t)(rounded / ldexp(1.0, min_exp - f->mant_bits));
    int re;
    frexp(rounded, &re);
    re -= 1;
    uint64_t mant =
        (uint64_t)(rounded / ldexp(1.0, re - f->mant_bits)) - ((uint64_t)1 << f->mant_bits);
    return sign | ((uint64_t)(re + f->bias) << f->mant_bits) | mant;
}

static int is_f64(clrelu_dtype dt) {
    return dt == CLRELU_DTYPE_F64;
}

/* The value of element bits b of dt, as a float (exact for f32, f16, bf16). */
static float value32(clrelu_dtype dt, uint64_t b) {
    if (dt == CLRELU_DTYPE_F32) {
        uint32_t w = (uint32_t)b;
        float f;
        memcpy(&f, &w, 4);
        return f;
    }
    return (float)decode_small(dt == CLRELU_DTYPE_F16 ? &fmt_f16 : &fmt_bf16, b);
}

static double value64(uint64_t b) {
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static uint64_t canonical_nan(clrelu_dtype dt) {
    switch (dt) {
    case CLRELU_DTYPE_F32:
        return 0x7fc00000u;
    case CLRELU_DTYPE_F16:
        return 0x7e00u;
    case CLRELU_DTYPE_BF16:
        return 0x7fc0u;
    case CLRELU_DTYPE_F64:
        return 0x7ff8000000000000ull;
    }
    return 0;
}

/* A computed (not passed-through) float result, stored: NaN is canonical, else one rounding. */
static uint64_t store32(clrelu_dtype dt, float r) {
    if (isnan(r))
        return canonical_nan(dt);
    if (dt == CLRELU_DTYPE_F32) {
        uint32_t w;
        memcpy(&w, &r, 4);
        return w;
    }
    return encode_small(dt == CLRELU_DTYPE_F16 ? &fmt_f16 : &fmt_bf16, (double)r);
}

static uint64_t store64(double r) {
    if (isnan(r))
        return canonical_nan(CLRELU_DTYPE_F64);
    uint64_t b;
    memcpy(&b, &r, 8);
    return b;
}

/* A value on its way to the output: either an input's bits passed through unchanged, or a
 * computed number (which may be NaN, then canonical). */
typedef struct val {
    int passed;    /* bits holds an input element's bits */
    uint64_t bits; /* when passed */
    double num;    /* when computed (float precision for the f32 domain) */
} val;

static int val_isnan(clrelu_dtype dt, val v) {
    if (v.passed)
        return is_f64(dt) ? isnan(value64(v.bits)) : isnan(value32(dt, v.bits));
    return isnan(v.num);
}

static double val_num(clrelu_dtype dt, val v) {
    if (!v.passed)
        return v.num;
    return is_f64(dt) ? value64(v.bits) : (double)value32(dt, v.bits);
}

static uint64_t val_store(clrelu_dtype dt, val v) {
    if (v.passed)
        return v.bits;
    return is_f64(dt) ? store64(v.num) : store32(dt, (float)v.num);
}

static val passed(uint64_t b) {
    val v = {1, b, 0};
    return v;
}

static val computed(double x) {
    val v = {0, 0, x};
    return v;
}

/* slope * v, in the compute type. */
static val times(clrelu_dtype dt, float s, double v) {
    if (is_f64(dt))
        return computed((double)s * v);
    float r = s * (float)v;
    return computed(r);
}

/* out = alpha * t + beta * old, as DESIGN.md and clrelu.h define it. */
static uint64_t blend(clrelu_dtype dt, const clrelu_desc *d, val t, uint64_t old_bits) {
    if (d->alpha == 1.0f && d->beta == 0.0f)
        return val_store(dt, t);
    if (val_isnan(dt, t))
        return val_store(dt, t);
    double tn = val_num(dt, t);
    if (is_f64(dt)) {
        double p = (double)d->alpha * tn;
        double r = p;
        if (d->beta != 0.0f) {
            double q = (double)d->beta * value64(old_bits);
            r = p + q;
        }
        return store64(r);
    }
    float p = d->alpha * (float)tn;
    float r = p;
    if (d->beta != 0.0f) {
        float q = d->beta * value32(dt, old_bits);
        r = p + q;
    }
    return store32(dt, r);
}

/* f(x) before blending. */
static val ref_forward(clrelu_dtype dt, const clrelu_desc *d, uint64_t xb) {
    double x = is_f64(dt) ? value64(xb) : (double)value32(dt, xb);
    if (isnan(x))
        return passed(xb);
    if (x > 0) {
        if (d->op == CLRELU_OP_CLIPPED_RELU && x >= (double)d->ceiling)
            return computed((double)d->ceiling); /* rounded once to the storage type */
        return passed(xb);
    }
    if (d->op == CLRELU_OP_LEAKY_RELU)
        return times(dt, d->negative_slope, x);
    return computed(0.0); /* +0.0 for -0.0, -inf, negative subnormals */
}

/* The ceiling as the storage type holds it: what clipped writes for x >= c. */
static double stored_ceiling(clrelu_dtype dt, float c) {
    if (dt == CLRELU_DTYPE_F16)
        return decode_small(&fmt_f16, encode_small(&fmt_f16, (double)c));
    if (dt == CLRELU_DTYPE_BF16)
        return decode_small(&fmt_bf16, encode_small(&fmt_bf16, (double)c));
    return (double)c;
}

/* Whether dy passes (f'(s) = 1), s being x, or y when from_y (a y equal to the stored
 * ceiling was clipped, so clipped compares y with the stored ceiling). */
static int ref_pass(clrelu_dtype dt, const clrelu_desc *d, uint64_t sb, int from_y) {
    double s = is_f64(dt) ? value64(sb) : (double)value32(dt, sb);
    double c = from_y ? stored_ceiling(dt, d->ceiling) : (double)d->ceiling;
    switch (d->op) {
    case CLRELU_OP_RELU:
        return isnan(s) || s > 0;
    case CLRELU_OP_LEAKY_RELU:
    case CLRELU_OP_PRELU:
        return s > 0;
    case CLRELU_OP_CLIPPED_RELU:
        return isnan(s) || (s > 0 && s < c);
    }
    return 0;
}

static val ref_grad(clrelu_dtype dt, const clrelu_desc *d, int pass, uint64_t dyb) {
    if (pass)
        return passed(dyb);
    if (d->op == CLRELU_OP_LEAKY_RELU) {
        double dy = is_f64(dt) ? value64(dyb) : (double)value32(dt, dyb);
        return times(dt, d->negative_slope, dy);
    }
    return computed(0.0);
}

static void ch_reference(const kit_op *op, const clrelu_desc *desc, size_t n, const void *in0,
                         const void *in1, void *out);
static uint64_t tame_value(clrelu_dtype dt, size_t c);

void kit_reference(const kit_op *op, const clrelu_desc *d, size_t n, const void *in0,
                   const void *in1, void *out, uint32_t *mask_out) {
    clrelu_dtype dt = d->dtype;
    if (op->channel) {
        ch_reference(op, d, n, in0, in1, out);
        return;
    }
    if (op->kind == KIT_FWD_MASK)
        memset(mask_out, 0, clrelu_mask_words(n) * 4);
    for (size_t i = 0; i < n; ++i) {
        uint64_t a = load_bits(dt, in0, i);
        uint64_t old = d->beta != 0.0f ? load_bits(dt, out, i) : 0; /* read only if blended */
        uint64_t r;
        if (op->kind == KIT_FWD || op->kind == KIT_FWD_MASK) {
            r = blend(dt, d, ref_forward(dt, d, a), old);
            if (op->kind == KIT_FWD_MASK && ref_pass(dt, d, a, 0))
                mask_out[i / 32] |= 1u << (i % 32);
        } else {
            int pass;
            if (op->kind == KIT_BWD_MASK)
                pass = (int)((((const uint32_t *)in1)[i / 32] >> (i % 32)) & 1u);
            else
                pass = ref_pass(dt, d, load_bits(dt, in1, i), op->kind == KIT_BWD_Y);
            r = blend(dt, d, ref_grad(dt, d, pass, a), old);
        }
        store_bits(dt, out, i, r);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The bias epilogue
 * ------------------------------------------------------------------------------------------ */

static double value_of(clrelu_dtype dt, uint64_t b) {
    return is_f64(dt) ? value64(b) : (double)value32(dt, b);
}

/* x + b: a NaN x passes with its bits, else a NaN b; otherwise one rounding in the compute
 * type (a NaN from inf - inf is computed, so canonical when stored). */
static val bias_sum(clrelu_dtype dt, uint64_t xb, uint64_t bb) {
    double x = value_of(dt, xb), b = value_of(dt, bb);
    if (isnan(x))
        return passed(xb);
    if (isnan(b))
        return passed(bb);
    if (is_f64(dt))
        return computed(x + b);
    float r = (float)x + (float)b;
    return computed(r);
}

/* f(s) for a value that may be passed or computed. */
static val ref_forward_val(clrelu_dtype dt, const clrelu_desc *d, val s) {
    if (val_isnan(dt, s))
        return s;
    double v = val_num(dt, s);
    if (v > 0) {
        if (d->op == CLRELU_OP_CLIPPED_RELU && v >= (double)d->ceiling)
            return computed((double)d->ceiling);
        return s;
    }
    if (d->op == CLRELU_OP_LEAKY_RELU)
        return times(dt, d->negative_slope, v);
    return computed(0.0);
}

static int ref_pass_val(clrelu_dtype dt, const clrelu_desc *d, val s, int from_y) {
    double v = val_isnan(dt, s) ? NAN : val_num(dt, s);
    double c = from_y ? stored_ceiling(dt, d->ceiling) : (double)d->ceiling;
    switch (d->op) {
    case CLRELU_OP_RELU:
        return isnan(v) || v > 0;
    case CLRELU_OP_LEAKY_RELU:
    case CLRELU_OP_PRELU:
        return v > 0;
    case CLRELU_OP_CLIPPED_RELU:
        return isnan(v) || (v > 0 && v < c);
    }
    return 0;
}

void kit_bias_forward(const clrelu_desc *d, size_t rows, size_t cols, const void *x, size_t x_pitch,
                      const void *bias, void *y, size_t y_pitch) {
    clrelu_dtype dt = d->dtype;
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
            val s = bias_sum(dt, load_bits(dt, x, r * x_pitch + c), load_bits(dt, bias, c));
            uint64_t old = d->beta != 0.0f ? load_bits(dt, y, r * y_pitch + c) : 0;
            store_bits(dt, y, r * y_pitch + c, blend(dt, d, ref_forward_val(dt, d, s), old));
        }
    }
}

void kit_bias_backward(const clrelu_desc *d, size_t rows, size_t cols, const void *dy,
                       size_t dy_pitch, const void *src, size_t src_pitch, const void *bias,
                       void *dx, size_t dx_pitch, void *dbias) {
    clrelu_dtype dt = d->dtype;
    int from_y = d->grad_from == CLRELU_GRAD_FROM_Y;
    /* Column sums of the unblended gradient: blocks of 256 rows in row order, then the blocks
     * in order, in the compute type. */
    double *total = calloc(cols ? cols : 1, sizeof *total);
    double *block = calloc(cols ? cols : 1, sizeof *block);
    for (size_t b0 = 0; b0 < rows; b0 += 256) {
        size_t b1 = b0 + 256 < rows ? b0 + 256 : rows;
        for (size_t c = 0; c < cols; ++c)
            block[c] = 0.0;
        for (size_t r = b0; r < b1; ++r) {
            for (size_t c = 0; c < cols; ++c) {
                uint64_t sb = load_bits(dt, src, r * src_pitch + c);
                val s = from_y ? passed(sb) : bias_sum(dt, sb, load_bits(dt, bias, c));
                val g = ref_grad(dt, d, ref_pass_val(dt, d, s, from_y),
                                 load_bits(dt, dy, r * dy_pitch + c));
                uint64_t old = d->beta != 0.0f ? load_bits(dt, dx, r * dx_pitch + c) : 0;
                store_bits(dt, dx, r * dx_pitch + c, blend(dt, d, g, old));
                double gv = val_isnan(dt, g) ? NAN : val_num(dt, g);
                if (is_f64(dt))
                    block[c] = block[c] + gv;
                else
                    block[c] = (float)((float)block[c] + (float)gv);
            }
        }
        for (size_t c = 0; c < cols; ++c)
            total[c] =
                is_f64(dt) ? total[c] + block[c] : (float)((float)total[c] + (float)block[c]);
    }
    for (size_t c = 0; dbias && c < cols; ++c) {
        double r;
        if (is_f64(dt)) {
            r = total[c];
            if (!(d->alpha == 1.0f && d->beta == 0.0f)) {
                double p = (double)d->alpha * r;
                r = p;
                if (d->beta != 0.0f) {
                    double q = (double)d->beta * value64(load_bits(dt, dbias, c));
                    r = p + q;
                }
            }
            store_bits(dt, dbias, c, store64(r));
        } else {
            float rf = (float)total[c];
            if (!(d->alpha == 1.0f && d->beta == 0.0f)) {
                float p = d->alpha * rf;
                rf = p;
                if (d->beta != 0.0f) {
                    float q = d->beta * value32(dt, load_bits(dt, dbias, c));
                    rf = p + q;
                }
            }
            store_bits(dt, dbias, c, store32(dt, rf));
        }
    }
    free(total);
    free(block);
}

/* ---------------------------------------------------------------------------------------------
 * The channel ops: PReLU and the residual epilogue
 * ------------------------------------------------------------------------------------------ */

/* s + the element b: a NaN s passes (with its bits, or canonical when it was computed), else a
 * NaN b with its bits; otherwise one rounding in the compute type. */
static val add_val(clrelu_dtype dt, val s, uint64_t bb) {
    if (val_isnan(dt, s))
        return s;
    double b = value_of(dt, bb);
    if (isnan(b))
        return passed(bb);
    if (is_f64(dt))
        return computed(val_num(dt, s) + b);
    float r = (float)val_num(dt, s) + (float)b;
    return computed(r);
}

/* p * q in the compute type, for two numbers (neither a NaN that passes). */
static double product(clrelu_dtype dt, double p, double q) {
    if (is_f64(dt))
        return p * q;
    float r = (float)p * (float)q;
    return r;
}

/* s = (x + bias[c]) + z at element e of channel c, or y itself (from y). */
static val channel_sum(clrelu_dtype dt, const void *x, const void *bias, const void *z, size_t e,
                       size_t c) {
    val s = passed(load_bits(dt, x, e));
    if (bias)
        s = add_val(dt, s, load_bits(dt, bias, c));
    if (z)
        s = add_val(dt, s, load_bits(dt, z, e));
    return s;
}

/* PReLU's f(s) with slope a: s when s > 0 or NaN, else a * s. */
static val prelu_f(clrelu_dtype dt, val s, uint64_t ab) {
    if (val_isnan(dt, s) || val_num(dt, s) > 0)
        return s;
    return computed(product(dt, value_of(dt, ab), val_num(dt, s)));
}

void kit_residual_forward(const clrelu_desc *d, const clrelu_layout *l, const void *x,
                          const void *bias, const void *z, const void *slopes, void *y) {
    clrelu_dtype dt = d->dtype;
    for (size_t o = 0; o < l->outer; ++o)
        for (size_t c = 0; c < l->channels; ++c)
            for (size_t i = 0; i < l->inner; ++i) {
                size_t e = o * l->pitch + c * l->inner + i;
                val s = channel_sum(dt, x, bias, z, e, c);
                val f = d->op == CLRELU_OP_PRELU ? prelu_f(dt, s, load_bits(dt, slopes, c))
                                                 : ref_forward_val(dt, d, s);
                uint64_t old = d->beta != 0.0f ? load_bits(dt, y, e) : 0;
                store_bits(dt, y, e, blend(dt, d, f, old));
            }
}

/* out[c] = alpha * total + beta * out[c] as the bias epilogue's dbias is stored. */
static void store_sum(const clrelu_desc *d, void *out, size_t c, double total) {
    clrelu_dtype dt = d->dtype;
    int plain = d->alpha == 1.0f && d->beta == 0.0f;
    if (is_f64(dt)) {
        double r = total;
        if (!plain) {
            double p = (double)d->alpha * r;
            r = p;
            if (d->beta != 0.0f) {
                double q = (double)d->beta * value64(load_bits(dt, out, c));
                r = p + q;
            }
        }
        store_bits(dt, out, c, store64(r));
        return;
    }
    float r = (float)total;
    if (!plain) {
        float p = d->alpha * r;
        r = p;
        if (d->beta != 0.0f) {
            float q = d->beta * value32(dt, load_bits(dt, out, c));
            r = p + q;
        }
    }
    store_bits(dt, out, c, store32(dt, r));
}

/* acc + v, rounded in the compute type. */
static double accumulate(clrelu_dtype dt, double acc, double v) {
    if (is_f64(dt))
        return acc + v;
    float r = (float)acc + (float)v;
    return r;
}

void kit_residual_backward(const clrelu_desc *d, const clrelu_layout *l, const void *dy,
                           const void *src, const void *bias, const void *z, const void *slopes,
                           void *dx, void *dbias, void *dslopes) {
    clrelu_dtype dt = d->dtype;
    int from_y = d->grad_from == CLRELU_GRAD_FROM_Y;
    int prelu = d->op == CLRELU_OP_PRELU;
    size_t count = l->outer * l->inner; /* the elements of one channel, k = o * inner + i */
    for (size_t c = 0; c < l->channels; ++c) {
        double total_g = 0, total_p = 0, block_g = 0, block_p = 0;
        for (size_t k = 0; k < count; ++k) {
            size_t o = k / l->inner, i = k % l->inner, e = o * l->pitch + c * l->inner + i;
            val s = from_y ? passed(load_bits(dt, src, e)) : channel_sum(dt, src, bias, z, e, c);
            uint64_t dyb = load_bits(dt, dy, e);
            int pass =
                prelu ? !val_isnan(dt, s) && val_num(dt, s) > 0 : ref_pass_val(dt, d, s, from_y);
            val g;
            if (!prelu)
                g = ref_grad(dt, d, pass, dyb);
            else if (pass)
                g = passed(dyb);
            else
                g = computed(
                    product(dt, value_of(dt, load_bits(dt, slopes, c)), value_of(dt, dyb)));
            uint64_t old = d->beta != 0.0f ? load_bits(dt, dx, e) : 0;
            store_bits(dt, dx, e, blend(dt, d, g, old));
            /* The sums: blocks of 256 consecutive k, each from +0, then the blocks from +0. */
            double gv = val_isnan(dt, g) ? NAN : val_num(dt, g);
            double sv = val_isnan(dt, s) ? NAN : val_num(dt, s);
            double pv = pass ? 0.0 : product(dt, sv, value_of(dt, dyb));
            block_g = accumulate(dt, block_g, gv);
            block_p = accumulate(dt, block_p, pv);
            if (k % 256 == 255 || k + 1 == count) {
                total_g = accumulate(dt, total_g, block_g);
                total_p = accumulate(dt, total_p, block_p);
                block_g = block_p = 0;
            }
        }
        if (dbias)
            store_sum(d, dbias, c, total_g);
        if (dslopes && prelu)
            store_sum(d, dslopes, c, total_p);
    }
}

void kit_relu_forward_f32(size_t n, const float *x, float *y) {
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    kit_reference(&kit_ops[0], &d, n, x, NULL, y, NULL);
}

void kit_make_in1(const kit_op *op, const clrelu_desc *desc, size_t n, const void *x, void *in1) {
    size_t es = clrelu_dtype_size(desc->dtype);
    clrelu_desc plain = *desc;
    plain.alpha = 1.0f;
    plain.beta = 0.0f;
    static const kit_op fwd = {"",   CLRELU_OP_RELU, KIT_FWD, 2,    0, 1, 0,
                               NULL, NULL,           NULL,    0.0f, 0, 0};
    switch (op->kind) {
    case KIT_BWD_X:
        memmove(in1, x, n * es);
        break;
    case KIT_BWD_Y:
        memmove(in1, x, n * es); /* the old output, unread with beta = 0 */
        kit_reference(&fwd, &plain, n, x, NULL, in1, NULL);
        break;
    case KIT_CH_FWD:
    case KIT_CH_BWD: {
        /* in1: x (PReLU's backward) or z (the residual ops: x reversed, so that specials meet
         * other values), its head the per-channel values. */
        size_t c = kit_layout(op, n).channels;
        for (size_t i = 0; i < n; ++i)
            store_bits(desc->dtype, in1, i,
                       load_bits(desc->dtype, x, op->kind == KIT_CH_BWD ? i : n - 1 - i));
        for (size_t i = 0; op->channel != KIT_ADD && i < c && i < n; ++i)
            store_bits(desc->dtype, in1, i, tame_value(desc->dtype, i));
        break;
    }
    case KIT_BWD_MASK: {
        uint32_t *mask = in1;
        memset(mask, 0, clrelu_mask_words(n) * 4);
        for (size_t i = 0; i < n; ++i)
            if (ref_pass(desc->dtype, &plain, load_bits(desc->dtype, x, i), 0))
                mask[i / 32] |= 1u << (i % 32);
        break;
    }
    default:
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------ */

/* The short forms (kit.h) of the ops without a mask. */
static clrelu_desc with_source(const clrelu_desc *desc, kit_kind kind) {
    clrelu_desc d = *desc;
    d.grad_from = kind == KIT_BWD_Y ? CLRELU_GRAD_FROM_Y : CLRELU_GRAD_FROM_X;
    return d;
}

#define KIT_SHORT_FORMS(name, kind)                                                                \
    static clrelu_status name##_device(clrelu_context *ctx, const clrelu_desc *desc, size_t n,     \
                                       const cl_mem *in, cl_mem out, cl_uint n_wait,               \
                                       const cl_event *wait, cl_event *done) {                     \
        clrelu_desc d = with_source(desc, kind);                                                   \
        if (kind == KIT_FWD)                                                                       \
            return clrelu_forward(ctx, &d, n, in[0], 0, out, 0, n_wait, wait, done);               \
        return clrelu_backward(ctx, &d, n, in[0], 0, in[1], 0, out, 0, n_wait, wait, done);        \
    }                                                                                              \
    static clrelu_status name##_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,       \
                                     const void *const *in, void *out) {                           \
        clrelu_desc d = with_source(desc, kind);                                                   \
        if (kind == KIT_FWD)                                                                       \
            return clrelu_forward_host(ctx, &d, n, in[0], out);                                    \
        return clrelu_backward_host(ctx, &d, n, in[0], in[1], out);                                \
    }                                                                                              \
    static void name##_reference(const clrelu_desc *desc, size_t n, const void *const *in,         \
                                 void *out) {                                                      \
        static const kit_op op = {"",   CLRELU_OP_RELU, kind, 0,    0, 0, 0,                       \
                                  NULL, NULL,           NULL, 0.0f, 0, 0};                         \
        clrelu_desc d = with_source(desc, kind);                                                   \
        kit_reference(&op, &d, n, in[0], kind == KIT_FWD ? NULL : in[1], out, NULL);               \
    }
KIT_SHORT_FORMS(fwd, KIT_FWD)
KIT_SHORT_FORMS(bwd_x, KIT_BWD_X)
KIT_SHORT_FORMS(bwd_y, KIT_BWD_Y)

#define KIT_FWD_OP(name, op)                                                                       \
    { name, op, KIT_FWD, 2, 0, 1, 0, fwd_device, fwd_host, fwd_reference, 0.0f, 0, 0 }
#define KIT_BWDX_OP(name, op)                                                                      \
    { name, op, KIT_BWD_X, 3, 0, 2, 1, bwd_x_device, bwd_x_host, bwd_x_reference, 0.0f, 0, 0 }
#define KIT_BWDY_OP(name, op)                                                                      \
    { name, op, KIT_BWD_Y, 3, 0, 2, 1, bwd_y_device, bwd_y_host, bwd_y_reference, 0.0f, 0, 0 }
#define KIT_MASK_OP(name, op, kind, arrays)                                                        \
    { name, op, kind, arrays, 1, 0, kind != KIT_FWD_MASK, NULL, NULL, NULL, 0.0f, 0, 0 }
/* Accumulating into the output (beta = 1): it is read as well as written. */
#define KIT_FWD_ACC_OP(name, op)                                                                   \
    { name, op, KIT_FWD, 3, 0, 1, 0, fwd_device, fwd_host, fwd_reference, 1.0f, 0, 0 }
#define KIT_BWDX_ACC_OP(name, op)                                                                  \
    { name, op, KIT_BWD_X, 4, 0, 2, 1, bwd_x_device, bwd_x_host, bwd_x_reference, 1.0f, 0, 0 }
/* The channel ops: the long forms only (kit_run_device, kit_run_host, kit_reference). */
#define KIT_CH_OP(name, op, kind, arrays, channel, last)                                           \
    { name, op, kind, arrays, 0, 0, kind == KIT_CH_BWD, NULL, NULL, NULL, 0.0f, channel, last }

const kit_op kit_ops[] = {
    KIT_FWD_OP("forward", CLRELU_OP_RELU),
    KIT_BWDX_OP("backward", CLRELU_OP_RELU),
    KIT_BWDY_OP("backward_y", CLRELU_OP_RELU),
    KIT_MASK_OP("forward_mask", CLRELU_OP_RELU, KIT_FWD_MASK, 2),
    KIT_MASK_OP("backward_mask", CLRELU_OP_RELU, KIT_BWD_MASK, 2),
    KIT_FWD_OP("leaky_forward", CLRELU_OP_LEAKY_RELU),
    KIT_BWDX_OP("leaky_backward", CLRELU_OP_LEAKY_RELU),
    KIT_BWDY_OP("leaky_backward_y", CLRELU_OP_LEAKY_RELU),
    KIT_MASK_OP("leaky_forward_mask", CLRELU_OP_LEAKY_RELU, KIT_FWD_MASK, 2),
    KIT_MASK_OP("leaky_backward_mask", CLRELU_OP_LEAKY_RELU, KIT_BWD_MASK, 2),
    KIT_FWD_OP("clipped_forward", CLRELU_OP_CLIPPED_RELU),
    KIT_BWDX_OP("clipped_backward", CLRELU_OP_CLIPPED_RELU),
    KIT_BWDY_OP("clipped_backward_y", CLRELU_OP_CLIPPED_RELU),
    KIT_MASK_OP("clipped_forward_mask", CLRELU_OP_CLIPPED_RELU, KIT_FWD_MASK, 2),
    KIT_MASK_OP("clipped_backward_mask", CLRELU_OP_CLIPPED_RELU, KIT_BWD_MASK, 2),
    KIT_FWD_ACC_OP("forward_accumulate", CLRELU_OP_RELU),
    KIT_BWDX_ACC_OP("backward_accumulate", CLRELU_OP_RELU),
    KIT_CH_OP("prelu_forward", CLRELU_OP_PRELU, KIT_CH_FWD, 2, KIT_PRELU, 0),
    KIT_CH_OP("prelu_backward", CLRELU_OP_PRELU, KIT_CH_BWD, 3, KIT_PRELU, 0),
    KIT_CH_OP("prelu_forward_nhwc", CLRELU_OP_PRELU, KIT_CH_FWD, 2, KIT_PRELU, 1),
    KIT_CH_OP("prelu_backward_nhwc", CLRELU_OP_PRELU, KIT_CH_BWD, 3, KIT_PRELU, 1),
    KIT_CH_OP("residual_forward", CLRELU_OP_RELU, KIT_CH_FWD, 3, KIT_RESIDUAL, 0),
    KIT_CH_OP("residual_forward_nhwc", CLRELU_OP_RELU, KIT_CH_FWD, 3, KIT_RESIDUAL, 1),
    KIT_CH_OP("add", CLRELU_OP_LEAKY_RELU, KIT_CH_FWD, 3, KIT_ADD, 0),
};
const size_t kit_ops_count = sizeof kit_ops / sizeof kit_ops[0];

const kit_op *kit_find_op(const char *name) {
    for (size_t i = 0; i < kit_ops_count; ++i)
        if (strcmp(kit_ops[i].name, name) == 0)
            return &kit_ops[i];
    return NULL;
}

clrelu_desc kit_desc(const kit_op *op, clrelu_dtype dtype) {
    clrelu_desc d = clrelu_desc_make(op->op, dtype);
    d.beta = op->beta;
    if (op->channel == KIT_ADD)
        d.negative_slope = 1.0f; /* leaky with slope 1: s itself, for every s */
    d.grad_from = op->kind == KIT_BWD_Y      ? CLRELU_GRAD_FROM_Y
                  : op->kind == KIT_BWD_MASK ? CLRELU_GRAD_FROM_MASK
                                             : CLRELU_GRAD_FROM_X;
    return d;
}

clrelu_layout kit_layout(const kit_op *op, size_t n) {
    static const size_t chans[] = {64, 31, 3, 2, 1}, inners[] = {1024, 49, 7, 1};
    size_t c = 1, inner = 1;
    for (size_t i = 0; n && i < sizeof chans / sizeof chans[0]; ++i)
        if (n % chans[i] == 0) {
            c = chans[i];
            break;
        }
    for (size_t i = 0; n && !op->channels_last && i < sizeof inners / sizeof inners[0]; ++i)
        if (n / c % inners[i] == 0) {
            inner = inners[i];
            break;
        }
    return clrelu_layout_make(n / c / inner, c, inner);
}

double kit_bytes(const kit_op *op, size_t n, size_t elsize) {
    double side = op->channel == KIT_PRELU || op->channel == KIT_RESIDUAL
                      ? (double)kit_layout(op, n).channels * (double)elsize
                      : 0;
    return (double)op->arrays * (double)n * (double)elsize + (op->mask ? (double)n / 8 : 0) + side;
}

/* The channel ops' arrays from the kit's two inputs (kit.h: KIT_CH_FWD, KIT_CH_BWD). */
static clrelu_status ch_device(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc,
                               size_t n, cl_mem in0, size_t off0, cl_mem in1, size_t off1,
                               cl_mem out, size_t out_off, cl_uint n_wait, const cl_event *wait,
                               cl_event *done) {
    clrelu_layout l = kit_layout(op, n);
    switch (op->channel) {
    case KIT_PRELU:
        if (op->kind == KIT_CH_FWD)
            return clrelu_prelu_forward(ctx, desc, &l, in0, off0, in1, off1, out, out_off, n_wait,
                                        wait, done);
        return clrelu_prelu_backward(ctx, desc, &l, in0, off0, in1, off1, in1, off1, out, out_off,
                                     NULL, 0, n_wait, wait, done);
    case KIT_RESIDUAL:
        return clrelu_residual_forward(ctx, desc, &l, in0, off0, in1, off1, in1, off1, NULL, 0, out,
                                       out_off, n_wait, wait, done);
    default:
        return clrelu_residual_forward(ctx, desc, &l, in0, off0, NULL, 0, in1, off1, NULL, 0, out,
                                       out_off, n_wait, wait, done);
    }
}

static clrelu_status ch_host(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc,
                             size_t n, const void *in0, const void *in1, void *out) {
    clrelu_layout l = kit_layout(op, n);
    switch (op->channel) {
    case KIT_PRELU:
        if (op->kind == KIT_CH_FWD)
            return clrelu_prelu_forward_host(ctx, desc, &l, in0, in1, out);
        return clrelu_prelu_backward_host(ctx, desc, &l, in0, in1, in1, out, NULL);
    case KIT_RESIDUAL:
        return clrelu_residual_forward_host(ctx, desc, &l, in0, in1, in1, NULL, out);
    default:
        return clrelu_residual_forward_host(ctx, desc, &l, in0, NULL, in1, NULL, out);
    }
}

static void ch_reference(const kit_op *op, const clrelu_desc *desc, size_t n, const void *in0,
                         const void *in1, void *out) {
    clrelu_layout l = kit_layout(op, n);
    switch (op->channel) {
    case KIT_PRELU:
        if (op->kind == KIT_CH_FWD)
            kit_residual_forward(desc, &l, in0, NULL, NULL, in1, out);
        else
            kit_residual_backward(desc, &l, in0, in1, NULL, NULL, in1, out, NULL, NULL);
        break;
    case KIT_RESIDUAL:
        kit_residual_forward(desc, &l, in0, in1, in1, NULL, out);
        break;
    default:
        kit_residual_forward(desc, &l, in0, NULL, in1, NULL, out);
    }
}

/* Per-channel values that keep the timing honest (no subnormal or NaN slope) and still differ
 * by channel: both signs, zero, fractions. */
static uint64_t tame_value(clrelu_dtype dt, size_t c) {
    static const float v[] = {0.25f, -0.5f, 0.125f, 2.0f, 0.0f, 1.0f, -1.0f, 0.75f};
    float f = v[c % 8];
    if (dt == CLRELU_DTYPE_F64) {
        double d = f;
        uint64_t b;
        memcpy(&b, &d, 8);
        return b;
    }
    uint32_t w;
    memcpy(&w, &f, 4);
    return dt == CLRELU_DTYPE_F32    ? w
           : dt == CLRELU_DTYPE_BF16 ? w >> 16
                                     : encode_small(&fmt_f16, f);
}

clrelu_status kit_run_device(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc,
                             size_t n, cl_mem in0, size_t off0, cl_mem in1, size_t off1, cl_mem out,
                             size_t out_off, cl_mem mask, size_t mask_off, cl_uint n_wait,
                             const cl_event *wait, cl_event *done) {
    if (op->channel)
        return ch_device(op, ctx, desc, n, in0, off0, in1, off1, out, out_off, n_wait, wait, done);
    switch (op->kind) {
    case KIT_FWD:
        return clrelu_forward(ctx, desc, n, in0, off0, out, out_off, n_wait, wait, done);
    case KIT_FWD_MASK:
        return clrelu_forward_mask(ctx, desc, n, in0, off0, out, out_off, mask, mask_off, n_wait,
                                   wait, done);
    default:
        return clrelu_backward(ctx, desc, n, in0, off0, in1, off1, out, out_off, n_wait, wait,
                               done);
    }
}

clrelu_status kit_run_host(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                           const void *in0, const void *in1, void *out, uint32_t *mask) {
    if (op->channel)
        return ch_host(op, ctx, desc, n, in0, in1, out);
    switch (op->kind) {
    case KIT_FWD:
        return clrelu_forward_host(ctx, desc, n, in0, out);
    case KIT_FWD_MASK:
        return clrelu_forward_mask_host(ctx, desc, n, in0, out, mask);
    default:
        return clrelu_backward_host(ctx, desc, n, in0, in1, out);
    }
}

const kit_dtype kit_dtypes[] = {
    {"f32", CLRELU_DTYPE_F32, 4},
    {"f16", CLRELU_DTYPE_F16, 2},
    {"bf16", CLRELU_DTYPE_BF16, 2},
    {"f64", CLRELU_DTYPE_F64, 8},
};
const size_t kit_dtypes_count = sizeof kit_dtypes / sizeof kit_dtypes[0];

const kit_dtype *kit_find_dtype(const char *name) {
    for (size_t i = 0; i < kit_dtypes_count; ++i)
        if (strcmp(kit_dtypes[i].name, name) == 0)
            return &kit_dtypes[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Inputs
 * ------------------------------------------------------------------------------------------ */

static const uint64_t specials_f32[] = {
    0x7fc00000u, 0xffc00000u, 0x7fa00001u, 0xff800001u, 0x7fffffffu, 0xffc12345u, /* NaNs */
    0x00000000u, 0x80000000u,                                                     /* +-0 */
    0x7f800000u, 0xff800000u,                                                     /* +-inf */
    0x00000001u, 0x007fffffu, 0x80000001u, 0x807fffffu,                           /* subnormals */
    0x7f7fffffu, 0xff7fffffu, 0x00800000u, 0x80800000u, /* +-max, +-min normal */
    0x3f800000u, 0xbf800000u, 0x40c00000u, 0x40bfffffu, /* +-1, 6, just below 6 */
    0x3dcccccdu, 0x3dcccccbu,                           /* 0.1f and just below */
};
static const uint64_t specials_f16[] = {
    0x7e00, 0xfe00, 0x7d01, 0xfc01, 0x7fff, 0xfe45, /* NaNs */
    0x0000, 0x8000, 0x7c00, 0xfc00,                 /* +-0, +-inf */
    0x0001, 0x03ff, 0x8001, 0x83ff,                 /* subnormals */
    0x7bff, 0xfbff, 0x0400, 0x8400,                 /* +-max, +-min normal */
    0x3c00, 0xbc00, 0x4600, 0x45ff, 0x2e66, 0x2e67, /* +-1, 6, below 6, around 0.1 */
};
static const uint64_t specials_bf16[] = {
    0x7fc0, 0xffc0, 0x7f81, 0xff81, 0x7fff, 0xffc5, /* NaNs */
    0x0000, 0x8000, 0x7f80, 0xff80,                 /* +-0, +-inf */
    0x0001, 0x007f, 0x8001, 0x807f,                 /* subnormals */
    0x7f7f, 0xff7f, 0x0080, 0x8080,                 /* +-max, +-min normal */
    0x3f80, 0xbf80, 0x40c0, 0x40bf, 0x3dcc, 0x3dcd, /* +-1, 6, below 6, around 0.1 */
};
static const uint64_t specials_f64[] = {
    0x7ff8000000000000ull,
    0xfff8000000000000ull,
    0x7ff4000000000001ull,
    0xfff0000000000001ull,
    0x7fffffffffffffffull, /* NaNs */
    0,
    0x8000000000000000ull,
    0x7ff0000000000000ull,
    0xfff0000000000000ull,
    0x0000000000000001ull,
    0x000fffffffffffffull,
    0x8000000000000001ull, /* subnormals */
    0x7fefffffffffffffull,
    0xffefffffffffffffull,
    0x0010000000000000ull, /* max, min normal */
    0x3ff0000000000000ull,
    0xbff0000000000000ull,
    0x4018000000000000ull, /* 1, -1, 6 */
    0x4017ffffffffffffull,
    0x3fb999999999999aull,
    0x3fb99999a0000000ull, /* below 6, 0.1s */
};

const uint64_t *kit_specials(clrelu_dtype dtype, size_t *count) {
#define KIT_SPECIALS(a)                                                                            \
    do {                                                                                           \
        *count = sizeof(a) / sizeof(a)[0];                                                         \
        return a;                                                                                  \
    } while (0)
    switch (dtype) {
    case CLRELU_DTYPE_F32:
        KIT_SPECIALS(specials_f32);
    case CLRELU_DTYPE_F16:
        KIT_SPECIALS(specials_f16);
    case CLRELU_DTYPE_BF16:
        KIT_SPECIALS(specials_bf16);
    case CLRELU_DTYPE_F64:
        KIT_SPECIALS(specials_f64);
    }
#undef KIT_SPECIALS
    *count = 0;
    return NULL;
}

static uint32_t next(uint32_t *s) {
    uint32_t x = *s; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A value in [-10, 10) (around 0 and both sides of the ceiling 6) as dtype's bits. */
static uint64_t random_value(clrelu_dtype dtype, uint32_t *s) {
    double v = ((double)(next(s) >> 8) / (double)(1u << 24) - 0.5) * 20.0;
    uint64_t bits;
    if (dtype == CLRELU_DTYPE_F64) {
        memcpy(&bits, &v, 8);
        return bits;
    }
    float f = (float)v;
    uint32_t w;
    memcpy(&w, &f, 4);
    return dtype == CLRELU_DTYPE_F32    ? w
           : dtype == CLRELU_DTYPE_BF16 ? w >> 16
                                        : encode_small(&fmt_f16, (double)f);
}

void kit_fill(clrelu_dtype dtype, void *x, size_t n, uint32_t seed) {
    uint32_t s = seed ? seed : 1;
    size_t n_specials;
    const uint64_t *specials = kit_specials(dtype, &n_specials);
    for (size_t i = 0; i < n; ++i) {
        uint32_t r = next(&s);
        uint64_t bits;
        switch (r & 7) {
        case 0:
        case 1:
            bits = specials[next(&s) % n_specials];
            break;
        case 2:
            bits = ((uint64_t)next(&s) << 32) | next(&s); /* any pattern at all */
            break;
        default:
            bits = random_value(dtype, &s);
        }
        store_bits(dtype, x, i, bits);
    }
}

int kit_data_parse(const char *text, kit_data *out) {
    memset(out, 0, sizeof *out);
    if (strlen(text) >= sizeof out->name)
        return -1;
    snprintf(out->name, sizeof out->name, "%s", text);
    if (strcmp(text, "special") == 0) {
        out->kind = KIT_DATA_SPECIAL;
        return 0;
    }
    if (strcmp(text, "normal") == 0) {
        out->kind = KIT_DATA_NORMAL;
        return 0;
    }
    if (strncmp(text, "subnormal:", 10) != 0)
        return -1;
    const char *rate = text + 10;
    char *end;
    double num = strtod(rate, &end), den = 1;
    if (end == rate)
        return -1;
    if (*end == '/') {
        const char *d = end + 1;
        den = strtod(d, &end);
        if (end == d)
            return -1;
    }
    if (*end || !(num > 0) || !(den > 0) || !(num <= den))
        return -1;
    out->kind = KIT_DATA_SUBNORMAL;
    out->rate = num / den;
    return 0;
}

void kit_fill_data(const kit_data *data, clrelu_dtype dtype, void *x, size_t n, uint32_t seed) {
    if (data->kind == KIT_DATA_SPECIAL) {
        kit_fill(dtype, x, n, seed);
        return;
    }
    uint32_t s = seed ? seed : 1;
    /* An element is subnormal when a uniform 32-bit draw falls below rate * 2^32. */
    const double limit = data->kind == KIT_DATA_SUBNORMAL ? data->rate * 4294967296.0 : 0;
    const int payload_bits = dtype == CLRELU_DTYPE_F32    ? 23
                             : dtype == CLRELU_DTYPE_F16  ? 10
                             : dtype == CLRELU_DTYPE_BF16 ? 7
                                                          : 52;
    const uint64_t sign = (uint64_t)1 << (payload_bits == 23 ? 31 : payload_bits == 52 ? 63 : 15);
    for (size_t i = 0; i < n; ++i) {
        uint64_t bits = random_value(dtype, &s);
        if ((double)next(&s) < limit) {
            uint64_t r = ((uint64_t)next(&s) << 32) | next(&s);
            uint64_t payload = r & (((uint64_t)1 << payload_bits) - 1);
            bits = (payload ? payload : 1) | (r >> 63 ? sign : 0);
        }
        store_bits(dtype, x, i, bits);
    }
}
