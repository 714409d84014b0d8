/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus registry (see gw_metrics.h): a fixed table of metric families,
 * each with a sorted array of label sets, all behind one mutex. The
 * registry owns every series and its label copies. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_metrics.h"
#include "sg_buf.h"
#include "sg_err.h"

#define MAX_LABELS	2

enum family_type { COUNTER, HISTOGRAM };

struct family_desc {
	const char *name;
	const char *help;
	enum family_type type;
	size_t n_labels;
	const char *label_names[MAX_LABELS];
	const double *bounds;	/* histogram upper bounds, +Inf left out */
	size_t n_bounds;
};

static const double request_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
/* An fdatasync on a quiet disk is well under a millisecond; a second
 * means trouble. */
static const double audit_sync_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1
};

enum family_id {
	F_REQUESTS, F_REQUEST_SECONDS, F_SIGNATURES, F_TOKEN_ERRORS, F_AUTHORITY, F_AUDIT_SYNC,
	F_CONFIG_LOADS, F_RENEWAL_PASSES, F_TOKEN_RECOVERIES, F_COUNT
};

#define NBOUNDS(a)	(sizeof(a) / sizeof((a)[0]))

/* Rendered in this order. */
static const struct family_desc families[F_COUNT] = {
	[F_REQUESTS] = { "sealgate_requests_total",
	    "Requests answered, by route and HTTP status.",
	    COUNTER, 2, { "route", "status" }, NULL, 0 },
	[F_REQUEST_SECONDS] = { "sealgate_request_seconds",
	    "Time from request start to the answer, by route.",
	    HISTOGRAM, 1, { "route", NULL }, request_bounds, NBOUNDS(request_bounds) },
	[F_SIGNATURES] = { "sealgate_signatures_total",
	    "Signatures made, by identity and operation.",
	    COUNTER, 2, { "identity", "operation" }, NULL, 0 },
	[F_TOKEN_ERRORS] = { "sealgate_token_errors_total",
	    "PKCS#11 errors returned by the token, by CKR name.",
	    COUNTER, 1, { "ckr", NULL }, NULL, 0 },
	[F_AUTHORITY] = { "sealgate_authority_requests_total",
	    "Requests to remote authorities, by authority and outcome.",
	    COUNTER, 2, { "authority", "outcome" }, NULL, 0 },
	[F_AUDIT_SYNC] = { "sealgate_audit_sync_seconds",
	    "Time to make an audit log write durable.",
	    HISTOGRAM, 0, { NULL, NULL }, audit_sync_bounds, NBOUNDS(audit_sync_bounds) },
	[F_CONFIG_LOADS] = { "sealgate_config_loads_total",
	    "Configuration loads (start, SIGHUP, renewals, token recovery), by outcome.",
	    COUNTER, 1, { "outcome", NULL }, NULL, 0 },
	[F_RENEWAL_PASSES] = { "sealgate_renewal_scheduler_passes_total",
	    "Passes of the auto_renew scheduler over the identities.",
	    COUNTER, 0, { NULL, NULL }, NULL, 0 },
	[F_TOKEN_RECOVERIES] = { "sealgate_token_recoveries_total",
	    "Token recoveries, by the highest level tried (find_keys, login, reopen) and outcome.",
	    COUNTER, 2, { "level", "outcome" }, NULL, 0 },
};

struct series {
	char *values[MAX_LABELS];
	uint64_t count;		/* counter value, or histogram observations */
	double sum;		/* histogram */
	uint64_t buckets[];	/* histogram: per bucket (not cumulative),
				 * n_bounds + 1 with the +Inf one last */
};

struct family {
	struct series **series;	/* sorted by label values, byte order */
	size_t n, alloc;
};

struct gw_metrics {
	pthread_mutex_t lock;
	struct family fam[F_COUNT];
	uint64_t dropped;
};

static void
series_free(struct series *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < MAX_LABELS; i++)
		free(s->values[i]);
	free(s);
}

static int
values_cmp(char *const *a, const char *const *b, size_t n)
{
	size_t i;
	int c;

	for (i = 0; i < n; i++) {
		if ((c = strcmp(a[i], b[i])) != 0)
			return c;
	}
	return 0;
}

/* The series for values, created when new. NULL when the family is full,
 * a value too long or memory short: the caller counts a drop. Locked. */
static struct series *
series_get(struct gw_metrics *m, enum family_id id, const char *const *values)
{
	const struct family_desc *d = &families[id];
	struct family *f = &m->fam[id];
	struct series *s = NULL, **grown;
	size_t lo = 0, hi = f->n, mid, i, alloc, nbuckets;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = values_cmp(f->series[mid]->values, values, d->n_labels)) == 0)
			return f->series[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (f->n >= GW_METRICS_MAX_SERIES)
		return NULL;
	for (i = 0; i < d->n_labels; i++) {
		if (strnlen(values[i], GW_METRICS_MAX_LABEL + 1) > GW_METRICS_MAX_LABEL)
			return NULL;
	}
	if (f->n == f->alloc) {
		alloc = f->alloc == 0 ? 16 : f->alloc * 2;
		if (alloc > GW_METRICS_MAX_SERIES)
			alloc = GW_METRICS_MAX_SERIES;
		if ((grown = realloc(f->series, alloc * sizeof(*grown))) == NULL)
			return NULL;
		f->series = grown;
		f->alloc = alloc;
	}
	nbuckets = d->type == HISTOGRAM ? d->n_bounds + 1 : 0;
	if ((s = calloc(1, sizeof(*s) + nbuckets * sizeof(s->buckets[0]))) == NULL)
		return NULL;
	for (i = 0; i < d->n_labels; i++) {
		if ((s->values[i] = strdup(values[i])) == NULL) {
			series_free(s);
			return NULL;
		}
	}
	memmove(&f->series[lo + 1], &f->series[lo], (f->n - lo) * sizeof(f->series[0]));
	f->series[lo] = s;
	f->n++;
	return s;
}

static void
record(struct gw_metrics *m, enum family_id id, const char *v0, const char *v1, double seconds)
{
	const struct family_desc *d = &families[id];
	const char *values[MAX_LABELS];
	struct series *s;
	size_t i;

	if (m == NULL)
		return;
	values[0] = v0 != NULL ? v0 : "";
	values[1] = v1 != NULL ? v1 : "";
	/* A clock step can make a duration negative; NaN would poison the
	 * sum for the life of the process. */
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	pthread_mutex_lock(&m->lock);
	if ((s = series_get(m, id, values)) == NULL)
		m->dropped++;
	else if (d->type == COUNTER)
		s->count++;
	else {
		/* le is inclusive: a value equal to a bound is in that bucket. */
		for (i = 0; i < d->n_bounds && seconds > d->bounds[i]; i++)
			;
		s->buckets[i]++;
		s->sum += seconds;
		s->count++;
	}
	pthread_mutex_unlock(&m->lock);
}

int
gw_metrics_new(struct gw_metrics **mp)
{
	struct gw_metrics *m;
	static const char *const no_values[MAX_LABELS] = { "", "" };

	*mp = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SG_ERR_ALLOC;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return SG_ERR_INTERNAL;
	}
	/* A metric without labels is shown from the start, at zero. */
	if (series_get(m, F_AUDIT_SYNC, no_values) == NULL ||
	    series_get(m, F_RENEWAL_PASSES, no_values) == NULL) {
		gw_metrics_free(m);
		return SG_ERR_ALLOC;
	}
	*mp = m;
	return 0;
}

void
gw_metrics_free(struct gw_metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < F_COUNT; i++) {
		for (j = 0; j < m->fam[i].n; j++)
			series_free(m->fam[i].series[j]);
		free(m->fam[i].series);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
gw_metrics_request(struct gw_metrics *m, const char *route, int status, double seconds)
{
	char status_text[16];
	int n;

	if (m == NULL)
		return;
	n = snprintf(status_text, sizeof(status_text), "%d", status);
	if (n < 0 || (size_t)n >= sizeof(status_text)) {
		pthread_mutex_lock(&m->lock);
		m->dropped++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	record(m, F_REQUESTS, route, status_text, 0);
	record(m, F_REQUEST_SECONDS, route, NULL, seconds);
}

void
gw_metrics_signature(struct gw_metrics *m, const char *identity, const char *operation)
{
	record(m, F_SIGNATURES, identity, operation, 0);
}

void
gw_metrics_token_error(struct gw_metrics *m, const char *ckr)
{
	record(m, F_TOKEN_ERRORS, ckr, NULL, 0);
}

void
gw_metrics_authority(struct gw_metrics *m, const char *authority, const char *outcome)
{
	record(m, F_AUTHORITY, authority, outcome, 0);
}

void
gw_metrics_audit_sync(struct gw_metrics *m, double seconds)
{
	record(m, F_AUDIT_SYNC, NULL, NULL, seconds);
}

void
gw_metrics_config_load(struct gw_metrics *m, const char *outcome)
{
	record(m, F_CONFIG_LOADS, outcome, NULL, 0);
}

void
gw_metrics_renewal_pass(struct gw_metrics *m)
{
	record(m, F_RENEWAL_PASSES, NULL, NULL, 0);
}

void
gw_metrics_token_recovery(struct gw_metrics *m, const char *level, const char *outcome)
{
	record(m, F_TOKEN_RECOVERIES, level, outcome, 0);
}

/* Rendering. Every helper returns 0 or the sg_buf error. */

static const char *const *
series_values(const struct series *s)
{
	return (const char *const *)s->values;
}

static int
put_header(struct sg_buf *out, const char *name, const char *help, const char *type)
{
	return sg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values escape backslash, double quote and newline (format 0.0.4). */
static int
put_label_value(struct sg_buf *out, const char *v)
{
	const char *run = v;
	const char *esc;
	int r;

	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			esc = "\\\\";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\n':
			esc = "\\n";
			break;
		default:
			continue;
		}
		if ((r = sg_buf_append(out, run, (size_t)(v - run))) != 0 ||
		    (r = sg_buf_append_str(out, esc)) != 0)
			return r;
		run = v + 1;
	}
	return sg_buf_append(out, run, (size_t)(v - run));
}

/* {a="x",b="y"} with an optional extra pair (a bucket's le); nothing when
 * there are no pairs at all. */
static int
put_labels(struct sg_buf *out, const char *const *names, const char *const *values, size_t n,
    const char *extra_name, const char *extra_value)
{
	size_t i;
	int r;

	if (n == 0 && extra_name == NULL)
		return 0;
	if ((r = sg_buf_append_str(out, "{")) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = sg_buf_printf(out, "%s%s=\"", i > 0 ? "," : "", names[i])) != 0 ||
		    (r = put_label_value(out, values[i])) != 0 ||
		    (r = sg_buf_append_str(out, "\"")) != 0)
			return r;
	}
	if (extra_name != NULL &&
	    (r = sg_buf_printf(out, "%s%s=\"%s\"", n > 0 ? "," : "", extra_name, extra_value)) != 0)
		return r;
	return sg_buf_append_str(out, "}");
}

/*
 * The shortest text that reads back as v, so 0.1 is "0.1" and not
 * 0.10000000000000001, and whole numbers below 1e21 in full ("10", not
 * "1e+01") as Prometheus' own clients write bucket bounds: le is matched
 * as a string. The gateway never calls setlocale, so the point is '.'.
 */
static int
format_double(double v, char *text, size_t size)
{
	const char *e;
	long exponent;
	int p, n;

	if (isinf(v) || isnan(v)) {
		n = snprintf(text, size, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
		return n < 0 || (size_t)n >= size ? SG_ERR_INTERNAL : 0;
	}
	for (p = 1; p < 17; p++) {
		n = snprintf(text, size, "%.*e", p - 1, v);
		if (n < 0 || (size_t)n >= size)
			return SG_ERR_INTERNAL;
		if (strtod(text, NULL) == v)
			break;
	}
	/* p significant digits suffice; %g would still say 1e+01 for 10. */
	if ((e = strchr(text, 'e')) != NULL) {
		exponent = strtol(e + 1, NULL, 10);
		if (exponent >= p && exponent < 21)
			p = (int)exponent + 1;
	}
	n = snprintf(text, size, "%.*g", p, v);
	return n < 0 || (size_t)n >= size ? SG_ERR_INTERNAL : 0;
}

static int
put_counter(struct sg_buf *out, const struct family_desc *d, const struct family *f)
{
	size_t j;
	int r;

	if ((r = put_header(out, d->name, d->help, "counter")) != 0)
		return r;
	for (j = 0; j < f->n; j++) {
		if ((r = sg_buf_append_str(out, d->name)) != 0 ||
		    (r = put_labels(out, d->label_names, series_values(f->series[j]), d->n_labels,
		    NULL, NULL)) != 0 ||
		    (r = sg_buf_printf(out, " %" PRIu64 "\n", f->series[j]->count)) != 0)
			return r;
	}
	return 0;
}

static int
put_histogram(struct sg_buf *out, const struct family_desc *d, const struct family *f)
{
	const struct series *s;
	char le[32], sum[32];
	uint64_t cumulative;
	size_t i, j;
	int r;

	if ((r = put_header(out, d->name, d->help, "histogram")) != 0)
		return r;
	for (j = 0; j < f->n; j++) {
		s = f->series[j];
		cumulative = 0;
		for (i = 0; i <= d->n_bounds; i++) {
			cumulative += s->buckets[i];
			if ((r = format_double(i < d->n_bounds ? d->bounds[i] : INFINITY, le,
			    sizeof(le))) != 0 ||
			    (r = sg_buf_printf(out, "%s_bucket", d->name)) != 0 ||
			    (r = put_labels(out, d->label_names, series_values(s), d->n_labels,
			    "le", le)) != 0 ||
			    (r = sg_buf_printf(out, " %" PRIu64 "\n", cumulative)) != 0)
				return r;
		}
		if ((r = format_double(s->sum, sum, sizeof(sum))) != 0 ||
		    (r = sg_buf_printf(out, "%s_sum", d->name)) != 0 ||
		    (r = put_labels(out, d->label_names, series_values(s), d->n_labels, NULL, NULL)) != 0 ||
		    (r = sg_buf_printf(out, " %s\n%s_count", sum, d->name)) != 0 ||
		    (r = put_labels(out, d->label_names, series_values(s), d->n_labels, NULL, NULL)) != 0 ||
		    (r = sg_buf_printf(out, " %" PRIu64 "\n", s->count)) != 0)
			return r;
	}
	return 0;
}

static int
put_gauges(struct sg_buf *out, const struct gw_metrics_gauges *g)
{
	static const char *const identity_label[] = { "identity" };
	const char *identity[1];
	size_t i;
	int r;

	if ((r = put_header(out, "sealgate_audit_entries_total",
	    "Entries written to the audit log.", "counter")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_audit_entries_total %" PRIu64 "\n",
	    g->audit_entries)) != 0)
		return r;
	if ((r = put_header(out, "sealgate_audit_syncs_total",
	    "fdatasync calls that made audit entries durable (entries per sync: the group "
	    "commit's batch size).", "counter")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_audit_syncs_total %" PRIu64 "\n",
	    g->audit_syncs)) != 0)
		return r;
	if ((r = put_header(out, "sealgate_audit_fdatasync_seconds_total",
	    "Time spent in those fdatasync calls: divided by the calls, the disk's sync latency.",
	    "counter")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_audit_fdatasync_seconds_total %.6f\n",
	    (double)g->audit_sync_ns / 1e9)) != 0)
		return r;
	if ((r = put_header(out, "sealgate_audit_announced",
	    "Requests whose audit entry the group commit is waiting for (audit.group_commit_us).",
	    "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_audit_announced %" PRIu64 "\n",
	    g->audit_announced)) != 0)
		return r;
	if ((r = put_header(out, "sealgate_certificate_expiry_seconds",
	    "Seconds until the identity's certificate expires, negative once it has.",
	    "gauge")) != 0)
		return r;
	for (i = 0; i < g->n_cert_expiry; i++) {
		identity[0] = g->cert_expiry[i].identity != NULL ?
		    g->cert_expiry[i].identity : "";
		if ((r = sg_buf_append_str(out, "sealgate_certificate_expiry_seconds")) != 0 ||
		    (r = put_labels(out, identity_label, identity, 1, NULL, NULL)) != 0 ||
		    (r = sg_buf_printf(out, " %" PRId64 "\n", g->cert_expiry[i].seconds)) != 0)
			return r;
	}
	if (g->last_good_signature != 0 &&
	    ((r = put_header(out, "sealgate_token_last_good_signature_timestamp_seconds",
	    "When the token last made a signature the gateway asked for.", "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_token_last_good_signature_timestamp_seconds %" PRId64
	    "\n", g->last_good_signature)) != 0))
		return r;
	if (g->token_available >= 0 &&
	    ((r = put_header(out, "sealgate_token_available",
	    "1 while the token signs, 0 while it is away and requests are refused.", "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_token_available %d\n", g->token_available != 0)) != 0 ||
	    (r = put_header(out, "sealgate_token_refused_while_unavailable",
	    "Requests refused without touching the token in the current outage.", "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_token_refused_while_unavailable %" PRIu64 "\n",
	    g->token_refused)) != 0))
		return r;
	if (!g->have_sessions)
		return 0;
	if ((r = put_header(out, "sealgate_token_sessions_in_use",
	    "Token sessions currently signing.", "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_token_sessions_in_use %" PRIu64 "\n",
	    g->sessions_in_use)) != 0 ||
	    (r = put_header(out, "sealgate_token_sessions_max",
	    "Token sessions the gateway may hold at once.", "gauge")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_token_sessions_max %" PRIu64 "\n",
	    g->sessions_max)) != 0)
		return r;
	return 0;
}

int
gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_gauges *g, struct sg_buf *out)
{
	size_t i;
	int r;

	if ((r = put_header(out, "sealgate_up", "1 while the gateway answers.", "gauge")) != 0 ||
	    (r = sg_buf_append_str(out, "sealgate_up 1\n")) != 0)
		return r;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < F_COUNT; i++) {
		if (families[i].type == COUNTER)
			r = put_counter(out, &families[i], &m->fam[i]);
		else
			r = put_histogram(out, &families[i], &m->fam[i]);
		if (r != 0)
			goto out;
	}
	if (g != NULL && (r = put_gauges(out, g)) != 0)
		goto out;
	if ((r = put_header(out, "sealgate_metrics_dropped_total",
	    "Metric updates dropped: too many label sets or a label value too long.",
	    "counter")) != 0 ||
	    (r = sg_buf_printf(out, "sealgate_metrics_dropped_total %" PRIu64 "\n",
	    m->dropped)) != 0)
		goto out;
	r = 0;
 out:
	pthread_mutex_unlock(&m->lock);
	return r;
}
