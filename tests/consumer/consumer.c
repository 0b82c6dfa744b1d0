/* SPDX-License-Identifier: Apache-2.0 */
/* A program outside clrelu's tree, built against the installed package (CMake's
 * find_package or pkg-config): relu on the CPU path and on the first OpenCL device, each
 * output compared bit for bit with the semantics table. Prints "consumer: ok" and exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <clrelu/clrelu.h>

#define N 9

/* -2, -0, 0.5, 3, a NaN with a payload, -inf, +inf, a positive and a negative subnormal. */
static const uint32_t x_bits[N] = {0xc0000000u, 0x80000000u, 0x3f000000u, 0x40400000u, 0xffc00123u,
                                   0xff800000u, 0x7f800000u, 0x00000001u, 0x80000001u};
static const uint32_t relu_bits[N] = {
    0, 0, 0x3f000000u, 0x40400000u, 0xffc00123u, 0, 0x7f800000u, 0x00000001u, 0};

static int check(const char *where, const float *y) {
    if (memcmp(y, relu_bits, sizeof relu_bits) != 0) {
        fprintf(stderr, "consumer: WRONG relu output on %s\n", where);
        return 1;
    }
    printf("consumer: relu on %s matches\n", where);
    return 0;
}

static int on_device(void) {
    clrelu_context *ctx = NULL;
    clrelu_status st = clrelu_context_create(&ctx, "0:0");
    if (st == CLRELU_ERROR_DEVICE_NOT_FOUND) {
        printf("consumer: no OpenCL device, the CPU path only\n");
        return 0;
    }
    if (st != CLRELU_OK) {
        fprintf(stderr, "consumer: %s\n", clrelu_last_error());
        return 1;
    }
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info, sizeof info);
    float x[N], y[N];
    memcpy(x, x_bits, sizeof x);
    /* OpenCL called directly: the package must give the consumer OpenCL too. */
    cl_int err;
    cl_mem buf =
        clCreateBuffer(info.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    clrelu_desc relu = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    cl_event done = NULL;
    int bad =
        err != CL_SUCCESS ||
        clrelu_forward(ctx, &relu, N, buf, 0, buf, 0, 0, NULL, &done) != CLRELU_OK ||
        clEnqueueReadBuffer(info.queue, buf, CL_TRUE, 0, sizeof y, y, 1, &done, NULL) != CL_SUCCESS;
    if (bad)
        fprintf(stderr, "consumer: on %s: %s\n", info.device, clrelu_context_error(ctx));
    else
        bad = check(info.device, y);
    if (done)
        clReleaseEvent(done);
    if (buf)
        clReleaseMemObject(buf);
    clrelu_context_release(ctx);
    return bad;
}

int main(void) {
    if (strcmp(clrelu_version(), CLRELU_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", CLRELU_VERSION_STRING,
                clrelu_version());
        return 1;
    }
    clrelu_context *cpu = NULL;
    if (clrelu_context_create(&cpu, "cpu") != CLRELU_OK) {
        fprintf(stderr, "consumer: %s\n", clrelu_last_error());
        return 1;
    }
    float x[N], y[N];
    memcpy(x, x_bits, sizeof x);
    clrelu_desc relu = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    int bad = clrelu_forward_host(cpu, &relu, N, x, y) != CLRELU_OK || check("the CPU path", y);
    clrelu_context_release(cpu);
    bad |= on_device();
    if (bad)
        return 1;
    printf("consumer: ok (clrelu %s)\n", clrelu_version());
    return 0;
}
