/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes, their names and texts (from the one X-macro list in clrelu.h), OpenCL error
 * names, and the per-thread and per-context messages that say which argument was wrong. */
#include <stdio.h>
#include <string.h>

#include "cl_errors.h"
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
    return clrelu__cl_error_string(err);
}

clrelu_status clrelu__cl_fail(clrelu_context *ctx, cl_int err, const char *what) {
    clrelu_status st = CLRELU_ERROR_OPENCL;
    if (err == CL_OUT_OF_HOST_MEMORY || err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        st = CLRELU_ERROR_OUT_OF_MEMORY;
    else if (err == CL_BUILD_PROGRAM_FAILURE)
        st = CLRELU_ERROR_BUILD;
    return clrelu__fail(ctx, st, "%s failed: %s (%d)", what, clrelu__cl_error_name(err), (int)err);
}
