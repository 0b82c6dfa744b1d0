/* Test helpers: an independent host reference of the semantics table (written with float
 * compares, not the library's bit tricks), inputs mixed with special values, the list of
 * OpenCL devices present, and the loud skip that CTest shows as skipped. */
#ifndef CLRELU_TESTS_COMMON_H
#define CLRELU_TESTS_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clrelu/clrelu.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* CTest's SKIP_RETURN_CODE for a whole executable with nothing it can run here. */
#define TEST_SKIP_CODE 77

/* The sizes every path is tested at. */
extern const size_t test_sizes[];
extern const size_t test_sizes_count;

/* Special f32 bit patterns: NaNs of several payloads and both signs, +-0, +-inf,
 * subnormals, +-FLT_MAX, +-FLT_MIN. */
extern const uint32_t f32_specials[];
extern const size_t f32_specials_count;

/* Fills n floats: random values mixed with specials (about one in four), deterministic in
 * seed. */
void fill_with_specials(float *x, size_t n, uint32_t seed);
/* Fills n 32-bit words with a guard pattern that no op produces from the test inputs. */
void fill_guard(uint32_t *p, size_t n);
#define GUARD_WORD 0xdeadbeefu

/* The semantics table, on the host. */
void reference_relu_forward_f32(size_t n, const float *x, float *y);
void reference_relu_backward_f32(size_t n, const float *dy, const float *x, float *dx);

/* Asserts a and b hold the same bits, naming the first index that differs. */
void assert_bits_equal(const void *a, const void *b, size_t n_words, const char *what);

/* The OpenCL devices present, as "P:D" specs, and a name for messages. */
typedef struct test_device {
    char spec[16];
    char name[160];
} test_device;
size_t list_devices(test_device *out, size_t cap);

/* Prints a line that CTest logs and a reader sees: SKIPPED: reason. */
void print_skip(const char *fmt, ...);

#endif
