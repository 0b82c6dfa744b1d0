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

/* Fills n 32-bit words with a guard pattern that no op produces from the test inputs. */
void fill_guard(uint32_t *p, size_t n);
#define GUARD_WORD 0xdeadbeefu

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
