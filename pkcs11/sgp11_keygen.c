/* SPDX-License-Identifier: Apache-2.0 */
/* Key pair generation with an explicit Cryptoki template: libp11's own
 * generator cannot set the attributes that keep a key on the token. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "sg_err.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

#define GENERATED_ID_LEN 16

int
sgp11_keygen(struct sgp11_ctx *ctx, const char *label, const unsigned char *id,
    size_t id_len, const struct sgp11_keyspec *spec)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = (CK_ULONG)spec->bits;
	unsigned char gen_id[GENERATED_ID_LEN], *ec_params = NULL, *p;
	CK_OBJECT_HANDLE pub_h, priv_h, *existing = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	size_t n_existing = 0, label_len;
	int ec_len = 0, r;
	CK_RV rv;

	if (label == NULL || (label_len = strlen(label)) == 0 || label_len > 128)
		return SG_ERR_INVALID_ARG;
	if (id == NULL) {
		if (RAND_bytes(gen_id, sizeof(gen_id)) != 1)
			return SG_ERR_CRYPTO;
		id = gen_id;
		id_len = sizeof(gen_id);
	} else if (id_len == 0 || id_len > 64)
		return SG_ERR_INVALID_ARG;
	if (spec->kind == SGP11_EC) {
		ASN1_OBJECT *oid = OBJ_nid2obj(spec->curve_nid);

		if (oid == NULL || (ec_len = i2d_ASN1_OBJECT(oid, NULL)) <= 0 ||
		    (ec_params = malloc((size_t)ec_len)) == NULL)
			return SG_ERR_UNSUPPORTED;
		p = ec_params;
		i2d_ASN1_OBJECT(oid, &p);
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
	} else if (spec->kind != SGP11_RSA)
		return SG_ERR_UNSUPPORTED;

	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, label_len },
		{ CKA_ID, (void *)id, id_len },
		/* The last two differ between RSA and EC. */
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent) },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, label_len },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_ULONG n_pub = sizeof(pub) / sizeof(pub[0]);

	if (spec->kind == SGP11_EC) {
		pub[7].type = CKA_EC_PARAMS;
		pub[7].pValue = ec_params;
		pub[7].ulValueLen = (CK_ULONG)ec_len;
		n_pub--;
	}
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		goto out;
	/* One label, one key: lookups by label must never be ambiguous. */
	if ((r = sgp11_find_objects(ctx, s, CKO_PRIVATE_KEY, label, NULL, 0, &existing,
	    &n_existing)) != 0)
		goto out;
	if (n_existing == 0) {
		free(existing);
		existing = NULL;
		if ((r = sgp11_find_objects(ctx, s, CKO_CERTIFICATE, label, NULL, 0, &existing,
		    &n_existing)) != 0)
			goto out;
	}
	if (n_existing != 0) {
		r = SG_ERR_EXISTS;
		goto out;
	}
	rv = sgp11_C_GenerateKeyPair(ctx, SGP11_FAIL_ERROR, s, &mech, pub, n_pub, priv,
	    sizeof(priv) / sizeof(priv[0]), &pub_h, &priv_h, "%s, %s", label,
	    sgp11_keyspec_name(spec));
	if (rv != CKR_OK) {
		r = sgp11_ckr_to_err(rv);
		goto out;
	}
	r = 0;
 out:
	if (s != CK_INVALID_HANDLE)
		(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	free(existing);
	free(ec_params);
	return r;
}
