/* SPDX-License-Identifier: MIT */
/* lookup.h: the host names libpq would look up for a connection, looked
 * up first in a child process that a deadline ends */
#ifndef LOOKUP_H
#define LOOKUP_H

#include <libpq-fe.h>

#include "err.h"

/*
 * Connection keywords, given after the URL's so that they win: host
 * names with the numeric addresses they resolved to beside them
 * (hostaddr), so libpq looks nothing up and still checks TLS
 * certificates (verify-full) and .pgpass against the names.
 */
struct lookup {
	char *host;	/* one entry per address of each looked-up name */
	char *hostaddr; /* empty entries where host needs no lookup */
	char *port;	/* NULL: the port setting as it is */
};

enum lookup_result {
	LOOKUP_NONE,	/* no name to look up: connect as given */
	LOOKUP_OK,	/* l filled: connect with its keywords too */
	LOOKUP_TIMEOUT, /* no answer in time (the name in e) */
	LOOKUP_FAILED,	/* no host has an address (the reason in e) */
	LOOKUP__MAX
};

/*
 * Looks up, within wait_ms, the host names libpq would look up: host
 * entries that are neither a numeric address nor a socket directory and
 * have no hostaddr entry, from opts (the URL's keywords; NULL: none) or
 * else from PGHOST, PGHOSTADDR and PGPORT, as libpq takes them. Not for
 * a connection that names a pg_service.conf entry: its values, which
 * this does not read, would lose to the keywords. LOOKUP_OK fills l
 * (lookup_free frees it).
 */
enum lookup_result lookup_hosts(const PQconninfoOption *opts, long long wait_ms,
    struct lookup *l, struct err *e);
void lookup_free(struct lookup *l);

#endif
