/* AVX-512F: hand-written f32 relu (16 floats per register, mask registers for the decision
 * and the tail: a masked load never touches memory past n), and the family's template
 * compiled for AVX-512. */
#include <immintrin.h>

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
    const __m512i abs16 = _mm512_set1_epi32(0x7fff), inf16 = _mm512_set1_epi32(0x7c00);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(s + i));
        __m512i f = _mm512_castps_si512(_mm512_cvtph_ps(h));
        __m512i w = _mm512_cvtepu16_epi32(h);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(w, abs16), inf16);
        __m512i sign = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x8000)), 16);
        __m512i pay = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x3ff)), 13);
        __m512i fix = _mm512_or_si512(_mm512_or_si512(sign, pay), _mm512_set1_epi32(0x7f800000));
        _mm512_storeu_si512(d + i, _mm512_mask_mov_epi32(f, nan, fix));
    }
    for (; i < n; ++i)
        d[i] = cr_f16_to_f32(s[i]);
}

static void hw_enc_f16(size_t n, const uint32_t *s, uint16_t *d) {
    const __m512i abs32 = _mm512_set1_epi32(0x7fffffff), inf32 = _mm512_set1_epi32(0x7f800000);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i b = _mm512_loadu_si512(s + i);
        __m256i h = _mm512_cvtps_ph(_mm512_castsi512_ps(b), _MM_FROUND_TO_NEAREST_INT);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(b, abs32), inf32);
        if (nan) {
            __m512i pay = _mm512_and_si512(_mm512_srli_epi32(b, 13), _mm512_set1_epi32(0x3ff));
            __mmask16 empty = _mm512_cmpeq_epi32_mask(pay, _mm512_setzero_si512());
            pay = _mm512_mask_or_epi32(pay, empty, pay, _mm512_set1_epi32(0x200));
            __m512i sign = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(0x8000));
            __m512i fix = _mm512_or_si512(_mm512_or_si512(sign, pay), _mm512_set1_epi32(0x7c00));
            h = _mm256_mask_mov_epi16(h, nan, _mm512_cvtepi32_epi16(fix));
        }
        _mm256_storeu_si256((__m256i *)(d + i), h);
    }
    for (; i < n; ++i)
        d[i] = (uint16_t)cr_f32_to_f16(s[i]);
}

#define CLRELU_HW_F16         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx512
#define CLRELU_CPU_ISA_NAME   "avx512"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
