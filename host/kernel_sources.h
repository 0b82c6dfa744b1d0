/* SPDX-License-Identifier: Apache-2.0 */
/* Declares the table that cmake/embed_kernels.cmake generates from the kernels. */
#ifndef CLRELU_KERNEL_SOURCES_H
#define CLRELU_KERNEL_SOURCES_H
#include "internal.h"
#endif
