/* SPDX-License-Identifier: Apache-2.0 */
/* sealgated's JSON configuration (README.md, "Configuration"), loaded and
 * validated in one step into plain structs. A loaded struct sg_config owns
 * every string and array in it; nothing of cJSON survives the load. */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* A configuration file larger than this is refused unread. */
#define SG_CONFIG_MAX_BYTES	(1024 * 1024)
/* Names of authorities, identities and clients: 1 to this many characters
 * from A-Z a-z 0-9 . _ - (they appear in URLs and audit lines). */
#define SG_CONFIG_NAME_MAX	64

/* Defaults for the limits object (README.md, "Configuration" and "Stamping"). */
#define SG_CONFIG_DEFAULT_MAX_DOCUMENT_BYTES	((size_t)64 * 1024 * 1024)
#define SG_CONFIG_DEFAULT_MAX_JSON_BYTES	((size_t)1024 * 1024)
#define SG_CONFIG_DEFAULT_MAX_SOAP_BYTES	((size_t)4 * 1024 * 1024)
#define SG_CONFIG_DEFAULT_REQUEST_TIMEOUT_MS	30000u
/* audit.group_commit_us: how long the audit writer waits for announced
 * signers' entries before it syncs (README.md, "The audit log format"). */
#define SG_CONFIG_DEFAULT_GROUP_COMMIT_US	0u
#define SG_CONFIG_GROUP_COMMIT_MAX_US		100000u

/* What an identity may be used for (struct sg_identity.uses). */
#define SG_USE_STAMP	0x1u	/* POST /v1/stamp via a csc-v2 authority */
#define SG_USE_SOAP	0x2u	/* POST /v1/soap via a wssec-soap authority */
#define SG_USE_SIGN	0x4u	/* POST /v1/sign: local signatures, no authority */

/* Key labels that renewal makes beside an identity's own label: the new
 * key while it waits for its certificate, and the old key afterwards. No
 * identity may name such a label, so none reaches a key in transit. */
#define SG_LABEL_NEXT_SUFFIX	".next"
#define SG_LABEL_RETIRED_INFIX	".retired-"

/* What a client may do (struct sg_client.roles). */
#define SG_ROLE_STAMP	0x1u
#define SG_ROLE_OFFICER	0x2u
#define SG_ROLE_AUDITOR	0x4u
#define SG_ROLE_MONITOR	0x8u

enum sg_authority_type {
	SG_AUTHORITY_CSC_V2 = 1,	/* "csc-v2" */
	SG_AUTHORITY_VERO_CERTSERVICE,	/* "vero-certservice" */
	SG_AUTHORITY_WSSEC_SOAP,	/* "wssec-soap" */
	SG_AUTHORITY_RFC3161		/* "rfc3161": a time-stamp authority */
};

enum sg_vero_environment { SG_VERO_PRODUCTION = 1, SG_VERO_TEST };
enum sg_soap_version { SG_SOAP_11 = 1, SG_SOAP_12 };
enum sg_xmlsig_alg {
	SG_XMLSIG_RSA_SHA1 = 1, SG_XMLSIG_RSA_SHA256, SG_XMLSIG_RSA_SHA384,
	SG_XMLSIG_RSA_SHA512, SG_XMLSIG_ECDSA_SHA256, SG_XMLSIG_ECDSA_SHA384
};
enum sg_xmldigest_alg {
	SG_XMLDIGEST_SHA1 = 1, SG_XMLDIGEST_SHA256, SG_XMLDIGEST_SHA384,
	SG_XMLDIGEST_SHA512
};

/* The listener's default GnuTLS priority string: TLS 1.2 and 1.3 only. An
 * operator's listen.tls.priorities replaces it and may enable nothing
 * older (the gateway checks that when it loads the string). */
#define SG_TLS_DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* HTTPS on the listener ($.listen.tls). Paths are absolute once loaded. */
struct sg_config_tls {
	char *cert_file;		/* PEM: the server's certificate, then its intermediates */
	char *key_file;			/* PEM private key; no access for group or others */
	char *client_ca_file;		/* PEM CAs of client certificates; NULL: none asked for */
	char *crl_file;			/* PEM CRLs of those CAs; NULL: none (needs client_ca_file) */
	char *priorities;		/* SG_TLS_DEFAULT_PRIORITIES */
};

/* Defaults for absent members are in the comments; README.md,
 * "Configuration", shows a whole file. */
struct sg_config_listen {
	char *address;			/* "127.0.0.1" */
	unsigned int port;		/* 8440; 0: ephemeral, the daemon reports it */
	unsigned int threads;		/* 8 (1-1024) */
	/* Connections one peer address may hold at once (256, 1-1024): one
	 * client cannot take every connection the listener has. */
	unsigned int max_connections_per_peer;
	/* NULL ("tls" null or absent): plain HTTP, on a loopback address only. */
	struct sg_config_tls *tls;
};

struct sg_config_token {
	/* NULL: the caller's fallback (SEALGATE_PKCS11_MODULE, then the
	 * configure-time default; README.md, "Security officer's walkthrough"). */
	char *module;
	char *label;
	char *pin_file;			/* NULL: PIN from the environment */
	unsigned int max_sessions;	/* 16 (1-1024) */
};

struct sg_identity;

struct sg_config_audit {
	char *dir;
	const struct sg_identity *checkpoint_identity;	/* NULL: none */
	unsigned int checkpoint_every_entries;	/* 1000 */
	unsigned int checkpoint_every_seconds;	/* 60 */
	uint64_t rotate_bytes;			/* 256 MiB */
	unsigned int group_commit_us;		/* SG_CONFIG_DEFAULT_GROUP_COMMIT_US */
};

struct sg_config_limits {
	size_t max_document_bytes;
	size_t max_json_bytes;
	size_t max_soap_bytes;
	unsigned int request_timeout_ms;
};

/* Type-specific settings; only the member matching sg_authority.type is
 * filled, the others stay zeroed. */
struct sg_csc_settings {
	char *credential_id;
	/* Ours, not CSC's: the detached JWS X-Request-Signature and the
	 * X-Request-ID header. Both off unless configured. */
	int sign_request_body;		/* false */
	int request_id_header;		/* false */
	/* Owner-only file with the authorisation data (PIN or OTP) that
	 * credentials/authorize presents for an explicit credential; NULL. */
	char *authorization_file;
	/* Service authentication by an OAuth 2.0 bearer token beside mutual
	 * TLS: the client-credentials grant at oauth2_token_url, the client
	 * (oauth2_client_id) authenticated by an RFC 7523 JWT assertion
	 * signed on the token with the interface key. NULL: mutual TLS alone. */
	char *oauth2_token_url;
	char *oauth2_client_id;
	char *oauth2_scope;		/* NULL: none sent */
	unsigned int timeout_ms;	/* 10000 */
	unsigned int retries;		/* 2 (0-10) */
};

struct sg_vero_settings {
	char *response_signer_ca_file;
	enum sg_vero_environment environment;	/* required */
	unsigned int renewal_window_days;	/* 60 (1-60: Vero's limit) */
	unsigned int poll_interval_s;		/* 30 */
	unsigned int poll_max;			/* 10 */
};

struct sg_header {
	char *name;
	char *value;
};

struct sg_wssec_settings {
	char *preset;			/* NULL, "stil-ipl" or "stil-bpi" */
	enum sg_soap_version soap_version;
	enum sg_xmlsig_alg signature;
	enum sg_xmldigest_alg digest;
	char **sign_parts;		/* always includes "Body" */
	size_t n_sign_parts;
	unsigned int timestamp_ttl_s;	/* 300 */
	struct sg_header *headers;
	size_t n_headers;
	/* Namespace of the headers above and of signed parts other than the
	 * WS-Security and WS-Addressing ones; preset stil-bpi: UNI-Login's
	 * https://brugerdatabasen.stil.dk/bpi/common/3. Required when either
	 * exists, else NULL. */
	char *header_namespace;
	/* Whether a 2xx answer must carry a valid WS-Security signature.
	 * Preset stil-ipl: false (IPL's answers are unsigned: the TLS server
	 * authentication against ca_file is what vouches for them); stil-bpi
	 * and no preset: true. docs/authorities.md section 3. */
	int verify_response;
	char *response_signer_ca_file;	/* set whenever verify_response is */
	/* The url has SG_WSSEC_OPERATION_MARK in its path: each call names
	 * its operation, which replaces the mark (IPL's one URL per operation). */
	int url_per_operation;
	/* NULL, or the TLS server's public key pins, libcurl's form
	 * "sha256//<base64 of the SPKI's SHA-256>" joined by ';': the server
	 * must hold one of those keys besides chaining to ca_file (what
	 * vouches for stil-ipl's unsigned answers). */
	char *server_pins;
	char **operations;		/* allow-list (only with url_per_operation), or NULL: any */
	size_t n_operations;
	unsigned int timeout_ms;	/* 10000: one call, retries included */
	unsigned int retries;		/* 2 (0-5): only when the call cannot have arrived */
};

/* An RFC 3161 time-stamp authority (POST /v1/timestamp): reached over
 * HTTPS without a client certificate (such services admit requests by
 * source address), its answers checked against tsa_ca_file. */
struct sg_tsa_settings {
	char *tsa_ca_file;		/* the anchors the TSA's signer must chain to */
	char *policy;			/* dotted OID asked for (reqPolicy), or NULL */
	unsigned int timeout_ms;	/* 10000: one request */
};

/* The mark in a wssec-soap url that a call's operation name replaces. */
#define SG_WSSEC_OPERATION_MARK	"{operation}"
/* Longest operation name. */
#define SG_WSSEC_OPERATION_MAX	64

/* 0 when op may be sent to the wssec-soap authority ws: a name of
 * 1..SG_WSSEC_OPERATION_MAX characters from [A-Za-z0-9_-] starting with a
 * letter (so never "/", ".", "?", "#" or "%": it cannot steer the URL
 * elsewhere) and, when ws has an allow-list, on it. SG_ERR_INVALID_ARG:
 * not such a name; SG_ERR_NOT_FOUND: not on the list. */
int sg_wssec_operation_check(const struct sg_wssec_settings *ws, const char *op);

struct sg_authority {
	char *name;			/* its key in $.authorities */
	enum sg_authority_type type;
	char *url;			/* always https:// */
	char *ca_file;
	struct sg_csc_settings csc;
	struct sg_vero_settings vero;
	struct sg_wssec_settings wssec;
	struct sg_tsa_settings tsa;
};

struct sg_identity {
	char *name;
	char *key_label;		/* unique across identities */
	/* Both point into the same sg_config's authorities array (NULL: none).
	 * authority is csc-v2 or wssec-soap; issuer is vero-certservice. */
	const struct sg_authority *authority;
	const struct sg_authority *issuer;
	/* rfc3161, or NULL: every stamp of the identity carries a signature
	 * time-stamp from it (B-T); same sg_config's array. */
	const struct sg_authority *timestamp_authority;
	unsigned int uses;		/* SG_USE_* */
	char *customer_id;		/* only with an issuer */
	char *customer_name;		/* only with an issuer; optional */
	int auto_renew;			/* false */
	size_t index;			/* position in sg_config.identities */
};

/* A client is known by its bearer token, by its client certificate, or by
 * both (then it must present both). The certificate is named by the
 * SHA-256 of its DER, or by its subject and issuer (RFC 4514 strings). */
struct sg_client {
	char *name;
	int has_token;
	unsigned char token_sha256[32];	/* when has_token */
	int has_cert_sha256;
	unsigned char cert_sha256[32];	/* when has_cert_sha256 */
	char *cert_subject, *cert_issuer;	/* both, or neither */
	unsigned int roles;		/* SG_ROLE_* */
	size_t *identities;		/* indexes into sg_config.identities */
	size_t n_identities;
};

/* Never copied by value: identities and the audit section point into the
 * arrays of the sg_config they came from. */
struct sg_config {
	struct sg_config_listen listen;
	struct sg_config_token token;
	struct sg_config_audit audit;
	struct sg_config_limits limits;
	struct sg_authority *authorities;
	size_t n_authorities;
	struct sg_identity *identities;
	size_t n_identities;
	struct sg_client *clients;
	size_t n_clients;
	/* The text this came from and the directory its relative paths were
	 * resolved against (NULL: none), so the same configuration can be
	 * loaded again without reading a file that may have changed since. */
	char *source;
	size_t source_len;
	char *base_dir;
};

/*
 * Read, parse and validate the configuration file at path (at most
 * SG_CONFIG_MAX_BYTES). Relative paths in it are resolved against the
 * file's directory (made absolute). On success *cfgp is a new config
 * (free with sg_config_free). On failure *cfgp is NULL and, when errbuf
 * is not NULL, it holds one line "<JSON path>: <why>", e.g.
 * "$.identities[2].authority: no authority named \"x\"" (a file that
 * cannot be read or is too large gives "<file>: <why>" instead).
 * Errors: SG_ERR_IO (cannot read the file), SG_ERR_TOO_LARGE,
 * SG_ERR_PARSE (not JSON; the message gives the byte offset),
 * SG_ERR_CONFIG (valid JSON, invalid configuration), SG_ERR_ALLOC.
 */
int sg_config_load_file(const char *path, struct sg_config **cfgp,
    char *errbuf, size_t errlen);

/*
 * Like sg_config_load_file for len bytes of JSON (need not be
 * NUL-terminated). Relative paths are resolved against base_dir; when
 * base_dir is NULL they are kept as given (relative to the working
 * directory). The pin_file check stats the resolved path.
 */
int sg_config_load_string(const char *json, size_t len, const char *base_dir,
    struct sg_config **cfgp, char *errbuf, size_t errlen);

/* Release cfg and everything in it; NULL is fine. Pointers obtained from
 * the lookups below die with it. */
void sg_config_free(struct sg_config *cfg);
/* 1 when s follows the rule for names of authorities, identities and
 * clients (SG_CONFIG_NAME_MAX characters at most, from A-Z a-z 0-9 . _ -,
 * starting with a letter or digit). */
int sg_config_name_valid(const char *s);

/* get0 lookups by exact name; NULL when there is none (or cfg is NULL). */
const struct sg_identity *sg_config_identity(const struct sg_config *cfg,
    const char *name);
const struct sg_authority *sg_config_authority(const struct sg_config *cfg,
    const char *name);

/*
 * The client whose token hashes to sha256, or NULL (get0). Every client's
 * hash is compared in constant time and the loop never exits early, so the
 * time taken says nothing about which client, if any, matched.
 */
const struct sg_client *sg_config_client_by_token(const struct sg_config *cfg,
    const unsigned char sha256[32]);

/* The client named name (get0), or NULL. */
const struct sg_client *sg_config_client_by_name(const struct sg_config *cfg, const char *name);
/* 1 when a and b (of two configurations) have the same name and are known
 * by the same token and certificate: a request authenticated under one
 * configuration is the same client under the other. */
int sg_client_same(const struct sg_client *a, const struct sg_client *b);

/* 1 when client is known by a certificate (and so needs one). */
int sg_client_has_cert(const struct sg_client *client);

/*
 * The client whose certificate this is (get0), or NULL: the SHA-256 of its
 * DER, its subject and its issuer as RFC 4514 strings. Certificates are
 * public, so this compares in plain time.
 */
const struct sg_client *sg_config_client_by_cert(const struct sg_config *cfg,
    const unsigned char sha256[32], const char *subject, const char *issuer);

/*
 * 1 when client may sign with identity: it has the stamp role (the only
 * role that uses identities) and the identity is granted to it; else 0.
 * Both must come from the same sg_config; NULL arguments give 0. Whether
 * the identity allows the particular operation is identity->uses.
 */
int sg_client_may_use(const struct sg_client *client,
    const struct sg_identity *identity);

#endif
