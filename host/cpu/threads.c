/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU path's worker threads: one pool per process, started on first use and kept, so a
 * call never pays for creating a thread.
 *
 * A call publishes a job (a function and a number of parts) and takes parts itself like any
 * worker: parts are claimed one at a time, so a worker that the OS has not scheduled yet (a
 * busy machine, more threads than cores) simply gets none, and the caller never waits for a
 * thread that has not started; it waits only for parts already running. Workers spin briefly
 * after a job, so back-to-back calls find them awake, then sleep on a condition variable.
 *
 * One call uses the workers at a time: a call that finds them busy (another context, another
 * thread of the caller) runs all its parts on its own thread instead of waiting, so
 * concurrent callers never block one another and cannot deadlock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

/* How long a worker keeps polling for the next job before it sleeps: a loop of large calls
 * (each above the threading threshold, so ~10 us or more) finds it awake, and a process that
 * stops calling gives the core back (to its own other threads too) within 50 us. A late
 * worker never delays a call: it only takes fewer parts. */
#define SPIN_NS 50000L

/* The job word: generation (32 bits), helpers allowed (8), parts (12), next part to claim
 * (12). One compare-and-swap claims a part of exactly this job; a worker that looks late sees
 * a newer generation and joins that job instead. */
#define W_GEN(w)     ((uint32_t)((w) >> 32))
#define W_HELPERS(w) ((unsigned)((w) >> 24) & 0xffu)
#define W_PARTS(w)   ((unsigned)((w) >> 12) & 0xfffu)
#define W_NEXT(w)    ((unsigned)(w)&0xfffu)
#define W_MAKE(gen, helpers, parts)                                                                \
    (((uint64_t)(gen) << 32) | ((uint64_t)(helpers) << 24) | ((uint64_t)(parts) << 12))

static struct {
    pthread_mutex_t busy; /* held by the one call that uses the workers */
    pthread_mutex_t lock; /* with wake: sleeping workers */
    pthread_cond_t wake;
    unsigned workers; /* started so far (under busy) */
    atomic_uint sleepers;
    _Alignas(64) _Atomic uint64_t job;
    _Alignas(64) atomic_uint remaining; /* parts of the job not finished */
    clrelu__part_fn fn;                 /* read only by a thread that claimed a part */
    void *arg;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child of fork() has none of the parent's workers: it starts its own when it needs them. */
static void after_fork_in_child(void) {
    pthread_mutex_init(&pool.busy, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.workers = 0;
    atomic_store(&pool.sleepers, 0);
}

static void register_atfork(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Claims and runs parts of the job in w until none is left (or a newer job has replaced it:
 * a worker must first learn whether it may help with that one). */
static void take_parts(uint64_t w) {
    const uint32_t gen = W_GEN(w);
    for (;;) {
        if (W_GEN(w) != gen || W_NEXT(w) >= W_PARTS(w))
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool.job, &w, w + 1, memory_order_acquire,
                                                   memory_order_relaxed)) {
            continue; /* w now holds the current word: maybe a newer job */
        }
        pool.fn(pool.arg, W_NEXT(w), W_PARTS(w));
        atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_release);
        w += 1;
    }
}

/* Waits until the job word's generation differs from seen, and returns the word. */
static uint64_t wait_for_job(uint32_t seen) {
    uint64_t w;
    long deadline = 0;
    for (unsigned i = 1;; ++i) {
        if (W_GEN(w = atomic_load_explicit(&pool.job, memory_order_acquire)) != seen)
            return w;
        cpu_relax();
        if (i % 256 == 0) {
            long t = now_ns();
            if (!deadline)
                deadline = t + SPIN_NS;
            else if (t > deadline)
                break;
        }
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1);
    while (W_GEN(w = atomic_load(&pool.job)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return w;
}

static void *worker(void *arg) {
    const unsigned index = (unsigned)(uintptr_t)arg; /* 1, 2, ... */
    uint32_t seen = W_GEN(atomic_load(&pool.job));
    for (;;) {
        uint64_t w = wait_for_job(seen);
        seen = W_GEN(w);
        if (index <= W_HELPERS(w))
            take_parts(w);
    }
    return NULL;
}

/* Starts workers until there are want of them; returns how many there are (fewer when the
 * system refuses a thread). Call with pool.busy held. */
static unsigned start_workers(unsigned want) {
    pthread_once(&atfork_once, register_atfork);
    while (pool.workers < want) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024); /* kernels use ~6 KiB (run16's blocks) */
        pthread_t t;
        int err = pthread_create(&t, &attr, worker, (void *)(uintptr_t)(pool.workers + 1));
        pthread_attr_destroy(&attr);
        if (err != 0)
            break;
        pool.workers++;
    }
    return pool.workers;
}

void clrelu__cpu_parallel(unsigned threads, unsigned parts, clrelu__part_fn fn, void *arg) {
    if (parts > CLRELU__MAX_PARTS)
        parts = CLRELU__MAX_PARTS;
    if (threads > CLRELU__MAX_THREADS)
        threads = CLRELU__MAX_THREADS;
    if (threads <= 1 || parts <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
        for (unsigned k = 0; k < parts; ++k)
            fn(arg, k, parts);
        return;
    }
    unsigned helpers = start_workers(threads - 1);
    if (helpers > threads - 1)
        helpers = threads - 1;
    pool.fn = fn;
    pool.arg = arg;
    atomic_store_explicit(&pool.remaining, parts, memory_order_relaxed);
    uint64_t w = W_MAKE(W_GEN(atomic_load(&pool.job)) + 1u, helpers, parts);
    atomic_store(&pool.job, w); /* seq_cst: ordered before the read of sleepers */
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    take_parts(w);
    for (unsigned i = 1; atomic_load_explicit(&pool.remaining, memory_order_acquire) != 0; ++i) {
        cpu_relax();
        if (i % 1024 == 0)
            sched_yield(); /* a worker holding a part may have been descheduled */
    }
    pthread_mutex_unlock(&pool.busy);
}

void clrelu__cpu_split(size_t n, unsigned part, unsigned parts, size_t *begin, size_t *end) {
    /* Whole groups of 32 elements: mask words stay whole, and for every dtype a boundary falls
     * a multiple of 64 bytes from the start, so threads share no cache line that the start of
     * an array does not already split. */
    size_t groups = n / 32 + (n % 32 != 0), per = groups / parts, extra = groups % parts;
    size_t first = (size_t)part * per + (part < extra ? part : extra);
    size_t count = per + (part < extra);
    size_t b = first * 32, e = (first + count) * 32;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}
