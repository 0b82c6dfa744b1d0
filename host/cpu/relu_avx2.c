/* AVX2: hand-written f32 relu (8 floats per register, integer compares on the bits), and the
 * family's template compiled for AVX2. */
#include <immintrin.h>

#include "relu_bits.h"

static inline __m256i keep_mask(__m256i b) {
    const __m256i abs = _mm256_set1_epi32((int)CLRELU__F32_ABS);
    const __m256i inf = _mm256_set1_epi32((int)CLRELU__F32_INF);
    __m256i positive = _mm256_cmpgt_epi32(b, _mm256_setzero_si256());
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, abs), inf);
    return _mm256_or_si256(positive, nan);
}

static void fast_relu_fwd_f32(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(x + i + 8));
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_and_si256(a, keep_mask(a)));
        _mm256_storeu_si256((__m256i *)(y + i + 8), _mm256_and_si256(b, keep_mask(b)));
    }
    clrelu__relu_fwd_f32_tail(n - i, x + i, y + i);
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i k = keep_mask(_mm256_loadu_si256((const __m256i *)(x + i)));
        __m256i g = _mm256_loadu_si256((const __m256i *)(dy + i));
        _mm256_storeu_si256((__m256i *)(dx + i), _mm256_and_si256(g, k));
    }
    clrelu__relu_bwd_f32_tail(n - i, dy + i, x + i, dx + i);
}

#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx2
#define CLRELU_CPU_ISA_NAME   "avx2"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
