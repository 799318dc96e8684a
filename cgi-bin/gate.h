/* SPDX-License-Identifier: MIT */
/* gate.h: the FastCGI authorizer: a session id to a yes or a no */
#ifndef GATE_H
#define GATE_H

#include "config.h"
#include "request.h"
#include "response.h"

struct store;

/*
 * Answers a FastCGI AUTHORIZER request into resp (an authorizer's
 * answer: resp->authorizer set): 200 with the session's user, device,
 * expiry and role as Variable- lines when req's Bearer credential names
 * a session that passes store's check, an error answer otherwise. Reads
 * only req's variables, never its body; keeps nothing between requests,
 * so a revocation counts on the next one. Needs only cfg's settings
 * (cfg->settings_ok), not the endpoint's workflow id or keys. Logs one
 * line per refused request, with never more of the session id than its
 * first characters.
 */
enum status gate_check(const struct config *cfg, struct store *db,
    const struct request *req, struct response *resp);

#endif
