/* Every OpenCL device present against the host reference, bit for bit: forward and backward
 * on cl_mem buffers with offsets, in place, with events, and the host-array round trip. One
 * cmocka group per device; no device at all exits as skipped (test_cpu covers the logic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define GUARD 29

typedef struct fixture {
    clrelu_context *ctx;
    clrelu_context_info info;
    clrelu_desc desc;
    float *a, *b, *out, *expected;
    size_t cap;
} fixture;

static const char *current_spec;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (clrelu_context_create(&f->ctx, current_spec) != CLRELU_OK) {
        fprintf(stderr, "context on %s: %s\n", current_spec, clrelu_last_error());
        return -1;
    }
    clrelu_context_get_info(f->ctx, &f->info);
    f->desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    f->cap = test_sizes[test_sizes_count - 1] + 64 + GUARD;
    f->a = malloc(f->cap * 4);
    f->b = malloc(f->cap * 4);
    f->out = malloc(f->cap * 4);
    f->expected = malloc(f->cap * 4);
    *state = f;
    return f->a && f->b && f->out && f->expected ? 0 : -1;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->ctx);
    free(f->a);
    free(f->b);
    free(f->out);
    free(f->expected);
    free(f);
    return 0;
}

/* A buffer of words 32-bit words holding init (or the guard pattern when init is NULL). */
static cl_mem make_buffer(fixture *f, size_t words, const void *init) {
    cl_int err;
    uint32_t *guard = NULL;
    if (!init) {
        guard = malloc(words * 4 + 4);
        fill_guard(guard, words);
        init = guard;
    }
    cl_mem m = clCreateBuffer(f->info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, words * 4,
                              (void *)init, &err);
    free(guard);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void read_buffer(fixture *f, cl_mem m, size_t words, void *out) {
    assert_int_equal(
        clEnqueueReadBuffer(f->info.queue, m, CL_TRUE, 0, words * 4, out, 0, NULL, NULL),
        CL_SUCCESS);
}

/* Asserts words [off, off + n) equal expected and every other word is still the guard. */
static void assert_window(const uint32_t *got, size_t total, size_t off, size_t n,
                          const float *expected, const char *what) {
    for (size_t i = 0; i < total; ++i) {
        if (i >= off && i < off + n)
            continue;
        if (got[i] != GUARD_WORD) {
            print_error("%s: word %zu outside [%zu, %zu) was written (0x%08x)\n", what, i, off,
                        off + n, (unsigned)got[i]);
            fail();
        }
    }
    assert_bits_equal(got + off, expected, n, what);
}

static void test_forward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    static const size_t offs[][2] = {{0, 0}, {1, 5}, {4, 12}, {3, 3}, {16, 1}};
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        for (size_t o = 0; o < ARRAY_LEN(offs); ++o) {
            size_t xo = offs[o][0], yo = offs[o][1];
            size_t xw = xo + n + GUARD, yw = yo + n + GUARD;
            kit_fill(CLRELU_DTYPE_F32, f->a, xw, (uint32_t)(n * 31 + o + 1));
            cl_mem x = make_buffer(f, xw, f->a);
            cl_mem y = make_buffer(f, yw, NULL);
            cl_event done = NULL;
            assert_int_equal(clrelu_forward(f->ctx, &f->desc, n, x, xo, y, yo, 0, NULL, &done),
                             CLRELU_OK);
            assert_non_null(done);
            assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
            clReleaseEvent(done);
            read_buffer(f, y, yw, f->out);
            kit_relu_forward_f32(n, f->a + xo, f->expected);
            assert_window((uint32_t *)f->out, yw, yo, n, f->expected, "forward");
            clReleaseMemObject(x);
            clReleaseMemObject(y);
        }
    }
}

static void test_backward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    static const size_t offs[][3] = {{0, 0, 0}, {1, 2, 3}, {4, 8, 16}, {7, 0, 5}, {2, 2, 2}};
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        for (size_t o = 0; o < ARRAY_LEN(offs); ++o) {
            size_t go = offs[o][0], xo = offs[o][1], oo = offs[o][2];
            size_t gw = go + n + GUARD, xw = xo + n + GUARD, ow = oo + n + GUARD;
            kit_fill(CLRELU_DTYPE_F32, f->a, gw, (uint32_t)(n * 17 + o + 2));
            kit_fill(CLRELU_DTYPE_F32, f->b, xw, (uint32_t)(n * 13 + o + 3));
            cl_mem dy = make_buffer(f, gw, f->a);
            cl_mem x = make_buffer(f, xw, f->b);
            cl_mem dx = make_buffer(f, ow, NULL);
            assert_int_equal(
                clrelu_backward(f->ctx, &f->desc, n, dy, go, x, xo, dx, oo, 0, NULL, NULL),
                CLRELU_OK);
            read_buffer(f, dx, ow, f->out); /* in-order queue: the read follows the op */
            kit_relu_backward_f32(n, f->a + go, f->b + xo, f->expected);
            assert_window((uint32_t *)f->out, ow, oo, n, f->expected, "backward");
            clReleaseMemObject(dy);
            clReleaseMemObject(x);
            clReleaseMemObject(dx);
        }
    }
}

static void test_forward__in_place(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        for (size_t off = 0; off < 6; off += 5) {
            size_t w = off + n + GUARD;
            kit_fill(CLRELU_DTYPE_F32, f->a, w, (uint32_t)(n + off + 9));
            cl_mem x = make_buffer(f, w, f->a);
            assert_int_equal(clrelu_forward(f->ctx, &f->desc, n, x, off, x, off, 0, NULL, NULL),
                             CLRELU_OK);
            read_buffer(f, x, w, f->out);
            kit_relu_forward_f32(n, f->a + off, f->expected);
            assert_bits_equal(f->out + off, f->expected, n, "in-place forward");
            assert_bits_equal(f->out, f->a, off, "in-place forward: words before the window");
            assert_bits_equal(f->out + off + n, f->a + off + n, GUARD,
                              "in-place forward: words after the window");
            clReleaseMemObject(x);
        }
    }
}

static void test_backward__in_place_over_dy_and_over_x(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        size_t w = 3 + n;
        kit_fill(CLRELU_DTYPE_F32, f->a, w, (uint32_t)(n + 21));
        kit_fill(CLRELU_DTYPE_F32, f->b, w, (uint32_t)(n + 23));
        kit_relu_backward_f32(n, f->a + 3, f->b + 3, f->expected);
        for (int over_x = 0; over_x < 2; ++over_x) {
            cl_mem dy = make_buffer(f, w, f->a);
            cl_mem x = make_buffer(f, w, f->b);
            cl_mem dx = over_x ? x : dy;
            assert_int_equal(
                clrelu_backward(f->ctx, &f->desc, n, dy, 3, x, 3, dx, 3, 0, NULL, NULL), CLRELU_OK);
            read_buffer(f, dx, w, f->out);
            assert_bits_equal(f->out + 3, f->expected, n,
                              over_x ? "backward in place over x" : "backward in place over dy");
            clReleaseMemObject(dy);
            clReleaseMemObject(x);
        }
    }
}

/* The op waits for its wait list and does not block the caller: it is enqueued behind a
 * user event that is still pending when the call returns. */
static void test_forward__waits_for_its_wait_list(void **state) {
    fixture *f = *state;
    const size_t n = 4099;
    kit_fill(CLRELU_DTYPE_F32, f->a, n, 77);
    cl_mem x = make_buffer(f, n, f->a);
    cl_mem y = make_buffer(f, n, NULL);
    cl_int err;
    cl_event gate = clCreateUserEvent(f->info.context, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_event done = NULL;
    assert_int_equal(clrelu_forward(f->ctx, &f->desc, n, x, 0, y, 0, 1, &gate, &done), CLRELU_OK);
    cl_int status = CL_QUEUED;
    assert_int_equal(
        clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
        CL_SUCCESS);
    assert_true(status != CL_COMPLETE); /* the gate is still closed */
    assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    read_buffer(f, y, n, f->out);
    kit_relu_forward_f32(n, f->a, f->expected);
    assert_bits_equal(f->out, f->expected, n, "forward after the gate");
    clReleaseEvent(done);
    clReleaseEvent(gate);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
}

static void test_forward__zero_elements_gives_a_completing_event(void **state) {
    fixture *f = *state;
    cl_mem x = make_buffer(f, 4, NULL);
    cl_event done = NULL;
    assert_int_equal(clrelu_forward(f->ctx, &f->desc, 0, x, 4, x, 4, 0, NULL, &done), CLRELU_OK);
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    read_buffer(f, x, 4, f->out);
    for (int i = 0; i < 4; ++i)
        assert_int_equal(((uint32_t *)f->out)[i], GUARD_WORD);
    clReleaseMemObject(x);
}

static void test_host_round_trip__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    assert_int_equal(clrelu_context_set_host_path(f->ctx, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        kit_fill(CLRELU_DTYPE_F32, f->a, n, (uint32_t)(n + 41));
        kit_fill(CLRELU_DTYPE_F32, f->b, n, (uint32_t)(n + 43));
        assert_int_equal(clrelu_forward_host(f->ctx, &f->desc, n, f->a, f->out), CLRELU_OK);
        kit_relu_forward_f32(n, f->a, f->expected);
        assert_bits_equal(f->out, f->expected, n, "device round trip forward");
        assert_int_equal(clrelu_backward_host(f->ctx, &f->desc, n, f->b, f->a, f->out), CLRELU_OK);
        kit_relu_backward_f32(n, f->b, f->a, f->expected);
        assert_bits_equal(f->out, f->expected, n, "device round trip backward");
        /* in place through the device */
        kit_relu_forward_f32(n, f->a, f->expected);
        assert_int_equal(clrelu_forward_host(f->ctx, &f->desc, n, f->a, f->a), CLRELU_OK);
        assert_bits_equal(f->a, f->expected, n, "device round trip in place");
    }
    assert_int_equal(clrelu_context_set_host_path(f->ctx, CLRELU_HOST_PATH_CPU), CLRELU_OK);
}

/* A pipeline's own context and queue: clrelu enqueues there, retains both while wrapped, and
 * gives back exactly the references it took. */
static void test_wrap__runs_on_the_callers_queue_and_releases_its_references(void **state) {
    fixture *f = *state;
    cl_int err;
    cl_device_id dev = f->info.device_id;
    cl_context c = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(c, dev, CL_QUEUE_PROFILING_ENABLE, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_uint refs_before = 0, qrefs_before = 0, refs = 0, qrefs = 0;
    clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof refs_before, &refs_before, NULL);
    clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof qrefs_before, &qrefs_before, NULL);
    clrelu_context *w = NULL;
    assert_int_equal(clrelu_context_wrap(&w, c, q), CLRELU_OK);
    clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL);
    clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof qrefs, &qrefs, NULL);
    assert_int_equal(refs, refs_before + 1); /* retained while wrapped */
    assert_int_equal(qrefs, qrefs_before + 1);
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(w, &info), CLRELU_OK);
    assert_ptr_equal(info.context, c);
    assert_ptr_equal(info.queue, q);
    assert_string_equal(info.id, current_spec);

    const size_t n = 1000;
    kit_fill(CLRELU_DTYPE_F32, f->a, n, 5);
    cl_mem x = clCreateBuffer(c, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, f->a, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_event done = NULL;
    assert_int_equal(clrelu_forward(w, &f->desc, n, x, 0, x, 0, 0, NULL, &done), CLRELU_OK);
    cl_command_queue on = NULL;
    assert_int_equal(clGetEventInfo(done, CL_EVENT_COMMAND_QUEUE, sizeof on, &on, NULL),
                     CL_SUCCESS);
    assert_ptr_equal(on, q);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    assert_int_equal(clEnqueueReadBuffer(q, x, CL_TRUE, 0, n * 4, f->out, 0, NULL, NULL),
                     CL_SUCCESS);
    kit_relu_forward_f32(n, f->a, f->expected);
    assert_bits_equal(f->out, f->expected, n, "forward on a wrapped queue");
    clrelu_context_release(w);

    clReleaseMemObject(x);
    /* A driver may drop the references its own finished commands hold on the context from a
     * worker thread a moment after they complete (PoCL does, seen under load): wait up to 2 s
     * for the counts to settle. A reference clrelu kept would never go. */
    clFinish(q);
    for (int tries = 0; tries < 200; ++tries) {
        clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL);
        clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof qrefs, &qrefs, NULL);
        if (refs == refs_before && qrefs == qrefs_before)
            break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    assert_int_equal(refs, refs_before);
    assert_int_equal(qrefs, qrefs_before);
    clReleaseCommandQueue(q);
    clReleaseContext(c);
}

int main(void) {
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    if (count == 0) {
        print_skip("no OpenCL device present; test_cpu covers the CPU path");
        return TEST_SKIP_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward__matches_reference_bitwise),
        cmocka_unit_test(test_backward__matches_reference_bitwise),
        cmocka_unit_test(test_forward__in_place),
        cmocka_unit_test(test_backward__in_place_over_dy_and_over_x),
        cmocka_unit_test(test_forward__waits_for_its_wait_list),
        cmocka_unit_test(test_forward__zero_elements_gives_a_completing_event),
        cmocka_unit_test(test_host_round_trip__matches_reference_bitwise),
        cmocka_unit_test(test_wrap__runs_on_the_callers_queue_and_releases_its_references),
    };
    int failed = 0;
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "device %.15s (%.160s)", devs[i].spec, devs[i].name);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
