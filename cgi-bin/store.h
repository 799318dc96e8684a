/* SPDX-License-Identifier: MIT */
/* store.h: PostgreSQL: connect, and the one reuse/refresh/create call */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include "err.h"
#include "response.h"

struct store;

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
	char *metadata;	  /* JSON object text */
	char outcome[16]; /* reused, refreshed or created */
};

/* A store that connects on first use (url NULL: libpq's environment). */
struct store *store_new(const char *url);
void store_free(struct store *);

/*
 * Runs the decision for q in one statement (one transaction). ST_OK fills
 * *s (free with store_session_free); ST_FORBIDDEN puts the reason in msg;
 * ST_UNAVAILABLE when the server cannot be reached; ST_INTERNAL otherwise.
 */
enum status store_acquire(struct store *, const struct session_query *q,
    struct session *s, char *msg, size_t msgsz, struct err *e);
void store_session_free(struct session *);

#endif
