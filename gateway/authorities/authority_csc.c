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

#include "authority_csc.h"
#include "authority_csc_answer.h"
#include "gw_forward.h"
#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

#define INFO_TTL_S (24 * 3600)

struct gw_csc {
	const struct sg_authority *authority;
	struct sgp11_key *key;
	X509 *cert;
	struct gw_forward *forward;
	char *base_url;			/* the authority's URL without a final '/' */
	char *x5c;			/* base64 DER of the interface certificate */
	pthread_mutex_t info_lock;
	STACK_OF(X509) *chain;		/* stamp certificate first; NULL: not fetched */
	time_t info_at;
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

/* X-Request-Signature: detached JWS (RFC 7515 appendix F) over the exact
 * body, signed on the token with the interface key. */
static int
request_signature(struct gw_csc *c, const char *body, size_t len, char **jwsp)
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
	x5c = cJSON_AddArrayToObject(header, "x5c");
	cJSON_AddItemToArray(x5c, cJSON_CreateString(c->x5c));
	if ((header_text = cJSON_PrintUnformatted(header)) == NULL ||
	    sg_b64_encode(header_text, strlen(header_text), SG_B64_URL_NOPAD, &h64) != 0 ||
	    sg_b64_encode(body, len, SG_B64_URL_NOPAD, &p64) != 0 ||
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
	if ((r = sg_buf_printf(&jws, "%s..%s", h64, s64)) != 0)
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

/* POST a JSON document to path; *replyp (cJSON) on 200. On any other
 * answer why names the authority's error. */
static int
call(struct gw_csc *c, const char *path, cJSON *request, const char *request_id, cJSON **replyp,
    char *why, size_t whylen)
{
	struct gw_forward_reply reply;
	char *body = cJSON_PrintUnformatted(request), *jws = NULL;
	char sig_header[8192], id_header[128];
	const char *headers[2];
	size_t n = 0;
	int r;

	*replyp = NULL;
	memset(&reply, 0, sizeof(reply));
	if (body == NULL)
		return SG_ERR_ALLOC;
	if (c->authority->csc.sign_request_body) {
		if ((r = request_signature(c, body, strlen(body), &jws)) != 0) {
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
	if (snprintf(id_header, sizeof(id_header), "X-Request-ID: %s", request_id) >=
	    (int)sizeof(id_header)) {
		r = SG_ERR_TOO_LARGE;
		goto out;
	}
	headers[n++] = id_header;
	r = gw_forward_post(c->forward, path, "application/json", body, strlen(body), headers, n,
	    &reply);
	if (r != 0) {
		sg_msg(why, whylen, "%s: %s", c->authority->name,
		    r == SG_ERR_TIMEOUT ? "no answer in time" : "not reachable over TLS");
		goto out;
	}
	r = gw_csc_answer_object(c->authority->name, reply.status, reply.body.data, reply.body.len,
	    replyp, why, whylen);
 out:
	gw_forward_reply_free(&reply);
	cJSON_free(body);
	free(jws);
	return r;
}

/* credentials/info: the stamp certificate and its chain, cached. */
static int
stamp_chain(struct gw_csc *c, const char *request_id, STACK_OF(X509) **chainp, char *why,
    size_t whylen)
{
	cJSON *req = NULL, *reply = NULL;
	STACK_OF(X509) *chain = NULL;
	int r;

	*chainp = NULL;
	pthread_mutex_lock(&c->info_lock);
	if (c->chain != NULL && time(NULL) - c->info_at < INFO_TTL_S) {
		r = (*chainp = X509_chain_up_ref(c->chain)) != NULL ? 0 : SG_ERR_ALLOC;
		goto out;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "credentialID", c->authority->csc.credential_id);
	cJSON_AddStringToObject(req, "certificates", "chain");
	if ((r = call(c, "/credentials/info", req, request_id, &reply, why, whylen)) != 0)
		goto out;
	if ((r = gw_csc_answer_chain(c->authority->name, reply, &chain, why, whylen)) != 0)
		goto out;
	sk_X509_pop_free(c->chain, X509_free);
	c->chain = chain;
	chain = NULL;
	c->info_at = time(NULL);
	r = (*chainp = X509_chain_up_ref(c->chain)) != NULL ? 0 : SG_ERR_ALLOC;
 out:
	pthread_mutex_unlock(&c->info_lock);
	sk_X509_pop_free(chain, X509_free);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

/* After a failed stamp, fetch credentials/info afresh next time. */
static void
forget_chain(struct gw_csc *c)
{
	pthread_mutex_lock(&c->info_lock);
	sk_X509_pop_free(c->chain, X509_free);
	c->chain = NULL;
	pthread_mutex_unlock(&c->info_lock);
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

static const char *
sign_algo_oid(const EVP_MD *md, int key_type)
{
	int ec = key_type == EVP_PKEY_EC;

	switch (EVP_MD_get_type(md)) {
	case NID_sha256: return ec ? "1.2.840.10045.4.3.2" : "1.2.840.113549.1.1.11";
	case NID_sha384: return ec ? "1.2.840.10045.4.3.3" : "1.2.840.113549.1.1.12";
	case NID_sha512: return ec ? "1.2.840.10045.4.3.4" : "1.2.840.113549.1.1.13";
	default: return NULL;
	}
}

int
gw_csc_seal(struct gw_csc *c, struct gw_seal_job **jobs, size_t n, const char *request_id,
    char *why, size_t whylen)
{
	STACK_OF(X509) *chain = NULL, *rest = NULL;
	unsigned char tbs[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int tbs_len = 0;
	size_t i, sig_len = 0;
	char *tbs64 = NULL;
	cJSON *req = NULL, *reply = NULL, *hashes;
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
	if ((r = stamp_chain(c, request_id, &chain, why, whylen)) != 0)
		goto out;
	stamp = sk_X509_value(chain, 0);
	if ((rest = sk_X509_new_null()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	for (k = 1; k < sk_X509_num(chain); k++)
		sk_X509_push(rest, sk_X509_value(chain, k));
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "credentialID", c->authority->csc.credential_id);
	hashes = cJSON_AddArrayToObject(req, "hashes");
	for (i = 0; i < n; i++) {
		if ((r = jobs[i]->prepare(jobs[i], stamp, rest, tbs, &tbs_len)) != 0 ||
		    (r = sg_b64_encode(tbs, tbs_len, SG_B64_STD, &tbs64)) != 0)
			goto out;
		cJSON_AddItemToArray(hashes, cJSON_CreateString(tbs64));
		free(tbs64);
		tbs64 = NULL;
	}
	cJSON_AddStringToObject(req, "hashAlgorithmOID", hash_oid(md));
	cJSON_AddStringToObject(req, "signAlgo",
	    sign_algo_oid(md, EVP_PKEY_get_base_id(X509_get0_pubkey(stamp))));
	if ((r = call(c, "/signatures/signHash", req, request_id, &reply, why, whylen)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = gw_csc_answer_signature(c->authority->name, reply, i, n, &sig, &sig_len,
		    why, whylen)) != 0)
			goto out;
		/* Each job checks its value against the stamp certificate: a
		 * wrong signature from the authority never reaches the client. */
		r = jobs[i]->finish(jobs[i], sig, sig_len);
		free(sig);
		sig = NULL;
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
	free(tbs64);
	free(sig);
	cJSON_Delete(req);
	cJSON_Delete(reply);
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
	.seal = csc_seal,
};
