/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the Vero certificate service's answers (authority_vero_answer.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

#include "authority_vero_answer.h"
#include "gw_soapenv.h"
#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_err.h"

void
gw_vero_result_free(struct gw_vero_result *res)
{
	if (res == NULL)
		return;
	X509_free(res->certificate);
	memset(res, 0, sizeof(*res));
}

/* The one child element of parent named name in ns (NULL: unqualified),
 * or NULL when there is none or more than one. */
static xmlNodePtr
child(xmlNodePtr parent, const char *ns, const char *name)
{
	xmlNodePtr found = NULL;

	return gw_xml_child(parent, ns, name, &found) == 0 ? found : NULL;
}

/* The text of an unqualified child of parent into out (cut at outlen). */
static void
child_text(xmlNodePtr parent, const char *name, char *out, size_t outlen)
{
	xmlNodePtr n = child(parent, NULL, name);
	xmlChar *text = n != NULL ? xmlNodeGetContent(n) : NULL;

	out[0] = '\0';
	if (text != NULL)
		sg_msg(out, outlen, "%s", (const char *)text);
	xmlFree(text);
}

/* The response element's ds:Signature, made by the service: the element
 * taken out as a document of its own (the signature is enveloped in it,
 * Reference URI=""), the signer from KeyInfo chaining to the response
 * signer CA, SHA-256 or better. */
static int
verify_response(X509_STORE *signer_ca, xmlNodePtr response, time_t now, char *why, size_t whylen)
{
	xmlDocPtr alone = NULL;
	xmlNodePtr root, sig, last = NULL, refs[GW_XMLDSIG_MAX_REFS], n, key_info, x509_data;
	X509 *signer = NULL;
	size_t n_refs = 0;
	int r = SG_ERR_ALLOC;

	if ((alone = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
	    (root = xmlDocCopyNode(response, alone, 1)) == NULL)
		goto out;
	xmlDocSetRootElement(alone, root);
	for (n = gw_xml_element(root->children); n != NULL; n = gw_xml_element(n->next))
		last = n;
	sig = last;
	if (!gw_xml_is(sig, GW_DSIG_NS, "Signature")) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "the response is not signed");
		goto out;
	}
	key_info = child(sig, GW_DSIG_NS, "KeyInfo");
	x509_data = key_info != NULL ? child(key_info, GW_DSIG_NS, "X509Data") : NULL;
	if ((signer = gw_xml_cert(x509_data != NULL ?
	    child(x509_data, GW_DSIG_NS, "X509Certificate") : NULL)) == NULL) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen,
		    "the response signature carries no signer certificate");
		goto out;
	}
	if (gw_xmlverify_chain(signer, NULL, signer_ca, now, why, whylen) != 0 ||
	    gw_xmlverify(sig, signer, 0, refs, GW_XMLDSIG_MAX_REFS, &n_refs, why, whylen) != 0) {
		r = SG_ERR_AUTHORITY;
		goto out;
	}
	if (n_refs != 1 || refs[0] != root) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen,
		    "the response signature does not cover the whole response");
		goto out;
	}
	r = 0;
out:
	X509_free(signer);
	xmlFreeDoc(alone);
	return r;
}

/* A message: each piece goes through sg_msg, which cuts it to what is
 * left of out. */
void
gw_vero_errors_text(const struct gw_vero_result *res, char *out, size_t outlen)
{
	size_t i, used;

	if (outlen == 0)
		return;
	if (res->n_errors == 0) {
		sg_msg(out, outlen, "no ErrorInfo");
		return;
	}
	out[0] = '\0';
	for (i = 0, used = 0; i < res->n_errors && used + 1 < outlen; i++) {
		sg_msg(out + used, outlen - used, "%s%s: %s", i > 0 ? "; " : "", res->errors[i].code,
		    res->errors[i].message);
		used += strlen(out + used);
	}
	if (res->n_errors_total > res->n_errors && used + 1 < outlen)
		sg_msg(out + used, outlen - used, "; %zu more", res->n_errors_total - res->n_errors);
}

static void
fault_text(xmlNodePtr body, char *out, size_t outlen)
{
	xmlNodePtr fault = child(body, GW_SOAP11_NS, "Fault");
	xmlNodePtr s = fault != NULL ? child(fault, NULL, "faultstring") : NULL;
	xmlChar *text = s != NULL ? xmlNodeGetContent(s) : NULL;

	sg_msg(out, outlen, "%s", text != NULL ? (const char *)text : "no faultstring");
	xmlFree(text);
}

int
gw_vero_answer_read(X509_STORE *signer_ca, const char *action, const char *response_name,
    int http_status, const void *body, size_t len, time_t now, struct gw_vero_result *res,
    char *why, size_t whylen)
{
	struct gw_soapenv env;
	xmlNodePtr response, result, info;
	char status[8], fault[200], bad[GW_SOAP_WHY_MAX];
	struct gw_vero_error *e;
	int r = SG_ERR_AUTHORITY;

	memset(&env, 0, sizeof(env));
	memset(res, 0, sizeof(*res));
	if (len > GW_VERO_ANSWER_MAX ||
	    gw_soapenv_parse(body, len, SG_SOAP_11, &env, bad,
	    sizeof(bad)) != 0) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: HTTP %d without a SOAP 1.1 envelope",
		    action, http_status);
		goto out;
	}
	if (child(env.body, GW_SOAP11_NS, "Fault") != NULL) {
		fault_text(env.body, fault, sizeof(fault));
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: SOAP Fault: %s", action, fault);
		goto out;
	}
	response = gw_xml_element(env.body->children);
	if (http_status != 200 || !gw_xml_is(response, GW_VERO_NS, response_name)) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: HTTP %d without a %s", action,
		    http_status, response_name);
		goto out;
	}
	if ((r = verify_response(signer_ca, response, now, why, whylen)) != 0)
		goto out;
	if ((result = child(response, NULL, "Result")) == NULL) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: the response has no Result", action);
		goto out;
	}
	child_text(result, "Status", status, sizeof(status));
	if (strcmp(status, "OK") != 0 && strcmp(status, "FAIL") != 0) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: Result/Status is neither OK nor FAIL",
		    action);
		goto out;
	}
	res->ok = strcmp(status, "OK") == 0;
	/* Result/ErrorInfo has maxOccurs="unbounded": every one is read. */
	for (info = gw_xml_element(result->children); info != NULL;
	    info = gw_xml_element(info->next)) {
		if (!gw_xml_is(info, NULL, "ErrorInfo"))
			continue;
		if (res->n_errors < GW_VERO_ERRORS_MAX) {
			e = &res->errors[res->n_errors++];
			child_text(info, "ErrorCode", e->code, sizeof(e->code));
			child_text(info, "ErrorMessage", e->message, sizeof(e->message));
		}
		res->n_errors_total++;
	}
	child_text(response, "RetrievalId", res->retrieval_id, sizeof(res->retrieval_id));
	if (child(response, NULL, "Certificate") != NULL &&
	    (res->certificate = gw_xml_cert(child(response, NULL, "Certificate"))) == NULL) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "%s: the Certificate is not an X.509 certificate",
		    action);
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		gw_vero_result_free(res);
	gw_soapenv_free(&env);
	return r;
}
