/* SPDX-License-Identifier: Apache-2.0 */
/* Device buffers clrelu owns: the pool behind host-array round trips, so that a call does not
 * create and release buffers each time. Buffers grow to the largest chunk asked for and are
 * released with the context. */
#include <stdio.h>

#include "internal.h"

clrelu_status clrelu__pool_get(clrelu_context *ctx, const char *fn, int slot, size_t bytes,
                               cl_mem *out) {
    clrelu__pool *pool = &ctx->pool;
    if (pool->mem[slot] && pool->bytes[slot] >= bytes) {
        *out = pool->mem[slot];
        return CLRELU_OK;
    }
    if (pool->mem[slot]) {
        clReleaseMemObject(pool->mem[slot]);
        pool->mem[slot] = NULL;
        pool->bytes[slot] = 0;
    }
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "%s: clCreateBuffer(%zu bytes) for a host-array round trip", fn,
                 bytes);
        return clrelu__cl_fail(ctx, err, what);
    }
    pool->mem[slot] = m;
    pool->bytes[slot] = bytes;
    *out = m;
    return CLRELU_OK;
}

void clrelu__pool_release(clrelu_context *ctx) {
    for (int i = 0; i < CLRELU__POOL_SLOTS; ++i) {
        if (ctx->pool.mem[i])
            clReleaseMemObject(ctx->pool.mem[i]);
        ctx->pool.mem[i] = NULL;
        ctx->pool.bytes[i] = 0;
    }
}
