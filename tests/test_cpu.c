/* The CPU SIMD path against the host reference, bit for bit. CTest runs this once per ISA
 * (CLRELU_CPU_ISA=scalar|sse2|avx2|avx512); an ISA this CPU lacks exits as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct fixture {
    clrelu_context *ctx;
    clrelu_desc desc;
    float *x, *dy, *out, *expected;
    size_t cap; /* elements, plus guard room */
} fixture;

#define GUARD    37 /* words past n that must stay untouched */
#define MISALIGN 3  /* start arrays 0..3 floats past a 64-byte boundary */

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || clrelu_context_create(&f->ctx, "cpu") != CLRELU_OK)
        return -1;
    f->desc = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    f->cap = test_sizes[test_sizes_count - 1] + GUARD + MISALIGN + 16;
    /* C11 aligned_alloc wants a size that is a multiple of the alignment (ASan enforces it). */
    size_t bytes = (f->cap * sizeof(float) + 63) / 64 * 64;
    f->x = aligned_alloc(64, bytes);
    f->dy = aligned_alloc(64, bytes);
    f->out = aligned_alloc(64, bytes);
    f->expected = aligned_alloc(64, bytes);
    if (!f->x || !f->dy || !f->out || !f->expected)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clrelu_context_release(f->ctx);
    free(f->x);
    free(f->dy);
    free(f->out);
    free(f->expected);
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

static void test_cpu_forward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        for (size_t shift = 0; shift <= MISALIGN; ++shift) {
            float *x = f->x + shift, *y = f->out + shift;
            kit_fill(CLRELU_DTYPE_F32, x, n, (uint32_t)(n * 7 + shift + 1));
            fill_guard((uint32_t *)y, n + GUARD);
            assert_int_equal(clrelu_forward_host(f->ctx, &f->desc, n, x, y), CLRELU_OK);
            kit_relu_forward_f32(n, x, f->expected);
            assert_bits_equal(y, f->expected, n, "forward output");
            for (size_t i = 0; i < GUARD; ++i)
                assert_int_equal(((uint32_t *)y)[n + i], GUARD_WORD);
        }
    }
}

static void test_cpu_backward__matches_reference_bitwise(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        for (size_t shift = 0; shift <= MISALIGN; ++shift) {
            float *x = f->x + shift, *dy = f->dy + MISALIGN - shift, *dx = f->out + shift;
            kit_fill(CLRELU_DTYPE_F32, x, n, (uint32_t)(n * 5 + shift + 2));
            kit_fill(CLRELU_DTYPE_F32, dy, n, (uint32_t)(n * 3 + shift + 3));
            fill_guard((uint32_t *)dx, n + GUARD);
            assert_int_equal(clrelu_backward_host(f->ctx, &f->desc, n, dy, x, dx), CLRELU_OK);
            kit_relu_backward_f32(n, dy, x, f->expected);
            assert_bits_equal(dx, f->expected, n, "backward output");
            for (size_t i = 0; i < GUARD; ++i)
                assert_int_equal(((uint32_t *)dx)[n + i], GUARD_WORD);
        }
    }
}

static void test_cpu_forward__in_place(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        kit_fill(CLRELU_DTYPE_F32, f->x, n, (uint32_t)(n + 11));
        kit_relu_forward_f32(n, f->x, f->expected);
        assert_int_equal(clrelu_forward_host(f->ctx, &f->desc, n, f->x, f->x), CLRELU_OK);
        assert_bits_equal(f->x, f->expected, n, "in-place forward");
    }
}

static void test_cpu_backward__in_place_over_dy_and_over_x(void **state) {
    fixture *f = *state;
    for (size_t s = 0; s < test_sizes_count; ++s) {
        size_t n = test_sizes[s];
        kit_fill(CLRELU_DTYPE_F32, f->x, n, (uint32_t)(n + 13));
        kit_fill(CLRELU_DTYPE_F32, f->dy, n, (uint32_t)(n + 17));
        kit_relu_backward_f32(n, f->dy, f->x, f->expected);
        assert_int_equal(clrelu_backward_host(f->ctx, &f->desc, n, f->dy, f->x, f->dy), CLRELU_OK);
        assert_bits_equal(f->dy, f->expected, n, "backward in place over dy");

        kit_fill(CLRELU_DTYPE_F32, f->dy, n, (uint32_t)(n + 17));
        assert_int_equal(clrelu_backward_host(f->ctx, &f->desc, n, f->dy, f->x, f->x), CLRELU_OK);
        assert_bits_equal(f->x, f->expected, n, "backward in place over x");
    }
}

/* Every special value, alone, at every lane of a vector: a lane-dependent bug cannot hide. */
static void test_cpu_forward__every_special_in_every_lane(void **state) {
    fixture *f = *state;
    const size_t n = 64;
    for (size_t v = 0; v < kit_f32_specials_count; ++v) {
        for (size_t lane = 0; lane < n; ++lane) {
            for (size_t i = 0; i < n; ++i)
                ((uint32_t *)f->x)[i] = 0xbf800000u; /* -1 */
            ((uint32_t *)f->x)[lane] = kit_f32_specials[v];
            assert_int_equal(clrelu_forward_host(f->ctx, &f->desc, n, f->x, f->out), CLRELU_OK);
            kit_relu_forward_f32(n, f->x, f->expected);
            assert_bits_equal(f->out, f->expected, n, "forward special");
            assert_int_equal(clrelu_backward_host(f->ctx, &f->desc, n, f->x, f->x, f->out),
                             CLRELU_OK);
            kit_relu_backward_f32(n, f->x, f->x, f->expected);
            assert_bits_equal(f->out, f->expected, n, "backward special");
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
        cmocka_unit_test(test_cpu_forward__matches_reference_bitwise),
        cmocka_unit_test(test_cpu_backward__matches_reference_bitwise),
        cmocka_unit_test(test_cpu_forward__in_place),
        cmocka_unit_test(test_cpu_backward__in_place_over_dy_and_over_x),
        cmocka_unit_test(test_cpu_forward__every_special_in_every_lane),
    };
    return cmocka_run_group_tests_name("cpu", tests, setup, teardown);
}
