/* SPDX-License-Identifier: Apache-2.0 */
/* The token layer: the only code that talks to the PKCS#11 module. Callers
 * see opaque contexts and keys; no libp11 or Cryptoki type leaks out.
 * A context is safe to share between threads for signing and key lookup;
 * officer operations (init, keygen, import, retire, PIN change) are meant
 * for one thread. */
#ifndef SGP11_H
#define SGP11_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct sgp11_ctx;
struct sgp11_key;

enum sgp11_kind { SGP11_RSA = 1, SGP11_EC = 2 };

struct sgp11_keyspec {
	enum sgp11_kind kind;
	int bits;		/* RSA modulus bits, or EC field bits */
	int curve_nid;		/* EC only */
};

enum sgp11_padding {
	SGP11_PAD_DEFAULT = 0,	/* PKCS#1 v1.5 for RSA, ECDSA for EC */
	SGP11_PAD_PSS = 1	/* RSA-PSS, salt length = digest length */
};

/* Subject of a CSR: any field may be NULL. */
struct sgp11_subject {
	const char *c, *o, *ou, *cn, *serial_number, *organization_identifier;
};

struct sgp11_slot_info {
	unsigned long slot_id;
	char description[65];
	int token_present;
	char label[33], manufacturer[33], model[17], serial[17];
	const char *flags[16];	/* names of the token's flags (static) */
	size_t n_flags;
	unsigned long max_sessions, session_count;
};

struct sgp11_object_info {
	char label[129];
	char id_hex[129];
	struct sgp11_keyspec spec;
	int has_private, has_public, has_cert;
	int sensitive, extractable, always_sensitive, never_extractable;
	char *cert_subject;	/* one-line RFC 2253 form, or NULL */
	char *cert_issuer;
	char *cert_serial;	/* hex */
	time_t not_before, not_after;
};

/* "rsa:2048", "rsa:3072", "rsa:4096", "ec:p256", "ec:p384" → spec.
 * SG_ERR_INVALID_ARG for anything else. */
int sgp11_keyspec_parse(const char *name, struct sgp11_keyspec *spec);
/* The same name for a spec (static storage), or "unknown". */
const char *sgp11_keyspec_name(const struct sgp11_keyspec *spec);

/* Load module and open the token labelled token_label, or the first one
 * the PKCS#11 URI token_label matches (NULL: no token, for slot listing and
 * token initialisation). A URI whose module-path is not module:
 * SG_ERR_INVALID_ARG. Errors: SG_ERR_MODULE_LOAD,
 * SG_ERR_TOKEN_NOT_FOUND. *ctxp is new; free with sgp11_close. */
int sgp11_open(const char *module, const char *token_label, struct sgp11_ctx **ctxp);
void sgp11_close(struct sgp11_ctx *ctx);

/* Log in as the user. Refuses (SG_ERR_PIN_FINAL_TRY, SG_ERR_PIN_LOCKED)
 * when the token says the next wrong PIN would lock it or is locked, never
 * retries a failed PIN (SG_ERR_PIN_INCORRECT). The PIN is borrowed; a
 * wiped-on-close copy is kept so the context can log in again after the
 * token or its sessions are lost. */
int sgp11_login(struct sgp11_ctx *ctx, const char *pin);
/* 1 once the token refused a PIN this context presented (wrong, invalid or
 * locked): that PIN is never presented again, recovery stops short of
 * logging in, and only sgp11_login with another PIN clears it. */
int sgp11_pin_refused(struct sgp11_ctx *ctx);
/* How far recovery climbs, cheapest first. */
enum sgp11_recovery {
	SGP11_RECOVER_NONE = 0,		/* nothing tried */
	SGP11_RECOVER_FIND_KEYS,	/* handles stale: find the objects again */
	SGP11_RECOVER_LOGIN,		/* sessions or login lost: new ones */
	SGP11_RECOVER_REOPEN		/* C_Finalize, C_Initialize, find the token */
};
/* The module is reopened at most every SGP11_REOPEN_MIN_MS while
 * reopening has failed for less than SGP11_REOPEN_FAST_FOR_MS (so a token
 * back after a short outage is found at once), then at most every
 * SGP11_REOPEN_SLOW_MS (a module reset in a loop for long may never come
 * back). */
#define SGP11_REOPEN_MIN_MS 500
#define SGP11_REOPEN_FAST_FOR_MS 10000
#define SGP11_REOPEN_SLOW_MS 3000
/* "none", "find_keys", "login", "reopen" (static). */
const char *sgp11_recovery_name(enum sgp11_recovery level);
/* Where recovery from a call that failed with rv should start:
 * FIND_KEYS for a stale object handle, REOPEN for a removed device or a
 * module that lost its initialisation, LOGIN for the rest. */
enum sgp11_recovery sgp11_recovery_for(unsigned long rv);
/* Make the token usable again, starting at level from and climbing only
 * as far as needed: a session is opened to see what is left; when it
 * sees the login, the key handles are made stale (FIND_KEYS); when it
 * sees no login, or from asks for more, new sessions and a new login
 * (LOGIN); when no session opens, the module is reopened (REOPEN). Keys
 * found before are stale afterwards (sgp11_key_stale). *levelp (may be
 * NULL) gets the highest level tried. 0, or the error that stopped it:
 * SG_ERR_PIN_INCORRECT at once, touching nothing, after a refused PIN;
 * SG_ERR_BUSY when only reopening is left and the module was reopened
 * too recently (see SGP11_REOPEN_MIN_MS; nothing done: ask again later). */
int sgp11_recover(struct sgp11_ctx *ctx, enum sgp11_recovery from, enum sgp11_recovery *levelp);
/* When the last signature sgp11_sign_digest made succeeded (seconds since
 * the epoch), 0 before the first. Read without a lock. */
int64_t sgp11_last_good_signature(const struct sgp11_ctx *ctx);
/* Bracket any use of a key's EVP_PKEY (CSR, CMS, TLS) so recovery never
 * unloads the module underneath it. sgp11_sign_digest does this itself. */
void sgp11_use_begin(struct sgp11_ctx *ctx);
void sgp11_use_end(struct sgp11_ctx *ctx);
/* Bumped each time recovery logs in again or reopens the module: keys
 * found before that are stale (sgp11_key_stale) and must be found again. */
unsigned long sgp11_generation(const struct sgp11_ctx *ctx);
int sgp11_key_stale(const struct sgp11_key *key);
/* Number of signing sessions the context may hold at once (the lower of
 * the token's limit and the requested one). */
size_t sgp11_session_limit(const struct sgp11_ctx *ctx);
/* Set how many signing sessions may be open at once (≥ 1). Call before
 * signing starts. The token's own limit wins when it is lower. */
int sgp11_set_session_limit(struct sgp11_ctx *ctx, size_t limit);

/* Slots of the module. *infop is a new array of *np entries (free()). */
int sgp11_slots(struct sgp11_ctx *ctx, struct sgp11_slot_info **infop, size_t *np);
/* Initialise the token in the first slot whose token is not initialised:
 * set its label, the SO PIN and the user PIN. The context then refers to
 * the new token. SG_ERR_NOT_FOUND when no free slot is left,
 * SG_ERR_EXISTS when a token with that label already exists. */
int sgp11_token_init(struct sgp11_ctx *ctx, const char *label, const char *so_pin,
    const char *user_pin);
/* Change the user PIN (so=0) or the SO PIN (so=1). Same PIN hygiene as
 * sgp11_login. */
int sgp11_change_pin(struct sgp11_ctx *ctx, int so, const char *old_pin, const char *new_pin);

/* Generate a key pair on the token with CKA_SENSITIVE, CKA_PRIVATE,
 * CKA_SIGN, CKA_TOKEN true and CKA_EXTRACTABLE, CKA_DECRYPT, CKA_UNWRAP,
 * CKA_DERIVE false; id may be NULL (a random 16-byte id is chosen).
 * SG_ERR_EXISTS when an object with that label is already there. */
int sgp11_keygen(struct sgp11_ctx *ctx, const char *label, const unsigned char *id,
    size_t id_len, const struct sgp11_keyspec *spec);

/* PKCS#11 URIs (RFC 7512): wherever a token or key is named, a name
 * starting "pkcs11:" is a URI (token, manufacturer, serial, model, object,
 * id, type, module-path, module-name, pin-source), anything else a label.
 * sgp11_uri_is: 1 for a URI. sgp11_uri_check: 0 for a label or a good URI,
 * SG_ERR_PARSE for a bad one with the offending attribute's name in attr. */
int sgp11_uri_is(const char *name);
int sgp11_uri_check(const char *name, char *attr, size_t attrlen);
/* The URI of the private key (label, id_hex) on ctx's token, for an
 * officer to paste (token, manufacturer, model, serial, object, id,
 * type=private). *urip is new (free()). */
int sgp11_object_uri(struct sgp11_ctx *ctx, const char *label, const char *id_hex, char **urip);

/* Find the private key labelled label, or named by a PKCS#11 URI (whose
 * token attributes must match ctx's token, whose module-path, if any, must
 * be the module in use: else SG_ERR_INVALID_ARG; more than one key
 * matching it: SG_ERR_CONFLICT). sgp11_key_label then gives the object's
 * own label, so two names for one key resolve to the same label and id. *keyp is new (sgp11_key_free);
 * SG_ERR_KEY_NOT_FOUND when there is none. */
int sgp11_key_find(struct sgp11_ctx *ctx, const char *label, struct sgp11_key **keyp);
void sgp11_key_free(struct sgp11_key *key);
/* 1 when a and b are the same private key object (same token, label and
 * id), however each was named. */
int sgp11_key_same(const struct sgp11_key *a, const struct sgp11_key *b);
const char *sgp11_key_label(const struct sgp11_key *key);
/* Lower-case hex of CKA_ID (borrowed). */
const char *sgp11_key_id_hex(const struct sgp11_key *key);
const struct sgp11_keyspec *sgp11_key_spec(const struct sgp11_key *key);
/* The key as an OpenSSL EVP_PKEY whose private operations run on the
 * token (borrowed; valid while key lives). For CSR, CMS, TLS, JWS. */
EVP_PKEY *sgp11_key_get0_pkey(struct sgp11_key *key);
/* The public half (borrowed). */
EVP_PKEY *sgp11_key_get0_public(struct sgp11_key *key);
/* The certificate stored next to the key, or NULL (borrowed). */
X509 *sgp11_key_get0_cert(struct sgp11_key *key);

/* Sign a digest on the token. md_nid is NID_sha1 (only for XML signature
 * profiles that require rsa-sha1) or NID_sha256/384/512 and dgst_len
 * must match it. RSA: PKCS#1 v1.5 over DigestInfo, or PSS; EC: DER
 * ECDSA-Sig-Value. *sigp is new (free with OPENSSL_free). Thread-safe:
 * each call uses one pooled session that no other thread uses meanwhile.
 * Errors: SG_ERR_TOKEN_LOST (caller may sgp11_recover and retry),
 * SG_ERR_TOKEN, SG_ERR_INVALID_ARG. */
int sgp11_sign_digest(struct sgp11_key *key, int md_nid, enum sgp11_padding pad,
    const unsigned char *dgst, size_t dgst_len, unsigned char **sigp, size_t *siglenp);

/* Build a PKCS#10 request for key with subject, signed on the token with
 * SHA-256. *reqp is new (X509_REQ_free). SG_ERR_INVALID_ARG for an empty
 * subject or a field the X.509 encoder refuses. */
int sgp11_csr_make(struct sgp11_key *key, const struct sgp11_subject *subject, X509_REQ **reqp);

/* Store cert (and optionally chain certificates, labelled label-chainN)
 * next to the key labelled label. Refuses with SG_ERR_KEY_MISMATCH when
 * the certificate's public key is not the key's, SG_ERR_EXISTS when the
 * key already has a certificate. */
int sgp11_cert_import(struct sgp11_ctx *ctx, const char *label, X509 *cert,
    STACK_OF(X509) *chain);
/* Move the key labelled from, with its public key and certificates, to
 * the label to. Calling it again after a move cut short finishes it; 0
 * when everything already is under to. SG_ERR_EXISTS when to already
 * holds another private key, SG_ERR_KEY_NOT_FOUND when neither label
 * holds one. */
int sgp11_key_relabel(struct sgp11_ctx *ctx, const char *from, const char *to);
/* Delete the private key, public key and certificate objects of label.
 * SG_ERR_KEY_NOT_FOUND when there is nothing under that label. */
int sgp11_key_retire(struct sgp11_ctx *ctx, const char *label);

/* Keys and certificates on the token, grouped by label and id. *infop is
 * a new array of *np entries; free with sgp11_objects_free. */
int sgp11_objects(struct sgp11_ctx *ctx, struct sgp11_object_info **infop, size_t *np);
void sgp11_objects_free(struct sgp11_object_info *info, size_t n);

/* Last CK_RV seen by this thread (for logs and metrics); 0 when none. */
unsigned long sgp11_last_ckr(void);
/* Name of a CK_RV ("CKR_PIN_INCORRECT"), or "CKR_0x..." (static). */
const char *sgp11_ckr_name(unsigned long rv);

#endif
