/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: guards around outputs, bitwise comparison naming the first difference, the list of
 * OpenCL devices present, and the loud skip that CTest shows as skipped. The reference
 * itself and the inputs come from kit/ (shared with clrelu-bench). */
#ifndef CLRELU_TESTS_COMMON_H
#define CLRELU_TESTS_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clrelu/clrelu.h"
#include "kit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* CTest's SKIP_RETURN_CODE for a whole executable with nothing it can run here. */
#define TEST_SKIP_CODE 77

/* The sizes every path is tested at. */
extern const size_t test_sizes[];
extern const size_t test_sizes_count;
/* The largest n a device test runs: CLRELU_TEST_MAX_N, default no limit (tools/ci-oclgrind.sh
 * runs the device tests in a simulator, where 2^20 elements take minutes). */
size_t test_max_n(void);

/* Fills n 32-bit words with a guard pattern that no op produces from the test inputs. */
void fill_guard(uint32_t *p, size_t n);
#define GUARD_WORD 0xdeadbeefu

/* Asserts a and b hold the same bits, naming the first index that differs. */
void assert_bits_equal(const void *a, const void *b, size_t n_words, const char *what);

/* The OpenCL devices present, as "P:D" specs, and a name for messages. With
 * CLRELU_TEST_PLATFORM set (CTest's name@pocl, name@intel: tests/CMakeLists.txt), only the
 * devices of the platform that device spec selects; when it selects none, the test prints
 * SKIPPED and exits with TEST_SKIP_CODE. */
typedef struct test_device {
    char spec[16];
    char name[160];
    char platform[96];
} test_device;
size_t list_devices(test_device *out, size_t cap);

/* Descriptor settings every op x dtype is tested with: defaults (alpha 1, beta 0),
 * accumulation (beta 1), other blending with a ceiling no 16-bit type can hold (0.1) and a
 * larger slope, scaling with slope 0 (leaky at -inf gives NaN) and a huge ceiling, and no
 * blending with the ceiling 0.1 (the conversion-free f16/bf16 path). */
typedef struct test_config {
    const char *name;
    float slope, ceiling, alpha, beta;
} test_config;
extern const test_config test_configs[];
extern const size_t test_configs_count;
/* The descriptor for op on dtype under config c. */
clrelu_desc test_desc(const kit_op *op, clrelu_dtype dtype, const test_config *c);
/* Whether the library must refuse this descriptor (leaky from y needs a positive slope). */
int test_desc_is_invalid(const kit_op *op, const clrelu_desc *d);

/* Values whose products with the test configurations' slopes and blending factors are
 * subnormal, or that are subnormal themselves: a quarter each of subnormals (random sign and
 * payload), tiny normals (the 12 smallest binades), special values (kit_specials) and ordinary
 * values in [-10, 10); deterministic in seed. */
void fill_tiny(clrelu_dtype dtype, void *p, size_t n, uint32_t seed);

/* What run_host_case and run_device_case fill x, dy and the old output with: kit_fill (random
 * values with special values mixed in; the default) or fill_tiny. */
typedef void (*test_fill_fn)(clrelu_dtype dtype, void *p, size_t n, uint32_t seed);
extern test_fill_fn test_case_fill;

/* How a case shares arrays: separate, output over in0, or output over in1. */
enum { CASE_SEPARATE, CASE_OVER_IN0, CASE_OVER_IN1 };

/* Runs op on n elements through ctx's host path (the CPU path or the device round trip) and
 * asserts bit equality with the reference, guards after every output untouched. shift moves
 * every array that many elements off its allocation's alignment. */
void run_host_case(clrelu_context *ctx, const kit_op *op, const clrelu_desc *desc, size_t n,
                   int sharing, size_t shift, uint32_t seed);

/* The same on ctx's device through cl_mem buffers at element offsets off[0..2] (in0, in1, out;
 * in1 unused for forward) and mask_off (a multiple of 32), with every word outside the output
 * windows checked to be untouched. */
void run_device_case(clrelu_context *ctx, const kit_op *op, const clrelu_desc *desc, size_t n,
                     int sharing, const size_t off[3], size_t mask_off, uint32_t seed);

/* Prints a line that CTest logs and a reader sees: SKIPPED: reason. */
void print_skip(const char *fmt, ...);

#endif
