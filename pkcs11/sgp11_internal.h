/* SPDX-License-Identifier: Apache-2.0 */
/* What the pkcs11/ files share and nobody else sees: the context and key
 * structures, the raw Cryptoki function list and the signing session pool.
 * libp11 gives OpenSSL its EVP_PKEYs; the raw list does what libp11 cannot
 * (key templates, attribute reads, exact CK_RVs, bounded session pool).
 * The raw list is called only through the wrappers of sgp11_call.h. */
#ifndef SGP11_INTERNAL_H
#define SGP11_INTERNAL_H

#include <pthread.h>

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include "sgp11.h"

struct sgp11_ctx {
	char *module_path;
	char *token_label;		/* NULL when opened without a token */
	PKCS11_CTX *p11;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;		/* the token's slot, or NULL */
	void *dl;			/* our own reference on the module */
	CK_FUNCTION_LIST_PTR fl;
	CK_SLOT_ID slot_id;
	char *pin;			/* kept for re-login; wiped on close */
	/* The token refused a PIN: SHA-256 of it, never presented again by
	 * this context (and the kept PIN is gone). Under use_lock. */
	int pin_refused;
	unsigned char refused_pin[32];
	/* libp11 contexts replaced by recovery. Keys found before still
	 * point into them, so they are released only by sgp11_close. */
	struct retired_module {
		PKCS11_CTX *p11;
		PKCS11_SLOT *slots;
		unsigned int nslots;
		void *dl;
	} *retired;
	size_t n_retired;
	unsigned long generation;	/* bumped when the module is reopened */
	int64_t last_reopen_ms;		/* monotonic: the last reopen, 0 before */
	int64_t reopen_failing_since_ms; /* the first reopen that failed, 0 */
	int64_t last_good_s;		/* atomic: the last good signature's time */

	/* Serialises recovery against everything else: signers hold it
	 * shared, recovery and officer operations exclusively. */
	pthread_rwlock_t use_lock;

	/* Signing sessions: at most limit open, idle ones stacked. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	CK_SESSION_HANDLE *idle;
	size_t n_idle, n_open, limit;
};

/* sgp11_uri.c. 1 when the URI name matches token t, 0 when not, or an
 * error (bad URI, module-path not the module in use). */
int sgp11_uri_token_matches(const struct sgp11_ctx *ctx, const char *name,
    const PKCS11_TOKEN *t);
/* The label and id a key URI asks for (*labelp, *idp new or NULL), after
 * checking its token attributes against ctx's token and its type. */
int sgp11_uri_key_query(const struct sgp11_ctx *ctx, const char *name, char **labelp,
    unsigned char **idp, size_t *id_lenp);

struct sgp11_key {
	struct sgp11_ctx *ctx;
	unsigned long generation;
	char *label;
	unsigned char *id;
	size_t id_len;
	char *id_hex;
	struct sgp11_keyspec spec;
	CK_OBJECT_HANDLE priv;		/* private key handle */
	EVP_PKEY *pkey;			/* libp11's: private ops on the token */
	EVP_PKEY *pub;
	X509 *cert;
};

/* Remember rv as this thread's last CK_RV and translate it to SG_ERR_*. */
int sgp11_ckr_to_err(CK_RV rv);
/* 1 when rv means the session, login or token is gone. */
int sgp11_ckr_is_lost(CK_RV rv);

/* Take a session from the pool (opening one if under the limit, else
 * waiting). Put it back with lost=1 when it must be closed. */
int sgp11_session_get(struct sgp11_ctx *ctx, CK_SESSION_HANDLE *sp);
void sgp11_session_put(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, int lost);
/* Close every pooled session (idle ones now; busy ones when returned). */
void sgp11_pool_drain(struct sgp11_ctx *ctx);
/* A fresh read-write session outside the pool, for officer operations. */
int sgp11_session_open_rw(struct sgp11_ctx *ctx, CK_SESSION_HANDLE *sp);

/* Handles of objects of class cls with the given label (and id, when id
 * is not NULL). *handlesp is new (free()). */
int sgp11_find_objects(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *label, const unsigned char *id, size_t id_len,
    CK_OBJECT_HANDLE **handlesp, size_t *np);
/* Read one variable-length attribute into a new buffer (free()). */
int sgp11_get_attr(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, unsigned char **valp, size_t *lenp);
/* Read a CK_BBOOL attribute; -1 when the token does not say. */
int sgp11_get_bool(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type);
/* Key spec from a public or private key object's attributes. */
int sgp11_spec_from_object(struct sgp11_ctx *ctx, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    struct sgp11_keyspec *spec);

#endif
