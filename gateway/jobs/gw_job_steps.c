/* SPDX-License-Identifier: Apache-2.0 */
/* The step machine of enrolment and renewal jobs: what a job does from
 * the step it is in (make the key and CSR, SignNewCertificate or
 * RenewCertificate once, poll GetCertificate, store the certificate or
 * switch the key labels), each step saved before it talks to the
 * authority so a restart resumes it. Runs on the worker thread only. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "authorities/authority.h"
#include "authorities/authority_vero.h"
#include "gw.h"
#include "gw_jobs_internal.h"
#include "gw_metrics.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"

/* A certificate's notBefore may be this far ahead of our clock. */
#define CLOCK_SKEW_S	300
/* Renewal attempts that did not reach the authority, before giving up. */
#define RENEW_ATTEMPTS	5

/* What a step needs from the current configuration and token. */
struct step_ctx {
	struct gw_snapshot *snap;
	const struct gw_identity *id;
	struct gw_authority *issuer;	/* the identity's issuer, opened for this step */
};

static void
step_ctx_free(struct gw_jobs *j, struct step_ctx *c)
{
	gw_authority_close(c->issuer);
	if (c->snap != NULL)
		gw_snapshot_put(j->gw, c->snap);
	memset(c, 0, sizeof(*c));
}

static int
step_ctx_get(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	char why[256];
	int r;

	memset(c, 0, sizeof(*c));
	c->snap = gw_snapshot_get(j->gw);
	if ((c->id = gw_snapshot_identity(c->snap, job->identity)) == NULL ||
	    c->id->cfg->issuer == NULL) {
		gw_job_set_detail(j, job, "identity %s is no longer configured with an issuer", job->identity);
		return SG_ERR_NOT_FOUND;
	}
	if ((r = gw_authority_open(c->id->cfg->issuer, NULL, NULL, NULL, &c->issuer, why,
	    sizeof(why))) != 0) {
		gw_job_set_detail(j, job, "the %s adapter cannot be set up: %s", c->id->cfg->issuer->name,
		    why[0] != '\0' ? why : sg_strerror(r));
		return r;
	}
	return 0;
}

/* Put the job at step and in state, and save it there. */
static void
save_in(struct gw_jobs *j, struct job *job, enum job_step step, const char *state)
{
	job->step = step;
	gw_job_set_state(j, job, state);
	gw_job_save(j, job);
}

static void
job_fail(struct gw_jobs *j, struct job *job, const char *error)
{
	sg_error("job %s (%s %s) failed: %s", job->id, job->renew ? "renew" : "enroll",
	    job->identity, job->detail);
	save_in(j, job, STEP_FINISHED, "failed");
	gw_job_audit(j, job, "error", error);
	gw_metrics_authority(j->gw->metrics, job->issuer, job->renew ? "renew_failed" :
	    "enroll_failed");
}

/* The identity's RSA-2048 key under label, made when there is none. */
static int
new_key(struct gw_jobs *j, struct job *job, const char *label, struct sgp11_key **keyp)
{
	struct sgp11_keyspec spec;
	int r;

	*keyp = NULL;
	r = sgp11_key_find(j->gw->token, label, keyp);
	if (r == SG_ERR_KEY_NOT_FOUND) {
		if ((r = sgp11_keyspec_parse("rsa:2048", &spec)) != 0 ||
		    (r = sgp11_keygen(j->gw->token, label, NULL, 0, &spec)) != 0 ||
		    (r = sgp11_key_find(j->gw->token, label, keyp)) != 0) {
			gw_job_set_detail(j, job, "no RSA-2048 key could be made under %s: %s", label,
			    sg_strerror(r));
			return r;
		}
		sg_info("job %s: generated RSA-2048 key %s on the token", job->id, label);
		return 0;
	}
	if (r != 0) {
		gw_job_set_detail(j, job, "key %s: %s", label, sg_strerror(r));
		return r;
	}
	if (strcmp(sgp11_keyspec_name(sgp11_key_spec(*keyp)), "rsa:2048") != 0 ||
	    sgp11_key_get0_cert(*keyp) != NULL) {
		gw_job_set_detail(j, job, "key %s is not a fresh RSA-2048 key (the service takes only those)",
		    label);
		sgp11_key_free(*keyp);
		*keyp = NULL;
		return SG_ERR_CONFLICT;
	}
	return 0;
}

static int
make_csr(struct gw_jobs *j, struct job *job, const struct sg_identity *id, struct sgp11_key *key,
    X509_REQ **csrp)
{
	struct sgp11_subject subject;
	unsigned char *der = NULL;
	int len, r;

	memset(&subject, 0, sizeof(subject));
	subject.c = "FI";
	subject.o = id->customer_name;
	subject.cn = id->customer_id;
	if ((r = sgp11_csr_make(key, &subject, csrp)) != 0) {
		gw_job_set_detail(j, job, "the CSR could not be signed on the token: %s", sg_strerror(r));
		return r;
	}
	free(job->csr_b64);
	job->csr_b64 = NULL;
	if ((len = i2d_X509_REQ(*csrp, &der)) <= 0)
		return SG_ERR_CRYPTO;
	r = sg_b64_encode(der, (size_t)len, SG_B64_STD, &job->csr_b64);
	OPENSSL_free(der);
	return r;
}

/* The job waits for the authority until next_at, saved so. */
static void
wait_authority_until(struct gw_jobs *j, struct job *job, time_t next_at)
{
	job->next_at = next_at;
	save_in(j, job, job->step, "waiting_authority");
}

/* Polling: the wait grows with the polls made, to three intervals. */
static void
wait_authority(struct gw_jobs *j, struct job *job, unsigned int interval_s)
{
	unsigned int factor = job->polls < 3 ? job->polls + 1 : 3;

	wait_authority_until(j, job, time(NULL) + (time_t)interval_s * factor);
}

/* The token is away: the step runs again once it is back, without
 * counting as an attempt (nothing was sent). */
static void
wait_token(struct gw_jobs *j, struct job *job, const struct step_ctx *c, int r)
{
	static const char waiting[] = "the token is unavailable; waiting for it";

	if (r == SG_ERR_TOKEN_LOST && gw_token_up(j->gw))
		(void)gw_token_recover(j->gw, c->snap, sgp11_last_ckr());
	job->next_at = time(NULL) + 1;
	/* Saved once, not every second the wait lasts. */
	if (strcmp(job->detail, waiting) != 0) {
		gw_job_set_detail(j, job, "%s", waiting);
		gw_job_save(j, job);
	}
}

/* The answer to SignNew or Renew: a RetrievalId to poll, or the end. A
 * FAIL here is final: without a RetrievalId there is nothing to collect
 * (docs/authorities.md, "Which answers end a job"). */
static void
await_certificate(struct gw_jobs *j, struct job *job, const struct step_ctx *c,
    const struct gw_vero_result *res, const char *operation)
{
	char errors[600];

	(void)gw_job_set_errors(job, res);
	if (!res->ok || res->retrieval_id[0] == '\0') {
		gw_vero_errors_text(res, errors, sizeof(errors));
		gw_job_set_detail(j, job, "%s refused: %s", operation, res->ok ? "no RetrievalId" :
		    errors);
		job_fail(j, job, "authority_error");
		return;
	}
	memcpy(job->retrieval_id, res->retrieval_id, sizeof(job->retrieval_id));
	job->step = STEP_POLLING;
	job->polls = 0;
	gw_job_set_detail(j, job, "waiting for the certificate (retrieval id %s)", job->retrieval_id);
	wait_authority(j, job, c->id->cfg->issuer->vero.poll_interval_s);
}

/* SignNewCertificate, once, with the new key's CSR. */
static void
send_sign_new(struct gw_jobs *j, struct job *job, struct step_ctx *c, X509_REQ *csr)
{
	struct gw_vero_result res;
	char why[300];
	int r;

	memset(&res, 0, sizeof(res));
	/* Persisted as sent before it is: never sent twice. */
	job->step = STEP_SIGN_NEW_SENT;
	gw_job_set_detail(j, job, "SignNewCertificate sent");
	if (gw_job_save(j, job) != 0) {
		gw_job_set_detail(j, job, "the job could not be saved; nothing was sent");
		job_fail(j, job, "internal");
		goto out;
	}
	r = gw_authority_sign_new(c->issuer, c->id->cfg, job->transfer_id, job->transfer_password, csr,
	    &res, why, sizeof(why));
	sg_free_secret_str(job->transfer_password);
	job->transfer_password = NULL;
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r != 0) {
		gw_job_set_detail(j, job, "%s; SignNewCertificate is never resent: ask for new transfer "
		    "credentials", why);
		job_fail(j, job, r == SG_ERR_TIMEOUT ? "authority_timeout" : "authority_error");
		goto out;
	}
	await_certificate(j, job, c, &res, "SignNewCertificate");
out:
	gw_vero_result_free(&res);
}

/* RenewCertificate for the new key's CSR, signed with the current key.
 * Sent again after a failure (it carries no secret). */
static void
send_renew(struct gw_jobs *j, struct job *job, struct step_ctx *c, X509_REQ *csr)
{
	struct gw_vero_result res;
	char why[300];
	int r;

	memset(&res, 0, sizeof(res));
	gw_job_save(j, job);
	r = gw_authority_renew(c->issuer, c->id->cfg, csr, c->id->key, c->id->cert, &res, why, sizeof(why));
	if (r == SG_ERR_TOKEN_LOST) {
		/* The request was not signed, so nothing was sent. */
		wait_token(j, job, c, r);
		goto out;
	}
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r != 0) {
		if (++job->attempts >= RENEW_ATTEMPTS) {
			gw_job_set_detail(j, job, "%s (gave up after %u attempts)", why, job->attempts);
			job_fail(j, job, "authority_error");
			goto out;
		}
		gw_job_set_detail(j, job, "%s; trying again", why);
		wait_authority_until(j, job, time(NULL) +
		    (time_t)c->id->cfg->issuer->vero.poll_interval_s * (1 << job->attempts));
		goto out;
	}
	await_certificate(j, job, c, &res, "RenewCertificate");
out:
	gw_vero_result_free(&res);
}

/* Whether the job can start: an enrolment still holds its transfer
 * credentials (gone after a restart), a renewal's identity has a key
 * with a certificate that has not expired. 0: the job has failed. */
static int
may_start(struct gw_jobs *j, struct job *job, const struct step_ctx *c)
{
	if (!job->renew && job->transfer_password == NULL) {
		gw_job_set_detail(j, job, "the transfer credentials are gone (restart before sending); "
		    "enrol again");
		job_fail(j, job, "invalid_request");
		return 0;
	}
	if (job->renew && (c->id->key == NULL || c->id->cert == NULL)) {
		gw_job_set_detail(j, job, "identity %s has no key with a certificate to renew",
		    job->identity);
		job_fail(j, job, "conflict");
		return 0;
	}
	if (job->renew && c->id->not_after <= time(NULL)) {
		gw_job_set_detail(j, job, "the certificate has expired; only a new enrolment helps");
		job_fail(j, job, "certificate_expired");
		return 0;
	}
	return 1;
}

/* The first step of either kind: the new key under job->new_label and
 * its CSR, then SignNewCertificate (enrolment) or RenewCertificate. */
static void
step_start(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	struct sgp11_key *key = NULL;
	X509_REQ *csr = NULL;
	int r;

	if (!may_start(j, job, c))
		goto out;
	if ((r = new_key(j, job, job->new_label, &key)) != 0 ||
	    (r = make_csr(j, job, c->id->cfg, key, &csr)) != 0) {
		if (r == SG_ERR_TOKEN_LOST)
			wait_token(j, job, c, r);
		else
			job_fail(j, job, "token_unavailable");
		goto out;
	}
	if (job->renew)
		send_renew(j, job, c, csr);
	else
		send_sign_new(j, job, c, csr);
out:
	X509_REQ_free(csr);
	sgp11_key_free(key);
}

/* The issued certificate must be for the new key, from the expected
 * issuer, valid now. */
static int
check_cert(struct gw_jobs *j, struct job *job, const struct gw_identity *id, struct sgp11_key *key,
    X509 *cert)
{
	time_t now = time(NULL);

	if (EVP_PKEY_eq(X509_get0_pubkey(cert), sgp11_key_get0_public(key)) != 1) {
		ERR_clear_error();
		gw_job_set_detail(j, job, "the issued certificate is not for the new key");
		return SG_ERR_KEY_MISMATCH;
	}
	if (job->renew && id->cert != NULL &&
	    X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_issuer_name(id->cert)) != 0) {
		gw_job_set_detail(j, job,
		    "the issued certificate comes from another issuer than the current one");
		return SG_ERR_CRYPTO;
	}
	if (gw_job_asn1_time(X509_get0_notBefore(cert)) > now + CLOCK_SKEW_S ||
	    gw_job_asn1_time(X509_get0_notAfter(cert)) <= now) {
		gw_job_set_detail(j, job, "the issued certificate is not valid now");
		return SG_ERR_CERT_EXPIRED;
	}
	return 0;
}

static void
finish(struct gw_jobs *j, struct job *job, const char *what)
{
	/* The identity takes up its new key and certificate first: "done"
	 * means the gateway uses them. */
	gw_reload(j->gw, job->renew ? "renewal" : "enrolment");
	gw_job_set_detail(j, job, "%s", what);
	save_in(j, job, STEP_FINISHED, "done");
	gw_job_audit(j, job, "ok", NULL);
	sg_info("job %s (%s %s): %s", job->id, job->renew ? "renew" : "enroll", job->identity,
	    what);
}

/* Renewal: certificate next to the staged key, the current key retired,
 * the staged one under the identity's label. Each move is finished by
 * running this again after a crash. */
static void
step_switch(struct gw_jobs *j, struct job *job, const struct gw_identity *id)
{
	const char *label = id->cfg->key_label;
	struct sgp11_key *staged = NULL;
	int r;

	r = sgp11_key_find(j->gw->token, job->new_label, &staged);
	if (r == 0 && sgp11_key_get0_cert(staged) == NULL)
		r = sgp11_cert_import(j->gw->token, job->new_label, job->cert, NULL);
	sgp11_key_free(staged);
	if (r == SG_ERR_KEY_NOT_FOUND)
		r = 0;		/* already moved to the identity's label */
	if (r != 0 || (r = sgp11_key_relabel(j->gw->token, label, job->retired_label)) != 0 ||
	    (r = sgp11_key_relabel(j->gw->token, job->new_label, label)) != 0) {
		gw_job_set_detail(j, job, "switching keys failed: %s (resumed at the next start)",
		    sg_strerror(r));
		sg_error("job %s: %s", job->id, job->detail);
		job->next_at = time(NULL) + 60;
		gw_job_save(j, job);
		return;
	}
	finish(j, job, "renewed: the new key and certificate are in use; the old key is kept "
	    "under its retired label until an officer retires it");
}

/* The poll budget is spent without a certificate. A renewal fails (the
 * scheduler or an officer sends a new RenewCertificate: it carries no
 * secret). An enrolment keeps its RetrievalId and waits, saved as
 * collect_pending, for an officer to resume it: its one-use transfer
 * password is spent, so the ordered certificate is collected or lost. */
static void
give_up_polling(struct gw_jobs *j, struct job *job, const char *last)
{
	if (job->renew) {
		gw_job_set_detail(j, job, "no certificate after %u polls: %s", job->polls, last);
		job_fail(j, job, "authority_timeout");
		return;
	}
	gw_job_set_detail(j, job, "the certificate waits to be collected (retrieval id %s kept after "
	    "%u polls): resume with POST /v1/jobs/%s/resume, or give it up with .../abandon; last "
	    "answer: %s", job->retrieval_id, job->polls, job->id, last);
	sg_error("job %s (enroll %s): %s", job->id, job->identity, job->detail);
	/* Once parked, a request thread may resume it (gw_jobs_resume, under
	 * the lock): it is saved and audited as parked before that can be. */
	pthread_mutex_lock(&j->lock);
	job->step = STEP_POLLING;
	gw_job_put_state(job, "collect_pending");
	gw_job_save(j, job);
	gw_job_audit(j, job, "error", "authority_timeout");
	pthread_mutex_unlock(&j->lock);
}

/* GetCertificate. Any answer but a Certificate means "not ready yet", a
 * FAIL included: the public clients retry every failed GetCertificate
 * with the same RetrievalId (docs/authorities.md, "Which answers end a
 * job"), and SignNewCertificate is never sent again. */
static void
step_poll(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	const struct sg_vero_settings *vs = &c->id->cfg->issuer->vero;
	struct sgp11_key *key = NULL;
	struct gw_vero_result res;
	char why[300], last[700], errors[600];
	int r;

	memset(&res, 0, sizeof(res));
	r = gw_authority_get(c->issuer, c->id->cfg, job->retrieval_id, &res, why, sizeof(why));
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r == 0)
		(void)gw_job_set_errors(job, &res);
	if (r != 0 || !res.ok || res.certificate == NULL) {
		if (r != 0)
			sg_msg(last, sizeof(last), "%s", why);
		else if (!res.ok) {
			gw_vero_errors_text(&res, errors, sizeof(errors));
			sg_msg(last, sizeof(last), "GetCertificate answered FAIL: %s", errors);
		} else
			sg_msg(last, sizeof(last), "GetCertificate answered OK without a Certificate");
		if (++job->polls >= vs->poll_max) {
			give_up_polling(j, job, last);
			goto out;
		}
		gw_job_set_detail(j, job, "certificate not ready yet (poll %u of %u): %s", job->polls,
		    vs->poll_max, last);
		wait_authority(j, job, vs->poll_interval_s);
		goto out;
	}
	if ((r = sgp11_key_find(j->gw->token, job->new_label, &key)) != 0) {
		gw_job_set_detail(j, job, "the new key %s is gone: %s", job->new_label, sg_strerror(r));
		job_fail(j, job, "token_unavailable");
		goto out;
	}
	if (check_cert(j, job, c->id, key, res.certificate) != 0) {
		job_fail(j, job, "authority_error");
		goto out;
	}
	job->cert = res.certificate;
	res.certificate = NULL;
	if (!job->renew) {
		/* Stored already when a restart came between storing and "done". */
		if (sgp11_key_get0_cert(key) != NULL && X509_cmp(sgp11_key_get0_cert(key), job->cert) == 0)
			r = 0;
		else
			r = sgp11_cert_import(j->gw->token, job->new_label, job->cert, NULL);
		if (r != 0) {
			gw_job_set_detail(j, job, "the certificate could not be stored on the token: %s",
			    sg_strerror(r));
			job_fail(j, job, "token_unavailable");
			goto out;
		}
		finish(j, job, "enrolled: the certificate is stored next to its key");
		goto out;
	}
	gw_job_set_detail(j, job, "switching to the new key");
	save_in(j, job, STEP_SWITCHING, "running");
	step_switch(j, job, c->id);
out:
	gw_vero_result_free(&res);
	sgp11_key_free(key);
}

void
gw_job_run_step(struct gw_jobs *j, struct job *job)
{
	struct step_ctx c;

	if (step_ctx_get(j, job, &c) != 0) {
		job_fail(j, job, "conflict");
		goto out;
	}
	/* While the token is away the prober alone asks it. */
	if (!gw_token_up(j->gw) && (job->step == STEP_START || job->step == STEP_SWITCHING ||
	    job->step == STEP_POLLING)) {
		wait_token(j, job, &c, 0);
		goto out;
	}
	switch (job->step) {
	case STEP_START:
		gw_job_set_state(j, job, "running");
		step_start(j, job, &c);
		break;
	case STEP_POLLING:
		step_poll(j, job, &c);
		break;
	case STEP_SWITCHING:
		step_switch(j, job, c.id);
		break;
	case STEP_SIGN_NEW_SENT:	/* handled at load; never sent twice */
	case STEP_FINISHED:
		break;
	}
out:
	step_ctx_free(j, &c);
}
