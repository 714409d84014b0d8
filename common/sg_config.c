/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration loader (see sg_config.h). One pass over the cJSON tree
 * that tracks the JSON path of the value being read, so every error names
 * it; cross-references are resolved once the sections they point to exist. */
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

#include <cjson/cJSON.h>

#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_secret.h"

/* Byte counts travel through a double in cJSON: above 2^53 they are no
 * longer exact, so that is the largest we accept. */
#define BYTES_MAX	(UINT64_C(1) << 53)
#define SIZE_LIMIT	((uint64_t)SIZE_MAX < BYTES_MAX ? (uint64_t)SIZE_MAX : BYTES_MAX)
/* Characters of a user-supplied string shown in a message: keys in a JSON
 * path, and values (long enough for a real file path). */
#define SHOW_KEY_MAX	40
#define SHOW_VALUE_MAX	200
/* Worst case of one shown string: every byte escaped as \xNN, quotes,
 * "..." and the NUL. */
#define SHOWN_SIZE(max)	((max) * 4 + 8)
/* Caps that keep the validation passes linear-ish on hostile input. */
#define SIGN_PARTS_MAX	32
#define HEADERS_MAX	64
#define HEADER_VALUE_MAX	1024

/* Vero's schema: CustomerId at most 30, CustomerName at most 100. */
#define VERO_CUSTOMER_ID_MAX	30
#define VERO_CUSTOMER_NAME_MAX	100

struct name_ref {
	const char *name;
	size_t idx;
};

struct loader {
	struct sg_config *cfg;
	const char *base_dir;		/* NULL: keep relative paths */
	char path[4 * (SHOWN_SIZE(SHOW_KEY_MAX) + 8) + 64];
	size_t path_len;
	char shown[2][SHOWN_SIZE(SHOW_VALUE_MAX)];
	char *errbuf;
	size_t errlen;
	const char *checkpoint_name;	/* borrowed from the cJSON tree */
	struct name_ref *authority_refs;	/* sorted by name */
	struct name_ref *identity_refs;		/* sorted by name */
};

struct enum_name {
	const char *name;
	int value;
};

static const struct enum_name authority_types[] = {
	{ "csc-v2", SG_AUTHORITY_CSC_V2 },
	{ "vero-certservice", SG_AUTHORITY_VERO_CERTSERVICE },
	{ "wssec-soap", SG_AUTHORITY_WSSEC_SOAP },
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

/* The one profile header docs/authorities.md §3 names, and its namespace: the
 * default header_namespace for a profile whose own headers are just it. */
#define STIL_BPI_HEADER		"UdbydersystemId"
#define STIL_BPI_NAMESPACE	"https://brugerdatabasen.stil.dk/bpi/common/3"

/* WS-Security profiles from docs/authorities.md section 3; a preset fills in
 * what the authority entry leaves out. */
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
} wssec_presets[] = {
	{ "stil-ipl", SG_SOAP_12, SG_XMLSIG_RSA_SHA1, SG_XMLDIGEST_SHA1, stil_ipl_parts, NULL },
	{ "stil-bpi", SG_SOAP_12, SG_XMLSIG_RSA_SHA256, SG_XMLDIGEST_SHA256, stil_bpi_parts,
	  STIL_BPI_NAMESPACE },
	{ NULL, 0, 0, 0, NULL, NULL }
};
/* Signed parts the gateway finds by their WS-Security or WS-Addressing
 * name; any other part is a header in header_namespace. */
static const char *const wssec_builtin_parts[] = {
	"Body", "Timestamp", "BinarySecurityToken", "MessageID", "Action", "To", "From",
	"ReplyTo", "FaultTo", "RelatesTo", NULL
};

static const char *const top_keys[] = {
	"listen", "token", "audit", "limits", "authorities", "identities", "clients", NULL
};
static const char *const listen_keys[] = {
	"address", "port", "threads", "max_connections_per_peer", "tls", NULL
};
static const char *const token_keys[] = {
	"module", "label", "pin_file", "max_sessions", NULL
};
static const char *const audit_keys[] = {
	"dir", "checkpoint_identity", "checkpoint_every_entries",
	"checkpoint_every_seconds", "rotate_bytes", NULL
};
static const char *const limits_keys[] = {
	"max_document_bytes", "max_json_bytes", "max_soap_bytes", "request_timeout_ms", NULL
};
static const char *const csc_keys[] = {
	"type", "url", "ca_file", "credential_id", "sign_request_body", "timeout_ms",
	"retries", NULL
};
static const char *const vero_keys[] = {
	"type", "url", "ca_file", "response_signer_ca_file", "environment",
	"renewal_window_days", "poll_interval_s", "poll_max", NULL
};
static const char *const wssec_keys[] = {
	"type", "url", "ca_file", "preset", "soap_version", "signature", "digest",
	"sign_parts", "timestamp_ttl_s", "headers", "verify_response",
	"response_signer_ca_file", "header_namespace", "timeout_ms", "retries", NULL
};
static const char *const identity_keys[] = {
	"name", "key_label", "authority", "issuer", "uses", "customer_id",
	"customer_name", "auto_renew", NULL
};
static const char *const client_keys[] = {
	"name", "token_sha256", "roles", "identities", NULL
};

/* Format into a caller's buffer; a message that does not fit ends in
 * "..." so a cut is visible rather than silently misleading. */
static void __attribute__((format(printf, 3, 0)))
put_errorv(char *errbuf, size_t errlen, const char *fmt, va_list ap)
{
	int n;

	if (errbuf == NULL || errlen == 0)
		return;
	n = vsnprintf(errbuf, errlen, fmt, ap);
	if (n < 0)
		errbuf[0] = '\0';
	else if ((size_t)n >= errlen && errlen >= 4)
		memcpy(errbuf + errlen - 4, "...", 4);
}

static void __attribute__((format(printf, 3, 4)))
put_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_errorv(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Render s on one line between quote characters: printable ASCII as is,
 * the quote and backslash escaped, anything else as \xNN, and at most max
 * characters, because messages end up in logs. dstlen must be at least
 * SHOWN_SIZE(max). */
static const char *
render(char *dst, size_t dstlen, const char *s, size_t max, char quote)
{
	size_t i, o = 0;
	unsigned char c;
	int n;

	dst[o++] = quote;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		c = (unsigned char)s[i];
		if (c == (unsigned char)quote || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			dst[o++] = (char)c;
		else {
			n = snprintf(dst + o, dstlen - o, "\\x%02x", c);
			if (n < 0 || (size_t)n >= dstlen - o)
				break;	/* cannot happen: SHOWN_SIZE(max) has room */
			o += (size_t)n;
		}
	}
	if (s[i] != '\0') {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o++] = quote;
	dst[o] = '\0';
	return dst;
}

/* A user string for a message, in one of two scratch slots. */
static const char *
shown(struct loader *l, int slot, const char *s)
{
	return render(l->shown[slot], sizeof(l->shown[slot]), s, SHOW_VALUE_MAX, '"');
}

/* Record "<current path>: <why>" and return r. Only the first error is
 * kept: every caller returns at once. */
static int __attribute__((format(printf, 3, 4)))
fail_r(struct loader *l, int r, const char *fmt, ...)
{
	char why[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
	else if ((size_t)n >= sizeof(why))
		memcpy(why + sizeof(why) - 4, "...", 4);
	put_error(l->errbuf, l->errlen, "%s: %s", l->path, why);
	return r;
}

#define fail(l, ...)	fail_r((l), SG_ERR_CONFIG, __VA_ARGS__)

/* The path is kept as text; pushing returns the old length for the pop.
 * A path too long for the buffer is cut (the buffer is sized so that the
 * schema's four levels of shown keys always fit). */
static size_t __attribute__((format(printf, 2, 3)))
path_push(struct loader *l, const char *fmt, ...)
{
	size_t old = l->path_len, room = sizeof(l->path) - l->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->path + l->path_len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		l->path[l->path_len] = '\0';
	else if ((size_t)n >= room)
		l->path_len = sizeof(l->path) - 1;
	else
		l->path_len += (size_t)n;
	return old;
}

static void
path_pop(struct loader *l, size_t old)
{
	l->path_len = old;
	l->path[old] = '\0';
}

static int
is_identifier(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return i <= SHOW_KEY_MAX;
}

/* Member key: ".key" when that is valid JSONPath (RFC 9535 shorthand),
 * else "['key']". */
static size_t
path_push_key(struct loader *l, const char *key)
{
	char buf[SHOWN_SIZE(SHOW_KEY_MAX)];

	if (is_identifier(key))
		return path_push(l, ".%s", key);
	return path_push(l, "[%s]", render(buf, sizeof(buf), key, SHOW_KEY_MAX, '\''));
}

static size_t
path_push_index(struct loader *l, size_t i)
{
	return path_push(l, "[%zu]", i);
}

static const char *
json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

/*
 * Every member of obj must be in allowed (NULL-terminated, at most 32),
 * once: cJSON keeps duplicate keys, and a second "port" silently losing to
 * the first is exactly the kind of surprise unknown-key errors prevent.
 */
static int
check_keys(struct loader *l, const cJSON *obj, const char *const *allowed,
    const char *what)
{
	const cJSON *c;
	uint32_t seen = 0;
	size_t i;
	char expected[512];
	int n, used = 0;

	cJSON_ArrayForEach(c, obj) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(c->string, allowed[i]) == 0)
				break;
		}
		if (allowed[i] != NULL && (seen & (UINT32_C(1) << i)) == 0) {
			seen |= UINT32_C(1) << i;
			continue;
		}
		path_push_key(l, c->string);
		if (allowed[i] != NULL)
			return fail(l, "duplicate key");
		expected[0] = '\0';
		for (i = 0; allowed[i] != NULL; i++) {
			n = snprintf(expected + used, sizeof(expected) - (size_t)used, "%s%s",
			    i == 0 ? "" : ", ", allowed[i]);
			if (n < 0 || (size_t)n >= sizeof(expected) - (size_t)used)
				break;	/* the list is only a hint; a cut one will do */
			used += n;
		}
		return fail(l, "unknown key%s; expected one of: %s", what, expected);
	}
	return 0;
}

/* *vp = the member, or NULL when it is absent or null (both mean "not
 * set"); a required one that is not set is an error. */
static int
member(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v = obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	*vp = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (!required)
			return 0;
		path_push_key(l, key);
		return fail(l, v == NULL ? "missing (required)" : "required, may not be null");
	}
	*vp = v;
	return 0;
}

static int
get_object(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v;
	int r;

	*vp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsObject(v)) {
		path_push_key(l, key);
		return fail(l, "must be an object, not %s", json_type(v));
	}
	*vp = v;
	return 0;
}

static int
get_array(struct loader *l, const cJSON *obj, const char *key, int required,
    const cJSON **vp)
{
	const cJSON *v;
	int r;

	*vp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsArray(v)) {
		path_push_key(l, key);
		return fail(l, "must be an array, not %s", json_type(v));
	}
	*vp = v;
	return 0;
}

/* Borrowed, non-empty string (NULL when absent and optional). */
static int
get_str(struct loader *l, const cJSON *obj, const char *key, int required,
    const char **sp)
{
	const cJSON *v;
	int r;

	*sp = NULL;
	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		path_push_key(l, key);
		return fail(l, "must be a string, not %s", json_type(v));
	}
	if (v->valuestring[0] == '\0') {
		path_push_key(l, key);
		return fail(l, "must not be empty");
	}
	*sp = v->valuestring;
	return 0;
}

static int
dup_str(struct loader *l, const char *s, char **outp)
{
	if ((*outp = strdup(s)) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	return 0;
}

/* Owned copy of a string member; *outp is left alone when absent. */
static int
get_strdup(struct loader *l, const cJSON *obj, const char *key, int required,
    char **outp)
{
	const char *s;
	int r;

	if ((r = get_str(l, obj, key, required, &s)) != 0 || s == NULL)
		return r;
	return dup_str(l, s, outp);
}

/* Names end up in URLs (/v1/identities/{name}) and audit lines: keep them
 * to a set that needs no escaping anywhere and cannot be "." or "..". */
int
sg_config_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))))
			return 0;
	}
	return i >= 1 && i <= SG_CONFIG_NAME_MAX;
}

#define NAME_RULE "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"

static int
get_name(struct loader *l, const cJSON *obj, const char *key, char **outp)
{
	const char *s;
	int r;

	if ((r = get_str(l, obj, key, 1, &s)) != 0)
		return r;
	if (!sg_config_name_valid(s)) {
		path_push_key(l, key);
		return fail(l, "%s is not a valid name (%s)", shown(l, 0, s), NAME_RULE);
	}
	return dup_str(l, s, outp);
}

/* A path from the config: relative ones are taken from the config file's
 * directory, so the daemon's working directory never matters. */
static int
resolve_path(struct loader *l, const char *p, char **outp)
{
	size_t base_len, need;
	const char *sep;
	char *out;
	int n;

	if (p[0] == '/' || l->base_dir == NULL)
		return dup_str(l, p, outp);
	base_len = strlen(l->base_dir);
	sep = base_len > 0 && l->base_dir[base_len - 1] == '/' ? "" : "/";
	need = base_len + strlen(sep) + strlen(p) + 1;
	if ((out = malloc(need)) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	n = snprintf(out, need, "%s%s%s", l->base_dir, sep, p);
	if (n < 0 || (size_t)n >= need) {
		free(out);
		return fail_r(l, SG_ERR_INTERNAL, "cannot build the path");
	}
	*outp = out;
	return 0;
}

static int
get_path(struct loader *l, const cJSON *obj, const char *key, int required,
    char **outp)
{
	const char *s;
	size_t old;
	int r;

	if ((r = get_str(l, obj, key, required, &s)) != 0 || s == NULL)
		return r;
	old = path_push_key(l, key);
	if ((r = resolve_path(l, s, outp)) != 0)
		return r;
	path_pop(l, old);
	return 0;
}

/* An integer in [min, max]; *valp keeps its default when absent. */
static int
get_uint(struct loader *l, const cJSON *obj, const char *key, int required,
    uint64_t min, uint64_t max, uint64_t *valp)
{
	const cJSON *v;
	double d;
	int r;

	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsNumber(v)) {
		path_push_key(l, key);
		return fail(l, "must be an integer from %" PRIu64 " to %" PRIu64 ", not %s",
		    min, max, json_type(v));
	}
	d = v->valuedouble;
	/* The range test comes first so the cast below is always defined. */
	if (!(d >= (double)min && d <= (double)max) || (double)(uint64_t)d != d) {
		path_push_key(l, key);
		return fail(l, "must be an integer from %" PRIu64 " to %" PRIu64, min, max);
	}
	*valp = (uint64_t)d;
	return 0;
}

static int
get_uint_field(struct loader *l, const cJSON *obj, const char *key, int required,
    uint64_t min, uint64_t max, unsigned int *fieldp)
{
	uint64_t v = *fieldp;
	int r;

	if ((r = get_uint(l, obj, key, required, min, max, &v)) != 0)
		return r;
	*fieldp = (unsigned int)v;
	return 0;
}

static int
get_size_field(struct loader *l, const cJSON *obj, const char *key, size_t *fieldp)
{
	uint64_t v = *fieldp;
	int r;

	if ((r = get_uint(l, obj, key, 0, 1, SIZE_LIMIT, &v)) != 0)
		return r;
	*fieldp = (size_t)v;
	return 0;
}

/* true/false; *valp keeps its default when absent. */
static int
get_bool(struct loader *l, const cJSON *obj, const char *key, int *valp)
{
	const cJSON *v;
	int r;

	if ((r = member(l, obj, key, 0, &v)) != 0 || v == NULL)
		return r;
	if (!cJSON_IsBool(v)) {
		path_push_key(l, key);
		return fail(l, "must be true or false, not %s", json_type(v));
	}
	*valp = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

static void
enum_list(const struct enum_name *table, char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; table[i].name != NULL; i++) {
		n = snprintf(buf + used, len - used, "%s\"%s\"", i == 0 ? "" : ", ",
		    table[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;	/* only a hint in a message; cut is fine */
		used += (size_t)n;
	}
}

static int
lookup_enum(const struct enum_name *table, const char *s, int *valp)
{
	size_t i;

	for (i = 0; table[i].name != NULL; i++) {
		if (strcmp(table[i].name, s) == 0) {
			*valp = table[i].value;
			return 0;
		}
	}
	return SG_ERR_NOT_FOUND;
}

/* v must be a string from table; *valp gets its value. Called with
 * the path already at the value. */
static int
check_enum(struct loader *l, const cJSON *v, const struct enum_name *table,
    const char *what, int *valp)
{
	char list[256];

	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		enum_list(table, list, sizeof(list));
		return fail(l, "must be a string (one of %s), not %s", list, json_type(v));
	}
	if (lookup_enum(table, v->valuestring, valp) != 0) {
		enum_list(table, list, sizeof(list));
		return fail(l, "unknown %s %s; expected one of %s", what,
		    shown(l, 0, v->valuestring), list);
	}
	return 0;
}

static int
get_enum(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, int *valp)
{
	const cJSON *v;
	size_t old;
	int r;

	if ((r = member(l, obj, key, required, &v)) != 0 || v == NULL)
		return r;
	old = path_push_key(l, key);
	if ((r = check_enum(l, v, table, "value", valp)) != 0)
		return r;
	path_pop(l, old);
	return 0;
}

/* An array of strings from table, each at most once, as a bitmask. */
static int
get_flags(struct loader *l, const cJSON *obj, const char *key, int required,
    const struct enum_name *table, const char *what, unsigned int *maskp)
{
	const cJSON *arr, *v;
	size_t old, old_i, i = 0;
	unsigned int mask = 0;
	int bit, r;

	*maskp = 0;
	if ((r = get_array(l, obj, key, required, &arr)) != 0 || arr == NULL)
		return r;
	old = path_push_key(l, key);
	cJSON_ArrayForEach(v, arr) {
		old_i = path_push_index(l, i++);
		if ((r = check_enum(l, v, table, what, &bit)) != 0)
			return r;
		if ((mask & (unsigned int)bit) != 0)
			return fail(l, "%s %s listed twice", what, shown(l, 0, v->valuestring));
		mask |= (unsigned int)bit;
		path_pop(l, old_i);
	}
	path_pop(l, old);
	*maskp = mask;
	return 0;
}

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort (name, index) pairs so lookups are O(log n) and duplicates sit
 * next to each other. *dupp = the later of the first duplicate pair found
 * (SIZE_MAX: none), *firstp = the earlier one. */
static int
build_index(struct loader *l, size_t n, const char *(*name_at)(const struct sg_config *, size_t),
    struct name_ref **refsp, size_t *firstp, size_t *dupp)
{
	struct name_ref *refs;
	size_t i;

	*firstp = *dupp = SIZE_MAX;
	if ((refs = calloc(n > 0 ? n : 1, sizeof(*refs))) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	for (i = 0; i < n; i++) {
		refs[i].name = name_at(l->cfg, i);
		refs[i].idx = i;
	}
	qsort(refs, n, sizeof(*refs), name_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].name, refs[i].name) == 0 && refs[i].idx < *dupp) {
			*firstp = refs[i - 1].idx;
			*dupp = refs[i].idx;
		}
	}
	*refsp = refs;
	return 0;
}

static int
find_ref(const struct name_ref *refs, size_t n, const char *name, size_t *idxp)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, refs[mid].name)) == 0) {
			*idxp = refs[mid].idx;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SG_ERR_NOT_FOUND;
}

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

static int
load_listen(struct loader *l, const cJSON *root)
{
	struct sg_config_listen *lc = &l->cfg->listen;
	const cJSON *obj, *tls;
	size_t old;
	int r;

	/* http://127.0.0.1:8440 unless the config says otherwise (README.md,
	 * "Configuration"). */
	lc->port = 8440;
	lc->threads = 8;
	lc->max_connections_per_peer = 256;
	if ((r = get_object(l, root, "listen", 0, &obj)) != 0)
		return r;
	if (obj != NULL) {
		old = path_push_key(l, "listen");
		if ((r = check_keys(l, obj, listen_keys, "")) != 0 ||
		    (r = get_strdup(l, obj, "address", 0, &lc->address)) != 0 ||
		    (r = get_uint_field(l, obj, "port", 0, 0, 65535, &lc->port)) != 0 ||
		    (r = get_uint_field(l, obj, "threads", 0, 1, 1024, &lc->threads)) != 0 ||
		    (r = get_uint_field(l, obj, "max_connections_per_peer", 0, 1, 1024,
		    &lc->max_connections_per_peer)) != 0)
			return r;
		tls = cJSON_GetObjectItemCaseSensitive(obj, "tls");
		if (tls != NULL && !cJSON_IsNull(tls)) {
			path_push_key(l, "tls");
			return fail(l, "not supported: HTTPS on the listener is not "
			    "implemented yet; use null");
		}
		path_pop(l, old);
	}
	if (lc->address == NULL)
		return dup_str(l, "127.0.0.1", &lc->address);
	return 0;
}

/* The PIN itself is read later (sg_secret_read_file); here we only make
 * sure that read will not be refused, so a bad file fails at load time.
 * Same rule as the reader: a regular file, no access for group or others,
 * not a symlink (the reader opens with O_NOFOLLOW). */
static int
check_pin_file(struct loader *l, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return fail(l, "%s: %s", shown(l, 0, path), strerror(errno));
	if (S_ISLNK(st.st_mode))
		return fail(l, "%s is a symbolic link; name the file itself", shown(l, 0, path));
	if (!S_ISREG(st.st_mode))
		return fail(l, "%s is not a regular file", shown(l, 0, path));
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return fail(l, "%s is accessible by group or others (mode %04o); "
		    "chmod 600 it", shown(l, 0, path), (unsigned int)(st.st_mode & 07777));
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
	if ((r = get_object(l, root, "token", 1, &obj)) != 0)
		return r;
	old = path_push_key(l, "token");
	if ((r = check_keys(l, obj, token_keys, "")) != 0 ||
	    (r = get_path(l, obj, "module", 0, &token->module)) != 0 ||
	    (r = get_strdup(l, obj, "label", 1, &token->label)) != 0 ||
	    (r = get_path(l, obj, "pin_file", 0, &token->pin_file)) != 0 ||
	    (r = get_uint_field(l, obj, "max_sessions", 0, 1, 1024,
	    &token->max_sessions)) != 0)
		return r;
	if (token->pin_file != NULL) {
		old_pin = path_push_key(l, "pin_file");
		if ((r = check_pin_file(l, token->pin_file)) != 0)
			return r;
		path_pop(l, old_pin);
	}
	path_pop(l, old);
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
	if ((r = get_object(l, root, "audit", 1, &obj)) != 0)
		return r;
	old = path_push_key(l, "audit");
	if ((r = check_keys(l, obj, audit_keys, "")) != 0 ||
	    (r = get_path(l, obj, "dir", 1, &audit->dir)) != 0 ||
	    (r = get_str(l, obj, "checkpoint_identity", 0, &l->checkpoint_name)) != 0 ||
	    (r = get_uint_field(l, obj, "checkpoint_every_entries", 0, 1, UINT_MAX,
	    &audit->checkpoint_every_entries)) != 0 ||
	    (r = get_uint_field(l, obj, "checkpoint_every_seconds", 0, 1, 86400,
	    &audit->checkpoint_every_seconds)) != 0 ||
	    (r = get_uint(l, obj, "rotate_bytes", 0, 1, BYTES_MAX, &audit->rotate_bytes)) != 0)
		return r;
	path_pop(l, old);
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
	if ((r = get_object(l, root, "limits", 0, &obj)) != 0 || obj == NULL)
		return r;
	old = path_push_key(l, "limits");
	if ((r = check_keys(l, obj, limits_keys, "")) != 0 ||
	    (r = get_size_field(l, obj, "max_document_bytes", &limits->max_document_bytes)) != 0 ||
	    (r = get_size_field(l, obj, "max_json_bytes", &limits->max_json_bytes)) != 0 ||
	    (r = get_size_field(l, obj, "max_soap_bytes", &limits->max_soap_bytes)) != 0 ||
	    (r = get_uint_field(l, obj, "request_timeout_ms", 0, 1, INT_MAX,
	    &limits->request_timeout_ms)) != 0)
		return r;
	path_pop(l, old);
	return 0;
}

static int
load_csc(struct loader *l, const cJSON *obj, struct sg_csc_settings *csc)
{
	int r;

	csc->sign_request_body = 1;
	csc->timeout_ms = 10000;
	csc->retries = 2;
	if ((r = get_strdup(l, obj, "credential_id", 1, &csc->credential_id)) != 0 ||
	    (r = get_bool(l, obj, "sign_request_body", &csc->sign_request_body)) != 0 ||
	    (r = get_uint_field(l, obj, "timeout_ms", 0, 1, 600000, &csc->timeout_ms)) != 0 ||
	    (r = get_uint_field(l, obj, "retries", 0, 0, 10, &csc->retries)) != 0)
		return r;
	return 0;
}

static int
load_vero(struct loader *l, const cJSON *obj, struct sg_vero_settings *vero)
{
	int env = 0, r;

	/* docs/authorities.md §2: renewal at the earliest 60 days before expiry, so a
	 * wider window could only produce refusals; polls 15-45 s, <= 10 tries.
	 * No default environment: sending to PRODUCTION by accident is worse
	 * than a load error. Responses are always signed and always checked. */
	vero->renewal_window_days = 60;
	vero->poll_interval_s = 30;
	vero->poll_max = 10;
	if ((r = get_path(l, obj, "response_signer_ca_file", 1,
	    &vero->response_signer_ca_file)) != 0 ||
	    (r = get_enum(l, obj, "environment", 1, vero_environments, &env)) != 0 ||
	    (r = get_uint_field(l, obj, "renewal_window_days", 0, 1, 60,
	    &vero->renewal_window_days)) != 0 ||
	    (r = get_uint_field(l, obj, "poll_interval_s", 0, 1, 3600,
	    &vero->poll_interval_s)) != 0 ||
	    (r = get_uint_field(l, obj, "poll_max", 0, 1, 100, &vero->poll_max)) != 0)
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

static int
load_sign_parts(struct loader *l, const cJSON *arr, struct sg_wssec_settings *ws)
{
	const cJSON *v;
	size_t i = 0, j, old_i, n = (size_t)cJSON_GetArraySize(arr);
	int has_body = 0, r;

	if (n == 0 || n > SIGN_PARTS_MAX)
		return fail(l, "must list 1 to %d parts", SIGN_PARTS_MAX);
	if ((ws->sign_parts = calloc(n, sizeof(*ws->sign_parts))) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, arr) {
		old_i = path_push_index(l, i);
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return fail(l, "must be a string, not %s", json_type(v));
		if (!valid_xml_name(v->valuestring))
			return fail(l, "%s is not a part name", shown(l, 0, v->valuestring));
		for (j = 0; j < i; j++) {
			if (strcmp(ws->sign_parts[j], v->valuestring) == 0)
				return fail(l, "part %s listed twice", shown(l, 0, v->valuestring));
		}
		if ((r = dup_str(l, v->valuestring, &ws->sign_parts[i])) != 0)
			return r;
		ws->n_sign_parts = ++i;
		has_body |= strcmp(v->valuestring, "Body") == 0;
		path_pop(l, old_i);
	}
	/* A signature that leaves the Body out authenticates nothing the
	 * client sent; the STIL services fault on it too. */
	if (!has_body)
		return fail(l, "must include \"Body\"");
	return 0;
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
		return fail(l, "at most %d headers", HEADERS_MAX);
	if (n == 0)
		return 0;
	if ((ws->headers = calloc(n, sizeof(*ws->headers))) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, obj) {
		old_i = path_push_key(l, v->string);
		if (!valid_xml_name(v->string))
			return fail(l, "not a header element name");
		for (j = 0; j < i; j++) {
			if (strcmp(ws->headers[j].name, v->string) == 0)
				return fail(l, "duplicate key");
		}
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return fail(l, "must be a string, not %s", json_type(v));
		if (!valid_header_value(v->valuestring))
			return fail(l, "must be 1 to %d characters without control characters",
			    HEADER_VALUE_MAX);
		if ((r = dup_str(l, v->string, &ws->headers[i].name)) != 0)
			return r;
		ws->n_headers = ++i;
		if ((r = dup_str(l, v->valuestring, &ws->headers[i - 1].value)) != 0)
			return r;
		path_pop(l, old_i);
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
load_wssec(struct loader *l, const cJSON *obj, struct sg_wssec_settings *ws)
{
	const struct wssec_preset *preset = NULL;
	const cJSON *parts, *headers;
	const char *ns = NULL, *foreign;
	size_t i, old;
	int soap = 0, sig = 0, digest = 0, r;

	if ((r = get_strdup(l, obj, "preset", 0, &ws->preset)) != 0)
		return r;
	if (ws->preset != NULL) {
		for (i = 0; wssec_presets[i].name != NULL; i++) {
			if (strcmp(wssec_presets[i].name, ws->preset) == 0)
				preset = &wssec_presets[i];
		}
		if (preset == NULL) {
			path_push_key(l, "preset");
			return fail(l, "unknown preset %s; expected \"stil-ipl\" or \"stil-bpi\"",
			    shown(l, 0, ws->preset));
		}
		soap = (int)preset->soap_version;
		sig = (int)preset->signature;
		digest = (int)preset->digest;
		if (preset->header_namespace != NULL &&
		    (r = dup_str(l, preset->header_namespace, &ws->header_namespace)) != 0)
			return r;
	}
	ws->timestamp_ttl_s = 300;
	ws->verify_response = 1;
	ws->timeout_ms = 10000;
	ws->retries = 2;
	/* Without a preset the profile must be spelled out in full. */
	if ((r = get_enum(l, obj, "soap_version", preset == NULL, soap_versions, &soap)) != 0 ||
	    (r = get_enum(l, obj, "signature", preset == NULL, xmlsig_algs, &sig)) != 0 ||
	    (r = get_enum(l, obj, "digest", preset == NULL, xmldigest_algs, &digest)) != 0 ||
	    (r = get_array(l, obj, "sign_parts", preset == NULL, &parts)) != 0 ||
	    (r = get_uint_field(l, obj, "timestamp_ttl_s", 0, 1, 3600,
	    &ws->timestamp_ttl_s)) != 0 ||
	    (r = get_object(l, obj, "headers", 0, &headers)) != 0 ||
	    (r = get_bool(l, obj, "verify_response", &ws->verify_response)) != 0 ||
	    (r = get_path(l, obj, "response_signer_ca_file", ws->verify_response,
	    &ws->response_signer_ca_file)) != 0 ||
	    (r = get_uint_field(l, obj, "timeout_ms", 0, 1, 600000, &ws->timeout_ms)) != 0 ||
	    (r = get_uint_field(l, obj, "retries", 0, 0, 5, &ws->retries)) != 0 ||
	    (r = get_str(l, obj, "header_namespace", 0, &ns)) != 0)
		return r;
	if (ns != NULL) {
		if (!valid_header_value(ns)) {
			path_push_key(l, "header_namespace");
			return fail(l, "must be a namespace name without control characters");
		}
		free(ws->header_namespace);
		ws->header_namespace = NULL;
		if ((r = dup_str(l, ns, &ws->header_namespace)) != 0)
			return r;
	}
	ws->soap_version = (enum sg_soap_version)soap;
	ws->signature = (enum sg_xmlsig_alg)sig;
	ws->digest = (enum sg_xmldigest_alg)digest;
	if (parts != NULL) {
		old = path_push_key(l, "sign_parts");
		if ((r = load_sign_parts(l, parts, ws)) != 0)
			return r;
		path_pop(l, old);
	} else if (preset != NULL) {
		for (i = 0; preset->sign_parts[i] != NULL; i++)
			;
		if ((ws->sign_parts = calloc(i, sizeof(*ws->sign_parts))) == NULL)
			return fail_r(l, SG_ERR_ALLOC, "out of memory");
		for (i = 0; preset->sign_parts[i] != NULL; i++) {
			if ((r = dup_str(l, preset->sign_parts[i], &ws->sign_parts[i])) != 0)
				return r;
			ws->n_sign_parts = i + 1;
		}
	}
	if (headers != NULL) {
		old = path_push_key(l, "headers");
		if ((r = load_headers(l, headers, ws)) != 0)
			return r;
		path_pop(l, old);
	}
	if (ws->header_namespace == NULL && own_headers(ws, &foreign)) {
		if (foreign != NULL) {
			path_push_key(l, "header_namespace");
			return fail(l, "is required: the profile names header %s",
			    shown(l, 0, foreign));
		}
		if ((r = dup_str(l, STIL_BPI_NAMESPACE, &ws->header_namespace)) != 0)
			return r;
	}
	return 0;
}

static int
load_authority(struct loader *l, const cJSON *obj, struct sg_authority *a)
{
	static const char *const *const keys_by_type[] = {
		[SG_AUTHORITY_CSC_V2] = csc_keys,
		[SG_AUTHORITY_VERO_CERTSERVICE] = vero_keys,
		[SG_AUTHORITY_WSSEC_SOAP] = wssec_keys,
	};
	const char *url;
	char what[64];
	int type = 0, r, n;

	if (!cJSON_IsObject(obj))
		return fail(l, "must be an object, not %s", json_type(obj));
	if ((r = get_enum(l, obj, "type", 1, authority_types, &type)) != 0)
		return r;
	a->type = (enum sg_authority_type)type;
	n = snprintf(what, sizeof(what), " for a %s authority", authority_types[type - 1].name);
	if (n < 0 || (size_t)n >= sizeof(what))
		what[0] = '\0';	/* the type in the message is a courtesy */
	if ((r = check_keys(l, obj, keys_by_type[type], what)) != 0 ||
	    (r = get_str(l, obj, "url", 1, &url)) != 0)
		return r;
	/* Authorities are reached with mutual TLS; plain http would send the
	 * request, and the client certificate exchange, in the clear. */
	if (strncmp(url, "https://", 8) != 0 || url[8] == '\0') {
		path_push_key(l, "url");
		return fail(l, "must be an https:// URL");
	}
	if ((r = dup_str(l, url, &a->url)) != 0 ||
	    (r = get_path(l, obj, "ca_file", 1, &a->ca_file)) != 0)
		return r;
	switch (a->type) {
	case SG_AUTHORITY_CSC_V2:
		return load_csc(l, obj, &a->csc);
	case SG_AUTHORITY_VERO_CERTSERVICE:
		return load_vero(l, obj, &a->vero);
	case SG_AUTHORITY_WSSEC_SOAP:
		return load_wssec(l, obj, &a->wssec);
	}
	return fail_r(l, SG_ERR_INTERNAL, "unhandled authority type");
}

static int
load_authorities(struct loader *l, const cJSON *root)
{
	struct sg_config *cfg = l->cfg;
	const cJSON *obj, *v;
	size_t old, old_a, n, first, dup_idx;
	int r;

	if ((r = get_object(l, root, "authorities", 0, &obj)) != 0)
		return r;
	old = path_push_key(l, "authorities");
	n = obj != NULL ? (size_t)cJSON_GetArraySize(obj) : 0;
	if (n > 0 && (cfg->authorities = calloc(n, sizeof(*cfg->authorities))) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	if (obj != NULL) {
		cJSON_ArrayForEach(v, obj) {
			struct sg_authority *a = &cfg->authorities[cfg->n_authorities++];

			old_a = path_push_key(l, v->string);
			if (!sg_config_name_valid(v->string))
				return fail(l, "not a valid authority name (%s)", NAME_RULE);
			if ((r = dup_str(l, v->string, &a->name)) != 0 ||
			    (r = load_authority(l, v, a)) != 0)
				return r;
			path_pop(l, old_a);
		}
	}
	if ((r = build_index(l, cfg->n_authorities, authority_name_at, &l->authority_refs,
	    &first, &dup_idx)) != 0)
		return r;
	if (dup_idx != SIZE_MAX) {
		path_push_key(l, cfg->authorities[dup_idx].name);
		return fail(l, "duplicate key");
	}
	path_pop(l, old);
	return 0;
}

/* Look up an authority reference of an identity; the caller has the path
 * at the referencing member. */
static int
resolve_authority(struct loader *l, const char *name, const struct sg_authority **ap)
{
	size_t idx;

	if (find_ref(l->authority_refs, l->cfg->n_authorities, name, &idx) != 0)
		return fail(l, "no authority named %s in $.authorities", shown(l, 0, name));
	*ap = &l->cfg->authorities[idx];
	return 0;
}

static const char *
type_name(enum sg_authority_type type)
{
	return authority_types[type - 1].name;
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
		path_push_key(l, "uses");
		return fail(l, "\"%s\" needs an authority of type %s",
		    (id->uses & SG_USE_STAMP) ? "stamp" : "soap",
		    (id->uses & SG_USE_STAMP) ? "csc-v2" : "wssec-soap");
	}
	old = path_push_key(l, "authority");
	if ((id->uses & SG_USE_SIGN) != 0)
		return fail(l, "not allowed on an identity with use \"sign\": an authority "
		    "credential must never sign arbitrary digests");
	if (a->type == SG_AUTHORITY_VERO_CERTSERVICE)
		return fail(l, "%s is a vero-certservice authority; name it as \"issuer\"",
		    shown(l, 0, a->name));
	if ((id->uses & SG_USE_STAMP) != 0 && a->type != SG_AUTHORITY_CSC_V2)
		return fail(l, "%s is %s, but use \"stamp\" needs csc-v2",
		    shown(l, 0, a->name), type_name(a->type));
	if ((id->uses & SG_USE_SOAP) != 0 && a->type != SG_AUTHORITY_WSSEC_SOAP)
		return fail(l, "%s is %s, but use \"soap\" needs wssec-soap",
		    shown(l, 0, a->name), type_name(a->type));
	path_pop(l, old);
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
		path_push_key(l, "key_label");
		return fail(l, "%s is reserved: labels ending in \"%s\" or holding \"%s\" are "
		    "the keys a renewal makes and retires", shown(l, 0, label), SG_LABEL_NEXT_SUFFIX,
		    SG_LABEL_RETIRED_INFIX);
	}
	return 0;
}

static int
load_identity(struct loader *l, const cJSON *obj, struct sg_identity *id)
{
	const char *authority, *issuer;
	size_t old, customer_len;
	const cJSON *v;
	int r;

	if (!cJSON_IsObject(obj))
		return fail(l, "must be an object, not %s", json_type(obj));
	if ((r = check_keys(l, obj, identity_keys, "")) != 0 ||
	    (r = get_name(l, obj, "name", &id->name)) != 0 ||
	    (r = get_strdup(l, obj, "key_label", 1, &id->key_label)) != 0 ||
	    (r = get_str(l, obj, "authority", 0, &authority)) != 0 ||
	    (r = get_str(l, obj, "issuer", 0, &issuer)) != 0 ||
	    (r = get_flags(l, obj, "uses", 1, use_names, "use", &id->uses)) != 0)
		return r;
	if ((r = check_key_label(l, id->key_label)) != 0)
		return r;
	if (authority != NULL) {
		old = path_push_key(l, "authority");
		if ((r = resolve_authority(l, authority, &id->authority)) != 0)
			return r;
		path_pop(l, old);
	}
	if ((r = check_identity_uses(l, id)) != 0)
		return r;
	if (issuer != NULL) {
		old = path_push_key(l, "issuer");
		if ((r = resolve_authority(l, issuer, &id->issuer)) != 0)
			return r;
		if (id->issuer->type != SG_AUTHORITY_VERO_CERTSERVICE)
			return fail(l, "%s is %s; an issuer must be vero-certservice",
			    shown(l, 0, issuer), type_name(id->issuer->type));
		path_pop(l, old);
		/* The issuer accepts renewals signed by this key: a raw
		 * signature through /v1/sign would let a client renew the
		 * certificate onto a key of its own. */
		if ((id->uses & SG_USE_SIGN) != 0) {
			path_push_key(l, "uses");
			return fail(l, "\"sign\" is not allowed on an identity with an \"issuer\": "
			    "its key signs the renewals the issuer accepts");
		}
		if ((r = get_strdup(l, obj, "customer_id", 1, &id->customer_id)) != 0 ||
		    (r = get_strdup(l, obj, "customer_name", 0, &id->customer_name)) != 0 ||
		    (r = get_bool(l, obj, "auto_renew", &id->auto_renew)) != 0)
			return r;
		if (strlen(id->customer_id) > VERO_CUSTOMER_ID_MAX) {
			path_push_key(l, "customer_id");
			return fail(l, "at most %d characters (Vero's schema)",
			    VERO_CUSTOMER_ID_MAX);
		}
		customer_len = id->customer_name != NULL ? strlen(id->customer_name) : 0;
		if (customer_len > VERO_CUSTOMER_NAME_MAX) {
			path_push_key(l, "customer_name");
			return fail(l, "at most %d bytes (Vero's schema)", VERO_CUSTOMER_NAME_MAX);
		}
		return 0;
	}
	/* Enrolment data without an issuer would be silently ignored. */
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "customer_id")) != NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, "customer_name")) != NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, "auto_renew")) != NULL) {
		path_push_key(l, v->string);
		return fail(l, "only valid on an identity with an \"issuer\"");
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

	if ((r = get_array(l, root, "identities", 0, &arr)) != 0)
		return r;
	old = path_push_key(l, "identities");
	n = arr != NULL ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n > 0 && (cfg->identities = calloc(n, sizeof(*cfg->identities))) == NULL)
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	if (arr != NULL) {
		cJSON_ArrayForEach(v, arr) {
			struct sg_identity *id = &cfg->identities[cfg->n_identities];

			id->index = cfg->n_identities++;
			old_i = path_push_index(l, id->index);
			if ((r = load_identity(l, v, id)) != 0)
				return r;
			path_pop(l, old_i);
		}
	}
	if ((r = build_index(l, cfg->n_identities, identity_name_at, &l->identity_refs,
	    &first, &dup_idx)) != 0)
		return r;
	if (dup_idx != SIZE_MAX) {
		path_push(l, "[%zu].name", dup_idx);
		return fail(l, "duplicate identity name %s (also $.identities[%zu])",
		    shown(l, 0, cfg->identities[dup_idx].name), first);
	}
	/* Two identities on one key would let a "sign" identity reach the key
	 * of a stamp or soap one, undoing the rules above. */
	if ((r = build_index(l, cfg->n_identities, identity_label_at, &labels,
	    &first, &dup_idx)) != 0)
		return r;
	free(labels);
	if (dup_idx != SIZE_MAX) {
		path_push(l, "[%zu].key_label", dup_idx);
		return fail(l, "key %s is already used by $.identities[%zu]; one key, one identity",
		    shown(l, 0, cfg->identities[dup_idx].key_label), first);
	}
	path_pop(l, old);
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
	old = path_push(l, ".audit.checkpoint_identity");
	if (find_ref(l->identity_refs, l->cfg->n_identities, l->checkpoint_name, &idx) != 0)
		return fail(l, "no identity named %s in $.identities",
		    shown(l, 0, l->checkpoint_name));
	id = &l->cfg->identities[idx];
	if (id->uses != 0 || id->authority != NULL || id->issuer != NULL)
		return fail(l, "identity %s has uses, an authority or an issuer; the audit signer "
		    "must have none of them", shown(l, 0, id->name));
	l->cfg->audit.checkpoint_identity = id;
	path_pop(l, old);
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
		return fail_r(l, SG_ERR_ALLOC, "out of memory");
	cJSON_ArrayForEach(v, arr) {
		old_i = path_push_index(l, i++);
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			return fail(l, "must be a string, not %s", json_type(v));
		if (find_ref(l->identity_refs, l->cfg->n_identities, v->valuestring, &idx) != 0)
			return fail(l, "no identity named %s in $.identities",
			    shown(l, 0, v->valuestring));
		/* granted[] remembers, per identity, the last client that listed
		 * it: a duplicate check without a pass per pair. */
		if (granted[idx] == stamp)
			return fail(l, "identity %s listed twice", shown(l, 0, v->valuestring));
		granted[idx] = stamp;
		c->identities[c->n_identities++] = idx;
		path_pop(l, old_i);
	}
	return 0;
}

static int
load_client(struct loader *l, const cJSON *obj, struct sg_client *c, size_t *granted,
    size_t stamp)
{
	const cJSON *idents;
	const char *hex;
	unsigned char *raw = NULL;
	size_t raw_len = 0, old;
	int r;

	if (!cJSON_IsObject(obj))
		return fail(l, "must be an object, not %s", json_type(obj));
	if ((r = check_keys(l, obj, client_keys, "")) != 0 ||
	    (r = get_name(l, obj, "name", &c->name)) != 0 ||
	    (r = get_str(l, obj, "token_sha256", 1, &hex)) != 0)
		return r;
	old = path_push_key(l, "token_sha256");
	if (strlen(hex) != 2 * sizeof(c->token_sha256) ||
	    sg_hex_decode(hex, strlen(hex), &raw, &raw_len) != 0 ||
	    raw_len != sizeof(c->token_sha256)) {
		free(raw);
		return fail(l, "must be exactly 64 hex digits (the SHA-256 of the client's token)");
	}
	memcpy(c->token_sha256, raw, sizeof(c->token_sha256));
	free(raw);
	path_pop(l, old);
	if ((r = get_flags(l, obj, "roles", 1, role_names, "role", &c->roles)) != 0)
		return r;
	if (c->roles == 0) {
		path_push_key(l, "roles");
		return fail(l, "must name at least one role");
	}
	if ((r = get_array(l, obj, "identities", 0, &idents)) != 0)
		return r;
	if (idents != NULL) {
		old = path_push_key(l, "identities");
		if ((r = load_client_identities(l, idents, c, granted, stamp)) != 0)
			return r;
		path_pop(l, old);
	}
	return 0;
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

	if ((r = get_array(l, root, "clients", 0, &arr)) != 0)
		return r;
	old = path_push_key(l, "clients");
	n = arr != NULL ? (size_t)cJSON_GetArraySize(arr) : 0;
	if (n == 0) {
		path_pop(l, old);
		return 0;
	}
	if ((cfg->clients = calloc(n, sizeof(*cfg->clients))) == NULL ||
	    (granted = calloc(cfg->n_identities > 0 ? cfg->n_identities : 1,
	    sizeof(*granted))) == NULL) {
		r = fail_r(l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(v, arr) {
		struct sg_client *c = &cfg->clients[cfg->n_clients++];

		old_i = path_push_index(l, cfg->n_clients - 1);
		/* stamp = client number + 1, so the zeroed array means "none". */
		if ((r = load_client(l, v, c, granted, cfg->n_clients)) != 0)
			goto out;
		path_pop(l, old_i);
	}
	if ((r = build_index(l, cfg->n_clients, client_name_at, &names, &first, &dup_idx)) != 0)
		goto out;
	if (dup_idx != SIZE_MAX) {
		path_push(l, "[%zu].name", dup_idx);
		r = fail(l, "duplicate client name %s (also $.clients[%zu])",
		    shown(l, 0, cfg->clients[dup_idx].name), first);
		goto out;
	}
	/* A shared token would make the two clients one; compared with the
	 * same constant-time primitive as at run time. */
	for (j = 1; j < cfg->n_clients; j++) {
		for (i = 0; i < j; i++) {
			if (sg_ct_equal(cfg->clients[i].token_sha256, cfg->clients[j].token_sha256,
			    sizeof(cfg->clients[j].token_sha256))) {
				path_push(l, "[%zu].token_sha256", j);
				r = fail(l, "same token as $.clients[%zu]; every client needs "
				    "its own", i);
				goto out;
			}
		}
	}
	path_pop(l, old);
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
		return fail(l, "must be an object, not %s", json_type(root));
	if ((r = check_keys(l, root, top_keys, "")) != 0 ||
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
	path_push(&l, "$");
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (json == NULL && len != 0) {
		r = fail_r(&l, SG_ERR_INVALID_ARG, "no configuration text");
		goto out;
	}
	if (len > SG_CONFIG_MAX_BYTES) {
		r = fail_r(&l, SG_ERR_TOO_LARGE, "configuration larger than %d bytes",
		    SG_CONFIG_MAX_BYTES);
		goto out;
	}
	/* cJSON wants the terminating NUL inside the length to reject
	 * trailing garbage, so parse a terminated copy; a NUL of the input's
	 * own would end the text early and is refused here. */
	if ((nul = memchr(json, '\0', len)) != NULL) {
		r = fail_r(&l, SG_ERR_PARSE, "invalid JSON at byte %zu: NUL byte",
		    (size_t)(nul - json));
		goto out;
	}
	if ((text = malloc(len + 1)) == NULL) {
		r = fail_r(&l, SG_ERR_ALLOC, "out of memory");
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
		r = fail_r(&l, SG_ERR_PARSE, "invalid JSON at byte %zu (line %zu, column %zu)%s",
		    offset, line, col, offset >= len ? ": unexpected end of input" : "");
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = fail_r(&l, SG_ERR_ALLOC, "out of memory");
		goto out;
	}
	l.cfg = cfg;
	if ((r = load_config(&l, root)) != 0)
		goto out;
	if ((base_dir != NULL && (cfg->base_dir = strdup(base_dir)) == NULL)) {
		r = fail_r(&l, SG_ERR_ALLOC, "out of memory");
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
		put_error(errbuf, errlen, "%s: out of memory", path);
		return SG_ERR_ALLOC;
	}
	if ((*dirp = realpath(dir, NULL)) == NULL) {
		put_error(errbuf, errlen, "%s: cannot resolve its directory: %s", path,
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
		put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
		return SG_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
		r = SG_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		put_error(errbuf, errlen, "%s: not a regular file", path);
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
			put_error(errbuf, errlen, "%s: %s", path, strerror(errno));
			r = SG_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = sg_buf_append(text, chunk, (size_t)n)) == SG_ERR_TOO_LARGE)
			goto too_large;
		if (r != 0) {
			put_error(errbuf, errlen, "%s: %s", path, sg_strerror(r));
			goto out;
		}
	}
	r = 0;
	goto out;
 too_large:
	put_error(errbuf, errlen, "%s: larger than %d bytes", path, SG_CONFIG_MAX_BYTES);
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

static void
authority_clear(struct sg_authority *a)
{
	size_t i;

	free(a->name);
	free(a->url);
	free(a->ca_file);
	free(a->csc.credential_id);
	free(a->vero.response_signer_ca_file);
	free(a->wssec.preset);
	for (i = 0; i < a->wssec.n_sign_parts; i++)
		free(a->wssec.sign_parts[i]);
	free(a->wssec.sign_parts);
	for (i = 0; i < a->wssec.n_headers; i++) {
		free(a->wssec.headers[i].name);
		free(a->wssec.headers[i].value);
	}
	free(a->wssec.headers);
	free(a->wssec.response_signer_ca_file);
	free(a->wssec.header_namespace);
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
	free(cfg->token.module);
	free(cfg->token.label);
	free(cfg->token.pin_file);
	free(cfg->audit.dir);
	for (i = 0; i < cfg->n_authorities; i++)
		authority_clear(&cfg->authorities[i]);
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
		mask = (size_t)0 - (size_t)sg_ct_equal(cfg->clients[i].token_sha256, sha256,
		    sizeof(cfg->clients[i].token_sha256));
		found = (found & ~mask) | ((i + 1) & mask);
		match |= mask;
	}
	if (match == 0)
		return NULL;
	return &cfg->clients[found - 1];
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
