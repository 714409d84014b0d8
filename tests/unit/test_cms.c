/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gateway/gw_cms: CAdES-B-B detached SignedData from a local
 * key and from an outside signature, checked with OpenSSL's CMS_verify and
 * the openssl command line against a CA made here in memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gw_cms.h"
#include "sg_err.h"
#include "sg_test.h"

extern char **environ;

/* 2023-11-14T22:13:20Z: a UTCTime year. */
#define SIGNING_TIME	((time_t)1700000000)
/* 2051-01-01T00:00:00Z: GeneralizedTime from 2050 on (RFC 5652 11.3). */
#define SIGNING_TIME_2051	((time_t)2556144000LL)

static const unsigned char document[] = "sealgate test document\n\x00\x01\x02\xff binary tail";
static const unsigned char other_document[] = "sealgate test document\n\x00\x01\x02\xff binary tall";

struct fixture {
	EVP_PKEY *ca_key, *rsa_key, *ec_key, *stranger_key;
	X509 *ca, *rsa_cert, *ec_cert;
	STACK_OF(X509) *chain;		/* the CA */
	X509_STORE *store;		/* trusts the CA */
};

static struct fixture fx;

static int
add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate for key, issued by issuer/issuer_key (NULL: self-signed). */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	int ca = issuer == NULL, ok = 0;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"sealgate tests", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	    -1, -1, 0) != 1)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, ca ? name : X509_get_subject_name(issuer)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	if (!add_ext(ca ? x : issuer, x, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(ca ? x : issuer, x, NID_key_usage,
	    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation") ||
	    !add_ext(ca ? x : issuer, x, NID_subject_key_identifier, "hash") ||
	    (!ca && !add_ext(issuer, x, NID_authority_key_identifier, "keyid:always")))
		goto out;
	if (X509_sign(x, ca ? key : issuer_key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
 out:
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

static int
fixture_setup(void)
{
	if ((fx.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (fx.rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    (fx.ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (fx.stranger_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return -1;
	if ((fx.ca = make_cert("sealgate test CA", fx.ca_key, NULL, NULL, 1)) == NULL ||
	    (fx.rsa_cert = make_cert("rsa seal", fx.rsa_key, fx.ca, fx.ca_key, 2)) == NULL ||
	    (fx.ec_cert = make_cert("ec seal", fx.ec_key, fx.ca, fx.ca_key, 3)) == NULL)
		return -1;
	if ((fx.chain = sk_X509_new_null()) == NULL || sk_X509_push(fx.chain, fx.ca) <= 0)
		return -1;
	if ((fx.store = X509_STORE_new()) == NULL || X509_STORE_add_cert(fx.store, fx.ca) != 1)
		return -1;
	return 0;
}

static void
fixture_teardown(void)
{
	X509_STORE_free(fx.store);
	sk_X509_free(fx.chain);		/* fx.ca is freed below */
	X509_free(fx.ca);
	X509_free(fx.rsa_cert);
	X509_free(fx.ec_cert);
	EVP_PKEY_free(fx.ca_key);
	EVP_PKEY_free(fx.rsa_key);
	EVP_PKEY_free(fx.ec_key);
	EVP_PKEY_free(fx.stranger_key);
}

static const struct sign_case {
	const char *name;
	int ec;
	const EVP_MD *(*md)(void);
	int sig_nid;
} sign_cases[] = {
	{ "RSA-2048 SHA-256", 0, EVP_sha256, NID_sha256WithRSAEncryption },
	{ "RSA-2048 SHA-384", 0, EVP_sha384, NID_sha384WithRSAEncryption },
	{ "RSA-2048 SHA-512", 0, EVP_sha512, NID_sha512WithRSAEncryption },
	{ "EC P-256 SHA-256", 1, EVP_sha256, NID_ecdsa_with_SHA256 },
	{ "EC P-256 SHA-384", 1, EVP_sha384, NID_ecdsa_with_SHA384 },
	{ "EC P-256 SHA-512", 1, EVP_sha512, NID_ecdsa_with_SHA512 },
};
#define N_SIGN_CASES	(sizeof(sign_cases) / sizeof(sign_cases[0]))

static EVP_PKEY *
case_key(const struct sign_case *c)
{
	return c->ec ? fx.ec_key : fx.rsa_key;
}

static X509 *
case_cert(const struct sign_case *c)
{
	return c->ec ? fx.ec_cert : fx.rsa_cert;
}

static void
digest_of(const EVP_MD *md, const unsigned char *data, size_t len, unsigned char *out,
    unsigned int *outlen)
{
	CU_ASSERT_FATAL(EVP_Digest(data, len, out, outlen, md, NULL) == 1);
}

static CMS_ContentInfo *
parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);

	/* The whole input is one ContentInfo, nothing trailing. */
	if (cms != NULL && p != der + len) {
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

/* 1 verified, 0 not. The DER is parsed afresh for every check. */
static int
verify(const unsigned char *der, size_t len, const unsigned char *content, size_t content_len,
    unsigned int flags)
{
	CMS_ContentInfo *cms;
	BIO *data;
	int ok;

	if ((cms = parse(der, len)) == NULL)
		return 0;
	if ((data = BIO_new_mem_buf(content, (int)content_len)) == NULL) {
		CMS_ContentInfo_free(cms);
		return 0;
	}
	ok = CMS_verify(cms, NULL, fx.store, data, NULL, flags) == 1;
	BIO_free(data);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

static int
contains(const unsigned char *hay, size_t hay_len, const unsigned char *needle, size_t len)
{
	size_t i;

	for (i = 0; i + len <= hay_len; i++) {
		if (memcmp(hay + i, needle, len) == 0)
			return 1;
	}
	return 0;
}

/* signing-certificate-v2: OpenSSL's ESS check passes for the signer, the
 * hash is SHA-256 of the certificate and hashAlgorithm is left out. */
static void
check_esscert(CMS_SignerInfo *si, X509 *cert)
{
	static const unsigned char sha256_oid[] = {
		0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
	ASN1_STRING *seq;
	ESS_SIGNING_CERT_V2 *ess = NULL;
	STACK_OF(X509) *certs = NULL;
	unsigned char want[2 + 32];
	unsigned int want_len = 0;
	const unsigned char *p;

	seq = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2),
	    -3, V_ASN1_SEQUENCE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seq);
	p = ASN1_STRING_get0_data(seq);
	ess = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(seq));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ess);
	CU_ASSERT_FATAL((certs = sk_X509_new_null()) != NULL);
	CU_ASSERT_FATAL(sk_X509_push(certs, cert) > 0);
	CU_ASSERT_EQUAL(OSSL_ESS_check_signing_certs(NULL, ess, certs, 1), 1);
	/* The same check fails for another certificate. */
	(void)sk_X509_set(certs, 0, fx.ca);
	CU_ASSERT_NOT_EQUAL(OSSL_ESS_check_signing_certs(NULL, ess, certs, 1), 1);
	ERR_clear_error();

	want[0] = V_ASN1_OCTET_STRING;
	want[1] = 32;
	CU_ASSERT_FATAL(X509_digest(cert, EVP_sha256(), want + 2, &want_len) == 1);
	CU_ASSERT_EQUAL(want_len, 32);
	CU_ASSERT(contains(ASN1_STRING_get0_data(seq), (size_t)ASN1_STRING_length(seq), want,
	    sizeof(want)));
	CU_ASSERT(!contains(ASN1_STRING_get0_data(seq), (size_t)ASN1_STRING_length(seq),
	    sha256_oid, sizeof(sha256_oid)));
	sk_X509_free(certs);
	ESS_SIGNING_CERT_V2_free(ess);
}

/* Everything the profile says about one output, then the verifications. */
static void
check_cms(const struct sign_case *c, const unsigned char *der, size_t len,
    const unsigned char *digest, unsigned int digest_len, time_t signing_time)
{
	static const int want_attrs[] = {
		NID_pkcs9_contentType, NID_pkcs9_messageDigest, NID_pkcs9_signingTime,
		NID_id_smime_aa_signingCertificateV2 };
	CMS_ContentInfo *cms;
	STACK_OF(CMS_SignerInfo) *sinfos;
	STACK_OF(X509) *certs;
	CMS_SignerInfo *si;
	X509_ALGOR *dig_alg = NULL, *sig_alg = NULL;
	ASN1_OCTET_STRING *md_attr, *keyid = NULL;
	ASN1_OBJECT *ctype;
	ASN1_TIME *when;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	const ASN1_OBJECT *aobj;
	const void *pval;
	int ptype, i, time_type;
	size_t k;

	cms = parse(der, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
	CU_ASSERT_EQUAL(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	CU_ASSERT_EQUAL(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data);
	CU_ASSERT_EQUAL(CMS_is_detached(cms), 1);
	sinfos = CMS_get0_SignerInfos(cms);
	CU_ASSERT_EQUAL_FATAL(sk_CMS_SignerInfo_num(sinfos), 1);
	si = sk_CMS_SignerInfo_value(sinfos, 0);

	/* issuerAndSerialNumber of the signer. */
	CU_ASSERT_EQUAL(CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial), 1);
	CU_ASSERT_PTR_NULL(keyid);
	CU_ASSERT_EQUAL(CMS_SignerInfo_cert_cmp(si, case_cert(c)), 0);

	/* Exactly the four signed attributes, each once. */
	CU_ASSERT_EQUAL(CMS_signed_get_attr_count(si), 4);
	for (k = 0; k < sizeof(want_attrs) / sizeof(want_attrs[0]); k++) {
		i = CMS_signed_get_attr_by_NID(si, want_attrs[k], -1);
		CU_ASSERT(i >= 0);
		CU_ASSERT_EQUAL(CMS_signed_get_attr_by_NID(si, want_attrs[k], i), -1);
	}
	CU_ASSERT_EQUAL(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1), -1);
	CU_ASSERT_EQUAL(CMS_unsigned_get_attr_count(si), -1);

	ctype = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3,
	    V_ASN1_OBJECT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctype);
	CU_ASSERT_EQUAL(OBJ_obj2nid(ctype), NID_pkcs7_data);
	md_attr = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
	    V_ASN1_OCTET_STRING);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md_attr);
	CU_ASSERT_EQUAL_FATAL(ASN1_STRING_length(md_attr), (int)digest_len);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(md_attr), digest, digest_len), 0);
	time_type = signing_time >= SIGNING_TIME_2051 ? V_ASN1_GENERALIZEDTIME : V_ASN1_UTCTIME;
	when = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_signingTime), -3, time_type);
	CU_ASSERT_PTR_NOT_NULL_FATAL(when);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(when, signing_time), 0);
	check_esscert(si, case_cert(c));

	/* digestAlgorithm = md; signatureAlgorithm names hash and key. */
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, &sig_alg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dig_alg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig_alg);
	X509_ALGOR_get0(&aobj, NULL, NULL, dig_alg);
	CU_ASSERT_EQUAL(OBJ_obj2nid(aobj), EVP_MD_get_type(c->md()));
	X509_ALGOR_get0(&aobj, &ptype, &pval, sig_alg);
	CU_ASSERT_EQUAL(OBJ_obj2nid(aobj), c->sig_nid);
	CU_ASSERT_EQUAL(ptype, c->ec ? V_ASN1_UNDEF : V_ASN1_NULL);

	/* certificates: the signer and the CA. */
	certs = CMS_get1_certs(cms);
	CU_ASSERT_EQUAL(sk_X509_num(certs), 2);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);

	/* OpenSSL's own verifier, with the CAdES signing-certificate check. */
	CU_ASSERT_EQUAL(verify(der, len, document, sizeof(document), CMS_BINARY), 1);
	CU_ASSERT_EQUAL(verify(der, len, document, sizeof(document), CMS_BINARY | CMS_CADES), 1);
	CU_ASSERT_EQUAL(verify(der, len, other_document, sizeof(other_document), CMS_BINARY), 0);
}

static void
test_sign_digest(void)
{
	const struct sign_case *c;
	unsigned char digest[EVP_MAX_MD_SIZE], *der;
	unsigned int digest_len;
	size_t i, len;

	for (i = 0; i < N_SIGN_CASES; i++) {
		c = &sign_cases[i];
		digest_of(c->md(), document, sizeof(document), digest, &digest_len);
		der = NULL;
		CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(case_key(c), case_cert(c), fx.chain,
		    c->md(), digest, digest_len, SIGNING_TIME, &der, &len), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		check_cms(c, der, len, digest, digest_len, SIGNING_TIME);
		OPENSSL_free(der);
	}
}

static void
test_sign_digest_generalized_time(void)
{
	const struct sign_case *c = &sign_cases[3];
	unsigned char digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int digest_len;
	size_t len;

	digest_of(c->md(), document, sizeof(document), digest, &digest_len);
	CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(case_key(c), case_cert(c), fx.chain, c->md(),
	    digest, digest_len, SIGNING_TIME_2051, &der, &len), 0);
	check_cms(c, der, len, digest, digest_len, SIGNING_TIME_2051);
	OPENSSL_free(der);
}

static void
test_sign_digest_rejects(void)
{
	unsigned char digest[EVP_MAX_MD_SIZE], *der = (unsigned char *)"x";
	unsigned int digest_len;
	size_t len = 1;
	STACK_OF(X509) *leaf_first;

	digest_of(EVP_sha256(), document, sizeof(document), digest, &digest_len);
	/* Digest length must be md's. */
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.rsa_key, fx.rsa_cert, NULL, EVP_sha256(), digest, 31,
	    SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, EVP_sha384(), digest,
	    digest_len, SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, EVP_sha256(), digest, 0,
	    SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	/* Digests the API does not offer. */
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, EVP_sha1(), digest, 20,
	    SIGNING_TIME, &der, &len), SG_ERR_UNSUPPORTED);
	/* The key must be the certificate's. */
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.stranger_key, fx.ec_cert, NULL, EVP_sha256(), digest,
	    digest_len, SIGNING_TIME, &der, &len), SG_ERR_KEY_MISMATCH);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.rsa_key, fx.ec_cert, NULL, EVP_sha256(), digest,
	    digest_len, SIGNING_TIME, &der, &len), SG_ERR_KEY_MISMATCH);
	CU_ASSERT_PTR_NULL(der);
	/* NULL arguments. */
	CU_ASSERT_EQUAL(gw_cms_sign_digest(NULL, fx.ec_cert, NULL, EVP_sha256(), digest, digest_len,
	    SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, NULL, NULL, EVP_sha256(), digest, digest_len,
	    SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, NULL, digest, digest_len,
	    SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, EVP_sha256(), NULL,
	    digest_len, SIGNING_TIME, &der, &len), SG_ERR_INVALID_ARG);

	/* A chain given leaf first (as CSC returns it) is no duplicate. */
	CU_ASSERT_FATAL((leaf_first = sk_X509_new_null()) != NULL);
	CU_ASSERT_FATAL(sk_X509_push(leaf_first, fx.ec_cert) > 0);
	CU_ASSERT_FATAL(sk_X509_push(leaf_first, fx.ca) > 0);
	CU_ASSERT_FATAL(sk_X509_push(leaf_first, fx.ca) > 0);
	CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, leaf_first, EVP_sha256(),
	    digest, digest_len, SIGNING_TIME, &der, &len), 0);
	check_cms(&sign_cases[3], der, len, digest, digest_len, SIGNING_TIME);
	OPENSSL_free(der);
	sk_X509_free(leaf_first);

	/* Without the CA in certificates, the store still completes it. */
	CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(fx.ec_key, fx.ec_cert, NULL, EVP_sha256(),
	    digest, digest_len, SIGNING_TIME, &der, &len), 0);
	CU_ASSERT_EQUAL(verify(der, len, document, sizeof(document), CMS_BINARY | CMS_CADES), 1);
	OPENSSL_free(der);
}

/* What a remote signing service does with the hash it is sent. */
static int
external_sign(EVP_PKEY *key, const EVP_MD *md, const unsigned char *hash, size_t hash_len,
    unsigned char *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return 0;
	/* RSA: PKCS#1 v1.5 over DigestInfo(md, hash); EC: ECDSA over hash. */
	ok = EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    EVP_PKEY_sign(ctx, sig, sig_len, hash, hash_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
test_external(void)
{
	const struct sign_case *c;
	struct gw_cms_pending *p;
	unsigned char digest[EVP_MAX_MD_SIZE], tbs_hash[EVP_MAX_MD_SIZE], check[EVP_MAX_MD_SIZE];
	unsigned char sig[1024], *der, *local;
	unsigned int digest_len, tbs_hash_len, check_len;
	const unsigned char *tbs;
	size_t i, tbs_len, sig_len, len, local_len;

	for (i = 0; i < N_SIGN_CASES; i++) {
		c = &sign_cases[i];
		digest_of(c->md(), document, sizeof(document), digest, &digest_len);
		p = NULL;
		CU_ASSERT_EQUAL_FATAL(gw_cms_prepare(case_cert(c), fx.chain, c->md(), digest,
		    digest_len, SIGNING_TIME, &p), 0);
		tbs = gw_cms_pending_tbs(p, &tbs_len);
		CU_ASSERT_FATAL(tbs != NULL && tbs_len > 2);
		CU_ASSERT_EQUAL(tbs[0], 0x31);
		CU_ASSERT_EQUAL(gw_cms_pending_tbs_digest(p, tbs_hash, &tbs_hash_len), 0);
		digest_of(c->md(), tbs, tbs_len, check, &check_len);
		CU_ASSERT_EQUAL_FATAL(tbs_hash_len, check_len);
		CU_ASSERT_EQUAL(memcmp(tbs_hash, check, check_len), 0);

		sig_len = sizeof(sig);
		CU_ASSERT_FATAL(external_sign(case_key(c), c->md(), tbs_hash, tbs_hash_len, sig,
		    &sig_len));
		der = NULL;
		CU_ASSERT_EQUAL_FATAL(gw_cms_finish(p, 0, sig, sig_len, &der, &len), 0);
		check_cms(c, der, len, digest, digest_len, SIGNING_TIME);

		/* PKCS#1 v1.5 is deterministic: the local path gives the same
		 * bytes, so both paths build the same structure. */
		if (!c->ec) {
			CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(case_key(c), case_cert(c), fx.chain,
			    c->md(), digest, digest_len, SIGNING_TIME, &local, &local_len), 0);
			CU_ASSERT_EQUAL(local_len, len);
			CU_ASSERT(local_len == len && memcmp(local, der, len) == 0);
			OPENSSL_free(local);
		}
		OPENSSL_free(der);

		/* The algorithm may be named; it must fit key and digest. */
		CU_ASSERT_EQUAL(gw_cms_finish(p, c->sig_nid, sig, sig_len, &der, &len), 0);
		OPENSSL_free(der);
		CU_ASSERT_EQUAL(gw_cms_finish(p, c->ec ? EVP_PKEY_EC : EVP_PKEY_RSA, sig, sig_len,
		    &der, &len), 0);
		OPENSSL_free(der);
		CU_ASSERT_EQUAL(gw_cms_finish(p, c->ec ? EVP_PKEY_RSA : EVP_PKEY_EC, sig, sig_len,
		    &der, &len), SG_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(gw_cms_finish(p, c->ec ? NID_ecdsa_with_SHA1 :
		    NID_sha1WithRSAEncryption, sig, sig_len, &der, &len), SG_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(gw_cms_finish(p, c->ec ? NID_sha256WithRSAEncryption :
		    NID_ecdsa_with_SHA256, sig, sig_len, &der, &len), SG_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(gw_cms_finish(p, NID_rsassaPss, sig, sig_len, &der, &len),
		    SG_ERR_UNSUPPORTED);
		CU_ASSERT_EQUAL(gw_cms_finish(p, 0, sig, 0, &der, &len), SG_ERR_INVALID_ARG);

		/* A bad signature value is refused, and p can be finished
		 * again with the good one. */
		sig[sig_len / 2] ^= 0x01;
		CU_ASSERT_EQUAL(gw_cms_finish(p, 0, sig, sig_len, &der, &len), SG_ERR_CRYPTO);
		CU_ASSERT_PTR_NULL(der);
		sig[sig_len / 2] ^= 0x01;
		CU_ASSERT_EQUAL_FATAL(gw_cms_finish(p, 0, sig, sig_len, &der, &len), 0);
		CU_ASSERT_EQUAL(verify(der, len, document, sizeof(document), CMS_BINARY), 1);
		OPENSSL_free(der);
		gw_cms_pending_free(p);
	}
	gw_cms_pending_free(NULL);
}

/* The CAdES seal job: prepared with the signer's certificate, its hash
 * signed elsewhere, finished into the same SignedData. */
static void
test_seal_job(void)
{
	const struct sign_case *c;
	struct gw_cms_job j;
	unsigned char digest[EVP_MAX_MD_SIZE], tbs[EVP_MAX_MD_SIZE], sig[1024];
	unsigned int digest_len, tbs_len;
	size_t i, sig_len;

	for (i = 0; i < N_SIGN_CASES; i++) {
		c = &sign_cases[i];
		digest_of(c->md(), document, sizeof(document), digest, &digest_len);
		CU_ASSERT_EQUAL_FATAL(gw_cms_job_init(&j, c->md(), digest, digest_len,
		    SIGNING_TIME), 0);
		CU_ASSERT_EQUAL(j.job.finish(&j.job, sig, 1), SG_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL_FATAL(j.job.prepare(&j.job, case_cert(c), fx.chain, tbs, &tbs_len),
		    0);
		CU_ASSERT_PTR_EQUAL(j.stamp_cert, case_cert(c));
		sig_len = sizeof(sig);
		CU_ASSERT_FATAL(external_sign(case_key(c), c->md(), tbs, tbs_len, sig, &sig_len));
		sig[0] ^= 0x01;
		CU_ASSERT_EQUAL(j.job.finish(&j.job, sig, sig_len), SG_ERR_CRYPTO);
		CU_ASSERT_PTR_NULL(j.cms);
		sig[0] ^= 0x01;
		CU_ASSERT_EQUAL_FATAL(j.job.finish(&j.job, sig, sig_len), 0);
		check_cms(c, j.cms, j.cms_len, digest, digest_len, SIGNING_TIME);
		gw_cms_job_clear(&j);
		CU_ASSERT_PTR_NULL(j.cms);
	}
	CU_ASSERT_EQUAL(gw_cms_job_init(&j, EVP_sha256(), digest, 20, SIGNING_TIME),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_job_init(&j, NULL, digest, 32, SIGNING_TIME), SG_ERR_INVALID_ARG);
}

/* A signature damaged after encoding: CMS_verify must refuse it. */
static void
test_corrupted_signature(void)
{
	const struct sign_case *c;
	CMS_ContentInfo *cms;
	ASN1_OCTET_STRING *sig;
	unsigned char digest[EVP_MAX_MD_SIZE], value[1024], *der, *bad;
	unsigned int digest_len;
	size_t i, at, len;
	int bad_len, value_len;

	for (i = 0; i < N_SIGN_CASES; i += 3) {
		c = &sign_cases[i];
		digest_of(c->md(), document, sizeof(document), digest, &digest_len);
		der = NULL;
		CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(case_key(c), case_cert(c), fx.chain,
		    c->md(), digest, digest_len, SIGNING_TIME, &der, &len), 0);
		CU_ASSERT_EQUAL(verify(der, len, document, sizeof(document), CMS_BINARY), 1);

		/* Flip one bit of the signature value and re-encode. */
		cms = parse(der, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
		sig = CMS_SignerInfo_get0_signature(
		    sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0));
		CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
		value_len = ASN1_STRING_length(sig);
		CU_ASSERT_FATAL(value_len > 8 && (size_t)value_len <= sizeof(value));
		memcpy(value, ASN1_STRING_get0_data(sig), (size_t)value_len);
		value[value_len - 2] ^= 0x40;
		CU_ASSERT_FATAL(ASN1_STRING_set(sig, value, value_len) == 1);
		bad = NULL;
		bad_len = i2d_CMS_ContentInfo(cms, &bad);
		CU_ASSERT_FATAL(bad_len > 0);
		CU_ASSERT_EQUAL((size_t)bad_len, len);
		CU_ASSERT_EQUAL(verify(bad, (size_t)bad_len, document, sizeof(document), CMS_BINARY),
		    0);
		CMS_ContentInfo_free(cms);

		/* A damaged message-digest is refused as well. */
		CU_ASSERT_FATAL((size_t)bad_len == len);
		memcpy(bad, der, len);
		for (at = 0; at + digest_len <= len; at++) {
			if (memcmp(bad + at, digest, digest_len) == 0)
				break;
		}
		CU_ASSERT_FATAL(at + digest_len <= len);
		bad[at] ^= 0x01;
		CU_ASSERT_EQUAL(verify(bad, len, document, sizeof(document), CMS_BINARY), 0);
		OPENSSL_free(bad);
		OPENSSL_free(der);
	}
}

/* The command-line verifier the HTTP API documents. */

static int
write_ca(const char *path)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "w")) == NULL)
		return 0;
	ok = PEM_write_X509(f, fx.ca) == 1;
	return fclose(f) == 0 && ok;
}

/* Exit status of argv, -1 when it could not run, -2 when not installed.
 * Its output goes to /dev/null; its messages stay in the test log. */
static int
run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err, status;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err == ENOENT)
		return -2;
	if (err != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_openssl_cli(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], doc[600], other[600], sig_path[600], ca[600];
	unsigned char digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int digest_len;
	size_t i, len;
	int n, st;

	n = snprintf(dir, sizeof(dir), "%s/sg-test-cms-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(dir));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_FATAL(sg_test_path(doc, sizeof(doc), dir, "document.bin") == 0 &&
	    sg_test_path(other, sizeof(other), dir, "other.bin") == 0 &&
	    sg_test_path(sig_path, sizeof(sig_path), dir, "stamp.p7s") == 0 &&
	    sg_test_path(ca, sizeof(ca), dir, "ca.pem") == 0);
	CU_ASSERT_FATAL(sg_test_write_file(doc, document, sizeof(document)) == 0);
	CU_ASSERT_FATAL(sg_test_write_file(other, other_document, sizeof(other_document)) == 0);
	CU_ASSERT_FATAL(write_ca(ca));

	/* RSA from the local path, EC from the external one. */
	for (i = 0; i < 2; i++) {
		const struct sign_case *c = &sign_cases[i == 0 ? 0 : 4];
		char *good[] = { "openssl", "cms", "-verify", "-binary", "-inform", "DER",
		    "-in", sig_path, "-content", doc, "-CAfile", ca, NULL };
		char *cades[] = { "openssl", "cms", "-verify", "-cades", "-binary", "-inform",
		    "DER", "-in", sig_path, "-content", doc, "-CAfile", ca, NULL };
		char *wrong[] = { "openssl", "cms", "-verify", "-binary", "-inform", "DER",
		    "-in", sig_path, "-content", other, "-CAfile", ca, NULL };

		digest_of(c->md(), document, sizeof(document), digest, &digest_len);
		if (i == 0) {
			CU_ASSERT_EQUAL_FATAL(gw_cms_sign_digest(case_key(c), case_cert(c), fx.chain,
			    c->md(), digest, digest_len, SIGNING_TIME, &der, &len), 0);
		} else {
			struct gw_cms_pending *p = NULL;
			unsigned char hash[EVP_MAX_MD_SIZE], sig[256];
			unsigned int hash_len;
			size_t sig_len = sizeof(sig);

			CU_ASSERT_EQUAL_FATAL(gw_cms_prepare(case_cert(c), fx.chain, c->md(),
			    digest, digest_len, SIGNING_TIME, &p), 0);
			CU_ASSERT_EQUAL_FATAL(gw_cms_pending_tbs_digest(p, hash, &hash_len), 0);
			CU_ASSERT_FATAL(external_sign(case_key(c), c->md(), hash, hash_len, sig,
			    &sig_len));
			CU_ASSERT_EQUAL_FATAL(gw_cms_finish(p, 0, sig, sig_len, &der, &len), 0);
			gw_cms_pending_free(p);
		}
		CU_ASSERT_FATAL(sg_test_write_file(sig_path, der, len) == 0);
		OPENSSL_free(der);
		der = NULL;

		if ((st = run(good)) == -2) {
			printf("\n    openssl not installed: command-line check skipped ");
			break;
		}
		CU_ASSERT_EQUAL(st, 0);
		CU_ASSERT_EQUAL(run(cades), 0);
		st = run(wrong);
		CU_ASSERT(st > 0);
	}
	(void)unlink(doc);
	(void)unlink(other);
	(void)unlink(sig_path);
	(void)unlink(ca);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "sign digest: RSA and EC, SHA-2 family", test_sign_digest },
		{ "sign digest: GeneralizedTime from 2050", test_sign_digest_generalized_time },
		{ "sign digest: bad arguments, chains", test_sign_digest_rejects },
		{ "external signature: prepare, sign, finish", test_external },
		{ "seal job: prepare, sign elsewhere, finish", test_seal_job },
		{ "corrupted signature or digest fails CMS_verify", test_corrupted_signature },
		{ "openssl cms -verify command line", test_openssl_cli },
		{ NULL, NULL }
	};
	int r;

	if (fixture_setup() != 0) {
		fprintf(stderr, "test_cms: could not make the test keys and certificates\n");
		ERR_print_errors_fp(stderr);
		fixture_teardown();
		return 2;
	}
	r = sg_test_run("cms", cases);
	fixture_teardown();
	return r;
}
