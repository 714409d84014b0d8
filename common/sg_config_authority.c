/* SPDX-License-Identifier: Apache-2.0 */
/* The authorities' settings in the configuration: the generic part every
 * authority has (type, url, ca_file) and each type's own (csc-v2,
 * vero-certservice, wssec-soap with the STIL presets, rfc3161). Adding an authority
 * type is one more name, one row of authority_kinds and its loader here,
 * and one backend in gateway/authorities/ (authority.h). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sg_config.h"
#include "sg_config_authority.h"
#include "sg_config_reader.h"
#include "sg_err.h"

/* Caps that keep the validation passes linear-ish on hostile input. */
#define SIGN_PARTS_MAX	32
#define HEADERS_MAX	64
#define HEADER_VALUE_MAX	1024
#define OPERATIONS_MAX	64
#define SERVER_PINS_MAX	8
/* "sha256//" and the base64 of 32 bytes. */
#define SERVER_PIN_LEN	(8 + 44)

static const struct enum_name authority_types[] = {
	{ "csc-v2", SG_AUTHORITY_CSC_V2 },
	{ "vero-certservice", SG_AUTHORITY_VERO_CERTSERVICE },
	{ "wssec-soap", SG_AUTHORITY_WSSEC_SOAP },
	{ "rfc3161", SG_AUTHORITY_RFC3161 },
	{ NULL, 0 }
};
static const struct enum_name vero_environments[] = {
	{ "PRODUCTION", SG_VERO_PRODUCTION },
	{ "TEST", SG_VERO_TEST },
	{ NULL, 0 }
};
static const struct enum_name soap_versions[] = {
	{ "1.1", SG_SOAP_11 },
	{ "1.2", SG_SOAP_12 },
	{ NULL, 0 }
};
static const struct enum_name xmlsig_algs[] = {
	{ "rsa-sha1", SG_XMLSIG_RSA_SHA1 },
	{ "rsa-sha256", SG_XMLSIG_RSA_SHA256 },
	{ "rsa-sha384", SG_XMLSIG_RSA_SHA384 },
	{ "rsa-sha512", SG_XMLSIG_RSA_SHA512 },
	{ "ecdsa-sha256", SG_XMLSIG_ECDSA_SHA256 },
	{ "ecdsa-sha384", SG_XMLSIG_ECDSA_SHA384 },
	{ NULL, 0 }
};
static const struct enum_name xmldigest_algs[] = {
	{ "sha1", SG_XMLDIGEST_SHA1 },
	{ "sha256", SG_XMLDIGEST_SHA256 },
	{ "sha384", SG_XMLDIGEST_SHA384 },
	{ "sha512", SG_XMLDIGEST_SHA512 },
	{ NULL, 0 }
};

/* The one profile header docs/authorities.md §3 names, and its namespace: the
 * default header_namespace for a profile whose own headers are just it. */
#define STIL_BPI_HEADER		"UdbydersystemId"
#define STIL_BPI_NAMESPACE	"https://brugerdatabasen.stil.dk/bpi/common/3"

/* WS-Security profiles from docs/authorities.md section 3; a preset fills in
 * what the authority entry leaves out. verify_response follows what the
 * services' published sample answers show: IPL's are unsigned (PensionDanmark/
 * STIL.ServiceClient, Tests/Samples/Hent..._ValidResponse.xml), BPI's signed
 * (LRU-Digital/STIL.ServiceClient, Tests/Samples/
 * HentBrugersInstitutionstilknytningerResponse_ValidResponse.xml). */
static const char *const stil_ipl_parts[] = { "Body", "Timestamp", NULL };
static const char *const stil_bpi_parts[] = {
	"Body", "Timestamp", "MessageID", "UdbydersystemId", "Action", NULL
};
static const struct wssec_preset {
	const char *name;
	enum sg_soap_version soap_version;
	enum sg_xmlsig_alg signature;
	enum sg_xmldigest_alg digest;
	const char *const *sign_parts;
	const char *header_namespace;
	int verify_response;
} wssec_presets[] = {
	{ "stil-ipl", SG_SOAP_12, SG_XMLSIG_RSA_SHA1, SG_XMLDIGEST_SHA1, stil_ipl_parts, NULL, 0 },
	{ "stil-bpi", SG_SOAP_12, SG_XMLSIG_RSA_SHA256, SG_XMLDIGEST_SHA256, stil_bpi_parts,
	  STIL_BPI_NAMESPACE, 1 },
	{ NULL, 0, 0, 0, NULL, NULL, 0 }
};
/* Signed parts the gateway finds by their WS-Security or WS-Addressing
 * name; any other part is a header in header_namespace. */
static const char *const wssec_builtin_parts[] = {
	"Body", "Timestamp", "BinarySecurityToken", "MessageID", "Action", "To", "From",
	"ReplyTo", "FaultTo", "RelatesTo", NULL
};

static const char *const csc_keys[] = {
	"type", "url", "ca_file", "credential_id", "sign_request_body", "request_id_header",
	"authorization_file", "oauth2_token_url", "oauth2_client_id", "oauth2_scope", "timeout_ms",
	"retries", NULL
};
static const char *const vero_keys[] = {
	"type", "url", "ca_file", "response_signer_ca_file", "environment",
	"renewal_window_days", "poll_interval_s", "poll_max", NULL
};
static const char *const wssec_keys[] = {
	"type", "url", "ca_file", "preset", "soap_version", "signature", "digest",
	"sign_parts", "timestamp_ttl_s", "headers", "verify_response",
	"response_signer_ca_file", "header_namespace", "timeout_ms", "retries", "operations",
	"server_pins", NULL
};

static const char *const tsa_keys[] = {
	"type", "url", "ca_file", "tsa_ca_file", "policy", "timeout_ms", NULL
};

const char *
cfg_authority_type_name(enum sg_authority_type type)
{
	return authority_types[type - 1].name;
}

static int
load_csc(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	struct sg_csc_settings *csc = &a->csc;
	int r;

	csc->sign_request_body = 0;
	csc->request_id_header = 0;
	csc->timeout_ms = 10000;
	csc->retries = 2;
	if ((r = cfg_get_strdup(l, obj, "credential_id", 1, &csc->credential_id)) != 0 ||
	    (r = cfg_get_bool(l, obj, "sign_request_body", &csc->sign_request_body)) != 0 ||
	    (r = cfg_get_bool(l, obj, "request_id_header", &csc->request_id_header)) != 0 ||
	    (r = cfg_get_path(l, obj, "authorization_file", 0, &csc->authorization_file)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "oauth2_token_url", 0, &csc->oauth2_token_url)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "oauth2_client_id", 0, &csc->oauth2_client_id)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "oauth2_scope", 0, &csc->oauth2_scope)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "timeout_ms", 0, 1, 600000, &csc->timeout_ms)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "retries", 0, 0, 10, &csc->retries)) != 0)
		return r;
	if ((csc->oauth2_token_url == NULL) != (csc->oauth2_client_id == NULL))
		return cfg_fail(l, "oauth2_token_url and oauth2_client_id go together");
	if (csc->oauth2_token_url != NULL && strncmp(csc->oauth2_token_url, "https://", 8) != 0)
		return cfg_fail(l, "oauth2_token_url must be https://");
	if (csc->oauth2_scope != NULL && csc->oauth2_token_url == NULL)
		return cfg_fail(l, "oauth2_scope needs oauth2_token_url");
	return 0;
}

static int
load_vero(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	struct sg_vero_settings *vero = &a->vero;
	int env = 0, r;

	/* docs/authorities.md §2: renewal at the earliest 60 days before expiry, so a
	 * wider window could only produce refusals; polls 15-45 s, <= 10 tries.
	 * No default environment: sending to PRODUCTION by accident is worse
	 * than a load error. Responses are always signed and always checked. */
	vero->renewal_window_days = 60;
	vero->poll_interval_s = 30;
	vero->poll_max = 10;
	if ((r = cfg_get_path(l, obj, "response_signer_ca_file", 1,
	    &vero->response_signer_ca_file)) != 0 ||
	    (r = cfg_get_enum(l, obj, "environment", 1, vero_environments, &env)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "renewal_window_days", 0, 1, 60,
	    &vero->renewal_window_days)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "poll_interval_s", 0, 1, 3600,
	    &vero->poll_interval_s)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "poll_max", 0, 1, 100, &vero->poll_max)) != 0)
		return r;
	vero->environment = (enum sg_vero_environment)env;
	return 0;
}

/* XML-ish local name: what can become an element or wsu:Id target. */
static int
valid_xml_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	}
	return i <= 128;
}

/* A JSON array of 1 to max distinct strings that valid() accepts into a
 * new *listp of *np copies (*np counts what is there to free, also after
 * an error); what names one of them in messages, rule says what valid()
 * wants ("" when the name says it). */
static int
load_names(struct loader *l, const cJSON *arr, size_t max, int (*valid)(const char *),
    const char *what, const char *rule, char ***listp, size_t *np)
{
	const cJSON *v;
	size_t i = 0, j, old_i, n = (size_t)cJSON_GetArraySize(arr);
	int r;

	if (n == 0 || n > max)
		return cfg_fail(l, "must list 1 to %zu %ss", max, what);
	if ((*listp = calloc(n, sizeof(**listp))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, arr) {
		old_i = cfg_path_push_index(l, i);
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return cfg_fail(l, "must be a string, not %s", cfg_json_type(v));
		if (!valid(v->valuestring))
			return cfg_fail(l, "%s is not a valid %s name%s",
			    cfg_shown(l, 0, v->valuestring), what, rule);
		for (j = 0; j < i; j++) {
			if (strcmp((*listp)[j], v->valuestring) == 0)
				return cfg_fail(l, "%s %s listed twice", what,
				    cfg_shown(l, 0, v->valuestring));
		}
		if ((r = cfg_dup_str(l, v->valuestring, &(*listp)[i])) != 0)
			return r;
		*np = ++i;
		cfg_path_pop(l, old_i);
	}
	return 0;
}

static int
load_sign_parts(struct loader *l, const cJSON *arr, struct sg_wssec_settings *ws)
{
	size_t i;
	int r;

	if ((r = load_names(l, arr, SIGN_PARTS_MAX, valid_xml_name, "part", "", &ws->sign_parts,
	    &ws->n_sign_parts)) != 0)
		return r;
	/* A signature that leaves the Body out authenticates nothing the
	 * client sent; the STIL services fault on it too. */
	for (i = 0; i < ws->n_sign_parts; i++) {
		if (strcmp(ws->sign_parts[i], "Body") == 0)
			return 0;
	}
	return cfg_fail(l, "must include \"Body\"");
}

/* A header's text, or a namespace name: it goes into the message as it is. */
static int
valid_header_value(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	}
	return i >= 1 && i <= HEADER_VALUE_MAX;
}

static int
load_headers(struct loader *l, const cJSON *obj, struct sg_wssec_settings *ws)
{
	const cJSON *v;
	size_t i = 0, j, old_i, n = (size_t)cJSON_GetArraySize(obj);
	int r;

	if (n > HEADERS_MAX)
		return cfg_fail(l, "at most %d headers", HEADERS_MAX);
	if (n == 0)
		return 0;
	if ((ws->headers = calloc(n, sizeof(*ws->headers))) == NULL)
		return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, obj) {
		old_i = cfg_path_push_key(l, v->string);
		if (!valid_xml_name(v->string))
			return cfg_fail(l, "not a header element name");
		for (j = 0; j < i; j++) {
			if (strcmp(ws->headers[j].name, v->string) == 0)
				return cfg_fail(l, "duplicate key");
		}
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return cfg_fail(l, "must be a string, not %s", cfg_json_type(v));
		if (!valid_header_value(v->valuestring))
			return cfg_fail(l, "must be 1 to %d characters without control characters",
			    HEADER_VALUE_MAX);
		if ((r = cfg_dup_str(l, v->string, &ws->headers[i].name)) != 0)
			return r;
		ws->n_headers = ++i;
		if ((r = cfg_dup_str(l, v->valuestring, &ws->headers[i - 1].value)) != 0)
			return r;
		cfg_path_pop(l, old_i);
	}
	return 0;
}

/* The profile's own headers: configured ones and signed parts that are
 * not WS-Security or WS-Addressing ones. *foreign gets the first of them
 * that is not STIL_BPI_HEADER (NULL: none); 1 when there is any. */
static int
own_headers(const struct sg_wssec_settings *ws, const char **foreign)
{
	size_t i, j;
	int any = ws->n_headers > 0;

	*foreign = NULL;
	for (i = 0; i < ws->n_headers && *foreign == NULL; i++) {
		if (strcmp(ws->headers[i].name, STIL_BPI_HEADER) != 0)
			*foreign = ws->headers[i].name;
	}
	for (i = 0; i < ws->n_sign_parts; i++) {
		for (j = 0; wssec_builtin_parts[j] != NULL; j++) {
			if (strcmp(ws->sign_parts[i], wssec_builtin_parts[j]) == 0)
				break;
		}
		if (wssec_builtin_parts[j] != NULL)
			continue;
		any = 1;
		if (*foreign == NULL && strcmp(ws->sign_parts[i], STIL_BPI_HEADER) != 0)
			*foreign = ws->sign_parts[i];
	}
	return any;
}

static int
valid_operation_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return i <= SG_WSSEC_OPERATION_MAX;
}

int
sg_wssec_operation_check(const struct sg_wssec_settings *ws, const char *op)
{
	size_t i;

	if (op == NULL || !valid_operation_name(op))
		return SG_ERR_INVALID_ARG;
	if (ws->operations == NULL)
		return 0;
	for (i = 0; i < ws->n_operations; i++) {
		if (strcmp(ws->operations[i], op) == 0)
			return 0;
	}
	return SG_ERR_NOT_FOUND;
}

/* The url's path holds SG_WSSEC_OPERATION_MARK once and no other brace,
 * or no brace at all; 1 in the first case. */
static int
load_url_mark(struct loader *l, const char *url, struct sg_wssec_settings *ws)
{
	const char *path = strchr(url + 8, '/'), *mark = strstr(url, SG_WSSEC_OPERATION_MARK);
	size_t braces = 0, i, old;

	for (i = 0; url[i] != '\0'; i++)
		braces += url[i] == '{' || url[i] == '}';
	if (braces == 0)
		return 0;
	old = cfg_path_push_key(l, "url");
	if (mark == NULL || braces != 2 || path == NULL || mark < path ||
	    strchr(url, '?') != NULL || strchr(url, '#') != NULL)
		return cfg_fail(l, "may hold %s once, in its path (and no other brace, query or "
		    "fragment)", SG_WSSEC_OPERATION_MARK);
	cfg_path_pop(l, old);
	ws->url_per_operation = 1;
	return 0;
}

static int
load_operations(struct loader *l, const cJSON *arr, struct sg_wssec_settings *ws)
{
	if (!ws->url_per_operation)
		return cfg_fail(l, "needs %s in the url", SG_WSSEC_OPERATION_MARK);
	return load_names(l, arr, OPERATIONS_MAX, valid_operation_name, "operation",
	    " (a letter, then letters, digits, \"_\" or \"-\"; at most 64)", &ws->operations,
	    &ws->n_operations);
}

/* libcurl's pin of a SHA-256 public key hash: "sha256//" and 43 base64
 * characters and "=". */
static int
valid_server_pin(const char *s)
{
	size_t i;

	if (strlen(s) != SERVER_PIN_LEN || strncmp(s, "sha256//", 8) != 0 ||
	    s[SERVER_PIN_LEN - 1] != '=')
		return 0;
	for (i = 8; i < SERVER_PIN_LEN - 1; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
			return 0;
	}
	return 1;
}

/* The pins, checked one by one, joined by ';' into ws->server_pins. */
static int
load_server_pins(struct loader *l, const cJSON *arr, struct sg_wssec_settings *ws)
{
	char **pins = NULL;
	size_t n = 0, i;
	int r;

	if ((r = load_names(l, arr, SERVER_PINS_MAX, valid_server_pin, "pin",
	    " (\"sha256//\" and the base64 of the SHA-256 of the server's SubjectPublicKeyInfo)",
	    &pins, &n)) == 0) {
		if ((ws->server_pins = calloc(n, SERVER_PIN_LEN + 1)) == NULL)
			r = cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
		/* Each pin is SERVER_PIN_LEN long; then ';', or the end. */
		for (i = 0; r == 0 && i < n; i++) {
			memcpy(ws->server_pins + i * (SERVER_PIN_LEN + 1), pins[i], SERVER_PIN_LEN);
			ws->server_pins[i * (SERVER_PIN_LEN + 1) + SERVER_PIN_LEN] =
			    i + 1 < n ? ';' : '\0';
		}
	}
	for (i = 0; i < n; i++)
		free(pins[i]);
	free(pins);
	return r;
}

static int
load_wssec(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	struct sg_wssec_settings *ws = &a->wssec;
	const struct wssec_preset *preset = NULL;
	const cJSON *parts, *headers, *operations, *pins;
	const char *ns = NULL, *foreign;
	size_t i, old;
	int soap = 0, sig = 0, digest = 0, r;

	if ((r = cfg_get_strdup(l, obj, "preset", 0, &ws->preset)) != 0)
		return r;
	if (ws->preset != NULL) {
		for (i = 0; wssec_presets[i].name != NULL; i++) {
			if (strcmp(wssec_presets[i].name, ws->preset) == 0)
				preset = &wssec_presets[i];
		}
		if (preset == NULL) {
			cfg_path_push_key(l, "preset");
			return cfg_fail(l, "unknown preset %s; expected \"stil-ipl\" or \"stil-bpi\"",
			    cfg_shown(l, 0, ws->preset));
		}
		soap = (int)preset->soap_version;
		sig = (int)preset->signature;
		digest = (int)preset->digest;
		ws->verify_response = preset->verify_response;
		if (preset->header_namespace != NULL &&
		    (r = cfg_dup_str(l, preset->header_namespace, &ws->header_namespace)) != 0)
			return r;
	}
	ws->timestamp_ttl_s = 300;
	if (preset == NULL)
		ws->verify_response = 1;
	ws->timeout_ms = 10000;
	ws->retries = 2;
	/* Without a preset the profile must be spelled out in full. */
	if ((r = cfg_get_enum(l, obj, "soap_version", preset == NULL, soap_versions, &soap)) != 0 ||
	    (r = cfg_get_enum(l, obj, "signature", preset == NULL, xmlsig_algs, &sig)) != 0 ||
	    (r = cfg_get_enum(l, obj, "digest", preset == NULL, xmldigest_algs, &digest)) != 0 ||
	    (r = cfg_get_array(l, obj, "sign_parts", preset == NULL, &parts)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "timestamp_ttl_s", 0, 1, 3600,
	    &ws->timestamp_ttl_s)) != 0 ||
	    (r = cfg_get_object(l, obj, "headers", 0, &headers)) != 0 ||
	    (r = cfg_get_bool(l, obj, "verify_response", &ws->verify_response)) != 0 ||
	    (r = cfg_get_path(l, obj, "response_signer_ca_file", ws->verify_response,
	    &ws->response_signer_ca_file)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "timeout_ms", 0, 1, 600000, &ws->timeout_ms)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "retries", 0, 0, 5, &ws->retries)) != 0 ||
	    (r = cfg_get_str(l, obj, "header_namespace", 0, &ns)) != 0 ||
	    (r = cfg_get_array(l, obj, "operations", 0, &operations)) != 0 ||
	    (r = cfg_get_array(l, obj, "server_pins", 0, &pins)) != 0 ||
	    (r = load_url_mark(l, a->url, ws)) != 0)
		return r;
	if (operations != NULL) {
		old = cfg_path_push_key(l, "operations");
		if ((r = load_operations(l, operations, ws)) != 0)
			return r;
		cfg_path_pop(l, old);
	}
	if (pins != NULL) {
		old = cfg_path_push_key(l, "server_pins");
		if ((r = load_server_pins(l, pins, ws)) != 0)
			return r;
		cfg_path_pop(l, old);
	}
	if (ns != NULL) {
		if (!valid_header_value(ns)) {
			cfg_path_push_key(l, "header_namespace");
			return cfg_fail(l, "must be a namespace name without control characters");
		}
		free(ws->header_namespace);
		ws->header_namespace = NULL;
		if ((r = cfg_dup_str(l, ns, &ws->header_namespace)) != 0)
			return r;
	}
	ws->soap_version = (enum sg_soap_version)soap;
	ws->signature = (enum sg_xmlsig_alg)sig;
	ws->digest = (enum sg_xmldigest_alg)digest;
	if (parts != NULL) {
		old = cfg_path_push_key(l, "sign_parts");
		if ((r = load_sign_parts(l, parts, ws)) != 0)
			return r;
		cfg_path_pop(l, old);
	} else if (preset != NULL) {
		for (i = 0; preset->sign_parts[i] != NULL; i++)
			;
		if ((ws->sign_parts = calloc(i, sizeof(*ws->sign_parts))) == NULL)
			return cfg_fail_r(l, SG_ERR_ALLOC, "out of memory");
		for (i = 0; preset->sign_parts[i] != NULL; i++) {
			if ((r = cfg_dup_str(l, preset->sign_parts[i], &ws->sign_parts[i])) != 0)
				return r;
			ws->n_sign_parts = i + 1;
		}
	}
	if (headers != NULL) {
		old = cfg_path_push_key(l, "headers");
		if ((r = load_headers(l, headers, ws)) != 0)
			return r;
		cfg_path_pop(l, old);
	}
	if (ws->header_namespace == NULL && own_headers(ws, &foreign)) {
		if (foreign != NULL) {
			cfg_path_push_key(l, "header_namespace");
			return cfg_fail(l, "is required: the profile names header %s",
			    cfg_shown(l, 0, foreign));
		}
		if ((r = cfg_dup_str(l, STIL_BPI_NAMESPACE, &ws->header_namespace)) != 0)
			return r;
	}
	return 0;
}

/* A dotted OID as a TimeStampReq's reqPolicy carries it: a first arc of
 * 0, 1 or 2, then at least one more arc, decimal without leading zeros. */
static int
valid_oid(const char *s)
{
	size_t i, arcs = 0, digits = 0, len = strlen(s);

	if (len == 0 || len > 128 || s[0] < '0' || s[0] > '2' || s[1] != '.')
		return 0;
	for (i = 0; i <= len; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (digits == 0)
				return 0;
			arcs++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && s[i - 1] == '0')
				return 0;
			digits++;
		} else
			return 0;
	}
	return arcs >= 2;
}

static int
load_tsa(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	struct sg_tsa_settings *tsa = &a->tsa;
	int r;

	tsa->timeout_ms = 10000;
	if ((r = cfg_get_path(l, obj, "tsa_ca_file", 1, &tsa->tsa_ca_file)) != 0 ||
	    (r = cfg_get_strdup(l, obj, "policy", 0, &tsa->policy)) != 0 ||
	    (r = cfg_get_uint_field(l, obj, "timeout_ms", 0, 1, 600000, &tsa->timeout_ms)) != 0)
		return r;
	if (tsa->policy != NULL && !valid_oid(tsa->policy)) {
		cfg_path_push_key(l, "policy");
		return cfg_fail(l, "%s is not a dotted OID (like \"1.2.246.517.1.10\")",
		    cfg_shown(l, 0, tsa->policy));
	}
	return 0;
}

static void
clear_csc(struct sg_authority *a)
{
	free(a->csc.credential_id);
	free(a->csc.authorization_file);
	free(a->csc.oauth2_token_url);
	free(a->csc.oauth2_client_id);
	free(a->csc.oauth2_scope);
}

static void
clear_tsa(struct sg_authority *a)
{
	free(a->tsa.tsa_ca_file);
	free(a->tsa.policy);
}

static void
clear_vero(struct sg_authority *a)
{
	free(a->vero.response_signer_ca_file);
}

static void
clear_wssec(struct sg_authority *a)
{
	struct sg_wssec_settings *ws = &a->wssec;
	size_t i;

	free(ws->preset);
	for (i = 0; i < ws->n_sign_parts; i++)
		free(ws->sign_parts[i]);
	free(ws->sign_parts);
	for (i = 0; i < ws->n_headers; i++) {
		free(ws->headers[i].name);
		free(ws->headers[i].value);
	}
	free(ws->headers);
	free(ws->response_signer_ca_file);
	free(ws->header_namespace);
	for (i = 0; i < ws->n_operations; i++)
		free(ws->operations[i]);
	free(ws->operations);
	free(ws->server_pins);
}

/* Each type's own part of an authority entry, indexed by type (the names
 * are in authority_types, which cfg_get_enum reads): the keys the entry
 * may have, the loader of the type's settings and what frees them.
 * Adding a type is one name there, one row here, and its functions. */
static const struct authority_kind {
	const char *const *keys;
	int (*load)(struct loader *l, const cJSON *obj, struct sg_authority *a);
	void (*clear)(struct sg_authority *a);
} authority_kinds[] = {
	[SG_AUTHORITY_CSC_V2] = { csc_keys, load_csc, clear_csc },
	[SG_AUTHORITY_VERO_CERTSERVICE] = { vero_keys, load_vero, clear_vero },
	[SG_AUTHORITY_WSSEC_SOAP] = { wssec_keys, load_wssec, clear_wssec },
	[SG_AUTHORITY_RFC3161] = { tsa_keys, load_tsa, clear_tsa },
};
/* authority_types has its NULL row where authority_kinds has row 0. */
_Static_assert(sizeof(authority_kinds) / sizeof(authority_kinds[0]) ==
    sizeof(authority_types) / sizeof(authority_types[0]), "one row per authority type");

int
cfg_load_authority(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	const char *url;
	char what[64];
	int type = 0, r, n;

	if (!cJSON_IsObject(obj))
		return cfg_fail(l, "must be an object, not %s", cfg_json_type(obj));
	if ((r = cfg_get_enum(l, obj, "type", 1, authority_types, &type)) != 0)
		return r;
	a->type = (enum sg_authority_type)type;
	n = snprintf(what, sizeof(what), " for a %s authority", authority_types[type - 1].name);
	if (n < 0 || (size_t)n >= sizeof(what))
		what[0] = '\0';	/* the type in the message is a courtesy */
	if ((r = cfg_check_keys(l, obj, authority_kinds[type].keys, what)) != 0 ||
	    (r = cfg_get_str(l, obj, "url", 1, &url)) != 0)
		return r;
	/* Authorities are reached with mutual TLS; plain http would send the
	 * request, and the client certificate exchange, in the clear. */
	if (strncmp(url, "https://", 8) != 0 || url[8] == '\0') {
		cfg_path_push_key(l, "url");
		return cfg_fail(l, "must be an https:// URL");
	}
	if ((r = cfg_dup_str(l, url, &a->url)) != 0 ||
	    (r = cfg_get_path(l, obj, "ca_file", 1, &a->ca_file)) != 0)
		return r;
	return authority_kinds[type].load(l, obj, a);
}

void
cfg_authority_clear(struct sg_authority *a)
{
	free(a->name);
	free(a->url);
	free(a->ca_file);
	/* Type 0: the entry was refused before its type was known. */
	if (a->type != 0)
		authority_kinds[a->type].clear(a);
}
