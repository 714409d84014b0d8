/* SPDX-License-Identifier: Apache-2.0 */
/* The authority adapters behind one ops table (the shape of curl's vtls/):
 * each authority type is one file, authority_<type>.c, that fills one
 * struct gw_authority_ops; authority.c holds the table and opens the
 * adapter a configured authority's type names. Callers (the snapshot, the
 * routes) see struct gw_authority and the gw_authority_* functions, never
 * a backend. Adding a type: its settings in common/sg_config_authority.c,
 * its file here, one row in authority.c's table. */
#ifndef AUTHORITY_H
#define AUTHORITY_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_seal_job;
struct gw_tsp_token;
struct gw_vero_result;

/* What a SOAP call (use "soap") hands back. */
struct gw_soap_result {
	int status;			/* the authority's HTTP status; 0: no answer */
	struct sg_buf body;		/* its body, unchanged (empty when refused) */
	char *content_type;		/* its Content-Type (new), or NULL */
	/* "sha256:<hex>" of the bytes sent; "" when nothing was signed. */
	char digest[80];
	char *message_id;		/* new: the wsa:MessageID sent, or NULL */
	int verified;			/* 1: the response signature was checked and holds */
	char *url;			/* new: the URL the message went to, or NULL */
};

/* One authority type. The entry points a type does not offer are NULL;
 * the contracts of the others are those of the gw_authority_* functions
 * below, with the backend's state in place of the adapter. */
struct gw_authority_ops {
	enum sg_authority_type type;
	const char *name;		/* the configuration's name of the type */
	/* The SG_USE_* an identity names this type as its authority for
	 * (the snapshot opens one adapter per such identity); 0: no identity
	 * names it so: an issuer, opened by the enrolment and renewal jobs,
	 * or a time-stamp authority, which the snapshot opens once per
	 * authority. */
	unsigned int use;
	/* Logged when such an identity has no certificate: no adapter then. */
	const char *without_cert;
	/* State for authority a with the identity's key and certificate
	 * (borrowed: they must outlive it; types that need none take NULL).
	 * *statep is new. why gets a description for the operator, or "". */
	int (*open)(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
	    X509 *cert, void **statep, char *why, size_t whylen);
	void (*close)(void *state);		/* accepts NULL */
	/* use "stamp" */
	int (*seal)(void *state, struct gw_seal_job **jobs, size_t n, const char *request_id,
	    char *why, size_t whylen);
	/* use "stamp": whether the service can stamp now, from facts at most
	 * max_age_s old (fetched afresh otherwise); 0, or why says what stops it. */
	int (*ready)(void *state, unsigned int max_age_s, char *why, size_t whylen);
	/* use "soap" */
	int (*call)(void *state, const void *envelope, size_t len, const char *http_action,
	    const char *operation, const char *request_id, struct gw_soap_result *res, char *why,
	    size_t whylen);
	/* type rfc3161: POST /v1/timestamp */
	int (*timestamp)(void *state, const EVP_MD *md, const unsigned char *digest, size_t len,
	    const char *request_id, struct gw_tsp_token **tokp, char *why, size_t whylen);
	/* an issuer's certificate operations */
	int (*sign_new)(void *state, const struct sg_identity *id, const char *transfer_id,
	    const char *transfer_password, X509_REQ *csr, struct gw_vero_result *res, char *why,
	    size_t whylen);
	int (*renew)(void *state, const struct sg_identity *id, X509_REQ *csr,
	    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res,
	    char *why, size_t whylen);
	int (*get)(void *state, const struct sg_identity *id, const char *retrieval_id,
	    struct gw_vero_result *res, char *why, size_t whylen);
};

/* The rows, one per file (authority_csc.c, authority_soap.c, authority_vero.c,
 * authority_tsa.c). */
extern const struct gw_authority_ops gw_authority_csc_ops;
extern const struct gw_authority_ops gw_authority_tsa_ops;
extern const struct gw_authority_ops gw_authority_soap_ops;
extern const struct gw_authority_ops gw_authority_vero_ops;

/* An open adapter: its type's row and the backend's state. */
struct gw_authority {
	const struct gw_authority_ops *ops;
	void *state;
};

/* The row for type (get0), or NULL when no backend implements it. */
const struct gw_authority_ops *gw_authority_ops_find(enum sg_authority_type type);

/* Open an adapter for authority a through its type's row; key and cert
 * are borrowed and must outlive it. *authp is new (gw_authority_close).
 * why is set to "" first and gets the backend's description when it has
 * one. SG_ERR_UNSUPPORTED (no backend for the type), SG_ERR_INVALID_ARG,
 * SG_ERR_ALLOC, and the backend's errors (authority_<type>.h). */
int gw_authority_open(const struct sg_authority *a, struct sgp11_ctx *token,
    struct sgp11_key *key, X509 *cert, struct gw_authority **authp, char *why, size_t whylen);
void gw_authority_close(struct gw_authority *auth);	/* accepts NULL */

/* The entry points: SG_ERR_UNSUPPORTED when the adapter's type does not
 * offer it, else the backend's result (authority_csc.h gw_csc_seal,
 * authority_soap.h gw_soap_call, authority_tsa.h gw_tsa_timestamp,
 * authority_vero.h gw_vero_*). */
/* Seal: n jobs (documents/gw_seal.h; 1 to GW_SEAL_JOBS_MAX, all with
 * the same md) signed by the seal service in one call, each prepared
 * with the stamp certificate and finished with its signature value. */
int gw_authority_seal(struct gw_authority *auth, struct gw_seal_job **jobs, size_t n,
    const char *request_id, char *why, size_t whylen);
/* Whether the authority can serve now (readiness): 0, SG_ERR_UNSUPPORTED
 * when the type has nothing to check, else the backend's error with why. */
int gw_authority_ready(struct gw_authority *auth, unsigned int max_age_s, char *why,
    size_t whylen);
int gw_authority_call(struct gw_authority *auth, const void *envelope, size_t len,
    const char *http_action, const char *operation, const char *request_id,
    struct gw_soap_result *res, char *why, size_t whylen);
int gw_authority_timestamp(struct gw_authority *auth, const EVP_MD *md,
    const unsigned char *digest, size_t len, const char *request_id, struct gw_tsp_token **tokp,
    char *why, size_t whylen);
int gw_authority_sign_new(struct gw_authority *auth, const struct sg_identity *id,
    const char *transfer_id, const char *transfer_password, X509_REQ *csr,
    struct gw_vero_result *res, char *why, size_t whylen);
int gw_authority_renew(struct gw_authority *auth, const struct sg_identity *id, X509_REQ *csr,
    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res, char *why,
    size_t whylen);
int gw_authority_get(struct gw_authority *auth, const struct sg_identity *id,
    const char *retrieval_id, struct gw_vero_result *res, char *why, size_t whylen);

/* Release what a result holds (every member may be empty); the struct
 * can be used again. */
void gw_soap_result_clear(struct gw_soap_result *res);

#endif
