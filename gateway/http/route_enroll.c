/* SPDX-License-Identifier: Apache-2.0 */
/* The identity lifecycle endpoints (role officer): POST
 * /v1/identities/{name}/enroll and /renew queue a job (gw_jobs.h) and
 * answer 202 with its id (route_jobs.c shows it). Refusals are audited
 * under the endpoint's type; the transfer password is never logged nor
 * stored. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_jobs.h"
#include "gw_request.h"
#include "routes.h"
#include "sg_err.h"
#include "sg_secret.h"

/* Schema v1.01: TransferId String32, TransferPassword String16. */
#define TRANSFER_ID_MAX		32
#define TRANSFER_PASSWORD_MAX	16

/* A string member of 1..max characters without control characters
 * (xs:normalizedString), or NULL. */
static const char *
short_text(const cJSON *o, const char *name, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t len, i;

	if (!cJSON_IsString(v) || (len = strlen(v->valuestring)) == 0 || len > max)
		return NULL;
	for (i = 0; i < len; i++) {
		if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
			return NULL;
	}
	return v->valuestring;
}

/* Members other than the allowed ones make the body invalid. */
static int
only_members(const cJSON *o, const char *const *allowed, size_t n)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, o) {
		for (i = 0; i < n && strcmp(m->string, allowed[i]) != 0; i++)
			;
		if (i == n)
			return 0;
	}
	return 1;
}

static void
queued(struct gw_request *req, struct gw_response *resp, const char *type, int r,
    const char *job, const char *why)
{
	cJSON *doc;

	if (r == 0) {
		if ((doc = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(doc, "job", job) == NULL) {
			cJSON_Delete(doc);
			gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
			return;
		}
		gw_json(resp, 202, doc);
		return;
	}
	gw_error_r(resp, r, "%s", why);
	gw_audit_refusal(req, resp, type, req->path_arg, NULL);
}

void
gw_route_enroll(struct gw_request *req, struct gw_response *resp)
{
	static const char *const members[] = { "transfer_id", "transfer_password" };
	cJSON *body = cJSON_ParseWithLength((const char *)req->body.data, req->body.len);
	const char *tid, *pw;
	char job[GW_JOB_ID_LEN + 1] = "", why[200] = "";
	int r;

	if (!cJSON_IsObject(body) || !only_members(body, members, 2) ||
	    (tid = short_text(body, "transfer_id", TRANSFER_ID_MAX)) == NULL ||
	    (pw = short_text(body, "transfer_password", TRANSFER_PASSWORD_MAX)) == NULL) {
		gw_error_r(resp, SG_ERR_INVALID_ARG, "send {\"transfer_id\" (1-%d characters), "
		    "\"transfer_password\" (1-%d)} and nothing else", TRANSFER_ID_MAX,
		    TRANSFER_PASSWORD_MAX);
		gw_audit_refusal(req, resp, "enroll", req->path_arg, NULL);
		goto out;
	}
	r = gw_jobs_enroll(req->gw->jobs, req->path_arg, tid, pw, req->client->name, req->request_id,
	    job, why, sizeof(why));
	queued(req, resp, "enroll", r, job, why);
out:
	/* The password leaves memory with the request. */
	if (body != NULL && (pw = short_text(body, "transfer_password", SIZE_MAX)) != NULL)
		sg_memzero((void *)pw, strlen(pw));
	sg_memzero(req->body.data, req->body.len);
	cJSON_Delete(body);
}

void
gw_route_renew(struct gw_request *req, struct gw_response *resp)
{
	static const char *const members[] = { "force" };
	cJSON *body = NULL;
	char job[GW_JOB_ID_LEN + 1] = "", why[200] = "";
	int r;

	if (req->body.len > 0) {
		body = cJSON_ParseWithLength((const char *)req->body.data, req->body.len);
		if (!cJSON_IsObject(body) || !only_members(body, members, 1) ||
		    (cJSON_GetObjectItemCaseSensitive(body, "force") != NULL &&
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(body, "force")))) {
			gw_error_r(resp, SG_ERR_INVALID_ARG, "send no body or {\"force\": true|false}");
			gw_audit_refusal(req, resp, "renew", req->path_arg, NULL);
			goto out;
		}
	}
	/* "force" cannot open the window: the Vero service refuses renewals
	 * earlier than 60 days before expiry, so it is accepted and ignored. */
	r = gw_jobs_renew(req->gw->jobs, req->path_arg, req->client->name, req->request_id, job, why,
	    sizeof(why));
	queued(req, resp, "renew", r, job, why);
out:
	cJSON_Delete(body);
}
