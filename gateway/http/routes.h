/* SPDX-License-Identifier: Apache-2.0 */
/* The route handlers, one file per group of routes: route_health.c,
 * route_info.c, route_sign.c, route_stamp.c, route_soap.c, route_audit.c,
 * route_identity.c. Each fills resp; gw_route.c calls them. */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include "gw_request.h"

void gw_route_healthz(struct gw_request *req, struct gw_response *resp);
void gw_route_readyz(struct gw_request *req, struct gw_response *resp);
void gw_route_metrics(struct gw_request *req, struct gw_response *resp);
void gw_route_identities(struct gw_request *req, struct gw_response *resp);
void gw_route_sign(struct gw_request *req, struct gw_response *resp);
void gw_route_stamp(struct gw_request *req, struct gw_response *resp);
void gw_route_soap(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_entries(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_verify(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_counts(struct gw_request *req, struct gw_response *resp);
void gw_route_enroll(struct gw_request *req, struct gw_response *resp);
void gw_route_renew(struct gw_request *req, struct gw_response *resp);
void gw_route_job(struct gw_request *req, struct gw_response *resp);

#endif
