/* SPDX-License-Identifier: Apache-2.0 */
/* The ReLU family per element: storage conversions and the semantics table, written once in
 * the common subset of C11 and OpenCL C 1.2 so that the OpenCL kernels (this text is
 * prepended to relu.cl) and the CPU path (host/cpu/kernels.inc includes it) give the same bits.
 *
 * Values are handled as bits in a compute domain: f32 (for f32, f16 and bf16 storage) or f64.
 * Decisions (x > 0, x < c, NaN) are integer tests on the bits, so a device or CPU that
 * flushes subnormals in float compares cannot change them; arithmetic (leaky's slope * x,
 * blending) is plain IEEE multiply and add, one operation per statement (no contraction),
 * and a NaN that arithmetic creates becomes the canonical quiet NaN.
 *
 * In OpenCL C, define CLRELU_WITH_F64=1 only for a device with cl_khr_fp64 (it enables the
 * extension and the f64 functions). In C, stdint.h is included here and f64 is always in. */
#ifndef CLRELU_RELU_MATH_H
#define CLRELU_RELU_MATH_H

#if defined(__OPENCL_C_VERSION__)
typedef uint cr_u32;
typedef int cr_i32;
typedef ulong cr_u64;
typedef long cr_i64;
#define CR_FN      static inline
#define CR_F32(u)  as_float(u)
#define CR_U32(f)  as_uint(f)
#define CR_F64(u)  as_double(u)
#define CR_U64(d)  as_ulong(d)
#define CR_U64C(x) x##UL
/* Arithmetic is one rounding per operation: no fused multiply-add. */
#pragma OPENCL FP_CONTRACT OFF
#ifndef CLRELU_WITH_F64
#define CLRELU_WITH_F64 0
#endif
#if CLRELU_WITH_F64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#else
#include <stdint.h>
#include <string.h>
typedef uint32_t cr_u32;
typedef int32_t cr_i32;
typedef uint64_t cr_u64;
typedef int64_t cr_i64;
/* Always inlined: a loop that calls one of these out of line is not vectorised (GCC 12 left
 * cr_f32_to_f16 out of line in the channel ops' f16 loops, at 0.7% of copy). */
#define CR_FN           static inline __attribute__((always_inline))
static inline float cr_f32_(cr_u32 u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline cr_u32 cr_u32_(float f) {
    cr_u32 u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline double cr_f64_(cr_u64 u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static inline cr_u64 cr_u64_(double d) {
    cr_u64 u;
    memcpy(&u, &d, sizeof u);
    return u;
}
#define CR_F32(u)       cr_f32_(u)
#define CR_U32(f)       cr_u32_(f)
#define CR_F64(u)       cr_f64_(u)
#define CR_U64(d)       cr_u64_(d)
#define CR_U64C(x)      UINT64_C(x)
#define CLRELU_WITH_F64 1
#endif

/* Ops and blending modes, as the -D macros and the CPU table spell them. */
#define CR_RELU    0
#define CR_LEAKY   1
#define CR_CLIPPED 2
#define CR_PRELU   3 /* leaky with a per-channel slope (the channel ops: kernels/channel.cl) */
#define CR_PLAIN   0 /* out = f */
#define CR_SCALE   1 /* out = alpha * f */
#define CR_BLEND   2 /* out = alpha * f + beta * out */

/* CR_FMUL(a, b) (f32) and CR_DMUL(a, b) (f64): a * b rounded once, the family's one multiply
 * (leaky's and PReLU's slope * x, backward's slope * dy, blending's alpha * f and beta * out;
 * cr_mul32 / cr_mul64 below add the canonical NaN: call those). On a CPU with fast fused
 * multiply-add it is fma(a, b, -0): the same bits as a * b for every input (the exact product
 * plus -0 rounds as the product alone does, to a subnormal or to zero too; a zero product keeps
 * its sign, since -0 + -0 = -0 and +0 + -0 = +0; NaN in, NaN out), but computed by the FMA unit,
 * which on AMD Zen 4 takes no slow path for a subnormal product where the multiplier does
 * (docs/performance-cpu.md). The -0 is read from a constant defined elsewhere (host/cpu/
 * dispatch.c), since Clang folds fma(a, b, -0.0) back into a * b, which it may. OpenCL keeps the
 * plain product (relu.cl's vector twins multiply the same way): LLVM, under PoCL too, would fold
 * it, and the CPU runtimes' own measurements are in docs/performance-cpu.md. */
#if !defined(__OPENCL_C_VERSION__) && (defined(__FP_FAST_FMAF) || defined(__FMA__))
extern const float clrelu__neg_zero_f;
extern const double clrelu__neg_zero_d;
#define CR_FMUL(a, b) __builtin_fmaf((a), (b), clrelu__neg_zero_f)
#define CR_DMUL(a, b) __builtin_fma((a), (b), clrelu__neg_zero_d)
#else
#define CR_FMUL(a, b) ((a) * (b))
#define CR_DMUL(a, b) ((a) * (b))
#endif

/* Selections are written as bit masks rather than branches or ?: on computed values: both
 * compilers here (GCC for the CPU path, PoCL's LLVM) then vectorise the loops around them.
 * cr_sel32(cond, a, b) is cond ? a : b for cond 0 or 1. */
CR_FN cr_u32 cr_sel32(int cond, cr_u32 a, cr_u32 b) {
    cr_u32 m = 0u - (cr_u32)(cond != 0);
    return (a & m) | (b & ~m);
}

/* ---------------------------------------------------------------------------------------------
 * f32 compute domain
 * ------------------------------------------------------------------------------------------ */
#define CR_ABS32  0x7fffffffu
#define CR_INF32  0x7f800000u
#define CR_QNAN32 0x7fc00000u

CR_FN int cr_nan32(cr_u32 b) {
    return (b & CR_ABS32) > CR_INF32;
}

/* x > 0 (+inf included, NaN and +0 not). */
CR_FN int cr_gt0_32(cr_u32 b) {
    return (cr_i32)b > 0 && b <= CR_INF32;
}

CR_FN cr_u32 cr_canon32(cr_u32 b) {
    return cr_sel32(cr_nan32(b), CR_QNAN32, b);
}

/* s * x, one rounding, a NaN product canonical: leaky's negative side and PReLU's. */
CR_FN cr_u32 cr_mul32(float s, cr_u32 b) {
    float r = CR_FMUL(s, CR_F32(b));
    return cr_canon32(CR_U32(r));
}

/* x + b for the bias epilogue: one rounding; a NaN x passes with its bits, else a NaN b, and a
 * NaN the addition creates (inf - inf) is canonical. */
CR_FN cr_u32 cr_add32(cr_u32 x, cr_u32 b) {
    float r = CR_F32(x) + CR_F32(b);
    return cr_sel32(cr_nan32(x), x, cr_sel32(cr_nan32(b), b, cr_canon32(CR_U32(r))));
}

/* f(x). c: the ceiling's bits, positive and finite. */
CR_FN cr_u32 cr_fwd32(int op, cr_u32 x, float slope, cr_u32 c) {
    cr_u32 pos = op == CR_CLIPPED ? cr_sel32(x < c, x, c) : x;
    cr_u32 neg = op == CR_LEAKY ? cr_mul32(slope, x) : 0u;
    return cr_sel32(cr_nan32(x), x, cr_sel32(cr_gt0_32(x), pos, neg));
}

/* Whether dy passes unchanged (f'(x) = 1): the bit the mask stores. The same test serves
 * backward from y (y > 0 exactly where x > 0; for clipped, 0 < y < c). */
CR_FN int cr_pass32(int op, cr_u32 x, cr_u32 c) {
    int nan = cr_nan32(x), gt0 = cr_gt0_32(x);
    if (op == CR_LEAKY)
        return gt0;
    if (op == CR_CLIPPED)
        return nan | (gt0 & (x < c));
    return nan | gt0;
}

/* f'(x) * dy given the pass bit. */
CR_FN cr_u32 cr_grad32(int op, int pass, cr_u32 dy, float slope) {
    cr_u32 other = op == CR_LEAKY ? cr_mul32(slope, dy) : 0u;
    return cr_sel32(pass, dy, other);
}

/* out = alpha * t + beta * old, each product and the sum rounded once; a NaN t passes. */
CR_FN cr_u32 cr_blend32(int mode, cr_u32 t, cr_u32 old, float alpha, float beta) {
    if (mode == CR_PLAIN)
        return t;
    float p = CR_FMUL(alpha, CR_F32(t));
    float r = p;
    if (mode == CR_BLEND) {
        float q = CR_FMUL(beta, CR_F32(old));
        r = p + q;
    }
    return cr_sel32(cr_nan32(t), t, cr_canon32(CR_U32(r)));
}

/* PReLU, with the channel's slope a as compute-domain bits: the leaky row of the table with
 * slope a (NaN passes; x <= 0 gives a * x, one rounding). Its backward is leaky's, and the
 * slope's gradient takes x * dy from every element that does not pass (x <= 0 or NaN: what
 * PyTorch's prelu backward gives), +0 from the others. The residual epilogue feeds these the
 * sum s = (x + bias) + z, each addition rounded (cr_add32). */
CR_FN cr_u32 cr_prelu_fwd32(cr_u32 x, cr_u32 a) {
    return cr_fwd32(CR_LEAKY, x, CR_F32(a), 0u);
}

CR_FN cr_u32 cr_prelu_grad32(cr_u32 x, cr_u32 dy, cr_u32 a) {
    return cr_grad32(CR_LEAKY, cr_gt0_32(x), dy, CR_F32(a));
}

CR_FN cr_u32 cr_prelu_dslope32(cr_u32 x, cr_u32 dy) {
    return cr_sel32(cr_gt0_32(x), 0u, cr_mul32(CR_F32(x), dy));
}

/* ---------------------------------------------------------------------------------------------
 * Storage conversions into and out of the f32 domain
 * ------------------------------------------------------------------------------------------ */

/* binary16 -> binary32, exact. NaN payloads are shifted up unchanged, so converting back
 * restores the same bits. Subnormals: m * 2^-24 is exact in f32 and normal there. */
CR_FN cr_u32 cr_f16_to_f32(cr_u32 h) {
    cr_u32 s = (h & 0x8000u) << 16;
    cr_u32 e = (h >> 10) & 0x1fu;
    cr_u32 m = h & 0x3ffu;
    cr_u32 normal = ((e + 112u) << 23) | (m << 13);
    cr_u32 special = CR_INF32 | (m << 13);
    float sub = (float)(cr_i32)m * 5.9604644775390625e-08f; /* 2^-24 */
    cr_u32 mag = cr_sel32(e == 0u, CR_U32(sub), cr_sel32(e == 31u, special, normal));
    return s | mag;
}

/* binary32 -> binary16, round to nearest even. A NaN keeps the top 10 bits of its payload
 * (never turning into infinity). Subnormal results: adding 0.5f, whose ulp is 2^-24 (the
 * binary16 subnormal step), makes the FPU round to nearest even for us. */
CR_FN cr_u32 cr_f32_to_f16(cr_u32 f) {
    cr_u32 s = (f >> 16) & 0x8000u;
    cr_u32 a = f & CR_ABS32;
    cr_u32 r = a - 0x38000000u; /* rebias the exponent, 127 -> 15 */
    cr_u32 normal = (r + 0xfffu + ((r >> 13) & 1u)) >> 13;
    float sum = CR_F32(a) + 0.5f;
    cr_u32 subnormal = CR_U32(sum) - 0x3f000000u;
    cr_u32 payload = (a >> 13) & 0x3ffu;
    cr_u32 nan = 0x7c00u | payload | cr_sel32(payload == 0u, 0x200u, 0u);
    cr_u32 finite = cr_sel32(a >= 0x38800000u, normal, subnormal); /* 2^-14 and up: normal */
    cr_u32 big = cr_sel32(a > CR_INF32, nan, 0x7c00u); /* 65520 and up round to infinity */
    return s | cr_sel32(a >= 0x477ff000u, big, finite);
}

CR_FN cr_u32 cr_bf16_to_f32(cr_u32 h) {
    return h << 16;
}

/* binary32 -> bfloat16, round to nearest even on the bits (subnormals included); a NaN keeps
 * its top payload bits and stays a NaN. */
CR_FN cr_u32 cr_f32_to_bf16(cr_u32 f) {
    cr_u32 rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
    cr_u32 top = f >> 16;
    cr_u32 nan = top | cr_sel32((top & 0x7fu) == 0u, 0x40u, 0u);
    return cr_sel32(cr_nan32(f), nan, rounded);
}

/* ---------------------------------------------------------------------------------------------
 * 16-bit storage (f16 with inf = 0x7c00, bf16 with inf = 0x7f80) for the ops without
 * arithmetic (relu, clipped; no blending): the same decisions on the stored bits, so nothing is
 * converted. Ceilings come as stored bits: c_out is the ceiling rounded to the storage type
 * (what clipped writes); the pass threshold is the smallest stored value >= the ceiling when
 * testing x (x < c exactly when x < that), or c_out when testing y (y = c_out means clipped).
 * ------------------------------------------------------------------------------------------ */
CR_FN int cr_nan16(cr_u32 h, cr_u32 inf) {
    return (h & 0x7fffu) > inf;
}

/* 0 < h <= inf: positive, not zero, not NaN. */
CR_FN int cr_gt0_16(cr_u32 h, cr_u32 inf) {
    return h - 1u < inf;
}

CR_FN cr_u32 cr_fwd16(int op, cr_u32 h, cr_u32 inf, cr_u32 c_out) {
    cr_u32 pos = op == CR_CLIPPED ? cr_sel32(h < c_out, h, c_out) : h;
    return cr_sel32(cr_nan16(h, inf), h, cr_sel32(cr_gt0_16(h, inf), pos, 0u));
}

CR_FN int cr_pass16(int op, cr_u32 h, cr_u32 inf, cr_u32 c_pass) {
    int nan = cr_nan16(h, inf), gt0 = cr_gt0_16(h, inf);
    if (op == CR_LEAKY)
        return gt0;
    if (op == CR_CLIPPED)
        return nan | (gt0 & (h < c_pass));
    return nan | gt0;
}

/* ---------------------------------------------------------------------------------------------
 * f64 compute domain
 * ------------------------------------------------------------------------------------------ */
#if CLRELU_WITH_F64
CR_FN cr_u64 cr_sel64(int cond, cr_u64 a, cr_u64 b) {
    cr_u64 m = (cr_u64)0 - (cr_u64)(cond != 0);
    return (a & m) | (b & ~m);
}

#define CR_ABS64  CR_U64C(0x7fffffffffffffff)
#define CR_INF64  CR_U64C(0x7ff0000000000000)
#define CR_QNAN64 CR_U64C(0x7ff8000000000000)

CR_FN int cr_nan64(cr_u64 b) {
    return (b & CR_ABS64) > CR_INF64;
}

CR_FN int cr_gt0_64(cr_u64 b) {
    return (cr_i64)b > 0 && b <= CR_INF64;
}

CR_FN cr_u64 cr_canon64(cr_u64 b) {
    return cr_sel64(cr_nan64(b), CR_QNAN64, b);
}

/* s is a double so that PReLU's f64 slopes keep every bit; leaky's float slope converts
 * exactly. */
CR_FN cr_u64 cr_mul64(double s, cr_u64 b) {
    double r = CR_DMUL(s, CR_F64(b));
    return cr_canon64(CR_U64(r));
}

CR_FN cr_u64 cr_add64(cr_u64 x, cr_u64 b) {
    double r = CR_F64(x) + CR_F64(b);
    return cr_sel64(cr_nan64(x), x, cr_sel64(cr_nan64(b), b, cr_canon64(CR_U64(r))));
}

CR_FN cr_u64 cr_fwd64(int op, cr_u64 x, double slope, cr_u64 c) {
    cr_u64 pos = op == CR_CLIPPED ? cr_sel64(x < c, x, c) : x;
    cr_u64 neg = op == CR_LEAKY ? cr_mul64(slope, x) : (cr_u64)0;
    return cr_sel64(cr_nan64(x), x, cr_sel64(cr_gt0_64(x), pos, neg));
}

CR_FN int cr_pass64(int op, cr_u64 x, cr_u64 c) {
    int nan = cr_nan64(x), gt0 = cr_gt0_64(x);
    if (op == CR_LEAKY)
        return gt0;
    if (op == CR_CLIPPED)
        return nan | (gt0 & (x < c));
    return nan | gt0;
}

CR_FN cr_u64 cr_grad64(int op, int pass, cr_u64 dy, double slope) {
    cr_u64 other = op == CR_LEAKY ? cr_mul64(slope, dy) : (cr_u64)0;
    return cr_sel64(pass, dy, other);
}

CR_FN cr_u64 cr_blend64(int mode, cr_u64 t, cr_u64 old, float alpha, float beta) {
    if (mode == CR_PLAIN)
        return t;
    double p = CR_DMUL((double)alpha, CR_F64(t));
    double r = p;
    if (mode == CR_BLEND) {
        double q = CR_DMUL((double)beta, CR_F64(old));
        r = p + q;
    }
    return cr_sel64(cr_nan64(t), t, cr_canon64(CR_U64(r)));
}
CR_FN cr_u64 cr_prelu_fwd64(cr_u64 x, cr_u64 a) {
    return cr_fwd64(CR_LEAKY, x, CR_F64(a), (cr_u64)0);
}

CR_FN cr_u64 cr_prelu_grad64(cr_u64 x, cr_u64 dy, cr_u64 a) {
    return cr_grad64(CR_LEAKY, cr_gt0_64(x), dy, CR_F64(a));
}

CR_FN cr_u64 cr_prelu_dslope64(cr_u64 x, cr_u64 dy) {
    return cr_sel64(cr_gt0_64(x), (cr_u64)0, cr_mul64(CR_F64(x), dy));
}
#endif /* CLRELU_WITH_F64 */

#endif /* CLRELU_RELU_MATH_H */
