/* SPDX-License-Identifier: MIT */
/* log.c: one line per event on stderr, control characters escaped */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define LOG_LINE_MAX 1024

static log_sink_fn sink;
static void *sink_arg;

void
log_set_sink(log_sink_fn fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

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

/*
 * Writes "chatkit-session: <message>\n" to stderr in one write, with every
 * byte below 0x20 (and DEL) shown as \xNN so that nothing a client sent can
 * forge a log line. The message is cut at LOG_LINE_MAX bytes.
 */
void
log_warnx(const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], out[LOG_LINE_MAX * 4 + 32];
	size_t i, o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);

	o = (size_t)snprintf(out, sizeof(out), "chatkit-session: ");
	for (i = 0; raw[i] != '\0' && o + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(
			    out + o, sizeof(out) - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\n';
	if (sink != NULL) {
		sink(out, o, sink_arg);
		return;
	}
	fwrite(out, 1, o, stderr);
	fflush(stderr);
}
