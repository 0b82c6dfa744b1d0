/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only OpenCL shim that test_bench preloads (LD_PRELOAD) into clrelu-bench, to see what
 * the benchmark says when a driver answers unusually:
 *   CLSHIM_DRIVER_SUFFIX=text   CL_DRIVER_VERSION answers carry text at their end (a driver
 *                               string longer than any column);
 *   CLSHIM_FAIL_PROGRAM=1       clCreateProgramWithSource fails with CL_OUT_OF_HOST_MEMORY.
 * Every other call goes to the real entry point (dlsym(RTLD_NEXT)). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

typedef cl_int (*get_device_info_fn)(cl_device_id, cl_device_info, size_t, void *, size_t *);
typedef cl_program (*create_program_fn)(cl_context, cl_uint, const char **, const size_t *,
                                        cl_int *);

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceInfo(cl_device_id device, cl_device_info name,
                                                size_t size, void *value, size_t *size_ret) {
    get_device_info_fn real = (get_device_info_fn)dlsym(RTLD_NEXT, "clGetDeviceInfo");
    const char *suffix = getenv("CLSHIM_DRIVER_SUFFIX");
    if (!real)
        return CL_INVALID_OPERATION;
    if (name != CL_DRIVER_VERSION || !suffix || strlen(suffix) > 512)
        return real(device, name, size, value, size_ret);
    char driver[1024];
    cl_int err = real(device, name, sizeof driver - strlen(suffix) - 1, driver, NULL);
    if (err != CL_SUCCESS)
        return err;
    strcat(driver, suffix);
    size_t need = strlen(driver) + 1;
    if (size_ret)
        *size_ret = need;
    if (value) {
        if (size < need)
            return CL_INVALID_VALUE;
        memcpy(value, driver, need);
    }
    return CL_SUCCESS;
}

CL_API_ENTRY cl_program CL_API_CALL clCreateProgramWithSource(cl_context context, cl_uint count,
                                                              const char **strings,
                                                              const size_t *lengths,
                                                              cl_int *errcode_ret) {
    const char *fail = getenv("CLSHIM_FAIL_PROGRAM");
    if (fail && strcmp(fail, "1") == 0) {
        if (errcode_ret)
            *errcode_ret = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    create_program_fn real = (create_program_fn)dlsym(RTLD_NEXT, "clCreateProgramWithSource");
    if (!real) {
        if (errcode_ret)
            *errcode_ret = CL_INVALID_OPERATION;
        return NULL;
    }
    return real(context, count, strings, lengths, errcode_ret);
}
