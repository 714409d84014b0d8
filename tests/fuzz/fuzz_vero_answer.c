/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the Vero certificate service's answers as
 * authority_vero_answer.c reads them (SOAP 1.1 envelope, Fault, response
 * element, its enveloped XML signature, the signer's chain, Result,
 * ErrorInfo, RetrievalId, Certificate), for each of the three operations.
 * The seeds are the simulator's signed answers (schema-valid, signed by
 * tests/fuzz/fixtures/vero-service-ca.pem's service certificate). The
 * contract on every input:
 *  - a refusal is SG_ERR_AUTHORITY with a reason and an empty result;
 *  - an answer that passes with the CA trusted is refused with no CA
 *    trusted, and after the signer's certificate has expired: nothing
 *    passes on its own say-so;
 *  - only HTTP 200 passes, and what passes is complete: a result of
 *    OK or FAIL, every ErrorInfo counted (n_errors_total) and the first
 *    GW_VERO_ERRORS_MAX kept (n_errors), text fields terminated within
 *    their bounds, and gw_vero_errors_text terminated within its buffer
 *    however small. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "authority_vero_answer.h"
#include "gw_xmlverify.h"
#include "sg_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* When the seeds were signed, and a time past the signer's notAfter. */
#define SIGNED_AT	((time_t)1796211095)
#define EXPIRED_AT	((time_t)1900000000)

static X509_STORE *trusted, *no_anchors;

static const struct {
	const char *action, *response;
} ops[] = {
	{ "signNewCertificate", "SignNewCertificateResponse" },
	{ "renewCertificate", "RenewCertificateResponse" },
	{ "getCertificate", "GetCertificateResponse" },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("SG_FUZZ_FIXTURES");
	char path[4096];

	(void)argc;
	(void)argv;
	if (dir == NULL) {
		fprintf(stderr, "fuzz_vero_answer: set SG_FUZZ_FIXTURES to tests/fuzz/fixtures\n");
		abort();
	}
	snprintf(path, sizeof(path), "%s/vero-service-ca.pem", dir);
	xmlInitParser();
	if (gw_xmlverify_global_init() != 0 || gw_xmlverify_load_ca(path, &trusted) != 0 ||
	    (no_anchors = X509_STORE_new()) == NULL) {
		fprintf(stderr, "fuzz_vero_answer: cannot load %s\n", path);
		abort();
	}
	return 0;
}

static int
empty(const struct gw_vero_result *res)
{
	size_t i;

	for (i = 0; i < GW_VERO_ERRORS_MAX; i++) {
		if (res->errors[i].code[0] != '\0' || res->errors[i].message[0] != '\0')
			return 0;
	}
	return !res->ok && res->certificate == NULL && res->retrieval_id[0] == '\0' &&
	    res->n_errors == 0 && res->n_errors_total == 0;
}

static int
read_answer(X509_STORE *store, size_t op, int status, const uint8_t *data, size_t size, time_t now,
    struct gw_vero_result *res)
{
	char why[512];
	int r;

	why[0] = '\0';
	r = gw_vero_answer_read(store, ops[op].action, ops[op].response, status, data, size, now,
	    res, why, sizeof(why));
	if (r != 0 && r != SG_ERR_AUTHORITY && r != SG_ERR_ALLOC)
		abort();
	if (r == SG_ERR_AUTHORITY && (why[0] == '\0' || !empty(res)))
		abort();
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_vero_result res, again;
	char text[600];
	size_t op, i;
	int r;

	for (op = 0; op < sizeof(ops) / sizeof(ops[0]); op++) {
		memset(&res, 0, sizeof(res));
		r = read_answer(trusted, op, 200, data, size, SIGNED_AT, &res);
		if (r == 0) {
			if (memchr(res.retrieval_id, '\0', sizeof(res.retrieval_id)) == NULL ||
			    (res.ok != 0 && res.ok != 1) || res.n_errors > GW_VERO_ERRORS_MAX ||
			    res.n_errors > res.n_errors_total ||
			    (res.n_errors < GW_VERO_ERRORS_MAX && res.n_errors != res.n_errors_total))
				abort();
			for (i = 0; i < res.n_errors; i++) {
				if (memchr(res.errors[i].code, '\0', sizeof(res.errors[i].code)) == NULL ||
				    memchr(res.errors[i].message, '\0',
				    sizeof(res.errors[i].message)) == NULL)
					abort();
			}
			memset(text, 'x', sizeof(text));
			gw_vero_errors_text(&res, text, 7);
			if (memchr(text, '\0', 7) == NULL || text[7] != 'x')
				abort();
			gw_vero_errors_text(&res, text, sizeof(text));
			if (memchr(text, '\0', sizeof(text)) == NULL)
				abort();
			memset(&again, 0, sizeof(again));
			if (read_answer(no_anchors, op, 200, data, size, SIGNED_AT, &again) == 0 ||
			    read_answer(trusted, op, 200, data, size, EXPIRED_AT, &again) == 0 ||
			    read_answer(trusted, op, 500, data, size, SIGNED_AT, &again) == 0)
				abort();
			gw_vero_result_free(&again);
		}
		gw_vero_result_free(&res);
		if (!empty(&res))
			abort();
	}
	return 0;
}
