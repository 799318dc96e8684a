/* SPDX-License-Identifier: MIT */
/* log.h: one line per event on stderr, which the web server keeps */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Where lines go: NULL (the default) is stderr; a FastCGI loop points it
 * at the request's error stream. line ends in '\n' and is not NUL-ended.
 */
typedef void (*log_sink_fn)(const char *line, size_t len, void *arg);
void log_set_sink(log_sink_fn, void *arg);

#endif
