/* SPDX-License-Identifier: MIT */
/* file.c: bounded whole-file reads, and noticing that a file changed */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

#define FILE_READ_FIRST 4096 /* first guess when the size is unknown */

/*
 * The buffer starts at the size fstat gives (a pipe or a file under /proc
 * says 0) plus one byte, so a file read whole never costs more memory
 * than itself: in the portable build a max-sized buffer was an mmap and
 * a munmap on every request. It grows, doubling up to max + 1, only for a
 * file that is longer than it said or grew meanwhile.
 */
char *
file_read(const char *path, size_t max, size_t *len, struct err *e)
{
	struct stat st;
	char *buf = NULL, *grown, *ret = NULL;
	size_t cap, n = 0;
	uintmax_t guess;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set(e, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		err_set(e, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	guess = S_ISREG(st.st_mode) && st.st_size > 0 ? (uintmax_t)st.st_size
						      : FILE_READ_FIRST;
	/* + 1: the NUL, or the byte that shows the file is longer */
	cap = (guess < max ? (size_t)guess : max) + 1;
	if ((buf = malloc(cap)) == NULL) {
		err_set(e, "malloc(%zu) failed", cap);
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				err_set(e, "%s is larger than %zu bytes", path,
				    max);
				goto out;
			}
			cap = cap <= max / 2 ? cap * 2 : max + 1;
			if ((grown = realloc(buf, cap)) == NULL) {
				err_set(e, "malloc(%zu) failed", cap);
				goto out;
			}
			buf = grown;
		}
		do
			r = read(fd, buf + n, cap - n);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			err_set(e, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	/* The loop reads only into room it has: n < cap <= max + 1. */
	buf[n] = '\0';
	*len = n;
	ret = buf;
	buf = NULL;
out:
	close(fd);
	free(buf);
	return ret;
}

bool
file_watch_set(struct file_watch *w, const char *path, struct err *e)
{
	free(w->path);
	memset(w, 0, sizeof(*w));
	if ((w->path = strdup(path)) == NULL) {
		err_set(e, "out of memory");
		return false;
	}
	w->exists = stat(path, &w->st) == 0;
	return true;
}

/*
 * Device, inode, size and modification time: an editor's rename, an
 * in-place write and a deletion all show.
 */
bool
file_watch_changed(const struct file_watch *w)
{
	struct stat st;
	bool exists;

	if (w->path == NULL)
		return false;
	exists = stat(w->path, &st) == 0;
	if (exists != w->exists)
		return true;
	return exists &&
	       (st.st_dev != w->st.st_dev || st.st_ino != w->st.st_ino ||
		   st.st_size != w->st.st_size ||
		   st.st_mtim.tv_sec != w->st.st_mtim.tv_sec ||
		   st.st_mtim.tv_nsec != w->st.st_mtim.tv_nsec);
}

void
file_watch_free(struct file_watch *w)
{
	free(w->path);
	memset(w, 0, sizeof(*w));
}
