/* SPDX-License-Identifier: MIT */
/* response.c: the only place that writes status lines, headers and errors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "response.h"

struct status_row {
	int code;
	const char *reason;  /* HTTP reason phrase and the JSON "error" */
	const char *message; /* default sentence for the client */
	const char *header;  /* extra header line, or NULL */
};

static const struct status_row statuses[ST__MAX] = {
    {200, "OK", "", NULL}, /* ST_OK */
    {400, "Bad Request", "The request body is not valid.",
	NULL}, /* ST_BAD_REQUEST */
    {401, "Unauthorized", "A valid Clerk session token is required.",
	NULL}, /* ST_UNAUTHORIZED: challenge added below */
    {403, "Forbidden", "Access denied.", NULL}, /* ST_FORBIDDEN */
    {405, "Method Not Allowed", "Only GET, POST and DELETE are supported.",
	"Allow: GET, POST, DELETE"}, /* ST_METHOD */
    {413, "Payload Too Large", "The request body is larger than 64 KiB.",
	NULL}, /* ST_TOO_LARGE */
    {415, "Unsupported Media Type",
	"The request body must be sent as application/json.",
	NULL}, /* ST_MEDIA_TYPE */
    {429, "Too Many Requests",
	"Too many new sessions for this user; try again later.",
	NULL}, /* ST_TOO_MANY: Retry-After added below */
    {500, "Configuration Error", "The server is not configured correctly.",
	NULL}, /* ST_CONFIG */
    {500, "Internal Server Error",
	"An unexpected error occurred. Please try again later.",
	NULL}, /* ST_INTERNAL */
    {503, "Service Unavailable",
	"The session store is unavailable. Please try again shortly.",
	"Retry-After: 5"}, /* ST_UNAVAILABLE */
};

void
response_init(struct response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = ST_OK;
}

void
response_free(struct response *r)
{
	free(r->body);
	r->body = NULL;
	free(r->variables);
	r->variables = NULL;
}

bool
response_add_variable(struct response *r, const char *name, const char *value)
{
	size_t have = r->variables != NULL ? strlen(r->variables) : 0;
	size_t add = strlen("Variable-: \r\n") + strlen(name) + strlen(value);
	const char *p;
	char *v;

	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	if ((v = realloc(r->variables, have + add + 1)) == NULL)
		return false;
	snprintf(v + have, add + 1, "Variable-%s: %s\r\n", name, value);
	r->variables = v;
	return true;
}

void
response_error(struct response *r, enum status st)
{
	r->status = st < ST__MAX ? st : ST_INTERNAL;
	free(r->body);
	r->body = NULL;
	free(r->variables);
	r->variables = NULL;
}

int
response_code(enum status st)
{
	return statuses[st < ST__MAX ? st : ST_INTERNAL].code;
}

char *
response_json(struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return text != NULL ? strdup(text) : NULL;
}

/* The JSON error object; NULL when allocation fails. Caller frees. */
static char *
error_body(const struct status_row *row, const char *message)
{
	json_object *o = NULL;
	char *text = NULL;

	if ((o = json_object_new_object()) == NULL)
		goto out;
	if (json_object_object_add(
		o, "error", json_object_new_string(row->reason)) != 0 ||
	    json_object_object_add(
		o, "message", json_object_new_string(message)) != 0)
		goto out;
	text = response_json(o);
out:
	json_object_put(o);
	return text;
}

/*
 * An authorizer's 200: the Status line and the Variable- lines, nothing
 * else (Apache would send any other header on with the proxied answer,
 * and both servers drop a body). Malloc'd, *len bytes, or NULL.
 */
static char *
render_authorized(const struct response *r, size_t *len)
{
	const char *vars = r->variables != NULL ? r->variables : "";
	size_t cap = strlen(vars) + 32;
	char *out;
	int n;

	if ((out = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(out, cap, "Status: 200\r\n%s\r\n", vars);
	if (n < 0 || (size_t)n >= cap) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

/*
 * Renders the whole CGI answer (header lines, blank line, JSON body) into
 * one malloc'd buffer of *len bytes, or returns NULL when memory runs out.
 * A failed render of an error body falls back to a fixed 500 text. The
 * Status line comes first (lighttpd's authorizer mode drops the headers
 * before it); an authorizer's refusal has no Content-Length, which the
 * server sets for the body it sends on.
 */
char *
response_render(const struct response *r, size_t *len)
{
	static const char fallback[] =
	    "{\"error\":\"Internal Server Error\","
	    "\"message\":\"An unexpected error occurred.\"}";
	const struct status_row *row;
	char *body = NULL, *out = NULL, challenge[RESPONSE_MESSAGE_MAX + 32];
	char retry[48];
	const char *text;
	char clen[48];
	size_t blen, cap;
	int n;

	if (r->authorizer && r->status == ST_OK)
		return render_authorized(r, len);
	row = &statuses[r->status < ST__MAX ? r->status : ST_INTERNAL];
	if (r->status == ST_OK && r->body != NULL)
		text = r->body;
	else if (r->status == ST_OK)
		text = fallback, row = &statuses[ST_INTERNAL];
	else {
		body = error_body(
		    row, r->message[0] != '\0' ? r->message : row->message);
		text = body != NULL ? body : fallback;
	}

	challenge[0] = '\0';
	if (r->status == ST_UNAUTHORIZED)
		snprintf(challenge, sizeof(challenge),
		    "WWW-Authenticate: %s\r\n",
		    r->challenge[0] != '\0' ? r->challenge
					    : "Bearer realm=\"chatkit\"");

	retry[0] = '\0';
	if (r->status == ST_TOO_MANY)
		snprintf(retry, sizeof(retry), "Retry-After: %ld\r\n",
		    r->retry_after > 0 ? r->retry_after : 1);

	blen = strlen(text);
	clen[0] = '\0';
	if (!r->authorizer)
		snprintf(
		    clen, sizeof(clen), "Content-Length: %zu\r\n", blen + 1);
	cap = blen + sizeof(challenge) + sizeof(retry) + sizeof(clen) + 512;
	if ((out = malloc(cap)) == NULL)
		goto out;
	n = snprintf(out, cap,
	    "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s%s%s%s"
	    "\r\n",
	    row->code, row->reason, clen, challenge, retry,
	    row->header != NULL ? row->header : "",
	    row->header != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n + blen + 2 > cap) {
		free(out);
		out = NULL;
		goto out;
	}
	memcpy(out + n, text, blen);
	out[n + blen] = '\n';
	out[n + blen + 1] = '\0';
	*len = (size_t)n + blen + 1;
out:
	free(body);
	return out;
}
