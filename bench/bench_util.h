/* SPDX-License-Identifier: Apache-2.0 */
/* What clrelu-bench and clrelu-tune share: the clock, medians, JSON strings, and how one
 * OpenCL call is timed (the tuner confirms a setting the way the bench then measures it). */
#ifndef CLRELU_BENCH_UTIL_H
#define CLRELU_BENCH_UTIL_H

#include <stdio.h>

#include "clrelu/clrelu.h"

/* Seconds on a monotonic clock. */
double bench_now(void);
/* The median of v[0..n) (sorts v); 0 when n is 0. */
double bench_median(double *v, int n);
/* s as a JSON string, quoted and escaped. */
void bench_json_string(FILE *f, const char *s);

/* One measured thing: enqueue one call, returning its event where ev is not NULL. */
typedef cl_int (*bench_enqueue_fn)(void *arg, cl_event *ev);

/* A context of its own on device, and a queue in it that profiles (what the timings need):
 * CL_SUCCESS, or the error, with nothing left to release. */
cl_int bench_profiling_queue(cl_device_id device, cl_context *context, cl_command_queue *queue);
/* Seconds from one profiling point of ev to another; 0 where the queue does not profile. */
double bench_event_seconds(cl_event ev, cl_profiling_info from, cl_profiling_info to);
/* One call on its own: enqueued with an event and waited for. *kernel: the event's profiling
 * start to end (the queue must profile; 0 otherwise); *wall: enqueue to the wait's return. */
cl_int bench_timed_call(bench_enqueue_fn fn, void *arg, double *kernel, double *wall);
/* batch calls back to back with one clFinish on q: *per_call is the seconds per call. */
cl_int bench_batch(cl_command_queue q, bench_enqueue_fn fn, void *arg, int batch, double *per_call);

#endif
