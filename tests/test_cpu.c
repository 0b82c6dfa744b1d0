/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU SIMD path against the host reference, bit for bit, for every op, dtype, backward
 * mode and blending setting, on 1, 2 and 3 threads. CTest runs this once per ISA
 * (CLRELU_CPU_ISA=scalar|sse2|avx2|avx512, or scalar|neon on AArch64); an ISA this CPU lacks
 * exits as skipped. The same tests run under qemu-user for AArch64 (tools/ci-arm64.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu/cpu.h"

/* test_hooks.c, from the static library. */
void clrelu__set_thread_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
unsigned long clrelu__threaded_calls_for_testing(clrelu_context *ctx);
void clrelu__set_stream_min_bytes_for_testing(clrelu_context *ctx, size_t bytes);
unsigned long clrelu__exact_entries_for_testing(clrelu_context *ctx);

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
    assert_int_equal(clrelu_context_get_info(f->ctx, &info, sizeof info), CLRELU_OK);
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

/* Leaky with slopes of every sign and size, the configurations' aside: kernels may pick a
 * leaner loop by the slope (AVX2's for a positive one lets +0 pass as the positives do), and a
 * negative or zero slope must not take it: s * +0 is -0 there, s * -inf NaN or +inf. */
static void test_cpu_leaky__every_slope_matches_reference(void **state) {
    fixture *f = *state;
    static const float slopes[] = {-0.5f, -0.0f, -3.4028235e38f, 1e-45f, 1.0f, 3.4028235e38f};
    uint32_t seed = 4242;
    for (size_t o = 0; o < kit_ops_count; ++o) {
        for (size_t t = 0; t < kit_dtypes_count; ++t) {
            clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[t].dtype, &test_configs[0]);
            if (d.op != CLRELU_OP_LEAKY_RELU)
                continue;
            for (size_t v = 0; v < ARRAY_LEN(slopes); ++v) {
                d.negative_slope = slopes[v];
                if (test_desc_is_invalid(&kit_ops[o], &d))
                    continue;
                for (size_t s = 0; s < ARRAY_LEN(small_sizes); ++s, ++seed)
                    run_host_case(f->ctx, &kit_ops[o], &d, small_sizes[s], CASE_SEPARATE, seed % 4,
                                  seed);
            }
        }
    }
}

/* A context on the forced ISA with CLRELU_NUM_THREADS = threads. */
static clrelu_context *context_with_threads(unsigned threads) {
    char value[16];
    snprintf(value, sizeof value, "%u", threads);
    assert_int_equal(setenv("CLRELU_NUM_THREADS", value, 1), 0);
    clrelu_context *ctx = NULL;
    clrelu_status st = clrelu_context_create(&ctx, "cpu");
    unsetenv("CLRELU_NUM_THREADS");
    assert_int_equal(st, CLRELU_OK);
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(ctx, &info, sizeof info), CLRELU_OK);
    assert_int_equal(info.compute_units, threads);
    return ctx;
}

/* The fewest elements of op on dtype that move at least bytes through its arrays (masks left
 * out), as host_api.c counts them. */
static size_t elements_for(const kit_op *op, const kit_dtype *dt, size_t bytes) {
    size_t per = (op->kind == KIT_BWD_X || op->kind == KIT_BWD_Y ? 3 : 2) * dt->size;
    return (bytes + per - 1) / per;
}

/* Inputs full of subnormals and of tiny normals whose products with the slopes and blending
 * factors are subnormal (fill_tiny), for every op, dtype and blending setting, at every tail,
 * in place and not, with the stores streamed or not: the multiplies that avoid the slow path for
 * subnormal products (relu_math.h's CR_FMUL, the hand-written kernels' own) must round as
 * plain IEEE multiplies do. */
static void test_cpu_family__subnormal_heavy_inputs_match_reference(void **state) {
    (void)state;
    uint32_t seed = 505;
    test_case_fill = fill_tiny;
    for (int stream = 0; stream <= 1; ++stream) {
        clrelu_context *ctx = context_with_threads(1);
        if (stream)
            clrelu__set_stream_min_bytes_for_testing(ctx, 0);
        for (size_t o = 0; o < kit_ops_count; ++o) {
            const kit_op *op = &kit_ops[o];
            for (size_t t = 0; t < kit_dtypes_count; ++t) {
                for (size_t c = 0; c < test_configs_count; ++c) {
                    clrelu_desc d = test_desc(op, kit_dtypes[t].dtype, &test_configs[c]);
                    if (test_desc_is_invalid(op, &d))
                        continue;
                    for (size_t s = 0; s < ARRAY_LEN(small_sizes); ++s, ++seed) {
                        run_host_case(ctx, op, &d, small_sizes[s], CASE_SEPARATE, seed % 4, seed);
                        if (s % 3 == 0)
                            run_host_case(ctx, op, &d, small_sizes[s], CASE_OVER_IN0, 0, seed);
                    }
                }
            }
        }
        clrelu_context_release(ctx);
    }
    test_case_fill = kit_fill;
}

/* f32 leaky on x86 switches, block by block (host/cpu/subnormal.h: 256 to 8192 elements), between
 * the plain FMA loop and an exact route that keeps subnormal operands and results away from the
 * FMA unit. fill_leaky_blocks makes 1024-element stretches of two kinds in a fixed pattern: all
 * normal (values whose products with the slope are normal), and heavy (half the elements risky
 * for the slope: subnormals of both signs, small ones too, whose products land on and near the
 * ties of the subnormal grid; normals in the binades around where the product turns subnormal,
 * and ones whose products are a few grid steps from 2^-126; +-0, +-inf, NaNs, the largest and
 * smallest normals), so that the route is entered, left and entered again within one call, and
 * at the tails. */
static uint32_t leaky_fill_slope_bits;

static uint32_t leaky_normal_value(uint32_t r, uint32_t es) {
    /* |x| in the binades [2^-10, 2^4) and above the product's subnormal range. */
    uint32_t e = 117 + (r >> 8) % 14;
    if (es < 127 && e < 128 - es + 1)
        e = 128 - es + 1 + (r >> 8) % 8;
    return (r & 0x80000000u) | e << 23 | (r & 0x7fffffu) >> 1;
}

static uint32_t leaky_risky_value(uint32_t r, uint32_t r2, uint32_t es) {
    static const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                        0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7f7fffffu,
                                        0xff7fffffu, 0x00800000u, 0x80800000u, 0x00000001u,
                                        0x80000001u, 0x007fffffu, 0x807fffffu};
    const uint32_t sign = r & 0x80000000u;
    /* The exponent field where |slope * x| falls below 2^-126 (at least 1: the normals). */
    const int bound = es >= 127 ? 1 : 128 - (int)es;
    switch (r % 6) {
    case 0: /* a subnormal */
        return sign | ((r2 & 0x7fffffu) | 1u);
    case 1: /* a small subnormal: products a few grid steps wide, ties among them */
        return sign | (1u + (r2 % 64));
    case 2: { /* a normal in the 26 binades below the bound, or just above it */
        int e = bound - 24 + (int)(r2 % 27);
        if (e < 1)
            e = 1;
        if (e > 254)
            e = 254;
        return sign | (uint32_t)e << 23 | (r2 >> 9 & 0x7fffffu);
    }
    case 3:
        return specials[r2 % (sizeof specials / sizeof specials[0])];
    case 4: { /* |slope * x| within a few grid steps of 2^-126, on either side */
        float slope, target, x;
        const uint32_t t = 0x007ffff8u + r2 % 16;
        memcpy(&slope, &leaky_fill_slope_bits, sizeof slope);
        memcpy(&target, &t, sizeof t);
        x = (float)((double)target / (double)slope);
        uint32_t b;
        memcpy(&b, &x, sizeof b);
        return sign ^ b;
    }
    default:
        return leaky_normal_value(r2, es);
    }
}

static void fill_leaky_blocks(clrelu_dtype dtype, void *p, size_t n, uint32_t seed) {
    assert_int_equal(dtype, CLRELU_DTYPE_F32);
    const uint32_t es = (leaky_fill_slope_bits >> 23) & 0xffu;
    uint32_t *w = p, s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; ++i) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        const uint32_t r = s;
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        const int heavy = (0xb2u >> (i / 1024 % 8)) & 1u; /* blocks 1, 4, 5, 7 of every 8 */
        w[i] = heavy && (r & 0x40u) ? leaky_risky_value(r, s, es) : leaky_normal_value(r, es);
    }
}

static void test_cpu_leaky__subnormal_blocks_match_reference(void **state) {
    fixture *f = *state;
    clrelu_context_info info;
    assert_int_equal(clrelu_context_get_info(f->ctx, &info, sizeof info), CLRELU_OK);
    /* The ISAs with the exact route (host/cpu/relu_avx2.c, relu_avx512.c). */
    const int has_route = strcmp(info.cpu_isa, "avx2") == 0 || strcmp(info.cpu_isa, "avx512") == 0;
    /* Slopes whose exponent is in the route's range [-104, 103], then ones outside it (the plain
     * loop only: subnormal ones, zero, the smallest normals and huge ones that overflow). */
    static const float slopes[] = {
        0.01f,    -0.01f,           1.5f,         -0.375f,   0x1.3p-20f, -0x1.8p-100f, 0x1p-104f,
        0x1p+22f, 0x1.fffffep+100f, -0x1.4p+103f, 0x1p-105f, 0x1p-126f,  0x1p-149f,    -0x1.8p-140f,
        0.0f,     0x1p+104f,        3e38f};
    static const size_t in_range = 10;
    static const char *const names[] = {"leaky_forward", "leaky_forward_mask", "leaky_backward",
                                        "leaky_backward_y", "leaky_backward_mask"};
    static const size_t sizes[] = {8 * 1024 + 37, 3 * 1024 + 31, 1024, 100, 2048 + 1};
    uint32_t seed = 909;
    test_case_fill = fill_leaky_blocks;
    for (int setting = 0; setting < 3; ++setting) {
        /* One thread, plain and streamed stores; then three threads, each part its own blocks. */
        clrelu_context *ctx = context_with_threads(setting == 2 ? 3 : 1);
        if (setting == 1)
            clrelu__set_stream_min_bytes_for_testing(ctx, 0);
        if (setting == 2)
            clrelu__set_thread_min_bytes_for_testing(ctx, 4096);
        for (size_t k = 0; k < ARRAY_LEN(slopes); ++k) {
            memcpy(&leaky_fill_slope_bits, &slopes[k], sizeof slopes[k]);
            const unsigned long before = clrelu__exact_entries_for_testing(ctx);
            for (size_t o = 0; o < ARRAY_LEN(names); ++o) {
                const kit_op *op = kit_find_op(names[o]);
                assert_non_null(op);
                clrelu_desc d = kit_desc(op, CLRELU_DTYPE_F32);
                d.negative_slope = slopes[k];
                if (test_desc_is_invalid(op, &d))
                    continue;
                for (size_t z = 0; z < ARRAY_LEN(sizes); ++z, ++seed)
                    run_host_case(ctx, op, &d, sizes[z], z == 1 ? CASE_OVER_IN0 : CASE_SEPARATE,
                                  z % 2 ? seed % 16 : 0, seed);
            }
            const unsigned long entries = clrelu__exact_entries_for_testing(ctx) - before;
            if (has_route && k < in_range && entries == 0) {
                print_error("slope %a: the exact route was never taken\n", (double)slopes[k]);
                fail();
            }
            if (k >= in_range && entries != 0) {
                print_error("slope %a is outside the route's range, yet it was taken %lu times\n",
                            (double)slopes[k], entries);
                fail();
            }
        }
        clrelu_context_release(ctx);
    }
    test_case_fill = kit_fill;
}

/* On normal data the plain loop never leaves for the exact route (it would only be slower). */
static void test_cpu_leaky__normal_data_stays_on_the_plain_loop(void **state) {
    fixture *f = *state;
    static const float slopes[] = {0.01f, -0.2f, 1.5f};
    enum { N = 5 * 1024 + 7 };
    static uint32_t x[N], dy[N], out[N];
    uint32_t s = 77;
    const unsigned long before = clrelu__exact_entries_for_testing(f->ctx);
    for (size_t k = 0; k < ARRAY_LEN(slopes); ++k) {
        uint32_t es;
        memcpy(&es, &slopes[k], sizeof es);
        es = (es >> 23) & 0xffu;
        for (size_t i = 0; i < N; ++i) {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            x[i] = leaky_normal_value(s, es);
            dy[i] = leaky_normal_value(s * 2654435761u, es);
        }
        clrelu_desc d = clrelu_desc_make(CLRELU_OP_LEAKY_RELU, CLRELU_DTYPE_F32);
        d.negative_slope = slopes[k];
        assert_int_equal(clrelu_forward_host(f->ctx, &d, N, x, out), CLRELU_OK);
        assert_int_equal(clrelu_backward_host(f->ctx, &d, N, dy, x, out), CLRELU_OK);
    }
    assert_int_equal(clrelu__exact_entries_for_testing(f->ctx) - before, 0);
}

/* The kernels that decode, compute and encode in registers (f16 and bf16 with leaky or
 * blending, f32 with blending; on AVX2 every hand-written kernel, which runs its last partial
 * step on padded copies): every size from 0 to 80 and every start of the arrays within a
 * 64-byte line, streamed stores on and off, every op and blending setting. */
static void test_cpu_fused__every_tail_and_alignment(void **state) {
    (void)state;
    static const clrelu_dtype dtypes[] = {CLRELU_DTYPE_F16, CLRELU_DTYPE_BF16, CLRELU_DTYPE_F32};
    uint32_t seed = 707;
    for (int stream = 0; stream <= 1; ++stream) {
        clrelu_context *ctx = context_with_threads(1);
        if (stream)
            clrelu__set_stream_min_bytes_for_testing(ctx, 0);
        for (size_t t = 0; t < ARRAY_LEN(dtypes); ++t) {
            const size_t lanes = 64 / clrelu_dtype_size(dtypes[t]); /* elements per line */
            for (size_t o = 0; o < kit_ops_count; ++o) {
                const kit_op *op = &kit_ops[o];
                for (size_t c = 0; c < test_configs_count; ++c) {
                    clrelu_desc d = test_desc(op, dtypes[t], &test_configs[c]);
                    if (test_desc_is_invalid(op, &d))
                        continue;
                    for (size_t n = 0; n <= 80; ++n, ++seed)
                        run_host_case(ctx, op, &d, n, CASE_SEPARATE, (n * 7 + c) % lanes, seed);
                    for (size_t shift = 0; shift < lanes; ++shift, ++seed) {
                        run_host_case(ctx, op, &d, 97, CASE_SEPARATE, shift, seed);
                        run_host_case(ctx, op, &d, 64, CASE_OVER_IN0, shift, seed);
                    }
                }
            }
        }
        clrelu_context_release(ctx);
    }
}

/* Every op and dtype on 1, 2 and 3 threads, at sizes around the threading threshold (lowered
 * to 2 KiB so that it is cheap to cross, even emulated) and around the vector tails past it,
 * split into many parts, in place and not, blended and not. */
static void test_cpu_threads__match_reference_around_the_threshold(void **state) {
    (void)state;
    static const unsigned thread_counts[] = {1, 2, 3};
    static const long deltas[] = {-33, -1, 0, 1, 31, 33};
    const size_t threshold = 2048;
    uint32_t seed = 11;
    for (size_t t = 0; t < ARRAY_LEN(thread_counts); ++t) {
        clrelu_context *ctx = context_with_threads(thread_counts[t]);
        clrelu__set_thread_min_bytes_for_testing(ctx, threshold);
        for (size_t o = 0; o < kit_ops_count; ++o) {
            const kit_op *op = &kit_ops[o];
            for (size_t di = 0; di < kit_dtypes_count; ++di) {
                const kit_dtype *dt = &kit_dtypes[di];
                size_t at = elements_for(op, dt, threshold);
                for (size_t c = 0; c < 3; c += 2) { /* defaults and blending */
                    clrelu_desc d = test_desc(op, dt->dtype, &test_configs[c]);
                    for (size_t k = 0; k < ARRAY_LEN(deltas); ++k, ++seed) {
                        size_t n = (size_t)((long)at + deltas[k]);
                        run_host_case(ctx, op, &d, n, CASE_SEPARATE, seed % 3, seed);
                    }
                    /* Several parts per thread, and a ragged end; in place too. */
                    run_host_case(ctx, op, &d, 7 * at + 5, CASE_SEPARATE, 1, ++seed);
                    run_host_case(ctx, op, &d, 5 * at + 3, CASE_OVER_IN0, 0, ++seed);
                }
            }
        }
        /* One thread never splits; more do, from the threshold up. */
        unsigned long split = clrelu__threaded_calls_for_testing(ctx);
        if (thread_counts[t] == 1)
            assert_int_equal(split, 0);
        else
            assert_true(split > 0);
        clrelu_context_release(ctx);
    }
}

/* The same at the real threshold (and past it), for relu forward and backward on each dtype. */
static void test_cpu_threads__match_reference_around_the_default_threshold(void **state) {
    (void)state;
    uint32_t seed = 101;
    for (unsigned threads = 2; threads <= 3; ++threads) {
        clrelu_context *ctx = context_with_threads(threads);
        for (size_t o = 0; o < 2; ++o) {
            const kit_op *op = &kit_ops[o]; /* forward, backward */
            for (size_t di = 0; di < kit_dtypes_count; ++di) {
                const kit_dtype *dt = &kit_dtypes[di];
                size_t at = elements_for(op, dt, CLRELU__THREAD_MIN_BYTES);
                const size_t sizes[] = {at - 1, at, at + 33, 3 * at + 7};
                clrelu_desc d = kit_desc(op, dt->dtype);
                for (size_t k = 0; k < ARRAY_LEN(sizes); ++k, ++seed) {
                    unsigned long before = clrelu__threaded_calls_for_testing(ctx);
                    run_host_case(ctx, op, &d, sizes[k], CASE_SEPARATE, seed % 4, seed);
                    /* Below the threshold the calling thread does it all; at it, threads. */
                    assert_int_equal(clrelu__threaded_calls_for_testing(ctx) - before, k > 0);
                }
            }
        }
        clrelu_context_release(ctx);
    }
}

/* Non-temporal stores (arrays beyond the last-level cache) on every size the tests use, the
 * output at every offset from a 64-byte line, on 1 and 3 threads: the threshold is lowered to
 * 0 so that small arrays take the streaming path; every op, dtype and blending mode runs. */
static void test_cpu_stream__nontemporal_stores_match_reference(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 1000, 4099, 70001};
    uint32_t seed = 303;
    for (unsigned threads = 1; threads <= 3; threads += 2) {
        clrelu_context *ctx = context_with_threads(threads);
        clrelu__set_stream_min_bytes_for_testing(ctx, 0);
        clrelu__set_thread_min_bytes_for_testing(ctx, 4096);
        for (size_t o = 0; o < kit_ops_count; ++o) {
            for (size_t di = 0; di < kit_dtypes_count; ++di) {
                /* Every blending mode (the streamed loops read the old output first), and every
                 * other size with the output on a 64-byte line, where the stores stream. */
                for (size_t c = 0; c < test_configs_count; ++c) {
                    clrelu_desc d = test_desc(&kit_ops[o], kit_dtypes[di].dtype, &test_configs[c]);
                    if (test_desc_is_invalid(&kit_ops[o], &d))
                        continue;
                    for (size_t k = 0; k < ARRAY_LEN(sizes); ++k, ++seed) {
                        size_t shift = k % 2                                      ? 0
                                       : kit_dtypes[di].dtype == CLRELU_DTYPE_F32 ? seed % 16
                                                                                  : seed % 4;
                        run_host_case(ctx, &kit_ops[o], &d, sizes[k], CASE_SEPARATE, shift, seed);
                        if (k % 4 == 1)
                            run_host_case(ctx, &kit_ops[o], &d, sizes[k], CASE_OVER_IN0, shift,
                                          seed);
                    }
                }
            }
        }
        clrelu_context_release(ctx);
    }
}

/* Several application threads calling at once, on one shared context and on contexts of their
 * own with different thread counts: only one call uses the workers at a time, the others run
 * on their own thread; every result must still be exact, and nothing may hang. */
enum { CONCURRENT_CALLERS = 4, CONCURRENT_N = 100000, CONCURRENT_ROUNDS = 8 };

typedef struct caller {
    clrelu_context *ctx;
    size_t n;
    const float *x, *expected;
    float *y;
    int ok;
} caller;

static void *caller_main(void *arg) {
    caller *c = arg;
    clrelu_desc d = clrelu_desc_make(CLRELU_OP_RELU, CLRELU_DTYPE_F32);
    c->ok = 1;
    for (int r = 0; r < CONCURRENT_ROUNDS; ++r) {
        memset(c->y, 0xa5, c->n * sizeof(float));
        if (clrelu_forward_host(c->ctx, &d, c->n, c->x, c->y) != CLRELU_OK ||
            memcmp(c->y, c->expected, c->n * sizeof(float)) != 0)
            c->ok = 0;
    }
    return NULL;
}

static void test_cpu_threads__concurrent_callers_are_exact(void **state) {
    (void)state;
    const size_t n = CONCURRENT_N;
    float *x = malloc(n * sizeof(float));
    float *expected = malloc(n * sizeof(float));
    assert_non_null(x);
    assert_non_null(expected);
    kit_fill(CLRELU_DTYPE_F32, x, n, 5);
    kit_relu_forward_f32(n, x, expected);
    clrelu_context *shared = context_with_threads(2);
    clrelu__set_thread_min_bytes_for_testing(shared, 4096);
    clrelu_context *own[CONCURRENT_CALLERS] = {NULL};
    caller callers[CONCURRENT_CALLERS];
    pthread_t threads[CONCURRENT_CALLERS];
    for (int i = 0; i < CONCURRENT_CALLERS; ++i) {
        if (i % 2) {
            own[i] = context_with_threads((unsigned)(2 + i));
            clrelu__set_thread_min_bytes_for_testing(own[i], 4096);
        }
        callers[i] =
            (caller){own[i] ? own[i] : shared, n, x, expected, malloc(n * sizeof(float)), 0};
        assert_non_null(callers[i].y);
    }
    for (int i = 0; i < CONCURRENT_CALLERS; ++i)
        assert_int_equal(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
    for (int i = 0; i < CONCURRENT_CALLERS; ++i) {
        pthread_join(threads[i], NULL);
        assert_true(callers[i].ok);
        free(callers[i].y);
        clrelu_context_release(own[i]);
    }
    clrelu_context_release(shared);
    free(x);
    free(expected);
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
        cmocka_unit_test(test_cpu_leaky__every_slope_matches_reference),
        cmocka_unit_test(test_cpu_family__subnormal_heavy_inputs_match_reference),
        cmocka_unit_test(test_cpu_leaky__subnormal_blocks_match_reference),
        cmocka_unit_test(test_cpu_leaky__normal_data_stays_on_the_plain_loop),
        cmocka_unit_test(test_cpu_fused__every_tail_and_alignment),
        cmocka_unit_test(test_cpu_threads__match_reference_around_the_threshold),
        cmocka_unit_test(test_cpu_threads__match_reference_around_the_default_threshold),
        cmocka_unit_test(test_cpu_threads__concurrent_callers_are_exact),
        cmocka_unit_test(test_cpu_stream__nontemporal_stores_match_reference),
    };
    /* CLRELU_TEST_FILTER: only the tests whose names match (cmocka's wildcards). */
    const char *filter = getenv("CLRELU_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests_name("cpu", tests, setup, teardown);
}
