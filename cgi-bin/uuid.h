/* SPDX-License-Identifier: MIT */
/* uuid.h: random bytes from the kernel, and random (version 4) UUIDs */
#ifndef UUID_H
#define UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_TEXT_SIZE 37 /* 36 characters and the NUL */
#define UUID_BATCH_MAX 4  /* UUIDs from one uuid_v4 call */

/* len random bytes into buf; false with errno set. */
bool uuid_random_bytes(unsigned char *buf, size_t len);

/*
 * n (at most UUID_BATCH_MAX) version 4 UUIDs in lower-case text, from
 * one read of the kernel's random bytes; false with errno set.
 */
bool uuid_v4(char (*out)[UUID_TEXT_SIZE], size_t n);

#endif
