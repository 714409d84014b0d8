/* SPDX-License-Identifier: Apache-2.0 */
/* The token's availability: every path that signs (/v1/sign, stamps,
 * SOAP calls, enrolment jobs, checkpoints, /readyz) asks here before it
 * touches the token and comes here when the token failed it. A failure
 * is recovered at once when it can be (the request is then retried);
 * when it cannot, the token is down: callers are refused at once without
 * touching it, one prober tries again every GW_TOKEN_PROBE_MS, and the
 * outage is over only once a test signature made with a key of the
 * published snapshot verifies with its public key. An outage is two
 * audit entries, token_lost when it begins and token_recovered (with how
 * long it lasted and how many requests it refused) when it ends. */
#ifndef GW_TOKEN_H
#define GW_TOKEN_H

#include "gw.h"
#include "gw_request.h"
#include "gw_snapshot.h"

/* While the token is down, one probe this often. */
#define GW_TOKEN_PROBE_MS 500

/* 1 unless the token is down. Touches nothing. */
int gw_token_up(struct gw *gw);
/* 1 while the token is down: resp holds 503 token_unavailable with
 * Retry-After: 1, the
 * refusal is counted for the outage's token_recovered entry and the caller
 * answers without an audit entry of its own and without touching the
 * token. 0 otherwise. */
int gw_token_refuses(struct gw *gw, struct gw_response *resp);
/* Requests refused so far in the current outage (0 while up). */
uint64_t gw_token_refused(struct gw *gw);
/* A call under snap failed with SG_ERR_TOKEN_LOST, the module having
 * answered ckr (sgp11_last_ckr; it picks the level recovery starts at).
 * 0 when a retry under a fresh gw_snapshot_get may succeed: another
 * thread already published fresh keys, or this one recovered the token
 * (logged, audited as token_recovered). Otherwise SG_ERR_TOKEN_LOST and
 * the token is down (at once, without touching it, when it already was). */
int gw_token_recover(struct gw *gw, const struct gw_snapshot *snap, unsigned long ckr);
/* With gw->reload_lock held: when the token is down, one probe now
 * rather than at the prober's next turn (a reload that logged in with a
 * new PIN calls it, so the next request signs). */
void gw_token_probe_locked(struct gw *gw);
/* Sign a fixed digest with id's key on the token and verify it with the
 * key's public half. 0, SG_ERR_CRYPTO when it does not verify, or the
 * token's error. */
int gw_token_test_signature(const struct gw_identity *id);

/* Set up gw->tok (once, before anything else uses it). */
void gw_token_init(struct gw *gw);
/* The prober thread (start before serving, stop after). */
int gw_token_watch_start(struct gw *gw);
void gw_token_watch_stop(struct gw *gw);

#endif
