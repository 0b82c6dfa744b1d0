/* SPDX-License-Identifier: Apache-2.0 */
/* What the pipeline examples share: the device they run on and their random inputs. */
#ifndef CLRELU_EXAMPLE_COMMON_H
#define CLRELU_EXAMPLE_COMMON_H

#include <stdlib.h>

#include <clrelu/clrelu.h>

/* The device the pipeline runs on: clrelu's spec rules (spec, else CLRELU_DEVICE, else the
 * first GPU), but never the CPU path. */
static cl_device_id pick_device(const char *spec) {
    clrelu_context *probe = NULL;
    clrelu_context_info info;
    if (clrelu_context_create(&probe, spec) == CLRELU_OK) {
        clrelu_context_get_info(probe, &info, sizeof info);
        clrelu_context_release(probe);
        if (info.device_id)
            return info.device_id;
    }
    /* No spec at all: the default may be the CPU path, which has no cl_context. A device that
     * CLRELU_DEVICE names and this machine lacks is no reason to run on another one. */
    const char *env = getenv("CLRELU_DEVICE");
    if (!spec && !(env && *env) && clrelu_context_create(&probe, "0:0") == CLRELU_OK) {
        clrelu_context_get_info(probe, &info, sizeof info);
        clrelu_context_release(probe);
        return info.device_id;
    }
    return NULL;
}

/* Uniform in [-1, 1), deterministic in *s. */
static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

#endif
