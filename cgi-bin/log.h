/* SPDX-License-Identifier: MIT */
/* log.h: one line per event on stderr, which the web server keeps */
#ifndef LOG_H
#define LOG_H

void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
