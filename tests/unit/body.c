/* SPDX-License-Identifier: MIT */
/*
 * body.c: the cases of tests/unit/body.txt: the POST and DELETE body
 * shapes (request_parse_body, request_parse_revoke), CONTENT_LENGTH and
 * the body read (request_from_env, request_read_body) and the media type
 * (request_type_ok). Usage: unit-body.tap [DATA-FILE].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/request.h"
#include "unit.h"

#define READ_CHUNK 4093 /* bytes one read hands over, so reads are partial */

/* What the made-up server sends: CGI variables and a body to read. */
struct fake {
	const char *content_length; /* NULL: unset */
	const char *content_type;   /* NULL: unset */
	const char *body;
	size_t len;
	size_t pos;
	size_t reads; /* read calls made */
};

static const char *
lookup(const char *name, void *arg)
{
	const struct fake *f = arg;

	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->content_length;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return f->content_type;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	return NULL;
}

static ssize_t
fake_read(void *arg, char *buf, size_t n, int wait_ms)
{
	struct fake *f = arg;

	(void)wait_ms; /* the whole body is there at once */
	f->reads++;
	if (n > READ_CHUNK)
		n = READ_CHUNK;
	if (n > f->len - f->pos)
		n = f->len - f->pos;
	memcpy(buf, f->body + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static const struct {
	const char *name;
	enum status st;
} statuses[] = {
    {"ok", ST_OK},
    {"400", ST_BAD_REQUEST},
    {"413", ST_TOO_LARGE},
    {"500", ST_INTERNAL},
};

static const char *
status_name(enum status st)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].st == st)
			return statuses[i].name;
	return "another status";
}

/* The status EXPECT starts with; false when it names none. */
static bool
status_of(const char *word, size_t len, enum status *st)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strlen(statuses[i].name) == len &&
		    strncmp(statuses[i].name, word, len) == 0) {
			*st = statuses[i].st;
			return true;
		}
	return false;
}

/*
 * Compares one "name=value" check with what was found; value is the rest
 * of the string for metadata, up to the next blank otherwise. Moves *p on.
 */
static bool
check_field(const struct unit_line *l, const char **p, const char *name,
    const char *got)
{
	size_t nlen = strlen(name), vlen;
	const char *v;

	if (strncmp(*p, name, nlen) != 0 || (*p)[nlen] != '=')
		return true;
	v = *p + nlen + 1;
	vlen = strcmp(name, "metadata") == 0 ? strlen(v) : strcspn(v, " ");
	*p = v + vlen + (v[vlen] == ' ');
	if (got == NULL)
		got = "-";
	if (strlen(got) != vlen || memcmp(got, v, vlen) != 0) {
		unit_fail(l, "expected %s=%.*s got %s=%s", name, (int)vlen, v,
		    name, got);
		return false;
	}
	return true;
}

/* post: the POST body shape; checks deviceId= and metadata= if named. */
static bool
run_post(const struct unit_line *l, enum status want, const char *checks,
    const struct unit_buf *in)
{
	struct body b;
	struct err e = {{0}};
	enum status st;
	const char *p = checks;
	bool ok = false;

	st = request_parse_body(in->p, in->len, &b, &e);
	if (st != want) {
		unit_fail(l, "expected %s got %s (%s)", status_name(want),
		    status_name(st), e.msg);
		goto out;
	}
	while (*p != '\0') {
		const char *before = p;

		if (!check_field(l, &p, "deviceId",
			b.device_id[0] != '\0' ? b.device_id : NULL) ||
		    !check_field(l, &p, "metadata", b.metadata))
			goto out;
		if (p == before) {
			unit_fail(l, "cannot read the check \"%s\"", p);
			goto out;
		}
	}
	ok = true;
out:
	request_body_free(&b);
	return ok;
}

/* delete: the DELETE body shape; "all" or deviceId= after ok. */
static bool
run_delete(const struct unit_line *l, enum status want, const char *checks,
    const struct unit_buf *in)
{
	struct revoke r;
	struct err e = {{0}};
	enum status st;
	const char *p = checks;

	st = request_parse_revoke(in->p, in->len, &r, &e);
	if (st != want) {
		unit_fail(l, "expected %s got %s (%s)", status_name(want),
		    status_name(st), e.msg);
		return false;
	}
	if (strcmp(p, "all") == 0) {
		if (!r.all) {
			unit_fail(
			    l, "expected all got deviceId=%s", r.device_id);
			return false;
		}
		return true;
	}
	if (*p != '\0' && r.all) {
		unit_fail(l, "expected %s got all", p);
		return false;
	}
	if (!check_field(
		l, &p, "deviceId", r.device_id[0] != '\0' ? r.device_id : NULL))
		return false;
	if (*p != '\0') {
		unit_fail(l, "cannot read the check \"%s\"", p);
		return false;
	}
	return true;
}

/*
 * read: CONTENT_LENGTH (NULL: unset) and the bytes sent; ok TEXT is the
 * body read, a status the refusal, "unread" after it that no byte was
 * asked for.
 */
static bool
run_read(const struct unit_line *l, enum status want, const char *rest,
    const char *length, const struct unit_buf *in)
{
	struct fake f = {length, "application/json", in->p, in->len, 0, 0};
	struct request req;
	struct err e = {{0}};
	enum status st;
	bool ok = false;

	request_from_env(&req, lookup, &f, fake_read, &f);
	st = req.length_status;
	if (st == ST_OK)
		st = request_read_body(&req, &e);
	if (st != want) {
		unit_fail(l, "expected %s got %s (%s)", status_name(want),
		    status_name(st), e.msg);
		goto out;
	}
	if (st == ST_OK) {
		if (req.body_len != strlen(rest) ||
		    memcmp(req.body, rest, req.body_len) != 0) {
			unit_fail(l,
			    "expected a body of %zu bytes \"%.40s\" "
			    "got %zu bytes \"%.40s\"",
			    strlen(rest), rest, req.body_len,
			    req.body != NULL ? req.body : "");
			goto out;
		}
	} else if (strcmp(rest, "unread") == 0 && f.reads > 0) {
		unit_fail(l, "expected no read got %zu", f.reads);
		goto out;
	} else if (*rest != '\0' && strcmp(rest, "unread") != 0) {
		unit_fail(l, "cannot read the check \"%s\"", rest);
		goto out;
	}
	ok = true;
out:
	request_free(&req);
	return ok;
}

/* length: CONTENT_LENGTH alone; "ok N" is the length it stands for. */
static bool
run_length(const struct unit_line *l, enum status want, const char *rest,
    const char *length)
{
	struct fake f = {length, NULL, "", 0, 0, 0};
	struct request req;
	char got[32];

	request_from_env(&req, lookup, &f, fake_read, &f);
	snprintf(got, sizeof(got), "%zu", req.content_length);
	if (req.length_status != want) {
		unit_fail(l, "expected %s got %s", status_name(want),
		    status_name(req.length_status));
		return false;
	}
	if (want == ST_OK && strcmp(rest, got) != 0) {
		unit_fail(l, "expected length %s got %s", rest, got);
		return false;
	}
	return true;
}

/* type: "json" when request_type_ok says JSON may be read, else "other". */
static bool
run_type(const struct unit_line *l, const char *want, const char *type)
{
	struct fake f = {NULL, type, "", 0, 0, 0};
	struct request req;
	const char *got;

	if (strcmp(want, "json") != 0 && strcmp(want, "other") != 0) {
		unit_fail(l, "EXPECT of type is json or other");
		return false;
	}
	request_from_env(&req, lookup, &f, fake_read, &f);
	got = request_type_ok(&req) ? "json" : "other";
	if (strcmp(want, got) != 0) {
		unit_fail(l, "expected %s got %s", want, got);
		return false;
	}
	return true;
}

static bool
decode(const struct unit_line *l, const char *what, const char *s,
    struct unit_buf *out)
{
	char err[256] = "";

	if (strcmp(s, "-") == 0)
		return unit_buf_add(out, "", 0) ||
		       (unit_fail(l, "out of memory"), false);
	if (unit_decode(s, out, NULL, NULL, err, sizeof(err)))
		return true;
	unit_fail(l, "%s: %s", what, err);
	return false;
}

/* One line: EXPECT KIND INPUT... */
static void
run_case(const struct unit_line *l)
{
	struct unit_buf expect = {0}, in = {0}, len = {0};
	const char *kind, *rest;
	enum status want = ST_OK;
	size_t wlen;
	bool ok = false;

	if (l->nfields < 3) {
		unit_fail(l, "needs EXPECT, KIND and INPUT");
		goto out;
	}
	if (!decode(l, "EXPECT", l->field[0], &expect))
		goto out;
	kind = l->field[1];
	wlen = strcspn(expect.p, " ");
	rest = expect.p + wlen + (expect.p[wlen] == ' ');
	if (strcmp(kind, "type") == 0) {
		if (!decode(l, "INPUT", l->field[2], &in))
			goto out;
		ok = run_type(
		    l, expect.p, strcmp(l->field[2], "-") == 0 ? NULL : in.p);
		goto out;
	}
	if (!status_of(expect.p, wlen, &want)) {
		unit_fail(l, "EXPECT does not start with ok, 400, 413 or 500");
		goto out;
	}
	if (strcmp(kind, "post") == 0 || strcmp(kind, "delete") == 0) {
		if (l->nfields != 3) {
			unit_fail(l, "%s takes one INPUT", kind);
			goto out;
		}
		if (!decode(l, "INPUT", l->field[2], &in))
			goto out;
		ok = kind[0] == 'p' ? run_post(l, want, rest, &in)
				    : run_delete(l, want, rest, &in);
	} else if (strcmp(kind, "length") == 0) {
		if (!decode(l, "INPUT", l->field[2], &len))
			goto out;
		ok = run_length(l, want, rest,
		    strcmp(l->field[2], "-") == 0 ? NULL : len.p);
	} else if (strcmp(kind, "read") == 0) {
		if (l->nfields != 4) {
			unit_fail(l, "read takes CONTENT_LENGTH and BODY");
			goto out;
		}
		if (!decode(l, "CONTENT_LENGTH", l->field[2], &len) ||
		    !decode(l, "BODY", l->field[3], &in))
			goto out;
		ok = run_read(l, want, rest,
		    strcmp(l->field[2], "-") == 0 ? NULL : len.p, &in);
	} else
		unit_fail(l, "KIND is not post, delete, length, read or type");
out:
	if (ok)
		unit_pass(l);
	unit_buf_free(&expect);
	unit_buf_free(&in);
	unit_buf_free(&len);
}

int
main(int argc, char **argv)
{
	struct unit_file *uf;
	struct unit_line l;
	int rc;

	if ((uf = unit_open(argc, argv, "tests/unit/body.txt")) == NULL)
		return 1;
	while (unit_next(uf, &l))
		run_case(&l);
	rc = unit_done();
	unit_close(uf);
	return rc;
}
