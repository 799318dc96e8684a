/* SPDX-License-Identifier: MIT */
/* main.c: process life: configuration once, one CGI request (or the
 * FastCGI loop when a process manager started us), exit 0 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#ifdef HAVE_LIBFCGI
#include "fcgi.h"
#endif
#include "handler.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "store.h"
#include "version.h"

static const char *
env_lookup(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

#define DRAIN_IDLE_MS 1000 /* a drained body that stops flowing is left */

struct input {
	int fd;
	int idle_ms; /* -1: wait as long as the server does */
};

/* read(2) on in->fd; with idle_ms set, no data for that long is an end. */
static ssize_t
fd_read(void *arg, char *buf, size_t n)
{
	struct input *in = arg;
	struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
	ssize_t r;
	int rc;

	if (in->idle_ms >= 0) {
		do
			rc = poll(&pfd, 1, in->idle_ms);
		while (rc < 0 && errno == EINTR);
		if (rc <= 0)
			return 0;
	}
	do
		r = read(in->fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client is gone; nothing to tell */
		buf += w;
		len -= (size_t)w;
	}
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct request req;
	struct response resp;
	struct store *db = NULL;
	struct err e = {{0}};
	char *out = NULL;
	size_t len = 0;
	struct input in = {.fd = STDIN_FILENO, .idle_ms = -1};

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		version_print(stdout);
		return 0;
	}
	version_ca_default();
	signal(SIGPIPE, SIG_IGN);
#ifdef HAVE_LIBFCGI
	if (fcgi_detected())
		return fcgi_serve();
#endif
	/* Configuration and keys are read before any byte of the request. */
	if (!config_load(&cfg, config_getenv, NULL, &e))
		log_warnx("configuration error: %s", e.msg);
	if ((db = store_new(cfg.database_url)) == NULL) {
		log_warnx("out of memory");
		cfg.ok = false;
	}
	request_from_env(&req, env_lookup, NULL, fd_read, &in);
	handle(&cfg, db, NULL, &req, time(NULL), &resp);
	if ((out = response_render(&resp, &len)) != NULL)
		write_all(STDOUT_FILENO, out, len);
	else
		log_warnx("out of memory rendering the response");
	/* The answer is out; now take the rest of the body off the server's
	 * hands, so it never writes into a closed pipe (see request_drain). */
	in.idle_ms = DRAIN_IDLE_MS;
	request_drain(&req);

	free(out);
	response_free(&resp);
	request_free(&req);
	store_free(db);
	config_free(&cfg);
	return 0;
}
