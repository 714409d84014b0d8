/* SPDX-License-Identifier: Apache-2.0 */
/* The Vero certificate service adapter: messages to schema v1.01, the
 * renewal signature made on the token, signed responses verified. See
 * authority_vero.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "authority.h"
#include "authority_vero.h"
#include "authority_vero_answer.h"
#include "gw_forward.h"
#include "gw_soapenv.h"
#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

#define TIMEOUT_MS	30000
#define REQUEST_MAX	((size_t)256 * 1024)

struct gw_vero {
	const struct sg_authority *authority;
	struct gw_forward *forward;
	X509_STORE *signer_ca;		/* response_signer_ca_file */
};

/* One operation: its SOAPAction and element names. */
struct operation {
	const char *action;
	const char *request;
	const char *response;
};

static const struct operation op_sign_new = {
	"signNewCertificate", "SignNewCertificateRequest", "SignNewCertificateResponse"
};
static const struct operation op_renew = {
	"renewCertificate", "RenewCertificateRequest", "RenewCertificateResponse"
};
static const struct operation op_get = {
	"getCertificate", "GetCertificateRequest", "GetCertificateResponse"
};

int
gw_vero_new(const struct sg_authority *authority, struct gw_vero **vp)
{
	struct gw_forward_opts fo;
	struct gw_vero *v = NULL;
	int r;

	*vp = NULL;
	if (authority == NULL || authority->type != SG_AUTHORITY_VERO_CERTSERVICE)
		return SG_ERR_INVALID_ARG;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return SG_ERR_ALLOC;
	v->authority = authority;
	memset(&fo, 0, sizeof(fo));
	fo.base_url = authority->url;
	fo.ca_file = authority->ca_file;
	fo.timeout_ms = TIMEOUT_MS;
	fo.retries = 2;		/* only when the request cannot have been sent */
	fo.max_connections = 2;
	fo.max_reply_bytes = GW_VERO_ANSWER_MAX;
	if ((r = gw_forward_new(&fo, &v->forward)) != 0 ||
	    (r = gw_xmlverify_load_ca(authority->vero.response_signer_ca_file, &v->signer_ca)) != 0)
		goto out;
	*vp = v;
	v = NULL;
out:
	gw_vero_free(v);
	return r;
}

void
gw_vero_free(struct gw_vero *v)
{
	if (v == NULL)
		return;
	gw_forward_free(v->forward);
	X509_STORE_free(v->signer_ca);
	free(v);
}

/* --- requests --- */

/* An unqualified child element with text (xmlNewTextChild would put it
 * in the parent's namespace: the schema wants no namespace). */
static xmlNodePtr
text_child(xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, BAD_CAST name, NULL);

	if (n == NULL)
		return NULL;
	xmlNodeAddContent(n, BAD_CAST text);
	if (xmlAddChild(parent, n) == NULL) {
		xmlFreeNode(n);
		return NULL;
	}
	return n;
}

/* A SOAP 1.1 envelope whose Body holds the operation's root element (in
 * the service namespace; its children are unqualified). */
static int
new_request(const struct operation *op, const struct sg_identity *id, xmlDocPtr *docp,
    xmlNodePtr *rootp)
{
	xmlDocPtr doc;
	xmlNodePtr env, body, root;
	xmlNsPtr soap, ser;

	*docp = NULL;
	if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL)
		return SG_ERR_ALLOC;
	if ((env = xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL)) == NULL)
		goto fail;
	xmlDocSetRootElement(doc, env);
	if ((soap = xmlNewNs(env, BAD_CAST GW_SOAP11_NS, BAD_CAST "soapenv")) == NULL)
		goto fail;
	xmlSetNs(env, soap);
	if ((body = xmlNewChild(env, soap, BAD_CAST "Body", NULL)) == NULL ||
	    (root = xmlNewChild(body, NULL, BAD_CAST op->request, NULL)) == NULL ||
	    (ser = xmlNewNs(root, BAD_CAST GW_VERO_NS, BAD_CAST "ser")) == NULL)
		goto fail;
	xmlSetNs(root, ser);
	if (text_child(root, "Environment", id->issuer->vero.environment == SG_VERO_PRODUCTION ?
	    "PRODUCTION" : "TEST") == NULL || text_child(root, "CustomerId", id->customer_id) == NULL)
		goto fail;
	if (id->customer_name != NULL &&
	    text_child(root, "CustomerName", id->customer_name) == NULL)
		goto fail;
	*docp = doc;
	*rootp = root;
	return 0;
fail:
	xmlFreeDoc(doc);
	return SG_ERR_ALLOC;
}

static int
add_csr(xmlNodePtr root, X509_REQ *csr)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	int len, r = SG_ERR_ALLOC;

	if ((len = i2d_X509_REQ(csr, &der)) <= 0) {
		ERR_clear_error();
		return SG_ERR_CRYPTO;
	}
	if ((r = sg_b64_encode(der, (size_t)len, SG_B64_STD, &b64)) != 0)
		goto out;
	r = text_child(root, "CertificateRequest", b64) != NULL ? 0 :
	    SG_ERR_ALLOC;
out:
	OPENSSL_free(der);
	free(b64);
	return r;
}

/* Serialise doc once, POST exactly those bytes, check the answer. */
static int
call(struct gw_vero *v, const struct operation *op, xmlDocPtr doc, struct gw_vero_result *res,
    char *why, size_t whylen)
{
	struct gw_forward_reply reply;
	struct sg_buf wire;
	char action[64], errors[512];
	const char *headers[1];
	int r;

	memset(&reply, 0, sizeof(reply));
	sg_buf_init_secret(&wire, REQUEST_MAX);	/* SignNew carries the transfer password */
	if ((r = gw_xml_serialise(doc, &wire)) != 0)
		goto out;
	if (snprintf(action, sizeof(action), "SOAPAction: \"%s\"", op->action) >= (int)sizeof(action)) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	headers[0] = action;
	r = gw_forward_post(v->forward, "", "text/xml; charset=utf-8", wire.data, wire.len, headers,
	    1, &reply);
	if (r == SG_ERR_TIMEOUT) {
		sg_why(r, why, whylen, "%s: no answer in time", op->action);
		goto out;
	}
	if (r != 0) {
		r = sg_why(r == SG_ERR_ALLOC ? r : SG_ERR_AUTHORITY, why, whylen,
		    "%s: the service could not be reached", op->action);
		goto out;
	}
	r = gw_vero_answer_read(v->signer_ca, op->action, op->response, reply.status, reply.body.data,
	    reply.body.len, time(NULL), res, why, whylen);
	errors[0] = '\0';
	if (r == 0 && res->n_errors > 0)
		gw_vero_errors_text(res, errors, sizeof(errors));
	sg_info("vero %s: %s %s%s%s%s", v->authority->name, op->action,
	    r != 0 ? "refused:" : res->ok ? "OK" : "FAIL", r != 0 ? why : "",
	    errors[0] != '\0' ? " " : "", errors);
out:
	sg_buf_free(&wire);
	gw_forward_reply_free(&reply);
	return r;
}

int
gw_vero_sign_new(struct gw_vero *v, const struct sg_identity *id, const char *transfer_id,
    const char *transfer_password, X509_REQ *csr, struct gw_vero_result *res, char *why,
    size_t whylen)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, pw = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = new_request(&op_sign_new, id, &doc, &root)) != 0)
		return r;
	r = SG_ERR_ALLOC;
	if (text_child(root, "TransferId", transfer_id) == NULL ||
	    (pw = text_child(root, "TransferPassword", transfer_password)) == NULL ||
	    (r = add_csr(root, csr)) != 0)
		goto out;
	r = call(v, &op_sign_new, doc, res, why, whylen);
out:
	/* The one-use password leaves memory with the request. */
	if (pw != NULL && pw->children != NULL && pw->children->content != NULL)
		OPENSSL_cleanse(pw->children->content, strlen((const char *)pw->children->content));
	xmlFreeDoc(doc);
	return r;
}

int
gw_vero_renew(struct gw_vero *v, const struct sg_identity *id, X509_REQ *csr,
    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res, char *why,
    size_t whylen)
{
	struct gw_xmldsig_ref ref;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, sig;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = new_request(&op_renew, id, &doc, &root)) != 0)
		return r;
	if ((r = add_csr(root, csr)) != 0)
		goto out;
	/* Enveloped over the request element as a document of its own:
	 * exclusive C14N gives the same bytes inside the SOAP Body. */
	ref.node = root;
	ref.uri = "";
	ref.enveloped = 1;
	if ((r = gw_xmldsig_sign(root, &ref, 1, SG_XMLSIG_RSA_SHA256, SG_XMLDIGEST_SHA256,
	    current_key, &sig)) != 0) {
		sg_why(r, why, whylen, "renewCertificate: the current key did not sign (%s)",
		    sg_strerror(r));
		goto out;
	}
	if ((r = gw_xmldsig_key_info_cert(sig, current_cert)) != 0)
		goto out;
	r = call(v, &op_renew, doc, res, why, whylen);
out:
	xmlFreeDoc(doc);
	return r;
}

int
gw_vero_get(struct gw_vero *v, const struct sg_identity *id, const char *retrieval_id,
    struct gw_vero_result *res, char *why, size_t whylen)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = new_request(&op_get, id, &doc, &root)) != 0)
		return r;
	if (text_child(root, "RetrievalId", retrieval_id) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	r = call(v, &op_get, doc, res, why, whylen);
out:
	xmlFreeDoc(doc);
	return r;
}

/* --- the ops table row (authority.h) --- */

/* The adapter holds no key: the service takes no client certificate, and
 * a renewal is signed with the key the call names. */
static int
vero_open(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, void **statep, char *why, size_t whylen)
{
	struct gw_vero *v = NULL;
	int r;

	(void)token;
	(void)key;
	(void)cert;
	(void)why;	/* gw_vero_new's errors need no description */
	(void)whylen;
	r = gw_vero_new(a, &v);
	*statep = v;
	return r;
}

static void
vero_close(void *state)
{
	gw_vero_free(state);
}

static int
vero_sign_new(void *state, const struct sg_identity *id, const char *transfer_id,
    const char *transfer_password, X509_REQ *csr, struct gw_vero_result *res, char *why,
    size_t whylen)
{
	return gw_vero_sign_new(state, id, transfer_id, transfer_password, csr, res, why, whylen);
}

static int
vero_renew(void *state, const struct sg_identity *id, X509_REQ *csr,
    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res, char *why,
    size_t whylen)
{
	return gw_vero_renew(state, id, csr, current_key, current_cert, res, why, whylen);
}

static int
vero_get(void *state, const struct sg_identity *id, const char *retrieval_id,
    struct gw_vero_result *res, char *why, size_t whylen)
{
	return gw_vero_get(state, id, retrieval_id, res, why, whylen);
}

const struct gw_authority_ops gw_authority_vero_ops = {
	.type = SG_AUTHORITY_VERO_CERTSERVICE,
	.name = "vero-certservice",
	.use = 0,
	.without_cert = NULL,
	.open = vero_open,
	.close = vero_close,
	.sign_new = vero_sign_new,
	.renew = vero_renew,
	.get = vero_get,
};
