/* SPDX-License-Identifier: Apache-2.0 */
/* The auditor's endpoints (role auditor): GET /v1/audit/entries (filters,
 * paging), /v1/audit/verify (chain and checkpoint signatures, checked with
 * the audit identity's public key from the token), /v1/audit/counts
 * (per month). They read the log files; the writer is not involved. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "routes.h"
#include "sg_audit_read.h"
#include "sg_err.h"

static int
open_log(struct gw_request *req, struct gw_response *resp, struct sg_audit_files **filesp)
{
	int r;

	if ((r = sg_audit_files_dir(req->gw->audit_dir, filesp)) != 0) {
		gw_error_r(resp, r == SG_ERR_ALLOC ? r : SG_ERR_INTERNAL, "the audit log cannot be read");
		return r;
	}
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return SG_ERR_PARSE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return SG_ERR_PARSE;
	*out = v;
	return 0;
}

void
gw_route_audit_entries(struct gw_request *req, struct gw_response *resp)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_filter f;
	const char *v;
	cJSON *entries = NULL, *doc;
	uint64_t next = 0, limit = 0;
	int r;

	sg_audit_filter_init(&f);
	if ((v = req->query(req, "from")) != NULL && sg_audit_parse_time(v, &f.from_ms) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"from\" is an RFC 3339 time");
		return;
	}
	if ((v = req->query(req, "to")) != NULL && sg_audit_parse_time(v, &f.to_ms) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"to\" is an RFC 3339 time");
		return;
	}
	if ((v = req->query(req, "after_seq")) != NULL && parse_u64(v, &f.after_seq) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"after_seq\" is a sequence number");
		return;
	}
	if ((v = req->query(req, "limit")) != NULL && (parse_u64(v, &limit) != 0 || limit == 0 ||
	    limit > SG_AUDIT_QUERY_LIMIT_MAX)) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"limit\" is 1 to %u", SG_AUDIT_QUERY_LIMIT_MAX);
		return;
	}
	if ((v = req->query(req, "outcome")) != NULL && strcmp(v, "ok") != 0 && strcmp(v, "error") != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"outcome\" is ok or error");
		return;
	}
	f.outcome = v;
	f.client = req->query(req, "client");
	f.identity = req->query(req, "identity");
	f.type = req->query(req, "type");
	if (open_log(req, resp, &files) != 0)
		return;
	if ((r = sg_audit_query(files, &f, (unsigned int)limit, &entries, &next)) != 0) {
		gw_error_r(resp, r == SG_ERR_INVALID_ARG ? r : SG_ERR_INTERNAL,
		    "the audit log could not be queried");
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "entries", entries);
	entries = NULL;
	if (next != 0)
		cJSON_AddNumberToObject(doc, "next_after_seq", (double)next);
	else
		cJSON_AddNullToObject(doc, "next_after_seq");
	gw_json(resp, 200, doc);
 out:
	cJSON_Delete(entries);
	sg_audit_files_free(files);
}

void
gw_route_audit_verify(struct gw_request *req, struct gw_response *resp)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_verify_opts opts;
	struct sg_audit_verify_result res;
	struct sg_audit_seal seal;
	struct timeval tv;
	const char *v;
	int accept;
	const struct sg_identity *cid = req->snap->cfg->audit.checkpoint_identity;
	const struct gw_identity *id = cid != NULL ? gw_snapshot_identity(req->snap, cid->name) : NULL;
	cJSON *doc;
	int r;

	memset(&opts, 0, sizeof(opts));
	/* Signatures are checked with the key the token holds for the audit
	 * identity, and the serial of its certificate when it has one. */
	if (id != NULL && id->key != NULL) {
		opts.checkpoint_key = sgp11_key_get0_public(id->key);
		opts.checkpoint_serial = id->cert_serial[0] != '\0' ? id->cert_serial : NULL;
	}
	if (open_log(req, resp, &files) != 0)
		return;
	if ((r = sg_audit_verify(files, &opts, &res)) != 0 && r != SG_ERR_NOT_FOUND) {
		gw_error_r(resp, SG_ERR_INTERNAL, "the audit log could not be read");
		goto out;
	}
	if (r == SG_ERR_NOT_FOUND) {
		memset(&res, 0, sizeof(res));
		res.ok = 1;
	}
	/* Intact is not enough: the log must be sealed by the audit key up
	 * to what the checkpoint interval allows (?accept_unsealed=1 to pass
	 * an intact chain anyway, as sealgate-audit --accept-unsealed). */
	gettimeofday(&tv, NULL);
	sg_audit_seal_judge(&res, opts.checkpoint_key != NULL,
	    req->snap->cfg->audit.checkpoint_every_seconds + SG_AUDIT_SEAL_SLACK_S,
	    (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, &seal);
	accept = (v = req->query(req, "accept_unsealed")) != NULL && strcmp(v, "1") == 0;
	if ((doc = sg_audit_verify_json(&res, files, &seal, accept)) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	gw_json(resp, 200, doc);
 out:
	sg_audit_files_free(files);
}

void
gw_route_audit_counts(struct gw_request *req, struct gw_response *resp)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_counts *counts = NULL;
	enum sg_audit_group by = SG_AUDIT_BY_IDENTITY_CLIENT;
	const char *month = req->query(req, "month"), *v;
	cJSON *doc;
	int year, mon, r;

	if (month == NULL || sg_audit_parse_month(month, &year, &mon) != 0) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "\"month\" is YYYY-MM");
		return;
	}
	if ((v = req->query(req, "by")) != NULL) {
		if (strcmp(v, "identity") == 0)
			by = SG_AUDIT_BY_IDENTITY;
		else if (strcmp(v, "client") == 0)
			by = SG_AUDIT_BY_CLIENT;
		else {
			gw_error_r(resp, SG_ERR_INVALID_ARG, "\"by\" is identity or client");
			return;
		}
	}
	if (open_log(req, resp, &files) != 0)
		return;
	if ((r = sg_audit_counts(files, year, mon, by, &counts)) != 0) {
		gw_error_r(resp, SG_ERR_INTERNAL, "the audit log could not be counted");
		goto out;
	}
	if ((doc = sg_audit_counts_json(counts, by)) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	gw_json(resp, 200, doc);
 out:
	sg_audit_counts_free(counts);
	sg_audit_files_free(files);
}
