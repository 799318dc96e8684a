/* SPDX-License-Identifier: MIT */
/* publishable.c: the Frontend API host inside a Clerk publishable key */
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "publishable.h"

#define PK_MAX 1024 /* bytes of a publishable key */

/* A DNS name: dot-separated labels of [A-Za-z0-9-], 1..63 bytes each,
 * no label starting or ending with '-', at most 253 bytes in all. */
static bool
dns_name_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

/* ":port" with port 1..65535 in plain digits, or nothing. */
static bool
port_ok(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return true;
	if (s[0] != ':' || n < 2 || n > 6 || s[1] == '0')
		return false;
	for (i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

bool
publishable_key_host(const char *pk, char *host, size_t hostsz, struct err *e)
{
	char *b64 = NULL;
	unsigned char *raw = NULL;
	const char *p, *colon;
	size_t n, i, rlen, hlen;
	bool ok = false;

	if (strnlen(pk, PK_MAX + 1) > PK_MAX ||
	    (strncmp(pk, "pk_test_", 8) != 0 &&
		strncmp(pk, "pk_live_", 8) != 0)) {
		err_set(e, "does not start with pk_test_ or pk_live_");
		goto out;
	}
	p = pk + 8;
	n = strlen(p);
	/* Standard base64, padded or not: as base64url without padding. */
	while (n > 0 && p[n - 1] == '=')
		n--;
	if ((b64 = malloc(n + 1)) == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		b64[i] = p[i] == '+' ? '-' : p[i] == '/' ? '_' : p[i];
	b64[n] = '\0';
	if (memchr(p, '-', n) != NULL || memchr(p, '_', n) != NULL ||
	    (raw = base64url_decode(b64, n, &rlen)) == NULL) {
		err_set(e, "is not base64 after the prefix");
		goto out;
	}
	if (rlen < 2 || raw[rlen - 1] != '$' ||
	    memchr(raw, '\0', rlen) != NULL) {
		err_set(e, "does not decode to a host name followed by '$'");
		goto out;
	}
	hlen = rlen - 1;
	colon = memchr(raw, ':', hlen);
	n = colon != NULL ? (size_t)(colon - (const char *)raw) : hlen;
	if (!dns_name_ok((const char *)raw, n) ||
	    !port_ok((const char *)raw + n, hlen - n) || hlen >= hostsz) {
		err_set(e, "does not decode to a host name followed by '$'");
		goto out;
	}
	memcpy(host, raw, hlen);
	host[hlen] = '\0';
	ok = true;
out:
	free(b64);
	free(raw);
	return ok;
}
