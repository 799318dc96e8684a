/* SPDX-License-Identifier: MIT */
/* err.h: the reason a step failed, for the log (never for the client) */
#ifndef ERR_H
#define ERR_H

struct err {
	char msg[256]; /* one line, NUL-terminated; empty when unset */
};

/* Sets e->msg (truncating) unless it is already set: the first reason wins. */
void err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
