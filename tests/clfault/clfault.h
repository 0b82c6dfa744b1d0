/* SPDX-License-Identifier: Apache-2.0 */
/* clfault: a test-only OpenCL interposer. Linked into a test ahead of libOpenCL, it defines the
 * cl* entry points, forwards each to the real one (dlsym(RTLD_NEXT)), and can make the k-th
 * call fail with a realistic error instead; it also counts the OpenCL objects created,
 * retained and released through it, so a test can assert that nothing leaked.
 *
 * Only calls made while counting is on are numbered and can fail; objects are tracked always.
 * A failing create or enqueue does nothing and returns the error (NULL and *errcode_ret for
 * creates). A failing retain or release still takes effect and then reports the error: the
 * point is that clrelu survives the status, not that the driver leaks. */
#ifndef CLFAULT_H
#define CLFAULT_H

#include <stddef.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

typedef enum clfault_kind {
    CLFAULT_CONTEXT,
    CLFAULT_QUEUE,
    CLFAULT_MEM,
    CLFAULT_PROGRAM,
    CLFAULT_KERNEL,
    CLFAULT_EVENT,
    CLFAULT_KINDS
} clfault_kind;

/* Forgets every count, the trace, the object counts and any planned fault; counting off. */
void clfault_reset(void);

/* Numbers (and may fail) the calls made from now on (on = 1), or stops doing so (on = 0). */
void clfault_count(int on);

/* Fails the k-th counted call (1-based) with err; with persistent, every counted call from
 * the k-th on fails (a device that is gone). k = 0 plans nothing. */
void clfault_plan(unsigned long k, cl_int err, int persistent);

/* Counted calls so far, and the name of the k-th (1-based; NULL past the trace's end). */
unsigned long clfault_calls(void);
const char *clfault_call_name(unsigned long k);

/* How many calls the plan has failed so far. */
unsigned long clfault_injected(void);

/* The errors a driver really returns from the entry point name, most common first; returns
 * how many (at most cap) were written to out. */
size_t clfault_errors(const char *name, cl_int *out, size_t cap);

/* Objects of kind created or retained and not yet released through the interposer since
 * the last reset (negative: released more often than obtained). */
long clfault_live(clfault_kind kind);
const char *clfault_kind_name(clfault_kind kind);

/* "CL_OUT_OF_RESOURCES" for CL_OUT_OF_RESOURCES, for every error clfault_errors returns. */
const char *clfault_error_name(cl_int err);

/* 1 if the interposer wraps the entry point name. */
int clfault_wraps(const char *name);

/* Every entry point it wraps, NULL-terminated. */
extern const char *const clfault_entry_points[];

#endif
