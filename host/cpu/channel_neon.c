/* SPDX-License-Identifier: Apache-2.0 */
/* CPU path: the channel ops' loops compiled for AArch64's Advanced SIMD. */
#define CLRELU_CH_TABLE clrelu__cpu_channel_neon
#define CLRELU_CH_ISA   "neon"
#include "channel.inc"
