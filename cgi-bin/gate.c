/* SPDX-License-Identifier: MIT */
/* gate.c: the FastCGI authorizer in front of the site's ChatKit server */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gate.h"
#include "handler.h"
#include "log.h"
#include "store.h"
#include "uuid.h"

#define CHALLENGE "Bearer realm=\"chatkit-session\", error=\"invalid_token\""
#define SESSION_LOGGED 8 /* characters of a session id the log shows */

/* The Variable- lines of a session that passed: what the server hands on. */
static const struct {
	const char *name;
	size_t off; /* of the value in struct session_check */
} variables[] = {
    {"CHATKIT_USER_ID", offsetof(struct session_check, user_id)},
    {"CHATKIT_DEVICE_ID", offsetof(struct session_check, device_id)},
    {"CHATKIT_EXPIRES_AT", offsetof(struct session_check, expires_at)},
    {"CHATKIT_ROLE", offsetof(struct session_check, role)},
};

/*
 * The session id an Authorization value carries ("Bearer", any case, one
 * or more blanks, the id, maybe blanks), copied into id; false when the
 * value is not a Bearer credential holding a v4 UUID's text, which no
 * session can have, so the database is not asked.
 */
static bool
session_id(const char *authorization, char id[UUID_TEXT_SIZE])
{
	const char *p = authorization, *end;

	if (p == NULL || strncasecmp(p, "Bearer", 6) != 0 ||
	    (p[6] != ' ' && p[6] != '\t'))
		return false;
	for (p += 6; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strnlen(p, UUID_TEXT_SIZE + 16);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - p) != UUID_TEXT_SIZE - 1)
		return false;
	memcpy(id, p, UUID_TEXT_SIZE - 1);
	id[UUID_TEXT_SIZE - 1] = '\0';
	return uuid_v4_text(id);
}

enum status
gate_check(const struct config *cfg, struct store *db,
    const struct request *req, struct response *resp)
{
	struct err e = {{0}};
	struct session_check c;
	struct check_query q;
	char id[UUID_TEXT_SIZE] = "";
	enum status st;
	size_t i;

	memset(&c, 0, sizeof(c));
	response_init(resp);
	resp->authorizer = true;
	if (!cfg->settings_ok) {
		err_set(&e, "configuration error: %s", cfg->reason.msg);
		snprintf(resp->message, sizeof(resp->message), "%s",
		    cfg->public_msg);
		st = ST_CONFIG;
		goto out;
	}
	if (db == NULL) {
		err_set(&e, "no store (out of memory)");
		st = ST_INTERNAL;
		goto out;
	}
	snprintf(resp->challenge, sizeof(resp->challenge), "%s", CHALLENGE);
	if (req->authorization == NULL) {
		err_set(&e, "no credential");
		snprintf(resp->message, sizeof(resp->message),
		    "A ChatKit session is required: send Authorization: "
		    "Bearer <chatKitSessionId>.");
		st = ST_UNAUTHORIZED;
		goto out;
	}
	if (!session_id(req->authorization, id)) {
		err_set(&e, "the credential is not a session id");
		snprintf(resp->message, sizeof(resp->message),
		    "The credential is not a ChatKit session id.");
		id[0] = '\0';
		st = ST_UNAUTHORIZED;
		goto out;
	}

	q = (struct check_query){.token = id,
	    .roles = cfg->roles.item,
	    .nroles = cfg->roles.n,
	    .rate = cfg->session_rate,
	    .timeout = cfg->db_timeout};
	st = store_answer(resp, store_check_session(db, &q, &c, &e));
	if (st == ST_TOO_MANY) {
		resp->retry_after = c.retry_after;
		snprintf(resp->message, sizeof(resp->message),
		    "Too many requests for this session: at most %ld a "
		    "minute. Try again in %ld seconds.",
		    cfg->session_rate, c.retry_after);
	}
	if (st != ST_OK)
		goto out;
	for (i = 0; i < sizeof(variables) / sizeof(variables[0]); i++)
		if (!response_add_variable(resp, variables[i].name,
			*(char **)((char *)&c + variables[i].off))) {
			err_set(&e, "%s cannot be sent as a header line",
			    variables[i].name);
			st = ST_INTERNAL;
			goto out;
		}
out:
	store_check_free(&c);
	if (st == ST_OK) {
		resp->status = ST_OK;
		return st;
	}
	response_error(resp, st);
	/* The id's first characters tell requests apart; the rest is the
	 * credential, which a log never holds. */
	log_warnx("gate: %d %s%s%.*s%s", response_code(st), e.msg,
	    id[0] != '\0' ? " session=" : "", SESSION_LOGGED, id,
	    id[0] != '\0' ? "..." : "");
	return st;
}
