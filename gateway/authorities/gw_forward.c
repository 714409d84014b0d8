/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTPS forwarder: the one file that uses libcurl. Each forwarder
 * owns a bounded stack of easy handles (each keeps its own kept-alive
 * connection); the token's EVP_PKEY is put into every new TLS context by
 * the SSL_CTX callback, so the handshake signature is made on the token. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "gw_forward.h"
#include "sg_clock.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_CONNECTIONS 8
#define MAX_CONNECTIONS 256
#define URL_MAX 4096
#define CA_FILE_MAX (4 * 1024 * 1024)
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
/* Idle connections older than this are not reused: the longer one idles,
 * the likelier the server closes it just as a request goes out. */
#define REUSE_MAX_IDLE_S 30L
/* Longest debug line logged; the rest is cut. */
#define DEBUG_LINE_MAX 512

struct gw_forward {
	char *base_url;			/* without a trailing '/' */
	char *ca_file;
	char *server_pins;		/* or NULL */
	X509 *cert;			/* own reference */
	STACK_OF(X509) *chain;		/* own references, or NULL */
	struct sgp11_ctx *token;	/* borrowed */
	struct sgp11_key *key;		/* borrowed */
	long timeout_ms, connect_timeout_ms;
	unsigned int retries;
	long ssl_version;		/* CURLOPT_SSLVERSION */
	size_t max_reply;

	pthread_mutex_t lock;
	pthread_cond_t freed;		/* a handle went back, or a slot opened */
	CURL **idle;			/* stack: the last one back goes out first */
	size_t n_idle, n_open, max_handles;
};

/* What one attempt's callbacks share. */
struct attempt {
	struct gw_forward *f;
	struct sg_buf *body;
	int sent;			/* the request started to go out */
	int resend_refused;		/* libcurl wanted to send it again */
	int write_err;			/* why the body was refused */
};

/* Header values never logged, whatever the log level. */
static const char *const redacted_headers[] = {
	"authorization", "proxy-authorization", "x-request-signature", "cookie", "set-cookie",
	"x-api-key"
};

int
gw_forward_global_init(void)
{
	const curl_version_info_data *v;
	CURLsslset set;
	CURLcode rc;

	/* The client key reaches TLS as an OpenSSL EVP_PKEY: any other
	 * backend could not use it. */
	set = curl_global_sslset(CURLSSLBACKEND_OPENSSL, NULL, NULL);
	if (set != CURLSSLSET_OK && set != CURLSSLSET_TOO_LATE) {
		sg_error("libcurl has no OpenSSL TLS backend (curl_global_sslset %d)", (int)set);
		return SG_ERR_UNSUPPORTED;
	}
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		sg_error("curl_global_init: %s", curl_easy_strerror(rc));
		return SG_ERR_INTERNAL;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || v->ssl_version == NULL || strncmp(v->ssl_version, "OpenSSL/3.", 10) != 0) {
		sg_error("libcurl's TLS is %s, not OpenSSL 3",
		    v != NULL && v->ssl_version != NULL ? v->ssl_version : "missing");
		curl_global_cleanup();
		return SG_ERR_UNSUPPORTED;
	}
	return 0;
}

void
gw_forward_global_cleanup(void)
{
	curl_global_cleanup();
}

/* https, a host, and nothing that could carry a secret into a log line. */
static int
check_base_url(const char *url)
{
	static const CURLUPart refused[] = {
		CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY,
		CURLUPART_FRAGMENT
	};
	CURLU *u = NULL;
	char *part = NULL;
	size_t i;
	int r = SG_ERR_INVALID_ARG;

	if (strlen(url) > URL_MAX / 2)
		goto out;
	if ((u = curl_url()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK || strcmp(part, "https") != 0)
		goto out;
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK || part[0] == '\0')
		goto out;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		curl_free(part);
		part = NULL;
		if (curl_url_get(u, refused[i], &part, 0) == CURLUE_OK)
			goto out;
	}
	r = 0;
 out:
	if (r == SG_ERR_INVALID_ARG)
		sg_error("the authority URL must be https://host[:port][/prefix] without user, "
		    "password, query or fragment");
	curl_free(part);
	curl_url_cleanup(u);
	return r;
}

/* Refuse at start what every handshake would refuse later: a CA file
 * that cannot be read or holds no certificate. */
static int
check_ca_file(const char *path)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *ca = NULL;
	int r, n = 0;

	if ((r = sg_file_read(path, CA_FILE_MAX, &pem, &len)) != 0) {
		sg_error_r(r, "CA file %s", path);
		goto out;
	}
	r = SG_ERR_ALLOC;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(ca);
		n++;
	}
	ERR_clear_error();
	r = 0;
	if (n == 0) {
		r = SG_ERR_PARSE;
		sg_error("CA file %s holds no PEM certificate", path);
	}
 out:
	BIO_free(bio);
	free(pem);
	return r;
}

/* The pool's lock and condition; waits end at a monotonic deadline. */
static int
pool_init(struct gw_forward *f)
{
	pthread_condattr_t ca;
	int ok;

	if (pthread_condattr_init(&ca) != 0)
		return SG_ERR_ALLOC;
	ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&f->freed, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok)
		return SG_ERR_ALLOC;
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		pthread_cond_destroy(&f->freed);
		return SG_ERR_ALLOC;
	}
	return 0;
}

int
gw_forward_new(const struct gw_forward_opts *o, struct gw_forward **fp)
{
	struct gw_forward *f = NULL;
	EVP_PKEY *pkey = NULL;
	size_t n;
	int r = SG_ERR_INVALID_ARG;

	*fp = NULL;
	if (o->base_url == NULL || o->ca_file == NULL || (o->cert == NULL) != (o->key == NULL) ||
	    (o->key != NULL && (o->token == NULL || (pkey = sgp11_key_get0_pkey(o->key)) == NULL))) {
		sg_error("forwarder: the URL and CA file are required, and a client certificate "
		    "comes with its token key");
		return SG_ERR_INVALID_ARG;
	}
	if (o->retries > GW_FORWARD_MAX_RETRIES || (o->tls_max != 0 && o->tls_max != 12 &&
	    o->tls_max != 13) || o->timeout_ms < 0 || o->connect_timeout_ms < 0 ||
	    o->max_connections > MAX_CONNECTIONS) {
		sg_error("forwarder: retries 0..%d, tls_max 0, 12 or 13, timeouts >= 0, "
		    "connections up to %d", GW_FORWARD_MAX_RETRIES, MAX_CONNECTIONS);
		return SG_ERR_INVALID_ARG;
	}
	if ((r = check_base_url(o->base_url)) != 0 || (r = check_ca_file(o->ca_file)) != 0)
		return r;
	if (o->cert != NULL && X509_check_private_key(o->cert, pkey) != 1) {
		ERR_clear_error();
		sg_error("forwarder: the client certificate is not key \"%s\"'s",
		    sgp11_key_label(o->key));
		return SG_ERR_KEY_MISMATCH;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SG_ERR_ALLOC;
	f->max_handles = o->max_connections != 0 ? o->max_connections : DEFAULT_CONNECTIONS;
	r = SG_ERR_ALLOC;
	if ((f->base_url = strdup(o->base_url)) == NULL || (f->ca_file = strdup(o->ca_file)) == NULL ||
	    (f->idle = calloc(f->max_handles, sizeof(*f->idle))) == NULL ||
	    (o->server_pins != NULL && (f->server_pins = strdup(o->server_pins)) == NULL))
		goto out;
	n = strlen(f->base_url);
	while (n > 0 && f->base_url[n - 1] == '/')
		f->base_url[--n] = '\0';
	if (o->cert != NULL && X509_up_ref(o->cert) != 1)
		goto out;
	f->cert = o->cert;
	if (o->chain != NULL && (f->chain = X509_chain_up_ref(o->chain)) == NULL)
		goto out;
	f->token = o->token;
	f->key = o->key;
	f->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	f->connect_timeout_ms = o->connect_timeout_ms != 0 ? o->connect_timeout_ms :
	    DEFAULT_CONNECT_TIMEOUT_MS;
	f->retries = o->retries;
	f->max_reply = o->max_reply_bytes != 0 ? o->max_reply_bytes : GW_FORWARD_REPLY_MAX;
	switch (o->tls_max) {
	case 12:
		f->ssl_version = (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2);
		break;
	case 13:
		f->ssl_version = (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3);
		break;
	default:
		f->ssl_version = (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_DEFAULT);
		break;
	}
	if ((r = pool_init(f)) != 0)
		goto out;
	*fp = f;
	f = NULL;
	r = 0;
 out:
	if (f != NULL) {
		X509_free(f->cert);
		sk_X509_pop_free(f->chain, X509_free);
		free(f->idle);
		free(f->server_pins);
		free(f->ca_file);
		free(f->base_url);
		free(f);
	}
	return r;
}

void
gw_forward_free(struct gw_forward *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->n_open != f->n_idle)
		sg_error("forwarder freed with %zu posts in flight", f->n_open - f->n_idle);
	for (i = 0; i < f->n_idle; i++)
		curl_easy_cleanup(f->idle[i]);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->freed);
	X509_free(f->cert);
	sk_X509_pop_free(f->chain, X509_free);
	free(f->idle);
	free(f->server_pins);
	free(f->ca_file);
	free(f->base_url);
	free(f);
}

void
gw_forward_reply_free(struct gw_forward_reply *reply)
{
	if (reply == NULL)
		return;
	sg_buf_free(&reply->body);
	free(reply->content_type);
	reply->content_type = NULL;
}

/* --- the pool --- */

static int
pool_take(struct gw_forward *f, int64_t deadline_ms, CURL **hp)
{
	struct timespec until;
	int r = 0, make = 0;

	*hp = NULL;
	until.tv_sec = (time_t)(deadline_ms / 1000);
	until.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	pthread_mutex_lock(&f->lock);
	while (f->n_idle == 0 && f->n_open >= f->max_handles) {
		if (pthread_cond_timedwait(&f->freed, &f->lock, &until) == ETIMEDOUT &&
		    f->n_idle == 0 && f->n_open >= f->max_handles) {
			r = SG_ERR_TIMEOUT;
			break;
		}
	}
	if (r == 0) {
		if (f->n_idle > 0) {
			*hp = f->idle[--f->n_idle];
		} else {
			f->n_open++;
			make = 1;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (r != 0) {
		sg_warn_r(r, "POST %s: all %zu connections stayed busy", f->base_url, f->max_handles);
		return r;
	}
	if (make && (*hp = curl_easy_init()) == NULL) {
		pthread_mutex_lock(&f->lock);
		f->n_open--;
		pthread_cond_signal(&f->freed);
		pthread_mutex_unlock(&f->lock);
		return SG_ERR_ALLOC;
	}
	return 0;
}

static void
pool_give(struct gw_forward *f, CURL *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->idle[f->n_idle++] = h;
	pthread_cond_signal(&f->freed);
	pthread_mutex_unlock(&f->lock);
}

/* --- callbacks --- */

/* Every new connection gets a fresh SSL_CTX: give it the client
 * certificate, its chain and the token's key. */
static CURLcode
ssl_ctx_setup(CURL *h, void *ssl_ctx, void *arg)
{
	struct gw_forward *f = arg;
	SSL_CTX *ctx = ssl_ctx;
	unsigned long e;
	char why[256];
	int i;

	if (f->cert == NULL)
		return CURLE_OK;	/* no client authentication */
	if (SSL_CTX_use_certificate(ctx, f->cert) != 1)
		goto fail;
	for (i = 0; f->chain != NULL && i < sk_X509_num(f->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(f->chain, i)) != 1)
			goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, sgp11_key_get0_pkey(f->key)) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return CURLE_OK;
 fail:
	e = ERR_peek_last_error();
	ERR_error_string_n(e, why, sizeof(why));
	sg_error("POST %s: OpenSSL refused the client certificate or key \"%s\": %s", f->base_url,
	    sgp11_key_label(f->key), e != 0 ? why : "no reason given");
	return CURLE_SSL_CERTPROBLEM;
}

/* Called once the connection is set up (TLS included), just before the
 * request goes out: from here on a retry could repeat it. libcurl itself
 * sends a request again on a fresh connection when a reused one closes
 * without an answer; the server may have acted on the first copy, so that
 * second send is refused. */
static int
request_going_out(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct attempt *a = arg;

	if (a->sent) {
		a->resend_refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	a->sent = 1;
	return CURL_PREREQFUNC_OK;
}

static size_t
take_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;
	int r;

	/* libcurl documents size as always 1. */
	if (size != 1) {
		a->write_err = SG_ERR_INTERNAL;
		return 0;
	}
	if ((r = sg_buf_append(a->body, data, nmemb)) != 0) {
		a->write_err = r;
		return 0;
	}
	return nmemb;
}

static int
redacted(const char *name, size_t len)
{
	size_t i;

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (i = 0; i < sizeof(redacted_headers) / sizeof(redacted_headers[0]); i++)
		if (strlen(redacted_headers[i]) == len && strncasecmp(name, redacted_headers[i], len) == 0)
			return 1;
	return 0;
}

/* One line of libcurl's debug output made fit to log: header values that
 * carry secrets replaced, query strings cut, control bytes shown as '.'. */
static void
log_debug_line(const char *dir, const char *line, size_t len, int header)
{
	char out[DEBUG_LINE_MAX + 1];
	const char *colon;
	size_t i, o = 0;
	int in_query = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	colon = header ? memchr(line, ':', len) : NULL;
	if (colon != NULL && memchr(line, ' ', (size_t)(colon - line)) == NULL &&
	    redacted(line, (size_t)(colon - line))) {
		sg_debug("%s %.*s: [redacted]", dir, (int)(colon - line), line);
		return;
	}
	for (i = 0; i < len && o < DEBUG_LINE_MAX; i++) {
		unsigned char c = (unsigned char)line[i];

		if (in_query) {
			if (c != ' ' && c != '"' && c != '\'')
				continue;
			in_query = 0;
		} else if (c == '?') {
			static const char cut[] = "?[query]";

			if (o + sizeof(cut) - 1 > DEBUG_LINE_MAX)
				break;
			memcpy(out + o, cut, sizeof(cut) - 1);
			o += sizeof(cut) - 1;
			in_query = 1;
			continue;
		}
		out[o++] = c < 0x20 || c == 0x7f ? '.' : (char)c;
	}
	out[o] = '\0';
	sg_debug("%s %s", dir, out);
}

static void
log_debug_lines(const char *dir, const char *data, size_t size, int header)
{
	const char *end = data + size, *nl;

	while (data < end) {
		nl = memchr(data, '\n', (size_t)(end - data));
		log_debug_line(dir, data, (size_t)((nl != NULL ? nl : end) - data), header);
		data = nl != NULL ? nl + 1 : end;
	}
}

/* Only with debug logging on. Bodies and TLS records are never shown. */
static int
debug_out(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	switch (type) {
	case CURLINFO_TEXT:
		log_debug_lines("*", data, size, 0);
		break;
	case CURLINFO_HEADER_OUT:
		log_debug_lines(">", data, size, 1);
		break;
	case CURLINFO_HEADER_IN:
		log_debug_lines("<", data, size, 1);
		break;
	case CURLINFO_DATA_OUT:
		sg_debug("> [%zu body bytes]", size);
		break;
	case CURLINFO_DATA_IN:
		sg_debug("< [%zu body bytes]", size);
		break;
	default:
		break;
	}
	return 0;
}

/* --- one post --- */

/* base_url + path, and the same without the query for log lines. */
static int
make_url(const struct gw_forward *f, const char *path, char **urlp, char *log_url, size_t log_len)
{
	size_t i, need;
	char *url;
	int n;

	*urlp = NULL;
	/* "" is the base URL itself (an endpoint such as a SOAP service). */
	if (path == NULL || (path[0] != '/' && path[0] != '\0'))
		return SG_ERR_INVALID_ARG;
	for (i = 0; path[i] != '\0'; i++)
		if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f || path[i] == '#')
			return SG_ERR_INVALID_ARG;
	need = strlen(f->base_url) + i + 1;
	if (need > URL_MAX)
		return SG_ERR_INVALID_ARG;
	if ((url = malloc(need)) == NULL)
		return SG_ERR_ALLOC;
	n = snprintf(url, need, "%s%s", f->base_url, path);
	if (n < 0 || (size_t)n >= need) {
		free(url);
		return SG_ERR_INTERNAL;
	}
	n = snprintf(log_url, log_len, "%s%.*s", f->base_url, (int)strcspn(path, "?"), path);
	if (n < 0 || (size_t)n >= log_len) {
		free(url);
		return SG_ERR_INTERNAL;
	}
	*urlp = url;
	return 0;
}

/* "Name: value" with a token for a name and no line breaks or controls. */
static int
header_ok(const char *h)
{
	size_t i = strspn(h, "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	if (i == 0 || h[i] != ':')
		return 0;
	for (; h[i] != '\0'; i++)
		if (((unsigned char)h[i] < 0x20 && h[i] != '\t') || h[i] == 0x7f)
			return 0;
	return 1;
}

static int
make_headers(const char *content_type, const char *const *extra, size_t n,
    struct curl_slist **listp)
{
	struct curl_slist *list = NULL, *grown;
	char *line = NULL;
	size_t i, need;
	int r = SG_ERR_INVALID_ARG, k;

	*listp = NULL;
	/* Without a type libcurl would claim a form ("Content-Type:" with
	 * nothing drops it); "Expect:" stops the 100-continue round trip on
	 * larger bodies. */
	if (content_type == NULL)
		content_type = "";
	need = strlen("Content-Type: ") + strlen(content_type) + 1;
	if ((line = malloc(need)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	k = snprintf(line, need, "Content-Type:%s%s", content_type[0] != '\0' ? " " : "",
	    content_type);
	if (k < 0 || (size_t)k >= need) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	if (!header_ok(line)) {
		sg_error("forwarder: refused Content-Type with control characters");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (extra[i] == NULL || !header_ok(extra[i])) {
			sg_error("forwarder: refused extra header %zu: not \"Name: value\" on one line", i);
			goto out;
		}
	}
	r = SG_ERR_ALLOC;
	if ((grown = curl_slist_append(list, line)) == NULL)
		goto out;
	list = grown;
	for (i = 0; i < n; i++) {
		if ((grown = curl_slist_append(list, extra[i])) == NULL)
			goto out;
		list = grown;
	}
	if ((grown = curl_slist_append(list, "Expect:")) == NULL)
		goto out;
	list = grown;
	*listp = list;
	list = NULL;
	r = 0;
 out:
	curl_slist_free_all(list);
	free(line);
	return r;
}

#define SETOPT(opt, val) do { \
	if (rc == CURLE_OK) \
		rc = curl_easy_setopt(h, (opt), (val)); \
} while (0)

static CURLcode
set_options(const struct gw_forward *f, CURL *h, const char *url, struct curl_slist *headers,
    const void *body, size_t len, long left_ms, struct attempt *a, char *errbuf)
{
	CURLcode rc = CURLE_OK;

	SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	/* No proxy from the environment: the path to the authority is
	 * configuration, not whatever https_proxy says. */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_USERAGENT, "sealgate/" PACKAGE_VERSION);
	SETOPT(CURLOPT_HTTPHEADER, headers);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
	SETOPT(CURLOPT_WRITEFUNCTION, take_body);
	SETOPT(CURLOPT_WRITEDATA, a);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_reply);
	SETOPT(CURLOPT_TIMEOUT_MS, left_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms < left_ms ? f->connect_timeout_ms :
	    left_ms);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_CAINFO, f->ca_file);
	SETOPT(CURLOPT_CAPATH, (char *)NULL);
	SETOPT(CURLOPT_PINNEDPUBLICKEY, f->server_pins);
	SETOPT(CURLOPT_SSLVERSION, f->ssl_version);
	SETOPT(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
	SETOPT(CURLOPT_SSL_CTX_DATA, (void *)f);
	SETOPT(CURLOPT_PREREQFUNCTION, request_going_out);
	SETOPT(CURLOPT_PREREQDATA, a);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_MAXCONNECTS, 1L);
	SETOPT(CURLOPT_MAXAGE_CONN, REUSE_MAX_IDLE_S);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	if (sg_log_get_level() >= SG_LOG_DEBUG) {
		SETOPT(CURLOPT_DEBUGFUNCTION, debug_out);
		SETOPT(CURLOPT_VERBOSE, 1L);
	}
	return rc;
}

#undef SETOPT

/* SG_ERR_* for a failed transfer; *retryp when trying again cannot
 * repeat a request the server may have acted on. */
static int
classify(CURLcode rc, const struct attempt *a, int *retryp)
{
	*retryp = 0;
	switch (rc) {
	case CURLE_WRITE_ERROR:
		return a->write_err != 0 ? a->write_err : SG_ERR_AUTHORITY;
	case CURLE_FILESIZE_EXCEEDED:
		return SG_ERR_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		return SG_ERR_ALLOC;
	case CURLE_OPERATION_TIMEDOUT:
		*retryp = !a->sent;
		return SG_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		*retryp = !a->sent;
		return SG_ERR_AUTHORITY;
	default:
		/* Certificate verification, bad configuration, protocol
		 * errors: the same again would fail the same way. */
		return SG_ERR_AUTHORITY;
	}
}

/* libcurl's error text may quote the URL: cut any query out of it. */
static void
cut_queries(char *text)
{
	char *q;
	size_t rest;

	while ((q = strchr(text, '?')) != NULL) {
		rest = strcspn(q, " \"'");
		memmove(q, q + rest, strlen(q + rest) + 1);
		text = q;
	}
}

static int
attempt_once(struct gw_forward *f, CURL *h, const char *url, const char *log_url,
    struct curl_slist *headers, const void *body, size_t len, int64_t deadline_ms,
    unsigned int attempt, struct gw_forward_reply *reply, int *retryp)
{
	struct attempt a;
	char errbuf[CURL_ERROR_SIZE];
	int64_t left = deadline_ms - sg_monotonic_ms();
	long status = 0, connects = 0;
	char *ctype = NULL;
	CURLcode rc;
	int r;

	*retryp = 0;
	if (left <= 0) {
		sg_warn("POST %s: attempt %u: no time left", log_url, attempt);
		return SG_ERR_TIMEOUT;
	}
	memset(&a, 0, sizeof(a));
	a.f = f;
	a.body = &reply->body;
	errbuf[0] = '\0';
	curl_easy_reset(h);
	if ((rc = set_options(f, h, url, headers, body, len, (long)left, &a, errbuf)) != CURLE_OK) {
		sg_error("POST %s: libcurl option refused: %s", log_url, curl_easy_strerror(rc));
		curl_easy_reset(h);
		return rc == CURLE_OUT_OF_MEMORY ? SG_ERR_ALLOC : SG_ERR_INTERNAL;
	}
	/* The handshake may sign on the token: keep recovery from
	 * reopening the module underneath it. */
	if (f->key != NULL)
		sgp11_use_begin(f->token);
	if (f->key != NULL && sgp11_key_stale(f->key)) {
		sgp11_use_end(f->token);
		curl_easy_reset(h);
		sg_warn("POST %s: key \"%s\" is stale after a token recovery", log_url,
		    sgp11_key_label(f->key));
		return SG_ERR_TOKEN_LOST;
	}
	rc = curl_easy_perform(h);
	if (f->key != NULL)
		sgp11_use_end(f->token);
	if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
		reply->new_connections = connects;
	if (rc == CURLE_OK) {
		if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
			status = 0;
		reply->status = (int)status;
		r = 0;
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL &&
		    (reply->content_type = strdup(ctype)) == NULL)
			r = SG_ERR_ALLOC;
		sg_debug("POST %s: %ld, %zu bytes%s", log_url, status, reply->body.len,
		    connects == 0 ? " on a reused connection" : "");
	} else if (a.resend_refused) {
		r = SG_ERR_AUTHORITY;
		sg_warn("POST %s: attempt %u of %u: a reused connection closed without an answer "
		    "after the request was sent; not sent again", log_url, attempt, f->retries + 1);
	} else {
		r = classify(rc, &a, retryp);
		cut_queries(errbuf);
		sg_warn("POST %s: attempt %u of %u failed %s the request was sent: %s%s%s", log_url,
		    attempt, f->retries + 1, a.sent ? "after" : "before", curl_easy_strerror(rc),
		    errbuf[0] != '\0' ? ": " : "", errbuf);
	}
	/* Drop every pointer into this stack frame before the handle idles. */
	curl_easy_reset(h);
	return r;
}

static void
sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

int
gw_forward_post(struct gw_forward *f, const char *path, const char *content_type,
    const void *body, size_t len, const char *const *extra_headers, size_t n_headers,
    struct gw_forward_reply *reply)
{
	int64_t start = sg_monotonic_ms(), deadline = start + f->timeout_ms;
	struct curl_slist *headers = NULL;
	char log_url[URL_MAX];
	char *url = NULL;
	CURL *h = NULL;
	unsigned int attempt;
	long backoff = BACKOFF_FIRST_MS;
	int r, retry;

	memset(reply, 0, sizeof(*reply));
	sg_buf_init(&reply->body, f->max_reply);
	if ((r = make_url(f, path, &url, log_url, sizeof(log_url))) != 0) {
		sg_error_r(r, "POST %s: refused path", f->base_url);
		goto out;
	}
	if ((r = make_headers(content_type, extra_headers, n_headers, &headers)) != 0 ||
	    (r = pool_take(f, deadline, &h)) != 0)
		goto out;
	for (attempt = 1;; attempt++) {
		reply->attempts = attempt;
		r = attempt_once(f, h, url, log_url, headers, body, len, deadline, attempt, reply,
		    &retry);
		if (r == 0 || !retry || attempt > f->retries)
			break;
		if (sg_monotonic_ms() + backoff >= deadline)
			break;
		sleep_ms(backoff);
		backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
		sg_buf_reset(&reply->body);
		reply->status = 0;
	}
 out:
	reply->elapsed_ms = sg_monotonic_ms() - start;
	pool_give(f, h);
	curl_slist_free_all(headers);
	free(url);
	return r;
}
