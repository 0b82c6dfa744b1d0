/* Host-array entry points: the CPU SIMD path, or a round trip through the context's device
 * (write, run, read) using the context's pooled buffers, in chunks when the array is larger
 * than one pooled buffer may be. */
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

/* The most one pooled buffer holds: large enough that per-chunk costs vanish, small enough
 * not to pin much device memory. */
#define ROUND_TRIP_CHUNK_BYTES ((size_t)64 << 20)

typedef struct host_arg {
    const char *name;
    const void *ptr;
} host_arg;

static int ranges_partly_overlap(const void *a, const void *b, size_t bytes) {
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return pa != pb && pa < pb + bytes && pb < pa + bytes;
}

/* Checks shared by both host calls; args[count - 1] is the output. */
static clrelu_status check_host(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                size_t n, const host_arg *args, int count) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    clrelu_status st = clrelu__check_desc(ctx, fn, desc);
    if (st != CLRELU_OK || n == 0)
        return st;
    size_t elsize = clrelu_dtype_size(desc->dtype);
    if (n > SIZE_MAX / elsize)
        return clrelu__fail(ctx, CLRELU_ERROR_SIZE_OVERFLOW,
                            "%s: n * %zu bytes overflows size_t (n = %zu)", fn, elsize, n);
    for (int i = 0; i < count; ++i)
        if (!args[i].ptr)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                                args[i].name);
    const host_arg *out = &args[count - 1];
    for (int i = 0; i < count - 1; ++i)
        if (ranges_partly_overlap(out->ptr, args[i].ptr, n * elsize))
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: %s (%p) partly overlaps %s (%p) for n = %zu (only the same "
                                "pointer, in place, may share elements)",
                                fn, out->name, out->ptr, args[i].name, args[i].ptr, n);
    return CLRELU_OK;
}

/* Waits for the events this call enqueued (the host arrays must not be touched by the
 * device after we return), then releases them. */
static void settle(cl_event *events, int count) {
    for (int i = 0; i < count; ++i) {
        if (events[i]) {
            clWaitForEvents(1, &events[i]);
            clReleaseEvent(events[i]);
            events[i] = NULL;
        }
    }
}

/* ins[0..n_in-1] are copied into pooled buffers; the kernel writes its result over the first
 * of them (in place), which is read back into out. */
static clrelu_status round_trip(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                clrelu__pass pass, size_t n, const void *const *ins, int n_in,
                                void *out) {
    size_t elsize = clrelu_dtype_size(desc->dtype);
    size_t cap = ROUND_TRIP_CHUNK_BYTES;
    if (ctx->info.max_alloc && ctx->info.max_alloc < cap)
        cap = (size_t)ctx->info.max_alloc;
    size_t chunk = cap / elsize;
    if (chunk > n)
        chunk = n;
    clrelu_status st = CLRELU_OK;
    cl_mem mems[3];
    size_t offs[3] = {0, 0, 0};
    cl_event ev[4] = {NULL, NULL, NULL, NULL};

    char write_what[64], read_what[64];
    snprintf(write_what, sizeof write_what, "%s: clEnqueueWriteBuffer", fn);
    snprintf(read_what, sizeof read_what, "%s: clEnqueueReadBuffer", fn);

    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < n_in && st == CLRELU_OK; ++i)
        st = clrelu__pool_get(ctx, fn, i, chunk * elsize, &mems[i]);
    mems[n_in] = mems[0];
    for (size_t done = 0; st == CLRELU_OK && done < n; done += chunk) {
        size_t m = n - done < chunk ? n - done : chunk;
        for (int i = 0; i < n_in; ++i)
            CLRELU__CL_TRY(ctx, st, fail, write_what,
                           clEnqueueWriteBuffer(ctx->queue, mems[i], CL_FALSE, 0, m * elsize,
                                                (const char *)ins[i] + done * elsize, 0, NULL,
                                                &ev[i]));
        st = clrelu__launch_locked(ctx, fn, desc, pass, m, n_in + 1, mems, offs, (cl_uint)n_in, ev,
                                   &ev[3]);
        if (st != CLRELU_OK)
            goto fail;
        CLRELU__CL_TRY(ctx, st, fail, read_what,
                       clEnqueueReadBuffer(ctx->queue, mems[0], CL_TRUE, 0, m * elsize,
                                           (char *)out + done * elsize, 1, &ev[3], NULL));
        settle(ev, 4);
    }
fail:
    settle(ev, 4);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

clrelu_status clrelu_forward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                  const void *x, void *y) {
    static const char fn[] = "clrelu_forward_host";
    const host_arg args[] = {{"x", x}, {"y", y}};
    clrelu_status st = check_host(ctx, fn, desc, n, args, 2);
    if (st != CLRELU_OK || n == 0)
        return st;
    if (ctx->host_path == CLRELU_HOST_PATH_DEVICE) {
        const void *ins[] = {x};
        return round_trip(ctx, fn, desc, CLRELU__FORWARD, n, ins, 1, y);
    }
    ctx->cpu->relu_fwd_f32(n, x, y);
    return CLRELU_OK;
}

clrelu_status clrelu_backward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                   const void *dy, const void *x, void *dx) {
    static const char fn[] = "clrelu_backward_host";
    const host_arg args[] = {{"dy", dy}, {"x", x}, {"dx", dx}};
    clrelu_status st = check_host(ctx, fn, desc, n, args, 3);
    if (st != CLRELU_OK || n == 0)
        return st;
    if (ctx->host_path == CLRELU_HOST_PATH_DEVICE) {
        const void *ins[] = {dy, x};
        return round_trip(ctx, fn, desc, CLRELU__BACKWARD, n, ins, 2, dx);
    }
    ctx->cpu->relu_bwd_f32(n, dy, x, dx);
    return CLRELU_OK;
}
