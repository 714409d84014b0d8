/* SPDX-License-Identifier: Apache-2.0 */
/* Audit entries for requests: the request id and client are filled in
 * here so no route forgets them, and a refused request whose entry cannot
 * be made durable is answered 503 audit_unavailable instead. */
#include "config.h"

#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "sg_clock.h"
#include "sg_err.h"
#include "sg_log.h"

int
gw_audit_failing(struct gw *gw, int64_t window_ms)
{
	int64_t failed = __atomic_load_n(&gw->audit_failed_ms, __ATOMIC_ACQUIRE);

	return failed != 0 && sg_monotonic_ms() - failed < window_ms;
}

/* Client-supplied values longer than this are replaced in an entry that
 * would otherwise be too large for the log. */
#define AUDIT_VALUE_KEEP 256

static const char *
shorten(const char *v)
{
	return v != NULL && strlen(v) > AUDIT_VALUE_KEEP ? "(value too long to record)" : v;
}

int
gw_audit(struct gw_request *req, const struct sg_audit_entry *e)
{
	struct sg_audit_entry full = *e;
	const char *keys[SG_AUDIT_EXTRA_MAX], *values[SG_AUDIT_EXTRA_MAX];
	size_t i;

	full.request_id = req->request_id;
	if (full.client == NULL && req->client != NULL)
		full.client = req->client->name;
	if (e->n_extra > SG_AUDIT_EXTRA_MAX)
		return gw_audit_append(req->gw, &full);	/* refused there */
	for (i = 0; i < e->n_extra; i++) {
		keys[i] = e->extra_keys[i];
		values[i] = e->extra_values[i];
	}
	/* The client's own id goes beside the gateway's, and the client
	 * certificate's serial and issuer beside the client. */
	if (req->client_request_id[0] != '\0' && i < SG_AUDIT_EXTRA_MAX) {
		keys[i] = "client_request_id";
		values[i++] = req->client_request_id;
	}
	if (req->cert.presented && i + 2 <= SG_AUDIT_EXTRA_MAX) {
		keys[i] = "client_cert_serial";
		values[i++] = req->cert.serial;
		keys[i] = "client_cert_issuer";
		values[i++] = req->cert.issuer;
	}
	if (i != e->n_extra) {
		full.extra_keys = keys;
		full.extra_values = values;
		full.n_extra = i;
	}
	return gw_audit_append(req->gw, &full);
}

int
gw_audit_append(struct gw *gw, const struct sg_audit_entry *e)
{
	struct sg_audit_entry full = *e;
	const char *values[SG_AUDIT_EXTRA_MAX];
	struct timespec t0, t1;
	size_t i;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sg_audit_append(gw->audit, &full, NULL, NULL);
	if (r == SG_ERR_TOO_LARGE && full.n_extra <= SG_AUDIT_EXTRA_MAX) {
		/* An outsized value from the client is not a disk failure: record
		 * the entry with such values replaced. */
		full.identity = shorten(full.identity);
		full.digest = shorten(full.digest);
		full.authority_ref = shorten(full.authority_ref);
		full.error = shorten(full.error);
		for (i = 0; i < full.n_extra; i++)
			values[i] = shorten(full.extra_values[i]);
		full.extra_values = values;
		full.expected = 0;	/* the first attempt ended the announcement */
		r = sg_audit_append(gw->audit, &full, NULL, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	gw_metrics_audit_sync(gw->metrics, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* Only a log that did not take a well-formed entry stops signing;
	 * every append re-tests the disk. */
	if (r == 0 || r == SG_ERR_AUDIT)
		__atomic_store_n(&gw->audit_failed_ms, r != 0 ? sg_monotonic_ms() : 0,
		    __ATOMIC_RELEASE);
	if (r != 0)
		sg_error_r(r, "audit entry %s not durable", e->type);
	return r;
}

void
gw_audit_refusal(struct gw_request *req, struct gw_response *resp, const char *type,
    const char *identity, const char *digest)
{
	struct sg_audit_entry e;
	char code[64] = "";
	cJSON *doc;

	/* The error code of the answer being refused goes into the entry. */
	if ((doc = cJSON_Parse(sg_buf_str(&resp->body))) != NULL) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "error");

		if (cJSON_IsString(c))
			(void)sg_strfit(code, sizeof(code), c->valuestring);	/* ours: short */
		cJSON_Delete(doc);
	}
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.identity = identity;
	e.digest = digest;
	e.outcome = "error";
	e.error = code[0] != '\0' ? code : "refused";
	if (gw_audit(req, &e) != 0)
		gw_error_r(resp, SG_ERR_AUDIT,
		    "the audit log cannot be written; the request was refused");
}
