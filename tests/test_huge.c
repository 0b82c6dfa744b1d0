/* SPDX-License-Identifier: Apache-2.0 */
/* Huge sizes: sizes and offsets are size_t end to end, with nothing that wraps at 2^31 or 2^32.
 * One mode per CTest entry (argv[1]):
 *   cpu                the CPU path on a real array of more than 2^31 elements, every kit op
 *                      in place;
 *   device-round-trip  the same array as host arrays through the first OpenCL device, in the
 *                      chunks its CL_DEVICE_MAX_MEM_ALLOC_SIZE allows;
 *   device-buffer      one cl_mem buffer past 2^31 bytes: every kit op on the whole buffer,
 *                      and on windows whose offsets are past 2^31 bytes. A device whose
 *                      largest buffer is 2^31 bytes or less gets the same on its largest
 *                      buffer, then the test says so and exits as skipped.
 * Every element is checked: the data repeat with a prime period, so an index that wraps at any
 * power of two lands on a different value. Without the memory, or without a device, the test
 * prints SKIPPED and exits 77. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* f16: 2^31 + tail elements take ~4 GiB (f32 would need ~8 GiB), so most machines can run it. */
#define HUGE_DTYPE "f16"
#define HUGE_N     (((size_t)1 << 31) + 4099) /* elements: past 2^31, with a vector tail */
#define PAST_BYTES ((size_t)1 << 31)          /* the device buffer must be larger than this */
#define EXTRA      ((size_t)1 << 20)          /* bytes beyond it: room for the windows */
#define PERIOD     65521                      /* prime: the data's period */
#define WINDOW     16411                      /* elements per window op (prime as well) */
#define CHUNK      ((size_t)64 << 20)         /* bytes per device transfer of the test's own */
#define HEADROOM   ((size_t)768 << 20)        /* memory to leave to everything else */

typedef struct huge {
    const kit_dtype *dt;
    size_t es;
    unsigned char *pattern;      /* PERIOD elements, then PERIOD more (a window never wraps) */
    unsigned char *expected[32]; /* per kit op: its reference on the pattern, in place */
    unsigned char *win_in[KIT_MAX_IN], *win_out, *win_expected;
} huge;

static huge H;

/* The ops this test runs: the family's short forms without blending (the mask ops have no short
 * form, the channel ops take a layout, and the accumulate ops are forward and backward again
 * under another beta, which an in-place run over one array cannot tell apart). */
static int huge_op(const kit_op *op) {
    return op->host && op->beta == 0.0f;
}

/* MemAvailable from /proc/meminfo, in bytes (0 when unknown). */
static size_t available_memory(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (size_t)kb * 1024;
}

static void setup_pattern(void) {
    H.dt = kit_find_dtype(HUGE_DTYPE);
    assert_non_null(H.dt);
    H.es = H.dt->size;
    H.pattern = malloc(2 * PERIOD * H.es);
    assert_non_null(H.pattern);
    kit_fill(H.dt->dtype, H.pattern, PERIOD, 7);
    memcpy(H.pattern + PERIOD * H.es, H.pattern, PERIOD * H.es);
    assert_true(kit_ops_count <= ARRAY_LEN(H.expected));
    for (size_t o = 0; o < kit_ops_count; ++o) {
        if (!huge_op(&kit_ops[o]))
            continue;
        /* Every input is the same array and the output is it too: the reference of that. */
        clrelu_desc desc = clrelu_desc_make(kit_ops[o].op, H.dt->dtype);
        const void *ins[KIT_MAX_IN] = {H.pattern, H.pattern};
        H.expected[o] = malloc(2 * PERIOD * H.es);
        assert_non_null(H.expected[o]);
        kit_ops[o].reference(&desc, PERIOD, ins, H.expected[o]);
        memcpy(H.expected[o] + PERIOD * H.es, H.expected[o], PERIOD * H.es);
    }
    for (int i = 0; i < KIT_MAX_IN; ++i)
        H.win_in[i] = malloc(WINDOW * H.es);
    H.win_out = malloc(WINDOW * H.es + 2 * H.es);
    H.win_expected = malloc(WINDOW * H.es);
}

/* Element i of every huge array or buffer holds pattern[i % PERIOD]; bytes [from, from + len)
 * of it are written to dst. */
static void pattern_bytes(unsigned char *dst, size_t from, size_t len,
                          const unsigned char *pattern) {
    const size_t period_bytes = PERIOD * H.es;
    while (len) {
        size_t at = from % period_bytes, take = period_bytes - at;
        if (take > len)
            take = len;
        memcpy(dst, pattern + at, take);
        dst += take;
        from += take;
        len -= take;
    }
}

/* Asserts got holds the same bytes as expected, naming the first element that differs. */
static void assert_same(const unsigned char *got, const unsigned char *expected, size_t bytes,
                        const char *what) {
    if (memcmp(got, expected, bytes) == 0)
        return;
    size_t i = 0;
    while (got[i] == expected[i])
        ++i;
    print_error("%s: element %zu of the window differs from the reference\n", what, i / H.es);
    fail();
}

/* Asserts bytes [from, from + len) of a huge array equal the periodic expected data. */
static void check_bytes(const unsigned char *got, size_t from, size_t len,
                        const unsigned char *expected, const char *what) {
    const size_t period_bytes = PERIOD * H.es;
    size_t done = 0;
    while (done < len) {
        size_t at = (from + done) % period_bytes, take = period_bytes - at;
        if (take > len - done)
            take = len - done;
        if (memcmp(got + done, expected + at, take) != 0) {
            size_t i = 0;
            while (got[done + i] == expected[at + i])
                ++i;
            print_error("%s: element %zu (byte %zu) differs from the reference\n", what,
                        (from + done + i) / H.es, from + done + i);
            fail();
        }
        done += take;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Host arrays: the CPU path and the round trip through the device
 * ------------------------------------------------------------------------------------------ */

static void every_op_in_place_on_a_huge_array(clrelu_context *ctx, const char *path) {
    size_t bytes = HUGE_N * H.es;
    unsigned char *a = malloc(bytes);
    assert_non_null(a);
    for (size_t o = 0; o < kit_ops_count; ++o) {
        if (!huge_op(&kit_ops[o]))
            continue;
        const kit_op *op = &kit_ops[o];
        clrelu_desc desc = clrelu_desc_make(op->op, H.dt->dtype);
        pattern_bytes(a, 0, bytes, H.pattern);
        const void *ins[KIT_MAX_IN] = {a, a};
        assert_int_equal(op->host(ctx, &desc, HUGE_N, ins, a), CLRELU_OK);
        char what[128];
        snprintf(what, sizeof what, "%s %s on %zu elements, %s", op->name, H.dt->name,
                 (size_t)HUGE_N, path);
        check_bytes(a, 0, bytes, H.expected[o], what);
        printf("%s: every element matches\n", what);
    }
    free(a);
}

static void test_huge__cpu_path_on_more_than_2_31_elements(void **state) {
    (void)state;
    clrelu_context *ctx = NULL;
    assert_int_equal(clrelu_context_create(&ctx, "cpu"), CLRELU_OK);
    every_op_in_place_on_a_huge_array(ctx, "CPU path");
    clrelu_context_release(ctx);
}

static char device_spec[16];

static void test_huge__host_arrays_through_the_device_in_chunks(void **state) {
    (void)state;
    clrelu_context *ctx = NULL;
    assert_int_equal(clrelu_context_create(&ctx, device_spec), CLRELU_OK);
    assert_int_equal(clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    every_op_in_place_on_a_huge_array(ctx, "host arrays through the device");
    clrelu_context_release(ctx);
}

/* ---------------------------------------------------------------------------------------------
 * One cl_mem buffer past 2^31 bytes
 * ------------------------------------------------------------------------------------------ */

typedef struct dev {
    clrelu_context *ctx;
    clrelu_context_info info;
    cl_mem buf;
    size_t bytes, elems;
    unsigned char *chunk;
} dev;

static void write_pattern(dev *d, size_t from, size_t len) {
    for (size_t done = 0; done < len; done += CHUNK) {
        size_t take = len - done < CHUNK ? len - done : CHUNK;
        pattern_bytes(d->chunk, from + done, take, H.pattern);
        assert_int_equal(clEnqueueWriteBuffer(d->info.queue, d->buf, CL_TRUE, from + done, take,
                                              d->chunk, 0, NULL, NULL),
                         CL_SUCCESS);
    }
}

static void check_buffer(dev *d, const unsigned char *expected, const char *what) {
    for (size_t done = 0; done < d->bytes; done += CHUNK) {
        size_t take = d->bytes - done < CHUNK ? d->bytes - done : CHUNK;
        assert_int_equal(clEnqueueReadBuffer(d->info.queue, d->buf, CL_TRUE, done, take, d->chunk,
                                             0, NULL, NULL),
                         CL_SUCCESS);
        check_bytes(d->chunk, done, take, expected, what);
    }
}

/* The whole buffer, in place, for every kit op: the kernels' own indices pass 2^31 bytes. */
static void every_op_on_the_whole_buffer(dev *d) {
    for (size_t o = 0; o < kit_ops_count; ++o) {
        if (!huge_op(&kit_ops[o]))
            continue;
        const kit_op *op = &kit_ops[o];
        clrelu_desc desc = clrelu_desc_make(op->op, H.dt->dtype);
        write_pattern(d, 0, d->bytes);
        clrelu_status st = op->backward ? clrelu_backward(d->ctx, &desc, d->elems, d->buf, 0,
                                                          d->buf, 0, d->buf, 0, 0, NULL, NULL)
                                        : clrelu_forward(d->ctx, &desc, d->elems, d->buf, 0, d->buf,
                                                         0, 0, NULL, NULL);
        if (st != CLRELU_OK)
            print_error("%s: %s\n", op->name, clrelu_last_error());
        assert_int_equal(st, CLRELU_OK);
        char what[128];
        snprintf(what, sizeof what, "%s %s in place on a buffer of %zu bytes", op->name, H.dt->name,
                 d->bytes);
        check_buffer(d, H.expected[o], what);
        printf("%s: every element matches\n", what);
    }
    write_pattern(d, 0, d->bytes);
}

/* One op on windows of the buffer: inputs at in_off[], the output at out_off (elements). The
 * elements just before and after the output window must keep their values. */
static void window_op(dev *d, const kit_op *op, const size_t *in_off, size_t out_off) {
    const size_t es = H.es, n = WINDOW;
    clrelu_desc desc = clrelu_desc_make(op->op, H.dt->dtype);
    for (int i = 0; i < op->n_in; ++i)
        pattern_bytes(H.win_in[i], in_off[i] * es, n * es, H.pattern);
    op->reference(&desc, n, (const void *const *)H.win_in, H.win_expected);
    clrelu_status st = op->backward ? clrelu_backward(d->ctx, &desc, n, d->buf, in_off[0], d->buf,
                                                      in_off[1], d->buf, out_off, 0, NULL, NULL)
                                    : clrelu_forward(d->ctx, &desc, n, d->buf, in_off[0], d->buf,
                                                     out_off, 0, NULL, NULL);
    if (st != CLRELU_OK)
        print_error("%s: %s\n", op->name, clrelu_last_error());
    assert_int_equal(st, CLRELU_OK);
    size_t lo = out_off - 1, hi = out_off + n + 1 <= d->elems ? out_off + n + 1 : d->elems;
    assert_int_equal(clEnqueueReadBuffer(d->info.queue, d->buf, CL_TRUE, lo * es, (hi - lo) * es,
                                         H.win_out, 0, NULL, NULL),
                     CL_SUCCESS);
    char what[160];
    snprintf(what, sizeof what, "%s %s, %zu elements from element %zu (byte %zu) to %zu", op->name,
             H.dt->name, n, in_off[0], in_off[0] * es, out_off);
    assert_same(H.win_out + es, H.win_expected, n * es, what);
    check_bytes(H.win_out, lo * es, es, H.pattern, "the element before the output window");
    if (hi > out_off + n)
        check_bytes(H.win_out + (n + 1) * es, (out_off + n) * es, es, H.pattern,
                    "the element after the output window");
    write_pattern(d, out_off * es, n * es); /* as it was, for the next op */
}

/* Windows at the very end of the buffer, and, when it is past 2^31 bytes, across and past that
 * line: offsets whose byte addresses do not fit in 31 bits. */
static void every_op_on_windows(dev *d) {
    const size_t w = WINDOW, end = d->elems;
    const size_t line = PAST_BYTES / H.es; /* the first element past 2^31 bytes */
    for (size_t o = 0; o < kit_ops_count; ++o) {
        if (!huge_op(&kit_ops[o]))
            continue;
        const kit_op *op = &kit_ops[o];
        /* at the end: out last, inputs just before it, unaligned and disjoint */
        size_t in_end[KIT_MAX_IN] = {end - 2 * w - 3, end - 3 * w - 7};
        window_op(d, op, in_end, end - w);
        if (d->elems >= line + 4 * w + 2) {
            /* an input across the line, the output past it */
            size_t across[KIT_MAX_IN] = {line - w / 2, line + w + 5};
            window_op(d, op, across, line + 2 * w + 11);
            /* everything past the line */
            size_t past[KIT_MAX_IN] = {line + 1, line + w + 2};
            window_op(d, op, past, line + 3 * w + 1);
        }
        printf("%s %s on windows of %zu elements at the end of the buffer%s: every element "
               "matches\n",
               op->name, H.dt->name, w,
               d->elems >= line + 4 * w + 2 ? ", across 2^31 bytes and past it" : "");
    }
}

static void test_huge__a_device_buffer_past_2_31_bytes(void **state) {
    dev *d = *state;
    every_op_on_the_whole_buffer(d);
    every_op_on_windows(d);
}

static int device_setup(void **state) {
    static dev d;
    if (clrelu_context_create(&d.ctx, device_spec) != CLRELU_OK)
        return -1;
    clrelu_context_get_info(d.ctx, &d.info, sizeof d.info);
    d.bytes = PAST_BYTES + EXTRA;
    if (d.info.max_alloc < d.bytes)
        d.bytes = (size_t)d.info.max_alloc;
    d.bytes -= d.bytes % 64;
    d.elems = d.bytes / H.es;
    cl_int err;
    d.buf = clCreateBuffer(d.info.context, CL_MEM_READ_WRITE, d.bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clCreateBuffer(%zu bytes): %d\n", d.bytes, (int)err);
        return -1;
    }
    d.chunk = malloc(CHUNK);
    *state = &d;
    return d.chunk ? 0 : -1;
}

static int device_teardown(void **state) {
    dev *d = *state;
    clReleaseMemObject(d->buf);
    clrelu_context_release(d->ctx);
    free(d->chunk);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (sizeof(size_t) < 8) {
        print_skip("huge %s: size_t has 32 bits here; no array can pass 2^32 bytes", mode);
        return TEST_SKIP_CODE;
    }
    setup_pattern();
    size_t have = available_memory();
    if (strcmp(mode, "cpu") == 0 || strcmp(mode, "device-round-trip") == 0) {
        size_t need = HUGE_N * H.es + HEADROOM;
        if (have < need) {
            print_skip("huge %s: %zu MiB of memory available, %zu MiB needed for %zu %s elements",
                       mode, have >> 20, need >> 20, (size_t)HUGE_N, HUGE_DTYPE);
            return TEST_SKIP_CODE;
        }
    }
    if (strcmp(mode, "cpu") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_huge__cpu_path_on_more_than_2_31_elements)};
        return cmocka_run_group_tests_name("huge on the CPU path", tests, NULL, NULL);
    }
    if (strcmp(mode, "device-round-trip") != 0 && strcmp(mode, "device-buffer") != 0) {
        fprintf(stderr, "usage: test_huge cpu|device-round-trip|device-buffer\n");
        return 2;
    }
    test_device devs[1];
    if (list_devices(devs, 1) == 0) {
        print_skip("huge %s: no OpenCL device present", mode);
        return TEST_SKIP_CODE;
    }
    snprintf(device_spec, sizeof device_spec, "%s", devs[0].spec);
    if (strcmp(mode, "device-round-trip") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_huge__host_arrays_through_the_device_in_chunks)};
        return cmocka_run_group_tests_name("huge host arrays through the device", tests, NULL,
                                           NULL);
    }

    clrelu_context *probe = NULL;
    if (clrelu_context_create(&probe, device_spec) != CLRELU_OK)
        return 1;
    clrelu_context_info info;
    clrelu_context_get_info(probe, &info, sizeof info);
    clrelu_context_release(probe);
    size_t want = PAST_BYTES + EXTRA;
    size_t bytes = info.max_alloc < want ? (size_t)info.max_alloc : want;
    if (have < bytes + HEADROOM) {
        print_skip("huge device-buffer: %zu MiB of memory available, %zu MiB needed for a "
                   "%zu-byte buffer",
                   have >> 20, (bytes + HEADROOM) >> 20, bytes);
        return TEST_SKIP_CODE;
    }
    printf("device %s (%s on %s): CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes; buffer of %zu bytes\n",
           devs[0].spec, devs[0].name, devs[0].platform, (unsigned long long)info.max_alloc, bytes);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge__a_device_buffer_past_2_31_bytes)};
    int failed =
        cmocka_run_group_tests_name("huge device buffer", tests, device_setup, device_teardown);
    if (failed)
        return 1;
    if (bytes <= PAST_BYTES) {
        print_skip("%s allows buffers of at most %llu bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE), not "
                   "past 2^31 = %zu: its largest buffer passed, offsets past 2^31 bytes were not "
                   "run",
                   devs[0].name, (unsigned long long)info.max_alloc, PAST_BYTES);
        return TEST_SKIP_CODE;
    }
    return 0;
}
