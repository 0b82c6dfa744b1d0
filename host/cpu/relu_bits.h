/* SPDX-License-Identifier: Apache-2.0 */
/* The ReLU decision on an f32's bits, shared by every ISA's scalar tail and the scalar
 * kernels. Integer tests only: a device or CPU that flushes subnormals to zero in float
 * compares cannot change the answer, and NaN payloads pass through untouched. */
#ifndef CLRELU_RELU_BITS_H
#define CLRELU_RELU_BITS_H

#include <stdint.h>
#include <string.h>

#define CLRELU__F32_ABS 0x7fffffffu
#define CLRELU__F32_INF 0x7f800000u

/* All ones where relu keeps the value (x > +0, or x is NaN), else zero. */
static inline uint32_t clrelu__f32_keep(uint32_t b) {
    uint32_t keep = ((int32_t)b > 0) | ((b & CLRELU__F32_ABS) > CLRELU__F32_INF);
    return 0u - keep;
}

static inline uint32_t clrelu__load_bits(const float *p) {
    uint32_t b;
    memcpy(&b, p, sizeof b);
    return b;
}

static inline void clrelu__store_bits(float *p, uint32_t b) {
    memcpy(p, &b, sizeof b);
}

static inline void clrelu__relu_fwd_f32_tail(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; ++i) {
        uint32_t b = clrelu__load_bits(x + i);
        clrelu__store_bits(y + i, b & clrelu__f32_keep(b));
    }
}

static inline void clrelu__relu_bwd_f32_tail(size_t n, const float *dy, const float *x, float *dx) {
    for (size_t i = 0; i < n; ++i) {
        uint32_t keep = clrelu__f32_keep(clrelu__load_bits(x + i));
        clrelu__store_bits(dx + i, clrelu__load_bits(dy + i) & keep);
    }
}

#endif
