/* SPDX-License-Identifier: Apache-2.0 */
/* The bias epilogue of a dense layer (y = f(x + bias), and dx, dbias), on cl_mem matrices and,
 * on the CPU path, on host arrays. Both sum dbias in the same fixed order as
 * kernels/bias.cl: blocks of BIAS_BLOCK rows in row order, then the blocks in order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "relu_math.h"

#define BIAS_BLOCK   CLRELU__BIAS_BLOCK
#define SCRATCH_SLOT 3 /* the pool slot of the dbias partial sums */

/* ---------------------------------------------------------------------------------------------
 * Checks shared by the device and host calls
 * ------------------------------------------------------------------------------------------ */

/* The elements a rows x cols matrix with this pitch spans from its first element. */
static clrelu_status extent(clrelu_context *ctx, const char *fn, size_t rows, size_t cols,
                            size_t pitch, const char *pitch_name, size_t *out) {
    *out = 0;
    if (rows == 0 || cols == 0)
        return CLRELU_OK;
    if (rows > 1 && pitch < cols)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s = %zu is less than cols = %zu (rows would overlap)", fn,
                            pitch_name, pitch, cols);
    if (rows - 1 > 0 && pitch > (SIZE_MAX - cols) / (rows - 1))
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: (rows - 1) * %s + cols overflows size_t (rows = %zu, %s = %zu)",
                            fn, pitch_name, rows, pitch_name, pitch);
    *out = (rows - 1) * pitch + cols;
    return CLRELU_OK;
}

/* The bias epilogue has no mask form. */
static clrelu_status check_no_mask(clrelu_context *ctx, const char *fn, const clrelu__op *op) {
    if (op->pass == CLRELU__PASS_BWD_MASK)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: desc->grad_from = CLRELU_GRAD_FROM_MASK does not apply to the "
                            "bias epilogue (use x or y)",
                            fn);
    return CLRELU_OK;
}

static int from_y(const clrelu_desc *desc, int pass) {
    return pass == CLRELU__PASS_BWD && desc->grad_from == CLRELU_GRAD_FROM_Y;
}

/* ---------------------------------------------------------------------------------------------
 * Device
 * ------------------------------------------------------------------------------------------ */

/* One matrix argument: the buffer check over its span, plus its pitch for the overlap rule. */
typedef struct mat_arg {
    clrelu__buf_arg b;
    size_t pitch; /* 0: a vector (bias, dbias) */
} mat_arg;

/* Outputs may share a buffer with an input only at the same offset and pitch (in place); a
 * vector output (dbias) never. */
static clrelu_status check_overlaps(clrelu_context *ctx, const char *fn, mat_arg *a, int count) {
    for (int i = 0; i < count; ++i) {
        if (!a[i].b.output || !a[i].b.mem)
            continue;
        for (int j = 0; j < count; ++j) {
            if (j == i || !a[j].b.mem || a[j].b.root != a[i].b.root || a[i].b.end == a[i].b.begin ||
                a[j].b.end == a[j].b.begin)
                continue;
            int same = a[i].b.begin == a[j].b.begin && a[i].pitch == a[j].pitch && a[i].pitch;
            int disjoint = a[i].b.begin >= a[j].b.end || a[j].b.begin >= a[i].b.end;
            if (disjoint || same)
                continue;
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (bytes [%zu, %zu)) overlaps %s (bytes [%zu, %zu)) in the "
                                "same buffer (only a matrix over another at the same offset and "
                                "pitch may share it)",
                                fn, a[i].b.name, a[i].b.begin, a[i].b.end, a[j].b.name,
                                a[j].b.begin, a[j].b.end);
        }
    }
    return CLRELU_OK;
}

static clrelu_status check_mats(clrelu_context *ctx, const char *fn, size_t elsize, mat_arg *a,
                                const size_t *spans, int count) {
    for (int i = 0; i < count; ++i) {
        if (spans[i] == (size_t)-1)
            continue; /* an optional argument the call does without (bias from y, dbias) */
        clrelu_status st = clrelu__check_buffer(ctx, fn, spans[i], elsize, &a[i].b);
        if (st != CLRELU_OK)
            return st;
    }
    return check_overlaps(ctx, fn, a, count);
}

static cl_ulong u64(size_t v) {
    return (cl_ulong)v;
}

/* Sets the kernel arguments in order: each (kind, pointer) pair is a cl_ulong ('u'), cl_mem
 * ('m'), or cl_uint ('i'); then the op's arguments. */
static clrelu_status set_args(clrelu_context *ctx, const char *fn, cl_kernel k,
                              const clrelu__op *op, const char *kinds, const void *const *values) {
    clrelu_status st = CLRELU_OK;
    cl_uint arg = 0;
    for (; kinds[arg]; ++arg) {
        size_t size = kinds[arg] == 'u'   ? sizeof(cl_ulong)
                      : kinds[arg] == 'm' ? sizeof(cl_mem)
                                          : sizeof(cl_uint);
        char what[96];
        snprintf(what, sizeof what, "%s: clSetKernelArg", fn);
        CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg, size, values[arg]));
    }
    st = clrelu__set_op_args(ctx, fn, k, arg, op, 1);
out:
    return st;
}

/* A 2-D launch: VEC columns per work-item along dimension 0, rows (or row blocks) along 1. */
static clrelu_status launch_2d(clrelu_context *ctx, const char *fn, cl_kernel k, const char *name,
                               size_t cols, size_t rows_or_blocks, unsigned vec, cl_uint n_wait,
                               const cl_event *wait, cl_event *ev) {
    clrelu_status st = CLRELU_OK;
    size_t local[2] = {ctx->tuning.local, 1};
    size_t colvecs = cols / vec + (cols % vec != 0);
    size_t global[2] = {(colvecs / local[0] + (colvecs % local[0] != 0)) * local[0],
                        rows_or_blocks < ((size_t)1 << 20) ? rows_or_blocks : (size_t)1 << 20};
    char what[96];
    snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn, name);
    CLRELU__CL_TRY(ctx, st, out, what,
                   clEnqueueNDRangeKernel(ctx->queue, k, 2, NULL, global, local, n_wait, wait, ev));
out:
    return st;
}

clrelu_status clrelu_bias_forward(clrelu_context *ctx, const clrelu_desc *desc, size_t rows,
                                  size_t cols, cl_mem x, size_t x_off, size_t x_pitch, cl_mem bias,
                                  size_t bias_off, cl_mem y, size_t y_off, size_t y_pitch,
                                  cl_uint n_wait, const cl_event *wait, cl_event *done) {
    static const char fn[] = "clrelu_bias_forward";
    if (done)
        *done = NULL;
    clrelu__op op;
    clrelu_status st = clrelu__check_call(ctx, fn, desc, CLRELU__PASS_FWD, &op, n_wait, wait);
    if (st != CLRELU_OK)
        return st;
    size_t spans[3];
    if ((st = extent(ctx, fn, rows, cols, x_pitch, "x_pitch", &spans[0])) != CLRELU_OK ||
        (st = extent(ctx, fn, rows, cols, y_pitch, "y_pitch", &spans[2])) != CLRELU_OK)
        return st;
    spans[1] = rows && cols ? cols : 0;
    mat_arg a[3] = {{{"x", "x_off", x, x_off, 0, 0, NULL, 0, 0}, x_pitch},
                    {{"bias", "bias_off", bias, bias_off, 0, 0, NULL, 0, 0}, 0},
                    {{"y", "y_off", y, y_off, 1, 0, NULL, 0, 0}, y_pitch}};
    if ((st = check_mats(ctx, fn, op.elsize, a, spans, 3)) != CLRELU_OK)
        return st;
    pthread_mutex_lock(&ctx->lock);
    if (rows == 0 || cols == 0) {
        if (done)
            CLRELU__CL_TRY(ctx, st, out, "clrelu bias: clEnqueueMarkerWithWaitList",
                           clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
        goto out;
    }
    const unsigned vec = clrelu__vector_width(&ctx->tuning, op.elsize);
    char options[256];
    clrelu__program_options(&ctx->tuning, &op, vec, options, sizeof options);
    cl_kernel k = NULL;
    if ((st = clrelu__get_kernel(ctx, fn, options, "bias_fwd", &k)) != CLRELU_OK)
        goto out;
    cl_ulong r64 = u64(rows), c64 = u64(cols), xo = u64(x_off), xp = u64(x_pitch),
             bo = u64(bias_off), yo = u64(y_off), yp = u64(y_pitch);
    const void *values[] = {&r64, &c64, &x, &xo, &xp, &bias, &bo, &y, &yo, &yp};
    if ((st = set_args(ctx, fn, k, &op, "uumuumumuu", values)) != CLRELU_OK)
        goto out;
    st = launch_2d(ctx, fn, k, "bias_fwd", cols, rows, vec, n_wait, wait, done);
out:
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

clrelu_status clrelu_bias_backward(clrelu_context *ctx, const clrelu_desc *desc, size_t rows,
                                   size_t cols, cl_mem dy, size_t dy_off, size_t dy_pitch,
                                   cl_mem src, size_t src_off, size_t src_pitch, cl_mem bias,
                                   size_t bias_off, cl_mem dx, size_t dx_off, size_t dx_pitch,
                                   cl_mem dbias, size_t dbias_off, cl_uint n_wait,
                                   const cl_event *wait, cl_event *done) {
    static const char fn[] = "clrelu_bias_backward";
    if (done)
        *done = NULL;
    clrelu__op op;
    clrelu_status st = clrelu__check_call(ctx, fn, desc, CLRELU__PASS_BWD, &op, n_wait, wait);
    if (st == CLRELU_OK)
        st = check_no_mask(ctx, fn, &op);
    if (st != CLRELU_OK)
        return st;
    const int y_src = from_y(desc, CLRELU__PASS_BWD);
    size_t spans[5];
    if ((st = extent(ctx, fn, rows, cols, dy_pitch, "dy_pitch", &spans[0])) != CLRELU_OK ||
        (st = extent(ctx, fn, rows, cols, src_pitch, "src_pitch", &spans[1])) != CLRELU_OK ||
        (st = extent(ctx, fn, rows, cols, dx_pitch, "dx_pitch", &spans[3])) != CLRELU_OK)
        return st;
    size_t vec_span = rows && cols ? cols : 0;
    spans[2] = y_src && !bias ? (size_t)-1 : vec_span; /* bias: unused from y */
    spans[4] = dbias ? vec_span : (size_t)-1;
    mat_arg a[5] = {{{"dy", "dy_off", dy, dy_off, 0, 0, NULL, 0, 0}, dy_pitch},
                    {{"src", "src_off", src, src_off, 0, 0, NULL, 0, 0}, src_pitch},
                    {{"bias", "bias_off", bias, bias_off, 0, 0, NULL, 0, 0}, 0},
                    {{"dx", "dx_off", dx, dx_off, 1, 0, NULL, 0, 0}, dx_pitch},
                    {{"dbias", "dbias_off", dbias, dbias_off, 1, 0, NULL, 0, 0}, 0}};
    if ((st = check_mats(ctx, fn, op.elsize, a, spans, 5)) != CLRELU_OK)
        return st;

    cl_event *waits = NULL, ev_rows = NULL;
    pthread_mutex_lock(&ctx->lock);
    if (rows == 0 || cols == 0) {
        /* No elements: a no-op like every other call (dbias is left as it is). */
        if (done)
            CLRELU__CL_TRY(ctx, st, out, "clrelu bias: clEnqueueMarkerWithWaitList",
                           clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
        goto out;
    }
    const unsigned vec = clrelu__vector_width(&ctx->tuning, op.elsize);
    const size_t blocks = rows / BIAS_BLOCK + (rows % BIAS_BLOCK != 0);
    const size_t domain = op.dtype == CLRELU_DTYPE_F64 ? 8 : 4;
    char options[256];
    clrelu__program_options(&ctx->tuning, &op, vec, options, sizeof options);
    cl_kernel k_rows = NULL, k_sum = NULL;
    cl_mem partial = dx; /* any valid buffer when no sums are wanted */
    if ((st = clrelu__get_kernel(ctx, fn, options, "bias_bwd", &k_rows)) != CLRELU_OK)
        goto out;
    if (dbias) {
        if (blocks > SIZE_MAX / cols / domain) {
            st = clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW, "%s: rows x cols is too large", fn);
            goto out;
        }
        if ((st = clrelu__get_kernel(ctx, fn, options, "bias_dbias", &k_sum)) != CLRELU_OK ||
            (st = clrelu__pool_get(ctx, fn, SCRATCH_SLOT, blocks * cols * domain, &partial)) !=
                CLRELU_OK)
            goto out;
    }
    /* The scratch is the context's: wait for its last user (out-of-order queues). */
    waits = malloc((n_wait + 1) * sizeof *waits);
    if (!waits) {
        st = clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
        goto out;
    }
    cl_uint n_waits = n_wait;
    if (n_wait)
        memcpy(waits, wait, n_wait * sizeof *waits);
    if (dbias && ctx->scratch_event)
        waits[n_waits++] = ctx->scratch_event;
    cl_ulong r64 = u64(rows), c64 = u64(cols), go = u64(dy_off), gp = u64(dy_pitch),
             so = u64(src_off), sp = u64(src_pitch), bo = u64(bias_off), xo = u64(dx_off),
             xp = u64(dx_pitch);
    cl_uint fy = (cl_uint)y_src, want = dbias != NULL;
    cl_mem bias_arg = bias ? bias : src;
    const void *values[] = {&r64,      &c64, &dy, &go, &gp, &src,     &so, &sp,
                            &bias_arg, &bo,  &dx, &xo, &xp, &partial, &fy, &want};
    if ((st = set_args(ctx, fn, k_rows, &op, "uumuumuumumuumii", values)) != CLRELU_OK)
        goto out;
    st = launch_2d(ctx, fn, k_rows, "bias_bwd", cols, blocks, vec, n_waits, n_waits ? waits : NULL,
                   dbias || done ? &ev_rows : NULL);
    if (st != CLRELU_OK || !dbias) {
        if (st == CLRELU_OK && done) {
            *done = ev_rows;
            ev_rows = NULL;
        }
        goto out;
    }
    cl_ulong b64 = u64(blocks), dbo = u64(dbias_off);
    const void *sum_values[] = {&c64, &b64, &partial, &dbias, &dbo};
    if ((st = set_args(ctx, fn, k_sum, &op, "uummu", sum_values)) != CLRELU_OK)
        goto out;
    st = clrelu__enqueue_scratch_sum(ctx, fn, k_sum, "bias_dbias", cols, ev_rows, done);
out:
    if (ev_rows)
        clReleaseEvent(ev_rows);
    free(waits);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

clrelu_status clrelu__enqueue_scratch_sum(clrelu_context *ctx, const char *fn, cl_kernel k_sum,
                                          const char *name, size_t items, cl_event after,
                                          cl_event *done) {
    size_t local = ctx->tuning.local, global = (items / local + (items % local != 0)) * local;
    cl_event ev_sum = NULL;
    cl_int err =
        clEnqueueNDRangeKernel(ctx->queue, k_sum, 1, NULL, &global, &local, 1, &after, &ev_sum);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn, name);
        return clrelu__cl_fail(ctx, err, what);
    }
    if (ctx->scratch_event)
        clReleaseEvent(ctx->scratch_event);
    ctx->scratch_event = ev_sum;
    if (done) {
        clRetainEvent(ev_sum);
        *done = ev_sum;
    }
    return CLRELU_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Host arrays (the CPU path): the same semantics, one element at a time
 * ------------------------------------------------------------------------------------------ */

static uint64_t load(int dt, const void *p, size_t i) {
    switch (dt) {
    case CLRELU_DTYPE_F32:
        return ((const uint32_t *)p)[i];
    case CLRELU_DTYPE_F16:
        return cr_f16_to_f32(((const uint16_t *)p)[i]);
    case CLRELU_DTYPE_BF16:
        return cr_bf16_to_f32(((const uint16_t *)p)[i]);
    default:
        return ((const uint64_t *)p)[i];
    }
}

static void store(int dt, void *p, size_t i, uint64_t c) {
    switch (dt) {
    case CLRELU_DTYPE_F32:
        ((uint32_t *)p)[i] = (uint32_t)c;
        break;
    case CLRELU_DTYPE_F16:
        ((uint16_t *)p)[i] = (uint16_t)cr_f32_to_f16((uint32_t)c);
        break;
    case CLRELU_DTYPE_BF16:
        ((uint16_t *)p)[i] = (uint16_t)cr_f32_to_bf16((uint32_t)c);
        break;
    default:
        ((uint64_t *)p)[i] = c;
    }
}

/* The compute-domain operations for dtype dt (f64 or f32). */
static uint64_t h_add(int dt, uint64_t a, uint64_t b) {
    return dt == CLRELU_DTYPE_F64 ? cr_add64(a, b) : cr_add32((uint32_t)a, (uint32_t)b);
}
static uint64_t h_fwd(int dt, const clrelu__op *op, uint64_t s) {
    const clrelu__params *p = &op->params;
    return dt == CLRELU_DTYPE_F64 ? cr_fwd64(op->op, s, p->slope, p->ceil_out64)
                                  : cr_fwd32(op->op, (uint32_t)s, p->slope, p->ceil_out32);
}
static uint64_t h_grad(int dt, const clrelu__op *op, uint64_t s, uint64_t dy) {
    const clrelu__params *p = &op->params;
    if (dt == CLRELU_DTYPE_F64)
        return cr_grad64(op->op, cr_pass64(op->op, s, p->ceil_pass64), dy, p->slope);
    return cr_grad32(op->op, cr_pass32(op->op, (uint32_t)s, p->ceil_pass32), (uint32_t)dy,
                     p->slope);
}
static uint64_t h_blend(int dt, const clrelu__op *op, uint64_t t, uint64_t old) {
    const clrelu__params *p = &op->params;
    return dt == CLRELU_DTYPE_F64
               ? cr_blend64(op->blend, t, old, p->alpha, p->beta)
               : cr_blend32(op->blend, (uint32_t)t, (uint32_t)old, p->alpha, p->beta);
}

typedef struct host_mat {
    const char *name;
    const void *ptr;
    size_t pitch; /* 0: a vector */
    size_t span;  /* elements */
    int output;
} host_mat;

static clrelu_status check_host_mats(clrelu_context *ctx, const char *fn, size_t elsize,
                                     const host_mat *m, int count) {
    for (int i = 0; i < count; ++i) {
        if (m[i].span && !m[i].ptr)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                                m[i].name);
        if (m[i].span > SIZE_MAX / elsize)
            return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW, "%s: %s spans too many bytes", fn,
                                m[i].name);
    }
    for (int i = 0; i < count; ++i) {
        if (!m[i].output || !m[i].span)
            continue;
        for (int j = 0; j < count; ++j) {
            if (j == i || !m[j].span || !m[j].ptr)
                continue;
            uintptr_t a = (uintptr_t)m[i].ptr, b = (uintptr_t)m[j].ptr;
            uintptr_t ae = a + m[i].span * elsize, be = b + m[j].span * elsize;
            int same = a == b && m[i].pitch == m[j].pitch && m[i].pitch;
            if (same || a >= be || b >= ae)
                continue;
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (%p) overlaps %s (%p) (only a matrix over another at the "
                                "same address and pitch may share it)",
                                fn, m[i].name, m[i].ptr, m[j].name, m[j].ptr);
        }
    }
    return CLRELU_OK;
}

clrelu_status clrelu_bias_forward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t rows,
                                       size_t cols, const void *x, size_t x_pitch, const void *bias,
                                       void *y, size_t y_pitch) {
    static const char fn[] = "clrelu_bias_forward_host";
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu__op op;
    clrelu_status st = clrelu__check_desc(ctx, fn, desc, CLRELU__PASS_FWD, &op);
    size_t xs = 0, ys = 0;
    if (st == CLRELU_OK)
        st = extent(ctx, fn, rows, cols, x_pitch, "x_pitch", &xs);
    if (st == CLRELU_OK)
        st = extent(ctx, fn, rows, cols, y_pitch, "y_pitch", &ys);
    if (st != CLRELU_OK)
        return st;
    host_mat m[3] = {{"x", x, x_pitch, xs, 0},
                     {"bias", bias, 0, rows && cols ? cols : 0, 0},
                     {"y", y, y_pitch, ys, 1}};
    if ((st = check_host_mats(ctx, fn, op.elsize, m, 3)) != CLRELU_OK ||
        (st = clrelu__check_cpu_path(ctx, fn)) != CLRELU_OK || !xs)
        return st;
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    const int dt = op.dtype;
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
            uint64_t s = h_add(dt, load(dt, x, r * x_pitch + c), load(dt, bias, c));
            uint64_t old = op.blend == CR_BLEND ? load(dt, y, r * y_pitch + c) : 0;
            store(dt, y, r * y_pitch + c, h_blend(dt, &op, h_fwd(dt, &op, s), old));
        }
    }
    clrelu__fpenv_leave(&env);
    return CLRELU_OK;
}

clrelu_status clrelu_bias_backward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t rows,
                                        size_t cols, const void *dy, size_t dy_pitch,
                                        const void *src, size_t src_pitch, const void *bias,
                                        void *dx, size_t dx_pitch, void *dbias) {
    static const char fn[] = "clrelu_bias_backward_host";
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu__op op;
    clrelu_status st = clrelu__check_desc(ctx, fn, desc, CLRELU__PASS_BWD, &op);
    if (st == CLRELU_OK)
        st = check_no_mask(ctx, fn, &op);
    size_t gs = 0, ss = 0, xs = 0;
    if (st == CLRELU_OK)
        st = extent(ctx, fn, rows, cols, dy_pitch, "dy_pitch", &gs);
    if (st == CLRELU_OK)
        st = extent(ctx, fn, rows, cols, src_pitch, "src_pitch", &ss);
    if (st == CLRELU_OK)
        st = extent(ctx, fn, rows, cols, dx_pitch, "dx_pitch", &xs);
    if (st != CLRELU_OK)
        return st;
    const int y_src = from_y(desc, CLRELU__PASS_BWD);
    size_t vs = rows && cols ? cols : 0;
    host_mat m[5] = {{"dy", dy, dy_pitch, gs, 0},
                     {"src", src, src_pitch, ss, 0},
                     {"bias", bias, 0, y_src ? 0 : vs, 0},
                     {"dx", dx, dx_pitch, xs, 1},
                     {"dbias", dbias, 0, dbias ? vs : 0, 1}};
    if ((st = check_host_mats(ctx, fn, op.elsize, m, 5)) != CLRELU_OK ||
        (st = clrelu__check_cpu_path(ctx, fn)) != CLRELU_OK || !gs)
        return st;
    const int dt = op.dtype, f64 = dt == CLRELU_DTYPE_F64;
    double *total = dbias ? calloc(cols, sizeof *total) : NULL;
    double *block = dbias ? calloc(cols, sizeof *block) : NULL;
    if (dbias && (!total || !block)) {
        free(total);
        free(block);
        return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    }
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    /* Sums in the compute type (kept in doubles here, rounded to float at every step for the
     * f32 domain: the same values as the kernels' float sums). */
    for (size_t b0 = 0; b0 < rows; b0 += BIAS_BLOCK) {
        size_t b1 = b0 + BIAS_BLOCK < rows ? b0 + BIAS_BLOCK : rows;
        if (dbias)
            memset(block, 0, cols * sizeof *block);
        for (size_t r = b0; r < b1; ++r) {
            for (size_t c = 0; c < cols; ++c) {
                uint64_t sv = load(dt, src, r * src_pitch + c);
                uint64_t s = y_src ? sv : h_add(dt, sv, load(dt, bias, c));
                uint64_t g = h_grad(dt, &op, s, load(dt, dy, r * dy_pitch + c));
                uint64_t old = op.blend == CR_BLEND ? load(dt, dx, r * dx_pitch + c) : 0;
                store(dt, dx, r * dx_pitch + c, h_blend(dt, &op, g, old));
                if (dbias) {
                    if (f64) {
                        double gv;
                        memcpy(&gv, &g, sizeof gv);
                        block[c] = block[c] + gv;
                    } else {
                        uint32_t g32 = (uint32_t)g;
                        float gv, acc = (float)block[c];
                        memcpy(&gv, &g32, sizeof gv);
                        acc = acc + gv;
                        block[c] = acc;
                    }
                }
            }
        }
        for (size_t c = 0; dbias && c < cols; ++c) {
            if (f64) {
                total[c] = total[c] + block[c];
            } else {
                float acc = (float)total[c] + (float)block[c];
                total[c] = acc;
            }
        }
    }
    for (size_t c = 0; dbias && c < cols; ++c) {
        uint64_t bits;
        if (f64) {
            double r = total[c];
            if (op.blend != CR_PLAIN) {
                double p = (double)op.params.alpha * r;
                r = p;
                if (op.blend == CR_BLEND) {
                    uint64_t ob = load(dt, dbias, c);
                    double o;
                    memcpy(&o, &ob, sizeof o);
                    double q = (double)op.params.beta * o;
                    r = p + q;
                }
            }
            memcpy(&bits, &r, sizeof r);
            bits = cr_canon64(bits);
        } else {
            float r = (float)total[c];
            if (op.blend != CR_PLAIN) {
                float p = op.params.alpha * r;
                r = p;
                if (op.blend == CR_BLEND) {
                    uint32_t ob = (uint32_t)load(dt, dbias, c);
                    float o;
                    memcpy(&o, &ob, sizeof o);
                    float q = op.params.beta * o;
                    r = p + q;
                }
            }
            uint32_t b32;
            memcpy(&b32, &r, sizeof r);
            bits = cr_canon32(b32);
        }
        store(dt, dbias, c, bits);
    }
    clrelu__fpenv_leave(&env);
    free(total);
    free(block);
    return CLRELU_OK;
}
