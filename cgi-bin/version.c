/* SPDX-License-Identifier: MIT */
/* version.c: --version: the program and the libraries it runs with */
#include <json-c/json_c_version.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <string.h>

#include "version.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef CK_SRC_VERSIONS
#define CK_SRC_VERSIONS ""
#endif

/*
 * The source package version recorded for pkg in CK_SRC_VERSIONS
 * ("pkg=version pkg=version ..."), copied to buf; NULL when absent.
 */
static const char *
src_version(const char *pkg, char *buf, size_t size)
{
	const char *p = CK_SRC_VERSIONS, *end;
	size_t plen = strlen(pkg), vlen;

	while (*p != '\0') {
		end = p + strcspn(p, " ");
		if ((size_t)(end - p) > plen && strncmp(p, pkg, plen) == 0 &&
		    p[plen] == '=') {
			vlen = (size_t)(end - p) - plen - 1;
			if (vlen >= size)
				return NULL;
			memcpy(buf, p + plen + 1, vlen);
			buf[vlen] = '\0';
			return buf;
		}
		p = end + strspn(end, " ");
	}
	return NULL;
}

static void
print_lib(FILE *f, const char *name, const char *runtime, const char *pkg)
{
	char buf[128];
	const char *src = src_version(pkg, buf, sizeof(buf));

	if (runtime == NULL && src != NULL) /* the upstream part */
		fprintf(f, "%s %.*s", name, (int)strcspn(src, "-"), src);
	else
		fprintf(f, "%s %s", name, runtime != NULL ? runtime : "");
	if (src != NULL)
		fprintf(f, " (Debian source %s %s)", pkg, src);
	fputc('\n', f);
}

void
version_print(FILE *f)
{
	char pq[32], buf[128];
	int v = PQlibVersion();

	fprintf(f, "chatkit-session %s\n", PACKAGE_VERSION);
#ifdef CK_PORTABLE
	fputs("portable build: statically linked; rebuild it for security "
	      "fixes of these libraries\n",
	    f);
#ifdef CK_ARENA
	fputs("malloc: arena for a CGI request (cgi-bin/arena.c), musl's "
	      "for FastCGI and --cleanup\n",
	    f);
#else
	fputs("malloc: musl's\n", f);
#endif
#endif
	print_lib(f, "OpenSSL", OpenSSL_version(OPENSSL_FULL_VERSION_STRING),
	    "openssl");
	snprintf(pq, sizeof(pq), "%d.%d", v / 10000, v % 10000);
	print_lib(f, "libpq", pq, "postgresql-15");
	print_lib(f, "json-c", json_c_version(), "json-c");
	/* libcurl and libfcgi report no version the program can read without
	 * loading them; the portable build records their sources. */
	if (src_version("curl", buf, sizeof(buf)) != NULL)
		print_lib(f, "libcurl", NULL, "curl");
	if (src_version("libfcgi", buf, sizeof(buf)) != NULL)
		print_lib(f, "libfcgi", NULL, "libfcgi");
}
