/* SPDX-License-Identifier: MIT */
/* version.h: --version, and the CA bundle a static build looks for */
#ifndef VERSION_H
#define VERSION_H

#include <stdio.h>

/*
 * Prints the program version and the versions of the libraries it runs
 * with (as they report themselves); a portable build adds the Debian
 * source package each was built from, so users know when to rebuild.
 */
void version_print(FILE *);

/*
 * A portable build carries no CA store: unless SSL_CERT_FILE is set,
 * points it at the first bundle that exists among the usual places of
 * Linux distributions (version_ca_paths), so OpenSSL's default paths
 * (libcurl) find one on any host. Does nothing in a dynamic build.
 */
void version_ca_default(void);

/* The places version_ca_default tries, in order, NULL-terminated. */
extern const char *const version_ca_paths[];

#endif
