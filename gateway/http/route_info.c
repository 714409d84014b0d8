/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics: the Prometheus text (role monitor), with the gauges read
 * at the time of the request (token, audit log, certificate expiry). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_err.h"

void
gw_route_metrics(struct gw_request *req, struct gw_response *resp)
{
	struct gw_snapshot *snap = req->snap;
	struct gw_metrics_gauges g;
	struct gw_metrics_cert_expiry *expiry = NULL;
	struct sg_audit_stats st;
	time_t now = time(NULL);
	size_t i, n = 0;

	memset(&g, 0, sizeof(g));
	sg_audit_stats(req->gw->audit, &st);
	g.audit_entries = st.entries;
	g.audit_syncs = st.syncs;
	g.audit_sync_ns = st.sync_ns_total;
	g.audit_announced = st.announced;
	g.last_good_signature = sgp11_last_good_signature(req->gw->token);
	g.token_available = gw_token_up(req->gw);
	g.token_refused = gw_token_refused(req->gw);
	if ((expiry = calloc(snap->n_ids + 1, sizeof(*expiry))) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	for (i = 0; i < snap->n_ids; i++) {
		if (snap->ids[i].cert == NULL)
			continue;
		expiry[n].identity = snap->ids[i].cfg->name;
		expiry[n].seconds = (int64_t)(snap->ids[i].not_after - now);
		n++;
	}
	g.cert_expiry = expiry;
	g.n_cert_expiry = n;
	sg_buf_reset(&resp->body);
	if (gw_metrics_render(req->gw->metrics, &g, &resp->body) != 0)
		gw_error_r(resp, SG_ERR_INTERNAL, "metrics could not be rendered");
	else {
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	}
	free(expiry);
}
