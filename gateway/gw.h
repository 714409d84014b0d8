/* SPDX-License-Identifier: Apache-2.0 */
/* What the parts of sealgated share: the daemon's long-lived state and
 * the reloadable configuration snapshot with its identities' keys. The
 * request and response the routes see are in gw_request.h, the snapshot's
 * functions in gw_snapshot.h. */
#ifndef GW_H
#define GW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sg_audit.h"
#include "sg_config.h"
#include "sgp11.h"

struct gw_metrics;
struct gw_authority;
struct gw_idem;
struct gw_jobs;
struct gw_tls;

#define GW_REQUEST_ID_MAX 64
/* Longest path segment a route's "{}" takes (names, job ids). */
#define GW_PATH_ARG_MAX SG_CONFIG_NAME_MAX

/* One configured identity with what the token holds for it. */
struct gw_identity {
	const struct sg_identity *cfg;	/* points into the snapshot's config */
	struct sgp11_key *key;		/* NULL when the key is missing */
	X509 *cert;			/* borrowed from key, or NULL */
	char key_type[16];
	char cert_serial[80];		/* hex, or "" */
	char *cert_b64;			/* cert's DER in base64, or NULL: made once per snapshot */
	time_t not_after;		/* 0 without a certificate */
	/* Use stamp or soap: the adapter of cfg->authority (authorities/
	 * authority.h), or NULL without a key or certificate. */
	struct gw_authority *authority;
	/* Readiness: when a test signature last succeeded (0: never), and
	 * when one last failed, with what (so a failing token is not asked
	 * again on every call). Under ready_lock. */
	pthread_mutex_t ready_lock;
	time_t ready_at, failed_at;
	int failed_r;
};

/* The token as the daemon sees it (gw_token.c): up, or down since an
 * outage began, with one prober bringing it back. */
struct gw_token_state {
	/* Read without a lock (atomics); written under gw.reload_lock and,
	 * for down_since_ms, also under lock. */
	int64_t down_since_ms;		/* monotonic ms the outage began; 0: up */
	time_t down_since;		/* the same on the wall clock */
	const char *level;		/* the last recovery's level (static), or NULL */
	int ok;				/* and whether it worked */
	/* Under gw.reload_lock. */
	enum sgp11_recovery next_from;	/* where the next recovery starts */
	char reason[200];		/* what the outage began with */
	/* Requests refused without the token in this outage, under lock;
	 * the prober waits on wake (every GW_TOKEN_PROBE_MS while down). */
	uint64_t refused;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop;
};

/* A configuration with its identities, shared by the requests that
 * started under it; SIGHUP and token recovery publish a new one. */
struct gw_snapshot {
	int refs;			/* guarded by gw.snap_lock */
	struct sg_config *cfg;
	struct gw_identity *ids;
	size_t n_ids;
	/* One open adapter per rfc3161 authority, in configuration order. */
	struct gw_tsa_slot {
		const struct sg_authority *cfg;
		struct gw_authority *authority;
	} *tsas;
	size_t n_tsas;
	unsigned long token_generation;
	/* $.listen.tls loaded (gw_tls.h), or NULL: plain HTTP. Each new
	 * handshake takes the current snapshot's. */
	struct gw_tls *tls;
};

struct gw {
	char *config_path;
	struct sgp11_ctx *token;
	struct sg_audit *audit;
	struct gw_metrics *metrics;
	time_t started_at;
	pthread_mutex_t snap_lock;
	struct gw_snapshot *snap;	/* current; swapped under snap_lock */
	pthread_mutex_t reload_lock;	/* one reload or recovery at a time */
	struct gw_token_state tok;	/* gw_token.c */
	/* Settings fixed at start (a reload cannot change them). */
	size_t max_json_bytes;
	char *audit_dir;
	size_t max_document_bytes;
	size_t max_soap_bytes;
	struct gw_idem *idem;		/* Idempotency-Key records */
	struct gw_jobs *jobs;		/* enrolment and renewal jobs */
	struct gw_refusals *refusals;	/* coalesced unauthenticated refusals */
	/* Monotonic ms of the last failed audit write, 0 after a success. */
	int64_t audit_failed_ms;
};

#endif
