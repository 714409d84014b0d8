/* SPDX-License-Identifier: Apache-2.0 */
/* GET /healthz (the process serves) and GET /readyz: the token answers a
 * real test signature with each identity's key (at most every 30 s per
 * identity), the signature verifies with the public key, the audit log
 * takes writes, and no certificate has expired. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "gw.h"
#include "gw_jobs.h"
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

/* Sign a fixed digest on the token and check it with the public key. */
static int
test_signature(struct gw_identity *id)
{
	static const unsigned char probe[] = "sealgate readiness probe";
	unsigned char digest[32], *sig = NULL;
	size_t sig_len = 0;
	EVP_PKEY_CTX *vctx = NULL;
	int r;

	if (EVP_Digest(probe, sizeof(probe) - 1, digest, NULL, EVP_sha256(), NULL) != 1)
		return SG_ERR_CRYPTO;
	if ((r = sgp11_sign_digest(id->key, NID_sha256, SGP11_PAD_DEFAULT, digest, sizeof(digest),
	    &sig, &sig_len)) != 0)
		return r;
	r = SG_ERR_CRYPTO;
	if ((vctx = EVP_PKEY_CTX_new(sgp11_key_get0_public(id->key), NULL)) != NULL &&
	    EVP_PKEY_verify_init(vctx) == 1 && EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(vctx, sig, sig_len, digest, sizeof(digest)) == 1)
		r = 0;
	else
		sg_error("readiness: the token's signature with %s does not verify", id->cfg->name);
	ERR_clear_error();
	EVP_PKEY_CTX_free(vctx);
	OPENSSL_free(sig);
	return r;
}

static int
identity_ready(struct gw *gw, struct gw_snapshot *snap, struct gw_identity *id, time_t now,
    char *why, size_t whylen)
{
	int r;

	if (id->key == NULL && id->cfg->issuer != NULL) {
		snprintf(why, whylen, "not enrolled yet");
		return 1;	/* not in use until enrolled */
	}
	if (id->key == NULL) {
		snprintf(why, whylen, "key not on the token");
		return 0;
	}
	if (id->cert != NULL && id->not_after < now) {
		snprintf(why, whylen, "certificate expired");
		return 0;
	}
	pthread_mutex_lock(&id->ready_lock);
	/* A recent good test signature stands, unless the token has been
	 * lost since: then the token itself is asked (at most every
	 * READY_RETRY_S). */
	if (id->ready_at != 0 && now - id->ready_at < READY_FRESH_S && !gw_token_failing(gw)) {
		pthread_mutex_unlock(&id->ready_lock);
		return 1;
	}
	/* Anyone may ask /readyz: a failing token is not made to sign for
	 * every caller. */
	if (id->failed_at != 0 && now - id->failed_at < READY_RETRY_S)
		r = id->failed_r;
	else {
		r = test_signature(id);
		if (r == SG_ERR_TOKEN_LOST)
			(void)gw_token_recover(gw, snap);
		id->failed_at = r == 0 ? 0 : now;
		id->failed_r = r;
		if (r == 0)
			gw_token_good(gw);
	}
	id->ready_at = r == 0 ? now : 0;
	pthread_mutex_unlock(&id->ready_lock);
	if (r != 0)
		snprintf(why, whylen, "test signature failed: %s", sg_strerror(r));
	return r == 0;
}

/* "token": whether recovery is failing, the last recovery's level and
 * outcome, and when the token last signed (UTC), for the operator. */
static void
add_token_state(struct gw *gw, cJSON *doc)
{
	cJSON *t = cJSON_AddObjectToObject(doc, "token");
	const char *level = __atomic_load_n(&gw->recovery_level, __ATOMIC_ACQUIRE);
	int64_t last = gw->token != NULL ? sgp11_last_good_signature(gw->token) : 0;
	time_t when = (time_t)last;
	struct tm tm;
	char text[32];

	cJSON_AddStringToObject(t, "recovery", gw_token_failing(gw) ? "failing" : "ok");
	if (level != NULL) {
		cJSON_AddStringToObject(t, "last_recovery_level", level);
		cJSON_AddStringToObject(t, "last_recovery_outcome",
		    __atomic_load_n(&gw->recovery_ok, __ATOMIC_ACQUIRE) ? "ok" : "error");
	}
	if (last != 0 && gmtime_r(&when, &tm) != NULL &&
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		cJSON_AddStringToObject(t, "last_good_signature", text);
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
	cJSON *renewals;
	time_t now = time(NULL);
	char why[128];
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

		snprintf(name, sizeof(name), "identity:%s", id->cfg->name);
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
	answer(req, resp, ready ? 200 : 503, doc);
}
