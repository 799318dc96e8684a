/* SPDX-License-Identifier: MIT */
/* cleanup.h: --cleanup: expire sessions, delete old rows, in batches */
#ifndef CLEANUP_H
#define CLEANUP_H

#include <stdio.h>

struct store;

#define CLEANUP_BATCH 1000 /* rows of each kind per transaction */

/*
 * Marks expired sessions and deletes expired and revoked rows older than
 * days, one short transaction per batch, until a batch finds less than a
 * full one of each kind. Prints one line of counts on out. Returns the
 * process's exit status: 0 done, 1 the store failed (reason logged).
 */
int cleanup_run(struct store *db, long days, FILE *out);

#endif
