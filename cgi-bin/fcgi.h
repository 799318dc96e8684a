/* SPDX-License-Identifier: MIT */
/* fcgi.h: persistent mode: many requests in one process (libfcgi) */
#ifndef FCGI_H
#define FCGI_H

#include <stdbool.h>

/* True when started by a FastCGI process manager (stdin listens). */
bool fcgi_detected(void);

/* Serves requests until the manager stops us; returns the exit code. */
int fcgi_serve(void);

#endif
