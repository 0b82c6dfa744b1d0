/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops on cl_mem tensors: PReLU and the residual epilogue y = f((x + bias) + z),
 * forward, and backward with dbias and the slopes' gradient summed in the documented order
 * (kernels/channel.cl). The checks here serve the host-array calls too (channel_host.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "relu_math.h"

clrelu_status clrelu_layout_init(clrelu_layout *layout, size_t layout_size, size_t outer,
                                 size_t channels, size_t inner) {
    if (!layout)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_layout_init: layout is NULL");
    if (layout_size != sizeof(clrelu_layout))
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_layout_init: layout_size = %zu is not the size of a "
                            "clrelu_layout this library (%s) knows (%zu)",
                            layout_size, clrelu_version(), sizeof(clrelu_layout));
    layout->struct_size = layout_size;
    layout->outer = outer;
    layout->channels = channels;
    layout->inner = inner;
    layout->pitch = inner && channels > SIZE_MAX / inner ? 0 : channels * inner;
    return CLRELU_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Checks shared with the host-array calls
 * ------------------------------------------------------------------------------------------ */

int clrelu__ch_is_tensor(int role) {
    return role == CH_ARG_IN || role == CH_ARG_SRC || role == CH_ARG_Z || role == CH_ARG_OUT;
}

int clrelu__ch_is_output(int role) {
    return role == CH_ARG_OUT || role == CH_ARG_DBIAS || role == CH_ARG_DSLOPES;
}

const char *clrelu__ch_name(int role, int backward) {
    static const char *const names[CH_ARGS] = {"x",      "src", "bias",  "z",
                                               "slopes", "y",   "dbias", "dslopes"};
    if (backward && role == CH_ARG_IN)
        return "dy";
    if (backward && role == CH_ARG_OUT)
        return "dx";
    return names[role];
}

static clrelu_status check_layout(clrelu_context *ctx, const char *fn, const clrelu_layout *l,
                                  clrelu__ch_shape *s) {
    if (!l)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: layout is NULL", fn);
    if (l->struct_size != sizeof(clrelu_layout))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: layout->struct_size = %zu, not the %zu bytes of a clrelu_layout "
                            "(a zeroed or hand-made layout?); start from clrelu_layout_make() or "
                            "clrelu_layout_init()",
                            fn, l->struct_size, sizeof(clrelu_layout));
    memset(s, 0, sizeof *s);
    s->outer = l->outer;
    s->chans = l->channels;
    s->inner = l->inner;
    s->pitch = l->pitch;
    s->empty = !l->outer || !l->channels || !l->inner;
    if (l->inner && l->channels > SIZE_MAX / l->inner)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: layout->channels * layout->inner overflows size_t (channels = "
                            "%zu, inner = %zu)",
                            fn, l->channels, l->inner);
    const size_t row = l->channels * l->inner;
    if (s->empty)
        return CLRELU_OK;
    if (l->outer > 1 && l->pitch < row)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: layout->pitch = %zu is less than channels * inner = %zu (outer "
                            "indices would overlap)",
                            fn, l->pitch, row);
    if (l->outer > 1 && l->pitch > (SIZE_MAX - row) / (l->outer - 1))
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: (outer - 1) * pitch + channels * inner overflows size_t (outer = "
                            "%zu, pitch = %zu)",
                            fn, l->outer, l->pitch);
    s->span = (l->outer - 1) * (l->outer > 1 ? l->pitch : 0) + row;
    s->count = l->outer * l->inner; /* <= span: no overflow */
    return CLRELU_OK;
}

clrelu_status clrelu__ch_check(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                               const clrelu_layout *layout, int backward, int prelu_only,
                               int given[CH_ARGS], clrelu__ch_call *call) {
    memset(call, 0, sizeof *call);
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    const int *present = given;
    if (desc && desc->struct_size == sizeof(clrelu_desc) && prelu_only &&
        desc->op != CLRELU_OP_PRELU)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: desc->op = %d is not CLRELU_OP_PRELU (the residual calls take "
                            "every op)",
                            fn, (int)desc->op);
    /* The checks of the family, with PReLU passing as relu (no slope or ceiling to check). */
    clrelu_desc d;
    const int prelu =
        desc && desc->struct_size == sizeof(clrelu_desc) && desc->op == CLRELU_OP_PRELU;
    if (prelu) {
        d = *desc;
        d.op = CLRELU_OP_RELU;
    }
    const int pass = backward ? CLRELU__PASS_BWD : CLRELU__PASS_FWD;
    clrelu_status st = clrelu__check_desc(ctx, fn, prelu ? &d : desc, pass, &call->op);
    if (st != CLRELU_OK)
        return st;
    if (prelu)
        call->op.op = CR_PRELU;
    if (call->op.pass == CLRELU__PASS_BWD_MASK)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: desc->grad_from = CLRELU_GRAD_FROM_MASK does not apply to the "
                            "channel ops (use x or y)",
                            fn);
    call->backward = backward;
    call->from_y = backward && desc->grad_from == CLRELU_GRAD_FROM_Y;
    if (prelu && call->from_y)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: desc->grad_from = CLRELU_GRAD_FROM_Y: PReLU's backward reads x "
                            "(a slope <= 0 hides the sign of x in y)",
                            fn);
    if (prelu && !present[CH_ARG_SLOPES])
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: slopes is NULL (CLRELU_OP_PRELU reads a slope per channel)", fn);
    if (!prelu && present[CH_ARG_SLOPES])
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: slopes is given but desc->op = %d is not CLRELU_OP_PRELU (its "
                            "slope is desc->negative_slope)",
                            fn, (int)desc->op);
    if (!prelu && present[CH_ARG_DSLOPES])
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: dslopes is given but desc->op = %d is not CLRELU_OP_PRELU", fn,
                            (int)desc->op);
    if ((st = check_layout(ctx, fn, layout, &call->shape)) != CLRELU_OK)
        return st;
    call->has_bias = present[CH_ARG_BIAS] && !call->from_y;
    call->has_z = present[CH_ARG_Z] && !call->from_y;
    call->want_g = backward && present[CH_ARG_DBIAS];
    call->want_p = backward && present[CH_ARG_DSLOPES];
    given[CH_ARG_IN] = given[CH_ARG_OUT] = 1;
    given[CH_ARG_SRC] = backward;
    if (call->from_y) /* bias and z are not read: nor checked */
        given[CH_ARG_BIAS] = given[CH_ARG_Z] = 0;
    return CLRELU_OK;
}

clrelu__ch_shape clrelu__ch_effective_shape(const clrelu__ch_shape *s) {
    clrelu__ch_shape e = *s;
    if (s->chans == 1 && (s->outer == 1 || s->pitch == s->inner)) {
        e.inner = s->outer * s->inner;
        e.outer = 1;
        e.pitch = e.inner;
    }
    return e;
}

/* ---------------------------------------------------------------------------------------------
 * cl_mem calls
 * ------------------------------------------------------------------------------------------ */

/* Every array of a call: checked over its span; an output may share bytes with a tensor input
 * only exactly (in place, the same offset: the layout is shared), and a per-channel output with
 * nothing at all. */
static clrelu_status check_buffers(clrelu_context *ctx, const char *fn, const clrelu__ch_call *call,
                                   clrelu__buf_arg *a, const int *given) {
    for (int r = 0; r < CH_ARGS; ++r) {
        if (!given[r])
            continue;
        size_t n = clrelu__ch_is_tensor(r) ? call->shape.span
                   : call->shape.empty     ? 0
                                           : call->shape.chans;
        clrelu_status st = clrelu__check_buffer(ctx, fn, n, call->op.elsize, &a[r]);
        if (st != CLRELU_OK)
            return st;
    }
    for (int r = 0; r < CH_ARGS; ++r) {
        if (!given[r] || !clrelu__ch_is_output(r) || a[r].begin == a[r].end)
            continue;
        for (int q = 0; q < CH_ARGS; ++q) {
            if (q == r || !given[q] || a[q].root != a[r].root || a[q].begin == a[q].end)
                continue;
            const int disjoint = a[r].begin >= a[q].end || a[q].begin >= a[r].end;
            const int in_place = r == CH_ARG_OUT && clrelu__ch_is_tensor(q) &&
                                 a[r].begin == a[q].begin && a[r].end == a[q].end;
            if (disjoint || in_place)
                continue;
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (bytes [%zu, %zu)) overlaps %s (bytes [%zu, %zu)) in the "
                                "same buffer (only %s may share a tensor input's elements, at "
                                "the same offset)",
                                fn, a[r].name, a[r].begin, a[r].end, a[q].name, a[q].begin,
                                a[q].end, clrelu__ch_name(CH_ARG_OUT, call->backward));
        }
    }
    return CLRELU_OK;
}

static cl_ulong u64(size_t v) {
    return (cl_ulong)v;
}

/* Modes and flags, as kernels/channel.cl spells them (the two lists must agree). */
#define CH_RUNS   0u
#define CH_COLS   1u
#define CH_MERGED 2u
#define CH_BIAS   1u
#define CH_Z      2u
#define CH_FROM_Y 4u
#define CH_WANT_G 8u
#define CH_WANT_P 16u
/* MERGED rows: at most this many elements (a multiple of the channels and of the vector). */
#define MERGED_MAX 4096

/* The matrix the element kernels see (kernels/channel.cl's modes). */
typedef struct ch_grid {
    unsigned mode;
    size_t rows, width, total, nv;
} ch_grid;

static size_t gcd(size_t a, size_t b) {
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static ch_grid choose_grid(const clrelu__ch_shape *s, unsigned vec) {
    ch_grid g = {CH_COLS, s->outer, s->chans, 0, 0};
    const int dense = s->outer == 1 || s->pitch == s->chans * s->inner;
    if (s->inner > 1) {
        g.mode = CH_RUNS;
        g.width = s->inner;
    } else if (dense && s->chans % vec != 0) {
        size_t l = s->chans / gcd(s->chans, vec) * vec; /* lcm(channels, vec) */
        if (l <= MERGED_MAX) {
            g.mode = CH_MERGED;
            g.width = l;
            g.total = s->outer * s->chans;
            g.rows = g.total / l + (g.total % l != 0);
        }
    }
    g.nv = g.width / vec + (g.width % vec != 0);
    return g;
}

/* The largest power of two <= limit whose multiple covers count with at most 1/8 idle. */
static size_t pick_local(size_t count, size_t limit) {
    size_t l = 1;
    while (l * 2 <= limit && l * 2 <= count)
        l *= 2;
    while (l > 1 && (count / l + (count % l != 0)) * l - count > count / 8)
        l /= 2;
    return l;
}

static size_t round_up(size_t v, size_t m) {
    return (v / m + (v % m != 0)) * m;
}

/* The range for count[0] x count[1] x count[2] items, dimension 2 the one the kernel strides
 * over, capped as t says (t->max_groups: GPUs); work-groups of t->local items, as far as the
 * counts and the device's item sizes allow. Returns whether the range covers every item of
 * dimension 2 (each work-item then has one row). */
typedef struct ch_range {
    size_t global[3], local[3];
} ch_range;

static int range_for(const clrelu_context *ctx, const clrelu__tuning *t, const size_t count[3],
                     ch_range *g) {
    size_t max_items[3] = {1, 1, 1};
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof max_items, max_items, NULL);
    size_t left = t->local;
    for (int d = 0; d < 3; ++d) {
        const size_t c = count[d] ? count[d] : 1;
        g->local[d] = pick_local(c, left < max_items[d] ? left : max_items[d]);
        left /= g->local[d];
        g->global[d] = round_up(c, g->local[d]);
    }
    size_t other = g->global[0] / g->local[0] * (g->global[1] / g->local[1]);
    size_t cap = t->max_groups / other;
    if (cap < 1)
        cap = 1;
    if (g->global[2] / g->local[2] <= cap)
        return 1;
    g->global[2] = cap * g->local[2];
    return 0;
}

static clrelu_status enqueue(clrelu_context *ctx, const char *fn, cl_kernel k, const char *name,
                             const ch_range *g, cl_uint n_wait, const cl_event *wait,
                             cl_event *ev) {
    clrelu_status st = CLRELU_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn, name);
    CLRELU__CL_TRY(
        ctx, st, out, what,
        clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, g->global, g->local, n_wait, wait, ev));
out:
    return st;
}

/* Sets the kernel arguments in order: each (kind, pointer) pair is a cl_ulong ('u'), cl_mem
 * ('m'), or cl_uint ('i'); then the op's arguments (compute-domain ceilings). */
static clrelu_status set_args(clrelu_context *ctx, const char *fn, cl_kernel k,
                              const clrelu__op *op, const char *kinds, const void *const *values) {
    clrelu_status st = CLRELU_OK;
    cl_uint arg = 0;
    char what[96];
    snprintf(what, sizeof what, "%s: clSetKernelArg", fn);
    for (; kinds[arg]; ++arg) {
        size_t size = kinds[arg] == 'u'   ? sizeof(cl_ulong)
                      : kinds[arg] == 'm' ? sizeof(cl_mem)
                                          : sizeof(cl_uint);
        CLRELU__CL_TRY(ctx, st, out, what, clSetKernelArg(k, arg, size, values[arg]));
    }
    st = clrelu__set_op_args(ctx, fn, k, arg, op, 1);
out:
    return st;
}

/* A marker for a call with no elements (when the caller wants an event). */
static clrelu_status empty_call(clrelu_context *ctx, const char *fn, cl_uint n_wait,
                                const cl_event *wait, cl_event *done) {
    clrelu_status st = CLRELU_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: clEnqueueMarkerWithWaitList", fn);
    if (done)
        CLRELU__CL_TRY(ctx, st, out, what,
                       clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
out:
    return st;
}

/* Whether every vector the element kernels load starts on a VEC boundary: the offsets, the row
 * starts, and the device's base alignment allow plain vector pointers. */
static int aligned_rows(const clrelu_context *ctx, const clrelu__ch_call *call, const ch_grid *g,
                        unsigned vec, const clrelu__buf_arg *a, const int *given) {
    const clrelu__ch_shape *s = &call->shape;
    if (ctx->base_align_bits / 8 < vec * call->op.elsize)
        return 0;
    if (g->mode == CH_RUNS && (s->inner % vec || (s->outer > 1 && s->pitch % vec)))
        return 0;
    if (g->mode == CH_COLS && (s->chans % vec || (s->outer > 1 && s->pitch % vec)))
        return 0;
    for (int r = 0; r < CH_ARGS; ++r)
        if (given[r] && clrelu__ch_is_tensor(r) && a[r].off % vec)
            return 0;
    return 1;
}

/* Binds the arrays of roles (in that order) after the kernel's first arguments: each is a
 * buffer and its offset. Arrays the call leaves out are bound to its first input (never read). */
static void bind_roles(const clrelu__buf_arg *a, const int *given, const int *roles, int count,
                       cl_mem *mem, cl_ulong *off, const void **values, char *kinds) {
    for (int i = 0; i < count; ++i) {
        const int r = roles[i];
        mem[i] = given[r] && a[r].mem ? a[r].mem : a[CH_ARG_IN].mem;
        off[i] = u64(given[r] ? a[r].off : 0);
        values[2 * i] = &mem[i];
        values[2 * i + 1] = &off[i];
        kinds[2 * i] = 'm';
        kinds[2 * i + 1] = 'u';
    }
    kinds[2 * count] = '\0';
}

/* The whole cl_mem call: checks, then one element kernel, or (sums wanted) ch_bsum and
 * ch_total through the context's scratch. */
static clrelu_status run(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                         const clrelu_layout *layout, int backward, int prelu_only,
                         clrelu__buf_arg *a, cl_uint n_wait, const cl_event *wait, cl_event *done) {
    if (done)
        *done = NULL;
    int given[CH_ARGS];
    for (int r = 0; r < CH_ARGS; ++r)
        given[r] = a[r].mem != NULL;
    clrelu__ch_call call;
    clrelu_status st = clrelu__ch_check(ctx, fn, desc, layout, backward, prelu_only, given, &call);
    if (st != CLRELU_OK)
        return st;
    /* The rest of clrelu__check_call (a device, the dtype there, the wait list), with the
     * descriptor already checked. */
    clrelu_desc plain = *desc;
    plain.op = CLRELU_OP_RELU;
    clrelu__op unused;
    if ((st = clrelu__check_call(ctx, fn, &plain, backward ? CLRELU__PASS_BWD : CLRELU__PASS_FWD,
                                 &unused, n_wait, wait)) != CLRELU_OK)
        return st;
    if ((st = check_buffers(ctx, fn, &call, a, given)) != CLRELU_OK)
        return st;

    const clrelu__ch_shape s = clrelu__ch_effective_shape(&call.shape);
    cl_event *waits = NULL, ev_rows = NULL;
    pthread_mutex_lock(&ctx->lock);
    if (s.empty) {
        st = empty_call(ctx, fn, n_wait, wait, done);
        goto out;
    }
    /* The element-wise pass's setting for the dtype and the tensor's size class (clrelu-tune's
     * database, or an override): the channel kernels are the same streams with a small side
     * array. (Intel's CPU runtime, whose database gives backward 32-byte vectors in 256-item
     * groups: channels-last PReLU backward at 2^22 went from 78-82% of copy to 92%.) */
    const clrelu__tuning *t =
        &ctx->elt_tuning[backward ? CLRELU__PASS_BWD : CLRELU__PASS_FWD][call.op.dtype]
                        [clrelu__size_class(s.count * s.chans)]; /* (the span bounds it) */
    const unsigned vec = clrelu__vector_width(t, call.op.elsize);
    char options[256];
    clrelu__program_options(t, &call.op, vec, options, sizeof options);
    cl_uint flags = (call.has_bias ? CH_BIAS : 0u) | (call.has_z ? CH_Z : 0u) |
                    (call.from_y ? CH_FROM_Y : 0u) | (call.want_g ? CH_WANT_G : 0u) |
                    (call.want_p ? CH_WANT_P : 0u);
    cl_ulong outer = u64(s.outer), chans = u64(s.chans), inner = u64(s.inner), pitch = u64(s.pitch);
    cl_mem mem[CH_ARGS];
    cl_ulong off[CH_ARGS];
    const void *values[32];
    char kinds[32];
    if (!call.want_g && !call.want_p) {
        /* ch_fwd (x, bias, z, slopes, y) or ch_bwd (dy, src, bias, z, slopes, dx). */
        static const int fwd_roles[] = {CH_ARG_IN, CH_ARG_BIAS, CH_ARG_Z, CH_ARG_SLOPES,
                                        CH_ARG_OUT};
        static const int bwd_roles[] = {CH_ARG_IN, CH_ARG_SRC,    CH_ARG_BIAS,
                                        CH_ARG_Z,  CH_ARG_SLOPES, CH_ARG_OUT};
        ch_grid g = choose_grid(&s, vec);
        call.shape = s;
        const size_t count[3] = {g.nv, g.mode == CH_RUNS ? s.chans : 1, g.rows};
        ch_range range;
        const int once = range_for(ctx, t, count, &range);
        const int aligned = aligned_rows(ctx, &call, &g, vec, a, given);
        /* Every row whole aligned vectors and one row per work-item: the whole-vector kernel
         * (ch_fwd_w, ch_bwd_w), which decides nothing per work-item. aligned_rows holds
         * inner (RUNS) or the channels (COLS) to a multiple of VEC. */
        const int whole = once && aligned && g.mode != CH_MERGED;
        char name[16];
        snprintf(name, sizeof name, "ch_%s%s", backward ? "bwd" : "fwd",
                 whole  ? "_w"
                 : once ? (aligned ? "1_a" : "1_u")
                        : (aligned ? "_a" : "_u"));
        cl_kernel k = NULL;
        if ((st = clrelu__get_kernel(ctx, fn, options, name, &k)) != CLRELU_OK)
            goto out;
        cl_ulong rows = u64(g.rows), width = u64(g.width), total = u64(g.total);
        cl_uint mode = g.mode;
        const void *head[] = {&rows, &chans, &inner, &pitch, &width, &total, &mode, &flags};
        memcpy(values, head, sizeof head);
        strcpy(kinds, "uuuuuuii");
        bind_roles(a, given, backward ? bwd_roles : fwd_roles, backward ? 6 : 5, mem, off,
                   values + 8, kinds + 8);
        if ((st = set_args(ctx, fn, k, &call.op, kinds, values)) != CLRELU_OK)
            goto out;
        st = enqueue(ctx, fn, k, name, &range, n_wait, wait, done);
        goto out;
    }

    /* Sums: dx and the block sums, then the totals. */
    const size_t blocks = s.count / CLRELU__CH_BLOCK + (s.count % CLRELU__CH_BLOCK != 0);
    const size_t domain = call.op.dtype == CLRELU_DTYPE_F64 ? 8 : 4;
    if (blocks > SIZE_MAX / 2 / domain / s.chans) {
        st = clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW, "%s: the tensor is too large", fn);
        goto out;
    }
    const size_t per = blocks * s.chans; /* partial sums of one kind */
    cl_kernel k_rows = NULL, k_sum = NULL;
    cl_mem partial = NULL;
    if ((st = clrelu__get_kernel(ctx, fn, options, "ch_bsum", &k_rows)) != CLRELU_OK ||
        (st = clrelu__get_kernel(ctx, fn, options, "ch_total", &k_sum)) != CLRELU_OK ||
        (st = clrelu__pool_get(ctx, fn, 3, 2 * per * domain, &partial)) != CLRELU_OK)
        goto out;
    /* The scratch is the context's: wait for its last user (out-of-order queues). */
    waits = malloc((n_wait + 1) * sizeof *waits);
    if (!waits) {
        st = clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
        goto out;
    }
    cl_uint n_waits = n_wait;
    if (n_wait)
        memcpy(waits, wait, n_wait * sizeof *waits);
    if (ctx->scratch_event)
        waits[n_waits++] = ctx->scratch_event;
    static const int sum_roles[] = {CH_ARG_IN, CH_ARG_SRC,    CH_ARG_BIAS,
                                    CH_ARG_Z,  CH_ARG_SLOPES, CH_ARG_OUT};
    cl_ulong b64 = u64(blocks), g_off = 0, p_off = u64(per);
    const void *head[] = {&outer, &chans, &inner, &pitch, &b64, &flags};
    memcpy(values, head, sizeof head);
    strcpy(kinds, "uuuuui");
    bind_roles(a, given, sum_roles, 6, mem, off, values + 6, kinds + 6);
    values[18] = &partial;
    values[19] = &g_off;
    values[20] = &p_off;
    strcat(kinds, "muu");
    if ((st = set_args(ctx, fn, k_rows, &call.op, kinds, values)) != CLRELU_OK)
        goto out;
    const size_t count[3] = {s.chans, 1, blocks};
    ch_range range;
    range_for(ctx, t, count, &range);
    if ((st = enqueue(ctx, fn, k_rows, "ch_bsum", &range, n_waits, n_waits ? waits : NULL,
                      &ev_rows)) != CLRELU_OK)
        goto out;
    static const int total_roles[] = {CH_ARG_DBIAS, CH_ARG_DSLOPES};
    const void *total_head[] = {&chans, &b64, &flags, &partial, &g_off, &p_off};
    memcpy(values, total_head, sizeof total_head);
    strcpy(kinds, "uuimuu");
    bind_roles(a, given, total_roles, 2, mem, off, values + 6, kinds + 6);
    if ((st = set_args(ctx, fn, k_sum, &call.op, kinds, values)) != CLRELU_OK)
        goto out;
    st = clrelu__enqueue_scratch_sum(ctx, fn, k_sum, "ch_total", s.chans, ev_rows, done);
out:
    if (ev_rows)
        clReleaseEvent(ev_rows);
    free(waits);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

/* One argument as the caller named it (NULL where the call has none). */
#define ARG(role, m, o) [role] = {#m, #o, m, o, clrelu__ch_is_output(role), 0, NULL, 0, 0}

clrelu_status clrelu_residual_forward(clrelu_context *ctx, const clrelu_desc *desc,
                                      const clrelu_layout *layout, cl_mem x, size_t x_off,
                                      cl_mem bias, size_t bias_off, cl_mem z, size_t z_off,
                                      cl_mem slopes, size_t slopes_off, cl_mem y, size_t y_off,
                                      cl_uint n_wait, const cl_event *wait, cl_event *done) {
    clrelu__buf_arg a[CH_ARGS] = {ARG(CH_ARG_IN, x, x_off),
                                  ARG(CH_ARG_SRC, NULL, 0),
                                  ARG(CH_ARG_BIAS, bias, bias_off),
                                  ARG(CH_ARG_Z, z, z_off),
                                  ARG(CH_ARG_SLOPES, slopes, slopes_off),
                                  ARG(CH_ARG_OUT, y, y_off),
                                  ARG(CH_ARG_DBIAS, NULL, 0),
                                  ARG(CH_ARG_DSLOPES, NULL, 0)};
    return run(ctx, "clrelu_residual_forward", desc, layout, 0, 0, a, n_wait, wait, done);
}

clrelu_status clrelu_residual_backward(clrelu_context *ctx, const clrelu_desc *desc,
                                       const clrelu_layout *layout, cl_mem dy, size_t dy_off,
                                       cl_mem src, size_t src_off, cl_mem bias, size_t bias_off,
                                       cl_mem z, size_t z_off, cl_mem slopes, size_t slopes_off,
                                       cl_mem dx, size_t dx_off, cl_mem dbias, size_t dbias_off,
                                       cl_mem dslopes, size_t dslopes_off, cl_uint n_wait,
                                       const cl_event *wait, cl_event *done) {
    clrelu__buf_arg a[CH_ARGS] = {ARG(CH_ARG_IN, dy, dy_off),
                                  ARG(CH_ARG_SRC, src, src_off),
                                  ARG(CH_ARG_BIAS, bias, bias_off),
                                  ARG(CH_ARG_Z, z, z_off),
                                  ARG(CH_ARG_SLOPES, slopes, slopes_off),
                                  ARG(CH_ARG_OUT, dx, dx_off),
                                  ARG(CH_ARG_DBIAS, dbias, dbias_off),
                                  ARG(CH_ARG_DSLOPES, dslopes, dslopes_off)};
    return run(ctx, "clrelu_residual_backward", desc, layout, 1, 0, a, n_wait, wait, done);
}

clrelu_status clrelu_prelu_forward(clrelu_context *ctx, const clrelu_desc *desc,
                                   const clrelu_layout *layout, cl_mem x, size_t x_off,
                                   cl_mem slopes, size_t slopes_off, cl_mem y, size_t y_off,
                                   cl_uint n_wait, const cl_event *wait, cl_event *done) {
    clrelu__buf_arg a[CH_ARGS] = {ARG(CH_ARG_IN, x, x_off),
                                  ARG(CH_ARG_SRC, NULL, 0),
                                  ARG(CH_ARG_BIAS, NULL, 0),
                                  ARG(CH_ARG_Z, NULL, 0),
                                  ARG(CH_ARG_SLOPES, slopes, slopes_off),
                                  ARG(CH_ARG_OUT, y, y_off),
                                  ARG(CH_ARG_DBIAS, NULL, 0),
                                  ARG(CH_ARG_DSLOPES, NULL, 0)};
    return run(ctx, "clrelu_prelu_forward", desc, layout, 0, 1, a, n_wait, wait, done);
}

clrelu_status clrelu_prelu_backward(clrelu_context *ctx, const clrelu_desc *desc,
                                    const clrelu_layout *layout, cl_mem dy, size_t dy_off, cl_mem x,
                                    size_t x_off, cl_mem slopes, size_t slopes_off, cl_mem dx,
                                    size_t dx_off, cl_mem dslopes, size_t dslopes_off,
                                    cl_uint n_wait, const cl_event *wait, cl_event *done) {
    clrelu__buf_arg a[CH_ARGS] = {ARG(CH_ARG_IN, dy, dy_off),
                                  ARG(CH_ARG_SRC, x, x_off),
                                  ARG(CH_ARG_BIAS, NULL, 0),
                                  ARG(CH_ARG_Z, NULL, 0),
                                  ARG(CH_ARG_SLOPES, slopes, slopes_off),
                                  ARG(CH_ARG_OUT, dx, dx_off),
                                  ARG(CH_ARG_DBIAS, NULL, 0),
                                  ARG(CH_ARG_DSLOPES, dslopes, dslopes_off)};
    return run(ctx, "clrelu_prelu_backward", desc, layout, 1, 1, a, n_wait, wait, done);
}
