/* SPDX-License-Identifier: Apache-2.0 */
/* Logging in, initialising a token and changing PINs. PIN hygiene lives
 * here: look at the token's PIN flags first and refuse when the next wrong
 * PIN would lock it; a PIN that failed is never tried again. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

static int
pin_state(struct sgp11_ctx *ctx, CK_SLOT_ID slot_id, int so)
{
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if ((rv = sgp11_C_GetTokenInfo(ctx, SGP11_FAIL_ERROR, slot_id, &ti)) != CKR_OK)
		return sgp11_ckr_to_err(rv);
	if (ti.flags & (so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED))
		return SG_ERR_PIN_LOCKED;
	if (ti.flags & (so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY))
		return SG_ERR_PIN_FINAL_TRY;
	if (!so && !(ti.flags & CKF_USER_PIN_INITIALIZED))
		return SG_ERR_NOT_LOGGED_IN;
	return 0;
}

static int
login_on(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
	CK_RV rv;

	rv = sgp11_C_Login(ctx, SGP11_FAIL_ERROR, s, who, (CK_UTF8CHAR_PTR)pin,
	    (CK_ULONG)strlen(pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	return sgp11_ckr_to_err(rv);
}

/* Caller holds use_lock exclusively (or is the only thread). */
int sgp11_login_locked(struct sgp11_ctx *ctx, const char *pin);

/* SHA-256 of a PIN, to know it again without keeping it. */
static int
pin_hash(const char *pin, unsigned char out[32])
{
	return EVP_Digest(pin, strlen(pin), out, NULL, EVP_sha256(), NULL) == 1 ? 0 : SG_ERR_CRYPTO;
}

int
sgp11_login_locked(struct sgp11_ctx *ctx, const char *pin)
{
	CK_SESSION_HANDLE s;
	unsigned char h[32];
	int r;

	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	if (pin == NULL)
		return ctx->pin_refused ? SG_ERR_PIN_INCORRECT : SG_ERR_PIN_INVALID;
	if ((r = pin_hash(pin, h)) != 0)
		return r;
	/* A wrong PIN costs a try of the token's counter each time: the one
	 * it refused is never presented again. */
	if (ctx->pin_refused && sg_ct_equal(h, ctx->refused_pin, sizeof(h))) {
		sg_error("C_Login: not presenting the PIN the token refused before");
		return SG_ERR_PIN_INCORRECT;
	}
	if ((r = pin_state(ctx, ctx->slot_id, 0)) != 0)
		return r;
	/* Login state belongs to the application, not the session: it
	 * lasts while any session is open, and libp11 keeps one open. */
	if ((r = sgp11_session_get(ctx, &s)) != 0)
		return r;
	r = login_on(ctx, s, CKU_USER, pin);
	sgp11_session_put(ctx, s, 0);
	if (r == SG_ERR_PIN_INCORRECT || r == SG_ERR_PIN_INVALID || r == SG_ERR_PIN_LOCKED) {
		ctx->pin_refused = 1;
		memcpy(ctx->refused_pin, h, sizeof(h));
		if (ctx->pin != NULL && strcmp(ctx->pin, pin) == 0) {
			sg_free_secret_str(ctx->pin);
			ctx->pin = NULL;
		}
	}
	if (r != 0)
		return r;
	ctx->pin_refused = 0;
	/* Tell libp11: the token answers CKR_USER_ALREADY_LOGGED_IN, which
	 * libp11 counts as success and records. */
	if (PKCS11_login(ctx->slot, 0, pin) != 0) {
		ERR_clear_error();
		sg_error("libp11 did not take the login");
		return SG_ERR_TOKEN;
	}
	return 0;
}

int
sgp11_login(struct sgp11_ctx *ctx, const char *pin)
{
	char *copy = NULL;
	int r;

	if (pin == NULL || *pin == '\0')
		return SG_ERR_PIN_INVALID;
	if ((copy = strdup(pin)) == NULL)
		return SG_ERR_ALLOC;
	pthread_rwlock_wrlock(&ctx->use_lock);
	if ((r = sgp11_login_locked(ctx, pin)) == 0) {
		sg_free_secret_str(ctx->pin);
		ctx->pin = copy;
		copy = NULL;
	}
	pthread_rwlock_unlock(&ctx->use_lock);
	sg_free_secret_str(copy);
	return r;
}

static void
pad_label(CK_UTF8CHAR out[32], const char *label)
{
	size_t n = strlen(label);

	memset(out, ' ', 32);
	memcpy(out, label, n < 32 ? n : 32);
}

/* Re-read the slot list and point the context at token_label. */
static int
reselect(struct sgp11_ctx *ctx, const char *label)
{
	unsigned int i;

	PKCS11_release_all_slots(ctx->p11, ctx->slots, ctx->nslots);
	ctx->slots = NULL;
	ctx->nslots = 0;
	ctx->slot = NULL;
	if (PKCS11_enumerate_slots(ctx->p11, &ctx->slots, &ctx->nslots) != 0) {
		ERR_clear_error();
		return SG_ERR_TOKEN;
	}
	ctx->slot = NULL;
	for (i = 0; i < ctx->nslots; i++) {
		PKCS11_TOKEN *t = ctx->slots[i].token;
		size_t n = strlen(label);

		if (t != NULL && t->initialized && t->label != NULL &&
		    strncmp(t->label, label, n) == 0 &&
		    strspn(t->label + n, " ") == strlen(t->label + n)) {
			ctx->slot = &ctx->slots[i];
			ctx->slot_id = PKCS11_get_slotid_from_slot(ctx->slot);
			return 0;
		}
	}
	return SG_ERR_TOKEN_NOT_FOUND;
}

int
sgp11_token_init(struct sgp11_ctx *ctx, const char *label, const char *so_pin,
    const char *user_pin)
{
	CK_UTF8CHAR padded[32];
	CK_SLOT_ID free_slot = 0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;
	unsigned int i;
	int found = 0, r;

	if (label == NULL || *label == '\0' || strlen(label) > 32)
		return SG_ERR_INVALID_ARG;
	if (so_pin == NULL || *so_pin == '\0' || user_pin == NULL || *user_pin == '\0')
		return SG_ERR_PIN_INVALID;
	for (i = 0; i < ctx->nslots; i++) {
		PKCS11_TOKEN *t = ctx->slots[i].token;

		if (t == NULL)
			continue;
		if (t->initialized && t->label != NULL &&
		    strncmp(t->label, label, strlen(label)) == 0 &&
		    strspn(t->label + strlen(label), " ") == strlen(t->label + strlen(label)))
			return SG_ERR_EXISTS;
		if (!t->initialized && !found) {
			free_slot = PKCS11_get_slotid_from_slot(&ctx->slots[i]);
			found = 1;
		}
	}
	if (!found)
		return SG_ERR_NOT_FOUND;
	pad_label(padded, label);
	rv = sgp11_C_InitToken(ctx, SGP11_FAIL_ERROR, free_slot, (CK_UTF8CHAR_PTR)so_pin,
	    (CK_ULONG)strlen(so_pin), padded);
	if (rv != CKR_OK)
		return sgp11_ckr_to_err(rv);
	/* The module may give the initialised token a new slot id. */
	if ((r = reselect(ctx, label)) != 0)
		return r;
	free(ctx->token_label);
	if ((ctx->token_label = strdup(label)) == NULL)
		return SG_ERR_ALLOC;
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		return r;
	if ((r = login_on(ctx, s, CKU_SO, so_pin)) != 0)
		goto out;
	rv = sgp11_C_InitPIN(ctx, SGP11_FAIL_ERROR, s, (CK_UTF8CHAR_PTR)user_pin,
	    (CK_ULONG)strlen(user_pin));
	(void)sgp11_C_Logout(ctx, SGP11_FAIL_QUIET, s);
	if (rv != CKR_OK) {
		r = sgp11_ckr_to_err(rv);
		goto out;
	}
	r = 0;
 out:
	(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	return r;
}

int
sgp11_change_pin(struct sgp11_ctx *ctx, int so, const char *old_pin, const char *new_pin)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_RV rv;
	int r;

	if (old_pin == NULL || *old_pin == '\0' || new_pin == NULL || *new_pin == '\0')
		return SG_ERR_PIN_INVALID;
	if ((r = pin_state(ctx, ctx->slot_id, so)) != 0)
		return r;
	if ((r = sgp11_session_open_rw(ctx, &s)) != 0)
		return r;
	if ((r = login_on(ctx, s, so ? CKU_SO : CKU_USER, old_pin)) != 0)
		goto out;
	rv = sgp11_C_SetPIN(ctx, SGP11_FAIL_ERROR, s, (CK_UTF8CHAR_PTR)old_pin,
	    (CK_ULONG)strlen(old_pin), (CK_UTF8CHAR_PTR)new_pin, (CK_ULONG)strlen(new_pin));
	(void)sgp11_C_Logout(ctx, SGP11_FAIL_QUIET, s);
	if (rv != CKR_OK) {
		r = sgp11_ckr_to_err(rv);
		goto out;
	}
	r = 0;
 out:
	(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	return r;
}

int
sgp11_pin_refused(struct sgp11_ctx *ctx)
{
	int r;

	pthread_rwlock_rdlock(&ctx->use_lock);
	r = ctx->pin_refused;
	pthread_rwlock_unlock(&ctx->use_lock);
	return r;
}
