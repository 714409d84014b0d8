/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/timestamp: an RFC 3161 time-stamp token over a digest the
 * client computed, from the rfc3161 authority the body names. Only a
 * token that passed every check of gw_tsp reaches the client; every
 * outcome is audited (type "timestamp") before the answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "authorities/authority.h"
#include "documents/gw_tsp.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_sign_request.h"
#include "gw_snapshot.h"
#include "routes.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

/* "sha256:<hex>" of the digest, for the audit entry. */
static int
digest_text(const struct gw_sign_request *p, char *out, size_t outlen)
{
	char *hex = NULL;
	int r;

	if ((r = sg_hex_encode(p->digest, p->digest_len, &hex)) != 0)
		return r;
	r = snprintf(out, outlen, "%s:%s", p->alg, hex) >= (int)outlen ? SG_ERR_INTERNAL : 0;
	free(hex);
	return r;
}

/* The 200 answer's JSON (new, cJSON_free), or NULL when out of memory. */
static char *
answer_json(const struct gw_request *req, const char *authority, const struct gw_tsp_token *tok,
    const char *gen_time)
{
	cJSON *doc;
	char *b64 = NULL, *json = NULL;

	if ((doc = cJSON_CreateObject()) == NULL ||
	    sg_b64_encode(tok->der, tok->der_len, SG_B64_STD, &b64) != 0)
		goto out;
	if (cJSON_AddStringToObject(doc, "request_id", req->request_id) != NULL &&
	    cJSON_AddStringToObject(doc, "authority", authority) != NULL &&
	    cJSON_AddStringToObject(doc, "token", b64) != NULL &&
	    cJSON_AddStringToObject(doc, "serial", tok->serial) != NULL &&
	    cJSON_AddStringToObject(doc, "gen_time", gen_time) != NULL)
		json = cJSON_PrintUnformatted(doc);
 out:
	free(b64);
	cJSON_Delete(doc);
	return json;
}

void
gw_route_timestamp(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	const struct gw_tsa_slot *tsa;
	struct gw_sign_request p;
	struct gw_tsp_token *tok = NULL;
	struct sg_audit_entry e;
	const char *extra_keys[2], *extra_values[2];
	char why[512] = "", digest[160] = "", gen_time[32] = "", *json = NULL;
	struct tm tm;
	int r;

	r = gw_timestamp_request_parse(sg_buf_str(&req->body), req->body.len, &p, why, sizeof(why));
	if (r != 0) {
		gw_error_r(resp, r, "%s", why);
		goto refused;
	}
	if ((r = digest_text(&p, digest, sizeof(digest))) != 0) {
		gw_error_r(resp, r, "the digest could not be recorded");
		goto refused;
	}
	if ((tsa = gw_snapshot_tsa(req->snap, p.authority)) == NULL) {
		gw_error_r(resp, SG_ERR_NOT_FOUND, "no time-stamp authority \"%s\"", p.authority);
		goto refused;
	}
	if (gw_audit_failing(gw, GW_AUDIT_REFUSE_MS)) {
		gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto refused;
	}
	memset(&e, 0, sizeof(e));
	e.type = "timestamp";
	e.digest = digest;
	e.authority = tsa->cfg->name;
	r = gw_authority_timestamp(tsa->authority, p.md, p.digest, p.digest_len, req->request_id,
	    &tok, why, sizeof(why));
	gw_metrics_authority(gw->metrics, tsa->cfg->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	if (r != 0) {
		sg_error_r(r, "time-stamp from %s: %s", tsa->cfg->name, why);
		r = r == SG_ERR_TIMEOUT || r == SG_ERR_ALLOC ? r : SG_ERR_AUTHORITY;
		gw_error_r(resp, r, "%s", why);
		e.outcome = "error";
		e.error = r == SG_ERR_TIMEOUT ? "authority_timeout" : r == SG_ERR_ALLOC ? "internal" :
		    "authority_error";
		extra_keys[0] = "detail";
		extra_values[0] = why;
		e.extra_keys = extra_keys;
		e.extra_values = extra_values;
		e.n_extra = 1;
		if (gw_audit(req, &e) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if (gmtime_r(&tok->gen_time, &tm) == NULL ||
	    strftime(gen_time, sizeof(gen_time), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    (json = answer_json(req, tsa->cfg->name, tok, gen_time)) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	extra_keys[0] = "tst_serial";
	extra_values[0] = tok->serial;
	extra_keys[1] = "gen_time";
	extra_values[1] = gen_time;
	e.extra_keys = extra_keys;
	e.extra_values = extra_values;
	e.n_extra = 2;
	e.outcome = "ok";
	if (gw_audit(req, &e) != 0) {
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the time-stamp was discarded");
		goto out;
	}
	sg_buf_reset(&resp->body);
	if (sg_buf_append(&resp->body, json, strlen(json)) != 0 ||
	    sg_buf_append(&resp->body, "\n", 1) != 0) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	goto out;
 refused:
	gw_audit_refusal(req, resp, "timestamp", NULL, digest[0] != '\0' ? digest : NULL);
 out:
	gw_tsp_token_free(tok);
	gw_sign_request_free(&p);
	cJSON_free(json);
}
