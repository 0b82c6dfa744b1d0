/* SPDX-License-Identifier: Apache-2.0 */
/* A two-layer MLP trained on a small synthetic regression task, entirely on the device: CLBlast
 * for the GEMMs and the vector updates, clrelu for the bias + ReLU epilogue, its backward (dx
 * and dbias), and the output layer's bias (leaky ReLU with slope 1 is the identity, and its
 * backward gives the bias gradient). Full-batch SGD on one in-order queue; the host reads only
 * the loss it prints.
 *   mlp_train [DEVICE_SPEC] [STEPS]
 * Exits 0 when the final loss is below a fifth of the first, 1 when not, 77 without a device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* clrelu.h first: it asks for the OpenCL 1.2 API, which clblast_c.h would otherwise set to 3.0. */
#include <clrelu/clrelu.h>
#include <clblast_c.h>

#include "example_common.h"

#define S 256 /* samples (the batch) */
#define I 8   /* inputs */
#define H 64  /* hidden units */
#define O 1   /* outputs */

#define BLAS(call)                                                                                 \
    do {                                                                                           \
        CLBlastStatusCode st_ = (call);                                                            \
        if (st_ != CLBlastSuccess) {                                                               \
            fprintf(stderr, "mlp_train: %s failed: %d\n", #call, (int)st_);                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define RELU(call)                                                                                 \
    do {                                                                                           \
        if ((call) != CLRELU_OK) {                                                                 \
            fprintf(stderr, "mlp_train: %s\n", clrelu_context_error(ctx));                         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static cl_mem buffer(cl_context c, size_t floats, const float *init) {
    cl_int err;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0),
                              floats * sizeof(float), (void *)init, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "mlp_train: clCreateBuffer failed: %d\n", (int)err);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv) {
    cl_device_id dev = pick_device(argc > 1 && argv[1][0] ? argv[1] : NULL);
    int steps = argc > 2 ? atoi(argv[2]) : 300;
    if (!dev) {
        printf("SKIPPED: no OpenCL device (%s)\n", clrelu_last_error());
        return 77;
    }
    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(context, dev, 0, &err);
    clrelu_context *ctx = NULL;
    if (err != CL_SUCCESS || clrelu_context_wrap(&ctx, context, queue) != CLRELU_OK) {
        fprintf(stderr, "mlp_train: setup failed: %s\n", clrelu_last_error());
        return 1;
    }
    clrelu_context_info where;
    clrelu_context_get_info(ctx, &where, sizeof where);
    printf("mlp_train: on %s (%s)\n", where.device, where.platform);

    /* The task: t = sin(2 x0) x1 + 0.5 x2^2 - 0.3 x3, on inputs in [-1, 1]. */
    static float x[S * I], t[S * O], w1[I * H], b1[H], w2[H * O], b2[O];
    unsigned seed = 2024;
    for (size_t s = 0; s < S; ++s) {
        for (size_t i = 0; i < I; ++i)
            x[s * I + i] = frand(&seed);
        const float *v = &x[s * I];
        t[s] = sinf(2.0f * v[0]) * v[1] + 0.5f * v[2] * v[2] - 0.3f * v[3];
    }
    for (size_t i = 0; i < I * H; ++i)
        w1[i] = frand(&seed) * sqrtf(6.0f / I);
    for (size_t i = 0; i < H; ++i)
        b1[i] = 0.01f;
    for (size_t i = 0; i < H * O; ++i)
        w2[i] = frand(&seed) * sqrtf(6.0f / H) * 0.5f;
    b2[0] = 0.0f;

    cl_mem X = buffer(context, S * I, x), T = buffer(context, S * O, t);
    cl_mem W1 = buffer(context, I * H, w1), B1 = buffer(context, H, b1);
    cl_mem W2 = buffer(context, H * O, w2), B2 = buffer(context, O, b2);
    cl_mem Z1 = buffer(context, S * H, NULL), A1 = buffer(context, S * H, NULL);
    cl_mem Z2 = buffer(context, S * O, NULL), Y = buffer(context, S * O, NULL);
    cl_mem dY = buffer(context, S * O, NULL), dZ2 = buffer(context, S * O, NULL);
    cl_mem dA1 = buffer(context, S * H, NULL), dZ1 = buffer(context, S * H, NULL);
    cl_mem dW1 = buffer(context, I * H, NULL), dB1 = buffer(context, H, NULL);
    cl_mem dW2 = buffer(context, H * O, NULL), dB2 = buffer(context, O, NULL);
    cl_mem norm = buffer(context, 1, NULL);

    clrelu_desc relu = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    relu.grad_from = CLRELU_GRAD_FROM_Y; /* backward reads the activations kept for it */
    clrelu_desc identity = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, CLRELU_DTYPE_F32);
    identity.negative_slope = 1.0f; /* f(x) = x: the output layer's bias add */
    identity.grad_from = CLRELU_GRAD_FROM_Y;
    const float lr = 0.1f;
    float first = -1, last = -1;

    for (int step = 0; step <= steps; ++step) {
        /* Forward: a1 = relu(x W1 + b1), y = a1 W2 + b2. */
        BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, S, H, I,
                          1.0f, X, 0, I, W1, 0, H, 0.0f, Z1, 0, H, &queue, NULL));
        RELU(clrelu_bias_forward(ctx, &relu, S, H, Z1, 0, H, B1, 0, A1, 0, H, 0, NULL, NULL));
        BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, S, O, H,
                          1.0f, A1, 0, H, W2, 0, O, 0.0f, Z2, 0, O, &queue, NULL));
        RELU(clrelu_bias_forward(ctx, &identity, S, O, Z2, 0, O, B2, 0, Y, 0, O, 0, NULL, NULL));

        /* Loss: mean squared error; dY = 2 (y - t) / S. */
        BLAS(CLBlastScopy(S * O, Y, 0, 1, dY, 0, 1, &queue, NULL));
        BLAS(CLBlastSaxpy(S * O, -1.0f, T, 0, 1, dY, 0, 1, &queue, NULL));
        if (step % 50 == 0 || step == steps) {
            float n2 = 0;
            BLAS(CLBlastSnrm2(S * O, norm, 0, dY, 0, 1, &queue, NULL));
            clEnqueueReadBuffer(queue, norm, CL_TRUE, 0, sizeof n2, &n2, 0, NULL, NULL);
            last = n2 * n2 / (float)S;
            if (first < 0)
                first = last;
            printf("step %4d  loss %.6f\n", step, (double)last);
        }
        if (step == steps)
            break;
        BLAS(CLBlastSscal(S * O, 2.0f / (float)S, dY, 0, 1, &queue, NULL));

        /* Backward: the output bias and layer, then the hidden layer's ReLU and bias. */
        RELU(clrelu_bias_backward(ctx, &identity, S, O, dY, 0, O, Y, 0, O, NULL, 0, dZ2, 0, O, dB2,
                                  0, 0, NULL, NULL));
        BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo, H, O, S,
                          1.0f, A1, 0, H, dZ2, 0, O, 0.0f, dW2, 0, O, &queue, NULL));
        BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, S, H, O,
                          1.0f, dZ2, 0, O, W2, 0, O, 0.0f, dA1, 0, H, &queue, NULL));
        RELU(clrelu_bias_backward(ctx, &relu, S, H, dA1, 0, H, A1, 0, H, NULL, 0, dZ1, 0, H, dB1, 0,
                                  0, NULL, NULL));
        BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo, I, H, S,
                          1.0f, X, 0, I, dZ1, 0, H, 0.0f, dW1, 0, H, &queue, NULL));

        /* SGD. */
        BLAS(CLBlastSaxpy(I * H, -lr, dW1, 0, 1, W1, 0, 1, &queue, NULL));
        BLAS(CLBlastSaxpy(H, -lr, dB1, 0, 1, B1, 0, 1, &queue, NULL));
        BLAS(CLBlastSaxpy(H * O, -lr, dW2, 0, 1, W2, 0, 1, &queue, NULL));
        BLAS(CLBlastSaxpy(O, -lr, dB2, 0, 1, B2, 0, 1, &queue, NULL));
    }
    clFinish(queue);
    cl_mem all[] = {X,  T,   W1,  B1,  W2,  B2,  Z1,  A1,  Z2,  Y,
                    dY, dZ2, dA1, dZ1, dW1, dB1, dW2, dB2, norm};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        clReleaseMemObject(all[i]);
    clrelu_context_release(ctx);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    int ok = isfinite(last) && last < first / 5.0f;
    printf("mlp_train: loss %.6f -> %.6f after %d steps: %s (the bound: below a fifth of the "
           "first)\n",
           (double)first, (double)last, steps, ok ? "OK" : "NOT LEARNING");
    return ok ? 0 : 1;
}
