/* SPDX-License-Identifier: MIT */
/*
 * arena-check.c: cgi-bin/arena.c against what malloc promises, linked
 * with it statically under musl (tests/portable.bats builds and runs it):
 *   musl-gcc -static -pthread -fno-builtin -Icgi-bin -DCK_ARENA
 *     tests/arena-check.c cgi-bin/arena.c -Wl,--wrap=malloc_usable_size
 * (-fno-builtin: the compiler may not fold a malloc and free away)
 * Prints one line per failed check and exits 1, or prints "ok" and
 * exits 0.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"

#define THREADS 4
#define PER_THREAD 2000

static int failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL line %d: ", __LINE__);                    \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
			failed = 1;                                            \
		}                                                              \
	} while (0)

static size_t
nonzero(const unsigned char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += p[i] != 0;
	return c;
}

/* Each thread fills its blocks with its own byte and checks them after. */
static void *
worker(void *arg)
{
	unsigned char tag = (unsigned char)(uintptr_t)arg;
	unsigned char *blocks[PER_THREAD];
	size_t i, j, bad = 0;

	for (i = 0; i < PER_THREAD; i++) {
		size_t n = 1 + (i * 37 + tag) % 300;

		if ((blocks[i] = malloc(n)) == NULL)
			return (void *)1;
		memset(blocks[i], tag, n);
	}
	for (i = 0; i < PER_THREAD; i++) {
		size_t n = 1 + (i * 37 + tag) % 300;

		for (j = 0; j < n; j++)
			bad += blocks[i][j] != tag;
		free(blocks[i]);
	}
	return bad == 0 ? NULL : (void *)1;
}

/*
 * After arena_close, freed memory is reused: 20,000 blocks of 64 bytes
 * allocated and freed in turn stay within a few pages, where the arena
 * would have spread them over 1.6 MB. Run first, in a child, while the
 * arena still has room.
 */
static int
closed_reuses(void)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, a;
	int i;

	arena_close();
	for (i = 0; i < 20000; i++) {
		void *p = malloc(64);

		if (p == NULL)
			return 1;
		a = (uintptr_t)p;
		lo = a < lo ? a : lo;
		hi = a > hi ? a : hi;
		free(p);
	}
	if (hi - lo >= 65536) {
		printf("FAIL: after arena_close, 20000 blocks spread over %zu "
		       "bytes\n",
		    (size_t)(hi - lo));
		return 1;
	}
	return 0;
}

int
main(void)
{
	unsigned char *p, *q, *r, *big, *prev = NULL, *fill[64];
	volatile size_t huge = SIZE_MAX / 2;
	pthread_t t[THREADS];
	size_t i;
	void *res;

	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(closed_reuses());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0,
	    "the arena_close child failed");

	/* Alignment, for every size. */
	for (i = 0; i < 64; i++) {
		p = malloc(i);
		CHECK(p != NULL && ((uintptr_t)p & 15) == 0, "malloc(%zu) = %p",
		    i, (void *)p);
	}

	/* A shrunk block gives its tail back cleared: calloc stays zero. */
	p = malloc(1000);
	memset(p, 0xAA, 1000);
	p = realloc(p, 8);
	CHECK(p != NULL && p[0] == 0xAA, "realloc shrink lost the data");
	q = calloc(1, 512);
	CHECK(q != NULL && nonzero(q, 512) == 0,
	    "calloc after a shrink: %zu non-zero bytes",
	    q ? nonzero(q, 512) : 0);

	/* Growing the newest block keeps it in place; another one moves. */
	p = malloc(100);
	memset(p, 0x5A, 100);
	q = realloc(p, 5000);
	CHECK(q == p, "the newest block moved when it grew");
	r = malloc(16);
	p = q;
	q = realloc(p, 20000);
	CHECK(q != NULL && q[0] == 0x5A && q[99] == 0x5A,
	    "a grown older block lost its data");
	CHECK(q != r, "a grown block overlaps a newer one");
	CHECK(malloc_usable_size(q) >= 20000, "malloc_usable_size = %zu",
	    malloc_usable_size(q));
	free(r);
	free(q);

	/* calloc's overflow check. */
	CHECK(calloc(huge, 4) == NULL, "calloc overflow not caught");

	/* A block over 64 KiB comes from musl; usable size and free work. */
	big = malloc(200000);
	CHECK(big != NULL, "malloc(200000) failed");
	memset(big, 1, 200000);
	CHECK(malloc_usable_size(big) >= 200000, "musl block usable size %zu",
	    malloc_usable_size(big));
	big = realloc(big, 300000);
	CHECK(big != NULL && big[199999] == 1, "musl realloc lost data");
	free(big);

	/* Threads at once: no two blocks overlap. */
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &res);
		CHECK(res == NULL, "thread %zu saw another's bytes", i);
	}

	/* Fill the arena; zero-size blocks up to its very end, then past
	 * it: every one of them frees cleanly. */
	for (i = 0; i < 64; i++)
		fill[i] = malloc(65536);
	CHECK(fill[63] != NULL, "64 blocks of 64 KiB failed");
	for (i = 0; i < 300000; i++) {
		p = malloc(0);
		CHECK(p != NULL, "malloc(0) failed");
		if (prev != NULL && p != prev + 16)
			break;
		prev = p;
	}
	CHECK(i < 300000, "the arena never filled");
	free(prev);
	free(p);
	p = realloc(NULL, 10);
	CHECK(p != NULL, "malloc past the arena failed");
	free(p);

	if (!failed)
		printf("ok\n");
	return failed;
}
