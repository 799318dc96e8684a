/* SPDX-License-Identifier: MIT */
/* lookup.c: the host names libpq would look up for a connection, looked
 * up first in a child process that a deadline ends */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "lookup.h"

#define LOOKUP_ADDRS_MAX 16 /* addresses of one name passed on to libpq */
#define ADDR_TEXT_MAX 64    /* a numeric address, an IPv6 scope included */
#define LINE_MAX_BYTES (LOOKUP_ADDRS_MAX * ADDR_TEXT_MAX + 1)

/* A comma-separated list, split as libpq splits it (no quoting). */
struct list {
	char *buf;   /* the copy, a NUL for each comma */
	char **item; /* into buf */
	size_t n;    /* 0: an absent or empty setting */
};

/* The names the child looks up, in order. */
struct names {
	char **name;
	size_t n;
};

/* A list being joined with commas; failed once out of memory. */
struct joined {
	char *s;
	size_t len, cap, n;
	bool failed;
};

/* Splits s (NULL or empty: no item); false when out of memory. */
static bool
list_split(const char *s, struct list *l)
{
	size_t i, n = 1;
	char *p;

	memset(l, 0, sizeof(*l));
	if (s == NULL || s[0] == '\0')
		return true;
	for (p = (char *)s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	if ((l->buf = strdup(s)) == NULL ||
	    (l->item = calloc(n, sizeof(*l->item))) == NULL) {
		free(l->buf);
		l->buf = NULL;
		return false;
	}
	p = l->buf;
	for (i = 0; i < n; i++) {
		l->item[i] = p;
		p += strcspn(p, ",");
		if (*p == ',')
			*p++ = '\0';
	}
	l->n = n;
	return true;
}

static void
list_free(struct list *l)
{
	free(l->item);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

/* Adds an item (NULL: nothing, not even a comma). */
static void
join(struct joined *j, const char *item)
{
	size_t need, len;
	char *s;

	if (item == NULL || j->failed)
		return;
	len = strlen(item);
	need = j->len + len + 2;
	if (need > j->cap) {
		if ((s = realloc(j->s, need * 2)) == NULL) {
			j->failed = true;
			return;
		}
		j->s = s;
		j->cap = need * 2;
	}
	if (j->n++ > 0)
		j->s[j->len++] = ',';
	memcpy(j->s + j->len, item, len + 1);
	j->len += len;
}

/*
 * The value libpq takes for keyword: the URL's when it sets one (even
 * empty), else the environment's; NULL when neither does.
 */
static const char *
setting(const PQconninfoOption *opts, const char *keyword, const char *env)
{
	const PQconninfoOption *o;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
			return o->val;
	return getenv(env);
}

/*
 * Whether libpq reaches a host entry without asking a resolver: empty
 * (the default socket), a socket directory ('/', or '@' for Linux's
 * abstract namespace) or a numeric address, which getaddrinfo reads as
 * libpq's own call will.
 */
static bool
needs_no_lookup(const char *host)
{
	struct addrinfo hints, *ai = NULL;

	if (host[0] == '\0' || host[0] == '/' || host[0] == '@')
		return true;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return false;
	freeaddrinfo(ai);
	return true;
}

/*
 * The child: for each name in order, one line as soon as it is known:
 * its numeric addresses (at most LOOKUP_ADDRS_MAX, in the resolver's
 * order) separated by spaces, or '!' and the resolver's reason. The
 * lookup asks what libpq's does (any family, stream sockets).
 * getaddrinfo is not async-signal-safe: forked while another thread is
 * inside the resolver (libcurl's threaded resolver, left behind by a key
 * fetch that timed out), the child may wait forever on a lock that
 * thread held. The deadline ends it then, as it ends a resolver that
 * never answers.
 */
static void
lookup_child(void *arg, int fd)
{
	const struct names *nm = arg;
	struct addrinfo hints, *res, *ai;
	char line[LINE_MAX_BYTES + 1], addr[ADDR_TEXT_MAX];
	size_t i, len, k;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; i < nm->n; i++) {
		len = 0;
		res = NULL;
		if ((rc = getaddrinfo(nm->name[i], NULL, &hints, &res)) != 0) {
			len = (size_t)snprintf(line, sizeof(line), "!%s",
			    rc == EAI_SYSTEM ? strerror(errno)
					     : gai_strerror(rc));
			if (len >= sizeof(line) - 1)
				len = sizeof(line) - 2;
		}
		for (ai = res, k = 0; ai != NULL && k < LOOKUP_ADDRS_MAX;
		     ai = ai->ai_next) {
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
				sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			if (k++ > 0)
				line[len++] = ' ';
			memcpy(line + len, addr, strlen(addr));
			len += strlen(addr);
		}
		if (res != NULL) /* musl's freeaddrinfo takes no NULL */
			freeaddrinfo(res);
		line[len++] = '\n';
		if (write(fd, line, len) != (ssize_t)len)
			_exit(1);
	}
}

/*
 * Runs lookup_child for nm within wait_ms: its lines in *out (the caller
 * frees it), one per name, or the result that ends the lookup.
 */
static enum lookup_result
lookup_names(struct names *nm, long long wait_ms, char **out, struct err *e)
{
	struct err ce = {{0}};
	size_t size = nm->n * (LINE_MAX_BYTES + 1) + 1, len, got;
	enum child_result cr;
	char *buf, *p;

	*out = NULL;
	if ((buf = malloc(size)) == NULL) {
		err_set(e, "host name lookup: out of memory");
		return LOOKUP_FAILED;
	}
	cr = child_run(lookup_child, nm, wait_ms, buf, size, &len, &ce);
	for (p = buf, got = 0; (p = strchr(p, '\n')) != NULL; p++)
		got++;
	if (cr == CHILD_DONE && got == nm->n) {
		*out = buf;
		return LOOKUP_OK;
	}
	free(buf);
	if (cr == CHILD_TIMEOUT) {
		err_set(
		    e, "looking up \"%s\"", nm->name[got < nm->n ? got : 0]);
		return LOOKUP_TIMEOUT;
	}
	if (cr == CHILD_DONE)
		err_set(e, "host name lookup: its process ended early");
	else
		err_set(e, "host name lookup: %s", ce.msg);
	return LOOKUP_FAILED;
}

/*
 * Each entry that needed a lookup becomes one entry per address, host
 * (and port, when there is a list of them) repeated: libpq tries them in
 * turn as it tries the addresses of one name. A name that has none is
 * left out, as libpq goes on to the next host when a lookup fails.
 */
enum lookup_result
lookup_hosts(const PQconninfoOption *opts, long long wait_ms, struct lookup *l,
    struct err *e)
{
	struct list hosts = {0}, addrs = {0}, ports = {0};
	struct names nm = {NULL, 0};
	struct joined jh = {0}, ja = {0}, jp = {0};
	enum lookup_result lr = LOOKUP_NONE;
	char *lines = NULL, *line, *a, *port, *save;
	bool *need = NULL;
	size_t i, n, kept = 0;

	memset(l, 0, sizeof(*l));
	if (!list_split(setting(opts, "host", "PGHOST"), &hosts) ||
	    !list_split(setting(opts, "hostaddr", "PGHOSTADDR"), &addrs) ||
	    !list_split(setting(opts, "port", "PGPORT"), &ports)) {
		err_set(e, "host name lookup: out of memory");
		lr = LOOKUP_FAILED;
		goto out;
	}
	/* Lists that do not match are libpq's to refuse, before any lookup. */
	n = addrs.n > 0 ? addrs.n : hosts.n;
	if (hosts.n == 0 || (addrs.n > 0 && addrs.n != hosts.n) ||
	    (ports.n > 1 && ports.n != n))
		goto out;
	if ((need = calloc(n, sizeof(*need))) == NULL ||
	    (nm.name = calloc(n, sizeof(*nm.name))) == NULL) {
		err_set(e, "host name lookup: out of memory");
		lr = LOOKUP_FAILED;
		goto out;
	}
	for (i = 0; i < n; i++) {
		need[i] = (addrs.n == 0 || addrs.item[i][0] == '\0') &&
			  !needs_no_lookup(hosts.item[i]);
		if (need[i])
			nm.name[nm.n++] = hosts.item[i];
	}
	if (nm.n == 0)
		goto out;
	if ((lr = lookup_names(&nm, wait_ms, &lines, e)) != LOOKUP_OK)
		goto out;
	line = lines;
	for (i = 0; i < n; i++) {
		port = ports.n > 1 ? ports.item[i] : NULL;
		if (!need[i]) {
			join(&jh, hosts.item[i]);
			join(&ja, addrs.n > 0 ? addrs.item[i] : "");
			join(&jp, port);
			kept++;
			continue;
		}
		a = line;
		line += strcspn(line, "\n");
		*line++ = '\0';
		if (a[0] == '!' || a[0] == '\0') {
			err_set(e,
			    "could not translate host name \"%s\" to "
			    "address: %s",
			    hosts.item[i], a[0] == '!' ? a + 1 : "no address");
			continue;
		}
		for (a = strtok_r(a, " ", &save); a != NULL;
		     a = strtok_r(NULL, " ", &save)) {
			join(&jh, hosts.item[i]);
			join(&ja, a);
			join(&jp, port);
			kept++;
		}
	}
	if (jh.failed || ja.failed || jp.failed) {
		err_set(e, "host name lookup: out of memory");
		lr = LOOKUP_FAILED;
	} else if (kept == 0) {
		lr = LOOKUP_FAILED;
	} else {
		l->host = jh.s;
		l->hostaddr = ja.s;
		l->port = jp.s;
		jh.s = ja.s = jp.s = NULL;
	}
out:
	free(jh.s);
	free(ja.s);
	free(jp.s);
	free(lines);
	free(nm.name);
	free(need);
	list_free(&hosts);
	list_free(&addrs);
	list_free(&ports);
	return lr;
}

void
lookup_free(struct lookup *l)
{
	free(l->host);
	free(l->hostaddr);
	free(l->port);
	memset(l, 0, sizeof(*l));
}
