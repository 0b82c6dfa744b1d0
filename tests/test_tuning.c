/* SPDX-License-Identifier: Apache-2.0 */
/* The launch tuning per (pass, dtype, size class): every setting of clrelu-tune's search space
 * gives the reference's bits on every device present, at sizes around the vector widths and
 * odd offsets; a refused setting names its field and changes nothing; NULL restores the
 * default. One context per device: its programs (one per vector width and group size) are
 * built once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "common.h"

typedef struct fixture {
    clrelu_context *ctx;
    clrelu_context_info info;
    size_t max_local; /* what the device's work-groups may hold */
} fixture;

static const char *current_spec;

/* The search space (bench/clrelu_tune.c times the same). */
static const unsigned vec_bytes[] = {16, 32, 64};
static const size_t locals[] = {16, 64, 256};
static const unsigned groups_per_cu[] = {0, 1, 8};

/* Around every vector width (2 to 16 elements) and mask word, and a grid-stride loop's turn. */
static const size_t sizes[] = {0, 1, 15, 17, 63, 65, 1000, 4099};

/* Offsets of in0, in1, out (elements) and of the mask (bits), rotated through the cases. */
static const size_t offsets[][4] = {{1, 5, 3, 32}, {7, 3, 1, 64}, {0, 0, 0, 0}, {3, 9, 17, 96}};

/* The element-wise passes, as the kit names their ReLU ops (backward from y: the backward
 * pass too). */
static const char *const pass_ops[] = {"forward", "forward_mask", "backward", "backward_y",
                                       "backward_mask"};

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    if (clrelu_context_create(&f->ctx, current_spec) != CLRELU_OK) {
        fprintf(stderr, "context on %s: %s\n", current_spec, clrelu_last_error());
        return -1;
    }
    clrelu_context_get_info(f->ctx, &f->info, sizeof f->info);
    size_t items[16] = {0};
    if (clGetDeviceInfo(f->info.device_id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof f->max_local,
                        &f->max_local, NULL) != CL_SUCCESS ||
        clGetDeviceInfo(f->info.device_id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items,
                        NULL) != CL_SUCCESS)
        return -1;
    if (items[0] < f->max_local)
        f->max_local = items[0];
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->ctx);
    free(f);
    return 0;
}

static int device_runs(const fixture *f, clrelu_dtype dt) {
    return dt != CLRELU_DTYPE_F64 || f->info.has_fp64;
}

static clrelu_tuning tuning(unsigned vec, size_t local, unsigned groups) {
    clrelu_tuning t = {sizeof(clrelu_tuning), vec, local, groups};
    return t;
}

static void assert_tuning(const fixture *f, clrelu_pass pass, clrelu_dtype dt, clrelu_size_class sc,
                          const clrelu_tuning *want) {
    clrelu_tuning got = {sizeof got, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(f->ctx, pass, dt, sc, &got), CLRELU_OK);
    assert_int_equal(got.vec_bytes, want->vec_bytes);
    assert_int_equal(got.local, want->local);
    assert_int_equal(got.groups_per_cu, want->groups_per_cu);
}

/* Every pass and dtype at every size under setting t for small calls (all of sizes[]). */
static void run_every_pass(fixture *f, const clrelu_tuning *t, uint32_t *seed) {
    for (size_t d = 0; d < kit_dtypes_count; ++d) {
        clrelu_dtype dt = kit_dtypes[d].dtype;
        if (!device_runs(f, dt))
            continue;
        for (int pass = CLRELU_PASS_FORWARD; pass <= CLRELU_PASS_BACKWARD_MASK; ++pass) {
            assert_int_equal(clrelu_context_override_tuning(f->ctx, pass, dt, CLRELU_SIZE_SMALL, t),
                             CLRELU_OK);
            assert_tuning(f, pass, dt, CLRELU_SIZE_SMALL, t);
        }
        for (size_t o = 0; o < ARRAY_LEN(pass_ops); ++o) {
            const kit_op *op = kit_find_op(pass_ops[o]);
            assert_non_null(op);
            clrelu_desc desc = kit_desc(op, dt);
            for (size_t s = 0; s < ARRAY_LEN(sizes); ++s, ++*seed) {
                const size_t *off = offsets[*seed % ARRAY_LEN(offsets)];
                run_device_case(f->ctx, op, &desc, sizes[s], CASE_SEPARATE, off, off[3], *seed);
            }
        }
    }
}

static void test_search_space__every_setting_matches_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 1;
    for (size_t v = 0; v < ARRAY_LEN(vec_bytes); ++v)
        for (size_t l = 0; l < ARRAY_LEN(locals); ++l) {
            size_t local = locals[l] < f->max_local ? locals[l] : f->max_local;
            for (size_t g = 0; g < ARRAY_LEN(groups_per_cu); ++g) {
                clrelu_tuning t = tuning(vec_bytes[v], local, groups_per_cu[g]);
                run_every_pass(f, &t, &seed);
            }
        }
    for (size_t d = 0; d < kit_dtypes_count; ++d)
        for (int pass = CLRELU_PASS_FORWARD; pass <= CLRELU_PASS_BACKWARD_MASK; ++pass)
            assert_int_equal(clrelu_context_override_tuning(f->ctx, pass, kit_dtypes[d].dtype,
                                                            CLRELU_SIZE_SMALL, NULL),
                             CLRELU_OK);
}

/* A call's size picks its class: a medium call runs the medium setting (here one that turns
 * the grid-stride loop many times), a small one on the same kernel variant keeps its own; and
 * under the defaults, where both classes build the same program, calls of either class
 * alternating with the same offsets each get their own n (each class's kernel object holds
 * the arguments it was given). */
static void test_size_class__each_call_runs_its_class_setting(void **state) {
    fixture *f = *state;
    const kit_op *fwd = kit_find_op("forward"), *bwd = kit_find_op("backward_mask");
    clrelu_tuning t = tuning(32, f->max_local < 16 ? f->max_local : 16, 1);
    const size_t cases[] = {1000, CLRELU_SIZE_MEDIUM_MIN + 33, 1000, CLRELU_SIZE_MEDIUM_MIN - 1,
                            CLRELU_SIZE_MEDIUM_MIN + 33};
    const size_t off[4] = {5, 3, 7, 32};
    for (int k = 0; k < 4; ++k) {
        const kit_op *op = k % 2 ? bwd : fwd;
        clrelu_pass pass = k % 2 ? CLRELU_PASS_BACKWARD_MASK : CLRELU_PASS_FORWARD;
        const clrelu_tuning *set = k < 2 ? &t : NULL;
        assert_int_equal(
            clrelu_context_override_tuning(f->ctx, pass, CLRELU_DTYPE_F32, CLRELU_SIZE_MEDIUM, set),
            CLRELU_OK);
        clrelu_desc desc = kit_desc(op, CLRELU_DTYPE_F32);
        for (size_t i = 0; i < ARRAY_LEN(cases); ++i)
            run_device_case(f->ctx, op, &desc, cases[i], CASE_SEPARATE, off, off[3],
                            (uint32_t)(40 + i));
    }
}

static void test_override__get_returns_what_was_set_and_null_restores(void **state) {
    fixture *f = *state;
    clrelu_tuning def, other_def;
    def.struct_size = other_def.struct_size = sizeof def;
    assert_int_equal(clrelu_context_get_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16,
                                               CLRELU_SIZE_LARGE, &def),
                     CLRELU_OK);
    assert_int_equal(clrelu_context_get_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16,
                                               CLRELU_SIZE_MEDIUM, &other_def),
                     CLRELU_OK);
    /* The defaults are the device's: the same for every key. */
    assert_int_equal(def.vec_bytes, other_def.vec_bytes);
    assert_int_equal(def.local, other_def.local);
    assert_int_equal(def.groups_per_cu, other_def.groups_per_cu);
    assert_true(def.vec_bytes == 16 || def.vec_bytes == 64);

    clrelu_tuning t = tuning(def.vec_bytes == 32 ? 64 : 32, f->max_local < 16 ? f->max_local : 16,
                             def.groups_per_cu == 3 ? 5 : 3);
    assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16,
                                                    CLRELU_SIZE_LARGE, &t),
                     CLRELU_OK);
    assert_tuning(f, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16, CLRELU_SIZE_LARGE, &t);
    /* Only that key moved. */
    assert_tuning(f, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16, CLRELU_SIZE_MEDIUM, &def);
    assert_tuning(f, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F16, CLRELU_SIZE_LARGE, &def);
    assert_tuning(f, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_LARGE, &def);
    assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16,
                                                    CLRELU_SIZE_LARGE, NULL),
                     CLRELU_OK);
    assert_tuning(f, CLRELU_PASS_BACKWARD, CLRELU_DTYPE_F16, CLRELU_SIZE_LARGE, &def);
}

/* A refused call: status, a message naming what was wrong, and the setting unchanged. */
static void expect_refused(fixture *f, clrelu_pass pass, clrelu_dtype dt, clrelu_size_class sc,
                           const clrelu_tuning *t, const char *names, const clrelu_tuning *def) {
    assert_int_equal(clrelu_context_override_tuning(f->ctx, pass, dt, sc, t),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    const char *msg = clrelu_context_error(f->ctx);
    if (!strstr(msg, names)) {
        print_error("message '%s' does not name '%s'\n", msg, names);
        fail();
    }
    assert_non_null(strstr(msg, "clrelu_context_override_tuning"));
    if (def)
        assert_tuning(f, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, def);
}

static void test_override__refuses_bad_values_naming_the_field(void **state) {
    fixture *f = *state;
    clrelu_tuning def = {sizeof def, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(f->ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                               CLRELU_SIZE_SMALL, &def),
                     CLRELU_OK);
    const clrelu_pass p = CLRELU_PASS_FORWARD;
    const clrelu_dtype d = CLRELU_DTYPE_F32;
    const clrelu_size_class s = CLRELU_SIZE_SMALL;
    const unsigned bad_vecs[] = {0, 8, 48, 128};
    for (size_t i = 0; i < ARRAY_LEN(bad_vecs); ++i) {
        clrelu_tuning t = tuning(bad_vecs[i], 64, 0);
        expect_refused(f, p, d, s, &t, "t->vec_bytes", &def);
    }
    clrelu_tuning t = tuning(16, 0, 0);
    expect_refused(f, p, d, s, &t, "t->local = 0", &def);
    t = tuning(16, f->max_local + 1, 0);
    expect_refused(f, p, d, s, &t, "t->local", &def);
    t = tuning(16, 64, 0);
    t.struct_size = 8;
    expect_refused(f, p, d, s, &t, "t->struct_size = 8", &def);
    t = tuning(16, 64, 0);
    expect_refused(f, (clrelu_pass)4, d, s, &t, "pass = 4", &def);
    expect_refused(f, p, (clrelu_dtype)4, s, &t, "dtype = 4", &def);
    expect_refused(f, p, d, (clrelu_size_class)3, &t, "size_class = 3", &def);
    assert_int_equal(clrelu_context_override_tuning(NULL, p, d, s, &t),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clrelu_context_get_tuning(f->ctx, p, d, s, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "out is NULL"));
    clrelu_tuning zeroed = {0, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(f->ctx, p, d, s, &zeroed),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(f->ctx), "out->struct_size = 0"));
    /* The tiled mask forward (GPUs) packs local vectors into words: 1 * 8 f16 is no word. */
    t = tuning(16, 1, 0);
    clrelu_status st =
        clrelu_context_override_tuning(f->ctx, CLRELU_PASS_FORWARD_MASK, CLRELU_DTYPE_F16, s, &t);
    if (f->info.kind == CLRELU_DEVICE_KIND_GPU) {
        assert_int_equal(st, CLRELU_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(clrelu_context_error(f->ctx), "t->local = 1"));
    } else {
        /* CPU devices write the mask a word per work-item: any group size works. */
        assert_int_equal(st, CLRELU_OK);
        const kit_op *op = kit_find_op("forward_mask");
        clrelu_desc desc = kit_desc(op, CLRELU_DTYPE_F16);
        const size_t off[4] = {3, 0, 1, 64};
        run_device_case(f->ctx, op, &desc, 1000, CASE_SEPARATE, off, off[3], 77);
        assert_int_equal(clrelu_context_override_tuning(f->ctx, CLRELU_PASS_FORWARD_MASK,
                                                        CLRELU_DTYPE_F16, s, NULL),
                         CLRELU_OK);
    }
}

/* Not one of the device groups: a context on the CPU path has nothing to tune. */
static void test_cpu_path__has_no_tuning(void **state) {
    (void)state;
    clrelu_context *ctx = NULL;
    assert_int_equal(clrelu_context_create(&ctx, "cpu"), CLRELU_OK);
    clrelu_tuning t = tuning(16, 64, 0);
    assert_int_equal(clrelu_context_get_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                               CLRELU_SIZE_SMALL, &t),
                     CLRELU_ERROR_NO_DEVICE);
    assert_non_null(strstr(clrelu_context_error(ctx), "clrelu_context_get_tuning"));
    assert_int_equal(clrelu_context_override_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                                    CLRELU_SIZE_SMALL, &t),
                     CLRELU_ERROR_NO_DEVICE);
    assert_int_equal(clrelu_context_override_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                                    CLRELU_SIZE_SMALL, NULL),
                     CLRELU_ERROR_NO_DEVICE);
    clrelu_context_release(ctx);
}

/* ---------------------------------------------------------------------------------------------
 * The database a context loads
 * ------------------------------------------------------------------------------------------ */

/* A database for the fixture's device (version NULL: this library's), with entries as given,
 * cut to keep bytes when keep is not 0. */
static void write_db(const fixture *f, const char *path, const char *version, const char *device,
                     const char *entries, size_t keep) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    fputs("{\"clrelu_version\": ", m);
    bench_json_string(m, version ? version : clrelu_version());
    fputs(", \"platform\": ", m);
    bench_json_string(m, f->info.platform);
    fputs(", \"device\": ", m);
    bench_json_string(m, device ? device : f->info.device);
    fputs(", \"driver\": ", m);
    bench_json_string(m, f->info.driver);
    fprintf(m, ", \"entries\": [%s]}\n", entries);
    fclose(m);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fwrite(text, 1, keep && keep < len ? keep : len, out);
    fclose(out);
    free(text);
}

/* A context on the fixture's device, created with stderr caught into err. */
static clrelu_context *create_catching_stderr(char *err, size_t len) {
    char path[] = "/tmp/clrelu-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    clrelu_context *ctx = NULL;
    clrelu_status st = clrelu_context_create(&ctx, current_spec);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t got = pread(fd, err, len - 1, 0);
    err[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(path);
    assert_int_equal(st, CLRELU_OK);
    return ctx;
}

static void assert_ctx_tuning(clrelu_context *ctx, clrelu_pass pass, clrelu_dtype dt,
                              clrelu_size_class sc, const clrelu_tuning *want) {
    clrelu_tuning got = {sizeof got, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(ctx, pass, dt, sc, &got), CLRELU_OK);
    assert_int_equal(got.vec_bytes, want->vec_bytes);
    assert_int_equal(got.local, want->local);
    assert_int_equal(got.groups_per_cu, want->groups_per_cu);
}

static void test_db__loaded_at_context_creation(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/clrelu-test-db-XXXXXX", path[256], err[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/db.json", dir);
    clrelu_tuning def = {sizeof def, 0, 0, 0};
    assert_int_equal(clrelu_context_get_tuning(f->ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32,
                                               CLRELU_SIZE_SMALL, &def),
                     CLRELU_OK);
    const size_t local = f->max_local < 16 ? f->max_local : 16;
    char entries[512];
    snprintf(entries, sizeof entries,
             "{\"pass\": \"forward\", \"dtype\": \"f32\", \"size_class\": \"small\", "
             "\"vec_bytes\": 32, \"local\": %zu, \"groups_per_cu\": 1, \"seconds\": 1e-6, "
             "\"default_seconds\": 2e-6},"
             "{\"pass\": \"backward_mask\", \"dtype\": \"f16\", \"size_class\": \"large\", "
             "\"vec_bytes\": 64, \"local\": %zu, \"groups_per_cu\": 0, \"seconds\": 1e-3, "
             "\"default_seconds\": 1e-3}",
             local, local);
    const clrelu_tuning fwd = tuning(32, local, 1), bwd = tuning(64, local, 0);
    setenv("CLRELU_TUNING_DB", path, 1);

    /* Its own device's database: applied, nothing said. */
    write_db(f, path, NULL, NULL, entries, 0);
    clrelu_context *ctx = create_catching_stderr(err, sizeof err);
    assert_string_equal(err, "");
    assert_ctx_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, &fwd);
    assert_ctx_tuning(ctx, CLRELU_PASS_BACKWARD_MASK, CLRELU_DTYPE_F16, CLRELU_SIZE_LARGE, &bwd);
    assert_ctx_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_MEDIUM, &def);
    /* ... and the calls run under it. */
    const kit_op *op = kit_find_op("forward");
    clrelu_desc desc = kit_desc(op, CLRELU_DTYPE_F32);
    const size_t off[4] = {1, 0, 3, 0};
    run_device_case(ctx, op, &desc, 4099, CASE_SEPARATE, off, 0, 5);
    clrelu_context_release(ctx);

    /* Ignored, with one line naming the file and why, defaults kept. */
    char wrong_type[512], bad_value[512];
    snprintf(wrong_type, sizeof wrong_type, "%s", entries);
    char *v = strstr(wrong_type, "\"vec_bytes\": 32");
    assert_non_null(v);
    memcpy(v, "\"vec_bytes\":\"3\"", strlen("\"vec_bytes\": 32")); /* a string */
    snprintf(bad_value, sizeof bad_value, "%s", entries);
    v = strstr(bad_value, "\"vec_bytes\": 32");
    memcpy(v, "\"vec_bytes\": 48", strlen("\"vec_bytes\": 32"));
    const struct {
        const char *version, *device, *entries;
        size_t keep;
        const char *why;
    } ignored[] = {
        {NULL, "another device", entries, 0, "it is for device 'another device'"},
        {"0.0.0-other", NULL, entries, 0, "it is for clrelu_version '0.0.0-other'"},
        {NULL, NULL, entries, 150, "corrupt or truncated"},
        {NULL, NULL, "{\"pass\": ,}", 0, "corrupt or truncated"},
        {NULL, NULL, wrong_type, 0, "entry 0: vec_bytes"},
        {NULL, NULL, bad_value, 0, "vec_bytes = 48"},
        {NULL, NULL, "{\"pass\": \"sideways\"}", 0, "entry 0: no pass"},
    };
    for (size_t i = 0; i < ARRAY_LEN(ignored); ++i) {
        write_db(f, path, ignored[i].version, ignored[i].device, ignored[i].entries,
                 ignored[i].keep);
        ctx = create_catching_stderr(err, sizeof err);
        if (!strstr(err, path) || !strstr(err, ignored[i].why) ||
            strchr(err, '\n') != strrchr(err, '\n')) {
            print_error("case %zu: stderr '%s' does not name %s and '%s' on one line\n", i, err,
                        path, ignored[i].why);
            fail();
        }
        assert_ctx_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, &def);
        assert_ctx_tuning(ctx, CLRELU_PASS_BACKWARD_MASK, CLRELU_DTYPE_F16, CLRELU_SIZE_LARGE,
                          &def);
        clrelu_context_release(ctx);
    }
    /* A missing file named by CLRELU_TUNING_DB is said too. */
    unlink(path);
    ctx = create_catching_stderr(err, sizeof err);
    assert_non_null(strstr(err, path));
    clrelu_context_release(ctx);

    /* Without CLRELU_TUNING_DB: the cache directory's file for this device, where
     * clrelu_context_tuning_db_path says; none there is no warning. */
    unsetenv("CLRELU_TUNING_DB");
    const char *old_cache = getenv("CLRELU_CACHE_DIR");
    char *saved_cache = old_cache ? strdup(old_cache) : NULL;
    setenv("CLRELU_CACHE_DIR", dir, 1);
    char db[512];
    assert_int_equal(clrelu_context_tuning_db_path(f->ctx, db, sizeof db), CLRELU_OK);
    assert_memory_equal(db, dir, strlen(dir));
    assert_non_null(strstr(db, "/tuning-"));
    ctx = create_catching_stderr(err, sizeof err);
    assert_string_equal(err, "");
    assert_ctx_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, &def);
    clrelu_context_release(ctx);
    write_db(f, db, NULL, NULL, entries, 0);
    ctx = create_catching_stderr(err, sizeof err);
    assert_string_equal(err, "");
    assert_ctx_tuning(ctx, CLRELU_PASS_FORWARD, CLRELU_DTYPE_F32, CLRELU_SIZE_SMALL, &fwd);
    clrelu_context_release(ctx);
    unlink(db);
    if (saved_cache)
        setenv("CLRELU_CACHE_DIR", saved_cache, 1);
    else
        unsetenv("CLRELU_CACHE_DIR");
    free(saved_cache);
    rmdir(dir);
}

/* ---------------------------------------------------------------------------------------------
 * CLRELU_HOST_PATH_AUTO: the database's threshold sends large host calls to the device
 * ------------------------------------------------------------------------------------------ */

unsigned long clrelu__round_trips_for_testing(clrelu_context *ctx); /* host/test_hooks.c */

/* forward_host f32 on n elements under ctx's host path: the reference's bits, and whether it
 * ran on the device (a round trip) as want_device says. */
static void assert_host_call(clrelu_context *ctx, size_t n, int want_device, uint32_t seed) {
    const kit_op *op = kit_find_op("forward");
    clrelu_desc desc = kit_desc(op, CLRELU_DTYPE_F32);
    const size_t bytes = (n ? n : 1) * sizeof(float);
    float *x = malloc(bytes), *y = malloc(bytes), *want = malloc(bytes);
    assert_true(x && y && want);
    kit_fill(CLRELU_DTYPE_F32, x, n, seed);
    const void *in[1] = {x};
    op->reference(&desc, n, in, want);
    const unsigned long before = clrelu__round_trips_for_testing(ctx);
    assert_int_equal(clrelu_forward_host(ctx, &desc, n, x, y), CLRELU_OK);
    assert_int_equal(clrelu__round_trips_for_testing(ctx) - before, want_device);
    assert_memory_equal(y, want, n * sizeof *y);
    free(x);
    free(y);
    free(want);
}

static void test_host_path_auto__uses_the_database_threshold(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/clrelu-test-auto-XXXXXX", path[256], err[2048], db[600];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/db.json", dir);
    setenv("CLRELU_TUNING_DB", path, 1);

    /* 4096 bytes: a forward moving 512 f32 each way is the device's, 511 the CPU path's. */
    write_db(f, path, NULL, NULL, "", 0);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t got = fread(db, 1, sizeof db - 1, in);
    fclose(in);
    db[got] = 0;
    char *entries = strstr(db, ", \"entries\"");
    assert_non_null(entries);
    char text[800];
    snprintf(text, sizeof text, "%.*s, \"host_path_device_min_bytes\": 4096%s", (int)(entries - db),
             db, entries);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    clrelu_context *ctx = create_catching_stderr(err, sizeof err);
    assert_string_equal(err, "");
    size_t min_bytes = 0;
    assert_int_equal(clrelu_context_get_host_path_threshold(ctx, &min_bytes), CLRELU_OK);
    assert_int_equal(min_bytes, 4096);
    /* CPU by default, whatever the threshold; AUTO follows it; DEVICE always. */
    assert_host_call(ctx, 4096, 0, 1);
    assert_int_equal(clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_AUTO), CLRELU_OK);
    assert_host_call(ctx, 511, 0, 2);
    assert_host_call(ctx, 512, 1, 3);
    assert_host_call(ctx, 2048, 1, 4);
    assert_host_call(ctx, 0, 0, 5);
    /* The caller's own threshold replaces the database's; SIZE_MAX is never. */
    assert_int_equal(clrelu_context_set_host_path_threshold(ctx, 64), CLRELU_OK);
    assert_host_call(ctx, 8, 1, 6);
    assert_host_call(ctx, 7, 0, 7);
    assert_int_equal(clrelu_context_set_host_path_threshold(ctx, SIZE_MAX), CLRELU_OK);
    assert_host_call(ctx, 100000, 0, 8);
    assert_int_equal(clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_DEVICE), CLRELU_OK);
    assert_host_call(ctx, 7, 1, 9);
    clrelu_context_release(ctx);

    /* null (the device never won), and no field (a database from before it): never. A value
     * that is not a whole number of bytes: the database is ignored as a whole, said once. */
    const struct {
        const char *value, *why;
    } cases[] = {{"null", NULL},
                 {NULL, NULL},
                 {"-4", "host_path_device_min_bytes"},
                 {"\"4096\"", "host_path_device_min_bytes"},
                 {"4096.5", "host_path_device_min_bytes"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); ++i) {
        if (cases[i].value)
            snprintf(text, sizeof text, "%.*s, \"host_path_device_min_bytes\": %s%s",
                     (int)(entries - db), db, cases[i].value, entries);
        else
            snprintf(text, sizeof text, "%s", db);
        out = fopen(path, "w");
        assert_non_null(out);
        fputs(text, out);
        fclose(out);
        ctx = create_catching_stderr(err, sizeof err);
        if (cases[i].why ? !strstr(err, path) || !strstr(err, cases[i].why) : err[0] != 0) {
            print_error("case %zu: stderr '%s'\n", i, err);
            fail();
        }
        assert_int_equal(clrelu_context_get_host_path_threshold(ctx, &min_bytes), CLRELU_OK);
        assert_true(min_bytes == SIZE_MAX);
        assert_int_equal(clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_AUTO), CLRELU_OK);
        assert_host_call(ctx, 100000, 0, 10 + (uint32_t)i);
        clrelu_context_release(ctx);
    }
    unlink(path);
    unsetenv("CLRELU_TUNING_DB");
    rmdir(dir);
}

static void test_host_path_auto__cpu_context_and_bad_arguments(void **state) {
    (void)state;
    clrelu_context *ctx = NULL;
    assert_int_equal(clrelu_context_create(&ctx, "cpu"), CLRELU_OK);
    size_t min_bytes = 0;
    assert_int_equal(clrelu_context_get_host_path_threshold(ctx, &min_bytes), CLRELU_OK);
    assert_true(min_bytes == SIZE_MAX);
    /* AUTO is accepted on the CPU path alone and runs there; a threshold is refused. */
    assert_int_equal(clrelu_context_set_host_path(ctx, CLRELU_HOST_PATH_AUTO), CLRELU_OK);
    assert_host_call(ctx, 100000, 0, 20);
    assert_int_equal(clrelu_context_set_host_path_threshold(ctx, 4096), CLRELU_ERROR_NO_DEVICE);
    assert_non_null(strstr(clrelu_context_error(ctx), "min_bytes = 4096"));
    assert_int_equal(clrelu_context_set_host_path_threshold(ctx, SIZE_MAX), CLRELU_OK);
    assert_int_equal(clrelu_context_get_host_path_threshold(ctx, NULL),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_context_error(ctx), "min_bytes is NULL"));
    assert_int_equal(clrelu_context_set_host_path(ctx, (clrelu_host_path)3),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clrelu_context_get_host_path_threshold(NULL, &min_bytes),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(clrelu_last_error(), "ctx is NULL"));
    assert_int_equal(clrelu_context_set_host_path_threshold(NULL, 1),
                     CLRELU_ERROR_INVALID_ARGUMENT);
    clrelu_context_release(ctx);
}

int main(void) {
    const struct CMUnitTest host[] = {
        cmocka_unit_test(test_cpu_path__has_no_tuning),
        cmocka_unit_test(test_host_path_auto__cpu_context_and_bad_arguments),
    };
    int failed = cmocka_run_group_tests_name("CPU path", host, NULL, NULL);
    test_device devs[16];
    size_t count = list_devices(devs, ARRAY_LEN(devs));
    if (count == 0) {
        print_skip("no OpenCL device present: nothing to tune");
        return failed ? 1 : TEST_SKIP_CODE;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_override__get_returns_what_was_set_and_null_restores),
        cmocka_unit_test(test_override__refuses_bad_values_naming_the_field),
        cmocka_unit_test(test_size_class__each_call_runs_its_class_setting),
        cmocka_unit_test(test_db__loaded_at_context_creation),
        cmocka_unit_test(test_host_path_auto__uses_the_database_threshold),
        cmocka_unit_test(test_search_space__every_setting_matches_reference_bitwise),
    };
    for (size_t i = 0; i < count; ++i) {
        char name[200];
        snprintf(name, sizeof name, "device %.15s (%.100s on %.60s)", devs[i].spec, devs[i].name,
                 devs[i].platform);
        current_spec = devs[i].spec;
        failed += cmocka_run_group_tests_name(name, tests, setup, teardown);
    }
    return failed ? 1 : 0;
}
