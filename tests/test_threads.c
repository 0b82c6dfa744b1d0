/* SPDX-License-Identifier: Apache-2.0 */
/* Many threads: 8 threads x 1000 random operations (every op and dtype of the kit that the
 * context runs, random sizes, offsets, in place or not, on cl_mem buffers and on host arrays,
 * bad calls in between), every result checked bit for bit against the kit's reference. On one
 * context shared by all threads and on one context per thread, each on the first OpenCL device
 * and on the CPU path. A thread's clrelu_last_error() must stay its own whatever the others
 * do. The thread rules these tests hold the library to are in the README ("Reliability"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define THREADS 8
#define OPS     1000
#define MAX_N   70000 /* the largest op; most are far smaller */
#define MAX_OFF 17
#define GUARD   8 /* words after an output window that must stay untouched */
#define CAP     (MAX_N + MAX_OFF + GUARD)

/* An (op, dtype) pair the context runs; found once, single-threaded, before the threads. */
typedef struct menu_item {
    const kit_op *op;
    const kit_dtype *dtype;
} menu_item;

typedef struct config {
    const char *name;
    char spec[16];
    int shared;    /* one context for all threads, else one per thread */
    int on_device; /* the spec names an OpenCL device */
} config;

typedef struct worker {
    const config *cfg;
    clrelu_context *ctx; /* the shared one, or the thread's own */
    int id;
    uint32_t rng;
    const menu_item *menu;
    size_t menu_len;
    unsigned long device_ops, host_ops, bad_calls;
    char failure[768]; /* the first thing that went wrong; cmocka asserts stay on the main thread */
} worker;

static uint32_t next(uint32_t *s) {
    uint32_t x = *s; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Mostly small, some medium, a few large: many calls, and some that take a while. */
static size_t random_n(uint32_t *s) {
    uint32_t r = next(s) % 100;
    if (r < 70)
        return next(s) % 300;
    if (r < 95)
        return next(s) % 5000;
    return next(s) % (MAX_N + 1);
}

#define FAIL(w, ...)                                                                               \
    do {                                                                                           \
        if (!(w)->failure[0])                                                                      \
            snprintf((w)->failure, sizeof(w)->failure, __VA_ARGS__);                               \
        return -1;                                                                                 \
    } while (0)

/* Buffers and arrays a worker owns; inputs are rewritten before every op. */
typedef struct scratch {
    void *in[KIT_MAX_IN], *out, *expected;
    cl_mem in_mem[KIT_MAX_IN], out_mem;
    cl_command_queue queue;
} scratch;

static int first_difference(const void *a, const void *b, size_t bytes) {
    const unsigned char *pa = a, *pb = b;
    for (size_t i = 0; i < bytes; ++i)
        if (pa[i] != pb[i])
            return (int)i;
    return -1;
}

static int device_op(worker *w, scratch *s, const menu_item *m) {
    const kit_op *op = m->op;
    const size_t es = m->dtype->size;
    clrelu_desc desc = clrelu_desc_make(op->op, m->dtype->dtype);
    size_t n = random_n(&w->rng);
    size_t in_off[KIT_MAX_IN], out_off = next(&w->rng) % (MAX_OFF + 1);
    int in_place = next(&w->rng) % 4 == 0;
    cl_mem out_mem = in_place ? s->in_mem[0] : s->out_mem;
    for (int i = 0; i < op->n_in; ++i) {
        in_off[i] = i == 0 && in_place ? out_off : next(&w->rng) % (MAX_OFF + 1);
        kit_fill(m->dtype->dtype, s->in[i], n, next(&w->rng));
        if (n && clEnqueueWriteBuffer(s->queue, s->in_mem[i], CL_TRUE, in_off[i] * es, n * es,
                                      s->in[i], 0, NULL, NULL) != CL_SUCCESS)
            FAIL(w, "clEnqueueWriteBuffer of an input failed");
    }
    op->reference(&desc, n, (const void *const *)s->in, s->expected);
    /* The window and GUARD words after it start as the guard pattern (unless in place). */
    /* (Words, rounded up: a 16-bit output of odd length ends inside a word.) */
    fill_guard(s->out, (n * es + 3) / 4 + GUARD);
    if (!in_place && clEnqueueWriteBuffer(s->queue, out_mem, CL_TRUE, out_off * es,
                                          n * es + GUARD * 4, s->out, 0, NULL, NULL) != CL_SUCCESS)
        FAIL(w, "clEnqueueWriteBuffer of the guard failed");

    /* The kit's device call uses offset 0: call the API with the offsets directly. */
    cl_event done = NULL;
    int want_event = next(&w->rng) % 2;
    clrelu_status st;
    if (op->backward)
        st = clrelu_backward(w->ctx, &desc, n, s->in_mem[0], in_off[0], s->in_mem[1], in_off[1],
                             out_mem, out_off, 0, NULL, want_event ? &done : NULL);
    else
        st = clrelu_forward(w->ctx, &desc, n, s->in_mem[0], in_off[0], out_mem, out_off, 0, NULL,
                            want_event ? &done : NULL);
    if (st != CLRELU_OK)
        FAIL(w, "%s %s n=%zu: %s: %s", op->name, m->dtype->name, n, clrelu_status_name(st),
             clrelu_last_error());
    if (want_event) {
        if (!done || clWaitForEvents(1, &done) != CL_SUCCESS)
            FAIL(w, "%s: no event, or waiting for it failed", op->name);
        clReleaseEvent(done);
    }
    /* In order: on the context's own queue the read runs after the op even without the event. */
    size_t read_bytes = n * es + (in_place ? 0 : GUARD * 4);
    if (read_bytes && clEnqueueReadBuffer(s->queue, out_mem, CL_TRUE, out_off * es, read_bytes,
                                          s->out, 0, NULL, NULL) != CL_SUCCESS)
        FAIL(w, "clEnqueueReadBuffer of the output failed");
    int at = first_difference(s->out, s->expected, n * es);
    if (at >= 0)
        FAIL(w,
             "%s %s on cl_mem, n=%zu, offsets %zu/%zu -> %zu%s: byte %d differs from the "
             "reference",
             op->name, m->dtype->name, n, in_off[0], op->n_in > 1 ? in_off[1] : 0, out_off,
             in_place ? " (in place)" : "", at);
    if (!in_place)
        for (size_t i = 0; i + 1 < GUARD; ++i)
            if (((uint32_t *)s->out)[(n * es + 3) / 4 + i] != GUARD_WORD)
                FAIL(w, "%s on cl_mem, n=%zu: wrote past its window", op->name, n);
    w->device_ops++;
    return 0;
}

static int host_op(worker *w, scratch *s, const menu_item *m) {
    const kit_op *op = m->op;
    const size_t es = m->dtype->size;
    clrelu_desc desc = clrelu_desc_make(op->op, m->dtype->dtype);
    size_t n = random_n(&w->rng);
    for (int i = 0; i < op->n_in; ++i)
        kit_fill(m->dtype->dtype, s->in[i], n, next(&w->rng));
    op->reference(&desc, n, (const void *const *)s->in, s->expected);
    int in_place = next(&w->rng) % 4 == 0;
    void *out = in_place ? s->in[0] : s->out;
    if (!in_place)
        fill_guard(s->out, (n * es + 3) / 4 + GUARD);
    clrelu_status st = op->host(w->ctx, &desc, n, (const void *const *)s->in, out);
    if (st != CLRELU_OK)
        FAIL(w, "%s %s on host arrays, n=%zu: %s: %s", op->name, m->dtype->name, n,
             clrelu_status_name(st), clrelu_last_error());
    int at = first_difference(out, s->expected, n * es);
    if (at >= 0)
        FAIL(w, "%s %s on host arrays, n=%zu%s: byte %d differs from the reference", op->name,
             m->dtype->name, n, in_place ? " (in place)" : "", at);
    if (!in_place)
        for (size_t i = 0; i < GUARD; ++i)
            if (((uint32_t *)s->out)[(n * es + 3) / 4 + i] != GUARD_WORD)
                FAIL(w, "%s on host arrays, n=%zu: wrote past the array", op->name, n);
    w->host_ops++;
    return 0;
}

/* A bad call whose message carries a value only this thread uses; the thread's message must
 * be exactly that until its next failure, whatever the other threads fail with meanwhile. */
static int bad_call(worker *w, scratch *s, int i, char *last, size_t last_len) {
    if (last[0] && strcmp(clrelu_last_error(), last) != 0)
        FAIL(w,
             "thread %d's last error changed without a failing call of its own: \"%s\", "
             "expected \"%s\"",
             w->id, clrelu_last_error(), last);
    clrelu_desc bad = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    int value = 1000000 + w->id * 10000 + i;
    bad.dtype = (clrelu_dtype)value;
    clrelu_status st = clrelu_forward_host(w->ctx, &bad, 4, s->in[0], s->out);
    char want[64];
    snprintf(want, sizeof want, "desc->dtype = %d ", value);
    if (st != CLRELU_ERROR_INVALID_ARGUMENT || !strstr(clrelu_last_error(), want))
        FAIL(w, "bad dtype %d: status %s, message \"%s\"", value, clrelu_status_name(st),
             clrelu_last_error());
    snprintf(last, last_len, "%s", clrelu_last_error());
    w->bad_calls++;
    return 0;
}

static int scratch_open(worker *w, scratch *s) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < KIT_MAX_IN; ++i)
        s->in[i] = malloc(CAP * 8);
    s->out = malloc(CAP * 8);
    s->expected = malloc(CAP * 8);
    if (!s->in[0] || !s->in[1] || !s->out || !s->expected)
        FAIL(w, "out of host memory");
    if (!w->cfg->on_device)
        return 0;
    clrelu_context_info info;
    clrelu_context_get_info(w->ctx, &info, sizeof info);
    s->queue = info.queue;
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < KIT_MAX_IN && err == CL_SUCCESS; ++i)
        s->in_mem[i] = clCreateBuffer(info.context, CL_MEM_READ_WRITE, CAP * 8, NULL, &err);
    if (err == CL_SUCCESS)
        s->out_mem = clCreateBuffer(info.context, CL_MEM_READ_WRITE, CAP * 8, NULL, &err);
    if (err != CL_SUCCESS)
        FAIL(w, "clCreateBuffer failed (%d)", (int)err);
    return 0;
}

static void scratch_close(scratch *s) {
    for (int i = 0; i < KIT_MAX_IN; ++i) {
        free(s->in[i]);
        if (s->in_mem[i])
            clReleaseMemObject(s->in_mem[i]);
    }
    free(s->out);
    free(s->expected);
    if (s->out_mem)
        clReleaseMemObject(s->out_mem);
}

static void *work(void *arg) {
    worker *w = arg;
    if (!w->cfg->shared) {
        /* Contexts are created (and later released) while the other threads do the same. */
        if (clrelu_context_create(&w->ctx, w->cfg->spec) != CLRELU_OK) {
            snprintf(w->failure, sizeof w->failure, "thread %d: clrelu_context_create: %s", w->id,
                     clrelu_last_error());
            return NULL;
        }
        /* Half the threads send their host arrays through the device. */
        if (w->cfg->on_device && w->id % 2 == 0)
            clrelu_context_set_host_path(w->ctx, CLRELU_HOST_PATH_DEVICE);
    }
    scratch s;
    char last[2048] = "";
    if (scratch_open(w, &s) == 0) {
        for (int i = 0; i < OPS; ++i) {
            const menu_item *m = &w->menu[next(&w->rng) % w->menu_len];
            uint32_t r = next(&w->rng) % 100;
            int rc = r < 10                        ? bad_call(w, &s, i, last, sizeof last)
                     : r < 55 && w->cfg->on_device ? device_op(w, &s, m)
                                                   : host_op(w, &s, m);
            if (rc != 0)
                break;
        }
    }
    scratch_close(&s);
    if (!w->cfg->shared)
        clrelu_context_release(w->ctx);
    return NULL;
}

/* The (op, dtype) pairs of the kit this context runs (on the CPU path, and on the device when
 * it has one: f64 needs cl_khr_fp64), probed once on one thread. */
static size_t build_menu(clrelu_context *ctx, int on_device, menu_item *menu, size_t cap) {
    size_t count = 0;
    double in[2][2] = {{1, -1}, {1, 1}}, out[2];
    const void *ins[2] = {in[0], in[1]};
    for (size_t o = 0; o < kit_ops_count; ++o) {
        if (!kit_ops[o].host)
            continue; /* the mask ops: they have no short form */
        for (size_t d = 0; d < kit_dtypes_count && count < cap; ++d) {
            clrelu_desc desc = clrelu_desc_make(kit_ops[o].op, kit_dtypes[d].dtype);
            int runs = kit_ops[o].host(ctx, &desc, 1, ins, out) == CLRELU_OK;
            if (runs && on_device) {
                clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_DEVICE);
                runs = kit_ops[o].host(ctx, &desc, 1, ins, out) == CLRELU_OK;
                clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_CPU);
            }
            if (runs)
                menu[count++] = (menu_item){&kit_ops[o], &kit_dtypes[d]};
        }
    }
    return count;
}

static void run_config(const config *cfg) {
    clrelu_context *shared = NULL, *probe = NULL;
    assert_int_equal(clrelu_context_create(&probe, cfg->spec), CLRELU_OK);
    menu_item menu[64];
    size_t menu_len = build_menu(probe, cfg->on_device, menu, ARRAY_LEN(menu));
    assert_true(menu_len > 0);
    clrelu_context_release(probe);
    if (cfg->shared) {
        assert_int_equal(clrelu_context_create(&shared, cfg->spec), CLRELU_OK);
        /* Set before sharing, as the header asks: host arrays go through the device's pool,
         * the state the threads contend for most. */
        if (cfg->on_device)
            assert_int_equal(clrelu_context_set_host_path(shared, CLRELU_HOST_PATH_DEVICE),
                             CLRELU_OK);
    }
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        w[i] = (worker){.cfg = cfg,
                        .ctx = shared,
                        .id = i,
                        .rng = 0x9e3779b9u * (i + 1),
                        .menu = menu,
                        .menu_len = menu_len};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    unsigned long device_ops = 0, host_ops = 0, bad_calls = 0;
    int failed = 0;
    for (int i = 0; i < THREADS; ++i) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        if (w[i].failure[0]) {
            print_error("%s, thread %d: %s\n", cfg->name, i, w[i].failure);
            failed = 1;
        }
        device_ops += w[i].device_ops;
        host_ops += w[i].host_ops;
        bad_calls += w[i].bad_calls;
    }
    clrelu_context_release(shared);
    printf("%s: %d threads x %d operations: %lu on cl_mem, %lu on host arrays, %lu bad calls, "
           "%zu (op, dtype) pairs\n",
           cfg->name, THREADS, OPS, device_ops, host_ops, bad_calls, menu_len);
    assert_false(failed);
    assert_int_equal(device_ops + host_ops + bad_calls, (unsigned long)THREADS * OPS);
}

static config device_cfg(const char *name, int shared) {
    config c = {name, "", shared, 1};
    test_device devs[1];
    if (list_devices(devs, 1) == 0) {
        print_skip("no OpenCL device present: the device half of the thread tests does not run");
        skip();
    }
    snprintf(c.spec, sizeof c.spec, "%s", devs[0].spec);
    printf("%s: device %s (%s on %s)\n", name, devs[0].spec, devs[0].name, devs[0].platform);
    return c;
}

static void test_threads__one_device_context_shared_by_8_threads(void **state) {
    (void)state;
    config c = device_cfg("one device context shared by 8 threads", 1);
    run_config(&c);
}

static void test_threads__one_device_context_per_thread(void **state) {
    (void)state;
    config c = device_cfg("one device context per thread", 0);
    run_config(&c);
}

static void test_threads__one_cpu_context_shared_by_8_threads(void **state) {
    (void)state;
    config c = {"one CPU-path context shared by 8 threads", "cpu", 1, 0};
    run_config(&c);
}

static void test_threads__one_cpu_context_per_thread(void **state) {
    (void)state;
    config c = {"one CPU-path context per thread", "cpu", 0, 0};
    run_config(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads__one_cpu_context_shared_by_8_threads),
        cmocka_unit_test(test_threads__one_cpu_context_per_thread),
        cmocka_unit_test(test_threads__one_device_context_shared_by_8_threads),
        cmocka_unit_test(test_threads__one_device_context_per_thread),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
