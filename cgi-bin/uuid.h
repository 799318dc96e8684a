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

/*
 * True when s is the text of a version 4 UUID, either case: 36
 * characters, hex digits with hyphens after the 8th, 12th, 16th and
 * 20th, the version digit 4 and a variant digit of 8, 9, a or b. Reads
 * at most 37 bytes of s.
 */
bool uuid_v4_text(const char *s);

#endif
