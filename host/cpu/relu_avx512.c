/* SPDX-License-Identifier: Apache-2.0 */
/* AVX-512 (F, DQ, BW, VL): hand-written kernels, mask registers for the decisions and the tails
 * (a masked load never touches memory past n): f32 relu; relu and clipped on f32, f16 and bf16
 * bits and leaky on f32 (a compare's mask is the bitmask word); f64 without blending; f16 and
 * bf16 with arithmetic (leaky, blending) decoded, computed and encoded in registers. The f32 and
 * f64 blends are the family's template compiled for AVX-512. */
#include <immintrin.h>
#include <string.h>

#include "cpu.h"
#include "relu_math.h"
#include "subnormal.h"

static inline __mmask16 keep_mask(__m512i b) {
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    const __m512i inf = _mm512_set1_epi32(0x7f800000);
    return _mm512_cmpgt_epi32_mask(b, _mm512_setzero_si512()) |
           _mm512_cmpgt_epi32_mask(_mm512_and_si512(b, abs), inf);
}

static inline __mmask16 tail_mask(size_t left) {
    return (__mmask16)((1u << left) - 1u);
}

/* One 16-float step of forward relu: masked where the array ends (a masked load never touches
 * memory past n). */
static inline void fwd16(const float *x, float *y, __mmask16 m) {
    __m512i a = _mm512_maskz_loadu_epi32(m, x);
    _mm512_mask_storeu_epi32(y, m, _mm512_maskz_mov_epi32(keep_mask(a), a));
}

static inline void bwd16(const float *dy, const float *x, float *dx, __mmask16 m) {
    __m512i b = _mm512_maskz_loadu_epi32(m, x);
    __m512i g = _mm512_maskz_loadu_epi32(m, dy);
    _mm512_mask_storeu_epi32(dx, m, _mm512_maskz_mov_epi32(keep_mask(b), g));
}

/* Elements before y reaches a 64-byte boundary (a float array is 4-byte aligned). */
static inline size_t head_to_line(const float *y, size_t n) {
    size_t h = ((64 - ((uintptr_t)y & 63)) & 63) / 4;
    return h < n ? h : n;
}

static void fast_relu_fwd_f32(size_t n, const float *x, float *y, int stream) {
    size_t i = 0;
    if (stream) {
        /* Non-temporal stores: whole aligned lines go to memory without first being read. */
        size_t h = head_to_line(y, n);
        if (h)
            fwd16(x, y, tail_mask(h));
        for (i = h; i + 32 <= n; i += 32) {
            __m512i a = _mm512_loadu_si512(x + i);
            __m512i b = _mm512_loadu_si512(x + i + 16);
            _mm512_stream_si512((void *)(y + i), _mm512_maskz_mov_epi32(keep_mask(a), a));
            _mm512_stream_si512((void *)(y + i + 16), _mm512_maskz_mov_epi32(keep_mask(b), b));
        }
        _mm_sfence();
    } else {
        for (; i + 32 <= n; i += 32) {
            __m512i a = _mm512_loadu_si512(x + i);
            __m512i b = _mm512_loadu_si512(x + i + 16);
            _mm512_storeu_si512(y + i, _mm512_maskz_mov_epi32(keep_mask(a), a));
            _mm512_storeu_si512(y + i + 16, _mm512_maskz_mov_epi32(keep_mask(b), b));
        }
    }
    for (; i < n; i += 16)
        fwd16(x + i, y + i, n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i));
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx, int stream) {
    size_t i = 0;
    if (stream) {
        size_t h = head_to_line(dx, n);
        if (h)
            bwd16(dy, x, dx, tail_mask(h));
        for (i = h; i + 16 <= n; i += 16) {
            __m512i b = _mm512_loadu_si512(x + i);
            __m512i g = _mm512_loadu_si512(dy + i);
            _mm512_stream_si512((void *)(dx + i), _mm512_maskz_mov_epi32(keep_mask(b), g));
        }
        _mm_sfence();
    }
    for (; i < n; i += 16)
        bwd16(dy + i, x + i, dx + i, n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i));
}

/* The ops that decide on stored bits without arithmetic (relu and clipped, no blending; in
 * f32, f16 and bf16): forward with or without the mask, backward from x or y, backward from the
 * mask. A compare gives an AVX-512 mask register, and a 32-element step's decisions are the mask
 * word itself: 32 f16/bf16 lanes in one register, or two registers of 16 f32 lanes. Same tests
 * as relu_math.h's cr_nan*, cr_gt0_* (0 < h <= inf as h - 1 < inf, unsigned) and cr_fwd* /
 * cr_pass*; masked loads and stores at the tail never touch memory past n. stream: non-temporal
 * stores for whole 64-byte steps when the output is 64-byte aligned (large arrays, as
 * fast_relu_fwd_f32). op is a constant
 * where these are called (the template's instances), so the clipped branches fold away. */
static inline __mmask32 tail32(size_t left) {
    return left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1u);
}

/* f16/bf16 lanes: out (f(h)) and the pass bits of 32 elements. */
static inline __mmask32 bits16_step(int op, __m512i h, __m512i inf, __m512i c_out, __m512i c_pass,
                                    __m512i *out) {
    const __mmask32 nan =
        _mm512_cmpgt_epu16_mask(_mm512_and_si512(h, _mm512_set1_epi16(0x7fff)), inf);
    const __mmask32 gt0 = _mm512_cmplt_epu16_mask(_mm512_sub_epi16(h, _mm512_set1_epi16(1)), inf);
    if (op == CR_CLIPPED) {
        if (out) {
            __m512i pos = _mm512_mask_mov_epi16(c_out, _mm512_cmplt_epu16_mask(h, c_out), h);
            *out = _mm512_maskz_mov_epi16(nan | gt0, _mm512_mask_mov_epi16(pos, nan, h));
        }
        return nan | (gt0 & _mm512_cmplt_epu16_mask(h, c_pass));
    }
    if (out)
        *out = _mm512_maskz_mov_epi16(nan | gt0, h);
    return nan | gt0;
}

/* slope * v with a NaN product made canonical (cr_mul32): one rounding, MXCSR as the call set
 * it (no flush to zero). As CR_FMUL, fma(slope, v, -0): the product's bits, from the FMA unit,
 * which on AMD Zen 4 has no slow path for a subnormal product; Intel cores take an assist, which
 * f32 leaky avoids by leaky32's exact route below (subnormal.h). */
static inline __m512i mul32_v(__m512 slope, __m512i v) {
    const __m512 r =
        _mm512_fmadd_ps(slope, _mm512_castsi512_ps(v), _mm512_set1_ps(clrelu__neg_zero_f));
    return _mm512_mask_mov_epi32(_mm512_castps_si512(r), _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q),
                                 _mm512_set1_epi32(0x7fc00000));
}

/* f32 lanes: the same for 16 elements, and leaky (the negative side scaled, cr_fwd32). */
static inline __mmask16 bits32_step(int op, __m512i b, __m512i c_out, __m512i c_pass, __m512 slope,
                                    __m512i *out) {
    const __m512i inf = _mm512_set1_epi32(0x7f800000);
    const __mmask16 nan =
        _mm512_cmpgt_epu32_mask(_mm512_and_si512(b, _mm512_set1_epi32(0x7fffffff)), inf);
    const __mmask16 gt0 = _mm512_cmplt_epu32_mask(_mm512_sub_epi32(b, _mm512_set1_epi32(1)), inf);
    if (op == CR_LEAKY) {
        if (out)
            *out = _mm512_mask_mov_epi32(mul32_v(slope, b), nan | gt0, b);
        return gt0;
    }
    if (op == CR_CLIPPED) {
        if (out) {
            __m512i pos = _mm512_mask_mov_epi32(c_out, _mm512_cmplt_epu32_mask(b, c_out), b);
            *out = _mm512_maskz_mov_epi32(nan | gt0, _mm512_mask_mov_epi32(pos, nan, b));
        }
        return nan | (gt0 & _mm512_cmplt_epu32_mask(b, c_pass));
    }
    if (out)
        *out = _mm512_maskz_mov_epi32(nan | gt0, b);
    return nan | gt0;
}

/* Loads and stores of a step: a whole step's are plain (masked ones cost 10-25% more here, AMD
 * Zen 4: f32 leaky at 2^16 elements, 2.21 ns per 16 lanes with masked loads and stores, 1.64 with
 * plain ones) and streamed when nt; the last, partial step's are masked by m. */
static inline __m512i ld32(const void *p, __mmask16 m, int whole) {
    return whole ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(m, p);
}

static inline __m512i ld16(const void *p, __mmask32 m, int whole) {
    return whole ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi16(m, p);
}

static inline __m512i ld64(const void *p, __mmask8 m, int whole) {
    return whole ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi64(m, p);
}

static inline void st512(void *p, __m512i v, int nt) {
    if (nt)
        _mm512_stream_si512(p, v);
    else
        _mm512_storeu_si512(p, v);
}

static inline void st32(void *p, __mmask16 m, __m512i v, int whole, int nt) {
    if (whole)
        st512(p, v, nt);
    else
        _mm512_mask_storeu_epi32(p, m, v);
}

static inline void st16(void *p, __mmask32 m, __m512i v, int whole, int nt) {
    if (whole)
        st512(p, v, nt);
    else
        _mm512_mask_storeu_epi16(p, m, v);
}

static inline void st64(void *p, __mmask8 m, __m512i v, int whole, int nt) {
    if (whole)
        st512(p, v, nt);
    else
        _mm512_mask_storeu_epi64(p, m, v);
}

/* Runs STEP(i, m, whole) on every whole 32-element step, then on the partial last one. */
#define FOR_STEPS(n, STEP)                                                                         \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + 32 <= (n); i_ += 32)                                                           \
            STEP(i_, (__mmask32)0xffffffffu, 1);                                                   \
        if (i_ < (n))                                                                              \
            STEP(i_, tail32((n)-i_), 0);                                                           \
    } while (0)

/* The constants of fast_bits_*: ceilings in the lanes' width (f32 or 16-bit), and the slope. */
typedef struct bits_k {
    __m512i inf16, co, cp;
    __m512 sl;
} bits_k;

static inline bits_k bits_k_make(int wide, uint32_t inf, uint32_t c_out, uint32_t c_pass,
                                 float slope) {
    bits_k k;
    k.inf16 = _mm512_set1_epi16((short)inf);
    k.co = wide ? _mm512_set1_epi32((int)c_out) : _mm512_set1_epi16((short)c_out);
    k.cp = wide ? _mm512_set1_epi32((int)c_pass) : _mm512_set1_epi16((short)c_pass);
    k.sl = _mm512_set1_ps(slope);
    return k;
}

/* Forward over 32 elements from i (lanes in m); returns their pass bits. */
static inline __attribute__((always_inline)) uint32_t
bits_fwd_step(int wide, int op, const void *in, void *out, size_t i, __mmask32 m, int whole,
              const bits_k *k, int nt) {
    if (wide) {
        const uint32_t *x = (const uint32_t *)in + i;
        uint32_t *y = (uint32_t *)out + i;
        const __mmask16 lo = (__mmask16)m, hi = (__mmask16)(m >> 16);
        __m512i ya, yb;
        const __mmask16 pa = bits32_step(op, ld32(x, lo, whole), k->co, k->cp, k->sl, &ya);
        const __mmask16 pb = bits32_step(op, ld32(x + 16, hi, whole), k->co, k->cp, k->sl, &yb);
        st32(y, lo, ya, whole, nt);
        st32(y + 16, hi, yb, whole, nt);
        return ((uint32_t)pa | (uint32_t)pb << 16) & (uint32_t)m;
    }
    __m512i yh;
    const __mmask32 pass =
        bits16_step(op, ld16((const uint16_t *)in + i, m, whole), k->inf16, k->co, k->cp, &yh);
    st16((uint16_t *)out + i, m, yh, whole, nt);
    return (uint32_t)(pass & m);
}

/* Forward (mask may be NULL). wide: f32 lanes, else 16-bit lanes with inf the type's. */
static inline __attribute__((always_inline)) void
fast_bits_fwd(int wide, int op, size_t n, const void *in, void *out, uint32_t *mask, uint32_t inf,
              uint32_t c_out, uint32_t c_pass, float slope, int stream) {
    const int nt = stream && !((uintptr_t)out & 63);
    const bits_k k = bits_k_make(wide, inf, c_out, c_pass, slope);
#define FWD_STEP(i, m, whole)                                                                      \
    do {                                                                                           \
        const uint32_t word = bits_fwd_step(wide, op, in, out, i, m, whole, &k, nt);               \
        if (mask)                                                                                  \
            mask[(i) / 32] = word;                                                                 \
    } while (0)
    FOR_STEPS(n, FWD_STEP);
#undef FWD_STEP
    if (nt)
        _mm_sfence();
}

/* Backward from x or y over 32 elements: dx = dy where the element passes, else 0 (leaky:
 * slope * dy). */
static inline __attribute__((always_inline)) void bits_bwd_step(int wide, int op, const void *dy,
                                                                const void *s, void *dx, size_t i,
                                                                __mmask32 m, int whole,
                                                                const bits_k *k, int nt) {
    if (wide) {
        for (int half = 0; half < 2; ++half) {
            const __mmask16 mh = (__mmask16)(m >> (16 * half));
            const size_t j = i + 16 * (size_t)half;
            const __m512i g = ld32((const uint32_t *)dy + j, mh, whole);
            const __mmask16 pass = bits32_step(op, ld32((const uint32_t *)s + j, mh, whole), k->cp,
                                               k->cp, k->sl, NULL);
            const __m512i d = op == CR_LEAKY ? _mm512_mask_mov_epi32(mul32_v(k->sl, g), pass, g)
                                             : _mm512_maskz_mov_epi32(pass, g);
            st32((uint32_t *)dx + j, mh, d, whole, nt);
        }
        return;
    }
    const __m512i g = ld16((const uint16_t *)dy + i, m, whole);
    const __mmask32 pass =
        bits16_step(op, ld16((const uint16_t *)s + i, m, whole), k->inf16, k->cp, k->cp, NULL);
    st16((uint16_t *)dx + i, m, _mm512_maskz_mov_epi16(pass, g), whole, nt);
}

static inline __attribute__((always_inline)) void
fast_bits_bwd(int wide, int op, size_t n, const void *dy, const void *s, void *dx, uint32_t inf,
              uint32_t c_pass, float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const bits_k k = bits_k_make(wide, inf, c_pass, c_pass, slope);
#define BWD_STEP(i, m, whole) bits_bwd_step(wide, op, dy, s, dx, i, m, whole, &k, nt)
    FOR_STEPS(n, BWD_STEP);
#undef BWD_STEP
    if (nt)
        _mm_sfence();
}

/* Backward from the mask over 32 elements: the word is their pass bits (leaky: the others get
 * slope * dy). */
static inline __attribute__((always_inline)) void bits_bwdm_step(int wide, int op, const void *dy,
                                                                 uint32_t word, void *dx, size_t i,
                                                                 __mmask32 m, int whole,
                                                                 const bits_k *k, int nt) {
    if (wide) {
        for (int half = 0; half < 2; ++half) {
            const __mmask16 mh = (__mmask16)(m >> (16 * half)),
                            pass = (__mmask16)(word >> (16 * half));
            const size_t j = i + 16 * (size_t)half;
            const __m512i g = ld32((const uint32_t *)dy + j, mh, whole);
            const __m512i d = op == CR_LEAKY ? _mm512_mask_mov_epi32(mul32_v(k->sl, g), pass, g)
                                             : _mm512_maskz_mov_epi32(pass, g);
            st32((uint32_t *)dx + j, mh, d, whole, nt);
        }
        return;
    }
    const __m512i g = ld16((const uint16_t *)dy + i, m, whole);
    st16((uint16_t *)dx + i, m, _mm512_maskz_mov_epi16((__mmask32)word, g), whole, nt);
}

static inline __attribute__((always_inline)) void fast_bits_bwdm(int wide, int op, size_t n,
                                                                 const void *dy,
                                                                 const uint32_t *words, void *dx,
                                                                 float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const bits_k k = bits_k_make(wide, 0, 0, 0, slope);
#define BWDM_STEP(i, m, whole)                                                                     \
    bits_bwdm_step(wide, op, dy, words[(i) / 32], dx, i, m, whole, &k, nt)
    FOR_STEPS(n, BWDM_STEP);
#undef BWDM_STEP
    if (nt)
        _mm_sfence();
}

#define CLRELU_HAS_FAST_BITS 1

/* f32 leaky without blending, every pass (kernels.inc's LEAKY32): blocks of the plain loop
 * above, or of the exact route for subnormals where the flags showed assists (subnormal.h). */
typedef struct subn_v {
    __m512 s, as;
    __m512i bound_m1, tiny_below, tiny_sub;
} subn_v;

static inline subn_v subn_v_make(const clrelu__subn *k) {
    return (subn_v){_mm512_set1_ps(k->slope), _mm512_set1_ps(k->abs_slope),
                    _mm512_set1_epi32((int)k->bound_m1), _mm512_set1_epi32((int)k->tiny_below),
                    _mm512_set1_epi32((int)k->tiny_sub)};
}

/* slope * v as mul32_v makes it, with no subnormal operand or result (subnormal.h); *any gets
 * the risky lanes. canon: make a NaN product canonical (forward puts NaN lanes back anyway). */
static inline __m512i mul32_exact(const subn_v *k, __m512i v, __mmask16 *any, int canon) {
    const __m512i av = _mm512_and_si512(v, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 risky =
        _mm512_cmplt_epu32_mask(_mm512_sub_epi32(av, _mm512_set1_epi32(1)), k->bound_m1);
    const __mmask16 sub = _mm512_cmplt_epu32_mask(av, _mm512_set1_epi32(0x00800000));
    *any |= risky;
    /* |x| * 2^149 on risky lanes: the exponent raised, or a subnormal's mantissa converted. */
    __m512i xs = _mm512_mask_add_epi32(av, risky, av, _mm512_set1_epi32(CLRELU__SUBN_SCALE_BITS));
    xs = _mm512_castps_si512(_mm512_mask_cvtepi32_ps(_mm512_castsi512_ps(xs), sub, av));
    const __m512 x1 = _mm512_castsi512_ps(xs);
    const __m512i p = _mm512_castps_si512(_mm512_fmadd_ps(k->s, x1, _mm512_set1_ps(-0.0f)));
    const __m512i pm = _mm512_castps_si512(_mm512_fmadd_ps(k->as, x1, _mm512_set1_ps(0x1p23f)));
    const __mmask16 tiny = _mm512_mask_cmplt_epu32_mask(risky, p, k->tiny_below);
    __m512i r = _mm512_mask_sub_epi32(p, risky, p, _mm512_set1_epi32(CLRELU__SUBN_SCALE_BITS));
    r = _mm512_mask_sub_epi32(r, tiny, pm, k->tiny_sub);
    r = _mm512_ternarylogic_epi32(r, v, av, 0x96); /* r ^ x's sign */
    if (canon)
        r = _mm512_mask_mov_epi32(r, _mm512_cmpgt_epu32_mask(av, _mm512_set1_epi32(0x7f800000)),
                                  _mm512_set1_epi32(0x7fc00000));
    return r;
}

/* 16 lanes of a leaky step: forward (s = x: x where it passes or is NaN, else slope * x) or
 * backward (dy where s passes, else slope * dy); returns the pass bits. */
static inline __attribute__((always_inline)) __mmask16 leaky16(int pass, __m512i g, __m512i s,
                                                               __mmask16 word, __m512 slope,
                                                               const subn_v *k, __mmask16 *any,
                                                               __m512i *out) {
    const __m512i inf = _mm512_set1_epi32(0x7f800000);
    const __mmask16 gt0 =
        pass == CLRELU__PASS_BWD_MASK
            ? word
            : _mm512_cmplt_epu32_mask(_mm512_sub_epi32(s, _mm512_set1_epi32(1)), inf);
    const int fwd = pass == CLRELU__PASS_FWD || pass == CLRELU__PASS_FWD_MASK;
    const __m512i m = k ? mul32_exact(k, g, any, !fwd) : mul32_v(slope, g);
    const __mmask16 keep =
        fwd ? gt0 | _mm512_cmpgt_epu32_mask(_mm512_and_si512(g, _mm512_set1_epi32(0x7fffffff)), inf)
            : gt0;
    *out = _mm512_mask_mov_epi32(m, keep, g);
    return gt0;
}

/* One 32-element step of leaky from i (lanes in mask m). */
static inline __attribute__((always_inline)) void
leaky32_at(int pass, const uint32_t *in0, const void *in1, uint32_t *out, uint32_t *mask, size_t i,
           __mmask32 m, int whole, __m512 slope, const subn_v *k, __mmask16 *any, int nt) {
    uint32_t bits = 0;
    for (int h = 0; h < 2; ++h) {
        const __mmask16 mh = (__mmask16)(m >> (16 * h));
        const size_t j = i + 16 * (size_t)h;
        const __m512i g = ld32(in0 + j, mh, whole);
        const __m512i s = pass == CLRELU__PASS_BWD ? ld32((const uint32_t *)in1 + j, mh, whole) : g;
        const __mmask16 word = pass == CLRELU__PASS_BWD_MASK
                                   ? (__mmask16)(((const uint32_t *)in1)[i / 32] >> (16 * h))
                                   : 0;
        __m512i y;
        const __mmask16 gt0 = leaky16(pass, g, s, word, slope, k, any, &y);
        st32(out + j, mh, y, whole, nt);
        bits |= (uint32_t)(gt0 & mh) << (16 * h);
    }
    if (pass == CLRELU__PASS_FWD_MASK)
        mask[i / 32] = bits;
}

#define SUBN_VF           __m512
#define SUBN_SET1         _mm512_set1_ps
#define SUBN_ANY_T        __mmask16
#define SUBN_NONE         0
#define SUBN_ANY(any)     ((any) != 0)
#define SUBN_ALL32        ((__mmask32)0xffffffffu)
#define SUBN_TAIL32(left) tail32(left)
#include "leaky32.inc"

/* f64 lanes, 8 per register (cr_fwd64 / cr_pass64 / cr_grad64): four registers make a mask
 * word. The product is (double)slope * x, canonical when it is a NaN (cr_mul64). */
static inline __m512i mul64_v(__m512d slope, __m512i v) {
    const __m512d r =
        _mm512_fmadd_pd(slope, _mm512_castsi512_pd(v), _mm512_set1_pd(clrelu__neg_zero_d));
    return _mm512_mask_mov_epi64(_mm512_castpd_si512(r), _mm512_cmp_pd_mask(r, r, _CMP_UNORD_Q),
                                 _mm512_set1_epi64(0x7ff8000000000000LL));
}

static inline __mmask8 bits64_step(int op, __m512i b, __m512i c_out, __m512i c_pass, __m512d slope,
                                   __m512i *out) {
    const __m512i inf = _mm512_set1_epi64(0x7ff0000000000000LL);
    const __mmask8 nan =
        _mm512_cmpgt_epu64_mask(_mm512_and_si512(b, _mm512_set1_epi64(0x7fffffffffffffffLL)), inf);
    const __mmask8 gt0 = _mm512_cmplt_epu64_mask(_mm512_sub_epi64(b, _mm512_set1_epi64(1)), inf);
    if (op == CR_LEAKY) {
        if (out)
            *out = _mm512_mask_mov_epi64(mul64_v(slope, b), nan | gt0, b);
        return gt0;
    }
    if (op == CR_CLIPPED) {
        if (out) {
            __m512i pos = _mm512_mask_mov_epi64(c_out, _mm512_cmplt_epu64_mask(b, c_out), b);
            *out = _mm512_maskz_mov_epi64(nan | gt0, _mm512_mask_mov_epi64(pos, nan, b));
        }
        return nan | (gt0 & _mm512_cmplt_epu64_mask(b, c_pass));
    }
    if (out)
        *out = _mm512_maskz_mov_epi64(nan | gt0, b);
    return nan | gt0;
}

/* Forward, backward from x or y, backward from the mask over 32 elements, in f64: four registers
 * of 8 lanes. s: x or y (NULL: the pass bits are word). Returns forward's pass bits. */
static inline __attribute__((always_inline)) uint32_t
bits64_step_32(int pass_kind, int op, const void *in, const void *s, uint32_t word, void *out,
               size_t i, __mmask32 m, int whole, __m512i co, __m512i cp, __m512d sl, int nt) {
    uint32_t bits = 0;
    for (int q = 0; q < 4; ++q) {
        const __mmask8 mq = (__mmask8)(m >> (8 * q));
        const size_t j = i + 8 * (size_t)q;
        const __m512i a = ld64((const uint64_t *)in + j, mq, whole);
        __m512i y;
        if (pass_kind == CLRELU__PASS_FWD) {
            bits |= (uint32_t)(bits64_step(op, a, co, cp, sl, &y) & mq) << (8 * q);
        } else {
            const __mmask8 pass =
                s ? bits64_step(op, ld64((const uint64_t *)s + j, mq, whole), cp, cp, sl, NULL)
                  : (__mmask8)(word >> (8 * q));
            y = op == CR_LEAKY ? _mm512_mask_mov_epi64(mul64_v(sl, a), pass, a)
                               : _mm512_maskz_mov_epi64(pass, a);
        }
        st64((uint64_t *)out + j, mq, y, whole, nt);
    }
    return bits;
}

/* Forward (mask may be NULL), backward from x or y, backward from the mask, in f64. */
static inline __attribute__((always_inline)) void fast_bits64_fwd(int op, size_t n, const void *in,
                                                                  void *out, uint32_t *mask,
                                                                  uint64_t c_out, uint64_t c_pass,
                                                                  float slope, int stream) {
    const int nt = stream && !((uintptr_t)out & 63);
    const __m512d sl = _mm512_set1_pd((double)slope);
    const __m512i co = _mm512_set1_epi64((long long)c_out),
                  cp = _mm512_set1_epi64((long long)c_pass);
#define FWD64_STEP(i, m, whole)                                                                    \
    do {                                                                                           \
        const uint32_t word =                                                                      \
            bits64_step_32(CLRELU__PASS_FWD, op, in, NULL, 0, out, i, m, whole, co, cp, sl, nt);   \
        if (mask)                                                                                  \
            mask[(i) / 32] = word;                                                                 \
    } while (0)
    FOR_STEPS(n, FWD64_STEP);
#undef FWD64_STEP
    if (nt)
        _mm_sfence();
}

static inline __attribute__((always_inline)) void fast_bits64_bwd(int op, size_t n, const void *dy,
                                                                  const void *s, void *dx,
                                                                  uint64_t c_pass, float slope,
                                                                  int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const __m512d sl = _mm512_set1_pd((double)slope);
    const __m512i cp = _mm512_set1_epi64((long long)c_pass);
#define BWD64_STEP(i, m, whole)                                                                    \
    (void)bits64_step_32(CLRELU__PASS_BWD, op, dy, s, 0, dx, i, m, whole, cp, cp, sl, nt)
    FOR_STEPS(n, BWD64_STEP);
#undef BWD64_STEP
    if (nt)
        _mm_sfence();
}

static inline __attribute__((always_inline)) void fast_bits64_bwdm(int op, size_t n, const void *dy,
                                                                   const uint32_t *words, void *dx,
                                                                   float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const __m512d sl = _mm512_set1_pd((double)slope);
    const __m512i zero = _mm512_setzero_si512();
#define BWDM64_STEP(i, m, whole)                                                                   \
    (void)bits64_step_32(CLRELU__PASS_BWD_MASK, op, dy, NULL, words[(i) / 32], dx, i, m, whole,    \
                         zero, zero, sl, nt)
    FOR_STEPS(n, BWDM64_STEP);
#undef BWDM64_STEP
    if (nt)
        _mm_sfence();
}

#define CLRELU_HAS_FAST_BITS64 1
/* The ops with arithmetic in the f32 domain (leaky, and every blended op) on f16 and bf16
 * storage, one pass over the arrays with everything in registers. id: the storage, 1 f16, 2 bf16
 * (a constant where these are called: the other folds away). 32 elements a step, one register
 * of stored bits: the decisions are made on the
 * stored bits (relu_math.h's 16-bit tests, as the ops without arithmetic make them: the same
 * answers as on the f32 values), the arithmetic on the values converted to f32 (F16C-style
 * conversions, exact, rounding to nearest even by the immediate; bf16 by the integer steps of
 * cr_bf16_to_f32 / cr_f32_to_bf16). The conversions need not keep NaN payloads: a NaN that
 * passes unchanged (x in forward, dy where it passes in backward) is taken from the stored bits
 * afterwards, and every other NaN is the canonical one, which converts exactly. */
/* The 32 stored elements of h as two registers of 16 f32 lanes: for f16 the lower and the upper
 * 16 elements, for bf16 the even and the odd ones (a shift and a mask: no widening), and back.
 * Exact but for NaN payloads (see above). */
static inline void dec32_v(int id, __m512i h, __m512i f[2]) {
    if (id == 1) {
        f[0] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_castsi512_si256(h)));
        f[1] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)));
    } else {
        f[0] = _mm512_slli_epi32(h, 16);
        f[1] = _mm512_and_si512(h, _mm512_set1_epi32((int)0xffff0000u));
    }
}

/* bf16 rounding to nearest even on the bits (cr_f32_to_bf16 for all but NaNs), the result in
 * the upper half of each lane. */
static inline __m512i round_bf16_v(__m512i f) {
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(f, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(_mm512_add_epi32(f, _mm512_set1_epi32(0x7fff)), odd);
}

/* f32 lanes in dec32_v's layout that are not NaNs, or the canonical NaN, rounded to 32 stored
 * elements. */
static inline __m512i enc32_v(int id, const __m512i f[2]) {
    if (id == 1)
        return _mm512_inserti64x4(
            _mm512_castsi256_si512(
                _mm512_cvtps_ph(_mm512_castsi512_ps(f[0]), _MM_FROUND_TO_NEAREST_INT)),
            _mm512_cvtps_ph(_mm512_castsi512_ps(f[1]), _MM_FROUND_TO_NEAREST_INT), 1);
    /* Odd elements from the upper halves, even ones shifted down (ternary logic 0xd8: the
     * second operand where the third has a bit, else the first). */
    return _mm512_ternarylogic_epi32(_mm512_srli_epi32(round_bf16_v(f[0]), 16), round_bf16_v(f[1]),
                                     _mm512_set1_epi32((int)0xffff0000u), 0xd8);
}

/* 32 pass bits as the masks of dec32_v's two registers. */
static inline void lanes32_m(int id, __mmask32 bits, __mmask16 m[2]) {
    if (id == 1) {
        m[0] = (__mmask16)bits;
        m[1] = (__mmask16)(bits >> 16);
    } else {
        const __m512i v = _mm512_movm_epi16(bits);
        m[0] = _mm512_test_epi32_mask(v, _mm512_set1_epi32(0xffff));
        m[1] = _mm512_test_epi32_mask(v, _mm512_set1_epi32((int)0xffff0000u));
    }
}

/* A NaN that arithmetic made becomes the canonical quiet NaN (cr_canon32). */
static inline __m512 canon_ps(__m512 r) {
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q),
                              _mm512_castsi512_ps(_mm512_set1_epi32(0x7fc00000)));
}

/* alpha * t + beta * old (cr_blend32), each product (FMA unit) and the sum rounded once, a NaN
 * result canonical. A NaN t would pass with its bits: the callers put those lanes back from the
 * stored bits instead. */
static inline __m512i blend_v(int bl, __m512i t, __m512i old, __m512 alpha, __m512 beta) {
    if (bl == CR_PLAIN)
        return t;
    const __m512 neg0 = _mm512_set1_ps(clrelu__neg_zero_f);
    __m512 r = _mm512_fmadd_ps(alpha, _mm512_castsi512_ps(t), neg0);
    if (bl == CR_BLEND)
        r = _mm512_add_ps(r, _mm512_fmadd_ps(beta, _mm512_castsi512_ps(old), neg0));
    return _mm512_castps_si512(canon_ps(r));
}

/* f'(s) * dy given the pass bits (cr_grad32): dy where it passes, else 0 (leaky: slope * dy). */
static inline __m512i grad_v(int op, __mmask16 pass, __m512i g, __m512 slope) {
    return op == CR_LEAKY ? _mm512_mask_mov_epi32(mul32_v(slope, g), pass, g)
                          : _mm512_maskz_mov_epi32(pass, g);
}

/* 16-bit lanes: NaN (cr_nan16), 0 < h <= inf (cr_gt0_16), and the pass bits (cr_pass16). */
static inline __mmask32 nan16_m(__m512i h, __m512i inf) {
    return _mm512_cmpgt_epu16_mask(_mm512_and_si512(h, _mm512_set1_epi16(0x7fff)), inf);
}

static inline __mmask32 gt016_m(__m512i h, __m512i inf) {
    return _mm512_cmplt_epu16_mask(_mm512_sub_epi16(h, _mm512_set1_epi16(1)), inf);
}

static inline __mmask32 pass16_m(int op, __m512i h, __m512i inf, __m512i c_pass) {
    const __mmask32 gt0 = gt016_m(h, inf);
    if (op == CR_LEAKY)
        return gt0;
    if (op == CR_CLIPPED)
        return nan16_m(h, inf) | (gt0 & _mm512_cmplt_epu16_mask(h, c_pass));
    return nan16_m(h, inf) | gt0;
}

typedef struct fused_k {
    __m512 sl, al, be;
    __m512i co, cp, inf16, cp16;
} fused_k;

static inline fused_k fused_k_make(int id, const clrelu__params *p) {
    fused_k k;
    k.sl = _mm512_set1_ps(p->slope);
    k.al = _mm512_set1_ps(p->alpha);
    k.be = _mm512_set1_ps(p->beta);
    k.co = _mm512_set1_epi32((int)p->ceil_out32);
    k.cp = _mm512_set1_epi32((int)p->ceil_pass32);
    k.inf16 = _mm512_set1_epi16((short)(id == 1 ? 0x7c00 : 0x7f80));
    k.cp16 = _mm512_set1_epi16((short)p->ceil_pass16);
    return k;
}

/* One forward step of 32 elements from in + i; returns the pass bits (lanes in m). */
static inline __attribute__((always_inline)) uint32_t fwd_step(int id, int op, int bl,
                                                               const void *in, void *out, size_t i,
                                                               __mmask32 m, int whole,
                                                               const fused_k *k, int nt) {
    uint16_t *y = (uint16_t *)out + i;
    const __m512i x = ld16((const uint16_t *)in + i, m, whole);
    const __mmask32 nan = nan16_m(x, k->inf16);
    __m512i t[2], o[2];
    dec32_v(id, x, t);
    if (op == CR_LEAKY && bl == CR_PLAIN) {
        /* x where it is positive or NaN, else slope * x: only that needs arithmetic. */
        const __mmask32 gt0 = gt016_m(x, k->inf16);
        for (int h = 0; h < 2; ++h)
            t[h] = mul32_v(k->sl, t[h]);
        st16(y, m, _mm512_mask_mov_epi16(enc32_v(id, t), nan | gt0, x), whole, nt);
        return (uint32_t)(gt0 & m);
    }
    if (bl == CR_BLEND)
        dec32_v(id, ld16(y, m, whole), o);
    for (int h = 0; h < 2; ++h) {
        (void)bits32_step(op, t[h], k->co, k->cp, k->sl, &t[h]);
        t[h] = blend_v(bl, t[h], bl == CR_BLEND ? o[h] : t[h], k->al, k->be);
    }
    st16(y, m, _mm512_mask_mov_epi16(enc32_v(id, t), nan, x), whole, nt);
    return (uint32_t)(pass16_m(op, x, k->inf16, k->cp16) & m);
}

/* One backward step of 32 elements, the pass bits from s (s != NULL) or word. */
static inline __attribute__((always_inline)) void bwd_step(int id, int op, int bl, const void *dy,
                                                           const void *s, uint32_t word, void *dx,
                                                           size_t i, __mmask32 m, int whole,
                                                           const fused_k *k, int nt) {
    uint16_t *d = (uint16_t *)dx + i;
    const __mmask32 pass =
        s ? pass16_m(op, ld16((const uint16_t *)s + i, m, whole), k->inf16, k->cp16)
          : (__mmask32)word;
    const __m512i g = ld16((const uint16_t *)dy + i, m, whole);
    __m512i t[2], o[2];
    dec32_v(id, g, t);
    if (op == CR_LEAKY && bl == CR_PLAIN) {
        /* dy where it passes (its bits, NaN or not), else slope * dy. */
        for (int h = 0; h < 2; ++h)
            t[h] = mul32_v(k->sl, t[h]);
        st16(d, m, _mm512_mask_mov_epi16(enc32_v(id, t), pass, g), whole, nt);
        return;
    }
    __mmask16 pm[2];
    lanes32_m(id, pass, pm);
    if (bl == CR_BLEND)
        dec32_v(id, ld16(d, m, whole), o);
    for (int h = 0; h < 2; ++h) {
        t[h] = grad_v(op, pm[h], t[h], k->sl);
        t[h] = blend_v(bl, t[h], bl == CR_BLEND ? o[h] : t[h], k->al, k->be);
    }
    /* A NaN dy that passes passes with its bits. */
    st16(d, m, _mm512_mask_mov_epi16(enc32_v(id, t), pass & nan16_m(g, k->inf16), g), whole, nt);
}

/* The 16-bit steps prefetch each array they read PREFETCH_BYTES ahead, as relu_avx2.c's (which
 * says why: the hardware prefetchers do not keep ahead of a 16-bit step's streams past the L2,
 * the blends' worst, and GCC 12 drops _mm_prefetch from these loops). A step is one 64-byte line
 * of each array. A prefetch never faults, so lines past an array's end cost only the fetch. */
#define PREFETCH_BYTES 2048
static inline void prefetch_step(int id, const void *p, size_t i) {
    if (id != 0)
        __asm__ volatile("prefetcht0 %0" : : "m"(*((const char *)p + 2 * i + PREFETCH_BYTES)));
}

/* Forward (mask may be NULL), backward from x or y, backward from the mask. */
static inline __attribute__((always_inline)) void fused_fwd(int id, int op, int bl, size_t n,
                                                            const void *in, void *out,
                                                            uint32_t *mask,
                                                            const clrelu__params *p) {
    const int nt = p->stream && !((uintptr_t)out & 63);
    const fused_k k = fused_k_make(id, p);
#define FUSED_FWD_STEP(i, m, whole)                                                                \
    do {                                                                                           \
        prefetch_step(id, in, i);                                                                  \
        if (bl == CR_BLEND)                                                                        \
            prefetch_step(id, out, i);                                                             \
        const uint32_t word = fwd_step(id, op, bl, in, out, i, m, whole, &k, nt);                  \
        if (mask)                                                                                  \
            mask[(i) / 32] = word;                                                                 \
    } while (0)
    FOR_STEPS(n, FUSED_FWD_STEP);
#undef FUSED_FWD_STEP
    if (nt)
        _mm_sfence();
}

static inline __attribute__((always_inline)) void fused_bwd(int id, int op, int bl, size_t n,
                                                            const void *dy, const void *s, void *dx,
                                                            const clrelu__params *p) {
    const int nt = p->stream && !((uintptr_t)dx & 63);
    const fused_k k = fused_k_make(id, p);
#define FUSED_BWD_STEP(i, m, whole)                                                                \
    do {                                                                                           \
        prefetch_step(id, dy, i);                                                                  \
        prefetch_step(id, s, i);                                                                   \
        if (bl == CR_BLEND)                                                                        \
            prefetch_step(id, dx, i);                                                              \
        bwd_step(id, op, bl, dy, s, 0, dx, i, m, whole, &k, nt);                                   \
    } while (0)
    FOR_STEPS(n, FUSED_BWD_STEP);
#undef FUSED_BWD_STEP
    if (nt)
        _mm_sfence();
}

static inline __attribute__((always_inline)) void fused_bwdm(int id, int op, int bl, size_t n,
                                                             const void *dy, const uint32_t *words,
                                                             void *dx, const clrelu__params *p) {
    const int nt = p->stream && !((uintptr_t)dx & 63);
    const fused_k k = fused_k_make(id, p);
#define FUSED_BWDM_STEP(i, m, whole)                                                               \
    do {                                                                                           \
        prefetch_step(id, dy, i);                                                                  \
        if (bl == CR_BLEND)                                                                        \
            prefetch_step(id, dx, i);                                                              \
        bwd_step(id, op, bl, dy, NULL, words[(i) / 32], dx, i, m, whole, &k, nt);                  \
    } while (0)
    FOR_STEPS(n, FUSED_BWDM_STEP);
#undef FUSED_BWDM_STEP
    if (nt)
        _mm_sfence();
}

#define CLRELU_HAS_FUSED 1
/* The template's f32 blends, as GCC 12 vectorises them, ran 10-20% faster here (AMD Zen 4) than
 * fused_* with id 0 (f32 relu, leaky and clipped with blending, 2^16 elements, one thread). */
#define CLRELU_FUSED_F32 0
/* Non-temporal copy out of an L1 buffer (kernels.inc's stream_blocks): both
 * 64-byte aligned; the part past the last whole line by plain stores. */
static inline void nt_copy(void *dst, const void *src, size_t bytes) {
    size_t i = 0;
    for (; i + 64 <= bytes; i += 64)
        _mm512_stream_si512((void *)((char *)dst + i), _mm512_load_si512((const char *)src + i));
    if (i < bytes)
        memcpy((char *)dst + i, (const char *)src + i, bytes - i);
}

static inline void nt_fence(void) {
    _mm_sfence();
}

#define CLRELU_HAS_NT         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx512
#define CLRELU_CPU_ISA_NAME   "avx512"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
