/* SPDX-License-Identifier: Apache-2.0 */
/* What a device spec means (host/device_spec.c): a table of machines, this one and others
 * (their platforms' and devices' strings as those drivers report them), then this machine's own
 * platforms at once: "pocl" and "intel" each select their platform, no other vendor's name
 * selects PoCL, and clrelu-bench measures two specs as two devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"
#if defined(CLRELU_BENCH_EXE)
#include "json.h"
#endif

/* PoCL names its device after the CPU and reports the CPU's vendor string. */
#define POCL_ON(cpu_vendor, cpu_brand)                                                             \
    {                                                                                              \
        0, 0, 0, "Portable Computing Language", "The pocl project", cpu_vendor,                    \
            "pthread-skylake-avx512-" cpu_brand                                                    \
    }

/* This machine: an AMD CPU with PoCL and Intel's CPU runtime. */
static const clrelu__spec_device amd_cpu_pocl_intel[] = {
    POCL_ON("AuthenticAMD", "AMD EPYC"),
    {1, 0, 0, "Intel(R) OpenCL", "Intel(R) Corporation", "Intel(R) Corporation", "AMD EPYC"},
};
/* An Intel CPU with PoCL alone. */
static const clrelu__spec_device intel_cpu_pocl[] = {
    POCL_ON("GenuineIntel", "Intel(R) Xeon(R) Platinum 8480+"),
};
/* Intel's CPU runtime registered first, PoCL, two NVIDIA GPUs, and Oclgrind (a GPU). */
static const clrelu__spec_device gpu_server[] = {
    {0, 0, 0, "Intel(R) OpenCL", "Intel(R) Corporation", "Intel(R) Corporation",
     "Intel(R) Xeon(R) Platinum 8480+"},
    {1, 0, 0, "Portable Computing Language", "The pocl project", "GenuineIntel",
     "pthread-sapphirerapids-Intel(R) Xeon(R) Platinum 8480+"},
    {2, 0, 1, "NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA Corporation", "NVIDIA H100 80GB HBM3"},
    {2, 1, 1, "NVIDIA CUDA", "NVIDIA Corporation", "NVIDIA Corporation", "NVIDIA H100 80GB HBM3"},
    {3, 0, 1, "Oclgrind", "University of Bristol", "University of Bristol", "Oclgrind Simulator"},
};
/* AMD's ROCm beside PoCL on an AMD CPU; Mesa's rusticl on a Radeon beside PoCL. */
static const clrelu__spec_device rocm[] = {
    POCL_ON("AuthenticAMD", "AMD Ryzen 9 7950X"),
    {1, 0, 1, "AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.",
     "Advanced Micro Devices, Inc.", "gfx1100"},
};
static const clrelu__spec_device rusticl[] = {
    POCL_ON("GenuineIntel", "Intel(R) Core(TM) i9-13900K"),
    {1, 0, 1, "rusticl", "Mesa/X.org", "AMD", "AMD Radeon RX 6800 (radeonsi, navi21, LLVM 15.0.6)"},
};
/* Intel's GPU and CPU runtimes: two platforms of one vendor. */
static const clrelu__spec_device intel_gpu_cpu[] = {
    {0, 0, 1, "Intel(R) OpenCL Graphics", "Intel(R) Corporation", "Intel(R) Corporation",
     "Intel(R) UHD Graphics 770"},
    {1, 0, 0, "Intel(R) OpenCL", "Intel(R) Corporation", "Intel(R) Corporation",
     "13th Gen Intel(R) Core(TM) i9-13900K"},
};

#define MACHINE(m) m, ARRAY_LEN(m), #m

/* expect: "P:D", "none" (CLRELU_ERROR_DEVICE_NOT_FOUND) or "ambiguous". */
static const struct {
    const clrelu__spec_device *devs;
    size_t n;
    const char *machine, *spec, *expect;
} table[] = {
    {MACHINE(amd_cpu_pocl_intel), "intel", "1:0"},
    {MACHINE(amd_cpu_pocl_intel), "INTEL", "1:0"},
    {MACHINE(amd_cpu_pocl_intel), "pocl", "0:0"},
    {MACHINE(amd_cpu_pocl_intel), "amd", "none"}, /* not PoCL (AuthenticAMD, "...-AMD EPYC") */
    {MACHINE(amd_cpu_pocl_intel), "nvidia", "none"},
    {MACHINE(amd_cpu_pocl_intel), "oclgrind", "none"},
    {MACHINE(amd_cpu_pocl_intel), "Portable Computing Language", "0:0"},
    {MACHINE(amd_cpu_pocl_intel), "Intel(R) OpenCL", "1:0"},
    {MACHINE(amd_cpu_pocl_intel), "skylake", "0:0"},
    {MACHINE(amd_cpu_pocl_intel), "epyc", "ambiguous"}, /* both devices' names */
    {MACHINE(amd_cpu_pocl_intel), "amd epyc", "1:0"},   /* a whole name beats a part */
    {MACHINE(amd_cpu_pocl_intel), "gpu", "none"},
    {MACHINE(amd_cpu_pocl_intel), "1:0", "1:0"},
    {MACHINE(amd_cpu_pocl_intel), "0:1", "none"},
    {MACHINE(amd_cpu_pocl_intel), "", "none"},
    {MACHINE(intel_cpu_pocl), "intel", "none"}, /* GenuineIntel, "...-Intel(R) Xeon(R)" */
    {MACHINE(intel_cpu_pocl), "xeon", "0:0"},
    {MACHINE(intel_cpu_pocl), "pocl", "0:0"},
    {MACHINE(gpu_server), "intel", "0:0"},
    {MACHINE(gpu_server), "pocl", "1:0"},
    {MACHINE(gpu_server), "nvidia", "2:0"}, /* two devices of one platform: the first */
    {MACHINE(gpu_server), "2:1", "2:1"},
    {MACHINE(gpu_server), "h100", "2:0"},
    {MACHINE(gpu_server), "gpu", "2:0"},
    {MACHINE(gpu_server), "oclgrind", "3:0"},
    {MACHINE(gpu_server), "xeon", "ambiguous"},
    {MACHINE(gpu_server), "sapphirerapids", "1:0"},
    {MACHINE(rocm), "amd", "1:0"},
    {MACHINE(rocm), "gfx1100", "1:0"},
    {MACHINE(rocm), "ryzen", "0:0"},
    {MACHINE(rusticl), "amd", "1:0"}, /* the device vendor */
    {MACHINE(rusticl), "radeon", "1:0"},
    {MACHINE(rusticl), "mesa", "1:0"},
    {MACHINE(rusticl), "intel", "none"},
    {MACHINE(intel_gpu_cpu), "intel", "ambiguous"},
    {MACHINE(intel_gpu_cpu), "Intel(R) OpenCL", "1:0"}, /* the whole platform name */
    {MACHINE(intel_gpu_cpu), "graphics", "0:0"},
    {MACHINE(intel_gpu_cpu), "gpu", "0:0"},
};

static void test_spec__table_of_machines(void **state) {
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(table); ++i) {
        size_t at = 99;
        clrelu_status st =
            clrelu__spec_choose(table[i].spec, "device_spec", table[i].devs, table[i].n, 4, &at);
        char got[32];
        if (st == CLRELU_OK)
            snprintf(got, sizeof got, "%u:%u", table[i].devs[at].p, table[i].devs[at].d);
        else if (st == CLRELU_ERROR_DEVICE_NOT_FOUND)
            snprintf(got, sizeof got, "none");
        else if (st == CLRELU_ERROR_DEVICE_AMBIGUOUS)
            snprintf(got, sizeof got, "ambiguous");
        else
            snprintf(got, sizeof got, "%s", clrelu_status_name(st));
        if (strcmp(got, table[i].expect) != 0) {
            print_error("%s: '%s' gave %s, expected %s (%s)\n", table[i].machine, table[i].spec,
                        got, table[i].expect, st == CLRELU_OK ? "" : clrelu_last_error());
            fail();
        }
    }
}

#define assert_message_has(text)                                                                   \
    do {                                                                                           \
        if (!strstr(clrelu_last_error(), (text))) {                                                \
            print_error("message \"%s\" does not contain \"%s\"\n", clrelu_last_error(), (text));  \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static void test_spec__messages_name_the_spec_and_the_candidates(void **state) {
    (void)state;
    size_t at;
    assert_int_equal(clrelu__spec_choose("intel", "CLRELU_DEVICE", intel_gpu_cpu, 2, 2, &at),
                     CLRELU_ERROR_DEVICE_AMBIGUOUS);
    assert_message_has("CLRELU_DEVICE 'intel' is ambiguous");
    assert_message_has("platform name or vendor");
    assert_message_has("0:0 'Intel(R) UHD Graphics 770' on 'Intel(R) OpenCL Graphics'");
    assert_message_has("1:0 '13th Gen Intel(R) Core(TM) i9-13900K' on 'Intel(R) OpenCL'");
    assert_int_equal(clrelu__spec_choose("amd", "device_spec", amd_cpu_pocl_intel, 2, 2, &at),
                     CLRELU_ERROR_DEVICE_NOT_FOUND);
    assert_message_has("device_spec 'amd' matches no OpenCL platform or device");
    assert_message_has("present: 0:0 'pthread-skylake-avx512-AMD EPYC' on 'Portable Computing "
                       "Language', 1:0 'AMD EPYC' on 'Intel(R) OpenCL'");
    assert_int_equal(clrelu__spec_choose("gpu", "device_spec", NULL, 0, 0, &at),
                     CLRELU_ERROR_DEVICE_NOT_FOUND);
    assert_message_has("no OpenCL device is present");
}

/* ---------------------------------------------------------------------------------------------
 * This machine
 * ------------------------------------------------------------------------------------------ */

/* The platform and id clrelu chooses for spec; 0 when it chooses none. */
static int choose(const char *spec, clrelu_context_info *info) {
    clrelu_context *c = NULL;
    if (clrelu_context_create(&c, spec) != CLRELU_OK)
        return 0;
    clrelu_context_get_info(c, info, sizeof *info);
    clrelu_context_release(c);
    return 1;
}

static void need_pocl_and_intel(void) {
    clrelu_context_info info;
    if (!choose("pocl", &info) || !choose("intel", &info)) {
        print_skip("PoCL and Intel's OpenCL CPU runtime are not both present "
                   "(tools/install-drivers.sh installs them)");
        skip();
    }
}

static void test_spec__each_vendor_selects_its_own_platform_here(void **state) {
    (void)state;
    need_pocl_and_intel();
    clrelu_context_info pocl, intel, again;
    assert_true(choose("pocl", &pocl));
    assert_true(choose("intel", &intel));
    assert_string_equal(pocl.platform, "Portable Computing Language");
    assert_string_equal(intel.platform, "Intel(R) OpenCL");
    assert_int_equal(intel.kind, CLRELU_DEVICE_KIND_CPU);
    /* Each id selects its device again, whatever order the ICD loader listed them in. */
    assert_true(choose(pocl.id, &again));
    assert_ptr_equal(again.device_id, pocl.device_id);
    assert_true(choose(intel.id, &again));
    assert_ptr_equal(again.device_id, intel.device_id);
    /* The environment means the same. */
    setenv("CLRELU_DEVICE", "Intel", 1);
    assert_true(choose(NULL, &again));
    unsetenv("CLRELU_DEVICE");
    assert_ptr_equal(again.device_id, intel.device_id);
    /* No vendor's name selects PoCL but its own. */
    static const char *others[] = {"amd", "intel", "nvidia", "oclgrind"};
    for (size_t i = 0; i < ARRAY_LEN(others); ++i) {
        if (choose(others[i], &again) && again.platform_id == pocl.platform_id) {
            print_error("'%s' chose PoCL's %s\n", others[i], again.device);
            fail();
        }
    }
}

static void test_spec__device_name_is_case_insensitive(void **state) {
    (void)state;
    test_device devs[16];
    size_t n = list_devices(devs, ARRAY_LEN(devs));
    if (n == 0) {
        print_skip("no OpenCL device present");
        skip();
    }
    /* Every device's whole name, in upper case, selects a device of that name on its
     * platform, or says which platforms share it. */
    for (size_t i = 0; i < n; ++i) {
        clrelu_context_info mine, got;
        assert_true(choose(devs[i].spec, &mine));
        char upper[160];
        snprintf(upper, sizeof upper, "%s", mine.device);
        for (char *p = upper; *p; ++p)
            *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
        clrelu_context *c = NULL;
        clrelu_status st = clrelu_context_create(&c, upper);
        if (st == CLRELU_ERROR_DEVICE_AMBIGUOUS) {
            assert_message_has(devs[i].spec);
            continue;
        }
        assert_int_equal(st, CLRELU_OK);
        clrelu_context_get_info(c, &got, sizeof got);
        clrelu_context_release(c);
        assert_string_equal(got.device, mine.device);
        assert_ptr_equal(got.platform_id, mine.platform_id);
    }
}

#if defined(CLRELU_BENCH_EXE)
/* clrelu-bench with two specs: two devices measured, not one. */
static void test_spec__bench_measures_intel_and_pocl_as_two_devices(void **state) {
    (void)state;
    need_pocl_and_intel();
    char json[64], err[64], cmd[1024];
    snprintf(json, sizeof json, "test_device_spec_%d.json", (int)getpid());
    snprintf(err, sizeof err, "test_device_spec_%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "'%s' --device intel --device pocl --device 0:0 --op forward --sizes 2^10 "
             "--repeat 1 --min-time 0 --batch 1 --no-host-trip --quiet --format json --output "
             "'%s' >/dev/null 2>'%s'",
             CLRELU_BENCH_EXE, json, err);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    FILE *f = fopen(json, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    jv *root = jv_parse(text);
    assert_non_null(root);
    const jv *devices = jv_member(root, "devices");
    assert_non_null(devices);
    const char *platforms[3] = {NULL, NULL, NULL};
    int count = 0;
    for (const jv *d = devices->kids; d && count < 3; d = d->next)
        platforms[count++] = jv_str(d, "platform");
    assert_int_equal(count, 2);
    assert_string_equal(platforms[0], "Intel(R) OpenCL");
    assert_string_equal(platforms[1], "Portable Computing Language");
    jv_free(root);
    /* The third spec named PoCL's device again (when PoCL is 0:0): said, not silent. */
    clrelu_context_info pocl;
    assert_true(choose("pocl", &pocl));
    f = fopen(err, "rb");
    assert_non_null(f);
    len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    if (strcmp(pocl.id, "0:0") == 0 && !strstr(text, "--device 0:0 is 0:0")) {
        print_error("clrelu-bench said nothing of --device 0:0 naming PoCL again: \"%s\"\n", text);
        fail();
    }
    remove(json);
    remove(err);
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec__table_of_machines),
        cmocka_unit_test(test_spec__messages_name_the_spec_and_the_candidates),
        cmocka_unit_test(test_spec__each_vendor_selects_its_own_platform_here),
        cmocka_unit_test(test_spec__device_name_is_case_insensitive),
#if defined(CLRELU_BENCH_EXE)
        cmocka_unit_test(test_spec__bench_measures_intel_and_pocl_as_two_devices),
#endif
    };
    return cmocka_run_group_tests_name("device_spec", tests, NULL, NULL);
}
