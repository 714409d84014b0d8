/* SPDX-License-Identifier: Apache-2.0 */
/* Detached CMS SignedData (CAdES-B-B) over a digest the caller computed:
 * signed here with an EVP_PKEY (a token key through libp11), or prepared
 * here, signed elsewhere (a remote seal service) and finished here. */
#ifndef GW_CMS_H
#define GW_CMS_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_seal.h"

/* A SignedData waiting for its signature value (gw_cms_prepare). */
struct gw_cms_pending;

/*
 * Make a detached SignedData (eContentType id-data, no content) with one
 * SignerInfo (issuerAndSerialNumber of cert, digestAlgorithm md) whose
 * signed attributes are exactly: content-type id-data, message-digest =
 * digest (taken as given, never recomputed), signing-time = signing_time
 * (UTC) and signing-certificate-v2 (ESSCertIDv2: SHA-256 of cert, with
 * issuerSerial). The certificates field holds cert and the chain.
 * Signature: sha*WithRSAEncryption (PKCS#1 v1.5) for RSA, ecdsa-with-SHA*
 * for EC, made by pkey's own sign method (token keys work; bracket the
 * call with sgp11_use_begin/end), then checked against cert's public key.
 * pkey, cert, chain (may be NULL) and md are borrowed; md is SHA-256,
 * SHA-384 or SHA-512. *derp is new (free with OPENSSL_free).
 * Errors: SG_ERR_INVALID_ARG (digest_len is not md's size, NULL
 * argument), SG_ERR_UNSUPPORTED (md or key type), SG_ERR_KEY_MISMATCH
 * (pkey is not cert's key), SG_ERR_CRYPTO (signing failed or the result
 * does not verify), SG_ERR_ALLOC.
 */
int gw_cms_sign_digest(EVP_PKEY *pkey, X509 *cert, STACK_OF(X509) *chain, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, time_t signing_time,
    unsigned char **derp, size_t *lenp);

/*
 * Build the same SignedData as gw_cms_sign_digest for signer_cert's key
 * without signing it, for a signature made elsewhere. signer_cert, chain
 * and md are borrowed (the pending SignedData keeps its own certificate
 * references). *pp is new (gw_cms_pending_free). Errors as
 * gw_cms_sign_digest but for SG_ERR_KEY_MISMATCH and signing.
 */
int gw_cms_prepare(X509 *signer_cert, STACK_OF(X509) *chain, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, time_t signing_time,
    struct gw_cms_pending **pp);

/* The bytes the signer signs: the DER SET OF the signed attributes (first
 * byte 0x31, as RFC 5652 section 5.4 says). get0: valid while p lives. */
const unsigned char *gw_cms_pending_tbs(const struct gw_cms_pending *p, size_t *len);

/* md over gw_cms_pending_tbs: what a hash-signing service (CSC signHash)
 * is sent. p is borrowed; out (caller's, EVP_MAX_MD_SIZE bytes) receives
 * *len bytes. SG_ERR_CRYPTO on failure. */
int gw_cms_pending_tbs_digest(const struct gw_cms_pending *p,
    unsigned char out[EVP_MAX_MD_SIZE], unsigned int *len);

/*
 * Put the signature value sig (borrowed; copied) into the SignerInfo and
 * encode the SignedData. sig is PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value
 * for EC. sig_nid_or_pkey_type names the signature algorithm: 0 (from the
 * certificate's key type and md), EVP_PKEY_RSA or EVP_PKEY_EC, or a
 * signature NID such as NID_sha256WithRSAEncryption or
 * NID_ecdsa_with_SHA256 whose hash and key type must be md's and the
 * certificate's. The signature must verify under signer_cert's key over
 * the signed attributes before anything is encoded. *derp is new (free
 * with OPENSSL_free); p stays owned by the caller and may be finished
 * again. Errors: SG_ERR_INVALID_ARG (algorithm does not fit),
 * SG_ERR_UNSUPPORTED (RSA-PSS, unknown algorithm), SG_ERR_CRYPTO (the
 * signature does not verify; a caller talking to an authority reports
 * this as the authority's fault), SG_ERR_ALLOC.
 */
int gw_cms_finish(struct gw_cms_pending *p, int sig_nid_or_pkey_type, const unsigned char *sig,
    size_t sig_len, unsigned char **derp, size_t *lenp);

/*
 * For a signature time-stamp (CAdES/PAdES B-T, ETSI EN 319 122-1 5.3):
 * md over the signature value of the first SignerInfo of the DER
 * SignedData der (borrowed), into out (EVP_MAX_MD_SIZE bytes). Errors:
 * SG_ERR_PARSE (not a SignedData with a signer), SG_ERR_CRYPTO.
 */
int gw_cms_signature_digest(const unsigned char *der, size_t len, const EVP_MD *md,
    unsigned char out[EVP_MAX_MD_SIZE], unsigned int *outlen);

/*
 * The same SignedData with the unsigned attribute
 * id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14) whose value
 * is token (a DER TimeStampToken, borrowed) added to its first signer;
 * the signed parts are re-encoded unchanged. *outp is new (OPENSSL_free).
 * Errors: SG_ERR_PARSE (der or token), SG_ERR_CRYPTO, SG_ERR_ALLOC.
 */
int gw_cms_add_signature_timestamp(const unsigned char *der, size_t len,
    const unsigned char *token, size_t token_len, unsigned char **outp, size_t *outlenp);

/* Free a pending SignedData (takes p: it and its certificate reference
 * are released); accepts NULL. */
void gw_cms_pending_free(struct gw_cms_pending *p);

/*
 * The detached CAdES-B-B SignedData as a seal job (gw_seal.h): prepare
 * is gw_cms_prepare with the stamp certificate and chain, finish is
 * gw_cms_finish. After a successful finish, cms/cms_len hold the DER
 * and stamp_cert the signer's certificate.
 */
struct gw_cms_job {
	struct gw_seal_job job;
	unsigned char digest[EVP_MAX_MD_SIZE];	/* over the document */
	size_t digest_len;
	time_t signing_time;
	int pades;				/* gw_cms_prepare_pades's attributes */
	struct gw_cms_pending *pending;
	unsigned char *cms;			/* OPENSSL_free */
	size_t cms_len;
	X509 *stamp_cert;			/* X509_free */
};

/* Set j up for a document digest (md over the document; len must be
 * md's size). SG_ERR_INVALID_ARG otherwise. */
int gw_cms_job_init(struct gw_cms_job *j, const EVP_MD *md, const unsigned char *digest,
    size_t digest_len, time_t signing_time);
/* The same for PAdES baseline B-B (ETSI EN 319 142-1 section 6.3): the
 * signed attributes are content-type, message-digest and
 * signing-certificate-v2 only; the signing time is the PDF signature
 * dictionary's /M. */
int gw_cms_job_init_pades(struct gw_cms_job *j, const EVP_MD *md, const unsigned char *digest,
    size_t digest_len);
/* Release what j holds; it may be initialised again. */
void gw_cms_job_clear(struct gw_cms_job *j);

#endif
