/* SPDX-License-Identifier: Apache-2.0 */
/* The token's availability, its recovery and the prober (gw_token.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "gw_audit.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "sg_clock.h"
#include "sg_err.h"
#include "sg_log.h"

int
gw_token_up(struct gw *gw)
{
	return __atomic_load_n(&gw->tok.down_since_ms, __ATOMIC_ACQUIRE) == 0;
}

uint64_t
gw_token_refused(struct gw *gw)
{
	uint64_t n;

	pthread_mutex_lock(&gw->tok.lock);
	n = gw->tok.refused;
	pthread_mutex_unlock(&gw->tok.lock);
	return n;
}

int
gw_token_refuses(struct gw *gw, struct gw_response *resp)
{
	int down;

	if (gw_token_up(gw))
		return 0;
	/* Counted under the lock the outage begins and ends under, so each
	 * refusal is in exactly one outage's count. */
	pthread_mutex_lock(&gw->tok.lock);
	if ((down = !gw_token_up(gw)))
		gw->tok.refused++;
	pthread_mutex_unlock(&gw->tok.lock);
	if (!down)
		return 0;
	gw_error_r(resp, SG_ERR_TOKEN,
	    "the token is unavailable; requests are refused until it is back");
	/* RFC 9110 §10.2.3: when to ask again, the prober's pace rounded up. */
	resp->retry_after = "1";
	return 1;
}

int
gw_token_test_signature(const struct gw_identity *id)
{
	static const unsigned char probe[] = "sealgate token test signature";
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
		sg_error("the token's test signature with %s does not verify", id->cfg->name);
	ERR_clear_error();
	EVP_PKEY_CTX_free(vctx);
	OPENSSL_free(sig);
	return r;
}

/* The first identity of snap with a key signs and verifies. 0 too when
 * no identity has a key: there is nothing the token could sign with. */
static int
test_snapshot(const struct gw_snapshot *snap, char *why, size_t whylen)
{
	size_t i;
	int r;

	for (i = 0; i < snap->n_ids; i++) {
		if (snap->ids[i].key == NULL)
			continue;
		if ((r = gw_token_test_signature(&snap->ids[i])) != 0)
			sg_msg(why, whylen, "the test signature with %s failed: %s%s%s",
			    snap->ids[i].cfg->name, sg_strerror(r), sgp11_last_ckr() != 0 ? ", " : "",
			    sgp11_last_ckr() != 0 ? sgp11_ckr_name(sgp11_last_ckr()) : "");
		return r;
	}
	return 0;
}

static int
audit_outage(struct gw *gw, const char *type, const char *const *keys, const char *const *values,
    size_t n)
{
	struct sg_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.outcome = strcmp(type, "token_lost") == 0 ? "error" : "ok";
	e.error = strcmp(type, "token_lost") == 0 ? "token_unavailable" : NULL;
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = n;
	return gw_audit_append(gw, &e);
}

/* Under reload_lock: the outage begins. */
static void
went_down(struct gw *gw, const char *level, const char *why)
{
	struct gw_token_state *t = &gw->tok;
	const char *keys[] = { "level", "detail" };
	const char *values[] = { level, why };

	/* Kept for the stop's warning, cut to fit: the log line and the audit
	 * entry below have it all. */
	sg_msg(t->reason, sizeof(t->reason), "%s", why);
	pthread_mutex_lock(&t->lock);
	__atomic_store_n(&t->down_since, time(NULL), __ATOMIC_RELAXED);
	t->refused = 0;
	__atomic_store_n(&t->down_since_ms, sg_monotonic_ms(), __ATOMIC_RELEASE);
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	sg_error("token unavailable: %s (recovery up to %s failed); requests are refused, "
	    "trying again every %d ms", why, level, GW_TOKEN_PROBE_MS);
	if (audit_outage(gw, "token_lost", keys, values, 2) != 0)
		sg_error("audit: cannot record that the token is unavailable");
}

/* Under reload_lock: the token signs again (or never stopped: a failure
 * that one recovery fixed is an outage of no length). */
static void
came_back(struct gw *gw, const char *level)
{
	struct gw_token_state *t = &gw->tok;
	const char *keys[] = { "level", "down_ms", "refused" };
	char down_text[24], refused_text[24];
	const char *values[] = { level, down_text, refused_text };
	int64_t since, down_ms;
	uint64_t refused;

	pthread_mutex_lock(&t->lock);
	since = __atomic_exchange_n(&t->down_since_ms, 0, __ATOMIC_ACQ_REL);
	refused = t->refused;
	t->refused = 0;
	pthread_mutex_unlock(&t->lock);
	down_ms = since != 0 ? sg_monotonic_ms() - since : 0;

	/* Decimal 64-bit numbers: they fit. */
	if (snprintf(down_text, sizeof(down_text), "%" PRId64, down_ms) >= (int)sizeof(down_text))
		down_text[0] = '\0';
	if (snprintf(refused_text, sizeof(refused_text), "%" PRIu64, refused) >=
	    (int)sizeof(refused_text))
		refused_text[0] = '\0';
	if (since != 0)
		sg_info("token recovered (%s) after %s ms unavailable, %s requests refused meanwhile; "
		    "a test signature verified", level, down_text, refused_text);
	else
		sg_info("token recovered (%s); a test signature verified", level);
	if (audit_outage(gw, "token_recovered", keys, values, 3) != 0)
		sg_error("audit: cannot record that the token recovered");
}

/*
 * Under reload_lock: one recovery, starting at from (or higher, when an
 * earlier one did not help), then fresh keys published and a test
 * signature. 0 when the token is back; SG_ERR_BUSY when nothing was done
 * (the module was reopened a moment ago); else the error, with why.
 */
static int
recover_locked(struct gw *gw, enum sgp11_recovery from, const char **levelp, char *why,
    size_t whylen)
{
	struct gw_token_state *t = &gw->tok;
	struct gw_snapshot *cur = gw_snapshot_get(gw), *fresh = NULL;
	enum sgp11_recovery level = SGP11_RECOVER_NONE;
	int64_t t0 = sg_monotonic_ms(), t1, t2;
	int r;

	why[0] = '\0';
	if (from < t->next_from)
		from = t->next_from;
	r = sgp11_recover(gw->token, from, &level);
	t1 = sg_monotonic_ms();
	*levelp = sgp11_recovery_name(level);
	if (r == SG_ERR_BUSY)
		goto out;
	if (r != 0)
		sg_msg(why, whylen, "%s%s%s", sg_strerror(r), sgp11_last_ckr() != 0 ? ", " : "",
		    sgp11_last_ckr() != 0 ? sgp11_ckr_name(sgp11_last_ckr()) : "");
	/* Every key the published snapshot has must be found again. */
	if (r == 0 && sgp11_generation(gw->token) != cur->token_generation &&
	    (r = gw_snapshot_rebuild(gw, cur, &fresh, why, whylen)) == 0) {
		gw_snapshot_publish(gw, fresh);
		gw_snapshot_put(gw, cur);
		cur = gw_snapshot_get(gw);
	}
	t2 = sg_monotonic_ms();
	if (r == 0)
		r = test_snapshot(cur, why, whylen);
	sg_debug("token recovery (%s): %s; module %" PRId64 " ms, keys %" PRId64 " ms, test %" PRId64
	    " ms", sgp11_recovery_name(level), r == 0 ? "ok" : why, t1 - t0, t2 - t1,
	    sg_monotonic_ms() - t2);
	/* A level that did not help: the next attempt starts above it. */
	if (r == 0)
		t->next_from = SGP11_RECOVER_NONE;
	else if (level != SGP11_RECOVER_NONE)
		t->next_from = level < SGP11_RECOVER_REOPEN ? level + 1 : SGP11_RECOVER_REOPEN;
	__atomic_store_n(&t->level, *levelp, __ATOMIC_RELEASE);
	__atomic_store_n(&t->ok, r == 0, __ATOMIC_RELEASE);
	gw_metrics_token_recovery(gw->metrics, *levelp, r == 0 ? "ok" : "error");
 out:
	gw_snapshot_put(gw, cur);
	return r;
}

int
gw_token_recover(struct gw *gw, const struct gw_snapshot *snap, unsigned long ckr)
{
	struct gw_snapshot *cur;
	const char *level = "none";
	char why[512];
	int r;

	/* Down already: the caller's refusal is its own (it touched the
	 * token), so it is not counted here. */
	if (!gw_token_up(gw))
		return SG_ERR_TOKEN_LOST;
	pthread_mutex_lock(&gw->reload_lock);
	if (!gw_token_up(gw)) {
		pthread_mutex_unlock(&gw->reload_lock);
		return SG_ERR_TOKEN_LOST;
	}
	/* Fresh keys were published after snap was taken: just retry. */
	cur = gw_snapshot_get(gw);
	r = cur->token_generation != snap->token_generation &&
	    cur->token_generation == sgp11_generation(gw->token);
	gw_snapshot_put(gw, cur);
	if (r) {
		pthread_mutex_unlock(&gw->reload_lock);
		return 0;
	}
	r = recover_locked(gw, sgp11_recovery_for(ckr), &level, why, sizeof(why));
	if (r == 0)
		came_back(gw, level);
	else
		went_down(gw, level, r == SG_ERR_BUSY ? "the module was reopened a moment ago" :
		    why[0] != '\0' ? why : sg_strerror(r));
	pthread_mutex_unlock(&gw->reload_lock);
	return r == 0 ? 0 : SG_ERR_TOKEN_LOST;
}

void
gw_token_probe_locked(struct gw *gw)
{
	const char *level = "none";
	char why[512];
	int r;

	if (gw_token_up(gw))
		return;
	r = recover_locked(gw, SGP11_RECOVER_NONE, &level, why, sizeof(why));
	if (r == 0)
		came_back(gw, level);
	else if (r != SG_ERR_BUSY)
		sg_debug("token still unavailable (%s): %s", level, why);
}

/* One probe while the token is down. */
static void
probe(struct gw *gw)
{
	pthread_mutex_lock(&gw->reload_lock);
	gw_token_probe_locked(gw);
	pthread_mutex_unlock(&gw->reload_lock);
}

static void *
watch_main(void *arg)
{
	struct gw *gw = arg;
	struct gw_token_state *t = &gw->tok;
	struct timespec until;

	/* Named, so a fault-injection test can tell its calls from others. */
	(void)pthread_setname_np(pthread_self(), "sg-token-probe");
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		if (gw_token_up(gw)) {
			pthread_cond_wait(&t->wake, &t->lock);
			continue;
		}
		sg_monotonic_deadline(&until, (uint64_t)GW_TOKEN_PROBE_MS * 1000000u);
		if (pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT || t->stop)
			continue;
		pthread_mutex_unlock(&t->lock);
		probe(gw);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void
gw_token_init(struct gw *gw)
{
	struct gw_token_state *t = &gw->tok;
	pthread_condattr_t ca;

	pthread_mutex_init(&t->lock, NULL);
	/* The wait is on the monotonic clock: a clock step neither stops
	 * the probes nor runs them in a burst. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
}

int
gw_token_watch_start(struct gw *gw)
{
	struct gw_token_state *t = &gw->tok;

	if (gw->token == NULL)
		return 0;
	t->stop = 0;
	if (pthread_create(&t->thread, NULL, watch_main, gw) != 0)
		return SG_ERR_INTERNAL;
	t->running = 1;
	return 0;
}

void
gw_token_watch_stop(struct gw *gw)
{
	struct gw_token_state *t = &gw->tok;

	if (!t->running)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	t->running = 0;
	if (!gw_token_up(gw))
		sg_warn("stopping while the token is unavailable (%s); %" PRIu64 " requests refused",
		    t->reason, gw_token_refused(gw));
}
