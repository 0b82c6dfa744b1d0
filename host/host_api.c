/* SPDX-License-Identifier: Apache-2.0 */
/* Host-array entry points: the CPU SIMD path, or a round trip through the context's device
 * (write, run, read) using the context's pooled buffers, in chunks when the arrays are larger
 * than one pooled buffer may be. */
#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "relu_math.h"

/* The most one pooled buffer holds: large enough that per-chunk costs vanish, small enough
 * not to pin much device memory. Tests shrink it to exercise the chunking. */
static size_t round_trip_chunk_bytes = (size_t)64 << 20;

void clrelu__set_round_trip_chunk_for_testing(size_t bytes) {
    round_trip_chunk_bytes = bytes;
}

typedef struct host_arg {
    const char *name;
    const void *ptr;
    int output;
    int is_mask;
    size_t bytes; /* filled by check_host */
} host_arg;

static int ranges_partly_overlap(const host_arg *a, const host_arg *b) {
    uintptr_t pa = (uintptr_t)a->ptr, pb = (uintptr_t)b->ptr;
    if (pa == pb && a->bytes == b->bytes && a->is_mask == b->is_mask)
        return 0; /* in place */
    return pa < pb + b->bytes && pb < pa + a->bytes;
}

/* Checks shared by the host calls: the descriptor, NULLs, sizes, and that no output partly
 * overlaps another array. */
static clrelu_status check_host(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                int pass, clrelu__op *op, size_t n, host_arg *args, int count) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu_status st = clrelu__check_desc(ctx, fn, desc, pass, op);
    if (st != CLRELU_OK || n == 0)
        return st;
    if (op->pass == CLRELU__PASS_BWD_MASK)
        args[1].is_mask = 1;
    if (n > SIZE_MAX / op->elsize)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: n * %zu bytes overflows size_t (n = %zu)", fn, op->elsize, n);
    for (int i = 0; i < count; ++i) {
        if (!args[i].ptr)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                                args[i].name);
        /* Elements (and mask words) are read as what they are: C wants them aligned. */
        size_t align = args[i].is_mask ? 4 : op->elsize;
        if ((uintptr_t)args[i].ptr % align != 0)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (%p) is not aligned to its %zu-byte %s", fn, args[i].name,
                                args[i].ptr, align, args[i].is_mask ? "mask words" : "elements");
        args[i].bytes = args[i].is_mask ? clrelu_mask_words(n) * 4 : n * op->elsize;
    }
    for (int i = 0; i < count; ++i) {
        if (!args[i].output)
            continue;
        for (int j = 0; j < count; ++j)
            if (j != i && ranges_partly_overlap(&args[i], &args[j]))
                return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                    "%s: %s (%p) partly overlaps %s (%p) for n = %zu (only the "
                                    "same array, in place, may be shared)",
                                    fn, args[i].name, args[i].ptr, args[j].name, args[j].ptr, n);
    }
    return CLRELU_OK;
}

/* Waits for the events this call enqueued (the host arrays must not be touched by the
 * device after we return) and releases them. Returns the first failure: a wait that fails, or a
 * command that ended in error; the caller must not report success then, since its output may
 * not have arrived. */
static cl_int settle(cl_event *events, int count) {
    cl_int first = CL_SUCCESS;
    for (int i = 0; i < count; ++i) {
        if (!events[i])
            continue;
        cl_int err = clWaitForEvents(1, &events[i]);
        cl_int status = CL_COMPLETE;
        if (err == CL_SUCCESS)
            err = clGetEventInfo(events[i], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                                 &status, NULL);
        if (err == CL_SUCCESS && status < 0)
            err = status; /* the command itself failed */
        if (first == CL_SUCCESS)
            first = err;
        clReleaseEvent(events[i]);
        events[i] = NULL;
    }
    return first;
}

/* The device path for host arrays. Inputs are written to pooled buffers; the output is computed
 * in place over the first input, or, when blending reads the old output, into its own buffer
 * written first. A mask output (forward) gets a buffer of its own. */
static clrelu_status round_trip(clrelu_context *ctx, const char *fn, const clrelu__op *op, size_t n,
                                const void *in0, const void *in1, void *out, uint32_t *mask_out) {
    clrelu_status st = clrelu__check_device_dtype(ctx, fn, op);
    if (st != CLRELU_OK)
        return st;
    const size_t es = op->elsize;
    const int fwd = op->pass == CLRELU__PASS_FWD || op->pass == CLRELU__PASS_FWD_MASK;
    const int in1_is_mask = op->pass == CLRELU__PASS_BWD_MASK;
    const int n_in = fwd ? 1 : 2;
    const int blend = op->blend == CR_BLEND;
    size_t cap = round_trip_chunk_bytes;
    if (ctx->info.max_alloc && ctx->info.max_alloc < cap)
        cap = (size_t)ctx->info.max_alloc;
    size_t chunk = cap / es / 32 * 32; /* whole mask words per chunk */
    if (chunk < 32)
        chunk = 32;
    if (chunk > n)
        chunk = n;
    const size_t chunk_words = clrelu_mask_words(chunk);

    /* Slots: 0 = in0, 1 = in1 (or the forward's mask), 2 = out when blending. */
    const int out_slot = blend ? 2 : 0;
    const int mask_slot = op->pass == CLRELU__PASS_FWD_MASK ? 1 : -1;
    cl_mem slot[3] = {NULL, NULL, NULL};
    cl_event ev[6] = {NULL, NULL, NULL, NULL, NULL, NULL};

    char write_what[64], read_what[64];
    snprintf(write_what, sizeof write_what, "%s: clEnqueueWriteBuffer", fn);
    snprintf(read_what, sizeof read_what, "%s: clEnqueueReadBuffer", fn);
    pthread_mutex_lock(&ctx->lock);
    st = clrelu__pool_get(ctx, fn, 0, chunk * es, &slot[0]);
    if (st == CLRELU_OK && (n_in == 2 || mask_slot == 1))
        st = clrelu__pool_get(
            ctx, fn, 1, in1_is_mask || mask_slot == 1 ? chunk_words * 4 : chunk * es, &slot[1]);
    if (st == CLRELU_OK && blend)
        st = clrelu__pool_get(ctx, fn, 2, chunk * es, &slot[2]);
    for (size_t done = 0; st == CLRELU_OK && done < n; done += chunk) {
        const size_t m = n - done < chunk ? n - done : chunk;
        const size_t words = clrelu_mask_words(m);
        cl_uint n_ev = 0;
        CLRELU__CL_TRY(ctx, st, fail, write_what,
                       clEnqueueWriteBuffer(ctx->queue, slot[0], CL_FALSE, 0, m * es,
                                            (const char *)in0 + done * es, 0, NULL, &ev[n_ev++]));
        if (n_in == 2) {
            const void *src = in1_is_mask ? (const void *)((const uint32_t *)in1 + done / 32)
                                          : (const void *)((const char *)in1 + done * es);
            CLRELU__CL_TRY(ctx, st, fail, write_what,
                           clEnqueueWriteBuffer(ctx->queue, slot[1], CL_FALSE, 0,
                                                in1_is_mask ? words * 4 : m * es, src, 0, NULL,
                                                &ev[n_ev++]));
        }
        if (blend)
            CLRELU__CL_TRY(ctx, st, fail, write_what,
                           clEnqueueWriteBuffer(ctx->queue, slot[2], CL_FALSE, 0, m * es,
                                                (const char *)out + done * es, 0, NULL,
                                                &ev[n_ev++]));
        cl_mem mems[3];
        size_t offs[3] = {0, 0, 0};
        int n_bufs = 0;
        mems[n_bufs++] = slot[0];
        if (n_in == 2)
            mems[n_bufs++] = slot[1];
        mems[n_bufs++] = slot[out_slot];
        if (mask_slot == 1)
            mems[n_bufs++] = slot[1];
        st = clrelu__launch_locked(ctx, fn, op, m, n_bufs, mems, offs, n_ev, ev, &ev[3]);
        if (st != CLRELU_OK)
            goto fail;
        /* Blocking reads: whatever fails after them (a wait, a driver that stops answering),
         * nothing writes into the caller's arrays after this call has returned. A non-blocking
         * read whose wait then failed would land later, in memory the caller may have freed
         * (Intel's runtime showed it under fault injection; PoCL's reads happen to finish
         * first). */
        CLRELU__CL_TRY(ctx, st, fail, read_what,
                       clEnqueueReadBuffer(ctx->queue, slot[out_slot], CL_TRUE, 0, m * es,
                                           (char *)out + done * es, 1, &ev[3], &ev[4]));
        if (mask_slot == 1)
            CLRELU__CL_TRY(ctx, st, fail, read_what,
                           clEnqueueReadBuffer(ctx->queue, slot[1], CL_TRUE, 0, words * 4,
                                               mask_out + done / 32, 1, &ev[3], &ev[5]));
        char what[96];
        snprintf(what, sizeof what, "%s: waiting for the round trip", fn);
        CLRELU__CL_TRY(ctx, st, fail, what, settle(ev, 6));
    }
fail:
    /* After a failure: still wait for what was enqueued before returning (the result is
     * already an error). */
    (void)settle(ev, 6);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

/* Parts per thread: a thread the OS runs late takes fewer parts, not the call's whole tail. */
#define PARTS_PER_THREAD 4
/* One host call split over threads: each part runs the kernel on its own range. */
typedef struct host_job {
    clrelu__cpu_fn fn;
    size_t n, es;
    const char *in0, *in1;
    char *out;
    uint32_t *mask;
    int in1_is_mask;
    const clrelu__params *params;
} host_job;

static void run_part(void *arg, unsigned part, unsigned parts) {
    const host_job *j = arg;
    size_t b, e;
    clrelu__cpu_split(j->n, part, parts, &b, &e);
    if (b == e)
        return;
    const void *in1 = !j->in1 ? NULL
                      : j->in1_is_mask
                          ? (const void *)((const uint32_t *)(const void *)j->in1 + b / 32)
                          : (const void *)(j->in1 + b * j->es);
    /* The floating-point environment is per thread: every part sets its own. */
    clrelu__fpenv env;
    clrelu__fpenv_enter(&env);
    j->fn(e - b, j->in0 + b * j->es, in1, j->out + b * j->es, j->mask ? j->mask + b / 32 : NULL,
          j->params);
    clrelu__fpenv_leave(&env);
}

/* Bytes a call moves through every array (masks left out: 1/32 of an element). */
static size_t bytes_moved(const clrelu__op *op, size_t n) {
    const size_t arrays = op->pass == CLRELU__PASS_BWD ? 3 : 2;
    const size_t bytes = n * op->elsize; /* checked not to overflow */
    return bytes <= SIZE_MAX / arrays ? bytes * arrays : SIZE_MAX;
}

/* Threads for a call that moves bytes: one below the threshold, else one per half threshold's
 * worth (two at the threshold), at most the context's count. */
static unsigned threads_for(const clrelu_context *ctx, size_t bytes) {
    if (ctx->cpu_threads <= 1)
        return 1;
    const size_t half = ctx->thread_min_bytes / 2;
    const size_t t = bytes / (half ? half : 1);
    return t < 2 ? 1 : t < ctx->cpu_threads ? (unsigned)t : ctx->cpu_threads;
}

static clrelu_status run_host(clrelu_context *ctx, const char *fn, clrelu__op *op, size_t n,
                              const void *in0, const void *in1, void *out, uint32_t *mask) {
    const size_t bytes = bytes_moved(op, n);
    if (ctx->host_path == CLRELU_HOST_PATH_DEVICE ||
        (ctx->host_path == CLRELU_HOST_PATH_AUTO && ctx->has_device &&
         bytes >= ctx->host_auto_min_bytes)) {
        if (n == 0)
            return CLRELU_OK;
        atomic_fetch_add_explicit(&ctx->round_trips, 1, memory_order_relaxed);
        return round_trip(ctx, fn, op, n, in0, in1, out, mask);
    }
    clrelu_status st = clrelu__check_cpu_path(ctx, fn);
    if (st != CLRELU_OK || n == 0)
        return st;
    clrelu__cpu_fn kernel = ctx->cpu->fn[op->pass][op->op][op->dtype][op->blend];
    op->params.stream = bytes >= ctx->stream_min_bytes;
    op->params.exact_entries = &ctx->exact_entries;
    const unsigned threads = threads_for(ctx, bytes);
    if (threads == 1) {
        clrelu__fpenv env;
        clrelu__fpenv_enter(&env);
        kernel(n, in0, in1, out, mask, &op->params);
        clrelu__fpenv_leave(&env);
        return CLRELU_OK;
    }
    host_job job = {
        kernel, n, op->elsize, in0, in1, out, mask, op->pass == CLRELU__PASS_BWD_MASK, &op->params};
    atomic_fetch_add_explicit(&ctx->threaded_calls, 1, memory_order_relaxed);
    clrelu__cpu_parallel(threads, threads * PARTS_PER_THREAD, run_part, &job);
    return CLRELU_OK;
}

clrelu_status clrelu_forward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                  const void *x, void *y) {
    static const char fn[] = "clrelu_forward_host";
    host_arg args[] = {{"x", x, 0, 0, 0}, {"y", y, 1, 0, 0}};
    clrelu__op op;
    clrelu_status st = check_host(ctx, fn, desc, CLRELU__PASS_FWD, &op, n, args, 2);
    return st != CLRELU_OK ? st : run_host(ctx, fn, &op, n, x, NULL, y, NULL);
}

clrelu_status clrelu_forward_mask_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                       const void *x, void *y, uint32_t *mask) {
    static const char fn[] = "clrelu_forward_mask_host";
    host_arg args[] = {{"x", x, 0, 0, 0}, {"y", y, 1, 0, 0}, {"mask", mask, 1, 1, 0}};
    clrelu__op op;
    clrelu_status st = check_host(ctx, fn, desc, CLRELU__PASS_FWD_MASK, &op, n, args, 3);
    return st != CLRELU_OK ? st : run_host(ctx, fn, &op, n, x, NULL, y, mask);
}

clrelu_status clrelu_backward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                   const void *dy, const void *src, void *dx) {
    static const char fn[] = "clrelu_backward_host";
    host_arg args[] = {{"dy", dy, 0, 0, 0}, {"src", src, 0, 0, 0}, {"dx", dx, 1, 0, 0}};
    clrelu__op op;
    clrelu_status st = check_host(ctx, fn, desc, CLRELU__PASS_BWD, &op, n, args, 3);
    return st != CLRELU_OK ? st : run_host(ctx, fn, &op, n, dy, src, dx, NULL);
}
