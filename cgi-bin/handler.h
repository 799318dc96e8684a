/* SPDX-License-Identifier: MIT */
/* handler.h: one request in, one response out */
#ifndef HANDLER_H
#define HANDLER_H

#include <time.h>

#include "config.h"
#include "request.h"
#include "response.h"
#include "store.h"

struct store;
struct auth;

/*
 * Answers req into resp in the order the contract implies: method,
 * configuration, size, media type, token, body, database. Never exits,
 * never writes to stdout, frees all it allocates, logs one line on stderr
 * per failed request. db connects only when a request gets that far;
 * auth (auth.h) turns the credentials into a principal, and keeps what
 * it learns for the next request of a FastCGI process.
 */
enum status handle(const struct config *cfg, struct store *db,
    struct auth *auth, struct request *req, time_t now, struct response *resp);

/*
 * The answer to a store result, the endpoint's and the gate's: returns
 * its status and sets resp's message when there is a sentence for it.
 */
enum status store_answer(struct response *resp, enum store_result sr);

#endif
