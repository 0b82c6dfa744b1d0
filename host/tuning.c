/* SPDX-License-Identifier: Apache-2.0 */
/* The element-wise passes' launch tuning per (pass, dtype, size class): the device's default
 * (context.c chooses it), or what the caller set with clrelu_context_override_tuning. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

static const char *const pass_names[] = {"forward", "forward_mask", "backward", "backward_mask"};
static const char *const dtype_names[] = {"f32", "f16", "bf16", "f64"};
static const char *const class_names[] = {"small", "medium", "large"};

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

/* The device's setting with vec_bytes, local and groups_per_cu for pass on dtype in *out; or
 * 0 with why ("vec_bytes = 8 is not ...", naming the field) filled. */
static int make_setting(const clrelu_context *ctx, int pass, int dtype, unsigned vec_bytes,
                        size_t local, unsigned groups_per_cu, clrelu__tuning *out, char *why,
                        size_t len) {
    if (vec_bytes != 16 && vec_bytes != 32 && vec_bytes != 64) {
        snprintf(why, len, "vec_bytes = %u is not 16, 32 or 64", vec_bytes);
        return 0;
    }
    if (local == 0 || local > ctx->max_local) {
        snprintf(why, len, "local = %zu is not from 1 to the device's largest work-group (%zu)",
                 local, ctx->max_local);
        return 0;
    }
    clrelu__tuning next = ctx->tuning; /* mask_words, batch_run: the device's */
    next.vec_bytes = vec_bytes;
    next.local = local;
    next.groups_per_cu = groups_per_cu;
    next.max_groups = clrelu__max_groups(ctx, groups_per_cu);
    /* The tiled mask kernel packs a tile of local vectors into whole 32-bit words. */
    const unsigned vec = clrelu__vector_width(&next, clrelu_dtype_size((clrelu_dtype)dtype));
    if (pass == CLRELU_PASS_FORWARD_MASK && !next.mask_words && local * vec % 32 != 0) {
        snprintf(why, len,
                 "local = %zu times %u elements a vector is not a multiple of 32, which the "
                 "forward-with-mask kernel's tile needs",
                 local, vec);
        return 0;
    }
    *out = next;
    return 1;
}

/* Sets the key, clearing its launch slots: their kernels were made with the old setting. Call
 * with ctx->lock held. */
static void set_key(clrelu_context *ctx, int pass, int dtype, int size_class,
                    const clrelu__tuning *t) {
    ctx->elt_tuning[pass][dtype][size_class] = *t;
    memset(&ctx->launch[CLRELU__KEY_SLOT(pass, dtype, size_class)], 0,
           CLRELU__SLOTS_PER_KEY * sizeof ctx->launch[0]);
}

clrelu_status clrelu_context_override_tuning(clrelu_context *ctx, clrelu_pass pass,
                                             clrelu_dtype dtype, clrelu_size_class size_class,
                                             const clrelu_tuning *t) {
    const char *fn = "clrelu_context_override_tuning";
    clrelu_status st = check_key(ctx, fn, pass, dtype, size_class);
    if (st != CLRELU_OK)
        return st;
    clrelu__tuning next = ctx->tuning;
    if (t) {
        if ((st = check_struct_size(ctx, fn, "t", t->struct_size)) != CLRELU_OK)
            return st;
        char why[160];
        if (!make_setting(ctx, pass, dtype, t->vec_bytes, t->local, t->groups_per_cu, &next, why,
                          sizeof why))
            return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: t->%s", fn, why);
    }
    pthread_mutex_lock(&ctx->lock);
    set_key(ctx, pass, dtype, size_class, &next);
    pthread_mutex_unlock(&ctx->lock);
    return CLRELU_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The database clrelu-tune writes
 * ------------------------------------------------------------------------------------------ */

/* The largest database read: 4 passes x 4 dtypes x 3 classes are 48 entries of ~200 bytes. */
#define DB_MAX_BYTES (1u << 20)

int clrelu__tuning_db_path(const clrelu_context *ctx, char *buf, size_t len) {
    const char *env = getenv("CLRELU_TUNING_DB");
    if (env && *env) {
        int w = snprintf(buf, len, "%s", env);
        return w > 0 && (size_t)w < len;
    }
    char dir[1024];
    if (!clrelu__cache_dir(dir, sizeof dir))
        return 0;
    uint64_t h = CLRELU__HASH64_SEED;
    const char *parts[] = {ctx->info.platform, ctx->info.device, ctx->info.driver};
    for (size_t i = 0; i < CLRELU__ARRAY_LEN(parts); ++i)
        h = clrelu__hash64(h, parts[i], strlen(parts[i]) + 1); /* (with the NUL: a separator) */
    int w = snprintf(buf, len, "%s/tuning-%016llx.json", dir, (unsigned long long)h);
    return w > 0 && (size_t)w < len;
}

clrelu_status clrelu_context_tuning_db_path(clrelu_context *ctx, char *buf, size_t len) {
    const char *fn = "clrelu_context_tuning_db_path";
    clrelu_status st = check_key(ctx, fn, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL);
    if (st != CLRELU_OK)
        return st;
    if (!buf || len == 0)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: buf is NULL or len is 0", fn);
    if (!clrelu__tuning_db_path(ctx, buf, len)) {
        buf[0] = 0;
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: no path: the cache is off (CLRELU_CACHE_DIR=off) or has no "
                            "directory, and CLRELU_TUNING_DB is unset; or it is longer than len = "
                            "%zu",
                            fn, len);
    }
    return CLRELU_OK;
}

/* The index of name in names[0..n), or -1. */
static int find_name(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; ++i)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* A member that must be a whole number in [0, max]: 1 and *out set, or 0. */
static int whole_member(const jv *obj, const char *key, double max, double *out) {
    const jv *m = jv_member(obj, key);
    if (!m || m->t != J_NUM || !(m->num >= 0) || m->num > max || floor(m->num) != m->num)
        return 0;
    *out = m->num;
    return 1;
}

/* Reads the database's entries into table (a copy of ctx's settings); 0 with why filled when
 * anything in it is wrong: then none of it is used. */
static int read_db(const clrelu_context *ctx, const jv *doc, clrelu__tuning (*table)[4][3],
                   size_t *host_min_bytes, char *why, size_t len) {
    if (!doc || doc->t != J_OBJ) {
        snprintf(why, len, "not a JSON object (corrupt or truncated)");
        return 0;
    }
    const struct {
        const char *key, *want;
    } facts[] = {{"clrelu_version", clrelu_version()},
                 {"platform", ctx->info.platform},
                 {"device", ctx->info.device},
                 {"driver", ctx->info.driver}};
    for (size_t i = 0; i < CLRELU__ARRAY_LEN(facts); ++i) {
        const jv *m = jv_member(doc, facts[i].key);
        if (!m || m->t != J_STR) {
            snprintf(why, len, "no \"%s\" string", facts[i].key);
            return 0;
        }
        if (strcmp(m->str, facts[i].want) != 0) {
            snprintf(why, len, "it is for %s '%.100s', this is '%.100s'", facts[i].key, m->str,
                     facts[i].want);
            return 0;
        }
    }
    /* Where a host round trip beats the CPU path: bytes moved, or null (never, or not
     * measured; so also when absent). */
    const jv *hp = jv_member(doc, "host_path_device_min_bytes");
    double min_bytes;
    if (hp && hp->t != J_NULL) {
        if (!whole_member(doc, "host_path_device_min_bytes", 9007199254740992.0, &min_bytes)) {
            snprintf(why, len,
                     "\"host_path_device_min_bytes\" is not a whole number of bytes or "
                     "null");
            return 0;
        }
        *host_min_bytes = min_bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)min_bytes;
    }
    const jv *entries = jv_member(doc, "entries");
    if (!entries || entries->t != J_ARR) {
        snprintf(why, len, "no \"entries\" array");
        return 0;
    }
    int i = 0;
    for (const jv *e = entries->kids; e; e = e->next, ++i) {
        const jv *p = jv_member(e, "pass"), *d = jv_member(e, "dtype"),
                 *c = jv_member(e, "size_class");
        int pass = p && p->t == J_STR ? find_name(p->str, pass_names, 4) : -1;
        int dtype = d && d->t == J_STR ? find_name(d->str, dtype_names, 4) : -1;
        int sc = c && c->t == J_STR ? find_name(c->str, class_names, 3) : -1;
        double vec, local, groups;
        if (e->t != J_OBJ || pass < 0 || dtype < 0 || sc < 0) {
            snprintf(why, len,
                     "entry %d: no pass (forward, forward_mask, backward, backward_mask), dtype "
                     "(f32, f16, bf16, f64) or size_class (small, medium, large) as a string",
                     i);
            return 0;
        }
        if (!whole_member(e, "vec_bytes", 64, &vec) || !whole_member(e, "local", 1e9, &local) ||
            !whole_member(e, "groups_per_cu", 1e9, &groups)) {
            snprintf(why, len, "entry %d: vec_bytes, local or groups_per_cu is not a whole number",
                     i);
            return 0;
        }
        char reason[160];
        if (!make_setting(ctx, pass, dtype, (unsigned)vec, (size_t)local, (unsigned)groups,
                          &table[pass][dtype][sc], reason, sizeof reason)) {
            snprintf(why, len, "entry %d (%s %s %s): %s", i, pass_names[pass], dtype_names[dtype],
                     class_names[sc], reason);
            return 0;
        }
    }
    return 1;
}

void clrelu__load_tuning_db(clrelu_context *ctx) {
    char path[1100], why[400] = "";
    if (!clrelu__tuning_db_path(ctx, path, sizeof path))
        return;
    const int named = getenv("CLRELU_TUNING_DB") && *getenv("CLRELU_TUNING_DB");
    FILE *f = fopen(path, "rb");
    if (!f) {
        /* The cache directory's file is there only once clrelu-tune wrote it. */
        if (named)
            fprintf(stderr, "clrelu: ignoring the tuning database %s: %s\n", path, strerror(errno));
        return;
    }
    char *text = malloc(DB_MAX_BYTES + 1);
    size_t got = text ? fread(text, 1, DB_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!text) {
        snprintf(why, sizeof why, "out of host memory");
    } else if (got > DB_MAX_BYTES) {
        snprintf(why, sizeof why, "larger than %u bytes", DB_MAX_BYTES);
    } else {
        text[got] = 0;
        jv *doc = jv_parse(text);
        clrelu__tuning(*table)[4][3] = malloc(sizeof ctx->elt_tuning);
        if (!table) {
            snprintf(why, sizeof why, "out of host memory");
        } else {
            memcpy(table, ctx->elt_tuning, sizeof ctx->elt_tuning);
            size_t host_min_bytes = SIZE_MAX;
            if (read_db(ctx, doc, table, &host_min_bytes, why, sizeof why)) {
                ctx->host_auto_min_bytes = host_min_bytes;
                pthread_mutex_lock(&ctx->lock);
                for (int p = 0; p < 4; ++p)
                    for (int d = 0; d < 4; ++d)
                        for (int c = 0; c < CLRELU__SIZE_CLASSES; ++c)
                            set_key(ctx, p, d, c, &table[p][d][c]);
                pthread_mutex_unlock(&ctx->lock);
            }
            free(table);
        }
        jv_free(doc);
    }
    free(text);
    if (why[0])
        fprintf(stderr, "clrelu: ignoring the tuning database %s: %s\n", path, why);
}
