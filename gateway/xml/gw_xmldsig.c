/* SPDX-License-Identifier: Apache-2.0 */
/* XML signatures made on the token: libxml2 builds and canonicalises,
 * OpenSSL digests, sgp11 signs. See gw_xmldsig.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"

const char *
gw_xmldsig_sig_uri(enum sg_xmlsig_alg alg)
{
	switch (alg) {
	case SG_XMLSIG_RSA_SHA1:
		return "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
	case SG_XMLSIG_RSA_SHA256:
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
	case SG_XMLSIG_RSA_SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
	case SG_XMLSIG_RSA_SHA512:
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
	case SG_XMLSIG_ECDSA_SHA256:
		return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
	case SG_XMLSIG_ECDSA_SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
	}
	return NULL;
}

const char *
gw_xmldsig_digest_uri(enum sg_xmldigest_alg alg)
{
	switch (alg) {
	case SG_XMLDIGEST_SHA1:
		return "http://www.w3.org/2000/09/xmldsig#sha1";
	case SG_XMLDIGEST_SHA256:
		return "http://www.w3.org/2001/04/xmlenc#sha256";
	case SG_XMLDIGEST_SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#sha384";
	case SG_XMLDIGEST_SHA512:
		return "http://www.w3.org/2001/04/xmlenc#sha512";
	}
	return NULL;
}

static const EVP_MD *
digest_md(enum sg_xmldigest_alg alg)
{
	switch (alg) {
	case SG_XMLDIGEST_SHA1:
		return EVP_sha1();
	case SG_XMLDIGEST_SHA256:
		return EVP_sha256();
	case SG_XMLDIGEST_SHA384:
		return EVP_sha384();
	case SG_XMLDIGEST_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

/* The signature's hash and whether it is ECDSA. */
static int
sig_hash(enum sg_xmlsig_alg alg, const EVP_MD **mdp, int *ecdsap)
{
	*ecdsap = 0;
	switch (alg) {
	case SG_XMLSIG_RSA_SHA1:
		*mdp = EVP_sha1();
		return 0;
	case SG_XMLSIG_RSA_SHA256:
		*mdp = EVP_sha256();
		return 0;
	case SG_XMLSIG_RSA_SHA384:
		*mdp = EVP_sha384();
		return 0;
	case SG_XMLSIG_RSA_SHA512:
		*mdp = EVP_sha512();
		return 0;
	case SG_XMLSIG_ECDSA_SHA256:
		*mdp = EVP_sha256();
		*ecdsap = 1;
		return 0;
	case SG_XMLSIG_ECDSA_SHA384:
		*mdp = EVP_sha384();
		*ecdsap = 1;
		return 0;
	}
	return SG_ERR_INVALID_ARG;
}


/* A ds: child of parent, with text when text is not NULL. */
static xmlNodePtr
ds_child(xmlNodePtr parent, xmlNsPtr ds, const char *name, const char *algorithm)
{
	xmlNodePtr n = xmlNewChild(parent, ds, BAD_CAST name, NULL);

	if (n != NULL && algorithm != NULL &&
	    xmlNewProp(n, BAD_CAST "Algorithm", BAD_CAST algorithm) == NULL)
		return NULL;
	return n;
}

static int
set_b64_text(xmlNodePtr node, const unsigned char *p, size_t len)
{
	char *b64 = NULL;
	int r;

	if ((r = sg_b64_encode(p, len, SG_B64_STD, &b64)) != 0)
		return r;
	xmlNodeAddContent(node, BAD_CAST b64);
	free(b64);
	return 0;
}

static int
add_reference(xmlNodePtr signed_info, xmlNsPtr ds, const struct gw_xmldsig_ref *ref,
    xmlNodePtr sig, enum sg_xmldigest_alg digest_alg)
{
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dgst_len = 0;
	xmlNodePtr reference, transforms, value;
	int r;

	if (ref->node == NULL || ref->uri == NULL || (ref->uri[0] != '\0' && ref->uri[0] != '#'))
		return SG_ERR_INVALID_ARG;
	if (ref->enveloped && !gw_xml_in_subtree(sig, ref->node))
		return SG_ERR_INVALID_ARG;
	if ((r = gw_xml_c14n_digest(ref->node, ref->enveloped ? sig : NULL, digest_md(digest_alg),
	    dgst, &dgst_len)) != 0)
		return r;
	if ((reference = ds_child(signed_info, ds, "Reference", NULL)) == NULL ||
	    xmlNewProp(reference, BAD_CAST "URI", BAD_CAST ref->uri) == NULL ||
	    (transforms = ds_child(reference, ds, "Transforms", NULL)) == NULL ||
	    (ref->enveloped && ds_child(transforms, ds, "Transform", GW_DSIG_ENVELOPED) == NULL) ||
	    ds_child(transforms, ds, "Transform", GW_EXC_C14N) == NULL ||
	    ds_child(reference, ds, "DigestMethod", gw_xmldsig_digest_uri(digest_alg)) == NULL ||
	    (value = ds_child(reference, ds, "DigestValue", NULL)) == NULL)
		return SG_ERR_ALLOC;
	return set_b64_text(value, dgst, dgst_len);
}

int
gw_xmldsig_ecdsa_raw(const unsigned char *der, size_t der_len, int order_bits,
    unsigned char *raw, size_t *raw_len)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = NULL;
	const BIGNUM *sr, *ss;
	int width = (order_bits + 7) / 8, r = SG_ERR_CRYPTO;

	if (width <= 0 || (size_t)width * 2 > *raw_len)
		return SG_ERR_INVALID_ARG;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &sr, &ss);
	if (BN_bn2binpad(sr, raw, width) != width || BN_bn2binpad(ss, raw + width, width) != width)
		goto out;
	*raw_len = (size_t)width * 2;
	r = 0;
out:
	ECDSA_SIG_free(es);
	return r;
}

static int
key_fits(struct sgp11_key *key, int ecdsa)
{
	EVP_PKEY *pub = sgp11_key_get0_public(key);

	if (pub == NULL)
		return 0;
	return ecdsa ? EVP_PKEY_is_a(pub, "EC") : EVP_PKEY_is_a(pub, "RSA");
}

/* SignatureValue over the canonical SignedInfo, made on the token. */
static int
sign_signed_info(xmlNodePtr signed_info, enum sg_xmlsig_alg sig_alg, struct sgp11_key *key,
    xmlNodePtr value)
{
	const EVP_MD *md = NULL;
	unsigned char dgst[EVP_MAX_MD_SIZE], raw[2 * 66];
	unsigned int dgst_len = 0;
	unsigned char *sig = NULL;
	size_t sig_len = 0, raw_len = sizeof(raw);
	int ecdsa = 0, r;

	if ((r = sig_hash(sig_alg, &md, &ecdsa)) != 0)
		goto out;
	if ((r = gw_xml_c14n_digest(signed_info, NULL, md, dgst, &dgst_len)) != 0)
		goto out;
	if ((r = sgp11_sign_digest(key, EVP_MD_get_type(md), SGP11_PAD_DEFAULT, dgst, dgst_len,
	    &sig, &sig_len)) != 0)
		goto out;
	if (ecdsa) {
		if ((r = gw_xmldsig_ecdsa_raw(sig, sig_len,
		    EVP_PKEY_get_bits(sgp11_key_get0_public(key)), raw, &raw_len)) != 0)
			goto out;
		r = set_b64_text(value, raw, raw_len);
	} else {
		r = set_b64_text(value, sig, sig_len);
	}
out:
	OPENSSL_free(sig);
	return r;
}

int
gw_xmldsig_sign(xmlNodePtr parent, const struct gw_xmldsig_ref *refs, size_t n_refs,
    enum sg_xmlsig_alg sig_alg, enum sg_xmldigest_alg digest_alg, struct sgp11_key *key,
    xmlNodePtr *sigp)
{
	xmlNodePtr sig = NULL, signed_info, value;
	xmlNsPtr ds;
	const EVP_MD *md;
	int ecdsa, r = SG_ERR_ALLOC;
	size_t i;

	*sigp = NULL;
	if (parent == NULL || parent->doc == NULL || n_refs == 0 || n_refs > GW_XMLDSIG_MAX_REFS ||
	    gw_xmldsig_sig_uri(sig_alg) == NULL || digest_md(digest_alg) == NULL ||
	    sig_hash(sig_alg, &md, &ecdsa) != 0 || key == NULL || !key_fits(key, ecdsa))
		return SG_ERR_INVALID_ARG;
	if ((sig = xmlNewDocNode(parent->doc, NULL, BAD_CAST "Signature", NULL)) == NULL)
		goto out;
	if ((ds = xmlNewNs(sig, BAD_CAST GW_DSIG_NS, BAD_CAST "ds")) == NULL)
		goto out;
	xmlSetNs(sig, ds);
	if (xmlAddChild(parent, sig) == NULL)
		goto out;
	if ((signed_info = ds_child(sig, ds, "SignedInfo", NULL)) == NULL ||
	    ds_child(signed_info, ds, "CanonicalizationMethod", GW_EXC_C14N) == NULL ||
	    ds_child(signed_info, ds, "SignatureMethod", gw_xmldsig_sig_uri(sig_alg)) == NULL)
		goto out;
	for (i = 0; i < n_refs; i++) {
		if ((r = add_reference(signed_info, ds, &refs[i], sig, digest_alg)) != 0)
			goto out;
	}
	r = SG_ERR_ALLOC;
	if ((value = ds_child(sig, ds, "SignatureValue", NULL)) == NULL)
		goto out;
	if ((r = sign_signed_info(signed_info, sig_alg, key, value)) != 0)
		goto out;
	r = SG_ERR_ALLOC;
	if (ds_child(sig, ds, "KeyInfo", NULL) == NULL)
		goto out;
	*sigp = sig;
	sig = NULL;
	r = 0;
out:
	if (sig != NULL) {
		xmlUnlinkNode(sig);
		xmlFreeNode(sig);
	}
	return r;
}


xmlNodePtr
gw_xmldsig_key_info(xmlNodePtr sig)
{
	xmlNodePtr key_info = NULL;

	return gw_xml_child(sig, GW_DSIG_NS, "KeyInfo", &key_info) == 0 ? key_info : NULL;
}

int
gw_xmldsig_key_info_cert(xmlNodePtr sig, X509 *cert)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	xmlNodePtr key_info = gw_xmldsig_key_info(sig), data;
	int len, r;

	if (key_info == NULL || (len = i2d_X509(cert, &der)) <= 0)
		return SG_ERR_CRYPTO;
	if ((r = sg_b64_encode(der, (size_t)len, SG_B64_STD, &b64)) != 0)
		goto out;
	r = SG_ERR_ALLOC;
	if ((data = xmlNewChild(key_info, sig->ns, BAD_CAST "X509Data", NULL)) == NULL ||
	    xmlNewTextChild(data, sig->ns, BAD_CAST "X509Certificate", BAD_CAST b64) == NULL)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	free(b64);
	return r;
}
