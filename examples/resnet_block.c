/* SPDX-License-Identifier: Apache-2.0 */
/* A residual block as a pipeline builds it, forward and backward, on the pipeline's own context
 * and queue, every step chained by events with no host wait in between. 1x1 convolutions on a
 * channels-last tensor (rows = batch x positions, C channels) are CLBlast SGEMMs:
 *   h  = x W1            a = prelu(h + b1)          (PReLU: a learned slope per channel)
 *   u  = a W2            y = relu((u + b2) + x)     (the residual epilogue: bias and skip fused)
 * and back, from dy:
 *   du, db2      = the epilogue's backward from y   (du is the skip connection's gradient too)
 *   dW2 = a^T du, da = du W2^T
 *   dh, db1, dslopes = PReLU's backward with its bias (clrelu_residual_backward, z absent)
 *   dW1 = x^T dh, dx = dh W1^T + du
 * The results are checked against a host computation: the GEMMs and the sums to a tolerance
 * (their summation orders differ from the host's double sums), the element-wise epilogues
 * exactly from the device's GEMM outputs.
 *   resnet_block [DEVICE_SPEC]    (default: CLRELU_DEVICE, else the first GPU, else 0:0)
 * Exits 0 when the results are right, 1 when not, 77 when there is no OpenCL device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clrelu.h first: it asks for the OpenCL 1.2 API, which clblast_c.h would otherwise set to 3.0. */
#include <clrelu/clrelu.h>
#include <clblast_c.h>

#include "example_common.h"

#define R 256 /* rows: a batch of 4 images of 8 x 8 positions */
#define C 48  /* channels */

static cl_context context;
static cl_command_queue queue;
static int failures;

static cl_mem buffer(size_t floats, const float *init) {
    cl_int err;
    cl_mem m = clCreateBuffer(context, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0),
                              floats * sizeof(float), (void *)init, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "resnet_block: clCreateBuffer: %d\n", (int)err);
        exit(1);
    }
    return m;
}

static void read_back(cl_mem m, float *out, size_t floats, cl_event after) {
    clEnqueueReadBuffer(queue, m, CL_TRUE, 0, floats * sizeof(float), out, after ? 1 : 0,
                        after ? &after : NULL, NULL);
}

/* C = op(A) op(B) (+ C when accumulate), row-major; returns its event. CLBlast takes no wait
 * list: the in-order queue puts it after everything enqueued before. */
static cl_event gemm(int ta, int tb, size_t m, size_t n, size_t k, cl_mem a, size_t lda, cl_mem b,
                     size_t ldb, int accumulate, cl_mem c, size_t ldc) {
    cl_event ev = NULL;
    CLBlastStatusCode st =
        CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                     tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, 1.0f, a, 0, lda, b, 0,
                     ldb, accumulate ? 1.0f : 0.0f, c, 0, ldc, &queue, &ev);
    if (st != CLBlastSuccess) {
        fprintf(stderr, "resnet_block: CLBlastSgemm failed: %d\n", (int)st);
        exit(1);
    }
    return ev;
}

static void check_close(const char *what, const float *got, const double *want, const double *mag,
                        size_t n) {
    int wrong = 0;
    for (size_t i = 0; i < n; ++i)
        if (!(fabs(got[i] - want[i]) <= 1e-5 * mag[i] + 1e-6))
            wrong++;
    if (wrong) {
        fprintf(stderr, "resnet_block: %s: %d of %zu values off the host's\n", what, wrong, n);
        failures++;
    }
}

static void check_exact(const char *what, const float *got, const float *want, size_t n) {
    if (memcmp(got, want, n * sizeof *got) != 0) {
        fprintf(stderr, "resnet_block: %s differs from the host's exact result\n", what);
        failures++;
    }
}

/* out = op(A) op(B) in double, with the sum of |terms| for the tolerance. */
static void host_gemm(int ta, int tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                      const float *b, size_t ldb, double *out, double *mag) {
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
            double acc = 0, abs_sum = 0;
            for (size_t p = 0; p < k; ++p) {
                double t = (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                           (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
                acc += t;
                abs_sum += fabs(t);
            }
            out[i * n + j] = acc;
            mag[i * n + j] = abs_sum;
        }
}

int main(int argc, char **argv) {
    cl_device_id dev = pick_device(argc > 1 ? argv[1] : NULL);
    if (!dev) {
        printf("SKIPPED: no OpenCL device (%s)\n", clrelu_last_error());
        return 77;
    }
    cl_int err;
    context = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    queue = clCreateCommandQueue(context, dev, 0, &err);
    clrelu_context *relu_ctx = NULL;
    if (err != CL_SUCCESS || clrelu_context_wrap(&relu_ctx, context, queue) != CLRELU_OK) {
        fprintf(stderr, "resnet_block: setup failed: %s\n", clrelu_last_error());
        return 1;
    }

    static float x[R * C], w1[C * C], w2[C * C], b1[C], b2[C], slopes[C], dy[R * C];
    unsigned seed = 2024;
    for (size_t i = 0; i < R * C; ++i) {
        x[i] = frand(&seed);
        dy[i] = frand(&seed);
    }
    for (size_t i = 0; i < C * C; ++i) {
        w1[i] = frand(&seed) * 0.2f;
        w2[i] = frand(&seed) * 0.2f;
    }
    for (size_t i = 0; i < C; ++i) {
        b1[i] = frand(&seed) * 0.1f;
        b2[i] = frand(&seed) * 0.1f;
        slopes[i] = 0.25f + 0.1f * frand(&seed);
    }
    cl_mem mx = buffer(R * C, x), mw1 = buffer(C * C, w1), mw2 = buffer(C * C, w2);
    cl_mem mb1 = buffer(C, b1), mb2 = buffer(C, b2), ma = buffer(C, slopes),
           mdy = buffer(R * C, dy);
    cl_mem mh = buffer(R * C, NULL), mact = buffer(R * C, NULL), mu = buffer(R * C, NULL),
           my = buffer(R * C, NULL), mdu = buffer(R * C, NULL), mdw2 = buffer(C * C, NULL),
           mda = buffer(R * C, NULL), mdh = buffer(R * C, NULL), mdb1 = buffer(C, NULL),
           mdb2 = buffer(C, NULL), mdslopes = buffer(C, NULL), mdw1 = buffer(C * C, NULL),
           mdx = buffer(R * C, NULL);

    clrelu_layout rows = clrelu_layout_make(R, C, 1); /* channels last */
    clrelu_desc prelu = clrelu_desc_make(CLRELU_OP_PRELU, CLRELU_DTYPE_F32);
    clrelu_desc relu = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    clrelu_desc relu_from_y = relu;
    relu_from_y.grad_from = CLRELU_GRAD_FROM_Y;
    cl_event ev[12] = {NULL};
    clrelu_status st = CLRELU_OK;

    /* Forward. */
    ev[0] = gemm(0, 0, R, C, C, mx, C, mw1, C, 0, mh, C);
    if (st == CLRELU_OK)
        st = clrelu_residual_forward(relu_ctx, &prelu, &rows, mh, 0, mb1, 0, NULL, 0, ma, 0, mact,
                                     0, 1, &ev[0], &ev[1]);
    ev[2] = gemm(0, 0, R, C, C, mact, C, mw2, C, 0, mu, C);
    if (st == CLRELU_OK)
        st = clrelu_residual_forward(relu_ctx, &relu, &rows, mu, 0, mb2, 0, mx, 0, NULL, 0, my, 0,
                                     1, &ev[2], &ev[3]);
    /* Backward. */
    if (st == CLRELU_OK)
        st = clrelu_residual_backward(relu_ctx, &relu_from_y, &rows, mdy, 0, my, 0, NULL, 0, NULL,
                                      0, NULL, 0, mdu, 0, mdb2, 0, NULL, 0, 1, &ev[3], &ev[4]);
    ev[5] = gemm(1, 0, C, C, R, mact, C, mdu, C, 0, mdw2, C);
    ev[6] = gemm(0, 1, R, C, C, mdu, C, mw2, C, 0, mda, C);
    if (st == CLRELU_OK)
        st = clrelu_residual_backward(relu_ctx, &prelu, &rows, mda, 0, mh, 0, mb1, 0, NULL, 0, ma,
                                      0, mdh, 0, mdb1, 0, mdslopes, 0, 1, &ev[6], &ev[7]);
    ev[8] = gemm(1, 0, C, C, R, mx, C, mdh, C, 0, mdw1, C);
    /* dx = dh W1^T + du: the skip connection's gradient is du itself. */
    clEnqueueCopyBuffer(queue, mdu, mdx, 0, 0, R * C * sizeof(float), 1, &ev[7], &ev[9]);
    ev[10] = gemm(0, 1, R, C, C, mdh, C, mw1, C, 1, mdx, C);
    if (st != CLRELU_OK) {
        fprintf(stderr, "resnet_block: %s\n", clrelu_context_error(relu_ctx));
        return 1;
    }

    /* The only waits: for the results. */
    static float h[R * C], act[R * C], u[R * C], y[R * C], du[R * C], dw2[C * C], da[R * C],
        dh[R * C], db1[C], db2[C], dsl[C], dw1[C * C], dx[R * C];
    read_back(mh, h, R * C, ev[10]);
    read_back(mact, act, R * C, NULL);
    read_back(mu, u, R * C, NULL);
    read_back(my, y, R * C, NULL);
    read_back(mdu, du, R * C, NULL);
    read_back(mdw2, dw2, C * C, NULL);
    read_back(mda, da, R * C, NULL);
    read_back(mdh, dh, R * C, NULL);
    read_back(mdb1, db1, C, NULL);
    read_back(mdb2, db2, C, NULL);
    read_back(mdslopes, dsl, C, NULL);
    read_back(mdw1, dw1, C * C, NULL);
    read_back(mdx, dx, R * C, NULL);

    /* The host: each GEMM from the device's own inputs to a tolerance; each epilogue exactly. */
    static double ref[R * C], mag[R * C];
    static float exact[R * C];
    host_gemm(0, 0, R, C, C, x, C, w1, C, ref, mag);
    check_close("h = x W1", h, ref, mag, R * C);
    for (size_t r = 0; r < R; ++r)
        for (size_t c = 0; c < C; ++c) {
            float s = h[r * C + c] + b1[c];
            exact[r * C + c] = s > 0 ? s : slopes[c] * s;
        }
    check_exact("a = prelu(h + b1)", act, exact, R * C);
    host_gemm(0, 0, R, C, C, act, C, w2, C, ref, mag);
    check_close("u = a W2", u, ref, mag, R * C);
    for (size_t r = 0; r < R; ++r)
        for (size_t c = 0; c < C; ++c) {
            float s = u[r * C + c] + b2[c];
            s = s + x[r * C + c];
            exact[r * C + c] = s > 0 ? s : 0.0f;
        }
    check_exact("y = relu((u + b2) + x)", y, exact, R * C);
    for (size_t i = 0; i < R * C; ++i)
        exact[i] = y[i] > 0 ? dy[i] : 0.0f;
    check_exact("du", du, exact, R * C);
    host_gemm(1, 0, C, C, R, act, C, du, C, ref, mag);
    check_close("dW2 = a^T du", dw2, ref, mag, C * C);
    host_gemm(0, 1, R, C, C, du, C, w2, C, ref, mag);
    check_close("da = du W2^T", da, ref, mag, R * C);
    for (size_t r = 0; r < R; ++r)
        for (size_t c = 0; c < C; ++c) {
            float s = h[r * C + c] + b1[c], g = da[r * C + c];
            exact[r * C + c] = s > 0 ? g : slopes[c] * g;
        }
    check_exact("dh", dh, exact, R * C);
    double sums[3][C], sum_mag[3][C];
    memset(sums, 0, sizeof sums);
    memset(sum_mag, 0, sizeof sum_mag);
    for (size_t r = 0; r < R; ++r)
        for (size_t c = 0; c < C; ++c) {
            float s = h[r * C + c] + b1[c];
            double t[3] = {du[r * C + c], dh[r * C + c], s > 0 ? 0.0 : (double)s * da[r * C + c]};
            for (int k = 0; k < 3; ++k) {
                sums[k][c] += t[k];
                sum_mag[k][c] += fabs(t[k]);
            }
        }
    check_close("db2", db2, sums[0], sum_mag[0], C);
    check_close("db1", db1, sums[1], sum_mag[1], C);
    check_close("dslopes", dsl, sums[2], sum_mag[2], C);
    host_gemm(1, 0, C, C, R, x, C, dh, C, ref, mag);
    check_close("dW1 = x^T dh", dw1, ref, mag, C * C);
    host_gemm(0, 1, R, C, C, dh, C, w1, C, ref, mag);
    for (size_t i = 0; i < R * C; ++i) {
        ref[i] += du[i];
        mag[i] += fabs(du[i]);
    }
    check_close("dx = dh W1^T + du", dx, ref, mag, R * C);

    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; ++i)
        if (ev[i])
            clReleaseEvent(ev[i]);
    cl_mem all[] = {mx, mw1, mw2,  mb1, mb2, ma,   mdy,  mh,       mact, mu,
                    my, mdu, mdw2, mda, mdh, mdb1, mdb2, mdslopes, mdw1, mdx};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        clReleaseMemObject(all[i]);
    clrelu_context_release(relu_ctx);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    printf("resnet_block: %dx%d channels last, PReLU + residual epilogue, forward and backward: "
           "%s\n",
           R, C, failures ? "WRONG" : "OK");
    return failures ? 1 : 0;
}
