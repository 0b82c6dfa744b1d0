/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench's oneDNN peer: oneDNN's eltwise ReLU primitives (relu, leaky relu as relu with
 * alpha, clipped relu as clip_v2), forward_training and backward_data, on the same host
 * arrays as the CPU path. Built only when CMake finds libdnnl (libdnnl-dev). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "bench.h"

struct bench_onednn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
};

struct bench_onednn_call {
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
    dnnl_exec_arg_t args[3];
    int n_args;
    bench_onednn *peer;
};

bench_onednn *bench_onednn_open(int threads, char *why, size_t why_len) {
    bench_onednn *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    /* oneDNN's CPU runtime here is OpenMP: its thread count is OpenMP's. */
    omp_set_num_threads(threads);
    dnnl_status_t st = dnnl_engine_create(&p->engine, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        snprintf(why, why_len, "dnnl_engine_create/dnnl_stream_create failed (status %d)", (int)st);
        bench_onednn_close(p);
        return NULL;
    }
    return p;
}

void bench_onednn_close(bench_onednn *p) {
    if (!p)
        return;
    if (p->stream)
        dnnl_stream_destroy(p->stream);
    if (p->engine)
        dnnl_engine_destroy(p->engine);
    free(p);
}

void bench_onednn_describe(int threads, const char *cpu_name, bench_device *bd) {
    const dnnl_version_t *v = dnnl_version();
    static const char *isas[] = {"all",
                                 "sse41",
                                 "avx",
                                 "avx2",
                                 "avx512_mic",
                                 "avx512_core",
                                 "avx512_core_vnni",
                                 "avx512_core_bf16",
                                 "avx512_core_amx"};
    static const int isa_codes[] = {dnnl_cpu_isa_all,
                                    dnnl_cpu_isa_sse41,
                                    dnnl_cpu_isa_avx,
                                    dnnl_cpu_isa_avx2,
                                    dnnl_cpu_isa_avx512_mic,
                                    dnnl_cpu_isa_avx512_core,
                                    dnnl_cpu_isa_avx512_core_vnni,
                                    dnnl_cpu_isa_avx512_core_bf16,
                                    dnnl_cpu_isa_avx512_core_amx};
    const char *isa = "unknown";
    int code = (int)dnnl_get_effective_cpu_isa();
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; ++i)
        if (isa_codes[i] == code)
            isa = isas[i];
    snprintf(bd->id, sizeof bd->id, "onednn");
    snprintf(bd->platform, sizeof bd->platform, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    snprintf(bd->name, sizeof bd->name, "%s", cpu_name && *cpu_name ? cpu_name : "CPU");
    snprintf(bd->driver, sizeof bd->driver, "oneDNN %d.%d.%d, OpenMP, %s", v->major, v->minor,
             v->patch, isa);
    bd->kind = "simd";
    bd->compute_units = (unsigned)threads;
}

void bench_onednn_release(bench_onednn_call *c) {
    if (!c)
        return;
    for (int i = 0; i < 3; ++i)
        if (c->mem[i])
            dnnl_memory_destroy(c->mem[i]);
    if (c->prim)
        dnnl_primitive_destroy(c->prim);
    free(c);
}

/* The oneDNN algorithm for op, and its alpha and beta; 0 when oneDNN has none. */
static dnnl_alg_kind_t algorithm(const kit_op *op, const clrelu_desc *d, int from_dst, float *alpha,
                                 float *beta) {
    *alpha = 0.0f;
    *beta = 0.0f;
    switch (op->op) {
    case CLRELU_OP_RELU:
        return from_dst ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu;
    case CLRELU_OP_LEAKY_RELU:
        *alpha = d->negative_slope;
        return from_dst ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu;
    case CLRELU_OP_CLIPPED_RELU:
        *beta = d->ceiling; /* clip_v2: x for 0 < x <= c, else 0 or c */
        return from_dst ? dnnl_eltwise_clip_v2_use_dst_for_bwd : dnnl_eltwise_clip_v2;
    case CLRELU_OP_PRELU: /* (a primitive of its own; the channel ops are not measured there) */
        break;
    }
    return dnnl_alg_kind_undef;
}

bench_onednn_call *bench_onednn_prepare(bench_onednn *p, const kit_op *op, const clrelu_desc *d,
                                        size_t n, const void *in0, const void *in1, void *out,
                                        char *why, size_t why_len) {
    dnnl_data_type_t dt = d->dtype == CLRELU_DTYPE_F32    ? dnnl_f32
                          : d->dtype == CLRELU_DTYPE_BF16 ? dnnl_bf16
                          : d->dtype == CLRELU_DTYPE_F16  ? dnnl_f16
                                                          : dnnl_data_type_undef;
    if (dt == dnnl_data_type_undef) {
        snprintf(why, why_len, "oneDNN has no %s eltwise", kit_dtypes[d->dtype].name);
        return NULL;
    }
    if (op->mask) {
        snprintf(why, why_len, "oneDNN's eltwise has no bitmask form");
        return NULL;
    }
    if (op->channel) {
        snprintf(why, why_len, "oneDNN's eltwise has no per-channel or residual form");
        return NULL;
    }
    if (d->alpha != 1.0f || d->beta != 0.0f) {
        snprintf(why, why_len, "oneDNN's eltwise has no alpha/beta blending");
        return NULL;
    }
    const int backward = op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y;
    float a, b;
    dnnl_alg_kind_t alg = algorithm(op, d, op->kind == KIT_BWD_Y, &a, &b);
    bench_onednn_call *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    c->peer = p;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)n};
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    dnnl_eltwise_desc_t fwd, bwd;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 1, dims, dt, dnnl_a);
    if (st == dnnl_success)
        st = dnnl_eltwise_forward_desc_init(&fwd, dnnl_forward_training, alg, &md, a, b);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(&fwd_pd, &fwd, NULL, p->engine, NULL);
    if (st == dnnl_success && backward) {
        st = dnnl_eltwise_backward_desc_init(&bwd, alg, &md, &md, a, b);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(&pd, &bwd, NULL, p->engine, fwd_pd);
    } else if (st == dnnl_success) {
        pd = fwd_pd;
        fwd_pd = NULL;
    }
    if (st == dnnl_success)
        st = dnnl_primitive_create(&c->prim, pd);
    /* Forward: SRC -> DST. Backward: DIFF_DST (dy) and SRC (x) or DST (y) -> DIFF_SRC (dx). */
    const void *ptrs[3] = {in0, in1, out};
    int args[3] = {DNNL_ARG_SRC, DNNL_ARG_DST, 0};
    if (backward) {
        args[0] = DNNL_ARG_DIFF_DST;
        args[1] = op->kind == KIT_BWD_Y ? DNNL_ARG_DST : DNNL_ARG_SRC;
        args[2] = DNNL_ARG_DIFF_SRC;
        c->n_args = 3;
    } else {
        ptrs[1] = out;
        c->n_args = 2;
    }
    for (int i = 0; st == dnnl_success && i < c->n_args; ++i) {
        st = dnnl_memory_create(&c->mem[i], &md, p->engine, (void *)ptrs[i]);
        c->args[i].arg = args[i];
        c->args[i].memory = c->mem[i];
    }
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) {
        if (st == dnnl_unimplemented)
            snprintf(why, why_len, "oneDNN has no %s %s primitive on this CPU", op->name,
                     kit_dtypes[d->dtype].name);
        else
            snprintf(why, why_len, "oneDNN refused %s %s (status %d)", op->name,
                     kit_dtypes[d->dtype].name, (int)st);
        bench_onednn_release(c);
        return NULL;
    }
    return c;
}

int bench_onednn_run(bench_onednn_call *c) {
    dnnl_status_t st = dnnl_primitive_execute(c->prim, c->peer->stream, c->n_args, c->args);
    if (st == dnnl_success)
        st = dnnl_stream_wait(c->peer->stream);
    return st == dnnl_success ? 0 : -1;
}
