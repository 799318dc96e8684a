/* SPDX-License-Identifier: MIT */
/* tokencache.c: a bounded cache of tokens that passed, by SHA-256 */
/* SHA256_Init and friends: see token.c. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "tokencache.h"

_Static_assert(SHA256_DIGEST_LENGTH == TOKENCACHE_DIGEST_LEN, "SHA-256");

struct entry {
	unsigned char digest[SHA256_DIGEST_LENGTH]; /* of the token text */
	struct principal who; /* with its exp and valid_from */
	bool used;
};

struct tokencache {
	struct entry slot[TOKENCACHE_SLOTS];
	unsigned keys_gen; /* generation of the keys the entries passed with */
};

struct tokencache *
tokencache_new(void)
{
	return calloc(1, sizeof(struct tokencache));
}

static void
clear(struct tokencache *tc)
{
	explicit_bzero(tc, sizeof(*tc));
}

void
tokencache_free(struct tokencache *tc)
{
	if (tc == NULL)
		return;
	clear(tc);
	free(tc);
}

void
tokencache_keys(struct tokencache *tc, unsigned gen)
{
	if (tc == NULL || tc->keys_gen == gen)
		return;
	clear(tc);
	tc->keys_gen = gen;
}

/* The slot a digest maps to (direct-mapped: a newer token evicts). */
static struct entry *
slot_of(struct tokencache *tc, const unsigned char *digest)
{
	return &tc->slot[(digest[0] | (digest[1] << 8)) % TOKENCACHE_SLOTS];
}

bool
tokencache_get(struct tokencache *tc, const char *token, size_t len, time_t now,
    long skew, struct tokencache_key *key, struct principal *p)
{
	const struct entry *s;
	SHA256_CTX sha;

	key->ok = SHA256_Init(&sha) == 1 &&
		  SHA256_Update(&sha, token, len) == 1 &&
		  SHA256_Final(key->digest, &sha) == 1;
	if (!key->ok)
		return false;
	s = slot_of(tc, key->digest);
	if (!s->used ||
	    memcmp(s->digest, key->digest, sizeof(s->digest)) != 0 ||
	    s->who.expires_at <= (int64_t)now - skew ||
	    s->who.valid_from > (int64_t)now + skew)
		return false;
	*p = s->who;
	return true;
}

void
tokencache_put(struct tokencache *tc, const struct tokencache_key *key,
    const struct principal *p)
{
	struct entry *s;

	if (!key->ok)
		return;
	s = slot_of(tc, key->digest);
	memcpy(s->digest, key->digest, sizeof(s->digest));
	s->who = *p;
	s->used = true;
}
