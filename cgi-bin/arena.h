/* SPDX-License-Identifier: MIT */
/* arena.h: the portable build's malloc (arena.c) */
#ifndef ARENA_H
#define ARENA_H

#ifdef CK_ARENA
/*
 * From now on, blocks come from musl's allocator, which reuses freed
 * memory: for a process that answers many requests (FastCGI). Blocks
 * already handed out stay valid.
 */
void arena_close(void);
#else
static inline void
arena_close(void)
{
}
#endif

#endif
