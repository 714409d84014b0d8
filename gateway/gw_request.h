/* SPDX-License-Identifier: Apache-2.0 */
/* A request and its response as every route handler, the admission check
 * and the audit glue see them. No libmicrohttpd type appears here;
 * http/gw_http.c alone owns that library. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "gw.h"
#include "sg_buf.h"

#define GW_CERT_NAME_MAX 256
#define GW_CERT_SERIAL_MAX 80

/* A client's certificate as one request sees it (gw_tls_client_cert). */
struct gw_client_cert {
	int presented;			/* the client sent a certificate */
	int valid;			/* and it chains to the client CA, in date, not revoked */
	char why[96];			/* when presented but not valid: why not */
	unsigned char sha256[32];	/* of the leaf's DER */
	char subject[GW_CERT_NAME_MAX];	/* RFC 4514 */
	char issuer[GW_CERT_NAME_MAX];
	char serial[GW_CERT_SERIAL_MAX];	/* hex */
};

/* A request as the routes see it. Strings are NUL-terminated and live
 * until the request is finished. */
struct gw_request {
	struct gw *gw;
	struct gw_snapshot *snap;	/* held reference */
	const char *method, *path;
	/* The path segment the route's "{}" matched ("" when none). */
	char path_arg[GW_PATH_ARG_MAX + 1];
	/* The gateway's own id, unique per request: the audit entry's
	 * request_id, the authority reference, the X-Request-Id answered. */
	char request_id[GW_REQUEST_ID_MAX + 1];
	/* The client's X-Request-Id when it sent a well-formed one (else ""):
	 * recorded beside the gateway's, never instead of it. */
	char client_request_id[GW_REQUEST_ID_MAX + 1];
	char peer[64];			/* the client's address, "" when unknown */
	const char *authorization, *content_type, *accept;
	const struct sg_client *client;	/* after authentication, else NULL */
	struct gw_client_cert cert;	/* over HTTPS with a client CA */
	struct sg_buf body;
	/* A document body (POST /v1/stamp): hashed as it streams in, never
	 * kept; doc_md is SHA-256 over its doc_len bytes. */
	int document;
	EVP_MD_CTX *doc_md;
	uint64_t doc_len;
	/* doc_keep: a format that needs the document's bytes was asked for
	 * (?format= other than cades), so they also go to doc_fd, an unlinked
	 * temporary file the transport closes. doc_lost: writing it failed. */
	int doc_keep, doc_lost;
	int doc_fd;
	const char *idempotency_key;
	const char *soap_action;	/* SOAPAction header, or NULL */
	/* Looks up a query parameter (NULL when absent). */
	const char *(*query)(const struct gw_request *req, const char *name);
	void *transport;		/* gw_http.c's connection */
	struct timespec started;
};

/* Longest Content-Type relayed from an authority. */
#define GW_CONTENT_TYPE_MAX 128
#define GW_AUTHORITY_URL_MAX 512

struct gw_response {
	int status;
	const char *content_type;	/* static, or content_type_buf */
	char content_type_buf[GW_CONTENT_TYPE_MAX];
	struct sg_buf body;
	/* With body_from_fd, the answer is instead the body_len bytes of the
	 * file body_fd from offset 0; the transport takes and closes it. */
	int body_from_fd;
	int body_fd;
	uint64_t body_len;
	const char *allow;		/* Allow header for 405, static */
	const char *cache_control;	/* static; NULL: no-store */
	const char *retry_after;	/* Retry-After (seconds) for a 503, static */
	/* X-Authority-URL: where a relayed SOAP answer came from, or NULL. */
	const char *authority_url;
	char authority_url_buf[GW_AUTHORITY_URL_MAX];
};

#endif
