/* SPDX-License-Identifier: MIT */
/* handler.c: the order of checks, one function per method, success bodies */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "handler.h"
#include "jsonstrict.h"
#include "log.h"
#include "store.h"

#define METADATA_DEPTH_MAX 64
#define LIST_MAX 100				/* sessions in one GET answer */
#define LIST_DEPTH_MAX (METADATA_DEPTH_MAX + 2) /* the array, an entry */

/* The store query every action starts from: the caller and the roles. */
static void
query_init(struct session_query *q, const struct config *cfg,
    const struct principal *who)
{
	memset(q, 0, sizeof(*q));
	q->user_id = who->user_id;
	q->roles = cfg->roles.item;
	q->nroles = cfg->roles.n;
	q->timeout = cfg->db_timeout;
}

/* What the client is told of each store result: a status and a sentence. */
static const struct {
	enum status status;
	const char *message; /* NULL: the status's own sentence */
} store_answers[STORE__MAX] = {
    {ST_OK, NULL}, /* STORE_OK */
    {ST_UNAUTHORIZED,
	"The ChatKit session is unknown, expired or revoked; get a new "
	"one."}, /* STORE_NO_SESSION: the gate's check only */
    {ST_FORBIDDEN, "User role not found"},	/* STORE_NO_USER */
    {ST_FORBIDDEN, "User account is inactive"}, /* STORE_INACTIVE */
    {ST_FORBIDDEN, "User role not allowed"},	/* STORE_ROLE_DENIED */
    {ST_TOO_MANY, NULL},			/* STORE_RATE_LIMITED */
    {ST_UNAVAILABLE, NULL},			/* STORE_UNAVAILABLE */
    {ST_UNAVAILABLE, NULL},			/* STORE_TIMEOUT */
    {ST_INTERNAL, NULL},			/* STORE_ERROR */
};

enum status
store_answer(struct response *resp, enum store_result sr)
{
	if (sr >= STORE__MAX)
		sr = STORE_ERROR;
	if (store_answers[sr].message != NULL)
		snprintf(resp->message, sizeof(resp->message), "%s",
		    store_answers[sr].message);
	return store_answers[sr].status;
}

/* {"<key>": value} as text (value is consumed), or NULL. */
static char *
wrap_body(const char *key, json_object *value)
{
	json_object *root = NULL;
	char *out = NULL;

	if (value == NULL || (root = json_object_new_object()) == NULL)
		goto out;
	if (json_object_object_add(root, key, value) != 0)
		goto out;
	value = NULL; /* owned by root now */
	out = response_json(root);
out:
	json_object_put(value);
	json_object_put(root);
	return out;
}

/* {"session": {...}} as text, or NULL when memory runs out. */
static char *
success_body(const struct session *s)
{
	json_object *root = NULL, *obj = NULL, *meta = NULL;
	char *out = NULL;

	meta = json_parse_strict(
	    s->metadata, strlen(s->metadata), METADATA_DEPTH_MAX);
	if (meta == NULL && (meta = json_object_new_object()) == NULL)
		goto out;
	if ((root = json_object_new_object()) == NULL ||
	    (obj = json_object_new_object()) == NULL)
		goto out;
	if (json_object_object_add(obj, "chatKitSessionId",
		json_object_new_string(s->token)) != 0 ||
	    json_object_object_add(
		obj, "deviceId", json_object_new_string(s->device_id)) != 0 ||
	    json_object_object_add(
		obj, "userId", json_object_new_string(s->user_id)) != 0 ||
	    json_object_object_add(obj, "workflowId",
		json_object_new_string(s->workflow_id)) != 0 ||
	    json_object_object_add(
		obj, "createdAt", json_object_new_string(s->created_at)) != 0 ||
	    json_object_object_add(
		obj, "expiresAt", json_object_new_string(s->expires_at)) != 0)
		goto out;
	if (json_object_object_add(obj, "metadata", meta) != 0)
		goto out;
	meta = NULL; /* owned by obj now */
	if (json_object_object_add(root, "session", obj) != 0)
		goto out;
	obj = NULL;
	out = response_json(root);
out:
	json_object_put(meta);
	json_object_put(obj);
	json_object_put(root);
	return out;
}

/*
 * Asks auth for the caller and turns a refusal into the answer: 401 with
 * its RFC 6750 challenge, or 503 when the keys cannot be had.
 */
static enum status
authenticate(struct auth *auth, const struct request *req, time_t now,
    struct principal *who, struct response *resp, struct err *e)
{
	const char *msg = NULL;
	enum auth_result r;

	if ((r = auth_principal(auth, req, now, who, &msg, e)) == AUTH_OK)
		return ST_OK;
	snprintf(resp->message, sizeof(resp->message), "%s", msg);
	switch (r) {
	case AUTH_BAD_HEADER:
		snprintf(resp->challenge, sizeof(resp->challenge),
		    "Bearer realm=\"chatkit\", error=\"invalid_request\"");
		break;
	case AUTH_REFUSED:
		snprintf(resp->challenge, sizeof(resp->challenge),
		    "Bearer realm=\"chatkit\", error=\"invalid_token\", "
		    "error_description=\"%s\"",
		    msg);
		break;
	case AUTH_UNAVAILABLE:
		return ST_UNAVAILABLE;
	default:
		break;
	}
	return ST_UNAUTHORIZED;
}

/*
 * POST: the caller's session for a device, reused, refreshed or created
 * (one store call). Reads and checks the body; fills resp->body on ST_OK.
 */
static enum status
create_session(const struct config *cfg, struct store *db, struct request *req,
    const struct principal *who, struct response *resp, struct err *e)
{
	struct body body;
	struct session sess;
	struct session_query q;
	enum status st;

	memset(&body, 0, sizeof(body));
	memset(&sess, 0, sizeof(sess));
	if ((st = request_read_body(req, e)) != ST_OK)
		goto out;
	if ((st = request_parse_body(req->body, req->body_len, &body, e)) !=
	    ST_OK)
		goto out;

	query_init(&q, cfg, who);
	q.device_id = body.device_id[0] != '\0' ? body.device_id : NULL;
	q.metadata = body.metadata;
	q.workflow_id = cfg->workflow_id;
	q.ttl = cfg->session_ttl;
	q.threshold = cfg->refresh_threshold;
	q.max_devices = cfg->max_devices;
	q.create_rate = cfg->create_rate;
	st = store_answer(resp, store_acquire(db, &q, &sess, e));
	if (st == ST_TOO_MANY) {
		resp->retry_after = sess.retry_after;
		snprintf(resp->message, sizeof(resp->message),
		    "Too many new sessions: at most %ld an hour. Try again in "
		    "%ld seconds.",
		    cfg->create_rate, sess.retry_after);
	}
	if (st != ST_OK)
		goto out;
	if ((resp->body = success_body(&sess)) == NULL) {
		err_set(e, "out of memory rendering the session");
		st = ST_INTERNAL;
		goto out;
	}
out:
	request_body_free(&body);
	store_session_free(&sess);
	return st;
}

/*
 * GET: the caller's active sessions, {"sessions": [...]}, newest first,
 * never with a session token. The body, if any, is not read.
 */
static enum status
list_sessions(const struct config *cfg, struct store *db, struct request *req,
    const struct principal *who, struct response *resp, struct err *e)
{
	struct session_query q;
	json_object *list = NULL;
	char *json = NULL;
	enum status st;

	(void)req;
	query_init(&q, cfg, who);
	st = store_answer(resp, store_list(db, &q, LIST_MAX, &json, e));
	if (st != ST_OK)
		goto out;
	st = ST_INTERNAL;
	list = json_parse_strict(json, strlen(json), LIST_DEPTH_MAX);
	if (list == NULL || !json_object_is_type(list, json_type_array)) {
		err_set(e, "chatkit_list_sessions returned no JSON array");
		goto out;
	}
	resp->body = wrap_body("sessions", list);
	list = NULL; /* consumed */
	if (resp->body == NULL) {
		err_set(e, "out of memory rendering the list");
		goto out;
	}
	st = ST_OK;
out:
	json_object_put(list);
	free(json);
	return st;
}

/*
 * DELETE {"deviceId": "..."} or {"all": true}: revokes that device's
 * active session or all of the caller's; {"revoked": N}.
 */
static enum status
revoke_sessions(const struct config *cfg, struct store *db, struct request *req,
    const struct principal *who, struct response *resp, struct err *e)
{
	struct session_query q;
	struct revoke what;
	long n = 0;
	enum status st;

	if ((st = request_read_body(req, e)) != ST_OK)
		return st;
	if ((st = request_parse_revoke(req->body, req->body_len, &what, e)) !=
	    ST_OK) {
		snprintf(resp->message, sizeof(resp->message),
		    "Send {\"deviceId\": \"<device>\"} to revoke one "
		    "device's session, or {\"all\": true} to revoke all.");
		return st;
	}
	query_init(&q, cfg, who);
	q.device_id = what.all ? NULL : what.device_id;
	st = store_answer(resp, store_revoke(db, &q, &n, e));
	if (st != ST_OK)
		return st;
	if ((resp->body = wrap_body("revoked", json_object_new_int64(n))) ==
	    NULL) {
		err_set(e, "out of memory rendering the count");
		return ST_INTERNAL;
	}
	return ST_OK;
}

typedef enum status (*action_fn)(const struct config *, struct store *,
    struct request *, const struct principal *, struct response *,
    struct err *);

/* One small function per method; any other method gets 405. */
static const struct action {
	const char *method;
	action_fn run;
} actions[] = {
    {"GET", list_sessions},
    {"POST", create_session},
    {"DELETE", revoke_sessions},
};

static const struct action *
find_action(const char *method)
{
	size_t i;

	if (method == NULL)
		return NULL;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].method, method) == 0)
			return &actions[i];
	return NULL;
}

enum status
handle(const struct config *cfg, struct store *db, struct auth *auth,
    struct request *req, time_t now, struct response *resp)
{
	struct err e = {{0}}, ae = {{0}};
	struct principal who;
	const struct action *act;
	const char *msg;
	enum status st;

	memset(&who, 0, sizeof(who));
	response_init(resp);

	if ((act = find_action(req->method)) == NULL) {
		err_set(&e, "method %.16s",
		    req->method != NULL ? req->method : "(none)");
		st = ST_METHOD;
		goto out;
	}
	if (!cfg->ok) {
		err_set(&e, "configuration error: %s", cfg->reason.msg);
		snprintf(resp->message, sizeof(resp->message), "%s",
		    cfg->public_msg);
		st = ST_CONFIG;
		goto out;
	}
	if (!auth_ready(auth, &msg, &ae)) {
		err_set(&e, "configuration error: %s", ae.msg);
		snprintf(resp->message, sizeof(resp->message), "%s", msg);
		st = ST_CONFIG;
		goto out;
	}
	if ((st = req->length_status) != ST_OK) {
		err_set(&e, "CONTENT_LENGTH is %s",
		    st == ST_TOO_LARGE ? "over the limit" : "not a number");
		if (st == ST_BAD_REQUEST)
			snprintf(resp->message, sizeof(resp->message),
			    "The Content-Length header is not valid.");
		goto out;
	}
	if (req->content_length > 0 && !request_type_ok(req)) {
		err_set(&e, "Content-Type %.64s",
		    req->content_type != NULL ? req->content_type : "(none)");
		st = ST_MEDIA_TYPE;
		goto out;
	}
	if ((st = authenticate(auth, req, now, &who, resp, &e)) != ST_OK)
		goto out;
	st = act->run(cfg, db, req, &who, resp, &e);
out:
	if (st == ST_OK) {
		resp->status = ST_OK;
		return st;
	}
	response_error(resp, st);
	log_warnx("%d %s%s%s", response_code(st),
	    e.msg[0] != '\0' ? e.msg : "error",
	    who.user_id[0] != '\0' ? " user=" : "", who.user_id);
	return st;
}
