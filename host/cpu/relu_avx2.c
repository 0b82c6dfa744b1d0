/* SPDX-License-Identifier: Apache-2.0 */
/* AVX2 (with F16C and FMA): hand-written kernels for the whole family but the f64 blends, which
 * are the template's compiled for AVX2. Decisions are integer compares on the bits (8 f32, 16
 * f16/bf16 or 4 f64 lanes per register), lane masks select with blends, and movemask packs them
 * into the bitmask words; the kernels work in steps of 32 elements (one mask word) and run the
 * last partial step on zero-padded copies. f32 relu forward and backward have kernels of their
 * own (the first written). */
#include <immintrin.h>
#include <string.h>

#include "cpu.h"
#include "relu_math.h"

#include "relu_bits.h"
#include "subnormal.h"

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

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------------------------------------
 * Lanes of f32 bits (8 per register): relu_math.h's tests as signed compares, which agree with
 * its unsigned ones on the lanes where they decide (positive values, and |b| against inf).
 * ------------------------------------------------------------------------------------------ */
typedef struct consts32 {
    __m256i c_out, c_pass;
    __m256 slope, alpha, beta;
} consts32;

static inline consts32 consts32_make(uint32_t c_out, uint32_t c_pass, float slope, float alpha,
                                     float beta) {
    consts32 k;
    k.c_out = _mm256_set1_epi32((int)c_out);
    k.c_pass = _mm256_set1_epi32((int)c_pass);
    k.slope = _mm256_set1_ps(slope);
    k.alpha = _mm256_set1_ps(alpha);
    k.beta = _mm256_set1_ps(beta);
    return k;
}

static inline __m256i nan32_v(__m256i b) {
    return _mm256_cmpgt_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7fffffff)),
                              _mm256_set1_epi32(0x7f800000));
}

/* 0 < b <= inf (cr_gt0_32). */
static inline __m256i gt0_32_v(__m256i b) {
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(b, _mm256_set1_epi32(0x7f800000)),
                               _mm256_cmpgt_epi32(b, _mm256_setzero_si256()));
}

static inline __m256i sel32_v(__m256i mask, __m256i a, __m256i b) { /* mask ? a : b */
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a),
                                                _mm256_castsi256_ps(mask)));
}

/* A NaN that arithmetic made becomes the canonical quiet NaN (cr_canon32). */
static inline __m256i canon32_v(__m256 r) {
    return _mm256_castps_si256(_mm256_blendv_ps(
        r, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)), _mm256_cmp_ps(r, r, _CMP_UNORD_Q)));
}

/* slope * v, one rounding, on the FMA unit (CR_FMUL: no slow path for subnormal products on AMD
 * Zen 4; Intel cores take an assist, which f32 leaky avoids by leaky32's exact route below). */
static inline __m256i mul32_v(__m256 slope, __m256i v) {
    return canon32_v(
        _mm256_fmadd_ps(slope, _mm256_castsi256_ps(v), _mm256_set1_ps(clrelu__neg_zero_f)));
}

/* f(b) (cr_fwd32) and the pass bits (cr_pass32) of 8 lanes. */
static inline __m256i fwd32_v(int op, __m256i b, const consts32 *k, __m256i *pass) {
    const __m256i nan = nan32_v(b), gt0 = gt0_32_v(b), keep = _mm256_or_si256(nan, gt0);
    if (op == CR_LEAKY) {
        *pass = gt0;
        return sel32_v(keep, b, mul32_v(k->slope, b));
    }
    if (op == CR_CLIPPED) {
        *pass = _mm256_or_si256(nan, _mm256_and_si256(gt0, _mm256_cmpgt_epi32(k->c_pass, b)));
        const __m256i pos = sel32_v(_mm256_cmpgt_epi32(k->c_out, b), b, k->c_out);
        return _mm256_and_si256(keep, sel32_v(nan, b, pos));
    }
    *pass = keep;
    return _mm256_and_si256(b, keep);
}

static inline __m256i pass32_v(int op, __m256i b, const consts32 *k) {
    __m256i pass;
    (void)fwd32_v(op, b, k, &pass);
    return pass;
}

/* f'(s) * dy given the pass lanes (cr_grad32). */
static inline __m256i grad32_v(int op, __m256i pass, __m256i g, const consts32 *k) {
    return op == CR_LEAKY ? sel32_v(pass, g, mul32_v(k->slope, g)) : _mm256_and_si256(g, pass);
}

/* alpha * t + beta * old (cr_blend32): each product (FMA unit) and the sum rounded once, a NaN
 * result canonical; pass_t: a NaN t passes with its bits (the 16-bit kernels put those lanes back
 * from the stored bits instead). */
static inline __m256i blend32_v(int bl, __m256i t, __m256i old, const consts32 *k, int pass_t) {
    if (bl == CR_PLAIN)
        return t;
    const __m256 neg0 = _mm256_set1_ps(clrelu__neg_zero_f);
    __m256 r = _mm256_fmadd_ps(k->alpha, _mm256_castsi256_ps(t), neg0);
    if (bl == CR_BLEND)
        r = _mm256_add_ps(r, _mm256_fmadd_ps(k->beta, _mm256_castsi256_ps(old), neg0));
    return pass_t ? sel32_v(nan32_v(t), t, canon32_v(r)) : canon32_v(r);
}

/* The pass bits of 8 lanes from a mask byte. */
static inline __m256i bits32_v(uint32_t bits) {
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), lane), lane);
}

static inline uint32_t movemask32(__m256i m) {
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(m));
}

/* A 32-byte store; nt: streamed (the address is then 32-byte aligned). */
static inline void store256(void *p, __m256i v, int nt) {
    if (nt)
        _mm256_stream_si256((__m256i *)p, v);
    else
        _mm256_storeu_si256((__m256i *)p, v);
}

/* The low left bits of a mask word. */
static inline uint32_t low_bits(size_t left) {
    return left >= 32 ? 0xffffffffu : (1u << left) - 1u;
}

/* ---------------------------------------------------------------------------------------------
 * Lanes of stored f16 or bf16 bits (16 per register): cr_nan16, cr_gt0_16 and cr_pass16 as
 * signed compares (exact for the values below 0x8000 they decide on).
 * ------------------------------------------------------------------------------------------ */
typedef struct consts16 {
    __m256i inf, c_out, c_pass;
} consts16;

static inline consts16 consts16_make(uint32_t inf, uint32_t c_out, uint32_t c_pass) {
    consts16 k;
    k.inf = _mm256_set1_epi16((short)inf);
    k.c_out = _mm256_set1_epi16((short)c_out);
    k.c_pass = _mm256_set1_epi16((short)c_pass);
    return k;
}

static inline __m256i nan16_v(__m256i h, const consts16 *k) {
    return _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)), k->inf);
}

static inline __m256i gt016_v(__m256i h, const consts16 *k) {
    return _mm256_andnot_si256(_mm256_cmpgt_epi16(h, k->inf),
                               _mm256_cmpgt_epi16(h, _mm256_setzero_si256()));
}

static inline __m256i pass16_v(int op, __m256i h, const consts16 *k) {
    const __m256i gt0 = gt016_v(h, k);
    if (op == CR_LEAKY)
        return gt0;
    if (op == CR_CLIPPED)
        return _mm256_or_si256(nan16_v(h, k),
                               _mm256_and_si256(gt0, _mm256_cmpgt_epi16(k->c_pass, h)));
    return _mm256_or_si256(nan16_v(h, k), gt0);
}

/* The 32 pass bits of two 16-lane masks, in element order. */
static inline uint32_t movemask16x2(__m256i a, __m256i b) {
    const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(a, b), 0xd8);
    return (uint32_t)_mm256_movemask_epi8(bytes);
}

/* 16 pass bits as 16-bit lane masks. */
static inline __m256i bits16_v(uint32_t bits) {
    const __m256i lane = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
                                           8192, 16384, (short)0x8000);
    return _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16((short)bits), lane), lane);
}

/* ---------------------------------------------------------------------------------------------
 * The ops with arithmetic in the f32 domain (leaky, blending): fused_fwd / fused_bwd / fused_bwdm
 * for kernels.inc (id: 0 f32, 1 f16, 2 bf16, a constant where they are called), in steps of 32
 * elements; f32 relu, clipped and leaky without blending go through them too (fast_bits below).
 *
 * f16 and bf16 as on AVX-512 (relu_avx512.c says why it is exact): decisions on the stored bits,
 * arithmetic on the values converted to f32 (F16C for f16, exact and rounding to nearest even by
 * the immediate; shifts and masks for bf16), and the NaNs that pass unchanged taken back from the
 * stored bits, so the conversions need not keep NaN payloads.
 * ------------------------------------------------------------------------------------------ */
#define TAIL_BYTES (32 * 4)

ALWAYS_INLINE uint32_t fwd32_step(int op, int bl, const uint32_t *x, uint32_t *y, const consts32 *k,
                                  int nt) {
    uint32_t word = 0;
    for (int q = 0; q < 4; ++q) {
        __m256i pass;
        __m256i t = fwd32_v(op, _mm256_loadu_si256((const __m256i *)(x + 8 * q)), k, &pass);
        if (bl != CR_PLAIN) {
            const __m256i old =
                bl == CR_BLEND ? _mm256_loadu_si256((const __m256i *)(y + 8 * q)) : t;
            t = blend32_v(bl, t, old, k, 1);
        }
        store256(y + 8 * q, t, nt);
        word |= movemask32(pass) << (8 * q);
    }
    return word;
}

/* Backward, the pass bits from s (s != NULL) or from word. */
ALWAYS_INLINE void bwd32_step(int op, int bl, const uint32_t *dy, const uint32_t *s, uint32_t word,
                              uint32_t *dx, const consts32 *k, int nt) {
    for (int q = 0; q < 4; ++q) {
        const __m256i pass = s ? pass32_v(op, _mm256_loadu_si256((const __m256i *)(s + 8 * q)), k)
                               : bits32_v(word >> (8 * q));
        __m256i d = grad32_v(op, pass, _mm256_loadu_si256((const __m256i *)(dy + 8 * q)), k);
        if (bl != CR_PLAIN) {
            const __m256i old =
                bl == CR_BLEND ? _mm256_loadu_si256((const __m256i *)(dx + 8 * q)) : d;
            d = blend32_v(bl, d, old, k, 1);
        }
        store256(dx + 8 * q, d, nt);
    }
}

/* The 16 stored elements of h as two registers of 8 f32 lanes: for f16 the lower and upper 8
 * elements, for bf16 the even and the odd ones (a shift and a mask: no widening), and back. */
static inline void dec16_v(int id, __m256i h, __m256i f[2]) {
    if (id == 1) {
        f[0] = _mm256_castps_si256(_mm256_cvtph_ps(_mm256_castsi256_si128(h)));
        f[1] = _mm256_castps_si256(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
    } else {
        f[0] = _mm256_slli_epi32(h, 16);
        f[1] = _mm256_and_si256(h, _mm256_set1_epi32((int)0xffff0000u));
    }
}

/* bf16 rounding to nearest even on the bits, the result in the upper half of each lane. */
static inline __m256i round_bf16_v(__m256i f) {
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(f, 16), _mm256_set1_epi32(1));
    return _mm256_add_epi32(_mm256_add_epi32(f, _mm256_set1_epi32(0x7fff)), odd);
}

/* f32 lanes in dec16_v's layout that are not NaNs, or the canonical NaN, rounded to 16 stored
 * elements. */
static inline __m256i enc16_v(int id, const __m256i f[2]) {
    if (id == 1)
        return _mm256_set_m128i(
            _mm256_cvtps_ph(_mm256_castsi256_ps(f[1]), _MM_FROUND_TO_NEAREST_INT),
            _mm256_cvtps_ph(_mm256_castsi256_ps(f[0]), _MM_FROUND_TO_NEAREST_INT));
    return _mm256_or_si256(
        _mm256_srli_epi32(round_bf16_v(f[0]), 16),
        _mm256_and_si256(round_bf16_v(f[1]), _mm256_set1_epi32((int)0xffff0000u)));
}

/* 16-bit lane masks as the lane masks of dec16_v's two registers. */
static inline void lanes16_v(int id, __m256i m16, __m256i m[2]) {
    if (id == 1) {
        m[0] = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(m16));
        m[1] = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(m16, 1));
    } else {
        m[0] = _mm256_srai_epi32(_mm256_slli_epi32(m16, 16), 16);
        m[1] = _mm256_srai_epi32(m16, 16);
    }
}

ALWAYS_INLINE uint32_t fwd16a_step(int id, int op, int bl, const uint16_t *x, uint16_t *y,
                                   const consts32 *k, const consts16 *k16, int nt) {
    __m256i pass[2];
    for (int r = 0; r < 2; ++r) {
        const __m256i h = _mm256_loadu_si256((const __m256i *)(x + 16 * r));
        const __m256i nan = nan16_v(h, k16);
        __m256i t[2], o[2], out;
        dec16_v(id, h, t);
        if (op == CR_LEAKY && bl == CR_PLAIN) {
            /* x where it is positive or NaN, else slope * x. */
            pass[r] = gt016_v(h, k16);
            for (int j = 0; j < 2; ++j)
                t[j] = mul32_v(k->slope, t[j]);
            out = _mm256_blendv_epi8(enc16_v(id, t), h, _mm256_or_si256(nan, pass[r]));
        } else {
            pass[r] = pass16_v(op, h, k16);
            if (bl == CR_BLEND)
                dec16_v(id, _mm256_loadu_si256((const __m256i *)(y + 16 * r)), o);
            for (int j = 0; j < 2; ++j) {
                __m256i unused;
                t[j] = fwd32_v(op, t[j], k, &unused);
                t[j] = blend32_v(bl, t[j], bl == CR_BLEND ? o[j] : t[j], k, 0);
            }
            out = _mm256_blendv_epi8(enc16_v(id, t), h, nan);
        }
        store256(y + 16 * r, out, nt);
    }
    return movemask16x2(pass[0], pass[1]);
}

/* Backward, the pass bits from s (s != NULL) or from word. */
ALWAYS_INLINE void bwd16a_step(int id, int op, int bl, const uint16_t *dy, const uint16_t *s,
                               uint32_t word, uint16_t *dx, const consts32 *k, const consts16 *k16,
                               int nt) {
    for (int r = 0; r < 2; ++r) {
        const __m256i g = _mm256_loadu_si256((const __m256i *)(dy + 16 * r));
        const __m256i pass =
            s ? pass16_v(op, _mm256_loadu_si256((const __m256i *)(s + 16 * r)), k16)
              : bits16_v(word >> (16 * r));
        __m256i t[2], o[2], out;
        dec16_v(id, g, t);
        if (op == CR_LEAKY && bl == CR_PLAIN) {
            /* dy where it passes (its bits, NaN or not), else slope * dy. */
            for (int j = 0; j < 2; ++j)
                t[j] = mul32_v(k->slope, t[j]);
            out = _mm256_blendv_epi8(enc16_v(id, t), g, pass);
        } else {
            __m256i pm[2];
            lanes16_v(id, pass, pm);
            if (bl == CR_BLEND)
                dec16_v(id, _mm256_loadu_si256((const __m256i *)(dx + 16 * r)), o);
            for (int j = 0; j < 2; ++j) {
                t[j] = grad32_v(op, pm[j], t[j], k);
                t[j] = blend32_v(bl, t[j], bl == CR_BLEND ? o[j] : t[j], k, 0);
            }
            /* A NaN dy that passes passes with its bits. */
            out = _mm256_blendv_epi8(enc16_v(id, t), g, _mm256_and_si256(pass, nan16_v(g, k16)));
        }
        store256(dx + 16 * r, out, nt);
    }
}

static inline consts32 consts32_of(const clrelu__params *p) {
    return consts32_make(p->ceil_out32, p->ceil_pass32, p->slope, p->alpha, p->beta);
}

static inline consts16 consts16_of(int id, const clrelu__params *p) {
    return consts16_make(id == 1 ? 0x7c00u : 0x7f80u, p->ceil_out16, p->ceil_pass16);
}

ALWAYS_INLINE uint32_t fused_fwd_step(int id, int op, int bl, const void *in, void *out,
                                      const consts32 *k, const consts16 *k16, int nt) {
    return id == 0 ? fwd32_step(op, bl, in, out, k, nt)
                   : fwd16a_step(id, op, bl, in, out, k, k16, nt);
}

ALWAYS_INLINE void fused_bwd_step(int id, int op, int bl, const void *dy, const void *s,
                                  uint32_t word, void *dx, const consts32 *k, const consts16 *k16,
                                  int nt) {
    if (id == 0)
        bwd32_step(op, bl, dy, s, word, dx, k, nt);
    else
        bwd16a_step(id, op, bl, dy, s, word, dx, k, k16, nt);
}

/* The 16-bit steps prefetch each array they read PREFETCH_BYTES ahead. Without it the blends
 * (which read the output, then write it) ran past the L2 at 0.4-0.7x the elements per second of
 * f32 on the 2-vCPU Intel Xeon VM (AVX2 kernels, one thread, n = 2^23 and 2^24; in the L2 they
 * run at 0.8x), about 1.5 ns an element: the hardware prefetchers did not keep ahead of a
 * 16-bit step's streams, where f32's steps, twice the bytes, do not fall. With it the blends ran
 * at 2.3-2.9x f32 in the same runs, and 1024 bytes ahead was slower than 2048. An asm
 * statement, not _mm_prefetch: GCC 12 left every _mm_prefetch out of these loops. A prefetch
 * never faults, so the lines past the end of an array cost nothing but the fetch. */
#define PREFETCH_BYTES 2048
static inline void prefetch_ahead(const void *p, size_t offset) {
    __asm__ volatile("prefetcht0 %0" : : "m"(*((const char *)p + offset + PREFETCH_BYTES)));
}

/* Every whole step, then the partial last one on zero-padded copies. */
ALWAYS_INLINE void fused_fwd(int id, int op, int bl, size_t n, const void *in, void *out,
                             uint32_t *mask, const clrelu__params *p) {
    const consts32 k = consts32_of(p);
    const consts16 k16 = consts16_of(id, p);
    const size_t es = id ? 2 : 4;
    const int nt = p->stream && !((uintptr_t)out & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (id != 0) {
            prefetch_ahead(in, i * es);
            if (bl == CR_BLEND)
                prefetch_ahead(out, i * es);
        }
        uint32_t word = fused_fwd_step(id, op, bl, (const char *)in + i * es, (char *)out + i * es,
                                       &k, &k16, nt);
        if (mask)
            mask[i / 32] = word;
    }
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) unsigned char a[TAIL_BYTES] = {0}, y[TAIL_BYTES] = {0};
        const size_t left = n - i;
        memcpy(a, (const char *)in + i * es, left * es);
        if (bl == CR_BLEND)
            memcpy(y, (char *)out + i * es, left * es);
        uint32_t word = fused_fwd_step(id, op, bl, a, y, &k, &k16, 0);
        memcpy((char *)out + i * es, y, left * es);
        if (mask)
            mask[i / 32] = word & low_bits(left);
    }
}

/* Backward from s, or (s == NULL) from the mask words. */
ALWAYS_INLINE void fused_bwd_any(int id, int op, int bl, size_t n, const void *dy, const void *s,
                                 const uint32_t *words, void *dx, const clrelu__params *p) {
    const consts32 k = consts32_of(p);
    const consts16 k16 = consts16_of(id, p);
    const size_t es = id ? 2 : 4;
    const int nt = p->stream && !((uintptr_t)dx & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (id != 0) {
            prefetch_ahead(dy, i * es);
            if (s)
                prefetch_ahead(s, i * es);
            if (bl == CR_BLEND)
                prefetch_ahead(dx, i * es);
        }
        fused_bwd_step(id, op, bl, (const char *)dy + i * es, s ? (const char *)s + i * es : NULL,
                       s ? 0 : words[i / 32], (char *)dx + i * es, &k, &k16, nt);
    }
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) unsigned char g[TAIL_BYTES] = {0}, a[TAIL_BYTES] = {0}, d[TAIL_BYTES] = {0};
        const size_t left = n - i;
        memcpy(g, (const char *)dy + i * es, left * es);
        if (s)
            memcpy(a, (const char *)s + i * es, left * es);
        if (bl == CR_BLEND)
            memcpy(d, (char *)dx + i * es, left * es);
        fused_bwd_step(id, op, bl, g, s ? a : NULL, s ? 0 : words[i / 32], d, &k, &k16, 0);
        memcpy((char *)dx + i * es, d, left * es);
    }
}

ALWAYS_INLINE void fused_bwd(int id, int op, int bl, size_t n, const void *dy, const void *s,
                             void *dx, const clrelu__params *p) {
    fused_bwd_any(id, op, bl, n, dy, s, NULL, dx, p);
}

ALWAYS_INLINE void fused_bwdm(int id, int op, int bl, size_t n, const void *dy,
                              const uint32_t *words, void *dx, const clrelu__params *p) {
    fused_bwd_any(id, op, bl, n, dy, NULL, words, dx, p);
}

#define CLRELU_HAS_FUSED 1

/* ---------------------------------------------------------------------------------------------
 * The ops without blending that decide on the stored bits (kernels.inc's FASTBITS): f32 relu,
 * clipped and leaky through the f32 steps above; f16 and bf16 relu and clipped on 16 lanes of
 * stored bits, 32 halves a step.
 * ------------------------------------------------------------------------------------------ */
static inline __m256i fwd16_v(int op, __m256i h, const consts16 *k, __m256i *pass) {
    const __m256i nan = nan16_v(h, k), keep = _mm256_or_si256(nan, gt016_v(h, k));
    *pass = pass16_v(op, h, k);
    if (op == CR_CLIPPED) {
        const __m256i pos = _mm256_blendv_epi8(k->c_out, h, _mm256_cmpgt_epi16(k->c_out, h));
        return _mm256_and_si256(keep, _mm256_blendv_epi8(pos, h, nan));
    }
    return _mm256_and_si256(h, keep);
}

ALWAYS_INLINE uint32_t fwd16_step(int op, const uint16_t *x, uint16_t *y, const consts16 *k,
                                  int nt) {
    __m256i pa, pb;
    const __m256i a = fwd16_v(op, _mm256_loadu_si256((const __m256i *)x), k, &pa);
    const __m256i b = fwd16_v(op, _mm256_loadu_si256((const __m256i *)(x + 16)), k, &pb);
    store256(y, a, nt);
    store256(y + 16, b, nt);
    return movemask16x2(pa, pb);
}

ALWAYS_INLINE void bwd16_step(int op, const uint16_t *dy, const uint16_t *s, uint16_t *dx,
                              const consts16 *k, int nt) {
    for (int h = 0; h < 2; ++h) {
        const __m256i pass = pass16_v(op, _mm256_loadu_si256((const __m256i *)(s + 16 * h)), k);
        const __m256i g = _mm256_loadu_si256((const __m256i *)(dy + 16 * h));
        store256(dx + 16 * h, _mm256_and_si256(g, pass), nt);
    }
}

ALWAYS_INLINE void bwdm16_step(const uint16_t *dy, uint32_t word, uint16_t *dx, int nt) {
    for (int h = 0; h < 2; ++h) {
        const __m256i g = _mm256_loadu_si256((const __m256i *)(dy + 16 * h));
        store256(dx + 16 * h, _mm256_and_si256(g, bits16_v(word >> (16 * h))), nt);
    }
}

/* f32 leaky forward without a mask for a slope that is positive and finite (the usual one), in
 * about half of fwd32_step's instructions: 7 per 8 lanes against 13, where in cache (2^16
 * elements) fwd32_step ran at 48% of copy on the 2-vCPU Intel Xeon. With such a slope a product
 * of a number is never NaN, so it needs no canonical NaN, and slope * +0 = +0, so +0 may pass
 * as the positives do: x passes unchanged exactly where its bits, as a signed integer, are above
 * -inf's (the positives, +0, and every NaN, the negative ones being above -inf), and one compare
 * decides. The product is mul32_v's (cr_mul32) without the canonical NaN. */
static inline int leaky_slope_is_lean(float slope) {
    return slope > 0.0f && slope <= 3.4028235e38f;
}

ALWAYS_INLINE void leaky_lean_fwd(size_t n, const uint32_t *x, uint32_t *y, float slope,
                                  int stream) {
    const __m256 sl = _mm256_set1_ps(slope), neg0 = _mm256_set1_ps(clrelu__neg_zero_f);
    const __m256i neg_inf = _mm256_set1_epi32((int)0xff800000u);
    const int nt = stream && !((uintptr_t)y & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int q = 0; q < 4; ++q) {
            const __m256i b = _mm256_loadu_si256((const __m256i *)(x + i + 8 * q));
            const __m256i keep = _mm256_cmpgt_epi32(b, neg_inf);
            const __m256i r =
                _mm256_castps_si256(_mm256_fmadd_ps(sl, _mm256_castsi256_ps(b), neg0));
            store256(y + i + 8 * q,
                     _mm256_or_si256(_mm256_and_si256(keep, b), _mm256_andnot_si256(keep, r)), nt);
        }
    }
    if (nt)
        _mm_sfence();
    if (i < n) {
        clrelu__params p;
        memset(&p, 0, sizeof p);
        p.slope = slope;
        fused_fwd(0, CR_LEAKY, CR_PLAIN, n - i, x + i, y + i, NULL, &p);
    }
}

/* Forward (mask may be NULL). wide: f32 lanes, else 16-bit lanes with inf the type's. */
ALWAYS_INLINE void fast_bits_fwd(int wide, int op, size_t n, const void *in, void *out,
                                 uint32_t *mask, uint32_t inf, uint32_t c_out, uint32_t c_pass,
                                 float slope, int stream) {
    if (wide) {
        clrelu__params p;
        memset(&p, 0, sizeof p);
        p.ceil_out32 = c_out, p.ceil_pass32 = c_pass, p.slope = slope, p.stream = stream;
        fused_fwd(0, op, CR_PLAIN, n, in, out, mask, &p);
        return;
    }
    const consts16 k = consts16_make(inf, c_out, c_pass);
    const uint16_t *x = in;
    uint16_t *y = out;
    const int nt = stream && !((uintptr_t)out & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint32_t word = fwd16_step(op, x + i, y + i, &k, nt);
        if (mask)
            mask[i / 32] = word;
    }
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint16_t a[32] = {0}, b[32];
        const size_t left = n - i;
        memcpy(a, x + i, left * 2);
        uint32_t word = fwd16_step(op, a, b, &k, 0);
        memcpy(y + i, b, left * 2);
        if (mask)
            mask[i / 32] = word & low_bits(left);
    }
}

/* Backward from x or y: dx = dy where the element passes, else 0 (leaky: slope * dy). */
ALWAYS_INLINE void fast_bits_bwd(int wide, int op, size_t n, const void *dy, const void *s,
                                 void *dx, uint32_t inf, uint32_t c_pass, float slope, int stream) {
    if (wide) {
        clrelu__params p;
        memset(&p, 0, sizeof p);
        p.ceil_out32 = c_pass, p.ceil_pass32 = c_pass, p.slope = slope, p.stream = stream;
        fused_bwd(0, op, CR_PLAIN, n, dy, s, dx, &p);
        return;
    }
    const consts16 k = consts16_make(inf, c_pass, c_pass);
    const uint16_t *g = dy, *a = s;
    uint16_t *d = dx;
    const int nt = stream && !((uintptr_t)dx & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        bwd16_step(op, g + i, a + i, d + i, &k, nt);
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint16_t tg[32] = {0}, ta[32] = {0}, td[32];
        const size_t left = n - i;
        memcpy(tg, g + i, left * 2);
        memcpy(ta, a + i, left * 2);
        bwd16_step(op, tg, ta, td, &k, 0);
        memcpy(d + i, td, left * 2);
    }
}

/* Backward from the mask: each word is the 32 elements' pass bits (leaky: slope * dy for the
 * others). */
ALWAYS_INLINE void fast_bits_bwdm(int wide, int op, size_t n, const void *dy, const uint32_t *words,
                                  void *dx, float slope, int stream) {
    if (wide) {
        clrelu__params p;
        memset(&p, 0, sizeof p);
        p.slope = slope, p.stream = stream;
        fused_bwdm(0, op, CR_PLAIN, n, dy, words, dx, &p);
        return;
    }
    const uint16_t *g = dy;
    uint16_t *d = dx;
    const int nt = stream && !((uintptr_t)dx & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        bwdm16_step(g + i, words[i / 32], d + i, nt);
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint16_t tg[32] = {0}, td[32];
        const size_t left = n - i;
        memcpy(tg, g + i, left * 2);
        bwdm16_step(tg, words[i / 32], td, 0);
        memcpy(d + i, td, left * 2);
    }
}

#define CLRELU_HAS_FAST_BITS 1

/* ---------------------------------------------------------------------------------------------
 * f32 leaky without blending, every pass (kernels.inc's LEAKY32): blocks of the plain loop, or
 * of the exact route for subnormals where the flags showed assists (subnormal.h). AVX2 has no
 * unsigned compares: a - 1 < b unsigned is (a + 0x7fffffff) < (b ^ 2^31) signed.
 * ------------------------------------------------------------------------------------------ */
typedef struct subn_v {
    __m256 s, as;
    __m256i bound_b, tiny_b, tiny_sub;
} subn_v;

static inline subn_v subn_v_make(const clrelu__subn *k) {
    return (subn_v){_mm256_set1_ps(k->slope), _mm256_set1_ps(k->abs_slope),
                    _mm256_set1_epi32((int)(k->bound_m1 ^ 0x80000000u)),
                    _mm256_set1_epi32((int)(k->tiny_below ^ 0x80000000u)),
                    _mm256_set1_epi32((int)k->tiny_sub)};
}

/* slope * v as mul32_v makes it, with no subnormal operand or result (subnormal.h); *any gets
 * the risky lanes. canon: make a NaN product canonical (forward puts NaN lanes back anyway). */
static inline __m256i mul32_exact(const subn_v *k, __m256i v, __m256i *any, int canon) {
    const __m256i av = _mm256_and_si256(v, _mm256_set1_epi32(0x7fffffff));
    const __m256i risky =
        _mm256_cmpgt_epi32(k->bound_b, _mm256_add_epi32(av, _mm256_set1_epi32(0x7fffffff)));
    const __m256i sub = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), av);
    const __m256i scale = _mm256_set1_epi32(CLRELU__SUBN_SCALE_BITS);
    *any = _mm256_or_si256(*any, risky);
    /* |x| * 2^149 on risky lanes: the exponent raised, or a subnormal's mantissa converted. */
    __m256i xs = _mm256_add_epi32(av, _mm256_and_si256(risky, scale));
    xs = sel32_v(sub, _mm256_castps_si256(_mm256_cvtepi32_ps(av)), xs);
    const __m256 x1 = _mm256_castsi256_ps(xs);
    const __m256i p = _mm256_castps_si256(_mm256_fmadd_ps(k->s, x1, _mm256_set1_ps(-0.0f)));
    const __m256i pm = _mm256_castps_si256(_mm256_fmadd_ps(k->as, x1, _mm256_set1_ps(0x1p23f)));
    const __m256i tiny = _mm256_and_si256(
        risky,
        _mm256_cmpgt_epi32(k->tiny_b, _mm256_xor_si256(p, _mm256_set1_epi32((int)0x80000000u))));
    __m256i r = _mm256_sub_epi32(p, _mm256_and_si256(risky, scale));
    r = sel32_v(tiny, _mm256_sub_epi32(pm, k->tiny_sub), r);
    r = _mm256_xor_si256(r, _mm256_xor_si256(v, av)); /* r ^ x's sign */
    return canon ? sel32_v(nan32_v(v), _mm256_set1_epi32(0x7fc00000), r) : r;
}

/* 32 elements of leaky from g (forward: x where it passes or is NaN, else slope * x; backward:
 * dy where s passes, or the bit of word, else slope * dy) into y; returns the pass bits. */
ALWAYS_INLINE uint32_t leaky32_step(int pass, const uint32_t *g, const uint32_t *s, uint32_t word,
                                    uint32_t *y, __m256 slope, const subn_v *k, __m256i *any,
                                    int nt) {
    const int fwd = pass == CLRELU__PASS_FWD || pass == CLRELU__PASS_FWD_MASK;
    uint32_t bits = 0;
    for (int q = 0; q < 4; ++q) {
        const __m256i gv = _mm256_loadu_si256((const __m256i *)(g + 8 * q));
        const __m256i gt0 = pass == CLRELU__PASS_BWD_MASK ? bits32_v(word >> (8 * q))
                            : pass == CLRELU__PASS_BWD
                                ? gt0_32_v(_mm256_loadu_si256((const __m256i *)(s + 8 * q)))
                                : gt0_32_v(gv);
        const __m256i m = k ? mul32_exact(k, gv, any, !fwd) : mul32_v(slope, gv);
        const __m256i keep = fwd ? _mm256_or_si256(gt0, nan32_v(gv)) : gt0;
        store256(y + 8 * q, sel32_v(keep, gv, m), nt);
        bits |= movemask32(gt0) << (8 * q);
    }
    return bits;
}

/* The step at element i: whole, or the last left elements on zero-padded copies. */
ALWAYS_INLINE void leaky32_at(int pass, const void *in0, const void *in1, void *out, uint32_t *mask,
                              size_t i, size_t left, int whole, __m256 slope, const subn_v *k,
                              __m256i *any, int nt) {
    const uint32_t *g = (const uint32_t *)in0 + i;
    const uint32_t *s = pass == CLRELU__PASS_BWD ? (const uint32_t *)in1 + i : NULL;
    const uint32_t word = pass == CLRELU__PASS_BWD_MASK ? ((const uint32_t *)in1)[i / 32] : 0;
    uint32_t *y = (uint32_t *)out + i, bits;
    if (whole) {
        bits = leaky32_step(pass, g, s, word, y, slope, k, any, nt);
    } else {
        _Alignas(32) uint32_t tg[32] = {0}, ts[32] = {0}, ty[32];
        memcpy(tg, g, left * 4);
        if (s)
            memcpy(ts, s, left * 4);
        bits = leaky32_step(pass, tg, ts, word, ty, slope, k, any, 0) & low_bits(left);
        memcpy(y, ty, left * 4);
    }
    if (pass == CLRELU__PASS_FWD_MASK)
        mask[i / 32] = bits;
}

#define SUBN_VF           __m256
#define SUBN_SET1         _mm256_set1_ps
#define SUBN_ANY_T        __m256i
#define SUBN_NONE         _mm256_setzero_si256()
#define SUBN_ANY(any)     (!_mm256_testz_si256((any), (any)))
#define SUBN_ALL32        32
#define SUBN_TAIL32(left) (left)
#define SUBN_LEAN_OK      leaky_slope_is_lean
#define SUBN_LEAN_FWD     leaky_lean_fwd
#include "leaky32.inc"

/* ---------------------------------------------------------------------------------------------
 * f64 without blending (4 lanes per register, 8 registers a mask word): cr_fwd64, cr_pass64,
 * cr_grad64, the product (double)slope * x on the FMA unit.
 * ------------------------------------------------------------------------------------------ */
typedef struct consts64 {
    __m256i c_out, c_pass;
    __m256d slope;
} consts64;

static inline __m256i sel64_v(__m256i mask, __m256i a, __m256i b) { /* mask ? a : b */
    return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(b), _mm256_castsi256_pd(a),
                                                _mm256_castsi256_pd(mask)));
}

static inline __m256i mul64_v(__m256d slope, __m256i v) {
    const __m256d r =
        _mm256_fmadd_pd(slope, _mm256_castsi256_pd(v), _mm256_set1_pd(clrelu__neg_zero_d));
    return _mm256_castpd_si256(
        _mm256_blendv_pd(r, _mm256_castsi256_pd(_mm256_set1_epi64x(0x7ff8000000000000LL)),
                         _mm256_cmp_pd(r, r, _CMP_UNORD_Q)));
}

static inline __m256i fwd64_v(int op, __m256i b, const consts64 *k, __m256i *pass) {
    const __m256i inf = _mm256_set1_epi64x(0x7ff0000000000000LL);
    const __m256i nan =
        _mm256_cmpgt_epi64(_mm256_and_si256(b, _mm256_set1_epi64x(0x7fffffffffffffffLL)), inf);
    const __m256i gt0 = _mm256_andnot_si256(_mm256_cmpgt_epi64(b, inf),
                                            _mm256_cmpgt_epi64(b, _mm256_setzero_si256()));
    const __m256i keep = _mm256_or_si256(nan, gt0);
    if (op == CR_LEAKY) {
        *pass = gt0;
        return sel64_v(keep, b, mul64_v(k->slope, b));
    }
    if (op == CR_CLIPPED) {
        *pass = _mm256_or_si256(nan, _mm256_and_si256(gt0, _mm256_cmpgt_epi64(k->c_pass, b)));
        const __m256i pos = sel64_v(_mm256_cmpgt_epi64(k->c_out, b), b, k->c_out);
        return _mm256_and_si256(keep, sel64_v(nan, b, pos));
    }
    *pass = keep;
    return _mm256_and_si256(b, keep);
}

static inline __m256i grad64_v(int op, __m256i pass, __m256i g, const consts64 *k) {
    return op == CR_LEAKY ? sel64_v(pass, g, mul64_v(k->slope, g)) : _mm256_and_si256(g, pass);
}

static inline __m256i bits64_v(uint32_t bits) {
    const __m256i lane = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), lane), lane);
}

ALWAYS_INLINE uint32_t fwd64_step(int op, const uint64_t *x, uint64_t *y, const consts64 *k,
                                  int nt) {
    uint32_t word = 0;
    for (int q = 0; q < 8; ++q) {
        __m256i pass;
        const __m256i v = fwd64_v(op, _mm256_loadu_si256((const __m256i *)(x + 4 * q)), k, &pass);
        store256(y + 4 * q, v, nt);
        word |= (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(pass)) << (4 * q);
    }
    return word;
}

ALWAYS_INLINE void bwd64_step(int op, const uint64_t *dy, const uint64_t *s, uint64_t *dx,
                              const consts64 *k, int nt) {
    for (int q = 0; q < 8; ++q) {
        __m256i pass;
        (void)fwd64_v(op, _mm256_loadu_si256((const __m256i *)(s + 4 * q)), k, &pass);
        const __m256i g = _mm256_loadu_si256((const __m256i *)(dy + 4 * q));
        store256(dx + 4 * q, grad64_v(op, pass, g, k), nt);
    }
}

ALWAYS_INLINE void bwdm64_step(int op, const uint64_t *dy, uint32_t word, uint64_t *dx,
                               const consts64 *k, int nt) {
    for (int q = 0; q < 8; ++q) {
        const __m256i g = _mm256_loadu_si256((const __m256i *)(dy + 4 * q));
        store256(dx + 4 * q, grad64_v(op, bits64_v(word >> (4 * q)), g, k), nt);
    }
}

static inline consts64 consts64_make(uint64_t c_out, uint64_t c_pass, float slope) {
    consts64 k;
    k.c_out = _mm256_set1_epi64x((long long)c_out);
    k.c_pass = _mm256_set1_epi64x((long long)c_pass);
    k.slope = _mm256_set1_pd((double)slope);
    return k;
}

ALWAYS_INLINE void fast_bits64_fwd(int op, size_t n, const void *in, void *out, uint32_t *mask,
                                   uint64_t c_out, uint64_t c_pass, float slope, int stream) {
    const consts64 k = consts64_make(c_out, c_pass, slope);
    const uint64_t *x = in;
    uint64_t *y = out;
    const int nt = stream && !((uintptr_t)out & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint32_t word = fwd64_step(op, x + i, y + i, &k, nt);
        if (mask)
            mask[i / 32] = word;
    }
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint64_t a[32] = {0}, b[32];
        const size_t left = n - i;
        memcpy(a, x + i, left * 8);
        uint32_t word = fwd64_step(op, a, b, &k, 0);
        memcpy(y + i, b, left * 8);
        if (mask)
            mask[i / 32] = word & low_bits(left);
    }
}

ALWAYS_INLINE void fast_bits64_bwd(int op, size_t n, const void *dy, const void *s, void *dx,
                                   uint64_t c_pass, float slope, int stream) {
    const consts64 k = consts64_make(c_pass, c_pass, slope);
    const uint64_t *g = dy, *a = s;
    uint64_t *d = dx;
    const int nt = stream && !((uintptr_t)dx & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        bwd64_step(op, g + i, a + i, d + i, &k, nt);
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint64_t tg[32] = {0}, ta[32] = {0}, td[32];
        const size_t left = n - i;
        memcpy(tg, g + i, left * 8);
        memcpy(ta, a + i, left * 8);
        bwd64_step(op, tg, ta, td, &k, 0);
        memcpy(d + i, td, left * 8);
    }
}

ALWAYS_INLINE void fast_bits64_bwdm(int op, size_t n, const void *dy, const uint32_t *words,
                                    void *dx, float slope, int stream) {
    const consts64 k = consts64_make(0, 0, slope);
    const uint64_t *g = dy;
    uint64_t *d = dx;
    const int nt = stream && !((uintptr_t)dx & 63);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        bwdm64_step(op, g + i, words[i / 32], d + i, &k, nt);
    if (nt)
        _mm_sfence();
    if (i < n) {
        _Alignas(32) uint64_t tg[32] = {0}, td[32];
        const size_t left = n - i;
        memcpy(tg, g + i, left * 8);
        bwdm64_step(op, tg, words[i / 32], td, &k, 0);
        memcpy(d + i, td, left * 8);
    }
}

#define CLRELU_HAS_FAST_BITS64 1

/* Non-temporal copy out of an L1 buffer (kernels.inc's stream_blocks, for the f64 blends): both
 * 64-byte aligned; the part past the last whole line by plain stores. */
static inline void nt_copy(void *dst, const void *src, size_t bytes) {
    size_t i = 0;
    for (; i + 64 <= bytes; i += 64) {
        _mm256_stream_si256((__m256i *)((char *)dst + i),
                            _mm256_load_si256((const __m256i *)((const char *)src + i)));
        _mm256_stream_si256((__m256i *)((char *)dst + i + 32),
                            _mm256_load_si256((const __m256i *)((const char *)src + i + 32)));
    }
    if (i < bytes)
        memcpy((char *)dst + i, (const char *)src + i, bytes - i);
}

static inline void nt_fence(void) {
    _mm_sfence();
}

#define CLRELU_HAS_NT         1
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_avx2
#define CLRELU_CPU_ISA_NAME   "avx2"
#define CLRELU_HAS_FAST       1
#include "kernels.inc"
