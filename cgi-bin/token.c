/* SPDX-License-Identifier: MIT */
/* token.c: header peek with the algorithm pinned, RS256 check, claims */
/*
 * SHA256_Init and friends hash without OpenSSL's provider machinery, which
 * an EVP digest (or SHA256(), one in OpenSSL 3) would load first; the
 * cost is in docs/performance.md. Deprecated in 3.0, not removed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "base64url.h"
#include "jsonstrict.h"
#include "keys.h"
#include "token.h"

#define HEADER_DEPTH_MAX 4
#define PAYLOAD_DEPTH_MAX 16
#define NUMERIC_DATE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */
/* Clerk's token categories (header cat, @clerk/backend 3.x): a session
 * token, or the neutral one; JWT templates, M2M and others are refused. */
#define CAT_SESSION "cl_B7d4PD111AAA"
#define CAT_NEUTRAL "cl_I7d4PD111III"
#define MACHINE_PREFIX "mch_" /* sub of a machine (M2M) token */

_Static_assert(SHA256_DIGEST_LENGTH == KEYS_SHA256_LEN, "SHA-256 length");

static const char *const messages[TOK__MAX] = {
    "",							     /* TOK_OK */
    "The session token is malformed.",			     /* TOK_MALFORMED */
    "The session token is too long.",			     /* TOK_TOO_LONG */
    "The session token uses an algorithm other than RS256.", /* TOK_ALGORITHM */
    "The session token was signed with an unknown key.",     /* TOK_KEY */
    "The session token signature is invalid.",		     /* TOK_SIGNATURE */
    "The session token has expired.",			     /* TOK_EXPIRED */
    "The session token is not yet valid.",	   /* TOK_NOT_YET_VALID */
    "The session token was issued in the future.", /* TOK_ISSUED_IN_FUTURE */
    "The session token has the wrong issuer.",	   /* TOK_ISSUER */
    "The session token was issued for another origin.", /* TOK_PARTY */
    "The Clerk session is not active.",			/* TOK_STATUS */
    "The session token has no user (sub).",		/* TOK_SUBJECT */
    "The token is not a Clerk session token (no sid).", /* TOK_SESSION */
    "The token is not a Clerk session token (wrong category).",
    /* TOK_CATEGORY */
    "The token is an OAuth access token, not a Clerk session token.",
    /* TOK_TYPE */
    "The token belongs to a machine, not a signed-in user.", /* TOK_MACHINE */
};

const char *
token_result_message(enum token_result r)
{
	return messages[r < TOK__MAX ? r : TOK_MALFORMED];
}

/*
 * Decodes one base64url part and parses it as a JSON object, or NULL.
 * json_parse_strict refuses U+0000 and repeated member names, so the
 * C-string lookups and compares below see each name and value whole.
 */
static json_object *
decode_part(const char *s, size_t len, int depth)
{
	unsigned char *raw;
	size_t rlen;
	json_object *o;

	if ((raw = base64url_decode(s, len, &rlen)) == NULL)
		return NULL;
	o = json_parse_strict((const char *)raw, rlen, depth);
	free(raw);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/*
 * Reads member name of o as a string: 1 present and a string (*out
 * borrowed from o), 0 absent, -1 present with another type.
 */
static int
get_string(json_object *o, const char *name, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

/*
 * Reads an integer NumericDate: 1 present (in *out), 0 absent, -1 of
 * another type. json-c keeps integers as int64 (saturating), never a
 * double, so 1e300 or 1.5 is a type error here, not a cast.
 */
static int
get_time(json_object *o, const char *name, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	/* json-c saturates what does not fit in 64 bits: refuse anything
	 * outside 0 .. 2^53 - 1 (the integers every JSON reader agrees on). */
	if (*out < 0 || *out > NUMERIC_DATE_MAX)
		return -1;
	return 1;
}

/*
 * The header, trusted for nothing: alg must be exactly RS256 whatever
 * else it says; typ, when present, is JWT; kid, when present, a short
 * string; crit is refused (we understand no extension). *kid is copied.
 */
static enum token_result
check_header(const char *s, size_t len, char *kid, size_t kidsz, int *has_kid,
    struct err *e)
{
	json_object *h;
	const char *alg, *typ, *cat, *k;
	enum token_result r = TOK_MALFORMED;

	if ((h = decode_part(s, len, HEADER_DEPTH_MAX)) == NULL) {
		err_set(e, "token header is not a base64url JSON object");
		return TOK_MALFORMED;
	}
	if (get_string(h, "alg", &alg) != 1 || strcmp(alg, "RS256") != 0) {
		err_set(e, "token alg is %s%.32s%s, not RS256",
		    alg != NULL ? "\"" : "", alg != NULL ? alg : "missing",
		    alg != NULL ? "\"" : "");
		r = TOK_ALGORITHM;
		goto out;
	}
	if (get_string(h, "typ", &typ) < 0 ||
	    (typ != NULL && strcasecmp(typ, "JWT") != 0)) {
		err_set(e, "token typ is not JWT");
		if (typ != NULL &&
		    (strcasecmp(typ, "at+jwt") == 0 ||
			strcasecmp(typ, "application/at+jwt") == 0))
			r = TOK_TYPE;
		goto out;
	}
	if (get_string(h, "cat", &cat) < 0 ||
	    (cat != NULL && strcmp(cat, CAT_SESSION) != 0 &&
		strcmp(cat, CAT_NEUTRAL) != 0)) {
		err_set(e, "token cat is %s%.32s%s, not a session token",
		    cat != NULL ? "\"" : "", cat != NULL ? cat : "not a string",
		    cat != NULL ? "\"" : "");
		r = TOK_CATEGORY;
		goto out;
	}
	if (json_object_object_get_ex(h, "crit", NULL)) {
		err_set(e, "token header has crit");
		goto out;
	}
	*has_kid = get_string(h, "kid", &k);
	if (*has_kid < 0 || (k != NULL && strlen(k) >= kidsz)) {
		err_set(e, "token kid is not a short string");
		goto out;
	}
	if (k != NULL)
		memcpy(kid, k, strlen(k) + 1);
	r = TOK_OK;
out:
	json_object_put(h);
	return r;
}

/* SHA-256 of len bytes at data into md; false if OpenSSL failed. */
static bool
sha256(const void *data, size_t len, unsigned char md[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX sha;

	return SHA256_Init(&sha) == 1 && SHA256_Update(&sha, data, len) == 1 &&
	       SHA256_Final(md, &sha) == 1;
}

/*
 * RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over header.payload with the key
 * picked by kid: the algorithm is fixed here, never read from the token.
 */
static enum token_result
check_signature(const char *input, size_t input_len, const char *sig64,
    size_t sig64_len, struct key *key, struct err *e)
{
	unsigned char md[SHA256_DIGEST_LENGTH], *sig = NULL;
	size_t sig_len = 0;
	enum token_result r = TOK_SIGNATURE;

	if ((sig = base64url_decode(sig64, sig64_len, &sig_len)) == NULL) {
		err_set(e, "token signature is not base64url");
		goto out;
	}
	if (!sha256(input, input_len, md)) {
		err_set(e, "SHA-256 failed");
		goto out;
	}
	if (!keys_verify_sha256(key, md, sig, sig_len, e))
		goto out;
	r = TOK_OK;
out:
	free(sig);
	return r;
}

/* An identifier claim: a non-empty string of at most CLAIM_ID_MAX bytes. */
static bool
copy_id(json_object *c, const char *name, char *out, size_t outsz)
{
	const char *v;
	size_t len;

	if (get_string(c, name, &v) != 1)
		return false;
	len = strlen(v);
	if (len == 0 || len >= outsz)
		return false;
	memcpy(out, v, len + 1);
	return true;
}

static enum token_result
check_claims(json_object *c, const struct token_rules *rules,
    struct principal *p, struct err *e)
{
	int64_t exp, nbf, iat, now = (int64_t)rules->now, valid_from = 0;
	const char *s;
	size_t i;
	int rc;

	if ((rc = get_time(c, "exp", &exp)) != 1) {
		err_set(e, "exp is %s", rc == 0 ? "missing" : "not an integer");
		return TOK_MALFORMED;
	}
	if (exp <= now - rules->skew) {
		err_set(e, "token expired %lld s ago", (long long)(now - exp));
		return TOK_EXPIRED;
	}
	if ((rc = get_time(c, "nbf", &nbf)) < 0) {
		err_set(e, "nbf is not an integer");
		return TOK_MALFORMED;
	}
	if (rc == 1 && nbf > now + rules->skew) {
		err_set(
		    e, "token not valid for %lld s", (long long)(nbf - now));
		return TOK_NOT_YET_VALID;
	}
	if (rc == 1)
		valid_from = nbf;
	if ((rc = get_time(c, "iat", &iat)) < 0) {
		err_set(e, "iat is not an integer");
		return TOK_MALFORMED;
	}
	if (rc == 1 && iat > now + rules->skew) {
		err_set(e, "token issued %lld s in the future",
		    (long long)(iat - now));
		return TOK_ISSUED_IN_FUTURE;
	}
	if (rc == 1 && iat > valid_from)
		valid_from = iat;
	p->issued_at = rc == 1 ? iat : -1;
	if (rules->issuer != NULL) {
		if (get_string(c, "iss", &s) != 1 ||
		    strcmp(s, rules->issuer) != 0) {
			err_set(e, "iss does not match CLERK_ISSUER");
			return TOK_ISSUER;
		}
	}
	if (rules->nparties > 0) {
		/* Required when parties are set (@clerk/backend 3.x). */
		if ((rc = get_string(c, "azp", &s)) != 1) {
			err_set(e, "azp is %s",
			    rc == 0 ? "missing" : "not a string");
			return TOK_PARTY;
		}
		for (i = 0; i < rules->nparties; i++)
			if (strcmp(s, rules->parties[i]) == 0)
				break;
		if (i == rules->nparties) {
			err_set(
			    e, "azp \"%.100s\" is not an authorized party", s);
			return TOK_PARTY;
		}
	}
	if ((rc = get_string(c, "sts", &s)) < 0 ||
	    (rc == 1 && strcmp(s, "active") != 0)) {
		err_set(e, "sts is not \"active\"");
		return TOK_STATUS;
	}
	if (!copy_id(c, "sub", p->user_id, sizeof(p->user_id))) {
		err_set(e, "sub is missing, empty, too long or not a string");
		return TOK_SUBJECT;
	}
	if (strncmp(p->user_id, MACHINE_PREFIX, strlen(MACHINE_PREFIX)) == 0) {
		err_set(e, "sub is a machine (%s...)", MACHINE_PREFIX);
		return TOK_MACHINE;
	}
	if (!copy_id(c, "sid", p->session_id, sizeof(p->session_id))) {
		err_set(e, "sid is missing, empty, too long or not a string");
		return TOK_SESSION;
	}
	p->expires_at = exp;
	p->valid_from = valid_from;
	return TOK_OK;
}

/*
 * Order: length and shape first (nothing decoded), then the header with
 * the algorithm pinned, then the key, then the signature, and only then
 * the claims of a payload whose signature holds.
 */
enum token_result
token_verify(const char *token, const struct token_rules *rules,
    struct principal *p, struct err *e)
{
	const char *dot1, *dot2;
	struct key *key;
	json_object *claims = NULL;
	char kid[KEYS_KID_MAX + 1];
	size_t len;
	int has_kid = 0;
	enum token_result r;

	memset(p, 0, sizeof(*p));
	if ((len = strnlen(token, TOKEN_MAX + 1)) > TOKEN_MAX) {
		err_set(e, "token longer than %d bytes", TOKEN_MAX);
		return TOK_TOO_LONG;
	}
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ==
		NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL ||
	    dot1 == token || dot2 == dot1 + 1 ||
	    !base64url_valid(token, (size_t)(dot1 - token)) ||
	    !base64url_valid(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !base64url_valid(dot2 + 1, len - (size_t)(dot2 + 1 - token))) {
		err_set(e, "token is not three base64url parts");
		return TOK_MALFORMED;
	}
	kid[0] = '\0';
	if ((r = check_header(token, (size_t)(dot1 - token), kid, sizeof(kid),
		 &has_kid, e)) != TOK_OK)
		return r;
	if (dot2[1] == '\0') {
		err_set(e, "token has no signature");
		return TOK_SIGNATURE;
	}
	if ((key = keys_find(rules->keys, has_kid == 1 ? kid : NULL)) == NULL) {
		err_set(e, "no key for kid \"%.64s\"",
		    has_kid == 1 ? kid : "(none)");
		return TOK_KEY;
	}
	if ((r = check_signature(token, (size_t)(dot2 - token), dot2 + 1,
		 len - (size_t)(dot2 + 1 - token), key, e)) != TOK_OK)
		return r;
	if ((claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1),
		 PAYLOAD_DEPTH_MAX)) == NULL) {
		err_set(e, "token payload is not a JSON object");
		return TOK_MALFORMED;
	}
	r = check_claims(claims, rules, p, e);
	json_object_put(claims);
	return r;
}
