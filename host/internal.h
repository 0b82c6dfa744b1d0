/* SPDX-License-Identifier: Apache-2.0 */
/* Internal declarations shared by the rooms of the host library (context, program, buffer,
 * ops, host_api, error). Nothing here is exported. */
#ifndef CLRELU_INTERNAL_H
#define CLRELU_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "clrelu/clrelu.h"
#include "cpu/cpu.h"

#define CLRELU__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Kernels per program: one program serves every pass, the bias and the channel ops. */
#define CLRELU__MAX_KERNELS 48
#define CLRELU__POOL_SLOTS  4 /* 0-2: host round trips; 3: dbias and channel partial sums */
#define CLRELU__ERROR_LEN   2048
/* Rows per block of the dbias sums: part of the result\'s definition (clrelu.h). */
#define CLRELU__BIAS_BLOCK 256

#if defined(__GNUC__) || defined(__clang__)
#define CLRELU__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLRELU__PRINTF(f, a)
#endif

/* One built program: the kernel sources built with one option string, and the kernels made
 * from it so far. Programs live until the context is released. */
typedef struct clrelu__program {
    struct clrelu__program *next;
    char *options;
    cl_program program;
    struct {
        char name[48];
        cl_kernel kernel;
    } kernels[CLRELU__MAX_KERNELS];
    int n_kernels;
} clrelu__program;

/* Device buffers kept for host-array round trips, grown on demand, reused across calls. */
typedef struct clrelu__pool {
    cl_mem mem[CLRELU__POOL_SLOTS];
    size_t bytes[CLRELU__POOL_SLOTS];
} clrelu__pool;

/* How kernels are launched on this device: the one place for vendor differences. */
typedef struct clrelu__tuning {
    unsigned vec_bytes;     /* bytes per vector load and store (16 on GPUs, 64 on CPU devices) */
    size_t local;           /* work-group size */
    size_t max_groups;      /* grid-stride cap on the number of work-groups */
    unsigned groups_per_cu; /* what max_groups is per compute unit; 0: no cap (SIZE_MAX) */
    int mask_words;         /* forward with mask: one word per work-item, no barriers (CPU) */
    unsigned batch_run;     /* chunks per work-item in a batch (1 on GPUs: coalescing) */
} clrelu__tuning;

/* The values of the arguments every kernel ends with (ops.c), as set. */
typedef struct clrelu__op_values {
    cl_ulong ceil_out, ceil_pass;
    float slope, alpha, beta;
} clrelu__op_values;

/* One kernel of the element-wise passes (clrelu__launch_locked), found by its index rather
 * than by formatting and comparing its options and name, with the scalar arguments last set
 * on it, so that a call sets only the buffers and what changed. Slots index
 * [pass][dtype][size class][op][blend][aligned] (CLRELU__KEY_SLOT): the tuning of
 * (pass, dtype, size class) picks the program, so an override clears that key's run of
 * slots. Each slot owns its kernel object (size classes that share a program get kernels
 * of their own, "name@class"), so the arguments a slot remembers are the kernel's. kernel
 * NULL: not made yet. The kernels belong to ctx->programs. */
typedef struct clrelu__launch_slot {
    cl_kernel kernel;
    int have_args; /* the values below are what the kernel holds */
    cl_ulong n, off[4];
    clrelu__op_values values;
} clrelu__launch_slot;
#define CLRELU__SIZE_CLASSES  3
#define CLRELU__SLOTS_PER_KEY (3 * 3 * 2)
#define CLRELU__LAUNCH_SLOTS  (4 * 4 * CLRELU__SIZE_CLASSES * CLRELU__SLOTS_PER_KEY)
/* The first slot of the tuning key (pass, dtype, size_class). */
#define CLRELU__KEY_SLOT(pass, dtype, size_class)                                                  \
    ((((pass)*4 + (dtype)) * CLRELU__SIZE_CLASSES + (size_class)) * CLRELU__SLOTS_PER_KEY)

struct clrelu_context {
    pthread_mutex_t lock;     /* programs, kernel arguments, pool */
    pthread_mutex_t err_lock; /* error[] */
    int has_device;
    clrelu_context_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl_ctx;
    cl_command_queue queue;
    cl_uint base_align_bits; /* CL_DEVICE_MEM_BASE_ADDR_ALIGN */
    size_t max_local;        /* the most a work-group may hold here (device and item limits) */
    /* The device's tuning: bias, channel ops and batches use it as it is. */
    clrelu__tuning tuning;
    /* The element-wise passes' tuning per [pass][dtype][size class] (tuning.c): the device's,
     * unless overridden. Read and written with lock held. */
    clrelu__tuning elt_tuning[4][4][CLRELU__SIZE_CLASSES];
    clrelu__program *programs;
    clrelu__launch_slot launch[CLRELU__LAUNCH_SLOTS];
    clrelu__pool pool;
    cl_event scratch_event; /* the last use of pool slot 3 (dbias sums), for the next to wait on */
    clrelu_host_path host_path;
    /* CLRELU_HOST_PATH_AUTO sends host calls moving at least this many bytes to the device
     * (SIZE_MAX: none); from the tuning database, or clrelu_context_set_host_path_threshold. */
    size_t host_auto_min_bytes;
    atomic_ulong round_trips; /* host calls that ran on the device (tests read it) */
    const clrelu__cpu_kernels *cpu;
    unsigned cpu_threads; /* threads a host call may use (CLRELU_NUM_THREADS) */
    /* Why CLRELU_NUM_THREADS is unusable ("" when it is fine): a context on an OpenCL device
     * is still made, and only the work that would run on the CPU path fails, with this. */
    char cpu_threads_error[160];
    size_t thread_min_bytes;     /* a host call moving fewer bytes stays on the calling thread */
    size_t stream_min_bytes;     /* one moving more uses non-temporal stores where they help */
    atomic_ulong threaded_calls; /* host calls split over threads (tests read it) */
    atomic_ulong exact_entries;  /* switches to leaky's exact route (cpu/subnormal.h; tests) */
    char error[CLRELU__ERROR_LEN];
};

/* error.c: record a message (on the calling thread, and on ctx when it is not NULL) and
 * return status, so that a failing check reads `return clrelu__fail(ctx, st, "...", ...)`. */
clrelu_status clrelu__fail(clrelu_context *ctx, clrelu_status status, const char *fmt, ...)
    CLRELU__PRINTF(3, 4);
/* Records "<what> failed: CL_NAME (code)" and returns the status that code maps to. */
clrelu_status clrelu__cl_fail(clrelu_context *ctx, cl_int err, const char *what);
const char *clrelu__cl_error_name(cl_int err);

/* On an OpenCL error, record it, set st and jump to label: the one cleanup path of a call. */
#define CLRELU__CL_TRY(ctx, st, label, what, call)                                                 \
    do {                                                                                           \
        cl_int clrelu__e = (call);                                                                 \
        if (clrelu__e != CL_SUCCESS) {                                                             \
            (st) = clrelu__cl_fail((ctx), clrelu__e, (what));                                      \
            goto label;                                                                            \
        }                                                                                          \
    } while (0)

/* device_spec.c: one OpenCL device as the device spec sees it (the strings OpenCL reports). */
typedef struct clrelu__spec_device {
    unsigned p, d; /* its indices, in clGetPlatformIDs / clGetDeviceIDs order */
    int is_gpu;
    char platform_name[128], platform_vendor[128], device_vendor[128], device_name[128];
} clrelu__spec_device;
/* Chooses the device spec names among devs[0..n) (listed in P:D order; n_platforms is for
 * messages): sets *chosen to its index, or records why not and returns
 * CLRELU_ERROR_DEVICE_NOT_FOUND or CLRELU_ERROR_DEVICE_AMBIGUOUS. origin says where spec came
 * from ("device_spec", "CLRELU_DEVICE"). spec is not NULL and not "cpu" (the CPU path). */
clrelu_status clrelu__spec_choose(const char *spec, const char *origin,
                                  const clrelu__spec_device *devs, size_t n, unsigned n_platforms,
                                  size_t *chosen);
/* "present: 0:0 'name' on 'platform', ..." (or "no OpenCL device is present"), for messages. */
void clrelu__spec_describe(const clrelu__spec_device *devs, size_t n, char *buf, size_t len);

/* context.c: vendor tuning is chosen here, once per context. */
void clrelu__choose_tuning(clrelu_context *ctx);
/* tuning.c: every element-wise key back to ctx->tuning (context creation). */
void clrelu__reset_elt_tuning(clrelu_context *ctx);
/* Applies the tuning database for ctx's device (CLRELU_TUNING_DB, else the cache directory's
 * tuning-<hash>.json), or warns once on stderr why it is ignored. Never fails. */
void clrelu__load_tuning_db(clrelu_context *ctx);
/* Where that database is for ctx; 0 when there is nowhere (the cache off, no home). */
int clrelu__tuning_db_path(const clrelu_context *ctx, char *buf, size_t len);
/* The grid-stride cap in groups for groups_per_cu on ctx's device (0: SIZE_MAX, no cap). */
size_t clrelu__max_groups(const clrelu_context *ctx, unsigned groups_per_cu);
/* The size class (clrelu_size_class) of n elements. */
int clrelu__size_class(size_t n);
/* CLRELU_OK when the CPU path can run on ctx; else fails fn naming CLRELU_NUM_THREADS. */
clrelu_status clrelu__check_cpu_path(clrelu_context *ctx, const char *fn);
/* Tests only (link clrelu_static): the device behaves as if it had no cl_khr_fp64. */
void clrelu__hide_fp64_for_testing(clrelu_context *ctx);

/* program.c: the kernel named kernel_name of the kernels built with options; builds the
 * program on first use. "name@tag" is a kernel object of its own for kernel name (its
 * arguments are set apart from name's). Call with ctx->lock held. */
clrelu_status clrelu__get_kernel(clrelu_context *ctx, const char *fn, const char *options,
                                 const char *kernel_name, cl_kernel *out);
void clrelu__programs_release(clrelu_context *ctx);

/* cache.c: the program of n_sources source strings (lengths as clCreateProgramWithSource
 * takes them) built with options: from the persistent binary cache (CLRELU_CACHE_DIR) when it
 * holds a valid entry that the driver accepts, else from source, then stored there. The cache
 * never fails a build; name (e.g. "relu.cl") and fn only label error messages. */
clrelu_status clrelu__cache_build(clrelu_context *ctx, const char *fn, const char *name,
                                  cl_uint n_sources, const char *const *sources,
                                  const size_t *lengths, const char *options, cl_program *out);
/* The cache's directory: CLRELU_CACHE_DIR, else $XDG_CACHE_HOME/clrelu, else
 * $HOME/.cache/clrelu; 0 when the cache is off ("off", or nowhere to put it). */
int clrelu__cache_dir(char *buf, size_t len);
/* FNV-1a 64: the key's, the sources' and the payload's hash. */
#define CLRELU__HASH64_SEED UINT64_C(0xcbf29ce484222325)
uint64_t clrelu__hash64(uint64_t h, const void *data, size_t len);
/* An entry's header bytes, and where in it the payload's hash is (tests forge entries). */
#define CLRELU__CACHE_HEADER           40
#define CLRELU__CACHE_OFF_PAYLOAD_HASH 32
/* What the cache did, counted over the process (tests prove which path a build took). */
typedef struct clrelu__cache_stats {
    unsigned long hits;           /* built from a valid entry */
    unsigned long misses;         /* no entry */
    unsigned long rejected;       /* an entry that failed its checks (short, corrupt, foreign) */
    unsigned long binary_refused; /* a valid entry the driver refused */
    unsigned long stores;         /* entries written */
    unsigned long store_failures; /* entries not written (no binary, read-only directory) */
} clrelu__cache_stats;
void clrelu__cache_stats_get(clrelu__cache_stats *out);

/* buffer.c: a pooled device buffer of at least bytes in slot. Call with ctx->lock held. */
clrelu_status clrelu__pool_get(clrelu_context *ctx, const char *fn, int slot, size_t bytes,
                               cl_mem *out);
void clrelu__pool_release(clrelu_context *ctx);

/* ops.c: checks and the launch, shared with host_api.c. */

/* A checked descriptor, reduced to what kernels need. */
typedef struct clrelu__op {
    int pass; /* CLRELU__PASS_* (cpu/cpu.h) */
    int op;   /* CR_RELU, CR_LEAKY, CR_CLIPPED */
    int dtype;
    int blend; /* CR_PLAIN, CR_SCALE, CR_BLEND */
    size_t elsize;
    clrelu__params params;
} clrelu__op;

/* Checks desc for pass (CLRELU__PASS_FWD or _FWD_MASK for forward calls; _BWD for backward
 * calls, which becomes _BWD_MASK when desc->grad_from says so) and fills *out. */
clrelu_status clrelu__check_desc(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                 int pass, clrelu__op *out);
/* The checks of a cl_mem call before its buffers: ctx, desc (into *op), a device, the wait
 * list. */
clrelu_status clrelu__check_call(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                                 int pass, clrelu__op *op, cl_uint n_wait, const cl_event *wait);

/* One buffer argument as the caller named it. */
typedef struct clrelu__buf_arg {
    const char *name;     /* "x" */
    const char *off_name; /* "x_off" */
    cl_mem mem;
    size_t off; /* elements (a mask: bits) */
    int output;
    int is_mask;
    /* Filled by clrelu__check_buffer: the memory the window is in (the buffer, or the parent of
     * a sub-buffer: two handles on one memory) and its bytes there. */
    cl_mem root;
    size_t begin, end;
} clrelu__buf_arg;
/* Not NULL, of ctx's cl_context, off + n within CL_MEM_SIZE without overflow, writable if an
 * output; fills begin and end. */
clrelu_status clrelu__check_buffer(clrelu_context *ctx, const char *fn, size_t n, size_t elsize,
                                   clrelu__buf_arg *a);
/* What clrelu__check_buffer asks the driver about a buffer (valid, of ctx's cl_context). */
typedef struct clrelu__mem_info {
    cl_mem mem; /* the buffer these are of; NULL: none yet */
    cl_context context;
    size_t size;
    cl_mem_flags flags;
    cl_mem root;   /* the buffer, or a sub-buffer's parent */
    size_t origin; /* a sub-buffer's byte offset in root */
} clrelu__mem_info;
clrelu_status clrelu__query_mem(clrelu_context *ctx, const char *fn, const char *name, cl_mem mem,
                                clrelu__mem_info *mi);
/* mem_cache.c: clrelu__query_mem's answers, kept per cl_mem until the buffer is destroyed
 * (a destructor callback forgets them). get: 1 and *out filled when mem is known. */
int clrelu__mem_cache_get(cl_mem mem, clrelu__mem_info *out);
void clrelu__mem_cache_put(const clrelu__mem_info *mi);
/* Tests only (link clrelu_static): whether mem's answers are kept. */
int clrelu__mem_cache_holds_for_testing(cl_mem mem);
/* clrelu__check_buffer reusing *cache when it is of a->mem (many tensors in one buffer ask the
 * driver once), and filling it when not. */
clrelu_status clrelu__check_buffer_with(clrelu_context *ctx, const char *fn, size_t n,
                                        size_t elsize, clrelu__buf_arg *a, clrelu__mem_info *cache);
/* An output may share bytes with another array only exactly (in place), also through a
 * sub-buffer. */
clrelu_status clrelu__check_overlap(clrelu_context *ctx, const char *fn, size_t n,
                                    const clrelu__buf_arg *out, const clrelu__buf_arg *in);
/* Elements per vector for elsize on ctx's device; the program options for op with it; the
 * kernel arguments every kernel ends with (slope, ceilings, alpha, beta) from arg on (the
 * ceilings in the compute domain when compute_domain, as the bias kernels need); the
 * global size for items work-items' worth of work. t is ctx->tuning, or an element-wise key's. */
unsigned clrelu__vector_width(const clrelu__tuning *t, size_t elsize);
void clrelu__program_options(const clrelu__tuning *t, const clrelu__op *op, unsigned vec,
                             char *options, size_t len);
clrelu_status clrelu__set_op_args(clrelu_context *ctx, const char *fn, cl_kernel k, cl_uint arg,
                                  const clrelu__op *op, int compute_domain);
size_t clrelu__global_size(const clrelu__tuning *t, size_t items);

/* CLRELU_ERROR_UNSUPPORTED where ctx's device cannot run op (f64 without cl_khr_fp64). */
clrelu_status clrelu__check_device_dtype(clrelu_context *ctx, const char *fn, const clrelu__op *op);
/* Enqueues the kernel for op on n elements of already-checked buffers, given in the kernel's
 * argument order (forward: x, y[, mask]; backward: dy, src or mask, dx); offs count elements,
 * except a mask's, which counts 32-bit words. Call with ctx->lock held. */
clrelu_status clrelu__launch_locked(clrelu_context *ctx, const char *fn, const clrelu__op *op,
                                    size_t n, int n_bufs, const cl_mem *mems, const size_t *offs,
                                    cl_uint n_wait, const cl_event *wait, cl_event *done);

/* bias.c: enqueues k_sum (named name in messages), the second kernel of a gradient sum, over
 * items work-items after the event after; its event becomes ctx->scratch_event (the next use
 * of pool slot 3 waits on it) and, retained, *done when done is not NULL. Call with ctx->lock
 * held. */
clrelu_status clrelu__enqueue_scratch_sum(clrelu_context *ctx, const char *fn, cl_kernel k_sum,
                                          const char *name, size_t items, cl_event after,
                                          cl_event *done);

/* host_api.c: tests only (link clrelu_static): the largest chunk of a host round trip. */
void clrelu__set_round_trip_chunk_for_testing(size_t bytes);
/* test_hooks.c, compiled into the tests that use it: ctx's threading threshold
 * (CLRELU__THREAD_MIN_BYTES by default), so that small arrays cross it. */
void clrelu__set_thread_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
/* ... its non-temporal-store threshold (3/4 of the last-level cache by default) ... */
void clrelu__set_stream_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
/* ... and how many host calls on ctx were split over more than one thread. */
unsigned long clrelu__threaded_calls_for_testing(clrelu_context *ctx);
unsigned long clrelu__round_trips_for_testing(clrelu_context *ctx);
unsigned long clrelu__exact_entries_for_testing(clrelu_context *ctx);

/* kernel_sources.c, generated from the .cl files in kernels/ */
struct clrelu__kernel_source {
    const char *name;
    const char *text;
    size_t length;
};
extern const struct clrelu__kernel_source clrelu__kernel_sources[];

#endif
