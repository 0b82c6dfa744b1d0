/* SPDX-License-Identifier: Apache-2.0 */
/* A libFuzzer harness for the public API: each input is a short program of calls with random
 * descriptors (any op, dtype, slope, ceiling, alpha, beta, gradient source, valid or not),
 * sizes, offsets, buffers (of random sizes and flags, sub-buffers, NULL, of another
 * cl_context), wait lists and event requests, on the CPU path and on the first OpenCL device,
 * and host arrays allocated to exactly the size passed (so AddressSanitizer sees any read or
 * write past them). After every call:
 *   - a failure has a real status and a message that starts with the call's name, and nothing
 *     the call could reach changed (every buffer and array is compared with a copy);
 *   - a success changed exactly the output window, to what the kit's reference says (when the
 *     kit has a reference for that descriptor), and returned an event if one was asked for.
 * A violation aborts, which libFuzzer reports with the input. tests/fuzz/replay.c runs the same
 * function over the kept corpus and the regression inputs in every build. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrelu/clrelu.h"
#include "kit.h"

#define MAX_BUFS      4
#define MAX_BUF_BYTES 16384
#define MAX_HOST_N    4096
#define MAX_CALLS     6

/* ---------------------------------------------------------------------------------------------
 * Reading the input
 * ------------------------------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t u8(reader *r) {
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

static uint16_t u16(reader *r) {
    return (uint16_t)(u8(r) | u8(r) << 8);
}

static uint64_t u64(reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= (uint64_t)u8(r) << (8 * i);
    return v;
}

/* A size or offset: mostly small, sometimes near a limit, sometimes anything at all. */
static size_t any_size(reader *r, size_t near) {
    switch (u8(r) % 5) {
    case 0:
        return u8(r);
    case 1:
        return u16(r) % 5000;
    case 2:
        return near + (size_t)(int8_t)u8(r); /* just inside or just past a limit */
    case 3:
        return SIZE_MAX - u8(r);
    default:
        return (size_t)u64(r);
    }
}

static float any_float(reader *r, float dflt) {
    static const float specials[] = {0.0f,    -0.0f,   1.0f,   -1.0f,    0.01f,     0.5f, 6.0f,
                                     FLT_MAX, FLT_MIN, 1e-45f, INFINITY, -INFINITY, NAN};
    uint8_t k = u8(r);
    if (k < 128)
        return dflt;
    if (k < 250)
        return specials[k % (sizeof specials / sizeof specials[0])];
    uint32_t bits = (uint32_t)u64(r);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---------------------------------------------------------------------------------------------
 * The world every input runs in: made once, shared by every input
 * ------------------------------------------------------------------------------------------ */

static clrelu_context *cpu_ctx, *dev_ctx; /* dev_ctx: NULL without an OpenCL device */
static clrelu_context_info dev_info;
static cl_context other_cl; /* another cl_context on the same device */
static cl_mem foreign;      /* a buffer of other_cl */
static cl_event complete;   /* a user event that has completed */

/* Calls made and how they ended, by kind; replay.c prints them (fuzz_api_stats). */
static const char *const kind_names[] = {"clrelu_forward",       "clrelu_backward",
                                         "clrelu_forward_mask",  "clrelu_forward_host",
                                         "clrelu_backward_host", "clrelu_forward_mask_host",
                                         "channel ops (cl_mem)", "channel ops (host arrays)"};
#define KINDS 8
static unsigned long calls_ok[KINDS], calls_failed[KINDS], calls_checked[KINDS];

void fuzz_api_stats(FILE *out);
void fuzz_api_stats(FILE *out) {
    for (int i = 0; i < KINDS; ++i)
        fprintf(out, "  %-25s %8lu succeeded (%lu checked against the reference), %8lu refused\n",
                kind_names[i], calls_ok[i], calls_checked[i], calls_failed[i]);
}

/* The input being run, kept so that a broken invariant can save it: PoCL's in-process LLVM
 * installs signal handlers of its own, which keep libFuzzer from saving a crash artifact. */
static const uint8_t *current_input;
static size_t current_size;

static void fail_input(void) {
    const char *path = getenv("CLRELU_FUZZ_CRASH");
    FILE *f = fopen(path && *path ? path : "fuzz_api-crash.bin", "wb");
    if (f) {
        fwrite(current_input, 1, current_size, f);
        fclose(f);
        fprintf(stderr, "fuzz_api: the input is saved in %s\n",
                path && *path ? path : "fuzz_api-crash.bin");
    }
    abort();
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api: " __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                                 \
            fail_input();                                                                          \
        }                                                                                          \
    } while (0)

static void world_open(void) {
    if (cpu_ctx)
        return;
    CHECK(clrelu_context_create(&cpu_ctx, "cpu") == CLRELU_OK, "no CPU context: %s",
          clrelu_last_error());
    const char *spec = getenv("CLRELU_FUZZ_DEVICE");
    if (clrelu_context_create(&dev_ctx, spec && *spec ? spec : "0:0") != CLRELU_OK) {
        dev_ctx = NULL;
        fprintf(stderr, "fuzz_api: no OpenCL device (%s); the CPU path only\n",
                clrelu_last_error());
        return;
    }
    clrelu_context_get_info(dev_ctx, &dev_info, sizeof dev_info);
    cl_int err;
    other_cl = clCreateContext(NULL, 1, &dev_info.device_id, NULL, NULL, &err);
    CHECK(err == CL_SUCCESS, "clCreateContext: %d", (int)err);
    foreign = clCreateBuffer(other_cl, CL_MEM_READ_WRITE, 4096, NULL, &err);
    CHECK(err == CL_SUCCESS, "clCreateBuffer: %d", (int)err);
    complete = clCreateUserEvent(dev_info.context, &err);
    CHECK(err == CL_SUCCESS && clSetUserEventStatus(complete, CL_COMPLETE) == CL_SUCCESS,
          "clCreateUserEvent: %d", (int)err);
}

/* ---------------------------------------------------------------------------------------------
 * Buffers of one input, and copies of what they held before a call
 * ------------------------------------------------------------------------------------------ */

typedef struct buffers {
    cl_mem mem[MAX_BUFS];
    size_t bytes[MAX_BUFS];
    cl_mem parent[MAX_BUFS]; /* a sub-buffer's parent (also in mem[]), else NULL */
    size_t origin[MAX_BUFS];
    int count;
    unsigned char before[MAX_BUFS][MAX_BUF_BYTES];
    unsigned char after[MAX_BUFS][MAX_BUF_BYTES];
} buffers;

static void buffers_make(reader *r, buffers *b) {
    memset(b->mem, 0, sizeof b->mem);
    memset(b->parent, 0, sizeof b->parent);
    b->count = 1 + u8(r) % MAX_BUFS;
    static const cl_mem_flags flags[] = {CL_MEM_READ_WRITE, CL_MEM_READ_WRITE, CL_MEM_READ_ONLY,
                                         CL_MEM_WRITE_ONLY};
    size_t align = dev_info.device_id ? 128 : 0;
    cl_uint bits = 0;
    if (clGetDeviceInfo(dev_info.device_id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits,
                        NULL) == CL_SUCCESS)
        align = bits / 8;
    for (int i = 0; i < b->count; ++i) {
        uint8_t kind = u8(r);
        cl_int err = CL_SUCCESS;
        if (kind % 5 == 4 && i > 0 && b->mem[0] && !b->parent[0] && align) {
            /* a sub-buffer of buffer 0: the same memory under another handle */
            cl_buffer_region region;
            region.origin = (u8(r) % 4) * align;
            region.size = 4 * (1 + u16(r) % (MAX_BUF_BYTES / 4));
            if (region.origin + region.size > b->bytes[0])
                region.size = b->bytes[0] > region.origin ? b->bytes[0] - region.origin : 0;
            if (region.size) {
                b->mem[i] = clCreateSubBuffer(b->mem[0], CL_MEM_READ_WRITE,
                                              CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
                b->bytes[i] = region.size;
                b->parent[i] = b->mem[0];
                b->origin[i] = region.origin;
            }
        } else {
            size_t bytes = 4 * (1 + u16(r) % (MAX_BUF_BYTES / 4));
            unsigned char *init = malloc(bytes);
            CHECK(init, "out of memory");
            kit_fill(CLRELU_DTYPE_F32, init, bytes / 4, u8(r) + 1u);
            b->mem[i] = clCreateBuffer(dev_info.context, flags[kind % 4] | CL_MEM_COPY_HOST_PTR,
                                       bytes, init, &err);
            b->bytes[i] = bytes;
            free(init);
        }
        if (err != CL_SUCCESS)
            b->mem[i] = NULL;
    }
}

static void buffers_release(buffers *b) {
    for (int i = b->count - 1; i >= 0; --i)
        if (b->mem[i])
            clReleaseMemObject(b->mem[i]);
}

static void buffers_read(const buffers *b, unsigned char (*into)[MAX_BUF_BYTES]) {
    for (int i = 0; i < b->count; ++i)
        if (b->mem[i])
            CHECK(clEnqueueReadBuffer(dev_info.queue, b->mem[i], CL_TRUE, 0, b->bytes[i], into[i],
                                      0, NULL, NULL) == CL_SUCCESS,
                  "reading buffer %d back failed", i);
}

/* A buffer argument: one of this input's, NULL, or one of another cl_context. */
static cl_mem pick_buffer(reader *r, const buffers *b, int *index) {
    uint8_t k = u8(r) % (b->count + 2);
    *index = k < b->count ? k : -1;
    if (k < b->count)
        return b->mem[k];
    return k == b->count ? NULL : foreign;
}

/* ---------------------------------------------------------------------------------------------
 * Checks after a call
 * ------------------------------------------------------------------------------------------ */

static void check_failure(clrelu_context *ctx, clrelu_status st, const char *fn) {
    CHECK(strcmp(clrelu_status_name(st), "CLRELU_UNKNOWN_STATUS") != 0, "%s returned %d", fn,
          (int)st);
    const char *msg = clrelu_last_error();
    CHECK(strncmp(msg, fn, strlen(fn)) == 0 && msg[strlen(fn)] == ':',
          "%s failed with %s but its message is \"%s\"", fn, clrelu_status_name(st), msg);
    if (ctx)
        CHECK(strcmp(clrelu_context_error(ctx), msg) == 0,
              "%s: the context's message \"%s\" is not the thread's \"%s\"", fn,
              clrelu_context_error(ctx), msg);
}

/* The kit's op for (desc, backward) when its reference covers desc exactly, else NULL. */
static const kit_op *reference_for(const clrelu_desc *desc, int backward) {
    /* Field by field, floats by their bits: a descriptor's padding bytes are undefined
     * (valgrind's finding once struct_size made the struct 36 bytes of fields in 40). */
    clrelu_desc plain = clrelu_desc_make(desc->op, desc->dtype);
    if (plain.struct_size != desc->struct_size || plain.grad_from != desc->grad_from ||
        memcmp(&plain.negative_slope, &desc->negative_slope, sizeof(float)) != 0 ||
        memcmp(&plain.ceiling, &desc->ceiling, sizeof(float)) != 0 ||
        memcmp(&plain.alpha, &desc->alpha, sizeof(float)) != 0 ||
        memcmp(&plain.beta, &desc->beta, sizeof(float)) != 0)
        return NULL; /* TODO: the kit's references take the whole descriptor with the family */
    int known_dtype = 0;
    for (size_t i = 0; i < kit_dtypes_count; ++i)
        known_dtype |= kit_dtypes[i].dtype == desc->dtype;
    for (size_t i = 0; i < kit_ops_count && known_dtype; ++i)
        if (kit_ops[i].op == desc->op && kit_ops[i].backward == backward &&
            kit_ops[i].kind != KIT_BWD_Y && kit_ops[i].device)
            return &kit_ops[i];
    return NULL;
}

/* Bytes of buffer `of` seen from buffer `in`: the same memory when `in` is `of`, its
 * sub-buffer or its parent. Returns the byte offset of `in`'s start within `of`'s, or -1. */
static long long alias_origin(const buffers *b, int of, int in) {
    if (of == in)
        return 0;
    if (b->parent[in] == b->mem[of] && b->mem[of])
        return (long long)b->origin[in];
    if (b->parent[of] == b->mem[in] && b->mem[in])
        return -(long long)b->origin[of];
    if (b->parent[of] && b->parent[of] == b->parent[in])
        return (long long)b->origin[in] - (long long)b->origin[of];
    return LLONG_MIN;
}

/* ---------------------------------------------------------------------------------------------
 * The calls
 * ------------------------------------------------------------------------------------------ */

static clrelu_desc any_desc(reader *r) {
    uint8_t op = u8(r), dtype = u8(r);
    clrelu_desc d = clrelu_desc_make((clrelu_op)(op < 200 ? op % 3 : op),
                                     (clrelu_dtype)(dtype < 200 ? dtype % 4 : dtype));
    uint8_t mutate = u8(r);
    if (mutate & 1)
        d.negative_slope = any_float(r, d.negative_slope);
    if (mutate & 2)
        d.ceiling = any_float(r, d.ceiling);
    if (mutate & 4)
        d.alpha = any_float(r, d.alpha);
    if (mutate & 8)
        d.beta = any_float(r, d.beta);
    if (mutate & 16)
        d.grad_from = (clrelu_grad_source)(u8(r) % 4);
    return d;
}

static void call_device(reader *r, int which) {
    static buffers b; /* large: not on the stack */
    if (!dev_ctx)
        return;
    clrelu_desc desc = any_desc(r);
    int desc_null = u8(r) % 32 == 0;
    buffers_make(r, &b);
    int idx[4];
    cl_mem mem[4];
    size_t off[4];
    const int n_args = which == 0 ? 2 : 3; /* forward: x, y; mask: x, y, mask; backward: 3 */
    size_t es = clrelu_dtype_size(desc.dtype);
    for (int i = 0; i < n_args; ++i) {
        mem[i] = pick_buffer(r, &b, &idx[i]);
        size_t bytes = idx[i] >= 0 ? b.bytes[idx[i]] : 0;
        off[i] = any_size(r, es ? bytes / es : 0);
    }
    if (which == 2)
        off[2] = u8(r) % 4 ? off[2] / 32 * 32 : off[2]; /* the mask's offset: mostly whole words */
    size_t n = any_size(r, idx[0] >= 0 && es ? b.bytes[idx[0]] / es - (off[0] % 4096) : 0);
    cl_uint n_wait = u8(r) % 4;
    cl_event wait[3] = {complete, complete, complete};
    int wait_null = u8(r) % 8 == 0;
    if (u8(r) % 8 == 0)
        wait[u8(r) % 3] = NULL;
    int want_done = u8(r) & 1;
    cl_event done = (cl_event)&done;

    if (getenv("CLRELU_FUZZ_VERBOSE")) {
        fprintf(stderr, "fuzz_api: call %d: op %d dtype %d n %zu; args", which, (int)desc.op,
                (int)desc.dtype, n);
        for (int i = 0; i < n_args; ++i)
            fprintf(stderr, " [buffer %d off %zu]", idx[i], off[i]);
        fprintf(stderr, "; buffers");
        for (int i = 0; i < b.count; ++i)
            fprintf(stderr, " [%d: %zu bytes%s, origin %zu]", i, b.bytes[i],
                    b.parent[i] ? " sub" : "", b.origin[i]);
        fprintf(stderr, "\n");
    }
    buffers_read(&b, b.before);
    const clrelu_desc *dp = desc_null ? NULL : &desc;
    const cl_event *wl = wait_null ? NULL : wait;
    clrelu_status st;
    const char *fn;
    if (which == 0) {
        fn = "clrelu_forward";
        st = clrelu_forward(dev_ctx, dp, n, mem[0], off[0], mem[1], off[1], n_wait, wl,
                            want_done ? &done : NULL);
    } else if (which == 1) {
        fn = "clrelu_backward";
        st = clrelu_backward(dev_ctx, dp, n, mem[0], off[0], mem[1], off[1], mem[2], off[2], n_wait,
                             wl, want_done ? &done : NULL);
    } else {
        fn = "clrelu_forward_mask";
        st = clrelu_forward_mask(dev_ctx, dp, n, mem[0], off[0], mem[1], off[1], mem[2], off[2],
                                 n_wait, wl, want_done ? &done : NULL);
    }
    if (want_done) {
        CHECK(st == CLRELU_OK ? done != NULL : done == NULL, "%s: %s, but *done is %p", fn,
              clrelu_status_name(st), (void *)done);
        if (done) {
            CHECK(clWaitForEvents(1, &done) == CL_SUCCESS, "%s: waiting for done failed", fn);
            clReleaseEvent(done);
        }
    }
    clFinish(dev_info.queue);
    buffers_read(&b, b.after);

    (st == CLRELU_OK ? calls_ok : calls_failed)[which]++;
    if (st != CLRELU_OK) {
        check_failure(dev_ctx, st, fn);
        for (int i = 0; i < b.count; ++i)
            CHECK(!b.mem[i] || memcmp(b.before[i], b.after[i], b.bytes[i]) == 0,
                  "%s failed (%s: %s) but buffer %d changed", fn, clrelu_status_name(st),
                  clrelu_last_error(), i);
        buffers_release(&b);
        return;
    }
    /* A success: n elements of every argument were within its buffer, or nothing was asked. */
    const kit_op *op = which == 2 ? NULL : reference_for(&desc, which == 1);
    int out = n_args - 1 - (which == 2); /* y, or dx; the mask is not checked here */
    if (op && n > 0) {
        calls_checked[which]++;
        /* expected: every buffer as it was, except the output window (and what aliases it) */
        static unsigned char expected[MAX_BUF_BYTES], inputs[KIT_MAX_IN][MAX_BUF_BYTES];
        const void *ins[KIT_MAX_IN];
        for (int i = 0; i < n_args; ++i)
            CHECK(idx[i] >= 0 && off[i] <= b.bytes[idx[i]] / es &&
                      n <= b.bytes[idx[i]] / es - off[i],
                  "%s succeeded with argument %d (offset %zu, n %zu) outside its buffer", fn, i,
                  off[i], n);
        for (int i = 0; i < op->n_in; ++i) {
            memcpy(inputs[i], b.before[idx[i]] + off[i] * es, n * es);
            ins[i] = inputs[i];
        }
        op->reference(&desc, n, ins, expected);
        for (int i = 0; i < b.count; ++i) {
            if (!b.mem[i])
                continue;
            long long at = alias_origin(&b, i, idx[out]); /* out's start within buffer i */
            long long lo = at == LLONG_MIN ? 0 : at + (long long)(off[out] * es);
            for (size_t j = 0; j < b.bytes[i]; ++j) {
                long long rel = (long long)j - lo;
                int in_window = at != LLONG_MIN && rel >= 0 && rel < (long long)(n * es);
                unsigned char want = in_window ? expected[rel] : b.before[i][j];
                CHECK(b.after[i][j] == want,
                      "%s n=%zu offsets %zu,%zu%s%zu: buffer %d byte %zu is 0x%02x, expected "
                      "0x%02x (%s)",
                      fn, n, off[0], off[1], n_args > 2 ? "," : " -> ", off[n_args - 1], i, j,
                      b.after[i][j], want, in_window ? "in the output window" : "outside it");
            }
        }
    }
    buffers_release(&b);
}

static void call_host(reader *r, int which) {
    clrelu_context *ctx = u8(r) % 3 == 0 && dev_ctx ? dev_ctx : cpu_ctx;
    if (u8(r) % 64 == 0)
        ctx = NULL;
    clrelu_desc desc = any_desc(r);
    size_t es = clrelu_dtype_size(desc.dtype);
    uint8_t shape = u8(r);
    size_t n;
    if (shape % 8 == 0 && es)
        n = SIZE_MAX / es + 1 + u8(r); /* overflows n * element size: refused before any access */
    else
        n = u16(r) % (MAX_HOST_N + 1);
    size_t alloc_n = n <= MAX_HOST_N ? n : 0;
    size_t ebytes = es ? es : 4;
    /* Arrays of exactly n elements (and a shift), so ASan sees any access past them. */
    int n_in = which == 1 ? 2 : 1;
    size_t shift = u8(r) % 3;
    unsigned char *in[2] = {NULL, NULL}, *out = NULL, *mask = NULL;
    /* Backward from a mask reads clrelu_mask_words(n) words as its second input: for 16-bit
     * types and small n that is more than n elements (n = 1 in bf16: 4 bytes, not 2). */
    size_t in_bytes[2] = {(alloc_n + shift) * ebytes, (alloc_n + shift) * ebytes};
    if (which == 1 && desc.grad_from == CLRELU_GRAD_FROM_MASK &&
        shift * ebytes + clrelu_mask_words(alloc_n) * 4 > in_bytes[1])
        in_bytes[1] = shift * ebytes + clrelu_mask_words(alloc_n) * 4;
    for (int i = 0; i < n_in; ++i) {
        in[i] = calloc(1, in_bytes[i] + 1);
        kit_fill(CLRELU_DTYPE_F32, in[i], in_bytes[i] / 4, u8(r) + 1u);
    }
    uint8_t aliasing = u8(r) % 6;
    size_t overlap = 1 + u8(r) % 7;
    unsigned char *out_alloc = NULL;
    if (aliasing == 0) {
        out = in[0] + shift * ebytes; /* in place */
    } else if (aliasing == 1 && n_in == 2) {
        out = in[1] + shift * ebytes; /* in place over x (or y) */
    } else if (aliasing == 2 && alloc_n > overlap) {
        out = in[0] + (shift + overlap % alloc_n) * ebytes; /* partly overlapping: refused */
    } else {
        out_alloc = malloc((alloc_n + shift) * ebytes + 1);
        memset(out_alloc, 0xA5, (alloc_n + shift) * ebytes + 1);
        out = out_alloc + shift * ebytes;
    }
    unsigned char *mask_alloc = NULL;
    if (which == 2)
        mask = mask_alloc = calloc(1, clrelu_mask_words(alloc_n) * 4 + 1);
    const void *x = in[0] ? in[0] + shift * ebytes : NULL;
    const void *src = in[1] ? in[1] + shift * ebytes : NULL;
    uint8_t nulls = u8(r);
    if (nulls % 16 == 1)
        x = NULL;
    if (nulls % 16 == 2)
        src = NULL;
    if (nulls % 16 == 3)
        out = NULL;
    if (nulls % 16 == 4)
        mask = NULL;
    if (ctx && u8(r) % 8 == 0)
        clrelu_context_set_host_path(ctx, (clrelu_host_path)(u8(r) % 3));

    /* What the call may touch, as it was. */
    size_t span = (alloc_n + shift) * ebytes + 1;
    unsigned char *before[3] = {NULL, NULL, NULL};
    unsigned char *regions[3] = {in[0], in[1], out_alloc};
    for (int i = 0; i < 3; ++i)
        if (regions[i]) {
            before[i] = malloc(span);
            memcpy(before[i], regions[i], span);
        }
    clrelu_status st;
    const char *fn;
    if (which == 0) {
        fn = "clrelu_forward_host";
        st = clrelu_forward_host(ctx, u8(r) % 32 ? &desc : NULL, n, x, out);
    } else if (which == 1) {
        fn = "clrelu_backward_host";
        st = clrelu_backward_host(ctx, u8(r) % 32 ? &desc : NULL, n, x, src, out);
    } else {
        fn = "clrelu_forward_mask_host";
        st = clrelu_forward_mask_host(ctx, u8(r) % 32 ? &desc : NULL, n, x, out, (uint32_t *)mask);
    }
    (st == CLRELU_OK ? calls_ok : calls_failed)[3 + which]++;
    if (st != CLRELU_OK) {
        check_failure(ctx, st, fn);
        for (int i = 0; i < 3; ++i)
            CHECK(!regions[i] || memcmp(before[i], regions[i], span) == 0,
                  "%s failed (%s: %s) but host memory changed", fn, clrelu_status_name(st),
                  clrelu_last_error());
    } else {
        CHECK(n <= MAX_HOST_N, "%s: success with n = %zu", fn, n);
        const kit_op *op = which == 2 ? NULL : reference_for(&desc, which == 1);
        if (op && n > 0) {
            calls_checked[3 + which]++;
            unsigned char *expected = malloc(n * es);
            const void *ins[KIT_MAX_IN] = {before[0] + shift * ebytes,
                                           before[1] ? before[1] + shift * ebytes : NULL};
            op->reference(&desc, n, ins, expected);
            CHECK(memcmp(out, expected, n * es) == 0,
                  "%s n=%zu: the output differs from the "
                  "reference",
                  fn, n);
            free(expected);
        }
    }
    for (int i = 0; i < 3; ++i)
        free(before[i]);
    free(in[0]);
    free(in[1]);
    free(out_alloc);
    free(mask_alloc); /* mask may have been set to NULL to test that */
}

/* ---------------------------------------------------------------------------------------------
 * The channel ops (PReLU, the residual epilogue)
 * ------------------------------------------------------------------------------------------ */

/* A layout: mostly small and valid, sometimes padded, overflowing, zeroed or NULL. */
static const clrelu_layout *any_layout(reader *r, clrelu_layout *l) {
    uint8_t k = u8(r);
    *l = clrelu_layout_make(u8(r) % 9, 1 + u8(r) % 7, 1 + u8(r) % 6);
    if (k % 8 == 1)
        l->pitch += u8(r) % 4; /* padded */
    if (k % 8 == 2)
        l->pitch = any_size(r, l->pitch);
    if (k % 8 == 3)
        l->outer = any_size(r, l->outer);
    if (k % 8 == 4)
        l->channels = any_size(r, 0);
    if (k % 16 == 5)
        l->struct_size = 0;
    return k % 32 == 6 ? NULL : l;
}

static size_t layout_span(const clrelu_layout *l) {
    if (!l->outer || !l->channels || !l->inner)
        return 0;
    return (l->outer - 1) * l->pitch + l->channels * l->inner;
}

/* The same, and whether computing it overflows size_t (clrelu must then refuse the layout
 * before it touches an array). */
static size_t layout_span_wraps(const clrelu_layout *l, int *wraps) {
    size_t rows = 0, row = 0, span = 0;
    *wraps = 0;
    if (!l->outer || !l->channels || !l->inner)
        return 0;
    *wraps = __builtin_mul_overflow(l->outer - 1, l->pitch, &rows) ||
             __builtin_mul_overflow(l->channels, l->inner, &row) ||
             __builtin_add_overflow(rows, row, &span);
    return span;
}

/* Which arrays a channel call has: role bits (fuzz side), in clrelu's argument order. */
enum { CH_IN, CH_SRC, CH_BIAS, CH_Z, CH_SLOPES, CH_OUT, CH_DBIAS, CH_DSLOPES, CH_N };

/* The reference on the arrays at p (each at its element (0, 0, 0) or NULL). */
static void channel_reference(const clrelu_desc *d, const clrelu_layout *l, int backward,
                              void *const p[CH_N]) {
    if (backward)
        kit_residual_backward(d, l, p[CH_IN], p[CH_SRC], p[CH_BIAS], p[CH_Z], p[CH_SLOPES],
                              p[CH_OUT], p[CH_DBIAS], p[CH_DSLOPES]);
    else
        kit_residual_forward(d, l, p[CH_IN], p[CH_BIAS], p[CH_Z], p[CH_SLOPES], p[CH_OUT]);
}

static const char *const channel_fns[2][2] = {
    {"clrelu_residual_forward", "clrelu_residual_backward"},
    {"clrelu_prelu_forward", "clrelu_prelu_backward"}};

static void call_channel_device(reader *r) {
    static buffers b;
    static unsigned char want[MAX_BUFS][MAX_BUF_BYTES];
    if (!dev_ctx)
        return;
    const int backward = u8(r) & 1, prelu_call = u8(r) % 3 == 0;
    clrelu_desc desc = any_desc(r);
    if (prelu_call || u8(r) % 3 == 0)
        desc.op = CLRELU_OP_PRELU;
    clrelu_layout lay;
    const clrelu_layout *lp = any_layout(r, &lay);
    buffers_make(r, &b);
    int idx[CH_N];
    cl_mem mem[CH_N];
    size_t off[CH_N];
    size_t es = clrelu_dtype_size(desc.dtype);
    for (int i = 0; i < CH_N; ++i) {
        const int optional = i == CH_BIAS || i == CH_Z || i == CH_SLOPES || i >= CH_DBIAS;
        /* the slopes mostly as the op wants them (PReLU's, else none) */
        const int leave_out = i == CH_SLOPES ? (desc.op == CLRELU_OP_PRELU) == (u8(r) % 16 == 0)
                                             : optional && u8(r) % 2;
        mem[i] = leave_out ? NULL : pick_buffer(r, &b, &idx[i]);
        if (!mem[i] && optional)
            idx[i] = -1;
        off[i] = u8(r) % 4 ? u8(r) % 16 : any_size(r, 0);
    }
    /* The arrays the chosen call has no argument for. */
    for (int i = 0; i < CH_N; ++i) {
        int passed = backward ? !(prelu_call && (i == CH_BIAS || i == CH_Z || i == CH_DBIAS))
                              : i != CH_SRC && i != CH_DBIAS && i != CH_DSLOPES &&
                                    !(prelu_call && (i == CH_BIAS || i == CH_Z));
        if (!passed) {
            mem[i] = NULL;
            idx[i] = -1;
        }
    }
    int want_done = u8(r) & 1;
    cl_event done = (cl_event)&done;
    const char *fn = channel_fns[prelu_call][backward];
    buffers_read(&b, b.before);
    clrelu_status st;
    const clrelu_desc *dp = u8(r) % 32 ? &desc : NULL;
    cl_event *dn = want_done ? &done : NULL;
    if (prelu_call && backward)
        st = clrelu_prelu_backward(dev_ctx, dp, lp, mem[CH_IN], off[CH_IN], mem[CH_SRC],
                                   off[CH_SRC], mem[CH_SLOPES], off[CH_SLOPES], mem[CH_OUT],
                                   off[CH_OUT], mem[CH_DSLOPES], off[CH_DSLOPES], 0, NULL, dn);
    else if (prelu_call)
        st = clrelu_prelu_forward(dev_ctx, dp, lp, mem[CH_IN], off[CH_IN], mem[CH_SLOPES],
                                  off[CH_SLOPES], mem[CH_OUT], off[CH_OUT], 0, NULL, dn);
    else if (backward)
        st = clrelu_residual_backward(dev_ctx, dp, lp, mem[CH_IN], off[CH_IN], mem[CH_SRC],
                                      off[CH_SRC], mem[CH_BIAS], off[CH_BIAS], mem[CH_Z], off[CH_Z],
                                      mem[CH_SLOPES], off[CH_SLOPES], mem[CH_OUT], off[CH_OUT],
                                      mem[CH_DBIAS], off[CH_DBIAS], mem[CH_DSLOPES],
                                      off[CH_DSLOPES], 0, NULL, dn);
    else
        st = clrelu_residual_forward(dev_ctx, dp, lp, mem[CH_IN], off[CH_IN], mem[CH_BIAS],
                                     off[CH_BIAS], mem[CH_Z], off[CH_Z], mem[CH_SLOPES],
                                     off[CH_SLOPES], mem[CH_OUT], off[CH_OUT], 0, NULL, dn);
    if (want_done) {
        CHECK(st == CLRELU_OK ? done != NULL : done == NULL, "%s: %s, but *done is %p", fn,
              clrelu_status_name(st), (void *)done);
        if (done) {
            CHECK(clWaitForEvents(1, &done) == CL_SUCCESS, "%s: waiting for done failed", fn);
            clReleaseEvent(done);
        }
    }
    clFinish(dev_info.queue);
    buffers_read(&b, b.after);
    if (getenv("CLRELU_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_api: %s: %s %s\n", fn, clrelu_status_name(st),
                st == CLRELU_OK ? "" : clrelu_last_error());
    (st == CLRELU_OK ? calls_ok : calls_failed)[6]++;
    if (st != CLRELU_OK) {
        check_failure(dev_ctx, st, fn);
        for (int i = 0; i < b.count; ++i)
            CHECK(!b.mem[i] || memcmp(b.before[i], b.after[i], b.bytes[i]) == 0,
                  "%s failed (%s: %s) but buffer %d changed", fn, clrelu_status_name(st),
                  clrelu_last_error(), i);
        buffers_release(&b);
        return;
    }
    /* A success: every array within its buffer; the outputs as the reference says, everything
     * else as it was. Checked when no output's buffer is another's sub-buffer or parent. */
    const int from_y = backward && desc.grad_from == CLRELU_GRAD_FROM_Y;
    size_t span = layout_span(&lay);
    int checkable = span > 0;
    for (int i = 0; i < CH_N && checkable; ++i) {
        if (!mem[i] || (from_y && (i == CH_BIAS || i == CH_Z)))
            continue;
        size_t n = i == CH_IN || i == CH_SRC || i == CH_Z || i == CH_OUT ? span : lay.channels;
        CHECK(idx[i] >= 0 && off[i] <= b.bytes[idx[i]] / es && n <= b.bytes[idx[i]] / es - off[i],
              "%s succeeded with array %d (offset %zu, %zu elements) outside its buffer", fn, i,
              off[i], n);
        for (int j = 0; j < b.count; ++j)
            if ((i == CH_OUT || i >= CH_DBIAS) && j != idx[i] &&
                alias_origin(&b, idx[i], j) != LLONG_MIN)
                checkable = 0;
    }
    if (checkable) {
        calls_checked[6]++;
        for (int i = 0; i < b.count; ++i)
            memcpy(want[i], b.before[i], b.bytes[i]);
        void *p[CH_N];
        for (int i = 0; i < CH_N; ++i) {
            int used = mem[i] && !(from_y && (i == CH_BIAS || i == CH_Z));
            int out = i == CH_OUT || i >= CH_DBIAS;
            p[i] = used ? (out ? want[idx[i]] : b.before[idx[i]]) + off[i] * es : NULL;
        }
        channel_reference(&desc, &lay, backward, p);
        for (int i = 0; i < b.count; ++i)
            if (b.mem[i])
                CHECK(memcmp(b.after[i], want[i], b.bytes[i]) == 0,
                      "%s: buffer %d differs from the reference's", fn, i);
    }
    buffers_release(&b);
}

static void call_channel_host(reader *r) {
    clrelu_context *ctx = u8(r) % 64 ? cpu_ctx : NULL;
    const int backward = u8(r) & 1, prelu_call = u8(r) % 3 == 0;
    clrelu_desc desc = any_desc(r);
    if (prelu_call || u8(r) % 3 == 0)
        desc.op = CLRELU_OP_PRELU;
    clrelu_layout lay;
    const clrelu_layout *lp = any_layout(r, &lay);
    /* A layout that spans more than the harness allocates, without overflowing, may be valid:
     * a call on it could succeed and read every element, past the small arrays below. Host
     * arrays carry no size clrelu could check, so such a call is the caller's error, not a case
     * to fuzz. (One that overflows must be refused before any access: that is fuzzed.) */
    int wraps = 0;
    const size_t full = lp ? layout_span_wraps(&lay, &wraps) : 0;
    if (full > MAX_HOST_N && !wraps)
        return;
    size_t es = clrelu_dtype_size(desc.dtype), ebytes = es ? es : 4;
    /* Arrays of exactly the size the call reads (ASan sees past them); none for a layout that
     * must be refused (its span overflows, or it says no struct size). */
    size_t span = lp && lay.struct_size && !wraps ? full : 0;
    size_t chans = span ? lay.channels : 0;
    unsigned char *a[CH_N], *before[CH_N];
    size_t bytes[CH_N];
    for (int i = 0; i < CH_N; ++i) {
        const int tensor = i == CH_IN || i == CH_SRC || i == CH_Z || i == CH_OUT;
        bytes[i] = (tensor ? span : chans) * ebytes;
        a[i] = calloc(1, bytes[i] + 1); /* kit_fill writes whole words: the rest is compared too */
        kit_fill(CLRELU_DTYPE_F32, a[i], bytes[i] / 4, u8(r) + 1u);
        before[i] = malloc(bytes[i] + 1);
        memcpy(before[i], a[i], bytes[i] + 1);
    }
    const void *p[CH_N];
    for (int i = 0; i < CH_N; ++i)
        p[i] = a[i];
    uint8_t opt = u8(r);
    for (int i = CH_BIAS; i < CH_N; ++i)
        if (i != CH_OUT && i != CH_SLOPES && (opt >> i) & 1)
            p[i] = NULL;
    if ((desc.op == CLRELU_OP_PRELU) == (opt % 16 == 1)) /* mostly as the op wants them */
        p[CH_SLOPES] = NULL;
    if (prelu_call) /* (no such arguments) */
        p[CH_BIAS] = p[CH_Z] = p[CH_DBIAS] = NULL;
    uint8_t alias = u8(r) % 8;
    if (alias == 1)
        p[CH_OUT] = p[CH_IN]; /* in place */
    else if (alias == 2 && p[CH_Z])
        p[CH_OUT] = p[CH_Z];
    else if (alias == 3 && span > 1)
        p[CH_OUT] = a[CH_IN] + ebytes; /* partly overlapping: refused */
    else if (alias == 4)
        p[CH_OUT] = NULL;
    else if (alias == 5)
        p[CH_IN] = NULL;
    const char *fn =
        prelu_call ? (backward ? "clrelu_prelu_backward_host" : "clrelu_prelu_forward_host")
                   : (backward ? "clrelu_residual_backward_host" : "clrelu_residual_forward_host");
    const clrelu_desc *dp = u8(r) % 32 ? &desc : NULL;
    void *out = (void *)(uintptr_t)p[CH_OUT];
    clrelu_status st;
    if (prelu_call && backward)
        st = clrelu_prelu_backward_host(ctx, dp, lp, p[CH_IN], p[CH_SRC], p[CH_SLOPES], out,
                                        (void *)(uintptr_t)p[CH_DSLOPES]);
    else if (prelu_call)
        st = clrelu_prelu_forward_host(ctx, dp, lp, p[CH_IN], p[CH_SLOPES], out);
    else if (backward)
        st = clrelu_residual_backward_host(ctx, dp, lp, p[CH_IN], p[CH_SRC], p[CH_BIAS], p[CH_Z],
                                           p[CH_SLOPES], out, (void *)(uintptr_t)p[CH_DBIAS],
                                           (void *)(uintptr_t)p[CH_DSLOPES]);
    else
        st = clrelu_residual_forward_host(ctx, dp, lp, p[CH_IN], p[CH_BIAS], p[CH_Z], p[CH_SLOPES],
                                          out);
    if (getenv("CLRELU_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_api: %s: %s %s\n", fn, clrelu_status_name(st),
                st == CLRELU_OK ? "" : clrelu_last_error());
    (st == CLRELU_OK ? calls_ok : calls_failed)[7]++;
    if (st != CLRELU_OK) {
        check_failure(ctx, st, fn);
        for (int i = 0; i < CH_N; ++i)
            CHECK(memcmp(before[i], a[i], bytes[i] + 1) == 0,
                  "%s failed (%s: %s) but host memory changed", fn, clrelu_status_name(st),
                  clrelu_last_error());
    } else if (span) {
        CHECK(alias != 3 || span < 2, "%s: y partly over x was not refused", fn);
        calls_checked[7]++;
        /* The reference on copies: inputs as they were (inputs are never aliased but by the
         * output), outputs into copies of their old contents. */
        unsigned char *w[CH_N];
        void *q[CH_N];
        const int from_y = backward && desc.grad_from == CLRELU_GRAD_FROM_Y;
        int out_idx = CH_OUT;
        for (int j = 0; j < CH_N; ++j)
            if (p[CH_OUT] == a[j])
                out_idx = j;
        for (int i = 0; i < CH_N; ++i) {
            w[i] = malloc(bytes[i] + 1);
            memcpy(w[i], before[i], bytes[i] + 1);
            q[i] = p[i] && !(from_y && (i == CH_BIAS || i == CH_Z)) ? before[i] : NULL;
        }
        q[CH_OUT] = w[out_idx];
        q[CH_DBIAS] = backward && p[CH_DBIAS] ? w[CH_DBIAS] : NULL;
        q[CH_DSLOPES] = backward && p[CH_DSLOPES] ? w[CH_DSLOPES] : NULL;
        channel_reference(&desc, &lay, backward, q);
        for (int i = 0; i < CH_N; ++i)
            CHECK(memcmp(a[i], w[i], bytes[i] + 1) == 0,
                  "%s: array %d differs from the reference's", fn, i);
        for (int i = 0; i < CH_N; ++i)
            free(w[i]);
    }
    for (int i = 0; i < CH_N; ++i) {
        free(a[i]);
        free(before[i]);
    }
}

/* Calls without arrays: status and dtype tables, context creation from any spec, info. */
static void call_misc(reader *r) {
    switch (u8(r) % 5) {
    case 0: {
        clrelu_status st = (clrelu_status)(int8_t)u8(r);
        CHECK(clrelu_status_string(st) && clrelu_status_name(st), "NULL status text");
        break;
    }
    case 1:
        (void)clrelu_dtype_size((clrelu_dtype)(int)u64(r));
        (void)clrelu_mask_words((size_t)u64(r));
        break;
    case 2: {
        char spec[24];
        size_t len = u8(r) % sizeof spec;
        for (size_t i = 0; i < len; ++i)
            spec[i] = (char)(u8(r) % 2 ? "0123456789:cpugGPU pocl"[u8(r) % 23] : u8(r));
        spec[len] = '\0';
        clrelu_context *c = (clrelu_context *)&c;
        clrelu_status st = clrelu_context_create(&c, spec);
        if (st == CLRELU_OK)
            clrelu_context_release(c);
        else {
            CHECK(c == NULL, "clrelu_context_create failed but *out is not NULL");
            check_failure(NULL, st, "clrelu_context_create");
        }
        break;
    }
    case 3: {
        clrelu_context_info info;
        clrelu_context *ctx = u8(r) % 2 ? cpu_ctx : dev_ctx;
        clrelu_status st = clrelu_context_get_info(ctx, u8(r) % 8 ? &info : NULL, sizeof info);
        if (st != CLRELU_OK)
            check_failure(ctx, st, "clrelu_context_get_info");
        break;
    }
    default:
        if (dev_ctx) {
            clrelu_context *w = NULL;
            cl_context c = u8(r) % 4 ? dev_info.context : other_cl;
            clrelu_status st = clrelu_context_wrap(&w, u8(r) % 16 ? c : NULL, dev_info.queue);
            if (st == CLRELU_OK)
                clrelu_context_release(w);
            else
                check_failure(NULL, st, "clrelu_context_wrap");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    current_input = data;
    current_size = size;
    world_open();
    reader r = {data, size};
    for (int c = 0; c < MAX_CALLS && r.left; ++c) {
        /* (The channel ops take the top byte values, so that older inputs keep their calls.) */
        uint8_t byte = u8(&r), kind = byte % 7;
        if (byte >= 252)
            byte % 2 ? call_channel_host(&r) : call_channel_device(&r);
        else if (kind < 3)
            call_device(&r, kind);
        else if (kind < 6)
            call_host(&r, kind - 3);
        else
            call_misc(&r);
    }
    /* Leave the shared contexts as every input finds them. */
    clrelu_context_set_host_path(cpu_ctx, CLRELU_HOST_PATH_CPU);
    if (dev_ctx)
        clrelu_context_set_host_path(dev_ctx, CLRELU_HOST_PATH_CPU);
    return 0;
}
