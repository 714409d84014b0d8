/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: which method and path go to which handler, which role
 * a client needs, and how large a body may be. Authentication (bearer
 * token → client, constant-time; client certificate → client) and the
 * 401/403 answers with their audit entries live here so every route gets
 * them the same way. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_headers.h"
#include "gw_refusals.h"
#include "gw_request.h"
#include "gw_route.h"
#include "routes.h"
#include "sg_clock.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"
#include "sg_secret.h"

#define TOKEN_MAX 512

/* BODY_DOCUMENT: JSON (the digest form) is buffered like BODY_JSON; any
 * other media type is a document, hashed as it streams in. BODY_SOAP: an
 * XML envelope (text/xml or application/soap+xml) up to max_soap_bytes.
 * BODY_JSON_OPTIONAL: BODY_JSON, or nothing at all. */
enum body_kind { BODY_NONE, BODY_JSON, BODY_JSON_OPTIONAL, BODY_DOCUMENT, BODY_SOAP };

/* A path segment "{}" matches one segment of 1 to GW_PATH_ARG_MAX
 * characters, handed to the handler as req->path_arg. */
static const struct route {
	const char *method, *path;
	const char *label;		/* metrics */
	const char *audit_type;		/* refusals are audited under it */
	unsigned int role;		/* 0: no authentication */
	enum body_kind body;
	void (*handler)(struct gw_request *, struct gw_response *);
} routes[] = {
	{ "GET", "/healthz", "healthz", NULL, 0, BODY_NONE, gw_route_healthz },
	{ "GET", "/readyz", "readyz", NULL, 0, BODY_NONE, gw_route_readyz },
	{ "GET", "/v1/openapi.json", "openapi", NULL, 0, BODY_NONE, gw_route_openapi },
	{ "GET", "/console", "console", NULL, 0, BODY_NONE, gw_route_console },
	{ "GET", "/console/", "console", NULL, 0, BODY_NONE, gw_route_console },
	{ "GET", "/console/{}", "console", NULL, 0, BODY_NONE, gw_route_console },
	{ "GET", "/metrics", "metrics", NULL, SG_ROLE_MONITOR, BODY_NONE, gw_route_metrics },
	{ "GET", "/v1/identities", "identities", NULL,
	  SG_ROLE_STAMP | SG_ROLE_OFFICER | SG_ROLE_AUDITOR, BODY_NONE, gw_route_identities },
	{ "POST", "/v1/sign", "sign", "sign", SG_ROLE_STAMP, BODY_JSON, gw_route_sign },
	{ "POST", "/v1/stamp", "stamp", "stamp", SG_ROLE_STAMP, BODY_DOCUMENT, gw_route_stamp },
	{ "POST", "/v1/stamp/batch", "stamp_batch", "stamp", SG_ROLE_STAMP, BODY_JSON,
	  gw_route_stamp_batch },
	{ "POST", "/v1/timestamp", "timestamp", "timestamp", SG_ROLE_STAMP, BODY_JSON,
	  gw_route_timestamp },
	{ "POST", "/v1/soap/{}", "soap", "soap", SG_ROLE_STAMP, BODY_SOAP, gw_route_soap },
	{ "GET", "/v1/audit/entries", "audit_entries", NULL, SG_ROLE_AUDITOR | SG_ROLE_OFFICER,
	  BODY_NONE, gw_route_audit_entries },
	{ "GET", "/v1/audit/verify", "audit_verify", NULL, SG_ROLE_AUDITOR | SG_ROLE_OFFICER,
	  BODY_NONE, gw_route_audit_verify },
	{ "GET", "/v1/audit/counts", "audit_counts", NULL, SG_ROLE_AUDITOR | SG_ROLE_OFFICER,
	  BODY_NONE, gw_route_audit_counts },
	{ "POST", "/v1/identities/{}/enroll", "enroll", "enroll", SG_ROLE_OFFICER, BODY_JSON,
	  gw_route_enroll },
	{ "POST", "/v1/identities/{}/renew", "renew", "renew", SG_ROLE_OFFICER, BODY_JSON_OPTIONAL,
	  gw_route_renew },
	{ "GET", "/v1/jobs/{}", "job", NULL, SG_ROLE_OFFICER, BODY_NONE, gw_route_job },
	{ "POST", "/v1/jobs/{}/resume", "job_resume", "enroll", SG_ROLE_OFFICER, BODY_NONE,
	  gw_route_job_resume },
	{ "POST", "/v1/jobs/{}/abandon", "job_abandon", "enroll", SG_ROLE_OFFICER, BODY_NONE,
	  gw_route_job_abandon },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Whether path matches pattern; the "{}" segment's text goes to arg (at
 * most one "{}" per pattern; arg may be NULL). */
static int
path_match(const char *pattern, const char *path, char *arg)
{
	const char *hole = strstr(pattern, "{}");
	size_t head, tail, path_len = strlen(path), seg_len;

	if (hole == NULL)
		return strcmp(pattern, path) == 0;
	head = (size_t)(hole - pattern);
	tail = strlen(hole + 2);
	if (path_len < head + tail + 1 || strncmp(path, pattern, head) != 0 ||
	    strcmp(path + path_len - tail, hole + 2) != 0)
		return 0;
	seg_len = path_len - head - tail;
	if (seg_len > GW_PATH_ARG_MAX || memchr(path + head, '/', seg_len) != NULL)
		return 0;
	if (arg != NULL) {
		memcpy(arg, path + head, seg_len);
		arg[seg_len] = '\0';
	}
	return 1;
}

/* The route for method and path; when only the path is known, NULL and
 * *allow names the method that path takes. arg: as path_match. */
static const struct route *
find_arg(const char *method, const char *path, const char **allow, char *arg)
{
	size_t i;

	*allow = NULL;
	for (i = 0; i < N_ROUTES; i++) {
		if (!path_match(routes[i].path, path, arg))
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		*allow = routes[i].method;
	}
	return NULL;
}

static const struct route *
find(const char *method, const char *path, const char **allow)
{
	return find_arg(method, path, allow, NULL);
}

size_t
gw_route_body_cap(const struct gw_request *req)
{
	const char *allow;
	const struct route *rt = find(req->method, req->path, &allow);

	if (rt == NULL || rt->body == BODY_NONE)
		return 0;
	if (rt->body == BODY_SOAP)
		return req->gw->max_soap_bytes;
	return req->document ? req->gw->max_document_bytes : req->gw->max_json_bytes;
}

static int
is_json(const char *content_type)
{
	return gw_media_type_is(content_type, "application/json");
}

static int
is_xml(const char *content_type)
{
	return gw_media_type_is(content_type, "text/xml") ||
	    gw_media_type_is(content_type, "application/soap+xml");
}

const char *
gw_route_label(const char *method, const char *path)
{
	const char *allow;
	const struct route *rt = find(method, path, &allow);

	return rt != NULL ? rt->label : "other";
}

/* The client whose token is presented, or NULL. */
static const struct sg_client *
client_by_token(const struct gw_request *req)
{
	const char *h = req->authorization;
	unsigned char digest[32];
	size_t len;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	if (len == 0 || len > TOKEN_MAX)
		return NULL;
	if (EVP_Digest(h, len, digest, NULL, EVP_sha256(), NULL) != 1)
		return NULL;
	return sg_config_client_by_token(req->snap->cfg, digest);
}

/*
 * Who asks: the client of the bearer token and of the client certificate,
 * which must agree, with everything that client is known by. NULL with
 * *why (the audit entry's words) and *detail (the answer's) when nobody
 * or no consistent client is found.
 */
static const struct sg_client *
authenticate(const struct gw_request *req, const char **why, const char **detail)
{
	const struct sg_client *by_token = NULL, *by_cert = NULL, *c;
	const struct gw_client_cert *cert = &req->cert;
	int certs = req->snap->tls != NULL && req->snap->cfg->listen.tls != NULL &&
	    req->snap->cfg->listen.tls->client_ca_file != NULL;

	*detail = certs ? "a valid bearer token or client certificate is required" :
	    "a valid bearer token is required";
	if (cert->presented && !cert->valid) {
		*why = "bad client certificate";
		*detail = "the client certificate is not accepted";
		return NULL;
	}
	if (req->authorization != NULL && (by_token = client_by_token(req)) == NULL) {
		*why = "unknown token";
		return NULL;
	}
	if (cert->valid)
		by_cert = sg_config_client_by_cert(req->snap->cfg, cert->sha256, cert->subject,
		    cert->issuer);
	if (by_token == NULL && by_cert == NULL) {
		*why = cert->valid ? "unknown client certificate" : "no token";
		return NULL;
	}
	if (by_token != NULL && by_cert != NULL && by_token != by_cert) {
		*why = "token and certificate of different clients";
		*detail = "the bearer token and the client certificate belong to different clients";
		return NULL;
	}
	c = by_token != NULL ? by_token : by_cert;
	if ((c->has_token && by_token == NULL) || (sg_client_has_cert(c) && by_cert == NULL)) {
		*why = by_token == NULL ? "token missing" : "certificate missing";
		*detail = "this client must present both its client certificate and its bearer token";
		return NULL;
	}
	return c;
}

static void
auth_failure(struct gw_request *req, struct gw_response *resp, const char *why)
{
	struct sg_audit_entry e;
	const char *keys[] = { "detail", "peer" };
	const char *values[2];
	char detail[240], kind[128];

	/* A bad certificate's kind of refusal says what is wrong with it. */
	if (req->cert.presented && !req->cert.valid)
		sg_msg(kind, sizeof(kind), "%s: %s", why, req->cert.why);
	else
		(void)sg_strfit(kind, sizeof(kind), why);
	/* Nobody to hold to account: the first of each second per peer is
	 * written, the rest counted into one entry (gw_refusals.h). */
	if (resp->status == 401 &&
	    !gw_refusals_admit(req->gw, req->peer, kind, sg_monotonic_ms()))
		return;
	sg_msg(detail, sizeof(detail), "%s %s: %s", req->method, req->path, kind);
	values[0] = detail;
	values[1] = req->peer;
	memset(&e, 0, sizeof(e));
	e.type = "auth_failure";
	e.outcome = "error";
	e.error = resp->status == 401 ? "unauthorized" : "forbidden";
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = 2;
	if (gw_audit(req, &e) != 0)
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the request was refused");
}

int
gw_route_begin(struct gw_request *req, struct gw_response *resp, uint64_t content_length,
    int has_length)
{
	const char *allow, *why = NULL, *detail = NULL;
	const struct route *rt = find_arg(req->method, req->path, &allow, req->path_arg);
	int r;

	if (rt == NULL) {
		if (allow != NULL) {
			resp->allow = allow;
			gw_error_r(resp, SG_ERR_METHOD_NOT_ALLOWED, "use %s for %s", allow, req->path);
		} else
			gw_error_r(resp, SG_ERR_NOT_FOUND, "no such endpoint");
		return 1;
	}
	/* An open route (/readyz) still learns who asks, when someone says:
	 * it may show more to some roles. A token or certificate it does not
	 * know is no refusal there. */
	if (rt->role == 0 && (req->authorization != NULL || req->cert.presented))
		req->client = authenticate(req, &why, &detail);
	if (rt->role != 0) {
		if ((req->client = authenticate(req, &why, &detail)) == NULL) {
			if (req->cert.presented && !req->cert.valid)
				gw_error_r(resp, SG_ERR_UNAUTHORIZED, "%s: %s", detail, req->cert.why);
			else
				gw_error_r(resp, SG_ERR_UNAUTHORIZED, "%s", detail);
			auth_failure(req, resp, why);
			return 1;
		}
		if ((req->client->roles & rt->role) == 0) {
			gw_error_r(resp, SG_ERR_FORBIDDEN, "client %s may not use %s", req->client->name,
			    req->path);
			auth_failure(req, resp, "role not granted");
			return 1;
		}
	}
	if (rt->body == BODY_NONE) {
		if (has_length && content_length > 0) {
			gw_error_r(resp, SG_ERR_INVALID_ARG, "%s %s takes no body", req->method,
			    req->path);
			return 1;
		}
		return 0;
	}
	if (rt->body == BODY_DOCUMENT && !is_json(req->content_type)) {
		/* A document: any media type but JSON, hashed while it streams. */
		req->document = 1;
		if (has_length && content_length > req->gw->max_document_bytes) {
			gw_error_r(resp, SG_ERR_TOO_LARGE, "documents are limited to %zu bytes",
			    req->gw->max_document_bytes);
			goto refused;
		}
		if ((req->doc_md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(req->doc_md, EVP_sha256(), NULL) != 1) {
			gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
			return 1;
		}
		/* A container or an updated document is made of the bytes
		 * themselves: they go to a temporary file, never to memory. */
		if (gw_route_stamp_keeps_document(req) && (r = sg_file_tmp(&req->doc_fd)) != 0) {
			sg_error_r(r, "temporary file in %s", sg_file_tmp_dir());
			gw_error_r(resp, SG_ERR_INTERNAL, "the document cannot be kept");
			return 1;
		}
		return 0;
	}
	if (rt->body == BODY_SOAP) {
		if (!is_xml(req->content_type)) {
			gw_error_r(resp, SG_ERR_MEDIA_TYPE,
			    "send a SOAP envelope as text/xml or application/soap+xml");
			goto refused;
		}
		if (has_length && content_length > req->gw->max_soap_bytes) {
			gw_error_r(resp, SG_ERR_TOO_LARGE, "SOAP bodies are limited to %zu bytes",
			    req->gw->max_soap_bytes);
			goto refused;
		}
		return 0;
	}
	if (rt->body == BODY_JSON_OPTIONAL && req->content_type == NULL &&
	    (!has_length || content_length == 0))
		return 0;	/* no body; one sent chunked is still parsed as JSON */
	if (!is_json(req->content_type)) {
		gw_error_r(resp, SG_ERR_MEDIA_TYPE, "send Content-Type: application/json");
		goto refused;
	}
	if (has_length && content_length > req->gw->max_json_bytes) {
		gw_error_r(resp, SG_ERR_TOO_LARGE, "JSON bodies are limited to %zu bytes",
		    req->gw->max_json_bytes);
		goto refused;
	}
	return 0;
 refused:
	if (rt->audit_type != NULL)
		gw_audit_refusal(req, resp, rt->audit_type, NULL, NULL);
	return 1;
}

void
gw_route_finish(struct gw_request *req, struct gw_response *resp, int body_too_large)
{
	const char *allow;
	const struct route *rt = find(req->method, req->path, &allow);

	if (body_too_large) {
		gw_error_r(resp, SG_ERR_TOO_LARGE, "the body is larger than %zu bytes",
		    gw_route_body_cap(req));
		if (rt->audit_type != NULL)
			gw_audit_refusal(req, resp, rt->audit_type, NULL, NULL);
		return;
	}
	rt->handler(req, resp);
}
