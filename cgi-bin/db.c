/* SPDX-License-Identifier: MIT */
/* db.c: libpq plumbing: a non-blocking connect, one deadline per call,
 * a bounded cancel, the retry of what a second try cures, and the named
 * statements of a backend of our own */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "deadline.h"
#include "child.h"
#include "db.h"
#include "log.h"
#include "lookup.h"

#define DB_TRIES 2	     /* a serialization failure is retried once */
#define CANCEL_GRACE_MS 1000 /* past the deadline: a cancel, then the end */
#define CANCEL_MSG_MAX 256   /* bytes of PQcancel's reason, with its NUL */
#define STMT_NAME_MAX 64     /* bytes of a named statement's name */
#define NAMED_MAX 4	     /* named statements on one connection */

/*
 * Linux's largest process id (PID_MAX_LIMIT on 64-bit; the BSDs' limits
 * are lower). A server's BackendKeyData names its own process, an id in
 * 1..BACKEND_PID_MAX. A transaction pooler makes up a key of its own:
 * pgbouncer's is random, outside that range 999 times in 1000. A miss
 * either way costs speed only: the caller's first step answers the same.
 */
#define BACKEND_PID_MAX 4194304

enum prep {
	PREP_UNKNOWN, /* not looked at yet on this connection */
	PREP_OWN,     /* our own backend: statements may be named */
	PREP_OFF      /* a pooler, or a failure: unnamed statements only */
};

/* A statement prepared on the connection. */
struct named {
	const struct db_stmt *stmt;
	char name[STMT_NAME_MAX]; /* prefix and text hash */
};

struct db {
	PGconn *conn;		       /* NULL until first use */
	char *url;		       /* CHATKIT_DATABASE_URL or NULL */
	bool fresh;		       /* conn was opened by this try */
	enum prep prep;		       /* of conn */
	struct named named[NAMED_MAX]; /* with PREP_OWN, prepared on conn */
	size_t nnamed;		       /* of named[] */
	long timeout;		       /* of this call, seconds */
	long long deadline;	       /* of this call, monotonic ms */
	bool timed_out;		       /* this call's deadline passed */
};

/* deadline_poll on conn's socket. */
static int
wait_socket(PGconn *conn, short events, long long deadline)
{
	return deadline_poll(PQsocket(conn), events, deadline);
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
drop_connection(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->prep = PREP_UNKNOWN;
	db->nnamed = 0;
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

struct db *
db_new(const char *url)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	if (url != NULL && (db->url = strdup(url)) == NULL) {
		free(db);
		return NULL;
	}
	db->prep = PREP_UNKNOWN;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	drop_connection(db);
	free(db->url);
	free(db);
}

/*
 * Whether the connection's settings come from a pg_service.conf entry
 * (PGSERVICE, or service= in opts, the URL's keywords). libpq fills in a
 * service's values only where nothing was given, so our defaults and
 * looked-up addresses would silently win over what the operator wrote
 * there; with a service, there are none.
 */
static bool
service_named(const PQconninfoOption *opts)
{
	const PQconninfoOption *o;

	if (getenv("PGSERVICE") != NULL)
		return true;
	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "service") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			return true;
	return false;
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
 * A connection that is up, or false with the reason in e. db->fresh
 * tells whether it was opened just now (a kept one may have died
 * unseen). The connection is made without blocking, and host names are
 * looked up first in a child process (lookup_hosts): libpq's own lookup
 * would block for as long as the resolver takes. So it ends by the
 * call's deadline (or a shorter connect_timeout the user set).
 */
static bool
db_connect(struct db *db, struct err *e)
{
	const char *keys[8], *vals[8];
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	PQconninfoOption *opts = NULL;
	struct lookup lk = {NULL, NULL, NULL};
	struct err le = {{0}};
	enum lookup_result lr;
	long long deadline = db->deadline, ct;
	bool service, ok = false;
	int n = 0, rc = 1;

	db->fresh = false;
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	db->fresh = true;
	drop_connection(db);
	/*
	 * The URL's keywords; NULL when it is not keywords but a bare
	 * database name (libpq takes the rest from the environment), or
	 * text libpq refuses (it fails to connect anyway).
	 */
	if (db->url != NULL)
		opts = PQconninfoParse(db->url, NULL);
	service = service_named(opts);
	/*
	 * GSSAPI encryption is tried first by default, which sets up
	 * Kerberos (krb5.conf, keytab and credential cache lookups) on every
	 * connection although a web server's CGI user has no ticket. Who
	 * uses it says so: PGGSSENCMODE, gssencmode= in the URL or in a
	 * service entry. Earlier keywords are overridden by what the URL
	 * itself sets, later ones override it.
	 */
	if (!service && getenv("PGGSSENCMODE") == NULL) {
		keys[n] = "gssencmode";
		vals[n++] = "disable";
	}
	keys[n] = "application_name";
	vals[n++] = "chatkit-session";
	if (db->url != NULL) {
		keys[n] = "dbname";
		vals[n++] = db->url;
	}
	lr = service
		 ? LOOKUP_NONE
		 : lookup_hosts(opts, deadline - deadline_now_ms(), &lk, &le);
	if (lr == LOOKUP_TIMEOUT) {
		err_set(e, "database connection timed out %s", le.msg);
		goto out;
	}
	if (lr != LOOKUP_NONE && lr != LOOKUP_OK) {
		err_set(e, "database connection failed: %s", le.msg);
		goto out;
	}
	if (lr == LOOKUP_OK) {
		keys[n] = "host";
		vals[n++] = lk.host;
		keys[n] = "hostaddr";
		vals[n++] = lk.hostaddr;
		if (lk.port != NULL) {
			keys[n] = "port";
			vals[n++] = lk.port;
		}
	}
	keys[n] = NULL;
	vals[n] = NULL;
	if ((db->conn = PQconnectStartParams(keys, vals, 1)) == NULL) {
		err_set(e, "database: out of memory");
		goto out;
	}
	PQsetNoticeProcessor(db->conn, notice_log, NULL);
	if ((ct = connect_timeout_ms(db->conn)) >= 0 &&
	    deadline_now_ms() + ct < deadline)
		deadline = deadline_now_ms() + ct;
	while (PQstatus(db->conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
	       ps != PGRES_POLLING_FAILED) {
		rc = wait_socket(db->conn,
		    ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (rc <= 0)
			break;
		ps = PQconnectPoll(db->conn);
	}
	if (ps == PGRES_POLLING_OK && PQstatus(db->conn) == CONNECTION_OK)
		ok = true;
	else if (rc == 0)
		err_set(e, "database connection timed out");
	else
		err_set(e, "database connection failed: %s",
		    PQerrorMessage(db->conn));
out:
	if (!ok)
		drop_connection(db);
	lookup_free(&lk);
	PQconninfoFree(opts);
	return ok;
}

/*
 * The child's side of cancel_statement: PQcancel, then 'y' on fd when
 * the server confirmed the cancel, or 'n' and libpq's reason. PQcancel
 * makes system calls only (libpq allows it in a signal handler), so it
 * is safe in the child of a process that may have threads.
 */
static void
cancel_child(void *arg, int fd)
{
	char msg[1 + CANCEL_MSG_MAX];
	size_t n = 1;

	msg[0] = 'y';
	if (!PQcancel(arg, msg + 1, CANCEL_MSG_MAX)) {
		msg[0] = 'n';
		n += strlen(msg + 1);
	}
	if (write(fd, msg, n) != (ssize_t)n)
		_exit(1);
}

/*
 * Asks the server to cancel the running statement within wait_ms: true
 * when it confirmed by then. PQcancel sends a request on a connection of
 * its own (pgbouncer passes it on to the server connection in use) and
 * waits for the server to close it, with no limit: a server or pooler
 * that stopped answering never does. So PQcancel runs in a child process
 * (child_run), killed and reaped at the deadline. False, with the reason
 * in e, when the cancel failed or is unconfirmed: it may still reach the
 * server later and end whatever runs then, so the connection must not
 * serve another statement.
 */
static bool
cancel_statement(struct db *db, long long wait_ms, struct err *e)
{
	char msg[2 + CANCEL_MSG_MAX];
	struct err ce = {{0}};
	enum child_result cr;
	PGcancel *c;
	size_t len;
	bool ok = false;

	if ((c = PQgetCancel(db->conn)) == NULL) {
		err_set(e, "cancel request not sent: PQgetCancel failed");
		return false;
	}
	cr = child_run(cancel_child, c, wait_ms, msg, sizeof(msg), &len, &ce);
	switch (cr) {
	case CHILD_DONE:
		if (len > 0 && msg[0] == 'y')
			ok = true;
		else if (len > 0 && msg[0] == 'n')
			err_set(e, "cancel request failed: %s", msg + 1);
		else
			err_set(e, "cancel request failed: "
				   "its process said nothing");
		break;
	case CHILD_TIMEOUT:
		err_set(e, "no answer to a cancel request within %d ms",
		    CANCEL_GRACE_MS);
		break;
	case CHILD_UNSTARTED:
		err_set(e, "cancel request not sent: %s", ce.msg);
		break;
	default:
		err_set(e, "cancel request: %s", ce.msg);
		break;
	}
	PQfreeCancel(c);
	return ok;
}

/*
 * The result of the query just sent (the last one, when a query gives
 * several), waiting no later than the request's deadline. Past it, the
 * statement is cancelled on the server and db->timed_out set; the cancel
 * and the statement's end then have CANCEL_GRACE_MS together. A cancel
 * not confirmed by then, a connection that stays silent even after one,
 * or one left inside a transaction is closed, so that a kept connection
 * is always usable by the next request. NULL when nothing came (the
 * reason is then PQerrorMessage's, or the timeout). The caller PQclears
 * the result.
 */
static PGresult *
get_result(struct db *db)
{
	PGresult *res = NULL, *r;
	long long deadline = db->deadline;
	struct err ce = {{0}};
	bool cancelled = false;
	int rc;

	for (;;) {
		while (!PQisBusy(db->conn)) {
			if ((r = PQgetResult(db->conn)) == NULL)
				goto out;
			PQclear(res);
			res = r;
		}
		rc = wait_socket(db->conn, POLLIN, deadline);
		if (rc == 0 && !cancelled) {
			db->timed_out = true;
			cancelled = true;
			deadline = deadline_now_ms() + CANCEL_GRACE_MS;
			if (cancel_statement(db, CANCEL_GRACE_MS, &ce))
				continue;
			log_warnx("database: %s; connection closed", ce.msg);
			PQclear(res);
			drop_connection(db);
			return NULL;
		}
		if (rc == 0) {
			log_warnx("database: the statement did not end within "
				  "%d ms of its cancel; connection closed",
			    CANCEL_GRACE_MS);
			PQclear(res);
			drop_connection(db);
			return NULL;
		}
		/* A lost connection: libpq turns it into an error result. */
		if (rc < 0 || !PQconsumeInput(db->conn)) {
			while ((r = PQgetResult(db->conn)) != NULL) {
				PQclear(res);
				res = r;
			}
			goto out;
		}
	}
out:
	if (db->timed_out && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		drop_connection(db);
	return res;
}

/*
 * Each sends one query and waits for its result (get_result); NULL when
 * it could not be sent or nothing came.
 */
static PGresult *
exec_params(struct db *db, const char *sql, int n, const char *const *v)
{
	if (!PQsendQueryParams(db->conn, sql, n, NULL, v, NULL, NULL, 0))
		return NULL;
	return get_result(db);
}

static PGresult *
exec_prepared(struct db *db, const char *name, int n, const char *const *v)
{
	if (!PQsendQueryPrepared(db->conn, name, n, v, NULL, NULL, 0))
		return NULL;
	return get_result(db);
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

/* The log's reason for a DB_TIMEOUT: ours, or the server's. */
static void
timeout_reason(const struct db *db, const PGresult *res, struct err *e)
{
	if (db->timed_out)
		err_set(e,
		    "database: no answer within CHATKIT_DB_TIMEOUT (%ld s); "
		    "the statement was cancelled",
		    db->timeout);
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
 * What one try of a call left (res may be NULL). A kept connection that
 * died (server restart) gets one fresh try, as a serialization failure
 * or deadlock does: every call is safe to repeat, since a request that
 * did commit is then simply reused. A timeout is never retried. what
 * names the call in the log.
 */
static enum attempt
attempt_result(struct db *db, const PGresult *res, int tries, const char *what,
    enum db_result *rc, struct err *e)
{
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		return ATTEMPT_DONE;
	if (db->timed_out || (res != NULL && timed_out(res))) {
		timeout_reason(db, res, e);
		*rc = DB_TIMEOUT;
		return ATTEMPT_FAILED;
	}
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		if (!db->fresh && tries + 1 < DB_TRIES) {
			drop_connection(db);
			return ATTEMPT_AGAIN;
		}
		err_set(e, "database connection lost: %s",
		    PQerrorMessage(db->conn));
		*rc = DB_UNAVAILABLE;
		return ATTEMPT_FAILED;
	}
	if (res != NULL && retryable(res) && tries + 1 < DB_TRIES)
		return ATTEMPT_AGAIN;
	err_set(e, "%s failed: %s", what,
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	*rc = DB_ERROR;
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
 * no server process could have needs no asking). Sets db->prep to
 * PREP_OWN or PREP_OFF; leaves it PREP_UNKNOWN when the server was too
 * slow to say, to look again on the next request.
 */
static void
own_backend(struct db *db)
{
	PGresult *res;
	char pid[24];
	bool own;

	if (!backend_pid_plausible(db->conn)) {
		db->prep = PREP_OFF;
		return;
	}
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db->conn));
	res = exec_params(db, "SELECT pg_backend_pid()", 0, NULL);
	own = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	      PQntuples(res) == 1 && PQnfields(res) == 1 &&
	      strcmp(PQgetvalue(res, 0, 0), pid) == 0;
	PQclear(res);
	if (db->timed_out || db->conn == NULL)
		return;
	db->prep = own ? PREP_OWN : PREP_OFF;
}

/* Where s is among the connection's named statements, or -1. */
static int
named_index(const struct db *db, const struct db_stmt *s)
{
	size_t i;

	for (i = 0; i < db->nnamed; i++)
		if (db->named[i].stmt == s)
			return (int)i;
	return -1;
}

/*
 * Prepares s on our own backend, as named[nnamed]; there is room for
 * NAMED_MAX (a process runs a few statements, the endpoint's and the
 * gate's). Any failure only means unnamed statements, as in CGI mode; a
 * server too slow to answer leaves s unnamed until the next request.
 */
static void
prepare(struct db *db, const struct db_stmt *s)
{
	PGresult *res = NULL;
	char *name = db->named[db->nnamed].name;

	snprintf(name, STMT_NAME_MAX, "%s%08lx", s->named, text_hash(s->sql));
	if (PQsendPrepare(db->conn, name, s->sql, s->nparams, NULL))
		res = get_result(db);
	if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
		db->named[db->nnamed++].stmt = s;
	else if (!db->timed_out && db->conn != NULL)
		db->prep = PREP_OFF;
	PQclear(res);
}

bool
db_new_backend(const struct db *db)
{
	return db->fresh && db->conn != NULL && backend_pid_plausible(db->conn);
}

/*
 * A statement that has a name prefix runs as a named statement once the
 * connection is shown to be ours (own_backend: from its second call,
 * never on a new backend's first), prepared on its first use there. When
 * a named statement fails for a reason a
 * second try would not cure (the statement is gone, 26000; its plan or
 * its parameter types no longer fit a changed function, 0A000, 42883,
 * 42804; or anything else), the connection goes back to unnamed
 * statements and the call runs again as one, which sees the function as
 * it is now. Safe: the failed call's transaction was rolled back.
 * Serialization failures, deadlocks and unique races are left to
 * db_call's retry; a timeout is db_call's to report, and the named
 * statement stays.
 */
PGresult *
db_exec(struct db *db, const struct db_stmt *s, const char *const *params)
{
	PGresult *res;
	int i = -1;

	if (db->timed_out || db->conn == NULL)
		return NULL;
	if (s->named != NULL && db->prep == PREP_UNKNOWN && !db_new_backend(db))
		own_backend(db);
	if (s->named != NULL && db->prep == PREP_OWN &&
	    (i = named_index(db, s)) < 0 && db->nnamed < NAMED_MAX) {
		prepare(db, s);
		i = named_index(db, s);
	}
	if (db->timed_out || db->conn == NULL)
		return NULL;
	if (db->prep == PREP_OWN && i >= 0) {
		res = exec_prepared(db, db->named[i].name, s->nparams, params);
		if (res == NULL || PQresultStatus(res) == PGRES_TUPLES_OK ||
		    db->timed_out || db->conn == NULL ||
		    PQstatus(db->conn) != CONNECTION_OK || retryable(res) ||
		    timed_out(res))
			return res;
		PQclear(res);
		db->prep = PREP_OFF;
	}
	return exec_params(db, s->sql, s->nparams, params);
}

enum db_result
db_call(struct db *db, long timeout, const char *what, db_try_fn fn, void *arg,
    PGresult **res, struct err *e)
{
	enum db_result rc = DB_ERROR;
	enum attempt r;
	int tries;

	*res = NULL;
	db->timeout = timeout;
	db->deadline = deadline_now_ms() + timeout * 1000LL;
	db->timed_out = false;
	for (tries = 0; tries < DB_TRIES; tries++) {
		PQclear(*res);
		*res = NULL;
		if (!db_connect(db, e))
			return DB_UNAVAILABLE;
		if (!fn(db, arg, res, e))
			break;
		r = attempt_result(db, *res, tries, what, &rc, e);
		if (r == ATTEMPT_DONE)
			return DB_OK;
		if (r == ATTEMPT_FAILED)
			break;
	}
	PQclear(*res);
	*res = NULL;
	return rc;
}

/* The arguments of one_try. */
struct one {
	const struct db_stmt *s;
	const char *const *params;
};

/* db_query's try: the one statement. */
static bool
one_try(struct db *db, void *arg, PGresult **res, struct err *e)
{
	const struct one *o = arg;

	(void)e;
	*res = db_exec(db, o->s, o->params);
	return true;
}

enum db_result
db_query(struct db *db, long timeout, const struct db_stmt *s,
    const char *const *params, PGresult **res, struct err *e)
{
	struct one o = {s, params};

	return db_call(db, timeout, s->what, one_try, &o, res, e);
}
