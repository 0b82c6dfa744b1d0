/* SPDX-License-Identifier: Apache-2.0 */
/* Many tensors for the cost of few launches: every tensor is checked as a single call checks
 * its buffers, then the tensors are grouped in order so that each launch binds at most
 * BATCH_SLOTS distinct buffers per role, and each launch gets a small table (a buffer made
 * with CL_MEM_COPY_HOST_PTR, so no extra enqueue) that maps its chunks of work to tensors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BATCH_SLOTS  8 /* buffers per role bound to one launch (kernels/relu.cl's SLOT) */
#define BATCH_STRIDE 6 /* ulongs per tensor in the table (kernels/relu.cl) */

/* The roles of a batch: 0 = x or dy, 1 = y or dx (written), 2 = src (backward only). */
typedef struct roles {
    const clrelu_tensor *t[3];
    const char *name[3];
    int n_roles;
} roles;

/* One array of a batch in the overlap sweep: its bytes in its root buffer. */
typedef struct span {
    cl_mem root;
    size_t begin, end;
    size_t tensor;
    int role;
} span;

static int span_order(const void *pa, const void *pb) {
    const span *a = pa, *b = pb;
    if (a->root != b->root)
        return (uintptr_t)a->root < (uintptr_t)b->root ? -1 : 1;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->tensor != b->tensor)
        return a->tensor < b->tensor ? -1 : 1;
    return a->role - b->role;
}

/* Checks every tensor's buffers, and that no output overlaps any array of another tensor or,
 * except exactly (in place), of its own. Buffers are asked about once per run of tensors in
 * the same buffer, names are formatted only for a message, and overlaps are found by sorting
 * the arrays by their place in memory: a batch of thousands of tensors costs no more per
 * tensor than a batch of ten. */
static clrelu_status check_tensors(clrelu_context *ctx, const char *fn, const clrelu__op *op,
                                   size_t count, const roles *r, clrelu__buf_arg *args,
                                   span *spans) {
    clrelu__mem_info cache[3];
    memset(cache, 0, sizeof cache);
    size_t n_spans = 0;
    for (size_t i = 0; i < count; ++i) {
        for (int k = 0; k < r->n_roles; ++k) {
            if (r->t[k][i].n != r->t[0][i].n)
                return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                    "%s: %s[%zu].n = %zu but %s[%zu].n = %zu (one tensor's arrays "
                                    "have one size)",
                                    fn, r->name[k], i, r->t[k][i].n, r->name[0], i, r->t[0][i].n);
            clrelu__buf_arg *a = &args[i * 3 + (size_t)k];
            *a = (clrelu__buf_arg){
                r->name[k], r->name[k], r->t[k][i].mem, r->t[k][i].off, k == 1, 0, NULL, 0, 0};
            clrelu_status first =
                clrelu__check_buffer_with(ctx, fn, r->t[k][i].n, op->elsize, a, &cache[k]);
            if (first != CLRELU_OK) {
                /* Again with the tensor's index in the names, for the message. */
                char name[48], off_name[56];
                snprintf(name, sizeof name, "%s[%zu].mem", r->name[k], i);
                snprintf(off_name, sizeof off_name, "%s[%zu].off", r->name[k], i);
                a->name = name;
                a->off_name = off_name;
                clrelu_status st = clrelu__check_buffer(ctx, fn, r->t[k][i].n, op->elsize, a);
                return st != CLRELU_OK ? st : first; /* a driver's failure that passed */
            }
            if (r->t[k][i].n > 0)
                spans[n_spans++] = (span){a->root, a->begin, a->end, i, k};
        }
    }
    qsort(spans, n_spans, sizeof *spans, span_order);
    /* Sorted by (root, begin): an array overlaps an earlier one of its root exactly when it
     * begins before the furthest end among them. Arrays at the very same bytes are one group:
     * allowed only if they are all inputs, or one tensor's input and its own output. */
    const span *far_any = NULL, *far_out = NULL;
    for (size_t a = 0; a < n_spans;) {
        size_t b = a + 1;
        while (b < n_spans && spans[b].root == spans[a].root && spans[b].begin == spans[a].begin &&
               spans[b].end == spans[a].end)
            ++b;
        if (a > 0 && spans[a].root != spans[a - 1].root)
            far_any = far_out = NULL;
        const span *out = NULL, *other = NULL;
        for (size_t c = a; c < b && !other; ++c) {
            if (spans[c].role == 1 && !out)
                out = &spans[c];
            else if (spans[c].role == 1 || (out && spans[c].tensor != out->tensor))
                other = &spans[c];
        }
        if (out && !other) /* an input of another tensor before the output in the group */
            for (size_t c = a; c < b && !other; ++c)
                if (spans[c].tensor != out->tensor)
                    other = &spans[c];
        if (!other && far_out && spans[a].begin < far_out->end)
            out = far_out, other = &spans[a];
        if (!other && out && far_any && spans[a].begin < far_any->end)
            other = far_any;
        if (other) {
            const span *o = out, *q = other;
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s[%zu] (bytes [%zu, %zu)) overlaps %s[%zu] (bytes [%zu, "
                                "%zu)) in the same buffer; tensors of a batch run at once, "
                                "so only a tensor's own input may share its output's bytes",
                                fn, r->name[o->role], o->tensor, o->begin, o->end, r->name[q->role],
                                q->tensor, q->begin, q->end);
        }
        for (size_t c = a; c < b; ++c) {
            if (!far_any || spans[c].end > far_any->end)
                far_any = &spans[c];
            if (spans[c].role == 1 && (!far_out || spans[c].end > far_out->end))
                far_out = &spans[c];
        }
        a = b;
    }
    return CLRELU_OK;
}

/* The slot of mem among a launch's buffers of one role, adding it if there is room. */
static int slot_of(cl_mem *slots, int *used, cl_mem mem) {
    for (int s = 0; s < *used; ++s)
        if (slots[s] == mem)
            return s;
    if (*used == BATCH_SLOTS)
        return -1;
    slots[*used] = mem;
    return (*used)++;
}

typedef struct launch {
    cl_mem slots[3][BATCH_SLOTS];
    int used[3];
    cl_ulong *table;
    cl_uint count;
    cl_ulong chunks;
} launch;

/* Enqueues one launch of the batch kernel. */
static clrelu_status enqueue(clrelu_context *ctx, const char *fn, const clrelu__op *op,
                             unsigned vec, const roles *r, launch *l, cl_uint n_wait,
                             const cl_event *wait, cl_event *ev) {
    clrelu_status st = CLRELU_OK;
    char options[256];
    clrelu__program_options(&ctx->tuning, op, vec, options, sizeof options);
    cl_kernel k = NULL;
    st = clrelu__get_kernel(ctx, fn, options, r->n_roles == 2 ? "fwd_batch" : "bwd_batch", &k);
    if (st != CLRELU_OK)
        return st;
    cl_int err = CL_SUCCESS;
    cl_mem table =
        clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                       (size_t)l->count * BATCH_STRIDE * sizeof(cl_ulong), l->table, &err);
    char what_table[96];
    snprintf(what_table, sizeof what_table, "%s: clCreateBuffer(batch table)", fn);
    CLRELU__CL_TRY(ctx, st, out, what_table, err);
    cl_uint arg = 0;
    char what_arg[96];
    snprintf(what_arg, sizeof what_arg, "%s: clSetKernelArg", fn);
    CLRELU__CL_TRY(ctx, st, out, what_arg, clSetKernelArg(k, arg++, sizeof l->chunks, &l->chunks));
    CLRELU__CL_TRY(ctx, st, out, what_arg, clSetKernelArg(k, arg++, sizeof l->count, &l->count));
    CLRELU__CL_TRY(ctx, st, out, what_arg, clSetKernelArg(k, arg++, sizeof table, &table));
    /* The kernel's roles in argument order: x, y (forward); dy, src, dx (backward). */
    static const int fwd_order[] = {0, 1}, bwd_order[] = {0, 2, 1};
    const int *order = r->n_roles == 2 ? fwd_order : bwd_order;
    for (int o = 0; o < r->n_roles; ++o) {
        int role = order[o];
        for (int s = 0; s < BATCH_SLOTS; ++s) {
            /* Unused slots repeat the first buffer: any valid cl_mem will do. */
            cl_mem m = s < l->used[role] ? l->slots[role][s] : l->slots[role][0];
            CLRELU__CL_TRY(ctx, st, out, what_arg, clSetKernelArg(k, arg++, sizeof m, &m));
        }
    }
    if ((st = clrelu__set_op_args(ctx, fn, k, arg, op, 0)) != CLRELU_OK)
        goto out;
    const size_t run = ctx->tuning.batch_run;
    size_t global =
        clrelu__global_size(&ctx->tuning, (size_t)(l->chunks / run + (l->chunks % run != 0)));
    char what[96];
    snprintf(what, sizeof what, "%s: clEnqueueNDRangeKernel(%s)", fn,
             r->n_roles == 2 ? "fwd_batch" : "bwd_batch");
    CLRELU__CL_TRY(ctx, st, out, what,
                   clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &ctx->tuning.local,
                                          n_wait, wait, ev));
out:
    if (table)
        clReleaseMemObject(table); /* the launch keeps it alive until it has run */
    return st;
}

static clrelu_status run_batch(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                               int pass, size_t count, const roles *r, cl_uint n_wait,
                               const cl_event *wait, cl_event *done) {
    if (done)
        *done = NULL;
    clrelu__op op;
    clrelu_status st = clrelu__check_call(ctx, fn, desc, pass, &op, n_wait, wait);
    if (st != CLRELU_OK)
        return st;
    if (op.pass == CLRELU__PASS_BWD_MASK)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: desc->grad_from = CLRELU_GRAD_FROM_MASK is not supported in a "
                            "batch (use x or y, or clrelu_backward per tensor)",
                            fn);
    for (int k = 0; k < r->n_roles; ++k)
        if (count > 0 && !r->t[k])
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                                r->name[k]);
    if (count > SIZE_MAX / (3 * sizeof(clrelu__buf_arg)) || count > 0xffffffffu / 2)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW, "%s: count = %zu is too large", fn,
                            count);
    clrelu__buf_arg *args = calloc(count ? count * 3 : 1, sizeof *args);
    span *spans = calloc(count ? count * 3 : 1, sizeof *spans);
    cl_ulong *table = calloc(count ? count * BATCH_STRIDE : 1, sizeof *table);
    cl_event *events = calloc(count ? count : 1, sizeof *events);
    if (!args || !spans || !table || !events) {
        free(args);
        free(spans);
        free(table);
        free(events);
        return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    }
    st = check_tensors(ctx, fn, &op, count, r, args, spans);
    free(spans);
    const unsigned vec = clrelu__vector_width(&ctx->tuning, op.elsize);
    cl_uint n_events = 0;
    pthread_mutex_lock(&ctx->lock);
    launch l;
    memset(&l, 0, sizeof l);
    l.table = table;
    for (size_t i = 0; st == CLRELU_OK && i <= count; ++i) {
        int slot[3] = {0, 0, 0}, fits = i < count;
        if (i < count && r->t[0][i].n == 0)
            continue;
        /* Would tensor i fit this launch's slots? Try on a copy. */
        launch trial = l;
        for (int k = 0; fits && k < r->n_roles; ++k)
            fits = (slot[k] = slot_of(trial.slots[k], &trial.used[k], r->t[k][i].mem)) >= 0;
        if (!fits && l.count > 0) {
            st = enqueue(ctx, fn, &op, vec, r, &l, n_wait, wait, &events[n_events]);
            if (st != CLRELU_OK)
                break;
            n_events++;
            memset(&l, 0, sizeof l);
            l.table = table; /* the table's contents were copied into the launch's buffer */
            if (i < count)
                --i; /* retry tensor i in a fresh launch */
            continue;
        }
        if (i == count)
            break;
        l = trial;
        const size_t n = r->t[0][i].n;
        cl_ulong *e = &l.table[(size_t)l.count * BATCH_STRIDE];
        e[0] = l.chunks;
        e[1] = n;
        e[2] = r->t[0][i].off;
        e[3] = r->t[1][i].off;
        e[4] = r->n_roles == 3 ? r->t[2][i].off : 0;
        e[5] = (cl_ulong)slot[0] | (cl_ulong)slot[1] << 8 | (cl_ulong)slot[2] << 16;
        l.count++;
        l.chunks += n / vec + (n % vec != 0);
    }
    /* The caller's event: the one launch, or a marker after all of them (or after the wait list
     * when nothing needed a launch). */
    if (st == CLRELU_OK && done) {
        if (n_events == 1) {
            *done = events[0];
            events[0] = NULL;
        } else {
            CLRELU__CL_TRY(ctx, st, out, "clrelu batch: clEnqueueMarkerWithWaitList",
                           n_events
                               ? clEnqueueMarkerWithWaitList(ctx->queue, n_events, events, done)
                               : clEnqueueMarkerWithWaitList(ctx->queue, n_wait, wait, done));
        }
    }
out:
    for (cl_uint i = 0; i < n_events; ++i)
        if (events[i])
            clReleaseEvent(events[i]);
    pthread_mutex_unlock(&ctx->lock);
    free(args);
    free(table);
    free(events);
    return st;
}

clrelu_status clrelu_forward_batch(clrelu_context *ctx, const clrelu_desc *desc, size_t count,
                                   const clrelu_tensor *x, const clrelu_tensor *y, cl_uint n_wait,
                                   const cl_event *wait, cl_event *done) {
    roles r = {{x, y, NULL}, {"x", "y", NULL}, 2};
    return run_batch(ctx, "clrelu_forward_batch", desc, CLRELU__PASS_FWD, count, &r, n_wait, wait,
                     done);
}

clrelu_status clrelu_backward_batch(clrelu_context *ctx, const clrelu_desc *desc, size_t count,
                                    const clrelu_tensor *dy, const clrelu_tensor *src,
                                    const clrelu_tensor *dx, cl_uint n_wait, const cl_event *wait,
                                    cl_event *done) {
    roles r = {{dy, dx, src}, {"dy", "dx", "src"}, 3};
    return run_batch(ctx, "clrelu_backward_batch", desc, CLRELU__PASS_BWD, count, &r, n_wait, wait,
                     done);
}
