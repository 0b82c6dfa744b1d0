/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu: the ReLU family of activations on any OpenCL device, with a CPU SIMD path for host
 * arrays and machines without a device. This header is the whole public API (C11). */
#ifndef CLRELU_CLRELU_H
#define CLRELU_CLRELU_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#if defined(__APPLE__)
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#include "clrelu/clrelu_version.h"

#if defined(CLRELU_STATIC_DEFINE)
#define CLRELU_API
#elif defined(_WIN32)
#if defined(CLRELU_BUILDING)
#define CLRELU_API __declspec(dllexport)
#else
#define CLRELU_API __declspec(dllimport)
#endif
#else
#define CLRELU_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes. Every fallible call returns one; the detail (which argument, its value, the
 * OpenCL error name, a build log) is in clrelu_context_error() / clrelu_last_error().
 * ------------------------------------------------------------------------------------------ */
#define CLRELU_STATUS_LIST(X)                                                                      \
    X(CLRELU_OK, 0, "success")                                                                     \
    X(CLRELU_ERROR_INVALID_ARGUMENT, -1, "invalid argument")                                       \
    X(CLRELU_ERROR_OUT_OF_BOUNDS, -2, "offset + n exceeds the buffer")                             \
    X(CLRELU_ERROR_SIZE_OVERFLOW, -3, "size computation overflows size_t")                         \
    X(CLRELU_ERROR_WRONG_CONTEXT, -4, "buffer or queue belongs to another OpenCL context")         \
    X(CLRELU_ERROR_UNSUPPORTED, -5, "operation or data type not supported here")                   \
    X(CLRELU_ERROR_DEVICE_NOT_FOUND, -6, "no device matches the device spec")                      \
    X(CLRELU_ERROR_ISA_UNAVAILABLE, -7, "the requested CPU instruction set is not available")      \
    X(CLRELU_ERROR_NO_DEVICE, -8, "the context has no OpenCL device (CPU path only)")              \
    X(CLRELU_ERROR_OUT_OF_MEMORY, -9, "out of host or device memory")                              \
    X(CLRELU_ERROR_BUILD, -10, "OpenCL program build failed")                                      \
    X(CLRELU_ERROR_OPENCL, -11, "an OpenCL call failed")                                           \
    X(CLRELU_ERROR_DEVICE_AMBIGUOUS, -12, "the device spec matches devices of several platforms")

typedef enum clrelu_status {
#define CLRELU__STATUS_ENUM(name, value, text) name = value,
    CLRELU_STATUS_LIST(CLRELU__STATUS_ENUM)
#undef CLRELU__STATUS_ENUM
} clrelu_status;

/* A short, static English description of a status ("invalid argument"). Never NULL. */
CLRELU_API const char *clrelu_status_string(clrelu_status status);

/* The status's identifier as a string ("CLRELU_ERROR_INVALID_ARGUMENT"). Never NULL. */
CLRELU_API const char *clrelu_status_name(clrelu_status status);

/* The library's version, "MAJOR.MINOR.PATCH" (the CLRELU_VERSION_* macros give the version
 * the caller was compiled against). */
CLRELU_API const char *clrelu_version(void);

/* ---------------------------------------------------------------------------------------------
 * Contexts
 *
 * Threads: any number of threads may call clrelu at once, on one shared context or on one each.
 * On a shared context every call may run concurrently with every other except two:
 * clrelu_context_set_host_path (call it before sharing) and clrelu_context_release (call it
 * after every other call on the context has returned). Calls on a shared context enqueue on its
 * one queue, in the order they take the context's lock; program builds, kernel arguments and
 * the pooled buffers of the host round trip are serialised by that lock, the CPU path needs
 * none. Each thread has its own clrelu_last_error(); clrelu_context_error(ctx) is the last
 * message of any thread on ctx and may change under a reader while another thread fails.
 *
 * Failures: a failed call leaves nothing half-made (whatever it created is released, a program
 * is cached only once built), so the context stays usable and the call may be made again. A
 * device that is lost makes every later call fail with the driver's error, and
 * clrelu_context_release still releases everything.
 * ------------------------------------------------------------------------------------------ */
typedef struct clrelu_context clrelu_context;

/* Creates a context on the device that device_spec names; NULL means the environment variable
 * CLRELU_DEVICE, and when that is unset or empty, the first GPU, or the CPU path if there is
 * no GPU. The spec is one of, in this order of precedence:
 *   "cpu"   the CPU SIMD path only (no OpenCL is touched);
 *   "gpu"   the first OpenCL GPU of any platform;
 *   "P:D"   OpenCL platform P, device D (indices in clGetPlatformIDs / clGetDeviceIDs order,
 *           which follows the ICD loader's vendor files, not their names: the same P:D may
 *           name another device on another machine or after a driver is installed);
 *   a name  compared case-insensitively with, best first: the whole platform name or vendor;
 *           whole words of them ("pocl", "intel", "nvidia", "amd", "oclgrind" each select
 *           that vendor's platform); the whole device vendor; whole words of it; the whole
 *           device name; any part of the device name ("a100", "skylake"). A vendor's name
 *           never selects a device by its name: PoCL's CPU device is named after the CPU
 *           ("pthread-skylake-avx512-AMD EPYC") and its vendor is the CPU's ("AuthenticAMD"),
 *           and neither makes "amd" or "intel" mean PoCL. At the best level that matches, the
 *           first matching device of one platform is chosen; matches on several platforms are
 *           CLRELU_ERROR_DEVICE_AMBIGUOUS, and the message lists them.
 * On an OpenCL device the context owns a cl_context and one in-order cl_command_queue.
 * Every context also has the CPU path; its instruction set is the best this CPU has, or the
 * one CLRELU_CPU_ISA names (scalar, sse2, avx2, avx512 on x86; scalar, neon on AArch64): a
 * forced ISA this CPU or this build lacks is CLRELU_ERROR_ISA_UNAVAILABLE. Large host calls
 * on the CPU path are split over up to CLRELU_NUM_THREADS threads (default: the cores this
 * process may run on), from a pool started once per process; small ones stay on the calling
 * thread. A CLRELU_NUM_THREADS that is not a count from 1 to 256 fails only the CPU path's
 * work, with CLRELU_ERROR_INVALID_ARGUMENT and a message naming it: creating a context on the
 * CPU path, and the host calls of a device context that would run on the CPU path; the
 * device's own calls (and host calls sent to it with CLRELU_HOST_PATH_DEVICE) still work.
 * On success *out holds the context (release it with clrelu_context_release). On failure
 * *out is NULL and clrelu_last_error() says why. */
CLRELU_API clrelu_status clrelu_context_create(clrelu_context **out, const char *device_spec);

/* Wraps a caller's context and in-order or out-of-order queue (the queue must belong to the
 * context). clrelu retains both and releases them in clrelu_context_release; it never
 * replaces them. Every enqueue goes to this queue. */
CLRELU_API clrelu_status clrelu_context_wrap(clrelu_context **out, cl_context context,
                                             cl_command_queue queue);

/* Releases the context and everything clrelu created for it (programs, kernels, pooled
 * buffers), and the references it holds on a wrapped context and queue. It does not wait for
 * enqueued work: the OpenCL runtime keeps the objects alive until that work is done. NULL is a
 * no-op. */
CLRELU_API void clrelu_context_release(clrelu_context *ctx);

/* The message of the last error on this context, naming the argument and its value (for
 * example "clrelu_forward: x_off + n = 1030 exceeds the 1024 elements of x"); "" if none.
 * With ctx == NULL it is clrelu_last_error(). The string lives until the next failing call on
 * ctx. When several threads share a context, prefer clrelu_last_error(). */
CLRELU_API const char *clrelu_context_error(const clrelu_context *ctx);

/* The message of the last error raised on the calling thread by any clrelu call, including
 * calls that have no context (a failed clrelu_context_create, a NULL ctx); "" if none. */
CLRELU_API const char *clrelu_last_error(void);

typedef enum clrelu_device_kind {
    CLRELU_DEVICE_KIND_SIMD = 0,        /* the CPU SIMD path, no OpenCL */
    CLRELU_DEVICE_KIND_GPU = 1,         /* an OpenCL device of type GPU */
    CLRELU_DEVICE_KIND_CPU = 2,         /* an OpenCL device of type CPU (PoCL, Intel CPU) */
    CLRELU_DEVICE_KIND_ACCELERATOR = 3, /* any other OpenCL device */
} clrelu_device_kind;

/* What a context runs on. Strings are NUL-terminated and truncated to fit. */
typedef struct clrelu_context_info {
    clrelu_device_kind kind;
    char id[16];           /* a spec that selects this device again: "cpu" or "P:D"; for a
                              wrapped context the P:D of its device, "" if not enumerable */
    char platform[128];    /* platform name ("" on the CPU path) */
    char device[128];      /* device name, or the CPU's brand string on the CPU path */
    char driver[64];       /* driver version ("" on the CPU path) */
    char cpu_isa[16];      /* the CPU path's ISA: "scalar", "sse2", "avx2", "avx512", "neon" */
    cl_uint compute_units; /* OpenCL compute units, or the CPU path's threads (CLRELU_NUM_...) */
    cl_ulong global_mem;   /* bytes of global memory (0 on the CPU path) */
    cl_ulong max_alloc;    /* CL_DEVICE_MAX_MEM_ALLOC_SIZE (0 on the CPU path) */
    int has_fp64;          /* the device reports cl_khr_fp64 (always 1 on the CPU path) */
    cl_platform_id platform_id; /* NULL on the CPU path */
    cl_device_id device_id;     /* NULL on the CPU path */
    cl_context context;         /* not retained for the caller; NULL on the CPU path */
    cl_command_queue queue;     /* not retained for the caller; NULL on the CPU path */
} clrelu_context_info;

/* Fills *info with what ctx runs on. info_size is sizeof(clrelu_context_info) as the caller
 * was compiled (later versions append fields and fill only those the caller's size holds); a
 * size smaller than this first version's struct is CLRELU_ERROR_INVALID_ARGUMENT. */
CLRELU_API clrelu_status clrelu_context_get_info(const clrelu_context *ctx,
                                                 clrelu_context_info *info, size_t info_size);

/* Where the host-array calls (clrelu_forward_host, clrelu_forward_mask_host,
 * clrelu_backward_host) run. The bias epilogue's host calls always run on the CPU path. */
typedef enum clrelu_host_path {
    CLRELU_HOST_PATH_CPU = 0,    /* the CPU SIMD path (default: PCIe is slower than host RAM) */
    CLRELU_HOST_PATH_DEVICE = 1, /* copy to the context's device, run there, copy back */
    /* The device for calls that move at least the context's threshold in bytes (inputs plus
     * output, as clrelu-tune measures where a round trip beats the CPU path), the CPU path
     * below it. Without a measured threshold (no tuning database, or the device never won),
     * every call stays on the CPU path. */
    CLRELU_HOST_PATH_AUTO = 2,
} clrelu_host_path;

/* Chooses where the host-array calls on ctx run. CLRELU_HOST_PATH_DEVICE on a context
 * without an OpenCL device is CLRELU_ERROR_NO_DEVICE; CLRELU_HOST_PATH_AUTO is accepted there
 * and always picks the CPU path. Set it before sharing ctx between threads. */
CLRELU_API clrelu_status clrelu_context_set_host_path(clrelu_context *ctx, clrelu_host_path path);

/* CLRELU_HOST_PATH_AUTO's threshold: host calls moving at least *min_bytes bytes (the sum of
 * their arrays' sizes) go to the device. SIZE_MAX means never, the value without a tuning
 * database that measured one (clrelu-tune writes it) and always on the CPU path. */
CLRELU_API clrelu_status clrelu_context_get_host_path_threshold(const clrelu_context *ctx,
                                                                size_t *min_bytes);
/* Sets the threshold (SIZE_MAX: never). CLRELU_ERROR_NO_DEVICE on a context without an
 * OpenCL device, unless min_bytes is SIZE_MAX. Set it before sharing ctx between threads. */
CLRELU_API clrelu_status clrelu_context_set_host_path_threshold(clrelu_context *ctx,
                                                                size_t min_bytes);

/* ---------------------------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------------------------ */
/* The semantics, the same bits on every device, ISA and path. "Computed" values are
 * computed in f32 (f64 for CLRELU_DTYPE_F64) without fused multiply-add and rounded once to
 * the storage type, round-to-nearest-even. A NaN input that the table passes through keeps
 * its bits (payload and sign); a NaN that arithmetic creates (0 * inf) is the canonical
 * quiet NaN (f32 0x7fc00000, f16 0x7e00, bf16 0x7fc0, f64 0x7ff8000000000000).
 *
 *   op        forward f(x)                         backward f'(x) * dy
 *             x > 0        x <= 0     x NaN        x > 0          x <= 0          x NaN
 *   RELU      x            +0.0       x            dy             +0.0            dy
 *   LEAKY     x            s * x      x            dy             s * dy          s * dy
 *   CLIPPED   min(x, c)    +0.0       x            dy if x < c,   +0.0            dy
 *                                                  else +0.0
 *   PRELU     x            a[c] * x   x            dy             a[c] * dy       a[c] * dy
 *
 * (s = desc->negative_slope, c = desc->ceiling; a[c] = the slope of the element's channel,
 * from an array: PRELU runs only in the channel calls, clrelu_prelu_* and clrelu_residual_*).
 * x <= 0 includes -0.0, -inf and negative subnormals: relu(-0.0) = +0.0, leaky(-0.0) = -0.0,
 * and leaky with s = 0 at -inf is NaN, as in IEEE arithmetic and PyTorch. The derivative at
 * exactly 0 is 0 (s for leaky), and at exactly c it is 0 for clipped. RELU, LEAKY, CLIPPED and
 * PRELU are the functions of PyTorch's relu, leaky_relu, hardtanh(x, 0, c) (relu6 with c = 6)
 * and prelu; where the bits differ (the sign of a zero from -0.0, NaN) docs/semantics.md has
 * the table. */
typedef enum clrelu_op {
    CLRELU_OP_RELU = 0,
    CLRELU_OP_LEAKY_RELU = 1,
    CLRELU_OP_CLIPPED_RELU = 2,
    CLRELU_OP_PRELU = 3, /* a learned slope per channel: clrelu_prelu_*, clrelu_residual_* */
} clrelu_op;

/* Element types. F16 and BF16 are storage types: math is f32, one rounding on store. They
 * work on devices without cl_khr_fp16. F64 needs cl_khr_fp64 on an OpenCL device (else
 * CLRELU_ERROR_UNSUPPORTED) and always works on the CPU path. */
typedef enum clrelu_dtype {
    CLRELU_DTYPE_F32 = 0,  /* IEEE binary32 */
    CLRELU_DTYPE_F16 = 1,  /* IEEE binary16 */
    CLRELU_DTYPE_BF16 = 2, /* bfloat16: the upper half of a binary32 */
    CLRELU_DTYPE_F64 = 3,  /* IEEE binary64 */
} clrelu_dtype;

/* What the backward op reads besides dy. */
typedef enum clrelu_grad_source {
    /* the forward input x */
    CLRELU_GRAD_FROM_X = 0,
    /* the forward output y, so forward may run in place and x need not be kept. The same
     * table with y in place of x (y > 0 exactly where x > 0). Clipped passes dy where
     * 0 < y < c', c' being the ceiling as the storage type holds it (what forward wrote for
     * x >= c): for f16/bf16 with a ceiling they cannot hold exactly, an x equal to c' below
     * c is indistinguishable from a clipped one, and gets 0. LEAKY needs negative_slope > 0
     * here. */
    CLRELU_GRAD_FROM_Y = 1,
    /* the bitmask clrelu_forward_mask wrote: bit i % 32 of 32-bit word i / 32 is set where
     * f'(x) is 1 (relu: x > 0 or NaN; leaky: x > 0; clipped: 0 < x < c or NaN); backward
     * then reads dy and 1/32 of an element per element. */
    CLRELU_GRAD_FROM_MASK = 2,
} clrelu_grad_source;

/* Describes an op. Start from clrelu_desc_make() (or clrelu_desc_init()) and change what you
 * need. struct_size is what keeps the struct extensible: later versions append fields, and a
 * descriptor says by its size which ones it has. A zeroed struct (struct_size 0) is refused. */
typedef struct clrelu_desc {
    size_t struct_size; /* sizeof(clrelu_desc) as the caller was compiled: set by _make/_init */
    clrelu_op op;
    clrelu_dtype dtype;
    float negative_slope; /* LEAKY: f(x) = negative_slope * x for x <= 0 (default 0.01) */
    float ceiling;        /* CLIPPED: the ceiling c, > 0 and finite (default 6: relu6) */
    /* Blending, as cuDNN defines it: out = alpha * f + beta * out, where out is y (forward)
     * or dx (backward), and the two products and their sum are each rounded in the compute
     * type. With beta = 0 the old out is never read (NaN or garbage there cannot leak in);
     * with alpha = 1 and beta = 0 (the default) f is written as it is. beta = 1 accumulates
     * gradients. A NaN f passes through as the table says, whatever alpha and beta are. */
    float alpha;                  /* default 1 */
    float beta;                   /* default 0 */
    clrelu_grad_source grad_from; /* backward: default CLRELU_GRAD_FROM_X */
} clrelu_desc;

/* Fills the desc_size bytes at desc with a descriptor for op on dtype, every other field at
 * its default, and desc->struct_size = desc_size. desc_size must be the size of a descriptor
 * this library knows (sizeof(clrelu_desc) of this header); anything else, or a NULL desc, is
 * CLRELU_ERROR_INVALID_ARGUMENT and leaves *desc as it was (op and dtype are checked by the
 * calls that use the descriptor). This is the call for foreign-function interfaces (ctypes,
 * cffi); C code can use clrelu_desc_make. */
CLRELU_API clrelu_status clrelu_desc_init(clrelu_desc *desc, size_t desc_size, clrelu_op op,
                                          clrelu_dtype dtype);

/* A descriptor for op on dtype with every other field at its default (clrelu_desc_init with
 * this header's size). */
static inline clrelu_desc clrelu_desc_make(clrelu_op op, clrelu_dtype dtype) {
    clrelu_desc d;
    d.struct_size = 0;
    clrelu_desc_init(&d, sizeof d, op, dtype);
    return d;
}

/* Bytes of one element of dtype (0 for an unknown dtype). */
CLRELU_API size_t clrelu_dtype_size(clrelu_dtype dtype);

/* 32-bit words of a mask for n elements: (n + 31) / 32, without overflow. */
CLRELU_API size_t clrelu_mask_words(size_t n);

/* Enqueues the forward op: y[y_off + i] = f(x[x_off + i]) for i < n, on ctx's queue.
 * Offsets and n count elements of desc->dtype. x and y may be the same buffer at the same
 * offset (in place); other overlaps of the same buffer are rejected.
 * The op waits for the n_wait events in wait (wait must be NULL when n_wait is 0). If done is
 * not NULL, *done receives an event that completes with the op; the caller releases it with
 * clReleaseEvent. Nothing blocks: the buffers must stay alive and unchanged by others until
 * the op completes. n = 0 enqueues nothing (a marker when done is not NULL).
 * Before enqueueing, the buffers are checked (not NULL, of ctx's cl_context, offset + n
 * within CL_MEM_SIZE, y writable); a bad argument never reaches the device. */
CLRELU_API clrelu_status clrelu_forward(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                        cl_mem x, size_t x_off, cl_mem y, size_t y_off,
                                        cl_uint n_wait, const cl_event *wait, cl_event *done);

/* As clrelu_forward, and also writes the bitmask that CLRELU_GRAD_FROM_MASK reads: bits
 * [mask_off, mask_off + n) of mask, a buffer of 32-bit words. mask_off counts elements (bits)
 * and must be a multiple of 32; the bits of the last word past n are written as 0. */
CLRELU_API clrelu_status clrelu_forward_mask(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                             cl_mem x, size_t x_off, cl_mem y, size_t y_off,
                                             cl_mem mask, size_t mask_off, cl_uint n_wait,
                                             const cl_event *wait, cl_event *done);

/* Enqueues the backward op: dx[i] = f'(src[i]) * dy[i], blended as desc says. src is x, y or
 * the mask, as desc->grad_from says; src_off counts elements (for the mask: bits, a multiple
 * of 32). dx may be the same buffer as dy or as x/y at the same offset. Events, ownership and
 * checks as clrelu_forward. */
CLRELU_API clrelu_status clrelu_backward(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                         cl_mem dy, size_t dy_off, cl_mem src, size_t src_off,
                                         cl_mem dx, size_t dx_off, cl_uint n_wait,
                                         const cl_event *wait, cl_event *done);

/* The bias epilogue of a dense layer: y[r][c] = f(x[r][c] + bias[c]) for r < rows, c < cols,
 * blended as desc says, on row-major matrices: row r of x starts at element x_off + r * x_pitch
 * (x_pitch >= cols; it may be larger, as a GEMM with a leading dimension leaves it), likewise y;
 * bias holds cols elements from bias_off. x + bias is computed in the compute type (f32, f64
 * for f64) and rounded once there; a NaN x passes with its bits, else a NaN bias, and inf -
 * inf gives the canonical NaN; then the table applies to that sum. y may be x (the same offset
 * and pitch); other overlaps are refused. Events and checks as clrelu_forward; masks do not
 * apply. */
CLRELU_API clrelu_status clrelu_bias_forward(clrelu_context *ctx, const clrelu_desc *desc,
                                             size_t rows, size_t cols, cl_mem x, size_t x_off,
                                             size_t x_pitch, cl_mem bias, size_t bias_off, cl_mem y,
                                             size_t y_off, size_t y_pitch, cl_uint n_wait,
                                             const cl_event *wait, cl_event *done);

/* Its backward: dx[r][c] = f'(s[r][c]) * dy[r][c], blended, where s is x + bias (desc->grad_from
 * = CLRELU_GRAD_FROM_X: src is x and bias is read) or y (CLRELU_GRAD_FROM_Y: src is y; bias may
 * be NULL). When dbias is not NULL it also gets dbias[c] = alpha * S[c] + beta * dbias[c],
 * where S[c] sums the unblended gradient g[r][c] over the rows in the compute type in a fixed
 * order: each block of 256 rows in row order, then the blocks in order (so every device and
 * the CPU path give the same bits); each product and sum is rounded, a NaN result is the
 * canonical NaN. dx may be dy or src (the same offset and pitch). A second, small kernel adds
 * the blocks; its scratch space is the context's. */
CLRELU_API clrelu_status clrelu_bias_backward(clrelu_context *ctx, const clrelu_desc *desc,
                                              size_t rows, size_t cols, cl_mem dy, size_t dy_off,
                                              size_t dy_pitch, cl_mem src, size_t src_off,
                                              size_t src_pitch, cl_mem bias, size_t bias_off,
                                              cl_mem dx, size_t dx_off, size_t dx_pitch,
                                              cl_mem dbias, size_t dbias_off, cl_uint n_wait,
                                              const cl_event *wait, cl_event *done);

/* The bias epilogue on host arrays, on the CPU path (whatever the host path is set to); pitches
 * as above, in elements. */
CLRELU_API clrelu_status clrelu_bias_forward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                  size_t rows, size_t cols, const void *x,
                                                  size_t x_pitch, const void *bias, void *y,
                                                  size_t y_pitch);
CLRELU_API clrelu_status clrelu_bias_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                   size_t rows, size_t cols, const void *dy,
                                                   size_t dy_pitch, const void *src,
                                                   size_t src_pitch, const void *bias, void *dx,
                                                   size_t dx_pitch, void *dbias);

/* ---------------------------------------------------------------------------------------------
 * Tensors with channels: PReLU and the residual epilogue
 * ------------------------------------------------------------------------------------------ */
/* The shape of a tensor with channels, shared by every tensor argument of a call: element
 * (o, c, i), for o < outer, c < channels, i < inner, is element o * pitch + c * inner + i from
 * the tensor's offset (or pointer). Channels last (a dense layer's or an NHWC convolution's
 * output, rows x C, rows pitch elements apart): outer = rows, inner = 1. Channels first (NCHW):
 * outer = N, inner = H * W, pitch = C * H * W. The per-channel arrays (slopes, bias and their
 * gradients) hold channels elements. Start from clrelu_layout_make() (or clrelu_layout_init());
 * struct_size keeps the struct extensible as clrelu_desc's does. */
typedef struct clrelu_layout {
    size_t struct_size; /* sizeof(clrelu_layout) as the caller was compiled: set by _make/_init */
    size_t outer;       /* N, or the rows */
    size_t channels;    /* C */
    size_t inner;       /* elements of one channel per outer index: H * W, or 1 */
    size_t pitch;       /* elements from one outer index to the next, >= channels * inner */
} clrelu_layout;

/* Fills the layout_size bytes at layout with outer x channels x inner, dense (pitch = channels
 * * inner, or 0 when that overflows, which the calls then refuse). layout_size must be
 * sizeof(clrelu_layout) of this header; anything else, or a NULL layout, is
 * CLRELU_ERROR_INVALID_ARGUMENT. For foreign-function interfaces; C code can use
 * clrelu_layout_make and then set pitch for a padded layout. */
CLRELU_API clrelu_status clrelu_layout_init(clrelu_layout *layout, size_t layout_size, size_t outer,
                                            size_t channels, size_t inner);

/* A dense outer x channels x inner layout (clrelu_layout_init with this header's size). */
static inline clrelu_layout clrelu_layout_make(size_t outer, size_t channels, size_t inner) {
    clrelu_layout l;
    l.struct_size = 0;
    clrelu_layout_init(&l, sizeof l, outer, channels, inner);
    return l;
}

/* The residual epilogue: y = f(s), s = (x + bias[c]) + z, on every element (o, c, i) of
 * layout, blended as desc says (out = alpha * f + beta * out). bias (channels elements from
 * bias_off) and z (a tensor like x) are each optional: NULL leaves its addition out (x + 0 is
 * not x for x = -0.0). Each addition is rounded in the compute type (f32; f64 for f64), in
 * this order; a NaN x passes with its bits, else a NaN bias, else a NaN z, and inf - inf gives
 * the canonical NaN; then the table above applies to s, with PRELU's slope a[c] read from
 * slopes (channels elements from slopes_off; NULL for the other ops, which take desc's slope
 * or ceiling). f is any op of the family. y may be x or z at the same offset (in place); other
 * overlaps with an output are refused. Buffers are checked over the span the layout gives
 * them ((outer - 1) * pitch + channels * inner elements from the offset). Events and checks as
 * clrelu_forward. outer, channels or inner 0 enqueues nothing (a marker when done is not
 * NULL). */
CLRELU_API clrelu_status clrelu_residual_forward(clrelu_context *ctx, const clrelu_desc *desc,
                                                 const clrelu_layout *layout, cl_mem x,
                                                 size_t x_off, cl_mem bias, size_t bias_off,
                                                 cl_mem z, size_t z_off, cl_mem slopes,
                                                 size_t slopes_off, cl_mem y, size_t y_off,
                                                 cl_uint n_wait, const cl_event *wait,
                                                 cl_event *done);

/* Its backward: dx = f'(s) * dy, blended, where s is recomputed from x (desc->grad_from =
 * CLRELU_GRAD_FROM_X: src is x, and bias and z are given as in the forward call) or read from
 * y (CLRELU_GRAD_FROM_Y: src is y = f(s), not for PRELU, whose slopes may be <= 0; bias and z
 * may be NULL). s's gradient is also z's: with alpha = 1 and beta = 0, dx is dz too. When dbias
 * is not NULL it gets dbias[c] = alpha * S[c] + beta * dbias[c], S[c] the sum of the unblended
 * gradient over channel c; for PRELU, when dslopes is not NULL, dslopes[c] = alpha * T[c] +
 * beta * dslopes[c], T[c] the sum of s * dy over the elements of channel c that do not pass
 * (s <= 0 or NaN; PyTorch's prelu weight gradient; the other ops take no dslopes). beta = 1
 * accumulates. Both sums run in the compute type in one fixed order, so that every device and
 * the CPU path give the same bits: the channel's elements in (o, i) order, k = o * inner + i, in
 * blocks of 256 consecutive k, each block summed in order from +0, then the blocks' sums in order
 * from +0; each addition is rounded, and a NaN result is the canonical NaN (with inner = 1 this is
 * the bias epilogue's order). dx may be dy, src or z at the same offset; dbias and dslopes overlap
 * nothing. A second, small kernel adds the blocks; its scratch space is the context's. */
CLRELU_API clrelu_status clrelu_residual_backward(
    clrelu_context *ctx, const clrelu_desc *desc, const clrelu_layout *layout, cl_mem dy,
    size_t dy_off, cl_mem src, size_t src_off, cl_mem bias, size_t bias_off, cl_mem z, size_t z_off,
    cl_mem slopes, size_t slopes_off, cl_mem dx, size_t dx_off, cl_mem dbias, size_t dbias_off,
    cl_mem dslopes, size_t dslopes_off, cl_uint n_wait, const cl_event *wait, cl_event *done);

/* PReLU: y = f(x) with f the PRELU row of the table, slope a[c] = slopes[slopes_off + c]
 * (desc->op must be CLRELU_OP_PRELU; one shared slope is channels = 1). clrelu_residual_forward
 * without bias and z. */
CLRELU_API clrelu_status clrelu_prelu_forward(clrelu_context *ctx, const clrelu_desc *desc,
                                              const clrelu_layout *layout, cl_mem x, size_t x_off,
                                              cl_mem slopes, size_t slopes_off, cl_mem y,
                                              size_t y_off, cl_uint n_wait, const cl_event *wait,
                                              cl_event *done);

/* PReLU's backward from x: dx = f'(x) * dy, and, when dslopes is not NULL, the slopes'
 * gradient dslopes[c] = alpha * (sum over channel c of x * dy where x <= 0 or NaN) + beta *
 * dslopes[c], summed in clrelu_residual_backward's order. clrelu_residual_backward without
 * bias, z and dbias. */
CLRELU_API clrelu_status clrelu_prelu_backward(clrelu_context *ctx, const clrelu_desc *desc,
                                               const clrelu_layout *layout, cl_mem dy,
                                               size_t dy_off, cl_mem x, size_t x_off, cl_mem slopes,
                                               size_t slopes_off, cl_mem dx, size_t dx_off,
                                               cl_mem dslopes, size_t dslopes_off, cl_uint n_wait,
                                               const cl_event *wait, cl_event *done);

/* The same four on host arrays, synchronously, on the CPU path (whatever the host path is set
 * to). Each tensor pointer is its element (0, 0, 0); the per-channel arrays hold channels
 * elements; NULL leaves out what the cl_mem calls let NULL leave out. Elements must be aligned
 * to their size. */
CLRELU_API clrelu_status clrelu_residual_forward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                      const clrelu_layout *layout, const void *x,
                                                      const void *bias, const void *z,
                                                      const void *slopes, void *y);
CLRELU_API clrelu_status clrelu_residual_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                       const clrelu_layout *layout, const void *dy,
                                                       const void *src, const void *bias,
                                                       const void *z, const void *slopes, void *dx,
                                                       void *dbias, void *dslopes);
CLRELU_API clrelu_status clrelu_prelu_forward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                   const clrelu_layout *layout, const void *x,
                                                   const void *slopes, void *y);
CLRELU_API clrelu_status clrelu_prelu_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                    const clrelu_layout *layout, const void *dy,
                                                    const void *x, const void *slopes, void *dx,
                                                    void *dslopes);

/* One tensor of a batch: n elements of a buffer from element offset off. */
typedef struct clrelu_tensor {
    cl_mem mem;
    size_t off;
    size_t n;
} clrelu_tensor;

/* The forward op on count tensors: y[i] = f(x[i]), with x[i].n == y[i].n; many small
 * activations for the cost of few launches. Tensors are grouped in order so that each launch
 * binds at most 8 distinct x buffers and 8 distinct y buffers (tensors in a shared buffer,
 * as a framework's arena gives, share a launch: 100 tensors of one buffer are one launch).
 * Every launch waits for the wait list; *done (if not NULL) completes when all have. Each
 * tensor is checked as clrelu_forward checks its buffers, and no output may overlap another
 * tensor's arrays (except its own x, in place). desc->grad_from and masks do not apply. */
CLRELU_API clrelu_status clrelu_forward_batch(clrelu_context *ctx, const clrelu_desc *desc,
                                              size_t count, const clrelu_tensor *x,
                                              const clrelu_tensor *y, cl_uint n_wait,
                                              const cl_event *wait, cl_event *done);

/* The backward op on count tensors: dx[i] = f'(src[i]) * dy[i], src being x or y as
 * desc->grad_from says (not the mask). Grouping, events and checks as clrelu_forward_batch. */
CLRELU_API clrelu_status clrelu_backward_batch(clrelu_context *ctx, const clrelu_desc *desc,
                                               size_t count, const clrelu_tensor *dy,
                                               const clrelu_tensor *src, const clrelu_tensor *dx,
                                               cl_uint n_wait, const cl_event *wait,
                                               cl_event *done);

/* The forward op on host arrays, synchronously: on the CPU path, or, when
 * clrelu_context_set_host_path chose CLRELU_HOST_PATH_DEVICE, on ctx's device (write, run,
 * read, through buffers the context keeps for reuse). y may equal x (in place); other
 * overlaps are rejected. Several threads may call at once, on one context or several: one
 * call at a time uses the CPU path's worker threads, the others run on their own thread. */
CLRELU_API clrelu_status clrelu_forward_host(clrelu_context *ctx, const clrelu_desc *desc, size_t n,
                                             const void *x, void *y);

/* clrelu_forward_mask on host arrays: mask holds clrelu_mask_words(n) words. */
CLRELU_API clrelu_status clrelu_forward_mask_host(clrelu_context *ctx, const clrelu_desc *desc,
                                                  size_t n, const void *x, void *y, uint32_t *mask);

/* The backward op on host arrays, synchronously; as clrelu_forward_host. src is x, y or the
 * mask (clrelu_mask_words(n) words) as desc->grad_from says. dx may equal dy or src (not the
 * mask). */
CLRELU_API clrelu_status clrelu_backward_host(clrelu_context *ctx, const clrelu_desc *desc,
                                              size_t n, const void *dy, const void *src, void *dx);

/* ---------------------------------------------------------------------------------------------
 * Tuning
 *
 * How the element-wise calls (clrelu_forward, clrelu_forward_mask, clrelu_backward and their
 * host round trips on the device) launch their kernels, per pass, dtype and size class. The
 * defaults are the device's (CPU devices: 64-byte vectors, 64-item groups, no cap; GPUs:
 * 16-byte vectors, 256-item groups, 8 groups per compute unit). Every setting gives the same
 * bits; only the time differs (clrelu-tune measures which is fastest). The channel calls
 * (PReLU, the residual epilogue) launch with the forward or backward pass's setting for their
 * dtype and the tensor's size class; the bias and batch calls keep the device's defaults.
 * ------------------------------------------------------------------------------------------ */
/* The element-wise passes. Backward from x or y is CLRELU_PASS_BACKWARD, from the bitmask
 * CLRELU_PASS_BACKWARD_MASK. */
typedef enum clrelu_pass {
    CLRELU_PASS_FORWARD = 0,       /* clrelu_forward */
    CLRELU_PASS_FORWARD_MASK = 1,  /* clrelu_forward_mask */
    CLRELU_PASS_BACKWARD = 2,      /* clrelu_backward, grad_from x or y */
    CLRELU_PASS_BACKWARD_MASK = 3, /* clrelu_backward, grad_from the mask */
} clrelu_pass;

/* Sizes of a call in elements (n), by class: small n < CLRELU_SIZE_MEDIUM_MIN, medium
 * n < CLRELU_SIZE_LARGE_MIN, large from there on. */
#define CLRELU_SIZE_MEDIUM_MIN ((size_t)1 << 16)
#define CLRELU_SIZE_LARGE_MIN  ((size_t)1 << 22)
typedef enum clrelu_size_class {
    CLRELU_SIZE_SMALL = 0,  /* n < 2^16 */
    CLRELU_SIZE_MEDIUM = 1, /* 2^16 <= n < 2^22 */
    CLRELU_SIZE_LARGE = 2,  /* n >= 2^22 */
} clrelu_size_class;

/* One launch setting. struct_size keeps the struct extensible as clrelu_desc's does. */
typedef struct clrelu_tuning {
    size_t struct_size;     /* sizeof(clrelu_tuning) as the caller was compiled */
    unsigned vec_bytes;     /* bytes per work-item's vector load and store: 16, 32 or 64 */
    size_t local;           /* work-group size: 1 .. the device's largest */
    unsigned groups_per_cu; /* grid-stride cap, in work-groups per compute unit; 0: no cap
                               (one vector per work-item) */
} clrelu_tuning;

/* Fills *out (out->struct_size must be sizeof(clrelu_tuning)) with the setting that calls of
 * pass on dtype with a size of size_class use on ctx now: the device's default or an
 * override. A bad pass, dtype, size class or out is CLRELU_ERROR_INVALID_ARGUMENT; a context
 * without an OpenCL device is CLRELU_ERROR_NO_DEVICE. */
CLRELU_API clrelu_status clrelu_context_get_tuning(clrelu_context *ctx, clrelu_pass pass,
                                                   clrelu_dtype dtype, clrelu_size_class size_class,
                                                   clrelu_tuning *out);

/* Makes calls of pass on dtype with a size of size_class use *t from now on (t NULL: the
 * device's default again). Calls already enqueued are not affected; the first call with a new
 * setting builds its program (cached as any other). t is refused with
 * CLRELU_ERROR_INVALID_ARGUMENT and a message naming the field when struct_size is not
 * sizeof(clrelu_tuning), vec_bytes is not 16, 32 or 64, local is 0 or above the device's
 * largest work-group, or (forward with mask on a GPU) local * vec_bytes / element size is
 * not a multiple of 32, the mask kernel's tile; the setting is then unchanged. Errors as
 * clrelu_context_get_tuning. Safe to call while other threads use ctx. */
CLRELU_API clrelu_status clrelu_context_override_tuning(clrelu_context *ctx, clrelu_pass pass,
                                                        clrelu_dtype dtype,
                                                        clrelu_size_class size_class,
                                                        const clrelu_tuning *t);

/* A context on an OpenCL device starts from a tuning database when there is one for its
 * device: the file CLRELU_TUNING_DB names, else tuning-<hash of platform, device and driver>.json
 * in the binary cache's directory (CLRELU_CACHE_DIR, else $XDG_CACHE_HOME/clrelu, else
 * ~/.cache/clrelu), which clrelu-tune writes. A database for another platform, device,
 * driver or clrelu version, or one that is corrupt, truncated or holds a setting that
 * clrelu_context_override_tuning would refuse, is ignored as a whole with one warning on
 * stderr naming the file and why; context creation never fails for it.
 * Writes the path ctx looks at into buf (len bytes, NUL-terminated). CLRELU_ERROR_UNSUPPORTED
 * when there is none (the cache is "off" and CLRELU_TUNING_DB unset, or the path does not fit
 * in len); errors as clrelu_context_get_tuning. */
CLRELU_API clrelu_status clrelu_context_tuning_db_path(clrelu_context *ctx, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CLRELU_CLRELU_H */
