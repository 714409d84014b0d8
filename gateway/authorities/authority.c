/* SPDX-License-Identifier: Apache-2.0 */
/* The one table of authority backends and the calls that go through it
 * (see authority.h). The backends own their state; an adapter here is
 * just the row and that state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authority.h"
#include "sg_err.h"

static const struct gw_authority_ops *const backends[] = {
	&gw_authority_csc_ops,
	&gw_authority_vero_ops,
	&gw_authority_soap_ops,
	&gw_authority_tsa_ops,
};

const struct gw_authority_ops *
gw_authority_ops_find(enum sg_authority_type type)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (backends[i]->type == type)
			return backends[i];
	}
	return NULL;
}

int
gw_authority_open(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_authority **authp, char *why, size_t whylen)
{
	const struct gw_authority_ops *ops;
	struct gw_authority *auth = NULL;
	int r;

	*authp = NULL;
	why[0] = '\0';
	if (a == NULL)
		return SG_ERR_INVALID_ARG;
	if ((ops = gw_authority_ops_find(a->type)) == NULL)
		return SG_ERR_UNSUPPORTED;
	if ((auth = calloc(1, sizeof(*auth))) == NULL)
		return SG_ERR_ALLOC;
	auth->ops = ops;
	if ((r = ops->open(a, token, key, cert, &auth->state, why, whylen)) != 0)
		goto out;
	*authp = auth;
	auth = NULL;
	r = 0;
 out:
	gw_authority_close(auth);
	return r;
}

void
gw_authority_close(struct gw_authority *auth)
{
	if (auth == NULL)
		return;
	if (auth->state != NULL)
		auth->ops->close(auth->state);
	free(auth);
}

int
gw_authority_ready(struct gw_authority *auth, unsigned int max_age_s, char *why, size_t whylen)
{
	why[0] = '\0';
	if (auth->ops->ready == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->ready(auth->state, max_age_s, why, whylen);
}

int
gw_authority_seal(struct gw_authority *auth, struct gw_seal_job **jobs, size_t n,
    const char *request_id, char *why, size_t whylen)
{
	if (auth->ops->seal == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->seal(auth->state, jobs, n, request_id, why, whylen);
}

int
gw_authority_call(struct gw_authority *auth, const void *envelope, size_t len,
    const char *http_action, const char *operation, const char *request_id,
    struct gw_soap_result *res, char *why, size_t whylen)
{
	if (auth->ops->call == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->call(auth->state, envelope, len, http_action, operation, request_id,
	    res, why, whylen);
}

int
gw_authority_timestamp(struct gw_authority *auth, const EVP_MD *md, const unsigned char *digest,
    size_t len, const char *request_id, struct gw_tsp_token **tokp, char *why, size_t whylen)
{
	*tokp = NULL;
	if (auth->ops->timestamp == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->timestamp(auth->state, md, digest, len, request_id, tokp, why, whylen);
}

int
gw_authority_sign_new(struct gw_authority *auth, const struct sg_identity *id,
    const char *transfer_id, const char *transfer_password, X509_REQ *csr,
    struct gw_vero_result *res, char *why, size_t whylen)
{
	if (auth->ops->sign_new == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->sign_new(auth->state, id, transfer_id, transfer_password, csr, res, why,
	    whylen);
}

int
gw_authority_renew(struct gw_authority *auth, const struct sg_identity *id, X509_REQ *csr,
    struct sgp11_key *current_key, X509 *current_cert, struct gw_vero_result *res, char *why,
    size_t whylen)
{
	if (auth->ops->renew == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->renew(auth->state, id, csr, current_key, current_cert, res, why, whylen);
}

int
gw_authority_get(struct gw_authority *auth, const struct sg_identity *id,
    const char *retrieval_id, struct gw_vero_result *res, char *why, size_t whylen)
{
	if (auth->ops->get == NULL)
		return SG_ERR_UNSUPPORTED;
	return auth->ops->get(auth->state, id, retrieval_id, res, why, whylen);
}

void
gw_soap_result_clear(struct gw_soap_result *res)
{
	sg_buf_free(&res->body);
	free(res->content_type);
	free(res->message_id);
	free(res->url);
	memset(res, 0, sizeof(*res));
}
