/* SPDX-License-Identifier: Apache-2.0 */
/* XML helpers over libxml2 that the XML-DSig, SOAP, WS-Security and
 * authority code share: finding elements, base64 and certificate text,
 * serialising and exclusively canonicalising. See gw_xml.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlsave.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_xml.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

struct c14n_scope {
	xmlNodePtr apex;
	xmlNodePtr exclude;
};

struct c14n_sink {
	struct sg_buf *out;
	int r;
};

int
gw_xml_in_subtree(xmlNodePtr node, xmlNodePtr top)
{
	for (; node != NULL; node = node->parent) {
		if (node == top)
			return 1;
	}
	return 0;
}

/* libxml2 asks this of every node, attribute and namespace node; a
 * namespace node comes with the element it is in scope of. */
static int
c14n_visible(void *user_data, xmlNodePtr node, xmlNodePtr parent)
{
	const struct c14n_scope *scope = user_data;
	xmlNodePtr at = node;

	if (node == NULL)
		return 0;
	if (node->type == XML_NAMESPACE_DECL)
		at = parent;
	else if (node->type == XML_ATTRIBUTE_NODE)
		at = node->parent;
	if (at == NULL || !gw_xml_in_subtree(at, scope->apex))
		return 0;
	return scope->exclude == NULL || !gw_xml_in_subtree(at, scope->exclude);
}

static int
c14n_write(void *context, const char *buffer, int len)
{
	struct c14n_sink *sink = context;

	if (len < 0)
		return -1;
	if (sink->r == 0)
		sink->r = sg_buf_append(sink->out, buffer, (size_t)len);
	return sink->r == 0 ? len : -1;
}

static int
c14n_close(void *context)
{
	(void)context;
	return 0;
}

int
gw_xml_c14n(xmlNodePtr apex, xmlNodePtr exclude, struct sg_buf *out)
{
	struct c14n_scope scope = { apex, exclude };
	struct c14n_sink sink = { out, 0 };
	xmlOutputBufferPtr buf;
	int n;

	if (apex == NULL || apex->type != XML_ELEMENT_NODE || apex->doc == NULL)
		return SG_ERR_INVALID_ARG;
	if ((buf = xmlOutputBufferCreateIO(c14n_write, c14n_close, &sink, NULL)) == NULL)
		return SG_ERR_ALLOC;
	n = xmlC14NExecute(apex->doc, c14n_visible, &scope, XML_C14N_EXCLUSIVE_1_0, NULL, 0, buf);
	if (xmlOutputBufferClose(buf) < 0 && sink.r == 0)
		sink.r = SG_ERR_CRYPTO;
	if (sink.r != 0)
		return sink.r;
	if (n < 0) {
		sg_error("exclusive canonicalisation failed");
		return SG_ERR_CRYPTO;
	}
	return 0;
}

int
gw_xml_c14n_digest(xmlNodePtr apex, xmlNodePtr exclude, const EVP_MD *md, unsigned char *out,
    unsigned int *out_len)
{
	struct sg_buf canon;
	int r;

	*out_len = 0;
	sg_buf_init(&canon, GW_XML_C14N_MAX);
	if ((r = gw_xml_c14n(apex, exclude, &canon)) == 0 &&
	    EVP_Digest(canon.data, canon.len, out, out_len, md, NULL) != 1)
		r = SG_ERR_CRYPTO;
	sg_buf_free(&canon);
	return r;
}

int
gw_xml_is(xmlNodePtr n, const char *ns, const char *local)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, BAD_CAST local))
		return 0;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && xmlStrEqual(n->ns->href, BAD_CAST ns);
}

xmlNodePtr
gw_xml_element(xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE)
			return n;
	}
	return NULL;
}

int
gw_xml_child(xmlNodePtr parent, const char *ns, const char *local, xmlNodePtr *foundp)
{
	xmlNodePtr n;

	*foundp = NULL;
	for (n = gw_xml_element(parent != NULL ? parent->children : NULL); n != NULL;
	    n = gw_xml_element(n->next)) {
		if (!gw_xml_is(n, ns, local))
			continue;
		if (*foundp != NULL) {
			*foundp = NULL;
			return SG_ERR_PARSE;
		}
		*foundp = n;
	}
	return 0;
}

int
gw_xml_base64_decode(const xmlChar *text, unsigned char **outp, size_t *lenp)
{
	char *packed;
	size_t i, n = 0, len;
	int r;

	*outp = NULL;
	*lenp = 0;
	if (text == NULL)
		return SG_ERR_PARSE;
	len = strlen((const char *)text);
	if ((packed = malloc(len + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			packed[n++] = (char)text[i];
	}
	r = n == 0 ? SG_ERR_PARSE : sg_b64_decode(packed, n, SG_B64_STD, outp, lenp);
	free(packed);
	return r;
}

X509 *
gw_xml_cert(xmlNodePtr node)
{
	xmlChar *text = node != NULL ? xmlNodeGetContent(node) : NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *cert = NULL;

	if (gw_xml_base64_decode(text, &der, &len) == 0) {
		p = der;
		cert = d2i_X509(NULL, &p, (long)len);
		if (cert != NULL && p != der + len) {
			X509_free(cert);
			cert = NULL;
		}
	}
	ERR_clear_error();
	free(der);
	xmlFree(text);
	return cert;
}

int
gw_xml_serialise(xmlDocPtr doc, struct sg_buf *out)
{
	xmlChar *mem = NULL;
	int len = 0, r;

	sg_buf_reset(out);
	xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
	if (mem == NULL || len < 0)
		return SG_ERR_ALLOC;
	r = sg_buf_append(out, mem, (size_t)len);
	if (out->secret)
		OPENSSL_cleanse(mem, (size_t)len);	/* libxml2's copy goes too */
	xmlFree(mem);
	return r;
}
