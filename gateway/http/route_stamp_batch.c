/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/stamp/batch: 1 to GW_STAMP_BATCH_MAX document digests sealed
 * by the identity's remote seal service in one signatures/signHash (one
 * round trip, one SAD), each answered as its own detached CAdES CMS,
 * audited as its own stamp and counted as one. An identity with a
 * timestamp_authority makes each of them B-T (one time-stamp per CMS). All
 * of them or none: a failure of the service or of the time-stamp authority
 * fails the batch. */
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

struct batch {
	struct gw_stamp_batch in;
	struct gw_cms_job jobs[GW_STAMP_BATCH_MAX];
	struct gw_seal_job *seal[GW_STAMP_BATCH_MAX];
	char digest_text[GW_STAMP_BATCH_MAX][160];	/* "sha256:<hex>" for the audit */
	char tst_serial[GW_STAMP_BATCH_MAX][GW_TST_SERIAL_MAX];	/* B-T only */
	int bt;
	size_t n_init;
};

static int
digest_texts(struct batch *b)
{
	char *hex = NULL;
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < b->in.n; i++) {
		if ((r = sg_hex_encode(b->in.digests[i], b->in.digest_len, &hex)) != 0)
			break;
		if (snprintf(b->digest_text[i], sizeof(b->digest_text[i]), "%s:%s", b->in.alg, hex) >=
		    (int)sizeof(b->digest_text[i]))
			r = SG_ERR_INTERNAL;
		free(hex);
		hex = NULL;
	}
	return r;
}

/* One audit entry per digest: e with each digest (and its place in the
 * batch, and with tst its time-stamp's serial) in turn. keys and values
 * have room for n_extra + 3. */
static int
audit_each(struct gw_request *req, struct batch *b, struct sg_audit_entry *e,
    const char **keys, const char **values, size_t n_extra, int tst)
{
	char place[48];
	size_t i;
	int r = 0;

	keys[n_extra] = "batch";
	values[n_extra] = place;
	e->extra_keys = keys;
	e->extra_values = values;
	e->n_extra = n_extra + 1;
	if (b->bt) {
		keys[e->n_extra] = "level";
		values[e->n_extra++] = "b-t";
	}
	for (i = 0; r == 0 && i < b->in.n; i++) {
		if (snprintf(place, sizeof(place), "%zu/%zu", i + 1, b->in.n) >= (int)sizeof(place))
			r = SG_ERR_INTERNAL;
		e->digest = b->digest_text[i];
		if (tst) {
			keys[e->n_extra] = "tst_serial";
			values[e->n_extra] = b->tst_serial[i];
		}
		e->n_extra += tst ? 1 : 0;
		if (r == 0 && gw_audit(req, e) != 0)
			r = SG_ERR_AUDIT;
		e->n_extra -= tst ? 1 : 0;
	}
	/* place goes out of scope: the entry no longer points at it. */
	e->n_extra = n_extra;
	values[n_extra] = NULL;
	return r;
}

static cJSON *
answer_json(const struct gw_request *req, const struct gw_identity *id, const struct batch *b)
{
	cJSON *doc = cJSON_CreateObject(), *list, *one, *d;
	char *b64 = NULL;
	size_t i;

	if (doc == NULL)
		return NULL;
	cJSON_AddStringToObject(doc, "request_id", req->request_id);
	cJSON_AddStringToObject(doc, "identity", id->cfg->name);
	list = cJSON_AddArrayToObject(doc, "stamps");
	for (i = 0; i < b->in.n; i++) {
		one = cJSON_CreateObject();
		cJSON_AddItemToArray(list, one);
		d = cJSON_AddObjectToObject(one, "digest");
		cJSON_AddStringToObject(d, "alg", b->in.alg);
		if (sg_b64_encode(b->in.digests[i], b->in.digest_len, SG_B64_STD, &b64) == 0)
			cJSON_AddStringToObject(d, "value", b64);
		free(b64);
		b64 = NULL;
		cJSON_AddStringToObject(one, "format", b->bt ? "cades-b-t" : "cades-b-b");
		if (b->bt)
			cJSON_AddStringToObject(one, "tst_serial", b->tst_serial[i]);
		if (sg_b64_encode(b->jobs[i].cms, b->jobs[i].cms_len, SG_B64_STD, &b64) == 0)
			cJSON_AddStringToObject(one, "cms", b64);
		free(b64);
		b64 = NULL;
	}
	gw_stamp_answer_end(doc, b->jobs[0].stamp_cert, req->request_id);
	return doc;
}

void
gw_route_stamp_batch(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	const struct gw_identity *admitted;
	const struct gw_identity *id;
	struct batch *b;
	struct sg_audit_entry e;
	const char *keys[5], *values[5];
	char why[512] = "", *serial = NULL;
	BIGNUM *bn = NULL;
	cJSON *answer = NULL;
	size_t i;
	int authority_signed, r;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	if ((r = gw_stamp_batch_parse(sg_buf_str(&req->body), req->body.len, &b->in, why,
	    GW_SIGN_WHY_MAX)) != 0 || (r = digest_texts(b)) != 0) {
		gw_error_r(resp, r, "%s", why[0] != '\0' ? why : "the batch could not be read");
		gw_audit_refusal(req, resp, "stamp", b->in.identity, NULL);
		goto out;
	}
	switch (gw_admit(req, req->snap, b->in.identity, SG_USE_STAMP, NULL, &admitted, resp)) {
	case GW_ADMIT_OK:
		id = admitted;
		break;
	case GW_ADMIT_AUTH_FAILURE:
		gw_audit_refusal(req, resp, "auth_failure", b->in.identity, NULL);
		goto out;
	default:
		goto refused;
	}
	if (req->idempotency_key != NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "Idempotency-Key is taken by /v1/stamp, not by "
		    "/v1/stamp/batch");
		goto refused;
	}
	if (gw_stamp_refuses(gw, id, resp))
		goto refused;
	if ((b->bt = gw_stamp_level(req, id, resp)) < 0)
		goto refused;
	if (gw_token_refuses(gw, resp))
		goto out;
	for (i = 0; i < b->in.n; i++) {
		if ((r = gw_cms_job_init(&b->jobs[i], b->in.md, b->in.digests[i], b->in.digest_len,
		    time(NULL))) != 0) {
			gw_error_r(resp, r, "the stamp could not be prepared");
			goto refused;
		}
		b->n_init++;
		b->seal[i] = &b->jobs[i].job;
	}
	r = gw_authority_seal(id->authority, b->seal, b->in.n, req->request_id, why, sizeof(why));
	gw_metrics_authority(gw->metrics, id->cfg->authority->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	memset(&e, 0, sizeof(e));
	e.type = "stamp";
	e.identity = id->cfg->name;
	e.key_id = sgp11_key_id_hex(id->key);
	e.authority = id->cfg->authority->name;
	/* B-T: a time-stamp per CMS; one that fails fails the batch, after
	 * the service signed (authority_signed). */
	authority_signed = r == 0;
	for (i = 0; r == 0 && b->bt && i < b->in.n; i++)
		r = gw_stamp_add_timestamp(req, req->snap, id, &b->jobs[i].cms, &b->jobs[i].cms_len,
		    b->tst_serial[i], why, sizeof(why));
	if (r != 0) {
		sg_error_r(r, "batch stamp with %s: %s", id->cfg->name, why);
		if (r == SG_ERR_TOKEN_LOST) {
			/* The next request finds the key again; this one is refused. */
			gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
			(void)gw_token_recover(gw, req->snap, sgp11_last_ckr());
		}
		if (r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN)
			gw_error_r(resp, SG_ERR_TOKEN, "the interface key could not sign");
		else
			gw_error_r(resp, r == SG_ERR_TIMEOUT || r == SG_ERR_UNAVAILABLE ||
			    r == SG_ERR_INVALID_ARG ? r : SG_ERR_AUTHORITY, "%s", why);
		e.outcome = "error";
		e.error = r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN ? "token_unavailable" :
		    r == SG_ERR_TIMEOUT ? "authority_timeout" :
		    r == SG_ERR_UNAVAILABLE ? "authority_unavailable" :
		    r == SG_ERR_INVALID_ARG ? "invalid_request" : "authority_error";
		keys[0] = "detail";
		values[0] = why;
		keys[1] = "authority_signed";
		values[1] = "true";
		if (audit_each(req, b, &e, keys, values, authority_signed ? 2 : 1, 0) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if ((answer = answer_json(req, id, b)) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(b->jobs[0].stamp_cert), NULL);
	serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	e.cert_serial = serial;
	e.outcome = "ok";
	e.authority_ref = req->request_id;
	if (audit_each(req, b, &e, keys, values, 0, b->bt) != 0) {
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the stamps were discarded");
		goto out;
	}
	for (i = 0; i < b->in.n; i++)
		gw_metrics_signature(gw->metrics, id->cfg->name, "stamp");
	gw_json(resp, 200, answer);
	answer = NULL;
	goto out;
 refused:
	gw_audit_refusal(req, resp, "stamp", b->in.identity, NULL);
 out:
	for (i = 0; i < b->n_init; i++)
		gw_cms_job_clear(&b->jobs[i]);
	cJSON_Delete(answer);
	OPENSSL_free(serial);
	BN_free(bn);
	gw_stamp_batch_free(&b->in);
	free(b);
}
