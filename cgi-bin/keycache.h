/* SPDX-License-Identifier: MIT */
/* keycache.h: network keys: the shared cache file, freshness, kid misses */
#ifndef KEYCACHE_H
#define KEYCACHE_H

#include <stdbool.h>
#include <time.h>

#include "err.h"

#define KEYCACHE_KID_MISS_S 60 /* one refetch per URL for unknown kids */
/* After a fetch that failed or could not be written, per URL. */
#define KEYCACHE_RETRY_S 5

struct keyset;
struct keycache;

/* Where the keys come from and how long they keep; all borrowed. */
struct keycache_source {
	const char *url;     /* CLERK_JWKS_URL, https:// */
	const char *dir;     /* CHATKIT_CACHE_DIR */
	const char *ca_file; /* CHATKIT_CA_FILE; NULL: the system store */
	long ttl;	     /* CLERK_JWKS_TTL: fresh this long */
	long max_stale;	     /* CLERK_JWKS_MAX_STALE: then usable this long
				while fetching fails */
};

enum keycache_result {
	KC_OK,		/* keys to verify with */
	KC_UNAVAILABLE, /* none usable and none to be had now: 503 */
};

/* One per process (a FastCGI process keeps its keys in it). */
struct keycache *keycache_new(void);
void keycache_free(struct keycache *);

/*
 * Keys for a request at now, borrowed in *keys until the next call:
 * fresh ones from memory or the cache file with no network call; when
 * they are stale or missing, one process fetches (others use what is
 * cached, or wait for it when nothing is usable). A cache directory that
 * cannot be used is logged and then passed over: the process fetches and
 * keeps the keys for itself. Failures are logged.
 */
enum keycache_result keycache_get(struct keycache *,
    const struct keycache_source *, time_t now, struct keyset **keys,
    struct err *e);

/* Counts replacements of the keys keycache_get hands out. */
unsigned keycache_generation(const struct keycache *);

/*
 * A token's kid is not in the keys keycache_get gave: fetches again
 * unless this URL had such a refetch in the last KEYCACHE_KID_MISS_S
 * seconds (in any process sharing the cache directory, or in this one)
 * or this process has just fetched. True when *keys changed, so the
 * token is worth checking again; otherwise *keys is as it was.
 */
bool keycache_kid_miss(struct keycache *, const struct keycache_source *,
    time_t now, struct keyset **keys);

#endif
