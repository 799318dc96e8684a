/* SPDX-License-Identifier: MIT */
/* deadline.c: the monotonic clock in milliseconds, and waiting on a
 * descriptor until a deadline on it */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

#include "deadline.h"

long long
deadline_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
deadline_poll(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int rc;

	if (fd < 0)
		return -1;
	for (;;) {
		if ((left = deadline - deadline_now_ms()) <= 0)
			return 0;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc != 0)
			return rc < 0 ? -1 : 1;
	}
}
