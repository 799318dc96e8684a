/* SPDX-License-Identifier: MIT */
/* request.h: what the client sent, read once from the CGI environment */
#ifndef REQUEST_H
#define REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "response.h"

#define BODY_MAX (64 * 1024)	/* bytes of request body */
#define DRAIN_MAX (1024 * 1024) /* bytes of an unread body thrown away */
#define DEVICE_ID_MAX 128	/* characters in deviceId */
#define BODY_DEPTH_MAX 32	/* JSON nesting in the body */
#define CREDENTIALS_MAX 4	/* session cookies tried */

/*
 * Reads up to n bytes, waiting at most wait_ms for the first of them
 * (0: only what has come): count, 0 at end of input or when nothing came
 * in time, -1 on error.
 */
typedef ssize_t (*request_read_fn)(void *arg, char *buf, size_t n, int wait_ms);

/* Looks a CGI variable up: borrowed value, NULL when unset. */
typedef const char *(*request_lookup_fn)(const char *name, void *arg);

struct request {
	const char *method;	   /* REQUEST_METHOD; these borrow from */
	const char *content_type;  /* the lookup's storage, which lives */
	const char *authorization; /* as long as the request */
	const char *cookie;	   /* HTTP_COOKIE */
	const char *origin;	   /* HTTP_ORIGIN */
	const char *referer;	   /* HTTP_REFERER */
	size_t content_length;	   /* parsed CONTENT_LENGTH, 0 when absent */
	enum status length_status; /* ST_OK, ST_BAD_REQUEST, ST_TOO_LARGE */
	request_read_fn read;	   /* body source */
	void *read_arg;
	char *body; /* after request_read_body, owned */
	size_t body_len;
	size_t consumed;  /* body bytes read so far */
	int64_t deadline; /* ms, monotonic, for the body; 0 until first read */
};

struct body {
	char device_id[DEVICE_ID_MAX + 1]; /* "" when not given */
	char *metadata;			   /* JSON object text or NULL, owned */
};

void request_from_env(struct request *, request_lookup_fn, void *arg,
    request_read_fn, void *read_arg);
void request_free(struct request *);

/* True when a body of this Content-Type may be parsed as JSON. */
bool request_type_ok(const struct request *);

enum cred_source {
	CRED_NONE,	 /* nothing usable was sent */
	CRED_HEADER,	 /* Authorization: Bearer */
	CRED_COOKIE,	 /* __session cookie(s) from an authorized origin */
	CRED_BAD_HEADER, /* Authorization present, not a Bearer token */
};

#define REQUEST_UAT_MISSING (-1) /* no __client_uat cookie */
#define REQUEST_UAT_INVALID (-2) /* one that is not a decimal number */

/*
 * Collects candidate tokens: the Bearer token, or up to CREDENTIALS_MAX
 * session cookies when the Origin/Referer is one of parties. Each out[i]
 * is malloc'd (at most TOKEN_MAX + 1 bytes kept) and freed by the caller.
 * For a cookie, uat[i] is the __client_uat that goes with it (the one of
 * the same suffix, else the plain one) or a REQUEST_UAT_* value.
 */
enum cred_source request_credentials(const struct request *,
    char *const *parties, size_t nparties, char *out[CREDENTIALS_MAX],
    int64_t uat[CREDENTIALS_MAX], size_t *n, struct err *e);

/*
 * Reads exactly content_length bytes into req->body. A body not whole
 * BODY_TIME_MS (request.c) after the first read began is ST_BAD_REQUEST.
 */
enum status request_read_body(struct request *, struct err *);

/*
 * Reads and throws away what is left of a body of at most DRAIN_MAX
 * bytes, after the answer is written. A server that is still writing the
 * body when the program exits (Apache's mod_cgid) would otherwise reset
 * the connection and lose the answer, 401 and 413 included. It ends
 * with the read's BODY_TIME_MS, so a slow client cannot hold the
 * process: what has not come by then is left.
 */
void request_drain(struct request *);

/* Checks the body's shape and fills *b (zeroed first). */
enum status request_parse_body(
    const char *text, size_t len, struct body *b, struct err *e);
void request_body_free(struct body *);

/* What a DELETE asks to revoke. */
struct revoke {
	char device_id[DEVICE_ID_MAX + 1]; /* "" when all is true */
	bool all;			   /* {"all": true} */
};

/*
 * Checks a DELETE body: exactly one of {"deviceId": "..."} (the POST
 * shape) or {"all": true}, other keys ignored; no body is an error too.
 * Fills *r (zeroed first); ST_BAD_REQUEST with the reason in e otherwise.
 */
enum status request_parse_revoke(
    const char *text, size_t len, struct revoke *r, struct err *e);

#endif
