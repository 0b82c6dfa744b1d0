/* SPDX-License-Identifier: Apache-2.0 */
/* Every OpenCL device present against the host reference, bit for bit: every op, dtype,
 * backward mode and blending setting on cl_mem buffers with offsets, in place, with events,
 * and the host-array round trip. One cmocka group per device; no device at all exits as
 * skipped (test_cpu covers the logic on the CPU path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

/* Test-only hook of the library (linked statically: hidden symbols stay reachable). */
void clrelu__set_round_trip_chunk_for_testing(size_t bytes);
int clrelu__mem_cache_holds_for_testing(cl_mem mem);

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
    clrelu_context_get_info(f->ctx, &f->info, sizeof f->info);
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

/* expected = relu(x) on n f32, by the reference. */
static void expect_relu_f32(size_t n, const float *x, float *expected) {
    const kit_op *fwd = kit_find_op("forward");
    clrelu_desc d = kit_desc(fwd, CLRELU_DTYPE_F32);
    memset(expected, 0, n * 4);
    kit_reference(fwd, &d, n, x, NULL, expected, NULL);
}

/* Sizes around every vector width and mask word, for the settings other than the defaults
 * (which run the full test_sizes list). */
static const size_t small_sizes[] = {0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 4099};

/* Offsets of in0, in1, out (elements) and of the mask (bits), rotated through the cases:
 * aligned and unaligned to every vector width. */
static const size_t offsets[][4] = {
    {0, 0, 0, 0}, {1, 5, 3, 32}, {4, 8, 16, 64}, {7, 2, 0, 0}, {16, 17, 5, 96},
};

static int device_runs(const fixture *f, clrelu_dtype dt) {
    return dt != CLRELU_DTYPE_F64 || f->info.has_fp64;
}

static void test_family__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 3;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!device_runs(f, kit_dtypes[t].dtype))
                continue; /* test_f64__unsupported_is_a_clear_error covers it */
            for (size_t c = 0; c < test_configs_count; ++c) {
                clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                if (test_desc_is_invalid(&kit_ops[o], &d))
                    continue;
                const size_t *sizes = c == 0 ? test_sizes : small_sizes;
                size_t count = c == 0 ? test_sizes_count : ARRAY_LEN(small_sizes);
                for (size_t s = 0; s < count; ++s, ++seed) {
                    const size_t *off = offsets[seed % ARRAY_LEN(offsets)];
                    if (sizes[s] <= test_max_n())
                        run_device_case(f->ctx, &kit_ops[o], &d, sizes[s], CASE_SEPARATE, off,
                                        off[3], seed);
                }
            }
        }
    }
}

static void test_family__in_place(void **state) {
    fixture *f = *state;
    uint32_t seed = 11;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        const kit_op *op = &kit_ops[o];
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!device_runs(f, kit_dtypes[t].dtype))
                continue;
            for (size_t c = 0; c < 3; c += 2) {
                clrelu_desc d = test_desc(op, kit_dtypes[t].dtype, &test_configs[c]);
                for (size_t s = 0; s < ARRAY_LEN(small_sizes); s += 3, ++seed) {
                    const size_t *off = offsets[seed % ARRAY_LEN(offsets)];
                    /* In place: the output at the offset of the input it shares. */
                    size_t same0[3] = {off[0], off[1], off[0]}, same1[3] = {off[0], off[1], off[1]};
                    run_device_case(f->ctx, op, &d, small_sizes[s], CASE_OVER_IN0, same0, off[3],
                                    seed);
                    if (op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y)
                        run_device_case(f->ctx, op, &d, small_sizes[s], CASE_OVER_IN1, same1,
                                        off[3], seed);
                }
            }
        }
    }
}

/* The host-array calls through the device (write, op, read in pooled buffers, chunked). */
static void test_host_round_trip__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    assert_int_equal(clrelu_context_set_host_path(f->ctx, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    uint32_t seed = 5;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            if (!device_runs(f, kit_dtypes[t].dtype))
                continue;
            for (size_t c = 0; c < test_configs_count; c += 2) {
                clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                if (test_desc_is_invalid(&kit_ops[o], &d))
                    continue;
                for (size_t s = 0; s < ARRAY_LEN(small_sizes); s += 2, ++seed)
                    run_host_case(f->ctx, &kit_ops[o], &d, small_sizes[s],
                                  seed % 3 == 0 ? CASE_OVER_IN0 : CASE_SEPARATE, seed % 2, seed);
            }
        }
    }
    /* Chunks: 4 KiB buffers, so these arrays take several round trips each (a mask's chunks
     * start on whole words). */
    clrelu__set_round_trip_chunk_for_testing(4096);
    for (size_t o = 0; o < kit_ops_count; ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t, ++seed) {
            if (!device_runs(f, kit_dtypes[t].dtype) || 10000 + seed % 40 > test_max_n())
                continue;
            clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[t].dtype, &test_configs[seed % 3]);
            run_host_case(f->ctx, &kit_ops[o], &d, 10000 + seed % 40, CASE_SEPARATE, 0, seed);
        }
    }
    clrelu__set_round_trip_chunk_for_testing((size_t)64 << 20);
    assert_int_equal(clrelu_context_set_host_path(f->ctx, CLRELU_HOST_PATH_CPU), CLRELU_OK);
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
    expect_relu_f32(n, f->a, f->expected);
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
    assert_int_equal(clrelu_context_get_info(w, &info, sizeof info), CLRELU_OK);
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
    expect_relu_f32(n, f->a, f->expected);
    assert_bits_equal(f->out, f->expected, n, "forward on a wrapped queue");
    clrelu_context_release(w);

    clReleaseMemObject(x);
    /* PoCL drops a finished command's own reference on its queue from another thread, a
     * little later: wait (up to 2 s) for the counts to return; a leak never does. */
    assert_int_equal(clFinish(q), CL_SUCCESS);
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

/* One kernel, called again and again on the same buffers with one thing changed each time
 * (the slope's sign bit alone, n, offsets, the blend): a call sets on the kernel only what
 * changed since the last, so each result must still be the reference's, bit for bit. */
static void test_launch__each_call_gets_its_own_arguments(void **state) {
    fixture *f = *state;
    enum { N = 1000, WORDS = N + 64 };
    const kit_op *leaky = kit_find_op("leaky_forward");
    float x[WORDS];
    for (size_t i = 0; i < WORDS; ++i) /* negative, positive and zero: the slope's sign shows */
        x[i] = i % 3 == 0 ? -1.5f * (float)(i + 1) : i % 3 == 1 ? 0.25f * (float)i : 0.0f;
    cl_mem xb = make_buffer(f, WORDS, x), yb = make_buffer(f, WORDS, NULL);
    const struct {
        float slope, alpha, beta;
        size_t n, x_off, y_off;
    } calls[] = {
        {0.0f, 1, 0, N, 0, 0},         {-0.0f, 1, 0, N, 0, 0},       {-0.0f, 1, 0, N - 17, 0, 0},
        {-0.0f, 1, 0, N - 17, 16, 32}, {-0.0f, 1, 0, N - 17, 16, 0}, {0.5f, 1, 0, N, 0, 0},
        {0.5f, 2, 0, N, 0, 0},         {0.5f, 2, 1, N, 0, 0},        {0.0f, 1, 0, N, 0, 0},
    };
    uint32_t got[WORDS], expected[WORDS], old[WORDS];
    for (size_t c = 0; c < ARRAY_LEN(calls); ++c) {
        clrelu_desc d = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, CLRELU_DTYPE_F32);
        d.negative_slope = calls[c].slope;
        d.alpha = calls[c].alpha;
        d.beta = calls[c].beta;
        read_buffer(f, yb, WORDS, old);
        memcpy(expected, old, sizeof expected);
        kit_reference(leaky, &d, calls[c].n, x + calls[c].x_off, NULL, expected + calls[c].y_off,
                      NULL);
        assert_int_equal(clrelu_forward(f->ctx, &d, calls[c].n, xb, calls[c].x_off, yb,
                                        calls[c].y_off, 0, NULL, NULL),
                         CLRELU_OK);
        read_buffer(f, yb, WORDS, got);
        for (size_t i = 0; i < WORDS; ++i)
            if (got[i] != expected[i])
                fail_msg("call %zu (slope %g, alpha %g, beta %g, n %zu, x_off %zu, y_off %zu): "
                         "y[%zu] = 0x%08x, expected 0x%08x",
                         c, (double)calls[c].slope, (double)calls[c].alpha, (double)calls[c].beta,
                         calls[c].n, calls[c].x_off, calls[c].y_off, i, got[i], expected[i]);
    }
    clReleaseMemObject(xb);
    clReleaseMemObject(yb);
}

/* Whether the cache forgets m within 5 s. The destructor callback that makes it forget runs
 * when the driver frees the buffer, which need not be at clReleaseMemObject: PoCL 3.1 can
 * still hold a finished command's reference for a moment (seen once in tools/gpu-check.sh's
 * run of this test). */
static int forgotten_soon(cl_mem m) {
    for (int i = 0; i < 5000; ++i) {
        if (!clrelu__mem_cache_holds_for_testing(m))
            return 1;
        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
    }
    return 0;
}

/* What the driver said of a buffer is kept until the buffer is destroyed, and only for the
 * context it belongs to: another context is still refused, and a released buffer forgotten
 * (a new buffer, possibly at the same handle, is asked again: its size is its own). */
static void test_mem_cache__forgets_released_buffers_and_keeps_contexts_apart(void **state) {
    fixture *f = *state;
    for (int round = 0; round < 4; ++round) {
        size_t words = round % 2 ? 64 : 4096;
        cl_mem xb = make_buffer(f, words, NULL), yb = make_buffer(f, words, NULL);
        /* One element more than the buffers hold is refused, whatever was cached before. */
        assert_int_equal(clrelu_forward(f->ctx, &f->desc, words + 1, xb, 0, yb, 0, 0, NULL, NULL),
                         CLRELU_ERROR_OUT_OF_BOUNDS);
        assert_int_equal(clrelu_forward(f->ctx, &f->desc, words, xb, 0, yb, 0, 0, NULL, NULL),
                         CLRELU_OK);
        assert_true(clrelu__mem_cache_holds_for_testing(xb));
        assert_true(clrelu__mem_cache_holds_for_testing(yb));
        clrelu_context *other = NULL;
        assert_int_equal(clrelu_context_create(&other, current_spec), CLRELU_OK);
        assert_int_equal(clrelu_forward(other, &f->desc, words, xb, 0, yb, 0, 0, NULL, NULL),
                         CLRELU_ERROR_WRONG_CONTEXT);
        assert_non_null(strstr(clrelu_context_error(other), "belongs to cl_context"));
        clrelu_context_release(other);
        assert_int_equal(clFinish(f->info.queue), CL_SUCCESS);
        clReleaseMemObject(xb);
        clReleaseMemObject(yb);
        assert_true(forgotten_soon(xb));
        assert_true(forgotten_soon(yb));
    }
}

int main(void) {
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    if (count == 0) {
        print_skip("no OpenCL device present; test_cpu covers the CPU path");
        return TEST_SKIP_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family__matches_reference_bitwise),
        cmocka_unit_test(test_family__in_place),
        cmocka_unit_test(test_forward__waits_for_its_wait_list),
        cmocka_unit_test(test_forward__zero_elements_gives_a_completing_event),
        cmocka_unit_test(test_host_round_trip__matches_reference_bitwise),
        cmocka_unit_test(test_wrap__runs_on_the_callers_queue_and_releases_its_references),
        cmocka_unit_test(test_launch__each_call_gets_its_own_arguments),
        cmocka_unit_test(test_mem_cache__forgets_released_buffers_and_keeps_contexts_apart),
    };
    int failed = 0;
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "device %.15s (%.100s on %.60s)", devs[i].spec, devs[i].name,
                 devs[i].platform);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
