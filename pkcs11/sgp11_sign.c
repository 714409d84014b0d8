/* SPDX-License-Identifier: Apache-2.0 */
/* Signing a digest on the token through the session pool: one session per
 * call, never shared while in use, and a session that reports the token or
 * login gone is closed rather than handed to the next caller. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "sg_err.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1). SHA-1 is here
 * only for XML signature profiles that still require it (rsa-sha1); the
 * HTTP API's digests are SHA-2. */
static const unsigned char prefix_sha1[] = {
	0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
	0x14 };
static const unsigned char prefix_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char prefix_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x02, 0x05, 0x00, 0x04, 0x30 };
static const unsigned char prefix_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x03, 0x05, 0x00, 0x04, 0x40 };

static const struct digest_info {
	int nid;
	size_t len;
	const unsigned char *prefix;
	size_t prefix_len;
	CK_MECHANISM_TYPE hash_mech;
	CK_RSA_PKCS_MGF_TYPE mgf;
} digests[] = {
	{ NID_sha1, 20, prefix_sha1, sizeof(prefix_sha1), CKM_SHA_1, CKG_MGF1_SHA1 },
	{ NID_sha256, 32, prefix_sha256, sizeof(prefix_sha256), CKM_SHA256, CKG_MGF1_SHA256 },
	{ NID_sha384, 48, prefix_sha384, sizeof(prefix_sha384), CKM_SHA384, CKG_MGF1_SHA384 },
	{ NID_sha512, 64, prefix_sha512, sizeof(prefix_sha512), CKM_SHA512, CKG_MGF1_SHA512 },
};

static const struct digest_info *
digest_lookup(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
		if (digests[i].nid == nid)
			return &digests[i];
	}
	return NULL;
}

/* Cryptoki's ECDSA output is r||s; X.509 and CMS want ECDSA-Sig-Value. */
static int
ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **derp, size_t *lenp)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int n, ret = SG_ERR_CRYPTO;

	if (len == 0 || len % 2 != 0)
		return SG_ERR_TOKEN;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto out;
	*derp = der;
	*lenp = (size_t)n;
	ret = 0;
 out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	if (ret != 0)
		ERR_clear_error();
	return ret;
}

static int
token_sign(struct sgp11_key *key, CK_MECHANISM *mech, const unsigned char *data,
    size_t data_len, unsigned char **sigp, size_t *siglenp)
{
	struct sgp11_ctx *ctx = key->ctx;
	CK_SESSION_HANDLE s;
	CK_ULONG sig_len = 0;
	unsigned char *sig = NULL;
	CK_RV rv;
	int r;

	if ((r = sgp11_session_get(ctx, &s)) != 0)
		return r;
	if ((rv = sgp11_C_SignInit(ctx, SGP11_FAIL_WARN, s, mech, key->priv, "%s",
	    key->label)) != CKR_OK)
		goto fail;
	/* Ask the size first: an RSA signature is the modulus size, an ECDSA
	 * one twice the order size, but the token is the authority. */
	if ((rv = sgp11_C_Sign(ctx, SGP11_FAIL_WARN, s, (CK_BYTE_PTR)data, (CK_ULONG)data_len,
	    NULL, &sig_len, "%s", key->label)) != CKR_OK)
		goto fail;
	if ((sig = OPENSSL_malloc(sig_len)) == NULL) {
		/* The operation is still active: end it with a short buffer. */
		sgp11_session_put(ctx, s, 1);
		return SG_ERR_ALLOC;
	}
	if ((rv = sgp11_C_Sign(ctx, SGP11_FAIL_WARN, s, (CK_BYTE_PTR)data, (CK_ULONG)data_len,
	    sig, &sig_len, "%s", key->label)) != CKR_OK)
		goto fail;
	sgp11_session_put(ctx, s, 0);
	*sigp = sig;
	*siglenp = sig_len;
	return 0;
 fail:
	OPENSSL_free(sig);
	r = sgp11_ckr_to_err(rv);
	/* A failed C_Sign ends the operation, but a session whose token or
	 * login is gone is closed, never reused. */
	sgp11_session_put(ctx, s, sgp11_ckr_is_lost(rv));
	return r;
}

int
sgp11_sign_digest(struct sgp11_key *key, int md_nid, enum sgp11_padding pad,
    const unsigned char *dgst, size_t dgst_len, unsigned char **sigp, size_t *siglenp)
{
	const struct digest_info *di = digest_lookup(md_nid);
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	unsigned char data[128], *raw = NULL;
	size_t data_len, raw_len = 0;
	int r;

	*sigp = NULL;
	*siglenp = 0;
	if (di == NULL || dgst == NULL || dgst_len != di->len)
		return SG_ERR_INVALID_ARG;
	if (key->spec.kind == SGP11_EC) {
		if (pad != SGP11_PAD_DEFAULT)
			return SG_ERR_INVALID_ARG;
		mech.mechanism = CKM_ECDSA;
		memcpy(data, dgst, dgst_len);
		data_len = dgst_len;
	} else if (pad == SGP11_PAD_PSS) {
		pss.hashAlg = di->hash_mech;
		pss.mgf = di->mgf;
		pss.sLen = (CK_ULONG)di->len;
		mech.mechanism = CKM_RSA_PKCS_PSS;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
		memcpy(data, dgst, dgst_len);
		data_len = dgst_len;
	} else {
		memcpy(data, di->prefix, di->prefix_len);
		memcpy(data + di->prefix_len, dgst, dgst_len);
		data_len = di->prefix_len + dgst_len;
	}
	sgp11_use_begin(key->ctx);
	if (sgp11_key_stale(key))
		r = SG_ERR_TOKEN_LOST;
	else
		r = token_sign(key, &mech, data, data_len, &raw, &raw_len);
	sgp11_use_end(key->ctx);
	if (r != 0)
		return r;
	__atomic_store_n(&key->ctx->last_good_s, (int64_t)time(NULL), __ATOMIC_RELAXED);
	if (key->spec.kind == SGP11_EC) {
		r = ecdsa_raw_to_der(raw, raw_len, sigp, siglenp);
		OPENSSL_free(raw);
		return r;
	}
	*sigp = raw;
	*siglenp = raw_len;
	return 0;
}
