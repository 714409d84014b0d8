/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3161 time-stamps over HTTPS (see authority_tsa.h): gw_tsp makes the
 * request and judges the answer, gw_forward carries the bytes. The
 * adapter owns its forwarder and the TSA CA store; neither changes after
 * open, so concurrent requests share them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "authority.h"
#include "authority_tsa.h"
#include "gw_forward.h"
#include "sg_err.h"
#include "sg_log.h"

/* A TimeStampResp with a token and its chain stays far below this. */
#define TSA_REPLY_MAX	(256u * 1024)

struct gw_tsa {
	const struct sg_authority *authority;
	struct gw_forward *forward;
	X509_STORE *tsa_store;		/* tsa_ca_file: the signer's anchors */
};

/* The anchors of tsa_ca_file in a new store; at least one certificate. */
static int
load_tsa_store(const char *path, X509_STORE **storep, char *why, size_t whylen)
{
	X509_STORE *store = NULL;
	STACK_OF(X509_OBJECT) *objs;
	int r;

	*storep = NULL;
	if ((store = X509_STORE_new()) == NULL)
		return SG_ERR_ALLOC;
	if (X509_STORE_load_file(store, path) != 1) {
		ERR_clear_error();
		r = sg_why(SG_ERR_IO, why, whylen, "tsa_ca_file %s cannot be read as PEM", path);
		goto out;
	}
	objs = X509_STORE_get0_objects(store);
	if (objs == NULL || sk_X509_OBJECT_num(objs) == 0) {
		r = sg_why(SG_ERR_PARSE, why, whylen, "tsa_ca_file %s holds no certificate", path);
		goto out;
	}
	*storep = store;
	store = NULL;
	r = 0;
 out:
	X509_STORE_free(store);
	return r;
}

int
gw_tsa_new(const struct sg_authority *a, struct gw_tsa **tp, char *why, size_t whylen)
{
	struct gw_forward_opts fo;
	struct gw_tsa *t = NULL;
	int r;

	*tp = NULL;
	why[0] = '\0';
	if (a == NULL || a->type != SG_AUTHORITY_RFC3161)
		return SG_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return SG_ERR_ALLOC;
	t->authority = a;
	if ((r = load_tsa_store(a->tsa.tsa_ca_file, &t->tsa_store, why, whylen)) != 0)
		goto out;
	memset(&fo, 0, sizeof(fo));
	fo.base_url = a->url;
	fo.ca_file = a->ca_file;
	fo.timeout_ms = a->tsa.timeout_ms;
	fo.connect_timeout_ms = a->tsa.timeout_ms < 5000 ? a->tsa.timeout_ms : 5000;
	fo.retries = 1;
	fo.max_reply_bytes = TSA_REPLY_MAX;
	if ((r = gw_forward_new(&fo, &t->forward)) != 0) {
		sg_why(r, why, whylen, "url %s with ca_file %s: %s", a->url, a->ca_file,
		    sg_strerror(r));
		goto out;
	}
	*tp = t;
	t = NULL;
	r = 0;
 out:
	gw_tsa_free(t);
	return r;
}

void
gw_tsa_free(struct gw_tsa *t)
{
	if (t == NULL)
		return;
	gw_forward_free(t->forward);
	X509_STORE_free(t->tsa_store);
	free(t);
}

int
gw_tsa_timestamp(struct gw_tsa *t, const EVP_MD *md, const unsigned char *digest, size_t len,
    const char *request_id, struct gw_tsp_token **tokp, char *why, size_t whylen)
{
	struct gw_tsp_request *req = NULL;
	struct gw_forward_reply reply;
	const unsigned char *query;
	size_t query_len;
	int r;

	*tokp = NULL;
	why[0] = '\0';
	memset(&reply, 0, sizeof(reply));
	if ((r = gw_tsp_request_new(md, digest, len, t->authority->tsa.policy, &req)) != 0) {
		sg_why(r, why, whylen, "the time-stamp request could not be made: %s",
		    sg_strerror(r));
		goto out;
	}
	query = gw_tsp_request_der(req, &query_len);
	r = gw_forward_post(t->forward, "", "application/timestamp-query", query, query_len, NULL,
	    0, &reply);
	if (r == SG_ERR_TIMEOUT) {
		sg_why(r, why, whylen, "time-stamp authority %s did not answer within %u ms",
		    t->authority->name, t->authority->tsa.timeout_ms);
		goto out;
	}
	if (r != 0) {
		sg_why(SG_ERR_AUTHORITY, why, whylen, "time-stamp authority %s could not be reached: %s",
		    t->authority->name, sg_strerror(r));
		r = r == SG_ERR_ALLOC ? r : SG_ERR_AUTHORITY;
		goto out;
	}
	if (reply.status != 200) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "time-stamp authority %s answered HTTP %d",
		    t->authority->name, reply.status);
		goto out;
	}
	if ((r = gw_tsp_answer_check(req, reply.body.data, reply.body.len, t->tsa_store, tokp, why,
	    whylen)) != 0) {
		/* An answer that cannot be parsed is as much the TSA's fault. */
		if (r == SG_ERR_PARSE)
			r = SG_ERR_AUTHORITY;
		goto out;
	}
	sg_debug("%s: time-stamp %s from %s", request_id, (*tokp)->serial, t->authority->name);
	r = 0;
 out:
	gw_forward_reply_free(&reply);
	gw_tsp_request_free(req);
	return r;
}

static int
tsa_open(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key, X509 *cert,
    void **statep, char *why, size_t whylen)
{
	struct gw_tsa *t = NULL;
	int r;

	(void)token;
	(void)key;
	(void)cert;
	r = gw_tsa_new(a, &t, why, whylen);
	*statep = t;
	return r;
}

static void
tsa_close(void *state)
{
	gw_tsa_free(state);
}

static int
tsa_timestamp(void *state, const EVP_MD *md, const unsigned char *digest, size_t len,
    const char *request_id, struct gw_tsp_token **tokp, char *why, size_t whylen)
{
	return gw_tsa_timestamp(state, md, digest, len, request_id, tokp, why, whylen);
}

const struct gw_authority_ops gw_authority_tsa_ops = {
	.type = SG_AUTHORITY_RFC3161,
	.name = "rfc3161",
	.use = 0,
	.without_cert = NULL,
	.open = tsa_open,
	.close = tsa_close,
	.timestamp = tsa_timestamp,
};
