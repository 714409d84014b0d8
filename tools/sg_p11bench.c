/* SPDX-License-Identifier: Apache-2.0 */
/* sg-p11bench: the token's own signing rate, the baseline scripts/bench
 * sets the gateway against. N threads sign a fixed SHA-256 digest through
 * the token layer (sgp11_sign_digest, the gateway's own path) with the
 * session pool capped at N, so each signature in flight has a session of
 * its own. Prints one JSON object; test infrastructure, never installed. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "sg_cli.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "sgp11.h"

#define PROG "sg-p11bench"
#define MAX_THREADS 256

static const char usage_text[] =
"usage: sg-p11bench --label K [--threads N] [--seconds S] [--warmup S]\n"
"                   [--module PATH] [--token LABEL] [--pin-file F]\n"
"Signs SHA-256 digests with key K on the token from N threads (one session\n"
"each) for S seconds after a warm-up, the way sealgated does (RSA PKCS#1 v1.5\n"
"over the DigestInfo, ECDSA for EC), and prints\n"
"{\"key\",\"threads\",\"signatures\",\"seconds\",\"per_second\",\"p50_ms\",\"p99_ms\",\n"
"\"cpu_us_per_signature\"} (the signing threads' CPU time per counted signature).\n"
"  --label K        the private key's label (required)\n"
"  --threads N      signing threads, 1..256 (default 1)\n"
"  --seconds S      measured time, 0.1..3600 (default 10)\n"
"  --warmup S       unmeasured time before it, 0..60 (default 1)\n"
"  --module PATH    PKCS#11 module (default SEALGATE_PKCS11_MODULE, or built-in)\n"
"  --token LABEL    token label (default SEALGATE_TOKEN_LABEL)\n"
"  --pin-file F     user PIN, an owner-only file (default SEALGATE_PIN)\n"
"  --help, --version\n";

/* What every thread shares. The measurement window is fixed before the
 * threads start, on the monotonic clock: a signature counts when it
 * completes inside it, so the rate has no edge bias. */
struct bench {
	struct sgp11_key *key;
	unsigned char digest[32];
	int64_t measure_from_ns, measure_to_ns;
	int failed;			/* atomic: a thread failed, all stop */
};

struct worker {
	pthread_t tid;
	struct bench *bench;
	uint64_t *latency_ns;		/* one per counted signature */
	size_t n, cap;
	/* The thread's CPU time when its first counted signature began and
	 * when its loop ended: what counted signing cost the process. */
	int64_t cpu_from_ns, cpu_to_ns;
	int err;
	unsigned long ckr;
};

static int64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A decimal number in [lo, hi]; 0 or -1. */
/* CPU time this thread has used. */
static int64_t
thread_cpu_ns(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
		return 0;
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int
parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
record(struct worker *w, uint64_t latency)
{
	uint64_t *grown;
	size_t cap;

	if (w->n == w->cap) {
		cap = w->cap != 0 ? w->cap * 2 : 4096;
		if ((grown = realloc(w->latency_ns, cap * sizeof(*grown))) == NULL)
			return SG_ERR_ALLOC;
		w->latency_ns = grown;
		w->cap = cap;
	}
	w->latency_ns[w->n++] = latency;
	return 0;
}

static void *
sign_loop(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->bench;
	unsigned char *sig;
	size_t sig_len;
	int64_t t0, t1;
	int r;

	w->cpu_from_ns = thread_cpu_ns();
	while (!__atomic_load_n(&b->failed, __ATOMIC_RELAXED)) {
		sig = NULL;
		t0 = now_ns();
		r = sgp11_sign_digest(b->key, NID_sha256, SGP11_PAD_DEFAULT, b->digest,
		    sizeof(b->digest), &sig, &sig_len);
		t1 = now_ns();
		OPENSSL_free(sig);
		if (r == 0 && t1 >= b->measure_from_ns && t1 < b->measure_to_ns)
			r = record(w, (uint64_t)(t1 - t0));
		if (r != 0) {
			w->err = r;
			w->ckr = sgp11_last_ckr();
			__atomic_store_n(&b->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		/* Until the window opens, the end of each signature is where
		 * the next (perhaps first counted) one starts; inside it the
		 * clock is left alone, so it costs the measured loop nothing. */
		if (t1 < b->measure_from_ns)
			w->cpu_from_ns = thread_cpu_ns();
		if (t1 >= b->measure_to_ns)
			break;
	}
	w->cpu_to_ns = thread_cpu_ns();
	return NULL;
}

/* One signature checked against the key's public half before measuring:
 * a rate of wrong signatures would be worth nothing. */
static int
check_signature(struct bench *b)
{
	EVP_PKEY *pub = sgp11_key_get0_public(b->key);
	EVP_PKEY_CTX *vctx = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int r;

	if ((r = sgp11_sign_digest(b->key, NID_sha256, SGP11_PAD_DEFAULT, b->digest,
	    sizeof(b->digest), &sig, &sig_len)) != 0)
		goto out;
	r = SG_ERR_CRYPTO;
	if (pub == NULL || (vctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(vctx) != 1)
		goto out;
	if (sgp11_key_spec(b->key)->kind == SGP11_RSA &&
	    (EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha256()) != 1))
		goto out;
	if (EVP_PKEY_verify(vctx, sig, sig_len, b->digest, sizeof(b->digest)) != 1)
		goto out;
	r = 0;
 out:
	EVP_PKEY_CTX_free(vctx);
	OPENSSL_free(sig);
	return r;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in milliseconds. */
static double
percentile_ms(const uint64_t *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return (double)sorted[rank - 1] / 1e6;
}

static int
report(const struct bench *b, struct worker *workers, size_t nthreads)
{
	uint64_t *all = NULL;
	size_t total = 0, i, at = 0;
	int64_t cpu_ns = 0;
	double seconds = (double)(b->measure_to_ns - b->measure_from_ns) / 1e9;

	for (i = 0; i < nthreads; i++) {
		total += workers[i].n;
		cpu_ns += workers[i].cpu_to_ns - workers[i].cpu_from_ns;
	}
	if (total == 0)
		return sg_cli_fail("measure", "no signature completed in %.1f s", seconds);
	if ((all = malloc(total * sizeof(*all))) == NULL)
		return sg_cli_fail("measure", "%s", sg_strerror(SG_ERR_ALLOC));
	for (i = 0; i < nthreads; i++) {
		memcpy(all + at, workers[i].latency_ns, workers[i].n * sizeof(*all));
		at += workers[i].n;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("{\"key\":\"%s\",\"threads\":%zu,\"signatures\":%zu,\"seconds\":%.3f,"
	    "\"per_second\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"cpu_us_per_signature\":%.1f}\n",
	    sgp11_keyspec_name(sgp11_key_spec(b->key)), nthreads, total, seconds,
	    (double)total / seconds, percentile_ms(all, total, 50.0), percentile_ms(all, total, 99.0),
	    (double)cpu_ns / 1e3 / (double)total);
	free(all);
	return fflush(stdout) == 0 ? 0 : sg_cli_fail("output", "%s", strerror(errno));
}

static int
run(const char *module, const char *token, const char *label, const char *pin_file,
    size_t nthreads, double seconds, double warmup)
{
	struct sgp11_ctx *ctx = NULL;
	struct worker *workers = NULL;
	struct bench b;
	char *pin = NULL;
	size_t started = 0, i;
	int64_t start;
	int r, ret = SG_EXIT_FAIL;

	memset(&b, 0, sizeof(b));
	/* SHA-256("sg-p11bench"): any fixed digest will do, signing cost
	 * does not depend on it. */
	if (EVP_Digest(PROG, strlen(PROG), b.digest, NULL, EVP_sha256(), NULL) != 1) {
		ret = sg_cli_fail("digest", "%s", sg_strerror(SG_ERR_CRYPTO));
		goto out;
	}
	if (pin_file != NULL)
		r = sg_secret_read_file(pin_file, &pin);
	else
		r = sg_secret_take_env("SEALGATE_PIN", &pin);
	if (r != 0) {
		ret = sg_cli_fail("user PIN", "%s: %s", pin_file != NULL ? pin_file : "SEALGATE_PIN",
		    sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_open(module, token, &ctx)) != 0) {
		if (r == SG_ERR_TOKEN_NOT_FOUND)
			ret = sg_cli_fail("open token", "no initialised token labelled \"%s\" in %s", token,
			    module);
		else
			ret = sg_cli_fail("open token", "%s: %s", module, sg_strerror(r));
		goto out;
	}
	/* Before any session is open: afterwards the pool refuses a change. */
	if ((r = sgp11_set_session_limit(ctx, nthreads)) != 0) {
		ret = sg_cli_fail("session limit", "%s", sg_strerror(r));
		goto out;
	}
	if (sgp11_session_limit(ctx) < nthreads) {
		ret = sg_cli_fail("session limit", "the token allows %zu signing sessions, not %zu",
		    sgp11_session_limit(ctx), nthreads);
		goto out;
	}
	r = sgp11_login(ctx, pin);
	sg_free_secret_str(pin);
	pin = NULL;
	if (r != 0) {
		ret = sg_cli_fail("log in", "%s", sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_key_find(ctx, label, &b.key)) != 0) {
		ret = sg_cli_fail("key", "\"%s\": %s", label, sg_strerror(r));
		goto out;
	}
	if ((r = check_signature(&b)) != 0) {
		ret = sg_cli_fail("check signature", "\"%s\": %s (%s)", label, sg_strerror(r),
		    sgp11_ckr_name(sgp11_last_ckr()));
		goto out;
	}
	if ((workers = calloc(nthreads, sizeof(*workers))) == NULL) {
		ret = sg_cli_fail("threads", "%s", sg_strerror(SG_ERR_ALLOC));
		goto out;
	}
	start = now_ns();
	b.measure_from_ns = start + (int64_t)(warmup * 1e9);
	b.measure_to_ns = b.measure_from_ns + (int64_t)(seconds * 1e9);
	for (started = 0; started < nthreads; started++) {
		workers[started].bench = &b;
		if ((r = pthread_create(&workers[started].tid, NULL, sign_loop,
		    &workers[started])) != 0) {
			__atomic_store_n(&b.failed, 1, __ATOMIC_RELAXED);
			sg_cli_fail("threads", "pthread_create: %s", strerror(r));
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	if (started < nthreads)
		goto out;
	for (i = 0; i < nthreads; i++) {
		if (workers[i].err != 0) {
			ret = sg_cli_fail("sign", "\"%s\" on thread %zu: %s (%s)", label, i,
			    sg_strerror(workers[i].err), sgp11_ckr_name(workers[i].ckr));
			goto out;
		}
	}
	ret = report(&b, workers, nthreads);
 out:
	for (i = 0; workers != NULL && i < nthreads; i++)
		free(workers[i].latency_ns);
	free(workers);
	sgp11_key_free(b.key);
	sgp11_close(ctx);
	sg_free_secret_str(pin);
	return ret;
}

enum {
	OPT_LABEL = 256, OPT_THREADS, OPT_SECONDS, OPT_WARMUP, OPT_MODULE, OPT_TOKEN,
	OPT_PIN_FILE, OPT_HELP, OPT_VERSION
};

static const struct option long_options[] = {
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	/* A PIN never comes from argv. */
	{ "pin", required_argument, NULL, 'P' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	const char *label = NULL, *module = NULL, *token = NULL, *pin_file = NULL;
	double threads = 1, seconds = 10, warmup = 1;
	int c;

	sg_log_init(PROG, getenv("SEALGATE_DEBUG") != NULL ? SG_LOG_DEBUG : SG_LOG_QUIET);
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_LABEL: label = optarg; break;
		case OPT_MODULE: module = optarg; break;
		case OPT_TOKEN: token = optarg; break;
		case OPT_PIN_FILE: pin_file = optarg; break;
		case OPT_THREADS:
			if (parse_number(optarg, 1, MAX_THREADS, &threads) != 0 ||
			    threads != floor(threads))
				return sg_cli_usage("--threads wants a whole number 1..256");
			break;
		case OPT_SECONDS:
			if (parse_number(optarg, 0.1, 3600, &seconds) != 0)
				return sg_cli_usage("--seconds wants a number 0.1..3600");
			break;
		case OPT_WARMUP:
			if (parse_number(optarg, 0, 60, &warmup) != 0)
				return sg_cli_usage("--warmup wants a number 0..60");
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 0;
		case OPT_VERSION:
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		case 'P':
			return sg_cli_usage("a PIN is never taken from the command line; "
			    "use --pin-file or SEALGATE_PIN");
		default:
			return sg_cli_usage("unknown option");
		}
	}
	if (optind < argc)
		return sg_cli_usage("unexpected argument");
	if (label == NULL)
		return sg_cli_usage("--label is required");
	if (module == NULL && (module = getenv("SEALGATE_PKCS11_MODULE")) == NULL)
		module = SG_DEFAULT_MODULE_PATH;
	if (token == NULL && (token = getenv("SEALGATE_TOKEN_LABEL")) == NULL)
		return sg_cli_usage("no token label: give --token or SEALGATE_TOKEN_LABEL");
	return run(module, token, label, pin_file, (size_t)threads, seconds, warmup);
}
