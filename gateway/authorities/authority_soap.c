/* SPDX-License-Identifier: Apache-2.0 */
/* WS-Security SOAP over mutual TLS (see authority_soap.h): the envelope is
 * signed by gw_wssec_sign, posted by gw_forward with the same identity's
 * key on the token, and a 2xx answer checked by gw_wssec_verify when the
 * profile says verify_response. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "authority_soap.h"
#include "gw_forward.h"
#include "gw_soapenv.h"
#include "gw_wssec_sign.h"
#include "gw_wssec_verify.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_codec.h"
#include "sg_err.h"

/* Room the WS-Security header adds to an envelope (the token's base64
 * comes on top). */
#define WSSEC_OVERHEAD	(64 * 1024)

struct gw_soap {
	const struct sg_authority *authority;
	struct sgp11_key *key;
	struct gw_forward *forward;
	char *base;			/* "https://host[:port]" of the URL */
	/* The URL's path (and query), for gw_forward_post; with
	 * SG_WSSEC_OPERATION_MARK in it when the url has one per operation. */
	char *path;
	char *token_b64;		/* the identity's certificate, base64 DER */
	X509_STORE *response_ca;	/* verify_response: the response signer's anchors */
};

static int
ecdsa(const struct sg_wssec_settings *ws)
{
	return ws->signature == SG_XMLSIG_ECDSA_SHA256 || ws->signature == SG_XMLSIG_ECDSA_SHA384;
}

/* "https://host[:port]" and the rest ("/" at least) of an authority URL. */
static int
split_url(const char *url, char **basep, char **pathp)
{
	const char *host = strstr(url, "://"), *slash;

	*basep = *pathp = NULL;
	if (host == NULL)
		return SG_ERR_INVALID_ARG;
	slash = strchr(host + 3, '/');
	if ((*basep = strndup(url, slash != NULL ? (size_t)(slash - url) : strlen(url))) == NULL ||
	    (*pathp = strdup(slash != NULL ? slash : "/")) == NULL) {
		free(*basep);
		*basep = NULL;
		return SG_ERR_ALLOC;
	}
	return 0;
}

int
gw_soap_new(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, struct gw_soap **sp, char *why, size_t whylen)
{
	const struct sg_wssec_settings *ws;
	struct gw_forward_opts fo;
	struct gw_soap *s;
	unsigned char *der = NULL;
	char *base = NULL;
	int der_len, r;

	*sp = NULL;
	why[0] = '\0';
	if (a == NULL || a->type != SG_AUTHORITY_WSSEC_SOAP || key == NULL || cert == NULL)
		return SG_ERR_INVALID_ARG;
	ws = &a->wssec;
	/* The signature algorithm needs this kind of key. */
	if (sgp11_key_spec(key)->kind != (ecdsa(ws) ? SGP11_EC : SGP11_RSA))
		return sg_why(SG_ERR_UNSUPPORTED, why, whylen,
		    "it signs with %s, which key \"%s\" (%s) cannot make", ecdsa(ws) ? "ECDSA" : "RSA",
		    sgp11_key_label(key), sgp11_keyspec_name(sgp11_key_spec(key)));
	if (ws->n_sign_parts > GW_XMLDSIG_MAX_REFS)
		return sg_why(SG_ERR_UNSUPPORTED, why, whylen,
		    "it signs %zu parts; one signature covers at most %d", ws->n_sign_parts,
		    GW_XMLDSIG_MAX_REFS);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SG_ERR_ALLOC;
	s->authority = a;
	s->key = key;
	if ((der_len = i2d_X509(cert, &der)) <= 0 ||
	    sg_b64_encode(der, (size_t)der_len, SG_B64_STD, &s->token_b64) != 0) {
		r = SG_ERR_ALLOC;
		goto fail;
	}
	if ((r = split_url(a->url, &base, &s->path)) != 0 || (s->base = strdup(base)) == NULL) {
		r = r != 0 ? r : SG_ERR_ALLOC;
		goto fail;
	}
	if (ws->verify_response &&
	    (r = gw_xmlverify_load_ca(ws->response_signer_ca_file, &s->response_ca)) != 0) {
		sg_why(r, why, whylen, "response_signer_ca_file %s: %s", ws->response_signer_ca_file,
		    sg_strerror(r));
		goto fail;
	}
	memset(&fo, 0, sizeof(fo));
	fo.base_url = base;
	fo.ca_file = a->ca_file;
	fo.server_pins = ws->server_pins;
	fo.cert = cert;
	fo.token = token;
	fo.key = key;
	fo.timeout_ms = ws->timeout_ms;
	fo.connect_timeout_ms = ws->timeout_ms < 5000 ? ws->timeout_ms : 5000;
	fo.retries = ws->retries;
	if ((r = gw_forward_new(&fo, &s->forward)) != 0)
		goto fail;
	OPENSSL_free(der);
	free(base);
	*sp = s;
	return 0;
 fail:
	OPENSSL_free(der);
	free(base);
	gw_soap_free(s);
	return r;
}

void
gw_soap_free(struct gw_soap *s)
{
	if (s == NULL)
		return;
	gw_forward_free(s->forward);
	X509_STORE_free(s->response_ca);
	free(s->token_b64);
	free(s->base);
	free(s->path);
	free(s);
}

static int
wire_digest(const struct sg_buf *wire, char *out, size_t outlen)
{
	unsigned char md[32];
	char *hex = NULL;
	int r;

	if (EVP_Digest(wire->data, wire->len, md, NULL, EVP_sha256(), NULL) != 1)
		return SG_ERR_CRYPTO;
	if ((r = sg_hex_encode(md, sizeof(md), &hex)) != 0)
		return r;
	r = snprintf(out, outlen, "sha256:%s", hex) < (int)outlen ? 0 : SG_ERR_INTERNAL;
	free(hex);
	return r;
}

/* 1 when the profile's own signature algorithms are SHA-1: then (and only
 * then) the authority's answers may be signed with SHA-1 too. */
static int
profile_sha1(const struct sg_wssec_settings *ws)
{
	return ws->signature == SG_XMLSIG_RSA_SHA1 || ws->digest == SG_XMLDIGEST_SHA1;
}

/* A new string: the first n bytes of a, then b and c (NULL on failure). */
static char *
joined(const char *a, size_t n, const char *b, const char *c)
{
	size_t len = n + strlen(b) + strlen(c) + 1;
	char *out;
	int w;

	if ((out = malloc(len)) == NULL)
		return NULL;
	w = snprintf(out, len, "%.*s%s%s", (int)n, a, b, c);
	if (w < 0 || (size_t)w != len - 1) {
		free(out);
		return NULL;
	}
	return out;
}

/* The path the message goes to (*pathp new) and the whole URL (res->url):
 * the authority's, with operation in place of the mark when it has one
 * URL per operation. SG_ERR_PARSE with why for the caller when operation
 * is missing, not an operation name, not on the allow-list, or given to
 * an authority with one URL. */
static int
call_path(const struct gw_soap *s, const char *operation, char **pathp,
    struct gw_soap_result *res, char *why, size_t whylen)
{
	const struct sg_wssec_settings *ws = &s->authority->wssec;
	const char *name = s->authority->name, *mark;
	char *path;
	int r;

	*pathp = NULL;
	if (!ws->url_per_operation) {
		if (operation != NULL)
			return sg_why(SG_ERR_PARSE, why, whylen, "%s has one URL for every "
			    "operation: name none", name);
		path = strdup(s->path);
	} else {
		if (operation == NULL)
			return sg_why(SG_ERR_PARSE, why, whylen, "%s has one URL per operation: "
			    "name it with ?operation=", name);
		/* A refused name is not repeated: it may hold anything. */
		if ((r = sg_wssec_operation_check(ws, operation)) == SG_ERR_NOT_FOUND)
			return sg_why(SG_ERR_PARSE, why, whylen, "operation \"%s\" is not one %s "
			    "allows", operation, name);
		if (r != 0)
			return sg_why(SG_ERR_PARSE, why, whylen, "?operation= is not an operation "
			    "name for %s: a letter, then at most %d letters, digits, \"_\" or \"-\"",
			    name, SG_WSSEC_OPERATION_MAX - 1);
		mark = strstr(s->path, SG_WSSEC_OPERATION_MARK);
		path = joined(s->path, (size_t)(mark - s->path), operation,
		    mark + strlen(SG_WSSEC_OPERATION_MARK));
	}
	if (path == NULL)
		return SG_ERR_ALLOC;
	if ((res->url = joined(s->base, strlen(s->base), path, "")) == NULL) {
		free(path);
		return SG_ERR_ALLOC;
	}
	*pathp = path;
	return 0;
}

int
gw_soap_call(struct gw_soap *s, const void *envelope, size_t len, const char *http_action,
    const char *operation, const char *request_id, struct gw_soap_result *res, char *why,
    size_t whylen)
{
	const struct sg_wssec_settings *ws = &s->authority->wssec;
	const char *name = s->authority->name;
	struct gw_wssec_signed msg;
	struct gw_forward_reply reply;
	char content_type[GW_WSSEC_ACTION_MAX + 64], action_header[GW_WSSEC_ACTION_MAX + 16];
	char id_header[128];
	const char *headers[2], *ctype;
	char *path = NULL;
	size_t n_headers = 0;
	int n, ok, r;

	memset(res, 0, sizeof(*res));
	memset(&reply, 0, sizeof(reply));
	memset(&msg, 0, sizeof(msg));
	sg_buf_init(&res->body, 0);
	why[0] = '\0';
	if ((r = call_path(s, operation, &path, res, why, whylen)) != 0)
		return r;
	r = gw_wssec_sign(envelope, len, ws, s->key, s->token_b64, http_action,
	    len + WSSEC_OVERHEAD + 2 * strlen(s->token_b64), &msg, why, whylen);
	if (r != 0)
		goto out;
	if ((r = wire_digest(&msg.wire, res->digest, sizeof(res->digest))) != 0)
		goto out;
	res->message_id = msg.message_id;
	msg.message_id = NULL;
	/* SOAP 1.1 always has SOAPAction ("" says "no intent given"); SOAP
	 * 1.2 carries the action as a media type parameter. */
	if (ws->soap_version == SG_SOAP_11) {
		ctype = "text/xml; charset=utf-8";
		n = snprintf(action_header, sizeof(action_header), "SOAPAction: \"%s\"",
		    msg.action != NULL ? msg.action : "");
		ok = n >= 0 && (size_t)n < sizeof(action_header);
		headers[n_headers++] = action_header;
	} else {
		ctype = content_type;
		n = snprintf(content_type, sizeof(content_type),
		    "application/soap+xml; charset=utf-8%s%s%s",
		    msg.action != NULL ? "; action=\"" : "", msg.action != NULL ? msg.action : "",
		    msg.action != NULL ? "\"" : "");
		ok = n >= 0 && (size_t)n < sizeof(content_type);
	}
	n = snprintf(id_header, sizeof(id_header), "X-Request-ID: %s", request_id);
	if (!ok || n < 0 || (size_t)n >= sizeof(id_header)) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	headers[n_headers++] = id_header;
	r = gw_forward_post(s->forward, path, ctype, msg.wire.data, msg.wire.len, headers,
	    n_headers, &reply);
	if (r == SG_ERR_TIMEOUT) {
		sg_msg(why, whylen, "%s: no answer in time", name);
		goto out;
	}
	if (r == SG_ERR_TOO_LARGE) {
		sg_msg(why, whylen, "%s: the answer is larger than %u bytes", name,
		    GW_FORWARD_REPLY_MAX);
		r = SG_ERR_AUTHORITY;
		goto out;
	}
	if (r == SG_ERR_AUTHORITY) {
		sg_msg(why, whylen, "%s: not reachable over TLS", name);
		goto out;
	}
	if (r != 0)
		goto out;
	res->status = reply.status;
	if (ws->verify_response && reply.status >= 200 && reply.status < 300) {
		if ((r = gw_wssec_verify(reply.body.data, reply.body.len, ws->soap_version,
		    s->response_ca, profile_sha1(ws), time(NULL), why, whylen)) != 0) {
			if (r == SG_ERR_CRYPTO)
				r = SG_ERR_AUTHORITY;
			goto out;
		}
		res->verified = 1;
	}
	res->body = reply.body;
	sg_buf_init(&reply.body, 0);
	res->content_type = reply.content_type;
	reply.content_type = NULL;
	r = 0;
 out:
	gw_forward_reply_free(&reply);
	gw_wssec_signed_free(&msg);
	free(path);
	return r;
}

/* --- the ops table row (authority.h) --- */

static int
soap_open(const struct sg_authority *a, struct sgp11_ctx *token, struct sgp11_key *key,
    X509 *cert, void **statep, char *why, size_t whylen)
{
	struct gw_soap *s = NULL;
	int r;

	r = gw_soap_new(a, token, key, cert, &s, why, whylen);
	*statep = s;
	return r;
}

static void
soap_close(void *state)
{
	gw_soap_free(state);
}

static int
soap_call(void *state, const void *envelope, size_t len, const char *http_action,
    const char *operation, const char *request_id, struct gw_soap_result *res, char *why,
    size_t whylen)
{
	return gw_soap_call(state, envelope, len, http_action, operation, request_id, res, why,
	    whylen);
}

const struct gw_authority_ops gw_authority_soap_ops = {
	.type = SG_AUTHORITY_WSSEC_SOAP,
	.name = "wssec-soap",
	.use = SG_USE_SOAP,
	.without_cert = "no certificate; SOAP calls are off",
	.open = soap_open,
	.close = soap_close,
	.call = soap_call,
};
