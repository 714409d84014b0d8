/* SPDX-License-Identifier: Apache-2.0 */
/* CSC API v2 subset for a remote seal service (see authority_csc.h):
 * credentials/info, signatures/signHash over the hashes seal jobs
 * prepare (documents/gw_seal.h), and the detached JWS X-Request-Signature over each request
 * body, made on the token with the interface key. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "authority_csc.h"
#include "authority_csc_answer.h"
#include "gw_forward.h"
#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"

#define INFO_TTL_S (24 * 3600)
/* Facts that forbid stamping, or a failed fetch, are looked at again after this. */
#define FACTS_RETRY_S 5

struct gw_csc {
	const struct sg_authority *authority;
	struct sgp11_key *key;
	X509 *cert;
	struct gw_forward *forward;
	char *base_url;			/* the authority's URL without a final '/' */
	char *x5c;			/* base64 DER of the interface certificate */
	/* OAuth 2.0 (oauth2_token_url): the token endpoint and the cached
	 * access token, under oauth_lock. NULL: mutual TLS alone. */
	struct gw_forward *token_forward;
	pthread_mutex_t oauth_lock;
	char *token;
	time_t token_expires;
	/* The facts info and credentials/info gave, under info_lock. */
	pthread_mutex_t info_lock;
	STACK_OF(X509) *chain;		/* stamp certificate first; NULL: not fetched */
	time_t info_at;
	struct gw_csc_info info;
	struct gw_csc_credential cred;
	int usable;			/* the last check_usable passed */
	time_t failed_at;		/* the last fetch failed then, with failed_r, */
	int failed_r;
	char failure[256];		/* and this description */
};

int
gw_csc_new(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_csc **cp)
{
	struct gw_forward_opts fo;
	struct gw_csc *c;
	unsigned char *der = NULL;
	int der_len, r;

	*cp = NULL;
	if (a == NULL || a->type != SG_AUTHORITY_CSC_V2 || key == NULL || cert == NULL)
		return SG_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SG_ERR_ALLOC;
	c->authority = a;
	c->key = key;
	c->cert = cert;
	pthread_mutex_init(&c->info_lock, NULL);
	pthread_mutex_init(&c->oauth_lock, NULL);
	if ((der_len = i2d_X509(cert, &der)) <= 0 ||
	    sg_b64_encode(der, (size_t)der_len, SG_B64_STD, &c->x5c) != 0) {
		r = SG_ERR_ALLOC;
		goto fail;
	}
	if ((c->base_url = strdup(a->url)) == NULL) {
		r = SG_ERR_ALLOC;
		goto fail;
	}
	while (strlen(c->base_url) > 8 && c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	memset(&fo, 0, sizeof(fo));
	fo.base_url = c->base_url;
	fo.ca_file = a->ca_file;
	fo.cert = cert;
	fo.token = token;
	fo.key = key;
	fo.timeout_ms = a->csc.timeout_ms;
	fo.connect_timeout_ms = a->csc.timeout_ms < 5000 ? a->csc.timeout_ms : 5000;
	fo.retries = a->csc.retries;
	if ((r = gw_forward_new(&fo, &c->forward)) != 0)
		goto fail;
	if (a->csc.oauth2_token_url != NULL) {
		fo.base_url = a->csc.oauth2_token_url;
		if ((r = gw_forward_new(&fo, &c->token_forward)) != 0)
			goto fail;
	}
	OPENSSL_free(der);
	*cp = c;
	return 0;
 fail:
	OPENSSL_free(der);
	gw_csc_free(c);
	return r;
}

void
gw_csc_free(struct gw_csc *c)
{
	if (c == NULL)
		return;
	gw_forward_free(c->forward);
	gw_forward_free(c->token_forward);
	if (c->token != NULL)
		OPENSSL_cleanse(c->token, strlen(c->token));
	free(c->token);
	pthread_mutex_destroy(&c->oauth_lock);
	sk_X509_pop_free(c->chain, X509_free);
	pthread_mutex_destroy(&c->info_lock);
	free(c->x5c);
	free(c->base_url);
	free(c);
}

/* ECDSA-Sig-Value (DER) → the fixed-width r||s a JWS carries. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char out[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return SG_ERR_CRYPTO;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : SG_ERR_CRYPTO;
}

/* A compact JWS (RFC 7515) over payload, signed on the token with the
 * interface key: header {"alg":"RS256"|"ES256", "typ"?, "x5c":[the
 * interface certificate]}. detached: the payload part left empty
 * (appendix F), as X-Request-Signature carries it. */
static int
jws_sign(struct gw_csc *c, const char *typ, const void *payload, size_t len, int detached,
    char **jwsp)
{
	const struct sgp11_keyspec *spec = sgp11_key_spec(c->key);
	cJSON *header = cJSON_CreateObject(), *x5c;
	char *header_text = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
	unsigned char digest[32], *sig = NULL, raw[64];
	size_t sig_len = 0;
	struct sg_buf input, jws;
	EVP_MD_CTX *md = NULL;
	int r = SG_ERR_ALLOC;

	*jwsp = NULL;
	sg_buf_init(&input, (size_t)64 * 1024 * 1024);
	sg_buf_init(&jws, 64 * 1024);
	if (header == NULL)
		goto out;
	cJSON_AddStringToObject(header, "alg", spec->kind == SGP11_EC ? "ES256" : "RS256");
	if (typ != NULL)
		cJSON_AddStringToObject(header, "typ", typ);
	x5c = cJSON_AddArrayToObject(header, "x5c");
	cJSON_AddItemToArray(x5c, cJSON_CreateString(c->x5c));
	if ((header_text = cJSON_PrintUnformatted(header)) == NULL ||
	    sg_b64_encode(header_text, strlen(header_text), SG_B64_URL_NOPAD, &h64) != 0 ||
	    sg_b64_encode(payload, len, SG_B64_URL_NOPAD, &p64) != 0 ||
	    sg_buf_printf(&input, "%s.%s", h64, p64) != 0)
		goto out;
	r = SG_ERR_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, input.data, input.len) != 1 ||
	    EVP_DigestFinal_ex(md, digest, NULL) != 1)
		goto out;
	if ((r = sgp11_sign_digest(c->key, NID_sha256, SGP11_PAD_DEFAULT, digest, sizeof(digest),
	    &sig, &sig_len)) != 0)
		goto out;
	if (spec->kind == SGP11_EC) {
		if ((r = ecdsa_der_to_raw(sig, sig_len, raw)) != 0 ||
		    (r = sg_b64_encode(raw, sizeof(raw), SG_B64_URL_NOPAD, &s64)) != 0)
			goto out;
	} else if ((r = sg_b64_encode(sig, sig_len, SG_B64_URL_NOPAD, &s64)) != 0)
		goto out;
	if ((r = sg_buf_printf(&jws, "%s.%s.%s", h64, detached ? "" : p64, s64)) != 0)
		goto out;
	*jwsp = (char *)sg_buf_steal(&jws, NULL);
	r = *jwsp != NULL ? 0 : SG_ERR_ALLOC;
 out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(sig);
	cJSON_free(header_text);
	cJSON_Delete(header);
	free(h64);
	free(p64);
	free(s64);
	sg_buf_free(&input);
	sg_buf_free(&jws);
	return r;
}

/* s percent-encoded for a form body (RFC 3986 unreserved kept). */
static int
form_escape(struct sg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~')
			r = sg_buf_append(b, s, 1);
		else
			r = sg_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return r;
}

/* The OAuth 2.0 access token (RFC 6749 §4.4, client credentials), cached
 * until 30 s before it expires: the client is authenticated by a JWT
 * assertion (RFC 7523 §2.2) signed on the token with the interface key,
 * over mutual TLS to the token endpoint; no client secret exists. *tokp
 * is a copy (wipe and free). The token is never logged. */
static int
access_token(struct gw_csc *c, char **tokp, char *why, size_t whylen)
{
	const struct sg_csc_settings *s = &c->authority->csc;
	struct gw_forward_reply reply;
	struct sg_buf form;
	unsigned char jti[16];
	char *jti_hex = NULL, *assertion = NULL, *claims_text = NULL, *token = NULL;
	cJSON *claims = NULL, *doc = NULL;
	time_t now = time(NULL);
	unsigned long expires_in = 0;
	int r;

	*tokp = NULL;
	memset(&reply, 0, sizeof(reply));
	sg_buf_init(&form, 64 * 1024);
	pthread_mutex_lock(&c->oauth_lock);
	if (c->token != NULL && now + 30 < c->token_expires) {
		r = (*tokp = strdup(c->token)) != NULL ? 0 : SG_ERR_ALLOC;
		goto out;
	}
	r = SG_ERR_ALLOC;
	if (RAND_bytes(jti, sizeof(jti)) != 1 || sg_hex_encode(jti, sizeof(jti), &jti_hex) != 0 ||
	    (claims = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(claims, "iss", s->oauth2_client_id);
	cJSON_AddStringToObject(claims, "sub", s->oauth2_client_id);
	cJSON_AddStringToObject(claims, "aud", s->oauth2_token_url);
	cJSON_AddStringToObject(claims, "jti", jti_hex);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + 300));
	if ((claims_text = cJSON_PrintUnformatted(claims)) == NULL)
		goto out;
	if ((r = jws_sign(c, "JWT", claims_text, strlen(claims_text), 0, &assertion)) != 0) {
		sg_msg(why, whylen, "%s: the client assertion could not be signed on the token",
		    c->authority->name);
		goto out;
	}
	if ((r = sg_buf_printf(&form, "grant_type=client_credentials&client_id=")) != 0 ||
	    (r = form_escape(&form, s->oauth2_client_id)) != 0 ||
	    (r = sg_buf_printf(&form, "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth"
	    "%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s", assertion)) != 0)
		goto out;
	if (s->oauth2_scope != NULL && ((r = sg_buf_printf(&form, "&scope=")) != 0 ||
	    (r = form_escape(&form, s->oauth2_scope)) != 0))
		goto out;
	r = gw_forward_post(c->token_forward, "", "application/x-www-form-urlencoded", form.data,
	    form.len, NULL, 0, &reply);
	if (r != 0) {
		sg_msg(why, whylen, "%s: the token endpoint: %s", c->authority->name,
		    r == SG_ERR_TIMEOUT ? "no answer in time" : "not reachable over TLS");
		goto out;
	}
	if ((r = gw_csc_answer_object(c->authority->name, reply.status, reply.body.data,
	    reply.body.len, &doc, why, whylen)) != 0 ||
	    (r = gw_csc_answer_token(c->authority->name, doc, &token, &expires_in, why,
	    whylen)) != 0)
		goto out;
	if (c->token != NULL)
		OPENSSL_cleanse(c->token, strlen(c->token));
	free(c->token);
	c->token = token;
	token = NULL;
	c->token_expires = now + (time_t)expires_in;
	r = (*tokp = strdup(c->token)) != NULL ? 0 : SG_ERR_ALLOC;
 out:
	pthread_mutex_unlock(&c->oauth_lock);
	if (reply.body.data != NULL)
		OPENSSL_cleanse(reply.body.data, reply.body.len);
	gw_forward_reply_free(&reply);
	if (token != NULL)
		OPENSSL_cleanse(token, strlen(token));
	free(token);
	cJSON_Delete(doc);
	cJSON_Delete(claims);
	cJSON_free(claims_text);
	free(assertion);
	free(jti_hex);
	sg_buf_free(&form);
	return r;
}

/* After the service refused the token (401), fetch a new one next time. */
static void
forget_token(struct gw_csc *c)
{
	pthread_mutex_lock(&c->oauth_lock);
	if (c->token != NULL)
		OPENSSL_cleanse(c->token, strlen(c->token));
	free(c->token);
	c->token = NULL;
	pthread_mutex_unlock(&c->oauth_lock);
}

/* POST a JSON document to path; *replyp (cJSON) on 200. On any other
 * answer why names the authority's error. request_id NULL: a call of the
 * gateway's own (readiness), with no X-Request-ID. */
static int
call(struct gw_csc *c, const char *path, cJSON *request, const char *request_id, cJSON **replyp,
    char *why, size_t whylen)
{
	struct gw_forward_reply reply;
	char *body = cJSON_PrintUnformatted(request), *jws = NULL;
	char sig_header[8192], id_header[128], auth_header[4200], *token = NULL;
	const char *headers[3];
	size_t n = 0;
	int r;

	*replyp = NULL;
	memset(&reply, 0, sizeof(reply));
	if (body == NULL)
		return SG_ERR_ALLOC;
	if (c->token_forward != NULL && strcmp(path, "/info") != 0) {
		if ((r = access_token(c, &token, why, whylen)) != 0)
			goto out;
		if (snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", token) >=
		    (int)sizeof(auth_header)) {
			r = SG_ERR_TOO_LARGE;
			goto out;
		}
		headers[n++] = auth_header;
	}
	if (c->authority->csc.sign_request_body) {
		if ((r = jws_sign(c, NULL, body, strlen(body), 1, &jws)) != 0) {
			sg_msg(why, whylen, "the request signature could not be made on the token");
			goto out;
		}
		if (snprintf(sig_header, sizeof(sig_header), "X-Request-Signature: %s", jws) >=
		    (int)sizeof(sig_header)) {
			r = SG_ERR_TOO_LARGE;
			goto out;
		}
		headers[n++] = sig_header;
	}
	if (c->authority->csc.request_id_header && request_id != NULL) {
		if (snprintf(id_header, sizeof(id_header), "X-Request-ID: %s", request_id) >=
		    (int)sizeof(id_header)) {
			r = SG_ERR_TOO_LARGE;
			goto out;
		}
		headers[n++] = id_header;
	}
	r = gw_forward_post(c->forward, path, "application/json", body, strlen(body), headers, n,
	    &reply);
	if (r != 0) {
		sg_msg(why, whylen, "%s: %s", c->authority->name,
		    r == SG_ERR_TIMEOUT ? "no answer in time" : "not reachable over TLS");
		goto out;
	}
	if (reply.status == 401 && token != NULL)
		forget_token(c);
	r = gw_csc_answer_object(c->authority->name, reply.status, reply.body.data, reply.body.len,
	    replyp, why, whylen);
 out:
	gw_forward_reply_free(&reply);
	cJSON_free(body);
	free(jws);
	if (token != NULL)
		OPENSSL_cleanse(token, strlen(token));
	OPENSSL_cleanse(auth_header, sizeof(auth_header));
	free(token);
	return r;
}

/* A request object with the credential and, in clientData (the member
 * CSC v2 keeps for the caller's own data), the gateway's request id. */
static cJSON *
new_request(struct gw_csc *c, const char *request_id)
{
	cJSON *req = cJSON_CreateObject();

	if (req == NULL)
		return NULL;
	cJSON_AddStringToObject(req, "credentialID", c->authority->csc.credential_id);
	if (request_id != NULL)
		cJSON_AddStringToObject(req, "clientData", request_id);
	return req;
}

/* info and credentials/info afresh into the cache. Under info_lock. */
static int
fetch_facts(struct gw_csc *c, const char *request_id, char *why, size_t whylen)
{
	struct gw_csc_info info;
	struct gw_csc_credential cred;
	cJSON *req = NULL, *reply = NULL;
	STACK_OF(X509) *chain = NULL;
	int r;

	/* info takes no credential and needs no authentication. */
	if ((req = cJSON_CreateObject()) == NULL)
		return SG_ERR_ALLOC;
	if ((r = call(c, "/info", req, request_id, &reply, why, whylen)) != 0 ||
	    (r = gw_csc_answer_info(c->authority->name, reply, &info, why, whylen)) != 0)
		goto out;
	cJSON_Delete(req);
	cJSON_Delete(reply);
	reply = NULL;
	if ((req = new_request(c, request_id)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	cJSON_AddStringToObject(req, "certificates", "chain");
	cJSON_AddBoolToObject(req, "certInfo", 1);
	cJSON_AddBoolToObject(req, "authInfo", 1);
	if ((r = call(c, "/credentials/info", req, request_id, &reply, why, whylen)) != 0 ||
	    (r = gw_csc_answer_chain(c->authority->name, reply, &chain, why, whylen)) != 0 ||
	    (r = gw_csc_answer_credential(c->authority->name, reply, &cred, why, whylen)) != 0)
		goto out;
	sk_X509_pop_free(c->chain, X509_free);
	c->chain = chain;
	chain = NULL;
	c->info = info;
	c->cred = cred;
	c->info_at = time(NULL);
	sg_debug("%s: CSC %s, key %s, cert %s, auth/mode %s, SCAL %s", c->authority->name,
	    info.specs, cred.key_status, cred.cert_status[0] != '\0' ? cred.cert_status : "-",
	    cred.auth_mode, cred.scal);
 out:
	if (r != 0) {
		sk_X509_pop_free(c->chain, X509_free);
		c->chain = NULL;
		c->failed_at = time(NULL);
		c->failed_r = r;
		(void)sg_strfit(c->failure, sizeof(c->failure), why);
	}
	sk_X509_pop_free(chain, X509_free);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

static int
listed(char algos[][64], size_t n, const char *oid)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(algos[i], oid) == 0)
			return 1;
	}
	return 0;
}

static const char *
hash_oid(const EVP_MD *md)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha256: return "2.16.840.1.101.3.4.2.1";
	case NID_sha384: return "2.16.840.1.101.3.4.2.2";
	case NID_sha512: return "2.16.840.1.101.3.4.2.3";
	default: return NULL;
	}
}

/* The OID that names both the key type and md. */
static const char *
sign_algo_oid(const EVP_MD *md, int ec)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha256: return ec ? "1.2.840.10045.4.3.2" : "1.2.840.113549.1.1.11";
	case NID_sha384: return ec ? "1.2.840.10045.4.3.3" : "1.2.840.113549.1.1.12";
	case NID_sha512: return ec ? "1.2.840.10045.4.3.4" : "1.2.840.113549.1.1.13";
	default: return NULL;
	}
}

#define OID_RSA_ENCRYPTION	"1.2.840.113549.1.1.1"
#define OID_RSASSA_PSS		"1.2.840.113549.1.1.10"
#define OID_EC_PUBLIC_KEY	"1.2.840.10045.2.1"

/* signAlgo from key/algo (docs/authorities.md §1): the OID naming key and
 * hash when listed, else the key's own OID (rsaEncryption, as the spec's
 * samples send, or id-ecPublicKey), both with hashAlgorithmOID. A key
 * that offers RSASSA-PSS alone is refused: the CAdES assembly makes
 * PKCS#1 v1.5. Under info_lock. */
static int
choose_algo(struct gw_csc *c, const EVP_MD *md, int ec, const char **algop, char *why,
    size_t whylen)
{
	const struct gw_csc_credential *cred = &c->cred;
	const char *named = sign_algo_oid(md, ec), *own = ec ? OID_EC_PUBLIC_KEY :
	    OID_RSA_ENCRYPTION;

	*algop = NULL;
	if (named != NULL && listed(c->cred.algos, cred->n_algos, named))
		*algop = named;
	else if (listed(c->cred.algos, cred->n_algos, own))
		*algop = own;
	else if (!ec && listed(c->cred.algos, cred->n_algos, OID_RSASSA_PSS)) {
		sg_msg(why, whylen, "%s: the credential offers RSASSA-PSS alone, and this gateway "
		    "assembles CAdES with PKCS#1 v1.5 signatures only", c->authority->name);
		return SG_ERR_UNAVAILABLE;
	} else {
		sg_msg(why, whylen, "%s: key/algo offers no %s signature with %s (it lists %zu other "
		    "algorithms)", c->authority->name, ec ? "ECDSA" : "RSA", EVP_MD_get0_name(md),
		    cred->n_algos);
		return SG_ERR_UNAVAILABLE;
	}
	/* info's signAlgorithms is the service's whole list, when it gives one. */
	if (c->info.n_algos > 0 && !listed(c->info.algos, c->info.n_algos, *algop)) {
		sg_msg(why, whylen, "%s: key/algo lists %s but info's signAlgorithms does not",
		    c->authority->name, *algop);
		return SG_ERR_UNAVAILABLE;
	}
	return 0;
}

/* What the cached facts allow: info's methods and authType, key/status,
 * cert/status and the certificate's own dates, auth/mode. Under
 * info_lock, with facts present. */
static int
check_usable(struct gw_csc *c, const EVP_MD *md, const char **algop, char *why, size_t whylen)
{
	const char *name = c->authority->name;
	X509 *stamp = sk_X509_value(c->chain, 0);
	const struct gw_csc_credential *cred = &c->cred;
	int ec = EVP_PKEY_get_base_id(X509_get0_pubkey(stamp)) == EVP_PKEY_EC;

	if ((c->info.methods & (GW_CSC_M_CRED_INFO | GW_CSC_M_SIGN_HASH)) !=
	    (GW_CSC_M_CRED_INFO | GW_CSC_M_SIGN_HASH)) {
		sg_msg(why, whylen, "%s: info's methods lack credentials/info or signatures/signHash",
		    name);
		return SG_ERR_UNAVAILABLE;
	}
	if (c->token_forward != NULL ? !c->info.auth_oauth2client : !c->info.auth_tls) {
		sg_msg(why, whylen, "%s: info's authType lacks %s, the service authentication "
		    "configured", name, c->token_forward != NULL ? "oauth2client" : "TLS");
		return SG_ERR_UNAVAILABLE;
	}
	if (strcmp(cred->key_status, "enabled") != 0) {
		sg_msg(why, whylen, "%s: the credential's key is %s (key/status)", name,
		    cred->key_status);
		return SG_ERR_UNAVAILABLE;
	}
	if (cred->cert_status[0] != '\0' && strcmp(cred->cert_status, "valid") != 0) {
		sg_msg(why, whylen, "%s: the stamp certificate is %s (cert/status)", name,
		    cred->cert_status);
		return SG_ERR_UNAVAILABLE;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(stamp)) >= 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(stamp)) <= 0) {
		sg_msg(why, whylen, "%s: the stamp certificate is %s", name,
		    X509_cmp_current_time(X509_get0_notBefore(stamp)) >= 0 ? "not valid yet" :
		    "expired");
		return SG_ERR_UNAVAILABLE;
	}
	if (strcmp(cred->auth_mode, "oauth2code") == 0) {
		sg_msg(why, whylen, "%s: the credential wants a person's OAuth 2.0 authorisation "
		    "(auth/mode oauth2code), which a seal gateway cannot give", name);
		return SG_ERR_UNAVAILABLE;
	}
	if (strcmp(cred->auth_mode, "explicit") == 0) {
		if (!(c->info.methods & GW_CSC_M_AUTHORIZE)) {
			sg_msg(why, whylen, "%s: auth/mode explicit, but info's methods lack "
			    "credentials/authorize", name);
			return SG_ERR_UNAVAILABLE;
		}
		if (c->authority->csc.authorization_file == NULL) {
			sg_msg(why, whylen, "%s: the credential needs explicit authorisation "
			    "(auth/mode explicit): set authorization_file", name);
			return SG_ERR_UNAVAILABLE;
		}
	} else if (strcmp(cred->auth_mode, "implicit") != 0) {
		sg_msg(why, whylen, "%s: auth/mode %s is not one CSC v2 defines", name,
		    cred->auth_mode);
		return SG_ERR_UNAVAILABLE;
	}
	return choose_algo(c, md, ec, algop, why, whylen);
}

/* The stamp chain and signAlgo for md, from facts at most max_age_s old
 * (an unusable state is looked at again after FACTS_RETRY_S). */
static int
prepare_facts(struct gw_csc *c, const EVP_MD *md, const char *request_id, unsigned int max_age_s,
    STACK_OF(X509) **chainp, const char **algop, struct gw_csc_credential *credp, char *why,
    size_t whylen)
{
	time_t now = time(NULL);
	int r;

	if (chainp != NULL)
		*chainp = NULL;
	pthread_mutex_lock(&c->info_lock);
	if (c->chain != NULL && now - c->info_at < (time_t)max_age_s &&
	    (c->usable || now - c->info_at < FACTS_RETRY_S))
		r = 0;
	else if (request_id == NULL && c->chain == NULL && c->failed_at != 0 &&
	    now - c->failed_at < FACTS_RETRY_S) {
		/* Readiness asks again at most every FACTS_RETRY_S after a failure. */
		r = c->failed_r;
		(void)sg_strfit(why, whylen, c->failure);
	} else
		r = fetch_facts(c, request_id, why, whylen);
	if (r == 0) {
		r = check_usable(c, md, algop, why, whylen);
		c->usable = r == 0;
	}
	if (r == 0 && chainp != NULL && (*chainp = X509_chain_up_ref(c->chain)) == NULL)
		r = SG_ERR_ALLOC;
	if (r == 0 && credp != NULL)
		*credp = c->cred;
	pthread_mutex_unlock(&c->info_lock);
	return r;
}

/* After a failed stamp, fetch the facts afresh next time. */
static void
forget_chain(struct gw_csc *c)
{
	pthread_mutex_lock(&c->info_lock);
	sk_X509_pop_free(c->chain, X509_free);
	c->chain = NULL;
	pthread_mutex_unlock(&c->info_lock);
}

/* credentials/authorize (CSC v2.0.0.2 11.6) for n signatures: the SAD
 * signHash carries. The authorisation data come from the owner-only
 * authorization_file, are wiped after use and never logged. SCAL 2 binds
 * the SAD to the hashes, so they are sent. */
static int
authorize(struct gw_csc *c, const struct gw_csc_credential *cred, const EVP_MD *md,
    char *const *hashes64, size_t n, const char *request_id, char **sadp, char *why,
    size_t whylen)
{
	cJSON *req = new_request(c, request_id), *reply = NULL, *list, *data, *obj;
	char *secret = NULL;
	size_t i;
	int r;

	*sadp = NULL;
	if (req == NULL)
		return SG_ERR_ALLOC;
	if ((r = sg_secret_read_file(c->authority->csc.authorization_file, &secret)) != 0) {
		sg_msg(why, whylen, "%s: authorization_file %s: %s", c->authority->name,
		    c->authority->csc.authorization_file, sg_strerror(r));
		r = SG_ERR_UNAVAILABLE;
		goto out;
	}
	cJSON_AddNumberToObject(req, "numSignatures", (double)n);
	if (strcmp(cred->scal, "2") == 0) {
		list = cJSON_AddArrayToObject(req, "hashes");
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(list, cJSON_CreateString(hashes64[i]));
		cJSON_AddStringToObject(req, "hashAlgorithmOID", hash_oid(md));
	}
	data = cJSON_AddArrayToObject(req, "authData");
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", cred->auth_object[0] != '\0' ? cred->auth_object : "PIN");
	cJSON_AddStringToObject(obj, "value", secret);
	cJSON_AddItemToArray(data, obj);
	r = call(c, "/credentials/authorize", req, request_id, &reply, why, whylen);
	if (r == 0)
		r = gw_csc_answer_sad(c->authority->name, reply, sadp, why, whylen);
 out:
	/* The request held the secret: wipe its copy in the tree. */
	if ((obj = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(req, "authData"), 0)) != NULL &&
	    (obj = cJSON_GetObjectItemCaseSensitive(obj, "value")) != NULL && obj->valuestring != NULL)
		OPENSSL_cleanse(obj->valuestring, strlen(obj->valuestring));
	sg_free_secret_str(secret);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

/* One signatures/signHash for n hashes (base64), its n signature values
 * into sigs/lens, EC values normalised to DER (the service may answer
 * DER or r||s). */
static int
sign_hashes(struct gw_csc *c, const struct gw_csc_credential *cred, const char *algo,
    const EVP_MD *md, X509 *stamp, char *const *hashes64, size_t n, const char *request_id,
    unsigned char **sigs, size_t *lens, char *why, size_t whylen)
{
	EVP_PKEY *pub = X509_get0_pubkey(stamp);
	cJSON *req = NULL, *reply = NULL, *list;
	unsigned char *der;
	size_t i, der_len;
	char *sad = NULL;
	int r;

	if (strcmp(cred->auth_mode, "explicit") == 0 &&
	    (r = authorize(c, cred, md, hashes64, n, request_id, &sad, why, whylen)) != 0)
		return r;
	if ((req = new_request(c, request_id)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if (sad != NULL)
		cJSON_AddStringToObject(req, "SAD", sad);
	list = cJSON_AddArrayToObject(req, "hashes");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(hashes64[i]));
	cJSON_AddStringToObject(req, "hashAlgorithmOID", hash_oid(md));
	cJSON_AddStringToObject(req, "signAlgo", algo);
	if ((r = call(c, "/signatures/signHash", req, request_id, &reply, why, whylen)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++)
		r = gw_csc_answer_signature(c->authority->name, reply, i, n, &sigs[i], &lens[i], why,
		    whylen);
	for (i = 0; r == 0 && EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC && i < n; i++) {
		r = gw_csc_ecdsa_der(sigs[i], lens[i], ((size_t)EVP_PKEY_get_bits(pub) + 7) / 8, &der,
		    &der_len);
		if (r == SG_ERR_AUTHORITY)
			sg_msg(why, whylen, "%s: signatures[%zu] is neither a DER ECDSA value nor r||s",
			    c->authority->name, i);
		if (r != 0)
			break;
		free(sigs[i]);
		if ((sigs[i] = malloc(der_len)) == NULL) {
			OPENSSL_free(der);
			r = SG_ERR_ALLOC;
			break;
		}
		memcpy(sigs[i], der, der_len);
		lens[i] = der_len;
		OPENSSL_free(der);
	}
	if (r != 0) {
		for (i = 0; i < n; i++) {
			free(sigs[i]);
			sigs[i] = NULL;
		}
	}
 out:
	if (sad != NULL)
		OPENSSL_cleanse(sad, strlen(sad));
	free(sad);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

int
gw_csc_ready(struct gw_csc *c, unsigned int max_age_s, char *why, size_t whylen)
{
	const char *algo;

	why[0] = '\0';
	return prepare_facts(c, EVP_sha256(), NULL, max_age_s, NULL, &algo, NULL, why, whylen);
}

int
gw_csc_seal(struct gw_csc *c, struct gw_seal_job **jobs, size_t n, const char *request_id,
    char *why, size_t whylen)
{
	STACK_OF(X509) *chain = NULL, *rest = NULL;
	struct gw_csc_credential cred;
	unsigned char tbs[EVP_MAX_MD_SIZE];
	unsigned int tbs_len = 0;
	char *hashes64[GW_SEAL_JOBS_MAX];
	unsigned char *sigs[GW_SEAL_JOBS_MAX];
	size_t lens[GW_SEAL_JOBS_MAX], i;
	const char *algo = NULL;
	const EVP_MD *md;
	X509 *stamp;
	int k, r;

	why[0] = '\0';
	if (n == 0 || n > GW_SEAL_JOBS_MAX || jobs == NULL)
		return SG_ERR_INVALID_ARG;
	md = jobs[0]->md;
	for (i = 0; i < n; i++)
		if (jobs[i]->md == NULL || EVP_MD_get_type(jobs[i]->md) != EVP_MD_get_type(md))
			return SG_ERR_INVALID_ARG;
	if (hash_oid(md) == NULL)
		return SG_ERR_INVALID_ARG;
	memset(hashes64, 0, sizeof(hashes64));
	memset(sigs, 0, sizeof(sigs));
	if ((r = prepare_facts(c, md, request_id, INFO_TTL_S, &chain, &algo, &cred, why,
	    whylen)) != 0)
		goto out;
	if (n > cred.multisign) {
		sg_msg(why, whylen, "%s takes at most %u hashes in one signHash (multisign), not %zu",
		    c->authority->name, cred.multisign, n);
		r = SG_ERR_INVALID_ARG;
		goto out;
	}
	stamp = sk_X509_value(chain, 0);
	if ((rest = sk_X509_new_null()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	for (k = 1; k < sk_X509_num(chain); k++)
		sk_X509_push(rest, sk_X509_value(chain, k));
	for (i = 0; i < n; i++) {
		if ((r = jobs[i]->prepare(jobs[i], stamp, rest, tbs, &tbs_len)) != 0 ||
		    (r = sg_b64_encode(tbs, tbs_len, SG_B64_STD, &hashes64[i])) != 0)
			goto out;
	}
	if ((r = sign_hashes(c, &cred, algo, md, stamp, hashes64, n, request_id, sigs, lens, why,
	    whylen)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* Each job checks its value against the stamp certificate: a
		 * wrong signature from the authority never reaches the client. */
		r = jobs[i]->finish(jobs[i], sigs[i], lens[i]);
		if (r == SG_ERR_CRYPTO) {
			sg_msg(why, whylen, "%s: the returned signature does not verify with the "
			    "stamp certificate", c->authority->name);
			r = SG_ERR_AUTHORITY;
		}
		if (r != 0)
			goto out;
	}
	r = 0;
 out:
	if (r == SG_ERR_AUTHORITY || r == SG_ERR_TIMEOUT)
		forget_chain(c);
	for (i = 0; i < n; i++) {
		free(hashes64[i]);
		free(sigs[i]);
	}
	sk_X509_free(rest);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

/* --- the ops table row (authority.h) --- */

static int
csc_open(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key, X509 *cert,
    void **statep, char *why, size_t whylen)
{
	struct gw_csc *c = NULL;
	int r;

	/* No network here: snapshots are built under the reload lock, also
	 * by token recovery. gw_snapshot_discover asks the service once a
	 * loaded configuration is published. */
	(void)why;	/* gw_csc_new's errors need no description */
	(void)whylen;
	r = gw_csc_new(a, token, key, cert, &c);
	*statep = c;
	return r;
}

static void
csc_close(void *state)
{
	gw_csc_free(state);
}

static int
csc_ready(void *state, unsigned int max_age_s, char *why, size_t whylen)
{
	return gw_csc_ready(state, max_age_s, why, whylen);
}

static int
csc_seal(void *state, struct gw_seal_job **jobs, size_t n, const char *request_id, char *why,
    size_t whylen)
{
	return gw_csc_seal(state, jobs, n, request_id, why, whylen);
}

const struct gw_authority_ops gw_authority_csc_ops = {
	.type = SG_AUTHORITY_CSC_V2,
	.name = "csc-v2",
	.use = SG_USE_STAMP,
	.without_cert = "no interface certificate; stamping is off",
	.open = csc_open,
	.close = csc_close,
	.ready = csc_ready,
	.seal = csc_seal,
};
