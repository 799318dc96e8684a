/* SPDX-License-Identifier: MIT */
/* auth.c: credentials to a principal: key sources, key and token caches */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "file.h"
#include "keycache.h"
#include "keys.h"
#include "keysource.h"
#include "tokencache.h"

/*
 * What a process knows of authentication, kept from one request to the
 * next (FastCGI) and dropped whole when the settings or the key file
 * change: the static keys, read once; the network keys, which keycache.c
 * refreshes when due; and the tokens that passed with them.
 */
struct auth {
	const struct config *cfg;   /* borrowed: outlives auth */
	bool ready;		    /* keys loaded, or network keys set up */
	char public_msg[160];	    /* client-safe sentence when !ready */
	struct err reason;	    /* why !ready, for the log (no key text) */
	struct keyset *keys;	    /* static keys, owned; NULL: network */
	struct file_watch file;	    /* the key file read, if any */
	struct keycache *net;	    /* network keys, owned; NULL: static */
	struct keycache_source src; /* where net's keys come from; strings
				       borrowed from cfg */
	struct tokencache *tokens;  /* tokens that passed with the keys of
				       now (AUTH_TOKEN_CACHE); NULL: verify
				       every time */
};

static const char msg_none[] =
    "Sign in required: send a Clerk session token as "
    "Authorization: Bearer <token>.";
static const char msg_bad_header[] =
    "The Authorization header must be \"Bearer <token>\".";
static const char msg_unavailable[] =
    "The token verification keys cannot be fetched right now; try "
    "again shortly.";
static const char msg_cookie_stale[] =
    "The session cookie is out of date or signed out: get a fresh token "
    "(Clerk's getToken()) and send it as Authorization: Bearer <token>.";

/* Records the client-safe sentence; the log reason is already set. */
static bool
fail(struct auth *a, const char *public_msg)
{
	snprintf(a->public_msg, sizeof(a->public_msg), "%s", public_msg);
	return false;
}

/*
 * The key source is the first set of CLERK_JWT_KEY, CLERK_JWT_KEY_FILE,
 * CLERK_JWKS_FILE and CLERK_JWKS_URL (which CLERK_PUBLISHABLE_KEY
 * implies). Static keys are read now; network keys get a cache, which
 * the first request fills (from the cache file, or by fetching).
 */
static bool
load_keys(struct auth *a, struct err *e)
{
	const struct config *cfg = a->cfg;
	struct keysource src;

	if (cfg->jwt_key != NULL)
		src = (struct keysource){
		    KEYSOURCE_PEM_TEXT, "CLERK_JWT_KEY", cfg->jwt_key};
	else if (cfg->jwt_key_file != NULL)
		src = (struct keysource){KEYSOURCE_PEM_FILE,
		    "CLERK_JWT_KEY_FILE", cfg->jwt_key_file};
	else if (cfg->jwks_file != NULL)
		src = (struct keysource){
		    KEYSOURCE_JWKS_FILE, "CLERK_JWKS_FILE", cfg->jwks_file};
	else if (cfg->jwks_url != NULL) {
		a->src = (struct keycache_source){cfg->jwks_url, cfg->cache_dir,
		    cfg->ca_file, cfg->jwks_ttl, cfg->jwks_max_stale};
		if ((a->net = keycache_new()) == NULL) {
			err_set(e, "CLERK_JWKS_URL: out of memory");
			return fail(a, "Token verification key is missing or "
				       "unreadable.");
		}
		return true;
	} else {
		err_set(e, "no verification key: set CLERK_PUBLISHABLE_KEY, "
			   "CLERK_JWKS_URL, CLERK_JWT_KEY, CLERK_JWT_KEY_FILE "
			   "or CLERK_JWKS_FILE");
		return fail(a, "Token verification key not configured (set "
			       "CLERK_PUBLISHABLE_KEY).");
	}
	if ((a->keys = keysource_load(&src, &a->file, e)) == NULL)
		return fail(
		    a, "Token verification key is missing or unreadable.");
	return true;
}

struct auth *
auth_new(const struct config *cfg, unsigned flags)
{
	struct auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = cfg;
	/* A configuration error is reported first; no key is read for it. */
	if (cfg->ok)
		a->ready = load_keys(a, &a->reason);
	/* Without memory for it, every token is simply verified each time. */
	if (flags & AUTH_TOKEN_CACHE)
		a->tokens = tokencache_new();
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	keys_free(a->keys);
	keycache_free(a->net);
	file_watch_free(&a->file);
	tokencache_free(a->tokens);
	free(a);
}

bool
auth_ready(const struct auth *a, const char **public_msg, struct err *e)
{
	if (a == NULL) {
		err_set(e, "out of memory");
		*public_msg = "Out of memory.";
		return false;
	}
	if (a->ready)
		return true;
	err_set(e, "%s", a->reason.msg);
	*public_msg = a->public_msg;
	return false;
}

bool
auth_stale(const struct auth *a)
{
	return a == NULL || file_watch_changed(&a->file);
}

/*
 * The keys a request verifies with: the static ones, or what
 * keycache_get has now (and then the token cache learns their
 * generation). False with the reason in e when none can be had.
 */
static bool
request_keys(struct auth *a, time_t now, struct keyset **keys, struct err *e)
{
	*keys = a->keys;
	if (a->net == NULL)
		return true;
	if (keycache_get(a->net, &a->src, now, keys, e) != KC_OK)
		return false;
	tokencache_keys(a->tokens, keycache_generation(a->net));
	return true;
}

/*
 * One candidate, from the token cache when there is one and it holds
 * the token, else through token_verify (and kept if it passes).
 */
static enum token_result
verify(struct auth *a, const char *token, const struct token_rules *rules,
    struct principal *who, struct err *e)
{
	struct tokencache_key key = {{0}, false};
	enum token_result r;
	size_t len;

	if (a->tokens != NULL &&
	    (len = strnlen(token, TOKEN_MAX + 1)) <= TOKEN_MAX &&
	    tokencache_get(
		a->tokens, token, len, rules->now, rules->skew, &key, who))
		return TOK_OK;
	r = token_verify(token, rules, who, e);
	if (r == TOK_OK && a->tokens != NULL)
		tokencache_put(a->tokens, &key, who);
	return r;
}

/* Why a cookie's token is not used, for the log; NULL when it may be. */
static const char *
cookie_stale(int64_t uat, const struct principal *who)
{
	if (uat == REQUEST_UAT_MISSING)
		return "no __client_uat cookie";
	if (uat < 0)
		return "__client_uat is not a number";
	if (uat == 0)
		return "__client_uat is 0 (signed out)";
	if (who->issued_at < 0)
		return "the token has no iat to compare with __client_uat";
	if (uat > who->issued_at)
		return "the token was issued before __client_uat";
	return NULL;
}

/*
 * Verifies the candidates in turn; the first that passes wins. A token
 * whose kid the network keys lack makes one keycache_kid_miss call (it
 * decides whether to fetch) and is checked again with what that brings.
 * The reason logged for a refusal is the first candidate's.
 */
enum auth_result
auth_principal(struct auth *a, const struct request *req, time_t now,
    struct principal *who, const char **message, struct err *e)
{
	const struct config *cfg = a->cfg;
	char *cand[CREDENTIALS_MAX] = {NULL};
	int64_t uat[CREDENTIALS_MAX];
	struct token_rules rules;
	struct keyset *keys = NULL;
	const char *first = NULL, *why;
	enum token_result r;
	enum cred_source src;
	size_t n = 0, i;
	bool missed = false;
	enum auth_result res = AUTH_REFUSED;

	src = request_credentials(
	    req, cfg->parties.item, cfg->parties.n, cand, uat, &n, e);
	if (src == CRED_NONE) {
		err_set(e, "no credentials");
		*message = msg_none;
		res = AUTH_NONE;
		goto out;
	}
	if (src == CRED_BAD_HEADER) {
		*message = msg_bad_header;
		res = AUTH_BAD_HEADER;
		goto out;
	}
	if (!request_keys(a, now, &keys, e)) {
		*message = msg_unavailable;
		res = AUTH_UNAVAILABLE;
		goto out;
	}
	memset(&rules, 0, sizeof(rules));
	rules.keys = keys;
	rules.issuer = cfg->issuer;
	rules.parties = cfg->parties.item;
	rules.nparties = cfg->parties.n;
	rules.skew = cfg->clock_skew;
	rules.now = now;
	for (i = 0; i < n; i++) {
		struct err te = {{0}};
		const char *msg;

		r = verify(a, cand[i], &rules, who, &te);
		if (r == TOK_KEY && a->net != NULL && !missed) {
			missed = true;
			if (keycache_kid_miss(a->net, &a->src, now, &keys)) {
				rules.keys = keys;
				tokencache_keys(
				    a->tokens, keycache_generation(a->net));
				memset(&te, 0, sizeof(te));
				r = verify(a, cand[i], &rules, who, &te);
			}
		}
		msg = token_result_message(r);
		if (r == TOK_OK && src == CRED_COOKIE &&
		    (why = cookie_stale(uat[i], who)) != NULL) {
			err_set(&te, "session cookie refused: %s", why);
			memset(who, 0, sizeof(*who));
			msg = msg_cookie_stale;
			r = TOK__MAX;
		}
		if (r == TOK_OK) {
			res = AUTH_OK;
			goto out;
		}
		if (i == 0) {
			first = msg;
			err_set(e, "%s", te.msg);
		}
	}
	*message = first;
out:
	for (i = 0; i < n; i++) {
		if (cand[i] != NULL)
			explicit_bzero(cand[i], strlen(cand[i]));
		free(cand[i]);
	}
	return res;
}
