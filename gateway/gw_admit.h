/* SPDX-License-Identifier: Apache-2.0 */
/* Admission: the one check every route that signs makes before a key is
 * touched, and makes again under the fresh snapshot when a token recovery
 * published one (a reload in between may have taken a grant or a use
 * away, and identity indexes differ between configurations). */
#ifndef GW_ADMIT_H
#define GW_ADMIT_H

#include "gw.h"
#include "gw_request.h"

/* Signing refused after an audit write failed less than this long ago
 * (each refusal's own entry re-tests the disk). */
#define GW_AUDIT_REFUSE_MS 1000

enum gw_admit_result {
	GW_ADMIT_OK = 0,
	GW_ADMIT_REFUSED,	/* audit as the route's own type */
	GW_ADMIT_AUTH_FAILURE	/* not granted: audit as auth_failure */
};

/*
 * May req's client use identity name under snap for use (one SG_USE_*)?
 * authority: the authority the call goes through (soap, stamp) or NULL
 * (sign: the identity must have none). Checks, in order: the identity
 * exists (404), the client (found again by its token in snap when snap is
 * not req->snap: 401 when it is gone) is granted it (403, AUTH_FAILURE),
 * it has the use (403), for "sign" it has neither authority nor issuer and
 * is not the audit checkpoint identity, and otherwise its authority is the
 * one named (403). GW_ADMIT_OK with *idp set, or resp holds the refusal.
 */
enum gw_admit_result gw_admit(const struct gw_request *req, const struct gw_snapshot *snap,
    const char *name, unsigned int use, const char *authority, const struct gw_identity **idp,
    struct gw_response *resp);

#endif
