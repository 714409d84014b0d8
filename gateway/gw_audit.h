/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's audit glue: entries for requests and for the daemon's own
 * events, and the fail-closed bookkeeping of failed writes. */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include <stdint.h>

#include "gw_request.h"
#include "sg_audit.h"

/* Append an entry for req (request id, client filled in). 0 when durable,
 * SG_ERR_AUDIT otherwise. */
int gw_audit(struct gw_request *req, const struct sg_audit_entry *e);
/* Append an entry that belongs to no request (jobs, start, stop): the same
 * durability and fail-closed bookkeeping. 0 when durable, else the error. */
int gw_audit_append(struct gw *gw, const struct sg_audit_entry *e);
/* 1 while signing must be refused without touching the token: an audit
 * write failed less than window_ms ago and none has succeeded since. */
int gw_audit_failing(struct gw *gw, int64_t window_ms);
/* For a refused request: audit it and, if that failed, turn resp into
 * 503 audit_unavailable. */
void gw_audit_refusal(struct gw_request *req, struct gw_response *resp, const char *type,
    const char *identity, const char *digest);

#endif
