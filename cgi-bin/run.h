/* SPDX-License-Identifier: MIT */
/* run.h: one request from its variables to the written answer, for CGI
 * and FastCGI alike */
#ifndef RUN_H
#define RUN_H

#include "config.h"
#include "request.h"

struct store;
struct auth;

/* Writes the rendered answer (len bytes, all of it or give up). */
typedef void (*run_write_fn)(void *arg, const char *buf, size_t len);

/* Where one request comes from and where its answer goes. */
struct run_io {
	request_lookup_fn lookup; /* CGI variables */
	void *lookup_arg;
	request_read_fn read; /* the body */
	void *read_arg;
	run_write_fn write; /* the answer; the body is drained after it */
	void *write_arg;
};

/*
 * Reads one request through io, answers it with handle() (cfg, db and
 * auth as there), writes the answer, takes what is left of the body
 * and frees everything the request allocated.
 */
void run_request(const struct config *cfg, struct store *db, struct auth *auth,
    const struct run_io *io);

#endif
