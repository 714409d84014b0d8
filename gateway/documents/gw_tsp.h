/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3161 time-stamp protocol: the TimeStampReq sealgate sends (a digest
 * the caller computed, a random 64-bit nonce, certReq true, an optional
 * policy) and the check of the TimeStampResp that came back, before any of
 * it is used. OpenSSL's TS API does the work. No network: the bytes travel
 * through gw_forward, and tests/fuzz/fuzz_tsp_answer links this alone. */
#ifndef GW_TSP_H
#define GW_TSP_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

/* A TimeStampReq made by gw_tsp_request_new. */
struct gw_tsp_request;

/* The checked token of a granted answer (gw_tsp_answer_check). */
struct gw_tsp_token {
	unsigned char *der;	/* the TimeStampToken (ContentInfo), DER */
	size_t der_len;
	unsigned char *reply;	/* the whole TimeStampResp as it came, DER */
	size_t reply_len;
	char serial[2 * 20 + 1]; /* TSTInfo serialNumber, lower-case hex */
	time_t gen_time;	/* TSTInfo genTime (UTC, whole seconds) */
};

/*
 * A TimeStampReq (version 1) over digest (digest_len bytes of md, taken as
 * given: SHA-256, -384 or -512), certReq true, a fresh random nonce
 * (64 bits, positive) and reqPolicy policy_oid when it is not NULL (a
 * dotted OID). md and digest are borrowed. *reqp is new
 * (gw_tsp_request_free). Errors: SG_ERR_INVALID_ARG (length is not md's
 * size, policy_oid is no OID, NULL argument), SG_ERR_UNSUPPORTED (md),
 * SG_ERR_CRYPTO (no randomness), SG_ERR_ALLOC.
 */
int gw_tsp_request_new(const EVP_MD *md, const unsigned char *digest, size_t digest_len,
    const char *policy_oid, struct gw_tsp_request **reqp);

/* The request's DER, what goes to the TSA (application/timestamp-query).
 * get0: valid while req lives. */
const unsigned char *gw_tsp_request_der(const struct gw_tsp_request *req, size_t *len);

void gw_tsp_request_free(struct gw_tsp_request *req);

/*
 * Check the TimeStampResp resp (resp_len bytes, borrowed) against req:
 * status granted (or grantedWithMods), a TimeStampToken whose signature
 * verifies, whose signer certificate (included, as certReq asked) chains
 * to tsa_store and carries extendedKeyUsage id-kp-timeStamping marked
 * critical (RFC 3161 section 2.3), whose ESS signing-certificate(-v2)
 * names that certificate, whose messageImprint and nonce are the
 * request's, and, when req named a policy, whose policy is that one
 * (TS_RESP_verify_response with TS_VFY_ALL_IMPRINT | TS_VFY_NONCE |
 * TS_VFY_SIGNATURE | TS_VFY_VERSION | TS_VFY_POLICY when asked).
 * tsa_store is borrowed (its own flags and time are used). On success
 * *tokp is new (gw_tsp_token_free). Errors: SG_ERR_PARSE (not a DER
 * TimeStampResp), SG_ERR_AUTHORITY (anything else refused: why says what,
 * with the TSA's status and failInfo when it did not grant), SG_ERR_ALLOC.
 */
int gw_tsp_answer_check(const struct gw_tsp_request *req, const unsigned char *resp,
    size_t resp_len, X509_STORE *tsa_store, struct gw_tsp_token **tokp, char *why,
    size_t whylen);

void gw_tsp_token_free(struct gw_tsp_token *tok);

#endif
