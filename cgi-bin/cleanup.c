/* SPDX-License-Identifier: MIT */
/* cleanup.c: --cleanup: the batch loop and its report, through store */
#include <stdio.h>

#include "cleanup.h"
#include "log.h"
#include "store.h"

/*
 * The loop ends when a batch is short of a full one of each kind; it is
 * also bounded in count, so rows expiring as fast as they are taken can
 * never keep it running: the next run takes what is left.
 */
#define CLEANUP_BATCHES_MAX 100000

int
cleanup_run(struct store *db, long days, FILE *out)
{
	struct cleanup_counts sum = {0, 0, 0}, c;
	struct err e = {{0}};
	long i;

	for (i = 0; i < CLEANUP_BATCHES_MAX; i++) {
		if (store_cleanup_batch(db, days, CLEANUP_BATCH, &c, &e) !=
		    STORE_OK) {
			/* What earlier batches did stays done: say it. */
			log_warnx(
			    "cleanup failed after %ld batches (%ld marked "
			    "expired, %ld expired and %ld revoked rows "
			    "deleted): %s",
			    i, sum.expired, sum.deleted_expired,
			    sum.deleted_revoked, e.msg);
			return 1;
		}
		sum.expired += c.expired;
		sum.deleted_expired += c.deleted_expired;
		sum.deleted_revoked += c.deleted_revoked;
		if (c.expired < CLEANUP_BATCH &&
		    c.deleted_expired < CLEANUP_BATCH &&
		    c.deleted_revoked < CLEANUP_BATCH)
			break;
	}
	fprintf(out,
	    "cleanup: %ld marked expired, %ld expired and %ld revoked rows "
	    "deleted (older than %ld day%s)\n",
	    sum.expired, sum.deleted_expired, sum.deleted_revoked, days,
	    days == 1 ? "" : "s");
	return fflush(out) == 0 ? 0 : 1;
}
