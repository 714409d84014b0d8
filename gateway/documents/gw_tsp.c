/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3161 requests and the check of their answers, with OpenSSL's TS API
 * (see gw_tsp.h). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "gw_tsp.h"
#include "sg_err.h"

/* RFC 3161 section 2.4.2: serialNumber fits in 160 bits. */
#define TSP_SERIAL_MAX_BYTES 20
#define TSP_NONCE_BYTES 8
/* A TimeStampResp larger than this is no answer of a TSA. */
#define TSP_REPLY_MAX (256 * 1024)

struct gw_tsp_request {
	TS_REQ *req;
	unsigned char *der;
	size_t der_len;
};

void
gw_tsp_request_free(struct gw_tsp_request *r)
{
	if (r == NULL)
		return;
	TS_REQ_free(r->req);
	OPENSSL_free(r->der);
	free(r);
}

void
gw_tsp_token_free(struct gw_tsp_token *tok)
{
	if (tok == NULL)
		return;
	OPENSSL_free(tok->der);
	free(tok->reply);
	free(tok);
}

const unsigned char *
gw_tsp_request_der(const struct gw_tsp_request *r, size_t *len)
{
	*len = r->der_len;
	return r->der;
}

static int
md_supported(const EVP_MD *md)
{
	int nid = EVP_MD_get_type(md);

	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* A positive random nonce of TSP_NONCE_BYTES (new). */
static int
random_nonce(ASN1_INTEGER **noncep)
{
	unsigned char raw[TSP_NONCE_BYTES];
	BIGNUM *bn = NULL;
	int r = SG_ERR_CRYPTO;

	*noncep = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	raw[0] = (raw[0] & 0x7f) | 0x01;	/* positive, and never short */
	r = SG_ERR_ALLOC;
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL ||
	    (*noncep = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	r = 0;
out:
	BN_free(bn);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

int
gw_tsp_request_new(const EVP_MD *md, const unsigned char *digest, size_t digest_len,
    const char *policy_oid, struct gw_tsp_request **reqp)
{
	struct gw_tsp_request *r = NULL;
	TS_MSG_IMPRINT *imprint = NULL;
	X509_ALGOR *algo = NULL;
	ASN1_OBJECT *policy = NULL;
	ASN1_INTEGER *nonce = NULL;
	unsigned char *der = NULL;
	int len, rc = SG_ERR_INVALID_ARG;

	if (reqp == NULL)
		return SG_ERR_INVALID_ARG;
	*reqp = NULL;
	if (md == NULL || digest == NULL)
		return SG_ERR_INVALID_ARG;
	if (!md_supported(md))
		return SG_ERR_UNSUPPORTED;
	if (digest_len != (size_t)EVP_MD_get_size(md))
		return SG_ERR_INVALID_ARG;
	if (policy_oid != NULL && (policy = OBJ_txt2obj(policy_oid, 1)) == NULL) {
		ERR_clear_error();
		return SG_ERR_INVALID_ARG;
	}
	if ((rc = random_nonce(&nonce)) != 0)
		goto out;
	rc = SG_ERR_ALLOC;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->req = TS_REQ_new()) == NULL ||
	    (imprint = TS_MSG_IMPRINT_new()) == NULL ||
	    (algo = X509_ALGOR_new()) == NULL)
		goto out;
	if (!X509_ALGOR_set0(algo, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(imprint, algo) ||
	    !TS_MSG_IMPRINT_set_msg(imprint, (unsigned char *)digest, (int)digest_len) ||
	    !TS_REQ_set_version(r->req, 1) ||
	    !TS_REQ_set_msg_imprint(r->req, imprint) ||
	    (policy != NULL && !TS_REQ_set_policy_id(r->req, policy)) ||
	    !TS_REQ_set_nonce(r->req, nonce) ||
	    !TS_REQ_set_cert_req(r->req, 1))
		goto out;
	if ((len = i2d_TS_REQ(r->req, &der)) <= 0)
		goto out;
	r->der = der;
	r->der_len = (size_t)len;
	der = NULL;
	*reqp = r;
	r = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	gw_tsp_request_free(r);
	TS_MSG_IMPRINT_free(imprint);
	X509_ALGOR_free(algo);
	ASN1_OBJECT_free(policy);
	ASN1_INTEGER_free(nonce);
	OPENSSL_free(der);
	return rc;
}

/* The TSA's refusal: status, its text and failInfo bits, into why. */
static int
refused(TS_RESP *resp, long status, char *why, size_t whylen)
{
	static const char *const status_names[] = { "granted", "grantedWithMods", "rejection",
	    "waiting", "revocationWarning", "revocationNotification" };
	/* PKIFailureInfo bit numbers (RFC 3161 section 2.4.2). */
	static const struct { int bit; const char *name; } fail_names[] = {
		{ 0, "badAlg" }, { 2, "badRequest" }, { 5, "badDataFormat" },
		{ 14, "timeNotAvailable" }, { 15, "unacceptedPolicy" },
		{ 16, "unacceptedExtension" }, { 17, "addInfoNotAvailable" },
		{ 25, "systemFailure" },
	};
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	const ASN1_BIT_STRING *fi = TS_STATUS_INFO_get0_failure_info(si);
	char fails[160] = "";
	size_t used = 0, i;

	for (i = 0; fi != NULL && i < sizeof(fail_names) / sizeof(fail_names[0]); i++) {
		int n;

		if (!ASN1_BIT_STRING_get_bit(fi, fail_names[i].bit))
			continue;
		n = snprintf(fails + used, sizeof(fails) - used, "%s%s", used ? "," : "",
		    fail_names[i].name);
		if (n < 0 || (size_t)n >= sizeof(fails) - used)
			break;
		used += (size_t)n;
	}
	return sg_why(SG_ERR_AUTHORITY, why, whylen, "the TSA did not grant the time-stamp: "
	    "status %ld (%s)%s%s", status,
	    status >= 0 && status <= 5 ? status_names[status] : "unknown",
	    used ? ", failInfo " : "", fails);
}

/* The last OpenSSL error's reason, or a fallback; clears the queue. */
static const char *
crypto_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	sg_msg(buf, len, "%s", reason != NULL ? reason : "verification failed");
	ERR_clear_error();
	return buf;
}

static int
token_facts(TS_RESP *resp, struct gw_tsp_token *tok, char *why, size_t whylen)
{
	TS_TST_INFO *info = TS_RESP_get_tst_info(resp);
	const ASN1_INTEGER *serial;
	const ASN1_GENERALIZEDTIME *gt;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	struct tm tm;
	size_t i;
	int r = SG_ERR_AUTHORITY;

	if (info == NULL || (serial = TS_TST_INFO_get_serial(info)) == NULL ||
	    (gt = TS_TST_INFO_get_time(info)) == NULL) {
		r = sg_why(r, why, whylen, "the time-stamp token has no TSTInfo");
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL || BN_is_negative(bn) ||
	    BN_num_bytes(bn) > TSP_SERIAL_MAX_BYTES) {
		r = sg_why(r, why, whylen, "the time-stamp token's serial number is not a "
		    "positive integer of at most 160 bits");
		goto out;
	}
	if ((hex = BN_bn2hex(bn)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	for (i = 0; hex[i] != '\0'; i++)
		hex[i] = (char)tolower((unsigned char)hex[i]);
	if (sg_strfit(tok->serial, sizeof(tok->serial), hex) != 0) {
		r = sg_why(r, why, whylen, "the time-stamp token's serial number is too long");
		goto out;
	}
	if (!ASN1_TIME_to_tm(gt, &tm)) {
		r = sg_why(r, why, whylen, "the time-stamp token's genTime is not a time");
		goto out;
	}
	tok->gen_time = timegm(&tm);
	r = 0;
out:
	ERR_clear_error();
	BN_free(bn);
	OPENSSL_free(hex);
	return r;
}

int
gw_tsp_answer_check(const struct gw_tsp_request *req, const unsigned char *resp_der,
    size_t resp_len, X509_STORE *tsa_store, struct gw_tsp_token **tokp, char *why,
    size_t whylen)
{
	const unsigned char *p = resp_der;
	TS_RESP *resp = NULL;
	TS_VERIFY_CTX *vctx = NULL;
	struct gw_tsp_token *tok = NULL;
	unsigned char *der = NULL;
	char reason[160];
	long status;
	int len, r = SG_ERR_INVALID_ARG;

	if (tokp == NULL)
		return SG_ERR_INVALID_ARG;
	*tokp = NULL;
	if (req == NULL || resp_der == NULL || tsa_store == NULL)
		return SG_ERR_INVALID_ARG;
	if (resp_len == 0 || resp_len > TSP_REPLY_MAX ||
	    (resp = d2i_TS_RESP(NULL, &p, (long)resp_len)) == NULL ||
	    p != resp_der + resp_len) {
		r = sg_why(SG_ERR_PARSE, why, whylen, "the TSA's answer is not a DER "
		    "TimeStampResp");
		goto out;
	}
	status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
	if (status != TS_STATUS_GRANTED && status != TS_STATUS_GRANTED_WITH_MODS) {
		r = refused(resp, status, why, whylen);
		goto out;
	}
	if (TS_RESP_get_token(resp) == NULL) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "the TSA granted but sent no token");
		goto out;
	}
	r = SG_ERR_ALLOC;
	if ((vctx = TS_REQ_to_TS_VERIFY_CTX(req->req, NULL)) == NULL)
		goto out;
	TS_VERIFY_CTX_add_flags(vctx, TS_VFY_SIGNATURE);
	if (!X509_STORE_up_ref(tsa_store))
		goto out;
	TS_VERIFY_CTX_set_store(vctx, tsa_store);	/* takes the reference */
	if (TS_RESP_verify_response(vctx, resp) != 1) {
		r = sg_why(SG_ERR_AUTHORITY, why, whylen, "the TSA's time-stamp token was "
		    "refused: %s", crypto_reason(reason, sizeof(reason)));
		goto out;
	}
	r = SG_ERR_ALLOC;
	if ((tok = calloc(1, sizeof(*tok))) == NULL ||
	    (tok->reply = malloc(resp_len)) == NULL)
		goto out;
	memcpy(tok->reply, resp_der, resp_len);
	tok->reply_len = resp_len;
	if ((r = token_facts(resp, tok, why, whylen)) != 0)
		goto out;
	r = SG_ERR_ALLOC;
	if ((len = i2d_PKCS7(TS_RESP_get_token(resp), &der)) <= 0)
		goto out;
	tok->der = der;
	tok->der_len = (size_t)len;
	der = NULL;
	*tokp = tok;
	tok = NULL;
	r = 0;
out:
	ERR_clear_error();
	TS_VERIFY_CTX_free(vctx);
	TS_RESP_free(resp);
	gw_tsp_token_free(tok);
	OPENSSL_free(der);
	return r;
}
