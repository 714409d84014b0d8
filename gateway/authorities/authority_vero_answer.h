/* SPDX-License-Identifier: Apache-2.0 */
/* The Vero certificate service's answers, from the bytes that came back
 * to a result the enrolment and renewal jobs can trust: a SOAP 1.1
 * envelope, no Fault, the operation's response element signed by a
 * certificate chaining to the response signer CA (enveloped signature,
 * Reference URI="" over the whole element), Result/Status OK or FAIL.
 * No network, no token (tests/fuzz/fuzz_vero_answer links it alone). */
#ifndef AUTHORITY_VERO_ANSWER_H
#define AUTHORITY_VERO_ANSWER_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define GW_VERO_NS "http://certificates.vero.fi/2017/10/certificateservices"
/* A larger answer is refused unread. */
#define GW_VERO_ANSWER_MAX ((size_t)1024 * 1024)

/* ErrorInfo elements kept from one answer: the schema allows any number
 * (Result/ErrorInfo maxOccurs="unbounded"); past this many they are
 * counted, not kept. */
#define GW_VERO_ERRORS_MAX 16

/* One ErrorInfo: ErrorCode is String16, ErrorMessage String255 (cut at
 * the bounds when longer). */
struct gw_vero_error {
	char code[17];
	char message[256];
};

/* What a call answered (Result, and the operation's own members). */
struct gw_vero_result {
	int ok;				/* Result/Status is OK */
	char retrieval_id[33];		/* "" when the response had none */
	X509 *certificate;		/* GetCertificate: the certificate, or NULL */
	/* Every ErrorInfo in document order: the first n_errors (at most
	 * GW_VERO_ERRORS_MAX) in errors, n_errors_total how many there were. */
	struct gw_vero_error errors[GW_VERO_ERRORS_MAX];
	size_t n_errors, n_errors_total;
};

/* The answer to action (its SOAPAction, for the messages) whose response
 * element is response_name in GW_VERO_NS: http_status and len bytes of
 * body. The signer's chain is checked at now against signer_ca. 0 with
 * *res filled in (OK or FAIL); SG_ERR_AUTHORITY with why saying what was
 * wrong and *res cleared; SG_ERR_ALLOC. Release res with
 * gw_vero_result_free whatever the result. */
int gw_vero_answer_read(X509_STORE *signer_ca, const char *action, const char *response_name,
    int http_status, const void *body, size_t len, time_t now, struct gw_vero_result *res,
    char *why, size_t whylen);
void gw_vero_result_free(struct gw_vero_result *res);
/* Every ErrorInfo of res as one line for messages, "CODE: message; CODE:
 * message" (and "; N more" past GW_VERO_ERRORS_MAX), cut to fit outlen;
 * "no ErrorInfo" when there is none. */
void gw_vero_errors_text(const struct gw_vero_result *res, char *out, size_t outlen);

#endif
