/* The scalar reference of the CPU path: every SIMD variant is tested against it. */
#include "cpu.h"
#include "relu_bits.h"

static void relu_fwd_f32(size_t n, const float *x, float *y) {
    clrelu__relu_fwd_f32_tail(n, x, y);
}

static void relu_bwd_f32(size_t n, const float *dy, const float *x, float *dx) {
    clrelu__relu_bwd_f32_tail(n, dy, x, dx);
}

const clrelu__cpu_kernels clrelu__cpu_scalar = {
    .isa = "scalar",
    .relu_fwd_f32 = relu_fwd_f32,
    .relu_bwd_f32 = relu_bwd_f32,
};
