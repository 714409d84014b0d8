/* SPDX-License-Identifier: Apache-2.0 */
/* The raw Cryptoki calls of the pkcs11/ layer, one wrapper per C_*
 * function: the only code that calls through ctx->fl. Each makes the call,
 * logs a failure in one line ("C_Name: CKR_X", or "C_Name(what): CKR_X")
 * at the level its caller chose, and returns the module's CK_RV unchanged:
 * callers keep the exact code to act on and translate it with
 * sgp11_ckr_to_err, which also makes it sgp11_last_ckr. */
#ifndef SGP11_CALL_H
#define SGP11_CALL_H

#include <p11-kit/pkcs11.h>

struct sgp11_ctx;

/* How a wrapper logs a call that did not answer CKR_OK. */
enum sgp11_on_fail {
	/* The failure is the answer (a probe) or harmless (closing what
	 * may be gone already, logging out who may not be in): debug. */
	SGP11_FAIL_QUIET,
	/* The caller recovers from it (the signing path): warning. */
	SGP11_FAIL_WARN,
	/* The operation fails with it: error. */
	SGP11_FAIL_ERROR,
};

/* Each takes the context whose module it calls and how to log a failure,
 * then the function's own Cryptoki arguments. With no module loaded (after
 * a reopen that failed) nothing is called and the answer is
 * CKR_CRYPTOKI_NOT_INITIALIZED. */
CK_RV sgp11_C_Finalize(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_VOID_PTR reserved);
CK_RV sgp11_C_GetSlotInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_SLOT_INFO_PTR info);
CK_RV sgp11_C_GetTokenInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_TOKEN_INFO_PTR info);
CK_RV sgp11_C_InitToken(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_UTF8CHAR_PTR so_pin, CK_ULONG so_pin_len, CK_UTF8CHAR_PTR label);

CK_RV sgp11_C_OpenSession(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SLOT_ID slot,
    CK_FLAGS flags, CK_VOID_PTR application, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR sp);
CK_RV sgp11_C_CloseSession(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s);
CK_RV sgp11_C_GetSessionInfo(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info);

/* CKR_USER_ALREADY_LOGGED_IN is returned as it is, but is no failure:
 * the login state belongs to the application and is what was asked for. */
CK_RV sgp11_C_Login(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV sgp11_C_Logout(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s);
CK_RV sgp11_C_InitPIN(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV sgp11_C_SetPIN(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len);

CK_RV sgp11_C_FindObjectsInit(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV sgp11_C_FindObjects(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE_PTR found, CK_ULONG max, CK_ULONG_PTR np);
CK_RV sgp11_C_FindObjectsFinal(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s);
CK_RV sgp11_C_GetAttributeValue(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);

/* These act on one named object: the trailing format says which, and its
 * text goes in brackets after the function's name in the failure line. */
CK_RV sgp11_C_SetAttributeValue(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
    const char *fmt, ...) __attribute__((format(printf, 7, 8)));
CK_RV sgp11_C_CreateObject(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, CK_OBJECT_HANDLE_PTR objp, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
CK_RV sgp11_C_DestroyObject(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE obj, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
CK_RV sgp11_C_GenerateKeyPair(struct sgp11_ctx *ctx, enum sgp11_on_fail how,
    CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub, CK_ULONG n_pub,
    CK_ATTRIBUTE_PTR priv, CK_ULONG n_priv, CK_OBJECT_HANDLE_PTR pubp,
    CK_OBJECT_HANDLE_PTR privp, const char *fmt, ...) __attribute__((format(printf, 11, 12)));
CK_RV sgp11_C_SignInit(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
CK_RV sgp11_C_Sign(struct sgp11_ctx *ctx, enum sgp11_on_fail how, CK_SESSION_HANDLE s,
    CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len,
    const char *fmt, ...) __attribute__((format(printf, 8, 9)));

#endif
