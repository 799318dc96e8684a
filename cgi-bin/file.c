/* SPDX-License-Identifier: MIT */
/* file.c: bounded whole-file reads, and noticing that a file changed */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

char *
file_read(const char *path, size_t max, size_t *len, struct err *e)
{
	FILE *f = NULL;
	char *buf = NULL, *ret = NULL;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		err_set(e, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		err_set(e, "malloc(%zu) failed", max + 1);
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		err_set(e, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (n > max) {
		err_set(e, "%s is larger than %zu bytes", path, max);
		goto out;
	}
	buf[n] = '\0';
	*len = n;
	ret = buf;
	buf = NULL;
out:
	if (f != NULL)
		fclose(f);
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
