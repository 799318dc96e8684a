/* SPDX-License-Identifier: MIT */
/* floor-libs.c: benchmark floor: fixed JSON from a CGI linked against the
 * libraries chatkit-session.cgi links (libpq, json-c, libcrypto; libuuid,
 * libjwt and libfcgi when bench/common.bash finds them in the program and
 * defines FLOOR_LIBUUID / FLOOR_LIBJWT / FLOOR_LIBFCGI), one reference
 * into each so
 * --as-needed keeps them all; no database connection, so its rate is what
 * a pooler in front could give */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#ifdef FLOOR_LIBUUID
#include <uuid/uuid.h>
#endif
#ifdef FLOOR_LIBJWT
#include <jwt.h>
#endif
#ifdef FLOOR_LIBFCGI
#include <fcgiapp.h>
#endif

int
main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	long left = cl != NULL ? strtol(cl, NULL, 10) : 0;
	char buf[4096];
	ssize_t r;
	unsigned long touched = 0;

	while (left > 0 && (r = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		left -= r;
	touched += (unsigned long)PQlibVersion();
	touched += json_c_version_num();
	touched += OpenSSL_version_num() != 0;
#ifdef FLOOR_LIBUUID
	{
		uuid_t u;

		uuid_clear(u);
		touched += (unsigned long)uuid_is_null(u);
	}
#endif
#ifdef FLOOR_LIBJWT
	{
		jwt_t *jwt = NULL;

		if (jwt_new(&jwt) == 0)
			touched++;
		jwt_free(jwt);
	}
#endif
#ifdef FLOOR_LIBFCGI
	{
		int (*volatile is_cgi)(void) = FCGX_IsCGI;

		touched += is_cgi != NULL;
	}
#endif

	fputs("Status: 200 OK\r\n"
	      "Content-Type: application/json\r\n"
	      "Cache-Control: no-store\r\n"
	      "Content-Length: 29\r\n"
	      "\r\n", stdout);
	printf("{\"floor\":\"libs\",\"touched\":%lu}\n", touched > 0 ? 1UL : 0UL);
	return 0;
}
