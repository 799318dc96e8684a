/* SPDX-License-Identifier: MIT */
/* jsonstrict.h: one strict, bounded JSON parse for untrusted text */
#ifndef JSONSTRICT_H
#define JSONSTRICT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* Digits a bounded number may have when written out without exponent. */
#define JSON_NUMBER_DIGITS_MAX 40

/* json_valid flags */
enum {
	/*
	 * Numbers must be cheap wherever they go: at most
	 * JSON_NUMBER_DIGITS_MAX digits written out in full (as PostgreSQL's
	 * numeric prints them), and one without a fraction when written out
	 * must lie in -2^63 .. 2^64-1 (what json-c reads exactly).
	 */
	JSON_BOUNDED_NUMBERS = 1 << 0,
};

/*
 * True when text[0..len) is one strict RFC 8259 JSON value, blanks around
 * it allowed: RFC 3629 UTF-8, no U+0000 (raw or \u0000), no unpaired
 * surrogate escape, no member name twice in one object (names compared
 * byte for byte after unescaping), containers nested at most depth deep.
 * Time and memory are O(len log len) whatever the input.
 */
bool json_valid(const char *text, size_t len, int depth, unsigned flags);

/*
 * Parses text[0..len) when json_valid(text, len, depth, flags) holds,
 * with json-c (strict mode, at most depth levels). Returns a new object
 * (caller json_object_put()s it) or NULL.
 */
json_object *json_parse_strict_ex(
    const char *text, size_t len, int depth, unsigned flags);

/* json_parse_strict_ex with no flags. */
json_object *json_parse_strict(const char *text, size_t len, int depth);

/* True when s[0..len) is well-formed UTF-8 (RFC 3629, shortest form). */
bool utf8_valid(const unsigned char *s, size_t len);

#endif
