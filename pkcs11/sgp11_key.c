/* SPDX-License-Identifier: Apache-2.0 */
/* Keys on the token: key specs, object and attribute lookups, finding a
 * key pair by label (libp11 supplies the EVP_PKEYs), and the key and
 * certificate listing the officer sees. */
#include "config.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

static const struct { const char *name; struct sgp11_keyspec spec; } keyspecs[] = {
	{ "rsa:2048", { SGP11_RSA, 2048, 0 } },
	{ "rsa:3072", { SGP11_RSA, 3072, 0 } },
	{ "rsa:4096", { SGP11_RSA, 4096, 0 } },
	{ "ec:p256", { SGP11_EC, 256, NID_X9_62_prime256v1 } },
	{ "ec:p384", { SGP11_EC, 384, NID_secp384r1 } },
};

int
sgp11_keyspec_parse(const char *name, struct sgp11_keyspec *spec)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(keyspecs) / sizeof(keyspecs[0]); i++) {
		if (strcmp(name, keyspecs[i].name) == 0) {
			*spec = keyspecs[i].spec;
			return 0;
		}
	}
	return SG_ERR_INVALID_ARG;
}

const char *
sgp11_keyspec_name(const struct sgp11_keyspec *spec)
{
	size_t i;

	for (i = 0; i < sizeof(keyspecs) / sizeof(keyspecs[0]); i++) {
		if (keyspecs[i].spec.kind == spec->kind && keyspecs[i].spec.bits == spec->bits)
			return keyspecs[i].name;
	}
	return "unknown";
}

int
sgp11_find_objects(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *label, const unsigned char *id, size_t id_len,
    CK_OBJECT_HANDLE **handlesp, size_t *np)
{
	CK_ATTRIBUTE tmpl[3];
	CK_ULONG nt = 0, got;
	CK_OBJECT_HANDLE *handles = NULL, *grown;
	size_t n = 0, alloc = 0;
	CK_RV rv;

	*handlesp = NULL;
	*np = 0;
	tmpl[nt].type = CKA_CLASS;
	tmpl[nt].pValue = &cls;
	tmpl[nt++].ulValueLen = sizeof(cls);
	if (label != NULL) {
		tmpl[nt].type = CKA_LABEL;
		tmpl[nt].pValue = (void *)label;
		tmpl[nt++].ulValueLen = strlen(label);
	}
	if (id != NULL) {
		tmpl[nt].type = CKA_ID;
		tmpl[nt].pValue = (void *)id;
		tmpl[nt++].ulValueLen = id_len;
	}
	if ((rv = sgp11_C_FindObjectsInit(ctx, SGP11_FAIL_QUIET, s, tmpl, nt)) != CKR_OK)
		return sgp11_ckr_to_err(rv);
	for (;;) {
		if (n == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			if ((grown = realloc(handles, alloc * sizeof(*handles))) == NULL) {
				(void)sgp11_C_FindObjectsFinal(ctx, SGP11_FAIL_QUIET, s);
				free(handles);
				return SG_ERR_ALLOC;
			}
			handles = grown;
		}
		rv = sgp11_C_FindObjects(ctx, SGP11_FAIL_QUIET, s, handles + n, (CK_ULONG)(alloc - n),
		    &got);
		if (rv != CKR_OK) {
			(void)sgp11_C_FindObjectsFinal(ctx, SGP11_FAIL_QUIET, s);
			free(handles);
			return sgp11_ckr_to_err(rv);
		}
		if (got == 0)
			break;
		n += got;
	}
	(void)sgp11_C_FindObjectsFinal(ctx, SGP11_FAIL_QUIET, s);
	*handlesp = handles;
	*np = n;
	return 0;
}

int
sgp11_get_attr(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, unsigned char **valp, size_t *lenp)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*valp = NULL;
	*lenp = 0;
	if ((rv = sgp11_C_GetAttributeValue(ctx, SGP11_FAIL_QUIET, s, obj, &a, 1)) != CKR_OK)
		return sgp11_ckr_to_err(rv);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return SG_ERR_NOT_FOUND;
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL)
		return SG_ERR_ALLOC;
	if ((rv = sgp11_C_GetAttributeValue(ctx, SGP11_FAIL_QUIET, s, obj, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return sgp11_ckr_to_err(rv);
	}
	((unsigned char *)a.pValue)[a.ulValueLen] = '\0';
	*valp = a.pValue;
	*lenp = a.ulValueLen;
	return 0;
}

int
sgp11_get_bool(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (sgp11_C_GetAttributeValue(ctx, SGP11_FAIL_QUIET, s, obj, &a, 1) != CKR_OK)
		return -1;
	return v == CK_TRUE;
}

int
sgp11_spec_from_object(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    struct sgp11_keyspec *spec)
{
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	unsigned char *val = NULL;
	const unsigned char *p;
	ASN1_OBJECT *oid = NULL;
	size_t len;
	int r;

	memset(spec, 0, sizeof(*spec));
	if (sgp11_C_GetAttributeValue(ctx, SGP11_FAIL_QUIET, s, obj, &a, 1) != CKR_OK)
		return SG_ERR_TOKEN;
	if (kt == CKK_RSA) {
		if ((r = sgp11_get_attr(ctx, s, obj, CKA_MODULUS, &val, &len)) != 0)
			return r;
		spec->kind = SGP11_RSA;
		/* Leading zero bytes do not count towards the size. */
		p = val;
		while (len > 0 && *p == 0) {
			p++;
			len--;
		}
		spec->bits = (int)(len * 8);
		free(val);
		return 0;
	}
	if (kt == CKK_EC) {
		if ((r = sgp11_get_attr(ctx, s, obj, CKA_EC_PARAMS, &val, &len)) != 0)
			return r;
		p = val;
		oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
		free(val);
		if (oid == NULL) {
			ERR_clear_error();
			return SG_ERR_UNSUPPORTED;
		}
		spec->kind = SGP11_EC;
		spec->curve_nid = OBJ_obj2nid(oid);
		ASN1_OBJECT_free(oid);
		spec->bits = spec->curve_nid == NID_X9_62_prime256v1 ? 256 :
		    spec->curve_nid == NID_secp384r1 ? 384 :
		    spec->curve_nid == NID_secp521r1 ? 521 : 0;
		return 0;
	}
	return SG_ERR_UNSUPPORTED;
}

static int
id_matches(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* libp11's views of the key: the private EVP_PKEY, the public one and the
 * certificate with the same id.
 * libp11 caches labels: an object relabelled after libp11 first saw it
 * (sgp11_key_relabel) keeps its old label there. So match libp11's
 * objects by CKA_ID, the label only breaking a tie between equal ids. */
static int
libp11_pick(const char *label, const char *const *labels, const unsigned char *const *ids,
    const size_t *id_lens, unsigned int n, const struct sgp11_key *key)
{
	unsigned int i;
	int found = -1;

	for (i = 0; i < n; i++) {
		if (id_lens[i] == SIZE_MAX || !id_matches(ids[i], id_lens[i], key->id, key->id_len))
			continue;
		if (labels[i] != NULL && strcmp(labels[i], label) == 0)
			return (int)i;
		if (found < 0)
			found = (int)i;
	}
	return found;
}

static int
attach_libp11(struct sgp11_ctx *ctx, struct sgp11_key *key)
{
	PKCS11_KEY *keys = NULL;
	PKCS11_CERT *certs = NULL;
	const char **labels = NULL;
	const unsigned char **ids = NULL;
	size_t *id_lens = NULL;
	unsigned int n = 0, i;
	int k, r = SG_ERR_ALLOC;

	if (PKCS11_enumerate_keys(ctx->slot->token, &keys, &n) != 0) {
		ERR_clear_error();
		return SG_ERR_TOKEN;
	}
	if ((labels = calloc(n + 1, sizeof(*labels))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (id_lens = calloc(n + 1, sizeof(*id_lens))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		labels[i] = keys[i].label;
		ids[i] = keys[i].id;
		id_lens[i] = keys[i].id_len;
	}
	if ((k = libp11_pick(key->label, labels, ids, id_lens, n, key)) >= 0) {
		key->pkey = PKCS11_get_private_key(&keys[k]);
		key->pub = PKCS11_get_public_key(&keys[k]);
	}
	if (key->pkey == NULL || key->pub == NULL) {
		ERR_clear_error();
		sg_error("libp11 cannot use key %s", key->label);
		r = SG_ERR_KEY_NOT_FOUND;
		goto out;
	}
	if (PKCS11_enumerate_certs(ctx->slot->token, &certs, &n) != 0) {
		ERR_clear_error();
		r = SG_ERR_TOKEN;
		goto out;
	}
	free(labels);
	free(ids);
	free(id_lens);
	labels = NULL;
	ids = NULL;
	id_lens = NULL;
	if ((labels = calloc(n + 1, sizeof(*labels))) == NULL ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (id_lens = calloc(n + 1, sizeof(*id_lens))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		labels[i] = certs[i].x509 != NULL ? certs[i].label : NULL;
		ids[i] = certs[i].x509 != NULL ? certs[i].id : NULL;
		id_lens[i] = certs[i].x509 != NULL ? certs[i].id_len : SIZE_MAX;	/* no match */
	}
	if ((k = libp11_pick(key->label, labels, ids, id_lens, n, key)) >= 0 &&
	    (key->cert = X509_dup(certs[k].x509)) == NULL)
		goto out;
	r = 0;
out:
	free(labels);
	free(ids);
	free(id_lens);
	return r;
}

int
sgp11_key_find(struct sgp11_ctx *ctx, const char *label, struct sgp11_key **keyp)
{
	struct sgp11_key *key = NULL;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE *found = NULL;
	char *want_label = NULL;
	unsigned char *want_id = NULL, *obj_label = NULL;
	size_t n = 0, want_id_len = 0, obj_label_len = 0;
	int r, have_session = 0, by_uri = sgp11_uri_is(label);

	*keyp = NULL;
	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	if (label == NULL || *label == '\0')
		return SG_ERR_INVALID_ARG;
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return SG_ERR_ALLOC;
	key->ctx = ctx;
	key->generation = ctx->generation;
	if (by_uri) {
		if ((r = sgp11_uri_key_query(ctx, label, &want_label, &want_id, &want_id_len)) != 0)
			goto out;
	} else if ((want_label = strdup(label)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((r = sgp11_session_get(ctx, &s)) != 0)
		goto out;
	have_session = 1;
	if ((r = sgp11_find_objects(ctx, s, CKO_PRIVATE_KEY, want_label, want_id, want_id_len,
	    &found, &n)) != 0)
		goto out;
	if (n == 0) {
		if (by_uri)
			sg_error("no private key matches PKCS#11 URI %s", label);
		r = SG_ERR_KEY_NOT_FOUND;
		goto out;
	}
	if (n > 1 && by_uri) {
		sg_error("%zu private keys match PKCS#11 URI %s", n, label);
		r = SG_ERR_CONFLICT;
		goto out;
	}
	if (n > 1)
		sg_warn("%zu private keys labelled %s; using the first", n, label);
	key->priv = found[0];
	/* The object's own label: two names for one key give one label. */
	if (sgp11_get_attr(ctx, s, key->priv, CKA_LABEL, &obj_label, &obj_label_len) != 0)
		obj_label = NULL;
	if ((key->label = strdup(obj_label != NULL ? (char *)obj_label : want_label != NULL ?
	    want_label : "")) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((r = sgp11_get_attr(ctx, s, key->priv, CKA_ID, &key->id, &key->id_len)) != 0 ||
	    (r = sg_hex_encode(key->id, key->id_len, &key->id_hex)) != 0 ||
	    (r = sgp11_spec_from_object(ctx, s, key->priv, &key->spec)) != 0)
		goto out;
	sgp11_session_put(ctx, s, 0);
	have_session = 0;
	if ((r = attach_libp11(ctx, key)) != 0)
		goto out;
	*keyp = key;
	key = NULL;
	r = 0;
 out:
	if (have_session)
		sgp11_session_put(ctx, s, r == SG_ERR_TOKEN_LOST);
	free(found);
	free(want_label);
	free(want_id);
	free(obj_label);
	sgp11_key_free(key);
	return r;
}

void
sgp11_key_free(struct sgp11_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	EVP_PKEY_free(key->pub);
	X509_free(key->cert);
	free(key->label);
	free(key->id);
	free(key->id_hex);
	free(key);
}

int
sgp11_key_same(const struct sgp11_key *a, const struct sgp11_key *b)
{
	return a->ctx == b->ctx && (a->priv == b->priv || (strcmp(a->label, b->label) == 0 &&
	    id_matches(a->id, a->id_len, b->id, b->id_len)));
}

const char *
sgp11_key_label(const struct sgp11_key *key)
{
	return key->label;
}

const char *
sgp11_key_id_hex(const struct sgp11_key *key)
{
	return key->id_hex;
}

const struct sgp11_keyspec *
sgp11_key_spec(const struct sgp11_key *key)
{
	return &key->spec;
}

EVP_PKEY *
sgp11_key_get0_pkey(struct sgp11_key *key)
{
	return key->pkey;
}

EVP_PKEY *
sgp11_key_get0_public(struct sgp11_key *key)
{
	return key->pub;
}

X509 *
sgp11_key_get0_cert(struct sgp11_key *key)
{
	return key->cert;
}

int
sgp11_key_stale(const struct sgp11_key *key)
{
	return key->generation != key->ctx->generation;
}
