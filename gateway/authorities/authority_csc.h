/* SPDX-License-Identifier: Apache-2.0 */
/* The remote seal service adapter (CSC API v2 subset, docs/authorities.md §1):
 * with authority_csc_answer.h (the answers) the only code that knows
 * that protocol. One per identity with use "stamp": it talks to the
 * authority over mutual TLS with the identity's interface key on the
 * token. Its row in the ops table (authority.h) is gw_authority_csc_ops. */
#ifndef AUTHORITY_CSC_H
#define AUTHORITY_CSC_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "authority.h"
#include "gw_seal.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_csc;

/* An adapter for authority a (type csc-v2) and the identity's interface
 * key and certificate (borrowed: they must outlive it). SG_ERR_* */
int gw_csc_new(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_csc **cp);
void gw_csc_free(struct gw_csc *c);

/* Whether the service can stamp now: info and credentials/info (at most
 * max_age_s old, else fetched afresh) name the methods, TLS, an enabled
 * key, a valid certificate, an auth/mode the gateway can meet and a
 * signAlgo for SHA-256. 0, or SG_ERR_UNAVAILABLE / SG_ERR_AUTHORITY /
 * SG_ERR_TIMEOUT with why. */
int gw_csc_ready(struct gw_csc *c, unsigned int max_age_s, char *why, size_t whylen);

/* Seal n jobs (documents/gw_seal.h, 1 to GW_SEAL_JOBS_MAX, one md):
 * credentials/info (cached, refreshed daily or after a failure) for the
 * stamp certificate chain, each job prepared with it, ONE
 * signatures/signHash over all their hashes, each job finished with its
 * value (a value that does not verify is the authority's fault).
 * request_id is sent along.
 * Errors: SG_ERR_AUTHORITY (why gets the authority's error code and
 * description, or the transport's), SG_ERR_TIMEOUT, SG_ERR_TOKEN_LOST
 * (the interface key could not sign), SG_ERR_UNAVAILABLE (the facts
 * gw_csc_ready checks forbid it), SG_ERR_INVALID_ARG, and a job's own
 * prepare error. */
int gw_csc_seal(struct gw_csc *c, struct gw_seal_job **jobs, size_t n, const char *request_id,
    char *why, size_t whylen);

#endif
