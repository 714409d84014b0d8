/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration loader (see sg_config.h): the schema of every section but
 * the authorities' own settings (sg_config_authority.c), read with the JSON
 * path reader (sg_config_reader.c) in one pass over the cJSON tree, so
 * every error names the path; cross-references are resolved once the
 * sections they point to exist, then the key-separation rules are checked. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_config.h"
#include "sg_config_authority.h"
#include "sg_config_reader.h"
#include "sg_err.h"
#include "sg_secret.h"

/* Vero's schema: CustomerId at most 30, CustomerName at most 100. */
#define VERO_CUSTOMER_ID_MAX	30
#define VERO_CUSTOMER_NAME_MAX	100

static const struct enum_name use_names[] = {
	{ "stamp", SG_USE_STAMP },
	{ "soap", SG_USE_SOAP },
	{ "sign", SG_USE_SIGN },
	{ NULL, 0 }
};
static const struct enum_name role_names[] = {
	{ "stamp", SG_ROLE_STAMP },
	{ "officer", SG_ROLE_OFFICER },
	{ "auditor", SG_ROLE_AUDITOR },
	{ "monitor", SG_ROLE_MONITOR },
	{ NULL, 0 }
};

static const char *const top_keys[] = {
	"listen", "token", "audit", "limits", "authorities", "identities", "clients", NULL
};
static const char *const listen_keys[] = {
	"address", "port", "threads", "max_connections_per_peer", "tls", NULL
};
static const char *const tls_keys[] = {
	"cert_file", "key_file", "client_ca_file", "crl_file", "priorities", NULL
};
static const char *const token_keys[] = {
	"module", "label", "pin_file", "max_sessions", NULL
};
static const char *const audit_keys[] = {
	"dir", "checkpoint_identity", "checkpoint_every_entries",
	"checkpoint_every_seconds", "rotate_bytes", "group_commit_us", NULL
};
static const char *const limits_keys[] = {
	"max_document_bytes", "max_json_bytes", "max_soap_bytes", "request_timeout_ms", NULL
};
static const char *const identity_keys[] = {
	"name", "key_label", "authority", "issuer", "uses", "customer_id",
	"customer_name", "auto_renew", "timestamp_authority", NULL
};
static const char *const client_keys[] = {
	"name", "token_sha256", "cert_sha256", "cert_subject", "cert_issuer", "roles",
	"identities", NULL
};

static const char *
authority_name_at(const struct sg_config *cfg, size_t i)
{
	return cfg->authorities[i].name;
}

static const char *
identity_name_at(const struct sg_config *cfg, size_t i)
{
	return cfg->identities[i].name;
}

static const char *
identity_label_at(const struct sg_config *cfg, size_t i)
{
	return cfg->identities[i].key_label;
}

/* A secret file (a PIN, the listener's private key) is read later
 * (sg_secret_read_file, gw_tls.c); here we only make sure that read will
 * not be refused, so a bad file fails at load time. Same rule as the
 * readers: a regular file, no access for group or others, not a symlink
 * (the readers open with O_NOFOLLOW). */
static int
check_owner_only_file(struct loader *l, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return cfg_fail(l, "%s: %s", cfg_shown(l, 0, path), strerror(errno));
	if (S_ISLNK(st.st_mode))
		return cfg_fail(l, "%s is a symbolic link; name the file itself", cfg_shown(l, 0, path));
	if (!S_ISREG(st.st_mode))
		return cfg_fail(l, "%s is not a regular file", cfg_shown(l, 0, path));
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return cfg_fail(l, "%s is accessible by group or others (mode %04o); "
		    "chmod 600 it", cfg_shown(l, 0, path), (unsigned int)(st.st_mode & 07777));
	return 0;
}

/* 1 when address is a loopback address (127.0.0.0/8 or ::1): the only
 * place plain HTTP may listen, as tokens and documents cross it in clear. */
static int
is_loopback(const char *address)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, address, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, address, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static int
load_tls(struct loader *l, const cJSON *tls_obj, struct sg_config_listen *lc)
{
	struct sg_config_tls *tls;
	size_t old;
	int r;

	if ((tls = calloc(1, sizeof(*tls))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	lc->tls = tls;
	if (!cJSON_IsObject(tls_obj))
		return cfg_fail(l, "must be an object or null, not %s", cfg_json_type(tls_obj));
	if ((r = cfg_check_keys(l, tls_obj, tls_keys, "")) != 0 ||
	    (r = cfg_get_path(l, tls_obj, "cert_file", 1, &tls->cert_file)) != 0 ||
	    (r = cfg_get_path(l, tls_obj, "key_file", 1, &tls->key_file)) != 0 ||
	    (r = cfg_get_path(l, tls_obj, "client_ca_file", 0, &tls->client_ca_file)) != 0 ||
	    (r = cfg_get_path(l, tls_obj, "crl_file", 0, &tls->crl_file)) != 0 ||
	    (r = cfg_get_strdup(l, tls_obj, "priorities", 0, &tls->priorities)) != 0)
		return r;
	old = cfg_path_push_key(l, "key_file");
	if ((r = check_owner_only_file(l, tls->key_file)) != 0)
		return r;
	cfg_path_pop(l, old);
	if (tls->crl_file != NULL && tls->client_ca_file == NULL) {
		cfg_path_push_key(l, "crl_file");
		return cfg_fail(l, "needs client_ca_file: a CRL names certificates of the client CA");
	}
	if (tls->priorities == NULL)
		return cfg_dup_str(l, SG_TLS_DEFAULT_PRIORITIES, &tls->priorities);
	return 0;
}

static int
load_listen(struct loader *l, const cJSON *root)
{
	struct sg_config_listen *lc = &l->cfg->listen;
	const cJSON *obj, *tls;
	size_t old, old_tls;
	int r;

	/* http://127.0.0.1:8440 unless the config says otherwise (README.md,
	 * "Configuration"). */
	lc->port = 8440;
	lc->threads = 8;
	lc->max_connections_per_peer = 256;
	if ((r = cfg_get_object(l, root, "listen", 0, &obj)) != 0)
		return r;
	if (obj != NULL) {
		old = cfg_path_push_key(l, "listen");
		if ((r = cfg_check_keys(l, obj, listen_keys, "")) != 0 ||
		    (r = cfg_get_strdup(l, obj, "address", 0, &lc->address)) != 0 ||
		    (r = cfg_get_uint_field(l, obj, "port", 0, 0, 65535, &lc->port)) != 0 ||
		    (r = cfg_get_uint_field(l, obj, "threads", 0, 1, 1024, &lc->threads)) != 0 ||
		    (r = cfg_get_uint_field(l, obj, "max_connections_per_peer", 0, 1, 1024,
		    &lc->max_connections_per_peer)) != 0)
			return r;
		tls = cJSON_GetObjectItemCaseSensitive(obj, "tls");
		if (tls != NULL && !cJSON_IsNull(tls)) {
			old_tls = cfg_path_push_key(l, "tls");
			if ((r = load_tls(l, tls, lc)) != 0)
				return r;
			cfg_path_pop(l, old_tls);
		}
		cfg_path_pop(l, old);
	}
	if (lc->address == NULL && (r = cfg_dup_str(l, "127.0.0.1", &lc->address)) != 0)
		return r;
	if (lc->tls == NULL && !is_loopback(lc->address)) {
		cfg_path_push(l, ".listen.address");
		return cfg_fail(l, "%s is not a loopback address: plain HTTP would carry bearer "
		    "tokens, documents and transfer passwords in clear; set $.listen.tls to serve "
		    "HTTPS there", cfg_shown(l, 0, lc->address));
	}
	return 0;
}

static int
load_token(struct loader *l, const cJSON *root)
{
	struct sg_config_token *token = &l->cfg->token;
	const cJSON *obj;
	size_t old, old_pin;
	int r;

	token->max_sessions = 16;
	if ((r = cfg_get_object(l, root, "token", 1, &obj)) != 0)
		return r;
	old = cfg_path_push_key(l, "token");
	if ((r = cfg_check_keys(l, obj, token_keys, "")) != 0 ||
	    (r = cfg_get_path(l, obj, "module", 0, &token->module)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "label", 1, &token->label)) != 0 ||
	    (r = cfg_get_path(l, obj, "pin_file", 0, &token->pin_file)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "max_sessions", 0, 1, 1024,
	    &token->max_sessions)) != 0)
		return r;
	if (token->pin_file != NULL) {
		old_pin = cfg_path_push_key(l, "pin_file");
		if ((r = check_owner_only_file(l, token->pin_file)) != 0)
			return r;
		cfg_path_pop(l, old_pin);
	}
	cfg_path_pop(l, old);
	return 0;
}

static int
load_audit(struct loader *l, const cJSON *root)
{
	struct sg_config_audit *audit = &l->cfg->audit;
	const cJSON *obj;
	size_t old;
	int r;

	/* Defaults; README.md, "The audit log format", says what each does. */
	audit->checkpoint_every_entries = 1000;
	audit->checkpoint_every_seconds = 60;
	audit->rotate_bytes = 256 * 1024 * 1024;
	audit->group_commit_us = SG_CONFIG_DEFAULT_GROUP_COMMIT_US;
	if ((r = cfg_get_object(l, root, "audit", 1, &obj)) != 0)
		return r;
	old = cfg_path_push_key(l, "audit");
	if ((r = cfg_check_keys(l, obj, audit_keys, "")) != 0 ||
	    (r = cfg_get_path(l, obj, "dir", 1, &audit->dir)) != 0 ||
	    (r = cfg_get_str(l, obj, "checkpoint_identity", 0, &l->checkpoint_name)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "checkpoint_every_entries", 0, 1, UINT_MAX,
	    &audit->checkpoint_every_entries)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "checkpoint_every_seconds", 0, 1, 86400,
	    &audit->checkpoint_every_seconds)) != 0 ||
	    (r = cfg_get_uint(l, obj, "rotate_bytes", 0, 1, BYTES_MAX, &audit->rotate_bytes)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "group_commit_us", 0, 0, SG_CONFIG_GROUP_COMMIT_MAX_US,
	    &audit->group_commit_us)) != 0)
		return r;
	cfg_path_pop(l, old);
	return 0;
}

static int
load_limits(struct loader *l, const cJSON *root)
{
	struct sg_config_limits *limits = &l->cfg->limits;
	const cJSON *obj;
	size_t old;
	int r;

	limits->max_document_bytes = SG_CONFIG_DEFAULT_MAX_DOCUMENT_BYTES;
	limits->max_json_bytes = SG_CONFIG_DEFAULT_MAX_JSON_BYTES;
	limits->max_soap_bytes = SG_CONFIG_DEFAULT_MAX_SOAP_BYTES;
	limits->request_timeout_ms = SG_CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	if ((r = cfg_get_object(l, root, "limits", 0, &obj)) != 0 || obj == NULL)
		return r;
	old = cfg_path_push_key(l, "limits");
	if ((r = cfg_check_keys(l, obj, limits_keys, "")) != 0 ||
	    (r = cfg_get_size_field(l, obj, "max_document_bytes", &limits->max_document_bytes)) != 0 ||
	    (r = cfg_get_size_field(l, obj, "max_json_bytes", &limits->max_json_bytes)) != 0 ||
	    (r = cfg_get_size_field(l, obj, "max_soap_bytes", &limits->max_soap_bytes)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "request_timeout_ms", 0, 1, INT_MAX,
	    &limits->request_timeout_ms)) != 0)
		return r;
	cfg_path_pop(l, old);
	return 0;
}

static int
load_authorities(struct loader *l, const cJSON *root)
{
	struct sg_config *cfg = l->cfg;
	const cJSON *obj, *v;
	size_t old, old_a, n, first, dup_idx;
	int r;

	if ((r = cfg_get_object(l, root, "authorities", 0, &obj)) != 0)
		return r;
	old = cfg_path_push_key(l, "authorities");
	n = obj != NULL ? (size_t)cJSON_GetArraySize(obj) : 0;
	if (n > 0 && (cfg->authorities = calloc(n, sizeof(*cfg->authorities))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	if (obj != NULL) {
		cJSON_ArrayForEach(v, obj) {
			struct sg_authority *a = &cfg->authorities[cfg->n_authorities++];

			old_a = cfg_path_push_key(l, v->string);
			if (!sg_config_name_valid(v->string))
				return cfg_fail(l, "not a valid authority name (%s)", NAME_RULE);
			if ((r = cfg_dup_str(l, v->string, &a->name)) != 0 ||
			    (r = cfg_load_authority(l, v, a)) != 0)
				return r;
			cfg_path_pop(l, old_a);
		}
	}
	if ((r = cfg_build_index(l, cfg->n_authorities, authority_name_at, &l->authority_refs,
	    &first, &dup_idx)) != 0)
		return r;
	if (dup_idx != SIZE_MAX) {
		cfg_path_push_key(l, cfg->authorities[dup_idx].name);
		return cfg_fail(l, "duplicate key");
	}
	cfg_path_pop(l, old);
	return 0;
}

/* Look up an authority reference of an identity; the caller has the path
 * at the referencing member. */
static int
resolve_authority(struct loader *l, const char *name, const struct sg_authority **ap)
{
	size_t idx;

	if (cfg_find_ref(l->authority_refs, l->cfg->n_authorities, name, &idx) != 0)
		return cfg_fail(l, "no authority named %s in $.authorities", cfg_shown(l, 0, name));
	*ap = &l->cfg->authorities[idx];
	return 0;
}

/*
 * The rules that keep each key to its purpose (README.md, "Configuration"):
 * stamp goes through csc-v2, soap through wssec-soap, and sign takes no
 * authority at all, so no authority credential can be made to sign
 * arbitrary digests.
 */
static int
check_identity_uses(struct loader *l, struct sg_identity *id)
{
	const struct sg_authority *a = id->authority;
	size_t old;

	if (a == NULL) {
		if ((id->uses & (SG_USE_STAMP | SG_USE_SOAP)) == 0)
			return 0;
		cfg_path_push_key(l, "uses");
		return cfg_fail(l, "\"%s\" needs an authority of type %s",
		    (id->uses & SG_USE_STAMP) ? "stamp" : "soap",
		    (id->uses & SG_USE_STAMP) ? "csc-v2" : "wssec-soap");
	}
	old = cfg_path_push_key(l, "authority");
	if ((id->uses & SG_USE_SIGN) != 0)
		return cfg_fail(l, "not allowed on an identity with use \"sign\": an authority "
		    "credential must never sign arbitrary digests");
	if (a->type == SG_AUTHORITY_VERO_CERTSERVICE)
		return cfg_fail(l, "%s is a vero-certservice authority; name it as \"issuer\"",
		    cfg_shown(l, 0, a->name));
	/* A time-stamp authority serves POST /v1/timestamp by its own name;
	 * no identity's key takes part. */
	if (a->type == SG_AUTHORITY_RFC3161)
		return cfg_fail(l, "%s is an rfc3161 time-stamp authority, which no identity names",
		    cfg_shown(l, 0, a->name));
	if ((id->uses & SG_USE_STAMP) != 0 && a->type != SG_AUTHORITY_CSC_V2)
		return cfg_fail(l, "%s is %s, but use \"stamp\" needs csc-v2",
		    cfg_shown(l, 0, a->name), cfg_authority_type_name(a->type));
	if ((id->uses & SG_USE_SOAP) != 0 && a->type != SG_AUTHORITY_WSSEC_SOAP)
		return cfg_fail(l, "%s is %s, but use \"soap\" needs wssec-soap",
		    cfg_shown(l, 0, a->name), cfg_authority_type_name(a->type));
	cfg_path_pop(l, old);
	return 0;
}

/* timestamp_authority: an rfc3161 authority, on a stamp identity only
 * (its stamps carry a signature time-stamp). */
static int
resolve_timestamp_authority(struct loader *l, struct sg_identity *id, const char *name)
{
	size_t old = cfg_path_push_key(l, "timestamp_authority");
	int r;

	if ((r = resolve_authority(l, name, &id->timestamp_authority)) != 0)
		return r;
	if (id->timestamp_authority->type != SG_AUTHORITY_RFC3161)
		return cfg_fail(l, "%s is %s; a timestamp_authority must be rfc3161",
		    cfg_shown(l, 0, name), cfg_authority_type_name(id->timestamp_authority->type));
	if ((id->uses & SG_USE_STAMP) == 0)
		return cfg_fail(l, "only valid on an identity with use \"stamp\"");
	cfg_path_pop(l, old);
	return 0;
}

/* Labels ending in SG_LABEL_NEXT_SUFFIX or holding SG_LABEL_RETIRED_INFIX
 * belong to renewal (see sg_config.h). */
static int
check_key_label(struct loader *l, const char *label)
{
	size_t n = strlen(label), suffix = strlen(SG_LABEL_NEXT_SUFFIX);

	if ((n >= suffix && strcmp(label + n - suffix, SG_LABEL_NEXT_SUFFIX) == 0) ||
	    strstr(label, SG_LABEL_RETIRED_INFIX) != NULL) {
		cfg_path_push_key(l, "key_label");
		return cfg_fail(l, "%s is reserved: labels ending in \"%s\" or holding \"%s\" are "
		    "the keys a renewal makes and retires", cfg_shown(l, 0, label), SG_LABEL_NEXT_SUFFIX,
		    SG_LABEL_RETIRED_INFIX);
	}
	return 0;
}

static int
load_identity(struct loader *l, const cJSON *obj, struct sg_identity *id)
{
	const char *authority, *issuer, *tsa;
	size_t old, customer_len;
	const cJSON *v;
	int r;

	if (!cJSON_IsObject(obj))
		return cfg_fail(l, "must be an object, not %s", cfg_json_type(obj));
	if ((r = cfg_check_keys(l, obj, identity_keys, "")) != 0 ||
	    (r = cfg_get_name(l, obj, "name", &id->name)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "key_label", 1, &id->key_label)) != 0 ||
	    (r = cfg_get_str(l, obj, "authority", 0, &authority)) != 0 ||
	    (r = cfg_get_str(l, obj, "issuer", 0, &issuer)) != 0 ||
	    (r = cfg_get_str(l, obj, "timestamp_authority", 0, &tsa)) != 0 ||
	    (r = cfg_get_flags(l, obj, "uses", 1, use_names, "use", &id->uses)) != 0)
		return r;
	if ((r = check_key_label(l, id->key_label)) != 0)
		return r;
	if (authority != NULL) {
		old = cfg_path_push_key(l, "authority");
		if ((r = resolve_authority(l, authority, &id->authority)) != 0)
			return r;
		cfg_path_pop(l, old);
	}
	if ((r = check_identity_uses(l, id)) != 0)
		return r;
	if (tsa != NULL && (r = resolve_timestamp_authority(l, id, tsa)) != 0)
		return r;
	if (issuer != NULL) {
		old = cfg_path_push_key(l, "issuer");
		if ((r = resolve_authority(l, issuer, &id->issuer)) != 0)
			return r;
		if (id->issuer->type != SG_AUTHORITY_VERO_CERTSERVICE)
			return cfg_fail(l, "%s is %s; an issuer must be vero-certservice",
			    cfg_shown(l, 0, issuer), cfg_authority_type_name(id->issuer->type));
		cfg_path_pop(l, old);
		/* Enrolment and renewal make keys under this label and the
		 * labels beside it: a PKCS#11 URI names a key, not a label. */
		if (strncmp(id->key_label, "pkcs11:", 7) == 0) {
			cfg_path_push_key(l, "key_label");
			return cfg_fail(l, "an identity with an \"issuer\" names its key by label, not "
			    "by PKCS#11 URI: enrolment and renewal create keys under that label");
		}
		/* The issuer accepts renewals signed by this key: a raw
		 * signature through /v1/sign would let a client renew the
		 * certificate onto a key of its own. */
		if ((id->uses & SG_USE_SIGN) != 0) {
			cfg_path_push_key(l, "uses");
			return cfg_fail(l, "\"sign\" is not allowed on an identity with an \"issuer\": "
			    "its key signs the renewals the issuer accepts");
		}
		if ((r = cfg_get_strdup(l, obj, "customer_id", 1, &id->customer_id)) != 0 ||
		    (r = cfg_get_strdup(l, obj, "customer_name", 0, &id->customer_name)) != 0 ||
		    (r = cfg_get_bool(l, obj, "auto_renew", &id->auto_renew)) != 0)
			return r;
		if (strlen(id->customer_id) > VERO_CUSTOMER_ID_MAX) {
			cfg_path_push_key(l, "customer_id");
			return cfg_fail(l, "at most %d characters (Vero's schema)",
			    VERO_CUSTOMER_ID_MAX);
		}
		customer_len = id->customer_name != NULL ? strlen(id->customer_name) : 0;
		if (customer_len > VERO_CUSTOMER_NAME_MAX) {
			cfg_path_push_key(l, "customer_name");
			return cfg_fail(l, "at most %d bytes (Vero's schema)", VERO_CUSTOMER_NAME_MAX);
		}
		return 0;
	}
	/* Enrolment data without an issuer would be silently ignored. */
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "customer_id")) != NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, "customer_name")) != NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, "auto_renew")) != NULL) {
		cfg_path_push_key(l, v->string);
		return cfg_fail(l, "only valid on an identity with an \"issuer\"");
	}
	return 0;
}

static int
load_identities(struct loader *l, const cJSON *root)
{
	struct sg_config *cfg = l->cfg;
	struct name_ref *labels = NULL;
	const cJSON *arr, *v;
	size_t old, old_i, n, first, dup_idx;
	int r;

	if ((r = cfg_get_array(l, root, "identities", 0, &arr)) != 0)
		return r;
	old = cfg_path_push_key(l, "identities");
	n = arr != NULL ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n > 0 && (cfg->identities = calloc(n, sizeof(*cfg->identities))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	if (arr != NULL) {
		cJSON_ArrayForEach(v, arr) {
			struct sg_identity *id = &cfg->identities[cfg->n_identities];

			id->index = cfg->n_identities++;
			old_i = cfg_path_push_index(l, id->index);
			if ((r = load_identity(l, v, id)) != 0)
				return r;
			cfg_path_pop(l, old_i);
		}
	}
	if ((r = cfg_build_index(l, cfg->n_identities, identity_name_at, &l->identity_refs,
	    &first, &dup_idx)) != 0)
		return r;
	if (dup_idx != SIZE_MAX) {
		cfg_path_push(l, "[%zu].name", dup_idx);
		return cfg_fail(l, "duplicate identity name %s (also $.identities[%zu])",
		    cfg_shown(l, 0, cfg->identities[dup_idx].name), first);
	}
	/* Two identities on one key would let a "sign" identity reach the key
	 * of a stamp or soap one, undoing the rules above. */
	if ((r = cfg_build_index(l, cfg->n_identities, identity_label_at, &labels,
	    &first, &dup_idx)) != 0)
		return r;
	free(labels);
	if (dup_idx != SIZE_MAX) {
		cfg_path_push(l, "[%zu].key_label", dup_idx);
		return cfg_fail(l, "key %s is already used by $.identities[%zu]; one key, one identity",
		    cfg_shown(l, 0, cfg->identities[dup_idx].key_label), first);
	}
	cfg_path_pop(l, old);
	return 0;
}

/* The audit signer signs chain heads that anyone holding its certificate
 * trusts; if a client could sign with it, it could forge checkpoints. */
static int
resolve_checkpoint(struct loader *l)
{
	const struct sg_identity *id;
	size_t idx, old;

	if (l->checkpoint_name == NULL)
		return 0;
	old = cfg_path_push(l, ".audit.checkpoint_identity");
	if (cfg_find_ref(l->identity_refs, l->cfg->n_identities, l->checkpoint_name, &idx) != 0)
		return cfg_fail(l, "no identity named %s in $.identities",
		    cfg_shown(l, 0, l->checkpoint_name));
	id = &l->cfg->identities[idx];
	if (id->uses != 0 || id->authority != NULL || id->issuer != NULL)
		return cfg_fail(l, "identity %s has uses, an authority or an issuer; the audit signer "
		    "must have none of them", cfg_shown(l, 0, id->name));
	l->cfg->audit.checkpoint_identity = id;
	cfg_path_pop(l, old);
	return 0;
}

static int
load_client_identities(struct loader *l, const cJSON *arr, struct sg_client *c,
    size_t *granted, size_t stamp)
{
	const cJSON *v;
	size_t i = 0, idx, old_i, n = (size_t)cJSON_GetArraySize(arr);

	if (n == 0)
		return 0;
	if ((c->identities = calloc(n, sizeof(*c->identities))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, arr) {
		old_i = cfg_path_push_index(l, i++);
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return cfg_fail(l, "must be a string, not %s", cfg_json_type(v));
		if (cfg_find_ref(l->identity_refs, l->cfg->n_identities, v->valuestring, &idx) != 0)
			return cfg_fail(l, "no identity named %s in $.identities",
			    cfg_shown(l, 0, v->valuestring));
		/* granted[] remembers, per identity, the last client that listed
		 * it: a duplicate check without a pass per pair. */
		if (granted[idx] == stamp)
			return cfg_fail(l, "identity %s listed twice", cfg_shown(l, 0, v->valuestring));
		granted[idx] = stamp;
		c->identities[c->n_identities++] = idx;
		cfg_path_pop(l, old_i);
	}
	return 0;
}

/* A SHA-256 member: 64 hex digits, or 32 colon-separated pairs (what
 * openssl x509 -fingerprint -sha256 prints). *setp: whether it was there. */
static int
get_sha256(struct loader *l, const cJSON *obj, const char *key, const char *what,
    unsigned char out[32], int *setp)
{
	char hex[65];
	const char *s;
	unsigned char *raw = NULL;
	size_t i, n = 0, raw_len = 0, old;
	int r, colons;

	*setp = 0;
	if ((r = cfg_get_str(l, obj, key, 0, &s)) != 0 || s == NULL)
		return r;
	old = cfg_path_push_key(l, key);
	colons = strlen(s) == 95;
	for (i = 0; s[i] != '\0' && n < sizeof(hex) - 1; i++) {
		if (colons && i % 3 == 2) {
			if (s[i] != ':')
				break;
			continue;
		}
		hex[n++] = s[i];
	}
	hex[n] = '\0';
	if (s[i] != '\0' || n != 64 || sg_hex_decode(hex, n, &raw, &raw_len) != 0 ||
	    raw_len != 32) {
		free(raw);
		return cfg_fail(l, "must be exactly 64 hex digits (%s)", what);
	}
	memcpy(out, raw, 32);
	free(raw);
	cfg_path_pop(l, old);
	*setp = 1;
	return 0;
}

/* How the client is known: a token, a certificate, or both. */
static int
load_client_credentials(struct loader *l, const cJSON *obj, struct sg_client *c)
{
	const cJSON *v;
	int r;

	if ((r = get_sha256(l, obj, "token_sha256", "the SHA-256 of the client's token",
	    c->token_sha256, &c->has_token)) != 0 ||
	    (r = get_sha256(l, obj, "cert_sha256", "the SHA-256 of the client certificate's DER",
	    c->cert_sha256, &c->has_cert_sha256)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "cert_subject", 0, &c->cert_subject)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "cert_issuer", 0, &c->cert_issuer)) != 0)
		return r;
	if ((c->cert_subject == NULL) != (c->cert_issuer == NULL)) {
		cfg_path_push_key(l, c->cert_subject == NULL ? "cert_issuer" : "cert_subject");
		return cfg_fail(l, "cert_subject and cert_issuer go together: a subject alone "
		    "could be given by any CA");
	}
	if (c->has_cert_sha256 && c->cert_subject != NULL) {
		cfg_path_push_key(l, "cert_subject");
		return cfg_fail(l, "name the certificate one way: cert_sha256, or cert_subject "
		    "and cert_issuer");
	}
	if (!c->has_token && !sg_client_has_cert(c))
		return cfg_fail(l, "needs token_sha256, a certificate (cert_sha256, or "
		    "cert_subject and cert_issuer), or both");
	if (sg_client_has_cert(c) &&
	    (l->cfg->listen.tls == NULL || l->cfg->listen.tls->client_ca_file == NULL)) {
		v = cJSON_GetObjectItemCaseSensitive(obj, c->has_cert_sha256 ? "cert_sha256" :
		    "cert_subject");
		cfg_path_push_key(l, v->string);
		return cfg_fail(l, "client certificates need $.listen.tls.client_ca_file");
	}
	return 0;
}

static int
load_client(struct loader *l, const cJSON *obj, struct sg_client *c, size_t *granted,
    size_t stamp)
{
	const cJSON *idents;
	size_t old;
	int r;

	if (!cJSON_IsObject(obj))
		return cfg_fail(l, "must be an object, not %s", cfg_json_type(obj));
	if ((r = cfg_check_keys(l, obj, client_keys, "")) != 0 ||
	    (r = cfg_get_name(l, obj, "name", &c->name)) != 0 ||
	    (r = load_client_credentials(l, obj, c)) != 0)
		return r;
	if ((r = cfg_get_flags(l, obj, "roles", 1, role_names, "role", &c->roles)) != 0)
		return r;
	if (c->roles == 0) {
		cfg_path_push_key(l, "roles");
		return cfg_fail(l, "must name at least one role");
	}
	if ((r = cfg_get_array(l, obj, "identities", 0, &idents)) != 0)
		return r;
	if (idents != NULL) {
		old = cfg_path_push_key(l, "identities");
		if ((r = load_client_identities(l, idents, c, granted, stamp)) != 0)
			return r;
		cfg_path_pop(l, old);
	}
	return 0;
}

/* Same certificate naming (each client names its certificate one way). */
static int
same_cert(const struct sg_client *a, const struct sg_client *b)
{
	if (a->has_cert_sha256 != b->has_cert_sha256)
		return 0;
	if (a->has_cert_sha256)
		return memcmp(a->cert_sha256, b->cert_sha256, sizeof(a->cert_sha256)) == 0;
	return strcmp(a->cert_subject, b->cert_subject) == 0 &&
	    strcmp(a->cert_issuer, b->cert_issuer) == 0;
}

static const char *
client_name_at(const struct sg_config *cfg, size_t i)
{
	return cfg->clients[i].name;
}

static int
load_clients(struct loader *l, const cJSON *root)
{
	struct sg_config *cfg = l->cfg;
	struct name_ref *names = NULL;
	size_t *granted = NULL;
	const cJSON *arr, *v;
	size_t old, old_i, n, i, j, first, dup_idx;
	int r;

	if ((r = cfg_get_array(l, root, "clients", 0, &arr)) != 0)
		return r;
	old = cfg_path_push_key(l, "clients");
	n = arr != NULL ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n == 0) {
		cfg_path_pop(l, old);
		return 0;
	}
	if ((cfg->clients = calloc(n, sizeof(*cfg->clients))) == NULL ||
	    (granted = calloc(cfg->n_identities > 0 ? cfg->n_identities : 1,
	    sizeof(*granted))) == NULL) {
		r = cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(v, arr) {
		struct sg_client *c = &cfg->clients[cfg->n_clients++];

		old_i = cfg_path_push_index(l, cfg->n_clients - 1);
		/* stamp = client number + 1, so the zeroed array means "none". */
		if ((r = load_client(l, v, c, granted, cfg->n_clients)) != 0)
			goto out;
		cfg_path_pop(l, old_i);
	}
	if ((r = cfg_build_index(l, cfg->n_clients, client_name_at, &names, &first, &dup_idx)) != 0)
		goto out;
	if (dup_idx != SIZE_MAX) {
		cfg_path_push(l, "[%zu].name", dup_idx);
		r = cfg_fail(l, "duplicate client name %s (also $.clients[%zu])",
		    cfg_shown(l, 0, cfg->clients[dup_idx].name), first);
		goto out;
	}
	/* A shared token would make the two clients one; compared with the
	 * same constant-time primitive as at run time. */
	for (j = 1; j < cfg->n_clients; j++) {
		const struct sg_client *cj = &cfg->clients[j];

		for (i = 0; i < j; i++) {
			const struct sg_client *ci = &cfg->clients[i];

			if (ci->has_token && cj->has_token &&
			    sg_ct_equal(ci->token_sha256, cj->token_sha256, sizeof(cj->token_sha256))) {
				cfg_path_push(l, "[%zu].token_sha256", j);
				r = cfg_fail(l, "same token as $.clients[%zu]; every client needs "
				    "its own", i);
				goto out;
			}
			if (sg_client_has_cert(ci) && sg_client_has_cert(cj) &&
			    same_cert(ci, cj)) {
				cfg_path_push(l, "[%zu].%s", j, cj->has_cert_sha256 ? "cert_sha256" :
				    "cert_subject");
				r = cfg_fail(l, "same certificate as $.clients[%zu]; every client needs "
				    "its own", i);
				goto out;
			}
		}
	}
	cfg_path_pop(l, old);
	r = 0;
 out:
	free(names);
	free(granted);
	return r;
}

static int
load_config(struct loader *l, const cJSON *root)
{
	int r;

	if (!cJSON_IsObject(root))
		return cfg_fail(l, "must be an object, not %s", cfg_json_type(root));
	if ((r = cfg_check_keys(l, root, top_keys, "")) != 0 ||
	    (r = load_listen(l, root)) != 0 ||
	    (r = load_token(l, root)) != 0 ||
	    (r = load_audit(l, root)) != 0 ||
	    (r = load_limits(l, root)) != 0 ||
	    (r = load_authorities(l, root)) != 0 ||
	    (r = load_identities(l, root)) != 0 ||
	    (r = resolve_checkpoint(l)) != 0 ||
	    (r = load_clients(l, root)) != 0)
		return r;
	return 0;
}

static void
json_position(const char *text, size_t offset, size_t *linep, size_t *colp)
{
	size_t i, line = 1, col = 1;

	for (i = 0; i < offset; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	*linep = line;
	*colp = col;
}

int
sg_config_load_string(const char *json, size_t len, const char *base_dir,
    struct sg_config **cfgp, char *errbuf, size_t errlen)
{
	struct loader l;
	struct sg_config *cfg = NULL;
	cJSON *root = NULL;
	const char *end = NULL, *nul;
	char *text = NULL;
	size_t offset, line, col;
	int r = SG_ERR_INTERNAL;

	*cfgp = NULL;
	memset(&l, 0, sizeof(l));
	l.base_dir = base_dir;
	l.errbuf = errbuf;
	l.errlen = errlen;
	cfg_path_push(&l, "$");
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (json == NULL && len != 0) {
		r = cfg_fail_r(&l, SG_ERR_INVALID_ARG, "no configuration text");
		goto out;
	}
	if (len > SG_CONFIG_MAX_BYTES) {
		r = cfg_fail_r(&l, SG_ERR_TOO_LARGE, "configuration larger than %d bytes",
		    SG_CONFIG_MAX_BYTES);
		goto out;
	}
	/* cJSON wants the terminating NUL inside the length to reject
	 * trailing garbage, so parse a terminated copy; a NUL of the input's
	 * own would end the text early and is refused here. */
	if ((nul = memchr(json, '\0', len)) != NULL) {
		r = cfg_fail_r(&l, SG_ERR_PARSE, "invalid JSON at byte %zu: NUL byte",
		    (size_t)(nul - json));
		goto out;
	}
	if ((text = malloc(len + 1)) == NULL) {
		r = cfg_fail_r(&l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (len > 0)
		memcpy(text, json, len);
	text[len] = '\0';
	if ((root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1)) == NULL) {
		/* end is where cJSON stopped (what cJSON_GetErrorPtr() would say,
		 * without the process-wide state). */
		offset = end != NULL && end >= text && end <= text + len ?
		    (size_t)(end - text) : len;
		json_position(text, offset, &line, &col);
		r = cfg_fail_r(&l, SG_ERR_PARSE, "invalid JSON at byte %zu (line %zu, column %zu)%s",
		    offset, line, col, offset >= len ? ": unexpected end of input" : "");
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = cfg_fail_r(&l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	l.cfg = cfg;
	if ((r = load_config(&l, root)) != 0)
		goto out;
	if ((base_dir != NULL && (cfg->base_dir = strdup(base_dir)) == NULL)) {
		r = cfg_fail_r(&l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	cfg->source = text;
	cfg->source_len = len;
	text = NULL;
	*cfgp = cfg;
	cfg = NULL;
	r = 0;
 out:
	free(l.authority_refs);
	free(l.identity_refs);
	cJSON_Delete(root);
	free(text);
	sg_config_free(cfg);
	return r;
}

/* The config file's directory as an absolute path, so resolved paths
 * stay right after the daemon changes directory. */
static int
config_dir(const char *path, char **dirp, char *errbuf, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	*dirp = NULL;
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		cfg_put_error(errbuf, errlen, "%s: out of memory", path);
		return SG_ERR_ALLOC;
	}
	if ((*dirp = realpath(dir, NULL)) == NULL) {
		cfg_put_error(errbuf, errlen, "%s: cannot resolve its directory: %s", path,
		    strerror(errno));
		free(dir);
		return SG_ERR_IO;
	}
	free(dir);
	return 0;
}

static int
read_config_file(const char *path, struct sg_buf *text, char *errbuf, size_t errlen)
{
	unsigned char chunk[16384];
	struct stat st;
	ssize_t n;
	int fd, r = SG_ERR_INTERNAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cfg_put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
		return SG_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		cfg_put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
		r = SG_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_put_error(errbuf, errlen, "%s: not a regular file", path);
		r = SG_ERR_IO;
		goto out;
	}
	/* Checked before reading and again while reading (the file may grow). */
	if (st.st_size > SG_CONFIG_MAX_BYTES) {
		r = SG_ERR_TOO_LARGE;
		goto too_large;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cfg_put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
			r = SG_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = sg_buf_append(text, chunk, (size_t)n)) == SG_ERR_TOO_LARGE)
			goto too_large;
		if (r != 0) {
			cfg_put_error(errbuf, errlen, "%s: %s", path, sg_strerror(r));
			goto out;
		}
	}
	r = 0;
	goto out;
 too_large:
	cfg_put_error(errbuf, errlen, "%s: larger than %d bytes", path, SG_CONFIG_MAX_BYTES);
 out:
	close(fd);
	return r;
}

int
sg_config_load_file(const char *path, struct sg_config **cfgp, char *errbuf,
    size_t errlen)
{
	struct sg_buf text;
	char *dir = NULL;
	int r;

	*cfgp = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	sg_buf_init(&text, SG_CONFIG_MAX_BYTES);
	if ((r = read_config_file(path, &text, errbuf, errlen)) != 0 ||
	    (r = config_dir(path, &dir, errbuf, errlen)) != 0)
		goto out;
	r = sg_config_load_string(sg_buf_str(&text), text.len, dir, cfgp, errbuf, errlen);
 out:
	free(dir);
	sg_buf_free(&text);
	return r;
}

void
sg_config_free(struct sg_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->source);
	free(cfg->base_dir);
	free(cfg->listen.address);
	if (cfg->listen.tls != NULL) {
		free(cfg->listen.tls->cert_file);
		free(cfg->listen.tls->key_file);
		free(cfg->listen.tls->client_ca_file);
		free(cfg->listen.tls->crl_file);
		free(cfg->listen.tls->priorities);
		free(cfg->listen.tls);
	}
	free(cfg->token.module);
	free(cfg->token.label);
	free(cfg->token.pin_file);
	free(cfg->audit.dir);
	for (i = 0; i < cfg->n_authorities; i++)
		cfg_authority_clear(&cfg->authorities[i]);
	free(cfg->authorities);
	for (i = 0; i < cfg->n_identities; i++) {
		free(cfg->identities[i].name);
		free(cfg->identities[i].key_label);
		free(cfg->identities[i].customer_id);
		free(cfg->identities[i].customer_name);
	}
	free(cfg->identities);
	for (i = 0; i < cfg->n_clients; i++) {
		free(cfg->clients[i].name);
		free(cfg->clients[i].cert_subject);
		free(cfg->clients[i].cert_issuer);
		free(cfg->clients[i].identities);
	}
	free(cfg->clients);
	free(cfg);
}

const struct sg_identity *
sg_config_identity(const struct sg_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->n_identities; i++) {
		if (strcmp(cfg->identities[i].name, name) == 0)
			return &cfg->identities[i];
	}
	return NULL;
}

const struct sg_authority *
sg_config_authority(const struct sg_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->n_authorities; i++) {
		if (strcmp(cfg->authorities[i].name, name) == 0)
			return &cfg->authorities[i];
	}
	return NULL;
}

const struct sg_client *
sg_config_client_by_token(const struct sg_config *cfg, const unsigned char sha256[32])
{
	size_t i, found = 0, mask, match = 0;

	if (cfg == NULL || sha256 == NULL)
		return NULL;
	/* Select with masks rather than a branch on the comparison, and look
	 * at every client: timing depends only on how many clients exist.
	 * found holds index + 1 so that 0 means "no match". */
	for (i = 0; i < cfg->n_clients; i++) {
		mask = (size_t)0 - (size_t)(sg_ct_equal(cfg->clients[i].token_sha256, sha256,
		    sizeof(cfg->clients[i].token_sha256)) & (cfg->clients[i].has_token != 0));
		found = (found & ~mask) | ((i + 1) & mask);
		match |= mask;
	}
	if (match == 0)
		return NULL;
	return &cfg->clients[found - 1];
}

int
sg_client_has_cert(const struct sg_client *client)
{
	return client != NULL && (client->has_cert_sha256 || client->cert_subject != NULL);
}

const struct sg_client *
sg_config_client_by_cert(const struct sg_config *cfg, const unsigned char sha256[32],
    const char *subject, const char *issuer)
{
	const struct sg_client *c;
	size_t i;

	for (i = 0; cfg != NULL && i < cfg->n_clients; i++) {
		c = &cfg->clients[i];
		if (c->has_cert_sha256 && memcmp(c->cert_sha256, sha256, sizeof(c->cert_sha256)) == 0)
			return c;
		if (c->cert_subject != NULL && subject != NULL && issuer != NULL &&
		    strcmp(c->cert_subject, subject) == 0 && strcmp(c->cert_issuer, issuer) == 0)
			return c;
	}
	return NULL;
}

const struct sg_client *
sg_config_client_by_name(const struct sg_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; cfg != NULL && name != NULL && i < cfg->n_clients; i++) {
		if (strcmp(cfg->clients[i].name, name) == 0)
			return &cfg->clients[i];
	}
	return NULL;
}

int
sg_client_same(const struct sg_client *a, const struct sg_client *b)
{
	if (a == NULL || b == NULL || strcmp(a->name, b->name) != 0 ||
	    a->has_token != b->has_token || sg_client_has_cert(a) != sg_client_has_cert(b))
		return 0;
	if (a->has_token && !sg_ct_equal(a->token_sha256, b->token_sha256, sizeof(a->token_sha256)))
		return 0;
	return !sg_client_has_cert(a) || same_cert(a, b);
}

int
sg_client_may_use(const struct sg_client *client, const struct sg_identity *identity)
{
	size_t i;

	if (client == NULL || identity == NULL || (client->roles & SG_ROLE_STAMP) == 0)
		return 0;
	for (i = 0; i < client->n_identities; i++) {
		if (client->identities[i] == identity->index)
			return 1;
	}
	return 0;
}
