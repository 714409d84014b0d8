/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/sign: a raw or CMS signature over a digest, made on the token
 * with an identity whose policy allows local signing. Every outcome is
 * audited before the answer; if the audit entry cannot be made durable the
 * signature is thrown away and the answer is 503 audit_unavailable. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_cms.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_sign_request.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

static int
sign_once(const struct gw_identity *id, struct gw *gw, const struct gw_sign_request *sr,
    unsigned char **sigp, size_t *siglenp)
{
	unsigned char *cms = NULL;
	size_t cms_len = 0;
	int r;

	if (!sr->cms)
		return sgp11_sign_digest(id->key, EVP_MD_get_type(sr->md), SGP11_PAD_DEFAULT, sr->digest,
		    sr->digest_len, sigp, siglenp);
	sgp11_use_begin(gw->token);
	if (sgp11_key_stale(id->key))
		r = SG_ERR_TOKEN_LOST;
	else
		r = gw_cms_sign_digest(sgp11_key_get0_pkey(id->key), id->cert, NULL, sr->md, sr->digest,
		    sr->digest_len, time(NULL), &cms, &cms_len);
	sgp11_use_end(gw->token);
	/* A failed token signature inside OpenSSL surfaces as a crypto error;
	 * treat it as a lost token so recovery gets its chance. */
	if (r == SG_ERR_CRYPTO)
		r = SG_ERR_TOKEN_LOST;
	if (r == 0) {
		*sigp = cms;
		*siglenp = cms_len;
	}
	return r;
}

static void
digest_label(const struct gw_sign_request *sr, char *out, size_t outlen)
{
	char *hex = NULL;

	out[0] = '\0';
	if (sr->digest != NULL && sg_hex_encode(sr->digest, sr->digest_len, &hex) == 0 &&
	    snprintf(out, outlen, "%s:%s", sr->alg, hex) >= (int)outlen)
		out[0] = '\0';
	free(hex);
}

static void
unannounce(struct gw *gw, int *announced)
{
	if (*announced)
		sg_audit_expect_cancel(gw->audit);
	*announced = 0;
}

static cJSON *
success_body(const struct gw_request *req, const struct gw_identity *id,
    const struct gw_sign_request *sr, const unsigned char *sig, size_t sig_len)
{
	cJSON *doc = cJSON_CreateObject();
	char *b64 = NULL;

	cJSON_AddStringToObject(doc, "request_id", req->request_id);
	cJSON_AddStringToObject(doc, "identity", id->cfg->name);
	cJSON_AddStringToObject(doc, "format", sr->cms ? "cms" : "raw");
	if (sg_b64_encode(sig, sig_len, SG_B64_STD, &b64) != 0) {
		cJSON_Delete(doc);
		return NULL;
	}
	cJSON_AddStringToObject(doc, "signature", b64);
	free(b64);
	/* Encoded when the snapshot was made (gw_snapshot.c). */
	if (id->cert_b64 != NULL)
		cJSON_AddStringToObject(doc, "certificate", id->cert_b64);
	else
		cJSON_AddNullToObject(doc, "certificate");
	return doc;
}

/* Admission under snap, then what this route needs of the identity: its
 * key on the token, a certificate for CMS, and an audit log that takes
 * writes. GW_ADMIT_OK, or resp holds the refusal. */
static enum gw_admit_result
admit(const struct gw_request *req, const struct gw_snapshot *snap,
    const struct gw_sign_request *sr, const struct gw_identity **idp, struct gw_response *resp)
{
	enum gw_admit_result a;
	const struct gw_identity *id;

	if ((a = gw_admit(req, snap, sr->identity, SG_USE_SIGN, NULL, idp, resp)) != GW_ADMIT_OK)
		return a;
	id = *idp;
	if (id->key == NULL) {
		gw_error_r(resp, SG_ERR_TOKEN, "the key of identity %s is not on the token",
		    id->cfg->name);
		return GW_ADMIT_REFUSED;
	}
	if (sr->cms && id->cert == NULL) {
		gw_error_r(resp, SG_ERR_CONFLICT, "identity %s has no certificate for a CMS signature",
		    id->cfg->name);
		return GW_ADMIT_REFUSED;
	}
	/* Fail closed before touching the key: right after a failed audit
	 * write nothing is signed; this request's refusal entry re-tests the
	 * disk. Later requests sign, and their signature is discarded unless
	 * its entry becomes durable. */
	if (gw_identity_refusal(req->gw, id, GW_AUDIT_REFUSE_MS, resp))
		return GW_ADMIT_REFUSED;
	return GW_ADMIT_OK;
}

void
gw_route_sign(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *snap = req->snap, *fresh = NULL;
	const struct gw_identity *id;
	struct gw_sign_request sr;
	struct sg_audit_entry e;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	cJSON *answer;
	char digest_text[160], why[GW_SIGN_WHY_MAX];
	enum gw_admit_result admitted = GW_ADMIT_REFUSED;
	int announced, r;

	/* Announced at once: every way through here but the token's absence
	 * ends in an audit entry, and the audit writer can let concurrent
	 * requests share one fdatasync (sg_audit_expect). A refusal's entry
	 * is not the announced one: the announcement is cancelled first. */
	sg_audit_expect(gw->audit);
	announced = 1;
	if ((r = gw_sign_request_parse(sg_buf_str(&req->body), req->body.len, &sr, why,
	    sizeof(why))) != 0) {
		gw_error_r(resp, r, "%s", why);
		unannounce(gw, &announced);
		gw_audit_refusal(req, resp, "sign", sr.identity, NULL);
		goto out;
	}
	digest_label(&sr, digest_text, sizeof(digest_text));
	if ((admitted = admit(req, snap, &sr, &id, resp)) != GW_ADMIT_OK)
		goto refused;
	/* While the token is away: 503 at once, counted for the outage. */
	if (gw_token_refuses(gw, resp))
		goto out;
	r = sign_once(id, gw, &sr, &sig, &sig_len);
	if (r == SG_ERR_TOKEN_LOST) {
		gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
		if (gw_token_recover(gw, snap, sgp11_last_ckr()) == 0) {
			/* The same checks again under what recovery published. */
			fresh = gw_snapshot_get(gw);
			if ((admitted = admit(req, fresh, &sr, &id, resp)) != GW_ADMIT_OK)
				goto refused;
			r = sign_once(id, gw, &sr, &sig, &sig_len);
		}
	} else if (r != 0 && r != SG_ERR_INVALID_ARG)
		gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
	if (r != 0) {
		sg_error_r(r, "signing with %s failed", sr.identity);
		gw_error_r(resp, r == SG_ERR_INVALID_ARG ? SG_ERR_INVALID_ARG : SG_ERR_TOKEN,
		    "the token could not sign");
		goto refused;
	}
	if ((answer = success_body(req, id, &sr, sig, sig_len)) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto refused;
	}
	memset(&e, 0, sizeof(e));
	e.type = "sign";
	e.identity = id->cfg->name;
	e.key_id = sgp11_key_id_hex(id->key);
	e.cert_serial = id->cert_serial[0] != '\0' ? id->cert_serial : NULL;
	e.digest = digest_text;
	e.outcome = "ok";
	e.expected = 1;
	announced = 0;
	if (gw_audit(req, &e) != 0) {
		cJSON_Delete(answer);
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the signature was discarded");
		goto out;
	}
	gw_metrics_signature(gw->metrics, id->cfg->name, sr.cms ? "cms" : "raw");
	gw_json(resp, 200, answer);
	goto out;
 refused:
	unannounce(gw, &announced);
	gw_audit_refusal(req, resp, admitted == GW_ADMIT_AUTH_FAILURE ? "auth_failure" : "sign",
	    sr.identity, digest_text);
 out:
	unannounce(gw, &announced);
	OPENSSL_free(sig);
	gw_sign_request_free(&sr);
	gw_snapshot_put(gw, fresh);
}
