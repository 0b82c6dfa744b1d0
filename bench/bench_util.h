/* SPDX-License-Identifier: Apache-2.0 */
/* What clrelu-bench and clrelu-tune share: the clock, medians, JSON strings. */
#ifndef CLRELU_BENCH_UTIL_H
#define CLRELU_BENCH_UTIL_H

#include <stdio.h>

/* Seconds on a monotonic clock. */
double bench_now(void);
/* The median of v[0..n) (sorts v); 0 when n is 0. */
double bench_median(double *v, int n);
/* s as a JSON string, quoted and escaped. */
void bench_json_string(FILE *f, const char *s);

#endif
