/* The op descriptors that the tests and clrelu-bench share: each op's name, the bytes it
 * moves, how to run it on cl_mem buffers and on host arrays, and its host reference. A new op
 * is one entry in kit.c. */
#ifndef CLRELU_KIT_H
#define CLRELU_KIT_H

#include <stddef.h>
#include <stdint.h>

#include "clrelu/clrelu.h"

#define KIT_MAX_IN 2

typedef struct kit_op {
    const char *name; /* as clrelu-bench's --op spells it */
    clrelu_op op;
    int backward;       /* 0: forward (x -> y); 1: backward (dy, x -> dx) */
    int n_in;           /* input arrays, each n elements */
    double elems_moved; /* elements read plus written, per element */
    /* Enqueue on ctx's queue: inputs in[0..n_in-1], output out, all at offset 0. */
    clrelu_status (*device)(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                            const cl_mem *in, cl_mem out, cl_uint n_wait, const cl_event *wait,
                            cl_event *done);
    /* The same on host arrays, through the context's host path. */
    clrelu_status (*host)(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                          const void *const *in, void *out);
    /* The semantics table on the host, written independently of the library. */
    void (*reference)(const clrelu_desc *desc, size_t n, const void *const *in, void *out);
} kit_op;

extern const kit_op kit_ops[];
extern const size_t kit_ops_count;
/* The op named name, or NULL. */
const kit_op *kit_find_op(const char *name);

typedef struct kit_dtype {
    const char *name; /* "f32" */
    clrelu_dtype dtype;
    size_t size;
} kit_dtype;

extern const kit_dtype kit_dtypes[];
extern const size_t kit_dtypes_count;
const kit_dtype *kit_find_dtype(const char *name);

/* The reference of relu on f32 arrays. */
void kit_relu_forward_f32(size_t n, const float *x, float *y);
void kit_relu_backward_f32(size_t n, const float *dy, const float *x, float *dx);

/* Special f32 bit patterns: NaNs of several payloads and both signs, +-0, +-inf,
 * subnormals, +-FLT_MAX, +-FLT_MIN, +-1. */
extern const uint32_t kit_f32_specials[];
extern const size_t kit_f32_specials_count;

/* Fills n elements of dtype with random values mixed with the dtype's special values (NaNs
 * of several payloads and signs, +-0, +-inf, subnormals, +-max), deterministic in seed. */
void kit_fill(clrelu_dtype dtype, void *x, size_t n, uint32_t seed);

#endif
