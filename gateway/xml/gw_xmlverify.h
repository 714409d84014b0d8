/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying the XML signatures authorities send (responses), with xmlsec
 * over OpenSSL: gw_xmlverify.c is the gateway's only xmlsec user. The
 * caller finds the signer's certificate where the profile puts it, checks
 * it against the authority's CA here, and decides what the References had
 * to cover from what gw_xmlverify reports. */
#ifndef GW_XMLVERIFY_H
#define GW_XMLVERIFY_H

#include <stddef.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

/* Once, before threads start (after xmlInitParser); and at exit. */
int gw_xmlverify_global_init(void);
void gw_xmlverify_global_cleanup(void);

/* Verify sig, a ds:Signature inside its document, with signer's public
 * key (KeyInfo is never used to find a key). xmlsec checks every Reference
 * digest and the SignatureValue. Accepted: same-document references only
 * (URI "" or "#id"; the caller registers ID attributes with xmlAddID
 * first), exclusive or inclusive C14N 1.0 (InclusiveNamespaces PrefixList
 * honoured), the enveloped-signature transform, RSA PKCS#1 v1.5 or ECDSA
 * signatures and digests of SHA-256 or better; SHA-1 too when allow_sha1.
 * refs[i] gets the element Reference i covers (the root element for ""),
 * *n_refs their number (at most max_refs, else refused).
 * 0 when the signature is valid. SG_ERR_CRYPTO when it is not (why gets
 * one sentence), SG_ERR_ALLOC. */
int gw_xmlverify(xmlNodePtr sig, X509 *signer, int allow_sha1, xmlNodePtr *refs,
    size_t max_refs, size_t *n_refs, char *why, size_t whylen);

/* The certificates of a PEM file, for gw_xmlverify_chain: its
 * self-signed ones are the trust anchors, the others intermediates a chain
 * may go through (an answer that carries only its signer's certificate
 * needs the signer's issuing CAs here, with their root). SG_ERR_IO,
 * SG_ERR_PARSE (no certificate, or no self-signed one, in it),
 * SG_ERR_ALLOC. */
int gw_xmlverify_load_ca(const char *ca_file, X509_STORE **storep);
/* 0 when cert (with the untrusted intermediates in chain, may be NULL)
 * chains to an anchor in store and every certificate on the way is valid
 * at now. SG_ERR_CRYPTO with why otherwise. */
int gw_xmlverify_chain(X509 *cert, STACK_OF(X509) *chain, X509_STORE *store, time_t now,
    char *why, size_t whylen);

#endif
