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
#include "sg_config.h"
#include "sgp11.h"

struct gw_csc;

/* An adapter for authority a (type csc-v2) and the identity's interface
 * key and certificate (borrowed: they must outlive it). SG_ERR_* */
int gw_csc_new(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_csc **cp);
void gw_csc_free(struct gw_csc *c);

/* Stamp a document digest (md over the document; its length must fit):
 * credentials/info (cached, refreshed daily or after a failure), a
 * SignedData prepared with the stamp certificate chain, signatures/signHash
 * over the hash of its signed attributes, the returned value put in and
 * checked against the stamp certificate. request_id is sent along.
 * Errors: SG_ERR_AUTHORITY (why gets the authority's error code and
 * description, or the transport's), SG_ERR_TIMEOUT, SG_ERR_TOKEN_LOST
 * (the interface key could not sign), SG_ERR_INVALID_ARG. */
int gw_csc_stamp(struct gw_csc *c, const EVP_MD *md, const unsigned char *digest, size_t len,
    const char *request_id, struct gw_stamp_result *res, char *why, size_t whylen);

#endif
