/* SPDX-License-Identifier: MIT */
/* jsonstrict.c: one strict, bounded JSON parse for untrusted text */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstrict.h"

/*
 * RFC 3629 UTF-8: shortest form only, no surrogates, nothing above
 * U+10FFFF. json-c's own check lets overlong forms through, and
 * PostgreSQL refuses them later, which would be a 500 instead of a 400.
 */
bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp, min;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * The strict scanner. json-c 0.16's JSON_TOKENER_STRICT still takes
 * single-quoted names, raw control characters in strings, NaN, Infinity
 * and "1.", and json-c compares names as C strings that end at U+0000, so
 * "alg" and "alg\u0000" would be two names that read alike. This scanner
 * follows RFC 8259's grammar exactly and runs before json-c; json-c then
 * only builds the objects of text known to be strict.
 *
 * Bounded: recursion is at most depth levels; every member name is
 * decoded once into one arena no longer than the text, and duplicates are
 * found by sorting (object, name) pairs once at the end, O(n log n), so a
 * 64 KiB object of 13,000 members costs no more than a short one per byte.
 */
#define EXPONENT_CAP 1000000L /* beyond this an exponent counts as this */
#define UINT64_DIGITS "18446744073709551615"   /* 2^64 - 1 */
#define INT64_MIN_DIGITS "9223372036854775808" /* -(-2^63) */

struct name {
	size_t object;		/* objects are numbered as they open */
	const unsigned char *p; /* decoded, in the arena */
	size_t len;
};

struct scan {
	const unsigned char *s;
	size_t len, pos;
	int depth_max;
	unsigned flags;
	size_t objects;
	struct name *names;
	size_t nnames, cap;
	unsigned char *arena; /* decoded names: never longer than the text */
	size_t used;
};

static bool scan_value(struct scan *sc, int depth);

static void
skip_blanks(struct scan *sc)
{
	while (sc->pos < sc->len &&
	       (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
		   sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
		sc->pos++;
}

static bool
is_digit(const struct scan *sc)
{
	return sc->pos < sc->len && sc->s[sc->pos] >= '0' &&
	       sc->s[sc->pos] <= '9';
}

/* Four hex digits at sc->pos into *out. */
static bool
hex4(struct scan *sc, unsigned long *out)
{
	unsigned long v = 0;
	size_t k;

	if (sc->len - sc->pos < 4)
		return false;
	for (k = 0; k < 4; k++) {
		unsigned char c = sc->s[sc->pos + k];

		if (c >= '0' && c <= '9')
			v = v << 4 | (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (unsigned long)(c - 'A' + 10);
		else
			return false;
	}
	sc->pos += 4;
	*out = v;
	return true;
}

/* UTF-8 of cp into out (when not NULL); returns its length. */
static size_t
put_utf8(unsigned char *out, unsigned long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80)
		b[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (unsigned char)(0xc0 | cp >> 6),
		b[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (unsigned char)(0xe0 | cp >> 12),
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (unsigned char)(0xf0 | cp >> 18),
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		b[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	if (out != NULL)
		memcpy(out, b, n);
	return n;
}

/*
 * A string at sc->pos (on its opening quote). When out is not NULL the
 * decoded bytes go there (room: the encoded length) and *outlen gets
 * their count. Refuses raw control characters, unknown escapes, \u0000
 * and surrogate escapes that do not pair up (json-c would turn them into
 * U+FFFD, making two different names or subjects read alike).
 */
static bool
scan_string(struct scan *sc, unsigned char *out, size_t *outlen)
{
	unsigned long cp, lo;
	size_t n = 0;
	unsigned char c;

	sc->pos++;
	for (;;) {
		if (sc->pos >= sc->len)
			return false;
		c = sc->s[sc->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (sc->pos >= sc->len)
				return false;
			switch (sc->s[sc->pos++]) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case '/':
				c = '/';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				if (!hex4(sc, &cp) || cp == 0 ||
				    (cp >= 0xdc00 && cp <= 0xdfff))
					return false;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (sc->len - sc->pos < 2 ||
					    sc->s[sc->pos] != '\\' ||
					    sc->s[sc->pos + 1] != 'u')
						return false;
					sc->pos += 2;
					if (!hex4(sc, &lo) || lo < 0xdc00 ||
					    lo > 0xdfff)
						return false;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				}
				n += put_utf8(out != NULL ? out + n : NULL, cp);
				continue;
			default:
				return false;
			}
		}
		if (out != NULL)
			out[n] = c;
		n++;
	}
	if (outlen != NULL)
		*outlen = n;
	return true;
}

/* A member name: decoded into the arena and listed for the dup check. */
static bool
scan_name(struct scan *sc, size_t object)
{
	struct name *grown;
	size_t len;

	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return false;
	if (sc->arena == NULL && (sc->arena = malloc(sc->len)) == NULL)
		return false;
	if (sc->nnames == sc->cap) {
		size_t cap = sc->cap == 0 ? 16 : sc->cap * 2;

		if (cap > SIZE_MAX / sizeof(*grown) ||
		    (grown = realloc(sc->names, cap * sizeof(*grown))) == NULL)
			return false;
		sc->names = grown;
		sc->cap = cap;
	}
	if (!scan_string(sc, sc->arena + sc->used, &len))
		return false;
	sc->names[sc->nnames].object = object;
	sc->names[sc->nnames].p = sc->arena + sc->used;
	sc->names[sc->nnames].len = len;
	sc->nnames++;
	sc->used += len;
	return true;
}

/*
 * JSON_BOUNDED_NUMBERS for the literal -?I(.F)?(e±exp)?: written out as
 * PostgreSQL's numeric prints it, the value has max(1, I + exp - leading
 * zeros) digits before the point and max(0, F - exp) after it.
 */
static bool
number_bounded(
    const unsigned char *s, bool neg, size_t ilen, size_t flen, long exp)
{
	long long idigits, scale, total = (long long)(ilen + flen), k, p, j;
	char digits[sizeof(UINT64_DIGITS)];
	const char *limit = neg ? INT64_MIN_DIGITS : UINT64_DIGITS;

	/* s: the integer digits, then '.', then the fraction digits. */
	for (k = 0; k < total; k++)
		if (s[k < (long long)ilen ? k : k + 1] != '0')
			break;
	p = (long long)ilen + exp - k;
	idigits = k == total || p < 1 ? 1 : p;
	scale = (long long)flen - exp > 0 ? (long long)flen - exp : 0;
	if (idigits + scale > JSON_NUMBER_DIGITS_MAX)
		return false;
	if (scale > 0 || k == total)
		return true;
	/* Written out it is an integer: json-c must read it exactly. */
	if (idigits > (long long)strlen(limit))
		return false;
	for (j = 0; j < idigits; j++)
		digits[j] =
		    k + j < total
			? (char)s[k + j < (long long)ilen ? k + j : k + j + 1]
			: '0';
	digits[idigits] = '\0';
	return idigits < (long long)strlen(limit) || strcmp(digits, limit) <= 0;
}

static bool
scan_number(struct scan *sc)
{
	size_t i0, ilen, flen = 0;
	long exp = 0, sign = 1;
	bool neg = false;

	if (sc->s[sc->pos] == '-')
		neg = true, sc->pos++;
	if (!is_digit(sc))
		return false;
	i0 = sc->pos;
	if (sc->s[sc->pos] == '0')
		sc->pos++;
	else
		while (is_digit(sc))
			sc->pos++;
	ilen = sc->pos - i0;
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		sc->pos++;
		if (!is_digit(sc))
			return false;
		while (is_digit(sc))
			sc->pos++, flen++;
	}
	if (sc->pos < sc->len &&
	    (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len &&
		    (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sign = sc->s[sc->pos++] == '-' ? -1 : 1;
		if (!is_digit(sc))
			return false;
		while (is_digit(sc)) {
			if (exp < EXPONENT_CAP)
				exp = exp * 10 + (sc->s[sc->pos] - '0');
			sc->pos++;
		}
		exp *= sign;
	}
	return !(sc->flags & JSON_BOUNDED_NUMBERS) ||
	       number_bounded(sc->s + i0, neg, ilen, flen, exp);
}

static bool
scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return false;
	sc->pos += n;
	return true;
}

/* An object or array at sc->pos, depth levels down once opened. */
static bool
scan_container(struct scan *sc, int depth)
{
	bool object = sc->s[sc->pos] == '{';
	char close = object ? '}' : ']';
	size_t id = sc->objects;

	if (depth > sc->depth_max)
		return false;
	if (object)
		sc->objects++;
	sc->pos++;
	skip_blanks(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == close) {
		sc->pos++;
		return true;
	}
	for (;;) {
		if (object) {
			skip_blanks(sc);
			if (!scan_name(sc, id))
				return false;
			skip_blanks(sc);
			if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
				return false;
			sc->pos++;
		}
		if (!scan_value(sc, depth))
			return false;
		skip_blanks(sc);
		if (sc->pos >= sc->len)
			return false;
		if (sc->s[sc->pos] == close) {
			sc->pos++;
			return true;
		}
		if (sc->s[sc->pos++] != ',')
			return false;
	}
}

static bool
scan_value(struct scan *sc, int depth)
{
	skip_blanks(sc);
	if (sc->pos >= sc->len)
		return false;
	switch (sc->s[sc->pos]) {
	case '{':
	case '[':
		return scan_container(sc, depth + 1);
	case '"':
		return scan_string(sc, NULL, NULL);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		return scan_number(sc);
	}
}

static int
name_cmp(const void *a, const void *b)
{
	const struct name *x = a, *y = b;

	if (x->object != y->object)
		return x->object < y->object ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->p, y->p, x->len);
}

bool
json_valid(const char *text, size_t len, int depth, unsigned flags)
{
	struct scan sc;
	bool ok;
	size_t i;

	if (len == 0 || len > INT_MAX || depth < 1 ||
	    !utf8_valid((const unsigned char *)text, len))
		return false;
	memset(&sc, 0, sizeof(sc));
	sc.s = (const unsigned char *)text;
	sc.len = len;
	sc.depth_max = depth;
	sc.flags = flags;
	ok = scan_value(&sc, 0);
	skip_blanks(&sc);
	ok = ok && sc.pos == sc.len;
	if (ok && sc.nnames > 1) {
		qsort(sc.names, sc.nnames, sizeof(*sc.names), name_cmp);
		for (i = 1; i < sc.nnames && ok; i++)
			ok = name_cmp(&sc.names[i - 1], &sc.names[i]) != 0;
	}
	free(sc.names);
	free(sc.arena);
	return ok;
}

json_object *
json_parse_strict_ex(const char *text, size_t len, int depth, unsigned flags)
{
	struct json_tokener *tok;
	json_object *obj = NULL;
	size_t end;

	if (!json_valid(text, len, depth, flags))
		return NULL;
	/* json-c's max_depth n takes n - 1 levels that hold a value; the
	 * scanner has bounded the nesting to depth already. */
	if ((tok = json_tokener_new_ex(depth + 1)) == NULL)
		return NULL;
	json_tokener_set_flags(
	    tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto fail;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (strchr(" \t\r\n", text[end]) == NULL)
			goto fail;
	json_tokener_free(tok);
	return obj;
fail:
	json_object_put(obj);
	json_tokener_free(tok);
	return NULL;
}

json_object *
json_parse_strict(const char *text, size_t len, int depth)
{
	return json_parse_strict_ex(text, len, depth, 0);
}
