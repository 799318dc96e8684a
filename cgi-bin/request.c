/* SPDX-License-Identifier: MIT */
/* request.c: CGI variables, bounded body, credentials and body shape */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deadline.h"
#include "jsonstrict.h"
#include "request.h"
#include "token.h"

#define ORIGIN_MAX 512 /* bytes of an origin we compare */
/* A body, read or drained, is waited for this long from the first read:
 * a client that sends slowly or stops cannot hold the process longer. */
#define BODY_TIME_MS 3000
#define DRAIN_IDLE_MS 1000 /* a drained body that stops flowing is left */

/*
 * CONTENT_LENGTH: plain digits, overflow-checked, compared to BODY_MAX.
 * *out keeps the declared length (saturated just above DRAIN_MAX) even
 * when it is too large, so the body can still be drained.
 */
static enum status
parse_length(const char *s, size_t *out)
{
	size_t v = 0;

	*out = 0;
	if (s == NULL || *s == '\0')
		return ST_OK;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return ST_BAD_REQUEST;
		if (v > DRAIN_MAX)
			continue; /* already too large; keep checking digits */
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return v > BODY_MAX ? ST_TOO_LARGE : ST_OK;
}

void
request_from_env(struct request *req, request_lookup_fn lookup, void *arg,
    request_read_fn rd, void *read_arg)
{
	memset(req, 0, sizeof(*req));
	req->method = lookup("REQUEST_METHOD", arg);
	req->content_type = lookup("CONTENT_TYPE", arg);
	req->authorization = lookup("HTTP_AUTHORIZATION", arg);
	/* Apache's RewriteRule fallback renames it after an internal redirect.
	 */
	if (req->authorization == NULL)
		req->authorization = lookup("REDIRECT_HTTP_AUTHORIZATION", arg);
	req->cookie = lookup("HTTP_COOKIE", arg);
	req->origin = lookup("HTTP_ORIGIN", arg);
	req->referer = lookup("HTTP_REFERER", arg);
	req->length_status =
	    parse_length(lookup("CONTENT_LENGTH", arg), &req->content_length);
	req->read = rd;
	req->read_arg = read_arg;
}

void
request_free(struct request *req)
{
	free(req->body);
	req->body = NULL;
}

bool
request_type_ok(const struct request *req)
{
	static const char want[] = "application/json";
	const char *ct = req->content_type, *end;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return false;
	end = ct + sizeof(want) - 1;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0' || *end == ';';
}

/* Copies at most TOKEN_MAX + 1 bytes of s[0..len), so an overlong token
 * still reads as overlong. */
static char *
copy_token(const char *s, size_t len)
{
	char *p;

	if (len > TOKEN_MAX + 1)
		len = TOKEN_MAX + 1;
	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* The origin (scheme://host[:port]) that starts url, into out. */
static bool
url_origin(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://");
	size_t len;

	if (p == NULL)
		return false;
	p += 3;
	len = (size_t)(p - url) + strcspn(p, "/?#");
	if (len >= outsz || len == (size_t)(p - url))
		return false;
	memcpy(out, url, len);
	out[len] = '\0';
	return true;
}

static bool
origin_allowed(const struct request *req, char *const *parties, size_t n)
{
	char origin[ORIGIN_MAX];
	size_t i;

	if (req->origin != NULL) {
		if (strlen(req->origin) >= sizeof(origin))
			return false;
		strcpy(origin, req->origin);
	} else if (req->referer == NULL ||
		   !url_origin(req->referer, origin, sizeof(origin)))
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(origin, parties[i]) == 0)
			return true;
	return false;
}

/*
 * The next "name=value" pair of a Cookie header from *p on: name and
 * value borrowed from the header (blanks trimmed, quotes removed from the
 * value). False at the end.
 */
static bool
next_cookie(const char **p, const char **nm, size_t *nlen, const char **val,
    size_t *vlen)
{
	const char *eq, *end;

	for (;;) {
		while (**p == ' ' || **p == '\t' || **p == ';')
			(*p)++;
		if (**p == '\0')
			return false;
		*nm = *p;
		end = *p + strcspn(*p, ";");
		*p = *end != '\0' ? end + 1 : end;
		if ((eq = memchr(*nm, '=', (size_t)(end - *nm))) == NULL)
			continue;
		*nlen = (size_t)(eq - *nm);
		while (*nlen > 0 &&
		       ((*nm)[*nlen - 1] == ' ' || (*nm)[*nlen - 1] == '\t'))
			(*nlen)--;
		*val = eq + 1;
		while (*val < end && (**val == ' ' || **val == '\t'))
			(*val)++;
		*vlen = (size_t)(end - *val);
		while (*vlen > 0 &&
		       ((*val)[*vlen - 1] == ' ' || (*val)[*vlen - 1] == '\t'))
			(*vlen)--;
		if (*vlen >= 2 && (*val)[0] == '"' && (*val)[*vlen - 1] == '"')
			(*val)++, *vlen -= 2;
		return true;
	}
}

/*
 * Clerk's __client_uat cookie (the time of the last sign-in or sign-out)
 * named "__client_uat" + suffix: its value when it is a plain decimal
 * number, REQUEST_UAT_INVALID when it is anything else, and
 * REQUEST_UAT_MISSING when there is no such cookie. The first one counts.
 */
static int64_t
client_uat(const char *h, const char *suffix, size_t slen)
{
	static const char name[] = "__client_uat";
	const char *p = h, *nm, *val;
	size_t nlen, vlen, i;
	int64_t v = 0;

	while (next_cookie(&p, &nm, &nlen, &val, &vlen)) {
		if (nlen != sizeof(name) - 1 + slen ||
		    memcmp(nm, name, sizeof(name) - 1) != 0 ||
		    memcmp(nm + sizeof(name) - 1, suffix, slen) != 0)
			continue;
		if (vlen == 0 || vlen > 18)
			return REQUEST_UAT_INVALID;
		for (i = 0; i < vlen; i++) {
			if (val[i] < '0' || val[i] > '9')
				return REQUEST_UAT_INVALID;
			v = v * 10 + (val[i] - '0');
		}
		return v;
	}
	return REQUEST_UAT_MISSING;
}

/*
 * The __client_uat that goes with a session cookie of this suffix ("" or
 * "_<suffix>"): its own, or the plain one when it has none (as Clerk
 * reads them).
 */
static int64_t
uat_for(const char *h, const char *suffix, size_t slen)
{
	int64_t v = client_uat(h, suffix, slen);

	if (v == REQUEST_UAT_MISSING && slen > 0)
		v = client_uat(h, "", 0);
	return v;
}

/*
 * Session cookies from the Cookie header: "__session_<suffix>" ones first,
 * in order, then "__session", each with its __client_uat in uat[].
 * Names match exactly; quotes are removed.
 */
static bool
session_cookies(const char *h, char *out[CREDENTIALS_MAX],
    int64_t uat[CREDENTIALS_MAX], size_t *n)
{
	static const char name[] = "__session";
	const char *p = h, *nm, *val;
	const char *plain = NULL;
	size_t plain_len = 0, nlen, vlen;

	while (next_cookie(&p, &nm, &nlen, &val, &vlen)) {
		if (nlen < sizeof(name) - 1 ||
		    memcmp(nm, name, sizeof(name) - 1) != 0 || vlen == 0)
			continue;
		if (nlen == sizeof(name) - 1) {
			if (plain == NULL)
				plain = val, plain_len = vlen;
			continue;
		}
		if (nm[sizeof(name) - 1] != '_' || nlen == sizeof(name))
			continue;
		/* Keep the last slot for a plain __session, wherever it is. */
		if (*n + 1 >= CREDENTIALS_MAX)
			continue;
		if ((out[*n] = copy_token(val, vlen)) == NULL)
			return false;
		uat[*n] = uat_for(
		    h, nm + sizeof(name) - 1, nlen - (sizeof(name) - 1));
		(*n)++;
	}
	if (plain != NULL && *n < CREDENTIALS_MAX) {
		if ((out[*n] = copy_token(plain, plain_len)) == NULL)
			return false;
		uat[*n] = uat_for(h, "", 0);
		(*n)++;
	}
	return true;
}

enum cred_source
request_credentials(const struct request *req, char *const *parties,
    size_t nparties, char *out[CREDENTIALS_MAX], int64_t uat[CREDENTIALS_MAX],
    size_t *n, struct err *e)
{
	const char *a = req->authorization, *tok;
	size_t len;

	*n = 0;
	if (a != NULL && *a != '\0') {
		while (*a == ' ' || *a == '\t')
			a++;
		if (strncasecmp(a, "Bearer", 6) != 0 ||
		    (a[6] != ' ' && a[6] != '\t')) {
			err_set(e, "Authorization is not a Bearer credential");
			return CRED_BAD_HEADER;
		}
		tok = a + 6;
		while (*tok == ' ' || *tok == '\t')
			tok++;
		len = strnlen(tok, TOKEN_MAX + 2);
		while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		if (len == 0) {
			err_set(e, "Authorization: Bearer with no token");
			return CRED_BAD_HEADER;
		}
		if ((out[0] = copy_token(tok, len)) == NULL) {
			err_set(e, "malloc failed");
			return CRED_NONE;
		}
		*n = 1;
		return CRED_HEADER;
	}
	if (req->cookie == NULL || nparties == 0 ||
	    !origin_allowed(req, parties, nparties))
		return CRED_NONE;
	if (!session_cookies(req->cookie, out, uat, n)) {
		err_set(e, "malloc failed");
		return CRED_NONE;
	}
	return *n > 0 ? CRED_COOKIE : CRED_NONE;
}

/*
 * How long a read may still wait for the body: BODY_TIME_MS from the
 * first call, counted down; 0 once it has passed (a read then takes only
 * what has already come).
 */
static int
time_left(struct request *req)
{
	int64_t now = deadline_now_ms();

	if (req->deadline == 0)
		req->deadline = now + BODY_TIME_MS;
	return req->deadline > now ? (int)(req->deadline - now) : 0;
}

enum status
request_read_body(struct request *req, struct err *e)
{
	size_t len = req->content_length, got = 0;
	char *buf = NULL;
	ssize_t r;
	enum status st = ST_INTERNAL;

	if (len > BODY_MAX)
		return ST_TOO_LARGE;
	if ((buf = malloc(len + 1)) == NULL) {
		err_set(e, "body: malloc(%zu) failed", len + 1);
		goto out;
	}
	while (got < len) {
		r = req->read(
		    req->read_arg, buf + got, len - got, time_left(req));
		if (r > 0)
			req->consumed += (size_t)r;
		if (r <= 0 && time_left(req) == 0) {
			err_set(e,
			    "body: %zu of CONTENT_LENGTH %zu came within %d ms",
			    got, len, BODY_TIME_MS);
			st = ST_BAD_REQUEST;
			goto out;
		}
		if (r <= 0) {
			err_set(e,
			    "body: short read, %zu of CONTENT_LENGTH %zu", got,
			    len);
			st = ST_BAD_REQUEST;
			goto out;
		}
		got += (size_t)r;
	}
	buf[len] = '\0';
	req->body = buf; /* ownership moves */
	req->body_len = len;
	buf = NULL;
	st = ST_OK;
out:
	free(buf);
	return st;
}

void
request_drain(struct request *req)
{
	char buf[4096];
	size_t left;
	ssize_t r;
	int wait;

	if (req->read == NULL || req->length_status == ST_BAD_REQUEST ||
	    req->content_length > DRAIN_MAX ||
	    req->consumed >= req->content_length)
		return;
	left = req->content_length - req->consumed;
	while (left > 0) {
		wait = time_left(req);
		r = req->read(req->read_arg, buf,
		    left < sizeof(buf) ? left : sizeof(buf),
		    wait < DRAIN_IDLE_MS ? wait : DRAIN_IDLE_MS);
		if (r <= 0)
			break;
		left -= (size_t)r;
		req->consumed += (size_t)r;
	}
}

static bool
device_id_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > DEVICE_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == ':' || c == '-'))
			return false;
	}
	return true;
}

enum status
request_parse_body(const char *text, size_t len, struct body *b, struct err *e)
{
	json_object *root = NULL, *v;
	enum status st = ST_BAD_REQUEST;
	const char *s;

	memset(b, 0, sizeof(*b));
	if (len == 0)
		return ST_OK;
	/*
	 * Strict JSON (no U+0000, which jsonb cannot hold either), and bounded
	 * numbers: metadata goes through json-c, PostgreSQL's numeric and
	 * metadata::text, which would write 1e131071 out as 131,072 digits.
	 */
	if ((root = json_parse_strict_ex(
		 text, len, BODY_DEPTH_MAX, JSON_BOUNDED_NUMBERS)) == NULL) {
		err_set(e,
		    "body is not strict JSON, nested over %d levels or has a "
		    "number over %d digits or beyond 64 bits",
		    BODY_DEPTH_MAX, JSON_NUMBER_DIGITS_MAX);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		err_set(e, "body is not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(root, "deviceId", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !device_id_ok(json_object_get_string(v),
			(size_t)json_object_get_string_len(v))) {
			err_set(e, "deviceId is not 1..%d of [A-Za-z0-9._:-]",
			    DEVICE_ID_MAX);
			goto out;
		}
		s = json_object_get_string(v);
		memcpy(b->device_id, s, strlen(s) + 1);
	}
	if (json_object_object_get_ex(root, "metadata", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			err_set(e, "metadata is not an object");
			goto out;
		}
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		if (s == NULL || (b->metadata = strdup(s)) == NULL) {
			err_set(e, "metadata: out of memory");
			st = ST_INTERNAL;
			goto out;
		}
	}
	st = ST_OK;
out:
	json_object_put(root);
	if (st != ST_OK)
		request_body_free(b);
	return st;
}

void
request_body_free(struct body *b)
{
	free(b->metadata);
	b->metadata = NULL;
}

/*
 * A DELETE body: a JSON object with exactly one of "deviceId" (the POST
 * shape) or "all" (the value true); other keys are ignored. Anything else
 * is ST_BAD_REQUEST with the reason in e. Fills *r (zeroed first).
 */
enum status
request_parse_revoke(
    const char *text, size_t len, struct revoke *r, struct err *e)
{
	json_object *root = NULL, *dev = NULL, *all = NULL;
	enum status st = ST_BAD_REQUEST;
	bool has_dev, has_all;

	memset(r, 0, sizeof(*r));
	if (len == 0) {
		err_set(e, "DELETE without a body");
		goto out;
	}
	/* Strict JSON, as for POST: no U+0000, no doubled member name. */
	if ((root = json_parse_strict(text, len, BODY_DEPTH_MAX)) == NULL ||
	    !json_object_is_type(root, json_type_object)) {
		err_set(e, "DELETE body is not a strict JSON object");
		goto out;
	}
	has_dev = json_object_object_get_ex(root, "deviceId", &dev);
	has_all = json_object_object_get_ex(root, "all", &all);
	if (has_dev == has_all) {
		err_set(e, "DELETE body has %s of deviceId and all",
		    has_dev ? "both" : "neither");
		goto out;
	}
	if (has_all) {
		if (!json_object_is_type(all, json_type_boolean) ||
		    !json_object_get_boolean(all)) {
			err_set(e, "DELETE body: all is not true");
			goto out;
		}
		r->all = true;
	} else {
		if (!json_object_is_type(dev, json_type_string) ||
		    !device_id_ok(json_object_get_string(dev),
			(size_t)json_object_get_string_len(dev))) {
			err_set(e, "deviceId is not 1..%d of [A-Za-z0-9._:-]",
			    DEVICE_ID_MAX);
			goto out;
		}
		memcpy(r->device_id, json_object_get_string(dev),
		    (size_t)json_object_get_string_len(dev) + 1);
	}
	st = ST_OK;
out:
	json_object_put(root);
	return st;
}
