/* SPDX-License-Identifier: MIT */
/* tokencache.h: tokens that passed, kept by a process that serves many
 * requests (FastCGI); auth.c decides when to look, store and clear */
#ifndef TOKENCACHE_H
#define TOKENCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "token.h"

/*
 * A browser sends the same token until it nears expiry, so the signature
 * is checked once per token. Keyed by the token's SHA-256, direct-mapped
 * (a newer token evicts); a hit still applies exp, nbf and iat to the
 * request's clock. Bounded: TOKENCACHE_SLOTS entries.
 */
#define TOKENCACHE_SLOTS 256
#define TOKENCACHE_DIGEST_LEN 32

struct tokencache;

/* A token's place in the cache, from tokencache_get for tokencache_put. */
struct tokencache_key {
	unsigned char digest[TOKENCACHE_DIGEST_LEN]; /* SHA-256 of the token */
	bool ok; /* false: no digest could be made; nothing is stored */
};

/* NULL when memory runs out (then every token is verified each time). */
struct tokencache *tokencache_new(void);
void tokencache_free(struct tokencache *);

/*
 * Tells the cache which generation of keys verifies now (network keys:
 * keycache_generation). A different one than before empties it, so a
 * token that passed with a key since removed is checked again.
 */
void tokencache_keys(struct tokencache *, unsigned gen);

/*
 * Looks token (len bytes) up: true with *p filled when it passed before
 * and is still within its times at now, skew seconds allowed; false
 * otherwise. Either way *key is what tokencache_put needs.
 */
bool tokencache_get(struct tokencache *, const char *token, size_t len,
    time_t now, long skew, struct tokencache_key *key, struct principal *p);

/* Keeps p, the principal of a token that passed, under key. */
void tokencache_put(struct tokencache *, const struct tokencache_key *key,
    const struct principal *p);

#endif
