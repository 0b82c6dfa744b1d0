/* SPDX-License-Identifier: Apache-2.0 */
/* The batched calls against one call per tensor and against the reference, bit for bit, on
 * every OpenCL device present: tensors in shared buffers (an arena) and in buffers of their
 * own (more than one launch's worth), sizes around the vector tails, in place, with events;
 * and what a batch refuses. No device: skipped (the single calls' logic is tested anyway). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define T       30 /* tensors */
#define ARENAS  3  /* tensors 0..19 live in these shared buffers */
#define BUFFERS 13 /* 3 arenas + one buffer each for tensors 20..29 */

static const char *current_spec;

typedef struct fixture {
    clrelu_context *ctx;
    clrelu_context_info info;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || clrelu_context_create(&f->ctx, current_spec) != CLRELU_OK)
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

static size_t tensor_n(size_t i) {
    static const size_t sizes[] = {0, 1, 5, 16, 17, 31, 100, 4096, 1003, 64, 33, 2};
    return sizes[i % ARRAY_LEN(sizes)] + (i / ARRAY_LEN(sizes)) * 7;
}

/* Where each tensor's array of one role lives: (buffer, element offset), laid out so arena
 * tensors are packed with gaps, and each role has its own set of buffers. */
typedef struct layout {
    size_t buf[T], off[T], n[T];
    size_t buf_elems[BUFFERS];
} layout;

static void make_layout(layout *l, size_t shift) {
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < T; ++i) {
        l->n[i] = tensor_n(i);
        l->buf[i] = i < 20 ? i % ARENAS : ARENAS + (i - 20);
        l->off[i] = l->buf_elems[l->buf[i]] + shift + i % 3;
        l->buf_elems[l->buf[i]] = l->off[i] + l->n[i];
    }
    for (size_t b = 0; b < BUFFERS; ++b)
        l->buf_elems[b] += 8;
}

typedef struct role {
    layout l;
    cl_mem mem[BUFFERS];
    unsigned char *host[BUFFERS];
    clrelu_tensor t[T];
} role;

static void role_make(fixture *f, role *r, const clrelu_desc *d, size_t shift, uint32_t seed) {
    size_t es = clrelu_dtype_size(d->dtype);
    make_layout(&r->l, shift);
    for (size_t b = 0; b < BUFFERS; ++b) {
        size_t bytes = r->l.buf_elems[b] * es;
        r->host[b] = malloc(bytes);
        assert_non_null(r->host[b]);
        kit_fill(d->dtype, r->host[b], r->l.buf_elems[b], seed + (uint32_t)b * 101);
        cl_int err;
        r->mem[b] = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes,
                                   r->host[b], &err);
        assert_int_equal(err, CL_SUCCESS);
    }
    for (size_t i = 0; i < T; ++i)
        r->t[i] = (clrelu_tensor){r->mem[r->l.buf[i]], r->l.off[i], r->l.n[i]};
}

static void role_free(role *r) {
    for (size_t b = 0; b < BUFFERS; ++b) {
        clReleaseMemObject(r->mem[b]);
        free(r->host[b]);
    }
}

static void read_all(fixture *f, role *r, size_t es, unsigned char **out) {
    for (size_t b = 0; b < BUFFERS; ++b) {
        out[b] = malloc(r->l.buf_elems[b] * es);
        assert_int_equal(clEnqueueReadBuffer(f->info.queue, r->mem[b], CL_TRUE, 0,
                                             r->l.buf_elems[b] * es, out[b], 0, NULL, NULL),
                         CL_SUCCESS);
    }
}

/* Runs op over the T tensors as a batch and as T single calls (on a second copy of the output
 * buffers) and compares both with the reference; in place when out_over_in. */
static void check_batch(fixture *f, const kit_op *op, const clrelu_desc *d, int out_over_in,
                        uint32_t seed) {
    size_t es = clrelu_dtype_size(d->dtype);
    int backward = op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y;
    role in, src, out, out2;
    role_make(f, &in, d, 0, seed);
    if (backward) {
        role_make(f, &src, d, 1, seed + 7);
        /* src must be what the op reads: x itself, or y = f(x). */
        for (size_t b = 0; b < BUFFERS; ++b) {
            unsigned char *x = malloc(src.l.buf_elems[b] * es);
            memcpy(x, src.host[b], src.l.buf_elems[b] * es);
            kit_make_in1(op, d, src.l.buf_elems[b], x, src.host[b]);
            free(x);
            assert_int_equal(clEnqueueWriteBuffer(f->info.queue, src.mem[b], CL_TRUE, 0,
                                                  src.l.buf_elems[b] * es, src.host[b], 0, NULL,
                                                  NULL),
                             CL_SUCCESS);
        }
    }
    role_make(f, &out, d, 2, seed + 13);
    role_make(f, &out2, d, 2, seed + 13);
    const role *o = out_over_in ? &in : &out;

    /* Expected: the reference per tensor, on host copies of the old outputs. */
    unsigned char *expected[BUFFERS];
    for (size_t b = 0; b < BUFFERS; ++b) {
        expected[b] = malloc(o->l.buf_elems[b] * es);
        memcpy(expected[b], o->host[b], o->l.buf_elems[b] * es);
    }
    for (size_t i = 0; i < T; ++i) {
        const void *a = in.host[in.l.buf[i]] + in.l.off[i] * es;
        const void *s =
            backward ? (const void *)(src.host[src.l.buf[i]] + src.l.off[i] * es) : NULL;
        void *e = expected[o->l.buf[i]] + o->l.off[i] * es;
        kit_reference(op, d, in.l.n[i], a, s, e, NULL);
    }

    cl_event done = NULL;
    clrelu_status st = backward
                           ? clrelu_backward_batch(f->ctx, d, T, in.t, src.t, o->t, 0, NULL, &done)
                           : clrelu_forward_batch(f->ctx, d, T, in.t, o->t, 0, NULL, &done);
    if (st != CLRELU_OK) {
        print_error("%s %s: %s\n", op->name, kit_dtypes[d->dtype].name,
                    clrelu_context_error(f->ctx));
        fail();
    }
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    unsigned char *got[BUFFERS];
    read_all(f, (role *)o, es, got);

    /* One call per tensor, into the second copy (not in place: that is covered above). */
    if (!out_over_in) {
        for (size_t i = 0; i < T; ++i) {
            cl_mem s = backward ? src.t[i].mem : NULL;
            assert_int_equal(kit_run_device(op, f->ctx, d, in.t[i].n, in.t[i].mem, in.t[i].off, s,
                                            backward ? src.t[i].off : 0, out2.t[i].mem,
                                            out2.t[i].off, NULL, 0, 0, NULL, NULL),
                             CLRELU_OK);
        }
        unsigned char *single[BUFFERS];
        read_all(f, &out2, es, single);
        for (size_t b = 0; b < BUFFERS; ++b) {
            assert_memory_equal(got[b], single[b], out.l.buf_elems[b] * es);
            free(single[b]);
        }
    }
    for (size_t b = 0; b < BUFFERS; ++b) {
        if (memcmp(got[b], expected[b], o->l.buf_elems[b] * es) != 0) {
            print_error("%s %s: buffer %zu differs from the reference\n", op->name,
                        kit_dtypes[d->dtype].name, b);
            fail();
        }
        free(got[b]);
        free(expected[b]);
    }
    role_free(&in);
    if (backward)
        role_free(&src);
    role_free(&out);
    role_free(&out2);
}

static void test_batch__matches_single_calls_and_reference_bitwise(void **state) {
    fixture *f = *state;
    static const char *ops[] = {"forward",           "backward",       "backward_y",
                                "leaky_forward",     "leaky_backward", "clipped_forward",
                                "clipped_backward_y"};
    uint32_t seed = 1;
    for (size_t o = 0; o < ARRAY_LEN(ops); ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (kit_dtypes[t].dtype == CLRELU_DTYPE_F64 && !f->info.has_fp64)
                continue;
            for (size_t c = 0; c < 3; c += 2) {
                const kit_op *op = kit_find_op(ops[o]);
                clrelu_desc d = test_desc(op, kit_dtypes[t].dtype, &test_configs[c]);
                check_batch(f, op, &d, 0, seed++);
            }
        }
    }
}

static void test_batch__in_place(void **state) {
    fixture *f = *state;
    const kit_op *fwd = kit_find_op("leaky_forward"), *bwd = kit_find_op("backward");
    for (size_t t = 0; t < kit_dtypes_count; ++t) {
        if (kit_dtypes[t].dtype == CLRELU_DTYPE_F64 && !f->info.has_fp64)
            continue;
        clrelu_desc d = test_desc(fwd, kit_dtypes[t].dtype, &test_configs[2]);
        check_batch(f, fwd, &d, 1, 77 + (uint32_t)t);
        d = test_desc(bwd, kit_dtypes[t].dtype, &test_configs[0]);
        check_batch(f, bwd, &d, 1, 99 + (uint32_t)t);
    }
}

/* The batch waits for its wait list (a closed gate), returns without blocking, and its event
 * completes once the gate opens. */
static void test_batch__waits_for_its_wait_list(void **state) {
    fixture *f = *state;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    role in, out;
    role_make(f, &in, &d, 0, 5);
    role_make(f, &out, &d, 0, 6);
    cl_int err;
    cl_event gate = clCreateUserEvent(f->info.context, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_event done = NULL;
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, T, in.t, out.t, 1, &gate, &done), CLRELU_OK);
    cl_int status = CL_QUEUED;
    clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    assert_true(status != CL_COMPLETE);
    assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    clReleaseEvent(gate);
    /* Zero tensors still give an event. */
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 0, NULL, NULL, 0, NULL, &done), CLRELU_OK);
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    role_free(&in);
    role_free(&out);
}

static void test_batch__refusals_name_the_tensor(void **state) {
    fixture *f = *state;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_int err;
    cl_mem a = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 4096, NULL, &err);
    cl_mem b = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 4096, NULL, &err);
    clrelu_tensor x[3] = {{a, 0, 100}, {a, 100, 100}, {a, 200, 100}};
    clrelu_tensor y[3] = {{b, 0, 100}, {b, 100, 100}, {b, 200, 99}};
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, x, y, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "y[2].n = 99 but x[2].n = 100"));
    y[2].n = 100;
    y[1].off = 50; /* overlaps tensor 0's output */
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, x, y, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "overlaps"));
    y[1].off = 100;
    y[1].mem = a; /* writes tensor 1's own x in place: fine */
    y[1].off = 100;
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, x, y, 0, NULL, NULL), CLRELU_OK);
    y[1].off = 200; /* writes tensor 2's x: refused */
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, x, y, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "y[1]"));
    y[1] = (clrelu_tensor){b, 100, 100};
    x[2].off = 1000; /* past the 1024 elements */
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, x, y, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "x[2].off + n = 1100"));
    x[2].off = 200;
    assert_int_equal(clrelu_forward_batch(f->ctx, &d, 3, NULL, y, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "x is NULL"));
    d.grad_from = CLRELU_GRAD_FROM_MASK;
    assert_int_equal(clrelu_backward_batch(f->ctx, &d, 3, x, x, y, 0, NULL, NULL),
                     CLRELU_ERROR_UNSUPPORTED);
    clFinish(f->info.queue);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
}

/* The overlap rule, against a pairwise model of it, over random layouts: tensors of 0..12
 * elements at offsets 0..40 in two buffers and a sub-buffer of the first at 16 elements (or the
 * device's base address alignment) (the same memory
 * under another handle), forward and backward. An output may share bytes with nothing but its
 * own tensor's inputs, and with those only exactly. */
static unsigned next_rand(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static size_t sub_elems = 16; /* the sub-buffer's origin in buffer 0, elements */

typedef struct placed {
    int buf; /* 0, 1, 2 = the sub-buffer of 0 at element 16 */
    size_t off, n;
} placed;

static int model_refuses(size_t count, int n_roles, placed p[][3]) {
    for (size_t i = 0; i < count; ++i) {
        const placed *o = &p[i][1];
        if (o->n == 0)
            continue;
        size_t ob = (o->buf == 2 ? sub_elems : 0) + o->off, oe = ob + o->n;
        int oroot = o->buf == 2 ? 0 : o->buf;
        for (size_t j = 0; j < count; ++j) {
            for (int k = 0; k < n_roles; ++k) {
                const placed *q = &p[j][k];
                if ((i == j && k == 1) || q->n == 0 || (q->buf == 2 ? 0 : q->buf) != oroot)
                    continue;
                size_t qb = (q->buf == 2 ? sub_elems : 0) + q->off, qe = qb + q->n;
                if (oe <= qb || qe <= ob)
                    continue;
                if (i == j && ob == qb && oe == qe)
                    continue;
                return 1;
            }
        }
    }
    return 0;
}

static void test_batch__overlap_rule_matches_the_pairwise_model(void **state) {
    fixture *f = *state;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_int err;
    cl_mem bufs[3];
    bufs[0] = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 256 * 4, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    bufs[1] = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE, 256 * 4, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_uint align = 0; /* bits */
    clGetDeviceInfo(f->info.device_id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align, &align, NULL);
    sub_elems = align / 8 / 4 > 16 ? align / 8 / 4 : 16;
    size_t sub_origin = sub_elems * 4;
    int with_sub = sub_elems <= 64 && align % 32 == 0;
    cl_buffer_region region = {sub_origin, 128 * 4};
    bufs[2] = with_sub ? clCreateSubBuffer(bufs[0], CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                           &region, &err)
                       : NULL;
    unsigned seed = 2024;
    int refused = 0, accepted = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        size_t count = 1 + (size_t)(next_rand(&seed) % 6);
        int n_roles = trial % 2 ? 3 : 2;
        placed p[6][3];
        clrelu_tensor t[3][6];
        for (size_t i = 0; i < count; ++i) {
            size_t n = next_rand(&seed) % 9 == 0 ? 0 : 1 + next_rand(&seed) % 12;
            for (int k = 0; k < n_roles; ++k) {
                int b = (int)(next_rand(&seed) % (with_sub ? 3 : 2));
                size_t off =
                    next_rand(&seed) % 4 == 0 && k > 0 ? p[i][0].off : next_rand(&seed) % 41;
                if (k > 0 && next_rand(&seed) % 4 == 0)
                    b = p[i][0].buf; /* often in place */
                p[i][k] = (placed){b, off, n};
                t[k][i] = (clrelu_tensor){bufs[b], off, n};
            }
        }
        int expect = model_refuses(count, n_roles, p);
        clrelu_status st =
            n_roles == 2
                ? clrelu_forward_batch(f->ctx, &d, count, t[0], t[1], 0, NULL, NULL)
                : clrelu_backward_batch(f->ctx, &d, count, t[0], t[2], t[1], 0, NULL, NULL);
        if (st != (expect ? CLRELU_ERROR_INVALID_ARGUMENT : CLRELU_OK)) {
            fprintf(stderr, "trial %d: %zu tensors, %d roles: model %s, clrelu %s (%s)\n", trial,
                    count, n_roles, expect ? "refuses" : "accepts", clrelu_status_name(st),
                    clrelu_context_error(f->ctx));
            for (size_t i = 0; i < count; ++i)
                for (int k = 0; k < n_roles; ++k)
                    fprintf(stderr, "  tensor %zu role %d: buf %d off %zu n %zu\n", i, k,
                            p[i][k].buf, p[i][k].off, p[i][k].n);
            fail();
        }
        if (expect)
            assert_non_null(strstr(clrelu_context_error(f->ctx), "overlaps"));
        refused += expect;
        accepted += !expect;
    }
    printf("overlap rule: %d layouts refused, %d accepted, as the pairwise model says%s\n", refused,
           accepted, with_sub ? " (with a sub-buffer)" : "");
    assert_true(refused > 300 && accepted > 300); /* both sides were exercised */
    clFinish(f->info.queue);
    if (bufs[2])
        clReleaseMemObject(bufs[2]);
    clReleaseMemObject(bufs[0]);
    clReleaseMemObject(bufs[1]);
}

int main(void) {
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    if (count == 0) {
        print_skip("no OpenCL device present: batches run only on devices");
        return TEST_SKIP_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch__matches_single_calls_and_reference_bitwise),
        cmocka_unit_test(test_batch__in_place),
        cmocka_unit_test(test_batch__waits_for_its_wait_list),
        cmocka_unit_test(test_batch__refusals_name_the_tensor),
        cmocka_unit_test(test_batch__overlap_rule_matches_the_pairwise_model),
    };
    int failed = 0;
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "batch on %.15s (%.100s on %.60s)", devs[i].spec, devs[i].name,
                 devs[i].platform);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
