/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel programs: the embedded sources, built once per (context, options) on first use and
 * kept, with their kernels, until the context is released. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct clrelu__kernel_source *find_source(const char *name) {
    for (const struct clrelu__kernel_source *s = clrelu__kernel_sources; s->name; ++s)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* The program text: the per-element semantics shared with the CPU path, then the kernels
 * (the bias epilogue and the channel ops use relu.cl's macros). */
static const char *const program_parts[] = {"relu_math", "relu", "bias", "channel"};
#define N_PARTS (sizeof program_parts / sizeof program_parts[0])

/* Builds the kernels with options, through the persistent binary cache (cache.c). */
static clrelu_status build(clrelu_context *ctx, const char *fn, const char *options,
                           cl_program *out) {
    const char *texts[N_PARTS];
    size_t lengths[N_PARTS];
    for (size_t i = 0; i < N_PARTS; ++i) {
        const struct clrelu__kernel_source *src = find_source(program_parts[i]);
        if (!src)
            return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                                "%s: kernel source %s is not in this build", fn, program_parts[i]);
        texts[i] = src->text;
        lengths[i] = src->length;
    }
    return clrelu__cache_build(ctx, fn, "relu.cl", (cl_uint)N_PARTS, texts, lengths, options, out);
}

clrelu_status clrelu__get_kernel(clrelu_context *ctx, const char *fn, const char *options,
                                 const char *kernel_name, cl_kernel *out) {
    clrelu__program *p = ctx->programs;
    while (p && strcmp(p->options, options) != 0)
        p = p->next;
    if (!p) {
        p = calloc(1, sizeof *p);
        char *opts = malloc(strlen(options) + 1);
        if (!p || !opts) {
            free(p);
            free(opts);
            return clrelu__fail(ctx, CLRELU_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
        }
        strcpy(opts, options);
        clrelu_status st = build(ctx, fn, options, &p->program);
        if (st != CLRELU_OK) {
            free(p);
            free(opts);
            return st;
        }
        p->options = opts;
        p->next = ctx->programs;
        ctx->programs = p;
    }
    for (int i = 0; i < p->n_kernels; ++i) {
        if (strcmp(p->kernels[i].name, kernel_name) == 0) {
            *out = p->kernels[i].kernel;
            return CLRELU_OK;
        }
    }
    if (p->n_kernels == CLRELU__MAX_KERNELS)
        return clrelu__fail(ctx, CLRELU_ERROR_UNSUPPORTED,
                            "%s: more than %d kernels asked of one program", fn,
                            CLRELU__MAX_KERNELS);
    /* "name@tag": another kernel object of kernel name, with arguments of its own. */
    char base[sizeof p->kernels[0].name];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(kernel_name, "@"), kernel_name);
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(p->program, base, &err);
    if (err != CL_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "%s: clCreateKernel(%s)", fn, kernel_name);
        return clrelu__cl_fail(ctx, err, what);
    }
    snprintf(p->kernels[p->n_kernels].name, sizeof p->kernels[0].name, "%s", kernel_name);
    p->kernels[p->n_kernels].kernel = k;
    p->n_kernels++;
    *out = k;
    return CLRELU_OK;
}

void clrelu__programs_release(clrelu_context *ctx) {
    clrelu__program *p = ctx->programs;
    while (p) {
        clrelu__program *next = p->next;
        for (int i = 0; i < p->n_kernels; ++i)
            clReleaseKernel(p->kernels[i].kernel);
        clReleaseProgram(p->program);
        free(p->options);
        free(p);
        p = next;
    }
    ctx->programs = NULL;
    memset(ctx->launch, 0, sizeof ctx->launch); /* their kernels are gone */
}
