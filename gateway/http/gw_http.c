/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP listener: the only user of libmicrohttpd. A thread pool serves
 * connections; each request gets a struct gw_request with a bounded body,
 * is routed in two steps (headers, then body) and answered with one JSON
 * response; one access line is logged per request. Stopping drains the
 * requests in flight before the daemon goes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_headers.h"
#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_route.h"
#include "gw_snapshot.h"
#include "gw_tls.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

#define HEADER_BYTES_MAX 16384
/* Per-connection memory for headers and read buffers: the header cap plus
 * room for MHD's own bookkeeping (a 20 KiB header still reaches our own
 * 431). libmicrohttpd zeroes the pool between requests, so every byte of it
 * is paid per request: 32 KiB instead of 64 KiB took a fifth of the
 * gateway's instructions outside signing (callgrind, EC /v1/sign). */
#define CONNECTION_MEMORY 32768
/* A refused request's body up to this size is read (and dropped) before
 * the answer goes out: answering and closing while the client still sends
 * makes its kernel reset the connection, and the client never reads the
 * answer. Larger bodies are answered at once (clients send those with
 * Expect: 100-continue). */
#define DRAIN_MAX (1024 * 1024)

struct gw_http {
	struct MHD_Daemon *daemon;
	struct gw *gw;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned int in_flight;
	int stopping;		/* new requests are turned away */
	int tls;		/* serving HTTPS */
	/* The start's TLS settings: libmicrohttpd keeps a pointer to the
	 * client CAs' text. */
	struct gw_tls *tls_at_start;
};

struct exchange {
	struct gw_http *h;
	struct gw_request req;
	struct gw_response resp;
	char *method, *path;
	size_t cap;
	int too_large, queued, draining;
};

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t len;

	(void)cls;
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		return;
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	sg_warn("libmicrohttpd: %s", line);
}

static const char *
query_lookup(const struct gw_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->transport, MHD_GET_ARGUMENT_KIND, name);
}

/* The connection's peer address as text (no port). */
static void
peer_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		(void)inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		    (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		(void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)outlen);
}

/* Random bytes for request ids, drawn from OpenSSL's DRBG 32 ids at a
 * time per worker thread: one RAND_bytes call costs about as much for 256
 * bytes as for 8. Ids only need to be unique, not secret. */
static int
request_id_bytes(unsigned char *out, size_t n)
{
	static __thread unsigned char pool[256];
	static __thread size_t left;

	if (n > sizeof(pool))
		return -1;
	if (left < n) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return -1;
		left = sizeof(pool);
	}
	left -= n;
	memcpy(out, pool + left, n);
	return 0;
}

static void
set_request_id(struct exchange *x, struct MHD_Connection *conn)
{
	const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	unsigned char rnd[8];
	char *hex = NULL;

	/* A client's id may repeat (a retry, a bug, another client); the
	 * log's ids must not, or reconciliation breaks. */
	if (gw_request_id_valid(given))
		(void)sg_strfit(x->req.client_request_id, sizeof(x->req.client_request_id), given);
	if (request_id_bytes(rnd, sizeof(rnd)) != 0 || sg_hex_encode(rnd, sizeof(rnd), &hex) != 0 ||
	    sg_strfit(x->req.request_id, sizeof(x->req.request_id), hex) != 0)
		(void)sg_strfit(x->req.request_id, sizeof(x->req.request_id), "unknown");
	free(hex);
}

static enum MHD_Result
sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *total = cls;

	(void)kind;
	*total += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* How often the headers that must be unique, or that frame the body,
 * appear in a request. */
struct header_counts {
	unsigned int authorization, content_length, transfer_encoding;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_counts *n = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, "Authorization") == 0)
		n->authorization++;
	else if (strcasecmp(key, "Content-Length") == 0)
		n->content_length++;
	else if (strcasecmp(key, "Transfer-Encoding") == 0)
		n->transfer_encoding++;
	return MHD_YES;
}

/* Why the request's headers are ambiguous, or NULL. libmicrohttpd takes
 * the first of two Content-Length or Authorization headers and lets
 * Transfer-Encoding win over Content-Length; a proxy in front may choose
 * otherwise, so such a request is refused rather than guessed at
 * (RFC 9112 6.3). */
static const char *
ambiguous_headers(struct MHD_Connection *conn)
{
	struct header_counts n;

	memset(&n, 0, sizeof(n));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &n);
	if (n.content_length > 1)
		return "more than one Content-Length header";
	if (n.content_length > 0 && n.transfer_encoding > 0)
		return "both Content-Length and Transfer-Encoding";
	if (n.authorization > 1)
		return "more than one Authorization header";
	return NULL;
}

/* libmicrohttpd's unescape callback for the path and query parameters. */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return gw_percent_decode(s);
}

static int
parse_length(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

static enum MHD_Result
send_response(struct exchange *x, struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (x->resp.body_fd >= 0) {
		/* libmicrohttpd closes the file with the response. */
		r = MHD_create_response_from_fd64(x->resp.body_fd_len, x->resp.body_fd);
		if (r == NULL)
			close(x->resp.body_fd);
		x->resp.body_fd = -1;
	} else {
		r = MHD_create_response_from_buffer(x->resp.body.len, x->resp.body.data,
		    MHD_RESPMEM_MUST_COPY);
	}
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, "Content-Type",
	    x->resp.content_type != NULL ? x->resp.content_type : "application/json");
	(void)MHD_add_response_header(r, "X-Request-Id", x->req.request_id);
	if (x->req.client_request_id[0] != '\0')
		(void)MHD_add_response_header(r, "X-Client-Request-Id", x->req.client_request_id);
	(void)MHD_add_response_header(r, "Cache-Control",
	    x->resp.cache_control != NULL ? x->resp.cache_control : "no-store");
	/* Every answer: never framed, never sniffed into another type. */
	(void)MHD_add_response_header(r, "Content-Security-Policy",
	    x->resp.csp != NULL ? x->resp.csp : "default-src 'none'; frame-ancestors 'none'");
	(void)MHD_add_response_header(r, "X-Frame-Options", "DENY");
	(void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	(void)MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (x->resp.allow != NULL)
		(void)MHD_add_response_header(r, "Allow", x->resp.allow);
	if (x->resp.retry_after != NULL)
		(void)MHD_add_response_header(r, "Retry-After", x->resp.retry_after);
	if (x->resp.location != NULL)
		(void)MHD_add_response_header(r, "Location", x->resp.location);
	if (x->resp.authority_url != NULL)
		(void)MHD_add_response_header(r, "X-Authority-URL", x->resp.authority_url);
	ret = MHD_queue_response(conn, (unsigned int)x->resp.status, r);
	MHD_destroy_response(r);
	x->queued = 1;
	return ret;
}

static struct exchange *
exchange_new(struct gw_http *h, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct exchange *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	if ((x->method = strdup(method)) == NULL || (x->path = strdup(url)) == NULL) {
		free(x->method);
		free(x);
		return NULL;
	}
	x->h = h;
	x->req.gw = h->gw;
	x->req.snap = gw_snapshot_get(h->gw);
	x->req.method = x->method;
	x->req.path = x->path;
	x->req.transport = conn;
	x->req.query = query_lookup;
	x->req.doc_fd = -1;
	x->resp.body_fd = -1;
	x->req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	x->req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	x->req.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	x->req.idempotency_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
	x->req.soap_action = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "SOAPAction");
	clock_gettime(CLOCK_MONOTONIC, &x->req.started);
	set_request_id(x, conn);
	peer_address(conn, x->req.peer, sizeof(x->req.peer));
	if (h->tls) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);

		gw_tls_client_cert(x->req.snap->tls, ci != NULL ? ci->tls_session : NULL,
		    &x->req.cert);
	}
	sg_buf_init(&x->resp.body, (size_t)16 * 1024 * 1024);
	x->resp.status = 500;
	return x;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct gw_http *h = cls;
	struct exchange *x = *con_cls;
	size_t header_bytes = 0;
	uint64_t length = 0;
	const char *ambiguous;
	int has_length;

	(void)version;
	if (x == NULL) {
		/* Stopping: a request not yet begun is not begun at all (the
		 * connection closes, nothing is signed); the ones counted in
		 * in_flight are drained. Checked under the lock that counts. */
		pthread_mutex_lock(&h->lock);
		if (h->stopping) {
			pthread_mutex_unlock(&h->lock);
			return MHD_NO;
		}
		h->in_flight++;
		pthread_mutex_unlock(&h->lock);
		if ((x = exchange_new(h, conn, url, method)) == NULL) {
			pthread_mutex_lock(&h->lock);
			if (--h->in_flight == 0)
				pthread_cond_broadcast(&h->idle);
			pthread_mutex_unlock(&h->lock);
			return MHD_NO;
		}
		*con_cls = x;
		sg_log_set_request_id(x->req.request_id);
		MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_header, &header_bytes);
		if (header_bytes > HEADER_BYTES_MAX) {
			gw_error_r(&x->resp, SG_ERR_HEADERS_TOO_LARGE,
			    "request headers are limited to %d bytes", HEADER_BYTES_MAX);
			return send_response(x, conn);
		}
		if ((ambiguous = ambiguous_headers(conn)) != NULL) {
			gw_error_r(&x->resp, SG_ERR_INVALID_ARG, "%s", ambiguous);
			return send_response(x, conn);
		}
		has_length = parse_length(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    "Content-Length"), &length);
		if (gw_route_begin(&x->req, &x->resp, length, has_length) != 0) {
			if (has_length && length > 0 && length <= DRAIN_MAX) {
				x->draining = 1;
				return MHD_YES;
			}
			return send_response(x, conn);
		}
		x->cap = gw_route_body_cap(&x->req);
		/* A document is hashed, not kept: its buffer stays empty. */
		/* Bodies can carry secrets (a transfer password for /enroll):
		 * wiped when grown or released. */
		sg_buf_init_secret(&x->req.body, x->req.document ? 0 : x->cap);
		return MHD_YES;
	}
	if (x->queued || (x->draining && *upload_data_size != 0)) {
		*upload_data_size = 0;	/* an early answer: drop the rest */
		return MHD_YES;
	}
	if (x->draining)
		return send_response(x, conn);
	if (*upload_data_size != 0 && x->req.document) {
		if (!x->too_large && (*upload_data_size > x->cap - x->req.doc_len ||
		    EVP_DigestUpdate(x->req.doc_md, upload_data, *upload_data_size) != 1 ||
		    (x->req.doc_fd >= 0 && sg_file_pwrite_all(x->req.doc_fd, x->req.doc_len,
		    upload_data, *upload_data_size) != 0)))
			x->too_large = 1;
		else
			x->req.doc_len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!x->too_large && sg_buf_append(&x->req.body, upload_data, *upload_data_size) != 0) {
			x->too_large = 1;
			sg_buf_free(&x->req.body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	sg_log_set_request_id(x->req.request_id);
	gw_route_finish(&x->req, &x->resp, x->too_large);
	return send_response(x, conn);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct gw_http *h = cls;
	struct exchange *x = *con_cls;
	struct timespec now;
	double seconds;

	(void)conn;
	if (x == NULL)
		return;
	*con_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	seconds = (double)(now.tv_sec - x->req.started.tv_sec) +
	    (double)(now.tv_nsec - x->req.started.tv_nsec) / 1e9;
	sg_log_set_request_id(x->req.request_id);
	sg_info("%s %s %d %.3fms client=%s%s", x->method, x->path, x->queued ? x->resp.status : 0,
	    seconds * 1000.0, x->req.client != NULL ? x->req.client->name : "-",
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
	sg_log_set_request_id(NULL);
	gw_metrics_request(h->gw->metrics, gw_route_label(x->method, x->path),
	    x->queued ? x->resp.status : 0, seconds);
	gw_snapshot_put(h->gw, x->req.snap);
	sg_buf_free(&x->req.body);
	sg_buf_free(&x->resp.body);
	EVP_MD_CTX_free(x->req.doc_md);
	if (x->req.doc_fd >= 0)
		close(x->req.doc_fd);
	if (x->resp.body_fd >= 0)
		close(x->resp.body_fd);
	free(x->method);
	free(x->path);
	free(x);
	pthread_mutex_lock(&h->lock);
	if (--h->in_flight == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
}

int
gw_http_start(struct gw *gw, const struct sg_config *cfg, struct gw_http **hp,
    unsigned int *portp)
{
	struct gw_http *h = NULL;
	struct sockaddr_in6 sa6;
	struct sockaddr_in sa4;
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	struct gw_snapshot *snap = NULL;
	const char *trust = NULL, *priorities = NULL;
	gnutls_certificate_retrieve_function3 *cert_cb = NULL;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG;
	unsigned int timeout_s = (cfg->limits.request_timeout_ms + 999) / 1000;

	*hp = NULL;
	memset(&sa4, 0, sizeof(sa4));
	memset(&sa6, 0, sizeof(sa6));
	if (inet_pton(AF_INET, cfg->listen.address, &sa4.sin_addr) == 1) {
		sa4.sin_family = AF_INET;
		sa4.sin_port = htons((uint16_t)cfg->listen.port);
		sa = (struct sockaddr *)&sa4;
	} else if (inet_pton(AF_INET6, cfg->listen.address, &sa6.sin6_addr) == 1) {
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons((uint16_t)cfg->listen.port);
		sa = (struct sockaddr *)&sa6;
		flags |= MHD_USE_IPv6;
	} else {
		sg_error("listen.address %s is not an IPv4 or IPv6 address", cfg->listen.address);
		return SG_ERR_CONFIG;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SG_ERR_ALLOC;
	h->gw = gw;
	/* HTTPS: the priorities and the client CAs asked for are fixed at
	 * start; each handshake takes the certificate of the snapshot current
	 * then (gw_tls.h). */
	snap = gw_snapshot_get(gw);
	if (cfg->listen.tls != NULL && snap->tls != NULL) {
		h->tls = 1;
		h->tls_at_start = gw_tls_ref(snap->tls);
		flags |= MHD_USE_TLS;
		cert_cb = gw_tls_cert_callback(gw);
		priorities = gw_tls_priorities(snap->tls);
		trust = gw_tls_client_ca_pem(snap->tls);
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	h->daemon = MHD_start_daemon(flags, (uint16_t)cfg->listen.port, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->listen.threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s > 0 ? timeout_s : 1,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->listen.max_connections_per_peer,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    /* libmicrohttpd reads options up to the first MHD_OPTION_END:
	     * plain HTTP ends the list here, a listener without a client CA
	     * before the trust. */
	    h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK2 : MHD_OPTION_END, cert_cb,
	    MHD_OPTION_HTTPS_PRIORITIES, priorities,
	    trust != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, trust,
	    MHD_OPTION_END);
	gw_snapshot_put(gw, snap);
	if (h->daemon == NULL) {
		sg_error("cannot listen on %s port %u", cfg->listen.address, cfg->listen.port);
		gw_tls_unref(h->tls_at_start);
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->idle);
		free(h);
		return SG_ERR_IO;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*portp = info != NULL ? info->port : cfg->listen.port;
	*hp = h;
	return 0;
}

void
gw_http_stop(struct gw_http *h, unsigned int drain_ms)
{
	struct timespec deadline;
	MHD_socket listen_fd;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_mutex_unlock(&h->lock);
	/* Stop accepting; connections already open finish their request. */
	listen_fd = MHD_quiesce_daemon(h->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += drain_ms / 1000;
	deadline.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (h->in_flight > 0) {
		if (pthread_cond_timedwait(&h->idle, &h->lock, &deadline) == ETIMEDOUT) {
			sg_warn("%u requests still running after %u ms; stopping anyway", h->in_flight,
			    drain_ms);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	MHD_stop_daemon(h->daemon);
	gw_tls_unref(h->tls_at_start);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->idle);
	free(h);
}
