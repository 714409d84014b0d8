/* SPDX-License-Identifier: Apache-2.0 */
/* Enrolment and renewal jobs: the public API of gw_jobs.h (queueing a job
 * after its first audit entry is durable, describing it), the worker
 * thread that runs due jobs one step at a time (gw_job_steps.c) and the
 * auto_renew scheduler. The records live in gw_job_store.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_jobs.h"
#include "gw_jobs_internal.h"
#include "gw_metrics.h"
#include "gw_snapshot.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

#define DAY		86400

static struct job *
active_job(struct gw_jobs *j, const char *identity)
{
	size_t i;

	for (i = 0; i < j->n_jobs; i++) {
		if (!gw_job_terminal(j->jobs[i]) && strcmp(j->jobs[i]->identity, identity) == 0)
			return j->jobs[i];
	}
	return NULL;
}

/* Drop the oldest finished job (memory and file) to make room. */
static int
make_room(struct gw_jobs *j)
{
	size_t i, oldest = MAX_JOBS;

	if (j->n_jobs < MAX_JOBS)
		return 0;
	for (i = 0; i < j->n_jobs; i++) {
		if (gw_job_terminal(j->jobs[i]) && (oldest == MAX_JOBS ||
		    j->jobs[i]->updated_at < j->jobs[oldest]->updated_at))
			oldest = i;
	}
	if (oldest == MAX_JOBS)
		return SG_ERR_BUSY;
	gw_job_forget(j, oldest);
	return 0;
}

/* Make a job's first entry durable before it may run; when the log does
 * not take it, the job never was (lock held, job the newest queued). */
static int
audit_start(struct gw_jobs *j, struct job *job, char *why, size_t whylen)
{
	if (gw_job_audit(j, job, "ok", NULL) == 0)
		return 0;
	gw_job_forget(j, j->n_jobs - 1);
	return sg_why(SG_ERR_AUDIT, why, whylen, "the audit log cannot be written; nothing was done");
}

static int
window_open(const struct gw_identity *id, time_t now)
{
	return id->not_after - now <= (time_t)id->cfg->issuer->vero.renewal_window_days * DAY;
}

/* Queue a new job (lock held). */
static int
queue(struct gw_jobs *j, const struct gw_identity *id, int renew, const char *client,
    const char *request_id, struct job **jobp)
{
	unsigned char rnd[GW_JOB_ID_LEN / 2];
	struct job *job;
	char *hex = NULL, stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	*jobp = NULL;
	if ((r = make_room(j)) != 0)
		return r;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return SG_ERR_ALLOC;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || sg_hex_encode(rnd, sizeof(rnd), &hex) != 0) {
		free(job);
		return SG_ERR_CRYPTO;
	}
	memcpy(job->id, hex, GW_JOB_ID_LEN + 1);
	free(hex);
	job->renew = renew;
	gw_job_put_state(job, "queued");
	sg_msg(job->detail, sizeof(job->detail), "queued");	/* not listed yet */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	/* Names, labels and ids go into files and onto the token: one that
	 * does not fit is refused, never cut. */
	if (sg_strfit(job->identity, sizeof(job->identity), id->cfg->name) != 0 ||
	    sg_strfit(job->issuer, sizeof(job->issuer), id->cfg->issuer->name) != 0 ||
	    sg_strfit(job->client, sizeof(job->client), client) != 0 ||
	    sg_strfit(job->request_id, sizeof(job->request_id), request_id) != 0 ||
	    (renew && (snprintf(job->new_label, sizeof(job->new_label), "%s" SG_LABEL_NEXT_SUFFIX,
	    id->cfg->key_label) >= (int)sizeof(job->new_label) ||
	    snprintf(job->retired_label, sizeof(job->retired_label), "%s" SG_LABEL_RETIRED_INFIX "%s",
	    id->cfg->key_label, stamp) >= (int)sizeof(job->retired_label))) ||
	    (!renew && sg_strfit(job->new_label, sizeof(job->new_label), id->cfg->key_label) != 0)) {
		gw_job_free(job);
		return SG_ERR_TOO_LARGE;
	}
	job->created_at = job->next_at = now;
	if ((r = gw_job_save(j, job)) != 0) {
		gw_job_free(job);
		return r;
	}
	j->jobs[j->n_jobs++] = job;
	*jobp = job;
	return 0;
}

/* The identity as the request sees it, checked for a job (lock held). */
static int
lookup(struct gw_jobs *j, struct gw_snapshot *snap, const char *name,
    const struct gw_identity **idp, char *why, size_t whylen)
{
	const struct gw_identity *id = gw_snapshot_identity(snap, name);
	struct job *busy;

	*idp = id;
	if (id == NULL)
		return sg_why(SG_ERR_NOT_FOUND, why, whylen, "no identity named %s", name);
	if (id->cfg->issuer == NULL)
		return sg_why(SG_ERR_CONFLICT, why, whylen,
		    "identity %s has no issuer (a vero-certservice authority) to enrol with", name);
	if ((busy = active_job(j, name)) != NULL)
		return sg_why(SG_ERR_CONFLICT, why, whylen, "job %s is already under way for %s",
		    busy->id, name);
	return 0;
}

int
gw_jobs_enroll(struct gw_jobs *j, const char *identity, const char *transfer_id,
    const char *transfer_password, const char *client, const char *request_id, char *id_out,
    char *why, size_t whylen)
{
	struct gw_snapshot *snap = gw_snapshot_get(j->gw);
	const struct gw_identity *id;
	struct job *job = NULL;
	int r;

	pthread_mutex_lock(&j->lock);
	if ((r = lookup(j, snap, identity, &id, why, whylen)) != 0)
		goto out;
	if (id->cert != NULL) {
		r = sg_why(SG_ERR_CONFLICT, why, whylen, "identity %s already has a certificate; "
		    "renew it instead", identity);
		goto out;
	}
	if (gw_audit_failing(j->gw, GW_AUDIT_REFUSE_MS)) {
		r = sg_why(SG_ERR_AUDIT, why, whylen, "the audit log cannot be written");
		goto out;
	}
	if ((r = queue(j, id, 0, client, request_id, &job)) != 0) {
		sg_why(r, why, whylen, "the job could not be queued: %s", sg_strerror(r));
		goto out;
	}
	if ((job->transfer_id = strdup(transfer_id)) == NULL ||
	    (job->transfer_password = strdup(transfer_password)) == NULL) {
		gw_job_put_state(job, "failed");
		sg_msg(job->detail, sizeof(job->detail), "out of memory");	/* lock held */
		gw_job_save(j, job);
		r = sg_why(SG_ERR_ALLOC, why, whylen, "out of memory");
		goto out;
	}
	if ((r = audit_start(j, job, why, whylen)) != 0)
		goto out;
	memcpy(id_out, job->id, GW_JOB_ID_LEN + 1);
	pthread_cond_signal(&j->wake);
out:
	pthread_mutex_unlock(&j->lock);
	gw_snapshot_put(j->gw, snap);
	return r;
}

int
gw_jobs_renew(struct gw_jobs *j, const char *identity, const char *client, const char *request_id,
    char *id_out, char *why, size_t whylen)
{
	struct gw_snapshot *snap = gw_snapshot_get(j->gw);
	const struct gw_identity *id;
	struct job *job = NULL;
	time_t now = time(NULL);
	int r;

	pthread_mutex_lock(&j->lock);
	if ((r = lookup(j, snap, identity, &id, why, whylen)) != 0)
		goto out;
	if (id->cert == NULL) {
		r = sg_why(SG_ERR_CONFLICT, why, whylen, "identity %s has no certificate; enrol it",
		    identity);
		goto out;
	}
	if (id->not_after <= now) {
		r = sg_why(SG_ERR_CERT_EXPIRED, why, whylen, "the certificate of %s has expired; "
		    "only a new enrolment helps", identity);
		goto out;
	}
	if (!window_open(id, now)) {
		r = sg_why(SG_ERR_CONFLICT, why, whylen, "renewal opens %u days before expiry "
		    "(%lld days left)", id->cfg->issuer->vero.renewal_window_days,
		    (long long)((id->not_after - now) / DAY));
		goto out;
	}
	if (gw_audit_failing(j->gw, GW_AUDIT_REFUSE_MS)) {
		r = sg_why(SG_ERR_AUDIT, why, whylen, "the audit log cannot be written");
		goto out;
	}
	if ((r = queue(j, id, 1, client, request_id, &job)) != 0) {
		sg_why(r, why, whylen, "the job could not be queued: %s", sg_strerror(r));
		goto out;
	}
	if ((r = audit_start(j, job, why, whylen)) != 0)
		goto out;
	memcpy(id_out, job->id, GW_JOB_ID_LEN + 1);
	pthread_cond_signal(&j->wake);
out:
	pthread_mutex_unlock(&j->lock);
	gw_snapshot_put(j->gw, snap);
	return r;
}

/* Read from the job's file, which the worker rewrites atomically after
 * every change: a consistent view while a step is running. */
cJSON *
gw_jobs_describe(struct gw_jobs *j, const char *id)
{
	char path[4096];
	struct job *job = NULL;
	cJSON *o = NULL;
	size_t i;
	int known = 0;

	pthread_mutex_lock(&j->lock);
	for (i = 0; i < j->n_jobs && !known; i++)
		known = strcmp(j->jobs[i]->id, id) == 0;
	pthread_mutex_unlock(&j->lock);
	if (!known)
		return NULL;
	if (snprintf(path, sizeof(path), "%s/%s.json", j->dir, id) < (int)sizeof(path) &&
	    (job = gw_job_load(path)) != NULL)
		o = gw_job_json(job, 1);
	gw_job_free(job);
	return o;
}

cJSON *
gw_jobs_failures(struct gw_jobs *j)
{
	cJSON *o = NULL;
	const struct job *latest;
	size_t i, k;

	if (j == NULL)
		return NULL;
	pthread_mutex_lock(&j->lock);
	for (i = 0; i < j->n_jobs; i++) {
		if (!j->jobs[i]->renew)
			continue;
		latest = j->jobs[i];
		for (k = 0; k < j->n_jobs; k++) {
			if (j->jobs[k]->renew && strcmp(j->jobs[k]->identity, latest->identity) == 0 &&
			    j->jobs[k]->created_at > latest->created_at)
				latest = j->jobs[k];
		}
		if (latest != j->jobs[i] || strcmp(latest->state, "failed") != 0)
			continue;
		if (o == NULL && (o = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(o, latest->identity, latest->detail);
	}
	pthread_mutex_unlock(&j->lock);
	return o;
}

cJSON *
gw_jobs_collect_pending(struct gw_jobs *j)
{
	cJSON *o = NULL, *e;
	size_t i;

	if (j == NULL)
		return NULL;
	pthread_mutex_lock(&j->lock);
	for (i = 0; i < j->n_jobs; i++) {
		const struct job *job = j->jobs[i];

		if (!gw_job_parked(job))
			continue;
		if (o == NULL && (o = cJSON_CreateObject()) == NULL)
			break;
		if ((e = cJSON_AddObjectToObject(o, job->identity)) == NULL)
			continue;
		cJSON_AddStringToObject(e, "job", job->id);
		cJSON_AddStringToObject(e, "retrieval_id", job->retrieval_id);
		cJSON_AddStringToObject(e, "detail", job->detail);
	}
	pthread_mutex_unlock(&j->lock);
	return o;
}

/* The worker never touches a parked job, so it changes here, under the
 * lock, like a job being queued: it polls again (resume) or ends (abandon).
 * The entry saying so is durable before the change is saved. */
static int
settle_parked(struct gw_jobs *j, const char *id, int abandon, const char *client,
    const char *request_id, char *state_out, size_t state_len, char *why, size_t whylen)
{
	char old_detail[sizeof(((struct job *)0)->detail)];
	struct job *job = NULL;
	size_t i;
	int r;

	pthread_mutex_lock(&j->lock);
	for (i = 0; i < j->n_jobs && job == NULL; i++) {
		if (strcmp(j->jobs[i]->id, id) == 0)
			job = j->jobs[i];
	}
	if (job == NULL) {
		r = sg_why(SG_ERR_NOT_FOUND, why, whylen, "no such job");
		goto out;
	}
	if (!gw_job_parked(job)) {
		r = sg_why(SG_ERR_CONFLICT, why, whylen, "job %s is %s: only a job whose certificate "
		    "waits to be collected (collect_pending) %s", job->id, job->state,
		    abandon ? "is abandoned" : "resumes");
		goto out;
	}
	if (gw_audit_failing(j->gw, GW_AUDIT_REFUSE_MS)) {
		r = sg_why(SG_ERR_AUDIT, why, whylen, "the audit log cannot be written; nothing was done");
		goto out;
	}
	memcpy(old_detail, job->detail, sizeof(old_detail));
	if (abandon) {
		sg_msg(job->detail, sizeof(job->detail), "abandoned by %s: the certificate ordered "
		    "under retrieval id %s was not collected; a new enrolment needs new transfer "
		    "codes", client, job->retrieval_id);
		gw_job_put_state(job, "failed");
		r = gw_job_audit_by(j, job, "error", "abandoned", client, request_id);
	} else {
		sg_msg(job->detail, sizeof(job->detail), "resumed by %s: GetCertificate again with "
		    "retrieval id %s (SignNewCertificate is never resent)", client, job->retrieval_id);
		gw_job_put_state(job, "waiting_authority");
		r = gw_job_audit_by(j, job, "ok", NULL, client, request_id);
	}
	if (r != 0) {
		memcpy(job->detail, old_detail, sizeof(old_detail));
		gw_job_put_state(job, "collect_pending");
		r = sg_why(SG_ERR_AUDIT, why, whylen, "the audit log cannot be written; nothing was done");
		goto out;
	}
	if (!abandon) {
		job->polls = 0;
		job->next_at = time(NULL);
	}
	gw_job_save(j, job);
	sg_info("job %s (enroll %s) %s by %s", job->id, job->identity,
	    abandon ? "abandoned" : "resumed", client);
	sg_msg(state_out, state_len, "%s", job->state);
	if (!abandon)
		pthread_cond_signal(&j->wake);
out:
	pthread_mutex_unlock(&j->lock);
	return r;
}

int
gw_jobs_resume(struct gw_jobs *j, const char *id, const char *client, const char *request_id,
    char *state_out, size_t state_len, char *why, size_t whylen)
{
	return settle_parked(j, id, 0, client, request_id, state_out, state_len, why, whylen);
}

int
gw_jobs_abandon(struct gw_jobs *j, const char *id, const char *client, const char *request_id,
    char *state_out, size_t state_len, char *why, size_t whylen)
{
	return settle_parked(j, id, 1, client, request_id, state_out, state_len, why, whylen);
}

/* --- the worker --- */

/* Identities with auto_renew inside their window and no job under way
 * get one; after a failed renewal the next try waits a while. */
static void
schedule_renewals(struct gw_jobs *j)
{
	struct gw_snapshot *snap = gw_snapshot_get(j->gw);
	time_t now = time(NULL);
	struct job *job;
	size_t i, k;

	for (i = 0; i < snap->n_ids; i++) {
		const struct gw_identity *id = &snap->ids[i];
		time_t last_failed = 0;

		if (!id->cfg->auto_renew || id->cfg->issuer == NULL || id->cert == NULL ||
		    id->not_after <= now || !window_open(id, now) || active_job(j, id->cfg->name))
			continue;
		for (k = 0; k < j->n_jobs; k++) {
			if (j->jobs[k]->renew && strcmp(j->jobs[k]->identity, id->cfg->name) == 0 &&
			    strcmp(j->jobs[k]->state, "failed") == 0 &&
			    j->jobs[k]->updated_at > last_failed)
				last_failed = j->jobs[k]->updated_at;
		}
		if (last_failed != 0 &&
		    now - last_failed < (time_t)id->cfg->issuer->vero.poll_interval_s * 20)
			continue;
		if (queue(j, id, 1, NULL, NULL, &job) == 0 &&
		    audit_start(j, job, NULL, 0) == 0)
			sg_info("auto_renew: %s expires in %lld days; renewal job %s queued",
			    id->cfg->name, (long long)((id->not_after - now) / DAY), job->id);
	}
	gw_snapshot_put(j->gw, snap);
}

/* Seconds between scheduler passes: the shortest poll interval, at most
 * an hour, at least a second. */
static time_t
schedule_every(struct gw_jobs *j)
{
	struct gw_snapshot *snap = gw_snapshot_get(j->gw);
	time_t every = 3600;
	size_t i;

	for (i = 0; i < snap->cfg->n_authorities; i++) {
		const struct sg_authority *a = &snap->cfg->authorities[i];

		if (a->type == SG_AUTHORITY_VERO_CERTSERVICE && (time_t)a->vero.poll_interval_s < every)
			every = a->vero.poll_interval_s;
	}
	gw_snapshot_put(j->gw, snap);
	return every > 0 ? every : 1;
}

static void *
worker(void *arg)
{
	struct gw_jobs *j = arg;
	struct job *due;
	struct timespec until;
	time_t now, next;
	size_t i;

	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		now = time(NULL);
		if (now >= j->next_schedule) {
			schedule_renewals(j);
			gw_metrics_renewal_pass(j->gw->metrics);
			j->next_schedule = now + schedule_every(j);
		}
		due = NULL;
		next = j->next_schedule;
		for (i = 0; i < j->n_jobs; i++) {
			struct job *job = j->jobs[i];

			if (gw_job_terminal(job) || gw_job_parked(job))
				continue;
			if (job->next_at <= now && (due == NULL || job->next_at < due->next_at))
				due = job;
			else if (job->next_at < next)
				next = job->next_at;
		}
		if (due == NULL) {
			until.tv_sec = next;
			until.tv_nsec = 0;
			pthread_cond_timedwait(&j->wake, &j->lock, &until);
			continue;
		}
		/* The job is only touched by this thread while it runs; the
		 * lock guards the list and readers' copies. */
		pthread_mutex_unlock(&j->lock);
		gw_job_run_step(j, due);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int
gw_jobs_start(struct gw *gw, const char *dir, struct gw_jobs **jp)
{
	struct gw_jobs *j;
	pthread_condattr_t ca;
	int r = SG_ERR_ALLOC;

	*jp = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		sg_error("%s: cannot make the jobs directory: %s", dir, strerror(errno));
		return SG_ERR_IO;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return SG_ERR_ALLOC;
	j->gw = gw;
	if ((j->dir = strdup(dir)) == NULL)
		goto fail;
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&j->wake, &ca);
	pthread_condattr_destroy(&ca);
	gw_job_load_all(j);
	if (pthread_create(&j->worker, NULL, worker, j) != 0) {
		r = SG_ERR_INTERNAL;
		goto fail;
	}
	j->started = 1;
	*jp = j;
	return 0;
fail:
	gw_jobs_stop(j);
	return r;
}

void
gw_jobs_stop(struct gw_jobs *j)
{
	size_t i;

	if (j == NULL)
		return;
	if (j->started) {
		pthread_mutex_lock(&j->lock);
		j->stop = 1;
		pthread_cond_signal(&j->wake);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->worker, NULL);
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->wake);
	}
	for (i = 0; i < j->n_jobs; i++)
		gw_job_free(j->jobs[i]);
	free(j->dir);
	free(j);
}
