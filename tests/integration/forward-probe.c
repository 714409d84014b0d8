/* SPDX-License-Identifier: Apache-2.0 */
/* forward-probe: drives the gateway's HTTPS forwarder (gw_forward) from
 * the command line for forward_tls.sh. Opens the token, finds a key and
 * its certificate, POSTs a body N times from T threads and prints one JSON
 * line per post. Test infrastructure, never installed. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_forward.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "sgp11.h"

#define PROG "forward-probe"
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_POST_FAILED 3
#define MAX_HEADERS 16
#define MAX_PATHS 16
#define MAX_THREADS 64

static const char usage_text[] =
"usage: forward-probe --url BASE --ca FILE --key LABEL [options]\n"
"POSTs a body through gw_forward with the key's certificate and prints one\n"
"JSON line per post: {thread, seq, status, attempts, elapsed_ms,\n"
"new_connections, content_type, body} or, on failure, {..., error, http,\n"
"reason} with the gateway's error code and HTTP status for the failure.\n"
"Exits 0 when every post got an answer, 3 when one failed, 1 or 2 else.\n"
"  --url BASE              authority base URL (https://host:port)\n"
"  --ca FILE               the server's CA certificates (PEM)\n"
"  --key LABEL             client key (and certificate) on the token\n"
"  --chain FILE            intermediate certificates to send (PEM)\n"
"  --path P                appended to BASE (default /echo); given more\n"
"                          than once, the posts take them in turn\n"
"  --body TEXT             request body (default \"hello\")\n"
"  --content-type T        (default text/plain)\n"
"  --header 'Name: value'  extra header, up to 16 times\n"
"  --count N               posts per thread (default 1)\n"
"  --threads T             1..64 (default 1)\n"
"  --tls 0|12|13           pin the TLS version (default 0: either)\n"
"  --retries R             0..5 (default 0)\n"
"  --timeout-ms MS         per post (default 30000)\n"
"  --connect-timeout-ms MS per attempt (default 10000)\n"
"  --connections N         connection pool size (default 8)\n"
"  --max-reply N           reply body cap in bytes (default 4 MiB)\n"
"  --module PATH, --token LABEL, --pin-file F  as sealgate-token\n"
"  --debug                 debug logging (libcurl's, redacted) on stderr\n";

struct probe {
	struct gw_forward *fwd;
	const char *paths[MAX_PATHS];
	size_t n_paths;
	const char *body, *content_type;
	const char *headers[MAX_HEADERS];
	size_t n_headers;
	long count;
	int failed;			/* atomic */
};

struct worker {
	pthread_t tid;
	struct probe *probe;
	long index;
};

static int
fail(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return EXIT_FAIL;
}

static int
usage_error(const char *why)
{
	fprintf(stderr, PROG ": usage: %s (see --help)\n", why);
	return EXIT_USAGE;
}

/* A whole number in [lo, hi]; 0 or -1. */
static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void
print_result(long thread, long seq, int r, struct gw_forward_reply *reply)
{
	cJSON *doc = cJSON_CreateObject();
	const char *code;
	char *text;

	cJSON_AddNumberToObject(doc, "thread", (double)thread);
	cJSON_AddNumberToObject(doc, "seq", (double)seq);
	cJSON_AddNumberToObject(doc, "status", reply->status);
	cJSON_AddNumberToObject(doc, "attempts", reply->attempts);
	cJSON_AddNumberToObject(doc, "elapsed_ms", (double)reply->elapsed_ms);
	cJSON_AddNumberToObject(doc, "new_connections", (double)reply->new_connections);
	if (reply->content_type != NULL)
		cJSON_AddStringToObject(doc, "content_type", reply->content_type);
	if (r == 0) {
		cJSON_AddStringToObject(doc, "body", sg_buf_str(&reply->body));
	} else {
		cJSON_AddNumberToObject(doc, "http", gw_err_status(r, &code));
		cJSON_AddStringToObject(doc, "error", code);
		cJSON_AddStringToObject(doc, "reason", sg_strerror(r));
	}
	if ((text = cJSON_PrintUnformatted(doc)) != NULL) {
		flockfile(stdout);
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		funlockfile(stdout);
	}
	cJSON_free(text);
	cJSON_Delete(doc);
}

static void *
post_loop(void *arg)
{
	struct worker *w = arg;
	struct probe *p = w->probe;
	struct gw_forward_reply reply;
	char request_id[32];
	long seq;
	int r;

	if (snprintf(request_id, sizeof(request_id), "probe-%ld", w->index) < (int)sizeof(request_id))
		sg_log_set_request_id(request_id);
	for (seq = 1; seq <= p->count; seq++) {
		r = gw_forward_post(p->fwd, p->paths[(size_t)(seq - 1) % p->n_paths], p->content_type, p->body, strlen(p->body),
		    p->headers, p->n_headers, &reply);
		print_result(w->index, seq, r, &reply);
		gw_forward_reply_free(&reply);
		if (r != 0)
			__atomic_store_n(&p->failed, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int
load_chain(const char *path, STACK_OF(X509) **chainp)
{
	STACK_OF(X509) *chain = NULL;
	BIO *bio = NULL;
	X509 *c;
	int r = SG_ERR_ALLOC;

	*chainp = NULL;
	if ((chain = sk_X509_new_null()) == NULL)
		goto out;
	r = SG_ERR_IO;
	if ((bio = BIO_new_file(path, "r")) == NULL)
		goto out;
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(chain, c) <= 0) {
			X509_free(c);
			r = SG_ERR_ALLOC;
			goto out;
		}
	}
	ERR_clear_error();
	r = sk_X509_num(chain) > 0 ? 0 : SG_ERR_PARSE;
	if (r == 0) {
		*chainp = chain;
		chain = NULL;
	}
 out:
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

struct settings {
	const char *module, *token, *pin_file, *key, *chain;
	long threads;
	struct gw_forward_opts fo;
};

static int
run(struct settings *s, struct probe *p)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	STACK_OF(X509) *chain = NULL;
	struct worker *workers = NULL;
	char *pin = NULL;
	char why[256];
	long started = 0, i;
	int r, ret = EXIT_FAIL;

	if ((r = gw_forward_global_init()) != 0)
		return fail("libcurl", sg_strerror(r));
	if (s->pin_file != NULL)
		r = sg_secret_read_file(s->pin_file, &pin);
	else
		r = sg_secret_take_env("SEALGATE_PIN", &pin);
	if (r != 0) {
		ret = fail("user PIN", sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_open(s->module, s->token, &ctx)) != 0 || (r = sgp11_login(ctx, pin)) != 0) {
		ret = fail("token", sg_strerror(r));
		goto out;
	}
	sg_free_secret_str(pin);
	pin = NULL;
	if ((r = sgp11_key_find(ctx, s->key, &key)) != 0) {
		ret = fail(s->key, sg_strerror(r));
		goto out;
	}
	if (sgp11_key_get0_cert(key) == NULL) {
		ret = fail(s->key, "no certificate next to the key");
		goto out;
	}
	if (s->chain != NULL && (r = load_chain(s->chain, &chain)) != 0) {
		ret = fail(s->chain, sg_strerror(r));
		goto out;
	}
	s->fo.token = ctx;
	s->fo.key = key;
	s->fo.cert = sgp11_key_get0_cert(key);
	s->fo.chain = chain;
	if ((r = gw_forward_new(&s->fo, &p->fwd)) != 0) {
		ret = fail("forwarder", sg_strerror(r));
		goto out;
	}
	if ((workers = calloc((size_t)s->threads, sizeof(*workers))) == NULL) {
		ret = fail("threads", sg_strerror(SG_ERR_ALLOC));
		goto out;
	}
	for (started = 0; started < s->threads; started++) {
		workers[started].probe = p;
		workers[started].index = started;
		if ((r = pthread_create(&workers[started].tid, NULL, post_loop,
		    &workers[started])) != 0) {
			if (snprintf(why, sizeof(why), "pthread_create: %s", strerror(r)) >= (int)sizeof(why))
				why[0] = '\0';
			fail("threads", why);
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	if (started == s->threads)
		ret = __atomic_load_n(&p->failed, __ATOMIC_RELAXED) ? EXIT_POST_FAILED : 0;
 out:
	free(workers);
	/* Connections hold the key's EVP_PKEY: close them first. */
	gw_forward_free(p->fwd);
	sk_X509_pop_free(chain, X509_free);
	sgp11_key_free(key);
	sgp11_close(ctx);
	sg_free_secret_str(pin);
	gw_forward_global_cleanup();
	return ret;
}

enum {
	OPT_URL = 256, OPT_CA, OPT_KEY, OPT_CHAIN, OPT_PATH, OPT_BODY, OPT_CTYPE, OPT_HEADER,
	OPT_COUNT, OPT_THREADS, OPT_TLS, OPT_RETRIES, OPT_TIMEOUT, OPT_CONNECT_TIMEOUT,
	OPT_CONNECTIONS, OPT_MAX_REPLY, OPT_MODULE, OPT_TOKEN, OPT_PIN_FILE, OPT_DEBUG, OPT_HELP
};

static const struct option long_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "body", required_argument, NULL, OPT_BODY },
	{ "content-type", required_argument, NULL, OPT_CTYPE },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "max-reply", required_argument, NULL, OPT_MAX_REPLY },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct settings s;
	struct probe p;
	long v;
	int c, debug = 0;

	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	s.module = getenv("SEALGATE_PKCS11_MODULE") != NULL ? getenv("SEALGATE_PKCS11_MODULE") :
	    SG_DEFAULT_MODULE_PATH;
	s.token = getenv("SEALGATE_TOKEN_LABEL");
	s.threads = 1;
	p.body = "hello";
	p.content_type = "text/plain";
	p.count = 1;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_URL: s.fo.base_url = optarg; break;
		case OPT_CA: s.fo.ca_file = optarg; break;
		case OPT_KEY: s.key = optarg; break;
		case OPT_CHAIN: s.chain = optarg; break;
		case OPT_PATH:
			if (p.n_paths == MAX_PATHS)
				return usage_error("at most 16 --path");
			p.paths[p.n_paths++] = optarg;
			break;
		case OPT_BODY: p.body = optarg; break;
		case OPT_CTYPE: p.content_type = optarg; break;
		case OPT_MODULE: s.module = optarg; break;
		case OPT_TOKEN: s.token = optarg; break;
		case OPT_PIN_FILE: s.pin_file = optarg; break;
		case OPT_DEBUG: debug = 1; break;
		case OPT_HEADER:
			if (p.n_headers == MAX_HEADERS)
				return usage_error("at most 16 --header");
			p.headers[p.n_headers++] = optarg;
			break;
		case OPT_COUNT:
			if (parse_long(optarg, 1, 100000, &p.count) != 0)
				return usage_error("--count wants 1..100000");
			break;
		case OPT_THREADS:
			if (parse_long(optarg, 1, MAX_THREADS, &s.threads) != 0)
				return usage_error("--threads wants 1..64");
			break;
		case OPT_TLS:
			if (parse_long(optarg, 0, 13, &v) != 0 || (v != 0 && v != 12 && v != 13))
				return usage_error("--tls wants 0, 12 or 13");
			s.fo.tls_max = (int)v;
			break;
		case OPT_RETRIES:
			if (parse_long(optarg, 0, GW_FORWARD_MAX_RETRIES, &v) != 0)
				return usage_error("--retries wants 0..5");
			s.fo.retries = (unsigned int)v;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, 600000, &s.fo.timeout_ms) != 0)
				return usage_error("--timeout-ms wants 1..600000");
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_long(optarg, 1, 600000, &s.fo.connect_timeout_ms) != 0)
				return usage_error("--connect-timeout-ms wants 1..600000");
			break;
		case OPT_CONNECTIONS:
			if (parse_long(optarg, 1, 256, &v) != 0)
				return usage_error("--connections wants 1..256");
			s.fo.max_connections = (size_t)v;
			break;
		case OPT_MAX_REPLY:
			if (parse_long(optarg, 1, LONG_MAX, &v) != 0)
				return usage_error("--max-reply wants a positive number");
			s.fo.max_reply_bytes = (size_t)v;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument");
	if (s.fo.base_url == NULL || s.fo.ca_file == NULL || s.key == NULL)
		return usage_error("--url, --ca and --key are required");
	if (p.n_paths == 0)
		p.paths[p.n_paths++] = "/echo";
	if (s.token == NULL)
		return usage_error("--token or SEALGATE_TOKEN_LABEL is required");
	sg_log_init(PROG, debug ? SG_LOG_DEBUG : SG_LOG_WARN);
	return run(&s, &p);
}
