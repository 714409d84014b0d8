/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#10 certificate requests built with OpenSSL and signed on the token
 * through the key's libp11 EVP_PKEY (SHA-256). */
#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "sg_err.h"
#include "sg_log.h"
#include "sgp11_internal.h"

static int
add_field(X509_NAME *name, int nid, const char *value)
{
	if (value == NULL)
		return 0;
	if (*value == '\0')
		return SG_ERR_INVALID_ARG;
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value,
	    -1, -1, 0) != 1) {
		ERR_clear_error();
		sg_error("subject %s=\"%s\" refused by the X.509 encoder", OBJ_nid2sn(nid), value);
		return SG_ERR_INVALID_ARG;
	}
	return 0;
}

int
sgp11_csr_make(struct sgp11_key *key, const struct sgp11_subject *subject, X509_REQ **reqp)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	int r = SG_ERR_CRYPTO;

	*reqp = NULL;
	if ((req = X509_REQ_new()) == NULL || (name = X509_NAME_new()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	/* Most general first, as certificate services expect. */
	if ((r = add_field(name, NID_countryName, subject->c)) != 0 ||
	    (r = add_field(name, NID_organizationName, subject->o)) != 0 ||
	    (r = add_field(name, NID_organizationalUnitName, subject->ou)) != 0 ||
	    (r = add_field(name, NID_organizationIdentifier, subject->organization_identifier)) != 0 ||
	    (r = add_field(name, NID_serialNumber, subject->serial_number)) != 0 ||
	    (r = add_field(name, NID_commonName, subject->cn)) != 0)
		goto out;
	if (X509_NAME_entry_count(name) == 0) {
		r = SG_ERR_INVALID_ARG;
		goto out;
	}
	r = SG_ERR_CRYPTO;
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, key->pub) != 1)
		goto out;
	sgp11_use_begin(key->ctx);
	if (sgp11_key_stale(key))
		r = SG_ERR_TOKEN_LOST;
	else if (X509_REQ_sign(req, key->pkey, EVP_sha256()) <= 0) {
		sg_error("signing the request with %s on the token failed", key->label);
		r = SG_ERR_TOKEN;
	} else
		r = 0;
	sgp11_use_end(key->ctx);
	if (r != 0)
		goto out;
	*reqp = req;
	req = NULL;
 out:
	ERR_clear_error();
	X509_NAME_free(name);
	X509_REQ_free(req);
	return r;
}
