/* SPDX-License-Identifier: MIT */
/* err.c: the reason a step failed, kept for the caller to log */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

void
err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->msg[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}
