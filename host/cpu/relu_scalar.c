/* SPDX-License-Identifier: Apache-2.0 */
/* The scalar reference of the CPU path: the family's template compiled without
 * vectorisation; every SIMD variant is tested against the same semantics. */
#define CLRELU_CPU_TABLE_NAME clrelu__cpu_scalar
#define CLRELU_CPU_ISA_NAME   "scalar"
#define CLRELU_HAS_FAST       0
#include "kernels.inc"
