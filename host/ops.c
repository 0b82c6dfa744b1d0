/* The cl_mem entry points: check every argument before anything reaches the device, pick the
 * kernel variant, enqueue on the context's queue with the caller's events. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

size_t clrelu_dtype_size(clrelu_dtype dtype) {
    switch (dtype) {
    case CLRELU_DTYPE_F32:
        return 4;
    case CLRELU_DTYPE_F16:
    case CLRELU_DTYPE_BF16:
        return 2;
    case CLRELU_DTYPE_F64:
        return 8;
    }
    return 0;
}

clrelu_status clrelu__check_desc(clrelu_context *ctx, const char *fn, const clrelu_desc *desc) {
    if (!desc)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
    if (clrelu_dtype_size(desc->dtype) == 0)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->dtype = %d is not a clrelu_dtype", fn, (int)desc->dtype);
    if (desc->op != CLRELU_OP_RELU && desc->op != CLRELU_OP_LEAKY_RELU &&
        desc->op != CLRELU_OP_CLIPPED_RELU)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->op = %d is not a clrelu_op", fn, (int)desc->op);
    /* The family lands next; until then only f32 relu without blending runs. */
    if (desc->op != CLRELU_OP_RELU || desc->dtype != CLRELU_DTYPE_F32 || desc->alpha != 1.0f ||
        desc->beta != 0.0f || desc->grad_from != CLRELU_GRAD_FROM_X)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: only f32 relu without blending is implemented yet", fn);
    return CLRELU_OK;
}

static clrelu_status check_call(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                cl_uint n_wait, const cl_event *wait) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu_status st = clrelu__check_desc(ctx, fn, desc);
    if (st != CLRELU_OK)
        return st;
    if (!ctx->has_device)
        return clrelu__fail(ctx, CLRELU_ERROR_NO_DEVICE,
                            "%s: this context is the CPU path only (device spec 'cpu'); use the "
                            "_host calls or a context on an OpenCL device",
                            fn);
    if ((n_wait == 0) != (wait == NULL))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: n_wait = %u but wait is %s (give both or neither)", fn,
                            (unsigned)n_wait, wait ? "not NULL" : "NULL");
    for (cl_uint i = 0; i < n_wait; ++i)
        if (!wait[i])
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: wait[%u] is NULL", fn,
                                (unsigned)i);
    return CLRELU_OK;
}

/* One buffer argument as the caller named it. */
typedef struct buf_arg {
    const char *name;     /* "x" */
    const char *off_name; /* "x_off" */
    cl_mem mem;
    size_t off;
    int output;
} buf_arg;

static clrelu_status check_buffer(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                  const buf_arg *a) {
    if (!a->mem)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, a->name);
    if (a->off > SIZE_MAX - n)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: %s + n overflows size_t (%s = %zu, n = %zu)", fn, a->off_name,
                            a->off_name, a->off, n);
    size_t end = a->off + n;
    if (end > SIZE_MAX / elsize)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: (%s + n) * %zu bytes overflows size_t (%s + n = %zu)", fn,
                            a->off_name, elsize, a->off_name, end);
    cl_context mctx = NULL;
    char what[96];
    cl_int err = clGetMemObjectInfo(a->mem, CL_MEM_CONTEXT, sizeof mctx, &mctx, NULL);
    if (err == CL_INVALID_MEM_OBJECT)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is not a valid cl_mem (%s)",
                            fn, a->name, clrelu__cl_error_name(err));
    if (err != CL_SUCCESS) { /* the driver's failure, not the caller's */
        snprintf(what, sizeof what, "%s: clGetMemObjectInfo(%s)", fn, a->name);
        return clrelu__cl_fail(ctx, err, what);
    }
    if (mctx != ctx->cl_ctx)
        return clrelu__fail(ctx, CLRELU_ERROR_WRONG_CONTEXT,
                            "%s: %s belongs to cl_context %p, not to this context's %p", fn,
                            a->name, (void *)mctx, (void *)ctx->cl_ctx);
    size_t size = 0;
    cl_mem_flags flags = 0;
    err = clGetMemObjectInfo(a->mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(a->mem, CL_MEM_FLAGS, sizeof flags, &flags, NULL);
    if (err != CL_SUCCESS) {
        snprintf(what, sizeof what, "%s: clGetMemObjectInfo(%s)", fn, a->name);
        return clrelu__cl_fail(ctx, err, what);
    }
    if (end * elsize > size)
        return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_BOUNDS,
                            "%s: %s + n = %zu exceeds the %zu elements of %s (CL_MEM_SIZE %zu "
                            "bytes, %zu-byte elements)",
                            fn, a->off_name, end, size / elsize, a->name, size, elsize);
    if (a->output && (flags & CL_MEM_READ_ONLY))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s is written but was created CL_MEM_READ_ONLY", fn, a->name);
    if (!a->output && (flags & CL_MEM_WRITE_ONLY))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s is read but was created CL_MEM_WRITE_ONLY", fn, a->name);
    return CLRELU_OK;
}

/* The output may share a buffer with an input at exactly the same offset (in place); any
 * other overlap would race inside the kernel, so it is refused. */
static clrelu_status check_overlap(clrelu_context *ctx, const char *fn, size_t n,
                                   const buf_arg *out, const buf_arg *in) {
    if (n == 0 || out->mem != in->mem || out->off == in->off)
        return CLRELU_OK;
    size_t lo = out->off > in->off ? out->off : in->off;
    size_t hi_out = out->off + n, hi_in = in->off + n;
    if (lo >= (hi_out < hi_in ? hi_out : hi_in))
        return CLRELU_OK;
    return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                        "%s: %s [%zu, %zu) partly overlaps %s [%zu, %zu) in the same buffer (only "
                        "the same offset, in place, may share elements)",
                        fn, out->name, out->off, hi_out, in->name, in->off, hi_in);
}

/* Where an argument's window lies in memory: its root buffer (the buffer itself, or the parent
 * of a sub-buffer; OpenCL 1.2 sub-buffers have no sub-buffers) and its first byte there. */
typedef struct buf_span {
    cl_mem root;
    size_t start;
} buf_span;

static clrelu_status locate(clrelu_context *ctx, const char *fn, size_t elsize, const buf_arg *a,
                            buf_span *span) {
    cl_mem parent = NULL;
    size_t origin = 0;
    cl_int err =
        clGetMemObjectInfo(a->mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (err == CL_SUCCESS && parent)
        err = clGetMemObjectInfo(a->mem, CL_MEM_OFFSET, sizeof origin, &origin, NULL);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "%s: clGetMemObjectInfo(%s)", fn, a->name);
        return clrelu__cl_fail(ctx, err, what);
    }
    span->root = parent ? parent : a->mem;
    span->start = origin + a->off * elsize; /* within the root's CL_MEM_SIZE: checked already */
    return CLRELU_OK;
}

/* A sub-buffer and its parent, or two sub-buffers of one parent, are the same memory under two
 * handles: a partial overlap between them races inside the kernel just as one within one
 * buffer does, so it is refused as well. */
static clrelu_status check_alias(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                 const buf_arg *out, const buf_span *so, const buf_arg *in,
                                 const buf_span *si) {
    if (n == 0 || out->mem == in->mem || so->root != si->root || so->start == si->start)
        return CLRELU_OK;
    size_t bytes = n * elsize;
    size_t lo = so->start > si->start ? so->start : si->start;
    size_t hi = so->start < si->start ? so->start + bytes : si->start + bytes;
    if (lo >= hi)
        return CLRELU_OK;
    return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                        "%s: %s (bytes [%zu, %zu) of cl_mem %p) partly overlaps %s (bytes [%zu, "
                        "%zu) of it) through a sub-buffer (only the same elements, in place, may "
                        "be shared)",
                        fn, out->name, so->start, so->start + bytes, (void *)so->root, in->name,
                        si->start, si->start + bytes);
}

static clrelu_status check_buffers(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                   const buf_arg *args, int count) {
    buf_span spans[4];
    for (int i = 0; i < count; ++i) {
        clrelu_status st = check_buffer(ctx, fn, n, elsize, &args[i]);
        if (st == CLRELU_OK)
            st = locate(ctx, fn, elsize, &args[i], &spans[i]);
        if (st != CLRELU_OK)
            return st;
    }
    for (int i = 0; i < count; ++i) {
        if (!args[i].output)
            continue;
        for (int j = 0; j < count; ++j) {
            if (j == i)
                continue;
            clrelu_status st = check_overlap(ctx, fn, n, &args[i], &args[j]);
            if (st == CLRELU_OK)
                st = check_alias(ctx, fn, n, elsize, &args[i], &spans[i], &args[j], &spans[j]);
            if (st != CLRELU_OK)
                return st;
        }
    }
    return CLRELU_OK;
}

static const char *kernel_base_name(const clrelu_desc *desc, clrelu__pass pass) {
    (void)desc; /* f32 relu is the only op so far */
    return pass == CLRELU__FORWARD ? "relu_fwd_f32" : "relu_bwd_f32";
}

clrelu_status clrelu__launch_locked(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                    clrelu__pass pass, size_t n, int n_bufs, const cl_mem *mems,
                                    const size_t *offs, cl_uint n_wait, const cl_event *wait,
                                    cl_event *done) {
    clrelu_status st = CLRELU_OK;
    char what[96];
    if (n == 0) {
        /* Nothing to compute; a caller that wants an event still gets one that completes
         * after its wait list. */
        snprintf(what, sizeof what, "%s: clEnqueueMarkerWithWaitList", fn);
        if (done)
            CLRELU__CL_TRY(ctx, st, out, what,
                           clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
        return st;
    }
    const clrelu__tuning *t = &ctx->tuning;
    /* Plain vector pointers need every offset on a vector boundary (buffer bases are aligned
     * to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which is far coarser); vloadn otherwise. */
    int aligned = ctx->base_align_bits / 8 >= t->vec * clrelu_dtype_size(desc->dtype);
    for (int i = 0; i < n_bufs; ++i)
        aligned = aligned && offs[i] % t->vec == 0;
    char name[48], options[96];
    snprintf(name, sizeof name, "%s%s", kernel_base_name(desc, pass), aligned ? "_a" : "_u");
    snprintf(options, sizeof options, "-cl-std=CL1.2 -DCLRELU_VEC=%u", t->vec);
    cl_kernel k = NULL;
    st = clrelu__get_kernel(ctx, fn, "relu", options, name, &k);
    if (st != CLRELU_OK)
        return st;

    cl_ulong n64 = n;
    cl_ulong off64[4];
    snprintf(what, sizeof what, "%s: clSetKernelArg(%s)", fn, name);
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, 0, sizeof n64, &n64));
    for (int i = 0; i < n_bufs; ++i) {
        off64[i] = offs[i];
        CLRELU__CL_TRY(ctx, st, out, what,
                       clSetKernelArg(k, (cl_uint)(1 + 2 * i), sizeof(cl_mem), &mems[i]));
        CLRELU__CL_TRY(ctx, st, out, what,
                       clSetKernelArg(k, (cl_uint)(2 + 2 * i), sizeof off64[i], &off64[i]));
    }

    /* One work-item per whole vector (the tail loops inside the kernel), capped: beyond the
     * cap each work-item strides over several vectors. */
    size_t items = n / t->vec + (n % t->vec != 0);
    size_t groups = items / t->local + (items % t->local != 0);
    if (groups > t->max_groups)
        groups = t->max_groups;
    size_t global = groups * t->local;
    snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn, name);
    CLRELU__CL_TRY(
        ctx, st, out, what,
        clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &t->local, n_wait, wait, done));
out:
    return st;
}

static clrelu_status run(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                         clrelu__pass pass, size_t n, const buf_arg *args, int n_bufs,
                         cl_uint n_wait, const cl_event *wait, cl_event *done) {
    if (done)
        *done = NULL;
    clrelu_status st = check_call(ctx, fn, desc, n_wait, wait);
    if (st == CLRELU_OK)
        st = check_buffers(ctx, fn, n, clrelu_dtype_size(desc->dtype), args, n_bufs);
    if (st != CLRELU_OK)
        return st;
    cl_mem mems[4];
    size_t offs[4];
    for (int i = 0; i < n_bufs; ++i) {
        mems[i] = args[i].mem;
        offs[i] = args[i].off;
    }
    pthread_mutex_lock(&ctx->lock);
    st = clrelu__launch_locked(ctx, fn, desc, pass, n, n_bufs, mems, offs, n_wait, wait, done);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

clrelu_status clrelu_forward(clrelu_context *ctx, const clrelu_desc *desc, size_t n, cl_mem x,
                             size_t x_off, cl_mem y, size_t y_off, cl_uint n_wait,
                             const cl_event *wait, cl_event *done) {
    const buf_arg args[] = {{"x", "x_off", x, x_off, 0}, {"y", "y_off", y, y_off, 1}};
    return run(ctx, "clrelu_forward", desc, CLRELU__FORWARD, n, args, 2, n_wait, wait, done);
}

clrelu_status clrelu_backward(clrelu_context *ctx, const clrelu_desc *desc, size_t n, cl_mem dy,
                              size_t dy_off, cl_mem x, size_t x_off, cl_mem dx, size_t dx_off,
                              cl_uint n_wait, const cl_event *wait, cl_event *done) {
    const buf_arg args[] = {{"dy", "dy_off", dy, dy_off, 0},
                            {"x", "x_off", x, x_off, 0},
                            {"dx", "dx_off", dx, dx_off, 1}};
    return run(ctx, "clrelu_backward", desc, CLRELU__BACKWARD, n, args, 3, n_wait, wait, done);
}
