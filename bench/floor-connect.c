/* SPDX-License-Identifier: MIT */
/* floor-connect.c: benchmark floor: a CGI that opens a PostgreSQL
 * connection (CHATKIT_DATABASE_URL), runs SELECT 1 and disconnects */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libpq-fe.h>

int
main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	const char *url = getenv("CHATKIT_DATABASE_URL");
	long left = cl != NULL ? strtol(cl, NULL, 10) : 0;
	char buf[4096];
	ssize_t r;
	PGconn *conn;
	PGresult *res = NULL;
	int ok = 0;

	while (left > 0 && (r = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		left -= r;
	conn = PQconnectdb(url != NULL ? url : "");
	if (PQstatus(conn) == CONNECTION_OK) {
		res = PQexec(conn, "SELECT 1");
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
	} else {
		fprintf(stderr, "floor-connect: %s", PQerrorMessage(conn));
	}
	PQfinish(conn);
	if (ok)
		fputs("Status: 200 OK\r\n", stdout);
	else
		fputs("Status: 503 Service Unavailable\r\n", stdout);
	fputs("Content-Type: application/json\r\n"
	      "Cache-Control: no-store\r\n"
	      "\r\n", stdout);
	printf("{\"floor\":\"connect\",\"ok\":%s}\n", ok ? "true" : "false");
	return 0;
}
