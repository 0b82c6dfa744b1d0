/* SPDX-License-Identifier: Apache-2.0 */
/* tools/ci-oclgrind.sh's proof that it sees a report: one kernel that reads one element past
 * its buffer, and two work-items that write one word, run on the first device of the first
 * platform (Oclgrind, with OCL_ICD_VENDORS naming it alone), then a read past a buffer's end.
 * Oclgrind must log all three (an invalid read, a data race, an API error); the script fails
 * when one is missing. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

static const char *source =
    "__kernel void past_the_end(__global const uint *x, __global uint *y) {\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = x[i + 1]; /* the last work-item reads x[n] */\n"
    "}\n"
    "__kernel void race(__global uint *y) {\n"
    "    y[0] = (uint)get_global_id(0); /* every work-item writes y[0] */\n"
    "}\n";

int main(void) {
    cl_platform_id platform;
    cl_device_id device;
    cl_int err = clGetPlatformIDs(1, &platform, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "selftest: no OpenCL device (%d)\n", err);
        return 1;
    }
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS || clBuildProgram(program, 1, &device, "", NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "selftest: the program did not build\n");
        return 1;
    }
    const size_t n = 64;
    cl_uint host[64] = {0};
    cl_mem x =
        clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof host, host, &err);
    cl_mem y =
        clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof host, host, &err);
    cl_kernel past = clCreateKernel(program, "past_the_end", &err);
    clSetKernelArg(past, 0, sizeof x, &x);
    clSetKernelArg(past, 1, sizeof y, &y);
    cl_kernel race = clCreateKernel(program, "race", &err);
    clSetKernelArg(race, 0, sizeof y, &y);
    err = clEnqueueNDRangeKernel(queue, past, 1, NULL, &n, NULL, 0, NULL, NULL);
    const size_t two = 2;
    err |= clEnqueueNDRangeKernel(queue, race, 1, NULL, &two, NULL, 0, NULL, NULL);
    err |= clFinish(queue);
    /* An API error: a read past the buffer's end (refused; OCLGRIND_CHECK_API reports it). */
    cl_uint twice[128];
    cl_int refused = clEnqueueReadBuffer(queue, y, CL_TRUE, 0, sizeof twice, twice, 0, NULL, NULL);
    clReleaseKernel(past);
    clReleaseKernel(race);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    printf("selftest: ran (%d), the read past the end returned %d\n", err, refused);
    return 0;
}
