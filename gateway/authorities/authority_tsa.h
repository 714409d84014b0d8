/* SPDX-License-Identifier: Apache-2.0 */
/* The RFC 3161 time-stamp authority adapter ("rfc3161"): one per such
 * authority in the configuration, opened by the snapshot without any
 * identity (no key, no client certificate: time-stamp services admit
 * requests by source address). A request (gw_tsp) goes out through
 * gw_forward with the service's CA pinned; the answer is checked against
 * the authority's tsa_ca_file before anything of it is handed back. Its
 * row in the ops table (authority.h) is gw_authority_tsa_ops. */
#ifndef AUTHORITY_TSA_H
#define AUTHORITY_TSA_H

#include <stddef.h>

#include <openssl/evp.h>

#include "gw_tsp.h"
#include "sg_config.h"

struct gw_tsa;

/* An adapter for authority a (type rfc3161, borrowed: it must outlive the
 * adapter): the forwarder and tsa_ca_file loaded once. *tp is new
 * (gw_tsa_free). SG_ERR_IO / SG_ERR_PARSE when tsa_ca_file cannot be read
 * or holds no certificate (why says so), the forwarder's errors,
 * SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int gw_tsa_new(const struct sg_authority *a, struct gw_tsa **tp, char *why, size_t whylen);
void gw_tsa_free(struct gw_tsa *t);	/* accepts NULL */

/*
 * A time-stamp token over digest (len bytes of md) from the authority:
 * a TimeStampReq with a fresh nonce, certReq and the configured policy,
 * posted as application/timestamp-query, and the answer checked by
 * gw_tsp_answer_check. request_id goes to the log lines. Thread-safe. On
 * success *tokp is new (gw_tsp_token_free); on failure it is NULL and why
 * says what went wrong. SG_ERR_INVALID_ARG (digest length, NULL),
 * SG_ERR_UNSUPPORTED (md), SG_ERR_TIMEOUT (no answer in timeout_ms),
 * SG_ERR_AUTHORITY (transport failure, an HTTP status other than 200, an
 * answer that fails a check: never a token then), SG_ERR_ALLOC.
 */
int gw_tsa_timestamp(struct gw_tsa *t, const EVP_MD *md, const unsigned char *digest, size_t len,
    const char *request_id, struct gw_tsp_token **tokp, char *why, size_t whylen);

#endif
