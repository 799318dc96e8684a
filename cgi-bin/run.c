/* SPDX-License-Identifier: MIT */
/* run.c: one request, in any role, from its variables to the written
 * answer */
#include <stdlib.h>
#include <time.h>

#include "gate.h"
#include "handler.h"
#include "log.h"
#include "response.h"
#include "run.h"

void
run_request(const struct config *cfg, struct store *db, struct auth *auth,
    const struct run_io *io)
{
	struct request req;
	struct response resp;
	char *out;
	size_t len = 0;

	if (io->role == RUN_AUTHORIZER) {
		request_from_env(&req, io->lookup, io->lookup_arg, NULL, NULL);
		gate_check(cfg, db, &req, &resp);
	} else {
		request_from_env(
		    &req, io->lookup, io->lookup_arg, io->read, io->read_arg);
		handle(cfg, db, auth, &req, time(NULL), &resp);
	}
	if ((out = response_render(&resp, &len)) != NULL)
		io->write(io->write_arg, out, len);
	else
		log_warnx("out of memory rendering the response");
	/* The endpoint's answer is out; now take the rest of the body off
	 * the server's hands, so it never writes into a closed pipe (see
	 * request_drain). */
	if (io->role == RUN_RESPONDER)
		request_drain(&req);
	free(out);
	response_free(&resp);
	request_free(&req);
}
