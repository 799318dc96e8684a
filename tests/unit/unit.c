/* SPDX-License-Identifier: MIT */
/* unit.c: reading data files of unit cases, their tags, and TAP output */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "unit.h"

#define DESC_MAX 120	  /* bytes of a line shown in a TAP description */
#define REP_MAX (1 << 20) /* bytes one <rep> may produce */

struct unit_file {
	FILE *f;
	const char *name; /* the last component of rel */
	char *buf;	  /* the line as read (getline's) */
	size_t bufsz;
	char *fields; /* a copy of it, cut into fields */
	size_t lineno;
};

static size_t cases;  /* TAP test points printed */
static size_t failed; /* of which "not ok" */
static bool bailed;   /* a "Bail out!" was printed */

void
unit_bail(const char *fmt, ...)
{
	va_list ap;

	bailed = true;
	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

struct unit_file *
unit_open(int argc, char **argv, const char *rel)
{
	const char *top = getenv("TOP_SRCDIR"), *slash, *base;
	struct unit_file *uf = NULL;
	char *path = NULL;
	size_t n;

	if (argc > 1)
		path = strdup(argv[1]);
	else {
		if (top == NULL)
			top = ".";
		n = strlen(top) + 1 + strlen(rel) + 1;
		if ((path = malloc(n)) != NULL)
			snprintf(path, n, "%s/%s", top, rel);
	}
	if (path == NULL || (uf = calloc(1, sizeof(*uf))) == NULL) {
		unit_bail("out of memory opening %s", rel);
		goto out;
	}
	if ((uf->f = fopen(path, "r")) == NULL) {
		unit_bail("cannot open %s", path);
		free(uf);
		uf = NULL;
		goto out;
	}
	base = argc > 1 ? argv[1] : rel;
	slash = strrchr(base, '/');
	uf->name = slash != NULL ? slash + 1 : base;
out:
	free(path);
	return uf;
}

bool
unit_next(struct unit_file *uf, struct unit_line *l)
{
	ssize_t len;
	char *p, *copy;

	do {
		if ((len = getline(&uf->buf, &uf->bufsz, uf->f)) < 0) {
			if (ferror(uf->f))
				unit_bail("%s: read error after line %zu",
				    uf->name, uf->lineno);
			return false;
		}
		uf->lineno++;
		if (len > 0 && uf->buf[len - 1] == '\n')
			uf->buf[--len] = '\0';
	} while (uf->buf[0] == '\0' || uf->buf[0] == '#');

	if ((copy = realloc(uf->fields, (size_t)len + 1)) == NULL) {
		unit_bail("%s:%zu: out of memory", uf->name, uf->lineno);
		return false;
	}
	uf->fields = copy;
	memcpy(copy, uf->buf, (size_t)len + 1);
	memset(l, 0, sizeof(*l));
	l->file = uf->name;
	l->lineno = uf->lineno;
	l->text = uf->buf;
	for (p = copy; *p != '\0';) {
		while (*p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (l->nfields == UNIT_FIELDS_MAX) {
			unit_bail("%s:%zu: more than %d fields", uf->name,
			    uf->lineno, UNIT_FIELDS_MAX);
			return false;
		}
		l->field[l->nfields++] = p;
		p += strcspn(p, "\t");
	}
	return true;
}

void
unit_close(struct unit_file *uf)
{
	if (uf == NULL)
		return;
	fclose(uf->f);
	free(uf->buf);
	free(uf->fields);
	free(uf);
}

bool
unit_buf_add(struct unit_buf *b, const void *data, size_t len)
{
	size_t cap;
	char *p;

	if (b->p == NULL || b->len + len + 1 > b->cap) {
		cap = b->cap > 0 ? b->cap : 64;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return true;
}

bool
unit_buf_str(struct unit_buf *b, const char *s)
{
	return unit_buf_add(b, s, strlen(s));
}

void
unit_buf_free(struct unit_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const struct {
	const char *name;
	char byte;
} named_bytes[] = {
    {"NUL", '\0'},
    {"SOH", '\001'},
    {"HT", '\t'},
    {"LF", '\n'},
    {"CR", '\r'},
    {"US", '\037'},
};

/* A decimal in s[0..len) with nothing else; false otherwise. */
static bool
decimal(const char *s, size_t len, long long *out)
{
	long long v = 0;
	size_t i;

	if (len == 0 || len > 12)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The '>' that closes the tag whose body starts at s, counting the '<'
 * and '>' of tags inside it; NULL when there is none.
 */
static const char *
tag_end(const char *s)
{
	int depth = 1;

	for (; *s != '\0'; s++) {
		if (*s == '<')
			depth++;
		else if (*s == '>' && --depth == 0)
			return s;
	}
	return NULL;
}

/* <rep N TEXT>: body is "rep N TEXT". 1 done, -1 error. */
static int
rep_tag(const char *body, size_t len, struct unit_buf *out, unit_tag_fn hook,
    void *arg, char *err, size_t errsz)
{
	struct unit_buf one = {0};
	const char *sp;
	char *text = NULL;
	long long n, i;
	int rc = -1;

	body += 4, len -= 4;
	if ((sp = memchr(body, ' ', len)) == NULL ||
	    !decimal(body, (size_t)(sp - body), &n)) {
		snprintf(err, errsz, "<rep N TEXT> needs a count");
		return -1;
	}
	if ((text = strndup(sp + 1, len - (size_t)(sp + 1 - body))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (!unit_decode(text, &one, hook, arg, err, errsz))
		goto out;
	if (one.len > 0 && (size_t)n > REP_MAX / one.len) {
		snprintf(err, errsz, "<rep> of more than %d bytes", REP_MAX);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!unit_buf_add(out, one.p, one.len)) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
	rc = 1;
out:
	free(text);
	unit_buf_free(&one);
	return rc;
}

/* The built-in tags: 1 done, 0 not one of them, -1 error. */
static int
builtin_tag(const char *body, size_t len, struct unit_buf *out,
    unit_tag_fn hook, void *arg, char *err, size_t errsz)
{
	char num[32];
	long long n;
	size_t i;
	int hi, lo;

	for (i = 0; i < sizeof(named_bytes) / sizeof(named_bytes[0]); i++)
		if (strlen(named_bytes[i].name) == len &&
		    memcmp(named_bytes[i].name, body, len) == 0)
			return unit_buf_add(out, &named_bytes[i].byte, 1) ? 1
									  : -1;
	if (len == 3 && body[0] == 'x' && (hi = hexdigit(body[1])) >= 0 &&
	    (lo = hexdigit(body[2])) >= 0) {
		char c = (char)(hi << 4 | lo);

		return unit_buf_add(out, &c, 1) ? 1 : -1;
	}
	if (len > 4 && memcmp(body, "rep ", 4) == 0)
		return rep_tag(body, len, out, hook, arg, err, errsz);
	if (len >= 3 && memcmp(body, "now", 3) == 0) {
		if (len == 3)
			n = 0;
		else if ((body[3] != '+' && body[3] != '-') ||
			 !decimal(body + 4, len - 4, &n)) {
			snprintf(err, errsz, "<now%.*s> does not read",
			    (int)(len - 3), body + 3);
			return -1;
		} else if (body[3] == '-')
			n = -n;
		snprintf(num, sizeof(num), "%lld", UNIT_NOW + n);
		return unit_buf_str(out, num) ? 1 : -1;
	}
	return 0;
}

bool
unit_decode(const char *s, struct unit_buf *out, unit_tag_fn hook, void *arg,
    char *err, size_t errsz)
{
	const char *end;
	int rc;

	if (!unit_buf_add(out, "", 0)) {
		snprintf(err, errsz, "out of memory");
		return false;
	}
	while (*s != '\0') {
		if (*s != '<' || (end = tag_end(s + 1)) == NULL) {
			if (!unit_buf_add(out, s, 1)) {
				snprintf(err, errsz, "out of memory");
				return false;
			}
			s++;
			continue;
		}
		rc = builtin_tag(
		    s + 1, (size_t)(end - s - 1), out, hook, arg, err, errsz);
		if (rc == 0 && hook != NULL)
			rc = hook(
			    s + 1, (size_t)(end - s - 1), out, arg, err, errsz);
		if (rc < 0) {
			if (err[0] == '\0')
				snprintf(err, errsz, "out of memory");
			return false;
		}
		if (rc == 0) {
			/* Not a tag: the '<' is itself; what follows is read
			 * on. */
			if (!unit_buf_add(out, s, 1)) {
				snprintf(err, errsz, "out of memory");
				return false;
			}
			s++;
			continue;
		}
		s = end + 1;
	}
	return true;
}

/*
 * The line as a TAP description: tabs shown as two blanks, control bytes
 * as '?', '#' escaped (a "# SKIP" in a line is not a directive), at most
 * DESC_MAX bytes of it.
 */
static void
print_desc(const struct unit_line *l, const char *where)
{
	const unsigned char *s = (const unsigned char *)l->text;
	size_t n;

	printf("%s:%zu: ", l->file, l->lineno);
	if (where != NULL)
		printf("(%s) ", where);
	for (n = 0; s[n] != '\0' && n < DESC_MAX; n++) {
		if (s[n] == '\t')
			fputs("  ", stdout);
		else if (s[n] == '#')
			fputs("\\#", stdout);
		else if (s[n] < 0x20 || s[n] == 0x7f)
			putchar('?');
		else
			putchar(s[n]);
	}
	if (s[n] != '\0')
		fputs("...", stdout);
}

void
unit_pass_at(const struct unit_line *l, const char *where)
{
	printf("ok %zu - ", ++cases);
	print_desc(l, where);
	putchar('\n');
}

void
unit_pass(const struct unit_line *l)
{
	unit_pass_at(l, NULL);
}

/* why on one line: control bytes as '?', so it cannot end the TAP line. */
static void
print_clean(const char *why)
{
	for (; *why != '\0'; why++)
		putchar((unsigned char)*why < 0x20 ? '?' : *why);
}

static void
fail_at(
    const struct unit_line *l, const char *where, const char *fmt, va_list ap)
{
	char why[1024];

	vsnprintf(why, sizeof(why), fmt, ap);
	failed++;
	printf("not ok %zu - ", ++cases);
	print_desc(l, where);
	fputs(": ", stdout);
	print_clean(why);
	printf("\n# %s line %zu: ", l->file, l->lineno);
	print_clean(why);
	putchar('\n');
}

void
unit_fail(const struct unit_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_at(l, NULL, fmt, ap);
	va_end(ap);
}

void
unit_fail_at(const struct unit_line *l, const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_at(l, where, fmt, ap);
	va_end(ap);
}

void
unit_result(bool pass, const char *fmt, ...)
{
	char desc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	if (!pass)
		failed++;
	printf("%s %zu - ", pass ? "ok" : "not ok", ++cases);
	print_clean(desc);
	putchar('\n');
}

int
unit_done(void)
{
	if (bailed)
		return 1;
	if (cases == 0) {
		printf("1..1\nnot ok 1 - no case was read\n");
		return 1;
	}
	printf("1..%zu\n# %zu of %zu cases failed\n", cases, failed, cases);
	return 0;
}
