/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/stamp: a document (hashed as it streams in) or its digest is
 * sealed by the identity's remote seal service; the answer is a detached
 * CAdES-B-B CMS. Idempotency-Key repeats return the first answer without
 * reaching the authority. Every outcome is audited before the answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "authorities/authority.h"
#include "documents/gw_cms.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_idem.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_sign_request.h"
#include "gw_snapshot.h"
#include "gw_stamp_level.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"


struct stamp_request {
	const char *identity;
	const EVP_MD *md;
	const char *alg;
	unsigned char digest[EVP_MAX_MD_SIZE];
	size_t digest_len;
	char digest_text[160];		/* "sha256:<hex>" for the audit entry */
	int bt;				/* B-T: with a signature time-stamp */
	char tst_serial[GW_TST_SERIAL_MAX];
	char identity_buf[SG_CONFIG_NAME_MAX + 1];
};

/* The only identity the client may stamp with, or NULL. */
static const char *
only_identity(const struct gw_request *req)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i < req->snap->n_ids; i++) {
		const struct sg_identity *id = req->snap->ids[i].cfg;

		if ((id->uses & SG_USE_STAMP) && sg_client_may_use(req->client, id)) {
			if (found != NULL)
				return NULL;
			found = id->name;
		}
	}
	return found;
}

const char *
gw_stamp_identity_name(struct gw_request *req, struct gw_response *resp)
{
	const char *name = req->query(req, "identity");

	if (name != NULL && !sg_config_name_valid(name)) {
		gw_error_r(resp, SG_ERR_INVALID_ARG,
		    "?identity= is not an identity name (1-%d of A-Z a-z 0-9 . _ -)", SG_CONFIG_NAME_MAX);
		return NULL;
	}
	if (name == NULL && (name = only_identity(req)) == NULL)
		gw_error_r(resp, SG_ERR_INVALID_ARG,
		    "name the identity with ?identity= (the client has more than one, or none)");
	return name;
}

int
gw_stamp_seal(struct gw_request *req, struct gw_response *resp, struct gw_identity **idp,
    struct gw_snapshot **freshp, struct gw_seal_job *job, char *why, size_t whylen)
{
	struct gw *gw = req->gw;
	const struct gw_identity *admitted;
	const char *name = (*idp)->cfg->name;
	int r;

	r = gw_authority_seal((*idp)->authority, &job, 1, req->request_id, why, whylen);
	if (r != SG_ERR_TOKEN_LOST)
		return r;
	gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
	if (gw_token_recover(gw, req->snap, sgp11_last_ckr()) != 0)
		return r;
	*freshp = gw_snapshot_get(gw);
	*idp = NULL;
	if (gw_admit(req, *freshp, name, SG_USE_STAMP, NULL, &admitted, resp) != GW_ADMIT_OK)
		return 1;
	if (admitted->authority == NULL) {
		gw_error_r(resp, SG_ERR_TOKEN, "identity %s has no interface key or certificate",
		    admitted->cfg->name);
		return 1;
	}
	*idp = (struct gw_identity *)admitted;
	why[0] = '\0';
	return gw_authority_seal((*idp)->authority, &job, 1, req->request_id, why, whylen);
}

static int
set_digest_text(struct stamp_request *sr)
{
	char *hex = NULL;
	int r;

	if ((r = sg_hex_encode(sr->digest, sr->digest_len, &hex)) != 0)
		return r;
	r = snprintf(sr->digest_text, sizeof(sr->digest_text), "%s:%s", sr->alg, hex) >=
	    (int)sizeof(sr->digest_text) ? SG_ERR_INTERNAL : 0;
	free(hex);
	return r;
}

/* The document form: the digest was computed while the body streamed. */
static int
from_document(struct gw_request *req, struct gw_response *resp, struct stamp_request *sr)
{
	unsigned int len = 0;

	if ((sr->identity = gw_stamp_identity_name(req, resp)) == NULL)
		return SG_ERR_PARSE;
	sr->md = EVP_sha256();
	sr->alg = "sha256";
	if (req->doc_md == NULL || EVP_DigestFinal_ex(req->doc_md, sr->digest, &len) != 1) {
		gw_error_r(resp, SG_ERR_INTERNAL, "the document digest could not be computed");
		return SG_ERR_CRYPTO;
	}
	sr->digest_len = len;
	return set_digest_text(sr);
}

/* The digest form: {"identity","digest":{"alg","value"},"name"?}, read
 * as strictly as a sign request (gw_stamp_request_parse). */
static int
from_json(struct gw_request *req, struct gw_response *resp, struct stamp_request *sr)
{
	struct gw_sign_request p;
	char why[GW_SIGN_WHY_MAX];
	int r;

	r = gw_stamp_request_parse(sg_buf_str(&req->body), req->body.len, &p, why, sizeof(why));
	if (p.identity != NULL && sg_strfit(sr->identity_buf, sizeof(sr->identity_buf), p.identity) == 0)
		sr->identity = sr->identity_buf;
	if (r != 0) {
		gw_error_r(resp, r, "%s", why);
		goto out;
	}
	sr->md = p.md;
	sr->alg = p.alg;
	memcpy(sr->digest, p.digest, p.digest_len);
	sr->digest_len = p.digest_len;
	r = set_digest_text(sr);
 out:
	gw_sign_request_free(&p);
	return r;
}

static cJSON *
answer_json(const struct gw_request *req, const struct gw_identity *id,
    const struct stamp_request *sr, const struct gw_cms_job *res)
{
	cJSON *doc = cJSON_CreateObject(), *d;
	char *b64 = NULL;

	cJSON_AddStringToObject(doc, "request_id", req->request_id);
	cJSON_AddStringToObject(doc, "identity", id->cfg->name);
	d = cJSON_AddObjectToObject(doc, "digest");
	cJSON_AddStringToObject(d, "alg", sr->alg);
	if (sg_b64_encode(sr->digest, sr->digest_len, SG_B64_STD, &b64) == 0)
		cJSON_AddStringToObject(d, "value", b64);
	free(b64);
	b64 = NULL;
	cJSON_AddStringToObject(doc, "format", sr->bt ? "cades-b-t" : "cades-b-b");
	if (sr->bt)
		cJSON_AddStringToObject(doc, "tst_serial", sr->tst_serial);
	if (sg_b64_encode(res->cms, res->cms_len, SG_B64_STD, &b64) == 0)
		cJSON_AddStringToObject(doc, "cms", b64);
	free(b64);
	gw_stamp_answer_end(doc, res->stamp_cert, req->request_id);
	return doc;
}

int
gw_stamp_refuses(struct gw *gw, const struct gw_identity *id, struct gw_response *resp)
{
	if (id->authority == NULL) {
		gw_error_r(resp, SG_ERR_TOKEN, "identity %s has no interface key or certificate",
		    id->cfg->name);
		return 1;
	}
	if (gw_audit_failing(gw, GW_AUDIT_REFUSE_MS)) {
		gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		return 1;
	}
	return 0;
}

void
gw_stamp_answer_end(cJSON *doc, X509 *stamp_cert, const char *request_id)
{
	unsigned char *der = NULL;
	char *b64 = NULL, stamped[32];
	time_t now = time(NULL);
	struct tm tm;
	int der_len;

	if ((der_len = i2d_X509(stamp_cert, &der)) > 0 &&
	    sg_b64_encode(der, (size_t)der_len, SG_B64_STD, &b64) == 0)
		cJSON_AddStringToObject(doc, "stamp_certificate", b64);
	OPENSSL_free(der);
	free(b64);
	/* CSC answers no reference of its own: the request id sent as clientData. */
	cJSON_AddStringToObject(doc, "authority_reference", request_id);
	gmtime_r(&now, &tm);
	strftime(stamped, sizeof(stamped), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(doc, "stamped_at", stamped);
}

/* The answer in the form the client asked for: JSON, or the DER CMS. */
static void
send_answer(struct gw_request *req, struct gw_response *resp, const char *json, size_t len)
{
	cJSON *doc;
	const cJSON *cms;
	unsigned char *der = NULL;
	size_t der_len = 0;

	sg_buf_reset(&resp->body);
	if (req->accept != NULL && strstr(req->accept, "application/pkcs7-signature") != NULL &&
	    (doc = cJSON_ParseWithLength(json, len)) != NULL) {
		cms = cJSON_GetObjectItemCaseSensitive(doc, "cms");
		if (cJSON_IsString(cms) && sg_b64_decode(cms->valuestring, strlen(cms->valuestring),
		    SG_B64_STD, &der, &der_len) == 0 && sg_buf_append(&resp->body, der, der_len) == 0) {
			resp->status = 200;
			resp->content_type = "application/pkcs7-signature";
		}
		free(der);
		cJSON_Delete(doc);
		if (resp->status == 200)
			return;
	}
	if (sg_buf_append(&resp->body, json, len) != 0 || sg_buf_append(&resp->body, "\n", 1) != 0) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
}

/* The forms ?format= names beside the default detached CAdES: NULL for
 * that default, else the format's own name. */
static const char *
format_of(const struct gw_request *req)
{
	const char *format = req->query(req, "format");

	return format == NULL || strcmp(format, "cades") == 0 ? NULL : format;
}

int
gw_route_stamp_keeps_document(const struct gw_request *req)
{
	const char *format = format_of(req);

	return req->document && format != NULL &&
	    (strcmp(format, "pades") == 0 || strcmp(format, "asice") == 0);
}

/* 1 when ?format= chose another form and resp holds the answer. */
static int
other_format(struct gw_request *req, struct gw_response *resp)
{
	const char *format = format_of(req);

	if (format == NULL)
		return 0;
	if (strcmp(format, "pades") == 0)
		gw_route_stamp_pdf(req, resp);
	else if (strcmp(format, "asice") == 0)
		gw_route_stamp_asic(req, resp);
	else {
		gw_error_r(resp, SG_ERR_INVALID_ARG,
		    "?format= is cades (the default), pades or asice");
		gw_audit_refusal(req, resp, "stamp", NULL, NULL);
	}
	return 1;
}

void
gw_route_stamp(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *fresh = NULL;
	const struct gw_identity *admitted;
	struct gw_identity *id;
	struct stamp_request sr;
	struct gw_cms_job res;
	struct gw_seal_job *job = &res.job;
	struct gw_idem_slot *slot = NULL;
	struct sg_audit_entry e;
	const char *extra_keys[2], *extra_values[2];
	int authority_signed = 0;
	char why[512] = "", *stored = NULL, *first_id = NULL, *json = NULL;
	size_t stored_len = 0;
	cJSON *answer;
	int r;

	if (other_format(req, resp))
		return;
	memset(&sr, 0, sizeof(sr));
	memset(&res, 0, sizeof(res));
	if ((req->document ? from_document(req, resp, &sr) : from_json(req, resp, &sr)) != 0) {
		gw_audit_refusal(req, resp, "stamp", sr.identity, NULL);
		goto out;
	}
	switch (gw_admit(req, req->snap, sr.identity, SG_USE_STAMP, NULL, &admitted, resp)) {
	case GW_ADMIT_OK:
		id = (struct gw_identity *)admitted;
		break;
	case GW_ADMIT_AUTH_FAILURE:
		gw_audit_refusal(req, resp, "auth_failure", sr.identity, sr.digest_text);
		goto out;
	default:
		goto refused;
	}
	if (req->idempotency_key != NULL && !gw_idem_key_valid(req->idempotency_key)) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "Idempotency-Key is 1 to %d printable characters",
		    GW_IDEM_KEY_MAX);
		goto refused;
	}
	if (gw_stamp_refuses(gw, id, resp))
		goto refused;
	if ((sr.bt = gw_stamp_level(req, id, resp)) < 0)
		goto refused;
	memset(&e, 0, sizeof(e));
	e.type = "stamp";
	e.identity = id->cfg->name;
	e.key_id = sgp11_key_id_hex(id->key);
	e.digest = sr.digest_text;
	e.authority = id->cfg->authority->name;
	if (req->idempotency_key != NULL) {
		r = gw_idem_begin(gw->idem, req->client->name, req->idempotency_key, id->cfg->name,
		    sr.digest_text, &slot, &stored, &stored_len, &first_id);
		if (r == GW_IDEM_CONFLICT) {
			gw_error_r(resp, SG_ERR_CONFLICT,
			    "this Idempotency-Key was used for another identity or digest");
			goto refused;
		}
		if (r == GW_IDEM_REPLAY) {
			/* Recorded, but marked as a repeat: not counted again. */
			extra_keys[0] = "replay";
			extra_values[0] = first_id;
			e.extra_keys = extra_keys;
			e.extra_values = extra_values;
			e.n_extra = 1;
			e.outcome = "ok";
			e.authority_ref = first_id;
			if (gw_audit(req, &e) != 0) {
				gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
				goto out;
			}
			send_answer(req, resp, stored, stored_len);
			goto out;
		}
		if (r < 0) {
			gw_error_r(resp, r, "the idempotency record could not be read");
			goto refused;
		}
	}
	/* While the token is away: 503 at once, counted for the outage (a
	 * replay above needs no token and is answered). */
	if (gw_token_refuses(gw, resp))
		goto out;
	if ((r = gw_cms_job_init(&res, sr.md, sr.digest, sr.digest_len, time(NULL))) != 0) {
		gw_error_r(resp, r, "the stamp could not be prepared");
		goto refused;
	}
	r = gw_authority_seal(id->authority, &job, 1, req->request_id, why, sizeof(why));
	if (r == SG_ERR_TOKEN_LOST) {
		gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
		if (gw_token_recover(gw, req->snap, sgp11_last_ckr()) == 0) {
			/* The same checks again under what recovery published, and
			 * its adapter, whose interface key was found again. */
			fresh = gw_snapshot_get(gw);
			if (gw_admit(req, fresh, sr.identity, SG_USE_STAMP, NULL, &admitted, resp) !=
			    GW_ADMIT_OK)
				goto refused;
			id = (struct gw_identity *)admitted;
			if (id->authority == NULL) {
				gw_error_r(resp, SG_ERR_TOKEN,
				    "identity %s has no interface key or certificate", id->cfg->name);
				goto refused;
			}
			e.identity = id->cfg->name;
			e.key_id = sgp11_key_id_hex(id->key);
			e.authority = id->cfg->authority->name;
			why[0] = '\0';
			r = gw_authority_seal(id->authority, &job, 1, req->request_id, why,
			    sizeof(why));
		}
	}
	gw_metrics_authority(gw->metrics, id->cfg->authority->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	/* A failure from here on follows a signature the service made and
	 * counted: the error entry says so (authority_signed). */
	authority_signed = r == 0;
	if (r == 0 && sr.bt)
		r = gw_stamp_add_timestamp(req, fresh != NULL ? fresh : req->snap, id, &res.cms,
		    &res.cms_len, sr.tst_serial, why, sizeof(why));
	if (r != 0) {
		sg_error_r(r, "stamp with %s: %s", id->cfg->name, why);
		if (r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN)
			gw_error_r(resp, SG_ERR_TOKEN, "the interface key could not sign");
		else
			gw_error_r(resp, r == SG_ERR_TIMEOUT || r == SG_ERR_UNAVAILABLE ? r :
			    SG_ERR_AUTHORITY, "%s", why);
		e.outcome = "error";
		e.error = r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN ? "token_unavailable" :
		    r == SG_ERR_TIMEOUT ? "authority_timeout" :
		    r == SG_ERR_UNAVAILABLE ? "authority_unavailable" : "authority_error";
		extra_keys[0] = "detail";
		extra_values[0] = why;
		e.extra_keys = extra_keys;
		e.extra_values = extra_values;
		e.n_extra = 1;
		if (authority_signed) {
			extra_keys[e.n_extra] = "authority_signed";
			extra_values[e.n_extra++] = "true";
		}
		if (gw_audit(req, &e) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if ((answer = answer_json(req, id, &sr, &res)) == NULL ||
	    (json = cJSON_PrintUnformatted(answer)) == NULL) {
		cJSON_Delete(answer);
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	cJSON_Delete(answer);
	{
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(res.stamp_cert), NULL);
		char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;

		e.cert_serial = serial;
		if (sr.bt) {
			extra_keys[0] = "level";
			extra_values[0] = "b-t";
			extra_keys[1] = "tst_serial";
			extra_values[1] = sr.tst_serial;
			e.extra_keys = extra_keys;
			e.extra_values = extra_values;
			e.n_extra = 2;
		}
		e.outcome = "ok";
		e.authority_ref = req->request_id;
		r = gw_audit(req, &e);
		OPENSSL_free(serial);
		BN_free(bn);
	}
	if (r != 0) {
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the stamp was discarded");
		goto out;
	}
	gw_metrics_signature(gw->metrics, id->cfg->name, "stamp");
	if (slot != NULL) {
		(void)gw_idem_store(gw->idem, slot, req->request_id, json, strlen(json));
		slot = NULL;
	}
	send_answer(req, resp, json, strlen(json));
	goto out;
 refused:
	gw_audit_refusal(req, resp, "stamp", sr.identity, sr.digest_text[0] != '\0' ? sr.digest_text : NULL);
 out:
	gw_idem_release(gw->idem, slot);
	gw_cms_job_clear(&res);
	gw_snapshot_put(gw, fresh);
	cJSON_free(json);
	free(stored);
	free(first_id);
}
