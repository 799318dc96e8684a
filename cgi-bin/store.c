/* SPDX-License-Identifier: MIT */
/* store.c: the chatkit_*() calls: acquire, list, revoke, the gate's check
 * and cleanup, on top of db.c */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "uuid.h"

#define ROLES_TEXT_MAX 4096 /* bytes of the text[] literal */
#define ACQUIRE_PARAMS 11
#define CLEANUP_TIMEOUT 3600 /* seconds for one --cleanup batch */

/*
 * One round trip, one transaction. No session state (no SET, a
 * transaction-scoped lock), so pgbouncer's transaction pooling is safe;
 * a named statement only on a connection shown to be a backend of our
 * own (db_exec).
 */
static const struct db_stmt acquire_stmt = {
    .sql = "SELECT outcome, session_token, device_id, user_id, workflow_id,"
	   " created_at, expires_at, metadata::text, retry_after"
	   " FROM chatkit_acquire_session($1, $2, $3, $4::integer,"
	   " $5::integer, $6::jsonb, $7::text[], $8::uuid, $9::uuid,"
	   " $10::integer, $11::integer)",
    .nparams = ACQUIRE_PARAMS,
    .what = "chatkit_acquire_session",
    .named = "chatkit_acquire_",
};

/*
 * The read-only first step on a new backend (sql/003_find.sql): a new
 * backend compiles the PL/pgSQL of chatkit_acquire_session on its first
 * call, which every plain CGI request would pay even when it only reuses
 * a session. A warm backend (behind a pooler) runs the compiled function
 * faster than this plain SQL one, which is planned on every call
 * (docs/performance.md). Same columns; outcome "miss" means: ask
 * chatkit_acquire_session.
 */
static const struct db_stmt find_stmt = {
    .sql = "SELECT outcome, session_token, device_id, user_id, workflow_id,"
	   " created_at, expires_at, metadata::text"
	   " FROM chatkit_find_session($1, $2, $3::integer, $4::text[])",
    .nparams = 4,
    .what = "chatkit_find_session",
};

/* The caller's active sessions, one JSON array (sql/004_manage.sql). */
static const struct db_stmt list_stmt = {
    .sql = "SELECT outcome, sessions::text"
	   " FROM chatkit_list_sessions($1, $2::text[], $3::integer)",
    .nparams = 3,
    .what = "chatkit_list_sessions",
};

/* Revokes one device's active session ($2) or all ($2 NULL). */
static const struct db_stmt revoke_stmt = {
    .sql = "SELECT outcome, revoked"
	   " FROM chatkit_revoke_sessions($1, $2, $3::text[])",
    .nparams = 3,
    .what = "chatkit_revoke_sessions",
};

/*
 * The gate's check: one statement per request to the ChatKit server, so
 * named on a kept connection of our own, as the acquire call is. No row:
 * no active session has the token.
 */
static const struct db_stmt check_stmt = {
    .sql = "SELECT outcome, retry_after, user_id, device_id, expires_at,"
	   " role FROM chatkit_check_session($1, $2::text[], $3::integer)",
    .nparams = 3,
    .what = "chatkit_check_session",
    .named = "chatkit_check_",
};

/* One batch of --cleanup: one statement, one short transaction. */
static const struct db_stmt cleanup_stmt = {
    .sql = "SELECT expired, deleted_expired, deleted_revoked"
	   " FROM chatkit_cleanup_batch($1::integer, $2::integer)",
    .nparams = 2,
    .what = "chatkit_cleanup_batch",
};

struct store {
	struct db *db;
};

/* What each end of a database call means to the caller. */
static const enum store_result db_results[DB__MAX] = {
    STORE_OK,	       /* DB_OK */
    STORE_UNAVAILABLE, /* DB_UNAVAILABLE */
    STORE_TIMEOUT,     /* DB_TIMEOUT */
    STORE_ERROR,       /* DB_ERROR */
};

struct store *
store_new(const char *url)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->db = db_new(url)) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	db_free(st->db);
	free(st);
}

/* '{"a","b"}' with '"' and '\' escaped; false when it does not fit. */
static bool
roles_literal(char *const *roles, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	const char *p;

	if (outsz < 3)
		return false;
	out[o++] = '{';
	for (i = 0; i < n; i++) {
		if (o + 2 >= outsz)
			return false;
		if (i > 0)
			out[o++] = ',';
		out[o++] = '"';
		for (p = roles[i]; *p != '\0'; p++) {
			if (o + 4 >= outsz)
				return false;
			if (*p == '"' || *p == '\\')
				out[o++] = '\\';
			out[o++] = *p;
		}
		out[o++] = '"';
	}
	if (o + 2 > outsz)
		return false;
	out[o++] = '}';
	out[o] = '\0';
	return true;
}

/*
 * The allowed-roles parameter of a call: *param is a text[] literal of
 * the roles written into buf, or NULL when every role may. False, with
 * the reason in e, when the literal does not fit.
 */
static bool
roles_param(char *const *roles, size_t nroles, char *buf, size_t size,
    const char **param, struct err *e)
{
	*param = NULL;
	if (nroles == 0)
		return true;
	if (!roles_literal(roles, nroles, buf, size)) {
		err_set(e, "CHATKIT_ALLOWED_ROLES is too long");
		return false;
	}
	*param = buf;
	return true;
}

static char *
field(PGresult *res, int col, struct err *e)
{
	char *s;

	if (PQgetisnull(res, 0, col))
		return NULL;
	if ((s = strdup(PQgetvalue(res, 0, col))) == NULL)
		err_set(e, "database: out of memory");
	return s;
}

void
store_session_free(struct session *s)
{
	free(s->token);
	free(s->device_id);
	free(s->user_id);
	free(s->workflow_id);
	free(s->created_at);
	free(s->expires_at);
	free(s->metadata);
	memset(s, 0, sizeof(*s));
}

/*
 * The first step on a new backend: its result when it settles the
 * request (or failed: db_call reports that), NULL when the acquire call
 * must run: a "miss", or a database whose migrations predate
 * chatkit_find_session (undefined function).
 */
static PGresult *
find(struct db *db, const char *const *acquire_params)
{
	/* user, device, threshold and roles, as the acquire call has them */
	const char *params[4] = {acquire_params[0], acquire_params[1],
	    acquire_params[4], acquire_params[6]};
	const char *code;
	PGresult *res;

	if ((res = db_exec(db, &find_stmt, params)) == NULL)
		return NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (PQntuples(res) == 1 && PQnfields(res) == 8 &&
		    strcmp(PQgetvalue(res, 0, 0), "miss") != 0)
			return res;
	} else {
		code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (code == NULL || strcmp(code, "42883") != 0)
			return res;
	}
	PQclear(res);
	return NULL;
}

/* The acquire call's parameters; the two UUIDs are new on every try. */
struct acquire {
	const char *params[ACQUIRE_PARAMS];
	char uuids[2][UUID_TEXT_SIZE]; /* the id and the token of a new row */
};

/* One try of the acquire call: on a new backend, the find step first. */
static bool
acquire_try(struct db *db, void *arg, PGresult **res, struct err *e)
{
	struct acquire *a = arg;

	if (!uuid_v4(a->uuids, 2)) {
		err_set(e, "getrandom failed: %s", strerror(errno));
		return false;
	}
	if (db_new_backend(db) && (*res = find(db, a->params)) != NULL)
		return true;
	*res = db_exec(db, &acquire_stmt, a->params);
	return true;
}

/* The outcome column of a refusal, and what the log says of it. */
static const struct {
	const char *outcome;
	enum store_result result;
	const char *reason;
} refusals[] = {
    {"no_user", STORE_NO_USER, "user has no row in users"},
    {"inactive", STORE_INACTIVE, "user is inactive"},
    {"role_denied", STORE_ROLE_DENIED,
	"user's role is not in CHATKIT_ALLOWED_ROLES"},
};

/* STORE_OK, or the refusal an outcome column names (reason in e). */
static enum store_result
refusal(const char *outcome, struct err *e)
{
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strcmp(outcome, refusals[i].outcome) == 0) {
			err_set(e, "%s", refusals[i].reason);
			return refusals[i].result;
		}
	return STORE_OK;
}

enum store_result
store_acquire(struct store *st, const struct session_query *q,
    struct session *s, struct err *e)
{
	struct acquire a;
	char ttl[24], thr[24], roles[ROLES_TEXT_MAX], cap[24], rate[24];
	const char *roles_p, *outcome;
	PGresult *res = NULL;
	enum store_result rc = STORE_ERROR;
	enum db_result dr;

	memset(s, 0, sizeof(*s));
	if (!roles_param(
		q->roles, q->nroles, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	snprintf(ttl, sizeof(ttl), "%ld", q->ttl);
	snprintf(thr, sizeof(thr), "%ld", q->threshold);
	snprintf(cap, sizeof(cap), "%ld", q->max_devices);
	snprintf(rate, sizeof(rate), "%ld", q->create_rate);
	a.params[0] = q->user_id;
	a.params[1] = q->device_id;
	a.params[2] = q->workflow_id;
	a.params[3] = ttl;
	a.params[4] = thr;
	a.params[5] = q->metadata;
	a.params[6] = roles_p;
	a.params[7] = a.uuids[0];
	a.params[8] = a.uuids[1];
	a.params[9] = cap;
	a.params[10] = rate;
	dr = db_call(
	    st->db, q->timeout, acquire_stmt.what, acquire_try, &a, &res, e);
	if (dr != DB_OK)
		return db_results[dr];
	/* Eight columns from chatkit_find_session, nine from acquire. */
	if (PQntuples(res) != 1 || PQnfields(res) < 8) {
		err_set(e, "chatkit_acquire_session returned %d rows",
		    PQntuples(res));
		goto out;
	}
	outcome = PQgetvalue(res, 0, 0);
	if ((rc = refusal(outcome, e)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if (strcmp(outcome, "rate_limited") == 0) {
		if (PQnfields(res) < 9 || PQgetisnull(res, 0, 8)) {
			err_set(e, "rate_limited without retry_after");
			goto out;
		}
		s->retry_after = strtol(PQgetvalue(res, 0, 8), NULL, 10);
		err_set(e,
		    "CHATKIT_CREATE_RATE (%ld an hour) reached; "
		    "retry in %ld s",
		    q->create_rate, s->retry_after);
		rc = STORE_RATE_LIMITED;
		goto out;
	}
	if ((s->token = field(res, 1, e)) == NULL ||
	    (s->device_id = field(res, 2, e)) == NULL ||
	    (s->user_id = field(res, 3, e)) == NULL ||
	    (s->workflow_id = field(res, 4, e)) == NULL ||
	    (s->created_at = field(res, 5, e)) == NULL ||
	    (s->expires_at = field(res, 6, e)) == NULL ||
	    (s->metadata = field(res, 7, e)) == NULL) {
		err_set(e, "the session call returned a NULL field");
		store_session_free(s);
		goto out;
	}
	rc = STORE_OK;
out:
	PQclear(res);
	return rc;
}

/*
 * One unnamed call that answers one row: its result (the caller
 * PQclears it), or NULL with *rc and e set.
 */
static PGresult *
one_row(struct store *st, long timeout, const struct db_stmt *s,
    const char *const *params, enum store_result *rc, struct err *e)
{
	PGresult *res;
	enum db_result dr;

	if ((dr = db_query(st->db, timeout, s, params, &res, e)) != DB_OK) {
		*rc = db_results[dr];
		return NULL;
	}
	if (PQntuples(res) == 1)
		return res;
	err_set(e, "%s returned %d rows", s->what, PQntuples(res));
	*rc = STORE_ERROR;
	PQclear(res);
	return NULL;
}

/* "[...]" text of chatkit_list_sessions: the caller frees *json. */
enum store_result
store_list(struct store *st, const struct session_query *q, long limit,
    char **json, struct err *e)
{
	char roles[ROLES_TEXT_MAX], lim[24];
	const char *params[3], *roles_p;
	enum store_result rc = STORE_ERROR;
	PGresult *res;

	*json = NULL;
	if (!roles_param(
		q->roles, q->nroles, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	snprintf(lim, sizeof(lim), "%ld", limit);
	params[0] = q->user_id;
	params[1] = roles_p;
	params[2] = lim;
	if ((res = one_row(st, q->timeout, &list_stmt, params, &rc, e)) == NULL)
		return rc;
	if (PQnfields(res) != 2) {
		err_set(e, "chatkit_list_sessions returned %d columns",
		    PQnfields(res));
		goto out;
	}
	if ((rc = refusal(PQgetvalue(res, 0, 0), e)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((*json = field(res, 1, e)) == NULL) {
		err_set(e, "chatkit_list_sessions returned no list");
		goto out;
	}
	rc = STORE_OK;
out:
	PQclear(res);
	return rc;
}

enum store_result
store_revoke(struct store *st, const struct session_query *q, long *revoked,
    struct err *e)
{
	char roles[ROLES_TEXT_MAX];
	const char *params[3], *roles_p;
	enum store_result rc = STORE_ERROR;
	PGresult *res;

	*revoked = 0;
	if (!roles_param(
		q->roles, q->nroles, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	params[0] = q->user_id;
	params[1] = q->device_id;
	params[2] = roles_p;
	if ((res = one_row(st, q->timeout, &revoke_stmt, params, &rc, e)) ==
	    NULL)
		return rc;
	if (PQnfields(res) != 2 || PQgetisnull(res, 0, 1)) {
		err_set(e, "chatkit_revoke_sessions returned no count");
		goto out;
	}
	if ((rc = refusal(PQgetvalue(res, 0, 0), e)) != STORE_OK)
		goto out;
	*revoked = strtol(PQgetvalue(res, 0, 1), NULL, 10);
out:
	PQclear(res);
	return rc;
}

void
store_check_free(struct session_check *c)
{
	free(c->user_id);
	free(c->device_id);
	free(c->expires_at);
	free(c->role);
	memset(c, 0, sizeof(*c));
}

/* The outcome column of the gate's check, and what the log says of it. */
static const struct {
	const char *outcome;
	enum store_result result;
	const char *reason;
} check_outcomes[] = {
    {"ok", STORE_OK, ""},
    {"inactive", STORE_INACTIVE, "user is inactive"},
    {"role", STORE_ROLE_DENIED, "user's role is not in CHATKIT_ALLOWED_ROLES"},
    {"rate", STORE_RATE_LIMITED, "CHATKIT_SESSION_RATE reached"},
};

enum store_result
store_check_session(struct store *st, const struct check_query *q,
    struct session_check *c, struct err *e)
{
	char roles[ROLES_TEXT_MAX], rate[24];
	const char *params[3], *roles_p, *outcome;
	enum store_result rc = STORE_ERROR;
	PGresult *res = NULL;
	enum db_result dr;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!roles_param(
		q->roles, q->nroles, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	snprintf(rate, sizeof(rate), "%ld", q->rate);
	params[0] = q->token;
	params[1] = roles_p;
	params[2] = rate;
	if ((dr = db_query(st->db, q->timeout, &check_stmt, params, &res, e)) !=
	    DB_OK)
		return db_results[dr];
	if (PQntuples(res) == 0) {
		err_set(e, "no active session has this token");
		rc = STORE_NO_SESSION;
		goto out;
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 6) {
		err_set(e, "chatkit_check_session returned %d rows",
		    PQntuples(res));
		goto out;
	}
	outcome = PQgetvalue(res, 0, 0);
	for (i = 0; i < sizeof(check_outcomes) / sizeof(check_outcomes[0]); i++)
		if (strcmp(outcome, check_outcomes[i].outcome) == 0)
			break;
	if (i == sizeof(check_outcomes) / sizeof(check_outcomes[0])) {
		err_set(e, "chatkit_check_session: outcome %.32s", outcome);
		goto out;
	}
	if (check_outcomes[i].result == STORE_RATE_LIMITED) {
		if (PQgetisnull(res, 0, 1)) {
			err_set(e, "rate without retry_after");
			goto out;
		}
		c->retry_after = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		err_set(e,
		    "CHATKIT_SESSION_RATE (%ld a minute) reached; "
		    "retry in %ld s",
		    q->rate, c->retry_after);
		rc = STORE_RATE_LIMITED;
		goto out;
	}
	if (check_outcomes[i].result != STORE_OK) {
		err_set(e, "%s", check_outcomes[i].reason);
		rc = check_outcomes[i].result;
		goto out;
	}
	if ((c->user_id = field(res, 2, e)) == NULL ||
	    (c->device_id = field(res, 3, e)) == NULL ||
	    (c->expires_at = field(res, 4, e)) == NULL ||
	    (c->role = field(res, 5, e)) == NULL) {
		err_set(e, "chatkit_check_session returned a NULL field");
		store_check_free(c);
		goto out;
	}
	rc = STORE_OK;
out:
	PQclear(res);
	return rc;
}

enum store_result
store_cleanup_batch(struct store *st, long days, long batch,
    struct cleanup_counts *c, struct err *e)
{
	char d[24], b[24];
	const char *params[2] = {d, b};
	enum store_result rc = STORE_ERROR;
	PGresult *res;

	memset(c, 0, sizeof(*c));
	snprintf(d, sizeof(d), "%ld", days);
	snprintf(b, sizeof(b), "%ld", batch);
	if ((res = one_row(
		 st, CLEANUP_TIMEOUT, &cleanup_stmt, params, &rc, e)) == NULL)
		return rc;
	if (PQnfields(res) != 3 || PQgetisnull(res, 0, 0) ||
	    PQgetisnull(res, 0, 1) || PQgetisnull(res, 0, 2)) {
		err_set(e, "chatkit_cleanup_batch returned no counts");
		goto out;
	}
	c->expired = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	c->deleted_expired = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	c->deleted_revoked = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	rc = STORE_OK;
out:
	PQclear(res);
	return rc;
}
