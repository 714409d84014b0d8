/* SPDX-License-Identifier: Apache-2.0 */
/* Signed checkpoints: every N entries or T seconds (checked each second)
 * and at shutdown, an entry whose signature, made on the token by the
 * audit identity, seals the hash of the entry before it. With the audit
 * certificate anyone can tell a rewritten chain from the real one. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/objects.h>

#include "gw.h"
#include "gw_checkpoint.h"
#include "gw_refusals.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "sg_clock.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

struct gw_checkpointer {
	struct gw *gw;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	uint64_t last_entries;	/* this handle's entry count at the last one */
	time_t last_time;
};

struct seal_arg {
	struct gw_identity *id;
	int r;			/* the token's answer */
	unsigned long ckr;
};

/* Called by the audit writer with the prev the checkpoint line gets. */
static int
seal(void *arg, const char prev_hex[65], char **sig_b64p)
{
	struct seal_arg *sa = arg;
	struct gw_identity *id = sa->id;
	unsigned char *head = NULL, *sig = NULL;
	size_t head_len = 0, sig_len = 0;
	int r;

	*sig_b64p = NULL;
	if ((r = sg_hex_decode(prev_hex, 64, &head, &head_len)) != 0)
		return r;
	/* The 32 bytes of the head hash are signed as a SHA-256 digest, so
	 * openssl pkeyutl -verify -pkeyopt digest:sha256 checks them. */
	r = sa->r = sgp11_sign_digest(id->key, NID_sha256, SGP11_PAD_DEFAULT, head, head_len, &sig,
	    &sig_len);
	sa->ckr = sgp11_last_ckr();
	if (r == 0)
		r = sg_b64_encode(sig, sig_len, SG_B64_STD, sig_b64p);
	if (r != 0)
		sg_warn_r(r, "checkpoint: the audit identity %s could not sign", id->cfg->name);
	OPENSSL_free(sig);
	free(head);
	return r;
}

/* One checkpoint under snap; *tokenp gets the token's answer. */
static int
write_under(struct gw *gw, struct gw_snapshot *snap, int *tokenp, unsigned long *ckrp)
{
	const struct sg_identity *cid = snap->cfg->audit.checkpoint_identity;
	struct seal_arg sa;
	struct sg_audit_entry e;
	size_t i;
	int r;

	*tokenp = 0;
	memset(&sa, 0, sizeof(sa));
	for (i = 0; cid != NULL && i < snap->n_ids; i++) {
		if (snap->ids[i].cfg == cid)
			sa.id = &snap->ids[i];
	}
	if (sa.id == NULL || sa.id->key == NULL)
		return cid == NULL ? SG_ERR_NOT_FOUND : SG_ERR_KEY_NOT_FOUND;
	memset(&e, 0, sizeof(e));
	e.type = "checkpoint";
	e.identity = sa.id->cfg->name;
	e.key_id = sgp11_key_id_hex(sa.id->key);
	e.cert_serial = sa.id->cert_serial[0] != '\0' ? sa.id->cert_serial : NULL;
	e.outcome = "ok";
	e.seal = seal;
	e.seal_arg = &sa;
	e.seal_alg = sgp11_key_spec(sa.id->key)->kind == SGP11_EC ? "ecdsa-sha256" :
	    "rsa-pkcs1-sha256";
	r = sg_audit_append(gw->audit, &e, NULL, NULL);
	*tokenp = sa.r;
	*ckrp = sa.ckr;
	return r;
}

int
gw_checkpoint_write(struct gw *gw)
{
	struct gw_snapshot *snap = gw_snapshot_get(gw);
	unsigned long ckr = 0;
	int r, token;

	/* While the token is away the prober alone asks it. */
	if (!gw_token_up(gw)) {
		r = SG_ERR_TOKEN_LOST;
		goto out;
	}
	r = write_under(gw, snap, &token, &ckr);
	if (token == SG_ERR_TOKEN_LOST && gw_token_recover(gw, snap, ckr) == 0) {
		gw_snapshot_put(gw, snap);
		snap = gw_snapshot_get(gw);
		r = write_under(gw, snap, &token, &ckr);
	}
	if (token != 0)
		r = token;
	if (r != 0)
		sg_warn_r(r, "checkpoint not written");
 out:
	gw_snapshot_put(gw, snap);
	return r;
}

static void *
checkpoint_main(void *arg)
{
	struct gw_checkpointer *cp = arg;
	struct sg_audit_stats st;
	struct gw_snapshot *snap;
	struct timespec until;
	unsigned int every_entries, every_seconds;
	time_t now;
	int due, r;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (pthread_cond_timedwait(&cp->wake, &cp->lock, &until) != ETIMEDOUT || cp->stop)
			continue;
		/* Each second, the counted refusals of seconds that are over. */
		pthread_mutex_unlock(&cp->lock);
		gw_refusals_flush(cp->gw, sg_monotonic_ms(), 0);
		pthread_mutex_lock(&cp->lock);
		if (cp->stop)
			continue;
		snap = gw_snapshot_get(cp->gw);
		every_entries = snap->cfg->audit.checkpoint_every_entries;
		every_seconds = snap->cfg->audit.checkpoint_every_seconds;
		due = snap->cfg->audit.checkpoint_identity != NULL;
		gw_snapshot_put(cp->gw, snap);
		sg_audit_stats(cp->gw->audit, &st);
		now = time(NULL);
		due = due && st.entries > cp->last_entries &&
		    (st.entries - cp->last_entries >= every_entries ||
		    now - cp->last_time >= (time_t)every_seconds);
		if (!due)
			continue;
		pthread_mutex_unlock(&cp->lock);
		if ((r = gw_checkpoint_write(cp->gw)) == 0) {
			sg_audit_stats(cp->gw->audit, &st);
			cp->last_entries = st.entries;
		}
		/* A checkpoint the token could not sign is tried again each
		 * second (without touching the token while it is away). */
		if (r != SG_ERR_TOKEN_LOST)
			cp->last_time = now;
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

int
gw_checkpoint_start(struct gw *gw, struct gw_checkpointer **cpp)
{
	struct gw_checkpointer *cp;
	struct sg_audit_stats st;

	*cpp = NULL;
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return SG_ERR_ALLOC;
	cp->gw = gw;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	sg_audit_stats(gw->audit, &st);
	cp->last_entries = st.entries;
	cp->last_time = time(NULL);
	if (pthread_create(&cp->thread, NULL, checkpoint_main, cp) != 0) {
		pthread_mutex_destroy(&cp->lock);
		pthread_cond_destroy(&cp->wake);
		free(cp);
		return SG_ERR_INTERNAL;
	}
	*cpp = cp;
	return 0;
}

void
gw_checkpoint_stop(struct gw_checkpointer *cp)
{
	if (cp == NULL)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stop = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	free(cp);
}
