/* SPDX-License-Identifier: Apache-2.0 */
/* clrelu-bench as a user runs it: the quick JSON run has the documented shape, every device
 * it lists has results, every figure is positive and finite, numbers are exact; CSV rows name
 * their device; --list prints strings whole; --compare matches devices by what they are and
 * --fail-slower catches a regression; plot.sh draws the gnuplot data; argument errors print the
 * usage and exit 2; unreadable files fail at once with the OS's reason; no size, option or
 * baseline file makes it crash (a table of each, and a fuzz of the baseline reader). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baseline.h"
#include "bench_util.h"
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
#ifndef CLRELU_BENCH_CLSHIM
#error "CLRELU_BENCH_CLSHIM must name the test OpenCL shim (tests/bench_clshim.c)"
#endif

static char json_path[256], out_path[256], err_path[256], tmp_path[256], tmp2_path[256];

/* Runs clrelu-bench with args, and env (VAR=value ..., or "") set for it alone, stdout and
 * stderr to files; returns its exit status (128 + the signal when it crashed). */
static int bench_env(const char *env, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "env %s '%s' %s >'%s' 2>'%s'", env, CLRELU_BENCH_EXE, args, out_path,
             err_path);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int bench(const char *args) {
    return bench_env("", args);
}

/* The environment that preloads the test OpenCL shim with settings (see bench_clshim.c). Only
 * clrelu-bench gets it (env sets it just before exec), not the shell. */
static const char *shim_env(const char *settings) {
    static char env[1024];
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(env, sizeof env, "LD_PRELOAD='%s' ASAN_OPTIONS='%s%sverify_asan_link_order=0' %s",
             CLRELU_BENCH_CLSHIM, asan ? asan : "", asan && *asan ? ":" : "", settings);
    return env;
}

/* A crash is not an exit status clrelu-bench gives (0 ok, 1 failures, 2 bad arguments or
 * files, 3 --fail-slower). */
static void assert_no_crash(int st, const char *args) {
    if (st < 0 || st > 3) {
        char *err = NULL;
        FILE *f = fopen(err_path, "rb");
        if (f) {
            err = calloc(1, 4097);
            if (err && fread(err, 1, 4096, f) == 0)
                err[0] = '\0';
            fclose(f);
        }
        print_error("clrelu-bench %s: exit %d (a crash)\n%s\n", args, st, err ? err : "");
        free(err);
        fail();
    }
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
    snprintf(tmp_path, sizeof tmp_path, "test_bench_%d.tmp", (int)getpid());
    snprintf(tmp2_path, sizeof tmp2_path, "test_bench_%d.tmp2", (int)getpid());
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
    remove(tmp_path);
    remove(tmp2_path);
    return 0;
}

static const jv *device_of(const jv *devices, const char *id) {
    for (const jv *d = devices ? devices->kids : NULL; d; d = d->next)
        if (strcmp(jv_str(d, "id"), id) == 0)
            return d;
    return NULL;
}

static void test_bench__quick_json_has_the_documented_shape(void **state) {
    (void)state;
    char *text = slurp(json_path);
    assert_non_null(text);
    jv *root = jv_parse(text);
    free(text);
    assert_non_null(root);
    assert_int_equal((int)jv_num(root, "schema_version"), 3);
    assert_string_equal(jv_str(root, "clrelu_version"), clrelu_version());
    assert_string_equal(jv_str(root, "data"), "special");
    const jv *host = jv_member(root, "host");
    assert_non_null(host);
    assert_int_equal(host->t, J_OBJ);
    /* The host block: the CPU model and every OpenCL device with its platform and driver. */
    assert_true(strlen(jv_str(host, "cpu_model")) > 0);
    const jv *cl = jv_member(host, "opencl_devices");
    assert_non_null(cl);
    assert_int_equal(cl->t, J_ARR);
    int n_cl = 0;
    for (const jv *d = cl->kids; d; d = d->next, ++n_cl) {
        assert_true(strlen(jv_str(d, "id")) > 0);
        assert_true(strlen(jv_str(d, "platform")) > 0);
        assert_true(strlen(jv_str(d, "platform_version")) > 0);
        assert_true(strlen(jv_str(d, "name")) > 0);
        assert_true(strlen(jv_str(d, "driver")) > 0);
    }
    test_device present[16];
    assert_int_equal(n_cl, (int)list_devices(present, 16));
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
        static const char *documented[] = {
            "platform_version",
            "compute_units",
            "global_mem",
            "launch_latency_s",
            "launch_wall_s",
            "many100x4096_calls_s",
            "many100x4096_sync_calls_s",
            "many100x4096_batch_arena_s",
            "many100x4096_batch_separate_s",
            "call_1024_s",
            "direct_call_1024_s",
        };
        for (size_t k = 0; k < ARRAY_LEN(documented); ++k)
            if (!jv_member(d, documented[k])) {
                print_error("device %s has no \"%s\"\n", id, documented[k]);
                fail();
            }
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
        /* A launch setting on OpenCL devices, none on the CPU path and oneDNN. */
        const jv *tuning = jv_member(r, "tuning"), *setting = jv_member(r, "setting");
        assert_true(tuning && setting);
        const jv *d = device_of(devices, jv_str(r, "device"));
        assert_non_null(d);
        const int opencl = strcmp(jv_str(d, "kind"), "simd") != 0;
        assert_int_equal(tuning->t, opencl ? J_STR : J_NULL);
        assert_int_equal(setting->t, opencl ? J_OBJ : J_NULL);
        if (opencl)
            assert_positive_finite(setting, "vec_bytes", where);
    }
    assert_int_equal((int)jv_num(root, "failures"), 0);
    jv_free(root);
}

/* The fields of one CSV line (RFC 4180 quoting), into fields[]; returns how many. */
static int csv_fields(const char *line, char fields[][256], int cap) {
    int n = 0;
    const char *p = line;
    while (n < cap) {
        char *out = fields[n];
        size_t len = 0;
        if (*p == '"') {
            for (++p; *p && !(*p == '"' && p[1] != '"'); ++p) {
                if (*p == '"')
                    ++p;
                if (len < 255)
                    out[len++] = *p;
            }
            if (*p == '"')
                ++p;
        } else {
            for (; *p && *p != ',' && *p != '\n'; ++p)
                if (len < 255)
                    out[len++] = *p;
        }
        out[len] = '\0';
        n++;
        if (*p != ',')
            break;
        ++p;
    }
    return n;
}

/* The measured device id of the quick run (setup), as a JSON object; NULL when absent. The
 * document stays alive in *root (free it). */
static const jv *run_device(jv **root, const char *id) {
    char *text = slurp(json_path);
    assert_non_null(text);
    *root = jv_parse(text);
    free(text);
    assert_non_null(*root);
    const jv *devices = jv_member(*root, "devices");
    for (const jv *d = devices ? devices->kids : NULL; d; d = d->next)
        if (strcmp(jv_str(d, "id"), id) == 0)
            return d;
    return NULL;
}

static void test_bench__csv_rows_name_their_device_and_driver(void **state) {
    (void)state;
    assert_int_equal(bench("--quick --quiet --device cpu --sizes 2^10 --no-host-trip --format csv"),
                     0);
    char *out = slurp(out_path);
    assert_non_null(out);
    const char *header = "device,device_name,platform,driver,op,dtype,n,kernel_s_median,"
                         "kernel_s_min,kernel_s_max,wall_s_median,batch_n,batch_s,gbps,copy_gbps,"
                         "pct_of_copy,data,tuning,vec_bytes,local,groups_per_cu\n";
    assert_memory_equal(out, header, strlen(header));
    const char *row = strstr(out, "\ncpu,");
    assert_non_null(row);
    static char fields[32][256];
    assert_int_equal(csv_fields(row + 1, fields, 32), 21);
    jv *root = NULL;
    const jv *cpu = run_device(&root, "cpu");
    assert_non_null(cpu);
    /* The driver of the CPU path has a comma ("clrelu 0.1.0, avx512"): quoted, read back whole. */
    assert_string_equal(fields[1], jv_str(cpu, "name"));
    assert_string_equal(fields[2], jv_str(cpu, "platform"));
    assert_string_equal(fields[3], jv_str(cpu, "driver"));
    assert_string_equal(fields[4], "forward");
    assert_string_equal(fields[6], "1024");
    assert_string_equal(fields[16], "special");
    assert_string_equal(fields[17], ""); /* the CPU path: no launch setting */
    jv_free(root);
    free(out);
}

/* The channel ops move more than a backward (x, z and y, and the per-channel arrays): the copy
 * reference's arrays hold half of that. They held 1.5 arrays, and the copy read past them (ASan
 * in the sanitizer build; heap corruption at 2^22 in a plain one). */
static void test_bench__channel_ops_copy_within_their_arrays(void **state) {
    (void)state;
    assert_int_equal(bench("--quick --quiet --device cpu --sizes 4096,2^16 --no-host-trip "
                           "--op residual_forward,prelu_backward,add --dtype f32,f16"),
                     0);
    assert_true(file_has(out_path, "residual_forward"));
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

/* The driver string of OpenCL device spec ("P:D") as the driver reports it, whole. */
static void cl_driver(const char *spec, char *buf, size_t len) {
    clrelu_context *ctx = NULL;
    assert_int_equal(clrelu_context_create(&ctx, spec), CLRELU_OK);
    clrelu_context_info info;
    clrelu_context_get_info(ctx, &info, sizeof info);
    buf[0] = '\0';
    assert_int_equal(clGetDeviceInfo(info.device_id, CL_DRIVER_VERSION, len, buf, NULL),
                     CL_SUCCESS);
    clrelu_context_release(ctx);
}

static void test_bench__list_shows_every_device_by_its_spec(void **state) {
    (void)state;
    assert_int_equal(bench("--list"), 0);
    assert_true(file_has(out_path, "\ncpu "));
    assert_int_equal(file_has(out_path, "\nonednn "), HAVE_ONEDNN);
    test_device devs[16];
    size_t n = list_devices(devs, 16);
    for (size_t i = 0; i < n; ++i) {
        char line[32], driver[512];
        snprintf(line, sizeof line, "\n%.15s ", devs[i].spec);
        assert_true(file_has(out_path, line));
        /* Names and drivers whole, as the driver reports them. */
        assert_true(file_has(out_path, devs[i].name));
        cl_driver(devs[i].spec, driver, sizeof driver);
        assert_true(file_has(out_path, driver));
    }
}

/* A driver string longer than any column (some drivers put a build id and a date there) is
 * printed whole by --list and kept whole in the JSON. */
static void test_bench__long_driver_strings_are_not_truncated(void **state) {
    (void)state;
    test_device devs[1];
    if (list_devices(devs, 1) == 0) {
        print_skip("no OpenCL device present: driver strings are not tested here");
        skip();
    }
    static const char suffix[] =
        " (build 20261202-0123456789abcdef, commit 0123456789abcdef0123456789abcdef01234567, "
        "long driver string)";
    char env[512];
    snprintf(env, sizeof env, "CLSHIM_DRIVER_SUFFIX='%s'", suffix);
    assert_int_equal(bench_env(shim_env(env), "--list"), 0);
    char driver[512];
    cl_driver(devs[0].spec, driver, sizeof driver);
    char whole[1024];
    snprintf(whole, sizeof whole, "%s%s", driver, suffix);
    if (!file_has(out_path, whole)) {
        print_error("--list does not show the driver \"%s\" whole\n", whole);
        fail();
    }
}

/* An OpenCL error in clrelu-bench's own calls is printed by its name, not as a number. */
static void test_bench__opencl_errors_print_their_names(void **state) {
    (void)state;
    test_device devs[1];
    if (list_devices(devs, 1) == 0) {
        print_skip("no OpenCL device present: OpenCL error messages are not tested here");
        skip();
    }
    char args[256];
    snprintf(args, sizeof args, "--quiet --device %s --sizes 2^10 --op forward --no-host-trip",
             devs[0].spec);
    int st = bench_env(shim_env("CLSHIM_FAIL_PROGRAM=1"), args);
    assert_int_equal(st, 1);
    if (!file_has(err_path, "building the copy kernels failed: CL_OUT_OF_HOST_MEMORY")) {
        char *err = slurp(err_path);
        print_error("stderr does not name CL_OUT_OF_HOST_MEMORY:\n%s\n", err ? err : "");
        free(err);
        fail();
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
    assert_true(file_has(err_path, "--compare /dev/null: not JSON"));
}

static void write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Every baseline that is not a readable run fails at once (before measuring: nothing on
 * stdout) with exit 2 and a reason, never a crash. */
static void test_bench__compare_refuses_unreadable_and_corrupt_files(void **state) {
    (void)state;
    char *run = slurp(json_path);
    assert_non_null(run);
    size_t len = strlen(run);
    struct {
        const char *path, *content, *reason;
        size_t content_len;
    } cases[] = {
        {"/", NULL, "Is a directory", 0},
        {".", NULL, "Is a directory", 0},
        {"/nonexistent-dir/run.json", NULL, "No such file or directory", 0},
        /* Reading it fails (EIO): the read error is reported, not a half-read file parsed. */
        {"/proc/self/mem", NULL, "Input/output error", 0},
        {tmp_path, "", "not JSON", 0},
        {tmp_path, run, "not JSON", len / 2},
        {tmp_path, run, "not JSON", len - 3},
        {tmp_path, "{\"results\": [{\"device\": \"cpu\\", "not JSON", 0},
        {tmp_path,
         "\x7f"
         "ELF\x02\x01\x01\0\0\0",
         "not a text file", 10},
        {tmp_path, "[1, 2, 3]", "not a clrelu-bench JSON file", 0},
        {tmp_path, "{\"devices\": [], \"results\": {}}", "not a clrelu-bench JSON file", 0},
        {tmp_path, "{\"devices\": [{\"id\": 3}], \"results\": []}", "device 0 lacks", 0},
        {tmp_path, "{\"devices\": [], \"results\": [{\"device\": \"cpu\"}]}", "result 0 lacks", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); ++i) {
        if (cases[i].content)
            write_file(cases[i].path, cases[i].content,
                       cases[i].content_len ? cases[i].content_len : strlen(cases[i].content));
        char args[512], want[512];
        snprintf(args, sizeof args,
                 "--quiet --device cpu --sizes 2^10 --no-host-trip --compare '%s'", cases[i].path);
        int st = bench(args);
        assert_no_crash(st, args);
        snprintf(want, sizeof want, "--compare %s: %s", cases[i].path, cases[i].reason);
        char *out = slurp(out_path);
        if (st != 2 || !file_has(err_path, want) || !out || out[0]) {
            char *err = slurp(err_path);
            print_error("case %zu: clrelu-bench %s: exit %d, stderr \"%s\", expected exit 2, "
                        "\"%s\" and nothing measured\n",
                        i, args, st, err ? err : "", want);
            free(err);
            free(out);
            fail();
        }
        free(out);
    }
    free(run);
}

/* The baseline reader on thousands of damaged copies of a real run: prefixes, prefixes that
 * end inside an escape, bytes flipped, bytes dropped. Each either fails with a reason or gives
 * a baseline whose entries all have their fields; none crashes. A small run (one device, four
 * results, the host block), so that the sanitizer build, which runs this too with slow
 * unwinding on every allocation, still takes seconds. */
static void test_bench__baseline_reader_survives_fuzzed_files(void **state) {
    (void)state;
    char args[512];
    snprintf(args, sizeof args,
             "--quick --quiet --device cpu --op forward,backward --sizes 2^10,2^12 --no-host-trip "
             "--format json --output '%s'",
             tmp2_path);
    assert_int_equal(bench(args), 0);
    char *run = slurp(tmp2_path);
    assert_non_null(run);
    size_t len = strlen(run);
    char why[256];
    bench_baseline *b = bench_baseline_parse(run, why, sizeof why);
    assert_non_null(b);
    assert_true(b->n_results > 0 && b->n_devices > 0);
    bench_baseline_free(b);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    unsigned long long seed = 88172645463325252ull;
    int refused = 0, accepted = 0;
    for (size_t k = 0; k < 5000; ++k) {
        size_t n = len;
        memcpy(copy, run, len + 1);
        if (k < 1500) { /* prefixes, spread over the whole file */
            n = k * len / 1500;
        } else if (k < 2000) { /* a prefix that ends inside an escape */
            n = (k - 1500) * len / 500;
            copy[n++] = '\\';
        } else {
            for (int m = 0; m < 1 + (int)(k % 4); ++m) {
                seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                size_t at = (size_t)(seed % n);
                static const char bytes[] = "{}[]\",:\\ 0e-.nul\x01\xff";
                if (k % 3 == 0 && n > 1) { /* drop a byte */
                    memmove(copy + at, copy + at + 1, n - at);
                    n--;
                } else {
                    copy[at] = bytes[(seed >> 32) % (sizeof bytes - 1)];
                }
            }
        }
        copy[n] = '\0';
        why[0] = '\0';
        b = bench_baseline_parse(copy, why, sizeof why);
        if (!b) {
            refused++;
            assert_true(strlen(why) > 0);
            continue;
        }
        accepted++;
        for (int i = 0; i < b->n_devices; ++i)
            assert_true(b->devices[i].id && b->devices[i].platform && b->devices[i].name &&
                        b->devices[i].driver);
        for (int i = 0; i < b->n_results; ++i)
            assert_true(b->results[i].device && b->results[i].op && b->results[i].dtype);
        bench_baseline_free(b);
    }
    /* Both outcomes occurred: the damage was real and the reader was not simply refusing. */
    assert_true(refused > 1500);
    assert_true(accepted > 0);
    /* The file reader's own refusals. */
    size_t got;
    assert_null(bench_read_file("/nonexistent-dir/x", 1 << 20, &got, why, sizeof why));
    assert_string_equal(why, "No such file or directory");
    assert_null(bench_read_file("/", 1 << 20, &got, why, sizeof why));
    assert_string_equal(why, "Is a directory");
    assert_null(bench_read_file(tmp2_path, len - 1, &got, why, sizeof why));
    assert_non_null(strstr(why, "larger than"));
    char *whole = bench_read_file(tmp2_path, len, &got, why, sizeof why);
    assert_non_null(whole);
    assert_int_equal(got, len);
    free(whole);
    free(copy);
    free(run);
}

/* A baseline of one device and one result: forward f32 at n = 1024 at gbps GB/s. */
static void write_baseline(const char *path, const char *id, const char *platform, const char *name,
                           const char *driver, double gbps) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"schema_version\": 2, \"devices\": [{\"id\": ");
    bench_json_string(f, id);
    fprintf(f, ", \"platform\": ");
    bench_json_string(f, platform);
    fprintf(f, ", \"name\": ");
    bench_json_string(f, name);
    fprintf(f, ", \"driver\": ");
    bench_json_string(f, driver);
    fprintf(f, "}],\n \"results\": [{\"device\": ");
    bench_json_string(f, id);
    fprintf(f,
            ", \"op\": \"forward\", \"dtype\": \"f32\", \"n\": 1024, \"gbps\": %.17g, "
            "\"kernel_s_min\": null, \"kernel_s_median\": null}]}\n",
            gbps);
    assert_int_equal(fclose(f), 0);
}

static int compare_run(const char *device, const char *extra) {
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --device %s --op forward --sizes 2^10 --no-host-trip --repeat 3 "
             "--min-time 0 --compare '%s' %s",
             device, tmp_path, extra);
    int st = bench(args);
    assert_no_crash(st, args);
    return st;
}

/* --compare pairs devices by platform, name and driver: the same device under another index
 * is compared, another device under the same index never is, and a changed driver is said. */
static void test_bench__compare_matches_devices_by_what_they_are(void **state) {
    (void)state;
    jv *root = NULL;
    const jv *cpu = run_device(&root, "cpu");
    assert_non_null(cpu);
    const char *platform = jv_str(cpu, "platform"), *name = jv_str(cpu, "name"),
               *driver = jv_str(cpu, "driver");

    /* The same device, listed as another id: compared. */
    write_baseline(tmp_path, "7:3", platform, name, driver, 1.0);
    assert_int_equal(compare_run("cpu", ""), 0);
    assert_true(file_has(out_path, "1 configuration(s) matched the baseline"));
    assert_false(file_has(err_path, "not in the baseline"));

    /* Another device under the same id (a baseline from another machine, whose 0:0 is
     * another vendor's device): not compared, and said so. */
    write_baseline(tmp_path, "cpu", "Another Vendor's Platform", "Another Device", driver, 1.0);
    assert_int_equal(compare_run("cpu", ""), 0);
    assert_true(file_has(out_path, "0 configuration(s) matched the baseline"));
    assert_true(file_has(err_path, "is not in the baseline"));

    /* The same device with another driver: compared, with a warning. */
    write_baseline(tmp_path, "cpu", platform, name, "clrelu 0.0.9, sse2", 1.0);
    assert_int_equal(compare_run("cpu", ""), 0);
    assert_true(file_has(out_path, "1 configuration(s) matched the baseline"));
    assert_true(file_has(err_path, "had driver clrelu 0.0.9, sse2 in the baseline"));
    /* (The OpenCL devices are paired by the same code; a run on one costs minutes under the
     * sanitizers, for its first-call probe: the CPU path stands for them here.) */
    jv_free(root);
}

/* --fail-slower PCT: exit 3 when a configuration is more than PCT% slower than the baseline
 * (or nothing could be compared), 0 when none is. */
static void test_bench__fail_slower_exits_3_on_a_regression(void **state) {
    (void)state;
    jv *root = NULL;
    const jv *cpu = run_device(&root, "cpu");
    assert_non_null(cpu);
    const char *platform = jv_str(cpu, "platform"), *name = jv_str(cpu, "name"),
               *driver = jv_str(cpu, "driver");
    /* A baseline a million times faster than any machine: a regression. */
    write_baseline(tmp_path, "cpu", platform, name, driver, 1e9);
    assert_int_equal(compare_run("cpu", "--fail-slower 10"), 3);
    assert_true(file_has(out_path, "(beyond --fail-slower)"));
    assert_true(file_has(err_path, "--fail-slower 10: a configuration is slower"));
    /* Without --fail-slower the same comparison only reports. */
    assert_int_equal(compare_run("cpu", ""), 0);
    assert_true(file_has(out_path, "SLOWER"));
    /* A baseline far slower: no regression. */
    write_baseline(tmp_path, "cpu", platform, name, driver, 1e-9);
    assert_int_equal(compare_run("cpu", "--fail-slower 10"), 0);
    /* Nothing comparable is no pass. */
    write_baseline(tmp_path, "cpu", "Another Vendor's Platform", "Another Device", driver, 1e-9);
    assert_int_equal(compare_run("cpu", "--fail-slower 10"), 3);
    assert_true(file_has(err_path, "nothing was compared"));
    jv_free(root);
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
        /* Sizes: beyond 2^40, beyond 64 bits, signs, spaces, empty items and ranges. */
        "--sizes 2^41",
        "--sizes 1099511627777",
        "--sizes 99999999999999999999",
        "--sizes 2^",
        "--sizes 2^-1",
        "--sizes 2^+3",
        "--sizes +5",
        "--sizes ' 5'",
        "--sizes -0",
        "--sizes ,",
        "--sizes 2^10..",
        "--sizes ..2^3",
        "--sizes 2^3..2^3..2^4",
        "--min-time nan",
        "--min-time 1e9",
        "--repeat 1e9",
        "--batch -1",
        "--fail-slower 10",
        "--fail-slower 0 --compare x.json",
        "--fail-slower abc --compare x.json",
        "--format",
        "--output",
        "--compare",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); ++i) {
        int st = bench(bad[i]);
        assert_no_crash(st, bad[i]);
        if (st != 2 || !file_has(err_path, "usage: clrelu-bench")) {
            print_error("clrelu-bench %s: exit %d, expected 2 with the usage\n", bad[i], st);
            fail();
        }
    }
}

/* Every size works, however small (the arrays are sized for the per-call probe too), on the
 * CPU path and on the first OpenCL device. */
static void test_bench__small_sizes_never_crash(void **state) {
    (void)state;
    static const char *sizes[] = {"1", "2", "31", "100", "512", "1000", "100,512", "2^0..2^9"};
    const char *common = "--quiet --no-host-trip --repeat 1 --min-time 0 --batch 2";
    char args[512];
    for (size_t i = 0; i < ARRAY_LEN(sizes); ++i) {
        snprintf(args, sizeof args, "%s --device cpu --sizes %s", common, sizes[i]);
        int st = bench(args);
        assert_no_crash(st, args);
        if (st != 0) {
            print_error("clrelu-bench %s: exit %d\n", args, st);
            fail();
        }
    }
    snprintf(args, sizeof args, "%s --device cpu --sizes 100 --op all --dtype all", common);
    assert_int_equal(bench(args), 0);
    test_device devs[1];
    if (list_devices(devs, 1) > 0) {
        snprintf(args, sizeof args,
                 "--quick --quiet --repeat 1 --min-time 0 --batch 2 --device %s --sizes 1,31,100 "
                 "--op forward,backward_mask --dtype f16,f32",
                 devs[0].spec);
        int st = bench(args);
        assert_no_crash(st, args);
        if (st != 0) {
            char *err = slurp(err_path);
            print_error("clrelu-bench %s: exit %d\n%s\n", args, st, err ? err : "");
            free(err);
            fail();
        }
    }
}

/* A bad --output fails at once (nothing measured, nothing on stdout) with the OS's reason. */
static void test_bench__bad_output_fails_at_once_with_the_os_reason(void **state) {
    (void)state;
    static const struct {
        const char *path, *reason;
    } cases[] = {
        {"/nonexistent-dir/run.json", "No such file or directory"},
        {"/", "Is a directory"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); ++i) {
        char args[512], want[512];
        snprintf(args, sizeof args, "--device cpu --format json --output '%s'", cases[i].path);
        int st = bench(args);
        snprintf(want, sizeof want, "--output %s: %s", cases[i].path, cases[i].reason);
        char *out = slurp(out_path);
        if (st != 2 || !file_has(err_path, want) || !out || out[0] || file_has(err_path, "[1/")) {
            print_error("clrelu-bench %s: exit %d; expected 2, \"%s\" on stderr at once\n", args,
                        st, want);
            free(out);
            fail();
        }
        free(out);
    }
}

/* --quiet drops the progress and nothing else: with --output, the table still goes to stdout. */
static void test_bench__quiet_drops_only_the_progress(void **state) {
    (void)state;
    char args[512];
    snprintf(args, sizeof args,
             "--quick --device cpu --sizes 2^10 --no-host-trip --format json --output '%s'",
             tmp_path);
    assert_int_equal(bench(args), 0);
    assert_true(file_has(err_path, "[1/")); /* progress, by default */
    assert_true(file_has(out_path, "\nKernels"));
    char quiet[600];
    snprintf(quiet, sizeof quiet, "--quiet %s", args);
    assert_int_equal(bench(quiet), 0);
    assert_false(file_has(err_path, "[1/"));
    assert_true(file_has(out_path, "\nKernels"));
    assert_true(file_has(out_path, "cpu   forward"));
    assert_true(file_has(tmp_path, "\"results\""));
}

/* Integers print exactly (8000008 bytes, not 8e+06), times with every digit a double has. */
static void test_bench__json_numbers_are_exact(void **state) {
    (void)state;
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --device cpu --op forward --sizes 1000001 --no-host-trip --repeat 3 "
             "--min-time 0 --format json --output '%s'",
             tmp_path);
    assert_int_equal(bench(args), 0);
    assert_true(file_has(tmp_path, "\"bytes\": 8000008,"));
    assert_true(file_has(tmp_path, "\"n\": 1000001,"));
    char *text = slurp(tmp_path);
    jv *root = jv_parse(text);
    free(text);
    assert_non_null(root);
    const jv *results = jv_member(root, "results");
    assert_non_null(results);
    /* Six significant digits would round every measured time; seventeen give it back. */
    int finer = 0, times = 0;
    static const char *keys[] = {"kernel_s_median", "kernel_s_min", "kernel_s_max",
                                 "wall_s_median"};
    for (const jv *r = results->kids; r; r = r->next) {
        assert_true(jv_num(r, "bytes") == 8000008.0);
        for (size_t k = 0; k < ARRAY_LEN(keys); ++k) {
            double v = jv_num(r, keys[k]);
            char six[32];
            snprintf(six, sizeof six, "%.6g", v);
            times++;
            finer += strtod(six, NULL) != v;
        }
    }
    jv_free(root);
    assert_true(times > 0);
    assert_true(finer > 0);
}

/* plot.sh draws the data clrelu-bench writes for it: each line named by its device's name,
 * with the slowest and fastest call as error bars; anything else is refused with a reason. */
static void test_bench__plot_draws_device_names_with_error_bars(void **state) {
    (void)state;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        print_skip("gnuplot is not installed: plot.sh is not tested here");
        skip();
    }
    char args[512];
    snprintf(args, sizeof args,
             "--quick --quiet --device cpu --op forward,backward --sizes 2^10,2^12 --no-host-trip "
             "--format gnuplot --output '%s'",
             tmp_path);
    assert_int_equal(bench(args), 0);
    /* Titles carry the device's name; every row has min <= median <= max. */
    jv *root = NULL;
    const jv *cpu = run_device(&root, "cpu");
    assert_non_null(cpu);
    char title[400];
    snprintf(title, sizeof title, "\n\"%s (cpu): forward f32\"", jv_str(cpu, "name"));
    assert_true(file_has(tmp_path, title));
    jv_free(root);
    FILE *f = fopen(tmp_path, "r");
    assert_non_null(f);
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        double v[7];
        if (line[0] == '#' || line[0] == '"' || line[0] == '\n')
            continue;
        assert_int_equal(sscanf(line, "%lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3],
                                &v[4], &v[5], &v[6]),
                         7);
        assert_true(v[2] <= v[1] && v[1] <= v[3]);
        assert_true(v[5] <= v[4] && v[4] <= v[6]);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 4);

    char png[300], cmd[1024];
    snprintf(png, sizeof png, "%s.png", tmp_path);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' >/dev/null", CLRELU_PLOT_SH, tmp_path, png);
    assert_int_equal(system(cmd), 0);
    f = fopen(png, "rb");
    assert_non_null(f);
    unsigned char magic[8] = {0};
    assert_int_equal(fread(magic, 1, 8, f), 8);
    fclose(f);
    remove(png);
    assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);

    /* A JSON run (or anything else) is refused with a reason, not half-drawn. */
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' 2>'%s'", CLRELU_PLOT_SH, json_path, png, err_path);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_true(file_has(err_path, "is not clrelu-bench's gnuplot data"));
    assert_int_equal(access(png, F_OK), -1);
}

/* The results of op at n in a JSON run at path: how many, and the tunings of the first two. */
static int results_of(const char *path, const char *op, size_t n, const jv **out, int cap,
                      jv **root) {
    char *text = slurp(path);
    assert_non_null(text);
    *root = jv_parse(text);
    free(text);
    assert_non_null(*root);
    int count = 0;
    const jv *results = jv_member(*root, "results");
    for (const jv *r = results ? results->kids : NULL; r; r = r->next)
        if (strcmp(jv_str(r, "op"), op) == 0 && jv_num(r, "n") == (double)n) {
            if (count < cap)
                out[count] = r;
            count++;
        }
    return count;
}

static const char *tuning_of(const jv *r) {
    const jv *t = jv_member(r, "tuning");
    return t && t->t == J_STR ? t->str : NULL;
}

/* A tuning database for an OpenCL device: --tuning both measures each element-wise
 * configuration whose setting it changes with the device's default and with the database's,
 * side by side; default and tuned measure one; --compare matches a tuned run against a saved
 * default one. */
static void test_bench__tuning_shows_tuned_against_default(void **state) {
    (void)state;
    clrelu_context *ctx = NULL;
    clrelu_context_info info;
    if (clrelu_context_create(&ctx, "pocl") != CLRELU_OK &&
        clrelu_context_create(&ctx, "intel") != CLRELU_OK) {
        print_skip("SKIPPED: neither PoCL nor Intel's runtime present: no launch to tune");
        return;
    }
    clrelu_context_get_info(ctx, &info, sizeof info);
    clrelu_tuning def = {sizeof def, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                               CLRELU_SIZE_SMALL, &def),
                     CLRELU_OK);
    clrelu_context_release(ctx);
    const unsigned vec = def.vec_bytes == 16 ? 32 : 16; /* a setting that is not the default */
    char db[300];
    snprintf(db, sizeof db, "%s.db", tmp_path);
    FILE *f = fopen(db, "w");
    assert_non_null(f);
    fputs("{\"clrelu_version\": ", f);
    bench_json_string(f, clrelu_version());
    fputs(", \"platform\": ", f);
    bench_json_string(f, info.platform);
    fputs(", \"device\": ", f);
    bench_json_string(f, info.device);
    fputs(", \"driver\": ", f);
    bench_json_string(f, info.driver);
    fprintf(f,
            ", \"entries\": [{\"pass\": \"forward\", \"dtype\": \"f32\", \"size_class\": "
            "\"small\", \"vec_bytes\": %u, \"local\": 16, \"groups_per_cu\": 1}]}\n",
            vec);
    fclose(f);
    char env[400], args[800];
    snprintf(env, sizeof env, "CLRELU_TUNING_DB='%s'", db);
    const char *common = "--quick --quiet --no-host-trip --op forward,backward,prelu_forward "
                         "--sizes 2^10 --format json";

    snprintf(args, sizeof args, "%s --device %s --output '%s'", common, info.id, tmp_path);
    assert_int_equal(bench_env(env, args), 0);
    assert_true(file_has(out_path, "Tuned against default"));
    jv *root = NULL;
    const jv *r[4];
    assert_int_equal(results_of(tmp_path, "forward", 1024, r, 4, &root), 2);
    assert_string_equal(tuning_of(r[0]), "default");
    assert_string_equal(tuning_of(r[1]), "tuned");
    const jv *set0 = jv_member(r[0], "setting"), *set1 = jv_member(r[1], "setting");
    assert_true(set0 && set0->t == J_OBJ && set1 && set1->t == J_OBJ);
    assert_true(jv_num(set0, "vec_bytes") == def.vec_bytes);
    assert_true(jv_num(set1, "vec_bytes") == vec && jv_num(set1, "local") == 16 &&
                jv_num(set1, "groups_per_cu") == 1);
    jv_free(root);
    /* A pass the database leaves alone runs once, with the default; a channel op runs with its
     * pass's setting (PReLU forward: forward's), both of them. */
    assert_int_equal(results_of(tmp_path, "backward", 1024, r, 1, &root), 1);
    assert_string_equal(tuning_of(r[0]), "default");
    jv_free(root);
    assert_int_equal(results_of(tmp_path, "prelu_forward", 1024, r, 4, &root), 2);
    assert_string_equal(tuning_of(r[0]), "default");
    assert_string_equal(tuning_of(r[1]), "tuned");
    set1 = jv_member(r[1], "setting");
    assert_true(set1 && set1->t == J_OBJ && jv_num(set1, "vec_bytes") == vec);
    jv_free(root);

    /* One of them only, and the tuned run compared with a saved default one. */
    snprintf(args, sizeof args, "%s --device %s --tuning default --output '%s'", common, info.id,
             tmp2_path);
    assert_int_equal(bench_env(env, args), 0);
    assert_int_equal(results_of(tmp2_path, "forward", 1024, r, 4, &root), 1);
    assert_string_equal(tuning_of(r[0]), "default");
    jv_free(root);
    snprintf(args, sizeof args, "%s --device %s --tuning tuned --output '%s' --compare '%s'",
             common, info.id, tmp_path, tmp2_path);
    assert_int_equal(bench_env(env, args), 0);
    assert_int_equal(results_of(tmp_path, "forward", 1024, r, 4, &root), 1);
    assert_string_equal(tuning_of(r[0]), "tuned");
    jv_free(root);
    assert_true(file_has(out_path, "tuned/default"));
    assert_true(file_has(out_path, "3 configuration(s) matched the baseline"));

    assert_int_equal(bench("--tuning sideways"), 2);
    assert_true(file_has(err_path, "--tuning: unknown 'sideways'"));
    remove(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench__tuning_shows_tuned_against_default),
        cmocka_unit_test(test_bench__quick_json_has_the_documented_shape),
        cmocka_unit_test(test_bench__csv_rows_name_their_device_and_driver),
        cmocka_unit_test(test_bench__channel_ops_copy_within_their_arrays),
        cmocka_unit_test(test_bench__data_is_in_every_report),
        cmocka_unit_test(test_bench__data_kinds_fill_as_documented),
        cmocka_unit_test(test_bench__list_shows_every_device_by_its_spec),
        cmocka_unit_test(test_bench__long_driver_strings_are_not_truncated),
        cmocka_unit_test(test_bench__opencl_errors_print_their_names),
        cmocka_unit_test(test_bench__compare_reads_a_saved_run),
        cmocka_unit_test(test_bench__compare_refuses_unreadable_and_corrupt_files),
        cmocka_unit_test(test_bench__baseline_reader_survives_fuzzed_files),
        cmocka_unit_test(test_bench__compare_matches_devices_by_what_they_are),
        cmocka_unit_test(test_bench__fail_slower_exits_3_on_a_regression),
        cmocka_unit_test(test_bench__argument_errors_print_usage_and_exit_2),
        cmocka_unit_test(test_bench__small_sizes_never_crash),
        cmocka_unit_test(test_bench__bad_output_fails_at_once_with_the_os_reason),
        cmocka_unit_test(test_bench__quiet_drops_only_the_progress),
        cmocka_unit_test(test_bench__json_numbers_are_exact),
        cmocka_unit_test(test_bench__plot_draws_device_names_with_error_bars),
    };
    return cmocka_run_group_tests_name("bench", tests, setup, teardown);
}
