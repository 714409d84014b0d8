/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/soap/{authority}[?identity=][&operation=]: an internal
 * service's unsigned SOAP envelope is signed with a soap identity's key on
 * the token (WS-Security), sent to the authority over mutual TLS with the
 * same key, and the authority's answer is returned as it came: status,
 * body bytes, Content-Type, with X-Authority-URL naming where it went.
 * operation picks the URL of an authority with one per operation. Every
 * outcome is audited (type "soap", with the operation and URL) before the
 * answer. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authorities/authority.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_headers.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_soapenv.h"
#include "gw_token.h"
#include "gw_wssec_sign.h"
#include "routes.h"
#include "sg_err.h"
#include "sg_log.h"


/* The only identity the client may use for SOAP calls to a, or NULL. */
static const char *
only_soap_identity(const struct gw_request *req, const struct sg_authority *a)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i < req->snap->n_ids; i++) {
		const struct sg_identity *id = req->snap->ids[i].cfg;

		if ((id->uses & SG_USE_SOAP) && id->authority == a &&
		    sg_client_may_use(req->client, id)) {
			if (found != NULL)
				return NULL;
			found = id->name;
		}
	}
	return found;
}

/* The authority's Content-Type as it came, when it is printable and fits. */
static void
relay_content_type(struct gw_response *resp, const char *ct, enum sg_soap_version version)
{
	size_t i, len = ct != NULL ? strlen(ct) : 0;

	resp->content_type = gw_soapenv_media_type(version);
	if (len == 0 || len >= sizeof(resp->content_type_buf))
		return;
	for (i = 0; i < len; i++) {
		if (ct[i] < 0x20 || ct[i] > 0x7e)
			return;
	}
	memcpy(resp->content_type_buf, ct, len + 1);
	resp->content_type = resp->content_type_buf;
}

/* A 2xx answer is ok; any other answer (a SOAP Fault) is the authority's
 * refusal, returned to the caller as it came but not counted as done. */
static int
answered_ok(int r, const struct gw_soap_result *res)
{
	return r == 0 && res->status >= 200 && res->status < 300;
}

static const char *
authority_outcome(int r, const struct gw_soap_result *res)
{
	return answered_ok(r, res) ? "ok" : r == 0 ? "fault" : r == SG_ERR_TIMEOUT ? "timeout" :
	    "error";
}

/* The answer for a failed call, and the error code for its audit entry. */
static const char *
failure_answer(struct gw_response *resp, int r, const char *why)
{
	const char *code;

	switch (r) {
	case SG_ERR_PARSE:
		gw_error_r(resp, SG_ERR_INVALID_ARG, "%s", why);
		return "invalid_request";
	case SG_ERR_TIMEOUT:
	case SG_ERR_AUTHORITY:
		gw_error_r(resp, r, "%s", why);
		gw_err_status(r, &code);
		return code;
	case SG_ERR_TOO_LARGE:
		gw_error_r(resp, SG_ERR_TOO_LARGE, "the signed message would be too large");
		return "payload_too_large";
	case SG_ERR_TOKEN_LOST:
	case SG_ERR_TOKEN:
	case SG_ERR_CRYPTO:
		gw_error_r(resp, SG_ERR_TOKEN, "the identity's key could not sign");
		return "token_unavailable";
	default:
		gw_error_r(resp, r, "the message could not be signed and sent");
		gw_err_status(r, &code);
		return code;
	}
}

/* What a SOAP call needs of an admitted identity: its adapter (key and
 * certificate on the token) and an audit log that takes writes. */
static enum gw_admit_result
ready_to_call(const struct gw_request *req, const struct gw_identity *id,
    struct gw_response *resp)
{
	if (id->authority == NULL) {
		gw_error_r(resp, SG_ERR_TOKEN,
		    "identity %s has no key or certificate on the token", id->cfg->name);
		return GW_ADMIT_REFUSED;
	}
	if (gw_identity_refusal(req->gw, id, GW_AUDIT_REFUSE_MS, resp))
		return GW_ADMIT_REFUSED;
	return GW_ADMIT_OK;
}

void
gw_route_soap(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *fresh = NULL;
	const struct sg_authority *a;
	const struct gw_identity *id;
	const char *name, *operation, *error = NULL, *extra_keys[4], *extra_values[4];
	struct gw_soap_result res;
	struct sg_audit_entry e;
	char action[GW_WSSEC_ACTION_MAX + 1], why[GW_SOAP_WHY_MAX] = "", status_text[16];
	enum sg_soap_version version;
	size_t n_extra = 0;
	enum gw_admit_result admitted = GW_ADMIT_REFUSED;
	int r;

	memset(&res, 0, sizeof(res));
	name = req->query(req, "identity");
	operation = req->query(req, "operation");
	a = sg_config_authority(req->snap->cfg, req->path_arg);
	if (a == NULL || a->type != SG_AUTHORITY_WSSEC_SOAP) {
		gw_error_r(resp, SG_ERR_NOT_FOUND, "no SOAP authority named \"%.64s\"",
		    req->path_arg);
		goto refused;
	}
	version = a->wssec.soap_version;
	if (name == NULL && (name = only_soap_identity(req, a)) == NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "name the identity with ?identity= "
		    "(the client has more than one for %s, or none)", a->name);
		goto refused;
	}
	if ((admitted = gw_admit(req, req->snap, name, SG_USE_SOAP, a->name, &id, resp)) !=
	    GW_ADMIT_OK)
		goto refused;
	/* Content-Type must be the authority's SOAP version's (415 when it
	 * is not: the envelope is not even looked at). */
	if (gw_content_type_parse(req->content_type, gw_soapenv_media_type(version), action,
	    sizeof(action)) != 0) {
		gw_error_r(resp, SG_ERR_MEDIA_TYPE, "%s takes SOAP %s: send Content-Type "
		    "%s (charset utf-8 if any)", a->name, version == SG_SOAP_12 ? "1.2" : "1.1",
		    gw_soapenv_media_type(version));
		goto refused;
	}
	if (version == SG_SOAP_11 &&
	    gw_soap_action_value(req->soap_action, action, sizeof(action)) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "SOAPAction is longer than %d characters",
		    GW_WSSEC_ACTION_MAX);
		goto refused;
	}
	if ((admitted = ready_to_call(req, id, resp)) != GW_ADMIT_OK)
		goto refused;
	/* While the token is away: 503 at once, counted for the outage. */
	if (gw_token_refuses(gw, resp))
		goto out;
	r = gw_authority_call(id->authority, req->body.data, req->body.len, action, operation,
	    req->request_id, &res, why, sizeof(why));
	if (r == SG_ERR_TOKEN_LOST) {
		/* Nothing reached the authority: sign again with fresh keys. */
		gw_metrics_token_error(gw->metrics, sgp11_ckr_name(sgp11_last_ckr()));
		gw_soap_result_clear(&res);
		if (gw_token_recover(gw, req->snap, sgp11_last_ckr()) == 0) {
			/* The same checks again under what recovery published. */
			fresh = gw_snapshot_get(gw);
			if ((admitted = gw_admit(req, fresh, name, SG_USE_SOAP, a->name, &id, resp)) !=
			    GW_ADMIT_OK || (admitted = ready_to_call(req, id, resp)) != GW_ADMIT_OK)
				goto refused;
			r = gw_authority_call(id->authority, req->body.data, req->body.len, action,
			    operation, req->request_id, &res, why, sizeof(why));
		}
	}
	/* The operation and URL reached; an operation refused before any URL
	 * was made is in the detail instead. */
	if (operation != NULL && res.url != NULL) {
		extra_keys[n_extra] = "operation";
		extra_values[n_extra++] = operation;
	}
	if (res.url != NULL) {
		extra_keys[n_extra] = "url";
		extra_values[n_extra++] = res.url;
	}
	if (res.digest[0] != '\0')
		gw_metrics_authority(gw->metrics, a->name, authority_outcome(r, &res));
	if (r != 0) {
		if (r != SG_ERR_PARSE)
			sg_error_r(r, "SOAP call to %s with %s: %s", a->name, id->cfg->name, why);
		error = failure_answer(resp, r, why);
		extra_keys[n_extra] = "detail";
		extra_values[n_extra++] = why[0] != '\0' ? why : sg_strerror(r);
	} else if (!answered_ok(r, &res))
		error = "authority_fault";
	if (res.status != 0 &&
	    snprintf(status_text, sizeof(status_text), "%d", res.status) < (int)sizeof(status_text)) {
		extra_keys[n_extra] = "http_status";
		extra_values[n_extra++] = status_text;
	}
	memset(&e, 0, sizeof(e));
	e.type = "soap";
	e.identity = id->cfg->name;
	e.key_id = id->key != NULL ? sgp11_key_id_hex(id->key) : NULL;
	e.cert_serial = id->cert_serial[0] != '\0' ? id->cert_serial : NULL;
	e.digest = res.digest[0] != '\0' ? res.digest : NULL;
	e.authority = a->name;
	e.authority_ref = res.message_id;
	e.outcome = answered_ok(r, &res) ? "ok" : "error";
	e.error = error;
	e.extra_keys = extra_keys;
	e.extra_values = extra_values;
	e.n_extra = n_extra;
	if (gw_audit(req, &e) != 0) {
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the authority's answer was discarded");
		goto out;
	}
	/* A message signed on the token counts, whatever became of it. */
	if (res.digest[0] != '\0')
		gw_metrics_signature(gw->metrics, id->cfg->name, "soap");
	if (r != 0)
		goto out;
	sg_buf_reset(&resp->body);
	if (sg_buf_append(&resp->body, res.body.data, res.body.len) != 0) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	resp->status = res.status;
	relay_content_type(resp, res.content_type, version);
	if (res.url != NULL && strlen(res.url) < sizeof(resp->authority_url_buf)) {
		memcpy(resp->authority_url_buf, res.url, strlen(res.url) + 1);
		resp->authority_url = resp->authority_url_buf;
	}
	goto out;
 refused:
	gw_audit_refusal(req, resp, admitted == GW_ADMIT_AUTH_FAILURE ? "auth_failure" : "soap",
	    name, NULL);
 out:
	gw_soap_result_clear(&res);
	gw_snapshot_put(gw, fresh);
}
