/* SPDX-License-Identifier: Apache-2.0 */
/* GET /healthz (the process serves) and GET /readyz: the token answers a
 * real test signature with each identity's key (at most every 30 s per
 * identity), the signature verifies with the public key, the audit log
 * takes writes, and no certificate has expired. Failed renewals and
 * certificates waiting to be collected are shown, not counted. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "authorities/authority.h"
#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_jobs.h"
#include "gw_request.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_err.h"
#include "sg_log.h"

#define READY_FRESH_S 30
/* After a failed test signature, the next one waits this long. */
#define READY_RETRY_S 5
#define AUDIT_UNREADY_MS 5000

void
gw_route_healthz(struct gw_request *req, struct gw_response *resp)
{
	cJSON *doc = cJSON_CreateObject();

	(void)req;
	cJSON_AddStringToObject(doc, "status", "ok");
	gw_json(resp, 200, doc);
}

/* The identity's authority, when its type has something to check (the
 * seal service: info and credentials/info, docs/authorities.md §1), asked
 * at most every READY_FRESH_S. */
static int
authority_ready(struct gw_identity *id, char *why, size_t whylen)
{
	int r;

	if (id->authority == NULL)
		return 1;
	r = gw_authority_ready(id->authority, READY_FRESH_S, why, whylen);
	if (r == SG_ERR_UNSUPPORTED || r == 0) {
		why[0] = '\0';
		return 1;
	}
	if (why[0] == '\0')
		sg_msg(why, whylen, "authority: %s", sg_strerror(r));
	return 0;
}

static int
identity_ready(struct gw *gw, struct gw_snapshot *snap, struct gw_identity *id, time_t now,
    char *why, size_t whylen)
{
	int r;

	if (id->key == NULL && id->cfg->issuer != NULL) {
		sg_msg(why, whylen, "not enrolled yet");
		return 1;	/* not in use until enrolled */
	}
	if (id->key == NULL) {
		sg_msg(why, whylen, "key not on the token");
		return 0;
	}
	if (id->cert != NULL && id->not_after < now) {
		sg_msg(why, whylen, "certificate expired");
		return 0;
	}
	/* While the token is away the prober alone asks it. */
	if (!gw_token_up(gw)) {
		sg_msg(why, whylen, "the token is unavailable");
		return 0;
	}
	pthread_mutex_lock(&id->ready_lock);
	/* A recent good test signature stands. */
	if (id->ready_at != 0 && now - id->ready_at < READY_FRESH_S) {
		pthread_mutex_unlock(&id->ready_lock);
		return authority_ready(id, why, whylen);
	}
	/* Anyone may ask /readyz: a key that fails is not made to sign for
	 * every caller. */
	if (id->failed_at != 0 && now - id->failed_at < READY_RETRY_S)
		r = id->failed_r;
	else {
		r = gw_token_test_signature(id);
		if (r == SG_ERR_TOKEN_LOST)
			(void)gw_token_recover(gw, snap, sgp11_last_ckr());
		id->failed_at = r == 0 ? 0 : now;
		id->failed_r = r;
	}
	id->ready_at = r == 0 ? now : 0;
	pthread_mutex_unlock(&id->ready_lock);
	if (r != 0)
		sg_msg(why, whylen, "test signature failed: %s", sg_strerror(r));
	return r == 0 && authority_ready(id, why, whylen);
}

static void
add_time(cJSON *obj, const char *name, time_t when)
{
	struct tm tm;
	char text[32];

	if (gmtime_r(&when, &tm) != NULL && strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		cJSON_AddStringToObject(obj, name, text);
}

/* "token": whether it is available (since when it is not, and how many
 * requests were refused meanwhile), the last recovery's level and
 * outcome, and when the token last signed (UTC), for the operator. */
static void
add_token_state(struct gw *gw, cJSON *doc)
{
	cJSON *t = cJSON_AddObjectToObject(doc, "token");
	const char *level = __atomic_load_n(&gw->tok.level, __ATOMIC_ACQUIRE);
	int64_t last = gw->token != NULL ? sgp11_last_good_signature(gw->token) : 0;
	int up = gw_token_up(gw);

	cJSON_AddStringToObject(t, "state", up ? "available" : "unavailable");
	cJSON_AddStringToObject(t, "recovery", up ? "ok" : "failing");
	if (!up) {
		add_time(t, "unavailable_since", __atomic_load_n(&gw->tok.down_since, __ATOMIC_RELAXED));
		cJSON_AddNumberToObject(t, "refused", (double)gw_token_refused(gw));
	}
	if (level != NULL) {
		cJSON_AddStringToObject(t, "last_recovery_level", level);
		cJSON_AddStringToObject(t, "last_recovery_outcome",
		    __atomic_load_n(&gw->tok.ok, __ATOMIC_ACQUIRE) ? "ok" : "error");
	}
	if (last != 0)
		add_time(t, "last_good_signature", (time_t)last);
}

/* Identity names, token and renewal troubles are for the operator: a
 * caller without the monitor or officer role (a load balancer) gets the
 * status alone. */
static void
answer(const struct gw_request *req, struct gw_response *resp, int status, cJSON *doc)
{
	cJSON *brief;

	if (req->client != NULL && (req->client->roles & (SG_ROLE_MONITOR | SG_ROLE_OFFICER)) != 0) {
		gw_json(resp, status, doc);
		return;
	}
	brief = cJSON_CreateObject();
	cJSON_AddStringToObject(brief, "status", status == 200 ? "ready" : "not_ready");
	cJSON_Delete(doc);
	gw_json(resp, status, brief);
}

void
gw_route_readyz(struct gw_request *req, struct gw_response *resp)
{
	struct gw *gw = req->gw;
	struct gw_snapshot *snap = req->snap;
	cJSON *doc = cJSON_CreateObject(), *checks = cJSON_AddObjectToObject(doc, "checks");
	cJSON *renewals, *pending;
	time_t now = time(NULL);
	char why[320];
	size_t i;
	int ready = 1;

	/* Not ready while audit writes fail; a request after the window re-
	 * tests the disk, so an instance taken out of rotation comes back. */
	if (!gw_audit_failing(gw, AUDIT_UNREADY_MS))
		cJSON_AddStringToObject(checks, "audit", "ok");
	else {
		cJSON_AddStringToObject(checks, "audit", "the audit log cannot be written");
		ready = 0;
	}
	/* After a refused PIN nothing signs, and a test signature would only
	 * drive recovery: say why, touch nothing. */
	if (gw->token != NULL && sgp11_pin_refused(gw->token)) {
		cJSON_AddStringToObject(checks, "token", "the token refused the PIN, which is not "
		    "presented again: correct token.pin_file and send SIGHUP, or restart");
		cJSON_AddStringToObject(doc, "status", "not_ready");
		answer(req, resp, 503, doc);
		return;
	}
	for (i = 0; i < snap->n_ids; i++) {
		struct gw_identity *id = &snap->ids[i];
		char name[96];

		/* Names are at most SG_CONFIG_NAME_MAX: this fits. */
		if (snprintf(name, sizeof(name), "identity:%s", id->cfg->name) >= (int)sizeof(name)) {
			ready = 0;
			continue;
		}
		why[0] = '\0';
		if (identity_ready(gw, snap, id, now, why, sizeof(why)))
			cJSON_AddStringToObject(checks, name, why[0] != '\0' ? why : "ok");
		else {
			cJSON_AddStringToObject(checks, name, why);
			ready = 0;
		}
	}
	cJSON_AddStringToObject(checks, "token", ready || snap->n_ids == 0 ? "ok" :
	    "see the identity checks");
	add_token_state(gw, doc);
	cJSON_AddStringToObject(doc, "status", ready ? "ready" : "not_ready");
	/* Failed renewals: the certificate still works, so they are shown,
	 * not counted against readiness. */
	if ((renewals = gw_jobs_failures(gw->jobs)) != NULL)
		cJSON_AddItemToObject(doc, "renewal_failures", renewals);
	/* Enrolments whose certificate waits to be collected: the identity
	 * has no certificate yet, so nothing it signs is lost, and the other
	 * identities sign on; shown for the officer, not counted. */
	if ((pending = gw_jobs_collect_pending(gw->jobs)) != NULL)
		cJSON_AddItemToObject(doc, "collect_pending", pending);
	answer(req, resp, ready ? 200 : 503, doc);
}
