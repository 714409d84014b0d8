/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 URIs (RFC 7512) naming a token or a key: checked, matched and
 * formatted with p11-kit's URI functions. A name without the "pkcs11:"
 * scheme is a plain label. The P11KitUri objects never leave this file. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sgp11_internal.h"

#define URI_SCHEME "pkcs11:"

/* Attributes sealgate acts on; p11-kit accepts more (slot-*, library-*),
 * and a name carrying one that sealgate would ignore is refused rather
 * than matched loosely. pin-value is refused: a PIN comes from a file. */
static const char *const known_attrs[] = {
	"token", "manufacturer", "serial", "model", "object", "id", "type",
	"module-path", "module-name", "pin-source", NULL
};

int
sgp11_uri_is(const char *name)
{
	return name != NULL && strncmp(name, URI_SCHEME, strlen(URI_SCHEME)) == 0;
}

static int
attr_known(const char *seg, size_t len)
{
	size_t i, n;

	for (i = 0; known_attrs[i] != NULL; i++) {
		n = strlen(known_attrs[i]);
		if (len >= n && strncmp(seg, known_attrs[i], n) == 0 &&
		    (len == n || seg[n] == '='))
			return 1;
	}
	return 0;
}

/* Check one "name=value" segment of the path (query=0) or the query. */
static int
segment_ok(const char *seg, size_t len, int query)
{
	P11KitUri *uri = NULL;
	char *one = NULL;
	size_t n = strlen(URI_SCHEME) + 1 + len + 1;
	int ok = 0;

	if (len == 0)
		return 1;
	if (!attr_known(seg, len) || memchr(seg, '=', len) == NULL)
		return 0;
	if ((one = malloc(n)) == NULL)
		return 0;
	if (snprintf(one, n, "%s%s%.*s", URI_SCHEME, query ? "?" : "", (int)len, seg) >= (int)n)
		goto out;
	if ((uri = p11_kit_uri_new()) == NULL)
		goto out;
	ok = p11_kit_uri_parse(one, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK &&
	    !p11_kit_uri_any_unrecognized(uri);
 out:
	p11_kit_uri_free(uri);
	free(one);
	return ok;
}

int
sgp11_uri_check(const char *name, char *attr, size_t attrlen)
{
	const char *p, *end, *seg;
	size_t len;
	int query = 0;

	if (attrlen > 0)
		attr[0] = '\0';
	if (!sgp11_uri_is(name))
		return 0;
	p = name + strlen(URI_SCHEME);
	while (*p != '\0') {
		seg = p;
		end = p + strcspn(p, query ? "&" : ";?");
		len = (size_t)(end - seg);
		if (!segment_ok(seg, len, query)) {
			size_t an = strcspn(seg, "=");

			if (an > len)
				an = len;
			/* A name too long for attr shows cut short, never
			 * overflows. */
			if (an == 0)
				(void)sg_strfit(attr, attrlen, "(empty attribute)");
			else if (attrlen > 0) {
				if (an >= attrlen)
					an = attrlen - 1;
				memcpy(attr, seg, an);
				attr[an] = '\0';
			}
			return SG_ERR_PARSE;
		}
		if (*end == '?')
			query = 1;
		p = *end == '\0' ? end : end + 1;
	}
	return 0;
}

/* Parse a checked URI: *urip is new (p11_kit_uri_free). */
static int
uri_parse(const char *name, P11KitUri **urip)
{
	char attr[64];
	P11KitUri *uri;
	int r;

	*urip = NULL;
	if ((r = sgp11_uri_check(name, attr, sizeof(attr))) != 0) {
		sg_error("bad PKCS#11 URI %s: attribute %s", name, attr);
		return SG_ERR_INVALID_ARG;
	}
	if ((uri = p11_kit_uri_new()) == NULL)
		return SG_ERR_ALLOC;
	if (p11_kit_uri_parse(name, P11_KIT_URI_FOR_ANY, uri) != P11_KIT_URI_OK) {
		p11_kit_uri_free(uri);
		sg_error("bad PKCS#11 URI %s", name);
		return SG_ERR_INVALID_ARG;
	}
	*urip = uri;
	return 0;
}

/* Copy a C string into a blank-padded Cryptoki field. */
static void
pad_field(unsigned char *field, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	memset(field, ' ', size);
	memcpy(field, s, n < size ? n : size);
}

static void
token_info_of(const PKCS11_TOKEN *t, CK_TOKEN_INFO *info)
{
	memset(info, 0, sizeof(*info));
	pad_field(info->label, sizeof(info->label), t->label);
	pad_field(info->manufacturerID, sizeof(info->manufacturerID), t->manufacturer);
	pad_field(info->model, sizeof(info->model), t->model);
	pad_field(info->serialNumber, sizeof(info->serialNumber), t->serialnr);
}

/* RFC 7512's module-name of a module path: the file name without a "lib"
 * prefix and from its first dot ("/usr/lib/libsofthsm2.so" → "softhsm2"). */
static int
module_name_is(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (strncmp(base, "lib", 3) == 0)
		base += 3;
	return strncmp(base, name, strlen(name)) == 0 &&
	    (base[strlen(name)] == '.' || base[strlen(name)] == '\0');
}

/* 0 when the URI names no module or names the one ctx has open. */
static int
module_ok(const struct sgp11_ctx *ctx, P11KitUri *uri, const char *name)
{
	const char *want = p11_kit_uri_get_module_path(uri);
	const char *want_name = p11_kit_uri_get_module_name(uri);
	char a[PATH_MAX], b[PATH_MAX];

	if (want_name != NULL && !module_name_is(ctx->module_path, want_name)) {
		sg_error("PKCS#11 URI %s: module-name is not the module in use (%s)", name,
		    ctx->module_path);
		return SG_ERR_INVALID_ARG;
	}
	if (want == NULL)
		return 0;
	if (strcmp(want, ctx->module_path) == 0 ||
	    (realpath(want, a) != NULL && realpath(ctx->module_path, b) != NULL &&
	    strcmp(a, b) == 0))
		return 0;
	sg_error("PKCS#11 URI %s: module-path is not the module in use (%s)", name,
	    ctx->module_path);
	return SG_ERR_INVALID_ARG;
}

int
sgp11_uri_token_matches(const struct sgp11_ctx *ctx, const char *name, const PKCS11_TOKEN *t)
{
	P11KitUri *uri = NULL;
	CK_TOKEN_INFO info;
	int r;

	if ((r = uri_parse(name, &uri)) != 0)
		return r;
	if ((r = module_ok(ctx, uri, name)) == 0) {
		token_info_of(t, &info);
		r = p11_kit_uri_match_token_info(uri, &info) ? 1 : 0;
	}
	p11_kit_uri_free(uri);
	return r;
}

int
sgp11_uri_key_query(const struct sgp11_ctx *ctx, const char *name, char **labelp,
    unsigned char **idp, size_t *id_lenp)
{
	P11KitUri *uri = NULL;
	CK_ATTRIBUTE_PTR a;
	CK_TOKEN_INFO info;
	int r;

	*labelp = NULL;
	*idp = NULL;
	*id_lenp = 0;
	if ((r = uri_parse(name, &uri)) != 0)
		return r;
	if ((r = module_ok(ctx, uri, name)) != 0)
		goto out;
	token_info_of(ctx->slot->token, &info);
	if (!p11_kit_uri_match_token_info(uri, &info)) {
		sg_error("PKCS#11 URI %s names another token", name);
		r = SG_ERR_KEY_NOT_FOUND;
		goto out;
	}
	if ((a = p11_kit_uri_get_attribute(uri, CKA_CLASS)) != NULL &&
	    (a->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
	    *(CK_OBJECT_CLASS *)a->pValue != CKO_PRIVATE_KEY)) {
		sg_error("PKCS#11 URI %s: type names no private key", name);
		r = SG_ERR_INVALID_ARG;
		goto out;
	}
	r = SG_ERR_ALLOC;
	if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL) {
		if ((*labelp = calloc(1, a->ulValueLen + 1)) == NULL)
			goto out;
		memcpy(*labelp, a->pValue, a->ulValueLen);
	}
	if ((a = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL) {
		if ((*idp = malloc(a->ulValueLen + 1)) == NULL)
			goto out;
		memcpy(*idp, a->pValue, a->ulValueLen);
		*id_lenp = a->ulValueLen;
	}
	r = 0;
 out:
	if (r != 0) {
		free(*labelp);
		free(*idp);
		*labelp = NULL;
		*idp = NULL;
		*id_lenp = 0;
	}
	p11_kit_uri_free(uri);
	return r;
}

int
sgp11_object_uri(struct sgp11_ctx *ctx, const char *label, const char *id_hex, char **urip)
{
	P11KitUri *uri = NULL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a;
	unsigned char *id = NULL;
	size_t id_len = 0;
	char *out = NULL;
	int r = SG_ERR_ALLOC;

	*urip = NULL;
	if (ctx->slot == NULL)
		return SG_ERR_TOKEN_NOT_FOUND;
	if ((r = sg_hex_decode(id_hex, strlen(id_hex), &id, &id_len)) != 0)
		return r;
	r = SG_ERR_ALLOC;
	if ((uri = p11_kit_uri_new()) == NULL)
		goto out;
	token_info_of(ctx->slot->token, p11_kit_uri_get_token_info(uri));
	a.type = CKA_CLASS;
	a.pValue = &cls;
	a.ulValueLen = sizeof(cls);
	if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
		goto out;
	a.type = CKA_LABEL;
	a.pValue = (void *)label;
	a.ulValueLen = strlen(label);
	if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
		goto out;
	a.type = CKA_ID;
	a.pValue = id;
	a.ulValueLen = id_len;
	if (id_len > 0 && p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
		goto out;
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &out) != P11_KIT_URI_OK)
		goto out;
	*urip = out;
	r = 0;
 out:
	p11_kit_uri_free(uri);
	free(id);
	return r;
}
