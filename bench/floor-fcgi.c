/* SPDX-License-Identifier: MIT */
/* floor-fcgi.c: benchmark floor for FastCGI mode: a libfcgi responder that
 * reads the body and answers fixed JSON from one long-lived process */
#include <stdlib.h>

#include <fcgiapp.h>

static const char reply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Length: 17\r\n"
    "\r\n"
    "{\"floor\":\"fcgi\"}\n";

int
main(void)
{
	FCGX_Request r;
	char buf[4096];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		while (FCGX_GetStr(buf, sizeof(buf), r.in) > 0)
			;
		FCGX_PutStr(reply, sizeof(reply) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
