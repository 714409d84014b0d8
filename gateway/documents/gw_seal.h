/* SPDX-License-Identifier: Apache-2.0 */
/* A seal job: one signature a remote seal service makes over the hash
 * of bytes a document format prepared. The format knows its bytes (CMS
 * signed attributes, an XML SignedInfo, ...); the service knows the stamp
 * certificate and signs. authority.h gw_authority_seal runs the jobs:
 * prepare once the stamp certificate is known, one signing call for all,
 * finish with each signature value. */
#ifndef GW_SEAL_H
#define GW_SEAL_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The most jobs one signing call carries. */
#define GW_SEAL_JOBS_MAX	100

struct gw_seal_job {
	/* The hash over the to-be-signed bytes: SHA-256, SHA-384 or SHA-512. */
	const EVP_MD *md;
	/* With the stamp certificate and the rest of its chain (borrowed:
	 * take references to keep them): build the to-be-signed bytes and
	 * put md over them into tbs (EVP_MAX_MD_SIZE bytes), *tbs_len.
	 * SG_ERR_* on failure. */
	int (*prepare)(struct gw_seal_job *job, X509 *stamp, STACK_OF(X509) *rest,
	    unsigned char *tbs, unsigned int *tbs_len);
	/* The service's signature value over tbs (borrowed): PKCS#1 v1.5
	 * for RSA, DER ECDSA-Sig-Value for EC. Check it against the stamp
	 * certificate, then assemble the result. SG_ERR_CRYPTO when it does
	 * not verify (the service's fault). */
	int (*finish)(struct gw_seal_job *job, const unsigned char *sig, size_t sig_len);
	void *arg;		/* the format's own state */
};

#endif
