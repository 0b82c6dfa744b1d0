/* SPDX-License-Identifier: Apache-2.0 */
/* CPU path: the channel ops' loops compiled for AVX-512 (F, DQ, BW, VL). */
#define CLRELU_CH_TABLE clrelu__cpu_channel_avx512
#define CLRELU_CH_ISA   "avx512"
#include "channel.inc"
