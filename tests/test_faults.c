/* SPDX-License-Identifier: Apache-2.0 */
/* Injected OpenCL faults (tests/clfault): over a realistic sequence (create a context, build
 * and run every op of the kit on cl_mem buffers, the host-array round trip through the device,
 * wrap the context's own cl_context and queue, release), the k-th OpenCL call clrelu makes
 * fails, for every k and every error a driver really returns from that call. Every time:
 * a status with a message that names the OpenCL error, no crash, no output touched by a
 * failed call, no OpenCL object left unreleased, and the context still works (the failed
 * step is run again and must succeed, bit for bit). Then the same walk with every call from
 * the k-th on failing, as when a device is lost: every step fails cleanly and releasing the
 * context still leaves nothing behind. Host memory leaks are LeakSanitizer's part (the
 * sanitizer build runs this test too). Needs an OpenCL device; exits as skipped without. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clfault.h"
#include "common.h"

#ifndef CLRELU_LIBRARY_PATH
#error "CLRELU_LIBRARY_PATH must name the clrelu shared library"
#endif

/* Elements per op: not a multiple of any vector width, so the tail runs too. */
#define N 4099

static char spec[16];

typedef struct walk {
    clrelu_context *ctx;
    clrelu_context_info clean_info; /* what a context on spec reports without faults */
    const kit_dtype *dtype;
    void *in[KIT_MAX_IN], *out, *expected;
    /* results of the walk so far */
    unsigned long faults, failed_steps, absorbed;
    unsigned long problems; /* each printed where it was found; the test fails at its end */
} walk;

typedef struct step {
    char name[64];
    int needs_ctx; /* runs on the walk's context (and is skipped when there is none) */
    int own_ctx;   /* makes and releases a context of its own */
    clrelu_status (*run)(walk *w, const kit_op *op);
    const kit_op *op;
} step;

#define MAX_STEPS 64
static step steps[MAX_STEPS];
static size_t n_steps;

/* ---------------------------------------------------------------------------------------------
 * Helpers: the test's own OpenCL work is never counted, so it never fails
 * ------------------------------------------------------------------------------------------ */

static size_t bytes(const walk *w) {
    return N * w->dtype->size;
}

static cl_mem make_buffer(walk *w, const void *init) {
    cl_int err;
    clrelu_context_info info;
    clrelu_context_get_info(w->ctx, &info, sizeof info);
    cl_mem m = clCreateBuffer(info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes(w),
                              (void *)init, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void read_buffer(walk *w, cl_mem m, void *out) {
    clrelu_context_info info;
    clrelu_context_get_info(w->ctx, &info, sizeof info);
    assert_int_equal(clEnqueueReadBuffer(info.queue, m, CL_TRUE, 0, bytes(w), out, 0, NULL, NULL),
                     CL_SUCCESS);
}

static void fill_inputs(walk *w, const kit_op *op, const clrelu_desc *desc) {
    for (int i = 0; i < op->n_in; ++i)
        kit_fill(w->dtype->dtype, w->in[i], N, (uint32_t)(1000 + i));
    op->reference(desc, N, (const void *const *)w->in, w->expected);
    fill_guard(w->out, bytes(w) / 4);
}

static void assert_all_guard(const void *p, size_t words, const char *what) {
    const uint32_t *g = p;
    for (size_t i = 0; i < words; ++i) {
        if (g[i] != GUARD_WORD) {
            print_error("%s: word %zu was written by a call that failed\n", what, i);
            fail();
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The steps. Each counts only clrelu's own calls; a step that fails must change nothing the
 * caller can see, so running it again is the whole recovery.
 * ------------------------------------------------------------------------------------------ */

static clrelu_status step_create(walk *w, const kit_op *op) {
    (void)op;
    clfault_count(1);
    clrelu_status st = clrelu_context_create(&w->ctx, spec);
    clfault_count(0);
    if (st != CLRELU_OK) {
        assert_null(w->ctx);
        return st;
    }
    /* A context that says it was created must describe its device truthfully. */
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(w->ctx, &info, sizeof info), CLRELU_OK);
    const clrelu_context_info *c = &w->clean_info;
    if (info.kind != c->kind || strcmp(info.id, c->id) != 0 ||
        strcmp(info.platform, c->platform) != 0 || strcmp(info.device, c->device) != 0 ||
        strcmp(info.driver, c->driver) != 0 || info.compute_units != c->compute_units ||
        info.global_mem != c->global_mem || info.max_alloc != c->max_alloc ||
        info.has_fp64 != c->has_fp64 || info.device_id != c->device_id) {
        print_error("clrelu_context_create succeeded but describes its device wrongly: kind %d "
                    "'%s' '%s' '%s' driver '%s', %u units, %llu bytes, max alloc %llu, fp64 %d "
                    "(without faults: kind %d '%s' '%s' '%s' driver '%s', %u units, %llu bytes, "
                    "max alloc %llu, fp64 %d)\n",
                    (int)info.kind, info.id, info.platform, info.device, info.driver,
                    (unsigned)info.compute_units, (unsigned long long)info.global_mem,
                    (unsigned long long)info.max_alloc, info.has_fp64, (int)c->kind, c->id,
                    c->platform, c->device, c->driver, (unsigned)c->compute_units,
                    (unsigned long long)c->global_mem, (unsigned long long)c->max_alloc,
                    c->has_fp64);
        w->problems++;
    }
    return st;
}

static clrelu_status step_device_op(walk *w, const kit_op *op) {
    clrelu_desc desc = clrelu_desc_make(op->op, w->dtype->dtype);
    fill_inputs(w, op, &desc);
    cl_mem in[KIT_MAX_IN] = {NULL};
    for (int i = 0; i < op->n_in; ++i)
        in[i] = make_buffer(w, w->in[i]);
    cl_mem out = make_buffer(w, w->out);
    cl_event done = (cl_event)&done; /* must come back NULL on failure */
    clfault_count(1);
    clrelu_status st = op->device(w->ctx, &desc, N, in, out, 0, NULL, &done);
    clfault_count(0);
    if (st == CLRELU_OK) {
        assert_non_null(done);
        assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
        clReleaseEvent(done);
        read_buffer(w, out, w->out);
        assert_bits_equal(w->out, w->expected, bytes(w) / 4, op->name);
    } else {
        assert_null(done);
        read_buffer(w, out, w->out);
        assert_all_guard(w->out, bytes(w) / 4, op->name);
    }
    for (int i = 0; i < op->n_in; ++i)
        clReleaseMemObject(in[i]);
    clReleaseMemObject(out);
    return st;
}

static clrelu_status step_host_op(walk *w, const kit_op *op) {
    clrelu_desc desc = clrelu_desc_make(op->op, w->dtype->dtype);
    fill_inputs(w, op, &desc);
    clfault_count(1);
    clrelu_status st = clrelu_context_set_host_path(w->ctx, CLRELU_HOST_PATH_DEVICE);
    if (st == CLRELU_OK)
        st = op->host(w->ctx, &desc, N, (const void *const *)w->in, w->out);
    clfault_count(0);
    if (st == CLRELU_OK)
        assert_bits_equal(w->out, w->expected, bytes(w) / 4, op->name);
    return st;
}

/* A pipeline's own context and queue (here: those of the walk's context), wrapped, used once
 * and released. */
static clrelu_status step_wrap(walk *w, const kit_op *op) {
    clrelu_context_info info;
    clrelu_context_get_info(w->ctx, &info, sizeof info);
    clrelu_desc desc = clrelu_desc_make(op->op, w->dtype->dtype);
    fill_inputs(w, op, &desc);
    cl_mem in[KIT_MAX_IN] = {NULL};
    for (int i = 0; i < op->n_in; ++i)
        in[i] = make_buffer(w, w->in[i]);
    cl_mem out = make_buffer(w, w->out);
    clrelu_context *wrapped = NULL;
    clfault_count(1);
    clrelu_status st = clrelu_context_wrap(&wrapped, info.context, info.queue);
    if (st == CLRELU_OK)
        st = op->device(wrapped, &desc, N, in, out, 0, NULL, NULL);
    if (st != CLRELU_OK && wrapped &&
        strcmp(clrelu_context_error(wrapped), clrelu_last_error()) != 0) {
        print_error("wrap: the wrapped context's message \"%s\" differs from the thread's \"%s\"\n",
                    clrelu_context_error(wrapped), clrelu_last_error());
        w->problems++;
    }
    clrelu_context_release(wrapped);
    clfault_count(0);
    read_buffer(w, out, w->out);
    if (st == CLRELU_OK)
        assert_bits_equal(w->out, w->expected, bytes(w) / 4, "forward on a wrapped context");
    else
        assert_all_guard(w->out, bytes(w) / 4, "forward on a wrapped context");
    for (int i = 0; i < op->n_in; ++i)
        clReleaseMemObject(in[i]);
    clReleaseMemObject(out);
    return st;
}

static clrelu_status step_release(walk *w, const kit_op *op) {
    (void)op;
    clfault_count(1);
    clrelu_context_release(w->ctx);
    clfault_count(0);
    w->ctx = NULL;
    return CLRELU_OK;
}

static void add_step(const char *name, int needs_ctx, clrelu_status (*run)(walk *, const kit_op *),
                     const kit_op *op) {
    assert_true(n_steps < MAX_STEPS);
    step *s = &steps[n_steps++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->needs_ctx = needs_ctx;
    s->own_ctx = run == step_wrap;
    s->run = run;
    s->op = op;
}

/* The sequence, from the kit's op table: a new op joins the walk by being in the kit. */
static void build_sequence(void) {
    char name[64];
    n_steps = 0;
    add_step("create", 0, step_create, NULL);
    for (size_t i = 0; i < kit_ops_count; ++i) {
        if (!kit_ops[i].device)
            continue; /* the mask ops: they have no short form */
        snprintf(name, sizeof name, "%s on cl_mem", kit_ops[i].name);
        add_step(name, 1, step_device_op, &kit_ops[i]);
    }
    for (size_t i = 0; i < kit_ops_count; ++i) {
        if (!kit_ops[i].host)
            continue;
        snprintf(name, sizeof name, "%s on host arrays through the device", kit_ops[i].name);
        add_step(name, 1, step_host_op, &kit_ops[i]);
    }
    add_step("wrap", 1, step_wrap, &kit_ops[0]);
    add_step("release", 1, step_release, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------------------------ */

/* The status a driver's error must become: a caller decides on it (retry smaller, give up, fix
 * the build), so a driver running out of memory is never reported as a bad argument. */
static clrelu_status expected_status(cl_int err) {
    switch (err) {
    case -1001: /* CL_PLATFORM_NOT_FOUND_KHR: no OpenCL platform at all */
    case CL_DEVICE_NOT_FOUND:
        return CLRELU_ERROR_DEVICE_NOT_FOUND;
    case CL_OUT_OF_HOST_MEMORY:
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
        return CLRELU_ERROR_OUT_OF_MEMORY;
    case CL_BUILD_PROGRAM_FAILURE:
        return CLRELU_ERROR_BUILD;
    default:
        return CLRELU_ERROR_OPENCL;
    }
}

/* What a failing step must leave: the status the driver's error maps to, a message on the
 * thread (and the same on the context) that starts with the clrelu_ call and names the OpenCL
 * error (a platform or device that is not found is said in words instead). */
static void assert_clean_failure(walk *w, const step *s, clrelu_status st, cl_int err,
                                 unsigned long k) {
    const char *msg = clrelu_last_error();
    const char *what = clfault_call_name(k);
    clrelu_status want = expected_status(err);
    int names_error = want == CLRELU_ERROR_DEVICE_NOT_FOUND || strstr(msg, clfault_error_name(err));
    if (st != want || strncmp(msg, "clrelu_", 7) != 0 || !names_error) {
        print_error("step '%s', call %lu (%s) failing with %s: status %s (expected %s), message "
                    "\"%s\" (expected one that starts with the clrelu_ call and names the error)\n",
                    s->name, k, what ? what : "?", clfault_error_name(err), clrelu_status_name(st),
                    clrelu_status_name(want), msg);
        w->problems++;
    }
    if (!s->own_ctx && w->ctx && strcmp(clrelu_context_error(w->ctx), msg) != 0) {
        print_error("step '%s': the context's message \"%s\" differs from the thread's \"%s\"\n",
                    s->name, clrelu_context_error(w->ctx), msg);
        w->problems++;
    }
}

static void assert_nothing_live(const char *when) {
    for (int kind = 0; kind < CLFAULT_KINDS; ++kind) {
        long n = clfault_live((clfault_kind)kind);
        if (n != 0) {
            print_error("%s: %ld %s object(s) %s\n", when, n > 0 ? n : -n,
                        clfault_kind_name((clfault_kind)kind),
                        n > 0 ? "were never released" : "were released once too often");
            fail();
        }
    }
}

/* Runs the sequence with the k-th counted call failing with err (k = 0: no fault). */
static void run_walk(walk *w, unsigned long k, cl_int err, int persistent) {
    clfault_reset();
    clfault_plan(k, err, persistent);
    for (size_t i = 0; i < n_steps; ++i) {
        const step *s = &steps[i];
        if (s->needs_ctx && !w->ctx)
            continue; /* the device is gone and no context could be made */
        unsigned long before = clfault_injected();
        clrelu_status st = s->run(w, s->op);
        if (clfault_injected() > before && st == CLRELU_OK && !persistent)
            w->absorbed++; /* the failure did not matter to the result, which was checked */
        if (st == CLRELU_OK)
            continue;
        w->failed_steps++;
        assert_int_not_equal(k, 0); /* without a fault every step succeeds */
        assert_clean_failure(w, s, st, err, k);
        if (!persistent) {
            /* The fault is spent: the same step on the same context must now succeed. */
            st = s->run(w, s->op);
            if (st != CLRELU_OK) {
                print_error("step '%s' failed again after the fault at call %lu (%s): %s\n",
                            s->name, k, clfault_call_name(k), clrelu_last_error());
                fail();
            }
        }
    }
    clrelu_context_release(w->ctx); /* NULL unless the release step was skipped */
    w->ctx = NULL;
    w->faults += clfault_injected();
    if (k != 0 && !persistent && clfault_injected() != 1) {
        print_error("the fault planned for call %lu was not reached\n", k);
        fail();
    }
    char when[160];
    snprintf(when, sizeof when, "after failing call %lu (%s) with %s%s", k,
             k ? clfault_call_name(k) : "none", clfault_error_name(err),
             persistent ? " and every call after it" : "");
    assert_nothing_live(when);
}

static int setup(void **state) {
    walk *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->dtype = &kit_dtypes[0]; /* every dtype builds the same way; f32 keeps the walk short */
    for (int i = 0; i < KIT_MAX_IN; ++i)
        w->in[i] = malloc(N * 8);
    w->out = malloc(N * 8);
    w->expected = malloc(N * 8);
    clrelu_context *c = NULL;
    if (clrelu_context_create(&c, spec) != CLRELU_OK)
        return -1;
    clrelu_context_get_info(c, &w->clean_info, sizeof w->clean_info);
    clrelu_context_release(c);
    build_sequence();
    *state = w;
    return 0;
}

static int teardown(void **state) {
    walk *w = *state;
    for (int i = 0; i < KIT_MAX_IN; ++i)
        free(w->in[i]);
    free(w->out);
    free(w->expected);
    free(w);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------ */

/* Every cl* symbol the library imports is wrapped, so every call it makes can be failed: an
 * entry point added to the library without a wrapper fails here, by name. */
static void test_faults__every_opencl_entry_point_of_the_library_is_wrapped(void **state) {
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "nm -D --undefined-only '%s'", CLRELU_LIBRARY_PATH);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    int imported = 0, missing = 0;
    while (fgets(line, sizeof line, p)) {
        char *name = strstr(line, " U ");
        if (!name)
            continue;
        name += 3;
        name[strcspn(name, "@\n")] = '\0';
        if (strncmp(name, "cl", 2) != 0 || name[2] < 'A' || name[2] > 'Z')
            continue; /* OpenCL's names are clSomething; libc has close */
        imported++;
        if (!clfault_wraps(name)) {
            print_error("libclrelu calls %s, which tests/clfault/clfault.c does not wrap\n", name);
            missing++;
        }
    }
    assert_int_equal(pclose(p), 0);
    printf("libclrelu imports %d OpenCL entry points; all are wrapped\n", imported);
    assert_true(imported > 10);
    assert_int_equal(missing, 0);
}

static void test_faults__each_call_failing_once_leaves_a_working_context(void **state) {
    walk *w = *state;
    run_walk(w, 0, CL_SUCCESS, 0);
    unsigned long total = clfault_calls();
    const char *names[4096];
    assert_true(total > 0 && total <= ARRAY_LEN(names));
    for (unsigned long k = 1; k <= total; ++k)
        names[k - 1] = clfault_call_name(k);
    w->faults = w->failed_steps = w->absorbed = w->problems = 0;
    for (unsigned long k = 1; k <= total; ++k) {
        cl_int errs[4];
        size_t count = clfault_errors(names[k - 1], errs, ARRAY_LEN(errs));
        for (size_t e = 0; e < count; ++e)
            run_walk(w, k, errs[e], 0);
    }
    printf("%lu OpenCL calls in the sequence; %lu faults injected one at a time: %lu failed a "
           "step cleanly (then the step succeeded), %lu did not change any result\n",
           total, w->faults, w->failed_steps, w->absorbed);
    assert_int_equal(w->faults, w->failed_steps + w->absorbed);
    assert_int_equal(w->problems, 0);
}

static void
test_faults__every_call_failing_from_k_on_fails_cleanly_and_leaks_nothing(void **state) {
    walk *w = *state;
    run_walk(w, 0, CL_SUCCESS, 0);
    unsigned long total = clfault_calls();
    w->faults = w->failed_steps = w->absorbed = w->problems = 0;
    for (unsigned long k = 1; k <= total; ++k)
        run_walk(w, k, CL_OUT_OF_RESOURCES, 1);
    printf("device lost at each of %lu calls: %lu faults injected, %lu steps failed cleanly\n",
           total, w->faults, w->failed_steps);
    assert_true(w->failed_steps >= total);
    assert_int_equal(w->problems, 0);
}

int main(void) {
    test_device devs[4];
    if (list_devices(devs, ARRAY_LEN(devs)) == 0) {
        print_skip("no OpenCL device present: there are no OpenCL calls to fail");
        return TEST_SKIP_CODE;
    }
    snprintf(spec, sizeof spec, "%s", devs[0].spec);
    printf("device %s (%s on %s)\n", devs[0].spec, devs[0].name, devs[0].platform);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults__every_opencl_entry_point_of_the_library_is_wrapped),
        cmocka_unit_test(test_faults__each_call_failing_once_leaves_a_working_context),
        cmocka_unit_test(test_faults__every_call_failing_from_k_on_fails_cleanly_and_leaks_nothing),
    };
    return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
