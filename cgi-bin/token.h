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
	struct keyset *keys;  /* borrowed; verifying fills a key's
				 Montgomery form (keys.h) */
	const char *issuer;   /* NULL: iss not checked */
	char *const *parties; /* allowed azp values */
	size_t nparties;      /* 0: azp not checked */
	long skew;	      /* seconds of leeway */
	time_t now;	      /* the request's clock */
};

struct principal {
	char user_id[CLAIM_ID_MAX + 1];	   /* sub */
	char session_id[CLAIM_ID_MAX + 1]; /* sid */
	int64_t issued_at;		   /* iat; -1 when absent */
	int64_t expires_at;		   /* exp */
	int64_t valid_from;		   /* the later of nbf and iat, or 0 */
};

/*
 * Verifies token (NUL-terminated, untrusted) against rules and fills *p
 * on TOK_OK. e gets the precise reason for the log.
 */
enum token_result token_verify(const char *token,
    const struct token_rules *rules, struct principal *p, struct err *e);

/* A sentence for the client (and its RFC 6750 error_description). */
const char *token_result_message(enum token_result);

#endif
