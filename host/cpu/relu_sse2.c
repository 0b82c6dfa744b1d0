/* SPDX-License-Identifier: Apache-2.0 */
/* SSE2 (every x86-64 CPU): hand-written f32 relu (4 floats per register, integer compares on
 * the bits), and the family's template compiled for SSE2. */
#include <emmintrin.h>

#include "relu_bits.h"

static inline __m128i keep_mask(__m128i b) {
    const __m128i abs = _mm_set1_epi32((int)CLRELU__F32_ABS);
    const __m128i inf = _mm_set1_epi32((int)CLRELU__F32_INF);
    __m128i positive = _mm_cmpgt_epi32(b, _mm_setzero_si128());
    __m128i nan = _mm_cmpgt_epi32(_mm_and_si128(b, abs), inf);
    return _mm_or_si128(positive, nan);
}

/* Elements before y reaches a 16-byte boundary (a float array is 4-byte aligned). */
static inline size_t head_to_vector(const float *y, size_t n) {
    size_t h = ((16 - ((uintptr_t)y & 15)) & 15) / 4;
    return h < n ? h : n;
}

static void fast_relu_fwd_f32(size_t n, const float *x, float *y, int stream) {
    size_t i = 0;
    if (stream) {
        /* Non-temporal stores: whole aligned lines go to memory without first being read. */
        i = head_to_vector(y, n);
        clrelu__relu_fwd_f32_tail(i, x, y);
        for (; i + 8 <= n; i += 8) {
            __m128i a = _mm_loadu_si128((const __m128i *)(x + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(x + i + 4));
            _mm_stream_si128((__m128i *)(y + i), _mm_and_si128(a, keep_mask(a)));
            _mm_stream_si128((__m128i *)(y + i + 4), _mm_and_si128(b, keep_mask(b)));
        }
        _mm_sfence();
    }
    for (; i + 8 <= n; i += 8) {
        __m128i a = _mm_loadu_si128((const __m128i *)(x + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(x + i + 4));
        _mm_storeu_si128((__m128i *)(y + i), _mm_and_si128(a, keep_mask(a)));
        _mm_storeu_si128((__m128i *)(y + i + 4), _mm_and_si128(b, keep_mask(b)));
    }
    clrelu__relu_fwd_f32_tail(n - i, x + i, y + i);
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx, int stream) {
    size_t i = 0;
    if (stream) {
        i = head_to_vector(dx, n);
        clrelu__relu_bwd_f32_tail(i, dy, x, dx);
        for (; i + 4 <= n; i += 4) {
            __m128i k = keep_mask(_mm_loadu_si128((const __m128i *)(x + i)));
            __m128i g = _mm_loadu_si128((const __m128i *)(dy + i));
            _mm_stream_si128((__m128i *)(dx + i), _mm_and_si128(g, k));
        }
        _mm_sfence();
    }
    for (; i + 4 <= n; i += 4) {
        __m128i k = keep_mask(_mm_loadu_si128((const __m128i *)(x + i)));
        __m128i g = _mm_loadu_si128((const __m128i *)(dy + i));
        _mm_storeu_si128((__m128i *)(dx + i), _mm_and_si128(g, k));
    }
    clrelu__relu_bwd_f32_tail(n - i, dy + i, x + i, dx + i);
}

#define CLRELU_CPU_TABLE_NAME clrelu__cpu_sse2
#define CLRELU_CPU_ISA_NAME   "sse2"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
