/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-tune: on one OpenCL device, times every launch setting of the search space for each
 * element-wise pass, dtype and size class through clrelu_context_override_tuning, and writes
 * the fastest of each as a JSON database beside a table of tuned against default times, with
 * the host-array size from which a round trip through the device beats the CPU path. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "clrelu/clrelu.h"

/* The search space (tests/test_tuning.c checks every setting of it against the reference). */
static const unsigned space_vec[] = {16, 32, 64};
static const size_t space_local[] = {16, 64, 256};
static const unsigned space_groups[] = {0, 1, 8};

static const char *const pass_names[] = {"forward", "forward_mask", "backward", "backward_mask"};
static const char *const class_names[] = {"small", "medium", "large"};
static const struct {
    const char *name;
    clrelu_dtype dtype;
} dtype_names[] = {{"f32", CLRELU_DTYPE_F32},
                   {"f16", CLRELU_DTYPE_F16},
                   {"bf16", CLRELU_DTYPE_BF16},
                   {"f64", CLRELU_DTYPE_F64}};

#define N_DTYPES       4
#define MIN_GAIN       0.05 /* what a setting must win by over the default to be written */
#define CONFIRM_ROUNDS 5    /* the winner against the default, alternately, before it is kept */
#define ARRAY_LEN(a)   (sizeof(a) / sizeof((a)[0]))

typedef struct entry {
    int pass, dtype_index, size_class;
    clrelu_tuning best;
    double seconds, default_seconds;               /* a batch's time per call */
    double kernel_seconds, default_kernel_seconds; /* one call's, by its event */
} entry;

typedef struct tuner {
    clrelu_context *ctx; /* wraps context and queue, which profiles */
    clrelu_context_info info;
    cl_context context;
    cl_command_queue queue;
    cl_mem in0, in1, out, mask;
    int samples; /* batches timed per setting; the median counts */
} tuner;

/* One call of pass on n elements of the tuner's buffers; its event in *ev where ev is not NULL. */
static clrelu_status call_ev(tuner *t, int pass, clrelu_dtype dtype, size_t n, cl_event *ev) {
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, dtype);
    switch (pass) {
    case CLRELU_PASS_FORWARD:
        return clrelu_forward(t->ctx, &d, n, t->in0, 0, t->out, 0, 0, NULL, ev);
    case CLRELU_PASS_FORWARD_MASK:
        return clrelu_forward_mask(t->ctx, &d, n, t->in0, 0, t->out, 0, t->mask, 0, 0, NULL, ev);
    case CLRELU_PASS_BACKWARD:
        return clrelu_backward(t->ctx, &d, n, t->in0, 0, t->in1, 0, t->out, 0, 0, NULL, ev);
    default:
        d.grad_from = CLRELU_GRAD_FROM_MASK;
        return clrelu_backward(t->ctx, &d, n, t->in0, 0, t->mask, 0, t->out, 0, 0, NULL, ev);
    }
}

static clrelu_status call(tuner *t, int pass, clrelu_dtype dtype, size_t n) {
    return call_ev(t, pass, dtype, n, NULL);
}

/* The same call as bench_timed_call and bench_batch take it. */
typedef struct pass_call {
    tuner *t;
    int pass;
    clrelu_dtype dtype;
    size_t n;
} pass_call;

static cl_int enqueue_pass(void *arg, cl_event *ev) {
    pass_call *c = arg;
    return call_ev(c->t, c->pass, c->dtype, c->n, ev) == CLRELU_OK ? CL_SUCCESS
                                                                   : CL_INVALID_OPERATION;
}

/* Seconds per call under the key's current setting: the median over samples of batches of
 * back-to-back calls (enough of them that a batch outlasts the clock's and the wait's cost),
 * timed from the first enqueue to clFinish. -1 when a call fails. */
static double time_setting(tuner *t, int pass, clrelu_dtype dtype, size_t n) {
    if (call(t, pass, dtype, n) != CLRELU_OK || clFinish(t->queue) != CL_SUCCESS)
        return -1; /* (the first call builds the program: not timed) */
    int batch = n >= ((size_t)1 << 20) ? 4 : n >= ((size_t)1 << 16) ? 32 : 128;
    double s[32];
    int samples = t->samples < (int)ARRAY_LEN(s) ? t->samples : (int)ARRAY_LEN(s);
    for (int i = 0; i < samples; ++i) {
        double t0 = bench_now();
        for (int b = 0; b < batch; ++b)
            if (call(t, pass, dtype, n) != CLRELU_OK)
                return -1;
        if (clFinish(t->queue) != CL_SUCCESS)
            return -1;
        s[i] = (bench_now() - t0) / batch;
    }
    return bench_median(s, samples);
}

/* The key's current setting as clrelu-bench measures a configuration (bench_opencl.c's
 * measure(), with the same shared routines): the median of BENCH_SINGLES calls each waited for,
 * by its event (*kernel), and a batch of BENCH_BATCH back-to-back calls (*per_call, seconds per
 * call). -1 when a call fails. */
#define BENCH_SINGLES 9
#define BENCH_BATCH   100 /* clrelu-bench's default --batch */
static int time_as_bench(tuner *t, int pass, clrelu_dtype dtype, size_t n, double *kernel,
                         double *per_call) {
    pass_call c = {t, pass, dtype, n};
    double k[BENCH_SINGLES], wall;
    if (enqueue_pass(&c, NULL) != CL_SUCCESS || clFinish(t->queue) != CL_SUCCESS)
        return -1;
    for (int i = 0; i < BENCH_SINGLES; ++i)
        if (bench_timed_call(enqueue_pass, &c, &k[i], &wall) != CL_SUCCESS)
            return -1;
    *kernel = bench_median(k, BENCH_SINGLES);
    return bench_batch(t->queue, enqueue_pass, &c, BENCH_BATCH, per_call) == CL_SUCCESS ? 0 : -1;
}

/* Times the default, then every setting of the space, for one key; fills *e with the best. */
static int tune_key(tuner *t, int pass, int dt, int size_class, size_t n, size_t max_local,
                    entry *e) {
    const clrelu_dtype dtype = dtype_names[dt].dtype;
    e->pass = pass;
    e->dtype_index = dt;
    e->size_class = size_class;
    e->best.struct_size = sizeof e->best;
    /* The device's default, not a database's the context may have loaded. */
    if (clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, NULL) != CLRELU_OK ||
        clrelu_context_get_tuning(t->ctx, pass, dtype, size_class, &e->best) != CLRELU_OK)
        return -1;
    e->default_seconds = e->seconds = time_setting(t, pass, dtype, n);
    if (e->seconds < 0)
        return -1;
    for (size_t v = 0; v < ARRAY_LEN(space_vec); ++v)
        for (size_t l = 0; l < ARRAY_LEN(space_local); ++l)
            for (size_t g = 0; g < ARRAY_LEN(space_groups); ++g) {
                if (space_local[l] > max_local)
                    continue;
                clrelu_tuning s = {sizeof s, space_vec[v], space_local[l], space_groups[g]};
                if (clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, &s) !=
                    CLRELU_OK)
                    continue; /* not a setting this key can run (the mask tile) */
                double sec = time_setting(t, pass, dtype, n);
                if (sec >= 0 && sec < e->seconds) {
                    e->seconds = sec;
                    e->best = s;
                }
            }
    /* The best of 27 timings is flattered by chance (one quiet moment wins): the winner and the
     * default are timed again, alternately, as clrelu-bench measures them (one call's kernel
     * time, and a batch's time per call), and the winner replaces the default only when it
     * wins every round by both measures (with no real difference, each happens 1 time in 32)
     * and both medians by MIN_GAIN. A database is used until it is rewritten: a chance win
     * would cost every later call. (Confirmed by the search's own timing, batches of 4 at 2^20
     * and up, PoCL kept settings that won every round by 6-16% and lost 7-17% in clrelu-bench's
     * batches a minute later.) */
    clrelu_tuning def = {sizeof def, 0, 0, 0};
    clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, NULL);
    clrelu_context_get_tuning(t->ctx, pass, dtype, size_class, &def);
    double best_b[CONFIRM_ROUNDS], def_b[CONFIRM_ROUNDS];
    double best_k[CONFIRM_ROUNDS], def_k[CONFIRM_ROUNDS];
    const int same = def.vec_bytes == e->best.vec_bytes && def.local == e->best.local &&
                     def.groups_per_cu == e->best.groups_per_cu;
    int wins = 0;
    for (int r = 0; r < CONFIRM_ROUNDS && !same; ++r) {
        clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, NULL);
        if (time_as_bench(t, pass, dtype, n, &def_k[r], &def_b[r]) != 0)
            return -1;
        clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, &e->best);
        if (time_as_bench(t, pass, dtype, n, &best_k[r], &best_b[r]) != 0)
            return -1;
        wins += best_k[r] < def_k[r] && best_b[r] < def_b[r];
    }
    clrelu_context_override_tuning(t->ctx, pass, dtype, size_class, NULL);
    if (same) {
        e->seconds = e->default_seconds;
        e->kernel_seconds = e->default_kernel_seconds = 0;
        return 0;
    }
    e->default_seconds = bench_median(def_b, CONFIRM_ROUNDS);
    e->seconds = bench_median(best_b, CONFIRM_ROUNDS);
    e->default_kernel_seconds = bench_median(def_k, CONFIRM_ROUNDS);
    e->kernel_seconds = bench_median(best_k, CONFIRM_ROUNDS);
    if (wins < CONFIRM_ROUNDS || e->seconds > e->default_seconds * (1.0 - MIN_GAIN) ||
        e->kernel_seconds > e->default_kernel_seconds * (1.0 - MIN_GAIN)) {
        e->seconds = e->default_seconds;
        e->kernel_seconds = e->default_kernel_seconds = 0; /* (nothing confirmed) */
        e->best = def;
    }
    return 0;
}

/* Host arrays: f32 relu forward through the device (write, run, read) against the CPU path, at
 * sizes 4x apart. Fills *min_bytes with the bytes moved (input and output) at the smallest
 * size from which the device wins at every larger one, or SIZE_MAX when it never wins; prints
 * the times. 0, or -1 when a call fails. */
static int host_path_threshold(tuner *t, int quick, size_t *min_bytes) {
    const size_t largest = (size_t)1 << (quick ? 22 : 24);
    clrelu_context *cpu = NULL;
    float *x = malloc(largest * sizeof *x), *y = malloc(largest * sizeof *y);
    int rc = x && y && clrelu_context_create(&cpu, "cpu") == CLRELU_OK ? 0 : -1;
    if (rc == 0 && clrelu_context_set_host_path(t->ctx, CLRELU_HOST_PATH_DEVICE) != CLRELU_OK)
        rc = -1;
    const clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    *min_bytes = SIZE_MAX;
    if (rc == 0) {
        for (size_t i = 0; i < largest; ++i)
            x[i] = (float)((int)(i * 2654435761u % 2001u) - 1000);
        printf("\nHost arrays, f32 relu forward: a round trip through the device against the CPU "
               "path (ms, medians)\n%10s %10s %10s\n",
               "n", "device", "cpu");
    }
    for (size_t n = (size_t)1 << 12; rc == 0 && n <= largest; n *= 4) {
        double dev[16], host[16];
        int samples = t->samples < 16 ? t->samples : 16;
        for (int i = 0; i < samples && rc == 0; ++i) {
            double t0 = bench_now();
            rc |= clrelu_forward_host(t->ctx, &d, n, x, y) == CLRELU_OK ? 0 : -1;
            double t1 = bench_now();
            rc |= clrelu_forward_host(cpu, &d, n, x, y) == CLRELU_OK ? 0 : -1;
            dev[i] = t1 - t0;
            host[i] = bench_now() - t1;
        }
        if (rc != 0)
            break;
        double a = bench_median(dev, samples), b = bench_median(host, samples);
        printf("%10zu %10.3f %10.3f\n", n, a * 1e3, b * 1e3);
        if (a >= b)
            *min_bytes = SIZE_MAX;
        else if (*min_bytes == SIZE_MAX)
            *min_bytes = n * 2 * sizeof(float);
    }
    if (rc != 0)
        fprintf(stderr, "clrelu-tune: host round trip: %s\n",
                cpu ? clrelu_context_error(t->ctx) : "cannot make the CPU path's context");
    clrelu_context_set_host_path(t->ctx, CLRELU_HOST_PATH_CPU);
    clrelu_context_release(cpu);
    free(x);
    free(y);
    return rc;
}

static int write_json(const char *path, const tuner *t, const entry *es, int n,
                      size_t host_min_bytes) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fputs("{\n  \"clrelu_version\": ", f);
    bench_json_string(f, clrelu_version());
    fputs(",\n  \"platform\": ", f);
    bench_json_string(f, t->info.platform);
    fputs(",\n  \"device\": ", f);
    bench_json_string(f, t->info.device);
    fputs(",\n  \"driver\": ", f);
    bench_json_string(f, t->info.driver);
    fputs(",\n  \"host_path_device_min_bytes\": ", f);
    if (host_min_bytes == SIZE_MAX)
        fputs("null", f);
    else
        fprintf(f, "%zu", host_min_bytes);
    fputs(",\n  \"entries\": [", f);
    for (int i = 0; i < n; ++i) {
        const entry *e = &es[i];
        fprintf(f,
                "%s\n    {\"pass\": \"%s\", \"dtype\": \"%s\", \"size_class\": \"%s\", "
                "\"vec_bytes\": %u, \"local\": %zu, \"groups_per_cu\": %u, \"seconds\": %.6g, "
                "\"default_seconds\": %.6g}",
                i ? "," : "", pass_names[e->pass], dtype_names[e->dtype_index].name,
                class_names[e->size_class], e->best.vec_bytes, e->best.local, e->best.groups_per_cu,
                e->seconds, e->default_seconds);
    }
    fputs("\n  ]\n}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Makes the directory path is in, and those above it (the cache's may not exist yet). */
static void make_parent(const char *path) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; ++p)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
}

static void usage(FILE *f) {
    fputs("usage: clrelu-tune [--device SPEC] [--dtype f32,f16,...] [--quick] [--samples N]\n"
          "                   [--output PATH]\n"
          "Times every launch setting (vec_bytes 16,32,64 x local 16,64,256 x groups_per_cu\n"
          "0,1,8) of each element-wise pass, dtype (default f32,f16) and size class (n = 2^14,\n"
          "2^20, 2^24; --quick: 2^12, 2^17, 2^22) on one OpenCL device (as clrelu-bench's\n"
          "--device takes it; default: CLRELU_DEVICE, else the first GPU), prints tuned against\n"
          "default times, and writes the fastest settings as JSON to PATH (default: where\n"
          "contexts on this device load them from, clrelu_context_tuning_db_path). It also\n"
          "measures host arrays (f32 relu forward, n = 2^12 to 2^24 by 4x; --quick: to 2^22)\n"
          "through the device against the CPU path, and writes the bytes a call must move for\n"
          "the device to win, which CLRELU_HOST_PATH_AUTO uses (null: the CPU path always).\n",
          f);
}

/* Parses "f32,f16" into dtype indices; returns the count, or -1 naming a bad one. */
static int parse_dtypes(const char *list, int *out) {
    int n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < N_DTYPES; ++i)
            if (strcmp(tok, dtype_names[i].name) == 0)
                found = i;
        if (found < 0 || n == N_DTYPES) {
            fprintf(stderr, "clrelu-tune: --dtype: '%s' is not one of f32, f16, bf16, f64\n", tok);
            return -1;
        }
        out[n++] = found;
    }
    return n;
}

int main(int argc, char **argv) {
    const char *spec = NULL, *output = NULL, *dtypes = "f32,f16";
    int quick = 0, samples = 5;
    static const struct option longs[] = {{"device", required_argument, NULL, 'd'},
                                          {"dtype", required_argument, NULL, 't'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"samples", required_argument, NULL, 's'},
                                          {"quick", no_argument, NULL, 'q'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "d:t:o:s:qh", longs, NULL)) != -1;) {
        switch (c) {
        case 'd':
            spec = optarg;
            break;
        case 't':
            dtypes = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 's':
            samples = atoi(optarg);
            break;
        case 'q':
            quick = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int dts[N_DTYPES];
    int n_dts = parse_dtypes(dtypes, dts);
    if (n_dts <= 0 || samples < 1 || optind != argc) {
        if (n_dts == 0 || samples < 1 || optind != argc)
            usage(stderr);
        return 2;
    }
    tuner t = {0};
    t.samples = samples;
    clrelu_context *probe = NULL;
    if (clrelu_context_create(&probe, spec) != CLRELU_OK) {
        fprintf(stderr, "clrelu-tune: %s\n", clrelu_last_error());
        return 1;
    }
    clrelu_context_get_info(probe, &t.info, sizeof t.info);
    if (t.info.kind == CLRELU_DEVICE_KIND_SIMD) {
        fprintf(stderr, "clrelu-tune: '%s' is the CPU path: there are no kernel launches to tune\n",
                spec ? spec : "(default)");
        clrelu_context_release(probe);
        return 1;
    }
    /* The device in a context of the tuner's own, whose queue profiles (as clrelu-bench's). */
    cl_int qerr = bench_profiling_queue(t.info.device_id, &t.context, &t.queue);
    clrelu_context_release(probe);
    if (qerr != CL_SUCCESS) {
        fprintf(stderr, "clrelu-tune: cannot create a profiling queue: OpenCL error %d\n",
                (int)qerr);
        return 1;
    }
    if (clrelu_context_wrap(&t.ctx, t.context, t.queue) != CLRELU_OK) {
        fprintf(stderr, "clrelu-tune: %s\n", clrelu_last_error());
        clReleaseCommandQueue(t.queue);
        clReleaseContext(t.context);
        return 1;
    }
    clrelu_context_get_info(t.ctx, &t.info, sizeof t.info);
    size_t max_local = 256, items[16] = {0};
    clGetDeviceInfo(t.info.device_id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_local, &max_local,
                    NULL);
    if (clGetDeviceInfo(t.info.device_id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items,
                        NULL) == CL_SUCCESS &&
        items[0] && items[0] < max_local)
        max_local = items[0];

    const size_t sizes[3] = {(size_t)1 << (quick ? 12 : 14), (size_t)1 << (quick ? 17 : 20),
                             (size_t)1 << (quick ? 22 : 24)};
    const size_t most = sizes[2] * 8; /* f64's bytes */
    cl_int err = CL_SUCCESS;
    cl_mem *bufs[] = {&t.in0, &t.in1, &t.out, &t.mask};
    for (size_t i = 0; i < ARRAY_LEN(bufs) && err == CL_SUCCESS; ++i)
        *bufs[i] = clCreateBuffer(t.info.context, CL_MEM_READ_WRITE, i == 3 ? most / 32 + 64 : most,
                                  NULL, &err);
    /* Inputs of zeros: ReLU's time does not depend on the values. */
    for (size_t i = 0; i < ARRAY_LEN(bufs) && err == CL_SUCCESS; ++i) {
        const cl_uint zero = 0;
        err = clEnqueueFillBuffer(t.queue, *bufs[i], &zero, sizeof zero, 0,
                                  i == 3 ? most / 32 + 64 : most, 0, NULL, NULL);
    }
    int rc = 0;
    entry es[4 * N_DTYPES * 3];
    int n_es = 0;
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clrelu-tune: device buffers of %zu bytes: OpenCL error %d\n", most, err);
        rc = 1;
    }
    fprintf(stderr, "clrelu-tune: %s on %s (driver %s)\n", t.info.device, t.info.platform,
            t.info.driver);
    for (int d = 0; d < n_dts && rc == 0; ++d) {
        if (dtype_names[dts[d]].dtype == CLRELU_DTYPE_F64 && !t.info.has_fp64) {
            fprintf(stderr, "clrelu-tune: f64: the device lacks cl_khr_fp64, skipped\n");
            continue;
        }
        for (int pass = 0; pass < 4 && rc == 0; ++pass)
            for (int c = 0; c < 3 && rc == 0; ++c) {
                fprintf(stderr, "clrelu-tune: %s %s %s (n = %zu)\n", pass_names[pass],
                        dtype_names[dts[d]].name, class_names[c], sizes[c]);
                if (tune_key(&t, pass, dts[d], c, sizes[c], max_local, &es[n_es]) != 0) {
                    fprintf(stderr, "clrelu-tune: %s\n", clrelu_context_error(t.ctx));
                    rc = 1;
                } else {
                    n_es++;
                }
            }
    }
    /* us: a batch's time per call (the search's, or the confirming rounds' medians where the
     * search found a setting to confirm); kernel: the kept setting's speedup by one call's
     * event in the confirming rounds (- where the default stays). */
    printf("%-14s %-5s %-7s %18s %11s %18s %11s %8s %8s\n", "pass", "dtype", "class", "default",
           "us", "tuned", "us", "speedup", "kernel");
    clrelu_tuning def = {sizeof def, 0, 0, 0};
    for (int i = 0; i < n_es; ++i) {
        const entry *e = &es[i];
        clrelu_context_get_tuning(t.ctx, e->pass, dtype_names[e->dtype_index].dtype, e->size_class,
                                  &def);
        char a[32], b[32];
        snprintf(a, sizeof a, "%u,%zu,%u", def.vec_bytes, def.local, def.groups_per_cu);
        snprintf(b, sizeof b, "%u,%zu,%u", e->best.vec_bytes, e->best.local, e->best.groups_per_cu);
        char k[16] = "-";
        if (e->kernel_seconds > 0)
            snprintf(k, sizeof k, "%.2fx", e->default_kernel_seconds / e->kernel_seconds);
        printf("%-14s %-5s %-7s %18s %11.2f %18s %11.2f %7.2fx %8s\n", pass_names[e->pass],
               dtype_names[e->dtype_index].name, class_names[e->size_class], a,
               e->default_seconds * 1e6, b, e->seconds * 1e6, e->default_seconds / e->seconds, k);
    }
    /* The host-array threshold, with the tuned settings in use (the round trip launches the
     * forward kernel). */
    size_t host_min_bytes = SIZE_MAX;
    for (int i = 0; i < n_es && rc == 0; ++i)
        clrelu_context_override_tuning(t.ctx, es[i].pass, dtype_names[es[i].dtype_index].dtype,
                                       es[i].size_class, &es[i].best);
    if (rc == 0 && host_path_threshold(&t, quick, &host_min_bytes) != 0)
        rc = 1;
    if (rc == 0) {
        if (host_min_bytes == SIZE_MAX)
            printf("CLRELU_HOST_PATH_AUTO: the CPU path wins at every size measured\n");
        else
            printf("CLRELU_HOST_PATH_AUTO: host calls moving %zu bytes or more go to the device\n",
                   host_min_bytes);
    }
    char db_path[1100];
    if (rc == 0 && !output) {
        /* Where contexts on this device look for it (the binary cache's directory). */
        if (clrelu_context_tuning_db_path(t.ctx, db_path, sizeof db_path) == CLRELU_OK) {
            output = db_path;
            make_parent(db_path);
        } else {
            fprintf(stderr, "clrelu-tune: %s; use --output\n", clrelu_context_error(t.ctx));
            rc = 1;
        }
    }
    if (rc == 0 && output) {
        if (write_json(output, &t, es, n_es, host_min_bytes) != 0)
            rc = 1;
        else
            fprintf(stderr, "clrelu-tune: wrote %s\n", output);
    }
    for (size_t i = 0; i < ARRAY_LEN(bufs); ++i)
        if (*bufs[i])
            clReleaseMemObject(*bufs[i]);
    clrelu_context_release(t.ctx);
    clReleaseCommandQueue(t.queue);
    clReleaseContext(t.context);
    return rc;
}
