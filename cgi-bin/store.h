/* SPDX-License-Identifier: MIT */
/* store.h: PostgreSQL: connect, and the one reuse/refresh/create call */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include "err.h"

struct store;

/* What store_acquire found; response.c maps each to the client's answer. */
enum store_result {
	STORE_OK,	   /* *s filled */
	STORE_NO_USER,	   /* the user has no row in users */
	STORE_INACTIVE,	   /* the user's row says is_active = false */
	STORE_ROLE_DENIED, /* the user's role is not an allowed one */
	STORE_UNAVAILABLE, /* the server cannot be reached */
	STORE_ERROR,	   /* anything else */
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
};

struct session {
	char *token; /* chatKitSessionId */
	char *device_id;
	char *user_id;
	char *workflow_id;
	char *created_at; /* ISO-8601 UTC with ms */
	char *expires_at;
	char *metadata; /* JSON object text */
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

#endif
