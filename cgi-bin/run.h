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

/* What the server asks of a request (a FastCGI role; CGI: the endpoint). */
enum run_role {
	RUN_RESPONDER, /* the endpoint: handler.c */
	RUN_AUTHORIZER /* the gate: gate.c; the body is never read */
};

/* Where one request comes from and where its answer goes. */
struct run_io {
	enum run_role role;
	request_lookup_fn lookup; /* CGI variables */
	void *lookup_arg;
	request_read_fn read; /* the body */
	void *read_arg;
	run_write_fn write; /* the answer; the body is drained after it */
	void *write_arg;
};

/*
 * Reads one request through io and answers it in its role: with
 * handle() (cfg, db and auth as there), then takes what is left of the
 * body; or with gate_check(), which reads no body (a server sends an
 * authorizer none, or one that never ends). Writes the answer and frees
 * everything the request allocated.
 */
void run_request(const struct config *cfg, struct store *db, struct auth *auth,
    const struct run_io *io);

#endif
