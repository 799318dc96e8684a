/* SPDX-License-Identifier: MIT */
/* floor-gate.c: benchmark floor for the gate: a libfcgi authorizer that
 * lets every request through with fixed variables, from one long-lived
 * process. No database: what mod_authnz_fcgi and its TCP connection per
 * check cost with nothing behind them. It closes each connection after
 * its answer, as the program does (cgi-bin/fcgi.c, finish_authorizer). */
#include <sys/socket.h>
#include <unistd.h>
#include <fcgiapp.h>

static const char reply[] =
    "Status: 200\r\n"
    "Variable-CHATKIT_USER_ID: user_floor\r\n"
    "Variable-CHATKIT_DEVICE_ID: floor\r\n"
    "Variable-CHATKIT_EXPIRES_AT: 2099-01-01T00:00:00.000Z\r\n"
    "Variable-CHATKIT_ROLE: member\r\n"
    "\r\n";

int
main(void)
{
	FCGX_Request r;
	char trash[512];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, r.out);
		r.keepConnection = 1;
		FCGX_Finish_r(&r);
		if (r.ipcFd >= 0) {
			while (recv(r.ipcFd, trash, sizeof(trash), MSG_DONTWAIT) > 0)
				;
			close(r.ipcFd);
			r.ipcFd = -1;
		}
	}
	return 0;
}
