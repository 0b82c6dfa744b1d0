/* AVX-512F: hand-written f32 relu (16 floats per register, mask registers for the decision
 * and the tail: a masked load never touches memory past n), and the family's template
 * compiled for AVX-512. */
#include <immintrin.h>

static inline __mmask16 keep_mask(__m512i b) {
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    const __m512i inf = _mm512_set1_epi32(0x7f800000);
    return _mm512_cmpgt_epi32_mask(b, _mm512_setzero_si512()) |
           _mm512_cmpgt_epi32_mask(_mm512_and_si512(b, abs), inf);
}

static inline __mmask16 tail_mask(size_t left) {
    return (__mmask16)((1u << left) - 1u);
}

static void fast_relu_fwd_f32(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i a = _mm512_loadu_si512(x + i);
        __m512i b = _mm512_loadu_si512(x + i + 16);
        _mm512_storeu_si512(y + i, _mm512_maskz_mov_epi32(keep_mask(a), a));
        _mm512_storeu_si512(y + i + 16, _mm512_maskz_mov_epi32(keep_mask(b), b));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512i a = _mm512_maskz_loadu_epi32(m, x + i);
        _mm512_mask_storeu_epi32(y + i, m, _mm512_maskz_mov_epi32(keep_mask(a), a));
    }
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512i b = _mm512_maskz_loadu_epi32(m, x + i);
        __m512i g = _mm512_maskz_loadu_epi32(m, dy + i);
        _mm512_mask_storeu_epi32(dx + i, m, _mm512_maskz_mov_epi32(keep_mask(b), g));
    }
}

#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx512
#define CLRELU_CPU_ISA_NAME   "avx512"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
