/* SPDX-License-Identifier: MIT */
/* deadline.h: the monotonic clock in milliseconds, and waiting on a
 * descriptor until a deadline on it */
#ifndef DEADLINE_H
#define DEADLINE_H

/* Milliseconds on the monotonic clock (deadlines are in these). */
long long deadline_now_ms(void);

/*
 * Waits until fd is ready for events or the deadline (deadline_now_ms
 * time) has passed; EINTR is retried. 1 ready, 0 out of time, -1 on an
 * error or a negative fd.
 */
int deadline_poll(int fd, short events, long long deadline);

#endif
