/* SPDX-License-Identifier: Apache-2.0 */
/* Hooks that tests compile into themselves (not part of the library): they reach into a
 * context that the shared library created, through the same struct definition. */
#include "internal.h"

void clrelu__set_thread_min_bytes_for_testing(clrelu_context *ctx, size_t bytes) {
    ctx->thread_min_bytes = bytes;
}

unsigned long clrelu__threaded_calls_for_testing(clrelu_context *ctx) {
    return atomic_load(&ctx->threaded_calls);
}

unsigned long clrelu__round_trips_for_testing(clrelu_context *ctx) {
    return atomic_load(&ctx->round_trips);
}

unsigned long clrelu__exact_entries_for_testing(clrelu_context *ctx) {
    return atomic_load(&ctx->exact_entries);
}

void clrelu__set_stream_min_bytes_for_testing(clrelu_context *ctx, size_t bytes) {
    ctx->stream_min_bytes = bytes;
}

size_t clrelu__programs_for_testing(clrelu_context *ctx) {
    size_t n = 0;
    pthread_mutex_lock(&ctx->lock);
    for (const clrelu__program *p = ctx->programs; p; p = p->next)
        n++;
    pthread_mutex_unlock(&ctx->lock);
    return n;
}
