/* SPDX-License-Identifier: Apache-2.0 */
/* CPU path: the channel ops' loops compiled for AVX2 (with F16C). */
#define CLRELU_CH_TABLE clrelu__cpu_channel_avx2
#define CLRELU_CH_ISA   "avx2"
#include "channel.inc"
