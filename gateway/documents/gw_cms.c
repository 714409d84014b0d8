/* SPDX-License-Identifier: Apache-2.0 */
/* CAdES-B-B detached SignedData over a given digest, with OpenSSL's CMS
 * API. One builder makes the unsigned structure; a local key signs it with
 * CMS_SignerInfo_sign, or a signature made elsewhere is set into it. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#include "gw_cms.h"
#include "sg_err.h"
#include "sg_log.h"

/* content-type, message-digest, signing-time, signing-certificate-v2;
 * PAdES leaves signing-time out (the time is the signature's /M). */
#define SIGNED_ATTR_COUNT	4
#define SIGNED_ATTR_COUNT_PADES	3

enum key_kind { KEY_UNSUPPORTED = 0, KEY_RSA, KEY_EC };

struct gw_cms_pending {
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;	/* borrowed from cms */
	X509 *cert;		/* own reference */
	const EVP_MD *md;	/* static OpenSSL digest, never freed */
	enum key_kind kind;
	int n_attrs;		/* the signed attributes it must carry */
	unsigned char *tbs;	/* DER SET OF the signed attributes */
	size_t tbs_len;
};

/* The digests the HTTP API accepts. The static EVP_MDs are kept rather
 * than the caller's, which may be a fetched one it frees. */
static const EVP_MD *
supported_md(const EVP_MD *md)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static enum key_kind
key_kind(const EVP_PKEY *pkey)
{
	if (pkey == NULL)
		return KEY_UNSUPPORTED;
	/* RSA-PSS keys are not "RSA": their signatures need parameters. */
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return KEY_RSA;
	if (EVP_PKEY_is_a(pkey, "EC"))
		return KEY_EC;
	return KEY_UNSUPPORTED;
}

static void
log_crypto(const char *what)
{
	char text[256];
	unsigned long e = ERR_peek_last_error();

	ERR_error_string_n(e, text, sizeof(text));
	sg_error("%s: %s", what, e != 0 ? text : "no OpenSSL error queued");
	ERR_clear_error();
}

static int
check_args(X509 *cert, const EVP_MD *md, const unsigned char *digest, size_t digest_len,
    const EVP_MD **mdp, enum key_kind *kindp)
{
	if (cert == NULL || md == NULL || digest == NULL)
		return SG_ERR_INVALID_ARG;
	if ((*mdp = supported_md(md)) == NULL)
		return SG_ERR_UNSUPPORTED;
	if (digest_len != (size_t)EVP_MD_get_size(*mdp))
		return SG_ERR_INVALID_ARG;
	if ((*kindp = key_kind(X509_get0_pubkey(cert))) == KEY_UNSUPPORTED) {
		ERR_clear_error();
		return SG_ERR_UNSUPPORTED;
	}
	return 0;
}

/* The signatureAlgorithm for a key kind and digest, or the one the caller
 * named when it fits them (see gw_cms_finish). */
static int
sigalg_for(enum key_kind kind, const EVP_MD *md, int requested, int *snidp)
{
	int md_nid = EVP_MD_get_type(md);
	int pk_nid = kind == KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
	int hash_nid, key_nid;

	if (requested == 0 || requested == pk_nid)
		return OBJ_find_sigid_by_algs(snidp, md_nid, pk_nid) ? 0 : SG_ERR_UNSUPPORTED;
	if (requested == EVP_PKEY_RSA || requested == EVP_PKEY_EC)
		return SG_ERR_INVALID_ARG;
	if (requested == EVP_PKEY_RSA_PSS ||
	    !OBJ_find_sigid_algs(requested, &hash_nid, &key_nid))
		return SG_ERR_UNSUPPORTED;
	if (hash_nid != md_nid || key_nid != pk_nid)
		return SG_ERR_INVALID_ARG;
	*snidp = requested;
	return 0;
}

static int
set_sigalg(CMS_SignerInfo *si, enum key_kind kind, int snid)
{
	X509_ALGOR *alg = NULL;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
	/* RFC 4055: NULL parameters for sha*WithRSAEncryption; RFC 5758:
	 * none for ecdsa-with-SHA*. OpenSSL itself writes rsaEncryption. */
	if (alg == NULL || X509_ALGOR_set0(alg, OBJ_nid2obj(snid),
	    kind == KEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) != 1)
		return SG_ERR_CRYPTO;
	return 0;
}

/*
 * The DER the signer signs (RFC 5652 section 5.4): the signed attributes
 * as a universal SET OF in DER order. OpenSSL has no public getter for
 * these bytes; its CMS_Attributes_Sign item is internal, but the public
 * PKCS7_ATTR_SIGN item is the same template (sorted SET OF
 * X509_ATTRIBUTE), so the attributes are borrowed into a scratch stack
 * and encoded with it. seal() checks the result against a real signature.
 */
static int
encode_signed_attrs(CMS_SignerInfo *si, unsigned char **derp, size_t *lenp)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	unsigned char *der = NULL;
	int i, n, r = SG_ERR_ALLOC;

	*derp = NULL;
	*lenp = 0;
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto out;
	for (i = 0; i < CMS_signed_get_attr_count(si); i++) {
		if (sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i)) <= 0)
			goto out;
	}
	r = SG_ERR_CRYPTO;
	if ((n = ASN1_item_i2d((ASN1_VALUE *)attrs, &der, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN))) <= 0 ||
	    der[0] != (V_ASN1_CONSTRUCTED | V_ASN1_SET)) {
		log_crypto("encoding the signed attributes");
		goto out;
	}
	*derp = der;
	der = NULL;
	*lenp = (size_t)n;
	r = 0;
 out:
	OPENSSL_free(der);
	sk_X509_ATTRIBUTE_free(attrs);	/* the attributes are si's */
	return r;
}

static int
add_signing_cert_v2(CMS_SignerInfo *si, X509 *cert)
{
	ESS_SIGNING_CERT_V2 *esscert = NULL;
	unsigned char *der = NULL;
	int n, r = SG_ERR_CRYPTO;

	/* SHA-256 is ESSCertIDv2's default hash, so OpenSSL leaves
	 * hashAlgorithm out as DER requires; issuerSerial is included. */
	if ((esscert = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL, 1)) == NULL)
		goto out;
	if ((n = i2d_ESS_SIGNING_CERT_V2(esscert, &der)) <= 0)
		goto out;
	if (CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
	    V_ASN1_SEQUENCE, der, n) != 1)
		goto out;
	r = 0;
 out:
	OPENSSL_free(der);
	ESS_SIGNING_CERT_V2_free(esscert);
	return r;
}

static int
add_chain(CMS_ContentInfo *cms, X509 *cert, STACK_OF(X509) *chain)
{
	X509 *x;
	int i, j, seen;

	for (i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		/* A chain given leaf first (CSC does) repeats the signer;
		 * OpenSSL refuses duplicates rather than skipping them. */
		seen = X509_cmp(x, cert) == 0;
		for (j = 0; !seen && j < i; j++)
			seen = X509_cmp(x, sk_X509_value(chain, j)) == 0;
		if (!seen && CMS_add1_cert(cms, x) != 1)
			return SG_ERR_CRYPTO;
	}
	return 0;
}

/*
 * The unsigned SignedData. signer_key is the key CMS_add1_signer matches
 * against cert and takes the signature type from; with CMS_PARTIAL it signs
 * nothing, so the certificate's own public key serves for gw_cms_prepare.
 */
static int
build(X509 *cert, STACK_OF(X509) *chain, EVP_PKEY *signer_key, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, const time_t *signing_time,
    CMS_ContentInfo **cmsp, CMS_SignerInfo **sip)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	ASN1_TIME *when = NULL;
	int n_attrs = signing_time != NULL ? SIGNED_ATTR_COUNT : SIGNED_ATTR_COUNT_PADES;
	int r = SG_ERR_CRYPTO;

	*cmsp = NULL;
	*sip = NULL;
	/* CMS_PARTIAL: no CMS_final, which would hash content we do not
	 * have and write its own message-digest. CMS_DETACHED: no eContent. */
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_DETACHED | CMS_BINARY)) == NULL)
		goto out;
	/* CMS_NOSMIMECAP: OpenSSL adds smimeCapabilities otherwise. Not
	 * CMS_CADES: it would hash the certificate with md, not SHA-256. */
	if ((si = CMS_add1_signer(cms, cert, signer_key, md, CMS_PARTIAL | CMS_NOSMIMECAP)) ==
	    NULL)
		goto out;
	if ((r = add_chain(cms, cert, chain)) != 0)
		goto out;
	r = SG_ERR_CRYPTO;
	if (digest_len > INT_MAX ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
	    digest, (int)digest_len) != 1)
		goto out;
	/* ASN1_TIME_set picks UTCTime for 1950-2049, GeneralizedTime
	 * outside, as RFC 5652 section 11.3 requires. */
	if (signing_time != NULL && ((when = ASN1_TIME_set(NULL, *signing_time)) == NULL ||
	    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, when->type, when, -1) != 1))
		goto out;
	if ((r = add_signing_cert_v2(si, cert)) != 0)
		goto out;
	if (CMS_signed_get_attr_count(si) != n_attrs) {
		sg_error("OpenSSL added signed attributes of its own (%d)",
		    CMS_signed_get_attr_count(si));
		r = SG_ERR_INTERNAL;
		goto out;
	}
	*cmsp = cms;
	cms = NULL;
	*sip = si;
	r = 0;
 out:
	if (r == SG_ERR_CRYPTO)
		log_crypto("building the SignedData");
	ASN1_TIME_free(when);
	CMS_ContentInfo_free(cms);
	return r;
}

/*
 * Common end of both paths: label the signature, check it against the
 * certificate over exactly the bytes encode_signed_attrs gives (so a token
 * fault, a remote service signing with the wrong key, or a disagreement
 * between those bytes and OpenSSL's own never leaves here), then encode.
 */
static int
seal(CMS_ContentInfo *cms, CMS_SignerInfo *si, X509 *cert, const EVP_MD *md,
    enum key_kind kind, int snid, int n_attrs, const unsigned char *tbs, size_t tbs_len,
    unsigned char **derp, size_t *lenp)
{
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	EVP_MD_CTX *vctx = NULL;
	unsigned char *der = NULL;
	int n, r;

	if ((r = set_sigalg(si, kind, snid)) != 0)
		goto out;
	if (CMS_signed_get_attr_count(si) != n_attrs) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	if ((vctx = EVP_MD_CTX_new()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if (sig == NULL || EVP_DigestVerifyInit(vctx, NULL, md, NULL, X509_get0_pubkey(cert)) != 1 ||
	    EVP_DigestVerify(vctx, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    tbs, tbs_len) != 1) {
		log_crypto("the signature does not verify with the signer certificate");
		r = SG_ERR_CRYPTO;
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		log_crypto("encoding the SignedData");
		r = SG_ERR_CRYPTO;
		goto out;
	}
	*derp = der;
	*lenp = (size_t)n;
	r = 0;
 out:
	EVP_MD_CTX_free(vctx);
	return r;
}

int
gw_cms_sign_digest(EVP_PKEY *pkey, X509 *cert, STACK_OF(X509) *chain, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, time_t signing_time,
    unsigned char **derp, size_t *lenp)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	unsigned char *tbs = NULL;
	size_t tbs_len = 0;
	enum key_kind kind;
	int snid, r;

	if (derp == NULL || lenp == NULL || pkey == NULL)
		return SG_ERR_INVALID_ARG;
	*derp = NULL;
	*lenp = 0;
	if ((r = check_args(cert, md, digest, digest_len, &md, &kind)) != 0)
		return r;
	if ((r = sigalg_for(kind, md, 0, &snid)) != 0)
		return r;
	if (X509_check_private_key(cert, pkey) != 1) {
		ERR_clear_error();
		return SG_ERR_KEY_MISMATCH;
	}
	if ((r = build(cert, chain, pkey, md, digest, digest_len, &signing_time, &cms, &si)) != 0)
		goto out;
	/* Signs the DER of the signed attributes with md through the key's
	 * own method (EVP_DigestSign); the token makes the signature. */
	if (CMS_SignerInfo_sign(si) != 1) {
		log_crypto("signing the CMS signed attributes");
		r = SG_ERR_CRYPTO;
		goto out;
	}
	if ((r = encode_signed_attrs(si, &tbs, &tbs_len)) != 0)
		goto out;
	r = seal(cms, si, cert, md, kind, snid, SIGNED_ATTR_COUNT, tbs, tbs_len, derp, lenp);
 out:
	OPENSSL_free(tbs);
	CMS_ContentInfo_free(cms);
	return r;
}

static int
prepare(X509 *signer_cert, STACK_OF(X509) *chain, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, const time_t *signing_time,
    struct gw_cms_pending **pp)
{
	struct gw_cms_pending *p = NULL;
	enum key_kind kind;
	int snid, r;

	if (pp == NULL)
		return SG_ERR_INVALID_ARG;
	*pp = NULL;
	if ((r = check_args(signer_cert, md, digest, digest_len, &md, &kind)) != 0)
		return r;
	if ((r = sigalg_for(kind, md, 0, &snid)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SG_ERR_ALLOC;
	if ((r = build(signer_cert, chain, X509_get0_pubkey(signer_cert), md, digest, digest_len,
	    signing_time, &p->cms, &p->si)) != 0)
		goto out;
	/* Labelled now so the structure is complete but for the value. */
	if ((r = set_sigalg(p->si, kind, snid)) != 0 ||
	    (r = encode_signed_attrs(p->si, &p->tbs, &p->tbs_len)) != 0)
		goto out;
	if (X509_up_ref(signer_cert) != 1) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	p->cert = signer_cert;
	p->md = md;
	p->kind = kind;
	p->n_attrs = signing_time != NULL ? SIGNED_ATTR_COUNT : SIGNED_ATTR_COUNT_PADES;
	*pp = p;
	p = NULL;
	r = 0;
 out:
	gw_cms_pending_free(p);
	return r;
}

int
gw_cms_prepare(X509 *signer_cert, STACK_OF(X509) *chain, const EVP_MD *md,
    const unsigned char *digest, size_t digest_len, time_t signing_time,
    struct gw_cms_pending **pp)
{
	return prepare(signer_cert, chain, md, digest, digest_len, &signing_time, pp);
}

const unsigned char *
gw_cms_pending_tbs(const struct gw_cms_pending *p, size_t *len)
{
	*len = p->tbs_len;
	return p->tbs;
}

int
gw_cms_pending_tbs_digest(const struct gw_cms_pending *p,
    unsigned char out[EVP_MAX_MD_SIZE], unsigned int *len)
{
	if (EVP_Digest(p->tbs, p->tbs_len, out, len, p->md, NULL) != 1) {
		log_crypto("hashing the signed attributes");
		return SG_ERR_CRYPTO;
	}
	return 0;
}

int
gw_cms_finish(struct gw_cms_pending *p, int sig_nid_or_pkey_type, const unsigned char *sig,
    size_t sig_len, unsigned char **derp, size_t *lenp)
{
	int snid, r;

	if (derp == NULL || lenp == NULL)
		return SG_ERR_INVALID_ARG;
	*derp = NULL;
	*lenp = 0;
	if (p == NULL || sig == NULL || sig_len == 0 || sig_len > INT_MAX)
		return SG_ERR_INVALID_ARG;
	if ((r = sigalg_for(p->kind, p->md, sig_nid_or_pkey_type, &snid)) != 0)
		return r;
	if (ASN1_STRING_set(CMS_SignerInfo_get0_signature(p->si), sig, (int)sig_len) != 1) {
		ERR_clear_error();
		return SG_ERR_ALLOC;
	}
	return seal(p->cms, p->si, p->cert, p->md, p->kind, snid, p->n_attrs, p->tbs, p->tbs_len,
	    derp, lenp);
}

/* The SignedData and its first signer (borrowed from it). */
static int
parse_signed(const unsigned char *der, size_t len, CMS_ContentInfo **cmsp, CMS_SignerInfo **sip)
{
	const unsigned char *p = der;
	STACK_OF(CMS_SignerInfo) *signers;

	*cmsp = NULL;
	*sip = NULL;
	if (len > LONG_MAX || (*cmsp = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != der + len || (signers = CMS_get0_SignerInfos(*cmsp)) == NULL ||
	    sk_CMS_SignerInfo_num(signers) < 1) {
		ERR_clear_error();
		CMS_ContentInfo_free(*cmsp);
		*cmsp = NULL;
		return SG_ERR_PARSE;
	}
	*sip = sk_CMS_SignerInfo_value(signers, 0);
	return 0;
}

int
gw_cms_signature_digest(const unsigned char *der, size_t len, const EVP_MD *md,
    unsigned char out[EVP_MAX_MD_SIZE], unsigned int *outlen)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	ASN1_OCTET_STRING *sig;
	int r;

	if ((r = parse_signed(der, len, &cms, &si)) != 0)
		return r;
	sig = CMS_SignerInfo_get0_signature(si);
	r = SG_ERR_CRYPTO;
	if (sig != NULL && EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    out, outlen, md, NULL) == 1)
		r = 0;
	else
		log_crypto("hashing the signature value");
	CMS_ContentInfo_free(cms);
	return r;
}

int
gw_cms_add_signature_timestamp(const unsigned char *der, size_t len,
    const unsigned char *token, size_t token_len, unsigned char **outp, size_t *outlenp)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	unsigned char *out = NULL;
	int n, r;

	*outp = NULL;
	*outlenp = 0;
	if (token_len > INT_MAX || token_len < 2 || token[0] != (V_ASN1_CONSTRUCTED | V_ASN1_SEQUENCE))
		return SG_ERR_PARSE;
	if ((r = parse_signed(der, len, &cms, &si)) != 0)
		return r;
	r = SG_ERR_CRYPTO;
	/* The token goes in as the attribute value's own DER (a
	 * ContentInfo SEQUENCE). */
	if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE,
	    token, (int)token_len) != 1) {
		log_crypto("adding the signature time-stamp");
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, &out)) <= 0) {
		log_crypto("encoding the SignedData");
		goto out;
	}
	*outp = out;
	*outlenp = (size_t)n;
	r = 0;
 out:
	CMS_ContentInfo_free(cms);
	return r;
}

void
gw_cms_pending_free(struct gw_cms_pending *p)
{
	if (p == NULL)
		return;
	CMS_ContentInfo_free(p->cms);
	X509_free(p->cert);
	OPENSSL_free(p->tbs);
	free(p);
}

/* --- the CAdES-B-B seal job (gw_seal.h) --- */

static int
cms_job_prepare(struct gw_seal_job *job, X509 *stamp, STACK_OF(X509) *rest, unsigned char *tbs,
    unsigned int *tbs_len)
{
	struct gw_cms_job *j = job->arg;
	int r;

	gw_cms_pending_free(j->pending);
	j->pending = NULL;
	X509_free(j->stamp_cert);
	j->stamp_cert = NULL;
	if ((r = prepare(stamp, rest, job->md, j->digest, j->digest_len,
	    j->pades ? NULL : &j->signing_time, &j->pending)) != 0 ||
	    (r = gw_cms_pending_tbs_digest(j->pending, tbs, tbs_len)) != 0)
		return r;
	if (X509_up_ref(stamp) != 1)
		return SG_ERR_ALLOC;
	j->stamp_cert = stamp;
	return 0;
}

static int
cms_job_finish(struct gw_seal_job *job, const unsigned char *sig, size_t sig_len)
{
	struct gw_cms_job *j = job->arg;

	if (j->pending == NULL)
		return SG_ERR_INVALID_ARG;
	OPENSSL_free(j->cms);
	j->cms = NULL;
	return gw_cms_finish(j->pending, 0, sig, sig_len, &j->cms, &j->cms_len);
}

int
gw_cms_job_init(struct gw_cms_job *j, const EVP_MD *md, const unsigned char *digest,
    size_t digest_len, time_t signing_time)
{
	memset(j, 0, sizeof(*j));
	if (md == NULL || digest == NULL || (size_t)EVP_MD_get_size(md) != digest_len ||
	    digest_len > sizeof(j->digest))
		return SG_ERR_INVALID_ARG;
	memcpy(j->digest, digest, digest_len);
	j->digest_len = digest_len;
	j->signing_time = signing_time;
	j->job.md = md;
	j->job.prepare = cms_job_prepare;
	j->job.finish = cms_job_finish;
	j->job.arg = j;
	return 0;
}

int
gw_cms_job_init_pades(struct gw_cms_job *j, const EVP_MD *md, const unsigned char *digest,
    size_t digest_len)
{
	int r;

	if ((r = gw_cms_job_init(j, md, digest, digest_len, 0)) != 0)
		return r;
	j->pades = 1;
	return 0;
}

void
gw_cms_job_clear(struct gw_cms_job *j)
{
	gw_cms_pending_free(j->pending);
	OPENSSL_free(j->cms);
	X509_free(j->stamp_cert);
	memset(j, 0, sizeof(*j));
}
