/* SPDX-License-Identifier: Apache-2.0 */
/* Bad input gets its status and a message naming the argument and its value; nothing reaches
 * the device, nothing is written, nothing leaks (reference counts of the caller's objects are
 * unchanged). Device cases run on the first OpenCL device and skip loudly without one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu/cpu.h"
#include "internal.h"

typedef struct fixture {
    clrelu_context *cpu;
    clrelu_context *dev; /* NULL when no OpenCL device is present */
    clrelu_context_info info;
    clrelu_desc desc;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || clrelu_context_create(&f->cpu, "cpu") != CLRELU_OK)
        return -1;
    test_device devs[4];
    if (list_devices(devs, 4) > 0) {
        if (clrelu_context_create(&f->dev, devs[0].spec) != CLRELU_OK)
            return -1;
        clrelu_context_get_info(f->dev, &f->info, sizeof f->info);
    }
    f->desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->cpu);
    clrelu_context_release(f->dev);
    free(f);
    return 0;
}

#define assert_message_has(ctx, text)                                                              \
    do {                                                                                           \
        const char *m_ = clrelu_context_error(ctx);                                                \
        if (!strstr(m_, (text))) {                                                                 \
            print_error("message \"%s\" does not contain \"%s\"\n", m_, (text));                   \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static fixture *need_device(void **state) {
    fixture *f = *state;
    if (!f->dev) {
        print_skip("no OpenCL device present: the cl_mem checks are not run here");
        skip();
    }
    return f;
}

static cl_mem guard_buffer(fixture *f, size_t words, cl_mem_flags flags) {
    uint32_t *g = malloc(words * 4);
    fill_guard(g, words);
    cl_int err;
    cl_mem m = clCreateBuffer(f->info.context, flags | CL_MEM_COPY_HOST_PTR, words * 4, g, &err);
    free(g);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void assert_untouched(fixture *f, cl_mem m, size_t words) {
    uint32_t *got = malloc(words * 4);
    assert_int_equal(
        clEnqueueReadBuffer(f->info.queue, m, CL_TRUE, 0, words * 4, got, 0, NULL, NULL),
        CL_SUCCESS);
    for (size_t i = 0; i < words; ++i)
        assert_int_equal(got[i], GUARD_WORD);
    free(got);
}

static cl_uint mem_refs(cl_mem m) {
    cl_uint r = 0;
    clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof r, &r, NULL);
    return r;
}

/* ------------------------------------------------------------------------------------------ */

static void test_status__every_code_has_a_name_and_a_text(void **state) {
    (void)state;
#define CHECK(name, value, text)                                                                   \
    assert_string_equal(clrelu_status_name(name), #name);                                          \
    assert_string_equal(clrelu_status_string(name), text);
    CLRELU_STATUS_LIST(CHECK)
#undef CHECK
    assert_string_equal(clrelu_status_string((clrelu_status)12345), "unknown status");
    assert_string_equal(clrelu_version(), CLRELU_VERSION_STRING);
}

static void test_context_create__rejects_null_out(void **state) {
    (void)state;
    assert_int_equal(clrelu_context_create(NULL, "cpu"), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(NULL, "out is NULL");
}

static void test_context_create__unknown_spec_names_it(void **state) {
    (void)state;
    clrelu_context *c = (clrelu_context *)&c; /* must be reset to NULL */
    assert_int_equal(clrelu_context_create(&c, "no-such-device-xyz"),
                     CLRELU_ERROR_DEVICE_NOT_FOUND);
    assert_null(c);
    assert_message_has(NULL, "device_spec 'no-such-device-xyz'");
    assert_int_equal(clrelu_context_create(&c, "9:0"), CLRELU_ERROR_DEVICE_NOT_FOUND);
    assert_message_has(NULL, "'9:0'");
    assert_message_has(NULL, "platform 9");
}

static void test_context_create__gpu_spec_finds_a_gpu_or_says_none(void **state) {
    (void)state;
    clrelu_context *c = NULL;
    clrelu_status st = clrelu_context_create(&c, "gpu");
    if (st == CLRELU_OK) {
        clrelu_context_info info;
        clrelu_context_get_info(c, &info, sizeof info);
        assert_int_equal(info.kind, CLRELU_DEVICE_KIND_GPU);
        clrelu_context_release(c);
    } else {
        assert_int_equal(st, CLRELU_ERROR_DEVICE_NOT_FOUND);
        assert_message_has(NULL, "no OpenCL GPU found");
    }
}

static void test_context_create__environment_chooses_the_device(void **state) {
    (void)state;
    clrelu_context *c = NULL;
    setenv("CLRELU_DEVICE", "cpu", 1);
    assert_int_equal(clrelu_context_create(&c, NULL), CLRELU_OK);
    clrelu_context_info info;
    clrelu_context_get_info(c, &info, sizeof info);
    assert_int_equal(info.kind, CLRELU_DEVICE_KIND_SIMD);
    clrelu_context_release(c);

    setenv("CLRELU_DEVICE", "bogus-vendor", 1);
    assert_int_equal(clrelu_context_create(&c, NULL), CLRELU_ERROR_DEVICE_NOT_FOUND);
    assert_message_has(NULL, "CLRELU_DEVICE 'bogus-vendor'");
    /* An explicit spec wins over the environment. */
    assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_OK);
    clrelu_context_release(c);
    unsetenv("CLRELU_DEVICE");

    /* Default: the first GPU, else the CPU path. */
    assert_int_equal(clrelu_context_create(&c, NULL), CLRELU_OK);
    clrelu_context_get_info(c, &info, sizeof info);
    clrelu_context *g = NULL;
    if (clrelu_context_create(&g, "gpu") == CLRELU_OK) {
        assert_int_equal(info.kind, CLRELU_DEVICE_KIND_GPU);
        clrelu_context_release(g);
    } else {
        assert_int_equal(info.kind, CLRELU_DEVICE_KIND_SIMD);
    }
    clrelu_context_release(c);
}

static void test_cpu_isa__unknown_or_missing_isa_is_a_clear_error(void **state) {
    (void)state;
    clrelu_context *c = NULL;
    setenv("CLRELU_CPU_ISA", "avx9000", 1);
    assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_ERROR_ISA_UNAVAILABLE);
    assert_null(c);
    assert_message_has(NULL, "CLRELU_CPU_ISA=avx9000");
    /* Pretend this CPU lacks AVX-512: forcing it fails, the default falls back. */
    clrelu__cpu_hide_for_testing("avx512");
    setenv("CLRELU_CPU_ISA", "avx512", 1);
    assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_ERROR_ISA_UNAVAILABLE);
    assert_message_has(NULL, "does not support avx512");
    unsetenv("CLRELU_CPU_ISA");
    assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_OK);
    clrelu_context_info info;
    clrelu_context_get_info(c, &info, sizeof info);
    assert_string_not_equal(info.cpu_isa, "avx512");
    clrelu_context_release(c);
}

static void test_num_threads__bad_count_is_a_clear_error(void **state) {
    (void)state;
    static const char *bad[] = {"0", "-2", "two", "3x", "257"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        clrelu_context *c = NULL;
        setenv("CLRELU_NUM_THREADS", bad[i], 1);
        assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_ERROR_INVALID_ARGUMENT);
        assert_null(c);
        assert_message_has(NULL, "CLRELU_NUM_THREADS");
        assert_message_has(NULL, bad[i]);
    }
    /* A good count is what the CPU path reports as its compute units. */
    clrelu_context *c = NULL;
    setenv("CLRELU_NUM_THREADS", "3", 1);
    assert_int_equal(clrelu_context_create(&c, "cpu"), CLRELU_OK);
    unsetenv("CLRELU_NUM_THREADS");
    clrelu_context_info info;
    clrelu_context_get_info(c, &info, sizeof info);
    assert_int_equal(info.compute_units, 3);
    clrelu_context_release(c);
}

/* A bad CLRELU_NUM_THREADS concerns the CPU path only: a context on an OpenCL device is made
 * (created or wrapped) and does its device work; only its host calls that would run on the CPU
 * path fail, naming the variable, and the same calls sent to the device succeed. */
static void test_num_threads__bad_count_fails_only_the_cpu_paths_work(void **state) {
    fixture *f = need_device(state);
    setenv("CLRELU_NUM_THREADS", "two", 1);
    clrelu_context *c = NULL, *w = NULL;
    clrelu_status created = clrelu_context_create(&c, f->info.id);
    clrelu_status wrapped = clrelu_context_wrap(&w, f->info.context, f->info.queue);
    unsetenv("CLRELU_NUM_THREADS");
    assert_int_equal(created, CLRELU_OK);
    assert_int_equal(wrapped, CLRELU_OK);
    clrelu_context_release(w);

    float x[64], y[64], want[64];
    kit_fill(CLRELU_DTYPE_F32, x, 64, 7u);
    kit_relu_forward_f32(64, x, want);
    /* On the device's buffers: as always. */
    cl_int err;
    clrelu_context_info info;
    clrelu_context_get_info(c, &info, sizeof info);
    cl_mem buf =
        clCreateBuffer(info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clrelu_forward(c, &f->desc, 64, buf, 0, buf, 0, 0, NULL, NULL), CLRELU_OK);
    assert_int_equal(clEnqueueReadBuffer(info.queue, buf, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(buf);
    assert_bits_equal(y, want, 64, "forward on the device with a bad CLRELU_NUM_THREADS");

    /* Host arrays on the CPU path: refused by name, output untouched. */
    uint32_t guard[64];
    fill_guard(guard, 64);
    memcpy(y, guard, sizeof y);
    assert_int_equal(clrelu_forward_host(c, &f->desc, 64, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(c, "clrelu_forward_host: CLRELU_NUM_THREADS = 'two'");
    assert_memory_equal(y, guard, sizeof y);
    assert_int_equal(clrelu_backward_host(c, &f->desc, 64, x, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(c, "clrelu_backward_host: CLRELU_NUM_THREADS");
    assert_int_equal(clrelu_bias_forward_host(c, &f->desc, 8, 8, x, 8, x, y, 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(c, "clrelu_bias_forward_host: CLRELU_NUM_THREADS");
    assert_memory_equal(y, guard, sizeof y);

    /* The same host call sent to the device runs. */
    assert_int_equal(clrelu_context_set_host_path(c, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    assert_int_equal(clrelu_forward_host(c, &f->desc, 64, x, y), CLRELU_OK);
    assert_bits_equal(y, want, 64, "forward_host through the device with a bad CLRELU_NUM_THREADS");
    clrelu_context_release(c);
}

static void test_context_wrap__rejects_null_and_mismatched_queue(void **state) {
    fixture *f = need_device(state);
    clrelu_context *w = NULL;
    assert_int_equal(clrelu_context_wrap(&w, NULL, f->info.queue), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(NULL, "context is NULL");
    assert_int_equal(clrelu_context_wrap(&w, f->info.context, NULL), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(NULL, "queue is NULL");
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &f->info.device_id, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clrelu_context_wrap(&w, other, f->info.queue), CLRELU_ERROR_WRONG_CONTEXT);
    assert_null(w);
    assert_message_has(NULL, "queue belongs to cl_context");
    clReleaseContext(other);
}

static void test_ops__null_ctx_desc_and_bad_enums(void **state) {
    fixture *f = *state;
    float x[4] = {1, -1, 2, -2}, y[4];
    assert_int_equal(clrelu_forward(NULL, &f->desc, 4, NULL, 0, NULL, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(NULL, "clrelu_forward: ctx is NULL");
    assert_int_equal(clrelu_forward_host(NULL, &f->desc, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(NULL, "clrelu_forward_host: ctx is NULL");
    assert_int_equal(clrelu_forward_host(f->cpu, NULL, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc is NULL");
    clrelu_desc bad = f->desc;
    bad.dtype = (clrelu_dtype)99; /* not a dtype */
    assert_int_equal(clrelu_forward_host(f->cpu, &bad, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->dtype = 99");
    bad = f->desc;
    bad.op = (clrelu_op)42;
    assert_int_equal(clrelu_backward_host(f->cpu, &bad, 4, x, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->op = 42");
    /* The per-thread message matches the context's. */
    assert_string_equal(clrelu_last_error(), clrelu_context_error(f->cpu));
}

static void test_host__null_pointers_overlap_and_overflow(void **state) {
    fixture *f = *state;
    float buf[16] = {0};
    assert_int_equal(clrelu_forward_host(f->cpu, &f->desc, 4, NULL, buf),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "clrelu_forward_host: x is NULL");
    assert_int_equal(clrelu_backward_host(f->cpu, &f->desc, 4, buf, NULL, buf),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "clrelu_backward_host: src is NULL");
    assert_int_equal(clrelu_backward_host(f->cpu, &f->desc, 4, buf, buf, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "dx is NULL");
    /* n = 0 touches nothing, so NULL is fine */
    assert_int_equal(clrelu_forward_host(f->cpu, &f->desc, 0, NULL, NULL), CLRELU_OK);
    assert_int_equal(clrelu_forward_host(f->cpu, &f->desc, 8, buf, buf + 2),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "y (");
    assert_message_has(f->cpu, "partly overlaps x");
    assert_int_equal(clrelu_forward_host(f->cpu, &f->desc, SIZE_MAX / 2, buf, buf),
                     CLRELU_ERROR_SIZE_OVERFLOW);
    assert_message_has(f->cpu, "n * 4 bytes overflows size_t");
}

static void test_host__misaligned_pointers_are_refused(void **state) {
    fixture *f = *state;
    uint32_t words[16] = {0};
    unsigned char *bytes = (unsigned char *)words;
    assert_int_equal(clrelu_forward_host(f->cpu, &f->desc, 4, bytes + 2, words + 8),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "is not aligned to its 4-byte elements");
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F16);
    d.grad_from = CLRELU_GRAD_FROM_MASK;
    assert_int_equal(clrelu_backward_host(f->cpu, &d, 4, words, bytes + 34, words + 12),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "src");
    assert_message_has(f->cpu, "4-byte mask words");
}

static void test_host__device_path_needs_a_device(void **state) {
    fixture *f = *state;
    assert_int_equal(clrelu_context_set_host_path(f->cpu, CLRELU_HOST_PATH_DEVICE),
                     CLRELU_ERROR_NO_DEVICE);
    assert_message_has(f->cpu, "CLRELU_HOST_PATH_DEVICE");
    assert_int_equal(clrelu_context_set_host_path(f->cpu, (clrelu_host_path)7),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "path = 7");
    assert_int_equal(clrelu_context_set_host_path(NULL, CLRELU_HOST_PATH_CPU),
                     CLRELU_ERROR_INVALID_ARGUMENT);
}

static void test_ops__cl_mem_call_on_cpu_context_is_no_device(void **state) {
    fixture *f = *state;
    assert_int_equal(clrelu_forward(f->cpu, &f->desc, 4, NULL, 0, NULL, 0, 0, NULL, NULL),
                     CLRELU_ERROR_NO_DEVICE);
    assert_message_has(f->cpu, "CPU path only");
}

static void test_ops__null_buffers_named(void **state) {
    fixture *f = need_device(state);
    cl_mem b = guard_buffer(f, 8, CL_MEM_READ_WRITE);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 4, NULL, 0, b, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "clrelu_forward: x is NULL");
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 4, b, 0, NULL, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "clrelu_forward: y is NULL");
    assert_int_equal(clrelu_backward(f->dev, &f->desc, 4, b, 0, NULL, 0, b, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "clrelu_backward: src is NULL");
    assert_int_equal(clrelu_backward(f->dev, &f->desc, 4, NULL, 0, b, 0, b, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "dy is NULL");
    assert_untouched(f, b, 8);
    clReleaseMemObject(b);
}

static void test_ops__offset_beyond_buffer_never_reaches_the_device(void **state) {
    fixture *f = need_device(state);
    cl_mem x = guard_buffer(f, 1024, CL_MEM_READ_WRITE);
    cl_mem y = guard_buffer(f, 1024, CL_MEM_READ_WRITE);
    cl_uint xr = mem_refs(x), yr = mem_refs(y);
    cl_event done = (cl_event)&done;
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 1000, x, 30, y, 0, 0, NULL, &done),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_null(done); /* no event on failure */
    assert_message_has(f->dev, "x_off + n = 1030 exceeds the 1024 elements of x");
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 1025, x, 0, y, 0, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_message_has(f->dev, "x_off + n = 1025");
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 10, x, 0, y, 1020, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_message_has(f->dev, "y_off + n = 1030 exceeds the 1024 elements of y");
    assert_int_equal(clrelu_backward(f->dev, &f->desc, 10, x, 0, y, 0, x, 2000, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_message_has(f->dev, "dx_off + n = 2010");
    clFinish(f->info.queue);
    assert_untouched(f, y, 1024);
    assert_untouched(f, x, 1024);
    assert_int_equal(mem_refs(x), xr);
    assert_int_equal(mem_refs(y), yr);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
}

static void test_ops__size_t_overflow_in_offset_plus_n(void **state) {
    fixture *f = need_device(state);
    cl_mem x = guard_buffer(f, 64, CL_MEM_READ_WRITE);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, x, SIZE_MAX - 3, x, 0, 0, NULL, NULL),
                     CLRELU_ERROR_SIZE_OVERFLOW);
    assert_message_has(f->dev, "x_off + n overflows size_t");
    assert_int_equal(clrelu_forward(f->dev, &f->desc, SIZE_MAX / 2, x, 0, x, 0, 0, NULL, NULL),
                     CLRELU_ERROR_SIZE_OVERFLOW);
    assert_message_has(f->dev, "(x_off + n) * 4 bytes overflows size_t");
    assert_untouched(f, x, 64);
    clReleaseMemObject(x);
}

static void test_ops__buffer_from_another_context(void **state) {
    fixture *f = need_device(state);
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &f->info.device_id, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, 256, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem mine = guard_buffer(f, 64, CL_MEM_READ_WRITE);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, foreign, 0, mine, 0, 0, NULL, NULL),
                     CLRELU_ERROR_WRONG_CONTEXT);
    assert_message_has(f->dev, "x belongs to cl_context");
    assert_int_equal(
        clrelu_backward(f->dev, &f->desc, 16, mine, 0, mine, 0, foreign, 0, 0, NULL, NULL),
        CLRELU_ERROR_WRONG_CONTEXT);
    assert_message_has(f->dev, "dx belongs to cl_context");
    assert_untouched(f, mine, 64);
    clReleaseMemObject(foreign);
    clReleaseMemObject(mine);
    clReleaseContext(other);
}

static void test_ops__partial_overlap_and_read_only_output(void **state) {
    fixture *f = need_device(state);
    cl_mem b = guard_buffer(f, 64, CL_MEM_READ_WRITE);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, b, 0, b, 8, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "y [8, 24) partly overlaps x [0, 16)");
    /* Disjoint windows of one buffer are fine. */
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, b, 0, b, 16, 0, NULL, NULL), CLRELU_OK);
    clFinish(f->info.queue);
    cl_mem ro = guard_buffer(f, 64, CL_MEM_READ_ONLY);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, b, 0, ro, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "y is written but was created CL_MEM_READ_ONLY");
    assert_untouched(f, ro, 64);
    clReleaseMemObject(b);
    clReleaseMemObject(ro);
}

/* Found by the fuzzer (tests/fuzz/regressions/host-mask-words-bf16; the harness had sized the
 * mask as n elements): backward from a mask reads clrelu_mask_words(n) whole words, which for
 * 16-bit types and small n is more bytes than n elements. Every array here is exactly as large
 * as the contract says, on the heap, so the sanitizer and valgrind builds see any access past
 * one; the 16-bit kernels with arithmetic (scaled: alpha = 2) go through the f32 kernel in
 * blocks, the path the finding was on. */
static void check_mask_backward_exact_sizes(clrelu_context *ctx, const char *where) {
    static const clrelu_dtype types[] = {CLRELU_DTYPE_F16, CLRELU_DTYPE_BF16, CLRELU_DTYPE_F32};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
        const size_t es = clrelu_dtype_size(types[t]);
        for (int scaled = 0; scaled < 2; ++scaled) {
            clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, types[t]);
            d.grad_from = CLRELU_GRAD_FROM_MASK;
            d.alpha = scaled ? 2.0f : 1.0f;
            for (size_t n = 1; n <= 70; n += n < 5 ? 1 : 13) {
                unsigned char *dy = malloc(n * es), *dx = malloc(n * es);
                uint32_t *mask = malloc(clrelu_mask_words(n) * 4);
                assert_non_null(dy), assert_non_null(dx), assert_non_null(mask);
                for (size_t w = 0; w < clrelu_mask_words(n); ++w)
                    mask[w] = 0x5A5AC3A5u ^ (uint32_t)w; /* bits past n: never looked at */
                for (size_t i = 0; i < n; ++i) {         /* dy = 1.0 */
                    if (es == 2)
                        ((uint16_t *)dy)[i] = types[t] == CLRELU_DTYPE_F16 ? 0x3c00 : 0x3f80;
                    else
                        ((float *)dy)[i] = 1.0f;
                }
                clrelu_status st = clrelu_backward_host(ctx, &d, n, dy, mask, dx);
                if (st != CLRELU_OK)
                    print_error("%s: %s\n", where, clrelu_context_error(ctx));
                assert_int_equal(st, CLRELU_OK);
                for (size_t i = 0; i < n; ++i) {
                    int pass = (int)((mask[i / 32] >> (i % 32)) & 1u);
                    /* 2.0 is 0x4000 in f16 and in bf16 */
                    uint32_t want = !pass     ? 0u
                                    : es == 2 ? (scaled                         ? 0x4000u
                                                 : types[t] == CLRELU_DTYPE_F16 ? 0x3c00u
                                                                                : 0x3f80u)
                                              : (scaled ? 0x40000000u : 0x3f800000u);
                    uint32_t got = 0;
                    if (es == 2)
                        got = ((uint16_t *)dx)[i];
                    else
                        memcpy(&got, (float *)dx + i, 4);
                    if (got != want)
                        print_error("%s: dtype %d scaled %d n %zu i %zu: 0x%x, want 0x%x\n", where,
                                    (int)types[t], scaled, n, i, got, want);
                    assert_int_equal(got, want);
                }
                free(dy), free(dx), free(mask);
            }
        }
    }
}

static void test_host__mask_backward_reads_mask_words_not_elements(void **state) {
    fixture *f = *state;
    check_mask_backward_exact_sizes(f->cpu, "CPU path");
    if (!f->dev) {
        print_skip("no OpenCL device present: the host arrays' device round trip is not run here");
        return;
    }
    assert_int_equal(clrelu_context_set_host_path(f->dev, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    check_mask_backward_exact_sizes(f->dev, "device round trip");
    assert_int_equal(clrelu_context_set_host_path(f->dev, CLRELU_HOST_PATH_CPU), CLRELU_OK);
}

/* Found by the fuzzer (tests/fuzz/regressions/subbuffer-partial-overlap): a sub-buffer is the
 * same memory as its parent under another handle, so a partial overlap through it must be
 * refused too, or the kernel races and the output is wrong without an error. */
static void test_ops__partial_overlap_through_a_sub_buffer(void **state) {
    fixture *f = need_device(state);
    cl_uint bits = 0;
    clGetDeviceInfo(f->info.device_id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits, NULL);
    size_t align_words = bits / 32 ? bits / 32 : 1; /* a sub-buffer's origin, in 32-bit words */
    cl_mem parent = guard_buffer(f, 4 * align_words + 64, CL_MEM_READ_WRITE);
    cl_buffer_region region = {align_words * 4, 2 * align_words * 4 + 64 * 4};
    cl_int err;
    cl_mem sub =
        clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    assert_int_equal(err, CL_SUCCESS);
    /* y = sub[8, 40) is parent[align + 8, align + 40); x = parent[align, align + 32) */
    assert_int_equal(
        clrelu_forward(f->dev, &f->desc, 32, parent, align_words, sub, 8, 0, NULL, NULL),
        CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "partly overlaps x");
    assert_message_has(f->dev, "through a sub-buffer");
    assert_int_equal(clrelu_backward(f->dev, &f->desc, 32, sub, 0, parent, 0, parent,
                                     align_words + 1, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "dx (bytes");
    /* The same elements through both handles are in place, and disjoint ones are fine. */
    assert_int_equal(
        clrelu_forward(f->dev, &f->desc, 32, parent, align_words, sub, 0, 0, NULL, NULL),
        CLRELU_OK);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 32, parent, 0, sub, 40, 0, NULL, NULL),
                     CLRELU_OK);
    clFinish(f->info.queue);
    clReleaseMemObject(sub);
    clReleaseMemObject(parent);
}

static void test_ops__wait_list_must_match_its_count(void **state) {
    fixture *f = need_device(state);
    cl_mem b = guard_buffer(f, 16, CL_MEM_READ_WRITE);
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, b, 0, b, 0, 2, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "n_wait = 2 but wait is NULL");
    cl_event none[1] = {NULL};
    assert_int_equal(clrelu_forward(f->dev, &f->desc, 16, b, 0, b, 0, 1, none, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "wait[0] is NULL");
    assert_untouched(f, b, 16);
    clReleaseMemObject(b);
}

static void test_desc__zeroed_descriptor_is_refused(void **state) {
    fixture *f = *state;
    float x[4] = {1, -1, 2, -2}, y[4];
    clrelu_desc zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(clrelu_forward_host(f->cpu, &zero, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->struct_size = 0");
    assert_message_has(f->cpu, "clrelu_desc_make");
    /* A real descriptor whose blend writes nothing but zeros is refused too. */
    clrelu_desc nothing = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    nothing.alpha = 0.0f;
    assert_int_equal(clrelu_forward_host(f->cpu, &nothing, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->alpha = 0 and desc->beta = 0 would write zeros");
}

/* The exported functions an FFI calls instead of the header's inline ones, and the sizes that
 * keep caller-allocated structs extensible. */
static void test_abi__desc_init_mask_words_and_info_size(void **state) {
    fixture *f = *state;
    clrelu_desc d, made = clrelu_desc_make(CLRELU_OP_CLIPPED_RELU, CLRELU_DTYPE_BF16);
    memset(&d, 0x5a, sizeof d);
    assert_int_equal(clrelu_desc_init(&d, sizeof d, CLRELU_OP_CLIPPED_RELU, CLRELU_DTYPE_BF16),
                     CLRELU_OK);
    assert_memory_equal(&d, &made, offsetof(clrelu_desc, grad_from) + sizeof d.grad_from);
    assert_int_equal(d.struct_size, sizeof(clrelu_desc));
    assert_true(d.negative_slope == 0.01f && d.ceiling == 6.0f && d.alpha == 1.0f &&
                d.beta == 0.0f && d.grad_from == CLRELU_GRAD_FROM_X);

    clrelu_desc before = d;
    assert_int_equal(clrelu_desc_init(&d, sizeof d - 4, CLRELU_OP_RELU, CLRELU_DTYPE_F32),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_last_error(), "desc_size ="));
    assert_memory_equal(&d, &before, sizeof d);
    assert_int_equal(clrelu_desc_init(NULL, sizeof d, CLRELU_OP_RELU, CLRELU_DTYPE_F32),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_last_error(), "desc is NULL"));

    /* A descriptor whose struct_size is not the library's is refused, naming the field. */
    float x[4] = {1, -1, 2, -2}, y[4];
    d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    d.struct_size = sizeof d + 8;
    assert_int_equal(clrelu_forward_host(f->cpu, &d, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->struct_size =");

    const size_t words[][2] = {{0, 0},  {1, 1},  {31, 1},
                               {32, 1}, {33, 2}, {SIZE_MAX, SIZE_MAX / 32 + 1}};
    for (size_t i = 0; i < ARRAY_LEN(words); ++i)
        assert_int_equal(clrelu_mask_words(words[i][0]), words[i][1]);

    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(f->cpu, &info, sizeof info - 1),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "info_size =");
    assert_int_equal(clrelu_context_get_info(f->cpu, &info, sizeof info), CLRELU_OK);
    assert_string_equal(info.id, "cpu");
}

static void test_desc__bad_slope_ceiling_blend_and_source_are_named(void **state) {
    fixture *f = *state;
    float x[4] = {1, -1, 2, -2}, y[4];
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, CLRELU_DTYPE_F32);
    d.negative_slope = NAN;
    assert_int_equal(clrelu_forward_host(f->cpu, &d, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->negative_slope = nan is not finite");
    static const float bad_ceilings[] = {0.0f, -1.0f, INFINITY, NAN};
    for (size_t i = 0; i < ARRAY_LEN(bad_ceilings); ++i) {
        d = clrelu_desc_make(CLRELU_OP_CLIPPED_RELU, CLRELU_DTYPE_F32);
        d.ceiling = bad_ceilings[i];
        assert_int_equal(clrelu_forward_host(f->cpu, &d, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
        assert_message_has(f->cpu, "desc->ceiling = ");
        assert_message_has(f->cpu, "must be positive and finite");
    }
    d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    d.beta = INFINITY;
    assert_int_equal(clrelu_forward_host(f->cpu, &d, 4, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->beta = inf must be finite");
    d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    d.grad_from = (clrelu_grad_source)9;
    assert_int_equal(clrelu_backward_host(f->cpu, &d, 4, x, x, y), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "desc->grad_from = 9 is not a clrelu_grad_source");
    /* Forward ignores grad_from. */
    assert_int_equal(clrelu_forward_host(f->cpu, &d, 4, x, y), CLRELU_OK);
}

static void test_desc__leaky_from_y_needs_a_positive_slope(void **state) {
    fixture *f = *state;
    float dy[4] = {1, 1, 1, 1}, y[4] = {1, -1, 2, -2}, dx[4];
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, CLRELU_DTYPE_F32);
    d.grad_from = CLRELU_GRAD_FROM_Y;
    d.negative_slope = 0.0f;
    assert_int_equal(clrelu_backward_host(f->cpu, &d, 4, dy, y, dx), CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->cpu, "needs negative_slope > 0");
    d.negative_slope = 0.2f;
    assert_int_equal(clrelu_backward_host(f->cpu, &d, 4, dy, y, dx), CLRELU_OK);
    /* The same slope from x is fine. */
    d.negative_slope = -0.5f;
    d.grad_from = CLRELU_GRAD_FROM_X;
    assert_int_equal(clrelu_backward_host(f->cpu, &d, 4, dy, y, dx), CLRELU_OK);
}

static void test_mask__offset_must_start_a_word_and_fit(void **state) {
    fixture *f = need_device(state);
    cl_mem x = guard_buffer(f, 128, CL_MEM_READ_WRITE);
    cl_mem y = guard_buffer(f, 128, CL_MEM_READ_WRITE);
    cl_mem m = guard_buffer(f, 2, CL_MEM_READ_WRITE); /* 64 bits */
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    assert_int_equal(clrelu_forward_mask(f->dev, &d, 64, x, 0, y, 0, m, 5, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "mask_off = 5 is not a multiple of 32");
    assert_int_equal(clrelu_forward_mask(f->dev, &d, 65, x, 0, y, 0, m, 0, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_message_has(f->dev, "mask_off + n = 65 bits need 12 bytes of mask, which has 8");
    d.grad_from = CLRELU_GRAD_FROM_MASK;
    assert_int_equal(clrelu_backward(f->dev, &d, 64, x, 0, m, 32, y, 0, 0, NULL, NULL),
                     CLRELU_ERROR_OUT_OF_BOUNDS);
    assert_message_has(f->dev, "src_off + n = 96 bits");
    assert_int_equal(clrelu_backward(f->dev, &d, 32, x, 0, m, 33, y, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "src_off = 33 is not a multiple of 32");
    /* The mask and the output may not share bytes. */
    assert_int_equal(clrelu_forward_mask(f->dev, &d, 32, x, 0, y, 0, y, 0, 0, NULL, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_message_has(f->dev, "overlaps");
    clFinish(f->info.queue);
    assert_untouched(f, y, 128);
    assert_untouched(f, m, 2);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    clReleaseMemObject(m);
}

static void test_f64__unsupported_device_is_a_clear_error(void **state) {
    fixture *f = need_device(state);
    clrelu_context *c = NULL;
    assert_int_equal(clrelu_context_create(&c, f->info.id), CLRELU_OK);
    clrelu__hide_fp64_for_testing(c);
    cl_mem b = guard_buffer(f, 16, CL_MEM_READ_WRITE);
    cl_int err;
    cl_mem mine = clCreateBuffer(c->cl_ctx, CL_MEM_READ_WRITE, 128, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F64);
    assert_int_equal(clrelu_forward(c, &d, 4, mine, 0, mine, 0, 0, NULL, NULL),
                     CLRELU_ERROR_UNSUPPORTED);
    assert_message_has(c, "desc->dtype = CLRELU_DTYPE_F64, but device");
    assert_message_has(c, "has no cl_khr_fp64");
    /* Host arrays: the device path refuses it too; the CPU path runs it. */
    double x[4] = {1, -1, 2, -2}, y[4];
    assert_int_equal(clrelu_context_set_host_path(c, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    assert_int_equal(clrelu_forward_host(c, &d, 4, x, y), CLRELU_ERROR_UNSUPPORTED);
    assert_int_equal(clrelu_context_set_host_path(c, CLRELU_HOST_PATH_CPU), CLRELU_OK);
    assert_int_equal(clrelu_forward_host(c, &d, 4, x, y), CLRELU_OK);
    assert_true(y[0] == 1.0 && y[1] == 0.0 && y[2] == 2.0 && y[3] == 0.0);
    clReleaseMemObject(mine);
    clReleaseMemObject(b);
    clrelu_context_release(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status__every_code_has_a_name_and_a_text),
        cmocka_unit_test(test_context_create__rejects_null_out),
        cmocka_unit_test(test_context_create__unknown_spec_names_it),
        cmocka_unit_test(test_context_create__gpu_spec_finds_a_gpu_or_says_none),
        cmocka_unit_test(test_context_create__environment_chooses_the_device),
        cmocka_unit_test(test_context_wrap__rejects_null_and_mismatched_queue),
        cmocka_unit_test(test_ops__null_ctx_desc_and_bad_enums),
        cmocka_unit_test(test_host__null_pointers_overlap_and_overflow),
        cmocka_unit_test(test_host__misaligned_pointers_are_refused),
        cmocka_unit_test(test_host__device_path_needs_a_device),
        cmocka_unit_test(test_ops__cl_mem_call_on_cpu_context_is_no_device),
        cmocka_unit_test(test_ops__null_buffers_named),
        cmocka_unit_test(test_ops__offset_beyond_buffer_never_reaches_the_device),
        cmocka_unit_test(test_ops__size_t_overflow_in_offset_plus_n),
        cmocka_unit_test(test_ops__buffer_from_another_context),
        cmocka_unit_test(test_ops__partial_overlap_and_read_only_output),
        cmocka_unit_test(test_ops__wait_list_must_match_its_count),
        cmocka_unit_test(test_desc__zeroed_descriptor_is_refused),
        cmocka_unit_test(test_abi__desc_init_mask_words_and_info_size),
        cmocka_unit_test(test_desc__bad_slope_ceiling_blend_and_source_are_named),
        cmocka_unit_test(test_desc__leaky_from_y_needs_a_positive_slope),
        cmocka_unit_test(test_mask__offset_must_start_a_word_and_fit),
        cmocka_unit_test(test_f64__unsupported_device_is_a_clear_error),
        cmocka_unit_test(test_ops__partial_overlap_through_a_sub_buffer),
        cmocka_unit_test(test_host__mask_backward_reads_mask_words_not_elements),
        /* Last: it hides AVX-512 from detection for the rest of the process. */
        cmocka_unit_test(test_cpu_isa__unknown_or_missing_isa_is_a_clear_error),
        cmocka_unit_test(test_num_threads__bad_count_is_a_clear_error),
        cmocka_unit_test(test_num_threads__bad_count_fails_only_the_cpu_paths_work),
    };
    unsetenv("CLRELU_DEVICE");
    unsetenv("CLRELU_CPU_ISA");
    unsetenv("CLRELU_NUM_THREADS");
    return cmocka_run_group_tests_name("errors", tests, setup, teardown);
}
