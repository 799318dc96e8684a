/* SPDX-License-Identifier: MIT */
/* jsonstrict.h: one strict, bounded JSON parse for untrusted text */
#ifndef JSONSTRICT_H
#define JSONSTRICT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/*
 * Parses text[0..len) as one JSON value with json-c's strict mode, strict
 * UTF-8 (utf8_valid) and at most depth levels; only blanks may follow it.
 * Returns a new object (caller json_object_put()s it) or NULL. A NUL byte
 * inside the text is an error.
 */
json_object *json_parse_strict(const char *text, size_t len, int depth);

/* True when s[0..len) is well-formed UTF-8 (RFC 3629, shortest form). */
bool utf8_valid(const unsigned char *s, size_t len);

#endif
