/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the remote seal service's answers (authority_csc_answer.h). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
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

/* A string member of obj copied into out (outlen with its NUL), printable;
 * 0, or -1 when absent, not a string, or too long. */
static int
copy_member(const cJSON *obj, const char *name, char *out, size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t i;

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return -1;
	for (i = 0; v->valuestring[i] != '\0'; i++) {
		if (sg_is_ctl(v->valuestring[i]))
			return -1;
	}
	memcpy(out, v->valuestring, i + 1);
	return 0;
}

/* An array of OID strings into algos; -1 when it is no such array. */
static int
copy_algos(const cJSON *list, char algos[][64], size_t *np)
{
	const cJSON *item;

	*np = 0;
	if (!cJSON_IsArray(list))
		return -1;
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item) || strlen(item->valuestring) >= 64 ||
		    strspn(item->valuestring, "0123456789.") != strlen(item->valuestring))
			return -1;
		if (*np < GW_CSC_ALGOS_MAX)
			memcpy(algos[(*np)++], item->valuestring, strlen(item->valuestring) + 1);
	}
	return 0;
}

int
gw_csc_answer_info(const char *authority, const cJSON *reply, struct gw_csc_info *info,
    char *why, size_t whylen)
{
	static const struct { const char *name; unsigned int bit; } methods[] = {
		{ "info", GW_CSC_M_INFO }, { "credentials/info", GW_CSC_M_CRED_INFO },
		{ "credentials/authorize", GW_CSC_M_AUTHORIZE },
		{ "signatures/signHash", GW_CSC_M_SIGN_HASH },
	};
	const cJSON *list, *item, *sa;
	size_t i;

	memset(info, 0, sizeof(*info));
	if (copy_member(reply, "specs", info->specs, sizeof(info->specs)) != 0 ||
	    strncmp(info->specs, "2.", 2) != 0) {
		sg_msg(why, whylen, "%s: info names no CSC API 2.x in specs", authority);
		return SG_ERR_AUTHORITY;
	}
	list = cJSON_GetObjectItemCaseSensitive(reply, "methods");
	if (!cJSON_IsArray(list)) {
		sg_msg(why, whylen, "%s: info without methods", authority);
		return SG_ERR_AUTHORITY;
	}
	cJSON_ArrayForEach(item, list) {
		for (i = 0; cJSON_IsString(item) && i < sizeof(methods) / sizeof(methods[0]); i++) {
			if (strcmp(item->valuestring, methods[i].name) == 0)
				info->methods |= methods[i].bit;
		}
	}
	list = cJSON_GetObjectItemCaseSensitive(reply, "authType");
	if (!cJSON_IsArray(list))
		list = NULL;
	cJSON_ArrayForEach(item, list) {
		if (cJSON_IsString(item) && strcmp(item->valuestring, "TLS") == 0)
			info->auth_tls = 1;
		if (cJSON_IsString(item) && strcmp(item->valuestring, "oauth2client") == 0)
			info->auth_oauth2client = 1;
	}
	sa = cJSON_GetObjectItemCaseSensitive(reply, "signAlgorithms");
	if (sa != NULL && copy_algos(cJSON_GetObjectItemCaseSensitive(sa, "algos"), info->algos,
	    &info->n_algos) != 0) {
		sg_msg(why, whylen, "%s: info's signAlgorithms.algos is not a list of OIDs", authority);
		return SG_ERR_AUTHORITY;
	}
	return 0;
}

int
gw_csc_answer_credential(const char *authority, const cJSON *reply,
    struct gw_csc_credential *cred, char *why, size_t whylen)
{
	const cJSON *key, *cert, *auth, *objects, *ms;

	memset(cred, 0, sizeof(*cred));
	key = cJSON_GetObjectItemCaseSensitive(reply, "key");
	cert = cJSON_GetObjectItemCaseSensitive(reply, "cert");
	auth = cJSON_GetObjectItemCaseSensitive(reply, "auth");
	if (copy_member(key, "status", cred->key_status, sizeof(cred->key_status)) != 0 ||
	    copy_algos(cJSON_GetObjectItemCaseSensitive(key, "algo"), cred->algos,
	    &cred->n_algos) != 0) {
		sg_msg(why, whylen, "%s: credentials/info without key/status and key/algo", authority);
		return SG_ERR_AUTHORITY;
	}
	if (cJSON_GetObjectItemCaseSensitive(cert, "status") != NULL &&
	    copy_member(cert, "status", cred->cert_status, sizeof(cred->cert_status)) != 0) {
		sg_msg(why, whylen, "%s: credentials/info with a bad cert/status", authority);
		return SG_ERR_AUTHORITY;
	}
	if ((auth != NULL ? copy_member(auth, "mode", cred->auth_mode, sizeof(cred->auth_mode)) :
	    copy_member(reply, "authMode", cred->auth_mode, sizeof(cred->auth_mode))) != 0) {
		sg_msg(why, whylen, "%s: credentials/info without auth/mode", authority);
		return SG_ERR_AUTHORITY;
	}
	objects = cJSON_GetObjectItemCaseSensitive(auth, "objects");
	if (cJSON_IsArray(objects) && cJSON_GetArraySize(objects) > 0)
		(void)copy_member(cJSON_GetArrayItem(objects, 0), "id", cred->auth_object,
		    sizeof(cred->auth_object));
	if (cJSON_GetObjectItemCaseSensitive(reply, "SCAL") == NULL)
		memcpy(cred->scal, "1", 2);
	else if (copy_member(reply, "SCAL", cred->scal, sizeof(cred->scal)) != 0 ||
	    (strcmp(cred->scal, "1") != 0 && strcmp(cred->scal, "2") != 0)) {
		sg_msg(why, whylen, "%s: credentials/info with a SCAL other than \"1\" or \"2\"",
		    authority);
		return SG_ERR_AUTHORITY;
	}
	ms = cJSON_GetObjectItemCaseSensitive(reply, "multisign");
	cred->multisign = cJSON_IsNumber(ms) && ms->valuedouble >= 1 && ms->valuedouble <= 100000 ?
	    (unsigned int)ms->valuedouble : 1;
	return 0;
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
	if (!cJSON_IsArray(sigs)) {
		sg_msg(why, whylen, "%s: signHash answered without signatures", authority);
		return SG_ERR_AUTHORITY;
	}
	if (n > INT_MAX || (size_t)cJSON_GetArraySize(sigs) != n) {
		sg_msg(why, whylen, "%s: signHash answered %d signatures for %zu hashes", authority,
		    cJSON_GetArraySize(sigs), n);
		return SG_ERR_AUTHORITY;
	}
	first = index < n ? cJSON_GetArrayItem(sigs, (int)index) : NULL;
	if (!cJSON_IsString(first) ||
	    (r = sg_b64_decode(first->valuestring, strlen(first->valuestring), SG_B64_STD, &sig,
	    &len)) == SG_ERR_ALLOC) {
		if (cJSON_IsString(first))
			return SG_ERR_ALLOC;
		r = SG_ERR_PARSE;
	}
	if (r != 0 || len == 0 || len > GW_CSC_SIGNATURE_MAX) {
		free(sig);
		sg_msg(why, whylen, "%s: signHash's signatures[%zu] is not base64 of a signature",
		    authority, index);
		return SG_ERR_AUTHORITY;
	}
	*sigp = sig;
	*lenp = len;
	return 0;
}

int
gw_csc_answer_sad(const char *authority, const cJSON *reply, char **sadp, char *why,
    size_t whylen)
{
	const cJSON *sad = cJSON_GetObjectItemCaseSensitive(reply, "SAD");

	*sadp = NULL;
	if (!cJSON_IsString(sad) || sad->valuestring[0] == '\0' || strlen(sad->valuestring) > 4096) {
		sg_msg(why, whylen, "%s: credentials/authorize answered without a SAD", authority);
		return SG_ERR_AUTHORITY;
	}
	return (*sadp = strdup(sad->valuestring)) != NULL ? 0 : SG_ERR_ALLOC;
}

int
gw_csc_answer_token(const char *authority, const cJSON *reply, char **tokenp,
    unsigned long *expires_inp, char *why, size_t whylen)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(reply, "access_token");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(reply, "token_type");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(reply, "expires_in");
	size_t i, len;

	*tokenp = NULL;
	*expires_inp = 0;
	len = cJSON_IsString(tok) ? strlen(tok->valuestring) : 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)tok->valuestring[i] <= 0x20 || tok->valuestring[i] == 0x7f)
			break;
	}
	if (len == 0 || len > 4096 || i != len) {
		sg_msg(why, whylen, "%s: the token endpoint answered without an access_token",
		    authority);
		return SG_ERR_AUTHORITY;
	}
	if (!cJSON_IsString(type) || strcasecmp(type->valuestring, "Bearer") != 0) {
		sg_msg(why, whylen, "%s: the token endpoint answered a token_type other than Bearer",
		    authority);
		return SG_ERR_AUTHORITY;
	}
	if (exp != NULL && (!cJSON_IsNumber(exp) || exp->valuedouble < 1 ||
	    exp->valuedouble > 86400)) {
		sg_msg(why, whylen, "%s: the token endpoint answered a bad expires_in", authority);
		return SG_ERR_AUTHORITY;
	}
	*expires_inp = exp != NULL ? (unsigned long)exp->valuedouble : 300;
	return (*tokenp = strdup(tok->valuestring)) != NULL ? 0 : SG_ERR_ALLOC;
}

int
gw_csc_ecdsa_der(const unsigned char *sig, size_t len, size_t field_bytes,
    unsigned char **derp, size_t *der_len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int n;

	*derp = NULL;
	*der_len = 0;
	/* DER only when the whole value is one ECDSA-Sig-Value. */
	if (es != NULL && p != sig + len) {
		ECDSA_SIG_free(es);
		es = NULL;
	}
	if (es == NULL && len == 2 * field_bytes && field_bytes > 0) {
		r = BN_bin2bn(sig, (int)field_bytes, NULL);
		s = BN_bin2bn(sig + field_bytes, (int)field_bytes, NULL);
		if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			ERR_clear_error();
			return SG_ERR_ALLOC;
		}
	}
	ERR_clear_error();
	if (es == NULL)
		return SG_ERR_AUTHORITY;
	n = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return SG_ERR_ALLOC;
	*derp = der;
	*der_len = (size_t)n;
	return 0;
}
