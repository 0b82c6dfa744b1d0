/* SPDX-License-Identifier: Apache-2.0 */
/* The bias epilogue (y = f(x + bias); dx and dbias) against the reference, bit for bit, on the
 * CPU path and on every OpenCL device present: every op and dtype, blending, shapes across the
 * 256-row blocks of the dbias sums, pitches larger than the rows (the padding must stay
 * untouched), offsets, in place, from x and from y; and what the calls refuse. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

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

typedef struct shape {
    size_t rows, cols, pad, off;
} shape;

static const shape shapes[] = {
    {1, 1, 0, 0}, {3, 5, 2, 1}, {7, 33, 3, 4}, {2, 64, 0, 0}, {300, 17, 5, 3}, {513, 20, 1, 7},
};

/* Whether a shape is within CLRELU_TEST_MAX_N (a simulator runs the small ones only). */
static int shape_runs(const shape *s) {
    return s->rows * s->cols <= test_max_n();
}

/* A matrix in a host array: off elements, then rows of pitch elements; everything outside the
 * matrix holds the guard byte pattern. */
typedef struct mat {
    size_t off, pitch, total;
    unsigned char *host;
} mat;

static void mat_make(mat *m, const shape *s, size_t es, clrelu_dtype dt, uint32_t seed) {
    m->off = s->off;
    m->pitch = s->cols + s->pad;
    m->total = s->off + s->rows * m->pitch + 8;
    m->host = malloc(m->total * es);
    assert_non_null(m->host);
    memset(m->host, 0xa5, m->total * es);
    unsigned char *row = malloc(s->cols * es + 1);
    for (size_t r = 0; r < s->rows; ++r) {
        kit_fill(dt, row, s->cols, seed + (uint32_t)r * 7919u);
        memcpy(m->host + (m->off + r * m->pitch) * es, row, s->cols * es);
    }
    free(row);
}

static unsigned char *at(const mat *m, size_t es) {
    return m->host + m->off * es;
}

static cl_mem to_device(fixture *f, const mat *m, size_t es) {
    cl_int err;
    cl_mem b = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              m->total * es, m->host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return b;
}

static void from_device(fixture *f, cl_mem b, mat *m, size_t es) {
    assert_int_equal(
        clEnqueueReadBuffer(f->info.queue, b, CL_TRUE, 0, m->total * es, m->host, 0, NULL, NULL),
        CL_SUCCESS);
}

static void expect_same(const mat *got, const mat *want, size_t es, const char *what) {
    if (memcmp(got->host, want->host, got->total * es) == 0)
        return;
    for (size_t i = 0; i < got->total; ++i) {
        if (memcmp(got->host + i * es, want->host + i * es, es) != 0) {
            uint64_t g = 0, w = 0;
            memcpy(&g, got->host + i * es, es);
            memcpy(&w, want->host + i * es, es);
            print_error("%s: element %zu (row %zu, column %zu) is 0x%llx, expected 0x%llx\n", what,
                        i, i >= got->off ? (i - got->off) / got->pitch : 0,
                        i >= got->off ? (i - got->off) % got->pitch : 0, (unsigned long long)g,
                        (unsigned long long)w);
            break;
        }
    }
    fail();
}

static int on_device(void) {
    return current_spec != NULL;
}

static void run_forward(fixture *f, const clrelu_desc *d, const shape *s, int in_place,
                        uint32_t seed) {
    size_t es = clrelu_dtype_size(d->dtype);
    shape vs = {1, s->cols, 0, 2}; /* the bias: a vector after two guard elements */
    mat x, b, y, want;
    mat_make(&x, s, es, d->dtype, seed);
    mat_make(&b, &vs, es, d->dtype, seed + 1);
    mat_make(&y, s, es, d->dtype, seed + 2);
    mat *out = in_place ? &x : &y;
    mat_make(&want, s, es, d->dtype, 0);
    memcpy(want.host, out->host, out->total * es);
    kit_bias_forward(d, s->rows, s->cols, at(&x, es), x.pitch, at(&b, es), at(&want, es),
                     want.pitch);
    char what[160];
    snprintf(what, sizeof what, "bias forward %s op %d %zux%zu%s", kit_dtypes[d->dtype].name,
             (int)d->op, s->rows, s->cols, in_place ? " in place" : "");
    clrelu_status st;
    if (on_device()) {
        cl_mem bx = to_device(f, &x, es), bb = to_device(f, &b, es);
        cl_mem by = in_place ? bx : to_device(f, &y, es);
        cl_event done = NULL;
        st = clrelu_bias_forward(f->ctx, d, s->rows, s->cols, bx, x.off, x.pitch, bb, b.off, by,
                                 out->off, out->pitch, 0, NULL, &done);
        if (st == CLRELU_OK) {
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            from_device(f, by, out, es);
        }
        clReleaseMemObject(bx);
        clReleaseMemObject(bb);
        if (!in_place)
            clReleaseMemObject(by);
    } else {
        st = clrelu_bias_forward_host(f->ctx, d, s->rows, s->cols, at(&x, es), x.pitch, at(&b, es),
                                      at(out, es), out->pitch);
    }
    if (st != CLRELU_OK) {
        print_error("%s: %s\n", what, clrelu_context_error(f->ctx));
        fail();
    }
    expect_same(out, &want, es, what);
    free(x.host);
    free(b.host);
    free(y.host);
    free(want.host);
}

static void run_backward(fixture *f, const clrelu_desc *d, const shape *s, int with_dbias,
                         int in_place, uint32_t seed) {
    size_t es = clrelu_dtype_size(d->dtype);
    shape vs = {1, s->cols, 0, 3};
    int from_y = d->grad_from == CLRELU_GRAD_FROM_Y;
    mat dy, src, b, dx, db, want, want_db;
    mat_make(&dy, s, es, d->dtype, seed);
    mat_make(&src, s, es, d->dtype, seed + 1);
    mat_make(&b, &vs, es, d->dtype, seed + 2);
    mat_make(&dx, s, es, d->dtype, seed + 3);
    mat_make(&db, &vs, es, d->dtype, seed + 4);
    if (from_y) { /* y must be a forward output: y = f(x + bias) */
        mat x;
        mat_make(&x, s, es, d->dtype, seed + 5);
        clrelu_desc plain = *d;
        plain.alpha = 1.0f;
        plain.beta = 0.0f;
        kit_bias_forward(&plain, s->rows, s->cols, at(&x, es), x.pitch, at(&b, es), at(&src, es),
                         src.pitch);
        free(x.host);
    }
    mat *out = in_place ? &dy : &dx;
    mat_make(&want, s, es, d->dtype, 0);
    memcpy(want.host, out->host, out->total * es);
    mat_make(&want_db, &vs, es, d->dtype, 0);
    memcpy(want_db.host, db.host, db.total * es);
    kit_bias_backward(d, s->rows, s->cols, at(&dy, es), dy.pitch, at(&src, es), src.pitch,
                      at(&b, es), at(&want, es), want.pitch, with_dbias ? at(&want_db, es) : NULL);
    char what[200];
    snprintf(what, sizeof what, "bias backward %s op %d from %s %zux%zu%s%s",
             kit_dtypes[d->dtype].name, (int)d->op, from_y ? "y" : "x", s->rows, s->cols,
             with_dbias ? " with dbias" : "", in_place ? " in place" : "");
    clrelu_status st;
    if (on_device()) {
        cl_mem bdy = to_device(f, &dy, es), bsrc = to_device(f, &src, es),
               bb = to_device(f, &b, es), bdb = to_device(f, &db, es);
        cl_mem bdx = in_place ? bdy : to_device(f, &dx, es);
        cl_event done = NULL;
        st = clrelu_bias_backward(f->ctx, d, s->rows, s->cols, bdy, dy.off, dy.pitch, bsrc, src.off,
                                  src.pitch, from_y ? NULL : bb, b.off, bdx, out->off, out->pitch,
                                  with_dbias ? bdb : NULL, db.off, 0, NULL, &done);
        if (st == CLRELU_OK) {
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            from_device(f, bdx, out, es);
            from_device(f, bdb, &db, es);
        }
        clReleaseMemObject(bdy);
        clReleaseMemObject(bsrc);
        clReleaseMemObject(bb);
        clReleaseMemObject(bdb);
        if (!in_place)
            clReleaseMemObject(bdx);
    } else {
        st = clrelu_bias_backward_host(f->ctx, d, s->rows, s->cols, at(&dy, es), dy.pitch,
                                       at(&src, es), src.pitch, from_y ? NULL : at(&b, es),
                                       at(out, es), out->pitch, with_dbias ? at(&db, es) : NULL);
    }
    if (st != CLRELU_OK) {
        print_error("%s: %s\n", what, clrelu_context_error(f->ctx));
        fail();
    }
    expect_same(out, &want, es, what);
    expect_same(&db, &want_db, es, what); /* untouched without dbias */
    free(dy.host);
    free(src.host);
    free(b.host);
    free(dx.host);
    free(db.host);
    free(want.host);
    free(want_db.host);
}

static int dtype_runs(const fixture *f, clrelu_dtype dt) {
    return dt != CLRELU_DTYPE_F64 || f->info.has_fp64;
}

static const clrelu_op bias_ops[] = {CLRELU_OP_RELU, CLRELU_OP_LEAKY_RELU, CLRELU_OP_CLIPPED_RELU};

static clrelu_desc make_desc(clrelu_op op, clrelu_dtype dt, const test_config *c) {
    clrelu_desc d = clrelu_desc_make(op, dt);
    d.negative_slope = c->slope;
    d.ceiling = c->ceiling;
    d.alpha = c->alpha;
    d.beta = c->beta;
    return d;
}

static void test_bias_forward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 1;
    for (size_t o = 0; o < ARRAY_LEN(bias_ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t)
            for (size_t c = 0; c < test_configs_count && dtype_runs(f, kit_dtypes[t].dtype); ++c)
                for (size_t s = 0; s < ARRAY_LEN(shapes); ++s) {
                    clrelu_desc d = make_desc(bias_ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                    if (shape_runs(&shapes[s]))
                        run_forward(f, &d, &shapes[s], 0, seed++);
                }
}

static void test_bias_forward__in_place(void **state) {
    fixture *f = *state;
    for (size_t t = 0; t < kit_dtypes_count; ++t) {
        if (!dtype_runs(f, kit_dtypes[t].dtype))
            continue;
        clrelu_desc d = make_desc(CLRELU_OP_LEAKY_RELU, kit_dtypes[t].dtype, &test_configs[2]);
        run_forward(f, &d, &shapes[4], 1, 11 + (uint32_t)t);
    }
}

static void test_bias_backward__dx_and_dbias_match_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 100;
    for (size_t o = 0; o < ARRAY_LEN(bias_ops); ++o)
        for (size_t t = 0; t < kit_dtypes_count; ++t)
            for (size_t c = 0; c < test_configs_count && dtype_runs(f, kit_dtypes[t].dtype); ++c)
                for (int y = 0; y < 2; ++y) {
                    clrelu_desc d = make_desc(bias_ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                    d.grad_from = y ? CLRELU_GRAD_FROM_Y : CLRELU_GRAD_FROM_X;
                    if (y && d.op == CLRELU_OP_LEAKY_RELU && !(d.negative_slope > 0))
                        continue;
                    for (size_t s = 0; s < ARRAY_LEN(shapes); ++s)
                        if (shape_runs(&shapes[s]))
                            run_backward(f, &d, &shapes[s], (s + c) % 3 != 0, 0, seed++);
                }
}

static void test_bias_backward__in_place(void **state) {
    fixture *f = *state;
    for (size_t t = 0; t < kit_dtypes_count; ++t) {
        if (!dtype_runs(f, kit_dtypes[t].dtype))
            continue;
        clrelu_desc d = make_desc(CLRELU_OP_CLIPPED_RELU, kit_dtypes[t].dtype, &test_configs[1]);
        run_backward(f, &d, &shapes[shape_runs(&shapes[5]) ? 5 : 4], 1, 1, 55 + (uint32_t)t);
    }
}

/* Finite values with full fractions and exponents spread over 2^-12..2^12 (f16: 2^-10..2^10):
 * their sums stay finite but round at almost every step, so a different summation order would
 * show in the bits. */
static void fill_finite(clrelu_dtype dt, unsigned char *p, size_t n, uint32_t seed) {
    uint32_t s = seed | 1u;
    for (size_t i = 0; i < n; ++i) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        uint32_t sign = s >> 31, e = (s >> 24) % 25, frac = s & 0x7fffff;
        uint32_t w = sign << 31 | (115 + e) << 23 | frac; /* 2^-12 .. 2^12 */
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

/* dbias's fixed order (256-row blocks, then the blocks) is what every device and the CPU path
 * compute: with finite inputs a different order would show in the low bits. */
static void test_bias_backward__dbias_sums_in_the_documented_order(void **state) {
    fixture *f = *state;
    /* (Within CLRELU_TEST_MAX_N: 3 blocks of few columns.) */
    const int small = test_max_n() < 40000;
    const size_t rows = small ? 600 : 1000, cols = small ? 8 : 40;
    for (size_t t = 0; t < kit_dtypes_count; ++t) {
        clrelu_dtype dt = kit_dtypes[t].dtype;
        if (!dtype_runs(f, dt))
            continue;
        size_t es = kit_dtypes[t].size, n = rows * cols;
        unsigned char *dy = malloc(n * es), *x = malloc(n * es), *b = malloc(cols * es);
        unsigned char *dx = malloc(n * es), *db = malloc(cols * es), *want_dx = malloc(n * es),
                      *want_db = malloc(cols * es);
        fill_finite(dt, dy, n, 3 + (uint32_t)t);
        fill_finite(dt, x, n, 5 + (uint32_t)t);
        fill_finite(dt, b, cols, 7 + (uint32_t)t);
        clrelu_desc d = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, dt);
        d.negative_slope = 0.3f;
        kit_bias_backward(&d, rows, cols, dy, cols, x, cols, b, want_dx, cols, want_db);
        clrelu_status st;
        if (on_device()) {
            cl_int err;
            cl_mem m[5];
            const unsigned char *init[5] = {dy, x, b, NULL, NULL};
            size_t sizes[5] = {n * es, n * es, cols * es, n * es, cols * es};
            for (int i = 0; i < 5; ++i) {
                m[i] = clCreateBuffer(f->info.context,
                                      CL_MEM_READ_WRITE | (init[i] ? CL_MEM_COPY_HOST_PTR : 0),
                                      sizes[i], (void *)init[i], &err);
                assert_int_equal(err, CL_SUCCESS);
            }
            st = clrelu_bias_backward(f->ctx, &d, rows, cols, m[0], 0, cols, m[1], 0, cols, m[2], 0,
                                      m[3], 0, cols, m[4], 0, 0, NULL, NULL);
            if (st == CLRELU_OK) {
                assert_int_equal(
                    clEnqueueReadBuffer(f->info.queue, m[3], CL_TRUE, 0, n * es, dx, 0, NULL, NULL),
                    CL_SUCCESS);
                assert_int_equal(clEnqueueReadBuffer(f->info.queue, m[4], CL_TRUE, 0, cols * es, db,
                                                     0, NULL, NULL),
                                 CL_SUCCESS);
            }
            for (int i = 0; i < 5; ++i)
                clReleaseMemObject(m[i]);
        } else {
            st = clrelu_bias_backward_host(f->ctx, &d, rows, cols, dy, cols, x, cols, b, dx, cols,
                                           db);
        }
        assert_int_equal(st, CLRELU_OK);
        assert_memory_equal(dx, want_dx, n * es);
        assert_memory_equal(db, want_db, cols * es);
        /* The sums are not all NaN or infinite, so the order really is tested. */
        float first;
        if (dt == CLRELU_DTYPE_F32) {
            memcpy(&first, db, 4);
            assert_true(isfinite(first) && first != 0.0f);
        }
        free(dy);
        free(x);
        free(b);
        free(dx);
        free(db);
        free(want_dx);
        free(want_db);
    }
}

static void test_bias__refusals_name_the_argument(void **state) {
    fixture *f = *state;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    float x[64] = {0}, b[8] = {0}, y[64], db[8];
    assert_int_equal(clrelu_bias_forward_host(f->ctx, &d, 4, 8, x, 6, b, y, 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "x_pitch = 6 is less than cols = 8"));
    assert_int_equal(
        clrelu_bias_forward_host(f->ctx, &d, SIZE_MAX / 2, 8, x, SIZE_MAX / 4, b, y, 8),
        CLRELU_ERROR_SIZE_OVERFLOW);
    assert_int_equal(clrelu_bias_forward_host(f->ctx, &d, 4, 8, x, 8, NULL, y, 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "bias is NULL"));
    /* y overlapping x with another pitch */
    assert_int_equal(clrelu_bias_forward_host(f->ctx, &d, 4, 8, x, 8, b, x + 4, 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "overlaps"));
    /* dbias over dx */
    assert_int_equal(clrelu_bias_backward_host(f->ctx, &d, 4, 8, x, 8, x, 8, b, y, 8, y + 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "dbias"));
    d.grad_from = CLRELU_GRAD_FROM_MASK;
    assert_int_equal(clrelu_bias_backward_host(f->ctx, &d, 4, 8, x, 8, x, 8, b, y, 8, db),
                     CLRELU_ERROR_UNSUPPORTED);
    /* from y, no bias needed */
    d.grad_from = CLRELU_GRAD_FROM_Y;
    assert_int_equal(clrelu_bias_backward_host(f->ctx, &d, 4, 8, x, 8, x, 8, NULL, y, 8, db),
                     CLRELU_OK);
    if (on_device()) {
        cl_int err;
        cl_mem m = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 256, NULL, &err);
        d.grad_from = CLRELU_GRAD_FROM_X;
        assert_int_equal(
            clrelu_bias_forward(f->ctx, &d, 8, 8, m, 0, 8, m, 0, m, 0, 8, 0, NULL, NULL),
            CLRELU_ERROR_INVALID_ARGUMENT); /* y over bias */
        assert_int_equal(
            clrelu_bias_forward(f->ctx, &d, 9, 8, m, 0, 8, m, 0, m, 0, 8, 0, NULL, NULL),
            CLRELU_ERROR_OUT_OF_BOUNDS);
        assert_non_null(strstr(clrelu_context_error(f->ctx), "x_off + n = 72"));
        clReleaseMemObject(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias_forward__matches_reference_bitwise),
        cmocka_unit_test(test_bias_forward__in_place),
        cmocka_unit_test(test_bias_backward__dx_and_dbias_match_reference_bitwise),
        cmocka_unit_test(test_bias_backward__in_place),
        cmocka_unit_test(test_bias_backward__dbias_sums_in_the_documented_order),
        cmocka_unit_test(test_bias__refusals_name_the_argument),
    };
    current_spec = NULL;
    int failed = cmocka_run_group_tests_name("bias on the CPU path", tests, setup, teardown);
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    if (count == 0)
        print_skip("no OpenCL device present: the bias kernels ran nowhere but the CPU path");
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "bias on %.15s (%.100s on %.60s)", devs[i].spec, devs[i].name,
                 devs[i].platform);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
