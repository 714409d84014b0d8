/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON bodies of POST /v1/sign, of POST /v1/stamp's digest form and
 * of POST /v1/timestamp, parsed and checked. */
#ifndef GW_SIGN_REQUEST_H
#define GW_SIGN_REQUEST_H

#include <stddef.h>

#include <openssl/evp.h>

/* POST /v1/sign's body, checked: {"identity","digest":{"alg","value"},
 * "format"?}. */
struct gw_sign_request {
	char *identity;			/* new; non-empty (NULL for a timestamp) */
	char *authority;		/* new: a timestamp's authority, else NULL */
	const EVP_MD *md;		/* static */
	const char *alg;		/* static: "sha256", "sha384" or "sha512" */
	unsigned char *digest;		/* new; digest_len == EVP_MD_get_size(md) */
	size_t digest_len;
	int cms;			/* "format":"cms" (absent: raw) */
};
/* Room for every description gw_sign_request_parse writes. */
#define GW_SIGN_WHY_MAX 160
/* Parse len bytes of body (need not be NUL-terminated) into *out, which
 * is cleared first. The body must be UTF-8 JSON (RFC 8259: no raw NUL,
 * nothing but whitespace after the object, and no string holding \u0000)
 * and "identity" a name as sg_config.h defines them. 0 on success.
 * SG_ERR_PARSE when the body is not a valid request: why gets the 400's
 * one-sentence description, and out->identity stays set when the body
 * named a well-formed one (the refusal is audited under it). SG_ERR_ALLOC.
 * Release *out with gw_sign_request_free whatever the result. */
int gw_sign_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen);
/* POST /v1/stamp's digest form, {"identity","digest":{"alg","value"},
 * "name"?}, under the same rules; "name" (not kept) is 1 to
 * GW_STAMP_NAME_MAX bytes without control characters; out->cms is 0. */
#define GW_STAMP_NAME_MAX 255
int gw_stamp_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen);
/* POST /v1/timestamp's body, {"authority","digest":{"alg","value"}},
 * under the same rules, with "authority" in identity's place: a name as
 * sg_config.h defines them, kept in out->authority (also after a later
 * failure); out->identity stays NULL. */
int gw_timestamp_request_parse(const char *body, size_t len, struct gw_sign_request *out,
    char *why, size_t whylen);
/* POST /v1/stamp/batch's body, {"identity","digests":[{"alg","value"},
 * ...]}: 1 to GW_STAMP_BATCH_MAX digests, all with one alg (one signHash
 * carries them), under the same rules. identity stays set after a later
 * failure (the refusal is audited under it). Free with gw_stamp_batch_free. */
#define GW_STAMP_BATCH_MAX 100
struct gw_stamp_batch {
	char *identity;			/* new */
	const EVP_MD *md;		/* static */
	const char *alg;		/* static */
	unsigned char *digests[GW_STAMP_BATCH_MAX];	/* new, each EVP_MD_get_size(md) */
	size_t digest_len;
	size_t n;
};
int gw_stamp_batch_parse(const char *body, size_t len, struct gw_stamp_batch *out, char *why,
    size_t whylen);
void gw_stamp_batch_free(struct gw_stamp_batch *b);
/* Free what sr holds (not sr itself) and clear it; NULL is fine. */
void gw_sign_request_free(struct gw_sign_request *sr);

#endif
