/* SPDX-License-Identifier: Apache-2.0 */
/* A dense layer as a pipeline builds it: y = relu(x W + b) with CLBlast's SGEMM and clrelu's
 * fused bias + ReLU, on the pipeline's own context and queue, chained by an event with no host
 * wait in between. The output is checked against a CPU reference (the GEMM to a tolerance, the
 * epilogue exactly).
 *   dense_layer [DEVICE_SPEC]     (default: CLRELU_DEVICE, else the first GPU, else 0:0)
 * Exits 0 when the result is right, 1 when not, 77 when there is no OpenCL device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clrelu.h first: it asks for the OpenCL 1.2 API, which clblast_c.h would otherwise set to 3.0. */
#include <clrelu/clrelu.h>
#include <clblast_c.h>

#include "example_common.h"

#define B   64  /* rows: the batch */
#define K   300 /* input features */
#define N   130 /* output features (cols) */
#define LDZ 136 /* the GEMM's output row pitch: more than N, as a padded layout has */

int main(int argc, char **argv) {
    cl_device_id dev = pick_device(argc > 1 ? argv[1] : NULL);
    if (!dev) {
        printf("SKIPPED: no OpenCL device (%s)\n", clrelu_last_error());
        return 77;
    }
    /* The pipeline's own context and queue. */
    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(context, dev, 0, &err);
    clrelu_context *relu_ctx = NULL;
    if (err != CL_SUCCESS || clrelu_context_wrap(&relu_ctx, context, queue) != CLRELU_OK) {
        fprintf(stderr, "dense_layer: setup failed: %s\n", clrelu_last_error());
        return 1;
    }
    clrelu_context_info where;
    clrelu_context_get_info(relu_ctx, &where, sizeof where);
    printf("dense_layer: on %s (%s)\n", where.device, where.platform);

    static float x[B * K], w[K * N], b[N], z[B * LDZ], y[B * N];
    unsigned seed = 12345;
    for (size_t i = 0; i < B * K; ++i)
        x[i] = frand(&seed);
    for (size_t i = 0; i < K * N; ++i)
        w[i] = frand(&seed) * 0.1f;
    for (size_t i = 0; i < N; ++i)
        b[i] = frand(&seed) * 0.5f;
    cl_mem dx = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem dw = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof w, w, &err);
    cl_mem db = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof b, b, &err);
    cl_mem dz = clCreateBuffer(context, CL_MEM_READ_WRITE, sizeof z, NULL, &err);
    cl_mem dy = clCreateBuffer(context, CL_MEM_WRITE_ONLY, sizeof y, NULL, &err);

    /* z = x W (row-major, z's rows LDZ apart), then y = relu(z + b) once the GEMM is done. */
    cl_event gemm_done = NULL, layer_done = NULL;
    CLBlastStatusCode blas =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, B, N, K, 1.0f,
                     dx, 0, K, dw, 0, N, 0.0f, dz, 0, LDZ, &queue, &gemm_done);
    if (blas != CLBlastSuccess) {
        fprintf(stderr, "dense_layer: CLBlastSgemm failed: %d\n", (int)blas);
        return 1;
    }
    clrelu_desc relu = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    if (clrelu_bias_forward(relu_ctx, &relu, B, N, dz, 0, LDZ, db, 0, dy, 0, N, 1, &gemm_done,
                            &layer_done) != CLRELU_OK) {
        fprintf(stderr, "dense_layer: %s\n", clrelu_context_error(relu_ctx));
        return 1;
    }
    /* The only wait: for the result. */
    clEnqueueReadBuffer(queue, dy, CL_TRUE, 0, sizeof y, y, 1, &layer_done, NULL);
    clEnqueueReadBuffer(queue, dz, CL_TRUE, 0, sizeof z, z, 0, NULL, NULL);

    /* The GEMM against a double-precision reference, to a tolerance; the epilogue exactly. */
    double worst = 0;
    int wrong = 0;
    for (size_t r = 0; r < B; ++r) {
        for (size_t c = 0; c < N; ++c) {
            double acc = 0, mag = 0;
            for (size_t k = 0; k < K; ++k) {
                acc += (double)x[r * K + k] * w[k * N + c];
                mag += fabs((double)x[r * K + k] * w[k * N + c]);
            }
            double ref = acc + b[c] > 0 ? acc + b[c] : 0;
            double err_here = fabs(y[r * N + c] - ref);
            worst = err_here > worst ? err_here : worst;
            if (err_here > 1e-5 * (mag + fabs(b[c])) + 1e-6)
                wrong++;
            float s = z[r * LDZ + c] + b[c];
            float exact = s > 0.0f ? s : 0.0f;
            if (memcmp(&exact, &y[r * N + c], sizeof exact) != 0)
                wrong++;
        }
    }
    clReleaseEvent(gemm_done);
    clReleaseEvent(layer_done);
    clReleaseMemObject(dx);
    clReleaseMemObject(dw);
    clReleaseMemObject(db);
    clReleaseMemObject(dz);
    clReleaseMemObject(dy);
    clrelu_context_release(relu_ctx);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    printf("dense_layer: %dx%d = relu(%dx%d x %dx%d + b): %s (largest |y - reference| %.3g)\n", B,
           N, B, K, K, N, wrong ? "WRONG" : "OK", worst);
    return wrong ? 1 : 0;
}
