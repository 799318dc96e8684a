/* SPDX-License-Identifier: MIT */
/*
 * config.c: the cases of tests/unit/config.txt through config_load: the
 * settings from a made-up environment over a CHATKIT_CONFIG file written
 * for the case; then, when they load, through auth_new, which reads the
 * keys they name. Usage: unit-config.tap [DATA-FILE].
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../cgi-bin/auth.h"
#include "../../cgi-bin/config.h"
#include "../../cgi-bin/log.h"
#include "mint.h"
#include "unit.h"

#define VARS_MAX 32

/* One case's environment: what config_load's lookup sees. */
struct env {
	char *name[VARS_MAX];  /* owned */
	char *value[VARS_MAX]; /* owned; NULL: unset */
	size_t n;
};

/* Where each checked setting lands in struct config. */
enum kind { K_STRING, K_LONG, K_LIST };
static const struct {
	const char *name;
	enum kind kind;
	size_t off;
} fields[] = {
    {"CHATKIT_WORKFLOW_ID", K_STRING, offsetof(struct config, workflow_id)},
    {"CHATKIT_DATABASE_URL", K_STRING, offsetof(struct config, database_url)},
    {"CLERK_JWT_KEY_FILE", K_STRING, offsetof(struct config, jwt_key_file)},
    {"CLERK_JWKS_FILE", K_STRING, offsetof(struct config, jwks_file)},
    {"CLERK_ISSUER", K_STRING, offsetof(struct config, issuer)},
    {"CLERK_AUTHORIZED_PARTIES", K_LIST, offsetof(struct config, parties)},
    {"CHATKIT_ALLOWED_ROLES", K_LIST, offsetof(struct config, roles)},
    {"CLERK_CLOCK_SKEW", K_LONG, offsetof(struct config, clock_skew)},
    {"CHATKIT_SESSION_TTL", K_LONG, offsetof(struct config, session_ttl)},
    {"CHATKIT_REFRESH_THRESHOLD", K_LONG,
	offsetof(struct config, refresh_threshold)},
    {"CHATKIT_MAX_DEVICES", K_LONG, offsetof(struct config, max_devices)},
    {"CHATKIT_CREATE_RATE", K_LONG, offsetof(struct config, create_rate)},
    {"CHATKIT_RETENTION_DAYS", K_LONG, offsetof(struct config, retention_days)},
    {"CHATKIT_DB_TIMEOUT", K_LONG, offsetof(struct config, db_timeout)},
    {"CHATKIT_SESSION_RATE", K_LONG, offsetof(struct config, session_rate)},
    {"CLERK_JWKS_URL", K_STRING, offsetof(struct config, jwks_url)},
    {"CLERK_JWKS_TTL", K_LONG, offsetof(struct config, jwks_ttl)},
    {"CLERK_JWKS_MAX_STALE", K_LONG, offsetof(struct config, jwks_max_stale)},
    {"CHATKIT_CACHE_DIR", K_STRING, offsetof(struct config, cache_dir)},
    {"CHATKIT_CA_FILE", K_STRING, offsetof(struct config, ca_file)},
};

static char tmpdir[] = "/tmp/chatkit-unit-config.XXXXXX";

static const char *
lookup(const char *name, void *arg)
{
	const struct env *env = arg;
	size_t i;

	for (i = env->n; i > 0; i--)
		if (strcmp(env->name[i - 1], name) == 0)
			return env->value[i - 1];
	return NULL;
}

/* Sets (value) or unsets (NULL) name; the last setting wins. */
static bool
env_put(struct env *env, const char *name, size_t nlen, const char *value)
{
	if (env->n == VARS_MAX)
		return false;
	if ((env->name[env->n] = strndup(name, nlen)) == NULL)
		return false;
	env->value[env->n] = NULL;
	if (value != NULL && (env->value[env->n] = strdup(value)) == NULL) {
		free(env->name[env->n]);
		return false;
	}
	env->n++;
	return true;
}

static void
env_free(struct env *env)
{
	size_t i;

	for (i = 0; i < env->n; i++) {
		free(env->name[i]);
		free(env->value[i]);
	}
	env->n = 0;
}

/* <tmp>: the run's temporary directory. */
static int
tmp_tag(const char *body, size_t len, struct unit_buf *out, void *arg,
    char *err, size_t errsz)
{
	(void)arg, (void)err, (void)errsz;
	if (len != 3 || memcmp(body, "tmp", 3) != 0)
		return 0;
	return unit_buf_str(out, tmpdir) ? 1 : -1;
}

static bool
write_file(const char *path, const char *data, size_t len)
{
	FILE *f;
	bool ok;

	if ((f = fopen(path, "w")) == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static bool
append_file(const char *path, const char *text)
{
	FILE *f;
	bool ok;

	if ((f = fopen(path, "a")) == NULL)
		return false;
	ok = fputs(text, f) != EOF;
	return fclose(f) == 0 && ok;
}

/* The value cfg holds for setting name, as text ("-" when unset). */
static bool
value_of(const struct config *cfg, const char *name, struct unit_buf *out)
{
	const char *base = (const char *)cfg;
	const struct config_list *l;
	char num[32];
	size_t i, k;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const void *at = base + fields[i].off;
		const char *s;

		if (strcmp(fields[i].name, name) != 0)
			continue;
		switch (fields[i].kind) {
		case K_STRING:
			s = *(char *const *)at;
			return unit_buf_str(out, s != NULL ? s : "-");
		case K_LONG:
			snprintf(num, sizeof(num), "%ld", *(const long *)at);
			return unit_buf_str(out, num);
		case K_LIST:
			l = at;
			if (l->n == 0)
				return unit_buf_str(out, "-");
			for (k = 0; k < l->n; k++)
				if ((k > 0 && !unit_buf_str(out, ",")) ||
				    !unit_buf_str(out, l->item[k]))
					return false;
			return true;
		}
	}
	return false;
}

/* Lines of the log (config_load warns of unknown file settings). */
static void
log_sink(const char *line, size_t len, void *arg)
{
	(void)arg;
	printf("# log: %.*s", (int)len, line);
}

/*
 * One line: builds the environment (and the file), loads, and compares
 * with EXPECT. Reports the case; false only when the run cannot go on.
 */
static bool
run_case(const struct unit_line *l, const char *pem)
{
	struct env env = {{0}, {0}, 0};
	struct unit_buf v = {0}, expect = {0}, got = {0};
	struct config cfg;
	struct auth *auth = NULL;
	struct err ae = {{0}};
	char err[256] = "", path[sizeof(tmpdir) + 32], *secret, *eq;
	const char *want, *word, *reason, *public_msg = "";
	size_t i, wlen;
	bool loaded = false, ready, ok = false;

	snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
	if (!env_put(&env, "CHATKIT_WORKFLOW_ID", 19, "wf_default") ||
	    !env_put(&env, "CLERK_JWT_KEY", 13, pem) ||
	    !env_put(&env, "CHATKIT_CONFIG", 14, path))
		goto out_of_memory;
	if (l->nfields < 1) {
		unit_fail(l, "no EXPECT field");
		goto done;
	}
	for (i = 1; i < l->nfields; i++) {
		const char *f = l->field[i];

		v.len = 0;
		if (f[0] == '-') {
			if (!env_put(&env, f + 1, strlen(f + 1), NULL))
				goto out_of_memory;
			continue;
		}
		if (strncmp(f, "file:", 5) == 0) {
			if (!unit_decode(
				f + 5, &v, tmp_tag, NULL, err, sizeof(err))) {
				unit_fail(l, "field %zu: %s", i + 1, err);
				goto done;
			}
			snprintf(path, sizeof(path), "%s/case.conf", tmpdir);
			if (!write_file(path, v.p, v.len)) {
				unit_fail(l, "cannot write %s", path);
				goto done;
			}
			if (!env_put(&env, "CHATKIT_CONFIG", 14, path))
				goto out_of_memory;
			continue;
		}
		if ((eq = strchr(f, '=')) == NULL) {
			unit_fail(l,
			    "field %zu is not NAME=VALUE, -NAME or "
			    "file:TEXT",
			    i + 1);
			goto done;
		}
		if (!unit_decode(eq + 1, &v, tmp_tag, NULL, err, sizeof(err))) {
			unit_fail(l, "field %zu: %s", i + 1, err);
			goto done;
		}
		if (!env_put(&env, f, (size_t)(eq - f), v.p))
			goto out_of_memory;
	}
	if (!unit_decode(
		l->field[0], &expect, tmp_tag, NULL, err, sizeof(err))) {
		unit_fail(l, "EXPECT: %s", err);
		goto done;
	}

	config_load(&cfg, lookup, &env);
	loaded = true;
	/* The key source is auth's: a case is ok when its keys load too. */
	if (cfg.ok)
		auth = auth_new(&cfg, 0);
	ready = cfg.ok && auth_ready(auth, &public_msg, &ae);
	reason = cfg.ok ? ae.msg : cfg.reason.msg;
	if (!cfg.ok)
		public_msg = cfg.public_msg;

	/* EXPECT: a word, then what goes with it, then " !SECRET" maybe. */
	word = expect.p;
	wlen = strcspn(word, " ");
	want = word[wlen] == ' ' ? word + wlen + 1 : "";
	if ((secret = strstr(expect.p, " !")) != NULL) {
		*secret = '\0';
		secret += 2;
		if (strstr(reason, secret) != NULL ||
		    strstr(public_msg, secret) != NULL) {
			unit_fail(l,
			    "expected no \"%s\" in the reason or the "
			    "client's sentence, got \"%s\" / \"%s\"",
			    secret, reason, public_msg);
			goto done;
		}
	}
	if (wlen == 2 && strncmp(word, "ok", 2) == 0) {
		if (!ready) {
			unit_fail(l, "expected ok got an error: %s", reason);
			goto done;
		}
		if (*want == '\0') {
			ok = true;
			goto done;
		}
		if ((eq = strchr(want, '=')) == NULL) {
			unit_fail(l, "EXPECT ok takes NAME=VALUE");
			goto done;
		}
		*eq = '\0';
		if (!value_of(&cfg, want, &got)) {
			unit_fail(l,
			    "EXPECT names %s, which this driver does "
			    "not read",
			    want);
			goto done;
		}
		if (strcmp(got.p, eq + 1) != 0) {
			unit_fail(l, "expected %s=%s got %s=%s", want, eq + 1,
			    want, got.p);
			goto done;
		}
		ok = true;
	} else if ((wlen == 5 && strncmp(word, "error", 5) == 0) ||
		   (wlen == 7 && strncmp(word, "message", 7) == 0)) {
		const char *where = word[0] == 'e' ? reason : public_msg;

		if (ready) {
			unit_fail(
			    l, "expected an error naming \"%s\" got ok", want);
			goto done;
		}
		if (strstr(where, want) == NULL) {
			unit_fail(l, "expected %s with \"%s\" got \"%s\"",
			    word[0] == 'e' ? "a reason" : "a message", want,
			    where);
			goto done;
		}
		ok = true;
	} else
		unit_fail(l, "EXPECT is not ok, error or message");
done:
	if (ok)
		unit_pass(l);
	auth_free(auth);
	if (loaded)
		config_free(&cfg);
	env_free(&env);
	unit_buf_free(&v);
	unit_buf_free(&expect);
	unit_buf_free(&got);
	return true;
out_of_memory:
	env_free(&env);
	unit_buf_free(&v);
	unit_buf_free(&expect);
	unit_buf_free(&got);
	unit_bail("out of memory");
	return false;
}

int
main(int argc, char **argv)
{
	struct unit_file *uf = NULL;
	struct unit_line l;
	struct mint_key key;
	char path[sizeof(tmpdir) + 32];
	int rc = 1;
	bool have_key = false;

	log_set_sink(log_sink, NULL);
	if (mkdtemp(tmpdir) == NULL) {
		unit_bail("mkdtemp %s failed", tmpdir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
	if (!write_file(path, "", 0)) {
		unit_bail("cannot write %s", path);
		goto out;
	}
	if (!(have_key = mint_key_new(&key, "kid-main"))) {
		unit_bail("cannot make an RSA key");
		goto out;
	}
	/* The same key as a PEM file and a JWKS file, for the key sources. */
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	if (!write_file(path, key.pem, strlen(key.pem))) {
		unit_bail("cannot write %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/jwks.json", tmpdir);
	if (!write_file(path, "{\"keys\":[", 9) ||
	    !append_file(path, key.jwk) || !append_file(path, "]}")) {
		unit_bail("cannot write %s", path);
		goto out;
	}
	if ((uf = unit_open(argc, argv, "tests/unit/config.txt")) == NULL)
		goto out;
	while (unit_next(uf, &l))
		if (!run_case(&l, key.pem))
			goto out;
	rc = unit_done();
out:
	unit_close(uf);
	if (have_key)
		mint_key_free(&key);
	snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/case.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/jwks.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return rc;
}
