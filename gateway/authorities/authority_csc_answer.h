/* SPDX-License-Identifier: Apache-2.0 */
/* The remote seal service's answers (CSC API v2 §11.5 credentials/info,
 * §11.9 signatures/signHash, §10.1 errors), from the bytes that came back
 * to what the adapter may use. No network, no token: tests/fuzz/
 * fuzz_csc_answer links it alone. authority names the service in every
 * message. */
#ifndef AUTHORITY_CSC_ANSWER_H
#define AUTHORITY_CSC_ANSWER_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

/* At most this many certificates in credentials/info's chain. */
#define GW_CSC_CHAIN_MAX 8
/* A signHash value longer than this is no signature (RSA-16384 is 2048). */
#define GW_CSC_SIGNATURE_MAX 2048

/* The answer as a whole: 200 with a JSON object (*docp, cJSON_Delete).
 * Any other status is SG_ERR_AUTHORITY with why naming the status and the
 * service's error and error_description when it sent them (cut, and with
 * control characters replaced); so is a 200 without an object.
 * SG_ERR_ALLOC. */
int gw_csc_answer_object(const char *authority, int http_status, const void *body, size_t len,
    cJSON **docp, char *why, size_t whylen);

/* credentials/info's cert.certificates: 1 to GW_CSC_CHAIN_MAX base64 DER
 * certificates, the stamp certificate first, into *chainp (new). Else
 * SG_ERR_AUTHORITY with why; SG_ERR_ALLOC. */
int gw_csc_answer_chain(const char *authority, const cJSON *reply, STACK_OF(X509) **chainp,
    char *why, size_t whylen);

/* signatures/signHash's signatures: exactly n (one per hash sent, in
 * their order); entry index, base64 of 1 to GW_CSC_SIGNATURE_MAX bytes,
 * into *sigp (new, free) and *lenp. Else SG_ERR_AUTHORITY with why;
 * SG_ERR_ALLOC. Whether it is the right signature is the seal job's to
 * check. */
int gw_csc_answer_signature(const char *authority, const cJSON *reply, size_t index, size_t n,
    unsigned char **sigp, size_t *lenp, char *why, size_t whylen);

/* At most this many signAlgo OIDs are kept from info or key/algo. */
#define GW_CSC_ALGOS_MAX 16

/* The CSC methods the adapter may need (info's "methods"). */
#define GW_CSC_M_INFO		0x1u
#define GW_CSC_M_CRED_INFO	0x2u
#define GW_CSC_M_AUTHORIZE	0x4u
#define GW_CSC_M_SIGN_HASH	0x8u

/* What info (CSC v2.0.0.2 11.1) says of the service. */
struct gw_csc_info {
	char specs[32];
	unsigned int methods;		/* GW_CSC_M_* it lists */
	int auth_tls;			/* authType lists "TLS" */
	int auth_oauth2client;		/* authType lists "oauth2client" */
	char algos[GW_CSC_ALGOS_MAX][64];	/* signAlgorithms.algos */
	size_t n_algos;
};

/* What credentials/info (11.5) says of the credential, beside the chain. */
struct gw_csc_credential {
	char key_status[16];		/* "enabled" / "disabled" */
	char cert_status[16];		/* valid/expired/revoked/suspended, "" if absent */
	char algos[GW_CSC_ALGOS_MAX][64];	/* key/algo */
	size_t n_algos;
	char auth_mode[16];		/* implicit / explicit / oauth2code */
	char auth_object[64];		/* auth/objects[0]/id, "" if none */
	char scal[4];			/* "1" or "2" ("1" when absent, as the spec says) */
	unsigned int multisign;		/* 1 when absent */
};

/* info's answer into *info: specs with major 2, methods an array, the
 * rest optional. SG_ERR_AUTHORITY with why. */
int gw_csc_answer_info(const char *authority, const cJSON *reply, struct gw_csc_info *info,
    char *why, size_t whylen);

/* credentials/info's key, cert/status, auth and SCAL into *cred (the
 * chain is gw_csc_answer_chain's). key/status and key/algo are required;
 * so is auth/mode (v2), though v1's top-level authMode is taken when auth
 * is absent. SG_ERR_AUTHORITY with why. */
int gw_csc_answer_credential(const char *authority, const cJSON *reply,
    struct gw_csc_credential *cred, char *why, size_t whylen);

/* credentials/authorize's SAD (11.6): a non-empty string of at most
 * 4096 characters, into *sadp (new, free). SG_ERR_AUTHORITY with why. */
int gw_csc_answer_sad(const char *authority, const cJSON *reply, char **sadp, char *why,
    size_t whylen);

/* The token endpoint's answer (RFC 6749 §5.1): access_token (1 to 4096
 * printable characters) into *tokenp (new; wipe and free), token_type
 * Bearer (any case), expires_in (absent: 300; at most a day) into
 * *expires_inp. SG_ERR_AUTHORITY with why (which never holds the token). */
int gw_csc_answer_token(const char *authority, const cJSON *reply, char **tokenp,
    unsigned long *expires_inp, char *why, size_t whylen);

/* An ECDSA value as the service sent it, DER ECDSA-Sig-Value or the raw
 * r||s of 2 * field_bytes bytes (the text fixes neither), as DER in *derp
 * (new, OPENSSL_free). SG_ERR_AUTHORITY when it is neither. */
int gw_csc_ecdsa_der(const unsigned char *sig, size_t len, size_t field_bytes,
    unsigned char **derp, size_t *der_len);

#endif
