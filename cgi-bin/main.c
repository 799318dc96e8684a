/* SPDX-License-Identifier: MIT */
/* main.c: process life: configuration once, one CGI request (or the
 * FastCGI loop when a process manager started us), exit 0; or, run by
 * hand, cron or systemd, the --cleanup command */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "auth.h"
#include "cleanup.h"
#include "config.h"
#ifdef HAVE_LIBFCGI
#include "fcgi.h"
#endif
#include "log.h"
#include "run.h"
#include "store.h"
#include "version.h"

/* The CGI side of a request: stdin and stdout. */
struct cgi_io {
	int in_fd;
	int out_fd;
};

/* read(2) on in_fd once it has data, or 0 when none came in wait_ms. */
static ssize_t
fd_read(void *arg, char *buf, size_t n, int wait_ms)
{
	struct cgi_io *io = arg;
	struct pollfd pfd = {.fd = io->in_fd, .events = POLLIN};
	ssize_t r;
	int rc;

	do
		rc = poll(&pfd, 1, wait_ms);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return 0;
	do
		r = read(io->in_fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Writes the answer to out_fd, all of it unless the client is gone. */
static void
fd_write(void *arg, const char *buf, size_t len)
{
	struct cgi_io *io = arg;
	ssize_t w;

	while (len > 0) {
		w = write(io->out_fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client is gone; nothing to tell */
		buf += w;
		len -= (size_t)w;
	}
}

/*
 * --cleanup: the settings (environment over CHATKIT_CONFIG) are all it
 * needs of the configuration; no workflow id, no key. Exit status 0 done,
 * 1 a bad setting or a database failure (reason on stderr).
 */
static int
cleanup_command(void)
{
	struct config cfg;
	struct store *db = NULL;
	int rc = 1;

	config_load(&cfg, config_getenv, NULL);
	if (!cfg.settings_ok) {
		log_warnx("configuration error: %s", cfg.reason.msg);
		goto out;
	}
	if ((db = store_new(cfg.database_url)) == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	rc = cleanup_run(db, cfg.retention_days, stdout);
out:
	store_free(db);
	config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct store *db = NULL;
	struct auth *auth = NULL;
	struct cgi_io cgi = {.in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO};
	struct run_io io = {.lookup = config_getenv,
	    .read = fd_read,
	    .read_arg = &cgi,
	    .write = fd_write,
	    .write_arg = &cgi};

	signal(SIGPIPE, SIG_IGN);
	/*
	 * A web server may pass a query string without "=" as arguments
	 * (RFC 3875, 4.4: Apache does), so under a CGI environment the
	 * arguments are never read: ?--cleanup stays a request.
	 */
	if (argc > 1 && getenv("GATEWAY_INTERFACE") == NULL &&
	    getenv("REQUEST_METHOD") == NULL) {
		if (argc == 2 && strcmp(argv[1], "--cleanup") == 0) {
			arena_close();
			return cleanup_command();
		}
		if (argc == 2 && strcmp(argv[1], "--version") == 0) {
			version_print(stdout);
			return 0;
		}
		fprintf(stderr,
		    "usage: %s [--cleanup|--version]\n"
		    "  (no argument: answer one CGI or FastCGI "
		    "request)\n",
		    argv[0]);
		return 2;
	}
#ifdef HAVE_LIBFCGI
	if (fcgi_detected()) {
		arena_close();
		return fcgi_serve();
	}
#endif
	/* Configuration and keys are read before any byte of the request;
	 * an error in them is logged once, by the request it fails. */
	config_load(&cfg, config_getenv, NULL);
	auth = auth_new(&cfg, 0);
	if ((db = store_new(cfg.database_url)) == NULL) {
		log_warnx("out of memory");
		cfg.ok = false;
	}
	run_request(&cfg, db, auth, &io);
	auth_free(auth);
	store_free(db);
	config_free(&cfg);
	return 0;
}
