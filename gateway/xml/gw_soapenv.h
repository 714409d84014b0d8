/* SPDX-License-Identifier: Apache-2.0 */
/* SOAP envelopes as the WS-Security code sees them: parsed with libxml2
 * without network access, DTD or processing instructions, checked to be
 * one SOAP version's Envelope holding an optional Header and a Body (walk
 * it with gw_xml.h's gw_xml_is, gw_xml_element, gw_xml_child). Shared by
 * the request signer (gw_wssec_sign.c) and the response verifier
 * (gw_wssec_verify.c). */
#ifndef GW_SOAPENV_H
#define GW_SOAPENV_H

#include <stddef.h>

#include <libxml/tree.h>

#include "sg_config.h"

#define GW_SOAP11_NS	"http://schemas.xmlsoap.org/soap/envelope/"
#define GW_SOAP12_NS	"http://www.w3.org/2003/05/soap-envelope"
#define GW_WSSE_NS \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define GW_WSU_NS \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define GW_WSA_NS	"http://www.w3.org/2005/08/addressing"
#define GW_WSS_X509V3 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define GW_WSS_BASE64 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

/* Room for every description the SOAP and WS-Security code writes. */
#define GW_SOAP_WHY_MAX	256

struct gw_soapenv {
	xmlDocPtr doc;			/* owned */
	enum sg_soap_version version;
	xmlNodePtr envelope;		/* the document element */
	xmlNodePtr header;		/* NULL when the envelope has none */
	xmlNodePtr body;
};

/* The envelope namespace of a SOAP version (static). */
const char *gw_soapenv_ns(enum sg_soap_version version);
/* The media type of a SOAP version: text/xml or application/soap+xml. */
const char *gw_soapenv_media_type(enum sg_soap_version version);

/* Parse len bytes as a SOAP envelope of version into *env (cleared
 * first). Refused, with why naming the reason: malformed XML, a document
 * type declaration, a processing instruction, a document element that is
 * not this version's Envelope, character data in Envelope or Header, and
 * an Envelope that is not [Header] Body. SG_ERR_PARSE then, SG_ERR_ALLOC.
 * Release env with gw_soapenv_free whatever the result. */
int gw_soapenv_parse(const void *data, size_t len, enum sg_soap_version version,
    struct gw_soapenv *env, char *why, size_t whylen);
void gw_soapenv_free(struct gw_soapenv *env);

/* Register every wsu:Id of the document as an XML ID so that "#id"
 * references resolve (xml:id attributes are registered by the parser).
 * SG_ERR_PARSE when a value is not an NCName or names two elements (why
 * says which), SG_ERR_ALLOC. */
int gw_soapenv_register_ids(struct gw_soapenv *env, char *why, size_t whylen);

/* A namespace for href usable on node (get0): the one in scope if any,
 * else one declared on node with prefix, or with prefix and a number when
 * that prefix is taken in node's scope. NULL when out of memory. */
xmlNsPtr gw_soapenv_ns_for(xmlNodePtr node, const char *href, const char *prefix);

#endif
