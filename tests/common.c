/* Test helpers: see common.h. */
#include "common.h"

#include <stdio.h>
#include <string.h>

const size_t test_sizes[] = {0,  1,  2,  3,  4,  5,  7,    8,    15,
                             16, 17, 31, 63, 64, 65, 1000, 4099, (1u << 20) + 3};
const size_t test_sizes_count = ARRAY_LEN(test_sizes);

void fill_guard(uint32_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        p[i] = GUARD_WORD;
}

void assert_bits_equal(const void *a, const void *b, size_t n_words, const char *what) {
    const uint32_t *pa = a, *pb = b;
    for (size_t i = 0; i < n_words; ++i) {
        if (pa[i] != pb[i]) {
            print_error("%s: word %zu of %zu is 0x%08x, expected 0x%08x\n", what, i, n_words,
                        (unsigned)pa[i], (unsigned)pb[i]);
            fail();
        }
    }
}

size_t list_devices(test_device *out, size_t cap) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        return 0;
    size_t count = 0;
    for (cl_uint p = 0; p < np && p < 16; ++p) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 16 && count < cap; ++d) {
            snprintf(out[count].spec, sizeof out[count].spec, "%u:%u", p, d);
            char name[128] = "";
            clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            name[sizeof name - 1] = '\0';
            snprintf(out[count].name, sizeof out[count].name, "%s", name);
            count++;
        }
    }
    return count;
}

void print_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "SKIPPED: ");
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    fflush(stdout);
    va_end(ap);
}
