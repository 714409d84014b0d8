/* SPDX-License-Identifier: Apache-2.0 */
/* Text for each SG_ERR_* code. The table is indexed by -code so a code
 * without text is caught by the unit test, not at run time. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sg_err.h"

static const char *const messages[] = {
	[0] = "success",
	[-SG_ERR_INTERNAL] = "internal error",
	[-SG_ERR_ALLOC] = "out of memory",
	[-SG_ERR_INVALID_ARG] = "invalid argument",
	[-SG_ERR_TOO_LARGE] = "input too large",
	[-SG_ERR_PARSE] = "malformed input",
	[-SG_ERR_NOT_FOUND] = "not found",
	[-SG_ERR_EXISTS] = "already exists",
	[-SG_ERR_IO] = "input/output error",
	[-SG_ERR_PERMISSION] = "permission denied",
	[-SG_ERR_CRYPTO] = "cryptographic operation failed",
	[-SG_ERR_MODULE_LOAD] = "PKCS#11 module could not be loaded",
	[-SG_ERR_TOKEN_NOT_FOUND] = "token not found",
	[-SG_ERR_TOKEN] = "token operation failed",
	[-SG_ERR_TOKEN_LOST] = "token or session lost",
	[-SG_ERR_PIN_INCORRECT] = "PIN incorrect",
	[-SG_ERR_PIN_LOCKED] = "PIN locked",
	[-SG_ERR_PIN_FINAL_TRY] = "next wrong PIN locks the token; refusing to try",
	[-SG_ERR_PIN_INVALID] = "PIN has an invalid length or characters",
	[-SG_ERR_NOT_LOGGED_IN] = "not logged in to the token",
	[-SG_ERR_KEY_NOT_FOUND] = "key not found",
	[-SG_ERR_KEY_MISMATCH] = "certificate public key does not match the key",
	[-SG_ERR_UNSUPPORTED] = "not supported",
	[-SG_ERR_CERT_EXPIRED] = "certificate expired",
	[-SG_ERR_CONFIG] = "invalid configuration",
	[-SG_ERR_AUDIT] = "audit log unavailable",
	[-SG_ERR_TIMEOUT] = "timed out",
	[-SG_ERR_AUTHORITY] = "authority error",
	[-SG_ERR_CONFLICT] = "conflict",
	[-SG_ERR_UNAUTHORIZED] = "unauthorized",
	[-SG_ERR_FORBIDDEN] = "forbidden",
	[-SG_ERR_BUSY] = "busy",
	[-SG_ERR_METHOD_NOT_ALLOWED] = "method not allowed",
	[-SG_ERR_MEDIA_TYPE] = "unsupported media type",
	[-SG_ERR_HEADERS_TOO_LARGE] = "request headers too large",
	[-SG_ERR_UNAVAILABLE] = "the remote service cannot do it now",
};

const char *
sg_strerror(int r)
{
	if (r > 0 || r <= SG_ERR_LAST_ || messages[-r] == NULL)
		return "unknown error";
	return messages[-r];
}

int
sg_why(int r, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return r;
	va_start(ap, fmt);
	if (vsnprintf(why, whylen, fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
	return r;
}

void
sg_msg(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	if (out == NULL || outlen == 0)
		return;
	va_start(ap, fmt);
	/* Cut is fine for a message; failing leaves it empty. */
	if (vsnprintf(out, outlen, fmt, ap) < 0)
		out[0] = '\0';
	va_end(ap);
}

int
sg_strfit(char *out, size_t outlen, const char *src)
{
	size_t n;

	if (outlen == 0)
		return SG_ERR_TOO_LARGE;
	if (src == NULL)
		src = "";
	if ((n = strlen(src)) >= outlen) {
		out[0] = '\0';
		return SG_ERR_TOO_LARGE;
	}
	memcpy(out, src, n + 1);
	return 0;
}
