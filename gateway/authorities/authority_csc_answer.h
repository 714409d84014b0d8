/* SPDX-License-Identifier: Apache-2.0 */
/* The remote seal service's answers (CSC API v2 §11.5 credentials/info,
 * §11.9 signatures/signHash, §10.1 errors), from the bytes that came back
 * to what the adapter may use. No network, no token: tests/fuzz/
 * fuzz_csc_answer links it alone. authority names the service in every
 * message. */
#ifndef AUTHORITY_CSC_ANSWER_H
#define AUTHORITY_CSC_ANSWER_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

/* At most this many certificates in credentials/info's chain. */
#define GW_CSC_CHAIN_MAX 8
/* A signHash value longer than this is no signature (RSA-16384 is 2048). */
#define GW_CSC_SIGNATURE_MAX 2048

/* The answer as a whole: 200 with a JSON object (*docp, cJSON_Delete).
 * Any other status is SG_ERR_AUTHORITY with why naming the status and the
 * service's error and error_description when it sent them (cut, and with
 * control characters replaced); so is a 200 without an object.
 * SG_ERR_ALLOC. */
int gw_csc_answer_object(const char *authority, int http_status, const void *body, size_t len,
    cJSON **docp, char *why, size_t whylen);

/* credentials/info's cert.certificates: 1 to GW_CSC_CHAIN_MAX base64 DER
 * certificates, the stamp certificate first, into *chainp (new). Else
 * SG_ERR_AUTHORITY with why; SG_ERR_ALLOC. */
int gw_csc_answer_chain(const char *authority, const cJSON *reply, STACK_OF(X509) **chainp,
    char *why, size_t whylen);

/* signatures/signHash's signatures: exactly n (one per hash sent, in
 * their order); entry index, base64 of 1 to GW_CSC_SIGNATURE_MAX bytes,
 * into *sigp (new, free) and *lenp. Else SG_ERR_AUTHORITY with why;
 * SG_ERR_ALLOC. Whether it is the right signature is the seal job's to
 * check. */
int gw_csc_answer_signature(const char *authority, const cJSON *reply, size_t index, size_t n,
    unsigned char **sigp, size_t *lenp, char *why, size_t whylen);

#endif
