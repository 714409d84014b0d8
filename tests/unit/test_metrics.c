/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gateway/gw_metrics: exact exposition text, label escaping,
 * the per-metric series cap, and exact totals under concurrent updates. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_metrics.h"
#include "sg_buf.h"
#include "sg_err.h"
#include "sg_test.h"

#define RENDER_CAP	(4u << 20)

static char *
render(struct gw_metrics *m, const struct gw_metrics_gauges *g)
{
	struct sg_buf out;
	unsigned char *text;
	size_t len;

	sg_buf_init(&out, RENDER_CAP);
	if (gw_metrics_render(m, g, &out) != 0) {
		sg_buf_free(&out);
		return NULL;
	}
	text = sg_buf_steal(&out, &len);
	sg_buf_free(&out);
	return (char *)text;
}

/* Lines of text that start with prefix. */
static size_t
count_lines(const char *text, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);
	const char *line;

	for (line = text; line != NULL && *line != '\0'; ) {
		if (strncmp(line, prefix, plen) == 0)
			n++;
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	return n;
}

/* Durations are powers of two so sums are exact and the text is fixed. */
static const char expected_scenario[] =
	"# HELP sealgate_up 1 while the gateway answers.\n"
	"# TYPE sealgate_up gauge\n"
	"sealgate_up 1\n"
	"# HELP sealgate_requests_total Requests answered, by route and HTTP status.\n"
	"# TYPE sealgate_requests_total counter\n"
	"sealgate_requests_total{route=\"healthz\",status=\"200\"} 1\n"
	"sealgate_requests_total{route=\"stamp\",status=\"200\"} 2\n"
	"sealgate_requests_total{route=\"stamp\",status=\"500\"} 1\n"
	"# HELP sealgate_request_seconds Time from request start to the answer, by route.\n"
	"# TYPE sealgate_request_seconds histogram\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.001\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.0025\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.005\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.01\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.025\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.05\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.1\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.25\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"0.5\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"1\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"2.5\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"5\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"10\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"healthz\",le=\"+Inf\"} 1\n"
	"sealgate_request_seconds_sum{route=\"healthz\"} 0.00048828125\n"
	"sealgate_request_seconds_count{route=\"healthz\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.001\"} 0\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.0025\"} 0\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.005\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.01\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.025\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.05\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.1\"} 1\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.25\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.5\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"1\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"2.5\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"5\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"10\"} 2\n"
	"sealgate_request_seconds_bucket{route=\"stamp\",le=\"+Inf\"} 3\n"
	"sealgate_request_seconds_sum{route=\"stamp\"} 20.25390625\n"
	"sealgate_request_seconds_count{route=\"stamp\"} 3\n"
	"# HELP sealgate_signatures_total Signatures made, by identity and operation.\n"
	"# TYPE sealgate_signatures_total counter\n"
	"sealgate_signatures_total{identity=\"local-seal\",operation=\"cms\"} 2\n"
	"sealgate_signatures_total{identity=\"local-seal\",operation=\"raw\"} 1\n"
	"# HELP sealgate_token_errors_total PKCS#11 errors returned by the token, by CKR name.\n"
	"# TYPE sealgate_token_errors_total counter\n"
	"sealgate_token_errors_total{ckr=\"CKR_DEVICE_ERROR\"} 1\n"
	"# HELP sealgate_authority_requests_total Requests to remote authorities, by authority and outcome.\n"
	"# TYPE sealgate_authority_requests_total counter\n"
	"sealgate_authority_requests_total{authority=\"dvv\",outcome=\"ok\"} 1\n"
	"sealgate_authority_requests_total{authority=\"dvv\",outcome=\"timeout\"} 1\n"
	"# HELP sealgate_audit_sync_seconds Time to make an audit log write durable.\n"
	"# TYPE sealgate_audit_sync_seconds histogram\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.0001\"} 0\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.00025\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.0005\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.001\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.0025\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.005\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.01\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.025\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.05\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.1\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.25\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"0.5\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"1\"} 1\n"
	"sealgate_audit_sync_seconds_bucket{le=\"+Inf\"} 2\n"
	"sealgate_audit_sync_seconds_sum 2.0001220703125\n"
	"sealgate_audit_sync_seconds_count 2\n"
	"# HELP sealgate_config_loads_total Configuration loads (start, SIGHUP, renewals, token "
	"recovery), by outcome.\n"
	"# TYPE sealgate_config_loads_total counter\n"
	"sealgate_config_loads_total{outcome=\"error\"} 1\n"
	"sealgate_config_loads_total{outcome=\"ok\"} 2\n"
	"# HELP sealgate_renewal_scheduler_passes_total Passes of the auto_renew scheduler over the "
	"identities.\n"
	"# TYPE sealgate_renewal_scheduler_passes_total counter\n"
	"sealgate_renewal_scheduler_passes_total 3\n"
	"# HELP sealgate_token_recoveries_total Token recoveries, by the highest level tried "
	"(find_keys, login, reopen) and outcome.\n"
	"# TYPE sealgate_token_recoveries_total counter\n"
	"sealgate_token_recoveries_total{level=\"login\",outcome=\"ok\"} 2\n"
	"sealgate_token_recoveries_total{level=\"reopen\",outcome=\"error\"} 1\n"
	"# HELP sealgate_audit_entries_total Entries written to the audit log.\n"
	"# TYPE sealgate_audit_entries_total counter\n"
	"sealgate_audit_entries_total 42\n"
	"# HELP sealgate_audit_syncs_total fdatasync calls that made audit entries durable (entries "
	"per sync: the group commit's batch size).\n"
	"# TYPE sealgate_audit_syncs_total counter\n"
	"sealgate_audit_syncs_total 7\n"
	"# HELP sealgate_audit_fdatasync_seconds_total Time spent in those fdatasync calls: "
	"divided by the calls, the disk's sync latency.\n"
	"# TYPE sealgate_audit_fdatasync_seconds_total counter\n"
	"sealgate_audit_fdatasync_seconds_total 0.001750\n"
	"# HELP sealgate_audit_announced Requests whose audit entry the group commit is waiting "
	"for (audit.group_commit_us).\n"
	"# TYPE sealgate_audit_announced gauge\n"
	"sealgate_audit_announced 3\n"
	"# HELP sealgate_certificate_expiry_seconds Seconds until the identity's certificate "
	"expires, negative once it has.\n"
	"# TYPE sealgate_certificate_expiry_seconds gauge\n"
	"sealgate_certificate_expiry_seconds{identity=\"local-seal\"} 2592000\n"
	"sealgate_certificate_expiry_seconds{identity=\"old\"} -3600\n"
	"# HELP sealgate_token_last_good_signature_timestamp_seconds When the token last made a "
	"signature the gateway asked for.\n"
	"# TYPE sealgate_token_last_good_signature_timestamp_seconds gauge\n"
	"sealgate_token_last_good_signature_timestamp_seconds 1796211095\n"
	"# HELP sealgate_token_available 1 while the token signs, 0 while it is away and requests "
	"are refused.\n"
	"# TYPE sealgate_token_available gauge\n"
	"sealgate_token_available 0\n"
	"# HELP sealgate_token_refused_while_unavailable Requests refused without touching the "
	"token in the current outage.\n"
	"# TYPE sealgate_token_refused_while_unavailable gauge\n"
	"sealgate_token_refused_while_unavailable 17\n"
	"# HELP sealgate_token_sessions_in_use Token sessions currently signing.\n"
	"# TYPE sealgate_token_sessions_in_use gauge\n"
	"sealgate_token_sessions_in_use 3\n"
	"# HELP sealgate_token_sessions_max Token sessions the gateway may hold at once.\n"
	"# TYPE sealgate_token_sessions_max gauge\n"
	"sealgate_token_sessions_max 8\n"
	"# HELP sealgate_metrics_dropped_total Metric updates dropped: too many label sets or a "
	"label value too long.\n"
	"# TYPE sealgate_metrics_dropped_total counter\n"
	"sealgate_metrics_dropped_total 0\n";

static void
test_exact_text(void)
{
	static const struct gw_metrics_cert_expiry expiry[] = {
		{ "local-seal", 30 * 86400 },
		{ "old", -3600 },
	};
	struct gw_metrics_gauges g;
	struct gw_metrics *m = NULL;
	char *text;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	/* 0.25 sits exactly on a bound: le is inclusive. */
	gw_metrics_request(m, "stamp", 200, 0.00390625);
	gw_metrics_request(m, "stamp", 200, 0.25);
	gw_metrics_request(m, "stamp", 500, 20);
	gw_metrics_request(m, "healthz", 200, 0.00048828125);
	gw_metrics_signature(m, "local-seal", "cms");
	gw_metrics_signature(m, "local-seal", "raw");
	gw_metrics_signature(m, "local-seal", "cms");
	gw_metrics_token_error(m, "CKR_DEVICE_ERROR");
	gw_metrics_authority(m, "dvv", "timeout");
	gw_metrics_authority(m, "dvv", "ok");
	gw_metrics_audit_sync(m, 0.0001220703125);
	gw_metrics_audit_sync(m, 2);
	gw_metrics_config_load(m, "ok");
	gw_metrics_config_load(m, "error");
	gw_metrics_config_load(m, "ok");
	gw_metrics_renewal_pass(m);
	gw_metrics_renewal_pass(m);
	gw_metrics_renewal_pass(m);
	gw_metrics_token_recovery(m, "reopen", "error");
	gw_metrics_token_recovery(m, "login", "ok");
	gw_metrics_token_recovery(m, "login", "ok");

	memset(&g, 0, sizeof(g));
	g.last_good_signature = 1796211095;
	g.audit_entries = 42;
	g.audit_syncs = 7;
	g.audit_sync_ns = 1750000;
	g.audit_announced = 3;
	g.cert_expiry = expiry;
	g.n_cert_expiry = 2;
	g.token_available = 0;
	g.token_refused = 17;
	g.have_sessions = 1;
	g.sessions_in_use = 3;
	g.sessions_max = 8;
	text = render(m, &g);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, expected_scenario);
	if (strcmp(text, expected_scenario) != 0)
		fprintf(stderr, "---- rendered:\n%s----\n", text);
	free(text);

	/* Without caller gauges those metrics are left out, the rest stays. */
	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "sealgate_audit_entries_total"));
	CU_ASSERT_PTR_NULL(strstr(text, "sealgate_token_sessions"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "sealgate_up 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "sealgate_metrics_dropped_total 0\n"));
	free(text);
	gw_metrics_free(m);
}

static void
test_empty_registry(void)
{
	struct gw_metrics *m = NULL;
	char *text;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Labelled metrics have metadata and no samples; the unlabelled
	 * histogram is there at zero. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE sealgate_requests_total counter\n"
	    "# HELP sealgate_request_seconds "));
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_requests_total"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "sealgate_audit_sync_seconds_bucket{le=\"+Inf\"} 0\n"
	    "sealgate_audit_sync_seconds_sum 0\nsealgate_audit_sync_seconds_count 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_renewal_scheduler_passes_total 0\n"));
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_config_loads_total{"), 0);
	free(text);
	gw_metrics_free(m);
	gw_metrics_free(NULL);
	/* A NULL registry means metrics are off: recorders do nothing. */
	gw_metrics_request(NULL, "stamp", 200, 1);
	gw_metrics_signature(NULL, "a", "b");
	gw_metrics_token_error(NULL, "CKR_OK");
	gw_metrics_authority(NULL, "a", "b");
	gw_metrics_audit_sync(NULL, 1);
	gw_metrics_config_load(NULL, "ok");
	gw_metrics_renewal_pass(NULL);
}

static const struct {
	const char *raw;
	const char *escaped;
} escapes[] = {
	{ "plain", "plain" },
	{ "back\\slash", "back\\\\slash" },
	{ "quo\"te", "quo\\\"te" },
	{ "new\nline", "new\\nline" },
	{ "\\\"\n", "\\\\\\\"\\n" },
	{ "tab\tstays", "tab\tstays" },
	{ "", "" },
};

static void
test_label_escaping(void)
{
	struct gw_metrics_cert_expiry expiry[1];
	struct gw_metrics_gauges g;
	struct gw_metrics *m = NULL;
	char want[256], *text;
	size_t i;
	int n;

	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
		gw_metrics_signature(m, escapes[i].raw, "raw");
		memset(&g, 0, sizeof(g));
		expiry[0].identity = escapes[i].raw;
		expiry[0].seconds = 1;
		g.cert_expiry = expiry;
		g.n_cert_expiry = 1;
		text = render(m, &g);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		n = snprintf(want, sizeof(want),
		    "\nsealgate_signatures_total{identity=\"%s\",operation=\"raw\"} 1\n",
		    escapes[i].escaped);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(want));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		n = snprintf(want, sizeof(want),
		    "\nsealgate_certificate_expiry_seconds{identity=\"%s\"} 1\n",
		    escapes[i].escaped);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(want));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		free(text);
		gw_metrics_free(m);
	}

	/* NULL labels count as empty ones. */
	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	gw_metrics_authority(m, NULL, NULL);
	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_authority_requests_total{authority=\"\",outcome=\"\"} 1\n"));
	free(text);
	gw_metrics_free(m);
}

static void
test_series_cap(void)
{
	struct gw_metrics *m = NULL;
	char ckr[32], longlabel[GW_METRICS_MAX_LABEL + 2], *text;
	int i, n;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	for (i = 0; i < GW_METRICS_MAX_SERIES; i++) {
		n = snprintf(ckr, sizeof(ckr), "CKR_%05d", i);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(ckr));
		gw_metrics_token_error(m, ckr);
	}
	/* Full: a new label set is dropped, existing ones still count, and
	 * other metrics are not affected. */
	gw_metrics_token_error(m, "CKR_NEW");
	gw_metrics_token_error(m, "CKR_NEW");
	gw_metrics_token_error(m, "CKR_00000");
	gw_metrics_signature(m, "local-seal", "raw");
	/* An over-long value is dropped too; one at the limit is kept. */
	memset(longlabel, 'x', sizeof(longlabel) - 1);
	longlabel[sizeof(longlabel) - 1] = '\0';
	gw_metrics_request(m, longlabel, 200, 0.1);
	longlabel[GW_METRICS_MAX_LABEL] = '\0';
	gw_metrics_signature(m, longlabel, "raw");

	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_token_errors_total{"), GW_METRICS_MAX_SERIES);
	CU_ASSERT_PTR_NULL(strstr(text, "CKR_NEW"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_token_errors_total{ckr=\"CKR_00000\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_token_errors_total{ckr=\"CKR_04095\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_signatures_total{identity=\"local-seal\",operation=\"raw\"} 1\n"));
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_signatures_total{"), 2);
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_requests_total{"), 0);
	CU_ASSERT_EQUAL(count_lines(text, "sealgate_request_seconds_count{"), 0);
	/* 2 x CKR_NEW, and the long route in both request metrics. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_metrics_dropped_total 4\n"));
	free(text);
	gw_metrics_free(m);
}

static void
test_render_bounded(void)
{
	struct gw_metrics *m = NULL;
	struct sg_buf out;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	gw_metrics_request(m, "stamp", 200, 0.1);
	sg_buf_init(&out, 100);
	CU_ASSERT_EQUAL(gw_metrics_render(m, NULL, &out), SG_ERR_TOO_LARGE);
	CU_ASSERT(out.len <= 100);
	sg_buf_free(&out);
	gw_metrics_free(m);
}

static void
test_odd_durations(void)
{
	struct gw_metrics *m = NULL;
	char *text;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	gw_metrics_audit_sync(m, NAN);
	gw_metrics_audit_sync(m, -1);
	gw_metrics_audit_sync(m, INFINITY);
	gw_metrics_audit_sync(m, 0.0001);	/* exactly the first bound */
	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_audit_sync_seconds_bucket{le=\"0.0001\"} 4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_audit_sync_seconds_sum 0.0001\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_audit_sync_seconds_count 4\n"));
	free(text);
	gw_metrics_free(m);
}

#define THREADS		8
#define ROUNDS		20000

struct worker {
	struct gw_metrics *m;
	int id;
	volatile int *stop;
};

static void *
bump_worker(void *arg)
{
	struct worker *w = arg;
	char identity[16];
	int i;

	if (snprintf(identity, sizeof(identity), "id%d", w->id % 2) >= (int)sizeof(identity))
		return NULL;
	for (i = 0; i < ROUNDS; i++) {
		gw_metrics_request(w->m, "stamp", i % 2 == 0 ? 200 : 503, 0.5);
		gw_metrics_signature(w->m, identity, "cms");
		gw_metrics_audit_sync(w->m, 0.001);
	}
	return NULL;
}

static void *
render_worker(void *arg)
{
	struct worker *w = arg;
	char *text;

	while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
		if ((text = render(w->m, NULL)) == NULL)
			return arg;
		free(text);
	}
	return NULL;
}

static void
test_concurrent_exact(void)
{
	struct gw_metrics *m = NULL;
	struct worker w[THREADS + 1];
	pthread_t t[THREADS + 1];
	volatile int stop = 0;
	void *ret = NULL;
	char *text;
	int i;

	CU_ASSERT_EQUAL_FATAL(gw_metrics_new(&m), 0);
	for (i = 0; i <= THREADS; i++) {
		w[i].m = m;
		w[i].id = i;
		w[i].stop = &stop;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL,
		    i < THREADS ? bump_worker : render_worker, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(t[i], NULL), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(pthread_join(t[THREADS], &ret), 0);
	CU_ASSERT_PTR_NULL(ret);

	text = render(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_requests_total{route=\"stamp\",status=\"200\"} 80000\n"
	    "sealgate_requests_total{route=\"stamp\",status=\"503\"} 80000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_request_seconds_bucket{route=\"stamp\",le=\"0.25\"} 0\n"
	    "sealgate_request_seconds_bucket{route=\"stamp\",le=\"0.5\"} 160000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_request_seconds_sum{route=\"stamp\"} 80000\n"
	    "sealgate_request_seconds_count{route=\"stamp\"} 160000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_signatures_total{identity=\"id0\",operation=\"cms\"} 80000\n"
	    "sealgate_signatures_total{identity=\"id1\",operation=\"cms\"} 80000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "\nsealgate_audit_sync_seconds_bucket{le=\"0.001\"} 160000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_audit_sync_seconds_count 160000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nsealgate_metrics_dropped_total 0\n"));
	free(text);
	gw_metrics_free(m);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "exact exposition text", test_exact_text },
		{ "empty registry and NULL registry", test_empty_registry },
		{ "label escaping", test_label_escaping },
		{ "series cap and long labels", test_series_cap },
		{ "render respects the buffer cap", test_render_bounded },
		{ "NaN, negative and infinite durations", test_odd_durations },
		{ "concurrent increments add up exactly", test_concurrent_exact },
		{ NULL, NULL }
	};

	return sg_test_run("metrics", cases);
}
