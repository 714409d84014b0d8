/* SPDX-License-Identifier: Apache-2.0 */
/* XML signature verification with xmlsec (OpenSSL back end), and the
 * signer certificate's chain with OpenSSL. See gw_xmlverify.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/openssl/evp.h>

#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_err.h"
#include "sg_log.h"

/* The first thing xmlsec complained about on this thread since
 * gw_xmlverify cleared it: the root cause, not the chain of callers. */
static __thread char xmlsec_reason[160];

static void
xmlsec_error(const char *file, int line, const char *func, const char *errorObject,
    const char *errorSubject, int reason, const char *msg)
{
	(void)file;
	(void)line;
	if (xmlsec_reason[0] == '\0')
		sg_msg(xmlsec_reason, sizeof(xmlsec_reason), "%s: %s",
		    errorObject != NULL ? errorObject : "xmlsec", msg != NULL ? msg : "error");
	sg_debug("xmlsec: %s: %s/%s reason %d: %s", func != NULL ? func : "?",
	    errorObject != NULL ? errorObject : "", errorSubject != NULL ? errorSubject : "",
	    reason, msg != NULL ? msg : "");
}

int
gw_xmlverify_global_init(void)
{
	if (xmlSecInit() < 0)
		return SG_ERR_INTERNAL;
	if (xmlSecCheckVersion() != 1) {
		sg_error("xmlsec: the library is not the version sealgated was built with");
		xmlSecShutdown();
		return SG_ERR_INTERNAL;
	}
	if (xmlSecCryptoAppInit(NULL) < 0) {
		xmlSecShutdown();
		return SG_ERR_INTERNAL;
	}
	if (xmlSecCryptoInit() < 0) {
		xmlSecCryptoAppShutdown();
		xmlSecShutdown();
		return SG_ERR_INTERNAL;
	}
	/* Set last: initialisation installs the default (stderr) reporter. */
	xmlSecErrorsSetCallback(xmlsec_error);
	return 0;
}

void
gw_xmlverify_global_cleanup(void)
{
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
}

/* The element a Reference URI names: "" is the whole document, "#id" an
 * element carrying a registered ID. Anything else (other documents,
 * XPointer) is refused. */
static xmlNodePtr
reference_target(xmlDocPtr doc, const xmlChar *uri)
{
	xmlAttrPtr id;

	if (uri == NULL)
		return NULL;
	if (uri[0] == '\0')
		return xmlDocGetRootElement(doc);
	if (uri[0] != '#' || uri[1] == '\0' || xmlStrchr(uri, '(') != NULL)
		return NULL;
	if ((id = xmlGetID(doc, uri + 1)) == NULL || id->parent == NULL ||
	    id->parent->type != XML_ELEMENT_NODE)
		return NULL;
	return id->parent;
}

static int
list_references(xmlNodePtr sig, xmlNodePtr *refs, size_t max_refs, size_t *n_refs, char *why,
    size_t whylen)
{
	xmlNodePtr signed_info = gw_xml_element(sig->children), ref;
	size_t n = 0;

	*n_refs = 0;
	if (!gw_xml_is(signed_info, GW_DSIG_NS, "SignedInfo"))
		return sg_why(SG_ERR_CRYPTO, why, whylen, "the signature has no SignedInfo");
	for (ref = gw_xml_element(signed_info->children); ref != NULL;
	    ref = gw_xml_element(ref->next)) {
		xmlChar *uri;
		xmlNodePtr target;

		if (!gw_xml_is(ref, GW_DSIG_NS, "Reference"))
			continue;
		if (n == max_refs)
			return sg_why(SG_ERR_CRYPTO, why, whylen, "the signature has more than %zu references", max_refs);
		if ((uri = xmlGetProp(ref, BAD_CAST "URI")) == NULL)
			return sg_why(SG_ERR_CRYPTO, why, whylen, "a Reference has no URI");
		target = reference_target(sig->doc, uri);
		if (target == NULL) {
			sg_why(SG_ERR_CRYPTO, why, whylen, "Reference URI \"%.60s\" names nothing in this document",
			    (const char *)uri);
			xmlFree(uri);
			return SG_ERR_CRYPTO;
		}
		xmlFree(uri);
		refs[n++] = target;
	}
	if (n == 0)
		return sg_why(SG_ERR_CRYPTO, why, whylen, "the signature has no Reference");
	*n_refs = n;
	return 0;
}

static int
enable_transforms(xmlSecDSigCtxPtr ctx, int allow_sha1)
{
	int r = 0;

	/* SignedInfo: canonicalisation and signature methods. */
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id);
	r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha512Id);
	/* References: transforms and digest methods. */
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId);
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId);
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id);
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id);
	r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id);
	if (allow_sha1) {
		r |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha1Id);
		r |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha1Id);
	}
	return r == 0 ? 0 : SG_ERR_ALLOC;
}

static xmlSecKeyPtr
signer_key(X509 *signer)
{
	EVP_PKEY *pub = X509_get_pubkey(signer);
	xmlSecKeyDataPtr data;
	xmlSecKeyPtr key;

	if (pub == NULL)
		return NULL;
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pub)) == NULL) {
		EVP_PKEY_free(pub);
		return NULL;
	}
	if ((key = xmlSecKeyCreate()) == NULL || xmlSecKeySetValue(key, data) < 0) {
		xmlSecKeyDataDestroy(data);
		xmlSecKeyDestroy(key);
		return NULL;
	}
	return key;
}

int
gw_xmlverify(xmlNodePtr sig, X509 *signer, int allow_sha1, xmlNodePtr *refs,
    size_t max_refs, size_t *n_refs, char *why, size_t whylen)
{
	xmlSecDSigCtxPtr ctx = NULL;
	int r;

	*n_refs = 0;
	if (sig == NULL || sig->doc == NULL || !gw_xml_is(sig, GW_DSIG_NS, "Signature") ||
	    signer == NULL)
		return sg_why(SG_ERR_CRYPTO, why, whylen, "no XML signature to verify");
	if ((r = list_references(sig, refs, max_refs, n_refs, why, whylen)) != 0)
		return r;
	r = SG_ERR_ALLOC;
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL)
		goto out;
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
	ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
	if (enable_transforms(ctx, allow_sha1) != 0)
		goto out;
	if ((ctx->signKey = signer_key(signer)) == NULL)
		goto out;
	xmlsec_reason[0] = '\0';
	if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen, "the signature could not be processed (%s)",
		    xmlsec_reason[0] != '\0' ? xmlsec_reason : "xmlsec failed");
		goto out;
	}
	if (ctx->status != xmlSecDSigStatusSucceeded) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen, "the signature does not verify");
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		*n_refs = 0;
	xmlSecDSigCtxDestroy(ctx);
	ERR_clear_error();
	return r;
}

int
gw_xmlverify_load_ca(const char *ca_file, X509_STORE **storep)
{
	X509_STORE *store = NULL;
	X509 *cert = NULL;
	BIO *in = NULL;
	size_t n = 0, roots = 0;
	int r = SG_ERR_ALLOC;

	*storep = NULL;
	if ((store = X509_STORE_new()) == NULL)
		goto out;
	if ((in = BIO_new_file(ca_file, "r")) == NULL) {
		sg_error("%s: cannot be read", ca_file);
		r = SG_ERR_IO;
		goto out;
	}
	/* Every certificate goes into the store. OpenSSL takes a self-signed
	 * one as a trust anchor and any other as an intermediate it may build
	 * a chain through, never as an anchor (no X509_V_FLAG_PARTIAL_CHAIN):
	 * a leaf-only signer chains through the file's intermediates to one
	 * of its roots, or not at all. */
	while ((cert = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, cert) != 1)
			goto out;
		roots += X509_self_signed(cert, 0) == 1;
		n++;
		X509_free(cert);
		cert = NULL;
	}
	if (n == 0 || roots == 0) {
		sg_error("%s: %s", ca_file, n == 0 ? "no certificate could be read from it" :
		    "holds no root (self-signed) certificate for a chain to end at");
		r = SG_ERR_PARSE;
		goto out;
	}
	*storep = store;
	store = NULL;
	r = 0;
out:
	X509_free(cert);
	BIO_free(in);
	X509_STORE_free(store);
	ERR_clear_error();
	return r;
}

int
gw_xmlverify_chain(X509 *cert, STACK_OF(X509) *chain, X509_STORE *store, time_t now,
    char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = NULL;
	int r = SG_ERR_ALLOC;

	if ((ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	if (X509_STORE_CTX_init(ctx, store, cert, chain) != 1)
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen, "the signer certificate is not trusted: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
