/* SPDX-License-Identifier: MIT */
/* publishable.h: the Frontend API host inside a Clerk publishable key */
#ifndef PUBLISHABLE_H
#define PUBLISHABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define PUBLISHABLE_HOST_MAX 259 /* a DNS name (253) and ":65535" */

/*
 * pk is "pk_test_" or "pk_live_" and the base64 of "<host>$", host a DNS
 * name with an optional ":port" (what Clerk's SDKs read). Copies host
 * into host[hostsz]; false with the reason in e when pk is anything else.
 */
bool publishable_key_host(
    const char *pk, char *host, size_t hostsz, struct err *e);

#endif
