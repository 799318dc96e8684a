/* SPDX-License-Identifier: MIT */
/*
 * claims.c: the cases of tests/unit/claims.txt through token_verify: a
 * header and claims signed here with OpenSSL (keys made for the run),
 * checked against rules at a fixed clock. Usage: unit-claims.tap [FILE].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cgi-bin/keys.h"
#include "../../cgi-bin/keysource.h"
#include "../../cgi-bin/token.h"
#include "mint.h"
#include "unit.h"

#define CLAIMS_MAX 32
#define PARTIES_MAX 8
#define SIG64_LEN 342 /* base64url characters of a 2048-bit signature */
#define HEADER_DEFAULT                                                         \
	"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-main\"}"

/* The claims every case starts from, as tests/helpers/tokens.bash has. */
static const char *const default_claims[][2] = {
    {"sub", "\"user_unit\""},
    {"sid", "\"sess_unit\""},
    {"iat", "<now>"},
    {"nbf", "<now-5>"},
    {"exp", "<now+300>"},
    {"iss", "\"https://clerk.example.test\""},
    {"azp", "\"http://127.0.0.1\""},
};

static const char *const results[TOK__MAX] = {
    [TOK_OK] = "ok",
    [TOK_MALFORMED] = "malformed",
    [TOK_TOO_LONG] = "too-long",
    [TOK_ALGORITHM] = "algorithm",
    [TOK_KEY] = "key",
    [TOK_SIGNATURE] = "signature",
    [TOK_EXPIRED] = "expired",
    [TOK_NOT_YET_VALID] = "not-yet-valid",
    [TOK_ISSUED_IN_FUTURE] = "issued-in-future",
    [TOK_ISSUER] = "issuer",
    [TOK_PARTY] = "party",
    [TOK_STATUS] = "status",
    [TOK_SUBJECT] = "subject",
    [TOK_SESSION] = "session",
    [TOK_CATEGORY] = "category",
    [TOK_TYPE] = "type",
    [TOK_MACHINE] = "machine",
};

/* The keys a case may verify with (@keys=NAME). */
enum keys_name { KS_PEM, KS_PEM_ONELINE, KS_JWKS, KS_JWKS_MAIN, KS__MAX };
static const char *const keys_names[KS__MAX] = {
    "pem", "pem-oneline", "jwks", "jwks-main"};

struct world {
	struct mint_key main;  /* kid-main */
	struct mint_key other; /* kid-other */
	struct keyset *set[KS__MAX];
	struct keyset *owned[KS__MAX]; /* KS_PEM_ONELINE: main as one line
					  with literal \n */
};

/* One case, built from the line's items. */
struct tcase {
	char *name[CLAIMS_MAX];	 /* claims in order; owned */
	char *value[CLAIMS_MAX]; /* raw JSON text; owned */
	size_t n;
	struct unit_buf extra;	 /* +MEMBERS, raw */
	struct unit_buf header;	 /* the header's bytes */
	struct unit_buf payload; /* @claims=, or built from the above */
	bool payload_set;
	char *parties[PARTIES_MAX]; /* owned */
	size_t nparties;
	struct unit_buf issuer;
	bool issuer_set;
	long skew;
	enum keys_name keys;
	enum mint_sign sign;
	bool sign_other; /* signed with kid-other's key */
	bool hs256_trim; /* HS256 keyed with the PEM text minus its newline */
	const char *mutate; /* @token=, borrowed from the line */
	long length;	    /* @length=, 0: as it comes */
};

static void
tcase_free(struct tcase *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->name[i]);
		free(c->value[i]);
	}
	for (i = 0; i < c->nparties; i++)
		free(c->parties[i]);
	unit_buf_free(&c->extra);
	unit_buf_free(&c->header);
	unit_buf_free(&c->payload);
	unit_buf_free(&c->issuer);
	memset(c, 0, sizeof(*c));
}

static int
find_claim(const struct tcase *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strlen(c->name[i]) == len &&
		    memcmp(c->name[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* Sets claim name (its JSON text value) in place, or last when new. */
static bool
set_claim(struct tcase *c, const char *name, size_t len, const char *value)
{
	int i = find_claim(c, name, len);
	char *v;

	if ((v = strdup(value)) == NULL)
		return false;
	if (i >= 0) {
		free(c->value[i]);
		c->value[i] = v;
		return true;
	}
	if (c->n == CLAIMS_MAX ||
	    (c->name[c->n] = strndup(name, len)) == NULL) {
		free(v);
		return false;
	}
	c->value[c->n++] = v;
	return true;
}

static void
drop_claim(struct tcase *c, const char *name)
{
	int i = find_claim(c, name, strlen(name));

	if (i < 0)
		return;
	free(c->name[i]);
	free(c->value[i]);
	memmove(&c->name[i], &c->name[i + 1],
	    (c->n - (size_t)i - 1) * sizeof(c->name[0]));
	memmove(&c->value[i], &c->value[i + 1],
	    (c->n - (size_t)i - 1) * sizeof(c->value[0]));
	c->n--;
}

/* {"name":value,...,MEMBERS} from the claims and +MEMBERS. */
static bool
build_payload(struct tcase *c)
{
	size_t i;
	bool ok = unit_buf_str(&c->payload, "{");

	for (i = 0; ok && i < c->n; i++)
		ok = (i == 0 || unit_buf_str(&c->payload, ",")) &&
		     unit_buf_str(&c->payload, "\"") &&
		     unit_buf_str(&c->payload, c->name[i]) &&
		     unit_buf_str(&c->payload, "\":") &&
		     unit_buf_str(&c->payload, c->value[i]);
	if (ok && c->extra.len > 0)
		ok = (c->n == 0 || unit_buf_str(&c->payload, ",")) &&
		     unit_buf_add(&c->payload, c->extra.p, c->extra.len);
	return ok && unit_buf_str(&c->payload, "}");
}

/* One @NAME=VALUE item; false with the reason in err. */
static bool
setting(struct tcase *c, const char *item, char *err, size_t errsz)
{
	const char *eq = strchr(item, '=');
	struct unit_buf v = {0};
	const char *name = item + 1;
	size_t nlen, i;
	char *p, *tok, *save = NULL;
	bool ok = false;

	if (eq == NULL) {
		snprintf(err, errsz, "%s is not @NAME=VALUE", item);
		return false;
	}
	nlen = (size_t)(eq - name);
	if (!unit_decode(eq + 1, &v, NULL, NULL, err, errsz))
		return false;
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
	if (IS("header")) {
		unit_buf_free(&c->header);
		c->header = v;
		return true;
	} else if (IS("header+")) {
		/* The default header with MEMBERS after its own. */
		c->header.len = 0;
		ok = unit_buf_add(&c->header, HEADER_DEFAULT,
			 strlen(HEADER_DEFAULT) - 1) &&
		     unit_buf_str(&c->header, ",") &&
		     unit_buf_add(&c->header, v.p, v.len) &&
		     unit_buf_str(&c->header, "}");
	} else if (IS("claims")) {
		unit_buf_free(&c->payload);
		c->payload = v;
		c->payload_set = true;
		return true;
	} else if (IS("skew")) {
		c->skew = strtol(v.p, &p, 10);
		ok = *p == '\0' && v.len > 0;
	} else if (IS("issuer")) {
		unit_buf_free(&c->issuer);
		c->issuer = v;
		c->issuer_set = true;
		return true;
	} else if (IS("parties")) {
		ok = true;
		for (tok = strtok_r(v.p, ",", &save); ok && tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			ok = c->nparties < PARTIES_MAX &&
			     (c->parties[c->nparties++] = strdup(tok)) != NULL;
	} else if (IS("keys")) {
		for (i = 0; i < KS__MAX; i++)
			if (strcmp(v.p, keys_names[i]) == 0)
				c->keys = (enum keys_name)i, ok = true;
	} else if (IS("sign")) {
		ok = true;
		if (strcmp(v.p, "rs256") == 0)
			c->sign = MINT_RS256;
		else if (strcmp(v.p, "other") == 0)
			c->sign = MINT_RS256, c->sign_other = true;
		else if (strcmp(v.p, "rs512") == 0)
			c->sign = MINT_RS512;
		else if (strcmp(v.p, "hs256") == 0)
			c->sign = MINT_HS256;
		else if (strcmp(v.p, "hs256-trim") == 0)
			c->sign = MINT_HS256, c->hs256_trim = true;
		else if (strcmp(v.p, "none") == 0)
			c->sign = MINT_NONE;
		else
			ok = false;
	} else if (IS("token")) {
		c->mutate = eq + 1;
		ok = true;
	} else if (IS("length")) {
		c->length = strtol(v.p, &p, 10);
		ok = *p == '\0' && c->length > 0;
	} else {
		snprintf(err, errsz, "unknown setting %s", item);
		unit_buf_free(&v);
		return false;
	}
#undef IS
	if (!ok && err[0] == '\0')
		snprintf(err, errsz, "%s does not read", item);
	unit_buf_free(&v);
	return ok;
}

/* One item of a line: a claim edit, +MEMBERS or @NAME=VALUE. */
static bool
item(struct tcase *c, const char *it, char *err, size_t errsz)
{
	struct unit_buf v = {0};
	const char *eq;
	bool ok;

	if (it[0] == '@')
		return setting(c, it, err, errsz);
	if (it[0] == '-') {
		drop_claim(c, it + 1);
		return true;
	}
	if (it[0] == '+')
		return unit_decode(it + 1, &c->extra, NULL, NULL, err, errsz);
	if ((eq = strchr(it, '=')) == NULL || eq == it) {
		snprintf(err, errsz,
		    "%s is not NAME=TEXT, NAME:=JSON, -NAME, "
		    "+MEMBERS or @NAME=VALUE",
		    it);
		return false;
	}
	if (eq[-1] == ':') {
		/* NAME:=JSON */
		ok = unit_decode(eq + 1, &v, NULL, NULL, err, errsz) &&
		     set_claim(c, it, (size_t)(eq - 1 - it), v.p);
	} else {
		/* NAME=TEXT: TEXT between quotes as it is (escapes stay). */
		ok = unit_buf_str(&v, "\"") &&
		     unit_decode(eq + 1, &v, NULL, NULL, err, errsz) &&
		     unit_buf_str(&v, "\"") &&
		     set_claim(c, it, (size_t)(eq - it), v.p);
	}
	unit_buf_free(&v);
	if (!ok && err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	return ok;
}

/* b64url length of n bytes */
static size_t
b64len(size_t n)
{
	return (4 * n + 2) / 3;
}

/*
 * Pads the case to a token of exactly want bytes: a "pad" claim of x's
 * after the others and, where base64url cannot land on the length, a
 * blank or two at the header's end.
 */
static bool
pad_to(struct tcase *c, size_t want, char *err, size_t errsz)
{
	struct unit_buf h = {0}, p = {0};
	size_t sp, need, x, fixed;

	for (sp = 0; sp < 3; sp++) {
		h.len = 0;
		if (!unit_buf_add(&h, c->header.p, c->header.len - 1) ||
		    !unit_buf_add(&h, "  ", sp) || !unit_buf_str(&h, "}"))
			goto oom;
		fixed = b64len(h.len) + 2 + SIG64_LEN;
		if (want <= fixed)
			break;
		need = want - fixed;
		x = 3 * need / 4;
		/* ,"pad":"" is 9 bytes more than the payload without it */
		if (b64len(x) != need || x < c->payload.len + 9)
			continue;
		p.len = 0;
		if (!unit_buf_add(&p, c->payload.p, c->payload.len - 1) ||
		    !unit_buf_str(&p, ",\"pad\":\""))
			goto oom;
		while (p.len < x - 2)
			if (!unit_buf_str(&p, "x"))
				goto oom;
		if (!unit_buf_str(&p, "\"}"))
			goto oom;
		unit_buf_free(&c->header);
		unit_buf_free(&c->payload);
		c->header = h;
		c->payload = p;
		return true;
	}
	snprintf(err, errsz, "no padding makes a token of %zu bytes", want);
	unit_buf_free(&h);
	unit_buf_free(&p);
	return false;
oom:
	snprintf(err, errsz, "out of memory");
	unit_buf_free(&h);
	unit_buf_free(&p);
	return false;
}

/* tok with its signature part replaced by sig[0..len), base64url. */
static char *
with_signature(const char *tok, const unsigned char *sig, size_t len)
{
	const char *dot = strrchr(tok, '.');
	char *s64, *out = NULL;
	size_t n;

	if ((s64 = mint_b64url(sig, len)) == NULL)
		return NULL;
	n = (size_t)(dot + 1 - tok) + strlen(s64) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%.*s%s", (int)(dot + 1 - tok), tok, s64);
	free(s64);
	return out;
}

/*
 * The token for the case, changed as @token= says: two-parts,
 * four-parts, bad-char, padding, empty-sig, payload-swapped (another
 * sub under the signature), sig-modulus (the key's modulus as the
 * signature), sig-short (the signature less its last byte).
 */
static char *
make_token(struct tcase *c, const struct world *w, char *err, size_t errsz)
{
	const struct mint_key *k = c->sign_other ? &w->other : &w->main;
	struct mint_key trimmed;
	struct tcase swap;
	unsigned char *sig = NULL;
	char *tok = NULL, *other = NULL, *out = NULL, *d1, *d2, *od1, *od2;
	size_t siglen = 0, n, keep;

	if (c->hs256_trim) {
		/* The PEM text as an environment variable holds it: no final
		 * newline. */
		trimmed = *k;
		if ((trimmed.pem = strdup(k->pem)) == NULL)
			goto oom;
		n = strlen(trimmed.pem);
		while (n > 0 && trimmed.pem[n - 1] == '\n')
			trimmed.pem[--n] = '\0';
		tok = mint_token(c->header.p, c->header.len, c->payload.p,
		    c->payload.len, c->sign, &trimmed);
		free(trimmed.pem);
	} else
		tok = mint_token(c->header.p, c->header.len, c->payload.p,
		    c->payload.len, c->sign, k);
	if (tok == NULL)
		goto oom;
	if (c->mutate == NULL)
		return tok;
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	n = strlen(tok);
	if (strcmp(c->mutate, "two-parts") == 0) {
		*d2 = '\0';
		return tok;
	}
	if (strcmp(c->mutate, "empty-sig") == 0) {
		d2[1] = '\0';
		return tok;
	}
	if (strcmp(c->mutate, "bad-char") == 0) {
		tok[10] = '+';
		return tok;
	}
	if ((out = malloc(n + 8)) == NULL)
		goto oom;
	if (strcmp(c->mutate, "four-parts") == 0) {
		snprintf(out, n + 8, "%s.AAAA", tok);
	} else if (strcmp(c->mutate, "padding") == 0) {
		snprintf(out, n + 8, "%.*s==%s", (int)(d1 - tok), tok, d1);
	} else if (strcmp(c->mutate, "payload-swapped") == 0) {
		/* The same claims for user_other, under this signature. */
		memset(&swap, 0, sizeof(swap));
		swap.sign = MINT_RS256;
		if (!unit_buf_add(&swap.header, c->header.p, c->header.len) ||
		    !set_claim(&swap, "sub", 3, "\"user_other\"")) {
			tcase_free(&swap);
			goto oom;
		}
		for (keep = 0; keep < c->n; keep++)
			if (strcmp(c->name[keep], "sub") != 0 &&
			    !set_claim(&swap, c->name[keep],
				strlen(c->name[keep]), c->value[keep])) {
				tcase_free(&swap);
				goto oom;
			}
		if (!build_payload(&swap) ||
		    (other = mint_token(swap.header.p, swap.header.len,
			 swap.payload.p, swap.payload.len, MINT_RS256, k)) ==
			NULL) {
			tcase_free(&swap);
			goto oom;
		}
		tcase_free(&swap);
		od1 = strchr(other, '.');
		od2 = strrchr(other, '.');
		free(out);
		n = (size_t)(d1 - tok) + (size_t)(od2 - od1) + strlen(d2) + 1;
		if ((out = malloc(n)) == NULL)
			goto oom;
		snprintf(out, n, "%.*s%.*s%s", (int)(d1 - tok), tok,
		    (int)(od2 - od1), od1, d2);
	} else if (strcmp(c->mutate, "sig-modulus") == 0) {
		free(out);
		if ((out = with_signature(tok, k->n, k->nlen)) == NULL)
			goto oom;
	} else if (strcmp(c->mutate, "sig-short") == 0) {
		free(out);
		out = NULL;
		*d2 = '\0';
		if ((sig = mint_sign(
			 tok, strlen(tok), MINT_RS256, k, &siglen)) == NULL)
			goto oom;
		*d2 = '.';
		if ((out = with_signature(tok, sig, siglen - 1)) == NULL)
			goto oom;
	} else {
		snprintf(err, errsz, "unknown @token=%s", c->mutate);
		free(out);
		out = NULL;
	}
	free(tok);
	free(other);
	free(sig);
	return out;
oom:
	if (err[0] == '\0')
		snprintf(err, errsz, "out of memory minting the token");
	free(tok);
	free(other);
	free(out);
	free(sig);
	return NULL;
}

static void
run_case(const struct unit_line *l, const struct world *w)
{
	struct tcase c;
	struct unit_buf expect = {0}, v = {0};
	struct token_rules rules;
	struct principal p;
	struct err e = {{0}};
	enum token_result r;
	char err[256] = "", *tok = NULL;
	const char *want, *rest;
	size_t i, wlen;
	bool ok = false;

	memset(&c, 0, sizeof(c));
	c.skew = 5;
	if (l->nfields < 1) {
		unit_fail(l, "no EXPECT");
		goto out;
	}
	for (i = 0; i < sizeof(default_claims) / sizeof(default_claims[0]);
	     i++) {
		v.len = 0;
		if (!unit_decode(default_claims[i][1], &v, NULL, NULL, err,
			sizeof(err)) ||
		    !set_claim(&c, default_claims[i][0],
			strlen(default_claims[i][0]), v.p)) {
			unit_fail(l, "default claims: %s", err);
			goto out;
		}
	}
	if (!unit_buf_str(&c.header, HEADER_DEFAULT)) {
		unit_fail(l, "out of memory");
		goto out;
	}
	for (i = 1; i < l->nfields; i++)
		if (!item(&c, l->field[i], err, sizeof(err))) {
			unit_fail(l, "field %zu: %s", i + 1, err);
			goto out;
		}
	if (!c.payload_set && !build_payload(&c)) {
		unit_fail(l, "out of memory");
		goto out;
	}
	if (c.length > 0 && !pad_to(&c, (size_t)c.length, err, sizeof(err))) {
		unit_fail(l, "%s", err);
		goto out;
	}
	if ((tok = make_token(&c, w, err, sizeof(err))) == NULL) {
		unit_fail(l, "%s", err);
		goto out;
	}
	if (c.length > 0 && strlen(tok) != (size_t)c.length) {
		unit_fail(l, "the token is %zu bytes, not %ld", strlen(tok),
		    c.length);
		goto out;
	}

	memset(&rules, 0, sizeof(rules));
	rules.keys = w->set[c.keys];
	rules.issuer = c.issuer_set ? c.issuer.p : NULL;
	rules.parties = c.parties;
	rules.nparties = c.nparties;
	rules.skew = c.skew;
	rules.now = (time_t)UNIT_NOW;
	r = token_verify(tok, &rules, &p, &e);

	if (!unit_decode(l->field[0], &expect, NULL, NULL, err, sizeof(err))) {
		unit_fail(l, "EXPECT: %s", err);
		goto out;
	}
	want = expect.p;
	wlen = strcspn(want, " ");
	rest = want + wlen + (want[wlen] == ' ');
	if (strlen(results[r]) != wlen ||
	    strncmp(results[r], want, wlen) != 0) {
		unit_fail(l, "expected %.*s got %s (%s)", (int)wlen, want,
		    results[r], e.msg);
		goto out;
	}
	if (r == TOK_OK && strncmp(rest, "sub=", 4) == 0) {
		if (strcmp(p.user_id, rest + 4) != 0) {
			unit_fail(l, "expected sub=%s got sub=%s", rest + 4,
			    p.user_id);
			goto out;
		}
	} else if (*rest != '\0' && strstr(e.msg, rest) == NULL) {
		unit_fail(
		    l, "expected a reason with \"%s\" got \"%s\"", rest, e.msg);
		goto out;
	}
	ok = true;
out:
	if (ok)
		unit_pass(l);
	free(tok);
	tcase_free(&c);
	unit_buf_free(&expect);
	unit_buf_free(&v);
}

/* The main key's PEM on one line with literal "\n" (a web server's
 * SetEnv holds it so), loaded the way CLERK_JWT_KEY is. */
static bool
oneline_keys(struct world *w)
{
	struct keysource src = {KEYSOURCE_PEM_TEXT, "CLERK_JWT_KEY", NULL};
	struct file_watch watch = {NULL, false, {0}};
	struct unit_buf b = {0};
	struct err e = {{0}};
	const char *s;
	bool ok = true;

	for (s = w->main.pem; ok && *s != '\0'; s++)
		ok = *s == '\n' ? unit_buf_str(&b, "\\n")
				: unit_buf_add(&b, s, 1);
	if (ok && strchr(b.p, '\n') == NULL) {
		src.value = b.p;
		w->owned[KS_PEM_ONELINE] = keysource_load(&src, &watch, &e);
	}
	unit_buf_free(&b);
	file_watch_free(&watch);
	return ok && w->owned[KS_PEM_ONELINE] != NULL;
}

static bool
world_new(struct world *w)
{
	struct err e = {{0}};
	char *jwks = NULL;
	size_t n;
	bool ok = false;

	memset(w, 0, sizeof(*w));
	if (!mint_key_new(&w->main, "kid-main"))
		return false;
	if (!mint_key_new(&w->other, "kid-other"))
		goto out;
	n = strlen(w->main.jwk) + strlen(w->other.jwk) + 16;
	if ((jwks = malloc(n)) == NULL)
		goto out;
	if ((w->owned[KS_PEM] = keys_from_pem(
		 w->main.pem, strlen(w->main.pem), &e)) == NULL)
		goto out;
	snprintf(jwks, n, "{\"keys\":[%s,%s]}", w->main.jwk, w->other.jwk);
	if ((w->owned[KS_JWKS] = keys_from_jwks(jwks, strlen(jwks), &e)) ==
	    NULL)
		goto out;
	snprintf(jwks, n, "{\"keys\":[%s]}", w->main.jwk);
	if ((w->owned[KS_JWKS_MAIN] = keys_from_jwks(jwks, strlen(jwks), &e)) ==
	    NULL)
		goto out;
	if (!oneline_keys(w))
		goto out;
	w->set[KS_PEM] = w->owned[KS_PEM];
	w->set[KS_JWKS] = w->owned[KS_JWKS];
	w->set[KS_JWKS_MAIN] = w->owned[KS_JWKS_MAIN];
	w->set[KS_PEM_ONELINE] = w->owned[KS_PEM_ONELINE];
	ok = true;
out:
	if (!ok && e.msg[0] != '\0')
		printf("# %s\n", e.msg);
	free(jwks);
	return ok;
}

static void
world_free(struct world *w)
{
	size_t i;

	for (i = 0; i < KS__MAX; i++)
		keys_free(w->owned[i]);
	mint_key_free(&w->main);
	mint_key_free(&w->other);
}

int
main(int argc, char **argv)
{
	struct unit_file *uf = NULL;
	struct unit_line l;
	struct world w;
	int rc = 1;

	if (!world_new(&w)) {
		unit_bail("cannot make or load the test keys");
		world_free(&w);
		return 1;
	}
	if ((uf = unit_open(argc, argv, "tests/unit/claims.txt")) == NULL)
		goto out;
	while (unit_next(uf, &l))
		run_case(&l, &w);
	rc = unit_done();
out:
	unit_close(uf);
	world_free(&w);
	return rc;
}
