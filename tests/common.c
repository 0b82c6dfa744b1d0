/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: see common.h. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const size_t test_sizes[] = {0,  1,  2,  3,  4,  5,  7,    8,    15,
                             16, 17, 31, 63, 64, 65, 1000, 4099, (1u << 20) + 3};
const size_t test_sizes_count = ARRAY_LEN(test_sizes);

size_t test_max_n(void) {
    const char *v = getenv("CLRELU_TEST_MAX_N");
    if (!v || !*v)
        return SIZE_MAX;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || v[0] == '-') {
        fprintf(stderr, "CLRELU_TEST_MAX_N = '%s' is not an element count\n", v);
        exit(2);
    }
    return (size_t)n;
}

test_fill_fn test_case_fill = kit_fill;

static uint32_t xorshift(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

void fill_tiny(clrelu_dtype dtype, void *p, size_t n, uint32_t seed) {
    /* Per dtype: the payload bits, the exponent's position and the sign bit. */
    const unsigned payload = dtype == CLRELU_DTYPE_F32    ? 23
                             : dtype == CLRELU_DTYPE_F16  ? 10
                             : dtype == CLRELU_DTYPE_BF16 ? 7
                                                          : 52;
    const unsigned sign_at = dtype == CLRELU_DTYPE_F32 ? 31 : dtype == CLRELU_DTYPE_F64 ? 63 : 15;
    size_t n_specials;
    const uint64_t *specials = kit_specials(dtype, &n_specials);
    const size_t es = clrelu_dtype_size(dtype);
    uint32_t s = seed ? seed : 1;
    kit_fill_data(&(kit_data){KIT_DATA_NORMAL, 0, "normal"}, dtype, p, n, seed);
    for (size_t i = 0; i < n; ++i) {
        uint32_t r = xorshift(&s);
        uint64_t bits = ((uint64_t)xorshift(&s) << 32 | xorshift(&s)) &
                        (((uint64_t)1 << payload) - 1); /* a random payload */
        switch (r & 3) {
        case 0: /* subnormal */
            bits |= bits == 0;
            break;
        case 1: /* a normal in the 12 smallest binades */
            bits |= (uint64_t)(1 + (r >> 8) % 12) << payload;
            break;
        case 2:
            bits = specials[(r >> 8) % n_specials];
            break;
        default:
            continue; /* the ordinary value already there */
        }
        if (r & 0x80)
            bits |= (uint64_t)1 << sign_at;
        if (es == 8) {
            memcpy((char *)p + i * 8, &bits, 8);
        } else if (es == 4) {
            uint32_t v = (uint32_t)bits;
            memcpy((char *)p + i * 4, &v, 4);
        } else {
            uint16_t v = (uint16_t)bits;
            memcpy((char *)p + i * 2, &v, 2);
        }
    }
}

void fill_guard(uint32_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        p[i] = GUARD_WORD;
}

void assert_bits_equal(const void *a, const void *b, size_t n_words, const char *what) {
    const uint32_t *pa = a, *pb = b;
    for (size_t i = 0; i < n_words; ++i) {
        if (pa[i] != pb[i]) {
            print_error("%s: word %zu of %zu is 0x%08x, expected 0x%08x\n", what, i, n_words,
                        (unsigned)pa[i], (unsigned)pb[i]);
            fail();
        }
    }
}

/* The platform CLRELU_TEST_PLATFORM's spec selects (NULL: every platform). Absent, the test
 * has nothing to run: it says so and exits as skipped. A spec that is ambiguous or that names
 * the CPU path is a mistake in the test's configuration: it fails. */
static cl_platform_id test_platform(void) {
    static int done;
    static cl_platform_id platform;
    const char *spec = getenv("CLRELU_TEST_PLATFORM");
    if (done || !spec || !*spec)
        return platform;
    clrelu_context *probe = NULL;
    clrelu_status st = clrelu_context_create(&probe, spec);
    if (st == CLRELU_ERROR_DEVICE_NOT_FOUND) {
        print_skip("CLRELU_TEST_PLATFORM=%s: no such OpenCL platform here (%s)", spec,
                   clrelu_last_error());
        exit(TEST_SKIP_CODE);
    }
    if (st != CLRELU_OK) {
        fprintf(stderr, "CLRELU_TEST_PLATFORM=%s: %s\n", spec, clrelu_last_error());
        exit(1);
    }
    clrelu_context_info info;
    clrelu_context_get_info(probe, &info, sizeof info);
    clrelu_context_release(probe);
    if (!info.platform_id) {
        fprintf(stderr, "CLRELU_TEST_PLATFORM=%s names the CPU path, not an OpenCL platform\n",
                spec);
        exit(1);
    }
    platform = info.platform_id;
    done = 1;
    return platform;
}

size_t list_devices(test_device *out, size_t cap) {
    cl_platform_id only = test_platform();
    cl_platform_id plats[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        return 0;
    size_t count = 0;
    for (cl_uint p = 0; p < np && p < 16; ++p) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (only && plats[p] != only)
            continue;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 16 && count < cap; ++d) {
            snprintf(out[count].spec, sizeof out[count].spec, "%u:%u", p, d);
            char name[128] = "";
            clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            name[sizeof name - 1] = '\0';
            snprintf(out[count].name, sizeof out[count].name, "%s", name);
            char plat[96] = "";
            clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof plat, plat, NULL);
            plat[sizeof plat - 1] = '\0';
            snprintf(out[count].platform, sizeof out[count].platform, "%s", plat);
            count++;
        }
    }
    return count;
}

void print_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "SKIPPED: ");
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    fflush(stdout);
    va_end(ap);
}

const test_config test_configs[] = {
    {"defaults", 0.01f, 6.0f, 1.0f, 0.0f},    {"accumulate", 0.01f, 6.0f, 1.0f, 1.0f},
    {"blend", 0.3f, 0.1f, 0.5f, -1.25f},      {"scale", 0.0f, 1e30f, 2.0f, 0.0f},
    {"odd_ceiling", 0.25f, 0.1f, 1.0f, 0.0f},
};
const size_t test_configs_count = ARRAY_LEN(test_configs);

clrelu_desc test_desc(const kit_op *op, clrelu_dtype dtype, const test_config *c) {
    clrelu_desc d = kit_desc(op, dtype);
    d.negative_slope = c->slope;
    d.ceiling = c->ceiling;
    d.alpha = c->alpha;
    d.beta = c->beta;
    return d;
}

int test_desc_is_invalid(const kit_op *op, const clrelu_desc *d) {
    return op->kind == KIT_BWD_Y && d->op == CLRELU_OP_LEAKY_RELU && !(d->negative_slope > 0);
}

#define CASE_GUARD 40 /* elements past every output that must stay untouched */

static void describe(char *buf, size_t len, const kit_op *op, const clrelu_desc *d, size_t n) {
    snprintf(buf, len, "%s %s n=%zu slope=%g ceiling=%g alpha=%g beta=%g", op->name,
             kit_dtypes[d->dtype].name, n, (double)d->negative_slope, (double)d->ceiling,
             (double)d->alpha, (double)d->beta);
}

static void assert_same_bytes(const void *got, const void *want, size_t bytes, size_t elsize,
                              const char *what) {
    if (memcmp(got, want, bytes) == 0)
        return;
    for (size_t i = 0; i < bytes; i += elsize) {
        if (memcmp((const char *)got + i, (const char *)want + i, elsize) != 0) {
            uint64_t g = 0, w = 0;
            memcpy(&g, (const char *)got + i, elsize);
            memcpy(&w, (const char *)want + i, elsize);
            print_error("%s: element %zu is 0x%llx, expected 0x%llx\n", what, i / elsize,
                        (unsigned long long)g, (unsigned long long)w);
            break;
        }
    }
    fail();
}

static void assert_guard(const unsigned char *p, size_t bytes, const char *what) {
    for (size_t i = 0; i < bytes; ++i) {
        if (p[i] != 0xa5) {
            print_error("%s: byte %zu of the guard was written\n", what, i);
            fail();
        }
    }
}

/* Case inputs: x (random), in0 (x or dy), in1 (x, y or mask), old output, expectations. */
typedef struct case_data {
    size_t es, words;
    void *x, *in0, *in1, *old, *expected;
    uint32_t *expected_mask;
} case_data;

static void case_prepare(case_data *c, const kit_op *op, const clrelu_desc *d, size_t n,
                         int sharing, uint32_t seed) {
    c->es = clrelu_dtype_size(d->dtype);
    c->words = clrelu_mask_words(n);
    size_t bytes = (n + 1) * c->es + 64;
    c->x = malloc(bytes);
    c->in0 = malloc(bytes);
    c->in1 = malloc(bytes + c->words * 4);
    c->old = malloc(bytes);
    c->expected = malloc(bytes);
    c->expected_mask = calloc(c->words + 1, 4);
    assert_non_null(c->x);
    assert_non_null(c->in0);
    assert_non_null(c->in1);
    assert_non_null(c->old);
    assert_non_null(c->expected);
    assert_non_null(c->expected_mask);
    test_case_fill(d->dtype, c->x, n, seed);
    if (op->kind == KIT_FWD || op->kind == KIT_FWD_MASK) {
        memcpy(c->in0, c->x, n * c->es);
    } else {
        test_case_fill(d->dtype, c->in0, n, seed * 7 + 1);
        kit_make_in1(op, d, n, c->x, c->in1);
    }
    /* The old output: random with NaNs, or what in place it really is. */
    if (sharing == CASE_OVER_IN0)
        memcpy(c->old, c->in0, n * c->es);
    else if (sharing == CASE_OVER_IN1)
        memcpy(c->old, c->in1, n * c->es);
    else
        test_case_fill(d->dtype, c->old, n, seed * 13 + 5);
    memcpy(c->expected, c->old, n * c->es);
    kit_reference(op, d, n, c->in0, c->in1, c->expected, c->expected_mask);
}

static void case_free(case_data *c) {
    free(c->x);
    free(c->in0);
    free(c->in1);
    free(c->old);
    free(c->expected);
    free(c->expected_mask);
}

void run_host_case(clrelu_context *ctx, const kit_op *op, const clrelu_desc *d, size_t n,
                   int sharing, size_t shift, uint32_t seed) {
    char what[160];
    describe(what, sizeof what, op, d, n);
    case_data c;
    case_prepare(&c, op, d, n, sharing, seed);
    size_t es = c.es, data = n * es, guard = CASE_GUARD * es;
    size_t in1_bytes = op->kind == KIT_BWD_MASK ? c.words * 4 : data;
    /* Arrays at shift elements past a 64-byte boundary, each followed by a guard. */
    /* (aligned_alloc wants a multiple of the alignment.) */
#define ROUND64(b) (((b) + 63) / 64 * 64)
    unsigned char *in0 = aligned_alloc(64, ROUND64(64 + data + guard + 64));
    unsigned char *in1 = aligned_alloc(64, ROUND64(64 + in1_bytes + guard + 64));
    unsigned char *out = aligned_alloc(64, ROUND64(64 + data + guard + 64));
#undef ROUND64
    unsigned char *mask = malloc(c.words * 4 + guard);
    assert_true(in0 && in1 && out && mask);
    /* (A mask is read as 32-bit words: it keeps its alignment.) */
    unsigned char *a0 = in0 + shift * es, *o = out + shift * es;
    unsigned char *a1 = in1 + (op->kind == KIT_BWD_MASK ? 0 : shift * es);
    memcpy(a0, c.in0, data);
    memcpy(a1, c.in1, in1_bytes);
    memset(o, 0, data); /* overwritten below */
    memcpy(o, c.old, data);
    memset(o + data, 0xa5, guard);
    memset(mask, 0xa5, c.words * 4 + guard);
    void *dst = sharing == CASE_OVER_IN0 ? (void *)a0 : sharing == CASE_OVER_IN1 ? (void *)a1 : o;
    clrelu_status st = kit_run_host(op, ctx, d, n, a0, a1, dst, (uint32_t *)mask);
    if (st != CLRELU_OK) {
        print_error("%s: %s: %s\n", what, clrelu_status_name(st), clrelu_context_error(ctx));
        fail();
    }
    assert_same_bytes(dst, c.expected, data, es, what);
    if (sharing == CASE_SEPARATE)
        assert_guard(o + data, guard, what);
    if (op->kind == KIT_FWD_MASK) {
        assert_same_bytes(mask, c.expected_mask, c.words * 4, 4, what);
        assert_guard(mask + c.words * 4, guard, what);
    }
    free(in0);
    free(in1);
    free(out);
    free(mask);
    case_free(&c);
}

/* A buffer of bytes: contents, or the guard pattern where contents is NULL. */
static cl_mem case_buffer(cl_context context, size_t bytes, const void *at, size_t at_off,
                          size_t at_len) {
    unsigned char *host = malloc(bytes ? bytes : 1);
    assert_non_null(host);
    memset(host, 0xa5, bytes);
    if (at)
        memcpy(host + at_off, at, at_len);
    cl_int err;
    cl_mem m = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes ? bytes : 1,
                              host, &err);
    free(host);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void check_window(cl_command_queue q, cl_mem m, size_t bytes, size_t at, const void *want,
                         size_t len, size_t elsize, const char *what, int guard_rest) {
    unsigned char *got = malloc(bytes ? bytes : 1);
    assert_non_null(got);
    assert_int_equal(clEnqueueReadBuffer(q, m, CL_TRUE, 0, bytes, got, 0, NULL, NULL), CL_SUCCESS);
    assert_same_bytes(got + at, want, len, elsize, what);
    if (guard_rest) {
        assert_guard(got, at, what);
        assert_guard(got + at + len, bytes - at - len, what);
    }
    free(got);
}

void run_device_case(clrelu_context *ctx, const kit_op *op, const clrelu_desc *d, size_t n,
                     int sharing, const size_t off[3], size_t mask_off, uint32_t seed) {
    char what[200];
    describe(what, sizeof what, op, d, n);
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(ctx, &info, sizeof info), CLRELU_OK);
    case_data c;
    case_prepare(&c, op, d, n, sharing, seed);
    size_t es = c.es, data = n * es;
    int in1_mask = op->kind == KIT_BWD_MASK;
    int backward = op->kind != KIT_FWD && op->kind != KIT_FWD_MASK;
    /* The output window holds the old output; in place, the input it shares holds it. */
    size_t out_off = sharing == CASE_OVER_IN0 ? off[0] : sharing == CASE_OVER_IN1 ? off[1] : off[2];
    size_t in1_off = in1_mask ? mask_off : off[1]; /* a mask starts on a word */
    size_t in1_at = in1_mask ? in1_off / 8 : in1_off * es;
    size_t in1_len = in1_mask ? c.words * 4 : data;
    cl_mem b0 = case_buffer(info.context, (off[0] + n + CASE_GUARD) * es, c.in0, off[0] * es, data);
    cl_mem b1 = backward ? case_buffer(info.context, in1_at + in1_len + CASE_GUARD * es, c.in1,
                                       in1_at, in1_len)
                         : NULL;
    cl_mem bo =
        sharing == CASE_OVER_IN0 ? b0
        : sharing == CASE_OVER_IN1
            ? b1
            : case_buffer(info.context, (off[2] + n + CASE_GUARD) * es, c.old, off[2] * es, data);
    size_t mask_bytes = mask_off / 8 + c.words * 4 + 64;
    cl_mem bm = op->kind == KIT_FWD_MASK ? case_buffer(info.context, mask_bytes, NULL, 0, 0) : NULL;
    cl_event done = NULL;
    clrelu_status st = kit_run_device(op, ctx, d, n, b0, off[0], b1, in1_off, bo, out_off, bm,
                                      mask_off, 0, NULL, &done);
    if (st != CLRELU_OK) {
        print_error("%s: %s: %s\n", what, clrelu_status_name(st), clrelu_context_error(ctx));
        fail();
    }
    assert_non_null(done);
    assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    size_t out_bytes = sharing == CASE_OVER_IN0   ? (off[0] + n + CASE_GUARD) * es
                       : sharing == CASE_OVER_IN1 ? in1_at + in1_len + CASE_GUARD * es
                                                  : (off[2] + n + CASE_GUARD) * es;
    check_window(info.queue, bo, out_bytes, out_off * es, c.expected, data, es, what,
                 sharing == CASE_SEPARATE);
    if (bm)
        check_window(info.queue, bm, mask_bytes, mask_off / 8, c.expected_mask, c.words * 4, 4,
                     what, 1);
    clReleaseMemObject(b0);
    if (b1)
        clReleaseMemObject(b1);
    if (sharing == CASE_SEPARATE)
        clReleaseMemObject(bo);
    if (bm)
        clReleaseMemObject(bm);
    case_free(&c);
}
