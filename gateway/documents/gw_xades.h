/* SPDX-License-Identifier: Apache-2.0 */
/* The XAdES baseline B signature of an ASiC-E container
 * (META-INF/signatures0.xml, ETSI EN 319 132-1 and 319 162-1) as a seal
 * job: one ds:Reference per data object by its name in the container, one
 * to xades:SignedProperties (SigningTime, SigningCertificateV2, a
 * DataObjectFormat per object), exclusive C14N 1.0 and SHA-256
 * throughout, the stamp certificate and its chain in ds:KeyInfo. For B-T,
 * a xades:SignatureTimeStamp over the canonical ds:SignatureValue is added
 * after finish. libxml2 builds it; gw_xml canonicalises. */
#ifndef GW_XADES_H
#define GW_XADES_H

#include <stddef.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "gw_seal.h"
#include "sg_buf.h"

#define GW_XADES_NS	"http://uri.etsi.org/01903/v1.3.2#"
#define GW_ASIC_NS	"http://uri.etsi.org/02918/v1.2.1#"

/* One data object the signature covers. */
struct gw_xades_object {
	const char *name;		/* its name in the container (a safe zip name) */
	const char *media_type;		/* e.g. application/octet-stream */
	unsigned char sha256[32];	/* SHA-256 of its bytes */
};

struct gw_xades_job {
	struct gw_seal_job job;		/* set by gw_xades_job_init */
	/* inputs (borrowed: they must outlive the job) */
	const struct gw_xades_object *objects;
	size_t n_objects;
	time_t signing_time;
	/* state and results */
	xmlDocPtr doc;			/* the XAdESSignatures document */
	xmlNodePtr signature, signed_info, signature_value;
	X509 *stamp_cert;		/* after prepare (a reference of the job's) */
	unsigned char tbs[EVP_MAX_MD_SIZE];	/* what prepare handed out */
	unsigned int tbs_len;
	int finished;			/* the SignatureValue is in and verified */
};

/*
 * Set j up as a seal job over objects[0..n-1] (borrowed; 1 to
 * GW_XMLDSIG_MAX_REFS - 1 of them) with SigningTime signing_time; the job
 * hashes its SignedInfo with SHA-256 and signs with RSA PKCS#1 v1.5 or
 * ECDSA, whichever the stamp certificate's key is. SG_ERR_INVALID_ARG.
 */
int gw_xades_job_init(struct gw_xades_job *j, const struct gw_xades_object *objects,
    size_t n_objects, time_t signing_time);
/* Release what j holds; accepts a job never initialised if zeroed. */
void gw_xades_job_clear(struct gw_xades_job *j);

/* After finish: md over the exclusive C14N of ds:SignatureValue, what a
 * SignatureTimeStamp's token covers. out has EVP_MAX_MD_SIZE bytes.
 * SG_ERR_INVALID_ARG (not finished), SG_ERR_CRYPTO, SG_ERR_ALLOC. */
int gw_xades_signature_value_digest(const struct gw_xades_job *j, const EVP_MD *md,
    unsigned char *out, unsigned int *out_len);

/* After finish: add UnsignedProperties/UnsignedSignatureProperties/
 * SignatureTimeStamp holding token (a DER TimeStampToken, borrowed and
 * copied) over that digest. SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int gw_xades_add_timestamp(struct gw_xades_job *j, const unsigned char *token, size_t len);

/* After finish: the document's bytes (UTF-8, XML declaration) into out
 * (reset first). SG_ERR_INVALID_ARG, SG_ERR_TOO_LARGE, SG_ERR_ALLOC. */
int gw_xades_serialise(const struct gw_xades_job *j, struct sg_buf *out);

#endif
