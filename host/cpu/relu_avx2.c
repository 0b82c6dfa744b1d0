/* SPDX-License-Identifier: Apache-2.0 */
/* AVX2: hand-written f32 relu (8 floats per register, integer compares on the bits), and the
 * family's template compiled for AVX2, with F16C for f16. */
#include <immintrin.h>

#include "relu_math.h"

#include "relu_bits.h"

static inline __m256i keep_mask(__m256i b) {
    const __m256i abs = _mm256_set1_epi32((int)CLRELU__F32_ABS);
    const __m256i inf = _mm256_set1_epi32((int)CLRELU__F32_INF);
    __m256i positive = _mm256_cmpgt_epi32(b, _mm256_setzero_si256());
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, abs), inf);
    return _mm256_or_si256(positive, nan);
}

/* Elements before y reaches a 32-byte boundary (a float array is 4-byte aligned). */
static inline size_t head_to_vector(const float *y, size_t n) {
    size_t h = ((32 - ((uintptr_t)y & 31)) & 31) / 4;
    return h < n ? h : n;
}

static void fast_relu_fwd_f32(size_t n, const float *x, float *y, int stream) {
    size_t i = 0;
    if (stream) {
        /* Non-temporal stores: whole aligned lines go to memory without first being read. */
        i = head_to_vector(y, n);
        clrelu__relu_fwd_f32_tail(i, x, y);
        for (; i + 16 <= n; i += 16) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(x + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(x + i + 8));
            _mm256_stream_si256((__m256i *)(y + i), _mm256_and_si256(a, keep_mask(a)));
            _mm256_stream_si256((__m256i *)(y + i + 8), _mm256_and_si256(b, keep_mask(b)));
        }
        _mm_sfence();
    }
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(x + i + 8));
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_and_si256(a, keep_mask(a)));
        _mm256_storeu_si256((__m256i *)(y + i + 8), _mm256_and_si256(b, keep_mask(b)));
    }
    clrelu__relu_fwd_f32_tail(n - i, x + i, y + i);
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx, int stream) {
    size_t i = 0;
    if (stream) {
        i = head_to_vector(dx, n);
        clrelu__relu_bwd_f32_tail(i, dy, x, dx);
        for (; i + 8 <= n; i += 8) {
            __m256i k = keep_mask(_mm256_loadu_si256((const __m256i *)(x + i)));
            __m256i g = _mm256_loadu_si256((const __m256i *)(dy + i));
            _mm256_stream_si256((__m256i *)(dx + i), _mm256_and_si256(g, k));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        __m256i k = keep_mask(_mm256_loadu_si256((const __m256i *)(x + i)));
        __m256i g = _mm256_loadu_si256((const __m256i *)(dy + i));
        _mm256_storeu_si256((__m256i *)(dx + i), _mm256_and_si256(g, k));
    }
    clrelu__relu_bwd_f32_tail(n - i, dy + i, x + i, dx + i);
}

/* f16 <-> f32 with F16C (exact, and round to nearest even by the immediate), NaN lanes replaced
 * by the bit-exact forms of relu_math.h (the hardware quiets signalling NaNs). */
static void hw_dec_f16(size_t n, const uint16_t *s, uint32_t *d) {
    const __m256i abs16 = _mm256_set1_epi32(0x7fff), inf16 = _mm256_set1_epi32(0x7c00);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(s + i));
        __m256i f = _mm256_castps_si256(_mm256_cvtph_ps(h));
        __m256i w = _mm256_cvtepu16_epi32(h);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(w, abs16), inf16);
        __m256i sign = _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x8000)), 16);
        __m256i pay = _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x3ff)), 13);
        __m256i fix = _mm256_or_si256(_mm256_or_si256(sign, pay), _mm256_set1_epi32(0x7f800000));
        _mm256_storeu_si256((__m256i *)(d + i), _mm256_blendv_epi8(f, fix, nan));
    }
    for (; i < n; ++i)
        d[i] = cr_f16_to_f32(s[i]);
}

static void hw_enc_f16(size_t n, const uint32_t *s, uint16_t *d) {
    const __m256i abs32 = _mm256_set1_epi32(0x7fffffff), inf32 = _mm256_set1_epi32(0x7f800000);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i));
        __m128i h = _mm256_cvtps_ph(_mm256_castsi256_ps(b), _MM_FROUND_TO_NEAREST_INT);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, abs32), inf32);
        if (!_mm256_testz_si256(nan, nan)) {
            __m256i pay = _mm256_and_si256(_mm256_srli_epi32(b, 13), _mm256_set1_epi32(0x3ff));
            __m256i empty = _mm256_cmpeq_epi32(pay, _mm256_setzero_si256());
            pay = _mm256_or_si256(pay, _mm256_and_si256(empty, _mm256_set1_epi32(0x200)));
            __m256i sign = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x8000));
            __m256i fix = _mm256_or_si256(_mm256_or_si256(sign, pay), _mm256_set1_epi32(0x7c00));
            __m128i fix16 =
                _mm_packus_epi32(_mm256_castsi256_si128(fix), _mm256_extracti128_si256(fix, 1));
            __m128i nan16 =
                _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
            h = _mm_blendv_epi8(h, fix16, nan16);
        }
        _mm_storeu_si128((__m128i *)(d + i), h);
    }
    for (; i < n; ++i)
        d[i] = (uint16_t)cr_f32_to_f16(s[i]);
}

#define CLRELU_HW_F16         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx2
#define CLRELU_CPU_ISA_NAME   "avx2"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
