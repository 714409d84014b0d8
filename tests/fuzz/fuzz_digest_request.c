/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the bodies that name an identity and a digest, as
 * gw_sign_request.c reads them (POST /v1/sign, POST /v1/stamp's digest
 * form, and POST /v1/timestamp, which names an authority instead), the
 * first code to read a client's JSON; and the same
 * bytes read as a query string, each identity= value percent-decoded by
 * gw_percent_decode and checked as the stamp document form checks it.
 * The contract in gw.h on every input: a success is a complete request
 * (a stamp request never has a format), a refusal has a description, an
 * identity handed out or let through from the query is a well-formed
 * name, the decoded value never grows, and gw_sign_request_free leaves
 * nothing behind. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw.h"
#include "gw_headers.h"
#include "gw_sign_request.h"
#include "sg_config.h"
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

/* kind 0: sign, 1: stamp, 2: timestamp. */
static void
body(const uint8_t *data, size_t size, int kind)
{
	static int (*const parsers[])(const char *, size_t, struct gw_sign_request *, char *,
	    size_t) = { gw_sign_request_parse, gw_stamp_request_parse, gw_timestamp_request_parse };
	struct gw_sign_request sr;
	char why[GW_SIGN_WHY_MAX];
	const char *named;
	int r, stamp = kind == 1;

	r = parsers[kind]((const char *)data, size, &sr, why, sizeof(why));
	named = kind == 2 ? sr.authority : sr.identity;
	if ((named != NULL && !name_like(named)) || (kind == 2 ? sr.identity : sr.authority) != NULL)
		abort();
	if (r == 0) {
		if (named == NULL || sr.md == NULL || sr.alg == NULL || sr.digest == NULL ||
		    sr.digest_len != (size_t)EVP_MD_get_size(sr.md) || (stamp && sr.cms))
			abort();
	} else if (r == SG_ERR_PARSE) {
		if (why[0] == '\0' || sr.digest != NULL)
			abort();
	} else if (r != SG_ERR_ALLOC)
		abort();
	gw_sign_request_free(&sr);
	if (sr.identity != NULL || sr.authority != NULL || sr.digest != NULL)
		abort();
}

static void
query(const uint8_t *data, size_t size)
{
	char *q, *p, *next, *eq;
	size_t n;

	if ((q = malloc(size + 1)) == NULL)
		return;
	memcpy(q, data, size);
	q[size] = '\0';
	for (p = q; p != NULL; p = next) {
		if ((next = strchr(p, '&')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(p, '=')) == NULL || eq - p != 8 || memcmp(p, "identity", 8) != 0)
			continue;
		n = strlen(eq + 1);
		if (gw_percent_decode(eq + 1) > n || strlen(eq + 1) > n)
			abort();
		if (sg_config_name_valid(eq + 1) && !name_like(eq + 1))
			abort();
	}
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	body(data, size, 0);
	body(data, size, 1);
	body(data, size, 2);
	query(data, size);
	return 0;
}
