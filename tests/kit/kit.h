/* SPDX-License-Identifier: Apache-2.0 */
/* The op descriptors that the tests and clrelu-bench share: each op's name, the arrays it
 * reads and writes, how to run it on cl_mem buffers and on host arrays, and its host
 * reference. A new op is one entry in kit.c. */
#ifndef CLRELU_KIT_H
#define CLRELU_KIT_H

#include <stddef.h>
#include <stdint.h>

#include "clrelu/clrelu.h"

/* What an op reads and writes. */
typedef enum kit_kind {
    KIT_FWD,      /* x -> y */
    KIT_FWD_MASK, /* x -> y, mask */
    KIT_BWD_X,    /* dy, x -> dx */
    KIT_BWD_Y,    /* dy, y -> dx (y = f(x)) */
    KIT_BWD_MASK, /* dy, mask -> dx (the mask of f(x)) */
    /* The channel ops (kit_op.channel says which) on n elements seen through kit_layout: the
     * per-channel array they read is the first C elements of in1. */
    KIT_CH_FWD, /* x, in1 (PReLU: the slopes; residual: z, its head the bias) -> y */
    KIT_CH_BWD, /* dy, x (its head: the slopes) -> dx */
} kit_kind;

/* Which channel op a KIT_CH_* entry is. */
typedef enum kit_channel {
    KIT_NOT_CHANNEL = 0,
    KIT_PRELU,    /* clrelu_prelu_forward / _backward (dx only) */
    KIT_RESIDUAL, /* clrelu_residual_forward: y = f((x + bias) + z) */
    KIT_ADD,      /* the same with leaky slope 1 and no bias: y = x + z, the pass it fuses away */
} kit_channel;

#define KIT_MAX_IN 2

typedef struct kit_op {
    const char *name; /* as clrelu-bench's --op spells it */
    clrelu_op op;
    kit_kind kind;
    int arrays; /* n-element arrays read or written (2 or 3) */
    int mask;   /* reads or writes a 1-bit-per-element mask */
    /* The short forms, for the ops without a mask (NULL for those with one): n_in inputs of n
     * elements at offset 0 (x; or dy and x/y), the output out, desc's grad_from set from the
     * kind. */
    int n_in;
    int backward;
    clrelu_status (*device)(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                            const cl_mem *in, cl_mem out, cl_uint n_wait, const cl_event *wait,
                            cl_event *done);
    clrelu_status (*host)(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                          const void *const *in, void *out);
    void (*reference)(const clrelu_desc *desc, size_t n, const void *const *in, void *out);
    float beta; /* the blending it runs with (alpha 1): 0, or 1 to accumulate into the output */
    kit_channel channel;
    int channels_last; /* the channel ops: kit_layout's rows x C, else N x C x H*W */
} kit_op;

extern const kit_op kit_ops[];
extern const size_t kit_ops_count;
/* The op named name, or NULL. */
const kit_op *kit_find_op(const char *name);
/* The descriptor for op on dtype: clrelu_desc_make, with grad_from as the kind says and beta as
 * the op has it. */
clrelu_desc kit_desc(const kit_op *op, clrelu_dtype dtype);
/* The layout a channel op sees n elements through: C the first of 64, 31, 3, 2, 1 that
 * divides n; channels last: n / C rows; else inner the first of 1024, 49, 7, 1 that divides
 * n / C, and N = n / (C * inner). Dense. */
clrelu_layout kit_layout(const kit_op *op, size_t n);
/* Bytes the op must move for n elements of size elsize (the per-channel arrays included). */
double kit_bytes(const kit_op *op, size_t n, size_t elsize);

typedef struct kit_dtype {
    const char *name; /* "f32" */
    clrelu_dtype dtype;
    size_t size;
} kit_dtype;

extern const kit_dtype kit_dtypes[];
extern const size_t kit_dtypes_count;
const kit_dtype *kit_find_dtype(const char *name);

/* The op's inputs from random data: in0 is x (forward) or dy (backward); for backward, in1 is
 * made from x: x itself, y = f(x) by the reference, or the reference's mask of x. x is read,
 * in1 written (clrelu_mask_words(n) words for a mask). */
void kit_make_in1(const kit_op *op, const clrelu_desc *desc, size_t n, const void *x, void *in1);

/* Runs the op through clrelu on cl_mem buffers at element offsets (the mask's a multiple of
 * 32): in0, in1 (backward), out, mask (KIT_FWD_MASK). */
clrelu_status kit_run_device(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc,
                             size_t n, cl_mem in0, size_t off0, cl_mem in1, size_t off1, cl_mem out,
                             size_t out_off, cl_mem mask, size_t mask_off, cl_uint n_wait,
                             const cl_event *wait, cl_event *done);
/* The same on host arrays, through the context's host path. */
clrelu_status kit_run_host(const kit_op *op, clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                           const void *in0, const void *in1, void *out, uint32_t *mask);

/* The semantics table on the host, written independently of the library (float and double
 * arithmetic, _Float16 for f16, an explicit nearest-even search for bf16). out holds the old
 * output on entry (read only when desc->beta != 0) and the expected output on return;
 * mask_out receives the expected mask for KIT_FWD_MASK. */
void kit_reference(const kit_op *op, const clrelu_desc *desc, size_t n, const void *in0,
                   const void *in1, void *out, uint32_t *mask_out);

/* The bias epilogue's reference (clrelu.h: clrelu_bias_forward / clrelu_bias_backward), on
 * row-major host matrices with pitches in elements. y and dx hold the old outputs on entry
 * (read only when blending); dbias, when not NULL, the old dbias. */
void kit_bias_forward(const clrelu_desc *d, size_t rows, size_t cols, const void *x, size_t x_pitch,
                      const void *bias, void *y, size_t y_pitch);
void kit_bias_backward(const clrelu_desc *d, size_t rows, size_t cols, const void *dy,
                       size_t dy_pitch, const void *src, size_t src_pitch, const void *bias,
                       void *dx, size_t dx_pitch, void *dbias);

/* The channel ops' reference (clrelu.h: clrelu_residual_forward / _backward; PReLU is the
 * same without bias and z), on host tensors of layout l, each pointer at element (0, 0, 0).
 * bias, z and slopes are NULL when absent; y and dx hold the old outputs on entry (read only
 * when blending), dbias and dslopes the old sums (NULL: not wanted). Written from the
 * definitions, independently of the library: every value as a double or float, the sums in
 * the documented order by plain loops. */
void kit_residual_forward(const clrelu_desc *d, const clrelu_layout *l, const void *x,
                          const void *bias, const void *z, const void *slopes, void *y);
void kit_residual_backward(const clrelu_desc *d, const clrelu_layout *l, const void *dy,
                           const void *src, const void *bias, const void *z, const void *slopes,
                           void *dx, void *dbias, void *dslopes);

/* Shorthand for the commonest case: y = relu(x) on f32 by the reference. */
void kit_relu_forward_f32(size_t n, const float *x, float *y);

/* Fills n elements of dtype with random values mixed with the dtype's special values (NaNs
 * of several payloads and signs, +-0, +-inf, subnormals, +-max, values around the default
 * ceiling 6), deterministic in seed. */
void kit_fill(clrelu_dtype dtype, void *x, size_t n, uint32_t seed);

/* The data a run uses (clrelu-bench's --data): KIT_DATA_SPECIAL is kit_fill's mix; NORMAL is
 * random values in [-10, 10) only (no zeros, subnormals, infinities or NaNs); SUBNORMAL is NORMAL
 * with each element replaced, with probability rate, by a subnormal of random sign and payload. */
typedef enum kit_data_kind { KIT_DATA_SPECIAL, KIT_DATA_NORMAL, KIT_DATA_SUBNORMAL } kit_data_kind;
typedef struct kit_data {
    kit_data_kind kind;
    double rate;   /* KIT_DATA_SUBNORMAL: the fraction of elements that are subnormal, (0, 1] */
    char name[32]; /* as written: "special", "normal", "subnormal:1/16" */
} kit_data;
/* Parses "special", "normal" or "subnormal:RATE" (RATE a fraction like 1/16 or a number in
 * (0, 1]) into *out. Returns 0, or -1 when text is none of them. */
int kit_data_parse(const char *text, kit_data *out);
/* Fills n elements of dtype with data, deterministic in seed (special: kit_fill). */
void kit_fill_data(const kit_data *data, clrelu_dtype dtype, void *x, size_t n, uint32_t seed);

/* The special values of each dtype, as bits. */
const uint64_t *kit_specials(clrelu_dtype dtype, size_t *count);

/* Removes path and everything below it (directories made writable first); a path that does
 * not exist is no error. For the temporary cache directories of test_cache and clrelu-bench. */
void kit_remove_tree(const char *path);

#endif
