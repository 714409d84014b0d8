/* SPDX-License-Identifier: Apache-2.0 */
/* Checking an authority's WS-Security signed SOAP response: the signer is
 * the BinarySecurityToken its KeyInfo points to, that certificate must
 * chain to the authority's response CA, the signature (verified by
 * gw_xmlverify, xmlsec) must cover the Envelope's own Body and the
 * Security header's Timestamp, and the Timestamp must be fresh. */
#ifndef GW_WSSEC_VERIFY_H
#define GW_WSSEC_VERIFY_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "sg_config.h"

/* How far a response's wsu:Created may be ahead of the gateway's clock. */
#define GW_WSSEC_FUTURE_SKEW_S	300

/* Check len bytes of a response of SOAP version: one wsse:Security header
 * holding one ds:Signature and one wsu:Timestamp; KeyInfo a
 * SecurityTokenReference to a BinarySecurityToken (X509v3) in that header;
 * the certificate valid at now and chaining to an anchor of signer_ca
 * (borrowed); the signature valid (SHA-1 only when allow_sha1), its
 * References covering the Body and the Timestamp; Expires after now and
 * Created at most GW_WSSEC_FUTURE_SKEW_S after now.
 * 0 when all hold. SG_ERR_CRYPTO otherwise, with why naming the first that
 * does not; SG_ERR_ALLOC. */
int gw_wssec_verify(const void *data, size_t len, enum sg_soap_version version,
    X509_STORE *signer_ca, int allow_sha1, time_t now, char *why, size_t whylen);

#endif
