/* SPDX-License-Identifier: Apache-2.0 */
/* The route handlers, one file per group of routes (the route table in
 * gw_route.c names them): route_health.c (/healthz, /readyz),
 * route_info.c (/metrics), route_openapi.c (/v1/openapi.json), route_console.c
 * (/console/, the auditor's console), route_identities.c (GET /v1/identities),
 * route_sign.c, route_stamp.c (and route_stamp_pdf.c: ?format=pades,
 * route_stamp_asic.c: ?format=asice), route_timestamp.c, route_soap.c, route_audit.c
 * (/v1/audit/...), route_enroll.c (enroll, renew), route_jobs.c
 * (/v1/jobs/{id}, /v1/jobs/{id}/resume, /v1/jobs/{id}/abandon). Each fills resp, refusals through gw_error_r. */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <cjson/cJSON.h>
#include <openssl/x509.h>

#include "gw_request.h"

void gw_route_healthz(struct gw_request *req, struct gw_response *resp);
void gw_route_readyz(struct gw_request *req, struct gw_response *resp);
void gw_route_metrics(struct gw_request *req, struct gw_response *resp);
void gw_route_openapi(struct gw_request *req, struct gw_response *resp);
void gw_route_console(struct gw_request *req, struct gw_response *resp);
void gw_route_identities(struct gw_request *req, struct gw_response *resp);
void gw_route_sign(struct gw_request *req, struct gw_response *resp);
void gw_route_stamp(struct gw_request *req, struct gw_response *resp);
struct gw_identity;
/* route_stamp.c: the identity a stamp request names by ?identity=, or
 * else the only one its client may stamp with; NULL with resp holding
 * the 400 (a bad name, or none given and not exactly one to choose).
 * get0 from req. */
const char *gw_stamp_identity_name(struct gw_request *req, struct gw_response *resp);
/* route_stamp.c: whether the body is a document a ?format= needs the
 * bytes of, kept in a temporary file (gw_route.c asks at headers time). */
int gw_route_stamp_keeps_document(const struct gw_request *req);
/* POST /v1/stamp?format=pades (route_stamp_pdf.c) and ?format=asice
 * (route_stamp_asic.c), which gw_route_stamp hands over. */
void gw_route_stamp_pdf(struct gw_request *req, struct gw_response *resp);
void gw_route_stamp_asic(struct gw_request *req, struct gw_response *resp);
void gw_route_stamp_batch(struct gw_request *req, struct gw_response *resp);
/* route_stamp.c: the seal service signs job for *idp; when the token went
 * away on the way (the interface key signs the request), recovery is
 * tried once and the identity admitted again under what it published
 * (*freshp, the caller's to put; *idp). The gw_authority_seal result, or
 * 1 with *idp NULL and resp holding the refusal of that admission. */
struct gw_seal_job;
struct gw_snapshot;
int gw_stamp_seal(struct gw_request *req, struct gw_response *resp, struct gw_identity **idp,
    struct gw_snapshot **freshp, struct gw_seal_job *job, char *why, size_t whylen);
/* 1 with resp filled when id cannot stamp now (no adapter: no interface
 * key or certificate; the audit log failing), else 0. */
struct gw;
int gw_stamp_refuses(struct gw *gw, const struct gw_identity *id, struct gw_response *resp);
/* A stamp answer's last members: stamp_certificate, authority_reference
 * (the request id, which CSC's clientData carried) and stamped_at (now). */
void gw_stamp_answer_end(cJSON *doc, X509 *stamp_cert, const char *request_id);
void gw_route_timestamp(struct gw_request *req, struct gw_response *resp);
void gw_route_soap(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_entries(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_verify(struct gw_request *req, struct gw_response *resp);
void gw_route_audit_counts(struct gw_request *req, struct gw_response *resp);
void gw_route_enroll(struct gw_request *req, struct gw_response *resp);
void gw_route_renew(struct gw_request *req, struct gw_response *resp);
void gw_route_job(struct gw_request *req, struct gw_response *resp);
void gw_route_job_resume(struct gw_request *req, struct gw_response *resp);
void gw_route_job_abandon(struct gw_request *req, struct gw_response *resp);

#endif
