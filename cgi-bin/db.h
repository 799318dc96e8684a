/* SPDX-License-Identifier: MIT */
/* db.h: libpq plumbing: connect, one deadline per call, cancel, retries,
 * named statements */
#ifndef DB_H
#define DB_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "err.h"

struct db;

/* How a call ended; store.c maps each to a result of its own. */
enum db_result {
	DB_OK,		/* *res has rows */
	DB_UNAVAILABLE, /* no connection, or a kept one lost twice */
	DB_TIMEOUT,	/* the deadline passed (the statement was cancelled),
			   or the server's statement or lock timeout */
	DB_ERROR,	/* anything else */
	DB__MAX
};

/* A statement and what it is called. */
struct db_stmt {
	const char *sql;
	int nparams;
	const char *what;  /* names the call in the log */
	const char *named; /* NULL, or the prefix of its name as a named
			      statement on a backend of our own (db.c) */
};

/*
 * One try of a call, on a connection that is up: sets *res to what came
 * back (NULL: nothing). False when the try failed for a reason of the
 * caller's own, given in e: the call then ends with DB_ERROR.
 */
typedef bool (*db_try_fn)(
    struct db *, void *arg, PGresult **res, struct err *e);

/* A database that connects on first use (url NULL: libpq's environment). */
struct db *db_new(const char *url);
void db_free(struct db *);

/*
 * Runs fn on a connection, within timeout seconds in all (connecting
 * included): DB_OK with the rows in *res (the caller PQclears it), or
 * another result with *res NULL and the reason in e. A serialization
 * failure, a deadlock, a unique race and a kept connection that died
 * get one more try; a timeout never does. what names the call.
 */
enum db_result db_call(struct db *, long timeout, const char *what,
    db_try_fn fn, void *arg, PGresult **res, struct err *e);

/* db_call of one statement: db_exec of s with params. */
enum db_result db_query(struct db *, long timeout, const struct db_stmt *s,
    const char *const *params, PGresult **res, struct err *e);

/*
 * Within a try: sends s with params and waits for its result (NULL when
 * nothing came); through its named statement where there is one.
 */
PGresult *db_exec(
    struct db *, const struct db_stmt *s, const char *const *params);

/* Within a try: the connection is new, to a server's own backend. */
bool db_new_backend(const struct db *);

#endif
