/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the remote seal service's answers (authority_csc_answer.h). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "authority_csc_answer.h"
#include "sg_codec.h"
#include "sg_err.h"

/* Up to outlen - 1 bytes of a string the service sent, printable. */
static void
printable(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = sg_is_ctl(s[i]) ? '?' : s[i];
	out[i] = '\0';
}

int
gw_csc_answer_object(const char *authority, int http_status, const void *body, size_t len,
    cJSON **docp, char *why, size_t whylen)
{
	const cJSON *err, *desc;
	char err_text[65], desc_text[201];
	cJSON *doc;

	*docp = NULL;
	doc = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	if (http_status != 200) {
		err = cJSON_GetObjectItemCaseSensitive(doc, "error");
		desc = cJSON_GetObjectItemCaseSensitive(doc, "error_description");
		printable(cJSON_IsString(err) ? err->valuestring : "without an error code", err_text,
		    sizeof(err_text));
		printable(cJSON_IsString(desc) ? desc->valuestring : "", desc_text, sizeof(desc_text));
		sg_msg(why, whylen, "%s answered %d %s%s%s", authority, http_status, err_text,
		    desc_text[0] != '\0' ? ": " : "", desc_text);
		cJSON_Delete(doc);
		return SG_ERR_AUTHORITY;
	}
	if (!cJSON_IsObject(doc)) {
		sg_msg(why, whylen, "%s answered 200 without a JSON object", authority);
		cJSON_Delete(doc);
		return SG_ERR_AUTHORITY;
	}
	*docp = doc;
	return 0;
}

static X509 *
cert_from_b64(const char *b64)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len;
	X509 *x = NULL;

	if (sg_b64_decode(b64, strlen(b64), SG_B64_STD, &der, &len) == 0 && len > 0) {
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
		/* The whole value is the certificate, nothing after it. */
		if (x != NULL && p != der + len) {
			X509_free(x);
			x = NULL;
		}
	}
	free(der);
	ERR_clear_error();
	return x;
}

int
gw_csc_answer_chain(const char *authority, const cJSON *reply, STACK_OF(X509) **chainp,
    char *why, size_t whylen)
{
	const cJSON *cert, *list, *item;
	STACK_OF(X509) *chain = NULL;
	X509 *x;
	int r = SG_ERR_AUTHORITY;

	*chainp = NULL;
	cert = cJSON_GetObjectItemCaseSensitive(reply, "cert");
	list = cJSON_GetObjectItemCaseSensitive(cert, "certificates");
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
	    cJSON_GetArraySize(list) > GW_CSC_CHAIN_MAX) {
		sg_msg(why, whylen, "%s: credentials/info without certificates", authority);
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item) || (x = cert_from_b64(item->valuestring)) == NULL) {
			sg_msg(why, whylen, "%s: credentials/info with a bad certificate", authority);
			goto out;
		}
		if (sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			r = SG_ERR_ALLOC;
			goto out;
		}
	}
	*chainp = chain;
	chain = NULL;
	r = 0;
 out:
	sk_X509_pop_free(chain, X509_free);
	return r;
}

int
gw_csc_answer_signature(const char *authority, const cJSON *reply, size_t index, size_t n,
    unsigned char **sigp, size_t *lenp, char *why, size_t whylen)
{
	const cJSON *sigs, *first;
	unsigned char *sig = NULL;
	size_t len = 0;
	int r;

	*sigp = NULL;
	*lenp = 0;
	sigs = cJSON_GetObjectItemCaseSensitive(reply, "signatures");
	first = index < n && n <= INT_MAX && cJSON_IsArray(sigs) &&
	    (size_t)cJSON_GetArraySize(sigs) == n ? cJSON_GetArrayItem(sigs, (int)index) : NULL;
	if (!cJSON_IsString(first) ||
	    (r = sg_b64_decode(first->valuestring, strlen(first->valuestring), SG_B64_STD, &sig,
	    &len)) == SG_ERR_ALLOC) {
		if (cJSON_IsString(first))
			return SG_ERR_ALLOC;
		r = SG_ERR_PARSE;
	}
	if (r != 0 || len == 0 || len > GW_CSC_SIGNATURE_MAX) {
		free(sig);
		sg_msg(why, whylen, "%s: signHash answered without %zu base64 signature%s", authority,
		    n, n == 1 ? "" : "s");
		return SG_ERR_AUTHORITY;
	}
	*sigp = sig;
	*lenp = len;
	return 0;
}
