/* SPDX-License-Identifier: MIT */
/* config.c: the settings table, the CHATKIT_CONFIG file, value checks */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fetch.h"
#include "log.h"
#include "publishable.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif

#define CONFIG_DEFAULT_FILE SYSCONFDIR "/chatkit-session.conf"
#define CACHE_DIR_DEFAULT LOCALSTATEDIR "/cache/chatkit-session"
#define JWKS_PATH "/.well-known/jwks.json" /* under the Frontend API */
#define CONFIG_FILE_MAX (64 * 1024)	   /* bytes in the config file */
#define CONFIG_LINE_MAX (16 * 1024)	   /* bytes in one line of it */
#define CONFIG_VALUE_MAX (16 * 1024)	   /* bytes in one value, env or file */
#define DEFAULT_THRESHOLD 3600

enum setting_type {
	T_STRING,
	T_SECONDS,
	T_NUMBER, /* a whole number that is not a time */
	T_LIST,
};

/*
 * Only a T_SECONDS value is ever quoted in the log (when it does not
 * parse); the secrets (CHATKIT_DATABASE_URL, CLERK_JWT_KEY) are
 * T_STRING, whose values are never logged.
 */
struct setting {
	const char *name;
	enum setting_type type;
	const char *def; /* default, parsed like user input; NULL: none */
	size_t off;	 /* where in struct config */
	long min, max;	 /* T_SECONDS and T_NUMBER bounds */
};

#define OFF(m) offsetof(struct config, m)

static const struct setting settings[] = {
    {"CHATKIT_WORKFLOW_ID", T_STRING, NULL, OFF(workflow_id), 0, 0},
    {"CHATKIT_DATABASE_URL", T_STRING, NULL, OFF(database_url), 0, 0},
    {"CLERK_JWT_KEY", T_STRING, NULL, OFF(jwt_key), 0, 0},
    {"CLERK_JWT_KEY_FILE", T_STRING, NULL, OFF(jwt_key_file), 0, 0},
    {"CLERK_JWKS_FILE", T_STRING, NULL, OFF(jwks_file), 0, 0},
    {"CLERK_AUTHORIZED_PARTIES", T_LIST, NULL, OFF(parties), 0, 0},
    {"CLERK_ISSUER", T_STRING, NULL, OFF(issuer), 0, 0},
    {"CLERK_CLOCK_SKEW", T_SECONDS, "5", OFF(clock_skew), 0, 86400},
    {"CHATKIT_SESSION_TTL", T_SECONDS, "86400", OFF(session_ttl), 1, 315360000},
    {"CHATKIT_REFRESH_THRESHOLD", T_SECONDS, NULL, OFF(refresh_threshold), 0,
	315360000},
    {"CHATKIT_ALLOWED_ROLES", T_LIST, NULL, OFF(roles), 0, 0},
    {"CHATKIT_MAX_DEVICES", T_NUMBER, "10", OFF(max_devices), 0, 100000},
    {"CHATKIT_CREATE_RATE", T_NUMBER, "30", OFF(create_rate), 0, 100000},
    {"CHATKIT_RETENTION_DAYS", T_NUMBER, "30", OFF(retention_days), 1, 36500},
    {"CHATKIT_DB_TIMEOUT", T_SECONDS, "5", OFF(db_timeout), 1, 3600},
    {"CHATKIT_SESSION_RATE", T_NUMBER, "120", OFF(session_rate), 0, 1000000},
    {"CLERK_PUBLISHABLE_KEY", T_STRING, NULL, OFF(publishable_key), 0, 0},
    {"CLERK_JWKS_URL", T_STRING, NULL, OFF(jwks_url), 0, 0},
    {"CLERK_JWKS_TTL", T_SECONDS, "3600", OFF(jwks_ttl), 1, 31536000},
    {"CLERK_JWKS_MAX_STALE", T_SECONDS, "86400", OFF(jwks_max_stale), 0,
	31536000},
    {"CHATKIT_CACHE_DIR", T_STRING, CACHE_DIR_DEFAULT, OFF(cache_dir), 0, 0},
    {"CHATKIT_CA_FILE", T_STRING, NULL, OFF(ca_file), 0, 0},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))
#define SOURCE_CONFIG NSETTINGS /* source[] slot of CHATKIT_CONFIG */

_Static_assert(NSETTINGS + 1 == CONFIG_SOURCES, "CONFIG_SOURCES");

const char *
config_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

struct file_values {
	char *value[NSETTINGS]; /* owned copies of the file's values */
	struct err *e;
	int failed;
};

static char *
xstrdup(const char *s, struct err *e)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err_set(e, "config: strdup failed");
	return p;
}

static int
setting_index(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Trims blanks in place at both ends; returns the new start. */
static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (
	    end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * Walks "KEY=VALUE" lines of text[0..len): blank lines and lines starting
 * with '#' are skipped; blanks around key and value are trimmed; matching
 * quotes around the value are removed. Calls cb for each pair with
 * strings that live until cb returns. A line without '=', an empty key, a
 * NUL byte or a line over CONFIG_LINE_MAX is an error (false, e set).
 */
bool
config_parse_text(const char *text, size_t len,
    void (*cb)(const char *key, const char *value, void *arg), void *arg,
    struct err *e)
{
	char *line = NULL, *key, *value, *eq;
	size_t pos = 0, lineno = 0, n;
	bool ok = false;

	if ((line = malloc(CONFIG_LINE_MAX + 1)) == NULL) {
		err_set(e, "config: malloc failed");
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n > CONFIG_LINE_MAX) {
			err_set(e,
			    "config file line %zu is longer than %d bytes",
			    lineno, CONFIG_LINE_MAX);
			goto out;
		}
		if (memchr(text + pos, '\0', n) != NULL) {
			err_set(
			    e, "config file line %zu has a NUL byte", lineno);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);

		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			err_set(e, "config file line %zu has no '='", lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (*key == '\0') {
			err_set(e, "config file line %zu has no key", lineno);
			goto out;
		}
		n = strlen(value);
		if (n >= 2 && (value[0] == '"' || value[0] == '\'') &&
		    value[n - 1] == value[0]) {
			value[n - 1] = '\0';
			value++;
		}
		cb(key, value, arg);
	}
	ok = true;
out:
	free(line);
	return ok;
}

static void
file_value(const char *key, const char *value, void *arg)
{
	struct file_values *fv = arg;
	int i;

	if ((i = setting_index(key)) < 0) {
		log_warnx("config file: unknown setting %s ignored", key);
		return;
	}
	free(fv->value[i]);
	if ((fv->value[i] = strdup(value)) == NULL) {
		err_set(fv->e, "config: strdup failed");
		fv->failed = 1;
	}
}

/* Loads the file named by CHATKIT_CONFIG, or the default one if present. */
static bool
load_file(
    struct config *cfg, const char *path, struct file_values *fv, struct err *e)
{
	char *text = NULL;
	size_t len;
	bool ok = false;

	if (path == NULL || *path == '\0') {
		path = CONFIG_DEFAULT_FILE;
		if (!file_watch_set(&cfg->file, path, e))
			return false;
		if (!cfg->file.exists)
			return true;
	} else if (!file_watch_set(&cfg->file, path, e))
		return false;
	if ((text = file_read(path, CONFIG_FILE_MAX, &len, e)) == NULL)
		goto out;
	fv->e = e;
	if (!config_parse_text(text, len, file_value, fv, e) || fv->failed) {
		err_set(e, "config file %s is not valid", path);
		goto out;
	}
	ok = true;
out:
	free(text);
	return ok;
}

/* Strict decimal seconds in [min, max]; no sign, no blanks, no suffix. */
static bool
parse_seconds(const char *s, long min, long max, long *out)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 12)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Splits on commas, trims each entry, drops empty ones. A value with no
 * entry at all (only commas and blanks) is an error: read as "no list", it
 * would switch the check it names off. */
static bool
parse_list(
    const char *name, const char *s, struct config_list *l, struct err *e)
{
	char *copy = NULL, *tok, *save = NULL, *item;
	bool ok = false;

	if ((copy = xstrdup(s, e)) == NULL)
		goto out;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		item = trim(tok);
		if (*item == '\0')
			continue;
		if (l->n == CONFIG_LIST_MAX) {
			err_set(e, "%s has more than %d entries", name,
			    CONFIG_LIST_MAX);
			goto out;
		}
		if ((l->item[l->n] = xstrdup(item, e)) == NULL)
			goto out;
		l->n++;
	}
	if (l->n == 0) {
		err_set(e, "%s=\"%s\" is a list with no entry", name, s);
		goto out;
	}
	ok = true;
out:
	free(copy);
	return ok;
}

/* Records the client-safe sentence; the log reason is already in e. */
static bool
fail(struct config *cfg, const char *public_msg)
{
	snprintf(cfg->public_msg, sizeof(cfg->public_msg), "%s", public_msg);
	cfg->ok = false;
	return false;
}

/* The client-safe sentence for a setting that does not parse. */
static bool
bad_setting(struct config *cfg, const char *name)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "Setting %s is invalid.", name);
	return fail(cfg, msg);
}

/*
 * CLERK_PUBLISHABLE_KEY implies CLERK_ISSUER and CLERK_JWKS_URL where
 * they are unset; CLERK_JWKS_URL must be https:// and CHATKIT_CACHE_DIR
 * absolute. False (cfg failed, naming the setting) otherwise.
 */
static bool
network_settings(struct config *cfg, struct err *e)
{
	char host[PUBLISHABLE_HOST_MAX + 1], buf[PUBLISHABLE_HOST_MAX + 64];
	struct err pe = {{0}};

	if (cfg->publishable_key != NULL) {
		if (!publishable_key_host(
			cfg->publishable_key, host, sizeof(host), &pe)) {
			err_set(e, "CLERK_PUBLISHABLE_KEY %s", pe.msg);
			return bad_setting(cfg, "CLERK_PUBLISHABLE_KEY");
		}
		if (cfg->issuer == NULL) {
			snprintf(buf, sizeof(buf), "https://%s", host);
			if ((cfg->issuer = xstrdup(buf, e)) == NULL)
				return fail(cfg, "Out of memory.");
		}
		if (cfg->jwks_url == NULL) {
			snprintf(
			    buf, sizeof(buf), "https://%s%s", host, JWKS_PATH);
			if ((cfg->jwks_url = xstrdup(buf, e)) == NULL)
				return fail(cfg, "Out of memory.");
		}
	}
	if (cfg->jwks_url != NULL && !fetch_url_ok(cfg->jwks_url)) {
		err_set(e, "CLERK_JWKS_URL is not an https:// URL with a host");
		return bad_setting(cfg, "CLERK_JWKS_URL");
	}
	if (cfg->cache_dir[0] != '/') {
		err_set(e, "CHATKIT_CACHE_DIR is not an absolute path");
		return bad_setting(cfg, "CHATKIT_CACHE_DIR");
	}
	return true;
}

/* The name looked up for source[i]. */
static const char *
source_name(size_t i)
{
	return i == SOURCE_CONFIG ? "CHATKIT_CONFIG" : settings[i].name;
}

/* Copies what lookup says of every source name into src (NULL: unset). */
static bool
read_sources(char *src[CONFIG_SOURCES], config_lookup_fn lookup, void *arg,
    struct err *e)
{
	const char *v;
	size_t i;

	for (i = 0; i < CONFIG_SOURCES; i++) {
		v = lookup(source_name(i), arg);
		src[i] = NULL;
		if (v != NULL && (src[i] = xstrdup(v, e)) == NULL)
			return false;
	}
	return true;
}

bool
config_stale(const struct config *cfg, config_lookup_fn lookup, void *arg)
{
	const char *v;
	size_t i;

	for (i = 0; i < CONFIG_SOURCES; i++) {
		v = lookup(source_name(i), arg);
		if ((v == NULL) != (cfg->source[i] == NULL) ||
		    (v != NULL && strcmp(v, cfg->source[i]) != 0))
			return true;
	}
	return file_watch_changed(&cfg->file);
}

bool
config_load(struct config *cfg, config_lookup_fn lookup, void *arg)
{
	struct err *e = &cfg->reason;
	struct file_values fv;
	const struct setting *s;
	const char *v;
	size_t i;
	bool ok = false, threshold_set = false;

	memset(cfg, 0, sizeof(*cfg));
	memset(&fv, 0, sizeof(fv));
	cfg->ok = false;

	if (!read_sources(cfg->source, lookup, arg, e)) {
		fail(cfg, "Out of memory.");
		goto out;
	}
	if (!load_file(cfg, cfg->source[SOURCE_CONFIG], &fv, e)) {
		fail(cfg, "The configuration file cannot be read.");
		goto out;
	}
	for (i = 0; i < NSETTINGS; i++) {
		s = &settings[i];
		v = cfg->source[i];
		if (v == NULL || *v == '\0')
			v = fv.value[i];
		if (v != NULL && *v == '\0')
			v = NULL;
		if (v != NULL && strlen(v) > CONFIG_VALUE_MAX) {
			err_set(e, "%s is longer than %d bytes", s->name,
			    CONFIG_VALUE_MAX);
			bad_setting(cfg, s->name);
			goto out;
		}
		if (s->off == OFF(refresh_threshold))
			threshold_set = v != NULL;
		if (v == NULL)
			v = s->def;
		if (v == NULL)
			continue;
		switch (s->type) {
		case T_STRING:
			if ((*(char **)((char *)cfg + s->off) =
				    xstrdup(v, e)) == NULL) {
				fail(cfg, "Out of memory.");
				goto out;
			}
			break;
		case T_SECONDS:
		case T_NUMBER:
			if (!parse_seconds(v, s->min, s->max,
				(long *)((char *)cfg + s->off))) {
				err_set(e,
				    "%s=\"%s\" is not a whole number "
				    "%sin %ld..%ld",
				    s->name, v,
				    s->type == T_SECONDS ? "of seconds " : "",
				    s->min, s->max);
				bad_setting(cfg, s->name);
				goto out;
			}
			break;
		case T_LIST:
			if (!parse_list(s->name, v,
				(struct config_list *)((char *)cfg + s->off),
				e)) {
				bad_setting(cfg, s->name);
				goto out;
			}
			break;
		}
	}
	/* Enough for --cleanup, which needs no workflow id and no key. */
	cfg->settings_ok = true;
	/* An origin has no path: "https://app.example.com/" means the same. */
	for (i = 0; i < cfg->parties.n; i++) {
		char *p = cfg->parties.item[i];
		size_t n = strlen(p);

		while (n > 0 && p[n - 1] == '/')
			p[--n] = '\0';
	}
	if (cfg->workflow_id == NULL) {
		err_set(e, "CHATKIT_WORKFLOW_ID is not set");
		fail(cfg, "ChatKit workflow ID not configured (set "
			  "CHATKIT_WORKFLOW_ID).");
		goto out;
	}
	if (!threshold_set) {
		/* The default must not contradict a short TTL the user set. */
		cfg->refresh_threshold = cfg->session_ttl > DEFAULT_THRESHOLD
					     ? DEFAULT_THRESHOLD
					     : cfg->session_ttl / 2;
	} else if (cfg->refresh_threshold >= cfg->session_ttl) {
		err_set(e,
		    "CHATKIT_REFRESH_THRESHOLD (%ld) must be below "
		    "CHATKIT_SESSION_TTL (%ld)",
		    cfg->refresh_threshold, cfg->session_ttl);
		fail(cfg, "Setting CHATKIT_REFRESH_THRESHOLD is invalid.");
		goto out;
	}
	if (!network_settings(cfg, e))
		goto out;
	cfg->ok = true;
	ok = true;
out:
	for (i = 0; i < NSETTINGS; i++)
		free(fv.value[i]);
	return ok;
}

static void
list_free(struct config_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->item[i]);
	l->n = 0;
}

void
config_free(struct config *cfg)
{
	size_t i;

	free(cfg->workflow_id);
	free(cfg->database_url);
	if (cfg->jwt_key != NULL)
		explicit_bzero(cfg->jwt_key, strlen(cfg->jwt_key));
	free(cfg->jwt_key);
	free(cfg->jwt_key_file);
	free(cfg->jwks_file);
	free(cfg->issuer);
	free(cfg->publishable_key);
	free(cfg->jwks_url);
	free(cfg->cache_dir);
	free(cfg->ca_file);
	list_free(&cfg->parties);
	list_free(&cfg->roles);
	for (i = 0; i < CONFIG_SOURCES; i++) {
		if (cfg->source[i] != NULL)
			explicit_bzero(cfg->source[i], strlen(cfg->source[i]));
		free(cfg->source[i]);
	}
	file_watch_free(&cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}
