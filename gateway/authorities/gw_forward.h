/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTPS forwarder, the gateway's only libcurl user: POSTs to one
 * authority, trusting only that authority's CA file for the server and
 * authenticating with a certificate whose private key stays on the token.
 * A forwarder owns a bounded pool of connections that request threads
 * borrow one at a time, so kept-alive connections are reused. */
#ifndef GW_FORWARD_H
#define GW_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "sg_buf.h"
#include "sgp11.h"

/* Upper bound on gw_forward_opts.retries. */
#define GW_FORWARD_MAX_RETRIES 5
/* Reply body cap when gw_forward_opts.max_reply_bytes is 0. */
#define GW_FORWARD_REPLY_MAX (4u * 1024 * 1024)

struct gw_forward;

struct gw_forward_opts {
	/* "https://host[:port][/prefix]": no user, password, query or
	 * fragment. A path given to gw_forward_post is appended to it. */
	const char *base_url;
	/* PEM file holding the only trust anchors for the server's
	 * certificate; no system store, no CA directory. Host name checked. */
	const char *ca_file;
	/* NULL, or the server's public key pins as libcurl takes them
	 * (CURLOPT_PINNEDPUBLICKEY): "sha256//<base64>" joined by ';'. The
	 * server's key must then be one of them as well; a mismatch ends the
	 * exchange after the handshake, before the request is sent. */
	const char *server_pins;
	/* Client authentication: cert with its key on the token, or all
	 * three NULL for a server that authenticates requests otherwise. */
	X509 *cert;			/* client certificate */
	STACK_OF(X509) *chain;		/* sent after cert, or NULL */
	struct sgp11_ctx *token;	/* the token key lives on */
	struct sgp11_key *key;		/* cert's key: signs the handshake on the token */
	long timeout_ms;		/* whole post, retries included; 0: 30000 */
	long connect_timeout_ms;	/* TCP and TLS set-up of one attempt; 0: 10000 */
	/* Further attempts, made only when the request cannot have reached
	 * the server (not resolved, not connected, handshake failed);
	 * at most GW_FORWARD_MAX_RETRIES. */
	unsigned int retries;
	int tls_max;			/* 0: TLS 1.2 or 1.3; 12 or 13: only that version */
	size_t max_connections;		/* pool size; 0: 8 */
	size_t max_reply_bytes;		/* 0: GW_FORWARD_REPLY_MAX */
};

struct gw_forward_reply {
	int status;			/* HTTP status; 0 when no answer came */
	struct sg_buf body;		/* capped at max_reply_bytes */
	char *content_type;		/* the answer's Content-Type, or NULL */
	int64_t elapsed_ms;		/* whole post: attempts, backoff, pool wait */
	unsigned int attempts;		/* 1 + retries made */
	long new_connections;		/* opened by the last attempt: 0 = reused */
};

/* Initialise libcurl (OpenSSL backend required) once, before any thread
 * starts. SG_ERR_UNSUPPORTED when libcurl's TLS is not OpenSSL 3 (the
 * client key is an OpenSSL EVP_PKEY), SG_ERR_INTERNAL otherwise. */
int gw_forward_global_init(void);
/* After the last gw_forward_free, when no other thread runs. */
void gw_forward_global_cleanup(void);

/* A forwarder for o->base_url. Strings in o are copied and cert and chain
 * get references of their own; token and key are borrowed and must
 * outlive the forwarder (free it before sgp11_key_free / sgp11_close:
 * open connections hold the key's EVP_PKEY). *fp is new.
 * Errors: SG_ERR_INVALID_ARG (URL, missing CA, cert without key, retries, tls_max),
 * SG_ERR_PARSE (CA file holds no certificate), SG_ERR_KEY_MISMATCH (cert
 * is not the key's), SG_ERR_ALLOC. */
int gw_forward_new(const struct gw_forward_opts *o, struct gw_forward **fp);
/* Close the pool's connections. No post may be in flight. NULL is fine. */
void gw_forward_free(struct gw_forward *f);

/* POST len bytes of body to base_url + path (path starts with '/', or is
 * "" for base_url itself) with
 * Content-Type content_type and the n_headers "Name: value" lines of
 * extra_headers (no CR or LF). Thread-safe; waits for a free connection
 * when all max_connections are busy (within timeout_ms).
 * reply is cleared first and filled as far as the exchange got; release
 * it with gw_forward_reply_free whatever the result.
 * 0 when an answer arrived, whatever its status (the caller judges it).
 * SG_ERR_TIMEOUT: no answer within the time allowed (never retried once
 * the request was sent). SG_ERR_AUTHORITY: no answer because of the
 * transport (refused, reset, TLS or certificate failure). SG_ERR_TOO_LARGE:
 * the answer exceeds the cap. SG_ERR_TOKEN_LOST: the key went stale with
 * a token recovery; make a new forwarder with the new key.
 * SG_ERR_INVALID_ARG, SG_ERR_ALLOC. Each failed attempt is logged with
 * libcurl's reason and the URL without its query.
 * Each attempt runs inside sgp11_use_begin/end on the token (a handshake
 * signs there), so token recovery waits for posts in flight, at most
 * timeout_ms; never call this inside a bracket of your own (the token's
 * lock is not recursive). */
int gw_forward_post(struct gw_forward *f, const char *path, const char *content_type,
    const void *body, size_t len, const char *const *extra_headers, size_t n_headers,
    struct gw_forward_reply *reply);
/* Free what reply holds (not reply itself); a cleared reply is fine. */
void gw_forward_reply_free(struct gw_forward_reply *reply);

#endif
