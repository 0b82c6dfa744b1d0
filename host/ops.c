/* SPDX-License-Identifier: Apache-2.0 */
/* The cl_mem entry points: check every argument before anything reaches the device, pick the
 * kernel variant, enqueue on the context's queue with the caller's events. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "relu_math.h"

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

size_t clrelu_mask_words(size_t n) {
    return n / 32 + (n % 32 != 0);
}

clrelu_status clrelu_desc_init(clrelu_desc *desc, size_t desc_size, clrelu_op op,
                               clrelu_dtype dtype) {
    if (!desc)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "clrelu_desc_init: desc is NULL");
    if (desc_size != sizeof(clrelu_desc))
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_desc_init: desc_size = %zu is not the size of a clrelu_desc "
                            "this library (%s) knows (%zu)",
                            desc_size, clrelu_version(), sizeof(clrelu_desc));
    /* op and dtype are checked where they are used, by the call that gets the descriptor (its
     * message names the call), as for any other field. */
    desc->struct_size = desc_size;
    desc->op = op;
    desc->dtype = dtype;
    desc->negative_slope = 0.01f;
    desc->ceiling = 6.0f;
    desc->alpha = 1.0f;
    desc->beta = 0.0f;
    desc->grad_from = CLRELU_GRAD_FROM_X;
    return CLRELU_OK;
}

/* Clipped's ceiling in every domain a kernel may decide in (relu_math.h): f32 and f64 bits of
 * c, and for f16/bf16 the stored bits: c rounded (what forward writes), and the pass threshold:
 * the smallest stored value >= c when testing x, the rounded ceiling when testing y (a y equal
 * to it was clipped). In the f32 domain, testing y compares with the rounded ceiling too. */
static void set_ceilings(const clrelu_desc *desc, int pass, clrelu__params *p) {
    float c = desc->op == CLRELU_OP_CLIPPED_RELU ? desc->ceiling : 1.0f;
    double cd = c;
    uint32_t c32;
    memcpy(&c32, &c, sizeof c32);
    memcpy(&p->ceil_out64, &cd, sizeof cd);
    p->ceil_pass64 = p->ceil_out64; /* every f32 ceiling is exact in f64 */
    p->ceil_out32 = c32;
    uint32_t stored = c32, stored_as32 = c32, up = c32;
    if (desc->dtype == CLRELU_DTYPE_F16 || desc->dtype == CLRELU_DTYPE_BF16) {
        int f16 = desc->dtype == CLRELU_DTYPE_F16;
        stored = f16 ? cr_f32_to_f16(c32) : cr_f32_to_bf16(c32);
        stored_as32 = f16 ? cr_f16_to_f32(stored) : cr_bf16_to_f32(stored);
        up = stored_as32 >= c32 ? stored : stored + 1; /* c > 0: the next stored value up */
    }
    int from_y = pass == CLRELU__PASS_BWD && desc->grad_from == CLRELU_GRAD_FROM_Y;
    p->ceil_pass32 = from_y ? stored_as32 : c32;
    p->ceil_out16 = stored;
    p->ceil_pass16 = from_y ? stored : up;
}

clrelu_status clrelu__check_desc(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                 int pass, clrelu__op *out) {
    if (!desc)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
    if (desc->struct_size != sizeof(clrelu_desc))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->struct_size = %zu, not the %zu bytes of a clrelu_desc (a "
                            "zeroed or hand-made descriptor?); start from clrelu_desc_make() or "
                            "clrelu_desc_init()",
                            fn, desc->struct_size, sizeof(clrelu_desc));
    if (clrelu_dtype_size(desc->dtype) == 0)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->dtype = %d is not a clrelu_dtype", fn, (int)desc->dtype);
    if (desc->op == CLRELU_OP_PRELU)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->op = CLRELU_OP_PRELU reads a slope per channel: use "
                            "clrelu_prelu_* or clrelu_residual_*",
                            fn);
    if (desc->op != CLRELU_OP_RELU && desc->op != CLRELU_OP_LEAKY_RELU &&
        desc->op != CLRELU_OP_CLIPPED_RELU)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->op = %d is not a clrelu_op", fn, (int)desc->op);
    if (desc->op == CLRELU_OP_LEAKY_RELU && !isfinite(desc->negative_slope))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->negative_slope = %g is not finite", fn,
                            (double)desc->negative_slope);
    if (desc->op == CLRELU_OP_CLIPPED_RELU && !(isfinite(desc->ceiling) && desc->ceiling > 0.0f))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->ceiling = %g must be positive and finite", fn,
                            (double)desc->ceiling);
    if (!isfinite(desc->alpha) || !isfinite(desc->beta))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->alpha = %g and desc->beta = %g must be finite", fn,
                            (double)desc->alpha, (double)desc->beta);
    if (desc->alpha == 0.0f && desc->beta == 0.0f)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->alpha = 0 and desc->beta = 0 would write zeros (a zeroed "
                            "descriptor?); start from clrelu_desc_make()",
                            fn);
    if (pass == CLRELU__PASS_BWD) {
        switch (desc->grad_from) {
        case CLRELU_GRAD_FROM_X:
            break;
        case CLRELU_GRAD_FROM_Y:
            if (desc->op == CLRELU_OP_LEAKY_RELU && !(desc->negative_slope > 0.0f))
                return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                    "%s: desc->grad_from = CLRELU_GRAD_FROM_Y needs "
                                    "negative_slope > 0 for leaky relu (it is %g: the sign of y "
                                    "does not give the sign of x)",
                                    fn, (double)desc->negative_slope);
            break;
        case CLRELU_GRAD_FROM_MASK:
            pass = CLRELU__PASS_BWD_MASK;
            break;
        default:
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: desc->grad_from = %d is not a clrelu_grad_source", fn,
                                (int)desc->grad_from);
        }
    }
    out->pass = pass;
    out->op = desc->op == CLRELU_OP_RELU         ? CR_RELU
              : desc->op == CLRELU_OP_LEAKY_RELU ? CR_LEAKY
                                                 : CR_CLIPPED;
    out->dtype = (int)desc->dtype;
    out->elsize = clrelu_dtype_size(desc->dtype);
    out->blend = desc->beta != 0.0f ? CR_BLEND : desc->alpha != 1.0f ? CR_SCALE : CR_PLAIN;
    out->params.slope = desc->negative_slope;
    out->params.alpha = desc->alpha;
    out->params.beta = desc->beta;
    out->params.stream = 0; /* the host path decides per call */
    set_ceilings(desc, pass, &out->params);
    return CLRELU_OK;
}

clrelu_status clrelu__check_device_dtype(clrelu_context *ctx, const char *fn,
                                         const clrelu__op *op) {
    if (op->dtype == CLRELU_DTYPE_F64 && !ctx->info.has_fp64)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: desc->dtype = CLRELU_DTYPE_F64, but device '%s' has no "
                            "cl_khr_fp64 (f64 runs on the CPU path)",
                            fn, ctx->info.device);
    return CLRELU_OK;
}

clrelu_status clrelu__check_call(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                 int pass, clrelu__op *op, cl_uint n_wait, const cl_event *wait) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu_status st = clrelu__check_desc(ctx, fn, desc, pass, op);
    if (st != CLRELU_OK)
        return st;
    if (!ctx->has_device)
        return clrelu__fail(ctx, CLRELU_ERROR_NO_DEVICE,
                            "%s: this context is the CPU path only (device spec 'cpu'); use the "
                            "_host calls or a context on an OpenCL device",
                            fn);
    if ((st = clrelu__check_device_dtype(ctx, fn, op)) != CLRELU_OK)
        return st;
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

clrelu_status clrelu__query_mem(clrelu_context *ctx, const char *fn, const char *name, cl_mem mem,
                                clrelu__mem_info *mi) {
    char what[96];
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof mi->context, &mi->context, NULL);
    if (err == CL_INVALID_MEM_OBJECT)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is not a valid cl_mem (%s)",
                            fn, name, clrelu__cl_error_name(err));
    if (err == CL_SUCCESS && mi->context != ctx->cl_ctx)
        return clrelu__fail(ctx, CLRELU_ERROR_WRONG_CONTEXT,
                            "%s: %s belongs to cl_context %p, not to this context's %p", fn, name,
                            (void *)mi->context, (void *)ctx->cl_ctx);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof mi->size, &mi->size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(mem, CL_MEM_FLAGS, sizeof mi->flags, &mi->flags, NULL);
    /* A sub-buffer is its parent's memory under another handle (OpenCL 1.2 sub-buffers have no
     * sub-buffers): overlaps are judged there. */
    cl_mem parent = NULL;
    mi->origin = 0;
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (err == CL_SUCCESS && parent)
        err = clGetMemObjectInfo(mem, CL_MEM_OFFSET, sizeof mi->origin, &mi->origin, NULL);
    if (err != CL_SUCCESS) { /* the driver's failure, not the caller's */
        snprintf(what, sizeof what, "%s: clGetMemObjectInfo(%s)", fn, name);
        return clrelu__cl_fail(ctx, err, what);
    }
    mi->mem = mem;
    mi->root = parent ? parent : mem;
    return CLRELU_OK;
}

clrelu_status clrelu__check_buffer_with(clrelu_context *ctx, const char *fn, size_t n,
                                        size_t elsize, clrelu__buf_arg *a,
                                        clrelu__mem_info *cache) {
    if (!a->mem)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, a->name);
    if (a->is_mask && a->off % 32 != 0)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s = %zu is not a multiple of 32 (a mask starts on a word)", fn,
                            a->off_name, a->off);
    if (a->off > SIZE_MAX - n)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: %s + n overflows size_t (%s = %zu, n = %zu)", fn, a->off_name,
                            a->off_name, a->off, n);
    size_t end = a->off + n;
    if (a->is_mask) {
        a->begin = a->off / 8;
        a->end = clrelu_mask_words(end) * 4;
    } else {
        if (end > SIZE_MAX / elsize)
            return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                                "%s: (%s + n) * %zu bytes overflows size_t (%s + n = %zu)", fn,
                                a->off_name, elsize, a->off_name, end);
        a->begin = a->off * elsize;
        a->end = end * elsize;
    }
    clrelu__mem_info local;
    clrelu__mem_info *mi = cache ? cache : &local;
    if (!cache || cache->mem != a->mem) {
        clrelu_status st = clrelu__query_mem(ctx, fn, a->name, a->mem, mi);
        if (st != CLRELU_OK) {
            if (cache)
                cache->mem = NULL;
            return st;
        }
    }
    if (a->end > mi->size) {
        if (a->is_mask)
            return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_BOUNDS,
                                "%s: %s + n = %zu bits need %zu bytes of %s, which has %zu "
                                "(CL_MEM_SIZE)",
                                fn, a->off_name, end, a->end, a->name, mi->size);
        return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_BOUNDS,
                            "%s: %s + n = %zu exceeds the %zu elements of %s (CL_MEM_SIZE %zu "
                            "bytes, %zu-byte elements)",
                            fn, a->off_name, end, mi->size / elsize, a->name, mi->size, elsize);
    }
    if (a->output && (mi->flags & CL_MEM_READ_ONLY))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s is written but was created CL_MEM_READ_ONLY", fn, a->name);
    if (!a->output && (mi->flags & CL_MEM_WRITE_ONLY))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s is read but was created CL_MEM_WRITE_ONLY", fn, a->name);
    a->root = mi->root;
    a->begin += mi->origin;
    a->end += mi->origin;
    return CLRELU_OK;
}

clrelu_status clrelu__check_buffer(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                   clrelu__buf_arg *a) {
    return clrelu__check_buffer_with(ctx, fn, n, elsize, a, NULL);
}

/* An output may share a buffer with another array only at exactly the same bytes (in place);
 * any other overlap would race inside the kernel, so it is refused. */
clrelu_status clrelu__check_overlap(clrelu_context *ctx, const char *fn, size_t n,
                                    const clrelu__buf_arg *out, const clrelu__buf_arg *in) {
    if (n == 0 || out->root != in->root)
        return CLRELU_OK;
    if (out->begin == in->begin && out->end == in->end && out->is_mask == in->is_mask)
        return CLRELU_OK;
    if (out->begin >= in->end || in->begin >= out->end)
        return CLRELU_OK;
    if (out->mem != in->mem)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s (bytes [%zu, %zu) of cl_mem %p) partly overlaps %s (bytes "
                            "[%zu, %zu) of it) through a sub-buffer (only the same elements, in "
                            "place, may be shared)",
                            fn, out->name, out->begin, out->end, (void *)out->root, in->name,
                            in->begin, in->end);
    if (!out->is_mask && !in->is_mask)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s [%zu, %zu) partly overlaps %s [%zu, %zu) in the same buffer "
                            "(only the same elements, in place, may be shared)",
                            fn, out->name, out->off, out->off + n, in->name, in->off, in->off + n);
    return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                        "%s: %s (bytes [%zu, %zu)) overlaps %s (bytes [%zu, %zu)) in the same "
                        "buffer",
                        fn, out->name, out->begin, out->end, in->name, in->begin, in->end);
}

static clrelu_status check_buffers(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                   clrelu__buf_arg *args, int count) {
    for (int i = 0; i < count; ++i) {
        clrelu_status st = clrelu__check_buffer(ctx, fn, n, elsize, &args[i]);
        if (st != CLRELU_OK)
            return st;
    }
    for (int i = 0; i < count; ++i) {
        if (!args[i].output)
            continue;
        for (int j = 0; j < count; ++j) {
            clrelu_status st =
                j == i ? CLRELU_OK : clrelu__check_overlap(ctx, fn, n, &args[i], &args[j]);
            if (st != CLRELU_OK)
                return st;
        }
    }
    return CLRELU_OK;
}

unsigned clrelu__vector_width(const clrelu_context *ctx, size_t elsize) {
    unsigned v = (unsigned)(ctx->tuning.vec_bytes / elsize);
    return v < 2 ? 2 : v > 16 ? 16 : v;
}

void clrelu__program_options(const clrelu_context *ctx, const clrelu__op *op, unsigned vec,
                             char *options, size_t len) {
    snprintf(options, len,
             "-cl-std=CL1.2 -DCLRELU_STORAGE=%d -DCLRELU_OP=%d -DCLRELU_BLEND=%d -DCLRELU_VEC=%u "
             "-DCLRELU_LOCAL=%zu -DCLRELU_BATCH_RUN=%u -DCLRELU_BIAS_BLOCK=%d%s",
             op->dtype, op->op, op->blend, vec, ctx->tuning.local, ctx->tuning.batch_run,
             CLRELU__BIAS_BLOCK, op->dtype == CLRELU_DTYPE_F64 ? " -DCLRELU_WITH_F64=1" : "");
}

clrelu_status clrelu__set_op_args(clrelu_context *ctx, const char *fn, cl_kernel k, cl_uint arg,
                                  const clrelu__op *op, int compute_domain) {
    clrelu_status st = CLRELU_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: clSetKernelArg", fn);
    /* The ceilings in the kernel's domain: kernels/relu.cl's BITS16 is the same condition. */
    const clrelu__params *pr = &op->params;
    const int bits16 = !compute_domain &&
                       (op->dtype == CLRELU_DTYPE_F16 || op->dtype == CLRELU_DTYPE_BF16) &&
                       op->blend == CR_PLAIN && op->op != CR_LEAKY;
    cl_ulong ceil_out = bits16                          ? pr->ceil_out16
                        : op->dtype == CLRELU_DTYPE_F64 ? pr->ceil_out64
                                                        : pr->ceil_out32;
    cl_ulong ceil_pass = bits16                          ? pr->ceil_pass16
                         : op->dtype == CLRELU_DTYPE_F64 ? pr->ceil_pass64
                                                         : pr->ceil_pass32;
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof(float), &pr->slope));
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof ceil_out, &ceil_out));
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof ceil_pass, &ceil_pass));
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof(float), &pr->alpha));
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof(float), &pr->beta));
out:
    return st;
}

size_t clrelu__global_size(const clrelu_context *ctx, size_t items) {
    /* One work-item per item (the tails loop inside the kernels), capped: beyond the cap each
     * work-item strides over several. */
    const clrelu__tuning *t = &ctx->tuning;
    size_t groups = items / t->local + (items % t->local != 0);
    if (groups > t->max_groups)
        groups = t->max_groups;
    if (groups == 0)
        groups = 1;
    return groups * t->local;
}

clrelu_status clrelu__launch_locked(clrelu_context *ctx, const char *fn, const clrelu__op *op,
                                    size_t n, int n_bufs, const cl_mem *mems, const size_t *offs,
                                    cl_uint n_wait, const cl_event *wait, cl_event *done) {
    clrelu_status st = CLRELU_OK;
    if (n == 0) {
        /* Nothing to compute; a caller that wants an event still gets one that completes
         * after its wait list. */
        char what[96];
        snprintf(what, sizeof what, "%s: clEnqueueMarkerWithWaitList", fn);
        if (done)
            CLRELU__CL_TRY(ctx, st, out, what,
                           clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
        return st;
    }
    const clrelu__tuning *t = &ctx->tuning;
    const unsigned vec = clrelu__vector_width(ctx, op->elsize);
    const char *base = op->pass == CLRELU__PASS_FWD        ? "fwd"
                       : op->pass == CLRELU__PASS_FWD_MASK ? "fwd_mask"
                       : op->pass == CLRELU__PASS_BWD      ? "bwd"
                                                           : "bwd_mask";
    const int tiled = op->pass == CLRELU__PASS_FWD_MASK && !t->mask_words;
    const int by_word = op->pass == CLRELU__PASS_FWD_MASK && t->mask_words;
    /* Plain vector pointers need every offset on a vector boundary (buffer bases are aligned
     * to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which is far coarser); vloadn otherwise. */
    int aligned = ctx->base_align_bits / 8 >= vec * op->elsize;
    for (int i = 0; i < n_bufs; ++i) /* (a mask's word offset does not matter) */
        aligned = aligned && (offs[i] % vec == 0 || (op->pass == CLRELU__PASS_BWD_MASK && i == 1) ||
                              (op->pass == CLRELU__PASS_FWD_MASK && i == 2));
    char name[48], options[256];
    const char *access = tiled ? "" : aligned ? "_a" : "_u";
    snprintf(name, sizeof name, "%s%s%s", base, by_word ? "_w" : "", access);
    clrelu__program_options(ctx, op, vec, options, sizeof options);
    cl_kernel k = NULL;
    st = clrelu__get_kernel(ctx, fn, options, name, &k);
    if (st != CLRELU_OK)
        return st;

    cl_ulong n64 = n, off64[4];
    cl_uint arg = 0;
    char what[96];
    snprintf(what, sizeof what, "%s: clSetKernelArg(%s)", fn, name);
    CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof n64, &n64));
    for (int i = 0; i < n_bufs; ++i) {
        off64[i] = offs[i];
        CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof(cl_mem), &mems[i]));
        CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg++, sizeof off64[i], &off64[i]));
    }
    if ((st = clrelu__set_op_args(ctx, fn, k, arg, op, 0)) != CLRELU_OK)
        return st;

    /* One work-item per whole vector, the tail looping inside the kernel, capped: beyond the
     * cap each work-item strides over several (the mask forward: one group per tile). */
    size_t per_item = by_word ? 32 : vec;
    size_t global = clrelu__global_size(ctx, n / per_item + (n % per_item != 0));
    snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn, name);
    CLRELU__CL_TRY(
        ctx, st, out, what,
        clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &t->local, n_wait, wait, done));
out:
    return st;
}

static clrelu_status run(clrelu_context *ctx, const char *fn, const clrelu_desc *desc, int pass,
                         size_t n, clrelu__buf_arg *args, int n_bufs, cl_uint n_wait,
                         const cl_event *wait, cl_event *done) {
    if (done)
        *done = NULL;
    clrelu__op op;
    clrelu_status st = clrelu__check_call(ctx, fn, desc, pass, &op, n_wait, wait);
    if (st != CLRELU_OK)
        return st;
    /* Backward from the mask: the second argument is the mask. */
    if (op.pass == CLRELU__PASS_BWD_MASK)
        args[1].is_mask = 1;
    if ((st = check_buffers(ctx, fn, n, op.elsize, args, n_bufs)) != CLRELU_OK)
        return st;
    cl_mem mems[4];
    size_t offs[4];
    for (int i = 0; i < n_bufs; ++i) {
        mems[i] = args[i].mem;
        offs[i] = args[i].is_mask ? args[i].off / 32 : args[i].off;
    }
    pthread_mutex_lock(&ctx->lock);
    st = clrelu__launch_locked(ctx, fn, &op, n, n_bufs, mems, offs, n_wait, wait, done);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

clrelu_status clrelu_forward(clrelu_context *ctx, const clrelu_desc *desc, size_t n, cl_mem x,
                             size_t x_off, cl_mem y, size_t y_off, cl_uint n_wait,
                             const cl_event *wait, cl_event *done) {
    clrelu__buf_arg args[] = {{"x", "x_off", x, x_off, 0, 0, NULL, 0, 0},
                              {"y", "y_off", y, y_off, 1, 0, NULL, 0, 0}};
    return run(ctx, "clrelu_forward", desc, CLRELU__PASS_FWD, n, args, 2, n_wait, wait, done);
}

clrelu_status clrelu_forward_mask(clrelu_context *ctx, const clrelu_desc *desc, size_t n, cl_mem x,
                                  size_t x_off, cl_mem y, size_t y_off, cl_mem mask,
                                  size_t mask_off, cl_uint n_wait, const cl_event *wait,
                                  cl_event *done) {
    clrelu__buf_arg args[] = {{"x", "x_off", x, x_off, 0, 0, NULL, 0, 0},
                              {"y", "y_off", y, y_off, 1, 0, NULL, 0, 0},
                              {"mask", "mask_off", mask, mask_off, 1, 1, NULL, 0, 0}};
    return run(ctx, "clrelu_forward_mask", desc, CLRELU__PASS_FWD_MASK, n, args, 3, n_wait, wait,
               done);
}

clrelu_status clrelu_backward(clrelu_context *ctx, const clrelu_desc *desc, size_t n, cl_mem dy,
                              size_t dy_off, cl_mem src, size_t src_off, cl_mem dx, size_t dx_off,
                              cl_uint n_wait, const cl_event *wait, cl_event *done) {
    clrelu__buf_arg args[] = {{"dy", "dy_off", dy, dy_off, 0, 0, NULL, 0, 0},
                              {"src", "src_off", src, src_off, 0, 0, NULL, 0, 0},
                              {"dx", "dx_off", dx, dx_off, 1, 0, NULL, 0, 0}};
    return run(ctx, "clrelu_backward", desc, CLRELU__PASS_BWD, n, args, 3, n_wait, wait, done);
}
