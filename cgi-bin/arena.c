/* SPDX-License-Identifier: MIT */
/*
 * arena.c: malloc for the portable build (musl, linked statically).
 *
 * A CGI process answers one request and exits. musl's allocator returns
 * each group of blocks to the kernel as soon as it empties, so such a
 * process would spend much of its short life in mmap, munmap and the
 * allocator's bookkeeping (docs/performance.md). Here the first
 * ARENA_SIZE bytes come from a static arena instead: handed out in
 * order, never reused, free() of them does nothing, and the process's
 * exit returns them all at once. ARENA_SIZE holds a request over TLS to
 * the database, whose OpenSSL blocks are most of what it allocates; a
 * plain request uses a small part. No free list: no pointer in freed
 * memory to corrupt.
 *
 * Past the arena, blocks over ARENA_BLOCK_MAX, and after arena_close()
 * (a FastCGI process, which lives for many requests) musl's own
 * allocator serves, and frees what it served. Thread-safe: the arena's
 * top moves by compare-and-swap (libcurl resolves names on a thread of
 * its own).
 *
 * Built only when configure finds musl's internal entry points
 * (__libc_malloc_impl, __libc_realloc, __libc_free), which musl's own
 * malloc, realloc and free call: replacing malloc is a use musl supports.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_SIZE (4 * 1024 * 1024) /* .bss: only touched pages cost */
#define ARENA_BLOCK_MAX (64 * 1024)  /* larger ones go to musl's allocator */
#define ARENA_ALIGN 16		     /* alignof(max_align_t) on x86_64 */
#define ARENA_HEADER ARENA_ALIGN     /* each block's size, kept before it */

void *__libc_malloc_impl(size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
static atomic_size_t arena_top;
static atomic_bool arena_closed;

static bool
in_arena(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)arena &&
	       (uintptr_t)p < (uintptr_t)arena + sizeof(arena);
}

static size_t
block_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - ARENA_HEADER, sizeof(n));
	return n;
}

/* Room for n bytes and the header, rounded up: 0 when n is too big. */
static size_t
block_span(size_t n)
{
	if (n > ARENA_BLOCK_MAX)
		return 0;
	return ARENA_HEADER +
	       ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
}

/* A block of n bytes from the arena, or NULL when it has no room. */
static void *
arena_take(size_t n)
{
	size_t span = block_span(n), top;
	unsigned char *p;

	if (span == 0 ||
	    atomic_load_explicit(&arena_closed, memory_order_relaxed))
		return NULL;
	top = atomic_load_explicit(&arena_top, memory_order_relaxed);
	do {
		/* >=: a zero-size block never sits at the arena's very end,
		 * where in_arena() would not know it. */
		if (span >= sizeof(arena) - top)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&arena_top, &top,
	    top + span, memory_order_relaxed, memory_order_relaxed));
	p = arena + top + ARENA_HEADER;
	memcpy(p - ARENA_HEADER, &n, sizeof(n));
	return p;
}

/*
 * The arena's last block grows (or shrinks) where it is: growing buffers
 * (libpq's, json-c's) are usually the newest block.
 */
static bool
arena_resize(unsigned char *p, size_t n)
{
	size_t old = block_span(block_size(p)), span = block_span(n);
	size_t start = (size_t)(p - ARENA_HEADER - arena), top = start + old;

	if (span == 0 || span > sizeof(arena) - start)
		return false;
	/* Memory above the top is zero (calloc counts on it): a block that
	 * gives its tail back clears it first. That is past round_up(n), so
	 * nothing of the caller's is lost if the block is not the newest. */
	if (span < old)
		memset(arena + start + span, 0, old - span);
	if (!atomic_compare_exchange_strong_explicit(&arena_top, &top,
		start + span, memory_order_relaxed, memory_order_relaxed))
		return false;
	memcpy(p - ARENA_HEADER, &n, sizeof(n));
	return true;
}

void
arena_close(void)
{
	atomic_store(&arena_closed, true);
}

void *
malloc(size_t n)
{
	void *p = arena_take(n);

	return p != NULL ? p : __libc_malloc_impl(n);
}

void *
calloc(size_t count, size_t size)
{
	void *p;

	if (size != 0 && count > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	/* Memory above the arena's top is zero: .bss, or cleared when a
	 * block gave it back (arena_resize). */
	if ((p = arena_take(count * size)) != NULL)
		return p;
	if ((p = __libc_malloc_impl(count * size)) != NULL)
		memset(p, 0, count * size);
	return p;
}

void *
realloc(void *old, size_t n)
{
	size_t keep;
	void *p;

	if (old == NULL)
		return malloc(n);
	if (!in_arena(old))
		return __libc_realloc(old, n);
	keep = block_size(old);
	/* A header overwritten by a stray write copies no more than the arena.
	 */
	if (keep > sizeof(arena) - (size_t)((unsigned char *)old - arena))
		keep = sizeof(arena) - (size_t)((unsigned char *)old - arena);
	if (n <= keep) {
		/* Only the newest block gives its tail back. */
		(void)arena_resize(old, n);
		return old;
	}
	if (arena_resize(old, n))
		return old;
	if ((p = malloc(n)) == NULL)
		return NULL;
	memcpy(p, old, keep);
	return p;
}

/*
 * musl's malloc_usable_size would read an arena block as one of its own
 * and crash: the program links with -Wl,--wrap=malloc_usable_size, so a
 * call (from any library) comes here.
 */
size_t __real_malloc_usable_size(void *);
size_t __wrap_malloc_usable_size(void *);

size_t
__wrap_malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	return in_arena(p) ? block_size(p) : __real_malloc_usable_size(p);
}

void
free(void *p)
{
	if (p != NULL && !in_arena(p))
		__libc_free(p);
}
