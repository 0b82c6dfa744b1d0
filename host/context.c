/* SPDX-License-Identifier: Apache-2.0 */
/* Device discovery and choice (the device spec, CLRELU_DEVICE: device_spec.c says what a spec
 * means), contexts clrelu creates or wraps, and the per-device launch tuning. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MAX_PLATFORMS 32
#define MAX_DEVICES   64

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR (-1001) /* cl_khr_icd: no platform installed */
#endif

/* ---------------------------------------------------------------------------------------------
 * Enumeration and the device spec
 * ------------------------------------------------------------------------------------------ */

typedef struct found_device {
    cl_platform_id platform;
    cl_device_id device;
    unsigned p, d;
} found_device;

/* A string query into buf, truncated to fit: OpenCL refuses (CL_INVALID_VALUE) a buffer
 * shorter than the whole string, so a longer one is read whole and cut. "" on failure. */
#define STRING_QUERY(get, obj, what, buf, len)                                                     \
    do {                                                                                           \
        size_t need = 0;                                                                           \
        (buf)[0] = '\0';                                                                           \
        err = get((obj), (what), 0, NULL, &need);                                                  \
        if (err == CL_SUCCESS && need <= (len)) {                                                  \
            err = get((obj), (what), (len), (buf), NULL);                                          \
        } else if (err == CL_SUCCESS) {                                                            \
            char *whole = malloc(need);                                                            \
            err = whole ? get((obj), (what), need, whole, NULL) : CL_OUT_OF_HOST_MEMORY;           \
            if (err == CL_SUCCESS)                                                                 \
                memcpy((buf), whole, (len));                                                       \
            free(whole);                                                                           \
        }                                                                                          \
        if (err != CL_SUCCESS)                                                                     \
            (buf)[0] = '\0';                                                                       \
        (buf)[(len)-1] = '\0';                                                                     \
    } while (0)

static cl_int platform_string(cl_platform_id p, cl_platform_info what, char *buf, size_t len) {
    cl_int err;
    STRING_QUERY(clGetPlatformInfo, p, what, buf, len);
    return err;
}

static cl_int device_string(cl_device_id d, cl_device_info what, char *buf, size_t len) {
    cl_int err;
    STRING_QUERY(clGetDeviceInfo, d, what, buf, len);
    return err;
}

static cl_device_type device_type(cl_device_id d) {
    cl_device_type t = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS)
        return 0;
    return t;
}

/* Why enumeration came up short: a query that failed for a reason other than "there is none"
 * (a driver out of memory must not read as "no device is present"). */
typedef struct enum_error {
    cl_int err; /* CL_SUCCESS: nothing failed */
    char what[64];
} enum_error;

/* Every OpenCL device of every platform, in (platform, device) index order. No platform at
 * all (no ICD installed) is an empty list, not an error; other failures are noted in *fault
 * (the first one) and the platform is skipped. */
static size_t enumerate(found_device *out, size_t cap, cl_uint *n_platforms, enum_error *fault) {
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    fault->err = CL_SUCCESS;
    fault->what[0] = '\0';
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (err != CL_SUCCESS) {
        if (err != CL_PLATFORM_NOT_FOUND_KHR) {
            fault->err = err;
            snprintf(fault->what, sizeof fault->what, "clGetPlatformIDs");
        }
        np = 0;
    }
    if (np > MAX_PLATFORMS)
        np = MAX_PLATFORMS;
    *n_platforms = np;
    size_t count = 0;
    for (cl_uint p = 0; p < np; ++p) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd);
        if (err != CL_SUCCESS) {
            if (err != CL_DEVICE_NOT_FOUND && fault->err == CL_SUCCESS) {
                fault->err = err;
                snprintf(fault->what, sizeof fault->what, "clGetDeviceIDs(platform %u)",
                         (unsigned)p);
            }
            continue;
        }
        if (nd > MAX_DEVICES)
            nd = MAX_DEVICES;
        for (cl_uint d = 0; d < nd && count < cap; ++d)
            out[count++] = (found_device){plats[p], devs[d], p, d};
    }
    return count;
}

/* Resolves a spec other than "cpu" to a device (host/device_spec.c says what a spec means).
 * *is_cpu_path is set when the default spec (NULL) finds no GPU. */
static clrelu_status resolve(const char *spec, const char *origin, found_device *chosen,
                             int *is_cpu_path) {
    found_device devs[MAX_PLATFORMS * 4];
    cl_uint np = 0;
    enum_error fault;
    size_t count = enumerate(devs, CLRELU__ARRAY_LEN(devs), &np, &fault);
    *is_cpu_path = 0;
    /* What the spec sees of each device (on the heap: a caller's thread may have a small
     * stack). A string that cannot be read stays empty and matches nothing. The strings are
     * read only when a name is to be matched or a message to be written: a P:D spec touches
     * nothing more of OpenCL than it needs. */
    clrelu__spec_device *seen = calloc(count ? count : 1, sizeof *seen);
    if (!seen)
        return clrelu__fail(NULL, CLRELU_ERROR_OUT_OF_MEMORY,
                            "clrelu_context_create: out of host memory listing %zu devices", count);
    const int by_type = spec == NULL || strcasecmp(spec, "gpu") == 0;
    for (size_t i = 0; i < count; ++i) {
        seen[i].p = devs[i].p;
        seen[i].d = devs[i].d;
        seen[i].is_gpu = by_type && (device_type(devs[i].device) & CL_DEVICE_TYPE_GPU) != 0;
    }

    clrelu_status st = CLRELU_OK;
    size_t at = 0;
    if (spec == NULL) {
        /* The default: the first GPU, else the CPU path. */
        at = count;
        for (size_t i = 0; i < count && at == count; ++i)
            if (seen[i].is_gpu)
                at = i;
        if (at == count && fault.err == CL_SUCCESS)
            *is_cpu_path = 1;
        else if (at == count)
            st = CLRELU_ERROR_DEVICE_NOT_FOUND;
    } else {
        st = clrelu__spec_choose(spec, origin, seen, count, (unsigned)np, &at);
        if (st != CLRELU_OK) {
            for (size_t i = 0; i < count; ++i) {
                clrelu__spec_device *v = &seen[i];
                platform_string(devs[i].platform, CL_PLATFORM_NAME, v->platform_name,
                                sizeof v->platform_name);
                platform_string(devs[i].platform, CL_PLATFORM_VENDOR, v->platform_vendor,
                                sizeof v->platform_vendor);
                device_string(devs[i].device, CL_DEVICE_VENDOR, v->device_vendor,
                              sizeof v->device_vendor);
                device_string(devs[i].device, CL_DEVICE_NAME, v->device_name,
                              sizeof v->device_name);
            }
            st = clrelu__spec_choose(spec, origin, seen, count, (unsigned)np, &at);
        }
    }
    free(seen);
    if (st == CLRELU_OK) {
        if (!*is_cpu_path)
            *chosen = devs[at];
        return CLRELU_OK;
    }
    /* When the device was not found, a failed query may be why: say so, not "not found". */
    if (fault.err != CL_SUCCESS && st == CLRELU_ERROR_DEVICE_NOT_FOUND) {
        char what[160];
        snprintf(what, sizeof what, "clrelu_context_create: %s '%s': %s", origin,
                 spec ? spec : "(default)", fault.what);
        return clrelu__cl_fail(NULL, fault.err, what);
    }
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Context life
 * ------------------------------------------------------------------------------------------ */

static clrelu_context *context_new(clrelu_status *st) {
    clrelu_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        *st = clrelu__fail(NULL, CLRELU_ERROR_OUT_OF_MEMORY,
                           "clrelu_context_create: out of host memory for the context");
        return NULL;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->err_lock, NULL);
    ctx->host_path = CLRELU_HOST_PATH_CPU;
    ctx->host_auto_min_bytes = SIZE_MAX;

    const char *isa = getenv("CLRELU_CPU_ISA");
    char why[256];
    ctx->cpu = clrelu__cpu_select(isa && *isa ? isa : NULL, why, sizeof why);
    if (!ctx->cpu) {
        *st = clrelu__fail(NULL, CLRELU_ERROR_ISA_UNAVAILABLE, "clrelu_context_create: %s", why);
        clrelu_context_release(ctx);
        return NULL;
    }
    ctx->info.kind = CLRELU_DEVICE_KIND_SIMD;
    snprintf(ctx->info.id, sizeof ctx->info.id, "cpu");
    snprintf(ctx->info.device, sizeof ctx->info.device, "%s", clrelu__cpu_brand());
    snprintf(ctx->info.cpu_isa, sizeof ctx->info.cpu_isa, "%s", ctx->cpu->isa);
    ctx->info.has_fp64 = 1;
    ctx->thread_min_bytes = CLRELU__THREAD_MIN_BYTES;
    ctx->stream_min_bytes = clrelu__cpu_stream_min_bytes();
    /* A bad CLRELU_NUM_THREADS concerns the CPU path alone: it is kept as the reason the CPU
     * path cannot run, and fails a context that is nothing but the CPU path, or a host call
     * that would run there, never an OpenCL device's work. */
    const char *nt = getenv("CLRELU_NUM_THREADS");
    ctx->cpu_threads = clrelu__cpu_count();
    if (nt && *nt) {
        char *end;
        unsigned long v = strtoul(nt, &end, 10);
        if (*end || nt[0] == '-' || v < 1 || v > CLRELU__MAX_THREADS) {
            snprintf(ctx->cpu_threads_error, sizeof ctx->cpu_threads_error,
                     "CLRELU_NUM_THREADS = '%.40s' is not a thread count from 1 to %d", nt,
                     CLRELU__MAX_THREADS);
            v = 1;
        }
        ctx->cpu_threads = (unsigned)v;
    }
    if (ctx->cpu_threads > CLRELU__MAX_THREADS)
        ctx->cpu_threads = CLRELU__MAX_THREADS;
    ctx->info.compute_units = ctx->cpu_threads;
    *st = CLRELU_OK;
    return ctx;
}

clrelu_status clrelu__check_cpu_path(clrelu_context *ctx, const char *fn) {
    if (!ctx->cpu_threads_error[0])
        return CLRELU_OK;
    return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT, "%s: %s, so the CPU path cannot run%s",
                        fn, ctx->cpu_threads_error,
                        ctx->has_device ? " (the context's OpenCL device can: "
                                          "clrelu_context_set_host_path(ctx, "
                                          "CLRELU_HOST_PATH_DEVICE))"
                                        : "");
}

/* Reads what the context's device is, and chooses its tuning. A query that fails fails the
 * context (fn names the call): a context must not describe its device wrongly, nor choose
 * its kernels from a guess. */
static clrelu_status fill_device_info(clrelu_context *ctx, const char *fn) {
    clrelu_context_info *info = &ctx->info;
    cl_device_type t = 0;
    cl_uint cu = 0;
    cl_device_fp_config fp64 = 0;
    const struct {
        cl_device_info param;
        const char *name;
        size_t size;
        void *value;
    } fixed[] = {
        {CL_DEVICE_TYPE, "CL_DEVICE_TYPE", sizeof t, &t},
        {CL_DEVICE_MAX_COMPUTE_UNITS, "CL_DEVICE_MAX_COMPUTE_UNITS", sizeof cu, &cu},
        {CL_DEVICE_GLOBAL_MEM_SIZE, "CL_DEVICE_GLOBAL_MEM_SIZE", sizeof info->global_mem,
         &info->global_mem},
        {CL_DEVICE_MAX_MEM_ALLOC_SIZE, "CL_DEVICE_MAX_MEM_ALLOC_SIZE", sizeof info->max_alloc,
         &info->max_alloc},
        {CL_DEVICE_DOUBLE_FP_CONFIG, "CL_DEVICE_DOUBLE_FP_CONFIG", sizeof fp64, &fp64},
        {CL_DEVICE_MEM_BASE_ADDR_ALIGN, "CL_DEVICE_MEM_BASE_ADDR_ALIGN",
         sizeof ctx->base_align_bits, &ctx->base_align_bits},
    };
    char what[128];
    for (size_t i = 0; i < CLRELU__ARRAY_LEN(fixed); ++i) {
        cl_int err =
            clGetDeviceInfo(ctx->device, fixed[i].param, fixed[i].size, fixed[i].value, NULL);
        if (err != CL_SUCCESS) {
            snprintf(what, sizeof what, "%s: clGetDeviceInfo(%s)", fn, fixed[i].name);
            return clrelu__cl_fail(NULL, err, what);
        }
    }
    const struct {
        cl_device_info param;
        const char *name;
        char *buf;
        size_t len;
    } strings[] = {
        {CL_DEVICE_NAME, "CL_DEVICE_NAME", info->device, sizeof info->device},
        {CL_DRIVER_VERSION, "CL_DRIVER_VERSION", info->driver, sizeof info->driver},
    };
    for (size_t i = 0; i < CLRELU__ARRAY_LEN(strings); ++i) {
        cl_int err = device_string(ctx->device, strings[i].param, strings[i].buf, strings[i].len);
        if (err != CL_SUCCESS) {
            snprintf(what, sizeof what, "%s: clGetDeviceInfo(%s)", fn, strings[i].name);
            return clrelu__cl_fail(NULL, err, what);
        }
    }
    cl_int err =
        platform_string(ctx->platform, CL_PLATFORM_NAME, info->platform, sizeof info->platform);
    if (err != CL_SUCCESS) {
        snprintf(what, sizeof what, "%s: clGetPlatformInfo(CL_PLATFORM_NAME)", fn);
        return clrelu__cl_fail(NULL, err, what);
    }
    info->kind = (t & CL_DEVICE_TYPE_GPU)   ? CLRELU_DEVICE_KIND_GPU
                 : (t & CL_DEVICE_TYPE_CPU) ? CLRELU_DEVICE_KIND_CPU
                                            : CLRELU_DEVICE_KIND_ACCELERATOR;
    info->compute_units = cu ? cu : 1;
    info->has_fp64 = fp64 != 0;
    info->platform_id = ctx->platform;
    info->device_id = ctx->device;
    info->context = ctx->cl_ctx;
    info->queue = ctx->queue;
    clrelu__choose_tuning(ctx);
    clrelu__load_tuning_db(ctx);
    return CLRELU_OK;
}

void clrelu__choose_tuning(clrelu_context *ctx) {
    clrelu__tuning *t = &ctx->tuning;
    size_t max_wg = 256, item_sizes[16] = {0};
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    /* (the first dimension is the one the kernels use) */
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_sizes, item_sizes,
                        NULL) == CL_SUCCESS &&
        item_sizes[0] > 0 && item_sizes[0] < max_wg)
        max_wg = item_sizes[0];
    if (max_wg == 0)
        max_wg = 1;
    ctx->max_local = max_wg;
    if (ctx->info.kind == CLRELU_DEVICE_KIND_CPU) {
        /* CPU devices (PoCL, Intel's CPU runtime): one work-group is one task on a core and the
         * compiler vectorises across work-items, which a grid-stride loop defeats. Measured
         * with clrelu-bench on PoCL 3.1 (2 cores, AVX-512) at 2^22..2^24: one 64-byte vector
         * per work-item (16 floats), 64-item groups, no cap reached 90-118% of copy; a cap of 4
         * groups per core reached 12-30%. */
        t->vec_bytes = 64;
        t->local = 64;
        t->groups_per_cu = 0;
        /* PoCL splits a work-group's loop at every barrier; the tiled mask kernel measured
         * 20-40% of copy there, one word per work-item without barriers more. */
        t->mask_words = 1;
        /* Batches: a work-item walks 64 chunks after one search of the table (100 tensors of
         * 4096 floats on PoCL 3.1: 59 us a launch with 64, 67 with 16, 266 with 1, against
         * 38 us for one call on all of their elements). */
        t->batch_run = 64;
    } else {
        /* GPUs: 16 bytes (a float4) per work-item, 256-item groups, a grid-stride cap of 8 groups
         * per compute unit (at 2^22 on an H100 that ran 7.15 us against 8.76 us for one float4 per
         * item; see DESIGN.md). */
        t->vec_bytes = 16;
        t->mask_words = 0;
        t->batch_run = 1;
        t->local = 256;
        t->groups_per_cu = 8;
    }
    if (t->local > max_wg)
        t->local = max_wg;
    /* Experiments: CLRELU_TUNING="vec_bytes,local,groups_per_cu[,mask_words[,batch_run]]"
     * overrides (not a public knob; groups_per_cu >= 1000000 means no cap). tools/ci-oclgrind.sh
     * runs Oclgrind, a GPU, with the CPU devices' settings too: "64,64,1000000,1,64". */
    const char *env = getenv("CLRELU_TUNING");
    unsigned v, l, g, m = (unsigned)t->mask_words, r = t->batch_run;
    int got = env ? sscanf(env, "%u,%u,%u,%u,%u", &v, &l, &g, &m, &r) : 0;
    if (got >= 3 && (v == 16 || v == 32 || v == 64) && l > 0 && l <= max_wg && g > 0 && m <= 1 &&
        r >= 1 && r <= 1024) {
        t->vec_bytes = v;
        t->local = l;
        t->groups_per_cu = g >= 1000000 ? 0 : g;
        t->mask_words = (int)m;
        t->batch_run = r;
    }
    t->max_groups = clrelu__max_groups(ctx, t->groups_per_cu);
    clrelu__reset_elt_tuning(ctx);
}

/* Creates the cl_context and queue on the chosen device. */
static clrelu_status open_device(clrelu_context *ctx, const found_device *f) {
    clrelu_status st = CLRELU_OK;
    cl_int err = CL_SUCCESS;
    ctx->platform = f->platform;
    ctx->device = f->device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)f->platform, 0};
    ctx->cl_ctx = clCreateContext(props, 1, &f->device, NULL, NULL, &err);
    CLRELU__CL_TRY(NULL, st, done, "clrelu_context_create: clCreateContext", err);
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, f->device, 0, &err);
    CLRELU__CL_TRY(NULL, st, done, "clrelu_context_create: clCreateCommandQueue", err);
    ctx->has_device = 1;
    st = fill_device_info(ctx, "clrelu_context_create");
    snprintf(ctx->info.id, sizeof ctx->info.id, "%u:%u", f->p, f->d);
done:
    return st;
}

clrelu_status clrelu_context_create(clrelu_context **out, const char *device_spec) {
    if (!out)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_create: out is NULL");
    *out = NULL;
    const char *origin = "device_spec";
    if (!device_spec || !*device_spec) {
        const char *env = getenv("CLRELU_DEVICE");
        device_spec = env && *env ? env : NULL;
        origin = "CLRELU_DEVICE";
    }

    clrelu_status st;
    clrelu_context *ctx = context_new(&st);
    if (!ctx)
        return st;

    found_device f;
    int cpu_path = device_spec && strcasecmp(device_spec, "cpu") == 0;
    st = cpu_path ? CLRELU_OK : resolve(device_spec, origin, &f, &cpu_path);
    if (st == CLRELU_OK)
        st = cpu_path ? clrelu__check_cpu_path(ctx, "clrelu_context_create") : open_device(ctx, &f);
    if (st != CLRELU_OK) {
        clrelu_context_release(ctx);
        return st;
    }
    *out = ctx;
    return CLRELU_OK;
}

clrelu_status clrelu_context_wrap(clrelu_context **out, cl_context context,
                                  cl_command_queue queue) {
    if (!out)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_wrap: out is NULL");
    *out = NULL;
    if (!context)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_wrap: context is NULL");
    if (!queue)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_wrap: queue is NULL");
    /* Only an invalid handle is the caller's mistake; any other failure is the driver's. */
    cl_uint ndev = 0;
    cl_int err = clGetContextInfo(context, CL_CONTEXT_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err == CL_INVALID_CONTEXT)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_wrap: context is not a valid cl_context (%s)",
                            clrelu__cl_error_name(err));
    if (err != CL_SUCCESS)
        return clrelu__cl_fail(NULL, err, "clrelu_context_wrap: clGetContextInfo(context)");
    cl_context qctx = NULL;
    cl_device_id dev = NULL;
    err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL);
    if (err == CL_INVALID_COMMAND_QUEUE)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_wrap: queue is not a valid cl_command_queue (%s)",
                            clrelu__cl_error_name(err));
    if (err != CL_SUCCESS)
        return clrelu__cl_fail(NULL, err, "clrelu_context_wrap: clGetCommandQueueInfo(queue)");
    if (qctx != context)
        return clrelu__fail(NULL, CLRELU_ERROR_WRONG_CONTEXT,
                            "clrelu_context_wrap: queue belongs to cl_context %p, not to the "
                            "given context %p",
                            (void *)qctx, (void *)context);
    cl_platform_id plat = NULL;
    err = clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL);
    if (err != CL_SUCCESS)
        return clrelu__cl_fail(NULL, err,
                               "clrelu_context_wrap: clGetDeviceInfo(CL_DEVICE_PLATFORM)");

    clrelu_status st;
    clrelu_context *ctx = context_new(&st);
    if (!ctx)
        return st;
    clRetainContext(context);
    clRetainCommandQueue(queue);
    ctx->cl_ctx = context;
    ctx->queue = queue;
    ctx->platform = plat;
    ctx->device = dev;
    ctx->has_device = 1;
    st = fill_device_info(ctx, "clrelu_context_wrap");
    if (st != CLRELU_OK) {
        clrelu_context_release(ctx);
        return st;
    }
    ctx->info.id[0] = '\0';
    /* The same device may be reachable by a spec: say which, so results can name it. */
    found_device devs[MAX_PLATFORMS * 4];
    cl_uint np = 0;
    enum_error fault; /* a failure only leaves the id empty, as for an unlisted device */
    size_t count = enumerate(devs, CLRELU__ARRAY_LEN(devs), &np, &fault);
    for (size_t i = 0; i < count; ++i)
        if (devs[i].device == dev)
            snprintf(ctx->info.id, sizeof ctx->info.id, "%u:%u", devs[i].p, devs[i].d);
    *out = ctx;
    return CLRELU_OK;
}

void clrelu_context_release(clrelu_context *ctx) {
    if (!ctx)
        return;
    clrelu__programs_release(ctx);
    if (ctx->scratch_event)
        clReleaseEvent(ctx->scratch_event);
    clrelu__pool_release(ctx);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->cl_ctx)
        clReleaseContext(ctx->cl_ctx);
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->err_lock);
    free(ctx);
}

clrelu_status clrelu_context_get_info(const clrelu_context *ctx, clrelu_context_info *info,
                                      size_t info_size) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_get_info: ctx is NULL");
    if (!info)
        return clrelu__fail((clrelu_context *)ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_get_info: info is NULL");
    /* This is the first version of the struct: a caller's struct is this one or, from a later
     * header, a larger one whose first sizeof bytes are this one's fields. */
    if (info_size < sizeof(clrelu_context_info))
        return clrelu__fail((clrelu_context *)ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_get_info: info_size = %zu is smaller than a "
                            "clrelu_context_info (%zu bytes)",
                            info_size, sizeof(clrelu_context_info));
    *info = ctx->info;
    return CLRELU_OK;
}

void clrelu__hide_fp64_for_testing(clrelu_context *ctx) {
    ctx->info.has_fp64 = 0;
}

clrelu_status clrelu_context_set_host_path(clrelu_context *ctx, clrelu_host_path path) {
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_set_host_path: ctx is NULL");
    if (path != CLRELU_HOST_PATH_CPU && path != CLRELU_HOST_PATH_DEVICE &&
        path != CLRELU_HOST_PATH_AUTO)
        return clrelu__fail(ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "clrelu_context_set_host_path: path = %d is not a clrelu_host_path",
                            (int)path);
    if (path == CLRELU_HOST_PATH_DEVICE && !ctx->has_device)
        return clrelu__fail(ctx, CLRELU_ERROR_NO_DEVICE,
                            "clrelu_context_set_host_path: path = CLRELU_HOST_PATH_DEVICE, but "
                            "this context is the CPU path only (device spec 'cpu')");
    ctx->host_path = path;
    return CLRELU_OK;
}

clrelu_status clrelu_context_get_host_path_threshold(const clrelu_context *ctx, size_t *min_bytes) {
    static const char fn[] = "clrelu_context_get_host_path_threshold";
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    if (!min_bytes)
        return clrelu__fail((clrelu_context *)ctx, CLRELU_ERROR_INVALID_ARGUMENT,
                            "%s: min_bytes is NULL", fn);
    *min_bytes = ctx->host_auto_min_bytes;
    return CLRELU_OK;
}

clrelu_status clrelu_context_set_host_path_threshold(clrelu_context *ctx, size_t min_bytes) {
    static const char fn[] = "clrelu_context_set_host_path_threshold";
    if (!ctx)
        return clrelu__fail(NULL, CLRELU_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
    if (min_bytes != SIZE_MAX && !ctx->has_device)
        return clrelu__fail(ctx, CLRELU_ERROR_NO_DEVICE,
                            "%s: min_bytes = %zu, but this context is the CPU path only (device "
                            "spec 'cpu'): it has no device to send calls to",
                            fn, min_bytes);
    ctx->host_auto_min_bytes = min_bytes;
    return CLRELU_OK;
}
