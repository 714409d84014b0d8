/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate enrolment and renewal jobs for identities with an issuer
 * (a vero-certservice authority): kept as one JSON file each in the jobs
 * directory (written atomically before every step that talks to the
 * authority, so a restart resumes them), run one at a time by a worker
 * thread that also renews identities with auto_renew inside their
 * window. The transfer password lives in memory only, for the one
 * SignNewCertificate call. */
#ifndef GW_JOBS_H
#define GW_JOBS_H

#include <stddef.h>
#include <time.h>

struct gw;
struct gw_jobs;
struct cJSON;

/* Job ids: 32 lower-case hex digits. */
#define GW_JOB_ID_LEN 32

/* Load the jobs kept in dir (made 0700 when missing) and start the
 * worker. Jobs cut short by a stop or crash resume, except a
 * SignNewCertificate whose answer never came: that one fails, since the
 * transfer credentials are single-use. */
int gw_jobs_start(struct gw *gw, const char *dir, struct gw_jobs **jp);
/* Stop the worker (between steps) and free everything. NULL is fine. */
void gw_jobs_stop(struct gw_jobs *j);

/* Queue an enrolment of identity for client (its request_id): both go into
 * every audit entry of the job, whose first entry is durable before it
 * runs. SG_ERR_CONFLICT (with why) when the identity has no issuer,
 * already has a certificate or a job under way; SG_ERR_NOT_FOUND for an
 * unknown identity; SG_ERR_AUDIT when the log does not take the entry
 * (nothing is done). id_out gets the job id. */
int gw_jobs_enroll(struct gw_jobs *j, const char *identity, const char *transfer_id,
    const char *transfer_password, const char *client, const char *request_id, char *id_out,
    char *why, size_t whylen);
/* Queue a renewal. SG_ERR_CONFLICT outside the renewal window or with a
 * job under way, SG_ERR_CERT_EXPIRED when the certificate has expired
 * (only a new enrolment helps then), SG_ERR_NOT_FOUND. */
int gw_jobs_renew(struct gw_jobs *j, const char *identity, const char *client,
    const char *request_id, char *id_out, char *why, size_t whylen);
/* The job as GET /v1/jobs/{id} answers it (new cJSON object; README.md,
 * "Certificates from the Vero service"), or NULL when there is no such job. */
struct cJSON *gw_jobs_describe(struct gw_jobs *j, const char *id);
/* For /readyz: one line per identity whose latest renewal failed, into a
 * new cJSON object {identity: detail}, or NULL when there is none. */
struct cJSON *gw_jobs_failures(struct gw_jobs *j);
/* For /readyz: every enrolment whose certificate waits to be collected
 * (state collect_pending), as a new cJSON object {identity: {"job",
 * "retrieval_id", "detail"}}, or NULL when there is none. */
struct cJSON *gw_jobs_collect_pending(struct gw_jobs *j);
/* An officer (client, in request request_id) resumes the polling of a
 * collect_pending job: GetCertificate again with its RetrievalId, a full
 * poll_max budget, never a new SignNewCertificate. The entry saying so is
 * durable first. SG_ERR_NOT_FOUND (no such job), SG_ERR_CONFLICT (the job
 * is in another state), SG_ERR_AUDIT (the log does not take the entry:
 * nothing changes), with why. state_out (20 bytes) gets the new state. */
int gw_jobs_resume(struct gw_jobs *j, const char *id, const char *client, const char *request_id,
    char *state_out, size_t state_len, char *why, size_t whylen);
/* The officer gives a collect_pending job up: it fails ("abandoned"),
 * its identity may enrol again (with new transfer codes: the ordered
 * certificate is never collected). The same errors and entry as resume. */
int gw_jobs_abandon(struct gw_jobs *j, const char *id, const char *client, const char *request_id,
    char *state_out, size_t state_len, char *why, size_t whylen);

#endif
