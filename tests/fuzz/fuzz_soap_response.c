/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: an authority's SOAP answer as gw_wssec_verify.c reads
 * it (gw_soapenv.c's parser, wsu:Id registration, the Security header, the
 * KeyInfo reference, the BinarySecurityToken's certificate), as SOAP 1.2
 * and 1.1. The signer CA store is empty, so every input must be refused
 * with a reason: nothing unsigned or untrusted may pass. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <libxml/parser.h>
#include <openssl/x509_vfy.h>

#include "gw_soapenv.h"
#include "gw_wssec_verify.h"
#include "sg_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509_STORE *no_anchors;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	if ((no_anchors = X509_STORE_new()) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sg_soap_version versions[] = { SG_SOAP_12, SG_SOAP_11 };
	struct gw_soapenv env;
	char why[GW_SOAP_WHY_MAX];
	size_t i;
	int r;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		why[0] = '\0';
		r = gw_wssec_verify(data, size, versions[i], no_anchors, 1, 1800000000, why,
		    sizeof(why));
		if (r == 0 || (r == SG_ERR_CRYPTO && why[0] == '\0') ||
		    (r != SG_ERR_CRYPTO && r != SG_ERR_ALLOC))
			abort();
		/* The parser alone: an envelope it accepts has a Body. */
		r = gw_soapenv_parse(data, size, versions[i], &env, why, sizeof(why));
		if ((r == 0 && (env.body == NULL || env.envelope == NULL)) ||
		    (r == SG_ERR_PARSE && why[0] == '\0'))
			abort();
		gw_soapenv_free(&env);
	}
	return 0;
}
