/* clrelu-bench on the CPU path: each op's call time on host arrays, and the copy reference:
 * the fastest of memcpy on one core and a copy split over every core the process may use
 * (with plain and with non-temporal stores), because one core cannot saturate memory. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

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

static void copy_part(pool *p, int idx) {
    /* Split on 64-byte lines so no two threads write the same line. */
    size_t lines = p->bytes / 64, per = lines / (size_t)p->n, extra = lines % (size_t)p->n;
    size_t first = (size_t)idx * per + ((size_t)idx < extra ? (size_t)idx : extra);
    size_t count = per + ((size_t)idx < extra);
    size_t begin = first * 64, len = count * 64;
    if (idx == p->n - 1)
        len = p->bytes - begin; /* the ragged end */
#if defined(__SSE2__)
    if (p->nt && ((uintptr_t)(p->dst + begin) & 15) == 0 &&
        ((uintptr_t)(p->src + begin) & 15) == 0) {
        const __m128i *s = (const __m128i *)(p->src + begin);
        __m128i *d = (__m128i *)(p->dst + begin);
        size_t v = len / 16;
        for (size_t i = 0; i < v; ++i)
            _mm_stream_si128(d + i, _mm_load_si128(s + i));
        memcpy(p->dst + begin + v * 16, p->src + begin + v * 16, len - v * 16);
        _mm_sfence();
        return;
    }
#endif
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

typedef struct stats {
    double kmin, kmed, kmax, batch_s;
    int samples;
} stats;

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

static void summarize(double *t, int n, stats *s) {
    s->samples = n;
    s->kmed = bench_median(t, n);
    s->kmin = t[0];
    s->kmax = t[n - 1];
    s->batch_s = 0;
}

/* Timed samples of fn, each followed by one of ref_fn when there is a reference, so that both
 * see the same state of a shared, noisy machine; then a batch of back-to-back calls. */
static void measure(const bench_opts *o, call_fn fn, void *arg, call_fn ref_fn, void *ref_arg,
                    int batch, stats *s, stats *ref) {
    enum { CAP = 20000 };
    static double t[CAP], rt[CAP];
    int k = calls_per_sample(fn, arg);
    int rk = ref_fn ? calls_per_sample(ref_fn, ref_arg) : 0;
    int n = 0;
    double start = bench_now();
    while (n < CAP && bench_more(o, n, bench_now() - start)) {
        t[n] = timed_sample(fn, arg, k);
        if (ref_fn)
            rt[n] = timed_sample(ref_fn, ref_arg, rk);
        n++;
    }
    summarize(t, n, s);
    if (ref_fn)
        summarize(rt, n, ref);
    if (batch > 0) {
        double t0 = bench_now();
        for (int i = 0; i < batch; ++i)
            fn(arg);
        s->batch_s = bench_now() - t0;
    }
}

typedef struct copy_arg {
    pool *p;
    char *dst;
    const char *src;
    size_t bytes;
    int how; /* 0: memcpy on this thread, 1: split over the pool, 2: split, non-temporal */
} copy_arg;

static void run_copy(void *arg) {
    copy_arg *a = arg;
    if (a->how == 0)
        memcpy(a->dst, a->src, a->bytes);
    else
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
    for (int h = 0; h < 3; ++h) {
        copy_arg ca = {p, dst, src, bytes, h};
        stats cs;
        measure(&quick, run_copy, &ca, NULL, NULL, 0, &cs, NULL);
        if (h == 0 || cs.kmed < best_s) {
            how = h;
            best_s = cs.kmed;
        }
    }
    if (cc->n < 256) {
        cc->bytes[cc->n] = bytes;
        cc->how[cc->n++] = how;
    }
    return how;
}

int bench_cpu(const bench_opts *o, bench_run *run, int index) {
    clrelu_context *ctx = NULL;
    if (clrelu_context_create(&ctx, "cpu") != CLRELU_OK) {
        fprintf(stderr, "clrelu-bench: CPU path: %s\n", clrelu_last_error());
        return -1;
    }
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info);
    bench_device *bd = &run->devices[index];
    snprintf(bd->id, sizeof bd->id, "cpu");
    snprintf(bd->platform, sizeof bd->platform, "clrelu CPU path");
    snprintf(bd->name, sizeof bd->name, "%s", info.device[0] ? info.device : "CPU");
    snprintf(bd->driver, sizeof bd->driver, "clrelu %s, %s", clrelu_version(), info.cpu_isa);
    bd->kind = "simd";
    bd->compute_units = info.compute_units;

    size_t max_bytes = 64;
    for (int di = 0; di < o->n_dtypes; ++di)
        for (int si = 0; si < o->n_sizes; ++si)
            if (o->sizes[si] * o->dtypes[di]->size > max_bytes)
                max_bytes = o->sizes[si] * o->dtypes[di]->size;
    size_t copy_bytes = (max_bytes / 2 * 3 + 64 + 63) / 64 * 64; /* aligned_alloc: a multiple */
    char *x = malloc(max_bytes), *in0 = aligned_alloc(64, copy_bytes),
         *in1 = aligned_alloc(64, copy_bytes), *out = aligned_alloc(64, copy_bytes),
         *expected = malloc(max_bytes);
    uint32_t *mask = malloc(max_bytes / 16 + 64), *expected_mask = malloc(max_bytes / 16 + 64);
    pool p;
    int threads = (int)info.compute_units;
    if (threads > 256)
        threads = 256;
    if (!x || !in0 || !in1 || !out || !expected || !mask || !expected_mask ||
        pool_start(&p, threads) != 0) {
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
                bench_progress(o, run, "cpu %s %s n=%zu", op->name, dt->name, n);
                op_arg a = {ctx, op, kit_desc(op, dt->dtype), n, in0, in1, out, mask, CLRELU_OK};
                kit_fill(dt->dtype, x, n, 1234u);
                if (op->kind == KIT_FWD || op->kind == KIT_FWD_MASK)
                    memcpy(in0, x, n * dt->size);
                else
                    kit_fill(dt->dtype, in0, n, 4321u);
                kit_make_in1(op, &a.desc, n, x, in1);
                memset(out, 0, n * dt->size);
                memset(expected, 0, n * dt->size);
                run_op(&a);
                kit_reference(op, &a.desc, n, in0, in1, expected, expected_mask);
                int same = memcmp(out, expected, n * dt->size) == 0 &&
                           (op->kind != KIT_FWD_MASK ||
                            memcmp(mask, expected_mask, clrelu_mask_words(n) * 4) == 0);
                if (a.st != CLRELU_OK || !same) {
                    fprintf(stderr, "clrelu-bench: %s %s n=%zu on the CPU path: %s\n", op->name,
                            dt->name, n,
                            a.st != CLRELU_OK ? clrelu_context_error(ctx)
                                              : "WRONG OUTPUT; no speed is reported for it");
                    run->failures++;
                    continue;
                }
                /* The copy reference moves the same bytes: half read, half written. */
                double bytes = kit_bytes(op, n, dt->size);
                size_t cb = (size_t)(bytes / 2) & ~(size_t)63;
                copy_arg ca = {&p, out, in1, cb, best_copy(&cc, &p, out, in1, cb)};
                stats s, cs;
                measure(o, run_op, &a, run_copy, &ca, o->batch, &s, &cs);
                double best = cs.kmed > 0 ? 2.0 * (double)cb / cs.kmed / 1e9 : 0;
                bench_result *r = bench_add_result(run);
                snprintf(r->device, sizeof r->device, "cpu");
                r->op = op->name;
                r->dtype = dt->name;
                r->n = n;
                r->kernel_min = s.kmin;
                r->kernel_median = s.kmed;
                r->kernel_max = s.kmax;
                r->wall_median = s.kmed;
                r->batch_s = s.batch_s;
                r->batch_n = o->batch;
                r->samples = s.samples;
                r->bytes = bytes;
                r->gbps = s.kmed > 0 ? r->bytes / s.kmed / 1e9 : 0;
                r->copy_gbps = best;
                r->pct_of_copy = best > 0 ? 100.0 * r->gbps / best : 0;
            }
        }
    }
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
