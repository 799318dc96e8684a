/* SPDX-License-Identifier: MIT */
/* fcgi.c: persistent mode: config and keys kept, one database connection */
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static ssize_t
stream_read(void *arg, char *buf, size_t n)
{
	int want = n > 65536 ? 65536 : (int)n;

	return FCGX_GetStr(buf, want, arg);
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
		if (!loaded || config_stale(&cfg, param_lookup, &r) ||
		    auth_stale(auth)) {
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
		io = (struct run_io){.lookup = request_lookup,
		    .lookup_arg = &r,
		    .read = stream_read,
		    .read_arg = r.in,
		    .write = stream_write,
		    .write_arg = r.out};
		run_request(&cfg, db, auth, &io);
		log_set_sink(NULL, NULL);
		FCGX_Finish_r(&r);
	}
	auth_free(auth);
	store_free(db);
	if (loaded)
		config_free(&cfg);
	return 0;
}
