/* SPDX-License-Identifier: Apache-2.0 */
/* What the parts of sealgated share: the daemon's long-lived state, the
 * reloadable configuration snapshot with its identities' keys, and the
 * request and response every route handler sees. No libmicrohttpd type
 * appears here; gw_http.c alone owns that library. */
#ifndef GW_H
#define GW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sg_audit.h"
#include "sg_buf.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_metrics;
struct gw_csc;
struct gw_soap;
struct gw_idem;
struct gw_jobs;

#define GW_REQUEST_ID_MAX 64
/* Longest path segment a route's "{}" takes (names, job ids). */
#define GW_PATH_ARG_MAX SG_CONFIG_NAME_MAX

/* One configured identity with what the token holds for it. */
struct gw_identity {
	const struct sg_identity *cfg;	/* points into the snapshot's config */
	struct sgp11_key *key;		/* NULL when the key is missing */
	X509 *cert;			/* borrowed from key, or NULL */
	char key_type[16];
	char cert_serial[80];		/* hex, or "" */
	time_t not_after;		/* 0 without a certificate */
	struct gw_csc *csc;		/* use stamp: the authority adapter, or NULL */
	struct gw_soap *soap;		/* use soap: the authority adapter, or NULL */
	/* Readiness: when a test signature last succeeded (0: never), and
	 * when one last failed, with what (so a failing token is not asked
	 * again on every call). Under ready_lock. */
	pthread_mutex_t ready_lock;
	time_t ready_at, failed_at;
	int failed_r;
};

/* The token as the daemon sees it (gw_token.c): up, or down since an
 * outage began, with one prober bringing it back. */
struct gw_token_state {
	/* Read without a lock (atomics); written under gw.reload_lock and,
	 * for down_since_ms, also under lock. */
	int64_t down_since_ms;		/* monotonic ms the outage began; 0: up */
	time_t down_since;		/* the same on the wall clock */
	const char *level;		/* the last recovery's level (static), or NULL */
	int ok;				/* and whether it worked */
	/* Under gw.reload_lock. */
	enum sgp11_recovery next_from;	/* where the next recovery starts */
	char reason[200];		/* what the outage began with */
	/* Requests refused without the token in this outage, under lock;
	 * the prober waits on wake (every GW_TOKEN_PROBE_MS while down). */
	uint64_t refused;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop;
};

/* A configuration with its identities, shared by the requests that
 * started under it; SIGHUP and token recovery publish a new one. */
struct gw_snapshot {
	int refs;			/* guarded by gw.snap_lock */
	struct sg_config *cfg;
	struct gw_identity *ids;
	size_t n_ids;
	unsigned long token_generation;
};

struct gw {
	char *config_path;
	struct sgp11_ctx *token;
	struct sg_audit *audit;
	struct gw_metrics *metrics;
	time_t started_at;
	pthread_mutex_t snap_lock;
	struct gw_snapshot *snap;	/* current; swapped under snap_lock */
	pthread_mutex_t reload_lock;	/* one reload or recovery at a time */
	struct gw_token_state tok;	/* gw_token.c */
	/* Settings fixed at start (a reload cannot change them). */
	size_t max_json_bytes;
	char *audit_dir;
	size_t max_document_bytes;
	size_t max_soap_bytes;
	struct gw_idem *idem;		/* Idempotency-Key records */
	struct gw_jobs *jobs;		/* enrolment and renewal jobs */
	struct gw_refusals *refusals;	/* coalesced unauthenticated refusals */
	/* Monotonic ms of the last failed audit write, 0 after a success. */
	int64_t audit_failed_ms;
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
	struct sg_buf body;
	/* A document body (POST /v1/stamp): hashed as it streams in, never
	 * kept; doc_md is SHA-256 over its doc_len bytes. */
	int document;
	EVP_MD_CTX *doc_md;
	uint64_t doc_len;
	const char *idempotency_key;
	const char *soap_action;	/* SOAPAction header, or NULL */
	/* Looks up a query parameter (NULL when absent). */
	const char *(*query)(const struct gw_request *req, const char *name);
	void *transport;		/* gw_http.c's connection */
	struct timespec started;
};

/* Longest Content-Type relayed from an authority. */
#define GW_CONTENT_TYPE_MAX 128

struct gw_response {
	int status;
	const char *content_type;	/* static, or content_type_buf */
	char content_type_buf[GW_CONTENT_TYPE_MAX];
	struct sg_buf body;
	const char *allow;		/* Allow header for 405, static */
	const char *retry_after;	/* Retry-After (seconds) for a 503, static */
};

/* --- gw_snapshot.c --- */
/* Load path, find every identity's key and certificate on the token and
 * return a new snapshot with one reference. err gets "$.path: why" or the
 * key that is missing. strict: a missing key is an error (start-up and
 * --check-config); otherwise the identity is kept without a key. */
int gw_snapshot_load(struct gw *gw, const char *path, int strict, struct gw_snapshot **snapp,
    char *err, size_t errlen);
struct gw_snapshot *gw_snapshot_get(struct gw *gw);	/* new reference */
void gw_snapshot_put(struct gw *gw, struct gw_snapshot *snap);
/* Publish snap as current (takes over the caller's reference). */
void gw_snapshot_publish(struct gw *gw, struct gw_snapshot *snap);
const struct gw_identity *gw_snapshot_identity(const struct gw_snapshot *snap, const char *name);
/* Whether signing with id may go ahead now: 0, or 1 with resp holding the
 * refusal (409 certificate_expired: its certificate has expired; 503
 * audit_unavailable: an audit write failed less than window_ms ago, so
 * nothing is signed until the log takes writes again). */
int gw_identity_refusal(struct gw *gw, const struct gw_identity *id, int64_t window_ms,
    struct gw_response *resp);
/* Re-read the config file and publish it (SIGHUP). The old one stays on
 * failure. reason goes to the audit entry. */
int gw_reload(struct gw *gw, const char *reason);
/* A new snapshot of from's configuration text (not the file, which may
 * have changed since) with every key found on the token again, after the
 * token recovered. SG_ERR_KEY_NOT_FOUND, with err naming it, when a key
 * from has is not there (yet). */
int gw_snapshot_rebuild(struct gw *gw, const struct gw_snapshot *from, struct gw_snapshot **snapp,
    char *err, size_t errlen);

/* --- gw_error.c: the one place an SG_ERR_* becomes an HTTP status --- */
int gw_err_status(int r, const char **codep);
/* Fill resp with {"error","error_description"}. */
void gw_error(struct gw_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gw_error_r(struct gw_response *resp, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* resp gets the JSON text of a cJSON document (consumed). */
struct cJSON;
void gw_json(struct gw_response *resp, int status, struct cJSON *doc);

/* --- gw_audit.c --- */
/* Milliseconds on the monotonic clock (for intervals only). */
int64_t gw_monotonic_ms(void);
/* Append an entry for req (request id, client filled in). 0 when durable,
 * SG_ERR_AUDIT otherwise. */
int gw_audit(struct gw_request *req, const struct sg_audit_entry *e);
/* Append an entry that belongs to no request (jobs, start, stop): the same
 * durability and fail-closed bookkeeping. 0 when durable, else the error. */
int gw_audit_append(struct gw *gw, const struct sg_audit_entry *e);
/* 1 while signing must be refused without touching the token: an audit
 * write failed less than window_ms ago and none has succeeded since. */
int gw_audit_failing(struct gw *gw, int64_t window_ms);
/* For a refused request: audit it and, if that failed, turn resp into
 * 503 audit_unavailable. */
void gw_audit_refusal(struct gw_request *req, struct gw_response *resp, const char *type,
    const char *identity, const char *digest);

/* --- gw_sign_request.c --- */
/* POST /v1/sign's body, checked: {"identity","digest":{"alg","value"},
 * "format"?}. */
struct gw_sign_request {
	char *identity;			/* new; non-empty */
	const EVP_MD *md;		/* static */
	const char *alg;		/* static: "sha256", "sha384" or "sha512" */
	unsigned char *digest;		/* new; digest_len == EVP_MD_get_size(md) */
	size_t digest_len;
	int cms;			/* "format":"cms" (absent: raw) */
};
/* Room for every description gw_sign_request_parse writes. */
#define GW_SIGN_WHY_MAX 160
/* Parse len bytes of body (need not be NUL-terminated) into *out, which
 * is cleared first. The body must be UTF-8 JSON (RFC 8259: no raw NUL,
 * nothing but whitespace after the object, and no string holding \u0000)
 * and "identity" a name as sg_config.h defines them. 0 on success.
 * SG_ERR_PARSE when the body is not a valid request: why gets the 400's
 * one-sentence description, and out->identity stays set when the body
 * named a well-formed one (the refusal is audited under it). SG_ERR_ALLOC.
 * Release *out with gw_sign_request_free whatever the result. */
int gw_sign_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen);
/* POST /v1/stamp's digest form, {"identity","digest":{"alg","value"},
 * "name"?}, under the same rules; "name" (not kept) is 1 to
 * GW_STAMP_NAME_MAX bytes without control characters; out->cms is 0. */
#define GW_STAMP_NAME_MAX 255
int gw_stamp_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen);
/* Free what sr holds (not sr itself) and clear it; NULL is fine. */
void gw_sign_request_free(struct gw_sign_request *sr);

/* --- gw_checkpoint.c --- */
struct gw_checkpointer;
/* Write a checkpoint now: signed by the configured audit identity over
 * the hash of the entry before it. SG_ERR_NOT_FOUND when no checkpoint
 * identity is configured, SG_ERR_KEY_NOT_FOUND, SG_ERR_AUDIT,
 * SG_ERR_CRYPTO (the token did not sign). */
int gw_checkpoint_write(struct gw *gw);
/* The thread writing one every N entries or T seconds (config audit.*). */
int gw_checkpoint_start(struct gw *gw, struct gw_checkpointer **cpp);
void gw_checkpoint_stop(struct gw_checkpointer *cp);

/* --- gw_route.c --- */
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

/* --- route handlers --- */
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

/* --- gw_http.c --- */
struct gw_http;
/* Start listening on the config's address and port with its thread
 * count; *portp gets the bound port. */
int gw_http_start(struct gw *gw, const struct sg_config *cfg, struct gw_http **hp,
    unsigned int *portp);
/* Stop accepting, wait (bounded) for requests in flight, stop. */
void gw_http_stop(struct gw_http *h, unsigned int drain_ms);

#endif
