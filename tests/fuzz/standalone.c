/* SPDX-License-Identifier: MIT */
/* standalone.c: replays a fuzz target's corpus without libFuzzer */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define INPUT_MAX (1024 * 1024)

/*
 * Runs LLVMFuzzerTestOneInput on every file of the target's corpus
 * directory ($TOP_SRCDIR/tests/fuzz/corpus/<name>, the name taken from
 * argv[0]: replay_<name>). A crash or sanitizer report fails the test;
 * an empty or missing corpus fails it too, so the replay cannot pass
 * by reading nothing.
 */
int
main(int argc, char **argv)
{
	const char *top = getenv("TOP_SRCDIR"), *base, *name;
	char dir[4096], path[4096 + 256];
	struct dirent *d;
	unsigned char *buf = NULL;
	size_t n, count = 0;
	FILE *f;
	DIR *dp;

	(void)argc;
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	name = strncmp(base, "replay_", 7) == 0 ? base + 7 : base;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
	    top != NULL ? top : ".", name);
	if ((dp = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	if ((buf = malloc(INPUT_MAX)) == NULL)
		return 1;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if ((f = fopen(path, "rb")) == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		n = fread(buf, 1, INPUT_MAX, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		count++;
	}
	closedir(dp);
	free(buf);
	printf("%s: %zu inputs replayed\n", name, count);
	return count > 0 ? 0 : 1;
}
