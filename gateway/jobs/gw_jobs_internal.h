/* SPDX-License-Identifier: Apache-2.0 */
/* What the three parts of the jobs module share, and nobody else sees:
 * the job record and the list (struct job, struct gw_jobs), the record
 * store (gw_job_store.c: the records, their files in the jobs directory,
 * their audit entries), the step machine (gw_job_steps.c: what a job's
 * step does next) and, in gw_jobs.c, the worker thread, the auto_renew
 * scheduler and the public API of gw_jobs.h. */
#ifndef GW_JOBS_INTERNAL_H
#define GW_JOBS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "authorities/authority_vero_answer.h"
#include "gw.h"
#include "gw_jobs.h"

#define MAX_JOBS	1024
#define LABEL_MAX	(SG_CONFIG_NAME_MAX + 32)

enum job_step {
	STEP_START = 0,		/* nothing sent yet */
	STEP_SIGN_NEW_SENT,	/* SignNew persisted as sent: never send again */
	STEP_POLLING,		/* GetCertificate until the certificate comes */
	STEP_SWITCHING,		/* renewal: certificate checked, moving labels */
	STEP_FINISHED
};

struct job {
	char id[GW_JOB_ID_LEN + 1];
	int renew;			/* else enrol */
	char identity[SG_CONFIG_NAME_MAX + 1];
	char issuer[SG_CONFIG_NAME_MAX + 1];	/* the authority, for metrics */
	/* Who asked for it, and in which request ("" for the scheduler):
	 * in every audit entry of the job. */
	char client[SG_CONFIG_NAME_MAX + 1];
	char request_id[GW_REQUEST_ID_MAX + 1];
	/* queued running waiting_authority collect_pending done failed;
	 * collect_pending: an enrolment whose certificate was ordered (it
	 * holds a RetrievalId) but not collected within poll_max polls. It
	 * is never run by the worker until gw_jobs_resume. */
	char state[20];
	enum job_step step;
	char detail[300];
	char new_label[LABEL_MAX];	/* where the new key lives until done */
	char retired_label[LABEL_MAX];	/* renewal: where the old key goes */
	char retrieval_id[33];
	char *csr_b64;
	/* The last answer's ErrorInfo elements (a copy), n_errors of them,
	 * n_errors_total in the answer. */
	struct gw_vero_error *errors;
	size_t n_errors, n_errors_total;
	unsigned int polls, attempts;
	time_t next_at, created_at, updated_at;
	X509 *cert;			/* the issued certificate, once checked */
	/* Enrolment only, memory only, for the one SignNew call. */
	char *transfer_id;
	char *transfer_password;
};

struct gw_jobs {
	struct gw *gw;
	char *dir;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t worker;
	int stop, started;
	struct job *jobs[MAX_JOBS];
	size_t n_jobs;
	time_t next_schedule;
};

/* --- the store (gw_job_store.c) --- */

/* Whether the job is done or failed (it never runs again). */
int gw_job_terminal(const struct job *job);
/* Whether the job is collect_pending (it runs again only when resumed). */
int gw_job_parked(const struct job *job);
/* Keep a copy of res's ErrorInfo elements as the job's last answer's
 * (none when res has none). SG_ERR_ALLOC (the job keeps none). */
int gw_job_set_errors(struct job *job, const struct gw_vero_result *res);
/* Free the job and what it owns (the transfer password wiped). NULL is fine. */
void gw_job_free(struct job *job);
/* state is one of the names in struct job's comment; with j->lock held,
 * or before anyone else sees the job. */
void gw_job_put_state(struct job *job, const char *state);
/* The worker's state and detail changes, taken under j->lock, since
 * request threads read them. The detail is a message: cut to fit. */
void gw_job_set_state(struct gw_jobs *j, struct job *job, const char *state);
void gw_job_set_detail(struct gw_jobs *j, struct job *job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An ASN1_TIME as a time_t (UTC); 0 when t is NULL or unreadable. */
time_t gw_job_asn1_time(const ASN1_TIME *t);
/* The job as a new cJSON object: for_api, what GET /v1/jobs/{id}
 * answers; else the whole record as its file keeps it. NULL: no memory. */
cJSON *gw_job_json(const struct job *job, int for_api);
/* Write the job's file in the jobs directory, atomically and durably (its
 * updated_at set to now). 0, or the error (logged). */
int gw_job_save(struct gw_jobs *j, struct job *job);
/* A new job read from the file at path, or NULL (logged) when it is
 * unreadable. The caller frees it with gw_job_free. */
struct job *gw_job_load(const char *path);
/* At start: every job file of the jobs directory into j->jobs (at most
 * MAX_JOBS). One whose SignNewCertificate was sent but not answered is
 * failed, since the transfer credentials are single-use. */
void gw_job_load_all(struct gw_jobs *j);
/* The job's entry in the audit log (outcome "ok" or "error", error the
 * code or NULL): extras job, state, detail and, when the last answer had
 * any, authority_errors (the ErrorInfo elements as a JSON array text of
 * {"code","message"}). 0 when it is durable, else the error (logged). */
int gw_job_audit(struct gw_jobs *j, const struct job *job, const char *outcome,
    const char *error);
/* The same entry, in the name of client and request_id (an officer who
 * acts on the job, e.g. resumes it) instead of the job's own. */
int gw_job_audit_by(struct gw_jobs *j, const struct job *job, const char *outcome,
    const char *error, const char *client, const char *request_id);
/* Drop job i of j->jobs and its file (lock held); the last job takes its
 * place. */
void gw_job_forget(struct gw_jobs *j, size_t i);

/* --- the steps (gw_job_steps.c) --- */

/* Run the job's next step under the current snapshot (worker thread,
 * lock not held): it ends saved in its next state, waiting (next_at),
 * done or failed, with its audit entry when it ends. */
void gw_job_run_step(struct gw_jobs *j, struct job *job);

#endif
