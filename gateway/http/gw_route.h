/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: which handler answers a method and path, who may call
 * it, what body it takes. */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_request.h"

/* At headers time: find the route, authenticate, authorise, check the
 * media type and announced length. 1 when resp holds the answer already
 * (refusals audited), 0 to read the body and call gw_route_finish. */
int gw_route_begin(struct gw_request *req, struct gw_response *resp, uint64_t content_length,
    int has_length);
/* With the body read (or too large): run the handler; resp is filled. */
void gw_route_finish(struct gw_request *req, struct gw_response *resp, int body_too_large);
/* Body cap for the request (after gw_route_begin): 0 means "no body". */
size_t gw_route_body_cap(const struct gw_request *req);
/* Route label for metrics (from a fixed table; "other" for the rest). */
const char *gw_route_label(const char *method, const char *path);

#endif
