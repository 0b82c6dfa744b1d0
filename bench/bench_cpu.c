/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench on the host: the CPU path's call time on host arrays and, when built with it,
 * oneDNN's eltwise ReLU on the same arrays with the same number of threads, each next to the
 * copy reference: the fastest of memcpy on one core, a non-temporal copy on one core, and a
 * copy split over every core the process may use (with plain and with non-temporal stores),
 * because one core may not saturate memory. Samples of the three are interleaved so that they see
 * the same noise. */
#define _GNU_SOURCE
#include <pthread.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cpu/cpu.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * A persistent pool for the threaded copy: threads are started once, so small copies measure
 * the copy, not thread creation.
 * ------------------------------------------------------------------------------------------ */

typedef struct pool {
    int n;
    pthread_t threads[256];
    pthread_barrier_t go, done;
    int quit;
    int nt; /* non-temporal stores */
    const char *src;
    char *dst;
    size_t bytes;
} pool;

/* A copy with non-temporal stores where both ends are 16-byte aligned: whole lines go to
 * memory without first being read. 0, or -1 when it cannot (then the caller uses memcpy). */
static int stream_copy(char *dst, const char *src, size_t len) {
#if defined(__SSE2__)
    if (((uintptr_t)dst & 15) == 0 && ((uintptr_t)src & 15) == 0) {
        const __m128i *s = (const __m128i *)src;
        __m128i *d = (__m128i *)dst;
        size_t v = len / 16;
        for (size_t i = 0; i < v; ++i)
            _mm_stream_si128(d + i, _mm_load_si128(s + i));
        memcpy(dst + v * 16, src + v * 16, len - v * 16);
        _mm_sfence();
        return 0;
    }
#endif
    (void)dst, (void)src, (void)len;
    return -1;
}

static void copy_part(pool *p, int idx) {
    /* Split on 64-byte lines so no two threads write the same line. */
    size_t lines = p->bytes / 64, per = lines / (size_t)p->n, extra = lines % (size_t)p->n;
    size_t first = (size_t)idx * per + ((size_t)idx < extra ? (size_t)idx : extra);
    size_t count = per + ((size_t)idx < extra);
    size_t begin = first * 64, len = count * 64;
    if (idx == p->n - 1)
        len = p->bytes - begin; /* the ragged end */
    if (!p->nt || stream_copy(p->dst + begin, p->src + begin, len) != 0)
        memcpy(p->dst + begin, p->src + begin, len);
}

typedef struct worker_arg {
    pool *p;
    int idx;
} worker_arg;

static void *worker(void *arg) {
    worker_arg *w = arg;
    for (;;) {
        pthread_barrier_wait(&w->p->go);
        if (w->p->quit)
            break;
        copy_part(w->p, w->idx);
        pthread_barrier_wait(&w->p->done);
    }
    free(w);
    return NULL;
}

static int pool_start(pool *p, int n) {
    memset(p, 0, sizeof *p);
    p->n = n;
    pthread_barrier_init(&p->go, NULL, (unsigned)n);
    pthread_barrier_init(&p->done, NULL, (unsigned)n);
    for (int i = 1; i < n; ++i) {
        worker_arg *w = malloc(sizeof *w);
        w->p = p;
        w->idx = i;
        if (pthread_create(&p->threads[i], NULL, worker, w) != 0)
            return -1;
    }
    return 0;
}

static void pool_copy(pool *p, char *dst, const char *src, size_t bytes, int nt) {
    p->dst = dst;
    p->src = src;
    p->bytes = bytes;
    p->nt = nt;
    pthread_barrier_wait(&p->go);
    copy_part(p, 0);
    pthread_barrier_wait(&p->done);
}

static void pool_stop(pool *p) {
    p->quit = 1;
    pthread_barrier_wait(&p->go);
    for (int i = 1; i < p->n; ++i)
        pthread_join(p->threads[i], NULL);
    pthread_barrier_destroy(&p->go);
    pthread_barrier_destroy(&p->done);
}

/* ---------------------------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------------------------ */

typedef void (*call_fn)(void *arg);

/* One contestant of an interleaved measurement and what it measured. */
typedef struct timed {
    call_fn fn;
    void *arg;
    int batched; /* also time o->batch back-to-back calls */
    int k;       /* calls per sample */
    double kmin, kmed, kmax, batch_s;
    int samples;
} timed;

/* Calls per timed sample, so that a sample lasts at least ~20 us: a call of 80 ns cannot be
 * timed alone with a clock that costs 20 ns to read. */
static int calls_per_sample(call_fn fn, void *arg) {
    int k = 1;
    for (;;) {
        double t0 = bench_now();
        for (int i = 0; i < k; ++i)
            fn(arg);
        if (bench_now() - t0 >= 20e-6 || k >= 4096)
            return k;
        k *= 2;
    }
}

static double timed_sample(call_fn fn, void *arg, int k) {
    double t0 = bench_now();
    for (int i = 0; i < k; ++i)
        fn(arg);
    return (bench_now() - t0) / k;
}

/* Rounds of one timed sample of each contestant in turn, so that all see the same state of a
 * shared, noisy machine; then a batch of back-to-back calls of the batched ones. Each sample
 * follows one untimed call of the same contestant: at cache-resident sizes a sample would
 * otherwise find its arrays as the contestant before it left them (the one after the CPU
 * path found x and y warm, the one after the copy found them evicted). */
static void measure(const bench_opts *o, timed *t, int count, int batch) {
    enum { CAP = 20000, MAX_TIMED = 4 };
    static double samples[MAX_TIMED][CAP];
    for (int c = 0; c < count; ++c)
        t[c].k = calls_per_sample(t[c].fn, t[c].arg);
    int n = 0;
    double start = bench_now();
    while (n < CAP && bench_more(o, n, bench_now() - start)) {
        for (int c = 0; c < count; ++c) {
            t[c].fn(t[c].arg);
            samples[c][n] = timed_sample(t[c].fn, t[c].arg, t[c].k);
        }
        n++;
    }
    for (int c = 0; c < count; ++c) {
        t[c].samples = n;
        t[c].kmed = bench_median(samples[c], n);
        t[c].kmin = samples[c][0];
        t[c].kmax = samples[c][n - 1];
        t[c].batch_s = 0;
        if (batch > 0 && t[c].batched) {
            double t0 = bench_now();
            for (int i = 0; i < batch; ++i)
                t[c].fn(t[c].arg);
            t[c].batch_s = bench_now() - t0;
        }
    }
}

typedef struct copy_arg {
    pool *p;
    char *dst;
    const char *src;
    size_t bytes;
    /* 0: memcpy on this thread, 1: split over the pool, 2: split, non-temporal, 3: this
     * thread, non-temporal (one core can saturate memory on some machines; on a busy one it
     * is the copy that waits for no other thread) */
    int how;
} copy_arg;

static void run_copy(void *arg) {
    copy_arg *a = arg;
    if (a->how == 0 || (a->how == 3 && stream_copy(a->dst, a->src, a->bytes) != 0))
        memcpy(a->dst, a->src, a->bytes);
    else if (a->how != 3)
        pool_copy(a->p, a->dst, a->src, a->bytes, a->how == 2);
}

typedef struct op_arg {
    clrelu_context *ctx;
    const kit_op *op;
    clrelu_desc desc;
    size_t n;
    const void *in0, *in1;
    void *out;
    uint32_t *mask;
    clrelu_status st;
} op_arg;

static void run_op(void *arg) {
    op_arg *a = arg;
    clrelu_status st = kit_run_host(a->op, a->ctx, &a->desc, a->n, a->in0, a->in1, a->out, a->mask);
    if (st != CLRELU_OK)
        a->st = st;
}

/* The CPU path's kernel for an op, called directly through the context's table: what a call
 * costs without clrelu's argument checks, floating-point setup and thread choice. */
typedef struct direct_arg {
    clrelu__cpu_fn fn;
    size_t n;
    const void *in0;
    void *out;
    clrelu__params params;
} direct_arg;

static void run_direct(void *arg) {
    direct_arg *a = arg;
    a->fn(a->n, a->in0, NULL, a->out, NULL, &a->params);
}

#if defined(CLRELU_BENCH_HAVE_ONEDNN)
typedef struct onednn_arg {
    bench_onednn_call *call;
    int failed;
} onednn_arg;

static void run_onednn(void *arg) {
    onednn_arg *a = arg;
    if (bench_onednn_run(a->call) != 0)
        a->failed = 1;
}
#endif

/* The copy form that is fastest for bytes, from a short pre-pass, cached per byte count. */
typedef struct copy_choice {
    size_t bytes[256];
    int how[256];
    int n;
} copy_choice;

static int best_copy(copy_choice *cc, pool *p, char *dst, const char *src, size_t bytes) {
    for (int c = 0; c < cc->n; ++c)
        if (cc->bytes[c] == bytes)
            return cc->how[c];
    bench_opts quick;
    memset(&quick, 0, sizeof quick);
    quick.repeat = 3;
    int how = 0;
    double best_s = 0;
    for (int h = 0; h < 4; ++h) {
        copy_arg ca = {p, dst, src, bytes, h};
        timed t = {run_copy, &ca, 0, 0, 0, 0, 0, 0, 0};
        measure(&quick, &t, 1, 0);
        if (h == 0 || t.kmed < best_s) {
            how = h;
            best_s = t.kmed;
        }
    }
    if (cc->n < 256) {
        cc->bytes[cc->n] = bytes;
        cc->how[cc->n++] = how;
    }
    return how;
}

static bench_result *add_result(bench_run *run, const char *device, const kit_op *op,
                                const kit_dtype *dt, size_t n, double bytes, const timed *t,
                                int batch, double copy_gbps) {
    bench_result *r = bench_add_result(run);
    snprintf(r->device, sizeof r->device, "%s", device);
    r->op = op->name;
    r->dtype = dt->name;
    r->n = n;
    r->kernel_min = t->kmin;
    r->kernel_median = t->kmed;
    r->kernel_max = t->kmax;
    r->wall_median = t->kmed;
    r->batch_s = t->batch_s;
    r->batch_n = batch;
    r->samples = t->samples;
    r->bytes = bytes;
    r->gbps = t->kmed > 0 ? r->bytes / t->kmed / 1e9 : 0;
    r->copy_gbps = copy_gbps;
    r->pct_of_copy = copy_gbps > 0 ? 100.0 * r->gbps / copy_gbps : 0;
    return r;
}

/* Cores this process may run on: the copy reference uses all of them. */
static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return 1;
}

#if defined(CLRELU_BENCH_HAVE_ONEDNN)
/* Element i of an f32, f16 or bf16 array as a double. */
static double value_at(const kit_dtype *dt, const void *p, size_t i) {
    uint32_t u = 0;
    memcpy(&u, (const char *)p + i * dt->size, dt->size);
    if (dt->dtype == CLRELU_DTYPE_BF16)
        u <<= 16;
    if (dt->dtype == CLRELU_DTYPE_F16) {
        unsigned e = (u >> 10) & 31u, m = u & 0x3ffu;
        double mag = e == 31  ? (m ? NAN : INFINITY)
                     : e == 0 ? ldexp((double)m, -24)
                              : ldexp((double)(m | 0x400u), (int)e - 25);
        return u & 0x8000u ? -mag : mag;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Compares oneDNN's output with the reference. Where the two libraries' semantics are known
 * to part, a difference only counts as "differs": an input (x, y or dy) that is NaN, infinite,
 * +-0, subnormal (oneDNN's bf16 flushes them) or at the ceiling, or outputs that are both
 * zeros (oneDNN writes alpha * dy = -0 for negative dy where clrelu writes +0). Any other
 * difference is a wrong output: returns how many, and the first in *first_wrong. */
static size_t onednn_check(const kit_op *op, const kit_dtype *dt, const clrelu_desc *d, size_t n,
                           const void *in0, const void *in1, const void *got, const void *want,
                           size_t *differs, size_t *first_differs, size_t *first_wrong) {
    size_t wrong = 0;
    *differs = 0;
    const int backward = op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y;
    for (size_t i = 0; i < n; ++i) {
        if (memcmp((const char *)got + i * dt->size, (const char *)want + i * dt->size, dt->size) ==
            0)
            continue;
        double x = value_at(dt, backward ? in1 : in0, i);
        double g = backward ? value_at(dt, in0, i) : 1.0;
        double r = value_at(dt, got, i), w = value_at(dt, want, i);
        int special = !isfinite(x) || fabs(x) < FLT_MIN || !isfinite(g) || fabs(g) < FLT_MIN ||
                      (r == 0 && w == 0) ||
                      (op->op == CLRELU_OP_CLIPPED_RELU && x == (double)d->ceiling);
        if (special) {
            if ((*differs)++ == 0)
                *first_differs = i;
        } else if (wrong++ == 0) {
            *first_wrong = i;
        }
    }
    return wrong;
}
#endif

/* Elements of the per-call cost probe (f32 relu forward, L1-resident). */
#define CALL_N 1024

int bench_cpu(const bench_opts *o, bench_run *run, int cpu_index, int onednn_index) {
    clrelu_context *ctx = NULL;
    if (clrelu_context_create(&ctx, "cpu") != CLRELU_OK) {
        fprintf(stderr, "clrelu-bench: CPU path: %s\n", clrelu_last_error());
        return -1;
    }
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info, sizeof info);
    /* The CPU path's threads (CLRELU_NUM_THREADS, default every usable core); oneDNN gets as
     * many. */
    const int threads = (int)info.compute_units;
    if (cpu_index >= 0) {
        bench_device *bd = &run->devices[cpu_index];
        snprintf(bd->id, sizeof bd->id, "cpu");
        snprintf(bd->platform, sizeof bd->platform, "clrelu CPU path");
        snprintf(bd->name, sizeof bd->name, "%s", info.device[0] ? info.device : "CPU");
        snprintf(bd->driver, sizeof bd->driver, "clrelu %s, %s", clrelu_version(), info.cpu_isa);
        bd->kind = "simd";
        bd->compute_units = info.compute_units;
    }
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
    bench_onednn *dnn = NULL;
    if (onednn_index >= 0) {
        char why[256];
        dnn = bench_onednn_open(threads, why, sizeof why);
        if (!dnn) {
            fprintf(stderr, "clrelu-bench: oneDNN: %s\n", why);
            onednn_index = -1;
            if (cpu_index < 0) {
                clrelu_context_release(ctx);
                return -1;
            }
        } else {
            bench_onednn_describe(threads, info.device, &run->devices[onednn_index]);
        }
    }
#else
    (void)threads;
    if (onednn_index >= 0) {
        fprintf(stderr, "clrelu-bench: this clrelu-bench was built without oneDNN\n");
        onednn_index = -1;
    }
#endif

    /* The arrays hold the largest configuration, and at least what the per-call probe at the
     * end uses (CALL_N f32), whatever sizes were asked for. */
    size_t max_bytes = CALL_N * sizeof(float);
    for (int di = 0; di < o->n_dtypes; ++di)
        for (int si = 0; si < o->n_sizes; ++si)
            if (o->sizes[si] * o->dtypes[di]->size > max_bytes)
                max_bytes = o->sizes[si] * o->dtypes[di]->size;
    /* The copy reference moves half of what an op moves (read and written): 1.5 arrays for a
     * backward, and more for the channel ops (x, z and y, plus the per-channel arrays). */
    size_t copy_need = max_bytes / 2 * 3;
    for (int oi = 0; oi < o->n_ops; ++oi)
        for (int di = 0; di < o->n_dtypes; ++di)
            for (int si = 0; si < o->n_sizes; ++si) {
                double half = kit_bytes(o->ops[oi], o->sizes[si], o->dtypes[di]->size) / 2;
                if (half > (double)copy_need)
                    copy_need = (size_t)half + 64;
            }
    size_t copy_bytes = (copy_need + 64 + 63) / 64 * 64; /* aligned_alloc: a multiple */
    char *x = malloc(max_bytes), *in0 = aligned_alloc(64, copy_bytes),
         *in1 = aligned_alloc(64, copy_bytes), *out = aligned_alloc(64, copy_bytes),
         *expected = malloc(max_bytes);
    uint32_t *mask = malloc(max_bytes / 16 + 64), *expected_mask = malloc(max_bytes / 16 + 64);
    pool p;
    int cores = usable_cores();
    if (cores > 256)
        cores = 256;
    if (!x || !in0 || !in1 || !out || !expected || !mask || !expected_mask ||
        pool_start(&p, cores) != 0) {
        fprintf(stderr, "clrelu-bench: CPU path: cannot allocate %zu bytes\n", copy_bytes);
        clrelu_context_release(ctx);
        return -1;
    }
    /* Touch every page before timing. */
    memset(out, 0, copy_bytes);
    memset(in0, 0, copy_bytes);
    memset(in1, 0, copy_bytes);

    copy_choice cc;
    cc.n = 0;
    for (int di = 0; di < o->n_dtypes; ++di) {
        const kit_dtype *dt = o->dtypes[di];
        for (int si = 0; si < o->n_sizes; ++si) {
            size_t n = o->sizes[si];
            for (int oi = 0; oi < o->n_ops; ++oi) {
                const kit_op *op = o->ops[oi];
                bench_progress(o, run, "%s %s %s n=%zu",
                               cpu_index >= 0 && onednn_index >= 0 ? "cpu+onednn"
                               : cpu_index >= 0                    ? "cpu"
                                                                   : "onednn",
                               op->name, dt->name, n);
                op_arg a = {ctx, op, kit_desc(op, dt->dtype), n, in0, in1, out, mask, CLRELU_OK};
                kit_fill_data(&o->data, dt->dtype, x, n, 1234u);
                if (op->kind == KIT_FWD || op->kind == KIT_FWD_MASK)
                    memcpy(in0, x, n * dt->size);
                else
                    kit_fill_data(&o->data, dt->dtype, in0, n, 4321u);
                kit_make_in1(op, &a.desc, n, x, in1);
                memset(expected, 0, n * dt->size);
                kit_reference(op, &a.desc, n, in0, in1, expected, expected_mask);

                timed t[3];
                int count = 0, at_cpu = -1, at_dnn = -1;
                if (cpu_index >= 0) {
                    memset(out, 0, n * dt->size);
                    run_op(&a);
                    int same = memcmp(out, expected, n * dt->size) == 0 &&
                               (op->kind != KIT_FWD_MASK ||
                                memcmp(mask, expected_mask, clrelu_mask_words(n) * 4) == 0);
                    if (a.st != CLRELU_OK || !same) {
                        fprintf(stderr, "clrelu-bench: %s %s n=%zu on the CPU path: %s\n", op->name,
                                dt->name, n,
                                a.st != CLRELU_OK ? clrelu_context_error(ctx)
                                                  : "WRONG OUTPUT; no speed is reported for it");
                        run->failures++;
                    } else {
                        at_cpu = count;
                        t[count++] = (timed){run_op, &a, 1, 0, 0, 0, 0, 0, 0};
                    }
                }
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
                onednn_arg da = {NULL, 0};
                if (onednn_index >= 0) {
                    char why[256];
                    da.call =
                        bench_onednn_prepare(dnn, op, &a.desc, n, in0, in1, out, why, sizeof why);
                    if (!da.call && n == o->sizes[0] && di == 0)
                        fprintf(stderr, "clrelu-bench: onednn: %s: not measured\n", why);
                    if (da.call) {
                        memset(out, 0, n * dt->size);
                        run_onednn(&da);
                        size_t differs = 0, first = 0, bad = 0;
                        size_t wrong = da.failed ? n
                                                 : onednn_check(op, dt, &a.desc, n, in0, in1, out,
                                                                expected, &differs, &first, &bad);
                        if (wrong) {
                            if (da.failed)
                                fprintf(stderr,
                                        "clrelu-bench: %s %s n=%zu on oneDNN: execution "
                                        "failed\n",
                                        op->name, dt->name, n);
                            else
                                fprintf(stderr,
                                        "clrelu-bench: %s %s n=%zu on oneDNN: WRONG OUTPUT at %zu "
                                        "of %zu elements (first: [%zu] in0 %g in1 %g -> %g, "
                                        "expected %g); no speed is reported for it\n",
                                        op->name, dt->name, n, wrong, n, bad,
                                        value_at(dt, in0, bad), value_at(dt, in1, bad),
                                        value_at(dt, out, bad), value_at(dt, expected, bad));
                            run->failures++;
                        } else {
                            if (differs && n == o->sizes[0])
                                fprintf(stderr,
                                        "clrelu-bench: onednn %s %s: differs from clrelu's "
                                        "semantics on %zu of %zu elements, each at NaN, inf, "
                                        "+-0, a subnormal or the ceiling (first at %zu); not a "
                                        "failure\n",
                                        op->name, dt->name, differs, n, first);
                            at_dnn = count;
                            t[count++] = (timed){run_onednn, &da, 1, 0, 0, 0, 0, 0, 0};
                        }
                    }
                }
#endif
                if (count > 0) {
                    /* The copy reference moves the same bytes: half read, half written. */
                    double bytes = kit_bytes(op, n, dt->size);
                    size_t cb = (size_t)(bytes / 2) & ~(size_t)63;
                    copy_arg ca = {&p, out, in1, cb, best_copy(&cc, &p, out, in1, cb)};
                    const int at_copy = count;
                    t[count++] = (timed){run_copy, &ca, 0, 0, 0, 0, 0, 0, 0};
                    measure(o, t, count, o->batch);
                    double best =
                        t[at_copy].kmed > 0 ? 2.0 * (double)cb / t[at_copy].kmed / 1e9 : 0;
                    if (at_cpu >= 0)
                        add_result(run, "cpu", op, dt, n, bytes, &t[at_cpu], o->batch, best);
                    if (at_dnn >= 0)
                        add_result(run, "onednn", op, dt, n, bytes, &t[at_dnn], o->batch, best);
                }
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
                bench_onednn_release(da.call);
#endif
            }
        }
    }

    /* The per-call cost: f32 relu forward at n = CALL_N, through the API and the kernel alone. */
    {
        const size_t n = CALL_N;
        const kit_op *fwd = kit_find_op("forward");
        kit_fill(CLRELU_DTYPE_F32, in0, n, 99u);
        op_arg a = {ctx, fwd, kit_desc(fwd, CLRELU_DTYPE_F32), n, in0, NULL, out, NULL, CLRELU_OK};
        char why[128];
        const clrelu__cpu_kernels *k = clrelu__cpu_select(info.cpu_isa, why, sizeof why);
        timed t[3];
        int count = 0, at_cpu = -1, at_direct = -1, at_dnn = -1;
        direct_arg da;
        memset(&da, 0, sizeof da);
        if (cpu_index >= 0 && k) {
            da.fn = k->fn[CLRELU__PASS_FWD][0][CLRELU_DTYPE_F32][0];
            da.n = n;
            da.in0 = in0;
            da.out = out;
            at_cpu = count;
            t[count++] = (timed){run_op, &a, 0, 0, 0, 0, 0, 0, 0};
            at_direct = count;
            t[count++] = (timed){run_direct, &da, 0, 0, 0, 0, 0, 0, 0};
        }
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
        onednn_arg na = {NULL, 0};
        if (onednn_index >= 0) {
            na.call = bench_onednn_prepare(dnn, fwd, &a.desc, n, in0, NULL, out, why, sizeof why);
            if (na.call) {
                at_dnn = count;
                t[count++] = (timed){run_onednn, &na, 0, 0, 0, 0, 0, 0, 0};
            }
        }
#endif
        if (count > 0) {
            bench_opts many = *o;
            many.repeat = o->repeat > 21 ? o->repeat : 21;
            measure(&many, t, count, 0);
        }
        if (at_cpu >= 0) {
            run->devices[cpu_index].call_1024_s = t[at_cpu].kmed;
            run->devices[cpu_index].direct_call_1024_s = t[at_direct].kmed;
        }
        if (at_dnn >= 0)
            run->devices[onednn_index].call_1024_s = t[at_dnn].kmed;
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
        bench_onednn_release(na.call);
#endif
    }

#if defined(CLRELU_BENCH_HAVE_ONEDNN)
    bench_onednn_close(dnn);
#endif
    pool_stop(&p);
    free(x);
    free(in0);
    free(in1);
    free(out);
    free(expected);
    free(mask);
    free(expected_mask);
    clrelu_context_release(ctx);
    return 0;
}
