/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/stamp?format=asice: the file (a raw body named by ?filename=)
 * or files (multipart/form-data, one part per file) the client sends are
 * sealed into an ASiC-E container with a XAdES signature by the identity's
 * remote seal service, time-stamped (B-T) when the identity names a
 * timestamp_authority. The body was kept in a temporary file as it came
 * (gw_route.c); the container is written to another and answered from
 * it, so memory stays bounded by neither. One audit entry per outcome. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "authorities/authority.h"
#include "documents/gw_asic.h"
#include "documents/gw_tsp.h"
#include "documents/gw_xades.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_multipart.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

#define DEFAULT_MEDIA_TYPE	"application/octet-stream"

struct asic_request {
	const char *identity;
	int timestamped;			/* level B-T */
	struct gw_multipart_file files[GW_MULTIPART_FILES_MAX];
	size_t n_files;
	struct gw_xades_object objects[GW_MULTIPART_FILES_MAX];
	struct gw_asic_object entries[GW_MULTIPART_FILES_MAX];
	char media_type[GW_MULTIPART_MEDIA_TYPE_MAX + 1];
	char signed_digest[80];			/* "sha256:<hex>" of the SignedInfo */
	char documents[32];			/* how many, for the audit entry */
};

/* The one file of a raw body: named by ?filename=, typed by Content-Type. */
static int
raw_body_file(struct gw_request *req, struct gw_response *resp, struct asic_request *ar)
{
	const char *name = req->query(req, "filename");
	unsigned int len = 0;
	char why[128];

	if (name == NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "name the file with ?filename= (or send "
		    "multipart/form-data with a filename per part)");
		return SG_ERR_INVALID_ARG;
	}
	if (gw_asic_name_check(name, why, sizeof(why)) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "?filename=: %s", why);
		return SG_ERR_INVALID_ARG;
	}
	if (sg_strfit(ar->files[0].name, sizeof(ar->files[0].name), name) != 0 ||
	    gw_multipart_media_type(req->content_type, ar->media_type, sizeof(ar->media_type)) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "Content-Type is no media type");
		return SG_ERR_INVALID_ARG;
	}
	if (req->doc_len == 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "the file is empty");
		return SG_ERR_INVALID_ARG;
	}
	if (EVP_DigestFinal_ex(req->doc_md, ar->files[0].sha256, &len) != 1 || len != 32) {
		gw_error_r(resp, SG_ERR_INTERNAL, "the document digest could not be computed");
		return SG_ERR_CRYPTO;
	}
	if (sg_strfit(ar->files[0].media_type, sizeof(ar->files[0].media_type),
	    ar->media_type[0] != '\0' ? ar->media_type : DEFAULT_MEDIA_TYPE) != 0)
		return SG_ERR_INTERNAL;
	ar->files[0].offset = 0;
	ar->files[0].length = (long long)req->doc_len;
	ar->n_files = 1;
	return 0;
}

/* The request's files, the identity and the level, or resp's refusal. */
static int
parse_request(struct gw_request *req, struct gw_response *resp, struct asic_request *ar)
{
	char why[256];
	size_t i;
	int r;

	if ((ar->identity = gw_stamp_identity_name(req, resp)) == NULL)
		return SG_ERR_INVALID_ARG;
	if (!req->document || req->doc_fd < 0) {
		gw_error_r(resp, SG_ERR_MEDIA_TYPE, "format=asice takes the file itself as the body "
		    "(with ?filename=), or multipart/form-data, not JSON");
		return SG_ERR_MEDIA_TYPE;
	}
	if (gw_multipart_is(req->content_type)) {
		r = gw_multipart_files(req->doc_fd, req->content_type, ar->files,
		    GW_MULTIPART_FILES_MAX, &ar->n_files, why, sizeof(why));
		if (r != 0) {
			gw_error_r(resp, r == SG_ERR_IO ? SG_ERR_INTERNAL : r, "%s", why);
			return r;
		}
	} else if ((r = raw_body_file(req, resp, ar)) != 0) {
		return r;
	}
	for (i = 0; i < ar->n_files; i++) {
		ar->objects[i].name = ar->files[i].name;
		ar->objects[i].media_type = ar->files[i].media_type;
		memcpy(ar->objects[i].sha256, ar->files[i].sha256, 32);
		ar->entries[i].name = ar->files[i].name;
		ar->entries[i].media_type = ar->files[i].media_type;
		ar->entries[i].fd = req->doc_fd;
		ar->entries[i].offset = ar->files[i].offset;
		ar->entries[i].length = ar->files[i].length;
	}
	if (snprintf(ar->documents, sizeof(ar->documents), "%zu", ar->n_files) >=
	    (int)sizeof(ar->documents))
		return SG_ERR_INTERNAL;
	return 0;
}

/* ?level= against what the identity is configured for: never lowered. */
static int
check_level(struct gw_request *req, struct gw_response *resp, const struct gw_identity *id,
    struct asic_request *ar)
{
	const char *level = req->query(req, "level");

	ar->timestamped = id->cfg->timestamp_authority != NULL;
	if (level == NULL)
		return 0;
	if (strcmp(level, "b-b") != 0 && strcmp(level, "b-t") != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "?level= is b-b or b-t");
		return SG_ERR_INVALID_ARG;
	}
	if (ar->timestamped && strcmp(level, "b-b") == 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "identity %s time-stamps every stamp (b-t); "
		    "b-b is not offered", id->cfg->name);
		return SG_ERR_INVALID_ARG;
	}
	if (!ar->timestamped && strcmp(level, "b-t") == 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "identity %s has no timestamp_authority; "
		    "b-t is not offered", id->cfg->name);
		return SG_ERR_INVALID_ARG;
	}
	return 0;
}

static int
set_signed_digest(struct asic_request *ar, const struct gw_xades_job *j)
{
	char *hex = NULL;
	int r;

	if ((r = sg_hex_encode(j->tbs, j->tbs_len, &hex)) != 0)
		return r;
	r = snprintf(ar->signed_digest, sizeof(ar->signed_digest), "sha256:%s", hex) >=
	    (int)sizeof(ar->signed_digest) ? SG_ERR_INTERNAL : 0;
	free(hex);
	return r;
}

/* Whether id has its adapter (an interface key and certificate). */
static int
has_authority(struct gw_response *resp, const struct gw_identity *id)
{
	if (id->authority != NULL)
		return 1;
	gw_error_r(resp, SG_ERR_TOKEN, "identity %s has no interface key or certificate",
	    id->cfg->name);
	return 0;
}

/* B-T: the identity's time-stamp authority over the SignatureValue. */
static int
time_stamp(struct gw_request *req, const struct gw_identity *id, struct gw_xades_job *job,
    struct gw_tsp_token **tokp, char *why, size_t whylen)
{
	const struct gw_tsa_slot *tsa;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int r;

	if ((tsa = gw_snapshot_tsa(req->snap, id->cfg->timestamp_authority->name)) == NULL) {
		return sg_why(SG_ERR_AUTHORITY, why, whylen, "time-stamp authority %s is not open",
		    id->cfg->timestamp_authority->name);
	}
	if ((r = gw_xades_signature_value_digest(job, EVP_sha256(), digest, &len)) != 0)
		return r;
	r = gw_authority_timestamp(tsa->authority, EVP_sha256(), digest, len, req->request_id,
	    tokp, why, whylen);
	gw_metrics_authority(req->gw->metrics, tsa->cfg->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	if (r != 0)
		return r == SG_ERR_TIMEOUT || r == SG_ERR_ALLOC ? r : SG_ERR_AUTHORITY;
	return gw_xades_add_timestamp(job, (*tokp)->der, (*tokp)->der_len);
}

/* The XAdES document into a container, answered from its file. */
static int
answer_container(struct gw_response *resp, struct asic_request *ar,
    const struct gw_xades_job *job)
{
	struct sg_buf xml;
	size_t len = 0;
	int fd = -1, r;

	sg_buf_init(&xml, (size_t)16 * 1024 * 1024);
	if ((r = gw_xades_serialise(job, &xml)) != 0)
		goto out;
	if ((r = gw_asic_write(sg_file_tmp_dir(), ar->entries, ar->n_files, xml.data, xml.len,
	    job->signing_time, &fd, &len)) != 0)
		goto out;
	sg_buf_reset(&resp->body);
	resp->body_fd = fd;
	resp->body_fd_len = len;
	resp->status = 200;
	resp->content_type = GW_ASIC_MEDIA_TYPE;
	r = 0;
out:
	sg_buf_free(&xml);
	return r;
}

void
gw_route_stamp_asic(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *fresh = NULL;
	const struct gw_identity *admitted;
	struct gw_identity *id;
	struct asic_request *ar = NULL;
	struct gw_xades_job job;
	struct gw_tsp_token *tok = NULL;
	struct sg_audit_entry e;
	const char *extra_keys[5], *extra_values[5];
	char why[512] = "";
	int authority_signed;
	BIGNUM *bn = NULL;
	char *serial = NULL;
	int r;

	memset(&job, 0, sizeof(job));
	if ((ar = calloc(1, sizeof(*ar))) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	if (parse_request(req, resp, ar) != 0) {
		gw_audit_refusal(req, resp, "stamp", ar->identity, NULL);
		goto out;
	}
	switch (gw_admit(req, req->snap, ar->identity, SG_USE_STAMP, NULL, &admitted, resp)) {
	case GW_ADMIT_OK:
		id = (struct gw_identity *)admitted;
		break;
	case GW_ADMIT_AUTH_FAILURE:
		gw_audit_refusal(req, resp, "auth_failure", ar->identity, NULL);
		goto out;
	default:
		goto refused;
	}
	if (req->idempotency_key != NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "Idempotency-Key is not offered with format=asice "
		    "(a container is answered, not kept)");
		goto refused;
	}
	if (check_level(req, resp, id, ar) != 0 || !has_authority(resp, id))
		goto refused;
	if (gw_audit_failing(gw, GW_AUDIT_REFUSE_MS)) {
		gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto refused;
	}
	if (gw_token_refuses(gw, resp))
		goto out;
	if ((r = gw_xades_job_init(&job, ar->objects, ar->n_files, time(NULL))) != 0) {
		gw_error_r(resp, r, "the signature could not be prepared");
		goto refused;
	}
	r = gw_stamp_seal(req, resp, &id, &fresh, &job.job, why, sizeof(why));
	if (id == NULL)
		goto refused;
	memset(&e, 0, sizeof(e));
	e.type = "stamp";
	e.identity = id->cfg->name;
	e.key_id = sgp11_key_id_hex(id->key);
	e.authority = id->cfg->authority->name;
	extra_keys[0] = "format";
	extra_values[0] = "asice";
	extra_keys[1] = "level";
	extra_values[1] = ar->timestamped ? "b-t" : "b-b";
	extra_keys[2] = "documents";
	extra_values[2] = ar->documents;
	e.extra_keys = extra_keys;
	e.extra_values = extra_values;
	e.n_extra = 3;
	gw_metrics_authority(gw->metrics, id->cfg->authority->name, r == 0 ? "ok" :
	    r == SG_ERR_TIMEOUT ? "timeout" : "error");
	if (r == 0 && job.tbs_len > 0 && (r = set_signed_digest(ar, &job)) == 0)
		e.digest = ar->signed_digest;
	/* The seal service has signed (and counted) from here on: an error
	 * entry says so, for the reconciliation of its counts. */
	authority_signed = r == 0;
	if (r == 0 && ar->timestamped) {
		if ((r = time_stamp(req, id, &job, &tok, why, sizeof(why))) != 0)
			sg_error_r(r, "time-stamp for a stamp of %s: %s", id->cfg->name, why);
		if (r != 0)
			e.authority = id->cfg->timestamp_authority->name;
	} else if (r != 0) {
		sg_error_r(r, "stamp with %s: %s", id->cfg->name, why);
	}
	if (r != 0) {
		if (r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN)
			gw_error_r(resp, SG_ERR_TOKEN, "the interface key could not sign");
		else if (r == SG_ERR_TIMEOUT || r == SG_ERR_AUTHORITY || r == SG_ERR_UNAVAILABLE)
			gw_error_r(resp, r, "%s", why);
		else if (r == SG_ERR_CRYPTO || why[0] != '\0')
			gw_error_r(resp, SG_ERR_AUTHORITY, "%s", why[0] != '\0' ? why :
			    "the seal service's signature does not verify");
		else
			gw_error_r(resp, SG_ERR_INTERNAL, "the container could not be made");
		e.outcome = "error";
		e.error = r == SG_ERR_TOKEN_LOST || r == SG_ERR_TOKEN ? "token_unavailable" :
		    r == SG_ERR_TIMEOUT ? "authority_timeout" :
		    r == SG_ERR_UNAVAILABLE ? "authority_unavailable" : "authority_error";
		extra_keys[e.n_extra] = "detail";
		extra_values[e.n_extra++] = why;
		if (authority_signed) {
			extra_keys[e.n_extra] = "authority_signed";
			extra_values[e.n_extra++] = "true";
		}
		if (gw_audit(req, &e) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if ((r = answer_container(resp, ar, &job)) != 0) {
		sg_error_r(r, "the container for a stamp of %s", id->cfg->name);
		gw_error_r(resp, SG_ERR_INTERNAL, "the container could not be made");
		e.outcome = "error";
		e.error = "internal";
		extra_keys[e.n_extra] = "authority_signed";
		extra_values[e.n_extra++] = "true";
		if (gw_audit(req, &e) != 0)
			gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		goto out;
	}
	if (tok != NULL) {
		extra_keys[e.n_extra] = "tst_serial";
		extra_values[e.n_extra++] = tok->serial;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(job.stamp_cert), NULL);
	serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	e.cert_serial = serial;
	e.outcome = "ok";
	e.authority_ref = req->request_id;
	if (gw_audit(req, &e) != 0) {
		close(resp->body_fd);
		resp->body_fd = -1;
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the stamp was discarded");
		goto out;
	}
	gw_metrics_signature(gw->metrics, id->cfg->name, "stamp");
	goto out;
 refused:
	gw_audit_refusal(req, resp, "stamp", ar->identity, NULL);
 out:
	OPENSSL_free(serial);
	BN_free(bn);
	gw_tsp_token_free(tok);
	gw_xades_job_clear(&job);
	gw_snapshot_put(gw, fresh);
	free(ar);
}
