/* SPDX-License-Identifier: Apache-2.0 */
/* One wrapper per Cryptoki function the pkcs11/ layer calls: the call
 * through ctx->fl, and the one line a failure is logged with. The wrappers
 * own no state; what a CK_RV means is the caller's (sgp11_ckr.c). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sg_log.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

/* The answer when there is no module to call. */
#define NO_MODULE CKR_CRYPTOKI_NOT_INITIALIZED

/* Each wrapper is named "sgp11_" and the Cryptoki function's name. */
#define WRAPPER_PREFIX "sgp11_"

static enum sg_log_level
level_for(enum sgp11_on_fail how)
{
	switch (how) {
	case SGP11_FAIL_ERROR:
		return SG_LOG_ERROR;
	case SGP11_FAIL_WARN:
		return SG_LOG_WARN;
	default:
		return SG_LOG_DEBUG;
	}
}

/* Log rv when it is a failure, as how says, and return it. func is the
 * wrapper's own name; what, when not NULL, names the object. */
static CK_RV
logged(enum sgp11_on_fail how, const char *func, int line, CK_RV rv, const char *what)
{
	enum sg_log_level level = level_for(how);

	if (rv == CKR_OK || level > sg_log_get_level())
		return rv;
	sg_log_emit(level, __FILE__, func, line, 1, "%s%s%s%s: %s",
	    func + strlen(WRAPPER_PREFIX), what != NULL ? "(" : "", what != NULL ? what : "",
	    what != NULL ? ")" : "", sgp11_ckr_name(rv));
	return rv;
}

/* logged, with what formatted from fmt (a name cut short is still enough
 * for the log line). */
static CK_RV
logged_v(enum sgp11_on_fail how, const char *func, int line, CK_RV rv, const char *fmt,
    va_list ap)
{
	char what[512];

	if (rv == CKR_OK || level_for(how) > sg_log_get_level())
		return rv;
	if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
		what[0] = '\0';
	return logged(how, func, line, rv, what);
}

/* The call, in a wrapper whose context is ctx. */
#define CALL(fn, args) (ctx->fl == NULL ? NO_MODULE : ctx->fl->fn args)
/* The failure line, from the wrapper: its name and line. */
#define LOGGED(how, rv) logged((how), __func__, __LINE__, (rv), NULL)
/* The same in a wrapper whose last named argument is fmt. */
#define LOGGED_FMT(how, rv, fmt) do { \
	va_list ap_; \
	va_start(ap_, fmt); \
	(rv) = logged_v((how), __func__, __LINE__, (rv), (fmt), ap_); \
	va_end(ap_); \
} while (0)

CK_RV
sgp11_C_Finalize(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_VOID_PTR reserved)
{
	return LOGGED(how, CALL(C_Finalize, (reserved)));
}

CK_RV
sgp11_C_GetSlotInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_SLOT_INFO_PTR info)
{
	return LOGGED(how, CALL(C_GetSlotInfo, (slot, info)));
}

CK_RV
sgp11_C_GetTokenInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_TOKEN_INFO_PTR info)
{
	return LOGGED(how, CALL(C_GetTokenInfo, (slot, info)));
}

CK_RV
sgp11_C_InitToken(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_UTF8CHAR_PTR so_pin, CK_ULONG so_pin_len, CK_UTF8CHAR_PTR label)
{
	return LOGGED(how, CALL(C_InitToken, (slot, so_pin, so_pin_len, label)));
}

CK_RV
sgp11_C_OpenSession(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_FLAGS flags, CK_VOID_PTR application, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR sp)
{
	return LOGGED(how, CALL(C_OpenSession, (slot, flags, application, notify, sp)));
}

CK_RV
sgp11_C_CloseSession(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s)
{
	return LOGGED(how, CALL(C_CloseSession, (s)));
}

CK_RV
sgp11_C_GetSessionInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_SESSION_INFO_PTR info)
{
	return LOGGED(how, CALL(C_GetSessionInfo, (s, info)));
}

CK_RV
sgp11_C_Login(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
	CK_RV rv = CALL(C_Login, (s, who, pin, pin_len));

	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		return rv;
	return LOGGED(how, rv);
}

CK_RV
sgp11_C_Logout(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s)
{
	return LOGGED(how, CALL(C_Logout, (s)));
}

CK_RV
sgp11_C_InitPIN(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
	return LOGGED(how, CALL(C_InitPIN, (s, pin, pin_len)));
}

CK_RV
sgp11_C_SetPIN(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
	return LOGGED(how, CALL(C_SetPIN, (s, old_pin, old_len, new_pin, new_len)));
}

CK_RV
sgp11_C_FindObjectsInit(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	return LOGGED(how, CALL(C_FindObjectsInit, (s, tmpl, n)));
}

CK_RV
sgp11_C_FindObjects(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE_PTR found, CK_ULONG max, CK_ULONG_PTR np)
{
	return LOGGED(how, CALL(C_FindObjects, (s, found, max, np)));
}

CK_RV
sgp11_C_FindObjectsFinal(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s)
{
	return LOGGED(how, CALL(C_FindObjectsFinal, (s)));
}

CK_RV
sgp11_C_GetAttributeValue(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	return LOGGED(how, CALL(C_GetAttributeValue, (s, obj, tmpl, n)));
}

CK_RV
sgp11_C_SetAttributeValue(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, const char *fmt, ...)
{
	CK_RV rv = CALL(C_SetAttributeValue, (s, obj, tmpl, n));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}

CK_RV
sgp11_C_CreateObject(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, CK_OBJECT_HANDLE_PTR objp, const char *fmt, ...)
{
	CK_RV rv = CALL(C_CreateObject, (s, tmpl, n, objp));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}

CK_RV
sgp11_C_DestroyObject(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE obj, const char *fmt, ...)
{
	CK_RV rv = CALL(C_DestroyObject, (s, obj));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}

CK_RV
sgp11_C_GenerateKeyPair(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub, CK_ULONG n_pub, CK_ATTRIBUTE_PTR priv,
    CK_ULONG n_priv, CK_OBJECT_HANDLE_PTR pubp, CK_OBJECT_HANDLE_PTR privp, const char *fmt, ...)
{
	CK_RV rv = CALL(C_GenerateKeyPair, (s, mech, pub, n_pub, priv, n_priv, pubp, privp));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}

CK_RV
sgp11_C_SignInit(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key, const char *fmt, ...)
{
	CK_RV rv = CALL(C_SignInit, (s, mech, key));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}

CK_RV
sgp11_C_Sign(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len,
    const char *fmt, ...)
{
	CK_RV rv = CALL(C_Sign, (s, data, data_len, sig, sig_len));

	LOGGED_FMT(how, rv, fmt);
	return rv;
}
