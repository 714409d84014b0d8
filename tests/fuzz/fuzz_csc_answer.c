/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the remote seal service's answers as
 * authority_csc_answer.c reads them, each input as the body of a 200 and
 * of a 400, then, when it is an object, as credentials/info and as
 * signatures/signHash. The seeds are answers in the shapes CSC API v2
 * gives and tests/sim/csc_sim.py sends. The contract on every input:
 *  - a non-200 is always refused, with the status in the reason and no
 *    control character from the service's text in it;
 *  - a refusal is SG_ERR_AUTHORITY with a reason and nothing handed out;
 *  - a chain is 1 to GW_CSC_CHAIN_MAX certificates, each the whole of
 *    its base64 value and encodable again;
 *  - a signature is 1 to GW_CSC_SIGNATURE_MAX bytes;
 *  - info, credentials/info, credentials/authorize and token answers give
 *    NUL-terminated facts within their bounds, or a refusal with a reason;
 *  - an ECDSA value normalised is DER that parses back whole. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/ecdsa.h>
#include <openssl/x509.h>

#include "authority_csc_answer.h"
#include "sg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
refused_with_reason(int r, const char *why)
{
	size_t i;

	if (r != SG_ERR_AUTHORITY || why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++) {
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			abort();
	}
}

static void
string_within(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

/* The parsers of the facts, on the same object. */
static void
csc_facts(const cJSON *doc)
{
	struct gw_csc_info info;
	struct gw_csc_credential cred;
	unsigned long expires_in;
	char why[300], *s;
	size_t i;
	int r;

	why[0] = '\0';
	if ((r = gw_csc_answer_info("csc", doc, &info, why, sizeof(why))) == 0) {
		string_within(info.specs, sizeof(info.specs));
		if (info.n_algos > GW_CSC_ALGOS_MAX)
			abort();
		for (i = 0; i < info.n_algos; i++)
			string_within(info.algos[i], sizeof(info.algos[i]));
	} else
		refused_with_reason(r, why);
	why[0] = '\0';
	if ((r = gw_csc_answer_credential("csc", doc, &cred, why, sizeof(why))) == 0) {
		string_within(cred.key_status, sizeof(cred.key_status));
		string_within(cred.cert_status, sizeof(cred.cert_status));
		string_within(cred.auth_mode, sizeof(cred.auth_mode));
		string_within(cred.auth_object, sizeof(cred.auth_object));
		if ((strcmp(cred.scal, "1") != 0 && strcmp(cred.scal, "2") != 0) ||
		    cred.multisign < 1 || cred.n_algos > GW_CSC_ALGOS_MAX)
			abort();
	} else
		refused_with_reason(r, why);
	why[0] = '\0';
	if ((r = gw_csc_answer_sad("csc", doc, &s, why, sizeof(why))) == 0) {
		if (s == NULL || s[0] == '\0' || strlen(s) > 4096)
			abort();
		free(s);
	} else if (r != SG_ERR_ALLOC)
		refused_with_reason(r, why);
	why[0] = '\0';
	if ((r = gw_csc_answer_token("csc", doc, &s, &expires_in, why, sizeof(why))) == 0) {
		if (s == NULL || s[0] == '\0' || strlen(s) > 4096 || expires_in < 1 ||
		    expires_in > 86400)
			abort();
		free(s);
	} else if (r != SG_ERR_ALLOC)
		refused_with_reason(r, why);
}

/* The raw input as an ECDSA value from a P-256 key. */
static void
ecdsa(const uint8_t *data, size_t size)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	size_t der_len = 0;
	ECDSA_SIG *sig;

	if (gw_csc_ecdsa_der(data, size, 32, &der, &der_len) != 0) {
		if (der != NULL)
			abort();
		return;
	}
	p = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL || p != der + der_len)
		abort();
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain;
	unsigned char *sig, *der;
	size_t sig_len;
	cJSON *doc;
	char why[300];
	int i, r, len;

	why[0] = '\0';
	r = gw_csc_answer_object("csc", 400, data, size, &doc, why, sizeof(why));
	if (r == SG_ERR_ALLOC)
		return 0;
	refused_with_reason(r, why);
	if (doc != NULL || strstr(why, " 400 ") == NULL)
		abort();
	why[0] = '\0';
	r = gw_csc_answer_object("csc", 200, data, size, &doc, why, sizeof(why));
	if (r != 0) {
		if (r != SG_ERR_ALLOC)
			refused_with_reason(r, why);
		if (doc != NULL)
			abort();
		return 0;
	}
	if (!cJSON_IsObject(doc))
		abort();

	why[0] = '\0';
	r = gw_csc_answer_chain("csc", doc, &chain, why, sizeof(why));
	if (r == 0) {
		if (chain == NULL || sk_X509_num(chain) < 1 || sk_X509_num(chain) > GW_CSC_CHAIN_MAX)
			abort();
		for (i = 0; i < sk_X509_num(chain); i++) {
			der = NULL;
			if ((len = i2d_X509(sk_X509_value(chain, i), &der)) <= 0)
				abort();
			OPENSSL_free(der);
		}
		sk_X509_pop_free(chain, X509_free);
	} else if (r != SG_ERR_ALLOC) {
		refused_with_reason(r, why);
		if (chain != NULL)
			abort();
	}

	why[0] = '\0';
	r = gw_csc_answer_signature("csc", doc, 0, 1, &sig, &sig_len, why, sizeof(why));
	if (r == 0) {
		if (sig == NULL || sig_len < 1 || sig_len > GW_CSC_SIGNATURE_MAX)
			abort();
		free(sig);
	} else if (r != SG_ERR_ALLOC) {
		refused_with_reason(r, why);
		if (sig != NULL || sig_len != 0)
			abort();
	}
	csc_facts(doc);
	cJSON_Delete(doc);
	ecdsa(data, size);
	return 0;
}
