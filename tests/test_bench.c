/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench as a user runs it: the quick JSON run has the documented shape, every device
 * it lists has results, every figure is positive and finite; the CSV header; --list,
 * --compare and plot.sh work; argument errors print the usage and exit 2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "json.h"

/* Whether clrelu-bench was built with oneDNN (its "onednn" device). */
#if defined(CLRELU_BENCH_HAVE_ONEDNN)
#define HAVE_ONEDNN 1
#else
#define HAVE_ONEDNN 0
#endif

#ifndef CLRELU_BENCH_EXE
#error "CLRELU_BENCH_EXE must name the clrelu-bench executable"
#endif
#ifndef CLRELU_PLOT_SH
#error "CLRELU_PLOT_SH must name bench/plot.sh"
#endif

static char json_path[256], out_path[256], err_path[256];

/* Runs clrelu-bench with args, stdout and stderr to files; returns its exit status. */
static int bench(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", CLRELU_BENCH_EXE, args, out_path, err_path);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    size_t got = fread(s, 1, (size_t)len, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int file_has(const char *path, const char *text) {
    char *s = slurp(path);
    int has = s && strstr(s, text) != NULL;
    free(s);
    return has;
}

static void assert_positive_finite(const jv *obj, const char *key, const char *where) {
    double v = jv_num(obj, key);
    if (!(isfinite(v) && v > 0)) {
        print_error("%s: \"%s\" is %g, expected a positive finite number\n", where, key, v);
        fail();
    }
}

static int setup(void **state) {
    (void)state;
    snprintf(json_path, sizeof json_path, "test_bench_%d.json", (int)getpid());
    snprintf(out_path, sizeof out_path, "test_bench_%d.out", (int)getpid());
    snprintf(err_path, sizeof err_path, "test_bench_%d.err", (int)getpid());
    /* What CI runs: the quick smoke run, as JSON. */
    char args[512];
    snprintf(args, sizeof args, "--quick --format json --output '%s'", json_path);
    int st = bench(args);
    if (st != 0) {
        char *err = slurp(err_path);
        fprintf(stderr, "clrelu-bench --quick exited %d:\n%s\n", st, err ? err : "");
        free(err);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove(json_path);
    remove(out_path);
    remove(err_path);
    return 0;
}

static void test_bench__quick_json_has_the_documented_shape(void **state) {
    (void)state;
    char *text = slurp(json_path);
    assert_non_null(text);
    jv *root = jv_parse(text);
    free(text);
    assert_non_null(root);
    assert_string_equal(jv_str(root, "clrelu_version"), clrelu_version());
    assert_string_equal(jv_str(root, "data"), "special");
    const jv *host = jv_member(root, "host");
    assert_non_null(host);
    assert_int_equal(host->t, J_OBJ);
    const jv *devices = jv_member(root, "devices");
    const jv *results = jv_member(root, "results");
    assert_non_null(devices);
    assert_non_null(results);
    assert_int_equal(devices->t, J_ARR);
    assert_int_equal(results->t, J_ARR);
    int n_devices = 0;
    for (const jv *d = devices->kids; d; d = d->next) {
        n_devices++;
        const char *id = jv_str(d, "id");
        assert_true(strlen(id) > 0);
        assert_non_null(jv_member(d, "platform"));
        assert_true(strlen(jv_str(d, "name")) > 0);
        assert_non_null(jv_member(d, "driver"));
        const char *kind = jv_str(d, "kind");
        assert_true(strcmp(kind, "gpu") == 0 || strcmp(kind, "cpu") == 0 ||
                    strcmp(kind, "accelerator") == 0 || strcmp(kind, "simd") == 0);
        /* First-call latency, cold and warm binary cache, on every OpenCL device; null on the
         * CPU path, which builds nothing. */
        assert_non_null(jv_member(d, "first_call_cold_s"));
        assert_non_null(jv_member(d, "first_call_warm_s"));
        if (strcmp(kind, "simd") == 0) {
            assert_int_equal(jv_member(d, "first_call_cold_s")->t, J_NULL);
            assert_int_equal(jv_member(d, "first_call_warm_s")->t, J_NULL);
        } else {
            assert_positive_finite(d, "first_call_cold_s", id);
            assert_positive_finite(d, "first_call_warm_s", id);
        }
        /* Every device listed has results for forward and backward. */
        int fwd = 0, bwd = 0;
        for (const jv *r = results->kids; r; r = r->next) {
            if (strcmp(jv_str(r, "device"), id) != 0)
                continue;
            fwd += strcmp(jv_str(r, "op"), "forward") == 0;
            bwd += strcmp(jv_str(r, "op"), "backward") == 0;
        }
        if (fwd == 0 || bwd == 0) {
            print_error("device %s has %d forward and %d backward results\n", id, fwd, bwd);
            fail();
        }
    }
    /* The CPU path is always there, as "cpu"; oneDNN as "onednn" when built with it; every
     * OpenCL device present too. */
    test_device devs[16];
    assert_int_equal(n_devices, (int)list_devices(devs, 16) + 1 + HAVE_ONEDNN);
    /* The per-call cost at n = 1024: through the API and the kernel directly on the CPU path
     * (and through oneDNN's execute), null on the OpenCL devices. */
    for (const jv *d = devices->kids; d; d = d->next) {
        const char *id = jv_str(d, "id");
        if (strcmp(id, "cpu") == 0) {
            assert_positive_finite(d, "call_1024_s", id);
            assert_positive_finite(d, "direct_call_1024_s", id);
        } else if (strcmp(id, "onednn") == 0) {
            assert_positive_finite(d, "call_1024_s", id);
            assert_int_equal(jv_member(d, "direct_call_1024_s")->t, J_NULL);
        } else {
            assert_int_equal(jv_member(d, "call_1024_s")->t, J_NULL);
        }
    }
    for (const jv *r = results->kids; r; r = r->next) {
        char where[96];
        snprintf(where, sizeof where, "result %s %s %s n=%.0f", jv_str(r, "device"),
                 jv_str(r, "op"), jv_str(r, "dtype"), jv_num(r, "n"));
        assert_string_equal(jv_str(r, "dtype"), "f32");
        assert_positive_finite(r, "n", where);
        assert_positive_finite(r, "kernel_s_median", where);
        assert_positive_finite(r, "kernel_s_min", where);
        assert_positive_finite(r, "wall_s_median", where);
        assert_positive_finite(r, "batch100_s", where);
        assert_positive_finite(r, "gbps", where);
        assert_positive_finite(r, "copy_gbps", where);
        assert_positive_finite(r, "pct_of_copy", where);
        assert_true(jv_num(r, "kernel_s_min") <= jv_num(r, "kernel_s_median"));
    }
    assert_int_equal((int)jv_num(root, "failures"), 0);
    jv_free(root);
}

static void test_bench__csv_has_its_header(void **state) {
    (void)state;
    assert_int_equal(bench("--quick --quiet --device cpu --sizes 2^10 --no-host-trip --format csv"),
                     0);
    char *out = slurp(out_path);
    assert_non_null(out);
    const char *header = "device,op,dtype,n,kernel_s_median,kernel_s_min,kernel_s_max,"
                         "wall_s_median,batch_n,batch_s,gbps,copy_gbps,pct_of_copy,data\n";
    assert_memory_equal(out, header, strlen(header));
    assert_non_null(strstr(out, "\ncpu,forward,f32,1024,"));
    assert_non_null(strstr(out, ",special\n"));
    free(out);
}

/* --data: the run says which data it used, in the table and in the JSON. */
static void test_bench__data_is_in_every_report(void **state) {
    (void)state;
    const char *run = "--quick --quiet --device cpu --sizes 2^10 --no-host-trip --op leaky_forward "
                      "--data subnormal:1/16";
    assert_int_equal(bench(run), 0);
    assert_true(file_has(out_path, "Data: subnormal:1/16 ("));
    char args[512];
    snprintf(args, sizeof args, "%s --format json --output '%s.data'", run, json_path);
    assert_int_equal(bench(args), 0);
    char path[300];
    snprintf(path, sizeof path, "%s.data", json_path);
    char *text = slurp(path);
    remove(path);
    assert_non_null(text);
    jv *root = jv_parse(text);
    free(text);
    assert_non_null(root);
    assert_string_equal(jv_str(root, "data"), "subnormal:1/16");
    jv_free(root);
    /* Compared with the default run: the data differ, and the comparison says so. */
    snprintf(args, sizeof args,
             "--quick --quiet --device cpu --sizes 2^10 --no-host-trip --data normal --compare "
             "'%s'",
             json_path);
    assert_int_equal(bench(args), 0);
    assert_true(file_has(out_path, "Data: the baseline's special, this run's normal (DIFFERENT"));
}

/* What each --data kind fills: normal has only finite normal values in [-10, 10); subnormal:RATE
 * has that fraction of subnormals (of both signs) among them; special is kit_fill. */
static void test_bench__data_kinds_fill_as_documented(void **state) {
    (void)state;
    enum { N = 1 << 16 };
    static float x[N];
    kit_data normal, sub, special;
    assert_int_equal(kit_data_parse("normal", &normal), 0);
    assert_int_equal(kit_data_parse("subnormal:1/16", &sub), 0);
    assert_int_equal(kit_data_parse("special", &special), 0);
    assert_true(sub.rate == 1.0 / 16);
    kit_fill_data(&normal, CLRELU_DTYPE_F32, x, N, 3);
    for (size_t i = 0; i < N; ++i)
        assert_true(isnormal(x[i]) && x[i] >= -10 && x[i] < 10);
    kit_fill_data(&sub, CLRELU_DTYPE_F32, x, N, 3);
    size_t subnormal = 0, negative = 0;
    for (size_t i = 0; i < N; ++i) {
        if (fpclassify(x[i]) == FP_SUBNORMAL) {
            subnormal++;
            negative += signbit(x[i]) != 0;
        } else {
            assert_true(isnormal(x[i]) && x[i] >= -10 && x[i] < 10);
        }
    }
    assert_in_range(subnormal, N / 16 - N / 64, N / 16 + N / 64);
    assert_in_range(negative, subnormal / 4, subnormal * 3 / 4);
    static float y[N];
    kit_fill_data(&special, CLRELU_DTYPE_F32, x, N, 3);
    kit_fill(CLRELU_DTYPE_F32, y, N, 3);
    assert_memory_equal(x, y, sizeof x);
    /* 16-bit subnormals too. */
    static uint16_t h[N];
    kit_fill_data(&sub, CLRELU_DTYPE_F16, h, N, 5);
    size_t h_sub = 0;
    for (size_t i = 0; i < N; ++i)
        h_sub += (h[i] & 0x7c00) == 0 && (h[i] & 0x3ff) != 0;
    assert_in_range(h_sub, N / 16 - N / 64, N / 16 + N / 64);
    static const char *bad[] = {"",
                                "subnormal",
                                "subnormal:",
                                "subnormal:0",
                                "subnormal:3/2",
                                "subnormal:1/0",
                                "subnormal:x",
                                "subnormal:1/16x",
                                "normals"};
    for (size_t i = 0; i < ARRAY_LEN(bad); ++i)
        assert_int_equal(kit_data_parse(bad[i], &sub), -1);
}

static void test_bench__list_shows_every_device_by_its_spec(void **state) {
    (void)state;
    assert_int_equal(bench("--list"), 0);
    assert_true(file_has(out_path, "\ncpu "));
    assert_int_equal(file_has(out_path, "\nonednn "), HAVE_ONEDNN);
    test_device devs[16];
    size_t n = list_devices(devs, 16);
    for (size_t i = 0; i < n; ++i) {
        char line[32];
        snprintf(line, sizeof line, "\n%.15s ", devs[i].spec);
        assert_true(file_has(out_path, line));
    }
}

static void test_bench__compare_reads_a_saved_run(void **state) {
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "--quick --quiet --device cpu --no-host-trip --compare '%s'",
             json_path);
    assert_int_equal(bench(args), 0);
    assert_true(file_has(out_path, "matched the baseline"));
    /* A file that is not a run is an error, not a crash. */
    assert_int_equal(bench("--quick --quiet --device cpu --sizes 2^10 --no-host-trip "
                           "--compare /dev/null"),
                     2);
    assert_true(file_has(err_path, "not a clrelu-bench JSON file"));
}

static void test_bench__argument_errors_print_usage_and_exit_2(void **state) {
    (void)state;
    static const char *bad[] = {
        "--op nope",
        "--op forward,nope",
        "--dtype f8",
        "--sizes 2^26..2^10",
        "--sizes 0",
        "--sizes abc",
        "--device no-such-device-xyz",
#if !HAVE_ONEDNN
        "--device onednn",
#endif
        "--format xml",
        "--data weird",
        "--data subnormal:2",
        "--repeat 0",
        "--min-time -1",
        "--frobnicate",
        "stray-argument",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); ++i) {
        int st = bench(bad[i]);
        if (st != 2 || !file_has(err_path, "usage: clrelu-bench")) {
            print_error("clrelu-bench %s: exit %d, expected 2 with the usage\n", bad[i], st);
            fail();
        }
    }
}

static void test_bench__plot_draws_a_png(void **state) {
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        print_skip("gnuplot is not installed: plot.sh is not tested here");
        skip();
    }
    char png[300], cmd[1024];
    snprintf(png, sizeof png, "%s.png", json_path);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' >/dev/null", CLRELU_PLOT_SH, json_path, png);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(png, "rb");
    assert_non_null(f);
    unsigned char magic[8] = {0};
    assert_int_equal(fread(magic, 1, 8, f), 8);
    fclose(f);
    remove(png);
    assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench__quick_json_has_the_documented_shape),
        cmocka_unit_test(test_bench__csv_has_its_header),
        cmocka_unit_test(test_bench__data_is_in_every_report),
        cmocka_unit_test(test_bench__data_kinds_fill_as_documented),
        cmocka_unit_test(test_bench__list_shows_every_device_by_its_spec),
        cmocka_unit_test(test_bench__compare_reads_a_saved_run),
        cmocka_unit_test(test_bench__argument_errors_print_usage_and_exit_2),
        cmocka_unit_test(test_bench__plot_draws_a_png),
    };
    return cmocka_run_group_tests_name("bench", tests, setup, teardown);
}
