/* SPDX-License-Identifier: MIT */
/* base64url.h: strict base64url (RFC 4648 section 5) decoding */
#ifndef BASE64URL_H
#define BASE64URL_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is only base64url characters, no padding. */
bool base64url_valid(const char *s, size_t len);

/*
 * Decodes s[0..len) (no padding, no other characters) into a malloc'd
 * buffer, NUL-terminated for convenience; *out_len excludes the NUL.
 * Returns NULL on a bad character, an impossible length or no memory.
 */
unsigned char *base64url_decode(const char *s, size_t len, size_t *out_len);

#endif
