/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON bodies of POST /v1/sign, of POST /v1/stamp's digest form and
 * of POST /v1/timestamp, from outside bytes to a checked request: identity
 * (or a timestamp's authority), digest algorithm and value, format (sign)
 * or document name (stamp). Strict where cJSON is
 * lenient (UTF-8, NUL, trailing data), so what is signed and audited is
 * what the client wrote. Owns nothing past the call but what it hands
 * over in struct gw_sign_request; no token, no network, no libmicrohttpd
 * (tests/fuzz/fuzz_digest_request links it alone). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "gw.h"
#include "gw_sign_request.h"
#include "sg_codec.h"
#include "sg_err.h"

static const char *const sign_members[] = { "identity", "digest", "format" };
static const char *const stamp_members[] = { "identity", "digest", "name" };
static const char *const timestamp_members[] = { "authority", "digest", NULL };
#define N_REQUEST_MEMBERS 3
static const char *const digest_members[] = { "alg", "value" };
#define N_DIGEST_MEMBERS (sizeof(digest_members) / sizeof(digest_members[0]))

static const struct digest_alg {
	const char *name;
	const EVP_MD *(*md)(void);
} digest_algs[] = {
	{ "sha256", EVP_sha256 },
	{ "sha384", EVP_sha384 },
	{ "sha512", EVP_sha512 },
};

/* why gets the 400's description (GW_SIGN_WHY_MAX holds every one of
 * them; a shorter buffer gets "" rather than half a sentence). */
static void __attribute__((format(printf, 3, 4)))
describe(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (whylen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= whylen)
		why[0] = '\0';
}

/* RFC 8259 text only: UTF-8 (no overlong forms, no surrogates, nothing
 * past U+10FFFF) without a raw NUL. cJSON checks neither, and a NUL or a
 * stray byte inside a string would reach the identity lookup and the
 * answer as something other than what the client sent. */
static int
utf8_text(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;
	unsigned int cp;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 1;
			cp = p[i] & 0x1fu;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			cp = p[i] & 0x0fu;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			cp = p[i] & 0x07u;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* 1 when a string of the (well-formed) JSON text holds the escape
 * \u0000: cJSON would cut the string there ("local-seal\u0000x" would
 * name local-seal). */
static int
escaped_nul(const char *p, size_t len)
{
	size_t i;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		if (!in_string) {
			in_string = p[i] == '"';
			continue;
		}
		if (p[i] == '"')
			in_string = 0;
		else if (p[i] == '\\' && i + 1 < len) {
			if (p[i + 1] == 'u' && len - i >= 6 && memcmp(p + i + 2, "0000", 4) == 0)
				return 1;
			i++;	/* the escaped character, whatever it is */
		}
	}
	return 0;
}

/* Only whitespace may follow the object (cJSON stops reading at its end). */
static int
only_whitespace(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return 0;
	}
	return 1;
}


/* Every member of obj is one of names[0..n-1], each at most once (cJSON
 * would take the first of two, another parser the last). 0, or
 * SG_ERR_PARSE with why filled in; prefix goes before a member's name. */
static int
check_members(const cJSON *obj, const char *const *names, size_t n, const char *prefix,
    char *why, size_t whylen)
{
	const cJSON *item;
	unsigned int seen = 0;
	size_t i, echo;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; i < n && strcmp(item->string, names[i]) != 0; i++)
			;
		if (i == n) {
			/* At most 64 bytes of the name, not cut inside a character. */
			echo = strnlen(item->string, 64);
			while (echo > 0 && ((unsigned char)item->string[echo] & 0xc0) == 0x80)
				echo--;
			describe(why, whylen, "unknown member \"%s%.*s\"", prefix, (int)echo,
			    item->string);
			return SG_ERR_PARSE;
		}
		if ((seen & (1u << i)) != 0) {
			describe(why, whylen, "member \"%s%s\" appears more than once", prefix,
			    names[i]);
			return SG_ERR_PARSE;
		}
		seen |= 1u << i;
	}
	return 0;
}

/* "name" of a stamp request: what the document is called, for people. */
static int
document_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > GW_STAMP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (sg_is_ctl(s[i]))
			return 0;
	}
	return 1;
}

/* The outside bytes as one JSON object (*docp, cJSON_Delete): UTF-8, no
 * trailing data, no \u0000. SG_ERR_PARSE with why. */
static int
parse_object(const char *body, size_t len, cJSON **docp, char *why, size_t whylen)
{
	const char *end = NULL;
	cJSON *doc;

	*docp = NULL;
	if (body == NULL || !utf8_text((const unsigned char *)body, len)) {
		describe(why, whylen, "the body is not UTF-8 text");
		return SG_ERR_PARSE;
	}
	if ((doc = cJSON_ParseWithLengthOpts(body, len, &end, 0)) == NULL || !cJSON_IsObject(doc)) {
		describe(why, whylen, "the body is not a JSON object");
		cJSON_Delete(doc);
		return SG_ERR_PARSE;
	}
	if (!only_whitespace(end, len - (size_t)(end - body))) {
		describe(why, whylen, "the body goes on after its JSON object");
		cJSON_Delete(doc);
		return SG_ERR_PARSE;
	}
	if (escaped_nul(body, len)) {
		describe(why, whylen, "a string in the body holds \\u0000");
		cJSON_Delete(doc);
		return SG_ERR_PARSE;
	}
	*docp = doc;
	return 0;
}

/* doc's member named (an identity or authority name) into *namedp (new). */
static int
parse_name(const cJSON *doc, const char *named, char **namedp, char *why, size_t whylen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, named);

	if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
		describe(why, whylen, "\"%s\" must be a non-empty string", named);
		return SG_ERR_PARSE;
	}
	if (!sg_config_name_valid(item->valuestring)) {
		describe(why, whylen, "\"%s\" is not an %s name (1-%d of A-Z a-z 0-9 . _ -)", named,
		    named, SG_CONFIG_NAME_MAX);
		return SG_ERR_PARSE;
	}
	return (*namedp = strdup(item->valuestring)) != NULL ? 0 : SG_ERR_ALLOC;
}

/* "digest":{"alg","value"} (prefix names it in messages) into *mdp, *algp
 * and *digestp (new), *lenp. */
static int
parse_digest(const cJSON *digest, const char *prefix, const EVP_MD **mdp, const char **algp,
    unsigned char **digestp, size_t *lenp, char *why, size_t whylen)
{
	const struct digest_alg *da = NULL;
	const cJSON *alg, *value;
	char members_prefix[32];
	size_t i;
	int r;

	if (!cJSON_IsObject(digest)) {
		describe(why, whylen, "\"%s\" must be an object with alg and value", prefix);
		return SG_ERR_PARSE;
	}
	if (snprintf(members_prefix, sizeof(members_prefix), "%s.", prefix) >=
	    (int)sizeof(members_prefix))
		return SG_ERR_INTERNAL;
	if (check_members(digest, digest_members, N_DIGEST_MEMBERS, members_prefix, why,
	    whylen) != 0)
		return SG_ERR_PARSE;
	alg = cJSON_GetObjectItemCaseSensitive(digest, "alg");
	value = cJSON_GetObjectItemCaseSensitive(digest, "value");
	if (!cJSON_IsString(alg) || !cJSON_IsString(value)) {
		describe(why, whylen, "\"%s.alg\" and \"%s.value\" must be strings", prefix, prefix);
		return SG_ERR_PARSE;
	}
	for (i = 0; i < sizeof(digest_algs) / sizeof(digest_algs[0]); i++) {
		if (strcmp(alg->valuestring, digest_algs[i].name) == 0)
			da = &digest_algs[i];
	}
	if (da == NULL) {
		describe(why, whylen, "\"%s.alg\" is sha256, sha384 or sha512", prefix);
		return SG_ERR_PARSE;
	}
	*algp = da->name;
	*mdp = da->md();
	r = sg_b64_decode(value->valuestring, strlen(value->valuestring), SG_B64_STD, digestp,
	    lenp);
	if (r == SG_ERR_ALLOC)
		return r;
	if (r != 0) {
		describe(why, whylen, "\"%s.value\" is not base64", prefix);
		return SG_ERR_PARSE;
	}
	if (*lenp != (size_t)EVP_MD_get_size(*mdp)) {
		describe(why, whylen, "a %s digest is %d bytes, not %zu", *algp, EVP_MD_get_size(*mdp),
		    *lenp);
		free(*digestp);
		*digestp = NULL;
		*lenp = 0;
		return SG_ERR_PARSE;
	}
	return 0;
}

enum request_kind { SIGN_REQUEST, STAMP_REQUEST, TIMESTAMP_REQUEST };

/* The body of a sign, stamp or timestamp request: the thing it names is
 * an identity, or for a timestamp an authority (kept in out->identity's
 * place, out->authority). */
static int
parse(const char *body, size_t len, enum request_kind kind, struct gw_sign_request *out,
    char *why, size_t whylen)
{
	static const char *const *const members[] = {
		[SIGN_REQUEST] = sign_members, [STAMP_REQUEST] = stamp_members,
		[TIMESTAMP_REQUEST] = timestamp_members,
	};
	const char *named = kind == TIMESTAMP_REQUEST ? "authority" : "identity";
	char **namedp = kind == TIMESTAMP_REQUEST ? &out->authority : &out->identity;
	size_t n_members = kind == TIMESTAMP_REQUEST ? 2 : N_REQUEST_MEMBERS;
	const cJSON *format, *name;
	cJSON *doc = NULL;
	int r = SG_ERR_PARSE;

	memset(out, 0, sizeof(*out));
	if (whylen > 0)
		why[0] = '\0';
	if (parse_object(body, len, &doc, why, whylen) != 0)
		goto out;
	if (check_members(doc, members[kind], n_members, "", why, whylen) != 0)
		goto out;
	/* Kept from here on, also on failure: the refusal is audited under it. */
	if ((r = parse_name(doc, named, namedp, why, whylen)) != 0)
		goto out;
	r = SG_ERR_PARSE;
	name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (name != NULL && (!cJSON_IsString(name) || !document_name(name->valuestring))) {
		describe(why, whylen, "\"name\" is 1 to %d characters of text", GW_STAMP_NAME_MAX);
		goto out;
	}
	format = cJSON_GetObjectItemCaseSensitive(doc, "format");
	if (format != NULL && (!cJSON_IsString(format) || (strcmp(format->valuestring, "raw") != 0 &&
	    strcmp(format->valuestring, "cms") != 0))) {
		describe(why, whylen, "\"format\" is \"raw\" or \"cms\"");
		goto out;
	}
	out->cms = format != NULL && strcmp(format->valuestring, "cms") == 0;
	r = parse_digest(cJSON_GetObjectItemCaseSensitive(doc, "digest"), "digest", &out->md,
	    &out->alg, &out->digest, &out->digest_len, why, whylen);
 out:
	if (r == SG_ERR_ALLOC)
		describe(why, whylen, "out of memory");
	if (r != 0) {
		/* Only the identity outlives a failure (for the audit entry). */
		free(out->digest);
		out->digest = NULL;
		out->digest_len = 0;
	}
	cJSON_Delete(doc);
	return r;
}

static const char *const batch_members[] = { "identity", "digests" };

int
gw_stamp_batch_parse(const char *body, size_t len, struct gw_stamp_batch *out, char *why,
    size_t whylen)
{
	const cJSON *list, *item;
	cJSON *doc = NULL;
	char prefix[24];
	size_t n;
	int r = SG_ERR_PARSE;

	memset(out, 0, sizeof(*out));
	if (whylen > 0)
		why[0] = '\0';
	if (parse_object(body, len, &doc, why, whylen) != 0 ||
	    check_members(doc, batch_members, 2, "", why, whylen) != 0)
		goto out;
	if ((r = parse_name(doc, "identity", &out->identity, why, whylen)) != 0)
		goto out;
	r = SG_ERR_PARSE;
	list = cJSON_GetObjectItemCaseSensitive(doc, "digests");
	n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
	if (n < 1 || n > GW_STAMP_BATCH_MAX) {
		describe(why, whylen, "\"digests\" is an array of 1 to %d digests", GW_STAMP_BATCH_MAX);
		goto out;
	}
	cJSON_ArrayForEach(item, list) {
		const EVP_MD *md;
		const char *alg;

		if (snprintf(prefix, sizeof(prefix), "digests[%zu]", out->n) >= (int)sizeof(prefix)) {
			r = SG_ERR_INTERNAL;
			goto out;
		}
		if ((r = parse_digest(item, prefix, &md, &alg, &out->digests[out->n], &out->digest_len,
		    why, whylen)) != 0)
			goto out;
		out->n++;
		/* One signHash carries them all: one hash algorithm. */
		if (out->md != NULL && md != out->md) {
			describe(why, whylen, "every digest of a batch has the same alg");
			r = SG_ERR_PARSE;
			goto out;
		}
		out->md = md;
		out->alg = alg;
	}
	r = 0;
 out:
	if (r == SG_ERR_ALLOC)
		describe(why, whylen, "out of memory");
	if (r != 0) {
		while (out->n > 0)
			free(out->digests[--out->n]);
		out->md = NULL;
	}
	cJSON_Delete(doc);
	return r;
}

void
gw_stamp_batch_free(struct gw_stamp_batch *b)
{
	if (b == NULL)
		return;
	free(b->identity);
	while (b->n > 0)
		free(b->digests[--b->n]);
	memset(b, 0, sizeof(*b));
}

int
gw_sign_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen)
{
	return parse(body, len, SIGN_REQUEST, out, why, whylen);
}

int
gw_stamp_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen)
{
	return parse(body, len, STAMP_REQUEST, out, why, whylen);
}

int
gw_timestamp_request_parse(const char *body, size_t len, struct gw_sign_request *out, char *why,
    size_t whylen)
{
	return parse(body, len, TIMESTAMP_REQUEST, out, why, whylen);
}

void
gw_sign_request_free(struct gw_sign_request *sr)
{
	if (sr == NULL)
		return;
	free(sr->identity);
	free(sr->authority);
	free(sr->digest);
	memset(sr, 0, sizeof(*sr));
}
