/* The CPU SIMD path against the host reference, bit for bit, for every op, dtype, backward
 * mode and blending setting. CTest runs this once per ISA (CLRELU_CPU_ISA=scalar|sse2|avx2|
 * avx512); an ISA this CPU lacks exits as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Sizes around every vector width and mask word, for the settings other than the defaults
 * (which run the full test_sizes list). */
static const size_t small_sizes[] = {0,  1,  2,  3,  7,  15,  16,   17,  31,
                                     32, 33, 63, 64, 65, 127, 1000, 4099};

typedef struct fixture {
    clrelu_context *ctx;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || clrelu_context_create(&f->ctx, "cpu") != CLRELU_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->ctx);
    free(f);
    return 0;
}

static void test_cpu__runs_the_forced_isa(void **state) {
    fixture *f = *state;
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(f->ctx, &info), CLRELU_OK);
    const char *forced = getenv("CLRELU_CPU_ISA");
    if (forced && *forced)
        assert_string_equal(info.cpu_isa, forced);
    assert_int_equal(info.kind, CLRELU_DEVICE_KIND_SIMD);
    assert_string_equal(info.id, "cpu");
    printf("CPU path ISA: %s on %s\n", info.cpu_isa, info.device);
}

static void test_cpu_family__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    uint32_t seed = 1;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            for (size_t c = 0; c < test_configs_count; ++c) {
                clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[t].dtype, &test_configs[c]);
                if (test_desc_is_invalid(&kit_ops[o], &d))
                    continue; /* test_errors checks the refusal */
                const size_t *sizes = c == 0 ? test_sizes : small_sizes;
                size_t count = c == 0 ? test_sizes_count : ARRAY_LEN(small_sizes);
                for (size_t s = 0; s < count; ++s, ++seed)
                    run_host_case(f->ctx, &kit_ops[o], &d, sizes[s], CASE_SEPARATE, seed % 4, seed);
            }
        }
    }
}

static void test_cpu_family__in_place(void **state) {
    fixture *f = *state;
    uint32_t seed = 7;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        const kit_op *op = &kit_ops[o];
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            for (size_t c = 0; c < 3; ++c) {
                clrelu_desc d = test_desc(op, kit_dtypes[t].dtype, &test_configs[c]);
                for (size_t s = 0; s < ARRAY_LEN(small_sizes); ++s, ++seed) {
                    run_host_case(f->ctx, op, &d, small_sizes[s], CASE_OVER_IN0, 0, seed);
                    if (op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y)
                        run_host_case(f->ctx, op, &d, small_sizes[s], CASE_OVER_IN1, 1, seed);
                }
            }
        }
    }
}

/* Every special value alone at every lane of 64 elements, for every op and dtype, with and
 * without blending: a lane-dependent bug cannot hide behind random data. */
static void test_cpu_family__every_special_in_every_lane(void **state) {
    fixture *f = *state;
    enum { N = 64 };
    uint64_t x[N], in1[N], out[N], expected[N];
    uint32_t mask[2], expected_mask[2];
    for (size_t o = 0; o < kit_ops_count; ++o) {
        const kit_op *op = &kit_ops[o];
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            const kit_dtype *dt = &kit_dtypes[t];
            size_t n_specials;
            const uint64_t *specials = kit_specials(dt->dtype, &n_specials);
            for (size_t c = 0; c < 3; c += 2) {
                clrelu_desc d = test_desc(op, dt->dtype, &test_configs[c]);
                for (size_t v = 0; v < n_specials; ++v) {
                    for (size_t lane = 0; lane < N; ++lane) {
                        /* Everything -1 except the special at lane; dy the special too. */
                        static const uint64_t minus_one[] = {0xbf800000u, 0xbc00u, 0xbf80u,
                                                             0xbff0000000000000ull};
                        for (size_t i = 0; i < N; ++i)
                            memcpy((char *)x + i * dt->size, &minus_one[t], dt->size);
                        memcpy((char *)x + lane * dt->size, &specials[v], dt->size);
                        kit_make_in1(op, &d, N, x, in1);
                        memcpy(out, x, sizeof out);
                        memcpy(expected, x, sizeof expected);
                        kit_reference(op, &d, N, x, in1, expected, expected_mask);
                        assert_int_equal(kit_run_host(op, f->ctx, &d, N, x, in1, out, mask),
                                         CLRELU_OK);
                        if (memcmp(out, expected, N * dt->size) != 0 ||
                            (op->kind == KIT_FWD_MASK && memcmp(mask, expected_mask, 8) != 0)) {
                            print_error("%s %s (%s): special #%zu at lane %zu differs\n", op->name,
                                        dt->name, test_configs[c].name, v, lane);
                            fail();
                        }
                    }
                }
            }
        }
    }
}

int main(void) {
    clrelu_context *probe = NULL;
    clrelu_status st = clrelu_context_create(&probe, "cpu");
    if (st == CLRELU_ERROR_ISA_UNAVAILABLE) {
        print_skip("%s", clrelu_last_error());
        return TEST_SKIP_CODE;
    }
    clrelu_context_release(probe);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu__runs_the_forced_isa),
        cmocka_unit_test(test_cpu_family__matches_reference_bitwise),
        cmocka_unit_test(test_cpu_family__in_place),
        cmocka_unit_test(test_cpu_family__every_special_in_every_lane),
    };
    return cmocka_run_group_tests_name("cpu", tests, setup, teardown);
}
