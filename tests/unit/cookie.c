/* SPDX-License-Identifier: MIT */
/*
 * cookie.c: the cases of tests/unit/cookie.txt: where credentials come
 * from (request_credentials: the Authorization header, the __session
 * cookies and their __client_uat, the Origin or Referer), and, through
 * handle(), whether a cookie's token is used. Usage: unit-cookie.tap
 * [DATA-FILE].
 *
 * handle() answers a request that passes authentication from the
 * database; here CHATKIT_DATABASE_URL names a socket directory that does
 * not exist, so such a request ends in 503 without any server, logged
 * with the token's user. A case expects "authenticated" for that, or a
 * 401 and its logged reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/auth.h"
#include "../../cgi-bin/config.h"
#include "../../cgi-bin/handler.h"
#include "../../cgi-bin/log.h"
#include "../../cgi-bin/request.h"
#include "../../cgi-bin/store.h"
#include "mint.h"
#include "unit.h"

#define VARS_MAX 16
#define PARTIES_DEFAULT "http://127.0.0.1,https://app.example.test"
#define DEAD_DATABASE "host=/nonexistent/chatkit-unit dbname=none"
#define TOKEN_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"}"

/* A case's variables: CGI ones and the settings, looked up by name. */
struct vars {
	char *name[VARS_MAX];
	char *value[VARS_MAX];
	size_t n;
};

static const char *
lookup(const char *name, void *arg)
{
	const struct vars *v = arg;
	size_t i;

	for (i = v->n; i > 0; i--)
		if (strcmp(v->name[i - 1], name) == 0)
			return v->value[i - 1];
	return NULL;
}

static bool
vars_put(struct vars *v, const char *name, size_t nlen, const char *value)
{
	if (v->n == VARS_MAX)
		return false;
	if ((v->name[v->n] = strndup(name, nlen)) == NULL)
		return false;
	if ((v->value[v->n] = strdup(value)) == NULL) {
		free(v->name[v->n]);
		return false;
	}
	v->n++;
	return true;
}

static void
vars_free(struct vars *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->name[i]);
		free(v->value[i]);
	}
	v->n = 0;
}

static ssize_t
no_body(void *arg, char *buf, size_t n, int wait_ms)
{
	(void)arg, (void)buf, (void)n, (void)wait_ms;
	return 0;
}

/*
 * <token EDIT...>: a token signed with the main key, its claims those of
 * tests/helpers/tokens.bash at <now>; EDIT is iat=N, nbf=N or exp=N
 * (<now> + N) or -NAME (left out).
 */
static int
token_tag(const char *body, size_t len, struct unit_buf *out, void *arg,
    char *err, size_t errsz)
{
	static const char *const names[] = {
	    "sub", "sid", "iat", "nbf", "exp", "iss", "azp"};
	long long t[] = {0, 0, UNIT_NOW, UNIT_NOW - 5, UNIT_NOW + 300, 0, 0};
	bool drop[7] = {false};
	const struct mint_key *k = arg;
	struct unit_buf claims = {0};
	char *edits = NULL, *e, *save = NULL, *tok = NULL, num[32];
	size_t i;
	int rc = -1;

	if (len < 5 || memcmp(body, "token", 5) != 0 ||
	    (len > 5 && body[5] != ' '))
		return 0;
	if ((edits = strndup(body + 5, len - 5)) == NULL)
		goto out;
	for (e = strtok_r(edits, " ", &save); e != NULL;
	     e = strtok_r(NULL, " ", &save)) {
		for (i = 0; i < 7; i++) {
			size_t n = strlen(names[i]);

			if (e[0] == '-' && strcmp(e + 1, names[i]) == 0) {
				drop[i] = true;
				break;
			}
			if (i >= 2 && i <= 4 && strncmp(e, names[i], n) == 0 &&
			    e[n] == '=') {
				t[i] = UNIT_NOW + strtoll(e + n + 1, NULL, 10);
				break;
			}
		}
		if (i == 7) {
			snprintf(
			    err, errsz, "<token> edit %s does not read", e);
			goto out;
		}
	}
	if (!unit_buf_str(&claims, "{"))
		goto out;
	for (i = 0; i < 7; i++) {
		if (drop[i])
			continue;
		if (claims.len > 1 && !unit_buf_str(&claims, ","))
			goto out;
		if (i >= 2 && i <= 4)
			snprintf(num, sizeof(num), "%lld", t[i]);
		if (!unit_buf_str(&claims, "\"") ||
		    !unit_buf_str(&claims, names[i]) ||
		    !unit_buf_str(&claims, "\":") ||
		    !unit_buf_str(
			&claims, i == 0	  ? "\"user_unit\""
				 : i == 1 ? "\"sess_unit\""
				 : i == 5 ? "\"https://clerk.example.test\""
				 : i == 6 ? "\"http://127.0.0.1\""
					  : num))
			goto out;
	}
	if (!unit_buf_str(&claims, "}"))
		goto out;
	if ((tok = mint_token(TOKEN_HEADER, strlen(TOKEN_HEADER), claims.p,
		 claims.len, MINT_RS256, k)) == NULL ||
	    !unit_buf_str(out, tok))
		goto out;
	rc = 1;
out:
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "cannot mint a token");
	free(edits);
	free(tok);
	unit_buf_free(&claims);
	return rc;
}

/* "cookie A@1 B@missing", "header T", "none" or "bad-header". */
static bool
describe(enum cred_source src, char *const *out, const int64_t *uat, size_t n,
    struct unit_buf *got)
{
	char num[32];
	size_t i;
	bool ok = true;

	switch (src) {
	case CRED_NONE:
		return unit_buf_str(got, "none");
	case CRED_BAD_HEADER:
		return unit_buf_str(got, "bad-header");
	case CRED_HEADER:
		return unit_buf_str(got, "header ") &&
		       unit_buf_str(got, out[0]);
	case CRED_COOKIE:
		ok = unit_buf_str(got, "cookie");
		break;
	}
	for (i = 0; ok && i < n; i++) {
		if (uat[i] == REQUEST_UAT_MISSING)
			snprintf(num, sizeof(num), "missing");
		else if (uat[i] == REQUEST_UAT_INVALID)
			snprintf(num, sizeof(num), "invalid");
		else
			snprintf(num, sizeof(num), "%lld", (long long)uat[i]);
		ok = unit_buf_str(got, " ") && unit_buf_str(got, out[i]) &&
		     unit_buf_str(got, "@") && unit_buf_str(got, num);
	}
	return ok;
}

/* Splits a comma-separated list into items (owned by the caller). */
static size_t
split(char *s, char *item[], size_t max)
{
	char *tok, *save = NULL;
	size_t n = 0;

	for (tok = strtok_r(s, ",", &save); tok != NULL && n < max;
	     tok = strtok_r(NULL, ",", &save))
		item[n++] = tok;
	return n;
}

static void
run_credentials(const struct unit_line *l, const char *want,
    const struct vars *cgi, char *parties)
{
	char *out[CREDENTIALS_MAX] = {NULL}, *item[CONFIG_LIST_MAX];
	int64_t uat[CREDENTIALS_MAX];
	struct request req;
	struct unit_buf got = {0};
	struct err e = {{0}};
	enum cred_source src;
	size_t n = 0, np, i;

	np = split(parties, item, CONFIG_LIST_MAX);
	request_from_env(&req, lookup, (void *)cgi, no_body, NULL);
	src = request_credentials(&req, item, np, out, uat, &n, &e);
	if (!describe(src, out, uat, n, &got))
		unit_fail(l, "out of memory");
	else if (strcmp(got.p, want) != 0)
		unit_fail(l, "expected %s got %s", want, got.p);
	else
		unit_pass(l);
	for (i = 0; i < n; i++)
		free(out[i]);
	request_free(&req);
	unit_buf_free(&got);
}

/* What handle() logged, for the reason of a 401. */
static void
log_sink(const char *line, size_t len, void *arg)
{
	struct unit_buf *b = arg;

	/* Lines joined by a blank. Out of memory, a line is lost, and a
	 * case that looks for its reason fails. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (b->len == 0 || unit_buf_str(b, " "))
		(void)unit_buf_add(b, line, len);
}

static void
run_handle(const struct unit_line *l, const char *want, struct vars *cgi,
    const char *parties, const char *pem)
{
	struct vars settings = {{0}, {0}, 0};
	struct unit_buf logged = {0};
	struct config cfg;
	struct store *db = NULL;
	struct auth *auth = NULL;
	struct request req;
	struct response resp;
	enum status st;
	bool loaded = false;

	if (!vars_put(&settings, "CHATKIT_WORKFLOW_ID", 19, "wf_unit") ||
	    !vars_put(&settings, "CLERK_JWT_KEY", 13, pem) ||
	    !vars_put(&settings, "CHATKIT_CONFIG", 14, "/dev/null") ||
	    !vars_put(&settings, "CHATKIT_DATABASE_URL", 20, DEAD_DATABASE) ||
	    (*parties != '\0' &&
		!vars_put(
		    &settings, "CLERK_AUTHORIZED_PARTIES", 24, parties)) ||
	    !vars_put(cgi, "REQUEST_METHOD", 14, "GET")) {
		unit_fail(l, "out of memory");
		goto out;
	}
	config_load(&cfg, lookup, &settings);
	loaded = true;
	if (!cfg.ok) {
		unit_fail(l, "the settings do not load: %s", cfg.reason.msg);
		goto out;
	}
	if ((auth = auth_new(&cfg, 0)) == NULL ||
	    (db = store_new(cfg.database_url)) == NULL) {
		unit_fail(l, "out of memory");
		goto out;
	}
	log_set_sink(log_sink, &logged);
	request_from_env(&req, lookup, cgi, no_body, NULL);
	st = handle(&cfg, db, auth, &req, (time_t)UNIT_NOW, &resp);
	log_set_sink(NULL, NULL);
	if (strcmp(want, "authenticated") == 0) {
		/* The log line names the user only once one is known. */
		if (st != ST_UNAVAILABLE ||
		    strstr(logged.p != NULL ? logged.p : "",
			" user=user_unit") == NULL)
			unit_fail(l,
			    "expected authenticated (503 from the "
			    "database for user_unit) got %d: %s",
			    response_code(st),
			    logged.p != NULL ? logged.p : "");
		else
			unit_pass(l);
	} else if (st != ST_UNAUTHORIZED) {
		unit_fail(l, "expected %s got %d: %s", want, response_code(st),
		    logged.p != NULL ? logged.p : "");
	} else if (want[3] != '\0' &&
		   strstr(logged.p != NULL ? logged.p : "", want + 4) == NULL) {
		unit_fail(l, "expected a 401 logged with \"%s\" got \"%s\"",
		    want + 4, logged.p != NULL ? logged.p : "");
	} else
		unit_pass(l);
	response_free(&resp);
	request_free(&req);
out:
	store_free(db);
	auth_free(auth);
	if (loaded)
		config_free(&cfg);
	vars_free(&settings);
	unit_buf_free(&logged);
}

static void
run_case(const struct unit_line *l, const struct mint_key *k)
{
	struct vars cgi = {{0}, {0}, 0};
	struct unit_buf expect = {0}, v = {0}, parties = {0};
	char err[256] = "";
	const char *f, *eq;
	size_t i;

	if (l->nfields < 1 || !unit_buf_str(&parties, PARTIES_DEFAULT)) {
		unit_fail(l, "no EXPECT");
		goto out;
	}
	for (i = 1; i < l->nfields; i++) {
		f = l->field[i];
		v.len = 0;
		if ((eq = strchr(f, '=')) == NULL) {
			unit_fail(l, "field %zu is not NAME=VALUE", i + 1);
			goto out;
		}
		if (!unit_decode(
			eq + 1, &v, token_tag, (void *)k, err, sizeof(err))) {
			unit_fail(l, "field %zu: %s", i + 1, err);
			goto out;
		}
		if (strncmp(f, "@parties=", 9) == 0) {
			parties.len = 0;
			if (!unit_buf_add(&parties, v.p, v.len))
				goto oom;
		} else if (!vars_put(&cgi, f, (size_t)(eq - f), v.p))
			goto oom;
	}
	if (!unit_decode(
		l->field[0], &expect, token_tag, (void *)k, err, sizeof(err))) {
		unit_fail(l, "EXPECT: %s", err);
		goto out;
	}
	if (strcmp(expect.p, "authenticated") == 0 ||
	    strncmp(expect.p, "401", 3) == 0)
		run_handle(l, expect.p, &cgi, parties.p, k->pem);
	else
		run_credentials(l, expect.p, &cgi, parties.p);
	goto out;
oom:
	unit_fail(l, "out of memory");
out:
	vars_free(&cgi);
	unit_buf_free(&expect);
	unit_buf_free(&v);
	unit_buf_free(&parties);
}

int
main(int argc, char **argv)
{
	struct unit_file *uf = NULL;
	struct unit_line l;
	struct mint_key key;
	int rc = 1;

	if (!mint_key_new(&key, "kid-main")) {
		unit_bail("cannot make an RSA key");
		return 1;
	}
	if ((uf = unit_open(argc, argv, "tests/unit/cookie.txt")) == NULL)
		goto out;
	while (unit_next(uf, &l))
		run_case(&l, &key);
	rc = unit_done();
out:
	unit_close(uf);
	mint_key_free(&key);
	return rc;
}
