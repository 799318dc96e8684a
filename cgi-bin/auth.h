/* SPDX-License-Identifier: MIT */
/* auth.h: a request's credentials to a principal, and all it takes */
/*
 * The one owner of authentication. auth.c picks the key source from the
 * settings and keeps what a process learns between requests; the units
 * below it are used by auth.c alone:
 *
 *	keysource.c	PEM text, a PEM file or a JWKS file, read once
 *	keycache.c	network keys: the shared cache file, freshness,
 *			the kid-miss rule (fetch.c does the HTTPS GET)
 *	tokencache.c	tokens that passed, for a FastCGI process
 *	token.c		one token: header, RS256 (keys.c), claims
 *
 * config.c holds the settings it reads; request.c finds the credentials;
 * handler.c turns an auth_result into an answer.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "request.h"
#include "token.h"

#define AUTH_TOKEN_CACHE 0x1 /* auth_new: keep tokens that passed */

struct auth;

enum auth_result {
	AUTH_OK,	  /* *who is the caller */
	AUTH_NONE,	  /* no credentials were sent */
	AUTH_BAD_HEADER,  /* an Authorization header that is not Bearer */
	AUTH_REFUSED,	  /* no token sent passed */
	AUTH_UNAVAILABLE, /* network keys cannot be had right now */
	AUTH__MAX
};

/*
 * One per process, made from cfg, which it borrows for its whole life
 * (free it before cfg). With cfg->ok it reads the keys now, before any
 * request byte; network keys are fetched by the requests that need
 * them. flags: AUTH_TOKEN_CACHE for a process that serves many requests.
 * NULL only when memory runs out, which auth_ready then reports.
 */
struct auth *auth_new(const struct config *cfg, unsigned flags);
void auth_free(struct auth *);

/*
 * True when a can verify tokens; false with a client-safe sentence in
 * *public_msg (borrowed, as long as a lives) and the reason in e (never
 * key text) when its keys could not be loaded. Not meaningful when the
 * config it was made from is not ok.
 */
bool auth_ready(const struct auth *a, const char **public_msg, struct err *e);

/*
 * True when a key file read by auth_new has changed since (or a is
 * NULL): a FastCGI process then makes a new auth, whose token cache
 * starts empty.
 */
bool auth_stale(const struct auth *);

/*
 * The caller of req at now: AUTH_OK fills *who. Any other result sets
 * *message to a sentence for the client (static) and e to the reason
 * for the log; *who may still name the user a refused token claimed.
 */
enum auth_result auth_principal(struct auth *a, const struct request *req,
    time_t now, struct principal *who, const char **message, struct err *e);

#endif
