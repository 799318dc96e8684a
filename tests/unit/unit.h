/* SPDX-License-Identifier: MIT */
/* unit.h: data-file unit cases (one a line) reported as TAP */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define UNIT_FIELDS_MAX 16 /* tab-separated fields in one line */

/*
 * One case: a line of a data file split at runs of tabs (so columns may
 * be aligned with more than one). Fields are as written; unit_decode
 * turns them into bytes. The strings live until the next unit_next.
 */
struct unit_line {
	const char *file; /* data file name, for messages */
	size_t lineno;	  /* 1-based */
	char *text;	  /* the whole line as written */
	char *field[UNIT_FIELDS_MAX];
	size_t nfields;
};

struct unit_file;

/*
 * Opens the data file: argv[1] when given, else $TOP_SRCDIR/rel (the
 * build sets TOP_SRCDIR, so VPATH builds and distcheck find it). NULL
 * with a "Bail out!" line printed when it cannot be opened.
 */
struct unit_file *unit_open(int argc, char **argv, const char *rel);

/* The next line that is neither blank nor a comment ('#' first); false
 * at the end of the file or on a read error (a "Bail out!" then). */
bool unit_next(struct unit_file *, struct unit_line *);
void unit_close(struct unit_file *);

/* A growable byte buffer, always NUL-terminated when p != NULL. */
struct unit_buf {
	char *p;
	size_t len;
	size_t cap;
};

bool unit_buf_add(struct unit_buf *, const void *data, size_t len);
bool unit_buf_str(struct unit_buf *, const char *s);
void unit_buf_free(struct unit_buf *);

/*
 * A driver's own tags (say <token ...>): body is what stands between
 * '<' and '>'. Returns 1 when it appended the tag's bytes to out, 0 when
 * the tag is not its own, -1 on an error (reason in err).
 */
typedef int (*unit_tag_fn)(const char *body, size_t len, struct unit_buf *out,
    void *arg, char *err, size_t errsz);

/*
 * Appends the bytes a field spells to out. Tags: <NUL> <SOH> <HT> <LF>
 * <CR> <US> (those bytes, as in tests/helpers/strict-json.txt), <xHH>
 * (one byte in hex), <rep N TEXT> (TEXT, itself decoded, N times),
 * <now>, <now+N>, <now-N> (unit_now plus or minus N, in decimal) and
 * whatever hook claims. Anything else, a lone '<' included, is itself.
 * False with the reason in err on a tag that does not read.
 */
bool unit_decode(const char *s, struct unit_buf *out, unit_tag_fn hook,
    void *arg, char *err, size_t errsz);

/* The clock <now> reads and drivers pass as "now": 2026-01-01 00:00 UTC. */
#define UNIT_NOW 1767225600LL

/* TAP: "ok N - file:line: the line" */
void unit_pass(const struct unit_line *);

/* TAP: "not ok N - file:line: the line: <why>", and why as a diagnostic. */
void unit_fail(const struct unit_line *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same for a line run in one of several places, named by where. */
void unit_pass_at(const struct unit_line *, const char *where);
void unit_fail_at(const struct unit_line *, const char *where, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* TAP for a case that is not a line of a data file (a driver's own). */
void unit_result(bool pass, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Prints the plan and returns the exit status: 0 once every case has
 * been reported (failures are "not ok" lines, which the TAP driver
 * counts), 1 after a "Bail out!" or when no case ran at all, so an
 * empty file cannot pass.
 */
int unit_done(void);

/* Prints a "Bail out!" line (the TAP driver reports an error). */
void unit_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
