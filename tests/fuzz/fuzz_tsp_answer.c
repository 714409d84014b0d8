/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: a time-stamp authority's answer as gw_tsp.c checks
 * it (gw_tsp_answer_check), against a request made once with a fresh
 * nonce and the TSA CA of $SG_FUZZ_FIXTURES/tsa-ca.pem. The seeds are
 * answers of tests/sim/tsa_sim.py (openssl ts -reply) under that CA:
 * granted, rejected, wrong imprint, untrusted signer. The contract on
 * every input:
 *  - it is refused (no input can carry this run's nonce under a valid
 *    signature), as SG_ERR_PARSE or SG_ERR_AUTHORITY, with a reason free
 *    of control characters, and no token is handed out. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "gw_tsp.h"
#include "sg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_tsp_request *fuzz_req;
static X509_STORE *fuzz_store;

static void
setup(void)
{
	static const unsigned char digest[32] = { 0x5a };
	const char *dir = getenv("SG_FUZZ_FIXTURES");
	char path[4096];
	int n;

	n = snprintf(path, sizeof(path), "%s/tsa-ca.pem", dir != NULL ? dir : "tests/fuzz/fixtures");
	if (n < 0 || (size_t)n >= sizeof(path) || (fuzz_store = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(fuzz_store, path) != 1 ||
	    gw_tsp_request_new(EVP_sha256(), digest, sizeof(digest), NULL, &fuzz_req) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_tsp_token *tok = NULL;
	char why[300] = "";
	size_t i;
	int r;

	if (fuzz_req == NULL)
		setup();
	r = gw_tsp_answer_check(fuzz_req, data, size, fuzz_store, &tok, why, sizeof(why));
	if (r == SG_ERR_ALLOC)
		return 0;
	if ((r != SG_ERR_PARSE && r != SG_ERR_AUTHORITY) || tok != NULL || why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++) {
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			abort();
	}
	return 0;
}
