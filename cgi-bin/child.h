/* SPDX-License-Identifier: MIT */
/* child.h: a short task in a child process, its message read by a
 * deadline; the child is killed and reaped whatever it does */
#ifndef CHILD_H
#define CHILD_H

#include <stddef.h>

#include "err.h"

/*
 * What runs in the child: writes its message on fd and returns (the
 * child then _exits). It may only make calls that are safe after fork:
 * system calls, or what the caller knows to take no lock another thread
 * may hold.
 */
typedef void (*child_fn)(void *arg, int fd);

enum child_result {
	CHILD_DONE,	 /* it ended: buf holds its message */
	CHILD_TIMEOUT,	 /* no end by the deadline: killed */
	CHILD_UNSTARTED, /* pipe or fork failed (reason in e) */
	CHILD_LOST,	 /* its message could not be read (reason in e) */
	CHILD__MAX
};

/*
 * Runs fn(arg, fd) in a child process and reads what it writes for at
 * most wait_ms: its message, NUL-terminated, in buf (at most size - 1
 * bytes, *len of them; size is 2 or more). No process or descriptor
 * outlives the call.
 */
enum child_result child_run(child_fn fn, void *arg, long long wait_ms,
    char *buf, size_t size, size_t *len, struct err *e);

#endif
