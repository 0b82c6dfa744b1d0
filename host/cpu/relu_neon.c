/* SPDX-License-Identifier: Apache-2.0 */
/* AArch64 Advanced SIMD (NEON): hand-written f32 relu (4 floats per register, integer compares
 * on the bits), f16 <-> f32 with the hardware conversions, and the family's template compiled
 * for AArch64, where the compiler vectorises it with NEON (every AArch64 CPU has it). */
#include <arm_neon.h>

#include "relu_math.h"

#include "relu_bits.h"

static inline uint32x4_t keep_mask(uint32x4_t b) {
    uint32x4_t positive = vcgtq_s32(vreinterpretq_s32_u32(b), vdupq_n_s32(0));
    uint32x4_t nan =
        vcgtq_u32(vandq_u32(b, vdupq_n_u32(CLRELU__F32_ABS)), vdupq_n_u32(CLRELU__F32_INF));
    return vorrq_u32(positive, nan);
}

/* stream is ignored: AArch64 has no store that skips the read of the line (STNP is a hint
 * about reuse only). */
static void fast_relu_fwd_f32(size_t n, const float *x, float *y, int stream) {
    (void)stream;
    const uint32_t *s = (const uint32_t *)x;
    uint32_t *d = (uint32_t *)y;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint32x4_t a = vld1q_u32(s + i), b = vld1q_u32(s + i + 4);
        uint32x4_t c = vld1q_u32(s + i + 8), e = vld1q_u32(s + i + 12);
        vst1q_u32(d + i, vandq_u32(a, keep_mask(a)));
        vst1q_u32(d + i + 4, vandq_u32(b, keep_mask(b)));
        vst1q_u32(d + i + 8, vandq_u32(c, keep_mask(c)));
        vst1q_u32(d + i + 12, vandq_u32(e, keep_mask(e)));
    }
    for (; i + 4 <= n; i += 4) {
        uint32x4_t a = vld1q_u32(s + i);
        vst1q_u32(d + i, vandq_u32(a, keep_mask(a)));
    }
    clrelu__relu_fwd_f32_tail(n - i, x + i, y + i);
}

static void fast_relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx, int stream) {
    (void)stream;
    const uint32_t *g = (const uint32_t *)dy, *s = (const uint32_t *)x;
    uint32_t *d = (uint32_t *)dx;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32x4_t k0 = keep_mask(vld1q_u32(s + i)), k1 = keep_mask(vld1q_u32(s + i + 4));
        vst1q_u32(d + i, vandq_u32(vld1q_u32(g + i), k0));
        vst1q_u32(d + i + 4, vandq_u32(vld1q_u32(g + i + 4), k1));
    }
    clrelu__relu_bwd_f32_tail(n - i, dy + i, x + i, dx + i);
}

/* f16 <-> f32 with FCVTL / FCVTN (exact, and round to nearest even under the FPCR that
 * clrelu__fpenv_enter sets), NaN lanes replaced by the bit-exact forms of relu_math.h (the
 * hardware quiets signalling NaNs). */
static void hw_dec_f16(size_t n, const uint16_t *s, uint32_t *d) {
    const uint32x4_t abs16 = vdupq_n_u32(0x7fff), inf16 = vdupq_n_u32(0x7c00);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint16x4_t h = vld1_u16(s + i);
        uint32x4_t f = vreinterpretq_u32_f32(vcvt_f32_f16(vreinterpret_f16_u16(h)));
        uint32x4_t w = vmovl_u16(h);
        uint32x4_t nan = vcgtq_u32(vandq_u32(w, abs16), inf16);
        uint32x4_t sign = vshlq_n_u32(vandq_u32(w, vdupq_n_u32(0x8000)), 16);
        uint32x4_t pay = vshlq_n_u32(vandq_u32(w, vdupq_n_u32(0x3ff)), 13);
        uint32x4_t fix = vorrq_u32(vorrq_u32(sign, pay), vdupq_n_u32(0x7f800000));
        vst1q_u32(d + i, vbslq_u32(nan, fix, f));
    }
    for (; i < n; ++i)
        d[i] = cr_f16_to_f32(s[i]);
}

static void hw_enc_f16(size_t n, const uint32_t *s, uint16_t *d) {
    const uint32x4_t abs32 = vdupq_n_u32(0x7fffffff), inf32 = vdupq_n_u32(0x7f800000);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32x4_t b = vld1q_u32(s + i);
        uint16x4_t h = vreinterpret_u16_f16(vcvt_f16_f32(vreinterpretq_f32_u32(b)));
        uint32x4_t nan = vcgtq_u32(vandq_u32(b, abs32), inf32);
        if (vmaxvq_u32(nan)) {
            uint32x4_t pay = vandq_u32(vshrq_n_u32(b, 13), vdupq_n_u32(0x3ff));
            uint32x4_t empty = vceqq_u32(pay, vdupq_n_u32(0));
            pay = vorrq_u32(pay, vandq_u32(empty, vdupq_n_u32(0x200)));
            uint32x4_t sign = vandq_u32(vshrq_n_u32(b, 16), vdupq_n_u32(0x8000));
            uint32x4_t fix = vorrq_u32(vorrq_u32(sign, pay), vdupq_n_u32(0x7c00));
            h = vbsl_u16(vmovn_u32(nan), vmovn_u32(fix), h);
        }
        vst1_u16(d + i, h);
    }
    for (; i < n; ++i)
        d[i] = (uint16_t)cr_f32_to_f16(s[i]);
}

#define CLRELU_HW_F16         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_neon
#define CLRELU_CPU_ISA_NAME   "neon"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
