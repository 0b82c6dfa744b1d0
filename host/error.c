/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes, their names and texts (from the one X-macro list in clrelu.h), OpenCL error
 * names, and the per-thread and per-context messages that say which argument was wrong. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[CLRELU__ERROR_LEN];

const char *clrelu_status_string(clrelu_status status) {
    switch (status) {
#define CLRELU__CASE(name, value, text)                                                            \
    case name:                                                                                     \
        return text;
        CLRELU_STATUS_LIST(CLRELU__CASE)
#undef CLRELU__CASE
    }
    return "unknown status";
}

const char *clrelu_status_name(clrelu_status status) {
    switch (status) {
#define CLRELU__CASE(name, value, text)                                                            \
    case name:                                                                                     \
        return #name;
        CLRELU_STATUS_LIST(CLRELU__CASE)
#undef CLRELU__CASE
    }
    return "CLRELU_UNKNOWN_STATUS";
}

const char *clrelu_version(void) {
    return CLRELU_VERSION_STRING;
}

const char *clrelu_last_error(void) {
    return last_error;
}

const char *clrelu_context_error(const clrelu_context *ctx) {
    return ctx ? ctx->error : last_error;
}

static clrelu_status record(clrelu_context *ctx, clrelu_status status, const char *fmt,
                            va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    if (ctx) {
        pthread_mutex_lock(&ctx->err_lock);
        memcpy(ctx->error, last_error, sizeof ctx->error);
        pthread_mutex_unlock(&ctx->err_lock);
    }
    return status;
}

clrelu_status clrelu__fail(clrelu_context *ctx, clrelu_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record(ctx, status, fmt, ap);
    va_end(ap);
    return status;
}

const char *clrelu__cl_error_name(cl_int err) {
    switch (err) {
#define CLRELU__CL(e)                                                                              \
    case e:                                                                                        \
        return #e;
        CLRELU__CL(CL_SUCCESS)
        CLRELU__CL(CL_DEVICE_NOT_FOUND)
        CLRELU__CL(CL_DEVICE_NOT_AVAILABLE)
        CLRELU__CL(CL_COMPILER_NOT_AVAILABLE)
        CLRELU__CL(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CLRELU__CL(CL_OUT_OF_RESOURCES)
        CLRELU__CL(CL_OUT_OF_HOST_MEMORY)
        CLRELU__CL(CL_PROFILING_INFO_NOT_AVAILABLE)
        CLRELU__CL(CL_MEM_COPY_OVERLAP)
        CLRELU__CL(CL_IMAGE_FORMAT_MISMATCH)
        CLRELU__CL(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        CLRELU__CL(CL_BUILD_PROGRAM_FAILURE)
        CLRELU__CL(CL_MAP_FAILURE)
        CLRELU__CL(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        CLRELU__CL(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        CLRELU__CL(CL_COMPILE_PROGRAM_FAILURE)
        CLRELU__CL(CL_LINKER_NOT_AVAILABLE)
        CLRELU__CL(CL_LINK_PROGRAM_FAILURE)
        CLRELU__CL(CL_DEVICE_PARTITION_FAILED)
        CLRELU__CL(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        CLRELU__CL(CL_INVALID_VALUE)
        CLRELU__CL(CL_INVALID_DEVICE_TYPE)
        CLRELU__CL(CL_INVALID_PLATFORM)
        CLRELU__CL(CL_INVALID_DEVICE)
        CLRELU__CL(CL_INVALID_CONTEXT)
        CLRELU__CL(CL_INVALID_QUEUE_PROPERTIES)
        CLRELU__CL(CL_INVALID_COMMAND_QUEUE)
        CLRELU__CL(CL_INVALID_HOST_PTR)
        CLRELU__CL(CL_INVALID_MEM_OBJECT)
        CLRELU__CL(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        CLRELU__CL(CL_INVALID_IMAGE_SIZE)
        CLRELU__CL(CL_INVALID_SAMPLER)
        CLRELU__CL(CL_INVALID_BINARY)
        CLRELU__CL(CL_INVALID_BUILD_OPTIONS)
        CLRELU__CL(CL_INVALID_PROGRAM)
        CLRELU__CL(CL_INVALID_PROGRAM_EXECUTABLE)
        CLRELU__CL(CL_INVALID_KERNEL_NAME)
        CLRELU__CL(CL_INVALID_KERNEL_DEFINITION)
        CLRELU__CL(CL_INVALID_KERNEL)
        CLRELU__CL(CL_INVALID_ARG_INDEX)
        CLRELU__CL(CL_INVALID_ARG_VALUE)
        CLRELU__CL(CL_INVALID_ARG_SIZE)
        CLRELU__CL(CL_INVALID_KERNEL_ARGS)
        CLRELU__CL(CL_INVALID_WORK_DIMENSION)
        CLRELU__CL(CL_INVALID_WORK_GROUP_SIZE)
        CLRELU__CL(CL_INVALID_WORK_ITEM_SIZE)
        CLRELU__CL(CL_INVALID_GLOBAL_OFFSET)
        CLRELU__CL(CL_INVALID_EVENT_WAIT_LIST)
        CLRELU__CL(CL_INVALID_EVENT)
        CLRELU__CL(CL_INVALID_OPERATION)
        CLRELU__CL(CL_INVALID_GL_OBJECT)
        CLRELU__CL(CL_INVALID_BUFFER_SIZE)
        CLRELU__CL(CL_INVALID_MIP_LEVEL)
        CLRELU__CL(CL_INVALID_GLOBAL_WORK_SIZE)
        CLRELU__CL(CL_INVALID_PROPERTY)
        CLRELU__CL(CL_INVALID_IMAGE_DESCRIPTOR)
        CLRELU__CL(CL_INVALID_COMPILER_OPTIONS)
        CLRELU__CL(CL_INVALID_LINKER_OPTIONS)
        CLRELU__CL(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef CLRELU__CL
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "CL_UNKNOWN_ERROR";
    }
}

clrelu_status clrelu__cl_fail(clrelu_context *ctx, cl_int err, const char *what) {
    clrelu_status st = CLRELU_ERROR_OPENCL;
    if (err == CL_OUT_OF_HOST_MEMORY || err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        st = CLRELU_ERROR_OUT_OF_MEMORY;
    else if (err == CL_BUILD_PROGRAM_FAILURE)
        st = CLRELU_ERROR_BUILD;
    return clrelu__fail(ctx, st, "%s failed: %s (%d)", what, clrelu__cl_error_name(err), (int)err);
}
