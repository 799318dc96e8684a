/* SPDX-License-Identifier: MIT */
/* base64url.c: strict base64url (RFC 4648 section 5) decoding */
#include <stdlib.h>

#include "base64url.h"

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool
base64url_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (value((unsigned char)s[i]) < 0)
			return false;
	return len % 4 != 1;
}

unsigned char *
base64url_decode(const char *s, size_t len, size_t *out_len)
{
	unsigned char *out;
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	if (!base64url_valid(s, len))
		return NULL;
	if ((out = malloc(len / 4 * 3 + 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		v = value((unsigned char)s[i]);
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* Leftover bits must be zero: one text, one encoding. */
	if (acc != 0) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}
