/* SPDX-License-Identifier: MIT */
/* token.h: Clerk session token (RS256 JWT) verification */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define TOKEN_MAX 8192	 /* bytes; longer tokens are rejected unread */
#define CLAIM_ID_MAX 255 /* bytes in sub and sid */

struct keyset;
struct token_cache;

enum token_result {
	TOK_OK,
	TOK_MALFORMED,
	TOK_TOO_LONG,
	TOK_ALGORITHM,
	TOK_KEY,
	TOK_SIGNATURE,
	TOK_EXPIRED,
	TOK_NOT_YET_VALID,
	TOK_ISSUED_IN_FUTURE,
	TOK_ISSUER,
	TOK_PARTY,
	TOK_STATUS,
	TOK_SUBJECT,
	TOK_SESSION,
	TOK_CATEGORY, /* header cat: not a session token */
	TOK_TYPE,     /* typ at+jwt: an OAuth access token */
	TOK_MACHINE,  /* sub mch_...: a machine, not a user */
	TOK__MAX
};

struct token_rules {
	struct keyset *keys;	   /* borrowed; verifying fills a key's
				      Montgomery form (keys.h) */
	const char *issuer;	   /* NULL: iss not checked */
	char *const *parties;	   /* allowed azp values */
	size_t nparties;	   /* 0: azp not checked */
	long skew;		   /* seconds of leeway */
	struct token_cache *cache; /* NULL: verify every time */
	time_t now;		   /* the request's clock */
};

struct principal {
	char user_id[CLAIM_ID_MAX + 1];	   /* sub */
	char session_id[CLAIM_ID_MAX + 1]; /* sid */
	int64_t issued_at;		   /* iat; -1 when absent */
};

/*
 * Verifies token (NUL-terminated, untrusted) against rules and fills *p
 * on TOK_OK. e gets the precise reason for the log.
 */
enum token_result token_verify(const char *token,
    const struct token_rules *rules, struct principal *p, struct err *e);

/*
 * A cache of tokens that passed, for a process that serves many requests
 * (FastCGI): a browser sends the same token until it nears expiry, so the
 * signature is checked once per token. Keyed by the token's SHA-256; a hit
 * still applies exp/nbf/iat to the request's clock. Clear it whenever the
 * keys or rules change. Bounded: TOKEN_CACHE_SLOTS entries.
 */
#define TOKEN_CACHE_SLOTS 256
struct token_cache *token_cache_new(void);
void token_cache_clear(struct token_cache *);

/*
 * Tells the cache which generation of keys verifies now (network keys:
 * keycache_generation). A different one than before clears it, so a
 * token that passed with a key since removed is checked again.
 */
void token_cache_keys(struct token_cache *, unsigned gen);
void token_cache_free(struct token_cache *);

/* A sentence for the client (and its RFC 6750 error_description). */
const char *token_result_message(enum token_result);

#endif
