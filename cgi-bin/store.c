/* SPDX-License-Identifier: MIT */
/* store.c: libpq connection and the chatkit_*() calls: acquire, list,
 * revoke and cleanup */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "uuid.h"

#define ROLES_TEXT_MAX 4096 /* bytes of the text[] literal */
#define ACQUIRE_TRIES 2	    /* a serialization failure is retried once */
#define ACQUIRE_PARAMS 11
#define CANCEL_GRACE_MS 1000 /* past the deadline: a cancel, then the end */
#define CANCEL_MSG_MAX 256   /* bytes of PQcancel's reason, with its NUL */
#define CLEANUP_TIMEOUT 3600 /* seconds for one --cleanup batch */

/*
 * One round trip, one transaction. No session state (no SET, a
 * transaction-scoped lock), so pgbouncer's transaction pooling is safe;
 * a named statement only on a connection shown to be a backend of our
 * own (see own_backend_prepare).
 */
static const char SQL_ACQUIRE[] =
    "SELECT outcome, session_token, device_id, user_id, workflow_id,"
    " created_at, expires_at, metadata::text, retry_after"
    " FROM chatkit_acquire_session($1, $2, $3, $4::integer, $5::integer,"
    " $6::jsonb, $7::text[], $8::uuid, $9::uuid, $10::integer,"
    " $11::integer)";

/* The caller's active sessions, one JSON array (sql/004_manage.sql). */
static const char SQL_LIST[] =
    "SELECT outcome, sessions::text"
    " FROM chatkit_list_sessions($1, $2::text[], $3::integer)";

/* Revokes one device's active session ($2) or all ($2 NULL). */
static const char SQL_REVOKE[] =
    "SELECT outcome, revoked"
    " FROM chatkit_revoke_sessions($1, $2, $3::text[])";

/* One batch of --cleanup: one statement, one short transaction. */
static const char SQL_CLEANUP[] =
    "SELECT expired, deleted_expired, deleted_revoked"
    " FROM chatkit_cleanup_batch($1::integer, $2::integer)";

/*
 * The read-only first step on a new backend (sql/003_find.sql): a new
 * backend compiles the PL/pgSQL of chatkit_acquire_session on its first
 * call, which every plain CGI request would pay even when it only reuses
 * a session. A warm backend (behind a pooler) runs the compiled function
 * faster than this plain SQL one, which is planned on every call
 * (docs/performance.md). Same columns; outcome "miss" means: ask
 * chatkit_acquire_session.
 */
static const char SQL_FIND[] =
    "SELECT outcome, session_token, device_id, user_id, workflow_id,"
    " created_at, expires_at, metadata::text"
    " FROM chatkit_find_session($1, $2, $3::integer, $4::text[])";

/*
 * Linux's largest process id (PID_MAX_LIMIT on 64-bit; the BSDs' limits
 * are lower). A server's BackendKeyData names its own process, an id in
 * 1..BACKEND_PID_MAX. A transaction pooler makes up a key of its own:
 * pgbouncer's is random, outside that range 999 times in 1000. A miss
 * either way costs speed only: the find step answers the same.
 */
#define BACKEND_PID_MAX 4194304

/* Named after a hash of its text: the name changes with the text. */
#define STMT_PREFIX "chatkit_acquire_"

enum prep {
	PREP_UNKNOWN, /* not looked at yet on this connection */
	PREP_READY,   /* SQL_ACQUIRE is prepared as st->stmt */
	PREP_OFF      /* a pooler, or a failure: unnamed statements only */
};

struct store {
	PGconn *conn;	    /* NULL until first use */
	char *url;	    /* CHATKIT_DATABASE_URL or NULL */
	enum prep prep;	    /* of conn */
	char stmt[32];	    /* STMT_PREFIX and a hash of SQL_ACQUIRE */
	long long deadline; /* of this request, ms on the monotonic clock */
	bool timed_out;	    /* this request's deadline passed */
};

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events or the deadline passes: 1 ready
 * (or hung up), 0 deadline passed, -1 error (no fd, poll failed).
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int rc;

	if (pfd.fd < 0)
		return -1;
	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc != 0)
			return rc < 0 ? -1 : 1;
	}
}

/* wait_fd on conn's socket. */
static int
wait_socket(PGconn *conn, short events, long long deadline)
{
	return wait_fd(PQsocket(conn), events, deadline);
}

/* Server notices go to our log, one line each, like our own lines. */
static void
notice_log(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r'))
		n--;
	log_warnx("database: %.*s", (int)(n > INT_MAX ? INT_MAX : n), message);
}

/* Closes the connection; the next request opens a new one. */
static void
drop_connection(struct store *st)
{
	if (st->conn != NULL)
		PQfinish(st->conn);
	st->conn = NULL;
	st->prep = PREP_UNKNOWN;
}

/* FNV-1a, 32 bits: a name for a statement text, not a security measure. */
static unsigned long
text_hash(const char *t)
{
	unsigned long h = 2166136261UL;

	for (; *t != '\0'; t++)
		h = ((h ^ (unsigned char)*t) * 16777619UL) & 0xffffffffUL;
	return h;
}

struct store *
store_new(const char *url)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (url != NULL && (st->url = strdup(url)) == NULL) {
		free(st);
		return NULL;
	}
	st->prep = PREP_UNKNOWN;
	snprintf(st->stmt, sizeof(st->stmt), STMT_PREFIX "%08lx",
	    text_hash(SQL_ACQUIRE));
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	drop_connection(st);
	free(st->url);
	free(st);
}

/*
 * Whether the connection's settings come from a pg_service.conf entry
 * (PGSERVICE, or service= in the URL). libpq fills in a service's values
 * only where nothing was given, so our defaults below would silently win
 * over what the operator wrote there; with a service, there are none.
 */
static bool
service_named(const char *url)
{
	PQconninfoOption *opts, *o;
	bool named = false;

	if (getenv("PGSERVICE") != NULL)
		return true;
	if (url == NULL)
		return false;
	/* A URL libpq cannot parse fails to connect anyway. */
	if ((opts = PQconninfoParse(url, NULL)) == NULL)
		return true;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "service") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			named = true;
	PQconninfoFree(opts);
	return named;
}

/*
 * The connect_timeout libpq settled on for conn (URL, PGCONNECT_TIMEOUT
 * or a service entry) in ms, as libpq counts it (under 2 s is 2 s); -1
 * when none. An asynchronous connection leaves it to us.
 */
static long long
connect_timeout_ms(PGconn *conn)
{
	PQconninfoOption *opts, *o;
	long long ms = -1;
	long t;

	if ((opts = PQconninfo(conn)) == NULL)
		return -1;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 &&
		    o->val != NULL && o->val[0] != '\0') {
			t = strtol(o->val, NULL, 10);
			if (t > 0)
				ms = (t < 2 ? 2 : t) * 1000LL;
		}
	PQconninfoFree(opts);
	return ms;
}

/*
 * Whether the process id in the connection's BackendKeyData can be a
 * server process's: false means a pooler answered for the server, and
 * the backend behind it is one of its kept connections.
 */
static bool
backend_pid_plausible(PGconn *conn)
{
	int pid = PQbackendPID(conn);

	return pid > 0 && pid <= BACKEND_PID_MAX;
}

/*
 * A connection that is up, or false with the reason in e. *fresh tells
 * whether it was opened just now (a kept one may have died unseen). The
 * connection is made without blocking, so that it ends by the request's
 * deadline (or a shorter connect_timeout the user set).
 */
static bool
store_connect(struct store *st, bool *fresh, struct err *e)
{
	const char *keys[4], *vals[4];
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	long long deadline = st->deadline, ct;
	bool service;
	int n = 0, rc = 1;

	*fresh = false;
	if (st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK)
		return true;
	*fresh = true;
	drop_connection(st);
	/* Earlier keywords are overridden by what the URL itself sets. */
	service = service_named(st->url);
	/*
	 * GSSAPI encryption is tried first by default, which sets up
	 * Kerberos (krb5.conf, keytab and credential cache lookups) on every
	 * connection although a web server's CGI user has no ticket. Who
	 * uses it says so: PGGSSENCMODE, gssencmode= in the URL or in a
	 * service entry.
	 */
	if (!service && getenv("PGGSSENCMODE") == NULL) {
		keys[n] = "gssencmode";
		vals[n++] = "disable";
	}
	keys[n] = "application_name";
	vals[n++] = "chatkit-session";
	if (st->url != NULL) {
		keys[n] = "dbname";
		vals[n++] = st->url;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	if ((st->conn = PQconnectStartParams(keys, vals, 1)) == NULL) {
		err_set(e, "database: out of memory");
		return false;
	}
	PQsetNoticeProcessor(st->conn, notice_log, NULL);
	if ((ct = connect_timeout_ms(st->conn)) >= 0 &&
	    now_ms() + ct < deadline)
		deadline = now_ms() + ct;
	while (PQstatus(st->conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
	       ps != PGRES_POLLING_FAILED) {
		rc = wait_socket(st->conn,
		    ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (rc <= 0)
			break;
		ps = PQconnectPoll(st->conn);
	}
	if (ps == PGRES_POLLING_OK && PQstatus(st->conn) == CONNECTION_OK)
		return true;
	if (rc == 0)
		err_set(e, "database connection timed out");
	else
		err_set(e, "database connection failed: %s",
		    PQerrorMessage(st->conn));
	drop_connection(st);
	return false;
}

/*
 * The child's side of cancel_statement: PQcancel, then on fd 'y' when the
 * server confirmed the cancel, or 'n' and libpq's reason. PQcancel makes
 * system calls only (libpq allows it in a signal handler), so it is safe
 * in the child of a process that may have threads; _exit flushes nothing
 * of the parent's (FastCGI streams, stdio).
 */
static void
cancel_child(PGcancel *c, int fd)
{
	char msg[1 + CANCEL_MSG_MAX];
	size_t n = 1;

	msg[0] = 'y';
	if (!PQcancel(c, msg + 1, CANCEL_MSG_MAX)) {
		msg[0] = 'n';
		n += strlen(msg + 1);
	}
	if (write(fd, msg, n) != (ssize_t)n)
		_exit(1);
	_exit(0);
}

/*
 * Asks the server to cancel the running statement by the deadline: true
 * when it confirmed by then. PQcancel sends a request on a connection of
 * its own (pgbouncer passes it on to the server connection in use) and
 * waits for the server to close it, with no limit: a server or pooler
 * that stopped answering never does. So PQcancel runs in a child process,
 * killed and reaped at the deadline; the parent only waits on a pipe.
 * False, with the reason in e, when the cancel failed or is unconfirmed:
 * it may still reach the server later and end whatever runs then, so the
 * connection must not serve another statement.
 */
static bool
cancel_statement(struct store *st, long long deadline, struct err *e)
{
	char msg[2 + CANCEL_MSG_MAX];
	PGcancel *c = NULL;
	int fds[2] = {-1, -1}, rc = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid = -1;
	bool ended = false, ok = false;

	if ((c = PQgetCancel(st->conn)) == NULL) {
		err_set(e, "cancel request not sent: PQgetCancel failed");
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		err_set(
		    e, "cancel request not sent: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		err_set(
		    e, "cancel request not sent: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		cancel_child(c, fds[1]);
	}
	close(fds[1]);
	fds[1] = -1;
	/* The child writes less than msg holds: end of file is its exit. */
	while ((rc = wait_fd(fds[0], POLLIN, deadline)) > 0) {
		n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ended = n == 0;
			break;
		}
		got += (size_t)n;
	}
	msg[got] = '\0';
	if (rc == 0)
		err_set(e, "no answer to a cancel request within %d ms",
		    CANCEL_GRACE_MS);
	else if (!ended)
		err_set(e, "cancel request: waiting for its process: %s",
		    strerror(errno));
	else if (got > 0 && msg[0] == 'y')
		ok = true;
	else if (got > 0 && msg[0] == 'n')
		err_set(e, "cancel request failed: %s", msg + 1);
	else
		err_set(e, "cancel request failed: its process said nothing");
	if (!ended && kill(pid, SIGKILL) == -1)
		log_warnx("database: kill of the cancel process %ld: %s",
		    (long)pid, strerror(errno));
out:
	/* With SIGCHLD ignored the system reaps it: ECHILD, once it ended. */
	while (pid > 0 && waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	PQfreeCancel(c);
	return ok;
}

/*
 * The result of the query just sent (the last one, when a query gives
 * several), waiting no later than the request's deadline. Past it, the
 * statement is cancelled on the server and st->timed_out set; the cancel
 * and the statement's end then have CANCEL_GRACE_MS together. A cancel
 * not confirmed by then, a connection that stays silent even after one,
 * or one left inside a transaction is closed, so that a kept connection
 * is always usable by the next request. NULL when nothing came (the
 * reason is then PQerrorMessage's, or the timeout). The caller PQclears
 * the result.
 */
static PGresult *
get_result(struct store *st)
{
	PGresult *res = NULL, *r;
	long long deadline = st->deadline;
	struct err ce = {{0}};
	bool cancelled = false;
	int rc;

	for (;;) {
		while (!PQisBusy(st->conn)) {
			if ((r = PQgetResult(st->conn)) == NULL)
				goto out;
			PQclear(res);
			res = r;
		}
		rc = wait_socket(st->conn, POLLIN, deadline);
		if (rc == 0 && !cancelled) {
			st->timed_out = true;
			cancelled = true;
			deadline = now_ms() + CANCEL_GRACE_MS;
			if (cancel_statement(st, deadline, &ce))
				continue;
			log_warnx("database: %s; connection closed", ce.msg);
			PQclear(res);
			drop_connection(st);
			return NULL;
		}
		if (rc == 0) {
			log_warnx("database: the statement did not end within "
				  "%d ms of its cancel; connection closed",
			    CANCEL_GRACE_MS);
			PQclear(res);
			drop_connection(st);
			return NULL;
		}
		/* A lost connection: libpq turns it into an error result. */
		if (rc < 0 || !PQconsumeInput(st->conn)) {
			while ((r = PQgetResult(st->conn)) != NULL) {
				PQclear(res);
				res = r;
			}
			goto out;
		}
	}
out:
	if (st->timed_out && PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		drop_connection(st);
	return res;
}

/*
 * Each sends one query and waits for its result (get_result); NULL when
 * it could not be sent or nothing came.
 */
static PGresult *
exec_params(struct store *st, const char *sql, int n, const char *const *v)
{
	if (!PQsendQueryParams(st->conn, sql, n, NULL, v, NULL, NULL, 0))
		return NULL;
	return get_result(st);
}

static PGresult *
exec_prepared(struct store *st, int n, const char *const *v)
{
	if (!PQsendQueryPrepared(st->conn, st->stmt, n, v, NULL, NULL, 0))
		return NULL;
	return get_result(st);
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
 * q's roles written into buf, or NULL when every role may. False, with
 * the reason in e, when the literal does not fit.
 */
static bool
roles_param(const struct session_query *q, char *buf, size_t size,
    const char **param, struct err *e)
{
	*param = NULL;
	if (q->nroles == 0)
		return true;
	if (!roles_literal(q->roles, q->nroles, buf, size)) {
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
 * The first step on a fresh connection: its result when it settles the
 * request (or failed: the caller reports that), NULL when the caller must
 * run chatkit_acquire_session: a "miss", or a database whose migrations
 * predate chatkit_find_session (undefined function).
 */
static PGresult *
find(struct store *st, const struct session_query *q, const char *thr,
    const char *roles)
{
	const char *params[4] = {q->user_id, q->device_id, thr, roles};
	const char *code;
	PGresult *res;

	if ((res = exec_params(st, SQL_FIND, 4, params)) == NULL)
		return NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (PQntuples(res) == 1 && PQnfields(res) == 8 &&
		    strcmp(PQgetvalue(res, 0, 0), "miss") != 0)
			return res;
	} else {
		code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (code == NULL || strcmp(code, "42883") != 0 ||
		    st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK)
			return res;
	}
	PQclear(res);
	return NULL;
}

/*
 * A statement or lock wait that the server ended for taking too long
 * (statement_timeout, lock_timeout, or our own cancel): neither retried
 * nor a reason to give up the named statement.
 */
static bool
timed_out(const PGresult *res)
{
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return code != NULL &&
	       (strcmp(code, "57014") == 0 || strcmp(code, "55P03") == 0);
}

/* The log's reason for a STORE_TIMEOUT: ours, or the server's. */
static void
timeout_reason(
    const struct store *st, const PGresult *res, long timeout, struct err *e)
{
	if (st->timed_out)
		err_set(e,
		    "database: no answer within CHATKIT_DB_TIMEOUT (%ld s); "
		    "the statement was cancelled",
		    timeout);
	else
		err_set(e, "database: the server ended the statement: %s",
		    PQresultErrorMessage(res));
}

/* Failures worth one more try: serialization, deadlock, unique race. */
static bool
retryable(const PGresult *res)
{
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return code != NULL &&
	       (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0 ||
		   strcmp(code, "23505") == 0);
}

enum attempt {
	ATTEMPT_DONE,	/* res has rows */
	ATTEMPT_AGAIN,	/* run the call once more */
	ATTEMPT_FAILED, /* *rc and e are set */
};

/*
 * What one try of a call left (res may be NULL), for every call's retry
 * loop. A kept connection that died (server restart) gets one fresh try,
 * as a serialization failure or deadlock does: every call here is safe to
 * repeat, since a request that did commit is then simply reused. A
 * timeout is never retried. what names the call in the log.
 */
static enum attempt
attempt_result(struct store *st, const PGresult *res, bool fresh, int tries,
    long timeout, const char *what, enum store_result *rc, struct err *e)
{
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		return ATTEMPT_DONE;
	if (st->timed_out || (res != NULL && timed_out(res))) {
		timeout_reason(st, res, timeout, e);
		*rc = STORE_TIMEOUT;
		return ATTEMPT_FAILED;
	}
	if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
		if (!fresh && tries + 1 < ACQUIRE_TRIES) {
			drop_connection(st);
			return ATTEMPT_AGAIN;
		}
		err_set(e, "database connection lost: %s",
		    PQerrorMessage(st->conn));
		*rc = STORE_UNAVAILABLE;
		return ATTEMPT_FAILED;
	}
	if (res != NULL && retryable(res) && tries + 1 < ACQUIRE_TRIES)
		return ATTEMPT_AGAIN;
	err_set(e, "%s failed: %s", what,
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
	*rc = STORE_ERROR;
	return ATTEMPT_FAILED;
}

/*
 * On a kept connection (FastCGI), from its second request: parsing and
 * planning the call is a large part of the server's work for a reuse
 * (docs/performance.md). A named statement
 * is session state, which a transaction pooler (pgbouncer) would hand to
 * other clients or lose between transactions, so it is prepared only when
 * the backend is shown to be ours alone: the process id the server
 * reported at connect time (BackendKeyData) is the one pg_backend_pid()
 * gives. A pooler makes up its own, so behind one they differ (and one
 * no server process could have needs no asking). Any failure here only
 * means unnamed statements, as in CGI mode.
 */
static void
own_backend_prepare(struct store *st)
{
	PGresult *res;
	char pid[24];
	bool own;

	if (!backend_pid_plausible(st->conn)) {
		st->prep = PREP_OFF;
		return;
	}
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(st->conn));
	res = exec_params(st, "SELECT pg_backend_pid()", 0, NULL);
	own = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	      PQntuples(res) == 1 && PQnfields(res) == 1 &&
	      strcmp(PQgetvalue(res, 0, 0), pid) == 0;
	PQclear(res);
	/* A server too slow to say: look again on the next request. */
	if (st->timed_out || st->conn == NULL)
		return;
	st->prep = PREP_OFF;
	if (!own)
		return;
	res = NULL;
	if (PQsendPrepare(
		st->conn, st->stmt, SQL_ACQUIRE, ACQUIRE_PARAMS, NULL))
		res = get_result(st);
	if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
		st->prep = PREP_READY;
	else if (st->timed_out || st->conn == NULL)
		st->prep = PREP_UNKNOWN;
	PQclear(res);
}

/*
 * The acquire call, through the named statement when there is one. When
 * that fails for a reason a second try would not cure (the statement is
 * gone, 26000; its plan or its parameter types no longer fit a changed
 * function, 0A000, 42883, 42804; or anything else), the connection goes
 * back to unnamed statements and the call runs again as one, which sees
 * the function as it is now. Safe: the failed call's transaction was
 * rolled back. Serialization failures, deadlocks and unique races are
 * left to the caller's retry; a timeout is the caller's to report, and
 * the named statement stays.
 */
static PGresult *
acquire_call(struct store *st, const char *const *params)
{
	PGresult *res;

	if (st->prep == PREP_READY) {
		res = exec_prepared(st, ACQUIRE_PARAMS, params);
		if (res == NULL || PQresultStatus(res) == PGRES_TUPLES_OK ||
		    st->timed_out || st->conn == NULL ||
		    PQstatus(st->conn) != CONNECTION_OK || retryable(res) ||
		    timed_out(res))
			return res;
		PQclear(res);
		st->prep = PREP_OFF;
	}
	return exec_params(st, SQL_ACQUIRE, ACQUIRE_PARAMS, params);
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
	const char *params[ACQUIRE_PARAMS], *roles_p;
	char ttl[24], thr[24], roles[ROLES_TEXT_MAX];
	char uuids[2][UUID_TEXT_SIZE]; /* the id and the token of a new row */
	char cap[24], rate[24];
	PGresult *res = NULL;
	const char *outcome;
	enum store_result rc = STORE_ERROR;
	enum attempt r;
	bool fresh;
	int tries;

	memset(s, 0, sizeof(*s));
	st->deadline = now_ms() + q->timeout * 1000LL;
	st->timed_out = false;
	if (!roles_param(q, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	snprintf(ttl, sizeof(ttl), "%ld", q->ttl);
	snprintf(thr, sizeof(thr), "%ld", q->threshold);
	snprintf(cap, sizeof(cap), "%ld", q->max_devices);
	snprintf(rate, sizeof(rate), "%ld", q->create_rate);

	for (tries = 0; tries < ACQUIRE_TRIES; tries++) {
		PQclear(res);
		res = NULL;
		if (!store_connect(st, &fresh, e))
			return STORE_UNAVAILABLE;
		if (!uuid_v4(uuids, 2)) {
			err_set(e, "getrandom failed: %s", strerror(errno));
			return STORE_ERROR;
		}
		params[0] = q->user_id;
		params[1] = q->device_id;
		params[2] = q->workflow_id;
		params[3] = ttl;
		params[4] = thr;
		params[5] = q->metadata;
		params[6] = roles_p;
		params[7] = uuids[0];
		params[8] = uuids[1];
		params[9] = cap;
		params[10] = rate;
		/* A new connection with a server's own pid: a new backend. */
		if (fresh && backend_pid_plausible(st->conn))
			res = find(st, q, thr, roles_p);
		else if (st->prep == PREP_UNKNOWN)
			own_backend_prepare(st);
		if (res == NULL && !st->timed_out && st->conn != NULL)
			res = acquire_call(st, params);
		r = attempt_result(st, res, fresh, tries, q->timeout,
		    "chatkit_acquire_session", &rc, e);
		if (r == ATTEMPT_FAILED)
			goto out;
		if (r == ATTEMPT_DONE)
			break;
	}
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
 * Runs one unnamed call of n params and returns its result when it has
 * rows (the caller PQclear()s it), or NULL with *rc and e set. A kept
 * connection that died gets one fresh try, as a serialization failure or
 * deadlock does: every call here is safe to repeat.
 */
static PGresult *
simple_call(struct store *st, long timeout, const char *sql, const char *what,
    int n, const char *const *params, enum store_result *rc, struct err *e)
{
	PGresult *res = NULL;
	enum attempt r;
	bool fresh;
	int tries;

	st->deadline = now_ms() + timeout * 1000LL;
	st->timed_out = false;
	for (tries = 0; tries < ACQUIRE_TRIES; tries++) {
		PQclear(res);
		if (!store_connect(st, &fresh, e)) {
			*rc = STORE_UNAVAILABLE;
			return NULL;
		}
		res = exec_params(st, sql, n, params);
		r = attempt_result(st, res, fresh, tries, timeout, what, rc, e);
		if (r == ATTEMPT_FAILED)
			break;
		if (r == ATTEMPT_DONE) {
			if (PQntuples(res) == 1)
				return res;
			err_set(e, "%s returned %d rows", what, PQntuples(res));
			*rc = STORE_ERROR;
			break;
		}
	}
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
	if (!roles_param(q, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	snprintf(lim, sizeof(lim), "%ld", limit);
	params[0] = q->user_id;
	params[1] = roles_p;
	params[2] = lim;
	if ((res = simple_call(st, q->timeout, SQL_LIST,
		 "chatkit_list_sessions", 3, params, &rc, e)) == NULL)
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
	if (!roles_param(q, roles, sizeof(roles), &roles_p, e))
		return STORE_ERROR;
	params[0] = q->user_id;
	params[1] = q->device_id;
	params[2] = roles_p;
	if ((res = simple_call(st, q->timeout, SQL_REVOKE,
		 "chatkit_revoke_sessions", 3, params, &rc, e)) == NULL)
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
	if ((res = simple_call(st, CLEANUP_TIMEOUT, SQL_CLEANUP,
		 "chatkit_cleanup_batch", 2, params, &rc, e)) == NULL)
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
