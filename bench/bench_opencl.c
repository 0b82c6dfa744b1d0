/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench on one OpenCL device: the ops through clrelu on a wrapped profiling queue, the
 * device's own copy bandwidth at the same byte counts (the faster of two copy-kernel shapes
 * and clEnqueueCopyBuffer), an empty kernel's launch latency, and host-array round trips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char bench_kernels[] =
    "__kernel void copy_v4(__global const float4 *x, __global float4 *y, const ulong n) {\n"
    "    for (ulong i = get_global_id(0); i < n; i += get_global_size(0))\n"
    "        y[i] = x[i];\n"
    "}\n"
    "__kernel void copy_v16(__global const float16 *x, __global float16 *y, const ulong n) {\n"
    "    for (ulong i = get_global_id(0); i < n; i += get_global_size(0))\n"
    "        y[i] = x[i];\n"
    "}\n"
    "__kernel void empty(void) {}\n"
    /* clrelu's forward kernel's arguments (n, x, x_off, y, y_off, then the op's values): a
     * driver's cost per argument is the same for both. */
    "__kernel void relu_v4(const ulong n, __global const float4 *x, const ulong x_off,\n"
    "                      __global float4 *y, const ulong y_off, const float slope,\n"
    "                      const ulong ceil_out, const ulong ceil_pass, const float alpha,\n"
    "                      const float beta) {\n"
    "    ulong i = get_global_id(0);\n"
    "    if (i < n)\n"
    "        y[y_off + i] = fmax(x[x_off + i], (float4)(0.0f));\n"
    "}\n";

typedef struct dev {
    clrelu_context *ctx; /* wraps context + queue below */
    clrelu_context_info info;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel copy_v4, copy_v16, empty, relu_v4;
    cl_mem in[2], out, mask; /* in[1]: x, y or the mask, as the op reads */
    size_t buf_bytes;
    void *host_x, *host_in[2], *host_out, *host_expected;
    uint32_t *host_mask, *host_expected_mask;
} dev;

typedef struct stats {
    double kmin, kmed, kmax, wall, batch_s;
    int samples, batch_n;
} stats;

static void summarize(double *k, double *w, int n, stats *s) {
    s->samples = n;
    s->wall = bench_median(w, n);
    s->kmed = bench_median(k, n);
    s->kmin = k[0];
    s->kmax = k[n - 1];
}

/* Warm-up, then one call at a time (profiling time and wall time of each), then a batch of
 * back-to-back launches with one wait. With a reference (ref_fn), each timed call of fn is
 * followed by one of ref_fn, so that both see the same state of a shared, noisy machine. */
static cl_int measure(const bench_opts *o, dev *d, bench_enqueue_fn fn, void *arg,
                      bench_enqueue_fn ref_fn, void *ref_arg, int batch, stats *s, stats *ref) {
    enum { CAP = 2000 };
    static double k[CAP], w[CAP], rk[CAP], rw[CAP];
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 2 && err == CL_SUCCESS; ++i) {
        err = fn(arg, NULL);
        if (ref_fn && err == CL_SUCCESS)
            err = ref_fn(ref_arg, NULL);
    }
    if (err != CL_SUCCESS || (err = clFinish(d->queue)) != CL_SUCCESS)
        return err;
    int n = 0;
    double start = bench_now();
    while (n < CAP && bench_more(o, n, bench_now() - start)) {
        if ((err = bench_timed_call(fn, arg, &k[n], &w[n])) != CL_SUCCESS)
            return err;
        if (ref_fn && (err = bench_timed_call(ref_fn, ref_arg, &rk[n], &rw[n])) != CL_SUCCESS)
            return err;
        n++;
    }
    summarize(k, w, n, s);
    if (ref_fn)
        summarize(rk, rw, n, ref);
    s->batch_n = batch;
    s->batch_s = 0;
    if (batch > 0) {
        double per_call = 0;
        err = bench_batch(d->queue, fn, arg, batch, &per_call);
        s->batch_s = per_call * batch;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------------
 * Copy references
 * ------------------------------------------------------------------------------------------ */

/* The copy shapes tried; the fastest per byte count is the reference. They include the
 * shapes clrelu's kernels use (16-wide one vector per item on CPU devices, a capped
 * grid-stride float4 on GPUs), so the reference is never weaker than the op's own shape. */
typedef struct copy_shape {
    int vec16;  /* float16 (else float4) */
    int capped; /* grid-stride over a capped grid (else one vector per work-item) */
    int api;    /* clEnqueueCopyBuffer */
} copy_shape;

static const copy_shape copy_shapes[] = {
    {0, 0, 0}, {0, 1, 0}, {1, 0, 0}, {1, 1, 0}, {0, 0, 1},
};

typedef struct copy_arg {
    dev *d;
    const copy_shape *shape;
    size_t bytes;
} copy_arg;

static cl_int enqueue_copy(void *p, cl_event *ev) {
    copy_arg *a = p;
    dev *d = a->d;
    if (a->shape->api)
        return clEnqueueCopyBuffer(d->queue, d->in[0], d->out, 0, 0, a->bytes, 0, NULL, ev);
    size_t vec_bytes = a->shape->vec16 ? 64 : 16;
    cl_kernel k = a->shape->vec16 ? d->copy_v16 : d->copy_v4;
    cl_ulong nv = a->bytes / vec_bytes;
    size_t local = d->info.kind == CLRELU_DEVICE_KIND_GPU ? 256 : 64;
    size_t groups = (size_t)(nv / local + (nv % local != 0));
    if (groups == 0)
        groups = 1;
    size_t cap = (size_t)d->info.compute_units * (d->info.kind == CLRELU_DEVICE_KIND_GPU ? 8 : 4);
    if (a->shape->capped && groups > cap)
        groups = cap;
    size_t global = groups * local;
    cl_int err = clSetKernelArg(k, 0, sizeof(cl_mem), &d->in[0]);
    err |= clSetKernelArg(k, 1, sizeof(cl_mem), &d->out);
    err |= clSetKernelArg(k, 2, sizeof nv, &nv);
    if (err != CL_SUCCESS)
        return CL_INVALID_KERNEL_ARGS;
    return clEnqueueNDRangeKernel(d->queue, k, 1, NULL, &global, &local, 0, NULL, ev);
}

/* Which copy shape is fastest for bytes, from a short pre-pass; cached per byte count since
 * forward and backward at different n share some. The reference itself is then timed call by
 * call next to the op. */
typedef struct copy_cache {
    size_t bytes[256];
    int shape[256];
    int n;
} copy_cache;

static const copy_shape *best_copy_shape(dev *d, copy_cache *cache, size_t bytes) {
    for (int i = 0; i < cache->n; ++i)
        if (cache->bytes[i] == bytes)
            return &copy_shapes[cache->shape[i]];
    bench_opts quick;
    memset(&quick, 0, sizeof quick);
    quick.repeat = 3;
    int best = 0;
    double best_s = 0;
    for (int i = 0; i < (int)(sizeof copy_shapes / sizeof copy_shapes[0]); ++i) {
        copy_arg a = {d, &copy_shapes[i], bytes};
        stats s;
        if (measure(&quick, d, enqueue_copy, &a, NULL, NULL, 0, &s, NULL) != CL_SUCCESS ||
            s.kmed <= 0)
            continue;
        if (best_s == 0 || s.kmed < best_s) {
            best_s = s.kmed;
            best = i;
        }
    }
    if (cache->n < 256) {
        cache->bytes[cache->n] = bytes;
        cache->shape[cache->n++] = best;
    }
    return &copy_shapes[best];
}

/* ---------------------------------------------------------------------------------------------
 * Ops
 * ------------------------------------------------------------------------------------------ */

typedef struct op_arg {
    dev *d;
    const kit_op *op;
    clrelu_desc desc;
    size_t n;
    clrelu_status st;
} op_arg;

static cl_int enqueue_op(void *p, cl_event *ev) {
    op_arg *a = p;
    dev *d = a->d;
    a->st = kit_run_device(a->op, d->ctx, &a->desc, a->n, d->in[0], 0, d->in[1], 0, d->out, 0,
                           d->mask, 0, 0, NULL, ev);
    return a->st == CLRELU_OK ? CL_SUCCESS : CL_INVALID_OPERATION;
}

/* The op's inputs for n elements on the host: x and dy from --data, in[1] made from x as the
 * op reads it (x, y = f(x), or the mask of x). */
static void make_host_inputs(const bench_opts *o, dev *d, const kit_op *op, const clrelu_desc *desc,
                             size_t n) {
    size_t es = clrelu_dtype_size(desc->dtype);
    kit_fill_data(&o->data, desc->dtype, d->host_x, n, 1234u);
    if (op->kind == KIT_FWD || op->kind == KIT_FWD_MASK)
        memcpy(d->host_in[0], d->host_x, n * es);
    else
        kit_fill_data(&o->data, desc->dtype, d->host_in[0], n, 4321u);
    kit_make_in1(op, desc, n, d->host_x, d->host_in[1]);
}

/* The same, written to the device, with the output zeroed; 0, or -1 with the reason on stderr. */
static int write_inputs(const bench_opts *o, dev *d, const kit_op *op, const clrelu_desc *desc,
                        size_t n) {
    size_t es = clrelu_dtype_size(desc->dtype);
    int fwd = op->kind == KIT_FWD || op->kind == KIT_FWD_MASK;
    make_host_inputs(o, d, op, desc, n);
    size_t in1_bytes = op->kind == KIT_BWD_MASK ? clrelu_mask_words(n) * 4 : n * es;
    /* The fill pattern is one element: n * es bytes are a multiple of it for any n. */
    const uint64_t zero = 0;
    const char *what = "clEnqueueWriteBuffer";
    cl_int err =
        clEnqueueWriteBuffer(d->queue, d->in[0], CL_TRUE, 0, n * es, d->host_in[0], 0, NULL, NULL);
    if (err == CL_SUCCESS && !fwd)
        err = clEnqueueWriteBuffer(d->queue, d->in[1], CL_TRUE, 0, in1_bytes, d->host_in[1], 0,
                                   NULL, NULL);
    if (err == CL_SUCCESS) {
        what = "clEnqueueFillBuffer";
        err = clEnqueueFillBuffer(d->queue, d->out, &zero, es, 0, n * es, 0, NULL, NULL);
    }
    if (err == CL_SUCCESS) {
        what = "clFinish";
        err = clFinish(d->queue);
    }
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: %s n=%zu on %s: writing the inputs: %s failed: %s\n",
                op->name, n, d->info.id, what, bench_cl_error(err));
        return -1;
    }
    return 0;
}

/* Runs the op once and compares the output (and mask) with the host reference, bit for bit. */
static int check_output(dev *d, op_arg *a, const kit_dtype *dt) {
    size_t bytes = a->n * dt->size, words = clrelu_mask_words(a->n);
    cl_event ev = NULL;
    if (enqueue_op(a, &ev) != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: %s %s on %s failed: %s\n", a->op->name, dt->name, d->info.id,
                clrelu_context_error(d->ctx));
        return -1;
    }
    clWaitForEvents(1, &ev);
    clReleaseEvent(ev);
    cl_int err =
        clEnqueueReadBuffer(d->queue, d->out, CL_TRUE, 0, bytes, d->host_out, 0, NULL, NULL);
    if (err == CL_SUCCESS && a->op->kind == KIT_FWD_MASK)
        err = clEnqueueReadBuffer(d->queue, d->mask, CL_TRUE, 0, words * 4, d->host_mask, 0, NULL,
                                  NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: %s %s n=%zu on %s: reading the output failed: %s\n",
                a->op->name, dt->name, a->n, d->info.id, bench_cl_error(err));
        return -1;
    }
    memset(d->host_expected, 0, bytes); /* the old output: zeros */
    kit_reference(a->op, &a->desc, a->n, d->host_in[0], d->host_in[1], d->host_expected,
                  d->host_expected_mask);
    if (memcmp(d->host_out, d->host_expected, bytes) != 0 ||
        (a->op->kind == KIT_FWD_MASK &&
         memcmp(d->host_mask, d->host_expected_mask, words * 4) != 0)) {
        fprintf(stderr,
                "clrelu-bench: WRONG OUTPUT: %s %s n=%zu on %s differs from the host reference; "
                "no speed is reported for it\n",
                a->op->name, dt->name, a->n, d->info.id);
        return -1;
    }
    return 0;
}

static int setup(const bench_opts *o, dev *d, const char *spec, size_t max_bytes) {
    clrelu_context *probe = NULL;
    if (clrelu_context_create(&probe, spec) != CLRELU_OK) {
        fprintf(stderr, "clrelu-bench: device %s: %s\n", spec, clrelu_last_error());
        return -1;
    }
    clrelu_context_get_info(probe, &d->info, sizeof d->info);
    if (d->info.kind == CLRELU_DEVICE_KIND_SIMD) {
        clrelu_context_release(probe);
        return 1; /* the spec names the CPU path */
    }
    cl_int err = bench_profiling_queue(d->info.device_id, &d->context, &d->queue);
    clrelu_context_release(probe);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: device %s: cannot create a profiling queue: %s (%d)\n", spec,
                bench_cl_error(err), (int)err);
        return -1;
    }
    if (clrelu_context_wrap(&d->ctx, d->context, d->queue) != CLRELU_OK) {
        fprintf(stderr, "clrelu-bench: device %s: %s\n", spec, clrelu_last_error());
        return -1;
    }
    char id[16];
    memcpy(id, d->info.id, sizeof id);
    clrelu_context_get_info(d->ctx, &d->info, sizeof d->info);
    memcpy(d->info.id, id, sizeof id);

    const char *src = bench_kernels;
    d->program = clCreateProgramWithSource(d->context, 1, &src, NULL, &err);
    if (err == CL_SUCCESS)
        err = clBuildProgram(d->program, 1, &d->info.device_id, "", NULL, NULL);
    if (err == CL_SUCCESS)
        d->copy_v4 = clCreateKernel(d->program, "copy_v4", &err);
    if (err == CL_SUCCESS)
        d->copy_v16 = clCreateKernel(d->program, "copy_v16", &err);
    if (err == CL_SUCCESS)
        d->empty = clCreateKernel(d->program, "empty", &err);
    if (err == CL_SUCCESS)
        d->relu_v4 = clCreateKernel(d->program, "relu_v4", &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: device %s: building the copy kernels failed: %s (%d)\n",
                spec, bench_cl_error(err), (int)err);
        return -1;
    }

    d->buf_bytes = max_bytes;
    size_t mask_bytes = max_bytes / 16 + 64; /* a bit per element of at least 2 bytes */
    for (int i = 0; i < 2 && err == CL_SUCCESS; ++i)
        d->in[i] = clCreateBuffer(d->context, CL_MEM_READ_WRITE, max_bytes, NULL, &err);
    if (err == CL_SUCCESS)
        d->out = clCreateBuffer(d->context, CL_MEM_READ_WRITE, max_bytes, NULL, &err);
    if (err == CL_SUCCESS)
        d->mask = clCreateBuffer(d->context, CL_MEM_READ_WRITE, mask_bytes, NULL, &err);
    d->host_x = malloc(max_bytes);
    d->host_in[0] = malloc(max_bytes);
    d->host_in[1] = malloc(max_bytes);
    d->host_out = malloc(max_bytes);
    d->host_expected = malloc(max_bytes);
    d->host_mask = malloc(mask_bytes);
    d->host_expected_mask = malloc(mask_bytes);
    if (err != CL_SUCCESS || !d->host_x || !d->host_in[0] || !d->host_in[1] || !d->host_out ||
        !d->host_expected || !d->host_mask || !d->host_expected_mask) {
        fprintf(stderr, "clrelu-bench: device %s: cannot allocate 4 x %zu bytes: %s (%d)\n", spec,
                max_bytes, bench_cl_error(err), (int)err);
        return -1;
    }
    /* Touch everything before timing: inputs hold data mixed with special values. */
    (void)o;
    return 0;
}

static void teardown(dev *d) {
    for (int i = 0; i < 2; ++i)
        if (d->in[i])
            clReleaseMemObject(d->in[i]);
    if (d->out)
        clReleaseMemObject(d->out);
    if (d->mask)
        clReleaseMemObject(d->mask);
    free(d->host_x);
    free(d->host_in[0]);
    free(d->host_in[1]);
    free(d->host_out);
    free(d->host_expected);
    free(d->host_mask);
    free(d->host_expected_mask);
    if (d->copy_v4)
        clReleaseKernel(d->copy_v4);
    if (d->copy_v16)
        clReleaseKernel(d->copy_v16);
    if (d->empty)
        clReleaseKernel(d->empty);
    if (d->relu_v4)
        clReleaseKernel(d->relu_v4);
    if (d->program)
        clReleaseProgram(d->program);
    clrelu_context_release(d->ctx);
    if (d->queue)
        clReleaseCommandQueue(d->queue);
    if (d->context)
        clReleaseContext(d->context);
}

static cl_int enqueue_empty(void *p, cl_event *ev) {
    dev *d = p;
    size_t one = 1;
    return clEnqueueNDRangeKernel(d->queue, d->empty, 1, NULL, &one, &one, 0, NULL, ev);
}

static void launch_latency(const bench_opts *o, dev *d, bench_device *bd) {
    enum { N = 200 };
    double lat[N], wall[N];
    int n = 0;
    (void)o;
    for (int i = 0; i < 5; ++i)
        enqueue_empty(d, NULL);
    clFinish(d->queue);
    for (; n < N; ++n) {
        cl_event ev = NULL;
        double t0 = bench_now();
        if (enqueue_empty(d, &ev) != CL_SUCCESS)
            break;
        clFinish(d->queue);
        wall[n] = bench_now() - t0;
        lat[n] = bench_event_seconds(ev, CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_START);
        clReleaseEvent(ev);
    }
    bd->launch_latency_s = n ? bench_median(lat, n) : 0;
    bd->launch_wall_s = n ? bench_median(wall, n) : 0;
}

/* What clrelu_forward costs the host on a cl_mem (f32 relu, n = 1024) against a bare launch
 * of an equivalent float4 kernel with the same arguments on the same queue (its scalars set
 * once; per call clSetKernelArg x2 for the buffers, clEnqueueNDRangeKernel):
 * host time of the calls only, OVERHEAD_CALLS back to back per round, the queue drained between
 * rounds, the two interleaved so that both see the same noise; medians over the rounds. */
#define OVERHEAD_N     1024
#define OVERHEAD_CALLS 200
static void launch_overhead(dev *d, bench_device *bd) {
    enum { ROUNDS = 21 };
    clrelu_desc desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    double call[ROUNDS], bare[ROUNDS];
    size_t global = OVERHEAD_N / 4, local = 64;
    cl_ulong n4 = OVERHEAD_N / 4, zero = 0;
    float f0 = 0.0f, f1 = 1.0f;
    int ok = 1;
    const struct {
        cl_uint index;
        size_t size;
        const void *value;
    } scalars[] = {{0, sizeof n4, &n4}, {2, sizeof zero, &zero}, {4, sizeof zero, &zero},
                   {5, sizeof f0, &f0}, {6, sizeof zero, &zero}, {7, sizeof zero, &zero},
                   {8, sizeof f1, &f1}, {9, sizeof f0, &f0}};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; ++i)
        ok = ok && clSetKernelArg(d->relu_v4, scalars[i].index, scalars[i].size,
                                  scalars[i].value) == CL_SUCCESS;
    for (int r = -2; ok && r < ROUNDS; ++r) { /* two warm-up rounds */
        double t0 = bench_now();
        for (int i = 0; ok && i < OVERHEAD_CALLS; ++i)
            ok = clrelu_forward(d->ctx, &desc, OVERHEAD_N, d->in[0], 0, d->out, 0, 0, NULL, NULL) ==
                 CLRELU_OK;
        double t1 = bench_now();
        ok = ok && clFinish(d->queue) == CL_SUCCESS;
        double t2 = bench_now();
        for (int i = 0; ok && i < OVERHEAD_CALLS; ++i)
            ok = clSetKernelArg(d->relu_v4, 1, sizeof(cl_mem), &d->in[0]) == CL_SUCCESS &&
                 clSetKernelArg(d->relu_v4, 3, sizeof(cl_mem), &d->out) == CL_SUCCESS &&
                 clEnqueueNDRangeKernel(d->queue, d->relu_v4, 1, NULL, &global, &local, 0, NULL,
                                        NULL) == CL_SUCCESS;
        double t3 = bench_now();
        ok = ok && clFinish(d->queue) == CL_SUCCESS;
        if (r >= 0) {
            call[r] = (t1 - t0) / OVERHEAD_CALLS;
            bare[r] = (t3 - t2) / OVERHEAD_CALLS;
        }
    }
    if (!ok) {
        fprintf(stderr, "clrelu-bench: %s: launch overhead measurement failed: %s\n", d->info.id,
                clrelu_context_error(d->ctx));
        return;
    }
    bd->launch_call_s = bench_median(call, ROUNDS);
    bd->launch_bare_s = bench_median(bare, ROUNDS);
}

/* 100 tensors of 4096 elements: one call per tensor against one batched call. */
#define MANY   100
#define MANY_N 4096
static void many_tensors(const bench_opts *o, dev *d, bench_device *bd) {
    clrelu_desc desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_int err = CL_SUCCESS;
    cl_mem arena_x = clCreateBuffer(d->context, CL_MEM_READ_WRITE, MANY * MANY_N * 4, NULL, &err);
    cl_mem arena_y = clCreateBuffer(d->context, CL_MEM_READ_WRITE, MANY * MANY_N * 4, NULL, &err);
    cl_mem sx[MANY], sy[MANY];
    clrelu_tensor ax[MANY], ay[MANY], tx[MANY], ty[MANY];
    for (int i = 0; i < MANY; ++i) {
        sx[i] = clCreateBuffer(d->context, CL_MEM_READ_WRITE, MANY_N * 4, NULL, &err);
        sy[i] = clCreateBuffer(d->context, CL_MEM_READ_WRITE, MANY_N * 4, NULL, &err);
        ax[i] = (clrelu_tensor){arena_x, (size_t)i * MANY_N, MANY_N};
        ay[i] = (clrelu_tensor){arena_y, (size_t)i * MANY_N, MANY_N};
        tx[i] = (clrelu_tensor){sx[i], 0, MANY_N};
        ty[i] = (clrelu_tensor){sy[i], 0, MANY_N};
    }
    enum { REPS = 15 };
    double single[REPS], arena[REPS], separate[REPS], sync[REPS];
    int ok = err == CL_SUCCESS;
    for (int r = -2; ok && r < REPS; ++r) { /* two warm-up rounds */
        double t0 = bench_now();
        for (int i = 0; ok && i < MANY; ++i)
            ok = clrelu_forward(d->ctx, &desc, MANY_N, sx[i], 0, sy[i], 0, 0, NULL, NULL) ==
                 CLRELU_OK;
        ok = ok && clFinish(d->queue) == CL_SUCCESS;
        double t1 = bench_now();
        ok = ok && clrelu_forward_batch(d->ctx, &desc, MANY, ax, ay, 0, NULL, NULL) == CLRELU_OK &&
             clFinish(d->queue) == CL_SUCCESS;
        double t2 = bench_now();
        ok = ok && clrelu_forward_batch(d->ctx, &desc, MANY, tx, ty, 0, NULL, NULL) == CLRELU_OK &&
             clFinish(d->queue) == CL_SUCCESS;
        double t3 = bench_now();
        for (int i = 0; ok && i < MANY; ++i)
            ok = clrelu_forward(d->ctx, &desc, MANY_N, sx[i], 0, sy[i], 0, 0, NULL, NULL) ==
                     CLRELU_OK &&
                 clFinish(d->queue) == CL_SUCCESS;
        double t4 = bench_now();
        if (r >= 0) {
            single[r] = t1 - t0;
            arena[r] = t2 - t1;
            separate[r] = t3 - t2;
            sync[r] = t4 - t3;
        }
    }
    if (ok) {
        bd->many_single_s = bench_median(single, REPS);
        bd->many_batch_arena_s = bench_median(arena, REPS);
        bd->many_batch_separate_s = bench_median(separate, REPS);
        bd->many_sync_s = bench_median(sync, REPS);
    } else {
        fprintf(stderr, "clrelu-bench: %s: many-tensor measurement failed: %s\n", d->info.id,
                clrelu_context_error(d->ctx));
    }
    (void)o;
    for (int i = 0; i < MANY; ++i) {
        if (sx[i])
            clReleaseMemObject(sx[i]);
        if (sy[i])
            clReleaseMemObject(sy[i]);
    }
    if (arena_x)
        clReleaseMemObject(arena_x);
    if (arena_y)
        clReleaseMemObject(arena_y);
}

/* Host arrays through the device (write, op, read) against the CPU path on the same arrays. */
static void host_round_trips(const bench_opts *o, dev *d, bench_run *run, const kit_dtype *dt) {
    clrelu_context *cpu = NULL;
    if (clrelu_context_create(&cpu, "cpu") != CLRELU_OK)
        return;
    clrelu_context_set_host_path(d->ctx, CLRELU_HOST_PATH_DEVICE);
    for (int oi = 0; oi < o->n_ops; ++oi) {
        const kit_op *op = o->ops[oi];
        clrelu_desc desc = kit_desc(op, dt->dtype);
        for (int si = 0; si < o->n_sizes; ++si) {
            size_t n = o->sizes[si];
            if (n * dt->size > d->buf_bytes)
                continue;
            bench_progress(o, run, "%s host round trip %s %s n=%zu", d->info.id, op->name, dt->name,
                           n);
            make_host_inputs(o, d, op, &desc, n);
            double tdev[64], tcpu[64];
            int k = 0;
            double start = bench_now();
            while (k < 64 && (k < 3 || bench_more(o, k, bench_now() - start))) {
                double t0 = bench_now();
                if (kit_run_host(op, d->ctx, &desc, n, d->host_in[0], d->host_in[1], d->host_out,
                                 d->host_mask) != CLRELU_OK)
                    break;
                double t1 = bench_now();
                kit_run_host(op, cpu, &desc, n, d->host_in[0], d->host_in[1], d->host_expected,
                             d->host_expected_mask);
                tdev[k] = t1 - t0;
                tcpu[k] = bench_now() - t1;
                k++;
            }
            int same = k > 0 && memcmp(d->host_out, d->host_expected, n * dt->size) == 0 &&
                       (op->kind != KIT_FWD_MASK ||
                        memcmp(d->host_mask, d->host_expected_mask, clrelu_mask_words(n) * 4) == 0);
            if (!same) {
                fprintf(stderr, "clrelu-bench: host round trip %s %s n=%zu on %s: %s\n", op->name,
                        dt->name, n, d->info.id, k ? "WRONG OUTPUT" : clrelu_context_error(d->ctx));
                run->failures++;
                continue;
            }
            bench_trip *t = bench_add_trip(run);
            snprintf(t->device, sizeof t->device, "%s", d->info.id);
            t->op = op->name;
            t->dtype = dt->name;
            t->n = n;
            t->device_s = bench_median(tdev, k);
            t->cpu_s = bench_median(tcpu, k);
        }
    }
    clrelu_context_set_host_path(d->ctx, CLRELU_HOST_PATH_CPU);
    clrelu_context_release(cpu);
}

/* The element-wise pass whose launch setting a kit op runs with (a clrelu_pass; the channel
 * ops take forward's or backward's), or -1 for none. */
static int kit_pass(const kit_op *op) {
    switch (op->kind) {
    case KIT_FWD:
    case KIT_CH_FWD:
        return CLRELU_PASS_FORWARD;
    case KIT_CH_BWD:
        return CLRELU_PASS_BACKWARD;
    case KIT_FWD_MASK:
        return CLRELU_PASS_FORWARD_MASK;
    case KIT_BWD_X:
    case KIT_BWD_Y:
        return CLRELU_PASS_BACKWARD;
    case KIT_BWD_MASK:
        return CLRELU_PASS_BACKWARD_MASK;
    default:
        return -1;
    }
}

/* The context's settings (a tuning database's where it loaded one) and the device's defaults,
 * per [pass][the run's dtype index][size class]. */
typedef struct bench_tunings {
    clrelu_tuning tuned[4][8][3], def[4][8][3];
} bench_tunings;

static int same_setting(const clrelu_tuning *a, const clrelu_tuning *b) {
    return a->vec_bytes == b->vec_bytes && a->local == b->local &&
           a->groups_per_cu == b->groups_per_cu;
}

/* Fills *t, leaving the context with its own settings. 0, or -1 (on stderr) when a setting
 * cannot be read: every configuration then runs with what the context has. */
static int read_tunings(const bench_opts *o, dev *d, bench_tunings *t) {
    int rc = 0;
    for (int p = 0; p < 4; ++p)
        for (int di = 0; di < o->n_dtypes; ++di)
            for (int c = 0; c < 3; ++c) {
                const clrelu_dtype dt = o->dtypes[di]->dtype;
                clrelu_tuning *tu = &t->tuned[p][di][c], *df = &t->def[p][di][c];
                tu->struct_size = df->struct_size = sizeof *tu;
                if (clrelu_context_get_tuning(d->ctx, p, dt, c, tu) != CLRELU_OK ||
                    clrelu_context_override_tuning(d->ctx, p, dt, c, NULL) != CLRELU_OK ||
                    clrelu_context_get_tuning(d->ctx, p, dt, c, df) != CLRELU_OK ||
                    clrelu_context_override_tuning(d->ctx, p, dt, c, tu) != CLRELU_OK) {
                    if (!rc)
                        fprintf(stderr, "clrelu-bench: %s: reading its tuning: %s\n", d->info.id,
                                clrelu_context_error(d->ctx));
                    *df = *tu;
                    rc = -1;
                }
            }
    return rc;
}

/* One configuration measured against the same device's copy of the same bytes, added to the
 * run (tuning and setting: what its launches used, NULL where none is chosen). */
static void measure_config(const bench_opts *o, dev *d, bench_run *run, const kit_op *op,
                           const kit_dtype *dt, size_t n, copy_cache *cache, const char *tuning,
                           const clrelu_tuning *setting) {
    op_arg a = {d, op, kit_desc(op, dt->dtype), n, CLRELU_OK};
    if (write_inputs(o, d, op, &a.desc, n) != 0 || check_output(d, &a, dt) != 0) {
        run->failures++;
        return;
    }
    /* The copy reference moves the same bytes: half read, half written. */
    double bytes = kit_bytes(op, n, dt->size);
    size_t copy_bytes = (size_t)(bytes / 2) & ~(size_t)63;
    copy_arg ca = {d, best_copy_shape(d, cache, copy_bytes), copy_bytes};
    stats s, cs;
    if (measure(o, d, enqueue_op, &a, enqueue_copy, &ca, o->batch, &s, &cs) != CL_SUCCESS) {
        fprintf(stderr, "clrelu-bench: %s %s n=%zu on %s failed: %s\n", op->name, dt->name, n,
                d->info.id, clrelu_context_error(d->ctx));
        run->failures++;
        return;
    }
    bench_result *r = bench_add_result(run);
    snprintf(r->device, sizeof r->device, "%s", d->info.id);
    r->op = op->name;
    r->dtype = dt->name;
    r->n = n;
    r->kernel_min = s.kmin;
    r->kernel_median = s.kmed;
    r->kernel_max = s.kmax;
    r->wall_median = s.wall;
    r->batch_s = s.batch_s;
    r->batch_n = s.batch_n;
    r->samples = s.samples;
    r->bytes = bytes;
    r->gbps = s.kmed > 0 ? r->bytes / s.kmed / 1e9 : 0;
    r->copy_gbps = cs.kmed > 0 ? 2.0 * (double)copy_bytes / cs.kmed / 1e9 : 0;
    r->pct_of_copy = r->copy_gbps > 0 ? 100.0 * r->gbps / r->copy_gbps : 0;
    r->tuning = tuning;
    if (setting)
        r->setting = *setting;
}

int bench_opencl(const bench_opts *o, const char *spec, bench_run *run, int index) {
    size_t max_bytes = 64;
    for (int di = 0; di < o->n_dtypes; ++di)
        for (int si = 0; si < o->n_sizes; ++si)
            if (o->sizes[si] * o->dtypes[di]->size > max_bytes)
                max_bytes = o->sizes[si] * o->dtypes[di]->size;
    /* The copy reference moves half of what an op moves: 1.5x the bytes of one array for a
     * backward, more for the channel ops (x, z and y, plus the per-channel arrays). */
    max_bytes = max_bytes / 2 * 3 + 64;
    for (int oi = 0; oi < o->n_ops; ++oi)
        for (int di = 0; di < o->n_dtypes; ++di)
            for (int si = 0; si < o->n_sizes; ++si) {
                double half = kit_bytes(o->ops[oi], o->sizes[si], o->dtypes[di]->size) / 2;
                if (half + 64 > (double)max_bytes)
                    max_bytes = (size_t)half + 128;
            }
    dev d;
    memset(&d, 0, sizeof d);
    int st = setup(o, &d, spec, max_bytes);
    if (st != 0) {
        teardown(&d);
        return st;
    }
    bench_device *bd = &run->devices[index];
    snprintf(bd->id, sizeof bd->id, "%s", d.info.id);
    bench_describe_cl(d.info.platform_id, d.info.device_id, bd);
    bd->kind = d.info.kind == CLRELU_DEVICE_KIND_GPU   ? "gpu"
               : d.info.kind == CLRELU_DEVICE_KIND_CPU ? "cpu"
                                                       : "accelerator";
    bd->compute_units = d.info.compute_units;
    bd->global_mem = d.info.global_mem;
    launch_latency(o, &d, bd);
    launch_overhead(&d, bd);
    many_tensors(o, &d, bd);
    bench_progress(o, run, "%s first call, cold and warm", d.info.id);
    if (bench_first_call(o, d.info.id, bd) != 0)
        run->failures++;

    bench_tunings tunings;
    if (read_tunings(o, &d, &tunings) != 0)
        run->failures++;
    copy_cache *cache = calloc(1, sizeof *cache);
    for (int di = 0; di < o->n_dtypes; ++di) {
        const kit_dtype *dt = o->dtypes[di];
        if (dt->dtype == CLRELU_DTYPE_F64 && !d.info.has_fp64) {
            fprintf(stderr, "clrelu-bench: %s has no cl_khr_fp64: f64 not measured there\n",
                    d.info.id);
            run->step += o->n_sizes * o->n_ops * (o->host_trip ? 2 : 1);
            continue;
        }
        for (int si = 0; si < o->n_sizes; ++si) {
            size_t n = o->sizes[si];
            for (int oi = 0; oi < o->n_ops; ++oi) {
                const kit_op *op = o->ops[oi];
                bench_progress(o, run, "%s %s %s n=%zu", d.info.id, op->name, dt->name, n);
                const int pass = kit_pass(op);
                if (pass < 0) { /* (no launch setting to choose) */
                    measure_config(o, &d, run, op, dt, n, cache, NULL, NULL);
                    continue;
                }
                const int c = n < CLRELU_SIZE_MEDIUM_MIN ? 0 : n < CLRELU_SIZE_LARGE_MIN ? 1 : 2;
                const clrelu_tuning *tuned = &tunings.tuned[pass][di][c];
                const clrelu_tuning *def = &tunings.def[pass][di][c];
                const int differs = !same_setting(tuned, def);
                if (o->tuning != BENCH_TUNING_TUNED && differs) {
                    /* The defaults first, then the database's, back to back. */
                    clrelu_context_override_tuning(d.ctx, pass, dt->dtype, c, NULL);
                    measure_config(o, &d, run, op, dt, n, cache, "default", def);
                    clrelu_context_override_tuning(d.ctx, pass, dt->dtype, c, tuned);
                    if (o->tuning == BENCH_TUNING_DEFAULT)
                        continue;
                }
                measure_config(o, &d, run, op, dt, n, cache, differs ? "tuned" : "default", tuned);
            }
        }
        if (o->host_trip)
            host_round_trips(o, &d, run, dt);
    }
    free(cache);
    teardown(&d);
    return 0;
}
