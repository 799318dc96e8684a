/* SPDX-License-Identifier: MIT */
/* jsonstrict.c: one strict, bounded JSON parse for untrusted text */
#include <limits.h>
#include <string.h>

#include "jsonstrict.h"

/*
 * RFC 3629 UTF-8: shortest form only, no surrogates, nothing above
 * U+10FFFF. json-c's own check lets overlong forms through, and
 * PostgreSQL refuses them later, which would be a 500 instead of a 400.
 */
bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp, min;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

json_object *
json_parse_strict(const char *text, size_t len, int depth)
{
	struct json_tokener *tok;
	json_object *obj = NULL;
	size_t end;

	if (len == 0 || len > INT_MAX || memchr(text, '\0', len) != NULL ||
	    !utf8_valid((const unsigned char *)text, len))
		return NULL;
	if ((tok = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	json_tokener_set_flags(
	    tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto fail;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", text[end]) == NULL)
			goto fail;
	json_tokener_free(tok);
	return obj;
fail:
	json_object_put(obj);
	json_tokener_free(tok);
	return NULL;
}
