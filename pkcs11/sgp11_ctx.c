/* SPDX-License-Identifier: Apache-2.0 */
/* The token context: loads the module (through libp11, plus our own
 * reference for raw Cryptoki calls), finds the token by label, keeps the
 * bounded pool of signing sessions and recovers from a lost token. */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sg_clock.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "sgp11_call.h"
#include "sgp11_internal.h"

#define DEFAULT_SESSION_LIMIT 16

/* Cryptoki labels are blank-padded, not NUL-terminated. */
static int
label_equals(const char *padded_or_c, const char *want)
{
	size_t n = strlen(want), i;

	if (strncmp(padded_or_c, want, n) != 0)
		return 0;
	for (i = n; padded_or_c[i] != '\0'; i++) {
		if (padded_or_c[i] != ' ')
			return 0;
	}
	return 1;
}

/* At start a module that does not load is an error; while recovery
 * tries again every so often, the outage is reported once by the caller. */
#define LOAD_FAILED(quiet, ...) do { \
	if (quiet) \
		sg_debug(__VA_ARGS__); \
	else \
		sg_error(__VA_ARGS__); \
} while (0)

static int
load_module(struct sgp11_ctx *ctx, int quiet)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);

	if (access(ctx->module_path, R_OK) != 0) {
		LOAD_FAILED(quiet, "PKCS#11 module %s is not readable", ctx->module_path);
		return SG_ERR_MODULE_LOAD;
	}
	/* Our own reference first, so a file that is not a PKCS#11 module is
	 * refused here with one clear line rather than deep inside libp11.
	 * libp11 then gets the same instance and initialises it. */
	if ((ctx->dl = dlopen(ctx->module_path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (*(void **)&get_list = dlsym(ctx->dl, "C_GetFunctionList")) == NULL ||
	    get_list(&ctx->fl) != CKR_OK) {
		LOAD_FAILED(quiet, "%s is not a PKCS#11 module", ctx->module_path);
		return SG_ERR_MODULE_LOAD;
	}
	if ((ctx->p11 = PKCS11_CTX_new()) == NULL)
		return SG_ERR_ALLOC;
	if (PKCS11_CTX_load(ctx->p11, ctx->module_path) != 0) {
		LOAD_FAILED(quiet, "PKCS#11 module %s failed to initialise", ctx->module_path);
		ERR_clear_error();
		PKCS11_CTX_free(ctx->p11);
		ctx->p11 = NULL;
		return SG_ERR_MODULE_LOAD;
	}
	if (PKCS11_enumerate_slots(ctx->p11, &ctx->slots, &ctx->nslots) != 0) {
		ERR_clear_error();
		LOAD_FAILED(quiet, "PKCS#11 module %s: cannot list slots", ctx->module_path);
		return SG_ERR_MODULE_LOAD;
	}
	return 0;
}

static void
unload_module(struct sgp11_ctx *ctx)
{
	if (ctx->slots != NULL)
		PKCS11_release_all_slots(ctx->p11, ctx->slots, ctx->nslots);
	ctx->slots = NULL;
	ctx->nslots = 0;
	ctx->slot = NULL;
	if (ctx->p11 != NULL) {
		PKCS11_CTX_unload(ctx->p11);
		PKCS11_CTX_free(ctx->p11);
		ctx->p11 = NULL;
	}
	if (ctx->dl != NULL)
		dlclose(ctx->dl);
	ctx->dl = NULL;
	ctx->fl = NULL;
}

/* Set the current module aside for sgp11_close and reset the module
 * itself, so the next load_module initialises it afresh. */
static void
retire_module(struct sgp11_ctx *ctx)
{
	struct retired_module *grown;

	grown = realloc(ctx->retired, (ctx->n_retired + 1) * sizeof(*grown));
	if (grown == NULL) {
		/* Without room to keep it, unload: stale keys are never used,
		 * only freed, and that is the risk left. */
		unload_module(ctx);
		return;
	}
	ctx->retired = grown;
	ctx->retired[ctx->n_retired].p11 = ctx->p11;
	ctx->retired[ctx->n_retired].slots = ctx->slots;
	ctx->retired[ctx->n_retired].nslots = ctx->nslots;
	ctx->retired[ctx->n_retired].dl = ctx->dl;
	ctx->n_retired++;
	if (ctx->fl != NULL)
		(void)sgp11_C_Finalize(ctx, SGP11_FAIL_QUIET, NULL);
	ctx->p11 = NULL;
	ctx->slots = NULL;
	ctx->nslots = 0;
	ctx->slot = NULL;
	ctx->dl = NULL;
	ctx->fl = NULL;
}

static void
release_retired(struct sgp11_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_retired; i++) {
		struct retired_module *m = &ctx->retired[i];

		if (m->slots != NULL)
			PKCS11_release_all_slots(m->p11, m->slots, m->nslots);
		if (m->p11 != NULL) {
			PKCS11_CTX_unload(m->p11);
			PKCS11_CTX_free(m->p11);
		}
		if (m->dl != NULL)
			dlclose(m->dl);
	}
	free(ctx->retired);
	ctx->retired = NULL;
	ctx->n_retired = 0;
}

static size_t
token_session_cap(struct sgp11_ctx *ctx)
{
	CK_TOKEN_INFO info;

	if (sgp11_C_GetTokenInfo(ctx, SGP11_FAIL_QUIET, ctx->slot_id, &info) != CKR_OK)
		return 0;
	if (info.ulMaxSessionCount == CK_EFFECTIVELY_INFINITE ||
	    info.ulMaxSessionCount == CK_UNAVAILABLE_INFORMATION)
		return 0;
	/* Leave room for libp11's own sessions and an officer session. */
	return info.ulMaxSessionCount > 2 ? info.ulMaxSessionCount - 2 : 1;
}

/* Point the context at the token labelled ctx->token_label. */
static int
select_token(struct sgp11_ctx *ctx)
{
	unsigned int i;
	size_t cap;
	int m;

	ctx->slot = NULL;
	for (i = 0; i < ctx->nslots; i++) {
		PKCS11_TOKEN *t = ctx->slots[i].token;

		if (t == NULL || !t->initialized || t->label == NULL)
			continue;
		if (sgp11_uri_is(ctx->token_label)) {
			if ((m = sgp11_uri_token_matches(ctx, ctx->token_label, t)) < 0)
				return m;
		} else
			m = label_equals(t->label, ctx->token_label);
		if (m) {
			ctx->slot = &ctx->slots[i];
			break;
		}
	}
	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	ctx->slot_id = PKCS11_get_slotid_from_slot(ctx->slot);
	/* Fix libp11's pool to read-write now: changing its mode later
	 * would C_CloseAllSessions, ours included. */
	if (PKCS11_open_session(ctx->slot, 1) != 0) {
		ERR_clear_error();
		return SG_ERR_TOKEN;
	}
	cap = token_session_cap(ctx);
	if (cap != 0 && ctx->limit > cap)
		ctx->limit = cap;
	return 0;
}

int
sgp11_open(const char *module, const char *token_label, struct sgp11_ctx **ctxp)
{
	struct sgp11_ctx *ctx = NULL;
	pthread_rwlockattr_t rwattr;
	int r = SG_ERR_INTERNAL;

	*ctxp = NULL;
	if (module == NULL || *module == '\0')
		return SG_ERR_INVALID_ARG;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return SG_ERR_ALLOC;
	pthread_rwlockattr_init(&rwattr);
	/* Recovery must not starve behind a steady stream of signers. */
	pthread_rwlockattr_setkind_np(&rwattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ctx->use_lock, &rwattr);
	pthread_rwlockattr_destroy(&rwattr);
	pthread_mutex_init(&ctx->pool_lock, NULL);
	pthread_cond_init(&ctx->pool_cond, NULL);
	ctx->limit = DEFAULT_SESSION_LIMIT;
	if ((ctx->module_path = strdup(module)) == NULL ||
	    (token_label != NULL && (ctx->token_label = strdup(token_label)) == NULL)) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((ctx->idle = calloc(ctx->limit, sizeof(*ctx->idle))) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((r = load_module(ctx, 0)) != 0)
		goto out;
	if (token_label != NULL && (r = select_token(ctx)) != 0)
		goto out;
	*ctxp = ctx;
	ctx = NULL;
	r = 0;
 out:
	sgp11_close(ctx);
	return r;
}

void
sgp11_close(struct sgp11_ctx *ctx)
{
	if (ctx == NULL)
		return;
	sgp11_pool_drain(ctx);
	unload_module(ctx);
	release_retired(ctx);
	sg_free_secret_str(ctx->pin);
	free(ctx->module_path);
	free(ctx->token_label);
	free(ctx->idle);
	pthread_rwlock_destroy(&ctx->use_lock);
	pthread_mutex_destroy(&ctx->pool_lock);
	pthread_cond_destroy(&ctx->pool_cond);
	free(ctx);
}

size_t
sgp11_session_limit(const struct sgp11_ctx *ctx)
{
	return ctx->limit;
}

int
sgp11_set_session_limit(struct sgp11_ctx *ctx, size_t limit)
{
	CK_SESSION_HANDLE *idle;
	size_t cap;

	if (limit == 0)
		return SG_ERR_INVALID_ARG;
	if (ctx->slot != NULL && (cap = token_session_cap(ctx)) != 0 && limit > cap)
		limit = cap;
	pthread_mutex_lock(&ctx->pool_lock);
	if (ctx->n_open != 0) {
		pthread_mutex_unlock(&ctx->pool_lock);
		return SG_ERR_BUSY;
	}
	if ((idle = calloc(limit, sizeof(*idle))) == NULL) {
		pthread_mutex_unlock(&ctx->pool_lock);
		return SG_ERR_ALLOC;
	}
	free(ctx->idle);
	ctx->idle = idle;
	ctx->limit = limit;
	pthread_mutex_unlock(&ctx->pool_lock);
	return 0;
}

int
sgp11_session_get(struct sgp11_ctx *ctx, CK_SESSION_HANDLE *sp)
{
	CK_RV rv;

	/* After a failed recovery there is no module until the next one. */
	if (ctx->fl == NULL || ctx->slot == NULL)
		return SG_ERR_TOKEN_LOST;
	pthread_mutex_lock(&ctx->pool_lock);
	while (ctx->n_idle == 0 && ctx->n_open >= ctx->limit)
		pthread_cond_wait(&ctx->pool_cond, &ctx->pool_lock);
	if (ctx->n_idle > 0) {
		*sp = ctx->idle[--ctx->n_idle];
		pthread_mutex_unlock(&ctx->pool_lock);
		return 0;
	}
	ctx->n_open++;
	pthread_mutex_unlock(&ctx->pool_lock);
	rv = sgp11_C_OpenSession(ctx, SGP11_FAIL_WARN, ctx->slot_id, CKF_SERIAL_SESSION, NULL,
	    NULL, sp);
	if (rv != CKR_OK) {
		pthread_mutex_lock(&ctx->pool_lock);
		ctx->n_open--;
		pthread_cond_signal(&ctx->pool_cond);
		pthread_mutex_unlock(&ctx->pool_lock);
		return sgp11_ckr_to_err(rv);
	}
	return 0;
}

void
sgp11_session_put(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, int lost)
{
	pthread_mutex_lock(&ctx->pool_lock);
	if (lost || ctx->n_idle >= ctx->limit) {
		ctx->n_open--;
		pthread_mutex_unlock(&ctx->pool_lock);
		/* Closing may fail when the session is already gone. */
		(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
		pthread_mutex_lock(&ctx->pool_lock);
	} else
		ctx->idle[ctx->n_idle++] = s;
	pthread_cond_signal(&ctx->pool_cond);
	pthread_mutex_unlock(&ctx->pool_lock);
}

void
sgp11_pool_drain(struct sgp11_ctx *ctx)
{
	pthread_mutex_lock(&ctx->pool_lock);
	while (ctx->n_idle > 0) {
		ctx->n_idle--;
		ctx->n_open--;
		if (ctx->fl != NULL)
			(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, ctx->idle[ctx->n_idle]);
	}
	pthread_cond_broadcast(&ctx->pool_cond);
	pthread_mutex_unlock(&ctx->pool_lock);
}

int
sgp11_session_open_rw(struct sgp11_ctx *ctx, CK_SESSION_HANDLE *sp)
{
	CK_RV rv;

	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	rv = sgp11_C_OpenSession(ctx, SGP11_FAIL_ERROR, ctx->slot_id,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, sp);
	if (rv != CKR_OK)
		return sgp11_ckr_to_err(rv);
	return 0;
}

static const struct { CK_FLAGS flag; const char *name; } token_flags[] = {
	{ CKF_TOKEN_INITIALIZED, "initialized" },
	{ CKF_LOGIN_REQUIRED, "login_required" },
	{ CKF_USER_PIN_INITIALIZED, "user_pin_initialized" },
	{ CKF_USER_PIN_COUNT_LOW, "user_pin_count_low" },
	{ CKF_USER_PIN_FINAL_TRY, "user_pin_final_try" },
	{ CKF_USER_PIN_LOCKED, "user_pin_locked" },
	{ CKF_USER_PIN_TO_BE_CHANGED, "user_pin_to_be_changed" },
	{ CKF_SO_PIN_COUNT_LOW, "so_pin_count_low" },
	{ CKF_SO_PIN_FINAL_TRY, "so_pin_final_try" },
	{ CKF_SO_PIN_LOCKED, "so_pin_locked" },
	{ CKF_SO_PIN_TO_BE_CHANGED, "so_pin_to_be_changed" },
	{ CKF_WRITE_PROTECTED, "write_protected" },
};

int
sgp11_slots(struct sgp11_ctx *ctx, struct sgp11_slot_info **infop, size_t *np)
{
	struct sgp11_slot_info *info;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	unsigned int i;
	size_t f;

	*infop = NULL;
	*np = 0;
	if ((info = calloc(ctx->nslots + 1, sizeof(*info))) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < ctx->nslots; i++) {
		struct sgp11_slot_info *o = &info[i];

		o->slot_id = PKCS11_get_slotid_from_slot(&ctx->slots[i]);
		if (sgp11_C_GetSlotInfo(ctx, SGP11_FAIL_QUIET, o->slot_id, &si) == CKR_OK) {
			memcpy(o->description, si.slotDescription, sizeof(si.slotDescription));
			o->token_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
		}
		if (!o->token_present ||
		    sgp11_C_GetTokenInfo(ctx, SGP11_FAIL_QUIET, o->slot_id, &ti) != CKR_OK)
			continue;
		memcpy(o->label, ti.label, sizeof(ti.label));
		memcpy(o->manufacturer, ti.manufacturerID, sizeof(ti.manufacturerID));
		memcpy(o->model, ti.model, sizeof(ti.model));
		memcpy(o->serial, ti.serialNumber, sizeof(ti.serialNumber));
		for (f = 0; f < sizeof(token_flags) / sizeof(token_flags[0]); f++) {
			if ((ti.flags & token_flags[f].flag) && o->n_flags < 16)
				o->flags[o->n_flags++] = token_flags[f].name;
		}
		o->max_sessions = ti.ulMaxSessionCount;
		o->session_count = ti.ulSessionCount;
	}
	/* Trim the blank padding Cryptoki puts on its strings. */
	for (i = 0; i < ctx->nslots; i++) {
		char *fields[] = { info[i].description, info[i].label, info[i].manufacturer,
		    info[i].model, info[i].serial };
		size_t len;

		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			len = strlen(fields[f]);
			while (len > 0 && fields[f][len - 1] == ' ')
				fields[f][--len] = '\0';
		}
	}
	*infop = info;
	*np = ctx->nslots;
	return 0;
}

/* Is there a live session that sees the user logged in? 1 yes, 0 logged
 * out, negative when the token or module itself is gone. */
static int
probe(struct sgp11_ctx *ctx)
{
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_RV rv;

	rv = sgp11_C_OpenSession(ctx, SGP11_FAIL_QUIET, ctx->slot_id, CKF_SERIAL_SESSION, NULL,
	    NULL, &s);
	if (rv != CKR_OK)
		return sgp11_ckr_to_err(rv);
	rv = sgp11_C_GetSessionInfo(ctx, SGP11_FAIL_QUIET, s, &si);
	(void)sgp11_C_CloseSession(ctx, SGP11_FAIL_QUIET, s);
	if (rv != CKR_OK)
		return sgp11_ckr_to_err(rv);
	return si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS;
}

/* Defined in sgp11_login.c: log in with ctx->pin, honouring PIN hygiene. */
int sgp11_login_locked(struct sgp11_ctx *ctx, const char *pin);

/* Sessions work: make every handle from before unusable and log in again.
 * libp11's pooled sessions died with ours; make it forget their handles
 * (same mode: nothing is closed) before new sessions could be given the
 * same numbers. Its cache of key objects goes only with a logout (the
 * token may answer that nobody is logged in, which is true). Keys found
 * before must be found again: the generation moves. */
static int
forget_objects(struct sgp11_ctx *ctx)
{
	ctx->generation++;
	if (ctx->pin == NULL)
		return ctx->pin_refused ? SG_ERR_PIN_INCORRECT : 0;
	if (PKCS11_open_session(ctx->slot, 1) != 0)
		ERR_clear_error();
	if (PKCS11_logout(ctx->slot) != 0)
		ERR_clear_error();
	return sgp11_login_locked(ctx, ctx->pin);
}

/* The least time between two reopens: short while reopening has failed
 * for less than SGP11_REOPEN_FAST_FOR_MS (a token back after a short
 * outage is found at once), SGP11_REOPEN_SLOW_MS after that (a module
 * reset in a loop for long may never come back). */
static int64_t
reopen_interval(const struct sgp11_ctx *ctx, int64_t now)
{
	if (ctx->reopen_failing_since_ms != 0 &&
	    now - ctx->reopen_failing_since_ms >= SGP11_REOPEN_FAST_FOR_MS)
		return SGP11_REOPEN_SLOW_MS;
	return SGP11_REOPEN_MIN_MS;
}

static const char *const recovery_names[] = { "none", "find_keys", "login", "reopen" };

const char *
sgp11_recovery_name(enum sgp11_recovery level)
{
	if ((unsigned int)level >= sizeof(recovery_names) / sizeof(recovery_names[0]))
		return "none";
	return recovery_names[level];
}

enum sgp11_recovery
sgp11_recovery_for(unsigned long rv)
{
	switch (rv) {
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
		return SGP11_RECOVER_FIND_KEYS;
	case CKR_DEVICE_REMOVED:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_SLOT_ID_INVALID:
	case CKR_TOKEN_NOT_RECOGNIZED:
		return SGP11_RECOVER_REOPEN;
	default:
		/* Sessions or the login lost, the token not present, a device
		 * error: new sessions first; the probe tells what is left. */
		return SGP11_RECOVER_LOGIN;
	}
}

int
sgp11_recover(struct sgp11_ctx *ctx, enum sgp11_recovery from, enum sgp11_recovery *levelp)
{
	enum sgp11_recovery level_dummy;
	int r = SG_ERR_TOKEN_LOST, alive, reopened = 0;
	int64_t now = sg_monotonic_ms();

	if (levelp == NULL)
		levelp = &level_dummy;
	*levelp = SGP11_RECOVER_NONE;
	pthread_rwlock_wrlock(&ctx->use_lock);
	/* Reopening the module would only lead to the refused PIN again. */
	if (ctx->pin_refused) {
		pthread_rwlock_unlock(&ctx->use_lock);
		return SG_ERR_PIN_INCORRECT;
	}
	/* Nobody holds a session now: close our idle ones first, so none of
	 * their handles is alive when the module hands out new ones. */
	sgp11_pool_drain(ctx);
	if (from < SGP11_RECOVER_REOPEN && ctx->fl != NULL && ctx->slot != NULL &&
	    (alive = probe(ctx)) >= 0) {
		/* Sessions can be opened. Logged in and asked for no more: the
		 * token's objects may have gone away and come back with new
		 * handles (CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID). */
		if (alive == 1 && from <= SGP11_RECOVER_FIND_KEYS) {
			*levelp = SGP11_RECOVER_FIND_KEYS;
			sg_debug("token key handles may be stale; finding the keys again");
		} else {
			*levelp = SGP11_RECOVER_LOGIN;
			sg_debug("token sessions or login lost; logging in again");
		}
		if ((r = forget_objects(ctx)) == 0 || ctx->pin_refused)
			goto out;
	}
	/* Sessions are dead, or what is cheaper did not help: reopen the
	 * module from scratch, but not more often than a module can bear. */
	*levelp = SGP11_RECOVER_REOPEN;
	if (ctx->last_reopen_ms != 0 && now - ctx->last_reopen_ms < reopen_interval(ctx, now)) {
		r = SG_ERR_BUSY;
		goto out;
	}
	ctx->last_reopen_ms = now;
	reopened = 1;
	sg_debug("token %s unreachable; reopening module %s", ctx->token_label, ctx->module_path);
	pthread_mutex_lock(&ctx->pool_lock);
	/* Busy sessions die with the module; forget them. */
	ctx->n_open = 0;
	pthread_mutex_unlock(&ctx->pool_lock);
	retire_module(ctx);
	ctx->generation++;
	if ((r = load_module(ctx, 1)) != 0)
		goto out;
	if (ctx->token_label != NULL && (r = select_token(ctx)) != 0)
		goto out;
	if (ctx->pin != NULL)
		r = sgp11_login_locked(ctx, ctx->pin);
	else if (ctx->pin_refused)
		r = SG_ERR_PIN_INCORRECT;
 out:
	/* How long reopening has been failing sets how often it is tried. */
	if (r == 0)
		ctx->reopen_failing_since_ms = 0;
	else if (reopened && ctx->reopen_failing_since_ms == 0)
		ctx->reopen_failing_since_ms = now;
	pthread_rwlock_unlock(&ctx->use_lock);
	return r;
}

void
sgp11_use_begin(struct sgp11_ctx *ctx)
{
	pthread_rwlock_rdlock(&ctx->use_lock);
}

void
sgp11_use_end(struct sgp11_ctx *ctx)
{
	pthread_rwlock_unlock(&ctx->use_lock);
}

unsigned long
sgp11_generation(const struct sgp11_ctx *ctx)
{
	return ctx->generation;
}

int64_t
sgp11_last_good_signature(const struct sgp11_ctx *ctx)
{
	return __atomic_load_n(&ctx->last_good_s, __ATOMIC_RELAXED);
}
