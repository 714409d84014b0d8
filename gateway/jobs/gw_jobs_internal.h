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
	char state[20];			/* queued running waiting_authority done failed */
	enum job_step step;
	char detail[300];
	char new_label[LABEL_MAX];	/* where the new key lives until done */
	char retired_label[LABEL_MAX];	/* renewal: where the old key goes */
	char retrieval_id[33];
	char *csr_b64;
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
 * code or NULL). 0 when it is durable, else the error (logged). */
int gw_job_audit(struct gw_jobs *j, const struct job *job, const char *outcome,
    const char *error);
/* Drop job i of j->jobs and its file (lock held); the last job takes its
 * place. */
void gw_job_forget(struct gw_jobs *j, size_t i);

/* --- the steps (gw_job_steps.c) --- */

/* Run the job's next step under the current snapshot (worker thread,
 * lock not held): it ends saved in its next state, waiting (next_at),
 * done or failed, with its audit entry when it ends. */
void gw_job_run_step(struct gw_jobs *j, struct job *job);

#endif
