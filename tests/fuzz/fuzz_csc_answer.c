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
 *  - a signature is 1 to GW_CSC_SIGNATURE_MAX bytes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
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
	cJSON_Delete(doc);
	return 0;
}
