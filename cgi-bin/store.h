/* SPDX-License-Identifier: MIT */
/* store.h: the session calls: acquire, list, revoke, the gate's check and
 * cleanup */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include "err.h"

struct store;

/*
 * What a call found; handler.c and gate.c map each to the client's
 * answer.
 */
enum store_result {
	STORE_OK,	    /* *s filled */
	STORE_NO_SESSION,   /* the gate's check: no active, unexpired session
			       has this token (unknown, expired, revoked) */
	STORE_NO_USER,	    /* the user has no row in users */
	STORE_INACTIVE,	    /* the user's row says is_active = false */
	STORE_ROLE_DENIED,  /* the user's role is not an allowed one */
	STORE_RATE_LIMITED, /* a create past CHATKIT_CREATE_RATE; the gate's
			       check: a request past CHATKIT_SESSION_RATE */
	STORE_UNAVAILABLE,  /* the server cannot be reached */
	STORE_TIMEOUT,	    /* no answer by the deadline, or the server's own
			       statement or lock timeout: not retried */
	STORE_ERROR,	    /* anything else */
	STORE__MAX
};

struct session_query {
	const char *user_id;	 /* token's sub */
	const char *device_id;	 /* NULL: any device */
	const char *metadata;	 /* JSON object text, NULL: {} */
	const char *workflow_id; /* stored with a new row */
	long ttl;		 /* seconds */
	long threshold;		 /* seconds */
	char *const *roles;	 /* allowed roles */
	size_t nroles;		 /* 0: every role */
	long max_devices;	 /* active sessions per user; 0: no cap */
	long create_rate;	 /* creates per user per hour; 0: no limit */
	long timeout;		 /* seconds for connect, lock waits and the
				    statement together (CHATKIT_DB_TIMEOUT) */
};

struct session {
	char *token; /* chatKitSessionId */
	char *device_id;
	char *user_id;
	char *workflow_id;
	char *created_at; /* ISO-8601 UTC with ms */
	char *expires_at;
	char *metadata;	  /* JSON object text */
	long retry_after; /* seconds, with STORE_RATE_LIMITED */
};

/* What the gate asks of one session token. */
struct check_query {
	const char *token;  /* the Bearer value, a v4 UUID's text */
	char *const *roles; /* allowed roles */
	size_t nroles;	    /* 0: every role */
	long rate;	    /* requests per session a minute; 0: no limit */
	long timeout;	    /* seconds in all (CHATKIT_DB_TIMEOUT) */
};

/* A session that passed the gate's check. */
struct session_check {
	char *user_id; /* users.clerk_user_id */
	char *device_id;
	char *expires_at; /* ISO-8601 UTC with ms */
	char *role;	  /* users.role */
	long retry_after; /* seconds, with STORE_RATE_LIMITED */
};

struct cleanup_counts {
	long expired;	      /* active rows marked expired */
	long deleted_expired; /* expired rows deleted */
	long deleted_revoked; /* revoked rows deleted */
};

/* A store that connects on first use (url NULL: libpq's environment). */
struct store *store_new(const char *url);
void store_free(struct store *);

/*
 * Runs the decision for q in one statement (one transaction). STORE_OK
 * fills *s (free with store_session_free either way); any other result
 * puts the reason for the log in e.
 */
enum store_result store_acquire(struct store *, const struct session_query *q,
    struct session *s, struct err *e);
void store_session_free(struct session *);

/*
 * The active sessions of q->user_id (user checks with q->roles), newest
 * first, at most limit, as the text of a JSON array in *json (the caller
 * frees it). Never a session token.
 */
enum store_result store_list(struct store *, const struct session_query *q,
    long limit, char **json, struct err *e);

/*
 * Revokes q->user_id's active session on q->device_id, or every one when
 * it is NULL (user checks with q->roles); *revoked is how many.
 */
enum store_result store_revoke(struct store *, const struct session_query *q,
    long *revoked, struct err *e);

/*
 * The gate's check of q->token (sql/005_gate.sql), one statement (named
 * on a kept connection of our own, as store_acquire's): STORE_OK fills
 * *c; STORE_NO_SESSION, STORE_INACTIVE, STORE_ROLE_DENIED and
 * STORE_RATE_LIMITED (c->retry_after set) refuse; the rest are the
 * database's failures, with the reason in e. Free *c with
 * store_check_free either way.
 */
enum store_result store_check_session(struct store *,
    const struct check_query *q, struct session_check *c, struct err *e);
void store_check_free(struct session_check *);

/*
 * One batch of --cleanup in one transaction: marks at most batch expired
 * sessions, deletes at most batch expired and batch revoked rows older
 * than days. Rows a request holds are skipped.
 */
enum store_result store_cleanup_batch(struct store *, long days, long batch,
    struct cleanup_counts *c, struct err *e);

#endif
