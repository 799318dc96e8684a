/* SPDX-License-Identifier: MIT */
/* floor-exec.c: benchmark floor: a libc-only CGI that reads the body and
 * prints fixed JSON, so its rate is what starting any process costs */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char reply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 17\r\n"
    "\r\n"
    "{\"floor\":\"exec\"}\n";

int
main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	long left = cl != NULL ? strtol(cl, NULL, 10) : 0;
	char buf[4096];
	ssize_t r;

	/* Drain the body as the real program does. */
	while (left > 0 && (r = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		left -= r;
	fwrite(reply, 1, sizeof(reply) - 1, stdout);
	return 0;
}
