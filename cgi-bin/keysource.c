/* SPDX-License-Identifier: MIT */
/* keysource.c: reading the verification keys a setting names */
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "keysource.h"

/* CLERK_JWT_KEY may hold the PEM on one line with literal "\n". */
static void
unescape_newlines(char *s)
{
	char *r = s, *w = s;

	while (*r != '\0') {
		if (r[0] == '\\' && r[1] == 'n') {
			*w++ = '\n';
			r += 2;
		} else
			*w++ = *r++;
	}
	*w = '\0';
}

/* The PEM text itself: unescaped in a copy that is wiped afterwards. */
static struct keyset *
from_text(const char *value, struct err *e)
{
	struct keyset *ks;
	char *copy;
	size_t len;

	if ((copy = strdup(value)) == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	unescape_newlines(copy);
	len = strlen(copy);
	ks = keys_from_pem(copy, len, e);
	explicit_bzero(copy, len);
	free(copy);
	return ks;
}

/* A file, watched from before the read on, parsed as PEM or JWKS. */
static struct keyset *
from_file(struct file_watch *watch, const char *path, bool jwks, struct err *e)
{
	struct keyset *ks = NULL;
	char *text;
	size_t len;

	if (!file_watch_set(watch, path, e))
		return NULL;
	if ((text = file_read(path, KEYS_FILE_MAX, &len, e)) == NULL)
		return NULL;
	ks = jwks ? keys_from_jwks(text, len, e) : keys_from_pem(text, len, e);
	free(text);
	return ks;
}

struct keyset *
keysource_load(
    const struct keysource *src, struct file_watch *watch, struct err *e)
{
	struct keyset *ks = NULL;
	struct err ke = {{0}};

	switch (src->form) {
	case KEYSOURCE_PEM_TEXT:
		ks = from_text(src->value, &ke);
		break;
	case KEYSOURCE_PEM_FILE:
		ks = from_file(watch, src->value, false, &ke);
		break;
	case KEYSOURCE_JWKS_FILE:
		ks = from_file(watch, src->value, true, &ke);
		break;
	}
	if (ks == NULL)
		err_set(e, "%s: %s", src->setting,
		    ke.msg[0] != '\0' ? ke.msg : "unknown key source");
	return ks;
}
