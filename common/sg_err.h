/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes shared by every layer. Fallible functions return 0 or one of
 * these (negative); sg_strerror() gives the one-line text. */
#ifndef SG_ERR_H
#define SG_ERR_H

#include <stddef.h>

enum sg_err {
	SG_OK = 0,
	SG_ERR_INTERNAL = -1,
	SG_ERR_ALLOC = -2,
	SG_ERR_INVALID_ARG = -3,
	SG_ERR_TOO_LARGE = -4,
	SG_ERR_PARSE = -5,
	SG_ERR_NOT_FOUND = -6,
	SG_ERR_EXISTS = -7,
	SG_ERR_IO = -8,
	SG_ERR_PERMISSION = -9,
	SG_ERR_CRYPTO = -10,
	SG_ERR_MODULE_LOAD = -11,
	SG_ERR_TOKEN_NOT_FOUND = -12,
	SG_ERR_TOKEN = -13,
	SG_ERR_TOKEN_LOST = -14,
	SG_ERR_PIN_INCORRECT = -15,
	SG_ERR_PIN_LOCKED = -16,
	SG_ERR_PIN_FINAL_TRY = -17,
	SG_ERR_PIN_INVALID = -18,
	SG_ERR_NOT_LOGGED_IN = -19,
	SG_ERR_KEY_NOT_FOUND = -20,
	SG_ERR_KEY_MISMATCH = -21,
	SG_ERR_UNSUPPORTED = -22,
	SG_ERR_CERT_EXPIRED = -23,
	SG_ERR_CONFIG = -24,
	SG_ERR_AUDIT = -25,
	SG_ERR_TIMEOUT = -26,
	SG_ERR_AUTHORITY = -27,
	SG_ERR_CONFLICT = -28,
	SG_ERR_UNAUTHORIZED = -29,
	SG_ERR_FORBIDDEN = -30,
	SG_ERR_BUSY = -31,
	/* A request the gateway's HTTP layer refuses by its form. */
	SG_ERR_METHOD_NOT_ALLOWED = -32,
	SG_ERR_MEDIA_TYPE = -33,
	SG_ERR_HEADERS_TOO_LARGE = -34,
	SG_ERR_UNAVAILABLE = -35,	/* a remote service cannot do it now */
	SG_ERR_LAST_ = -36	/* keep last: one past the final code */
};

/* Text for an SG_ERR_* code; never NULL, static storage. */
const char *sg_strerror(int r);

/* The idiom of functions that refuse with a reason: format one sentence
 * into why (cut to whylen; why may be NULL when whylen is 0) and return r. */
int sg_why(int r, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A sentence for a person (a reason, a detail, a log or audit text) into
 * out, cut to outlen when it is longer: a message may be cut. A name, an
 * identifier, a path or a number may not: copy those with sg_strfit or
 * check snprintf's result (tests/lint/banned_functions.py refuses an
 * snprintf whose result is thrown away). */
void sg_msg(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copy src into out (outlen bytes with its NUL): 0, or SG_ERR_TOO_LARGE
 * when it does not fit, and out is then "" (never half a name). */
int sg_strfit(char *out, size_t outlen, const char *src);

#endif
