/* SPDX-License-Identifier: MIT */
/* fuzz.h: the one entry point every fuzz target defines */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
