/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the POST /v1/sign body parser (gw_sign_request.c),
 * the first code to read a client's JSON. Checks the contract in gw.h on
 * every input: a success is a complete request, a refusal has a
 * description, an identity handed out is a well-formed name, and
 * gw_sign_request_free leaves nothing behind. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw.h"
#include "sg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An identity the parser hands out is a name as sg_config.h defines them:
 * nothing else is looked up, echoed or audited. */
static int
name_like(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SG_CONFIG_NAME_MAX && s[0] != '.' && s[0] != '_' && s[0] != '-' &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_sign_request sr;
	char why[GW_SIGN_WHY_MAX];
	int r;

	r = gw_sign_request_parse((const char *)data, size, &sr, why, sizeof(why));
	if (sr.identity != NULL && !name_like(sr.identity))
		abort();
	if (r == 0) {
		if (sr.identity == NULL || sr.md == NULL ||
		    sr.alg == NULL || sr.digest == NULL ||
		    sr.digest_len != (size_t)EVP_MD_get_size(sr.md))
			abort();
	} else if (r == SG_ERR_PARSE) {
		if (why[0] == '\0' || sr.digest != NULL)
			abort();
	} else if (r != SG_ERR_ALLOC)
		abort();
	gw_sign_request_free(&sr);
	if (sr.identity != NULL || sr.digest != NULL)
		abort();
	return 0;
}
