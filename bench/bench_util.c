/* SPDX-License-Identifier: Apache-2.0 */
/* What clrelu-bench and clrelu-tune share: the clock, medians, JSON strings, timed calls. */
#include "bench_util.h"

#include <stdlib.h>
#include <time.h>

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

cl_int bench_profiling_queue(cl_device_id device, cl_context *context, cl_command_queue *queue) {
    cl_int err;
    *queue = NULL;
    *context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        *context = NULL;
        return err;
    }
    *queue = clCreateCommandQueue(*context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        clReleaseContext(*context);
        *context = NULL;
        *queue = NULL;
    }
    return err;
}

double bench_event_seconds(cl_event ev, cl_profiling_info from, cl_profiling_info to) {
    cl_ulong a = 0, b = 0;
    if (clGetEventProfilingInfo(ev, from, sizeof a, &a, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(ev, to, sizeof b, &b, NULL) != CL_SUCCESS)
        return 0.0;
    return b > a ? (double)(b - a) * 1e-9 : 0.0;
}

cl_int bench_timed_call(bench_enqueue_fn fn, void *arg, double *kernel, double *wall) {
    cl_event ev = NULL;
    double t0 = bench_now();
    cl_int err = fn(arg, &ev);
    if (err != CL_SUCCESS)
        return err;
    err = clWaitForEvents(1, &ev);
    *wall = bench_now() - t0;
    *kernel = bench_event_seconds(ev, CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END);
    clReleaseEvent(ev);
    return err;
}

cl_int bench_batch(cl_command_queue q, bench_enqueue_fn fn, void *arg, int batch,
                   double *per_call) {
    cl_int err = CL_SUCCESS;
    double t0 = bench_now();
    for (int i = 0; i < batch && err == CL_SUCCESS; ++i)
        err = fn(arg, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(q);
    *per_call = batch > 0 ? (bench_now() - t0) / batch : 0;
    return err;
}
