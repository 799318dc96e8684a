/* SPDX-License-Identifier: MIT */
/* jsonstrict.h: one strict, bounded JSON parse for untrusted text */
#ifndef JSONSTRICT_H
#define JSONSTRICT_H

#include <stddef.h>

#include <json-c/json.h>

/*
 * Parses text[0..len) as one JSON value with json-c's strict mode, UTF-8
 * validation and at most depth levels; only blanks may follow it. Returns
 * a new object (caller json_object_put()s it) or NULL. A NUL byte inside
 * the text is an error.
 */
json_object *json_parse_strict(const char *text, size_t len, int depth);

#endif
