/* SPDX-License-Identifier: MIT */
/* jsonstrict.c: one strict, bounded JSON parse for untrusted text */
#include <limits.h>
#include <string.h>

#include "jsonstrict.h"

json_object *
json_parse_strict(const char *text, size_t len, int depth)
{
	struct json_tokener *tok;
	json_object *obj = NULL;
	size_t end;

	if (len == 0 || len > INT_MAX || memchr(text, '\0', len) != NULL)
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
