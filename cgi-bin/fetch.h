/* SPDX-License-Identifier: MIT */
/* fetch.h: one bounded HTTPS GET (the only module that knows libcurl) */
#ifndef FETCH_H
#define FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define FETCH_CONNECT_MS 2000	    /* TCP + TLS connect */
#define FETCH_TOTAL_MS 5000	    /* the whole fetch, redirects included */
#define FETCH_BODY_MAX (256 * 1024) /* bytes of body kept */
#define FETCH_REDIRECTS_MAX 3	    /* same-host redirects followed */

/*
 * GETs url (https:// only) with TLS verified against the system store or
 * ca_file (NULL: the system's), within the bounds above, following
 * redirects only to the same host and port. Returns true with a malloc'd,
 * NUL-terminated body (*len without the NUL) that the caller frees when
 * the answer is 200; false with the reason in e otherwise. libcurl is
 * loaded on the first call (dlopen) unless the program is linked with it.
 */
bool fetch_https(const char *url, const char *ca_file, char **body, size_t *len,
    struct err *e);

/* True when url starts with "https://" and names a host. */
bool fetch_url_ok(const char *url);

#endif
