/* SPDX-License-Identifier: Apache-2.0 */
/* Unauthenticated refusals, coalesced: a loop of bad tokens must not grow
 * the audit log by one fdatasync'ed entry per request (nor turn the
 * fail-closed rule into a denial of service once the disk fills). Per peer
 * address and kind of refusal, the first in each second is audited at
 * once, as always; the others of that second are counted, and one entry
 * carrying the count ("repeated") is written when the second is over. */
#ifndef GW_REFUSALS_H
#define GW_REFUSALS_H

#include <stdint.h>

struct gw;
struct gw_refusals;

/* Peers tracked at once; past that, refusals are audited one by one. */
#define GW_REFUSALS_SLOTS 512
#define GW_REFUSALS_WINDOW_MS 1000

int gw_refusals_new(struct gw_refusals **rp);
void gw_refusals_free(struct gw_refusals *r);

/* 1: audit this refusal now (the first of its second, or no room to
 * count it); 0: it was counted into the entry that closes the second.
 * A window over by now_ms is written first (an entry per window). */
int gw_refusals_admit(struct gw *gw, const char *peer, const char *kind, int64_t now_ms);
/* Write the entries of windows over by now_ms (every window when all):
 * called each second, and at stop with all set. */
void gw_refusals_flush(struct gw *gw, int64_t now_ms, int all);

#endif
