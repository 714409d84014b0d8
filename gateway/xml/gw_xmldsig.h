/* SPDX-License-Identifier: Apache-2.0 */
/* XML signatures made on the token (docs/platform.md: Debian 12's xmlsec1
 * cannot sign with a token key). libxml2 builds the ds:Signature and
 * canonicalises with exclusive C14N 1.0, OpenSSL digests, the token signs
 * the canonical SignedInfo. The caller serialises the document once,
 * after signing, and sends exactly those bytes. Verification lives in
 * gw_xmlverify.c (xmlsec). */
#ifndef GW_XMLDSIG_H
#define GW_XMLDSIG_H

#include <stddef.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

#include "sg_config.h"
#include "sgp11.h"

#define GW_DSIG_NS		"http://www.w3.org/2000/09/xmldsig#"
#define GW_DSIG_ENVELOPED	"http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define GW_EXC_C14N		"http://www.w3.org/2001/10/xml-exc-c14n#"

/* Upper bound on the References of one signature. */
#define GW_XMLDSIG_MAX_REFS	16

/* What one Reference covers. */
struct gw_xmldsig_ref {
	xmlNodePtr node;	/* the element whose subtree is digested */
	/* "" (the document the signature is enveloped in, whose root node
	 * is) or "#" + the value of node's ID attribute. */
	const char *uri;
	/* The Signature sits inside node: an enveloped-signature transform
	 * comes before exc-c14n and the Signature's subtree is left out. */
	int enveloped;
};

/* Append a ds:Signature (prefix "ds", namespace declared on it) as the
 * last child of parent: SignedInfo with exclusive C14N, sig_alg and one
 * Reference per refs[i] (transforms: enveloped-signature when asked, then
 * exc-c14n; digest_alg), SignatureValue made on the token with key, and an
 * empty ds:KeyInfo for the caller to fill (it is not signed). The key
 * type must match sig_alg (SG_ERR_INVALID_ARG otherwise). Everything the
 * references cover must be final before the call. On failure nothing is
 * left in the document. *sigp gets the Signature element.
 * SG_ERR_TOKEN_LOST when the token went away (recover and build again),
 * SG_ERR_TOKEN, SG_ERR_CRYPTO, SG_ERR_ALLOC. */
int gw_xmldsig_sign(xmlNodePtr parent, const struct gw_xmldsig_ref *refs, size_t n_refs,
    enum sg_xmlsig_alg sig_alg, enum sg_xmldigest_alg digest_alg, struct sgp11_key *key,
    xmlNodePtr *sigp);
/* The ds:KeyInfo child of a Signature made by gw_xmldsig_sign. */
xmlNodePtr gw_xmldsig_key_info(xmlNodePtr sig);
/* Fill that KeyInfo with X509Data/X509Certificate holding cert (base64
 * DER). SG_ERR_CRYPTO, SG_ERR_ALLOC. */
int gw_xmldsig_key_info_cert(xmlNodePtr sig, X509 *cert);

/* An ECDSA-Sig-Value (der, der_len bytes, borrowed) as XML-DSig writes
 * ECDSA values: r||s, each as wide as a group order of order_bits, into
 * raw (*raw_len bytes available; set to the length written).
 * SG_ERR_INVALID_ARG (raw too small), SG_ERR_CRYPTO (not an
 * ECDSA-Sig-Value, or a part wider than the order). */
int gw_xmldsig_ecdsa_raw(const unsigned char *der, size_t der_len, int order_bits,
    unsigned char *raw, size_t *raw_len);

/* Algorithm identifiers (URIs) of the XML Signature specifications. */
const char *gw_xmldsig_sig_uri(enum sg_xmlsig_alg alg);
const char *gw_xmldsig_digest_uri(enum sg_xmldigest_alg alg);

#endif
