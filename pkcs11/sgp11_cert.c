/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates next to their keys: import (only a certificate whose public
 * key is the key's), moving a key with everything stored beside it to
 * another label, and retiring it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "sg_err.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

#define CHAIN_MAX 8

static int
chain_label(char *out, size_t outlen, const char *label, size_t i)
{
	int n = snprintf(out, outlen, "%s.chain%zu", label, i);

	return n < 0 || (size_t)n >= outlen ? SG_ERR_INVALID_ARG : 0;
}

static int
store_cert(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, X509 *cert, const char *label,
    const unsigned char *id, size_t id_len)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	unsigned char *der = NULL, *subj = NULL, *issuer = NULL, *serial = NULL;
	int der_len, subj_len, issuer_len, serial_len, r = SG_ERR_CRYPTO;
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	if ((der_len = i2d_X509(cert, &der)) <= 0 ||
	    (subj_len = i2d_X509_NAME(X509_get_subject_name(cert), &subj)) <= 0 ||
	    (issuer_len = i2d_X509_NAME(X509_get_issuer_name(cert), &issuer)) <= 0 ||
	    (serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial)) <= 0)
		goto out;
	{
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &no, sizeof(no) },
			{ CKA_LABEL, (void *)label, strlen(label) },
			{ CKA_SUBJECT, subj, (CK_ULONG)subj_len },
			{ CKA_ISSUER, issuer, (CK_ULONG)issuer_len },
			{ CKA_SERIAL_NUMBER, serial, (CK_ULONG)serial_len },
			{ CKA_VALUE, der, (CK_ULONG)der_len },
			{ CKA_ID, (void *)id, (CK_ULONG)id_len },
		};
		CK_ULONG n = sizeof(tmpl) / sizeof(tmpl[0]);

		if (id == NULL)
			n--;
		if ((rv = sgp11_C_CreateObject(ctx, SGP11_FAIL_ERROR, s, tmpl, n, &h,
		    "certificate %s", label)) != CKR_OK) {
			r = sgp11_ckr_to_err(rv);
			goto out;
		}
	}
	r = 0;
 out:
	ERR_clear_error();
	OPENSSL_free(der);
	OPENSSL_free(subj);
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	return r;
}

int
sgp11_cert_import(struct sgp11_ctx *ctx, const char *label, X509 *cert, STACK_OF(X509) *chain)
{
	struct sgp11_key *key = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE *existing = NULL;
	char clabel[160];
	size_t n = 0;
	int i, r;

	if (cert == NULL || label == NULL)
		return SG_ERR_INVALID_ARG;
	if (chain != NULL && sk_X509_num(chain) > CHAIN_MAX)
		return SG_ERR_TOO_LARGE;
	if ((r = sgp11_key_find(ctx, label, &key)) != 0)
		return r;
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), key->pub) != 1) {
		ERR_clear_error();
		r = SG_ERR_KEY_MISMATCH;
		goto out;
	}
	if (key->cert != NULL) {
		r = SG_ERR_EXISTS;
		goto out;
	}
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		goto out;
	if ((r = sgp11_find_objects(ctx, s, CKO_CERTIFICATE, label, NULL, 0, &existing, &n)) != 0)
		goto out;
	if (n != 0) {
		r = SG_ERR_EXISTS;
		goto out;
	}
	if ((r = store_cert(ctx, s, cert, label, key->id, key->id_len)) != 0)
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		if ((r = chain_label(clabel, sizeof(clabel), label, (size_t)i + 1)) != 0 ||
		    (r = store_cert(ctx, s, sk_X509_value(chain, i), clabel, NULL, 0)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (s != CK_INVALID_HANDLE)
		(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	free(existing);
	sgp11_key_free(key);
	return r;
}

static int
destroy_labelled(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *label, size_t *destroyed)
{
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0, i;
	CK_RV rv;
	int r;

	if ((r = sgp11_find_objects(ctx, s, cls, label, NULL, 0, &h, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((rv = sgp11_C_DestroyObject(ctx, SGP11_FAIL_ERROR, s, h[i], "%s", label)) !=
		    CKR_OK) {
			free(h);
			return sgp11_ckr_to_err(rv);
		}
		(*destroyed)++;
	}
	free(h);
	return 0;
}

int
sgp11_key_retire(struct sgp11_ctx *ctx, const char *label)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	char clabel[160];
	size_t destroyed = 0, before, i;
	int r;

	if (label == NULL || *label == '\0')
		return SG_ERR_INVALID_ARG;
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		return r;
	/* Certificates first: a crash half-way leaves a key without its
	 * certificate, never a certificate that looks usable without a key. */
	if ((r = destroy_labelled(ctx, s, CKO_CERTIFICATE, label, &destroyed)) != 0)
		goto out;
	for (i = 1; i <= CHAIN_MAX; i++) {
		before = destroyed;
		if ((r = chain_label(clabel, sizeof(clabel), label, i)) != 0 ||
		    (r = destroy_labelled(ctx, s, CKO_CERTIFICATE, clabel, &destroyed)) != 0)
			goto out;
		if (destroyed == before)
			break;
	}
	if ((r = destroy_labelled(ctx, s, CKO_PRIVATE_KEY, label, &destroyed)) != 0 ||
	    (r = destroy_labelled(ctx, s, CKO_PUBLIC_KEY, label, &destroyed)) != 0)
		goto out;
	r = destroyed == 0 ? SG_ERR_KEY_NOT_FOUND : 0;
 out:
	(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	return r;
}

/* Give every object of class cls labelled from the label to. */
static int
relabel_class(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *from,
    const char *to)
{
	CK_OBJECT_HANDLE *h = NULL;
	CK_ATTRIBUTE label = { CKA_LABEL, (void *)to, strlen(to) };
	size_t n = 0, i;
	CK_RV rv;
	int r;

	if ((r = sgp11_find_objects(ctx, s, cls, from, NULL, 0, &h, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((rv = sgp11_C_SetAttributeValue(ctx, SGP11_FAIL_ERROR, s, h[i], &label, 1,
		    "CKA_LABEL %s -> %s", from, to)) != CKR_OK) {
			free(h);
			return sgp11_ckr_to_err(rv);
		}
	}
	free(h);
	return 0;
}

static int
count_labelled(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
    size_t *np)
{
	CK_OBJECT_HANDLE *h = NULL;
	int r = sgp11_find_objects(ctx, s, cls, label, NULL, 0, &h, np);

	free(h);
	return r;
}

int
sgp11_key_relabel(struct sgp11_ctx *ctx, const char *from, const char *to)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	char cfrom[160], cto[160];
	size_t n_from = 0, n_to = 0, i;
	int r;

	if (from == NULL || to == NULL || *from == '\0' || *to == '\0' || strcmp(from, to) == 0)
		return SG_ERR_INVALID_ARG;
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		return r;
	if ((r = count_labelled(ctx, s, CKO_PRIVATE_KEY, from, &n_from)) != 0 ||
	    (r = count_labelled(ctx, s, CKO_PRIVATE_KEY, to, &n_to)) != 0)
		goto out;
	if (n_from == 0) {
		/* The private key moves last: with it gone, all is moved. */
		r = n_to != 0 ? 0 : SG_ERR_KEY_NOT_FOUND;
		goto out;
	}
	if (n_to != 0) {
		r = SG_ERR_EXISTS;
		goto out;
	}
	/* The private key last: until it moves, "from" is still the key. */
	if ((r = relabel_class(ctx, s, CKO_CERTIFICATE, from, to)) != 0)
		goto out;
	for (i = 1; i <= CHAIN_MAX; i++) {
		if ((r = chain_label(cfrom, sizeof(cfrom), from, i)) != 0 ||
		    (r = chain_label(cto, sizeof(cto), to, i)) != 0 ||
		    (r = relabel_class(ctx, s, CKO_CERTIFICATE, cfrom, cto)) != 0)
			goto out;
	}
	if ((r = relabel_class(ctx, s, CKO_PUBLIC_KEY, from, to)) != 0 ||
	    (r = relabel_class(ctx, s, CKO_PRIVATE_KEY, from, to)) != 0)
		goto out;
	r = 0;
 out:
	(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	return r;
}
