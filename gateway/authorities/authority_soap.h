/* SPDX-License-Identifier: Apache-2.0 */
/* The WS-Security SOAP authority adapter ("wssec-soap", docs/authorities.md
 * section 3; STIL presets): one per identity with use "soap". It signs the
 * caller's envelope on the token, posts it over mutual TLS with the same
 * key and certificate, and checks the response signature when the profile
 * asks. The authority's answer is handed back as it came. Its row in the
 * ops table (authority.h) is gw_authority_soap_ops. */
#ifndef AUTHORITY_SOAP_H
#define AUTHORITY_SOAP_H

#include <stddef.h>

#include <openssl/x509.h>

#include "authority.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_soap;

/* An adapter for authority a (type wssec-soap) with the identity's key and
 * certificate (borrowed: they must outlive it): the forwarder, the
 * response signer CA loaded once, the token in base64 for the messages.
 * SG_ERR_UNSUPPORTED when the key cannot make the profile's signature
 * (RSA algorithms need an RSA key, ECDSA ones an EC key) or the profile
 * signs more parts than one signature takes, SG_ERR_PARSE /
 * SG_ERR_IO for the CA files (why says which of these), the forwarder's
 * errors (logged), SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int gw_soap_new(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_soap **sp, char *why, size_t whylen);
void gw_soap_free(struct gw_soap *s);

/* Sign the caller's len-byte envelope and post it to the authority.
 * http_action: the caller's SOAPAction (SOAP 1.1) or Content-Type action
 * parameter (SOAP 1.2), NULL when none. operation: the operation whose URL
 * the message goes to when the authority's url has one per operation
 * (SG_WSSEC_OPERATION_MARK; required then, and refused otherwise);
 * checked with sg_wssec_operation_check before anything is signed or
 * sent. request_id is sent along as X-Request-ID. res is cleared first
 * (res->url: where the message went); release it with
 * gw_soap_result_clear whatever the result.
 * 0 when the authority answered and, where the profile asks, a 2xx answer
 * carries a valid response signature; non-2xx answers (SOAP Faults) are
 * relayed unverified. SG_ERR_PARSE: the envelope or the operation was
 * refused (why is for the caller). SG_ERR_AUTHORITY: no usable answer (transport, too large,
 * the response signature does not hold: why says which; the body is then
 * dropped). SG_ERR_TIMEOUT. SG_ERR_TOKEN_LOST: the key went away (recover
 * and call again with a fresh adapter). SG_ERR_TOKEN, SG_ERR_ALLOC. */
int gw_soap_call(struct gw_soap *s, const void *envelope, size_t len, const char *http_action,
    const char *operation, const char *request_id, struct gw_soap_result *res, char *why,
    size_t whylen);

#endif
