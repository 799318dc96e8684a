/* SPDX-License-Identifier: MIT */
/* response.h: status table, headers and JSON bodies */
#ifndef RESPONSE_H
#define RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

enum status {
	ST_OK,
	ST_BAD_REQUEST,
	ST_UNAUTHORIZED,
	ST_FORBIDDEN,
	ST_METHOD,
	ST_TOO_LARGE,
	ST_MEDIA_TYPE,
	ST_TOO_MANY,
	ST_CONFIG,
	ST_INTERNAL,
	ST_UNAVAILABLE,
	ST__MAX
};

#define RESPONSE_MESSAGE_MAX 256

struct response {
	enum status status;
	char message[RESPONSE_MESSAGE_MAX];   /* error sentence; "" = table's */
	char challenge[RESPONSE_MESSAGE_MAX]; /* 401 WWW-Authenticate value */
	char *body;			      /* 200 JSON text, owned */
	long retry_after;		      /* 429: seconds, Retry-After */
	bool authorizer;		      /* a FastCGI AUTHORIZER's */
	char *variables; /* its 200's "Variable-NAME: value" lines, owned */
};

void response_init(struct response *);
void response_free(struct response *);
/* Makes r an error response; the message set before (or "") is kept. */
void response_error(struct response *, enum status);

/*
 * Adds a line "Variable-name: value" to an authorizer's 200 (the server
 * hands value on as the variable name). False when memory runs out or
 * value holds a control character, which would end the header line.
 */
bool response_add_variable(
    struct response *, const char *name, const char *value);

int response_code(enum status);
char *response_render(const struct response *, size_t *len);

struct json_object;
/* o as compact JSON text ('/' not escaped), or NULL; the caller frees. */
char *response_json(struct json_object *o);

#endif
