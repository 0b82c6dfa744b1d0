/* SPDX-License-Identifier: Apache-2.0 */
/* clfault: see clfault.h. Every wrapper comes from one of a few shapes (a query or other call
 * that returns cl_int, a create that returns an object through errcode_ret, an enqueue that
 * may return an event, a retain or release), listed once below. */
#define _GNU_SOURCE
#include "clfault.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_MAX 8192

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int counting;
static unsigned long calls, fail_at, injected;
static int fail_persistent;
static cl_int fail_err;
static const char *trace[TRACE_MAX];
static long live[CLFAULT_KINDS];

void clfault_reset(void) {
    pthread_mutex_lock(&lock);
    counting = 0;
    calls = fail_at = injected = 0;
    fail_persistent = 0;
    fail_err = CL_SUCCESS;
    memset(trace, 0, sizeof trace);
    memset(live, 0, sizeof live);
    pthread_mutex_unlock(&lock);
}

void clfault_count(int on) {
    pthread_mutex_lock(&lock);
    counting = on;
    pthread_mutex_unlock(&lock);
}

void clfault_plan(unsigned long k, cl_int err, int persistent) {
    pthread_mutex_lock(&lock);
    fail_at = k;
    fail_err = err;
    fail_persistent = persistent;
    pthread_mutex_unlock(&lock);
}

unsigned long clfault_calls(void) {
    pthread_mutex_lock(&lock);
    unsigned long c = calls;
    pthread_mutex_unlock(&lock);
    return c;
}

const char *clfault_call_name(unsigned long k) {
    pthread_mutex_lock(&lock);
    const char *name = k >= 1 && k <= TRACE_MAX ? trace[k - 1] : NULL;
    pthread_mutex_unlock(&lock);
    return name;
}

unsigned long clfault_injected(void) {
    pthread_mutex_lock(&lock);
    unsigned long n = injected;
    pthread_mutex_unlock(&lock);
    return n;
}

long clfault_live(clfault_kind kind) {
    pthread_mutex_lock(&lock);
    long n = live[kind];
    pthread_mutex_unlock(&lock);
    return n;
}

const char *clfault_kind_name(clfault_kind kind) {
    static const char *const names[CLFAULT_KINDS] = {"cl_context", "cl_command_queue", "cl_mem",
                                                     "cl_program", "cl_kernel",        "cl_event"};
    return names[kind];
}

static void track(clfault_kind kind, long delta) {
    pthread_mutex_lock(&lock);
    live[kind] += delta;
    pthread_mutex_unlock(&lock);
}

/* Numbers the call when counting is on; returns the error to inject, or CL_SUCCESS. */
static cl_int enter(const char *name) {
    cl_int err = CL_SUCCESS;
    pthread_mutex_lock(&lock);
    if (counting) {
        ++calls;
        if (calls <= TRACE_MAX)
            trace[calls - 1] = name;
        if (fail_at && (calls == fail_at || (fail_persistent && calls > fail_at))) {
            err = fail_err;
            ++injected;
        }
    }
    pthread_mutex_unlock(&lock);
    return err;
}

/* The next definition of name after this library: libOpenCL's. */
static void *next_symbol(const char *name) {
    void *sym = dlsym(RTLD_NEXT, name);
    if (!sym) {
        fprintf(stderr, "clfault: no %s after the interposer (is libOpenCL linked?)\n", name);
        abort();
    }
    return sym;
}

#define REAL(name)                                                                                 \
    static __typeof__(name) *real_;                                                                \
    if (!real_) {                                                                                  \
        void *sym_ = next_symbol(#name);                                                           \
        memcpy(&real_, &sym_, sizeof real_);                                                       \
    }

/* ---------------------------------------------------------------------------------------------
 * The entry points, by shape
 * ------------------------------------------------------------------------------------------ */

/* Calls that return a cl_int and create nothing: a fault returns the error, no call made. */
#define CLFAULT_PLAIN(X)                                                                           \
    X(clGetPlatformIDs, (cl_uint a, cl_platform_id * b, cl_uint * c), (a, b, c))                   \
    X(clGetPlatformInfo, (cl_platform_id a, cl_platform_info b, size_t c, void *d, size_t *e),     \
      (a, b, c, d, e))                                                                             \
    X(clGetDeviceIDs,                                                                              \
      (cl_platform_id a, cl_device_type b, cl_uint c, cl_device_id * d, cl_uint * e),              \
      (a, b, c, d, e))                                                                             \
    X(clGetDeviceInfo, (cl_device_id a, cl_device_info b, size_t c, void *d, size_t *e),           \
      (a, b, c, d, e))                                                                             \
    X(clGetContextInfo, (cl_context a, cl_context_info b, size_t c, void *d, size_t *e),           \
      (a, b, c, d, e))                                                                             \
    X(clGetCommandQueueInfo,                                                                       \
      (cl_command_queue a, cl_command_queue_info b, size_t c, void *d, size_t *e),                 \
      (a, b, c, d, e))                                                                             \
    X(clGetMemObjectInfo, (cl_mem a, cl_mem_info b, size_t c, void *d, size_t *e),                 \
      (a, b, c, d, e))                                                                             \
    X(clGetProgramInfo, (cl_program a, cl_program_info b, size_t c, void *d, size_t *e),           \
      (a, b, c, d, e))                                                                             \
    X(clGetProgramBuildInfo,                                                                       \
      (cl_program a, cl_device_id b, cl_program_build_info c, size_t d, void *e, size_t *f),       \
      (a, b, c, d, e, f))                                                                          \
    X(clGetKernelInfo, (cl_kernel a, cl_kernel_info b, size_t c, void *d, size_t *e),              \
      (a, b, c, d, e))                                                                             \
    X(clGetKernelWorkGroupInfo,                                                                    \
      (cl_kernel a, cl_device_id b, cl_kernel_work_group_info c, size_t d, void *e, size_t *f),    \
      (a, b, c, d, e, f))                                                                          \
    X(clGetEventInfo, (cl_event a, cl_event_info b, size_t c, void *d, size_t *e),                 \
      (a, b, c, d, e))                                                                             \
    X(clGetEventProfilingInfo, (cl_event a, cl_profiling_info b, size_t c, void *d, size_t *e),    \
      (a, b, c, d, e))                                                                             \
    X(clBuildProgram,                                                                              \
      (cl_program a, cl_uint b, const cl_device_id *c, const char *d,                              \
       void(CL_CALLBACK * e)(cl_program, void *), void *f),                                        \
      (a, b, c, d, e, f))                                                                          \
    X(clSetKernelArg, (cl_kernel a, cl_uint b, size_t c, const void *d), (a, b, c, d))             \
    X(clSetMemObjectDestructorCallback,                                                            \
      (cl_mem a, void(CL_CALLBACK * b)(cl_mem, void *), void *c), (a, b, c))                       \
    X(clWaitForEvents, (cl_uint a, const cl_event *b), (a, b))                                     \
    X(clSetUserEventStatus, (cl_event a, cl_int b), (a, b))                                        \
    X(clSetEventCallback,                                                                          \
      (cl_event a, cl_int b, void(CL_CALLBACK * c)(cl_event, cl_int, void *), void *d),            \
      (a, b, c, d))                                                                                \
    X(clFlush, (cl_command_queue a), (a))                                                          \
    X(clFinish, (cl_command_queue a), (a))

/* Creates: an object back, the status through the last parameter (named err). */
#define CLFAULT_CREATE(X)                                                                          \
    X(CLFAULT_CONTEXT, cl_context, clCreateContext,                                                \
      (const cl_context_properties *a, cl_uint b, const cl_device_id *c,                           \
       void(CL_CALLBACK * d)(const char *, const void *, size_t, void *), void *e, cl_int *err),   \
      (a, b, c, d, e, err))                                                                        \
    X(CLFAULT_CONTEXT, cl_context, clCreateContextFromType,                                        \
      (const cl_context_properties *a, cl_device_type b,                                           \
       void(CL_CALLBACK * c)(const char *, const void *, size_t, void *), void *d, cl_int *err),   \
      (a, b, c, d, err))                                                                           \
    X(CLFAULT_QUEUE, cl_command_queue, clCreateCommandQueue,                                       \
      (cl_context a, cl_device_id b, cl_command_queue_properties c, cl_int * err), (a, b, c, err)) \
    X(CLFAULT_MEM, cl_mem, clCreateBuffer,                                                         \
      (cl_context a, cl_mem_flags b, size_t c, void *d, cl_int *err), (a, b, c, d, err))           \
    X(CLFAULT_MEM, cl_mem, clCreateSubBuffer,                                                      \
      (cl_mem a, cl_mem_flags b, cl_buffer_create_type c, const void *d, cl_int *err),             \
      (a, b, c, d, err))                                                                           \
    X(CLFAULT_PROGRAM, cl_program, clCreateProgramWithSource,                                      \
      (cl_context a, cl_uint b, const char **c, const size_t *d, cl_int *err), (a, b, c, d, err))  \
    X(CLFAULT_PROGRAM, cl_program, clCreateProgramWithBinary,                                      \
      (cl_context a, cl_uint b, const cl_device_id *c, const size_t *d, const unsigned char **e,   \
       cl_int *f, cl_int *err),                                                                    \
      (a, b, c, d, e, f, err))                                                                     \
    X(CLFAULT_KERNEL, cl_kernel, clCreateKernel, (cl_program a, const char *b, cl_int *err),       \
      (a, b, err))                                                                                 \
    X(CLFAULT_EVENT, cl_event, clCreateUserEvent, (cl_context a, cl_int * err), (a, err))

/* Enqueues: a cl_int back, maybe an event through the last parameter (named ev). */
#define CLFAULT_ENQUEUE(X)                                                                         \
    X(clEnqueueNDRangeKernel,                                                                      \
      (cl_command_queue a, cl_kernel b, cl_uint c, const size_t *d, const size_t *e,               \
       const size_t *f, cl_uint g, const cl_event *h, cl_event *ev),                               \
      (a, b, c, d, e, f, g, h, ev))                                                                \
    X(clEnqueueReadBuffer,                                                                         \
      (cl_command_queue a, cl_mem b, cl_bool c, size_t d, size_t e, void *f, cl_uint g,            \
       const cl_event *h, cl_event *ev),                                                           \
      (a, b, c, d, e, f, g, h, ev))                                                                \
    X(clEnqueueWriteBuffer,                                                                        \
      (cl_command_queue a, cl_mem b, cl_bool c, size_t d, size_t e, const void *f, cl_uint g,      \
       const cl_event *h, cl_event *ev),                                                           \
      (a, b, c, d, e, f, g, h, ev))                                                                \
    X(clEnqueueCopyBuffer,                                                                         \
      (cl_command_queue a, cl_mem b, cl_mem c, size_t d, size_t e, size_t f, cl_uint g,            \
       const cl_event *h, cl_event *ev),                                                           \
      (a, b, c, d, e, f, g, h, ev))                                                                \
    X(clEnqueueFillBuffer,                                                                         \
      (cl_command_queue a, cl_mem b, const void *c, size_t d, size_t e, size_t f, cl_uint g,       \
       const cl_event *h, cl_event *ev),                                                           \
      (a, b, c, d, e, f, g, h, ev))                                                                \
    X(clEnqueueUnmapMemObject,                                                                     \
      (cl_command_queue a, cl_mem b, void *c, cl_uint d, const cl_event *e, cl_event *ev),         \
      (a, b, c, d, e, ev))                                                                         \
    X(clEnqueueMarkerWithWaitList,                                                                 \
      (cl_command_queue a, cl_uint b, const cl_event *c, cl_event *ev), (a, b, c, ev))             \
    X(clEnqueueBarrierWithWaitList,                                                                \
      (cl_command_queue a, cl_uint b, const cl_event *c, cl_event *ev), (a, b, c, ev))

/* Reference counts: +1 for a retain, -1 for a release. */
#define CLFAULT_REFCOUNT(X)                                                                        \
    X(CLFAULT_CONTEXT, cl_context, clRetainContext, +1)                                            \
    X(CLFAULT_CONTEXT, cl_context, clReleaseContext, -1)                                           \
    X(CLFAULT_QUEUE, cl_command_queue, clRetainCommandQueue, +1)                                   \
    X(CLFAULT_QUEUE, cl_command_queue, clReleaseCommandQueue, -1)                                  \
    X(CLFAULT_MEM, cl_mem, clRetainMemObject, +1)                                                  \
    X(CLFAULT_MEM, cl_mem, clReleaseMemObject, -1)                                                 \
    X(CLFAULT_PROGRAM, cl_program, clRetainProgram, +1)                                            \
    X(CLFAULT_PROGRAM, cl_program, clReleaseProgram, -1)                                           \
    X(CLFAULT_KERNEL, cl_kernel, clRetainKernel, +1)                                               \
    X(CLFAULT_KERNEL, cl_kernel, clReleaseKernel, -1)                                              \
    X(CLFAULT_EVENT, cl_event, clRetainEvent, +1)                                                  \
    X(CLFAULT_EVENT, cl_event, clReleaseEvent, -1)

#define DEFINE_PLAIN(name, params, args)                                                           \
    CL_API_ENTRY cl_int CL_API_CALL name params {                                                  \
        REAL(name)                                                                                 \
        cl_int fault = enter(#name);                                                               \
        return fault != CL_SUCCESS ? fault : real_ args;                                           \
    }
CLFAULT_PLAIN(DEFINE_PLAIN)

#define DEFINE_CREATE(kind, type, name, params, args)                                              \
    CL_API_ENTRY type CL_API_CALL name params {                                                    \
        REAL(name)                                                                                 \
        cl_int fault = enter(#name);                                                               \
        if (fault != CL_SUCCESS) {                                                                 \
            if (err)                                                                               \
                *err = fault;                                                                      \
            return NULL;                                                                           \
        }                                                                                          \
        type obj = real_ args;                                                                     \
        if (obj)                                                                                   \
            track(kind, +1);                                                                       \
        return obj;                                                                                \
    }
CLFAULT_CREATE(DEFINE_CREATE)

#define DEFINE_ENQUEUE(name, params, args)                                                         \
    CL_API_ENTRY cl_int CL_API_CALL name params {                                                  \
        REAL(name)                                                                                 \
        cl_int fault = enter(#name);                                                               \
        if (fault != CL_SUCCESS)                                                                   \
            return fault;                                                                          \
        cl_int st = real_ args;                                                                    \
        if (st == CL_SUCCESS && ev && *ev)                                                         \
            track(CLFAULT_EVENT, +1);                                                              \
        return st;                                                                                 \
    }
CLFAULT_ENQUEUE(DEFINE_ENQUEUE)

/* clEnqueueMapBuffer has both an event and errcode_ret: its own shape. */
CL_API_ENTRY void *CL_API_CALL clEnqueueMapBuffer(cl_command_queue a, cl_mem b, cl_bool c,
                                                  cl_map_flags d, size_t e, size_t f, cl_uint g,
                                                  const cl_event *h, cl_event *ev, cl_int *err) {
    REAL(clEnqueueMapBuffer)
    cl_int fault = enter("clEnqueueMapBuffer");
    if (fault != CL_SUCCESS) {
        if (err)
            *err = fault;
        return NULL;
    }
    void *p = real_(a, b, c, d, e, f, g, h, ev, err);
    if (p && ev && *ev)
        track(CLFAULT_EVENT, +1);
    return p;
}

#define DEFINE_REFCOUNT(kind, type, name, delta)                                                   \
    CL_API_ENTRY cl_int CL_API_CALL name(type obj) {                                               \
        REAL(name)                                                                                 \
        cl_int fault = enter(#name);                                                               \
        cl_int st = real_(obj);                                                                    \
        if (st == CL_SUCCESS)                                                                      \
            track(kind, delta);                                                                    \
        return fault != CL_SUCCESS ? fault : st;                                                   \
    }
CLFAULT_REFCOUNT(DEFINE_REFCOUNT)

#define NAME_PLAIN(name, params, args)              #name,
#define NAME_CREATE(kind, type, name, params, args) #name,
#define NAME_ENQUEUE(name, params, args)            #name,
#define NAME_REFCOUNT(kind, type, name, delta)      #name,
const char *const clfault_entry_points[] = {
    CLFAULT_PLAIN(NAME_PLAIN) CLFAULT_CREATE(NAME_CREATE) CLFAULT_ENQUEUE(NAME_ENQUEUE)
        CLFAULT_REFCOUNT(NAME_REFCOUNT) "clEnqueueMapBuffer",
    NULL};

int clfault_wraps(const char *name) {
    for (const char *const *p = clfault_entry_points; *p; ++p)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Realistic errors: what drivers return from each entry point when memory, resources or the
 * compiler run out, or the device goes away. An entry point not listed gets the generic pair.
 * ------------------------------------------------------------------------------------------ */

#define CL_PLATFORM_NOT_FOUND_KHR_ (-1001)

static const struct {
    const char *name;
    cl_int errors[3];
} realistic[] = {
    {"clGetPlatformIDs", {CL_PLATFORM_NOT_FOUND_KHR_, CL_OUT_OF_HOST_MEMORY}},
    {"clGetDeviceIDs", {CL_DEVICE_NOT_FOUND, CL_OUT_OF_RESOURCES}},
    {"clCreateContext", {CL_DEVICE_NOT_AVAILABLE, CL_OUT_OF_HOST_MEMORY}},
    {"clCreateContextFromType", {CL_DEVICE_NOT_AVAILABLE, CL_OUT_OF_HOST_MEMORY}},
    {"clCreateCommandQueue", {CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY}},
    {"clCreateBuffer", {CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES}},
    {"clCreateSubBuffer", {CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_MISALIGNED_SUB_BUFFER_OFFSET}},
    {"clCreateProgramWithSource", {CL_OUT_OF_HOST_MEMORY, CL_OUT_OF_RESOURCES}},
    {"clCreateProgramWithBinary", {CL_INVALID_BINARY, CL_OUT_OF_HOST_MEMORY}},
    {"clBuildProgram",
     {CL_BUILD_PROGRAM_FAILURE, CL_COMPILER_NOT_AVAILABLE, CL_OUT_OF_HOST_MEMORY}},
    {"clCreateKernel", {CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY}},
    {"clSetKernelArg", {CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY}},
    {"clEnqueueNDRangeKernel", {CL_OUT_OF_RESOURCES, CL_MEM_OBJECT_ALLOCATION_FAILURE}},
    {"clEnqueueReadBuffer",
     {CL_OUT_OF_RESOURCES, CL_MEM_OBJECT_ALLOCATION_FAILURE,
      CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST}},
    {"clEnqueueWriteBuffer", {CL_OUT_OF_RESOURCES, CL_MEM_OBJECT_ALLOCATION_FAILURE}},
    {"clEnqueueMapBuffer", {CL_MAP_FAILURE, CL_OUT_OF_RESOURCES}},
    {"clWaitForEvents", {CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, CL_OUT_OF_RESOURCES}},
};

size_t clfault_errors(const char *name, cl_int *out, size_t cap) {
    static const cl_int generic[] = {CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY};
    const cl_int *errs = generic;
    size_t count = 2;
    for (size_t i = 0; i < sizeof realistic / sizeof realistic[0]; ++i) {
        if (strcmp(realistic[i].name, name) == 0) {
            errs = realistic[i].errors;
            for (count = 0; count < 3 && errs[count] != CL_SUCCESS; ++count)
                ;
            break;
        }
    }
    if (count > cap)
        count = cap;
    memcpy(out, errs, count * sizeof *out);
    return count;
}

const char *clfault_error_name(cl_int err) {
    switch (err) {
#define NAME(e)                                                                                    \
    case e:                                                                                        \
        return #e;
        NAME(CL_DEVICE_NOT_FOUND)
        NAME(CL_DEVICE_NOT_AVAILABLE)
        NAME(CL_COMPILER_NOT_AVAILABLE)
        NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        NAME(CL_OUT_OF_RESOURCES)
        NAME(CL_OUT_OF_HOST_MEMORY)
        NAME(CL_BUILD_PROGRAM_FAILURE)
        NAME(CL_MAP_FAILURE)
        NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        NAME(CL_INVALID_BINARY)
#undef NAME
    case CL_PLATFORM_NOT_FOUND_KHR_:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "CL_UNKNOWN_ERROR";
}
