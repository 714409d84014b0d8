/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration snapshot: loaded, found on the token, published,
 * shared by reference; reloaded on SIGHUP, rebuilt after a recovery. */
#ifndef GW_SNAPSHOT_H
#define GW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "gw.h"

struct gw_response;

/* Load path, find every identity's key and certificate on the token and
 * return a new snapshot with one reference. err gets "$.path: why" or the
 * key that is missing. strict: a missing key is an error (start-up and
 * --check-config); otherwise the identity is kept without a key. */
int gw_snapshot_load(struct gw *gw, const char *path, int strict, struct gw_snapshot **snapp,
    char *err, size_t errlen);
struct gw_snapshot *gw_snapshot_get(struct gw *gw);	/* new reference */
void gw_snapshot_put(struct gw *gw, struct gw_snapshot *snap);
/* Publish snap as current (takes over the caller's reference). */
void gw_snapshot_publish(struct gw *gw, struct gw_snapshot *snap);
const struct gw_identity *gw_snapshot_identity(const struct gw_snapshot *snap, const char *name);
/* The open rfc3161 authority named name (get0), or NULL: none of that
 * name, or one of another type. */
const struct gw_tsa_slot *gw_snapshot_tsa(const struct gw_snapshot *snap, const char *name);
/* Whether signing with id may go ahead now: 0, or 1 with resp holding the
 * refusal (409 certificate_expired: its certificate has expired; 503
 * audit_unavailable: an audit write failed less than window_ms ago, so
 * nothing is signed until the log takes writes again). */
int gw_identity_refusal(struct gw *gw, const struct gw_identity *id, int64_t window_ms,
    struct gw_response *resp);
/* Re-read the config file and publish it (SIGHUP). The old one stays on
 * failure. reason goes to the audit entry. On success it then runs
 * gw_snapshot_discover. */
int gw_reload(struct gw *gw, const char *reason);
/* Discovery for the published snapshot: each identity's authority adapter
 * that can tell asks its service what it offers (CSC info and
 * credentials/info), so a service that cannot stamp is named in the log
 * when its configuration is loaded, not at the first stamp. It never
 * stops the load: readiness and every stamp ask again. Called without
 * the reload lock (token recovery never waits on a service). */
void gw_snapshot_discover(struct gw *gw);
/* A new snapshot of from's configuration text (not the file, which may
 * have changed since) with every key found on the token again, after the
 * token recovered. SG_ERR_KEY_NOT_FOUND, with err naming it, when a key
 * from has is not there (yet). */
int gw_snapshot_rebuild(struct gw *gw, const struct gw_snapshot *from, struct gw_snapshot **snapp,
    char *err, size_t errlen);

#endif
