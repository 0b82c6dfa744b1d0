/* SPDX-License-Identifier: Apache-2.0 */
/* CPU path: the channel ops' loops compiled for SSE2. */
#define CLRELU_CH_TABLE clrelu__cpu_channel_sse2
#define CLRELU_CH_ISA   "sse2"
#include "channel.inc"
