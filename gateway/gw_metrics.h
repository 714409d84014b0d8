/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's Prometheus registry: counters and histograms bumped by
 * request threads, rendered in text exposition format 0.0.4 for /metrics.
 * Values that belong to others (audit log, certificates, session pool)
 * are passed in per scrape and never kept. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct sg_buf;
struct gw_metrics;

/* Label sets per metric kept at most; increments for a new label set past
 * this are dropped and counted in sealgate_metrics_dropped_total. */
#define GW_METRICS_MAX_SERIES	4096
/* Longer label values are dropped the same way. */
#define GW_METRICS_MAX_LABEL	256

struct gw_metrics_cert_expiry {
	const char *identity;		/* borrowed for the render call */
	int64_t seconds;		/* until notAfter; negative once expired */
};

/* What the caller knows at scrape time; everything borrowed. */
struct gw_metrics_gauges {
	uint64_t audit_entries;		/* sealgate_audit_entries_total */
	uint64_t audit_syncs;		/* sealgate_audit_syncs_total */
	uint64_t audit_sync_ns;		/* sealgate_audit_fdatasync_seconds_total */
	uint64_t audit_announced;	/* sealgate_audit_announced */
	const struct gw_metrics_cert_expiry *cert_expiry;
	size_t n_cert_expiry;
	int64_t last_good_signature;	/* seconds since the epoch; 0: left out */
	int token_available;		/* 1 or 0; negative: left out */
	uint64_t token_refused;		/* refused in the current outage */
	int have_sessions;		/* 0: leave the two session gauges out */
	uint64_t sessions_in_use, sessions_max;
};

/* A new, empty registry in *mp (free with gw_metrics_free).
 * SG_ERR_ALLOC, SG_ERR_INTERNAL (mutex). */
int gw_metrics_new(struct gw_metrics **mp);
/* Free a registry with every series it owns (takes m); accepts NULL. No
 * other thread may still use it. */
void gw_metrics_free(struct gw_metrics *m);

/*
 * Recorders: thread-safe, never fail, never block on anything but the
 * registry's mutex. String arguments are borrowed and copied when a label
 * set is first seen; NULL counts as "". A non-finite or negative duration
 * is recorded as 0 s. m may be NULL (metrics off).
 */
/* sealgate_requests_total{route,status}, sealgate_request_seconds{route}. */
void gw_metrics_request(struct gw_metrics *m, const char *route, int status, double seconds);
/* sealgate_signatures_total{identity,operation}. */
void gw_metrics_signature(struct gw_metrics *m, const char *identity, const char *operation);
/* sealgate_token_errors_total{ckr}. */
void gw_metrics_token_error(struct gw_metrics *m, const char *ckr);
/* sealgate_authority_requests_total{authority,outcome}. */
void gw_metrics_authority(struct gw_metrics *m, const char *authority, const char *outcome);
/* sealgate_audit_sync_seconds (histogram, 0.1 ms .. 1 s). */
void gw_metrics_audit_sync(struct gw_metrics *m, double seconds);
/* sealgate_config_loads_total{outcome}: "ok" or "error". A test or an
 * operator sees a SIGHUP take effect here. */
void gw_metrics_config_load(struct gw_metrics *m, const char *outcome);
/* sealgate_renewal_scheduler_passes_total: one per auto_renew pass. */
void gw_metrics_renewal_pass(struct gw_metrics *m);
/* sealgate_token_recoveries_total{level,outcome}: level as sgp11_recover
 * reports it, outcome "ok" or "error". */
void gw_metrics_token_recovery(struct gw_metrics *m, const char *level, const char *outcome);

/*
 * Append the exposition text to out: the registry's series (label sets in
 * byte order), g's values (g may be NULL: those metrics are left out),
 * sealgate_up 1 and sealgate_metrics_dropped_total. m and g are borrowed.
 * SG_ERR_TOO_LARGE when out's cap is reached (out then holds a prefix),
 * SG_ERR_ALLOC.
 */
int gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_gauges *g,
    struct sg_buf *out);

#endif
