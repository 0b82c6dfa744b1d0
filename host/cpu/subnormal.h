/* SPDX-License-Identifier: Apache-2.0 */
/* Leaky's f32 multiply (slope * x, or slope * dy) without the microcode assist that Intel cores
 * take on every multiply whose operand or result is subnormal, for the x86 kernels (AVX2,
 * AVX-512); bit for bit the same as fma(slope, x, -0).
 *
 * Why. On the 2-vCPU Intel Sapphire Rapids VM, f32 leaky forward at 2^16 elements in cache ran
 * at 98 GB/s on normal data and 5.0 GB/s with one element in 16 subnormal (backward 118 -> 7.6):
 * each assisted multiply costs ~150 cycles. AMD Zen 4 has no such assist.
 *
 * How. The kernels run in blocks of CLRELU__SUBN_BLOCK elements. A block runs the plain FMA
 * loop, then reads MXCSR once: the denormal-operand (DE) and underflow (UE) flags are set
 * exactly when a multiply met a subnormal operand or made a subnormal (or underflowing) result,
 * that is, when the block took assists. Its results are right (only slow), so nothing is redone;
 * the flags are cleared and the following blocks take the exact route, which counts the lanes
 * that would have taken an assist and goes back to the plain loop after a block with none. On
 * normal data the cost is one stmxcsr per block. The flags are per thread, and every host call
 * and every threaded part enters with them clear (clrelu__fpenv_enter); a stale flag would only
 * cost one block on the exact route.
 *
 * The exact route, all in f32 and integers (no operand or result is ever subnormal). With S the
 * slope's exponent, a lane is risky when 0 < |x| < 2^(-126 - S) (at least every subnormal x):
 * only there can s * x be subnormal, and everywhere else the plain product is normal (or zero,
 * inf, NaN) and its operands are normal. Risky lanes are scaled by 2^149, so that the subnormal
 * grid becomes the integers: |x| * 2^149 is |x|'s bits with 149 added to the exponent (normal
 * x), or its mantissa converted as an integer (subnormal x); then t = |s| * |x| * 2^149 < 2^(24
 * + max(S, 0)) is never subnormal or infinite while S is in [-104, 103] (outside, the route is
 * off and the plain loop runs: still exact).
 *   - t >= 2^23 rounds to a normal result: P = fma(s, x', -0), the exponent less 149.
 *   - t < 2^23 is subnormal: fma(|s|, x', 2^23) rounds t + 2^23 once, to the integers (its
 *     binade has ulp 1), which is t rounded to the subnormal grid, ties to even; less 2^23 as
 *     bits, it is the subnormal's bits (2^23 itself gives 2^-126's). The boundary is decided on
 *     |P| < 2^23, so that a t just below 2^23 that rounds up to it goes the normal way.
 * The sign of x is put back with an xor at the end. */
#ifndef CLRELU_SUBNORMAL_H
#define CLRELU_SUBNORMAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <xmmintrin.h>

#include "cpu.h"

/* Elements a block, multiples of 32 (whole mask words). The exact route checks for risky lanes
 * every CLRELU__SUBN_BLOCK. The plain loop's blocks start at CLRELU__SUBN_FIRST (a call's first,
 * and the first after the exact route) and double up to CLRELU__SUBN_PLAIN_MAX: a plain block
 * that takes assists before the flags are read costs ~25 ns an assisted element, and reading
 * MXCSR costs the plain loop on normal data. Measured on the Intel Xeon (AVX-512, one thread,
 * n = 2^16, medians of 5 runs interleaved with the build before this route): plain blocks of
 * 1024 throughout made normal forward 5.75 us against 5.57 before; growing ones, 5.55 against
 * 5.56, and forward with 1/16 subnormal went from 12.2 to 10.9 us. */
#define CLRELU__SUBN_BLOCK     1024
#define CLRELU__SUBN_FIRST     256
#define CLRELU__SUBN_PLAIN_MAX 8192
#define CLRELU__MXCSR_DE       0x0002u
#define CLRELU__MXCSR_UE       0x0010u

/* The exact route's constants for one slope, as integers (each ISA broadcasts them). */
typedef struct clrelu__subn {
    int on; /* the route applies to this slope */
    float slope, abs_slope;
    uint32_t bound_m1;   /* risky: |x| - 1 < bound_m1, unsigned (|x| bits) */
    uint32_t tiny_below; /* tiny: P's bits < tiny_below, unsigned (2^23, with the slope's sign) */
    uint32_t tiny_sub;   /* fma(|s|, x', 2^23)'s bits less this: the result's, slope's sign */
} clrelu__subn;

#define CLRELU__SUBN_SCALE_BITS (149u << 23) /* 2^149 as an exponent step */

static inline clrelu__subn clrelu__subn_make(float slope) {
    clrelu__subn k;
    uint32_t sb;
    memcpy(&sb, &slope, sizeof sb);
    const int es = (int)((sb >> 23) & 0xffu); /* S + 127 */
    const uint32_t sign = sb & 0x80000000u;
    /* 2^(-126 - S) as bits: exponent field 1 - S = 128 - es, at least 2^-126 (every subnormal). */
    const uint32_t bound = es >= 127 ? 0x00800000u : (uint32_t)(128 - es) << 23;
    k.on = es >= 127 - 104 && es <= 127 + 103;
    k.slope = slope;
    sb &= 0x7fffffffu;
    memcpy(&k.abs_slope, &sb, sizeof sb);
    k.bound_m1 = bound - 1u;
    k.tiny_below = 0x4b000000u ^ sign;
    k.tiny_sub = 0x4b000000u - sign; /* and with the sign: adding 2^31 flips bit 31 */
    return k;
}

/* Whether the plain loop met subnormals since the flags were last cleared; clears them. */
static inline int clrelu__subn_flags_seen(void) {
    const unsigned csr = _mm_getcsr();
    if (!(csr & (CLRELU__MXCSR_DE | CLRELU__MXCSR_UE)))
        return 0;
    _mm_setcsr(csr & ~(CLRELU__MXCSR_DE | CLRELU__MXCSR_UE));
    return 1;
}

/* Counts a switch to the exact route where the call asked (tests read the context's count). */
static inline void clrelu__subn_count(const clrelu__params *p) {
    if (p && p->exact_entries)
        atomic_fetch_add_explicit(p->exact_entries, 1, memory_order_relaxed);
}

#endif
