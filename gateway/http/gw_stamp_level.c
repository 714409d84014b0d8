/* SPDX-License-Identifier: Apache-2.0 */
/* B-B or B-T for a stamp: ?level= checked against the identity, and the
 * signature time-stamp (ETSI EN 319 122-1 5.3) fetched from the
 * identity's rfc3161 authority and put into the CMS. A time-stamp
 * authority that fails fails the stamp: the level is never lowered. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "authorities/authority.h"
#include "documents/gw_cms.h"
#include "documents/gw_tsp.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_snapshot.h"
#include "gw_stamp_level.h"
#include "sg_err.h"
#include "sg_log.h"

int
gw_stamp_level(const struct gw_request *req, const struct gw_identity *id,
    struct gw_response *resp)
{
	const char *level = req->query(req, "level");
	int bt = id->cfg->timestamp_authority != NULL;

	if (level == NULL || strcmp(level, bt ? "b-t" : "b-b") == 0)
		return bt;
	if (strcmp(level, "b-b") == 0)
		gw_error_r(resp, SG_ERR_INVALID_ARG, "identity %s stamps at level b-t only (its "
		    "timestamp_authority is %s)", id->cfg->name, id->cfg->timestamp_authority->name);
	else if (strcmp(level, "b-t") == 0)
		gw_error_r(resp, SG_ERR_INVALID_ARG, "identity %s has no timestamp_authority, so "
		    "its stamps are b-b", id->cfg->name);
	else
		gw_error_r(resp, SG_ERR_INVALID_ARG, "?level= is b-b or b-t");
	return -1;
}

int
gw_stamp_add_timestamp(struct gw_request *req, const struct gw_snapshot *snap,
    const struct gw_identity *id, unsigned char **cmsp, size_t *lenp,
    char serial[GW_TST_SERIAL_MAX], char *why, size_t whylen)
{
	const struct gw_tsa_slot *tsa;
	struct gw_tsp_token *tok = NULL;
	unsigned char digest[EVP_MAX_MD_SIZE], *out = NULL;
	unsigned int digest_len = 0;
	size_t out_len = 0;
	int r;

	serial[0] = '\0';
	if ((tsa = gw_snapshot_tsa(snap, id->cfg->timestamp_authority->name)) == NULL) {
		sg_msg(why, whylen, "the time-stamp authority %s is not open",
		    id->cfg->timestamp_authority->name);
		return SG_ERR_AUTHORITY;
	}
	if ((r = gw_cms_signature_digest(*cmsp, *lenp, EVP_sha256(), digest, &digest_len)) != 0) {
		sg_msg(why, whylen, "the signature value could not be hashed");
		return r == SG_ERR_PARSE ? SG_ERR_INTERNAL : r;
	}
	r = gw_authority_timestamp(tsa->authority, EVP_sha256(), digest, digest_len,
	    req->request_id, &tok, why, whylen);
	gw_metrics_authority(req->gw->metrics, tsa->cfg->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	if (r != 0) {
		sg_error_r(r, "signature time-stamp from %s: %s", tsa->cfg->name, why);
		return r == SG_ERR_TIMEOUT || r == SG_ERR_ALLOC ? r : SG_ERR_AUTHORITY;
	}
	if ((r = gw_cms_add_signature_timestamp(*cmsp, *lenp, tok->der, tok->der_len, &out,
	    &out_len)) != 0) {
		sg_msg(why, whylen, "the time-stamp from %s could not be added", tsa->cfg->name);
		goto out;
	}
	if (sg_strfit(serial, GW_TST_SERIAL_MAX, tok->serial) != 0) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	OPENSSL_free(*cmsp);
	*cmsp = out;
	*lenp = out_len;
	out = NULL;
	r = 0;
 out:
	OPENSSL_free(out);
	gw_tsp_token_free(tok);
	return r;
}
