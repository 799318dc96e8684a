/* SPDX-License-Identifier: MIT */
/* fcgi.c: persistent mode: config and keys kept, one database connection */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "auth.h"
#include "config.h"
#include "fcgi.h"
#include "log.h"
#include "request.h"
#include "run.h"
#include "store.h"

bool
fcgi_detected(void)
{
	return !FCGX_IsCGI();
}

/* A request's params first (Apache SetEnv arrives there), then environ. */
static const char *
param_lookup(const char *name, void *arg)
{
	FCGX_Request *r = arg;
	const char *v = FCGX_GetParam(name, r->envp);

	return v != NULL ? v : getenv(name);
}

/* CGI variables come only from the request's params. */
static const char *
request_lookup(const char *name, void *arg)
{
	FCGX_Request *r = arg;

	return FCGX_GetParam(name, r->envp);
}

/*
 * Up to n bytes of FCGI_STDIN, waiting at most wait_ms for them.
 * FCGX_GetStr returns only once it has all it was asked for, however
 * slowly that comes, so it is asked for what the current record still
 * holds, or else for one byte, with the socket's reads bounded by
 * SO_RCVTIMEO meanwhile (a read that times out ends the stream with an
 * error). The record and the socket are fields the header calls
 * private; nothing public bounds a wait.
 */
static ssize_t
stream_read(void *arg, char *buf, size_t n, int wait_ms)
{
	FCGX_Request *r = arg;
	FCGX_Stream *in = r->in;
	size_t held = (size_t)(in->stop - in->rdNext);
	struct timeval tv = {0, 0};
	int got;

	if (held > 0)
		return FCGX_GetStr(buf, (int)(n < held ? n : held), in);
	if (FCGX_HasSeenEOF(in))
		return 0;
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	if (wait_ms <= 0)
		tv.tv_usec = 1000; /* a zero SO_RCVTIMEO would never time out */
	setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	got = FCGX_GetStr(buf, 1, in);
	tv = (struct timeval){0, 0};
	setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return got;
}

static void
stream_write(void *arg, const char *buf, size_t len)
{
	FCGX_PutStr(buf, (int)len, arg);
}

static void
stream_log(const char *line, size_t len, void *arg)
{
	FCGX_PutStr(line, (int)len, arg);
}

static bool
same_url(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * An authorizer's server sends nothing after the parameters and reads the
 * answer to its end before it closes (mod_authnz_fcgi, lighttpd). libfcgi
 * would close by shutting down its side and sleeping until the server
 * closes too: a sleep and a wake-up per check. Unless the server asked to
 * keep the connection, the answer is finished with the connection kept
 * and closed here at once, after taking what is already unread, so that
 * no byte left behind turns the close into a reset.
 */
static void
finish_authorizer(FCGX_Request *r)
{
	char trash[512];
	int i;

	if (r->keepConnection) {
		FCGX_Finish_r(r);
		return;
	}
	r->keepConnection = 1;
	FCGX_Finish_r(r);
	/* libfcgi closed it itself after a write error. */
	if (r->ipcFd < 0)
		return;
	/* Bounded: a client that keeps sending gets its reset. */
	for (i = 0;
	     i < 16 && recv(r->ipcFd, trash, sizeof(trash), MSG_DONTWAIT) > 0;
	     i++)
		;
	(void)close(r->ipcFd);
	/* No descriptor: FCGX_Accept_r accepts the next connection, and the
	 * kept flag spares it a close of its own. */
	r->ipcFd = -1;
}

/*
 * The loop. Configuration is read again only when a looked-up value or a
 * watched file changes; the store (and its connection) is replaced only
 * when the database URL changes. Everything a request allocates is freed
 * before the next one.
 */
int
fcgi_serve(void)
{
	FCGX_Request r;
	struct config cfg;
	struct store *db = NULL;
	struct auth *auth = NULL;
	struct run_io io;
	bool loaded = false;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		log_warnx("FastCGI initialisation failed");
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	while (FCGX_Accept_r(&r) == 0) {
		log_set_sink(stream_log, r.err);
		/* Keys are a responder's: a check never stats them. */
		if (!loaded || config_stale(&cfg, param_lookup, &r) ||
		    (r.role != FCGI_AUTHORIZER && auth_stale(auth))) {
			char *old_url = NULL;

			if (loaded && cfg.database_url != NULL)
				old_url = strdup(cfg.database_url);
			auth_free(auth); /* it borrows cfg */
			if (loaded)
				config_free(&cfg);
			/* An error is logged by each request it fails. */
			config_load(&cfg, param_lookup, &r);
			/* New keys or rules: what passed before proves nothing,
			 * and a new auth starts with no token. */
			auth = auth_new(&cfg, AUTH_TOKEN_CACHE);
			loaded = true;
			if (db == NULL ||
			    !same_url(old_url, cfg.database_url)) {
				store_free(db);
				if ((db = store_new(cfg.database_url)) ==
				    NULL) {
					log_warnx("out of memory");
					cfg.ok = false;
				}
			}
			free(old_url);
		}
		/* The role is the request's: one process may serve both. */
		io = (struct run_io){.role = r.role == FCGI_AUTHORIZER
						 ? RUN_AUTHORIZER
						 : RUN_RESPONDER,
		    .lookup = request_lookup,
		    .lookup_arg = &r,
		    .read = stream_read,
		    .read_arg = &r,
		    .write = stream_write,
		    .write_arg = r.out};
		run_request(&cfg, db, auth, &io);
		log_set_sink(NULL, NULL);
		if (r.role == FCGI_AUTHORIZER)
			finish_authorizer(&r);
		else
			FCGX_Finish_r(&r);
	}
	auth_free(auth);
	store_free(db);
	if (loaded)
		config_free(&cfg);
	return 0;
}
