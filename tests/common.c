/* Test helpers: see common.h. */
#include "common.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const size_t test_sizes[] = {0,  1,  2,  3,  4,  5,  7,    8,    15,
                             16, 17, 31, 63, 64, 65, 1000, 4099, (1u << 20) + 3};
const size_t test_sizes_count = ARRAY_LEN(test_sizes);

const uint32_t f32_specials[] = {
    0x7fc00000u, /* quiet NaN */
    0xffc00000u, /* negative quiet NaN */
    0x7fa00001u, /* signalling NaN with a payload */
    0xff800001u, /* negative signalling NaN */
    0x7fffffffu, /* NaN, all payload bits */
    0xffc12345u, /* negative NaN, payload */
    0x00000000u, /* +0 */
    0x80000000u, /* -0 */
    0x7f800000u, /* +inf */
    0xff800000u, /* -inf */
    0x00000001u, /* smallest positive subnormal */
    0x007fffffu, /* largest positive subnormal */
    0x80000001u, /* smallest negative subnormal */
    0x807fffffu, /* largest negative subnormal */
    0x7f7fffffu, /* FLT_MAX */
    0xff7fffffu, /* -FLT_MAX */
    0x00800000u, /* FLT_MIN */
    0x80800000u, /* -FLT_MIN */
    0x3f800000u, /* 1 */
    0xbf800000u, /* -1 */
};
const size_t f32_specials_count = ARRAY_LEN(f32_specials);

static uint32_t next(uint32_t *s) {
    /* xorshift32: deterministic, good enough to scatter values. */
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

void fill_with_specials(float *x, size_t n, uint32_t seed) {
    uint32_t s = seed ? seed : 1;
    for (size_t i = 0; i < n; ++i) {
        uint32_t r = next(&s);
        uint32_t bits;
        switch (r & 7) {
        case 0:
        case 1:
            bits = f32_specials[next(&s) % f32_specials_count];
            break;
        case 2:
            bits = next(&s); /* any pattern at all */
            break;
        default: {
            float v = ((float)(next(&s) >> 8) / (float)(1u << 24) - 0.5f) * 20.0f;
            memcpy(&bits, &v, sizeof bits);
        }
        }
        memcpy(&x[i], &bits, sizeof bits);
    }
}

void fill_guard(uint32_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        p[i] = GUARD_WORD;
}

static void copy_bits(float *dst, const float *src) {
    memcpy(dst, src, sizeof *dst);
}

void reference_relu_forward_f32(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; ++i) {
        float v;
        copy_bits(&v, &x[i]);
        if (isnan(v) || v > 0.0f)
            copy_bits(&y[i], &x[i]); /* NaN: the same bits; positive: x */
        else
            y[i] = +0.0f; /* -0.0, -inf, negative subnormals all give +0.0 */
    }
}

void reference_relu_backward_f32(size_t n, const float *dy, const float *x, float *dx) {
    for (size_t i = 0; i < n; ++i) {
        float v;
        copy_bits(&v, &x[i]);
        if (isnan(v) || v > 0.0f)
            copy_bits(&dx[i], &dy[i]);
        else
            dx[i] = +0.0f; /* the derivative at 0 is 0 */
    }
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

size_t list_devices(test_device *out, size_t cap) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        return 0;
    size_t count = 0;
    for (cl_uint p = 0; p < np && p < 16; ++p) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 16 && count < cap; ++d) {
            snprintf(out[count].spec, sizeof out[count].spec, "%u:%u", p, d);
            char name[128] = "";
            clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            name[sizeof name - 1] = '\0';
            snprintf(out[count].name, sizeof out[count].name, "%s", name);
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
