/* SPDX-License-Identifier: Apache-2.0 */
/* AVX-512F: hand-written f32 relu (16 floats per register, mask registers for the decision
 * and the tail: a masked load never touches memory past n), and the family's template
 * compiled for AVX-512. */
#include <immintrin.h>
#include <string.h>

#include "relu_math.h"

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

/* f16 <-> f32 with the AVX-512 conversions (exact, and round to nearest even by the immediate),
 * NaN lanes replaced by the bit-exact forms of relu_math.h (the hardware quiets signalling
 * NaNs). */
static void hw_dec_f16(size_t n, const uint16_t *s, uint32_t *d) {
    const __m512i quiet = _mm512_set1_epi32(0x00400000);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(s + i));
        __m512 fp = _mm512_cvtph_ps(h);
        /* A NaN converts to sign | 0x7f800000 | payload << 13 with the quiet bit (22) forced
         * on: in NaN lanes, bit 22 is put back from the payload's top bit (ternary logic 0xb8:
         * take the third operand where the second has a bit, else the first). */
        const __mmask16 nan = _mm512_cmp_ps_mask(fp, fp, _CMP_UNORD_Q);
        const __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 13);
        __m512i f = _mm512_mask_ternarylogic_epi32(_mm512_castps_si512(fp), nan, quiet, w, 0xb8);
        _mm512_storeu_si512(d + i, f);
    }
    for (; i < n; ++i)
        d[i] = cr_f16_to_f32(s[i]);
}

static void hw_enc_f16(size_t n, const uint32_t *s, uint16_t *d) {
    /* The hardware keeps a NaN's top 10 payload bits and forces the quiet bit (9) on; the exact
     * form has it on only when the payload's top bit is, or when the kept payload is empty. So
     * bit 9 is cleared in NaN lanes whose bit 22 is clear and bits 13..21 are not. */
    const __m512i bit22 = _mm512_set1_epi32(0x00400000), low9 = _mm512_set1_epi32(0x003fe000);
    const __m256i bit9 = _mm256_set1_epi16(0x200);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i b = _mm512_loadu_si512(s + i);
        __m512 f = _mm512_castsi512_ps(b);
        __m256i h = _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
        const __mmask16 nan = _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q);
        const __mmask16 clear =
            nan & _mm512_testn_epi32_mask(b, bit22) & _mm512_test_epi32_mask(b, low9);
        h = _mm256_mask_mov_epi16(h, clear, _mm256_andnot_si256(bit9, h));
        _mm256_storeu_si256((__m256i *)(d + i), h);
    }
    for (; i < n; ++i)
        d[i] = (uint16_t)cr_f32_to_f16(s[i]);
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
 * which has no slow path for a subnormal product. */
static inline __m512i mul32_v(__m512 slope, __m512i v) {
    const __m512 r = _mm512_fmadd_ps(slope, _mm512_castsi512_ps(v), _mm512_set1_ps(-0.0f));
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

/* Forward (mask may be NULL). wide: f32 lanes, else 16-bit lanes with inf the type's. */
static inline __attribute__((always_inline)) void
fast_bits_fwd(int wide, int op, size_t n, const void *in, void *out, uint32_t *mask, uint32_t inf,
              uint32_t c_out, uint32_t c_pass, float slope, int stream) {
    const int nt = stream && !((uintptr_t)out & 63);
    const __m512 sl = _mm512_set1_ps(slope);
    for (size_t i = 0; i < n; i += 32) {
        const __mmask32 m = tail32(n - i);
        uint32_t word;
        if (wide) {
            const uint32_t *x = (const uint32_t *)in + i;
            uint32_t *y = (uint32_t *)out + i;
            const __m512i co = _mm512_set1_epi32((int)c_out), cp = _mm512_set1_epi32((int)c_pass);
            const __mmask16 lo = (__mmask16)m, hi = (__mmask16)(m >> 16);
            __m512i a = _mm512_maskz_loadu_epi32(lo, x), b = _mm512_maskz_loadu_epi32(hi, x + 16);
            __m512i ya, yb;
            const __mmask16 pa = bits32_step(op, a, co, cp, sl, &ya);
            const __mmask16 pb = bits32_step(op, b, co, cp, sl, &yb);
            if (nt && m == 0xffffffffu) {
                _mm512_stream_si512((void *)y, ya);
                _mm512_stream_si512((void *)(y + 16), yb);
            } else {
                _mm512_mask_storeu_epi32(y, lo, ya);
                _mm512_mask_storeu_epi32(y + 16, hi, yb);
            }
            word = ((uint32_t)pa | (uint32_t)pb << 16) & (uint32_t)m;
        } else {
            const uint16_t *x = (const uint16_t *)in + i;
            uint16_t *y = (uint16_t *)out + i;
            __m512i h = _mm512_maskz_loadu_epi16(m, x), yh;
            const __mmask32 pass =
                bits16_step(op, h, _mm512_set1_epi16((short)inf), _mm512_set1_epi16((short)c_out),
                            _mm512_set1_epi16((short)c_pass), &yh);
            if (nt && m == 0xffffffffu)
                _mm512_stream_si512((void *)y, yh);
            else
                _mm512_mask_storeu_epi16(y, m, yh);
            word = (uint32_t)(pass & m);
        }
        if (mask)
            mask[i / 32] = word;
    }
    if (nt)
        _mm_sfence();
}

/* Backward from x or y: dx = dy where the element passes, else 0 (leaky: slope * dy). */
static inline __attribute__((always_inline)) void
fast_bits_bwd(int wide, int op, size_t n, const void *dy, const void *s, void *dx, uint32_t inf,
              uint32_t c_pass, float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const __m512 sl = _mm512_set1_ps(slope);
    for (size_t i = 0; i < n; i += 32) {
        const __mmask32 m = tail32(n - i);
        if (wide) {
            const __m512i cp = _mm512_set1_epi32((int)c_pass);
            for (int half = 0; half < 2; ++half) {
                const __mmask16 mh = (__mmask16)(m >> (16 * half));
                const size_t j = i + 16 * (size_t)half;
                __m512i b = _mm512_maskz_loadu_epi32(mh, (const uint32_t *)s + j);
                __m512i g = _mm512_maskz_loadu_epi32(mh, (const uint32_t *)dy + j);
                const __mmask16 pass = bits32_step(op, b, cp, cp, sl, NULL);
                __m512i d = op == CR_LEAKY ? _mm512_mask_mov_epi32(mul32_v(sl, g), pass, g)
                                           : _mm512_maskz_mov_epi32(pass, g);
                if (nt && m == 0xffffffffu)
                    _mm512_stream_si512((void *)((uint32_t *)dx + j), d);
                else
                    _mm512_mask_storeu_epi32((uint32_t *)dx + j, mh, d);
            }
        } else {
            __m512i h = _mm512_maskz_loadu_epi16(m, (const uint16_t *)s + i);
            __m512i g = _mm512_maskz_loadu_epi16(m, (const uint16_t *)dy + i);
            const __m512i cp = _mm512_set1_epi16((short)c_pass);
            const __mmask32 pass = bits16_step(op, h, _mm512_set1_epi16((short)inf), cp, cp, NULL);
            __m512i d = _mm512_maskz_mov_epi16(pass, g);
            if (nt && m == 0xffffffffu)
                _mm512_stream_si512((void *)((uint16_t *)dx + i), d);
            else
                _mm512_mask_storeu_epi16((uint16_t *)dx + i, m, d);
        }
    }
    if (nt)
        _mm_sfence();
}

/* Backward from the mask: each word is the 32 elements' store mask (leaky: the others get
 * slope * dy). */
static inline __attribute__((always_inline)) void fast_bits_bwdm(int wide, int op, size_t n,
                                                                 const void *dy,
                                                                 const uint32_t *words, void *dx,
                                                                 float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const __m512 sl = _mm512_set1_ps(slope);
    for (size_t i = 0; i < n; i += 32) {
        const __mmask32 m = tail32(n - i);
        const uint32_t word = words[i / 32];
        if (wide) {
            const __mmask16 lo = (__mmask16)m, hi = (__mmask16)(m >> 16);
            const uint32_t *g = (const uint32_t *)dy + i;
            uint32_t *d = (uint32_t *)dx + i;
            __m512i a, b;
            if (op == CR_LEAKY) {
                a = _mm512_maskz_loadu_epi32(lo, g);
                b = _mm512_maskz_loadu_epi32(hi, g + 16);
                a = _mm512_mask_mov_epi32(mul32_v(sl, a), (__mmask16)word, a);
                b = _mm512_mask_mov_epi32(mul32_v(sl, b), (__mmask16)(word >> 16), b);
            } else {
                a = _mm512_maskz_loadu_epi32(lo & (__mmask16)word, g);
                b = _mm512_maskz_loadu_epi32(hi & (__mmask16)(word >> 16), g + 16);
            }
            if (nt && m == 0xffffffffu) {
                _mm512_stream_si512((void *)d, a);
                _mm512_stream_si512((void *)(d + 16), b);
            } else {
                _mm512_mask_storeu_epi32(d, lo, a);
                _mm512_mask_storeu_epi32(d + 16, hi, b);
            }
        } else {
            const uint16_t *g = (const uint16_t *)dy + i;
            __m512i d = _mm512_maskz_loadu_epi16(m & (__mmask32)word, g);
            if (nt && m == 0xffffffffu)
                _mm512_stream_si512((void *)((uint16_t *)dx + i), d);
            else
                _mm512_mask_storeu_epi16((uint16_t *)dx + i, m, d);
        }
    }
    if (nt)
        _mm_sfence();
}

#define CLRELU_HAS_FAST_BITS 1
/* f64 lanes, 8 per register (cr_fwd64 / cr_pass64 / cr_grad64): four registers make a mask
 * word. The product is (double)slope * x, canonical when it is a NaN (cr_mul64). */
static inline __m512i mul64_v(__m512d slope, __m512i v) {
    const __m512d r = _mm512_fmadd_pd(slope, _mm512_castsi512_pd(v), _mm512_set1_pd(-0.0));
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

static inline void store64(uint64_t *d, __mmask8 m, __m512i v, int nt) {
    if (nt && m == 0xff)
        _mm512_stream_si512((void *)d, v);
    else
        _mm512_mask_storeu_epi64(d, m, v);
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
    for (size_t i = 0; i < n; i += 32) {
        const __mmask32 m = tail32(n - i);
        uint32_t word = 0;
        for (int q = 0; q < 4; ++q) {
            const __mmask8 mq = (__mmask8)(m >> (8 * q));
            const size_t j = i + 8 * (size_t)q;
            __m512i b = _mm512_maskz_loadu_epi64(mq, (const uint64_t *)in + j), y;
            const __mmask8 pass = bits64_step(op, b, co, cp, sl, &y);
            store64((uint64_t *)out + j, mq, y, nt);
            word |= (uint32_t)(pass & mq) << (8 * q);
        }
        if (mask)
            mask[i / 32] = word;
    }
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
    for (size_t i = 0; i < n; i += 8) {
        const __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        __m512i b = _mm512_maskz_loadu_epi64(m, (const uint64_t *)s + i);
        __m512i g = _mm512_maskz_loadu_epi64(m, (const uint64_t *)dy + i);
        const __mmask8 pass = bits64_step(op, b, cp, cp, sl, NULL);
        __m512i d = op == CR_LEAKY ? _mm512_mask_mov_epi64(mul64_v(sl, g), pass, g)
                                   : _mm512_maskz_mov_epi64(pass, g);
        store64((uint64_t *)dx + i, m, d, nt);
    }
    if (nt)
        _mm_sfence();
}

static inline __attribute__((always_inline)) void fast_bits64_bwdm(int op, size_t n, const void *dy,
                                                                   const uint32_t *words, void *dx,
                                                                   float slope, int stream) {
    const int nt = stream && !((uintptr_t)dx & 63);
    const __m512d sl = _mm512_set1_pd((double)slope);
    for (size_t i = 0; i < n; i += 8) {
        const __mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        const __mmask8 bits = (__mmask8)(words[i / 32] >> (i % 32));
        __m512i g = _mm512_maskz_loadu_epi64(m, (const uint64_t *)dy + i);
        __m512i d = op == CR_LEAKY ? _mm512_mask_mov_epi64(mul64_v(sl, g), bits, g)
                                   : _mm512_maskz_mov_epi64(bits, g);
        store64((uint64_t *)dx + i, m, d, nt);
    }
    if (nt)
        _mm_sfence();
}

#define CLRELU_HAS_FAST_BITS64 1
/* bf16 <-> f32 on 16 lanes: the same integer steps as cr_bf16_to_f32 / cr_f32_to_bf16 (round to
 * nearest even on the bits; a NaN keeps its top payload bits and stays a NaN). */
static void hw_dec_bf16(size_t n, const uint16_t *s, uint32_t *d) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(s + i));
        _mm512_storeu_si512(d + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    for (; i < n; ++i)
        d[i] = cr_bf16_to_f32(s[i]);
}

static void hw_enc_bf16(size_t n, const uint32_t *s, uint16_t *d) {
    const __m512i abs32 = _mm512_set1_epi32(0x7fffffff), inf32 = _mm512_set1_epi32(0x7f800000);
    const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff);
    const __m512i low7 = _mm512_set1_epi32(0x7f), bit6 = _mm512_set1_epi32(0x40);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i f = _mm512_loadu_si512(s + i);
        __m512i top = _mm512_srli_epi32(f, 16);
        __m512i r = _mm512_srli_epi32(
            _mm512_add_epi32(_mm512_add_epi32(f, half), _mm512_and_si512(top, one)), 16);
        /* Branch-free: NaN lanes come in runs and gaps no predictor follows. */
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(f, abs32), inf32);
        const __mmask16 empty = nan & _mm512_testn_epi32_mask(top, low7); /* top & 0x7f == 0 */
        r = _mm512_mask_mov_epi32(r, nan, top);
        r = _mm512_mask_or_epi32(r, empty, r, bit6);
        _mm256_storeu_si256((__m256i *)(d + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < n; ++i)
        d[i] = (uint16_t)cr_f32_to_bf16(s[i]);
}

#define CLRELU_HW_BF16 1
/* Non-temporal copy out of an L1 buffer (kernels.inc's stream_blocks and run16): both
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
#define CLRELU_HW_F16         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx512
#define CLRELU_CPU_ISA_NAME   "avx512"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
