/* SPDX-License-Identifier: Apache-2.0 */
/* The element-wise passes' launch tuning per (pass, dtype, size class): the device's default
 * (context.c chooses it), or what the caller set with clrelu_context_override_tuning. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

int clrelu__size_class(size_t n) {
    return n < CLRELU_SIZE_MEDIUM_MIN  ? CLRELU_SIZE_SMALL
           : n < CLRELU_SIZE_LARGE_MIN ? CLRELU_SIZE_MEDIUM
                                       : CLRELU_SIZE_LARGE;
}

size_t clrelu__max_groups(const clrelu_context *ctx, unsigned groups_per_cu) {
    if (groups_per_cu == 0)
        return SIZE_MAX;
    size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    return groups_per_cu > SIZE_MAX / cu ? SIZE_MAX : cu * groups_per_cu;
}

void clrelu__reset_elt_tuning(clrelu_context *ctx) {
    for (int p = 0; p < 4; ++p)
        for (int d = 0; d < 4; ++d)
            for (int c = 0; c < CLRELU__SIZE_CLASSES; ++c)
                ctx->elt_tuning[p][d][c] = ctx->tuning;
    memset(ctx->launch, 0, sizeof ctx->launch);
}

/* The checks both calls share: ctx, the key, a device. */
static clrelu_status check_key(clrelu_context *ctx, const char *fn, clrelu_pass pass,
                               clrelu_dtype dtype, clrelu_size_class size_class) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    if ((unsigned)pass > CLRELU_PASS_BACKWARD_MASK)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: pass = %d is not a clrelu_pass (0 to 3)", fn, (int)pass);
    if ((unsigned)dtype > CLRELU_DTYPE_F64)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: dtype = %d is not a clrelu_dtype (0 to 3)", fn, (int)dtype);
    if ((unsigned)size_class > CLRELU_SIZE_LARGE)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: size_class = %d is not a clrelu_size_class (0 to 2)", fn,
                            (int)size_class);
    if (!ctx->has_device)
        return clrelu__fail(ctx, CLRELU_ERROR_NO_DEVICE,
                            "%s: the context runs on the CPU path only: there is no kernel "
                            "launch to tune",
                            fn);
    return CLRELU_OK;
}

static clrelu_status check_struct_size(clrelu_context *ctx, const char *fn, const char *name,
                                       size_t struct_size) {
    if (struct_size != sizeof(clrelu_tuning))
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: %s->struct_size = %zu is not the size of a clrelu_tuning this "
                            "library (%s) knows (%zu)",
                            fn, name, struct_size, clrelu_version(), sizeof(clrelu_tuning));
    return CLRELU_OK;
}

clrelu_status clrelu_context_get_tuning(clrelu_context *ctx, clrelu_pass pass, clrelu_dtype dtype,
                                        clrelu_size_class size_class, clrelu_tuning *out) {
    const char *fn = "clrelu_context_get_tuning";
    clrelu_status st = check_key(ctx, fn, pass, dtype, size_class);
    if (st != CLRELU_OK)
        return st;
    if (!out)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if ((st = check_struct_size(ctx, fn, "out", out->struct_size)) != CLRELU_OK)
        return st;
    pthread_mutex_lock(&ctx->lock);
    const clrelu__tuning *t = &ctx->elt_tuning[pass][dtype][size_class];
    out->vec_bytes = t->vec_bytes;
    out->local = t->local;
    out->groups_per_cu = t->groups_per_cu;
    pthread_mutex_unlock(&ctx->lock);
    return CLRELU_OK;
}

clrelu_status clrelu_context_override_tuning(clrelu_context *ctx, clrelu_pass pass,
                                             clrelu_dtype dtype, clrelu_size_class size_class,
                                             const clrelu_tuning *t) {
    const char *fn = "clrelu_context_override_tuning";
    clrelu_status st = check_key(ctx, fn, pass, dtype, size_class);
    if (st != CLRELU_OK)
        return st;
    clrelu__tuning next = ctx->tuning; /* mask_words, batch_run: the device's */
    if (t) {
        if ((st = check_struct_size(ctx, fn, "t", t->struct_size)) != CLRELU_OK)
            return st;
        if (t->vec_bytes != 16 && t->vec_bytes != 32 && t->vec_bytes != 64)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: t->vec_bytes = %u is not 16, 32 or 64", fn, t->vec_bytes);
        if (t->local == 0 || t->local > ctx->max_local)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: t->local = %zu is not from 1 to the device's largest "
                                "work-group (%zu)",
                                fn, t->local, ctx->max_local);
        next.vec_bytes = t->vec_bytes;
        next.local = t->local;
        next.groups_per_cu = t->groups_per_cu;
        next.max_groups = clrelu__max_groups(ctx, t->groups_per_cu);
        /* The tiled mask kernel packs a tile of local vectors into whole 32-bit words. */
        const unsigned vec = clrelu__vector_width(&next, clrelu_dtype_size(dtype));
        if (pass == CLRELU_PASS_FORWARD_MASK && !next.mask_words && next.local * vec % 32 != 0)
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                                "%s: t->local = %zu times %u elements a vector is not a multiple "
                                "of 32, which the forward-with-mask kernel's tile needs",
                                fn, t->local, vec);
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->elt_tuning[pass][dtype][size_class] = next;
    /* The key's kernels were made with the old setting: the next call finds them again. */
    memset(&ctx->launch[CLRELU__KEY_SLOT(pass, dtype, size_class)], 0,
           CLRELU__SLOTS_PER_KEY * sizeof ctx->launch[0]);
    pthread_mutex_unlock(&ctx->lock);
    return CLRELU_OK;
}
