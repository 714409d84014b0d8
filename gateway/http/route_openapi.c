/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/openapi.json: the OpenAPI 3.1 description of this API, the
 * bytes of docs/openapi.json compiled into the daemon. Open, like
 * /healthz: it tells nothing a published document does not. */
#include "config.h"

#include "gw_error.h"
#include "gw_request.h"
#include "openapi_doc.h"
#include "routes.h"
#include "sg_buf.h"
#include "sg_err.h"

void
gw_route_openapi(struct gw_request *req, struct gw_response *resp)
{
	(void)req;
	sg_buf_reset(&resp->body);
	if (sg_buf_append(&resp->body, gw_openapi_doc, gw_openapi_doc_len) != 0) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	/* The document changes only with the binary. */
	resp->cache_control = "public, max-age=3600";
}
