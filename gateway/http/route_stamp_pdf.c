/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/stamp?format=pades: the PDF body, kept in an unlinked
 * temporary file while it streams in, is sealed as PAdES (gw_pades) by
 * the identity's remote seal service and answered as the same file with
 * the incremental update appended. The request owns the file until the
 * answer takes it. Every outcome is audited before the answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>

#include "authorities/authority.h"
#include "documents/gw_pades.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_headers.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_stamp_level.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

static int
digest_text(const struct gw_pades *p, char *out, size_t outlen)
{
	char *hex = NULL;
	int r;

	if ((r = sg_hex_encode(p->digest, p->digest_len, &hex)) != 0)
		return r;
	r = snprintf(out, outlen, "sha256:%s", hex) >= (int)outlen ? SG_ERR_INTERNAL : 0;
	free(hex);
	return r;
}

void
gw_route_stamp_pdf(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *fresh = NULL;
	const struct gw_identity *admitted;
	struct gw_identity *id = NULL;
	struct gw_pades p;
	struct sg_audit_entry e;
	const char *name = NULL, *extra_keys[4], *extra_values[4];
	int authority_signed = 0;
	char why[512] = "", digest[160] = "", *serial = NULL, tst_serial[GW_TST_SERIAL_MAX] = "";
	BIGNUM *bn = NULL;
	int bt, r;

	memset(&p, 0, sizeof(p));
	if (req->doc_fd < 0 || !gw_media_type_is(req->content_type, "application/pdf")) {
		gw_error_r(resp, SG_ERR_MEDIA_TYPE,
		    "format=pades takes the PDF itself as the body, as application/pdf");
		goto refused;
	}
	if ((name = gw_stamp_identity_name(req, resp)) == NULL)
		goto refused;
	switch (gw_admit(req, req->snap, name, SG_USE_STAMP, NULL, &admitted, resp)) {
	case GW_ADMIT_OK:
		id = (struct gw_identity *)admitted;
		break;
	case GW_ADMIT_AUTH_FAILURE:
		gw_audit_refusal(req, resp, "auth_failure", name, NULL);
		goto out;
	default:
		goto refused;
	}
	/* A repeat would have to keep whole PDFs; the digest form has it. */
	if (req->idempotency_key != NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "Idempotency-Key is not taken with format=pades");
		goto refused;
	}
	if (id->authority == NULL) {
		gw_error_r(resp, SG_ERR_TOKEN, "identity %s has no interface key or certificate",
		    id->cfg->name);
		goto refused;
	}
	if ((bt = gw_stamp_level(req, id, resp)) < 0)
		goto refused;
	if (gw_audit_failing(gw, GW_AUDIT_REFUSE_MS)) {
		gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto refused;
	}
	if ((r = gw_pades_begin(&p, req->doc_fd, req->doc_len, time(NULL), why, sizeof(why))) != 0) {
		gw_error_r(resp, r == SG_ERR_PARSE || r == SG_ERR_TOO_LARGE ? r : SG_ERR_INTERNAL,
		    "%s", why);
		goto refused;
	}
	if ((r = digest_text(&p, digest, sizeof(digest))) != 0) {
		gw_error_r(resp, r, "the stamp could not be prepared");
		goto refused;
	}
	if (gw_token_refuses(gw, resp))
		goto out;
	memset(&e, 0, sizeof(e));
	e.type = "stamp";
	e.digest = digest;
	extra_keys[0] = "format";
	extra_values[0] = "pades";
	extra_keys[1] = "level";
	extra_values[1] = bt ? "b-t" : "b-b";
	e.extra_keys = extra_keys;
	e.extra_values = extra_values;
	e.n_extra = 2;
	r = gw_stamp_seal(req, resp, &id, &fresh, &p.cms.job, why, sizeof(why));
	if (id == NULL)
		goto refused;
	e.identity = id->cfg->name;
	e.key_id = sgp11_key_id_hex(id->key);
	e.authority = id->cfg->authority->name;
	gw_metrics_authority(gw->metrics, id->cfg->authority->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	/* B-T: a time-stamp authority that fails fails the stamp (502/504).
	 * A failure from here on follows a signature the service made and
	 * counted: the error entry says so (authority_signed). */
	authority_signed = r == 0;
	if (r == 0 && bt)
		r = gw_stamp_add_timestamp(req, fresh != NULL ? fresh : req->snap, id, &p.cms.cms,
		    &p.cms.cms_len, tst_serial, why, sizeof(why));
	if (r == 0 && (r = gw_pades_embed(&p, p.cms.cms, p.cms.cms_len)) != 0)
		sg_msg(why, sizeof(why), "the signature could not be put into the PDF: %s",
		    sg_strerror(r));
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
		extra_keys[2] = "detail";
		extra_values[2] = why;
		e.n_extra = 3;
		if (authority_signed) {
			extra_keys[e.n_extra] = "authority_signed";
			extra_values[e.n_extra++] = "true";
		}
		if (gw_audit(req, &e) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(p.cms.stamp_cert), NULL)) != NULL)
		serial = BN_bn2hex(bn);
	e.cert_serial = serial;
	if (bt) {
		extra_keys[e.n_extra] = "tst_serial";
		extra_values[e.n_extra++] = tst_serial;
	}
	e.outcome = "ok";
	e.authority_ref = req->request_id;
	if (gw_audit(req, &e) != 0) {
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the stamp was discarded");
		goto out;
	}
	gw_metrics_signature(gw->metrics, id->cfg->name, "stamp");
	sg_buf_reset(&resp->body);
	resp->status = 200;
	resp->content_type = "application/pdf";
	resp->body_fd = req->doc_fd;
	resp->body_fd_len = p.total_size;
	req->doc_fd = -1;
	goto out;
 refused:
	gw_audit_refusal(req, resp, "stamp", name, digest[0] != '\0' ? digest : NULL);
 out:
	OPENSSL_free(serial);
	BN_free(bn);
	gw_pades_clear(&p);
	gw_snapshot_put(gw, fresh);
}
