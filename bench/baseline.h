/* SPDX-License-Identifier: Apache-2.0 */
/* A saved clrelu-bench JSON run, read back for --compare: the file read safely (a directory,
 * an unreadable, empty, truncated or corrupt file is an error with a reason, never a crash),
 * then checked to have the fields --compare uses. */
#ifndef CLRELU_BENCH_BASELINE_H
#define CLRELU_BENCH_BASELINE_H

#include <stddef.h>

#include "json.h"

/* The whole file at path, NUL-terminated, in *len bytes (a NUL inside is refused), or NULL
 * with the reason in why (the OS's for open and read errors). At most max bytes. */
char *bench_read_file(const char *path, size_t max, size_t *len, char *why, size_t why_len);

typedef struct bench_base_device {
    const char *id, *platform, *name, *driver; /* pointers into the parsed document */
} bench_base_device;

typedef struct bench_base_result {
    const char *device, *op, *dtype;
    double n, gbps, kernel_s_min, kernel_s_median; /* gbps etc. NaN when null */
    const char *tuning; /* "tuned", "default", or NULL (none chosen, or a run before it existed) */
} bench_base_result;

typedef struct bench_baseline {
    jv *root;
    int schema_version; /* 1 for files written before the field existed */
    const char *data;   /* the run's --data ("special" for files from before it existed) */
    bench_base_device *devices;
    int n_devices;
    bench_base_result *results;
    int n_results;
} bench_baseline;

/* The run saved at path, or NULL with the reason in why. Free with bench_baseline_free. */
bench_baseline *bench_baseline_load(const char *path, char *why, size_t why_len);
/* The same from text already in memory (what the loader does after reading). */
bench_baseline *bench_baseline_parse(const char *text, char *why, size_t why_len);
void bench_baseline_free(bench_baseline *b);

#endif
