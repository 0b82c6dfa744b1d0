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
    out->params.exact_entries = NULL;
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
    if (clrelu__mem_cache_get(mem, mi)) {
        if (mi->context != ctx->cl_ctx)
            return clrelu__fail(ctx, CLRELU_ERROR_WRONG_CONTEXT,
                                "%s: %s belongs to cl_context %p, not to this context's %p", fn,
                                name, (void *)mi->context, (void *)ctx->cl_ctx);
        return CLRELU_OK;
    }
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
    clrelu__mem_cache_put(mi);
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

unsigned clrelu__vector_width(const clrelu__tuning *t, size_t elsize) {
    unsigned v = (unsigned)(t->vec_bytes / elsize);
    return v < 2 ? 2 : v > 16 ? 16 : v;
}

void clrelu__program_options(const clrelu__tuning *t, const clrelu__op *op, unsigned vec,
                             char *options, size_t len) {
    snprintf(options, len,
             "-cl-std=CL1.2 -DCLRELU_STORAGE=%d -DCLRELU_OP=%d -DCLRELU_BLEND=%d -DCLRELU_VEC=%u "
             "-DCLRELU_LOCAL=%zu -DCLRELU_BATCH_RUN=%u -DCLRELU_BIAS_BLOCK=%d%s",
             op->dtype, op->op, op->blend, vec, t->local, t->batch_run, CLRELU__BIAS_BLOCK,
             op->dtype == CLRELU_DTYPE_F64 ? " -DCLRELU_WITH_F64=1" : "");
}

/* The values of the arguments every kernel ends with: the ceilings in the kernel's domain
 * (kernels/relu.cl's BITS16 is the same condition). */
typedef clrelu__op_values op_values;

static op_values op_arg_values(const clrelu__op *op, int compute_domain) {
    const clrelu__params *pr = &op->params;
    const int bits16 = !compute_domain &&
                       (op->dtype == CLRELU_DTYPE_F16 || op->dtype == CLRELU_DTYPE_BF16) &&
                       op->blend == CR_PLAIN && op->op != CR_LEAKY;
    op_values v = {0, 0, pr->slope, pr->alpha, pr->beta};
    v.ceil_out = bits16                          ? pr->ceil_out16
                 : op->dtype == CLRELU_DTYPE_F64 ? pr->ceil_out64
                                                 : pr->ceil_out32;
    v.ceil_pass = bits16                          ? pr->ceil_pass16
                  : op->dtype == CLRELU_DTYPE_F64 ? pr->ceil_pass64
                                                  : pr->ceil_pass32;
    return v;
}

static cl_int set_op_values(cl_kernel k, cl_uint arg, const op_values *v) {
    cl_int err = clSetKernelArg(k, arg, sizeof(float), &v->slope);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, arg + 1, sizeof v->ceil_out, &v->ceil_out);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, arg + 2, sizeof v->ceil_pass, &v->ceil_pass);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, arg + 3, sizeof(float), &v->alpha);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, arg + 4, sizeof(float), &v->beta);
    return err;
}

/* "<fn>: <call>(<kernel>)" failed: formatted only when something did. */
static clrelu_status kernel_call_fail(clrelu_context *ctx, cl_int err, const char *fn,
                                      const char *call, const char *kernel) {
    char what[128];
    snprintf(what, sizeof what, kernel[0] ? "%s: %s(%s)" : "%s: %s", fn, call, kernel);
    return clrelu__cl_fail(ctx, err, what);
}

clrelu_status clrelu__set_op_args(clrelu_context *ctx, const char *fn, cl_kernel k, cl_uint arg,
                                  const clrelu__op *op, int compute_domain) {
    const op_values v = op_arg_values(op, compute_domain);
    cl_int err = set_op_values(k, arg, &v);
    return err == CL_SUCCESS ? CLRELU_OK : kernel_call_fail(ctx, err, fn, "clSetKernelArg", "");
}

size_t clrelu__global_size(const clrelu__tuning *t, size_t items) {
    /* One work-item per item (the tails loop inside the kernels), capped: beyond the cap each
     * work-item strides over several. */
    size_t groups = items / t->local + (items % t->local != 0);
    if (groups > t->max_groups)
        groups = t->max_groups;
    if (groups == 0)
        groups = 1;
    return groups * t->local;
}

/* The element-wise kernel's name: fwd, fwd_mask (tiled), fwd_mask_w (a word per work-item),
 * bwd, bwd_mask; _a with plain vector pointers, _u with vloadn. */
static void kernel_name(int pass, int tiled, int by_word, int aligned, char *name, size_t len) {
    const char *base = pass == CLRELU__PASS_FWD        ? "fwd"
                       : pass == CLRELU__PASS_FWD_MASK ? "fwd_mask"
                       : pass == CLRELU__PASS_BWD      ? "bwd"
                                                       : "bwd_mask";
    snprintf(name, len, "%s%s%s", base, by_word ? "_w" : "", tiled ? "" : aligned ? "_a" : "_u");
}

clrelu_status clrelu__launch_locked(clrelu_context *ctx, const char *fn, const clrelu__op *op,
                                    size_t n, int n_bufs, const cl_mem *mems, const size_t *offs,
                                    cl_uint n_wait, const cl_event *wait, cl_event *done) {
    char name[48];
    cl_int err;
    if (n == 0) {
        /* Nothing to compute; a caller that wants an event still gets one that completes
         * after its wait list. */
        if (done &&
            (err = clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done)) != CL_SUCCESS)
            return kernel_call_fail(ctx, err, fn, "clEnqueueMarkerWithWaitList", "");
        return CLRELU_OK;
    }
    const int size_class = clrelu__size_class(n);
    const clrelu__tuning *t = &ctx->elt_tuning[op->pass][op->dtype][size_class];
    const unsigned vec = clrelu__vector_width(t, op->elsize);
    const int tiled = op->pass == CLRELU__PASS_FWD_MASK && !t->mask_words;
    const int by_word = op->pass == CLRELU__PASS_FWD_MASK && t->mask_words;
    /* Plain vector pointers need every offset on a vector boundary (buffer bases are aligned
     * to CL_DEVICE_MEM_BASE_ADDR_ALIGN, which is far coarser); vloadn otherwise. */
    int aligned = ctx->base_align_bits / 8 >= vec * op->elsize;
    for (int i = 0; i < n_bufs; ++i) /* (a mask's word offset does not matter) */
        aligned = aligned && (offs[i] % vec == 0 || (op->pass == CLRELU__PASS_BWD_MASK && i == 1) ||
                              (op->pass == CLRELU__PASS_FWD_MASK && i == 2));
    aligned = aligned && !tiled; /* the tiled kernel has one form: its slot is the first */
    clrelu__launch_slot *slot = &ctx->launch[CLRELU__KEY_SLOT(op->pass, op->dtype, size_class) +
                                             (op->op * 3 + op->blend) * 2 + aligned];
    if (!slot->kernel) {
        char options[256];
        kernel_name(op->pass, tiled, by_word, aligned, name, sizeof name);
        if (size_class != CLRELU_SIZE_SMALL) /* a kernel object of the class's own */
            snprintf(name + strlen(name), sizeof name - strlen(name), "@%d", size_class);
        clrelu__program_options(t, op, vec, options, sizeof options);
        clrelu_status st = clrelu__get_kernel(ctx, fn, options, name, &slot->kernel);
        if (st != CLRELU_OK)
            return st;
        slot->have_args = 0;
    }
    cl_kernel k = slot->kernel;

    /* Arguments: n, (buffer, offset) per buffer, then the op's values. The buffers are set on
     * every call (a handle is only a name); the rest only when it changed. */
    const op_values v = op_arg_values(op, 0);
    const op_values *had = &slot->values; /* compared as bits: -0.0f is not 0.0f here */
    const int same_values = slot->have_args && slot->n == n && had->ceil_out == v.ceil_out &&
                            had->ceil_pass == v.ceil_pass &&
                            memcmp(&had->slope, &v.slope, sizeof v.slope) == 0 &&
                            memcmp(&had->alpha, &v.alpha, sizeof v.alpha) == 0 &&
                            memcmp(&had->beta, &v.beta, sizeof v.beta) == 0;
    int same_offs = same_values;
    for (int i = 0; i < n_bufs; ++i)
        same_offs = same_offs && slot->off[i] == offs[i];
    cl_uint arg = 0;
    err = same_offs ? CL_SUCCESS : clSetKernelArg(k, arg, sizeof slot->n, &(cl_ulong){n});
    arg++;
    for (int i = 0; i < n_bufs && err == CL_SUCCESS; ++i) {
        err = clSetKernelArg(k, arg++, sizeof(cl_mem), &mems[i]);
        if (err == CL_SUCCESS && !same_offs)
            err = clSetKernelArg(k, arg, sizeof(cl_ulong), &(cl_ulong){offs[i]});
        arg++;
    }
    if (err == CL_SUCCESS && !same_values)
        err = set_op_values(k, arg, &v);
    if (err != CL_SUCCESS) {
        slot->have_args = 0;
        kernel_name(op->pass, tiled, by_word, aligned, name, sizeof name);
        return kernel_call_fail(ctx, err, fn, "clSetKernelArg", name);
    }
    slot->have_args = 1;
    slot->n = n;
    for (int i = 0; i < n_bufs; ++i)
        slot->off[i] = offs[i];
    slot->values = v;

    /* One work-item per whole vector, the tail looping inside the kernel, capped: beyond the
     * cap each work-item strides over several (the mask forward: one group per tile). */
    size_t per_item = by_word ? 32 : vec;
    size_t global = clrelu__global_size(t, n / per_item + (n % per_item != 0));
    err = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &t->local, n_wait, wait, done);
    if (err != CL_SUCCESS) {
        kernel_name(op->pass, tiled, by_word, aligned, name, sizeof name);
        return kernel_call_fail(ctx, err, fn, "clEnqueueNDRangeKernel", name);
    }
    return CLRELU_OK;
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
