/* SPDX-License-Identifier: MIT */
/* keysource.c: loading the verification keys from where config.c says */
#include <stdlib.h>
#include <string.h>

#include "keycache.h"
#include "keys.h"

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
from_file(struct keyring *ring, const char *path, bool jwks, struct err *e)
{
	struct keyset *ks = NULL;
	char *text;
	size_t len;

	if (!file_watch_set(&ring->file, path, e))
		return NULL;
	if ((text = file_read(path, KEYS_FILE_MAX, &len, e)) == NULL)
		return NULL;
	ks = jwks ? keys_from_jwks(text, len, e) : keys_from_pem(text, len, e);
	free(text);
	return ks;
}

bool
keys_load(struct keyring *ring, const struct keys_source *src, struct err *e)
{
	struct err ke = {{0}};

	memset(ring, 0, sizeof(*ring));
	switch (src->form) {
	case KEYS_PEM_TEXT:
		ring->set = from_text(src->value, &ke);
		break;
	case KEYS_PEM_FILE:
		ring->set = from_file(ring, src->value, false, &ke);
		break;
	case KEYS_JWKS_FILE:
		ring->set = from_file(ring, src->value, true, &ke);
		break;
	case KEYS_NETWORK:
		/* Nothing is read now: the first request fetches, or reads the
		 * cache file (keycache.c). */
		if ((ring->net = keycache_new()) == NULL) {
			err_set(e, "%s: out of memory", src->setting);
			return false;
		}
		return true;
	}
	if (ring->set == NULL) {
		err_set(e, "%s: %s", src->setting,
		    ke.msg[0] != '\0' ? ke.msg : "unknown key source");
		return false;
	}
	return true;
}

bool
keys_stale(const struct keyring *ring)
{
	return file_watch_changed(&ring->file);
}

void
keys_ring_free(struct keyring *ring)
{
	keys_free(ring->set);
	keycache_free(ring->net);
	file_watch_free(&ring->file);
	memset(ring, 0, sizeof(*ring));
}
