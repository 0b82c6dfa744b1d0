/* SPDX-License-Identifier: Apache-2.0 */
/* CPU path: the scalar reference of the channel ops' loops (compiled without vectorisation, as
 * relu_scalar.c). */
#define CLRELU_CH_TABLE clrelu__cpu_channel_scalar
#define CLRELU_CH_ISA   "scalar"
#define CLRELU_CH_NO_NT 1 /* plain stores: the reference */
#include "channel.inc"
