/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing and walking SOAP envelopes with libxml2; see gw_soapenv.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>

#include "gw_soapenv.h"
#include "gw_xml.h"
#include "sg_err.h"

#define NS_PREFIX_TRIES	100
/* Longest wsu:Id taken. */
#define ID_MAX		256
#define DOCTYPE_REFUSED	"a document type declaration (DOCTYPE) is not allowed in SOAP"

/* Set by the parser's DOCTYPE callback on this thread's current parse. */
static __thread int doctype_refused;

const char *
gw_soapenv_ns(enum sg_soap_version version)
{
	return version == SG_SOAP_11 ? GW_SOAP11_NS : GW_SOAP12_NS;
}

const char *
gw_soapenv_media_type(enum sg_soap_version version)
{
	return version == SG_SOAP_11 ? "text/xml" : "application/soap+xml";
}

/* The node after n in document order within top's subtree, or NULL. */
static xmlNodePtr
walk_next(xmlNodePtr n, xmlNodePtr top)
{
	if (n->type == XML_ELEMENT_NODE && n->children != NULL)
		return n->children;
	while (n != top && n->next == NULL)
		n = n->parent;
	return n == top ? NULL : n->next;
}

/* The parser calls this when it meets <!DOCTYPE: stop right there, before
 * any entity declaration is read. */
static void
doctype_seen(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	doctype_refused = 1;
	xmlStopParser(ctx);
}

/* Whitespace only, or a comment: what may sit between the elements of
 * Envelope and Header. */
static int
ignorable(xmlNodePtr n)
{
	const xmlChar *p;

	if (n->type == XML_COMMENT_NODE)
		return 1;
	if (n->type != XML_TEXT_NODE)
		return 0;
	for (p = n->content; p != NULL && *p != '\0'; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	}
	return 1;
}

static int
check_layout(struct gw_soapenv *env, char *why, size_t whylen)
{
	enum sg_soap_version other = env->version == SG_SOAP_11 ? SG_SOAP_12 : SG_SOAP_11;
	const char *ns = gw_soapenv_ns(env->version);
	const char *v = env->version == SG_SOAP_11 ? "1.1" : "1.2";
	xmlNodePtr n, root = env->envelope;

	if (!gw_xml_is(root, ns, "Envelope")) {
		if (gw_xml_is(root, gw_soapenv_ns(other), "Envelope"))
			return sg_why(SG_ERR_PARSE, why, whylen,
			    "a SOAP %s envelope, but this authority takes SOAP %s",
			    other == SG_SOAP_11 ? "1.1" : "1.2", v);
		return sg_why(SG_ERR_PARSE, why, whylen,
		    "the document element is not a SOAP %s Envelope", v);
	}
	for (n = root->children; n != NULL; n = n->next) {
		if (ignorable(n))
			continue;
		if (n->type != XML_ELEMENT_NODE)
			return sg_why(SG_ERR_PARSE, why, whylen, "character data in the Envelope");
		if (env->header == NULL && env->body == NULL && gw_xml_is(n, ns, "Header"))
			env->header = n;
		else if (env->body == NULL && gw_xml_is(n, ns, "Body"))
			env->body = n;
		else
			return sg_why(SG_ERR_PARSE, why, whylen, "the Envelope must hold an "
			    "optional Header and a Body, nothing else (found %.60s)",
			    (const char *)n->name);
	}
	if (env->body == NULL)
		return sg_why(SG_ERR_PARSE, why, whylen, "the Envelope has no Body");
	for (n = env->header != NULL ? env->header->children : NULL; n != NULL; n = n->next) {
		if (!ignorable(n) && n->type != XML_ELEMENT_NODE)
			return sg_why(SG_ERR_PARSE, why, whylen, "character data in the Header");
	}
	return 0;
}

/* What SOAP forbids in a message (SOAP 1.1 section 3, SOAP 1.2 part 1
 * section 5): a document type declaration, processing instructions. */
static int
check_nodes(struct gw_soapenv *env, char *why, size_t whylen)
{
	xmlNodePtr top = (xmlNodePtr)env->doc, n;

	if (env->doc->intSubset != NULL || env->doc->extSubset != NULL)
		return sg_why(SG_ERR_PARSE, why, whylen, DOCTYPE_REFUSED);
	for (n = env->doc->children; n != NULL; n = walk_next(n, top)) {
		if (n->type == XML_PI_NODE)
			return sg_why(SG_ERR_PARSE, why, whylen,
			    "processing instructions are not allowed in SOAP");
		if (n->type == XML_ENTITY_REF_NODE)
			return sg_why(SG_ERR_PARSE, why, whylen,
			    "entity references are not allowed");
	}
	if ((env->envelope = xmlDocGetRootElement(env->doc)) == NULL)
		return sg_why(SG_ERR_PARSE, why, whylen, "no document element");
	return 0;
}

int
gw_soapenv_parse(const void *data, size_t len, enum sg_soap_version version,
    struct gw_soapenv *env, char *why, size_t whylen)
{
	xmlParserCtxtPtr ctxt = NULL;
	const xmlError *err;
	int r;

	memset(env, 0, sizeof(*env));
	env->version = version;
	why[0] = '\0';
	if (len > (size_t)INT32_MAX)
		return sg_why(SG_ERR_PARSE, why, whylen, "the message is too large");
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return SG_ERR_ALLOC;
	ctxt->sax->internalSubset = doctype_seen;
	doctype_refused = 0;
	env->doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doctype_refused)
		r = sg_why(SG_ERR_PARSE, why, whylen, DOCTYPE_REFUSED);
	else if (env->doc == NULL || !ctxt->wellFormed) {
		err = xmlCtxtGetLastError(ctxt);
		r = err != NULL && err->message != NULL ?
		    sg_why(SG_ERR_PARSE, why, whylen, "not well-formed XML (line %d: %.*s)",
		    err->line, (int)strcspn(err->message, "\r\n"), err->message) :
		    sg_why(SG_ERR_PARSE, why, whylen, "not well-formed XML");
	} else if ((r = check_nodes(env, why, whylen)) == 0)
		r = check_layout(env, why, whylen);
	xmlFreeParserCtxt(ctxt);
	return r;
}

void
gw_soapenv_free(struct gw_soapenv *env)
{
	if (env == NULL)
		return;
	xmlFreeDoc(env->doc);
	memset(env, 0, sizeof(*env));
}

int
gw_soapenv_register_ids(struct gw_soapenv *env, char *why, size_t whylen)
{
	xmlNodePtr n;
	xmlAttrPtr a;
	xmlChar *value;
	int r = 0;

	for (n = env->envelope; n != NULL && r == 0; n = walk_next(n, env->envelope)) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (a = n->properties; a != NULL && r == 0; a = a->next) {
			if (a->ns == NULL || !xmlStrEqual(a->ns->href, BAD_CAST GW_WSU_NS) ||
			    !xmlStrEqual(a->name, BAD_CAST "Id"))
				continue;
			if ((value = xmlNodeGetContent((xmlNodePtr)a)) == NULL)
				return SG_ERR_ALLOC;
			/* Checked first: xmlAddID reports a clash on stderr. */
			if (xmlStrlen(value) > ID_MAX || xmlValidateNCName(value, 0) != 0)
				r = sg_why(SG_ERR_PARSE, why, whylen,
				    "wsu:Id \"%.60s\" is not an NCName", (const char *)value);
			else if (xmlGetID(env->doc, value) != NULL)
				r = sg_why(SG_ERR_PARSE, why, whylen,
				    "the id \"%.60s\" names two elements", (const char *)value);
			else if (xmlAddID(NULL, env->doc, value, a) == NULL)
				r = SG_ERR_ALLOC;
			xmlFree(value);
		}
	}
	return r;
}

xmlNsPtr
gw_soapenv_ns_for(xmlNodePtr node, const char *href, const char *prefix)
{
	xmlNsPtr ns = xmlSearchNsByHref(node->doc, node, BAD_CAST href);
	char name[64];
	int i;

	/* Attributes need a prefix: a default namespace will not do. */
	if (ns != NULL && ns->prefix != NULL)
		return ns;
	for (i = 0; i < NS_PREFIX_TRIES; i++) {
		if ((i == 0 ? snprintf(name, sizeof(name), "%s", prefix) :
		    snprintf(name, sizeof(name), "%s%d", prefix, i)) >= (int)sizeof(name))
			return NULL;
		if (xmlSearchNs(node->doc, node, BAD_CAST name) == NULL)
			return xmlNewNs(node, BAD_CAST href, BAD_CAST name);
	}
	return NULL;
}
