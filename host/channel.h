/* SPDX-License-Identifier: Apache-2.0 */
/* The channel ops (PReLU, the residual epilogue): what the cl_mem calls (channel.c) and the
 * host-array calls (channel_host.c) share. Internal. */
#ifndef CLRELU_CHANNEL_H
#define CLRELU_CHANNEL_H

#include "internal.h"

/* Rows of 256 consecutive k per block of the channel sums: the bias epilogue's block, part of
 * both results' definition (clrelu.h). */
#define CLRELU__CH_BLOCK CLRELU__BIAS_BLOCK

/* A checked layout. */
typedef struct clrelu__ch_shape {
    size_t outer, chans, inner, pitch;
    size_t span;  /* elements a tensor spans from its offset: (outer - 1) * pitch + chans * inner */
    size_t count; /* elements of one channel: outer * inner */
    int empty;    /* outer, chans or inner is 0 */
} clrelu__ch_shape;

/* What a channel call is: its checked descriptor (op.op is CR_PRELU for PReLU), and which of
 * the optional arrays it has. */
typedef struct clrelu__ch_call {
    clrelu__op op;
    clrelu__ch_shape shape;
    int backward, from_y;
    int has_bias, has_z; /* read (from y: never) */
    int want_g, want_p;  /* dbias, dslopes */
} clrelu__ch_call;

/* The roles of a call's arrays, in the order every table below uses. */
enum {
    CH_ARG_IN,     /* x (forward) or dy (backward) */
    CH_ARG_SRC,    /* backward: x or y */
    CH_ARG_BIAS,   /* per channel */
    CH_ARG_Z,      /* a tensor */
    CH_ARG_SLOPES, /* per channel, PReLU */
    CH_ARG_OUT,    /* y or dx */
    CH_ARG_DBIAS,  /* per channel, backward */
    CH_ARG_DSLOPES,
    CH_ARGS
};

/* Checks ctx, the descriptor (PReLU allowed; prelu_only: required), the layout and which
 * arrays the caller gave (given[role] != 0 on entry) against the op: PReLU needs slopes and
 * only PReLU takes them or dslopes; backward from the mask is not supported, nor PReLU from y.
 * Fills *call, and given[] with the arrays the call reads or writes: the tensors it always
 * needs (so that a NULL one is named by the buffer checks), without bias and z from y. */
clrelu_status clrelu__ch_check(clrelu_context *ctx, const char *fn, const clrelu_desc *desc,
                               const clrelu_layout *layout, int backward, int prelu_only,
                               int given[CH_ARGS], clrelu__ch_call *call);

/* The shape the kernels walk: a dense tensor of one channel is one run of all its elements
 * (the same elements in the same k order, so the same sums). */
clrelu__ch_shape clrelu__ch_effective_shape(const clrelu__ch_shape *s);

/* Whether a role is a tensor (spans the layout) rather than a per-channel array. */
int clrelu__ch_is_tensor(int role);
/* Whether a role is written. */
int clrelu__ch_is_output(int role);
/* The names of the roles as the calls spell them ("x", "slopes", ...). */
const char *clrelu__ch_name(int role, int backward);

#endif
