/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/jobs/{id} (role officer): the state of an enrolment or renewal
 * job queued by route_enroll.c, as gw_jobs_describe tells it. POST
 * /v1/jobs/{id}/resume (role officer, no body): an enrolment whose
 * certificate waits to be collected polls again (gw_jobs_resume); 202
 * {"job","state"}, 404, 409, 503. POST /v1/jobs/{id}/abandon (role
 * officer, no body): such a job is given up (gw_jobs_abandon); 200
 * {"job","state":"failed"}, 404, 409, 503. Refusals are audited under
 * "enroll". */
#include "config.h"

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_jobs.h"
#include "gw_request.h"
#include "routes.h"
#include "sg_err.h"

void
gw_route_job(struct gw_request *req, struct gw_response *resp)
{
	cJSON *doc = gw_jobs_describe(req->gw->jobs, req->path_arg);

	if (doc == NULL) {
		gw_error_r(resp, SG_ERR_NOT_FOUND, "no such job");
		return;
	}
	gw_json(resp, 200, doc);
}

/* resume or abandon: the job's new state, or the refusal, audited. */
static void
settle(struct gw_request *req, struct gw_response *resp, int status,
    int (*act)(struct gw_jobs *, const char *, const char *, const char *, char *, size_t, char *,
    size_t))
{
	char why[200] = "", state[20] = "";
	cJSON *doc;
	int r;

	r = act(req->gw->jobs, req->path_arg, req->client->name, req->request_id, state,
	    sizeof(state), why, sizeof(why));
	if (r != 0) {
		gw_error_r(resp, r, "%s", why);
		gw_audit_refusal(req, resp, "enroll", NULL, NULL);
		return;
	}
	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "job", req->path_arg) == NULL ||
	    cJSON_AddStringToObject(doc, "state", state) == NULL) {
		cJSON_Delete(doc);
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	gw_json(resp, status, doc);
}

void
gw_route_job_resume(struct gw_request *req, struct gw_response *resp)
{
	settle(req, resp, 202, gw_jobs_resume);
}

void
gw_route_job_abandon(struct gw_request *req, struct gw_response *resp)
{
	settle(req, resp, 200, gw_jobs_abandon);
}
