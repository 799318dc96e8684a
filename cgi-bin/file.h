/* SPDX-License-Identifier: MIT */
/* file.h: bounded whole-file reads, and noticing that a file changed */
#ifndef FILE_H
#define FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "err.h"

/* A file whose change means what was read from it is out of date. */
struct file_watch {
	char *path;	/* owned; NULL: nothing watched */
	bool exists;	/* it existed when read */
	struct stat st; /* what it was then */
};

/*
 * Reads a whole file of at most max bytes into a NUL-terminated malloc'd
 * buffer (*len without the NUL) the caller frees. NULL with e set on any
 * failure, a larger file included.
 */
char *file_read(const char *path, size_t max, size_t *len, struct err *e);

/*
 * Remembers what path is now (or that it is absent); call it before the
 * read, so a change during the read shows as a change. False (e set)
 * only when memory runs out. Free with file_watch_free.
 */
bool file_watch_set(struct file_watch *, const char *path, struct err *e);

/* True when the watched file appeared, went, or is another file now. */
bool file_watch_changed(const struct file_watch *);
void file_watch_free(struct file_watch *);

#endif
