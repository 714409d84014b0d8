/* SPDX-License-Identifier: Apache-2.0 */
/* The Vero / Incomes Register certificate service ("vero-certservice",
 * docs/authorities.md section 2): SignNewCertificate, RenewCertificate (signed
 * on the token with the current key) and GetCertificate as SOAP 1.1 built
 * with libxml2 exactly to schema v1.01, and their signed responses checked
 * against the service's CA. With authority_vero_answer.h (the answers)
 * the only code that knows the service's wire format; the enrolment and
 * renewal jobs (gw_jobs.c) use it. Its row in the ops table (authority.h)
 * is gw_authority_vero_ops. */
#ifndef AUTHORITY_VERO_H
#define AUTHORITY_VERO_H

#include <stddef.h>

#include <openssl/x509.h>

#include "authority_vero_answer.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_vero;

/* An adapter for authority (type vero-certservice). *vp is new.
 * SG_ERR_INVALID_ARG, SG_ERR_PARSE (no certificate in the response signer
 * CA file), SG_ERR_ALLOC. */
int gw_vero_new(const struct sg_authority *authority, struct gw_vero **vp);
void gw_vero_free(struct gw_vero *v);

/* The calls. Each returns 0 when the service answered with a response
 * whose signature verifies (res says OK or FAIL), SG_ERR_AUTHORITY when
 * it did not (transport failure, SOAP Fault, unsigned or badly signed
 * response, a response of the wrong shape; why says which),
 * SG_ERR_TIMEOUT, SG_ERR_TOKEN_LOST (renew: the token went away while
 * signing), SG_ERR_ALLOC. Release res with gw_vero_result_free whatever
 * the result. The transfer password is used for this one request only. */
int gw_vero_sign_new(struct gw_vero *v, const struct sg_identity *id, const char *transfer_id,
    const char *transfer_password, X509_REQ *csr, struct gw_vero_result *res, char *why,
    size_t whylen);
/* RenewCertificate for csr (the new key's), signed on the token with
 * current_key, whose certificate current_cert goes into KeyInfo. */
int gw_vero_renew(struct gw_vero *v, const struct sg_identity *id, X509_REQ *csr,
    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res, char *why,
    size_t whylen);
int gw_vero_get(struct gw_vero *v, const struct sg_identity *id, const char *retrieval_id,
    struct gw_vero_result *res, char *why, size_t whylen);

#endif
