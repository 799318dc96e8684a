/* SPDX-License-Identifier: MIT */
/* config.h: settings from the environment over the CHATKIT_CONFIG file */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "file.h"

#define CONFIG_LIST_MAX 32 /* entries in a comma-separated setting */

/* Looks a setting up (a FastCGI param, then the environment); borrowed. */
typedef const char *(*config_lookup_fn)(const char *name, void *arg);

#define CONFIG_SOURCES 23 /* looked-up names: the settings + CHATKIT_CONFIG */

struct config_list {
	char *item[CONFIG_LIST_MAX];
	size_t n;
};

struct config {
	char *workflow_id;	    /* CHATKIT_WORKFLOW_ID, NULL when unset */
	char *database_url;	    /* CHATKIT_DATABASE_URL, NULL: libpq env */
	char *jwt_key;		    /* CLERK_JWT_KEY (secret) */
	char *jwt_key_file;	    /* CLERK_JWT_KEY_FILE */
	char *jwks_file;	    /* CLERK_JWKS_FILE */
	char *issuer;		    /* CLERK_ISSUER */
	struct config_list parties; /* CLERK_AUTHORIZED_PARTIES */
	struct config_list roles;   /* CHATKIT_ALLOWED_ROLES; n == 0: all */
	long clock_skew;	    /* seconds */
	long session_ttl;	    /* seconds */
	long refresh_threshold;	    /* seconds */
	long max_devices;	    /* active sessions per user; 0: no cap */
	long create_rate;	    /* creates per user per hour; 0: no limit */
	long retention_days;	    /* --cleanup keeps newer rows */
	long db_timeout;	    /* seconds: CHATKIT_DB_TIMEOUT */
	long session_rate;	    /* gate: a minute, a session; 0: no limit */
	char *publishable_key;	    /* CLERK_PUBLISHABLE_KEY */
	char *jwks_url;		    /* CLERK_JWKS_URL, or the key's */
	char *cache_dir;	    /* CHATKIT_CACHE_DIR */
	char *ca_file;		    /* CHATKIT_CA_FILE; NULL: system store */
	long jwks_ttl;		    /* CLERK_JWKS_TTL, seconds */
	long jwks_max_stale;	    /* CLERK_JWKS_MAX_STALE, seconds */
	char *source[CONFIG_SOURCES]; /* raw values read, for config_stale */
	struct file_watch file;	      /* the CHATKIT_CONFIG file */
	bool ok;		      /* false: every request gets 500 */
	bool settings_ok;	      /* every value parsed (ok may be false
					 for want of a workflow id) */
	char public_msg[160];	      /* client-safe sentence when !ok */
	struct err reason;	      /* why !ok, for the log (no secret) */
};

/*
 * Fills cfg from lookup (the environment, or a FastCGI request's params
 * over it) and the config file, and parses and checks every value; the
 * keys they name are auth.c's to read. Returns false (cfg->ok false,
 * cfg->public_msg and cfg->reason set) on any configuration error, which
 * each request then reports; cfg is usable for config_free either way.
 */
bool config_load(struct config *cfg, config_lookup_fn lookup, void *arg);

/* True when a looked-up value or the config file differs from cfg's. */
bool config_stale(const struct config *cfg, config_lookup_fn lookup, void *arg);

/* The process environment as a config_lookup_fn. */
const char *config_getenv(const char *name, void *arg);
void config_free(struct config *cfg);

/* Parses "KEY=VALUE" text (the file's body) for the fuzzer and tests. */
bool config_parse_text(const char *text, size_t len,
    void (*cb)(const char *key, const char *value, void *arg), void *arg,
    struct err *e);

#endif
