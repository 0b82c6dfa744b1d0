/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops on host arrays, on the CPU path: the tensor is walked as the device kernels
 * walk it (runs of one channel, rows of channels, or rows merged over the flat tensor), in
 * blocks of up to BLK elements through the ISA's element loops (cpu/channel.inc), split over
 * the context's threads; the sums of the backward follow the order clrelu.h documents, as
 * kernels/channel.cl's ch_bsum and ch_total do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "cpu/channel_cpu.h"
#include "relu_math.h"

#define BLK              512  /* elements per pass of the element loops: L1-resident buffers */
#define UNIT             8192 /* elements of a row per unit of work split over threads */
#define SUM_CHUNK        4096 /* k of one channel per unit of the sums (16 blocks of 256) */
#define MERGED_MIN       512  /* a merged row holds at least this many elements */
#define PARTS_PER_THREAD 4

/* Values in the compute domain, 4 or 8 bytes. */
typedef union dom {
    uint32_t u32;
    uint64_t u64;
} dom;

typedef struct job {
    const clrelu__cpu_channel *k;
    const clrelu__ch_call *call;
    clrelu__ch_shape s; /* the effective shape */
    clrelu__ch_params prm;
    int dt, op, bl;
    size_t es, ds; /* storage and domain bytes */
    const unsigned char *in, *src, *z;
    unsigned char *out;
    /* the per-channel arrays in the compute domain (NULL when absent): B (bias), A (slopes),
     * and for merged rows the same repeated over a row (EB, EA) */
    const unsigned char *B, *A, *EB, *EA;
    /* the walk: rows of width elements (RUNS: row = (o, c); COLS: row = o; MERGED: flat) */
    int mode;
    size_t rows, width, total, units_per_row;
    /* sums: per channel and block (channel-major), in the compute type (float or double) */
    size_t blocks;
    void *pg, *pp;
    int failed; /* a part could not get its scratch memory */
    int stream; /* the arrays are larger than the last-level cache: non-temporal stores */
    /* RUNS whose values are the input itself (no bias, no z): each run is the family's kernel
     * with the channel's slope (PReLU as leaky), NULL otherwise; fam_prm its parameters. */
    clrelu__cpu_fn family;
    clrelu__params fam_prm;
} job;

enum { RUNS, COLS, MERGED };

static const unsigned char *at(const unsigned char *p, size_t i, size_t size) {
    return p ? p + i * size : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * The element blocks
 * ------------------------------------------------------------------------------------------ */

/* s for m elements from element e of the tensors: x (or src), + bias (b: per element, or one
 * value for all when one), + z, decoded; returns a pointer to the domain values (the input itself
 * when nothing is added to f32 or f64). sbuf and tbuf hold BLK domain values. */
static const void *sum_block(const job *j, const unsigned char *x, size_t e, size_t m,
                             const void *b, int one, void *sbuf, void *tbuf) {
    const clrelu__cpu_channel *k = j->k;
    const int wide = j->ds == 8, direct = j->dt == CLRELU_DTYPE_F32 || j->dt == CLRELU_DTYPE_F64;
    const void *s = x + e * j->es;
    if (!direct) {
        k->dec[j->dt](m, s, sbuf);
        s = sbuf;
    }
    if (b) {
        k->add[wide](m, sbuf, s, b, one);
        s = sbuf;
    }
    if (j->z && !j->call->from_y) {
        const void *zv = j->z + e * j->es;
        if (!direct) {
            k->dec[j->dt](m, zv, tbuf);
            zv = tbuf;
        }
        k->add[wide](m, sbuf, s, zv, 0);
        s = sbuf;
    }
    return s;
}

/* One block of m elements at element e, with the per-channel values b (bias) and a (slopes) per
 * element, or one value each for all when one: forward into out, or backward into dx with the
 * unblended gradient into g and PReLU's slope terms into p (BLK domain values each, or NULL). */
static void run_block(const job *j, size_t e, size_t m, const void *b, const void *a, int one,
                      void *g, void *p) {
    _Alignas(64) uint64_t sbuf[BLK], tbuf[BLK], dbuf[BLK], obuf[BLK];
    const int has_b = j->call->has_bias;
    unsigned char *dst = j->out + e * j->es;
    /* Streaming: the output goes to an L1 buffer (holding the old output when blending reads
     * it), then to memory without the read a plain store makes of each line. */
    void *out = dst;
    if (j->stream) {
        if (j->bl == CR_BLEND)
            memcpy(obuf, dst, m * j->es);
        out = obuf;
    }
    if (!j->call->backward) {
        const void *s = sum_block(j, j->in, e, m, has_b ? b : NULL, one, sbuf, tbuf);
        j->k->fwd[j->op][j->dt][j->bl](m, s, a, one, out, &j->prm);
    } else {
        const void *s = sum_block(j, j->src, e, m, has_b ? b : NULL, one, sbuf, tbuf);
        const void *dy = j->in + e * j->es;
        if (j->dt != CLRELU_DTYPE_F32 && j->dt != CLRELU_DTYPE_F64) {
            j->k->dec[j->dt](m, dy, dbuf);
            dy = dbuf;
        }
        j->k->bwd[j->op][j->dt][j->bl](m, s, dy, a, one, out, g, p, &j->prm);
    }
    if (j->stream)
        j->k->store_nt(dst, obuf, m * j->es);
}

/* Elements [c0, c1) of row r. */
static void run_row_piece(const job *j, size_t r, size_t c0, size_t c1) {
    const clrelu__ch_shape *s = &j->s;
    if (j->mode == RUNS) { /* one channel: one slope and bias for the row */
        const size_t ch = r % s->chans, base = r / s->chans * s->pitch + ch * s->inner;
        if (j->family) {
            clrelu__params prm = j->fam_prm;
            if (j->op == CR_PRELU) /* the slope in the f32 domain (no f64 here) */
                memcpy(&prm.slope, j->A + ch * j->ds, sizeof prm.slope);
            const size_t e = (base + c0) * j->es;
            j->family(c1 - c0, j->in + e, j->call->backward ? j->src + e : NULL, j->out + e, NULL,
                      &prm);
            return;
        }
        for (size_t c = c0; c < c1; c += BLK)
            run_block(j, base + c, c1 - c < BLK ? c1 - c : BLK, at(j->B, ch, j->ds),
                      at(j->A, ch, j->ds), 1, NULL, NULL);
        return;
    }
    const size_t base = j->mode == COLS ? r * s->pitch : r * j->width;
    const unsigned char *B = j->mode == MERGED ? j->EB : j->B;
    const unsigned char *A = j->mode == MERGED ? j->EA : j->A;
    for (size_t c = c0; c < c1; c += BLK)
        run_block(j, base + c, c1 - c < BLK ? c1 - c : BLK, at(B, c, j->ds), at(A, c, j->ds), 0,
                  NULL, NULL);
}

/* The elements of row r that exist (a merged tensor's last row is short). */
static size_t row_len(const job *j, size_t r) {
    return j->mode == MERGED && j->total - r * j->width < j->width ? j->total - r * j->width
                                                                   : j->width;
}

static void elements_part(void *arg, unsigned part, unsigned parts) {
    const job *j = arg;
    const size_t units = j->rows * j->units_per_row;
    const size_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    for (size_t u = u0; u < u1; ++u) {
        const size_t r = u / j->units_per_row, q = u % j->units_per_row;
        const size_t len = row_len(j, r), c0 = q * UNIT;
        if (c0 < len)
            run_row_piece(j, r, c0, c0 + UNIT < len ? c0 + UNIT : len);
    }
    if (j->stream)
        j->k->fence();
    clrelu__fpenv_leave(&env);
}

/* ---------------------------------------------------------------------------------------------
 * The sums (backward with dbias or dslopes)
 * ------------------------------------------------------------------------------------------ */

/* acc[i] = acc[i] + v[i] for n values of the compute domain, one rounding each. */
static void accumulate(int wide, void *acc, const void *v, size_t n) {
    if (wide) {
        double *a = acc;
        const uint64_t *b = v;
        for (size_t i = 0; i < n; ++i)
            a[i] = a[i] + CR_F64(b[i]);
    } else {
        float *a = acc;
        const uint32_t *b = v;
        for (size_t i = 0; i < n; ++i)
            a[i] = a[i] + CR_F32(b[i]);
    }
}

/* Channels last (inner = 1): a unit is a block of 256 rows, all channels at once. */
static void sums_rows_part(void *arg, unsigned part, unsigned parts) {
    job *j = arg;
    const clrelu__ch_shape *s = &j->s;
    const int wide = j->ds == 8;
    const size_t u0 = j->blocks * part / parts, u1 = j->blocks * (part + 1) / parts;
    void *acc_g = calloc(s->chans, j->ds), *acc_p = calloc(s->chans, j->ds);
    if (!acc_g || !acc_p) {
        j->failed = 1;
        free(acc_g);
        free(acc_p);
        return;
    }
    _Alignas(64) uint64_t g[BLK], p[BLK];
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    for (size_t blk = u0; blk < u1; ++blk) {
        memset(acc_g, 0, s->chans * j->ds);
        memset(acc_p, 0, s->chans * j->ds);
        const size_t r1 =
            (blk + 1) * CLRELU__CH_BLOCK < s->outer ? (blk + 1) * CLRELU__CH_BLOCK : s->outer;
        for (size_t r = blk * CLRELU__CH_BLOCK; r < r1; ++r) {
            for (size_t c = 0; c < s->chans; c += BLK) {
                const size_t m = s->chans - c < BLK ? s->chans - c : BLK;
                run_block(j, r * s->pitch + c, m, at(j->B, c, j->ds), at(j->A, c, j->ds), 0, g, p);
                accumulate(wide, (unsigned char *)acc_g + c * j->ds, g, m);
                if (j->op == CR_PRELU)
                    accumulate(wide, (unsigned char *)acc_p + c * j->ds, p, m);
            }
        }
        for (size_t c = 0; c < s->chans; ++c) {
            memcpy((unsigned char *)j->pg + (c * j->blocks + blk) * j->ds,
                   (unsigned char *)acc_g + c * j->ds, j->ds);
            memcpy((unsigned char *)j->pp + (c * j->blocks + blk) * j->ds,
                   (unsigned char *)acc_p + c * j->ds, j->ds);
        }
    }
    if (j->stream)
        j->k->fence();
    clrelu__fpenv_leave(&env);
    free(acc_g);
    free(acc_p);
}

/* Sums each block of 256 values of v (count values, the last block short) in order from +0:
 * the blocks are independent, so up to 16 are summed side by side. */
static void block_sums(int wide, const void *v, size_t count, void *out) {
    const size_t full = count / CLRELU__CH_BLOCK, blocks = full + (count % CLRELU__CH_BLOCK != 0);
    if (wide) {
        const uint64_t *b = v;
        double acc[SUM_CHUNK / CLRELU__CH_BLOCK] = {0};
        for (size_t t = 0; t < CLRELU__CH_BLOCK; ++t)
            for (size_t q = 0; q < full; ++q)
                acc[q] = acc[q] + CR_F64(b[q * CLRELU__CH_BLOCK + t]);
        for (size_t t = full * CLRELU__CH_BLOCK; t < count; ++t)
            acc[full] = acc[full] + CR_F64(b[t]);
        memcpy(out, acc, blocks * sizeof acc[0]);
    } else {
        const uint32_t *b = v;
        float acc[SUM_CHUNK / CLRELU__CH_BLOCK] = {0};
        for (size_t t = 0; t < CLRELU__CH_BLOCK; ++t)
            for (size_t q = 0; q < full; ++q)
                acc[q] = acc[q] + CR_F32(b[q * CLRELU__CH_BLOCK + t]);
        for (size_t t = full * CLRELU__CH_BLOCK; t < count; ++t)
            acc[full] = acc[full] + CR_F32(b[t]);
        memcpy(out, acc, blocks * sizeof acc[0]);
    }
}

/* Channels first (inner > 1): a unit is SUM_CHUNK consecutive k of one channel, walked run by
 * run; its contributions gathered in k order, then summed block by block. */
static void sums_runs_part(void *arg, unsigned part, unsigned parts) {
    job *j = arg;
    const clrelu__ch_shape *s = &j->s;
    const int wide = j->ds == 8;
    const size_t per_chan = s->count / SUM_CHUNK + (s->count % SUM_CHUNK != 0);
    const size_t units = s->chans * per_chan;
    const size_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
    _Alignas(64) uint64_t tg[SUM_CHUNK], tp[SUM_CHUNK];
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    for (size_t u = u0; u < u1; ++u) {
        const size_t c = u / per_chan, k0 = u % per_chan * SUM_CHUNK;
        const size_t k1 = k0 + SUM_CHUNK < s->count ? k0 + SUM_CHUNK : s->count;
        for (size_t k = k0; k < k1;) {
            const size_t o = k / s->inner, i = k % s->inner;
            size_t m = s->inner - i < k1 - k ? s->inner - i : k1 - k;
            m = m < BLK ? m : BLK;
            unsigned char *g = (unsigned char *)tg + (k - k0) * j->ds;
            unsigned char *p = (unsigned char *)tp + (k - k0) * j->ds;
            run_block(j, o * s->pitch + c * s->inner + i, m, at(j->B, c, j->ds), at(j->A, c, j->ds),
                      1, g, p);
            k += m;
        }
        const size_t b0 = k0 / CLRELU__CH_BLOCK;
        block_sums(wide, tg, k1 - k0, (unsigned char *)j->pg + (c * j->blocks + b0) * j->ds);
        if (j->op == CR_PRELU)
            block_sums(wide, tp, k1 - k0, (unsigned char *)j->pp + (c * j->blocks + b0) * j->ds);
    }
    if (j->stream)
        j->k->fence();
    clrelu__fpenv_leave(&env);
}

/* out[c] = alpha * (the blocks' sums in order from +0) + beta * out[c], canonical NaN, stored. */
static void finish_sums(const job *j, const void *part, unsigned char *out) {
    const clrelu__ch_shape *s = &j->s;
    const float alpha = j->prm.alpha, beta = j->prm.beta;
    for (size_t c = 0; c < s->chans; ++c) {
        dom old = {0};
        if (j->bl == CR_BLEND)
            j->k->dec[j->dt](1, out + c * j->es, &old);
        if (j->ds == 8) {
            const double *v = (const double *)part + c * j->blocks;
            double sum = 0;
            for (size_t b = 0; b < j->blocks; ++b)
                sum = sum + v[b];
            if (j->bl != CR_PLAIN) {
                double p = (double)alpha * sum;
                if (j->bl == CR_BLEND) {
                    double q = (double)beta * CR_F64(old.u64);
                    p = p + q;
                }
                sum = p;
            }
            const uint64_t r = cr_canon64(CR_U64(sum));
            memcpy(out + c * 8, &r, 8);
        } else {
            const float *v = (const float *)part + c * j->blocks;
            float sum = 0;
            for (size_t b = 0; b < j->blocks; ++b)
                sum = sum + v[b];
            if (j->bl != CR_PLAIN) {
                float p = alpha * sum;
                if (j->bl == CR_BLEND) {
                    float q = beta * CR_F32(old.u32);
                    p = p + q;
                }
                sum = p;
            }
            const uint32_t r = cr_canon32(CR_U32(sum));
            if (j->dt == CLRELU_DTYPE_F32) {
                memcpy(out + c * 4, &r, 4);
            } else {
                const uint16_t h =
                    (uint16_t)(j->dt == CLRELU_DTYPE_F16 ? cr_f32_to_f16(r) : cr_f32_to_bf16(r));
                memcpy(out + c * 2, &h, 2);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The calls
 * ------------------------------------------------------------------------------------------ */

/* Threads for a call moving bytes, as host_api.c decides for the family. */
static unsigned threads_for(const clrelu_context *ctx, size_t bytes) {
    if (ctx->cpu_threads <= 1)
        return 1;
    const size_t half = ctx->thread_min_bytes / 2;
    const size_t t = bytes / (half ? half : 1);
    return t < 2 ? 1 : t < ctx->cpu_threads ? (unsigned)t : ctx->cpu_threads;
}

static void run_parts(clrelu_context *ctx, clrelu__part_fn fn, job *j, size_t units, size_t bytes) {
    unsigned threads = threads_for(ctx, bytes);
    size_t parts = (size_t)threads * PARTS_PER_THREAD;
    if (parts > units)
        parts = units ? units : 1;
    if (parts > CLRELU__MAX_PARTS)
        parts = CLRELU__MAX_PARTS;
    if (threads > parts)
        threads = (unsigned)parts;
    if (threads > 1) {
        atomic_fetch_add_explicit(&ctx->threaded_calls, 1, memory_order_relaxed);
        clrelu__cpu_parallel(threads, (unsigned)parts, fn, j);
    } else {
        for (size_t p = 0; p < parts; ++p)
            fn(j, (unsigned)p, (unsigned)parts);
    }
}

/* A per-channel array in the compute domain (n values), or NULL when absent or out of memory
 * (*oom then set). */
static unsigned char *decode_channels(const job *j, const void *p, size_t n, int *oom) {
    if (!p)
        return NULL;
    unsigned char *d = malloc(n * j->ds);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    j->k->dec[j->dt](n, p, d);
    return d;
}

/* The per-channel values of each element of a merged row (width elements: whole periods of
 * channels x inner). */
static unsigned char *expand(const job *j, const unsigned char *v, int *oom) {
    if (!v)
        return NULL;
    unsigned char *d = malloc(j->width * j->ds);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < j->width; ++i)
        memcpy(d + i * j->ds, v + i / j->s.inner % j->s.chans * j->ds, j->ds);
    return d;
}

/* The argument's name as the call spells it (PReLU's backward calls its source x). */
static const char *name_of(int role, int backward, int prelu_only) {
    return role == CH_ARG_SRC && prelu_only ? "x" : clrelu__ch_name(role, backward);
}

static clrelu_status host_run(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                              const clrelu_layout *layout, int backward, int prelu_only,
                              const void *const ptr[CH_ARGS]) {
    int given[CH_ARGS];
    for (int r = 0; r < CH_ARGS; ++r)
        given[r] = ptr[r] != NULL;
    clrelu__ch_call call;
    clrelu_status st = clrelu__ch_check(ctx, fn, desc, layout, backward, prelu_only, given, &call);
    if (st != CLRELU_OK)
        return st;
    const size_t es = call.op.elsize;
    size_t span[CH_ARGS];
    uintptr_t lo[CH_ARGS];
    for (int r = 0; r < CH_ARGS; ++r) {
        if (!given[r])
            continue;
        const char *name = name_of(r, backward, prelu_only);
        if (!ptr[r])
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
        if ((uintptr_t)ptr[r] % es)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (%p) is not aligned to its %zu-byte elements", fn, name,
                                ptr[r], es);
        span[r] = clrelu__ch_is_tensor(r) ? call.shape.span
                  : call.shape.empty      ? 0
                                          : call.shape.chans;
        if (span[r] > SIZE_MAX / es || (uintptr_t)ptr[r] > UINTPTR_MAX - span[r] * es)
            return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                                "%s: %s spans %zu elements: too many bytes", fn, name, span[r]);
        lo[r] = (uintptr_t)ptr[r];
    }
    /* An output shares memory with a tensor input only exactly (in place); a per-channel output
     * with nothing. */
    for (int r = 0; r < CH_ARGS; ++r) {
        if (!given[r] || !clrelu__ch_is_output(r) || !span[r])
            continue;
        for (int q = 0; q < CH_ARGS; ++q) {
            if (q == r || !given[q] || !span[q])
                continue;
            const uintptr_t re = lo[r] + span[r] * es, qe = lo[q] + span[q] * es;
            const int in_place = r == CH_ARG_OUT && clrelu__ch_is_tensor(q) && lo[r] == lo[q];
            if (in_place || lo[r] >= qe || lo[q] >= re)
                continue;
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (%p) overlaps %s (%p) (only %s may share a tensor "
                                "input's elements, at the same address)",
                                fn, name_of(r, backward, prelu_only), ptr[r],
                                name_of(q, backward, prelu_only), ptr[q],
                                name_of(CH_ARG_OUT, backward, prelu_only));
        }
    }
    if (call.shape.empty)
        return CLRELU_OK;

    job j;
    memset(&j, 0, sizeof j);
    j.k = clrelu__cpu_channel_for(ctx->cpu->isa);
    j.call = &call;
    j.dt = call.op.dtype;
    j.op = call.op.op;
    j.bl = call.op.blend;
    j.es = es;
    j.ds = j.dt == CLRELU_DTYPE_F64 ? 8 : 4;
    const clrelu__params *pr = &call.op.params;
    j.prm = (clrelu__ch_params){pr->slope,       pr->alpha,      pr->beta,       pr->ceil_out32,
                                pr->ceil_pass32, pr->ceil_out64, pr->ceil_pass64};
    j.in = ptr[CH_ARG_IN];
    j.src = ptr[CH_ARG_SRC];
    j.z = call.has_z ? ptr[CH_ARG_Z] : NULL;
    j.out = (unsigned char *)(uintptr_t)ptr[CH_ARG_OUT];
    j.s = clrelu__ch_effective_shape(&call.shape);
    const clrelu__ch_shape *s = &j.s;
    int oom = 0;
    unsigned char *B = decode_channels(&j, call.has_bias ? ptr[CH_ARG_BIAS] : NULL, s->chans, &oom);
    unsigned char *A =
        decode_channels(&j, j.op == CR_PRELU ? ptr[CH_ARG_SLOPES] : NULL, s->chans, &oom);
    unsigned char *EB = NULL, *EA = NULL;
    j.B = B;
    j.A = A;
    const size_t tensors = backward ? (call.has_z ? 4 : 3) : (call.has_z ? 3 : 2);
    const size_t n_el = s->outer * s->chans * s->inner;
    const size_t bytes = n_el <= SIZE_MAX / es / tensors ? n_el * es * tensors : SIZE_MAX;
    j.stream = bytes >= ctx->stream_min_bytes;
    if (!oom && (!backward || (!call.want_g && !call.want_p))) {
        const int dense = s->outer == 1 || s->pitch == s->chans * s->inner;
        const size_t period = s->chans * s->inner;
        /* Short rows or runs of a dense tensor: whole periods merged into rows of at least
         * MERGED_MIN elements, with the per-channel values repeated over a row. */
        const int merge =
            dense && (s->inner == 1 ? s->chans < MERGED_MIN : s->inner < 64 && period <= 4096);
        if (merge) {
            j.mode = MERGED;
            j.width = (MERGED_MIN / period + (MERGED_MIN % period != 0)) * period;
            j.total = s->outer * period;
            j.rows = j.total / j.width + (j.total % j.width != 0);
            EB = expand(&j, B, &oom);
            EA = expand(&j, A, &oom);
            j.EB = EB;
            j.EA = EA;
        } else if (s->inner > 1) {
            j.mode = RUNS;
            j.rows = s->outer * s->chans;
            j.width = s->inner;
            /* A run whose values are the input itself is the family's op on a contiguous array:
             * its hand-written kernel (in registers for 16-bit, streaming its stores, the exact
             * route for subnormals) gives the same bits as the loops, relu_math.h's, PReLU being
             * leaky with the channel's slope (f32 domain: f64 PReLU keeps the loops). Not for
             * 32- and 64-bit values when streaming: a kernel that streams ends with a fence,
             * which per run cost more than it saved (f32 PReLU forward at 2^24, 2 threads:
             * 4655 us against the loops' 4217); 16-bit runs gain 2-3x even so. */
            if (!call.has_bias && (!call.has_z || call.from_y) && (!j.stream || j.es == 2) &&
                !(j.op == CR_PRELU && j.dt == CLRELU_DTYPE_F64) && (j.op != CR_PRELU || A)) {
                j.family = ctx->cpu->fn[backward ? CLRELU__PASS_BWD : CLRELU__PASS_FWD]
                                       [j.op == CR_PRELU ? CR_LEAKY : j.op][j.dt][j.bl];
                j.fam_prm = call.op.params;
                j.fam_prm.stream = j.stream;
                j.fam_prm.exact_entries = &ctx->exact_entries;
            }
        } else {
            j.mode = COLS;
            j.rows = s->outer;
            j.width = s->chans;
        }
        j.units_per_row = j.width / UNIT + (j.width % UNIT != 0);
        if (!oom)
            run_parts(ctx, elements_part, &j, j.rows * j.units_per_row, bytes);
    } else if (!oom) {
        j.blocks = s->count / CLRELU__CH_BLOCK + (s->count % CLRELU__CH_BLOCK != 0);
        if (j.blocks > SIZE_MAX / j.ds / s->chans) {
            free(B);
            free(A);
            return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW, "%s: the tensor is too large", fn);
        }
        j.pg = calloc(j.blocks * s->chans, j.ds);
        j.pp = calloc(j.blocks * s->chans, j.ds);
        oom = !j.pg || !j.pp;
        if (!oom && s->inner == 1)
            run_parts(ctx, sums_rows_part, &j, j.blocks, bytes);
        else if (!oom)
            run_parts(ctx, sums_runs_part, &j,
                      s->chans * (s->count / SUM_CHUNK + (s->count % SUM_CHUNK != 0)), bytes);
        oom = oom || j.failed;
        if (!oom) {
            clrelu__fpenv env;
            clrelu__fpenv_enter(&env);
            if (call.want_g)
                finish_sums(&j, j.pg, (unsigned char *)(uintptr_t)ptr[CH_ARG_DBIAS]);
            if (call.want_p)
                finish_sums(&j, j.pp, (unsigned char *)(uintptr_t)ptr[CH_ARG_DSLOPES]);
            clrelu__fpenv_leave(&env);
        }
        free(j.pg);
        free(j.pp);
    }
    free(B);
    free(A);
    free(EB);
    free(EA);
    if (oom)
        return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    return CLRELU_OK;
}

clrelu_status clrelu_residual_forward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                           const clrelu_layout *layout, const void *x,
                                           const void *bias, const void *z, const void *slopes,
                                           void *y) {
    const void *p[CH_ARGS] = {x, NULL, bias, z, slopes, y, NULL, NULL};
    return host_run(ctx, "clrelu_residual_forward_host", desc, layout, 0, 0, p);
}

clrelu_status clrelu_residual_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                            const clrelu_layout *layout, const void *dy,
                                            const void *src, const void *bias, const void *z,
                                            const void *slopes, void *dx, void *dbias,
                                            void *dslopes) {
    const void *p[CH_ARGS] = {dy, src, bias, z, slopes, dx, dbias, dslopes};
    return host_run(ctx, "clrelu_residual_backward_host", desc, layout, 1, 0, p);
}

clrelu_status clrelu_prelu_forward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                        const clrelu_layout *layout, const void *x,
                                        const void *slopes, void *y) {
    const void *p[CH_ARGS] = {x, NULL, NULL, NULL, slopes, y, NULL, NULL};
    return host_run(ctx, "clrelu_prelu_forward_host", desc, layout, 0, 1, p);
}

clrelu_status clrelu_prelu_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                         const clrelu_layout *layout, const void *dy, const void *x,
                                         const void *slopes, void *dx, void *dslopes) {
    const void *p[CH_ARGS] = {dy, x, NULL, NULL, slopes, dx, NULL, dslopes};
    return host_run(ctx, "clrelu_prelu_backward_host", desc, layout, 1, 1, p);
}
