/* The op descriptors shared by tests and clrelu-bench, and the host reference: see kit.h. */
#include "kit.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Reference: float compares on values (the library works on bits, so the two are
 * independent), with bits copied unchanged where the table passes a value through.
 * ------------------------------------------------------------------------------------------ */

static float load(const float *p) {
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

void kit_relu_forward_f32(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; ++i) {
        float v = load(&x[i]);
        if (isnan(v) || v > 0.0f)
            memcpy(&y[i], &x[i], sizeof(float)); /* NaN: the same bits; positive: x */
        else
            y[i] = +0.0f; /* -0.0, -inf, negative subnormals all give +0.0 */
    }
}

void kit_relu_backward_f32(size_t n, const float *dy, const float *x, float *dx) {
    for (size_t i = 0; i < n; ++i) {
        float v = load(&x[i]);
        if (isnan(v) || v > 0.0f)
            memcpy(&dx[i], &dy[i], sizeof(float));
        else
            dx[i] = +0.0f; /* the derivative at 0 is 0 */
    }
}

/* ---------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------ */

static clrelu_status fwd_device(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                const cl_mem *in, cl_mem out, cl_uint n_wait, const cl_event *wait,
                                cl_event *done) {
    return clrelu_forward(ctx, desc, n, in[0], 0, out, 0, n_wait, wait, done);
}

static clrelu_status fwd_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                              const void *const *in, void *out) {
    return clrelu_forward_host(ctx, desc, n, in[0], out);
}

static void fwd_reference(const clrelu_desc *desc, size_t n, const void *const *in, void *out) {
    (void)desc;
    kit_relu_forward_f32(n, in[0], out);
}

static clrelu_status bwd_device(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                const cl_mem *in, cl_mem out, cl_uint n_wait, const cl_event *wait,
                                cl_event *done) {
    return clrelu_backward(ctx, desc, n, in[0], 0, in[1], 0, out, 0, n_wait, wait, done);
}

static clrelu_status bwd_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                              const void *const *in, void *out) {
    return clrelu_backward_host(ctx, desc, n, in[0], in[1], out);
}

static void bwd_reference(const clrelu_desc *desc, size_t n, const void *const *in, void *out) {
    (void)desc;
    kit_relu_backward_f32(n, in[0], in[1], out);
}

const kit_op kit_ops[] = {
    {"forward", CLRELU_OP_RELU, 0, 1, 2.0, fwd_device, fwd_host, fwd_reference},
    {"backward", CLRELU_OP_RELU, 1, 2, 3.0, bwd_device, bwd_host, bwd_reference},
};
const size_t kit_ops_count = sizeof kit_ops / sizeof kit_ops[0];

const kit_op *kit_find_op(const char *name) {
    for (size_t i = 0; i < kit_ops_count; ++i)
        if (strcmp(kit_ops[i].name, name) == 0)
            return &kit_ops[i];
    return NULL;
}

const kit_dtype kit_dtypes[] = {
    {"f32", CLRELU_DTYPE_F32, 4},
};
const size_t kit_dtypes_count = sizeof kit_dtypes / sizeof kit_dtypes[0];

const kit_dtype *kit_find_dtype(const char *name) {
    for (size_t i = 0; i < kit_dtypes_count; ++i)
        if (strcmp(kit_dtypes[i].name, name) == 0)
            return &kit_dtypes[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Inputs
 * ------------------------------------------------------------------------------------------ */

const uint32_t kit_f32_specials[] = {
    0x7fc00000u, 0xffc00000u, 0x7fa00001u, 0xff800001u, 0x7fffffffu, 0xffc12345u, /* NaNs */
    0x00000000u, 0x80000000u,                                                     /* +-0 */
    0x7f800000u, 0xff800000u,                                                     /* +-inf */
    0x00000001u, 0x007fffffu, 0x80000001u, 0x807fffffu,                           /* subnormals */
    0x7f7fffffu, 0xff7fffffu, 0x00800000u, 0x80800000u, /* +-max, +-min normal */
    0x3f800000u, 0xbf800000u,                           /* +-1 */
};
const size_t kit_f32_specials_count = sizeof kit_f32_specials / sizeof kit_f32_specials[0];

static uint32_t next(uint32_t *s) {
    uint32_t x = *s; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

void kit_fill(clrelu_dtype dtype, void *x, size_t n, uint32_t seed) {
    uint32_t s = seed ? seed : 1;
    (void)dtype; /* f32 only so far */
    uint32_t *w = x;
    for (size_t i = 0; i < n; ++i) {
        uint32_t r = next(&s);
        switch (r & 7) {
        case 0:
        case 1:
            w[i] = kit_f32_specials[next(&s) % kit_f32_specials_count];
            break;
        case 2:
            w[i] = next(&s); /* any pattern at all */
            break;
        default: {
            float v = ((float)(next(&s) >> 8) / (float)(1u << 24) - 0.5f) * 20.0f;
            memcpy(&w[i], &v, sizeof v);
        }
        }
    }
}
