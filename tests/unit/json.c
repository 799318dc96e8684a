/* SPDX-License-Identifier: MIT */
/*
 * json.c: every row of tests/helpers/strict-json.txt (JSON object members
 * that strict reading refuses; the Bats files walk the same rows) in each
 * place untrusted JSON is read: the scanner (jsonstrict.c) alone, the
 * POST body at its top level and in metadata, the DELETE body, a token's
 * header and its claims. Each row must be refused everywhere; the same
 * object without the row must pass, so a refusal is the row's doing.
 * Usage: unit-json.tap [ROWS-FILE].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/jsonstrict.h"
#include "../../cgi-bin/keys.h"
#include "../../cgi-bin/request.h"
#include "../../cgi-bin/token.h"
#include "mint.h"
#include "unit.h"

#define DEPTH 32
#define HEADER_OWN "\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\""
#define HEADER "{" HEADER_OWN "}"

/* The claims' own members: valid ones, exp at <now> + 300. */
static char claims_open[96];

struct ctx {
	const struct mint_key *key;
	struct keyset *keys;
};

enum place {
	P_SCANNER,	   /* json_valid */
	P_SCANNER_BOUNDED, /* json_valid, JSON_BOUNDED_NUMBERS */
	P_PARSER,	   /* json_parse_strict */
	P_POST,		   /* request_parse_body, top level */
	P_METADATA,	   /* request_parse_body, in metadata */
	P_DELETE,	   /* request_parse_revoke */
	P_HEADER,	   /* token_verify, the header */
	P_CLAIMS,	   /* token_verify, the claims */
	P__MAX
};

/* Where a row goes: an object of its own members, then the row's. */
static const struct {
	const char *name;
	const char *open; /* up to where the row goes */
	const char *close;
} places[P__MAX] = {
    {"the scanner", "{\"a\":1", "}"},
    {"the scanner, bounded numbers", "{\"a\":1", "}"},
    {"json_parse_strict", "{\"a\":1", "}"},
    {"a POST body", "{\"deviceId\":\"d1\"", "}"},
    {"a POST body's metadata", "{\"metadata\":{\"a\":1", "}}"},
    {"a DELETE body", "{\"all\":true", "}"},
    {"a token header", "{" HEADER_OWN, "}"},
    {"a token's claims", claims_open, "}"},
};

/* Whether text[0..len) passes in place p: true accepted, false refused. */
static bool
accepted(const struct ctx *c, enum place p, const char *text, size_t len,
    struct err *e)
{
	struct token_rules rules;
	struct principal who;
	struct body b;
	struct revoke r;
	json_object *o;
	char claims[128], *tok = NULL;
	bool ok = false;

	switch (p) {
	case P_SCANNER:
		return json_valid(text, len, DEPTH, 0);
	case P_SCANNER_BOUNDED:
		return json_valid(text, len, DEPTH, JSON_BOUNDED_NUMBERS);
	case P_PARSER:
		if ((o = json_parse_strict(text, len, DEPTH)) == NULL)
			return false;
		json_object_put(o);
		return true;
	case P_POST:
	case P_METADATA:
		ok = request_parse_body(text, len, &b, e) == ST_OK;
		request_body_free(&b);
		return ok;
	case P_DELETE:
		return request_parse_revoke(text, len, &r, e) == ST_OK;
	case P_HEADER:
		snprintf(claims, sizeof(claims), "%s}", claims_open);
		tok = mint_token(
		    text, len, claims, strlen(claims), MINT_RS256, c->key);
		break;
	case P_CLAIMS:
		tok = mint_token(
		    HEADER, strlen(HEADER), text, len, MINT_RS256, c->key);
		break;
	case P__MAX:
		return false;
	}
	if (tok == NULL) {
		err_set(e, "cannot mint a token");
		return false;
	}
	memset(&rules, 0, sizeof(rules));
	rules.keys = c->keys;
	rules.skew = 5;
	rules.now = (time_t)UNIT_NOW;
	ok = token_verify(tok, &rules, &who, e) == TOK_OK;
	free(tok);
	return ok;
}

/* The place's object with members (NULL: none) in it, into out. */
static bool
build(enum place p, const char *members, size_t mlen, struct unit_buf *out)
{
	out->len = 0;
	return unit_buf_str(out, places[p].open) &&
	       (members == NULL || (unit_buf_str(out, ",") &&
				       unit_buf_add(out, members, mlen))) &&
	       unit_buf_str(out, places[p].close);
}

int
main(int argc, char **argv)
{
	struct unit_file *uf = NULL;
	struct unit_line l;
	struct unit_buf row = {0}, text = {0};
	struct mint_key key;
	struct keyset *keys = NULL;
	struct ctx c;
	struct err e = {{0}};
	char err[256];
	enum place p;
	size_t rows = 0;
	int rc = 1;

	if (!mint_key_new(&key, "kid-main")) {
		unit_bail("cannot make an RSA key");
		return 1;
	}
	if ((keys = keys_from_pem(key.pem, strlen(key.pem), &e)) == NULL) {
		unit_bail("the key does not load: %s", e.msg);
		goto out;
	}
	c.key = &key;
	c.keys = keys;
	snprintf(claims_open, sizeof(claims_open),
	    "{\"sub\":\"user_unit\",\"sid\":\"sess_unit\",\"exp\":%lld",
	    UNIT_NOW + 300);
	/* Each place takes its object without a row. */
	for (p = 0; p < P__MAX; p++) {
		memset(&e, 0, sizeof(e));
		if (!build(p, NULL, 0, &text)) {
			unit_bail("out of memory");
			goto out;
		}
		unit_result(accepted(&c, p, text.p, text.len, &e),
		    "%s takes %s%s%s", places[p].name, text.p,
		    e.msg[0] != '\0' ? ": " : "", e.msg);
	}
	if ((uf = unit_open(argc, argv, "tests/helpers/strict-json.txt")) ==
	    NULL)
		goto out;
	while (unit_next(uf, &l)) {
		err[0] = '\0';
		row.len = 0;
		rows++;
		if (l.nfields != 2) {
			unit_fail(&l, "a row is NAME<TAB>MEMBERS");
			continue;
		}
		if (!unit_decode(
			l.field[1], &row, NULL, NULL, err, sizeof(err))) {
			unit_fail(&l, "%s", err);
			continue;
		}
		for (p = 0; p < P__MAX; p++) {
			memset(&e, 0, sizeof(e));
			if (!build(p, row.p, row.len, &text)) {
				unit_fail_at(
				    &l, places[p].name, "out of memory");
				continue;
			}
			if (accepted(&c, p, text.p, text.len, &e))
				unit_fail_at(&l, places[p].name,
				    "expected refused got accepted");
			else
				unit_pass_at(&l, places[p].name);
		}
	}
	/* The Bats walkers insist on more than 30 rows; so does this. */
	unit_result(rows > 30, "%zu rows read (more than 30 expected)", rows);
	rc = unit_done();
out:
	unit_close(uf);
	keys_free(keys);
	mint_key_free(&key);
	unit_buf_free(&row);
	unit_buf_free(&text);
	return rc;
}
