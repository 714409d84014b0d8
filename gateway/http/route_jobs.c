/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/jobs/{id} (role officer): the state of an enrolment or renewal
 * job queued by route_enroll.c, as gw_jobs_describe tells it. */
#include "config.h"

#include <cjson/cJSON.h>

#include "gw.h"
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
