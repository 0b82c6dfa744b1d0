/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a saved clrelu-bench JSON run back for --compare (see baseline.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline.h"

char *bench_read_file(const char *path, size_t max, size_t *len, char *why, size_t why_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "%s", strerror(errno));
        return NULL;
    }
    /* fopen succeeds on a directory; reading it fails with EISDIR, said plainly here. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        snprintf(why, why_len, "%s", strerror(EISDIR));
        return NULL;
    }
    /* Read in growing chunks rather than trusting a size from ftell: pipes and /proc files
     * have none, and a file may change while it is read. cap stops at max + 1, so that a file
     * larger than max is seen as such. */
    size_t cap = 0, used = 0;
    char *text = NULL;
    for (;;) {
        if (used == cap) {
            if (cap > max)
                break;
            size_t want = cap ? cap * 2 : 65536;
            if (want > max + 1)
                want = max + 1;
            char *bigger = realloc(text, want + 1);
            if (!bigger) {
                snprintf(why, why_len, "out of memory reading it");
                free(text);
                fclose(f);
                return NULL;
            }
            text = bigger;
            cap = want;
        }
        size_t got = fread(text + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    if (used > max) {
        snprintf(why, why_len, "larger than %zu bytes", max);
        free(text);
        fclose(f);
        return NULL;
    }
    if (ferror(f)) {
        snprintf(why, why_len, "%s", strerror(errno ? errno : EIO));
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[used] = '\0';
    if (strlen(text) != used) {
        snprintf(why, why_len, "not a text file (a NUL byte at offset %zu)", strlen(text));
        free(text);
        return NULL;
    }
    *len = used;
    return text;
}

void bench_baseline_free(bench_baseline *b) {
    if (!b)
        return;
    jv_free(b->root);
    free(b->devices);
    free(b->results);
    free(b);
}

static int count_kids(const jv *v) {
    int n = 0;
    for (const jv *k = v->kids; k; k = k->next)
        n++;
    return n;
}

/* The string member key of obj, or NULL when it is missing or not a string. */
static const char *member_str(const jv *obj, const char *key) {
    const jv *v = jv_member(obj, key);
    return v && v->t == J_STR ? v->str : NULL;
}

/* A number, or NaN for null; -1 (with *bad set) for anything else or a missing member. */
static double member_num(const jv *obj, const char *key, int *bad) {
    const jv *v = jv_member(obj, key);
    if (v && v->t == J_NUM)
        return v->num;
    if (v && v->t == J_NULL)
        return NAN;
    *bad = 1;
    return -1;
}

static bench_baseline *fail(bench_baseline *b, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bench_baseline *fail(bench_baseline *b, char *why, size_t why_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    bench_baseline_free(b);
    return NULL;
}

bench_baseline *bench_baseline_parse(const char *text, char *why, size_t why_len) {
    bench_baseline *b = calloc(1, sizeof *b);
    if (!b)
        return fail(b, why, why_len, "out of memory");
    b->root = jv_parse(text);
    if (!b->root)
        return fail(b, why, why_len, "not JSON (empty, truncated or corrupt)");
    if (b->root->t != J_OBJ)
        return fail(b, why, why_len, "not a clrelu-bench JSON file (not an object)");
    const jv *schema = jv_member(b->root, "schema_version");
    b->schema_version = schema && schema->t == J_NUM ? (int)schema->num : 1;
    /* Runs from before --data existed used the special mix. */
    b->data = member_str(b->root, "data");
    if (!b->data)
        b->data = "special";
    const jv *devices = jv_member(b->root, "devices");
    const jv *results = jv_member(b->root, "results");
    if (!devices || devices->t != J_ARR || !results || results->t != J_ARR)
        return fail(b, why, why_len,
                    "not a clrelu-bench JSON file (no \"devices\" and \"results\" arrays)");
    int nd = count_kids(devices), nr = count_kids(results);
    b->devices = calloc((size_t)nd + 1, sizeof *b->devices);
    b->results = calloc((size_t)nr + 1, sizeof *b->results);
    if (!b->devices || !b->results)
        return fail(b, why, why_len, "out of memory");
    int i = 0;
    for (const jv *d = devices->kids; d; d = d->next, ++i) {
        bench_base_device *bd = &b->devices[i];
        bd->id = member_str(d, "id");
        bd->platform = member_str(d, "platform");
        bd->name = member_str(d, "name");
        bd->driver = member_str(d, "driver");
        if (!bd->id || !bd->platform || !bd->name || !bd->driver)
            return fail(b, why, why_len,
                        "device %d lacks one of the strings \"id\", \"platform\", \"name\", "
                        "\"driver\"",
                        i);
    }
    b->n_devices = nd;
    i = 0;
    for (const jv *r = results->kids; r; r = r->next, ++i) {
        bench_base_result *br = &b->results[i];
        int bad = 0;
        br->device = member_str(r, "device");
        br->op = member_str(r, "op");
        br->dtype = member_str(r, "dtype");
        br->n = member_num(r, "n", &bad);
        br->gbps = member_num(r, "gbps", &bad);
        br->kernel_s_min = member_num(r, "kernel_s_min", &bad);
        br->kernel_s_median = member_num(r, "kernel_s_median", &bad);
        br->tuning = member_str(r, "tuning");
        if (!br->device || !br->op || !br->dtype || bad || !(br->n >= 0))
            return fail(b, why, why_len,
                        "result %d lacks one of \"device\", \"op\", \"dtype\", \"n\", \"gbps\", "
                        "\"kernel_s_min\", \"kernel_s_median\"",
                        i);
    }
    b->n_results = nr;
    return b;
}

bench_baseline *bench_baseline_load(const char *path, char *why, size_t why_len) {
    size_t len;
    /* A whole run with every op, dtype and size is a few MiB; 256 MiB is no baseline. */
    char *text = bench_read_file(path, (size_t)256 << 20, &len, why, why_len);
    if (!text)
        return NULL;
    bench_baseline *b = bench_baseline_parse(text, why, why_len);
    free(text);
    return b;
}
