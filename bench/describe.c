/* SPDX-License-Identifier: Apache-2.0 */
/* What clrelu-bench says about the machine it measured: the CPU model, and every OpenCL
 * device's platform, name and driver as the driver reports them (whole: clrelu_context_info
 * truncates to its fixed fields, and --compare matches devices on these strings), and OpenCL
 * error names for its messages. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "cl_errors.h"
#include "cpu/cpu.h"

const char *bench_cl_error(cl_int err) {
    return clrelu__cl_error_string(err);
}

/* An OpenCL string query into buf, up to len - 1 bytes ("" when the query fails). */
static void platform_string(cl_platform_id p, cl_platform_info what, char *buf, size_t len) {
    buf[0] = '\0';
    if (clGetPlatformInfo(p, what, len, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[len - 1] = '\0';
}

static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t len) {
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, len, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[len - 1] = '\0';
}

void bench_describe_cl(cl_platform_id platform, cl_device_id device, bench_device *bd) {
    platform_string(platform, CL_PLATFORM_NAME, bd->platform, sizeof bd->platform);
    platform_string(platform, CL_PLATFORM_VERSION, bd->platform_version,
                    sizeof bd->platform_version);
    device_string(device, CL_DEVICE_NAME, bd->name, sizeof bd->name);
    device_string(device, CL_DRIVER_VERSION, bd->driver, sizeof bd->driver);
}

int bench_cl_devices(bench_device *out, int cap) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    int count = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        return 0;
    for (cl_uint p = 0; p < np && p < 16; ++p) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 16 && count < cap; ++d) {
            bench_device *bd = &out[count++];
            memset(bd, 0, sizeof *bd);
            snprintf(bd->id, sizeof bd->id, "%u:%u", p, d);
            bench_describe_cl(plats[p], devs[d], bd);
        }
    }
    return count;
}

void bench_cpu_model(char *buf, size_t len) {
    snprintf(buf, len, "%s", clrelu__cpu_brand());
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        /* x86: "model name : ..."; some AArch64 kernels: "Model name", else the brand stays. */
        if (strncasecmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\n");
        if (n > 0)
            snprintf(buf, len, "%.*s", (int)n, v);
        break;
    }
    fclose(f);
}
