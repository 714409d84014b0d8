/* SPDX-License-Identifier: Apache-2.0 */
/* XML helpers over libxml2 that the XML-DSig, SOAP envelope, WS-Security
 * and authority code share: finding elements by namespace and name,
 * reading base64 and certificate text, serialising a document and
 * canonicalising a subtree. Nothing here signs or verifies (gw_xmldsig.h,
 * gw_xmlverify.h). Every node pointer returned is borrowed from its
 * document. */
#ifndef GW_XML_H
#define GW_XML_H

#include <stddef.h>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sg_buf.h"

/* 1 when n is an element named local in namespace ns (NULL: in no
 * namespace, an unqualified element). */
int gw_xml_is(xmlNodePtr n, const char *ns, const char *local);
/* The first element among n and its following siblings (get0), or NULL. */
xmlNodePtr gw_xml_element(xmlNodePtr n);
/* The one child element of parent named local in ns: 0 with *foundp
 * (NULL when there is none), SG_ERR_PARSE when there are several. */
int gw_xml_child(xmlNodePtr parent, const char *ns, const char *local, xmlNodePtr *foundp);
/* 1 when node is top or lies in top's subtree (attributes included). */
int gw_xml_in_subtree(xmlNodePtr node, xmlNodePtr top);

/* Decode the text of an xs:base64Binary element (whitespace between the
 * characters allowed, as XML Schema does; otherwise strict). *outp is new.
 * SG_ERR_PARSE, SG_ERR_ALLOC. */
int gw_xml_base64_decode(const xmlChar *text, unsigned char **outp, size_t *lenp);

/* The X.509 certificate (base64 DER, nothing after it) in the text of
 * node, or NULL (node may be NULL). New; X509_free it. */
X509 *gw_xml_cert(xmlNodePtr node);

/* Serialise doc as UTF-8 with an XML declaration and no added
 * whitespace into out (reset first). SG_ERR_TOO_LARGE, SG_ERR_ALLOC. */
int gw_xml_serialise(xmlDocPtr doc, struct sg_buf *out);

/* Exclusive XML Canonicalization 1.0 without comments of the subtree at
 * apex (an element), leaving out the subtree at exclude (NULL: nothing),
 * appended to out. Namespaces declared above apex and used inside are
 * rendered on the apex, so the bytes equal those of the subtree as a
 * document of its own. SG_ERR_TOO_LARGE past out's cap, SG_ERR_CRYPTO
 * when libxml2 fails, SG_ERR_ALLOC. */
int gw_xml_c14n(xmlNodePtr apex, xmlNodePtr exclude, struct sg_buf *out);

/* Canonical subtrees digested by gw_xml_c14n_digest are capped at this. */
#define GW_XML_C14N_MAX	((size_t)64 * 1024 * 1024)

/* md over gw_xml_c14n(apex, exclude) into out (EVP_MAX_MD_SIZE bytes),
 * *out_len bytes. md is borrowed. Errors as gw_xml_c14n, SG_ERR_CRYPTO. */
int gw_xml_c14n_digest(xmlNodePtr apex, xmlNodePtr exclude, const EVP_MD *md, unsigned char *out,
    unsigned int *out_len);

#endif
