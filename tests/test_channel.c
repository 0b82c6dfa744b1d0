/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops (PReLU and the residual epilogue, forward and backward with dbias and the
 * slopes' gradient) against the kit's reference, bit for bit, on the CPU path and on every
 * OpenCL device present: every op of the family and dtype, blending and accumulation, channel
 * counts 1, 2, 3, 31 and 1000, channels last and first with odd inners, pitches larger than a
 * row (the padding must stay untouched), offsets, special values in every array (the slopes
 * and the bias too), in place, from x and from y; the sums' documented order; threads; events;
 * and what the calls refuse.
 *   test_channel [--cpu-only]   (--cpu-only: the CPU path alone, for the per-ISA runs) */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* host/test_hooks.c, compiled in. */
void clrelu__set_thread_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
unsigned long clrelu__threaded_calls_for_testing(clrelu_context *ctx);
void clrelu__set_stream_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
size_t clrelu__programs_for_testing(clrelu_context *ctx);
/* The static library's hook: the device behaves as if it had no cl_khr_fp64. */
void clrelu__hide_fp64_for_testing(clrelu_context *ctx);

static const char *current_spec; /* NULL: the CPU path */

typedef struct fixture {
    clrelu_context *ctx;
    clrelu_context_info info;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || clrelu_context_create(&f->ctx, current_spec ? current_spec : "cpu") != CLRELU_OK)
        return -1;
    clrelu_context_get_info(f->ctx, &f->info, sizeof f->info);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->ctx);
    free(f);
    return 0;
}

static int on_device(void) {
    return current_spec != NULL;
}

/* A shape: outer x channels x inner, pad elements after each outer index, and the tensors'
 * element offset. */
typedef struct shape {
    size_t outer, chans, inner, pad, off;
} shape;

static const shape shapes[] = {
    /* channels last */
    {5, 1, 1, 0, 0},
    {7, 2, 1, 0, 1},
    {9, 3, 1, 0, 0},
    {33, 31, 1, 3, 4},
    {3, 1000, 1, 0, 0},
    {600, 3, 1, 0, 2},
    {300, 17, 1, 5, 3},
    {40, 64, 1, 0, 0},
    {5, 32, 1, 32, 0}, /* padded rows of whole vectors: ch_fwd_w, ch_bwd_w with a pitch */
    /* channels first */
    {2, 3, 49, 0, 0},
    {3, 31, 7, 0, 5},
    {1, 2, 1000, 0, 0},
    {2, 1, 513, 0, 16},
    {4, 5, 3, 2, 1},
    {1, 1000, 2, 0, 0},
    {3, 2, 300, 11, 3},
    {2, 4, 64, 0, 0},
    {3, 2, 64, 32, 0}, /* runs of whole vectors, padded */
};

static clrelu_layout layout_of(const shape *s) {
    clrelu_layout l = clrelu_layout_make(s->outer, s->chans, s->inner);
    l.pitch += s->pad;
    return l;
}

static size_t span_of(const clrelu_layout *l) {
    return l->outer && l->channels && l->inner ? (l->outer - 1) * l->pitch + l->channels * l->inner
                                               : 0;
}

/* An array in a host allocation: off elements of guard, n elements of data (random with
 * special values, the padding of a tensor included), 8 more of guard. On a device, a buffer of
 * the whole allocation. */
typedef struct arr {
    size_t off, n, total, es;
    unsigned char *host;
    cl_mem mem;
} arr;

static void arr_make(arr *a, size_t off, size_t n, clrelu_dtype dt, uint32_t seed) {
    a->es = clrelu_dtype_size(dt);
    a->off = off;
    a->n = n;
    a->total = off + n + 8;
    a->host = malloc(a->total * a->es);
    a->mem = NULL;
    assert_non_null(a->host);
    memset(a->host, 0xa5, a->total * a->es);
    kit_fill(dt, a->host + off * a->es, n, seed);
}

static void arr_copy(arr *to, const arr *from) {
    *to = *from;
    to->mem = NULL;
    to->host = malloc(from->total * from->es);
    assert_non_null(to->host);
    memcpy(to->host, from->host, from->total * from->es);
}

static void *ptr(const arr *a) {
    return a ? a->host + a->off * a->es : NULL;
}

static void arr_free(arr *a) {
    free(a->host);
    if (a->mem)
        clReleaseMemObject(a->mem);
    a->host = NULL;
    a->mem = NULL;
}

static cl_mem to_device(fixture *f, arr *a) {
    if (!a)
        return NULL;
    if (!a->mem) {
        cl_int err;
        a->mem = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                a->total * a->es, a->host, &err);
        assert_int_equal(err, CL_SUCCESS);
    }
    return a->mem;
}

static void from_device(fixture *f, arr *a) {
    assert_int_equal(clEnqueueReadBuffer(f->info.queue, a->mem, CL_TRUE, 0, a->total * a->es,
                                         a->host, 0, NULL, NULL),
                     CL_SUCCESS);
}

static void expect_same(const arr *got, const arr *want, const char *what) {
    if (memcmp(got->host, want->host, got->total * got->es) == 0)
        return;
    for (size_t i = 0; i < got->total; ++i) {
        if (memcmp(got->host + i * got->es, want->host + i * got->es, got->es) != 0) {
            uint64_t g = 0, w = 0;
            memcpy(&g, got->host + i * got->es, got->es);
            memcpy(&w, want->host + i * got->es, got->es);
            print_error("%s: element %zu (%zu past the offset) is 0x%llx, expected 0x%llx\n", what,
                        i, i - got->off, (unsigned long long)g, (unsigned long long)w);
            break;
        }
    }
    fail();
}

static int dtype_runs(const fixture *f, clrelu_dtype dt) {
    return dt != CLRELU_DTYPE_F64 || !on_device() || f->info.has_fp64;
}

static const clrelu_op ops[] = {CLRELU_OP_RELU, CLRELU_OP_LEAKY_RELU, CLRELU_OP_CLIPPED_RELU,
                                CLRELU_OP_PRELU};

static clrelu_desc make_desc(clrelu_op op, clrelu_dtype dt, const test_config *c) {
    clrelu_desc d = clrelu_desc_make(op, dt);
    d.negative_slope = c->slope;
    d.ceiling = c->ceiling;
    d.alpha = c->alpha;
    d.beta = c->beta;
    return d;
}

static const char *op_name(clrelu_op op) {
    static const char *const names[] = {"relu", "leaky", "clipped", "prelu"};
    return names[op];
}

/* ---------------------------------------------------------------------------------------------
 * Forward
 * ------------------------------------------------------------------------------------------ */

enum { OUT_SEPARATE, OUT_OVER_X, OUT_OVER_Z };

static void run_forward(fixture *f, const clrelu_desc *d, const shape *s, int has_bias, int has_z,
                        int sharing, uint32_t seed) {
    clrelu_layout l = layout_of(s);
    size_t span = span_of(&l);
    int prelu = d->op == CLRELU_OP_PRELU;
    arr x, z, y, bias, slopes, want;
    arr_make(&x, s->off, span, d->dtype, seed);
    arr_make(&z, s->off + 1, span, d->dtype, seed + 1);
    arr_make(&y, s->off + 2, span, d->dtype, seed + 2);
    arr_make(&bias, 2, s->chans, d->dtype, seed + 3);
    arr_make(&slopes, 3, s->chans, d->dtype, seed + 4);
    if (!has_z || sharing == OUT_OVER_Z)
        z.off = s->off; /* (for OUT_OVER_Z: the output and z share the offset) */
    arr *out = sharing == OUT_OVER_X ? &x : sharing == OUT_OVER_Z ? &z : &y;
    arr_copy(&want, out);
    /* The reference reads the inputs as they were, and writes its own copy of the output. */
    arr xs, zs;
    arr_copy(&xs, &x);
    arr_copy(&zs, &z);
    kit_residual_forward(d, &l, ptr(&xs), has_bias ? ptr(&bias) : NULL, has_z ? ptr(&zs) : NULL,
                         prelu ? ptr(&slopes) : NULL, ptr(&want));
    char what[200];
    snprintf(what, sizeof what,
             "forward %s %s %zux%zux%zu pad %zu off %zu%s%s%s (alpha %g beta %g slope %g)",
             kit_dtypes[d->dtype].name, op_name(d->op), s->outer, s->chans, s->inner, s->pad,
             s->off, has_bias ? " +bias" : "", has_z ? " +z" : "",
             sharing == OUT_OVER_X   ? " over x"
             : sharing == OUT_OVER_Z ? " over z"
                                     : "",
             (double)d->alpha, (double)d->beta, (double)d->negative_slope);
    clrelu_status st;
    if (on_device()) {
        cl_event done = NULL;
        cl_mem mx = to_device(f, &x), mz = has_z ? to_device(f, &z) : NULL;
        cl_mem mb = has_bias ? to_device(f, &bias) : NULL,
               ma = prelu ? to_device(f, &slopes) : NULL;
        cl_mem my = to_device(f, out);
        if (prelu && !has_bias && !has_z && (seed & 1))
            st = clrelu_prelu_forward(f->ctx, d, &l, mx, x.off, ma, slopes.off, my, out->off, 0,
                                      NULL, &done);
        else
            st = clrelu_residual_forward(f->ctx, d, &l, mx, x.off, mb, bias.off, mz, z.off, ma,
                                         slopes.off, my, out->off, 0, NULL, &done);
        if (st == CLRELU_OK) {
            assert_non_null(done);
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            from_device(f, out);
        }
    } else if (prelu && !has_bias && !has_z && (seed & 1)) {
        st = clrelu_prelu_forward_host(f->ctx, d, &l, ptr(&x), ptr(&slopes), ptr(out));
    } else {
        st = clrelu_residual_forward_host(f->ctx, d, &l, ptr(&x), has_bias ? ptr(&bias) : NULL,
                                          has_z ? ptr(&z) : NULL, prelu ? ptr(&slopes) : NULL,
                                          ptr(out));
    }
    if (st != CLRELU_OK) {
        print_error("%s: %s: %s\n", what, clrelu_status_name(st), clrelu_context_error(f->ctx));
        fail();
    }
    expect_same(out, &want, what);
    arr *all[] = {&x, &z, &y, &bias, &slopes, &want, &xs, &zs};
    for (size_t i = 0; i < ARRAY_LEN(all); ++i)
        arr_free(all[i]);
}

static void test_channel_forward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 1;
    for (size_t o = 0; o < ARRAY_LEN(ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!dtype_runs(f, kit_dtypes[t].dtype))
                continue;
            for (size_t c = 0; c < test_configs_count; ++c)
                for (size_t s = 0; s < ARRAY_LEN(shapes); ++s, ++seed) {
                    clrelu_desc d = make_desc(ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                    /* Every combination of bias and z over the shapes; all of them on the
                     * defaults. */
                    for (int k = 0; k < 4; ++k)
                        if (c == 0 || (int)((s + c) % 4) == k)
                            run_forward(f, &d, &shapes[s], k & 1, (k >> 1) & 1, OUT_SEPARATE,
                                        seed + 7u * (uint32_t)k);
                }
        }
}

static void test_channel_forward__in_place_over_x_and_z(void **state) {
    fixture *f = *state;
    uint32_t seed = 5000;
    for (size_t o = 0; o < ARRAY_LEN(ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!dtype_runs(f, kit_dtypes[t].dtype))
                continue;
            clrelu_desc d = make_desc(ops[o], kit_dtypes[t].dtype, &test_configs[t % 3]);
            for (size_t s = 0; s < ARRAY_LEN(shapes); s += 3, ++seed) {
                run_forward(f, &d, &shapes[s], 1, 1, OUT_OVER_X, seed);
                run_forward(f, &d, &shapes[s], 0, 1, OUT_OVER_Z, seed + 1);
            }
        }
}

/* ---------------------------------------------------------------------------------------------
 * Backward
 * ------------------------------------------------------------------------------------------ */

enum { DX_SEPARATE, DX_OVER_DY, DX_OVER_SRC, DX_OVER_Z };

static void run_backward(fixture *f, const clrelu_desc *d, const shape *s, int has_bias, int has_z,
                         int with_db, int with_da, int sharing, uint32_t seed) {
    clrelu_layout l = layout_of(s);
    size_t span = span_of(&l);
    int prelu = d->op == CLRELU_OP_PRELU, from_y = d->grad_from == CLRELU_GRAD_FROM_Y;
    arr dy, src, z, dx, bias, slopes, db, da, want, want_db, want_da;
    arr_make(&dy, s->off, span, d->dtype, seed);
    arr_make(&src, s->off + 3, span, d->dtype, seed + 1);
    arr_make(&z, s->off + 1, span, d->dtype, seed + 2);
    arr_make(&dx, s->off + 2, span, d->dtype, seed + 3);
    arr_make(&bias, 1, s->chans, d->dtype, seed + 4);
    arr_make(&slopes, 4, s->chans, d->dtype, seed + 5);
    arr_make(&db, 2, s->chans, d->dtype, seed + 6);
    arr_make(&da, 0, s->chans, d->dtype, seed + 7);
    if (sharing != DX_SEPARATE) /* in place: the same offset */
        dy.off = src.off = z.off = dx.off = s->off;
    if (from_y) { /* src: a forward output y = f(s) */
        arr x;
        arr_make(&x, src.off, span, d->dtype, seed + 8);
        clrelu_desc plain = *d;
        plain.alpha = 1.0f;
        plain.beta = 0.0f;
        kit_residual_forward(&plain, &l, ptr(&x), has_bias ? ptr(&bias) : NULL,
                             has_z ? ptr(&z) : NULL, NULL, ptr(&src));
        arr_free(&x);
    }
    arr *out = sharing == DX_OVER_DY    ? &dy
               : sharing == DX_OVER_SRC ? &src
               : sharing == DX_OVER_Z   ? &z
                                        : &dx;
    arr_copy(&want, out);
    arr_copy(&want_db, &db);
    arr_copy(&want_da, &da);
    arr dys, srcs, zs;
    arr_copy(&dys, &dy);
    arr_copy(&srcs, &src);
    arr_copy(&zs, &z);
    kit_residual_backward(d, &l, ptr(&dys), ptr(&srcs), has_bias ? ptr(&bias) : NULL,
                          has_z ? ptr(&zs) : NULL, prelu ? ptr(&slopes) : NULL, ptr(&want),
                          with_db ? ptr(&want_db) : NULL, with_da ? ptr(&want_da) : NULL);
    char what[220];
    snprintf(what, sizeof what,
             "backward %s %s from %s %zux%zux%zu pad %zu off %zu%s%s%s%s sharing %d (alpha %g "
             "beta %g slope %g)",
             kit_dtypes[d->dtype].name, op_name(d->op), from_y ? "y" : "x", s->outer, s->chans,
             s->inner, s->pad, s->off, has_bias ? " +bias" : "", has_z ? " +z" : "",
             with_db ? " dbias" : "", with_da ? " dslopes" : "", sharing, (double)d->alpha,
             (double)d->beta, (double)d->negative_slope);
    clrelu_status st;
    int short_form = prelu && !has_bias && !has_z && !with_db && (seed & 1);
    if (on_device()) {
        cl_event done = NULL;
        cl_mem mdy = to_device(f, &dy), msrc = to_device(f, &src);
        cl_mem mz = has_z ? to_device(f, &z) : NULL, mb = has_bias ? to_device(f, &bias) : NULL;
        cl_mem ma = prelu ? to_device(f, &slopes) : NULL, mdx = to_device(f, out);
        cl_mem mdb = to_device(f, &db), mda = to_device(f, &da);
        if (short_form)
            st = clrelu_prelu_backward(f->ctx, d, &l, mdy, dy.off, msrc, src.off, ma, slopes.off,
                                       mdx, out->off, with_da ? mda : NULL, da.off, 0, NULL, &done);
        else
            st = clrelu_residual_backward(f->ctx, d, &l, mdy, dy.off, msrc, src.off, mb, bias.off,
                                          mz, z.off, ma, slopes.off, mdx, out->off,
                                          with_db ? mdb : NULL, db.off, with_da ? mda : NULL,
                                          da.off, 0, NULL, &done);
        if (st == CLRELU_OK) {
            assert_non_null(done);
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            from_device(f, out);
            from_device(f, &db);
            from_device(f, &da);
        }
    } else if (short_form) {
        st = clrelu_prelu_backward_host(f->ctx, d, &l, ptr(&dy), ptr(&src), ptr(&slopes), ptr(out),
                                        with_da ? ptr(&da) : NULL);
    } else {
        st = clrelu_residual_backward_host(f->ctx, d, &l, ptr(&dy), ptr(&src),
                                           has_bias ? ptr(&bias) : NULL, has_z ? ptr(&z) : NULL,
                                           prelu ? ptr(&slopes) : NULL, ptr(out),
                                           with_db ? ptr(&db) : NULL, with_da ? ptr(&da) : NULL);
    }
    if (st != CLRELU_OK) {
        print_error("%s: %s: %s\n", what, clrelu_status_name(st), clrelu_context_error(f->ctx));
        fail();
    }
    expect_same(out, &want, what);
    expect_same(&db, &want_db, what); /* untouched when not wanted */
    expect_same(&da, &want_da, what);
    arr *all[] = {&dy, &src,  &z,       &dx,      &bias, &slopes, &db,
                  &da, &want, &want_db, &want_da, &dys,  &srcs,   &zs};
    for (size_t i = 0; i < ARRAY_LEN(all); ++i)
        arr_free(all[i]);
}

static void test_channel_backward__dx_and_sums_match_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 10000;
    for (size_t o = 0; o < ARRAY_LEN(ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!dtype_runs(f, kit_dtypes[t].dtype))
                continue;
            for (size_t c = 0; c < test_configs_count; ++c)
                for (int y = 0; y < 2; ++y) {
                    clrelu_desc d = make_desc(ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                    d.grad_from = y ? CLRELU_GRAD_FROM_Y : CLRELU_GRAD_FROM_X;
                    if (y && (d.op == CLRELU_OP_PRELU ||
                              (d.op == CLRELU_OP_LEAKY_RELU && !(d.negative_slope > 0))))
                        continue; /* refused: test_channel__refusals */
                    for (size_t s = 0; s < ARRAY_LEN(shapes); ++s, ++seed) {
                        unsigned k = (unsigned)(s + 3 * c + (size_t)y);
                        run_backward(f, &d, &shapes[s], k & 1, (k >> 1) & 1, (k + 1) % 3 != 0,
                                     d.op == CLRELU_OP_PRELU && k % 4 != 3, DX_SEPARATE, seed);
                    }
                }
        }
}

static void test_channel_backward__in_place(void **state) {
    fixture *f = *state;
    uint32_t seed = 20000;
    for (size_t o = 0; o < ARRAY_LEN(ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!dtype_runs(f, kit_dtypes[t].dtype))
                continue;
            clrelu_desc d = make_desc(ops[o], kit_dtypes[t].dtype, &test_configs[(t + o) % 3]);
            int prelu = d.op == CLRELU_OP_PRELU;
            for (size_t s = 1; s < ARRAY_LEN(shapes); s += 4, seed += 3) {
                run_backward(f, &d, &shapes[s], 1, 1, 1, prelu, DX_OVER_DY, seed);
                run_backward(f, &d, &shapes[s], 0, 1, 0, prelu, DX_OVER_SRC, seed + 1);
                run_backward(f, &d, &shapes[s], 1, 1, 1, 0, DX_OVER_Z, seed + 2);
            }
        }
}

/* ---------------------------------------------------------------------------------------------
 * The sums' order
 * ------------------------------------------------------------------------------------------ */

/* Finite values with full fractions and exponents spread over 2^-12..2^12 (f16: 2^-10..2^10),
 * negative and positive: their sums stay finite but round at almost every step, so that another
 * order would show in the bits. */
static void fill_finite(clrelu_dtype dt, unsigned char *p, size_t n, uint32_t seed) {
    uint32_t s = seed | 1u;
    for (size_t i = 0; i < n; ++i) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        uint32_t sign = s >> 31, e = (s >> 24) % 25, frac = s & 0x7fffff;
        uint32_t w = sign << 31 | (115 + e) << 23 | frac;
        uint16_t h;
        uint64_t d;
        switch (dt) {
        case CLRELU_DTYPE_F32:
            memcpy(p + 4 * i, &w, 4);
            break;
        case CLRELU_DTYPE_BF16:
            h = (uint16_t)(w >> 16);
            memcpy(p + 2 * i, &h, 2);
            break;
        case CLRELU_DTYPE_F16:
            h = (uint16_t)(sign << 15 | (5 + e % 21) << 10 | (frac >> 13));
            memcpy(p + 2 * i, &h, 2);
            break;
        case CLRELU_DTYPE_F64:
            d = (uint64_t)sign << 63 | (uint64_t)(1011 + e) << 52 | (uint64_t)frac << 29 |
                (s & 0x1fffffff);
            memcpy(p + 8 * i, &d, 8);
            break;
        }
    }
}

/* The plain sum of a channel's terms in k order, without blocks: another order, for showing
 * that the test can tell them apart. */
static float naive_f32_sum(const clrelu_layout *l, const float *dy, const float *x, size_t c,
                           float slope, int slopes_grad) {
    float sum = 0;
    for (size_t o = 0; o < l->outer; ++o)
        for (size_t i = 0; i < l->inner; ++i) {
            size_t e = o * l->pitch + c * l->inner + i;
            float g = x[e] > 0 ? dy[e] : slope * dy[e];
            float t = slopes_grad ? (x[e] > 0 ? 0.0f : x[e] * dy[e]) : g;
            sum = sum + t;
        }
    return sum;
}

/* dbias and the slopes' gradient in the fixed order (blocks of 256 k, then the blocks) on every
 * device and the CPU path, run after run, channels first and last. */
static void test_channel_backward__sums_in_the_documented_order(void **state) {
    fixture *f = *state;
    static const shape sum_shapes[] = {{3, 4, 700, 0, 0}, {1000, 40, 1, 0, 0}, {2, 1, 3000, 0, 0}};
    for (size_t t = 0; t < kit_dtypes_count; ++t) {
        clrelu_dtype dt = kit_dtypes[t].dtype;
        if (!dtype_runs(f, dt))
            continue;
        for (size_t sh = 0; sh < ARRAY_LEN(sum_shapes); ++sh) {
            clrelu_layout l = layout_of(&sum_shapes[sh]);
            size_t es = kit_dtypes[t].size, n = span_of(&l), cs = l.channels;
            unsigned char *dy = malloc(n * es), *x = malloc(n * es), *a = malloc(cs * es);
            unsigned char *dx = malloc(n * es), *db = malloc(cs * es), *da = malloc(cs * es);
            unsigned char *want_dx = malloc(n * es), *want_db = malloc(cs * es),
                          *want_da = malloc(cs * es);
            fill_finite(dt, dy, n, 3 + (uint32_t)t);
            fill_finite(dt, x, n, 5 + (uint32_t)t);
            fill_finite(dt, a, cs, 7 + (uint32_t)t);
            clrelu_desc d = clrelu_desc_make(CLRELU_OP_PRELU, dt);
            kit_residual_backward(&d, &l, dy, x, NULL, NULL, a, want_dx, NULL, want_da);
            clrelu_desc dl = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, dt);
            dl.negative_slope = 0.3f;
            unsigned char *want_dx2 = malloc(n * es);
            kit_residual_backward(&dl, &l, dy, x, NULL, NULL, NULL, want_dx2, want_db, NULL);
            for (int run = 0; run < 2; ++run) {
                clrelu_status st1, st2;
                memset(db, 0x5a, cs * es);
                memset(da, 0x5a, cs * es);
                if (on_device()) {
                    cl_int err;
                    cl_mem m[5];
                    const unsigned char *init[5] = {dy, x, a, NULL, NULL};
                    size_t sizes[5] = {n * es, n * es, cs * es, n * es, cs * es};
                    for (int i = 0; i < 5; ++i) {
                        m[i] =
                            clCreateBuffer(f->info.context,
                                           CL_MEM_READ_WRITE | (init[i] ? CL_MEM_COPY_HOST_PTR : 0),
                                           sizes[i], (void *)init[i], &err);
                        assert_int_equal(err, CL_SUCCESS);
                    }
                    cl_command_queue q = f->info.queue;
                    st1 = clrelu_prelu_backward(f->ctx, &d, &l, m[0], 0, m[1], 0, m[2], 0, m[3], 0,
                                                m[4], 0, 0, NULL, NULL);
                    if (st1 == CLRELU_OK) {
                        assert_int_equal(
                            clEnqueueReadBuffer(q, m[3], CL_TRUE, 0, n * es, dx, 0, NULL, NULL),
                            CL_SUCCESS);
                        assert_int_equal(
                            clEnqueueReadBuffer(q, m[4], CL_TRUE, 0, cs * es, da, 0, NULL, NULL),
                            CL_SUCCESS);
                    }
                    assert_memory_equal(dx, want_dx, n * es);
                    st2 = clrelu_residual_backward(f->ctx, &dl, &l, m[0], 0, m[1], 0, NULL, 0, NULL,
                                                   0, NULL, 0, m[3], 0, m[4], 0, NULL, 0, 0, NULL,
                                                   NULL);
                    if (st2 == CLRELU_OK) {
                        assert_int_equal(
                            clEnqueueReadBuffer(q, m[3], CL_TRUE, 0, n * es, dx, 0, NULL, NULL),
                            CL_SUCCESS);
                        assert_int_equal(
                            clEnqueueReadBuffer(q, m[4], CL_TRUE, 0, cs * es, db, 0, NULL, NULL),
                            CL_SUCCESS);
                    }
                    for (int i = 0; i < 5; ++i)
                        clReleaseMemObject(m[i]);
                } else {
                    st1 = clrelu_prelu_backward_host(f->ctx, &d, &l, dy, x, a, dx, da);
                    assert_memory_equal(dx, want_dx, n * es);
                    st2 = clrelu_residual_backward_host(f->ctx, &dl, &l, dy, x, NULL, NULL, NULL,
                                                        dx, db, NULL);
                }
                assert_int_equal(st1, CLRELU_OK);
                assert_int_equal(st2, CLRELU_OK);
                assert_memory_equal(dx, want_dx2, n * es);
                assert_memory_equal(da, want_da, cs * es);
                assert_memory_equal(db, want_db, cs * es);
            }
            if (dt == CLRELU_DTYPE_F32) {
                /* The sums are finite, and the plain order would have given other bits for some
                 * channel: the comparisons above really test the order. */
                int differs = 0;
                for (size_t c = 0; c < cs; ++c) {
                    float got_a, got_b, slope_c;
                    memcpy(&got_a, want_da + 4 * c, 4);
                    memcpy(&got_b, want_db + 4 * c, 4);
                    memcpy(&slope_c, a + 4 * c, 4);
                    assert_true(isfinite(got_a) && isfinite(got_b));
                    float na = naive_f32_sum(&l, (const float *)(const void *)dy,
                                             (const float *)(const void *)x, c, slope_c, 1);
                    float nb = naive_f32_sum(&l, (const float *)(const void *)dy,
                                             (const float *)(const void *)x, c, 0.3f, 0);
                    differs |= memcmp(&na, &got_a, 4) != 0 || memcmp(&nb, &got_b, 4) != 0;
                }
                assert_true(differs);
            }
            free(dy);
            free(x);
            free(a);
            free(dx);
            free(db);
            free(da);
            free(want_dx);
            free(want_dx2);
            free(want_db);
            free(want_da);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Threads (the CPU path), events and empty tensors
 * ------------------------------------------------------------------------------------------ */

/* The CPU path split over 3 threads with many parts (threshold lowered), with plain and with
 * non-temporal stores (threshold at 0): every way of walking the tensor and every sum split
 * must give the reference's bits. */
static void check_threads(fixture *f, int stream) {
    assert_int_equal(setenv("CLRELU_NUM_THREADS", "3", 1), 0);
    clrelu_context *ctx = NULL;
    clrelu_status st = clrelu_context_create(&ctx, "cpu");
    unsetenv("CLRELU_NUM_THREADS");
    assert_int_equal(st, CLRELU_OK);
    clrelu__set_thread_min_bytes_for_testing(ctx, 2048);
    if (stream)
        clrelu__set_stream_min_bytes_for_testing(ctx, 0);
    clrelu_context *saved = f->ctx;
    f->ctx = ctx;
    static const shape big[] = {{2000, 7, 1, 0, 0},
                                {9, 13, 700, 0, 1},
                                {1, 1, 40000, 0, 0},
                                {3000, 600, 1, 0, 0},
                                {700, 9, 5, 3, 0}};
    uint32_t seed = 30000 + 1000u * (uint32_t)stream;
    for (size_t s = 0; s < ARRAY_LEN(big); ++s)
        for (size_t o = 0; o < ARRAY_LEN(ops); ++o, seed += 2) {
            clrelu_dtype dt = kit_dtypes[(s + o) % kit_dtypes_count].dtype;
            clrelu_desc d = make_desc(ops[o], dt, &test_configs[s % 3]);
            run_forward(f, &d, &big[s], 1, 1, OUT_SEPARATE, seed);
            run_backward(f, &d, &big[s], 1, 1, 1, d.op == CLRELU_OP_PRELU, DX_SEPARATE, seed + 1);
            if (s == 1) /* in place, streaming over the input */
                run_forward(f, &d, &big[s], 0, 1, OUT_OVER_X, seed + 3);
        }
    assert_true(clrelu__threaded_calls_for_testing(ctx) > 0);
    f->ctx = saved;
    clrelu_context_release(ctx);
}

static void test_channel_cpu__threads_match_reference(void **state) {
    fixture *f = *state;
    if (on_device())
        return; /* the CPU path's concern */
    check_threads(f, 0);
    check_threads(f, 1);
}

static void test_channel_device__waits_and_signals_events(void **state) {
    fixture *f = *state;
    if (!on_device())
        return;
    clrelu_layout l = clrelu_layout_make(4, 3, 10);
    float x[120], a[3] = {0.5f, -2.0f, 0.0f}, y[120];
    for (int i = 0; i < 120; ++i)
        x[i] = (float)(i % 7) - 3.0f;
    cl_int err;
    cl_mem mx = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    cl_mem ma =
        clCreateBuffer(f->info.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof a, a, &err);
    cl_mem my = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, sizeof y, NULL, &err);
    /* x arrives after a user event: the op must wait for the write. */
    cl_event gate = clCreateUserEvent(f->info.context, &err), written = NULL, done = NULL;
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(
        clEnqueueWriteBuffer(f->info.queue, mx, CL_FALSE, 0, sizeof x, x, 1, &gate, &written),
        CL_SUCCESS);
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F32);
    assert_int_equal(clrelu_prelu_forward(f->ctx, &d, &l, mx, 0, ma, 0, my, 0, 1, &written, &done),
                     CLRELU_OK);
    assert_non_null(done);
    assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(f->info.queue, my, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    float want[120];
    kit_residual_forward(&d, &l, x, NULL, NULL, a, want);
    assert_memory_equal(y, want, sizeof y);
    clReleaseEvent(done);
    clReleaseEvent(written);
    clReleaseEvent(gate);
    clReleaseMemObject(mx);
    clReleaseMemObject(ma);
    clReleaseMemObject(my);
}

/* The channel kernels launch with the element-wise pass's setting for their dtype and size
 * class (forward's for forward, backward's for backward): a setting changed for one pass
 * builds a program for that pass's calls alone, and every setting of clrelu-tune's kinds
 * (vector width, group size, a capped grid that strides over rows) gives the reference's bits,
 * the sums' too. */
static void test_channel_device__follows_the_pass_tuning(void **state) {
    fixture *f = *state;
    if (!on_device())
        return;
    size_t max_local = 256;
    assert_int_equal(clGetDeviceInfo(f->info.device_id, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                                     sizeof max_local, &max_local, NULL),
                     CL_SUCCESS);
    const shape runs = {3, 2, 300, 11, 3}, cols = {300, 17, 1, 5, 3};
    clrelu_desc fwd = make_desc(CLRELU_OP_PRELU, CLRELU_DTYPE_F32, &test_configs[0]);
    clrelu_desc bwd = fwd;
    /* Under the defaults: both passes' programs built once. */
    run_forward(f, &fwd, &runs, 1, 1, OUT_SEPARATE, 1);
    run_backward(f, &bwd, &runs, 1, 1, 1, 1, DX_SEPARATE, 2);
    const size_t built = clrelu__programs_for_testing(f->ctx);
    run_forward(f, &fwd, &cols, 0, 1, OUT_SEPARATE, 3);
    assert_int_equal(clrelu__programs_for_testing(f->ctx), built);

    const clrelu_tuning settings[] = {{sizeof(clrelu_tuning), 16, 16, 1},
                                      {sizeof(clrelu_tuning), 32, 256, 0},
                                      {sizeof(clrelu_tuning), 64, 64, 8}};
    for (size_t i = 0; i < ARRAY_LEN(settings); ++i) {
        clrelu_tuning t = settings[i];
        if (t.local > max_local)
            t.local = max_local;
        /* Backward's setting alone: forward builds nothing, backward a program of its own
         * where the setting's program differs from the default's (the first setting's group
         * size is the defaults' on no device: 64 on CPU devices, 256 on GPUs). */
        assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_BACKWARD,
                                                        CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, &t),
                         CLRELU_OK);
        const size_t before = clrelu__programs_for_testing(f->ctx);
        run_forward(f, &fwd, &runs, 1, 1, OUT_SEPARATE, 10 + (uint32_t)i);
        assert_int_equal(clrelu__programs_for_testing(f->ctx), before);
        run_backward(f, &bwd, &runs, 1, 1, 1, 1, DX_SEPARATE, 20 + (uint32_t)i);
        if (i == 0)
            assert_int_equal(clrelu__programs_for_testing(f->ctx), before + 1);
        /* Then both passes, f32 and f16, on both layouts, with every sum. */
        for (size_t d = 0; d < 2; ++d) {
            const clrelu_dtype dt = d ? CLRELU_DTYPE_F16 : CLRELU_DTYPE_F32;
            for (int pass = CLRELU_PASS_FORWARD; pass <= CLRELU_PASS_BACKWARD; ++pass)
                assert_int_equal(
                    clrelu_context_override_tuning(f->ctx, pass, dt, CLRELU_SIZE_SMALL, &t),
                    CLRELU_OK);
            for (size_t o = 0; o < ARRAY_LEN(ops); ++o) {
                clrelu_desc dd = make_desc(ops[o], dt, &test_configs[(i + o) % 3]);
                const uint32_t seed = 100u * (uint32_t)(i * 8 + d * 4 + o);
                run_forward(f, &dd, &runs, 1, 1, OUT_SEPARATE, seed);
                run_forward(f, &dd, &cols, 1, 0, OUT_SEPARATE, seed + 1);
                run_backward(f, &dd, &runs, 1, 1, 1, ops[o] == CLRELU_OP_PRELU, DX_SEPARATE,
                             seed + 2);
                run_backward(f, &dd, &cols, 0, 1, 1, ops[o] == CLRELU_OP_PRELU, DX_SEPARATE,
                             seed + 3);
            }
            for (int pass = CLRELU_PASS_FORWARD; pass <= CLRELU_PASS_BACKWARD_MASK; ++pass)
                assert_int_equal(
                    clrelu_context_override_tuning(f->ctx, pass, dt, CLRELU_SIZE_SMALL, NULL),
                    CLRELU_OK);
        }
    }
    /* The size class is the whole tensor's, not a channel's: 1000 rows of 70 channels are
     * 70000 elements (medium), 1000 a channel (small). */
    const shape wide = {1000, 70, 1, 0, 0};
    clrelu_tuning medium = {sizeof medium, 16, max_local < 64 ? max_local : 64, 1}; /* (new) */
    assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F32,
                                                    CLRELU_SIZE_MEDIUM, &medium),
                     CLRELU_OK);
    const size_t before_wide = clrelu__programs_for_testing(f->ctx);
    run_backward(f, &bwd, &wide, 1, 1, 1, 1, DX_SEPARATE, 40);
    assert_int_equal(clrelu__programs_for_testing(f->ctx), before_wide + 1);
    assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F32,
                                                    CLRELU_SIZE_MEDIUM, NULL),
                     CLRELU_OK);
    /* The defaults again: their programs are still there. */
    const size_t all = clrelu__programs_for_testing(f->ctx);
    run_forward(f, &fwd, &runs, 1, 1, OUT_SEPARATE, 30);
    run_backward(f, &bwd, &runs, 1, 1, 1, 1, DX_SEPARATE, 31);
    assert_int_equal(clrelu__programs_for_testing(f->ctx), all);
}

/* No elements: nothing is touched, a marker is returned; the host calls succeed. */
static void test_channel__empty_tensors(void **state) {
    fixture *f = *state;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F32);
    static const size_t dims[][3] = {{0, 3, 4}, {2, 0, 4}, {2, 3, 0}};
    float one = 1.0f, out = 7.0f;
    for (size_t i = 0; i < ARRAY_LEN(dims); ++i) {
        clrelu_layout l = clrelu_layout_make(dims[i][0], dims[i][1], dims[i][2]);
        if (on_device()) {
            cl_int err;
            cl_mem m = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 64, NULL, &err);
            cl_event done = NULL;
            assert_int_equal(clrelu_prelu_backward(f->ctx, &d, &l, m, 0, m, 0, m, 0, m, 0, NULL, 0,
                                                   0, NULL, &done),
                             CLRELU_OK);
            assert_non_null(done);
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            clReleaseMemObject(m);
        } else {
            assert_int_equal(clrelu_prelu_forward_host(f->ctx, &d, &l, &one, &one, &out),
                             CLRELU_OK);
            assert_true(out == 7.0f);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------------------------ */

#define EXPECT(call, status, text)                                                                 \
    do {                                                                                           \
        clrelu_status st_ = (call);                                                                \
        if (st_ != (status) || !strstr(clrelu_last_error(), (text))) {                             \
            print_error("%s:%d: %s gave %s \"%s\", expected %s with \"%s\"\n", __FILE__, __LINE__, \
                        #call, clrelu_status_name(st_), clrelu_last_error(),                       \
                        clrelu_status_name(status), text);                                         \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static void test_channel__host_refusals_name_the_argument(void **state) {
    fixture *f = *state;
    clrelu_context *ctx = f->ctx;
    clrelu_desc p = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F32);
    clrelu_desc r = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    clrelu_layout l = clrelu_layout_make(4, 2, 3); /* 24 elements */
    float x[64], y[64], a[4] = {0.5f, 0.5f, 0.5f, 0.5f}, da[4];
    for (int i = 0; i < 64; ++i)
        x[i] = y[i] = (float)i - 30.0f;
    const float y_before = y[0];
    /* NULLs */
    EXPECT(clrelu_prelu_forward_host(NULL, &p, &l, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "clrelu_prelu_forward_host: ctx is NULL");
    EXPECT(clrelu_prelu_forward_host(ctx, NULL, &l, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "desc is NULL");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, NULL, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "layout is NULL");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, NULL, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "x is NULL");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, x, NULL, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "slopes is NULL");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, x, a, NULL), CLRELU_ERROR_INVALID_ARGUMENT,
           "y is NULL");
    EXPECT(clrelu_prelu_backward_host(ctx, &p, &l, x, NULL, a, y, da),
           CLRELU_ERROR_INVALID_ARGUMENT, "x is NULL");
    EXPECT(clrelu_residual_backward_host(ctx, &r, &l, x, NULL, NULL, NULL, NULL, y, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "src is NULL");
    /* layouts */
    clrelu_layout bad = l;
    bad.struct_size = 0;
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &bad, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "layout->struct_size = 0");
    bad = l;
    bad.pitch = 5;
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &bad, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "layout->pitch = 5 is less than channels * inner = 6");
    bad = clrelu_layout_make(3, SIZE_MAX / 2, 4);
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &bad, x, a, y), CLRELU_ERROR_SIZE_OVERFLOW,
           "channels * layout->inner overflows");
    bad = clrelu_layout_make(SIZE_MAX / 4, 2, 3);
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &bad, x, a, y), CLRELU_ERROR_SIZE_OVERFLOW,
           "overflows size_t");
    assert_int_equal(clrelu_layout_init(&bad, sizeof bad - 1, 1, 1, 1),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clrelu_layout_init(NULL, sizeof bad, 1, 1, 1), CLRELU_ERROR_INVALID_ARGUMENT);
    /* descriptors */
    EXPECT(clrelu_prelu_forward_host(ctx, &r, &l, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "desc->op = 0 is not CLRELU_OP_PRELU");
    EXPECT(clrelu_residual_forward_host(ctx, &r, &l, x, NULL, NULL, a, y),
           CLRELU_ERROR_INVALID_ARGUMENT, "slopes is given but desc->op = 0");
    EXPECT(clrelu_residual_backward_host(ctx, &r, &l, x, x, NULL, NULL, NULL, y, NULL, da),
           CLRELU_ERROR_INVALID_ARGUMENT, "dslopes is given");
    clrelu_desc bad_dt = p;
    bad_dt.dtype = (clrelu_dtype)99;
    EXPECT(clrelu_prelu_forward_host(ctx, &bad_dt, &l, x, a, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "desc->dtype = 99");
    clrelu_desc from_y = p;
    from_y.grad_from = CLRELU_GRAD_FROM_Y;
    EXPECT(clrelu_prelu_backward_host(ctx, &from_y, &l, x, x, a, y, NULL), CLRELU_ERROR_UNSUPPORTED,
           "CLRELU_GRAD_FROM_Y");
    clrelu_desc mask = r;
    mask.grad_from = CLRELU_GRAD_FROM_MASK;
    EXPECT(clrelu_residual_backward_host(ctx, &mask, &l, x, x, NULL, NULL, NULL, y, NULL, NULL),
           CLRELU_ERROR_UNSUPPORTED, "CLRELU_GRAD_FROM_MASK");
    EXPECT(clrelu_forward_host(ctx, &p, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "clrelu_forward_host: desc->op = CLRELU_OP_PRELU reads a slope per channel");
    /* alignment and overlaps */
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, (const char *)x + 1, a, y),
           CLRELU_ERROR_INVALID_ARGUMENT, "is not aligned");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, x, a, x + 1), CLRELU_ERROR_INVALID_ARGUMENT,
           "y (");
    EXPECT(clrelu_prelu_forward_host(ctx, &p, &l, x, y + 20, y), CLRELU_ERROR_INVALID_ARGUMENT,
           "overlaps slopes");
    EXPECT(clrelu_prelu_backward_host(ctx, &p, &l, x, x, a, y, y + 23),
           CLRELU_ERROR_INVALID_ARGUMENT, "dslopes (");
    assert_true(y[0] == y_before); /* nothing was written by a refused call */
    /* in place is fine */
    assert_int_equal(clrelu_residual_forward_host(ctx, &r, &l, y, a, x, NULL, x), CLRELU_OK);
}

static void test_channel_device__refusals_name_the_argument(void **state) {
    fixture *f = *state;
    if (!on_device())
        return;
    clrelu_context *ctx = f->ctx;
    cl_int err;
    /* 24 elements of f32 in a 96-byte buffer */
    clrelu_layout l = clrelu_layout_make(4, 2, 3);
    clrelu_desc p = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F32);
    clrelu_desc r = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    unsigned char init[256];
    memset(init, 0x11, sizeof init);
    cl_mem x =
        clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 96, init, &err);
    cl_mem y =
        clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 256, init, &err);
    cl_mem a = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 8, NULL, &err);
    cl_mem ro = clCreateBuffer(f->info.context, CL_MEM_READ_ONLY, 256, NULL, &err);
    cl_context other = clCreateContext(NULL, 1, &f->info.device_id, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, 256, NULL, &err);
    cl_event done = (cl_event)&done;
    EXPECT(clrelu_prelu_forward(NULL, &p, &l, x, 0, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "clrelu_prelu_forward: ctx is NULL");
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, NULL, 0, a, 0, y, 0, 0, NULL, &done),
           CLRELU_ERROR_INVALID_ARGUMENT, "x is NULL");
    assert_null(done); /* *done is cleared on failure */
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, NULL, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "slopes is NULL");
    EXPECT(clrelu_prelu_forward(ctx, &p, NULL, x, 0, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "layout is NULL");
    EXPECT(clrelu_prelu_backward(ctx, &p, &l, x, 0, NULL, 0, a, 0, y, 0, NULL, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "x is NULL");
    /* too small: the tensors, the slopes (2 floats in 8 bytes: offset 1 is past), the bias */
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 1, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_OUT_OF_BOUNDS, "x_off + n = 25 exceeds the 24 elements of x");
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, a, 1, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_OUT_OF_BOUNDS, "slopes_off + n = 3 exceeds the 2 elements of slopes");
    EXPECT(clrelu_residual_forward(ctx, &r, &l, x, 0, a, 2, NULL, 0, NULL, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_OUT_OF_BOUNDS, "bias_off + n = 4");
    EXPECT(clrelu_residual_forward(ctx, &r, &l, x, 0, NULL, 0, x, 3, NULL, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_OUT_OF_BOUNDS, "z_off + n = 27");
    clrelu_layout padded = l;
    padded.pitch = 7; /* spans 3 * 7 + 6 = 27 elements */
    EXPECT(clrelu_prelu_forward(ctx, &p, &padded, x, 0, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_OUT_OF_BOUNDS, "x_off + n = 27");
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, SIZE_MAX - 3, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_SIZE_OVERFLOW, "x_off + n overflows");
    /* wrong context, read-only output */
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, foreign, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_WRONG_CONTEXT, "slopes belongs to cl_context");
    EXPECT(clrelu_prelu_backward(ctx, &p, &l, x, 0, x, 0, a, 0, y, 0, foreign, 0, 0, NULL, NULL),
           CLRELU_ERROR_WRONG_CONTEXT, "dslopes belongs to cl_context");
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, a, 0, ro, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "y is written but was created CL_MEM_READ_ONLY");
    /* partial overlaps: y over x one element on, dslopes inside dx, the slopes inside y */
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, y, 0, a, 0, y, 1, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "y (bytes [4, 100)) overlaps x (bytes [0, 96))");
    EXPECT(clrelu_prelu_backward(ctx, &p, &l, x, 0, x, 0, a, 0, y, 0, y, 10, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "overlaps");
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, y, 20, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "y (bytes [0, 96)) overlaps slopes");
    EXPECT(clrelu_residual_backward(ctx, &r, &l, x, 0, x, 0, NULL, 0, NULL, 0, NULL, 0, y, 0, y, 24,
                                    y, 25, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "dslopes is given");
    EXPECT(clrelu_residual_backward(ctx, &r, &l, x, 0, x, 0, NULL, 0, NULL, 0, NULL, 0, y, 0, y, 23,
                                    NULL, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "dx (bytes [0, 96)) overlaps dbias (bytes [92, 100))");
    /* wait lists */
    EXPECT(clrelu_prelu_forward(ctx, &p, &l, x, 0, a, 0, y, 0, 1, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "n_wait = 1 but wait is NULL");
    /* dtypes: an unknown one; f64 where the device lacks cl_khr_fp64 */
    clrelu_desc bad_dt = p;
    bad_dt.dtype = (clrelu_dtype)7;
    EXPECT(clrelu_prelu_forward(ctx, &bad_dt, &l, x, 0, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_INVALID_ARGUMENT, "desc->dtype = 7");
    clrelu_context *no_fp64 = NULL;
    assert_int_equal(clrelu_context_create(&no_fp64, current_spec), CLRELU_OK);
    clrelu__hide_fp64_for_testing(no_fp64);
    clrelu_desc f64 = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F64);
    clrelu_layout small = clrelu_layout_make(1, 2, 3);
    cl_mem x2 = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 64, NULL, &err);
    EXPECT(clrelu_prelu_forward(no_fp64, &f64, &small, x2, 0, x2, 6, x2, 0, 0, NULL, NULL),
           CLRELU_ERROR_UNSUPPORTED, "no cl_khr_fp64");
    clrelu_context_release(no_fp64);
    clReleaseMemObject(x2);
    /* the CPU path has no device */
    clrelu_context *cpu = NULL;
    assert_int_equal(clrelu_context_create(&cpu, "cpu"), CLRELU_OK);
    EXPECT(clrelu_prelu_forward(cpu, &p, &l, x, 0, a, 0, y, 0, 0, NULL, NULL),
           CLRELU_ERROR_NO_DEVICE, "the CPU path only");
    clrelu_context_release(cpu);
    /* nothing reached the device: y is as it was */
    unsigned char after[256];
    assert_int_equal(
        clEnqueueReadBuffer(f->info.queue, y, CL_TRUE, 0, sizeof after, after, 0, NULL, NULL),
        CL_SUCCESS);
    assert_memory_equal(after, init, sizeof after);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    clReleaseMemObject(a);
    clReleaseMemObject(ro);
    clReleaseMemObject(foreign);
    clReleaseContext(other);
}

int main(int argc, char **argv) {
    int cpu_only = argc > 1 && strcmp(argv[1], "--cpu-only") == 0;
    clrelu_context *probe = NULL;
    if (clrelu_context_create(&probe, "cpu") == CLRELU_ERROR_ISA_UNAVAILABLE) {
        print_skip("%s", clrelu_last_error());
        return TEST_SKIP_CODE;
    }
    clrelu_context_release(probe);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_forward__matches_reference_bitwise),
        cmocka_unit_test(test_channel_forward__in_place_over_x_and_z),
        cmocka_unit_test(test_channel_backward__dx_and_sums_match_reference_bitwise),
        cmocka_unit_test(test_channel_backward__in_place),
        cmocka_unit_test(test_channel_backward__sums_in_the_documented_order),
        cmocka_unit_test(test_channel_cpu__threads_match_reference),
        cmocka_unit_test(test_channel_device__waits_and_signals_events),
        cmocka_unit_test(test_channel_device__follows_the_pass_tuning),
        cmocka_unit_test(test_channel__empty_tensors),
        cmocka_unit_test(test_channel__host_refusals_name_the_argument),
        cmocka_unit_test(test_channel_device__refusals_name_the_argument),
    };
    const char *filter = getenv("CLRELU_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    current_spec = NULL;
    if (cpu_only)
        return cmocka_run_group_tests_name("channel ops on the CPU path", tests, setup, teardown)
                   ? 1
                   : 0;
    /* One platform's devices (CLRELU_TEST_PLATFORM, which exits as skipped when the machine
     * lacks it): the per-ISA runs cover the CPU path. Every device present, and the CPU path,
     * when it is unset. */
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    const char *platform = getenv("CLRELU_TEST_PLATFORM");
    int failed = 0;
    if (!(platform && *platform))
        failed +=
            cmocka_run_group_tests_name("channel ops on the CPU path", tests, setup, teardown);
    if (count == 0)
        print_skip("no OpenCL device present: the channel kernels ran nowhere but the CPU path");
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "channel ops on %.15s (%.160s)", devs[i].spec, devs[i].name);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
