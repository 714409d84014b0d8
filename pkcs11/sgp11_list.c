/* SPDX-License-Identifier: Apache-2.0 */
/* The officer's view of the token: private keys, public keys and
 * certificates grouped by (label, id), with the key's protection flags and
 * the certificate's subject, issuer, serial and validity. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "sg_codec.h"
#include "sg_err.h"
#include "sgp11_internal.h"

static char *
name_oneline(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	long len;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(bio, &data)) >= 0 && (out = malloc((size_t)len + 1)) != NULL) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(bio);
	return out;
}

static time_t
asn1_time_to_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static int
fill_cert(struct sgp11_object_info *o, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	BIGNUM *bn = NULL;
	char *hex;

	if (x == NULL) {
		ERR_clear_error();
		return SG_ERR_PARSE;
	}
	o->cert_subject = name_oneline(X509_get_subject_name(x));
	o->cert_issuer = name_oneline(X509_get_issuer_name(x));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		o->cert_serial = strdup(hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	o->not_before = asn1_time_to_time_t(X509_get0_notBefore(x));
	o->not_after = asn1_time_to_time_t(X509_get0_notAfter(x));
	X509_free(x);
	return 0;
}

/* The entry for (label, id), added when missing. */
static struct sgp11_object_info *
entry_for(struct sgp11_object_info **infop, size_t *np, size_t *allocp,
    const char *label, const char *id_hex)
{
	struct sgp11_object_info *grown, *o;
	size_t i;

	for (i = 0; i < *np; i++) {
		if (strcmp((*infop)[i].label, label) == 0 && strcmp((*infop)[i].id_hex, id_hex) == 0)
			return &(*infop)[i];
	}
	if (*np == *allocp) {
		*allocp = *allocp == 0 ? 8 : *allocp * 2;
		if ((grown = realloc(*infop, *allocp * sizeof(**infop))) == NULL)
			return NULL;
		*infop = grown;
	}
	o = &(*infop)[(*np)++];
	memset(o, 0, sizeof(*o));
	o->sensitive = o->extractable = o->always_sensitive = o->never_extractable = -1;
	/* A label or id longer than the listing's field shows as empty, never
	 * as another, shorter one. */
	(void)sg_strfit(o->label, sizeof(o->label), label);
	(void)sg_strfit(o->id_hex, sizeof(o->id_hex), id_hex);
	return o;
}

static int
list_class(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    struct sgp11_object_info **infop, size_t *np, size_t *allocp)
{
	CK_OBJECT_HANDLE *handles = NULL;
	unsigned char *label = NULL, *id = NULL, *value = NULL;
	char *id_hex = NULL;
	size_t n = 0, i, label_len, id_len, value_len;
	struct sgp11_object_info *o;
	int r;

	if ((r = sgp11_find_objects(ctx, s, cls, NULL, NULL, 0, &handles, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (sgp11_get_attr(ctx, s, handles[i], CKA_LABEL, &label, &label_len) != 0 &&
		    (label = (unsigned char *)strdup("")) == NULL) {
			r = SG_ERR_ALLOC;
			goto out;
		}
		if (sgp11_get_attr(ctx, s, handles[i], CKA_ID, &id, &id_len) != 0)
			id_len = 0;
		if ((r = sg_hex_encode(id, id_len, &id_hex)) != 0)
			goto out;
		if ((o = entry_for(infop, np, allocp, (char *)label, id_hex)) == NULL) {
			r = SG_ERR_ALLOC;
			goto out;
		}
		if (cls == CKO_PRIVATE_KEY) {
			o->has_private = 1;
			o->sensitive = sgp11_get_bool(ctx, s, handles[i], CKA_SENSITIVE);
			o->extractable = sgp11_get_bool(ctx, s, handles[i], CKA_EXTRACTABLE);
			o->always_sensitive = sgp11_get_bool(ctx, s, handles[i], CKA_ALWAYS_SENSITIVE);
			o->never_extractable = sgp11_get_bool(ctx, s, handles[i],
			    CKA_NEVER_EXTRACTABLE);
			if (o->spec.kind == 0)
				(void)sgp11_spec_from_object(ctx, s, handles[i], &o->spec);
		} else if (cls == CKO_PUBLIC_KEY) {
			o->has_public = 1;
			if (o->spec.kind == 0)
				(void)sgp11_spec_from_object(ctx, s, handles[i], &o->spec);
		} else if (sgp11_get_attr(ctx, s, handles[i], CKA_VALUE, &value, &value_len) == 0) {
			o->has_cert = 1;
			if (o->cert_subject == NULL)
				(void)fill_cert(o, value, value_len);
		}
		free(label);
		free(id);
		free(id_hex);
		free(value);
		label = id = value = NULL;
		id_hex = NULL;
	}
	r = 0;
 out:
	free(label);
	free(id);
	free(id_hex);
	free(value);
	free(handles);
	return r;
}

int
sgp11_objects(struct sgp11_ctx *ctx, struct sgp11_object_info **infop, size_t *np)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE };
	struct sgp11_object_info *info = NULL;
	CK_SESSION_HANDLE s;
	size_t n = 0, alloc = 0, i;
	int r = 0;

	*infop = NULL;
	*np = 0;
	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	if ((r = sgp11_session_get(ctx, &s)) != 0)
		return r;
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]) && r == 0; i++)
		r = list_class(ctx, s, classes[i], &info, &n, &alloc);
	sgp11_session_put(ctx, s, r == SG_ERR_TOKEN_LOST);
	if (r != 0) {
		sgp11_objects_free(info, n);
		return r;
	}
	*infop = info;
	*np = n;
	return 0;
}

void
sgp11_objects_free(struct sgp11_object_info *info, size_t n)
{
	size_t i;

	if (info == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(info[i].cert_subject);
		free(info[i].cert_issuer);
		free(info[i].cert_serial);
	}
	free(info);
}
