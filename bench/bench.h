/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench: what the measuring rooms (OpenCL devices, the CPU path), the output writers
 * and the driver share. */
#ifndef CLRELU_BENCH_H
#define CLRELU_BENCH_H

#include <stdio.h>

#include "bench_util.h"
#include "clrelu/clrelu.h"
#include "kit.h"

#define BENCH_MAX_SPECS 16
#define BENCH_MAX_SIZES 64

typedef enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON, BENCH_GNUPLOT } bench_format;

/* --tuning: which launch settings an OpenCL device's element-wise ops run with. */
typedef enum bench_tuning {
    BENCH_TUNING_BOTH,    /* the context's (a tuning database's) and, where they differ, the
                             device's defaults, one after the other per configuration */
    BENCH_TUNING_TUNED,   /* the context's only */
    BENCH_TUNING_DEFAULT, /* the device's defaults only, whatever a database says */
} bench_tuning;

/* The version of the JSON output's layout ("schema_version"); docs/bench.md describes it. */
#define BENCH_SCHEMA_VERSION 3

typedef struct bench_opts {
    const char *specs[BENCH_MAX_SPECS]; /* --device; none: every device and the CPU path */
    int n_specs;
    const kit_op *ops[32];
    int n_ops;
    const kit_dtype *dtypes[8];
    int n_dtypes;
    size_t sizes[BENCH_MAX_SIZES];
    int n_sizes;
    double min_time; /* seconds of timed calls per configuration, at least */
    int repeat;      /* timed calls per configuration, at least */
    int batch;       /* back-to-back launches timed with one wait */
    kit_data data;   /* --data: the inputs every configuration runs on */
    int host_trip;   /* measure host-array round trips */
    bench_tuning tuning;
    bench_format format;
    const char *output;
    const char *compare;
    double fail_slower; /* --fail-slower PCT: exit 3 when a configuration is PCT% slower */
    int quick, quiet, list;
    const char *self; /* argv[0], where /proc/self/exe is not readable */
} bench_opts;

typedef struct bench_device {
    char id[16]; /* a spec that selects it again: "cpu", "P:D" */
    /* As the driver reports them, not truncated to clrelu_context_info's fields: --compare
     * matches devices on platform, name and driver. */
    char platform[256];
    char platform_version[256]; /* OpenCL devices only */
    char name[256];
    char driver[256];
    const char *kind; /* "gpu", "cpu", "accelerator", "simd" */
    unsigned compute_units;
    unsigned long long global_mem;
    double launch_latency_s; /* empty kernel, START - QUEUED (clpeak's figure); 0 on the CPU */
    double launch_wall_s;    /* empty kernel, enqueue to completion seen by the host */
    /* Host time of one clrelu_forward on cl_mem (f32 relu, n = 1024) and of a bare
     * clSetKernelArg x2 + clEnqueueNDRangeKernel of an equivalent float4 kernel, back to back on
     * the same queue (medians; 0 on the CPU path). */
    double launch_call_s, launch_bare_s;
    /* clrelu_context_create to the first forward call's completion in a new process, with an
     * empty and with a filled binary cache (medians; 0 on the CPU path) */
    double first_call_cold_s, first_call_warm_s;
    /* 100 tensors of 4096 f32: 100 clrelu_forward calls against one clrelu_forward_batch, wall
     * time from the first enqueue to completion (medians); tensors in one buffer (an arena, one
     * launch) and in a buffer each (13 launches of 8 buffers). */
    double many_single_s, many_batch_arena_s, many_batch_separate_s;
    double many_sync_s; /* the 100 calls each waited for, as a synchronous caller would */
    /* f32 relu forward at n = 1024 (L1-resident), median ns per call as a user makes it (the
     * CPU path: clrelu_forward_host; oneDNN: execute and wait), and for the CPU path the same
     * kernel called directly through its table (no checks, no floating-point setup): the
     * per-call cost is the difference. 0 where not measured. */
    double call_1024_s, direct_call_1024_s;
} bench_device;

typedef struct bench_result {
    char device[16];
    const char *op;
    const char *dtype;
    size_t n;
    double kernel_min, kernel_median, kernel_max; /* seconds per call */
    double wall_median;                           /* enqueue + wait, one call at a time */
    double batch_s;                               /* batch_n launches, one wait at the end */
    int batch_n;
    int samples;
    double bytes;     /* bytes the op must move */
    double gbps;      /* bytes / kernel_median */
    double copy_gbps; /* the same device's best copy of the same bytes, this run */
    double pct_of_copy;
    /* OpenCL element-wise ops: "tuned" (a setting from a tuning database) or "default" (the
     * device's), and the setting; NULL and struct_size 0 where no launch is tuned (the CPU
     * path, oneDNN, the channel ops). */
    const char *tuning;
    clrelu_tuning setting;
} bench_result;

typedef struct bench_trip {
    char device[16];
    const char *op;
    const char *dtype;
    size_t n;
    double device_s; /* write, op, read through clrelu_*_host with CLRELU_HOST_PATH_DEVICE */
    double cpu_s;    /* the CPU path on the same arrays */
} bench_trip;

typedef struct bench_run {
    bench_device *devices;
    int n_devices;
    bench_result *results;
    int n_results, cap_results;
    bench_trip *trips;
    int n_trips, cap_trips;
    int failures; /* configurations whose output was wrong or whose call failed */
    int total_steps, step;
} bench_run;

/* The driver's helpers for the measuring rooms. */
void bench_progress(const bench_opts *o, bench_run *run, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bench_result *bench_add_result(bench_run *run);
bench_trip *bench_add_trip(bench_run *run);
/* Time left for a measurement loop: keep going while fewer than repeat calls or less than
 * min_time have passed, up to a hard cap. */
int bench_more(const bench_opts *o, int calls, double elapsed);

/* Measuring rooms: each fills run->devices[index] and appends its results. Returns 0, or -1
 * when the device could not be measured at all (the reason on stderr). */
int bench_opencl(const bench_opts *o, const char *spec, bench_run *run, int index);
/* The host room: the CPU path (run->devices[cpu_index]) and oneDNN (onednn_index), either one
 * -1 when not measured, on the same arrays, sample by sample interleaved with the copy. */
int bench_cpu(const bench_opts *o, bench_run *run, int cpu_index, int onednn_index);

/* bench_onednn.c, built when CMake finds oneDNN (CLRELU_BENCH_HAVE_ONEDNN): oneDNN's eltwise
 * ReLU on host arrays, with threads OpenMP threads. */
typedef struct bench_onednn bench_onednn;
typedef struct bench_onednn_call bench_onednn_call;
bench_onednn *bench_onednn_open(int threads, char *why, size_t why_len);
void bench_onednn_close(bench_onednn *p);
/* Fills the device entry: id "onednn", kind "simd", oneDNN's version and ISA. */
void bench_onednn_describe(int threads, const char *cpu_name, bench_device *bd);
/* A primitive for op on n elements of the kit's arrays (in0: x or dy; in1: x or y; out), or
 * NULL with the reason when oneDNN has no such op (masks, f64, blending). */
bench_onednn_call *bench_onednn_prepare(bench_onednn *p, const kit_op *op, const clrelu_desc *d,
                                        size_t n, const void *in0, const void *in1, void *out,
                                        char *why, size_t why_len);
int bench_onednn_run(bench_onednn_call *c); /* 0, or -1 when execution failed */
void bench_onednn_release(bench_onednn_call *c);
/* First-call latency cold and warm on an OpenCL device, into bd; 0, or -1 when a probe failed
 * (the reason on stderr). bench_first_call_probe is the child's side: main runs it for the
 * hidden option --first-call-probe SPEC and exits with what it returns. */
int bench_first_call(const bench_opts *o, const char *spec, bench_device *bd);
int bench_first_call_probe(const char *spec);

/* describe.c: the machine. */
const char *bench_cl_error(cl_int err); /* "CL_OUT_OF_RESOURCES" */
/* Platform, platform version, device name and driver of an OpenCL device, into bd. */
void bench_describe_cl(cl_platform_id platform, cl_device_id device, bench_device *bd);
/* Every OpenCL device present, id ("P:D") and strings filled; returns how many (<= cap). */
int bench_cl_devices(bench_device *out, int cap);
/* The CPU's model name (/proc/cpuinfo, else the CPU path's brand string). */
void bench_cpu_model(char *buf, size_t len);

/* Output. */
void bench_write(const bench_opts *o, const bench_run *run, FILE *out, int argc, char **argv);
/* Prints ratios against a baseline run (baseline.h; data: this run's --data, named beside the
 * baseline's), matching devices by platform, name and
 * driver; warns on stderr about devices it cannot match or whose driver differs. Fills
 * *matched and, with fail_slower > 0, *slower: the configurations more than fail_slower
 * percent slower than the baseline. Returns the number flagged beyond the noise. */
struct bench_baseline;
int bench_compare(const bench_run *run, const char *data, const struct bench_baseline *base,
                  double fail_slower, FILE *out, int *matched, int *slower);

#endif
