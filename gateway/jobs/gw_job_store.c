/* SPDX-License-Identifier: Apache-2.0 */
/* The job records: their state and detail (changed under the list's
 * lock, since request threads read them), one JSON file each in the jobs
 * directory (written atomically; read back at start and for GET
 * /v1/jobs/{id}), and their entries in the audit log. gw_jobs_internal.h
 * has the contracts. */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "gw.h"
#include "gw_audit.h"
#include "gw_jobs_internal.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"
#include "sg_secret.h"

#define JOB_FILE_MAX	(64 * 1024)

static const char *const step_names[] = { "start", "sign_new_sent", "polling", "switching",
	"finished" };

int
gw_job_terminal(const struct job *job)
{
	return strcmp(job->state, "done") == 0 || strcmp(job->state, "failed") == 0;
}

int
gw_job_parked(const struct job *job)
{
	return strcmp(job->state, "collect_pending") == 0;
}

int
gw_job_set_errors(struct job *job, const struct gw_vero_result *res)
{
	free(job->errors);
	job->errors = NULL;
	job->n_errors = job->n_errors_total = 0;
	if (res->n_errors == 0)
		return 0;
	if ((job->errors = calloc(res->n_errors, sizeof(*job->errors))) == NULL)
		return SG_ERR_ALLOC;
	memcpy(job->errors, res->errors, res->n_errors * sizeof(*job->errors));
	job->n_errors = res->n_errors;
	job->n_errors_total = res->n_errors_total;
	return 0;
}

void
gw_job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->errors);
	free(job->csr_b64);
	X509_free(job->cert);
	free(job->transfer_id);
	sg_free_secret_str(job->transfer_password);
	free(job);
}

/* state is one of the names in struct job's comment, all shorter than
 * the field; with j->lock held, or before anyone else sees the job. */
void
gw_job_put_state(struct job *job, const char *state)
{
	size_t n = strlen(state);

	if (n >= sizeof(job->state))
		n = sizeof(job->state) - 1;
	memcpy(job->state, state, n);
	job->state[n] = '\0';
}

/* The worker changes a running job's state under the lock: request
 * threads read it (active_job, gw_jobs_failures). */
void
gw_job_set_state(struct gw_jobs *j, struct job *job, const char *state)
{
	pthread_mutex_lock(&j->lock);
	gw_job_put_state(job, state);
	pthread_mutex_unlock(&j->lock);
}

/* Readers (GET /v1/jobs, /readyz) copy the detail under j->lock; it is
 * written there too, whole. */
void
gw_job_set_detail(struct gw_jobs *j, struct job *job, const char *fmt, ...)
{
	char text[sizeof(job->detail)];
	va_list ap;

	va_start(ap, fmt);
	/* A detail is a message: cut to fit is fine. */
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	pthread_mutex_lock(&j->lock);
	memcpy(job->detail, text, sizeof(text));
	pthread_mutex_unlock(&j->lock);
}

static void
time_text(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t
gw_job_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The job's ErrorInfo copies as [{"code","message"}], or NULL. */
static cJSON *
errors_json(const struct job *job)
{
	cJSON *a = cJSON_CreateArray(), *e;
	size_t i;

	for (i = 0; a != NULL && i < job->n_errors; i++) {
		if ((e = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(e, "code", job->errors[i].code) == NULL ||
		    cJSON_AddStringToObject(e, "message", job->errors[i].message) == NULL) {
			cJSON_Delete(e);
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

/* The job file's authority_errors back into the job (at most
 * GW_VERO_ERRORS_MAX, each cut to its bounds). */
static int
load_errors(struct job *job, const cJSON *o)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "authority_errors"), *e, *more;
	struct gw_vero_result res;
	int n;

	memset(&res, 0, sizeof(res));
	if (a == NULL)
		return 0;
	if (!cJSON_IsArray(a) || (n = cJSON_GetArraySize(a)) > GW_VERO_ERRORS_MAX)
		return SG_ERR_PARSE;
	cJSON_ArrayForEach(e, a) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

		if (!cJSON_IsString(code) || !cJSON_IsString(msg))
			return SG_ERR_PARSE;
		sg_msg(res.errors[res.n_errors].code, sizeof(res.errors[0].code), "%s", code->valuestring);
		sg_msg(res.errors[res.n_errors].message, sizeof(res.errors[0].message), "%s",
		    msg->valuestring);
		res.n_errors++;
	}
	res.n_errors_total = res.n_errors;
	more = cJSON_GetObjectItemCaseSensitive(o, "authority_errors_more");
	if (cJSON_IsNumber(more) && more->valuedouble > 0 && more->valuedouble < 1e6)
		res.n_errors_total += (size_t)more->valuedouble;
	return gw_job_set_errors(job, &res);
}

cJSON *
gw_job_json(const struct job *job, int for_api)
{
	cJSON *o = cJSON_CreateObject(), *c;
	char t[32], name[256];
	BIGNUM *bn = NULL;
	char *serial = NULL;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "job", job->id);
	cJSON_AddStringToObject(o, "type", job->renew ? "renew" : "enroll");
	cJSON_AddStringToObject(o, "identity", job->identity);
	cJSON_AddStringToObject(o, "state", job->state);
	cJSON_AddStringToObject(o, "detail", job->detail);
	if (job->client[0] != '\0')
		cJSON_AddStringToObject(o, "client", job->client);
	if (job->request_id[0] != '\0')
		cJSON_AddStringToObject(o, "request_id", job->request_id);
	if (job->retrieval_id[0] != '\0')
		cJSON_AddStringToObject(o, "retrieval_id", job->retrieval_id);
	if (job->n_errors > 0 && (c = errors_json(job)) != NULL) {
		cJSON_AddItemToObject(o, "authority_errors", c);
		if (job->n_errors_total > job->n_errors)
			cJSON_AddNumberToObject(o, "authority_errors_more",
			    (double)(job->n_errors_total - job->n_errors));
	}
	if (job->cert != NULL && (c = cJSON_AddObjectToObject(o, "certificate")) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(job->cert), name, sizeof(name));
		cJSON_AddStringToObject(c, "subject", name);
		X509_NAME_oneline(X509_get_issuer_name(job->cert), name, sizeof(name));
		cJSON_AddStringToObject(c, "issuer", name);
		if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(job->cert), NULL)) != NULL &&
		    (serial = BN_bn2hex(bn)) != NULL)
			cJSON_AddStringToObject(c, "serial", serial);
		time_text(gw_job_asn1_time(X509_get0_notBefore(job->cert)), t, sizeof(t));
		cJSON_AddStringToObject(c, "not_before", t);
		time_text(gw_job_asn1_time(X509_get0_notAfter(job->cert)), t, sizeof(t));
		cJSON_AddStringToObject(c, "not_after", t);
	}
	time_text(job->updated_at, t, sizeof(t));
	cJSON_AddStringToObject(o, "updated_at", t);
	if (!for_api) {
		unsigned char *der = NULL;
		char *b64 = NULL;
		int len;

		cJSON_AddStringToObject(o, "step", step_names[job->step]);
		cJSON_AddStringToObject(o, "issuer", job->issuer);
		cJSON_AddStringToObject(o, "new_label", job->new_label);
		cJSON_AddStringToObject(o, "retired_label", job->retired_label);
		if (job->csr_b64 != NULL)
			cJSON_AddStringToObject(o, "csr", job->csr_b64);
		cJSON_AddNumberToObject(o, "polls", job->polls);
		cJSON_AddNumberToObject(o, "attempts", job->attempts);
		cJSON_AddNumberToObject(o, "next_at", (double)job->next_at);
		cJSON_AddNumberToObject(o, "created_at", (double)job->created_at);
		cJSON_AddNumberToObject(o, "updated_at_s", (double)job->updated_at);
		if (job->cert != NULL && (len = i2d_X509(job->cert, &der)) > 0 &&
		    sg_b64_encode(der, (size_t)len, SG_B64_STD, &b64) == 0)
			cJSON_AddStringToObject(o, "certificate_der", b64);
		OPENSSL_free(der);
		free(b64);
	}
	OPENSSL_free(serial);
	BN_free(bn);
	return o;
}

/* Write the job's file durably; the worker calls this before each step
 * that talks to the authority. */
int
gw_job_save(struct gw_jobs *j, struct job *job)
{
	char path[4096];
	cJSON *o;
	char *text;
	int r;

	job->updated_at = time(NULL);
	if ((o = gw_job_json(job, 0)) == NULL || (text = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return SG_ERR_ALLOC;
	}
	if (snprintf(path, sizeof(path), "%s/%s.json", j->dir, job->id) >= (int)sizeof(path))
		r = SG_ERR_TOO_LARGE;
	else
		r = sg_file_write_atomic(path, text, strlen(text), 0600);
	if (r != 0)
		sg_error("job %s: cannot save %s: %s", job->id, path, sg_strerror(r));
	cJSON_free(text);
	cJSON_Delete(o);
	return r;
}

static const char *
json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
json_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int
copy_str(char *dst, size_t dstlen, const char *src)
{
	if (src == NULL || strlen(src) >= dstlen)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

struct job *
gw_job_load(const char *path)
{
	unsigned char *data = NULL, *der = NULL;
	const unsigned char *p;
	size_t len = 0, der_len = 0, i;
	cJSON *o = NULL;
	struct job *job = NULL;
	const char *s;

	if (sg_file_read(path, JOB_FILE_MAX, &data, &len) != 0 ||
	    (o = cJSON_ParseWithLength((const char *)data, len)) == NULL ||
	    (job = calloc(1, sizeof(*job))) == NULL)
		goto bad;
	if (copy_str(job->id, sizeof(job->id), json_str(o, "job")) != 0 ||
	    copy_str(job->identity, sizeof(job->identity), json_str(o, "identity")) != 0 ||
	    copy_str(job->state, sizeof(job->state), json_str(o, "state")) != 0 ||
	    copy_str(job->detail, sizeof(job->detail), json_str(o, "detail")) != 0 ||
	    copy_str(job->new_label, sizeof(job->new_label), json_str(o, "new_label")) != 0 ||
	    copy_str(job->retired_label, sizeof(job->retired_label),
	    json_str(o, "retired_label")) != 0 || (s = json_str(o, "type")) == NULL ||
	    (s = json_str(o, "step")) == NULL)
		goto bad;
	job->renew = strcmp(json_str(o, "type"), "renew") == 0;
	for (i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++) {
		if (strcmp(s, step_names[i]) == 0)
			job->step = (enum job_step)i;
	}
	if ((s = json_str(o, "issuer")) != NULL)
		copy_str(job->issuer, sizeof(job->issuer), s);
	if ((s = json_str(o, "client")) != NULL)
		copy_str(job->client, sizeof(job->client), s);
	if ((s = json_str(o, "request_id")) != NULL)
		copy_str(job->request_id, sizeof(job->request_id), s);
	if ((s = json_str(o, "retrieval_id")) != NULL)
		copy_str(job->retrieval_id, sizeof(job->retrieval_id), s);
	if ((s = json_str(o, "csr")) != NULL && (job->csr_b64 = strdup(s)) == NULL)
		goto bad;
	if (load_errors(job, o) != 0)
		goto bad;
	if ((s = json_str(o, "certificate_der")) != NULL &&
	    sg_b64_decode(s, strlen(s), SG_B64_STD, &der, &der_len) == 0) {
		p = der;
		job->cert = d2i_X509(NULL, &p, (long)der_len);
	}
	job->polls = (unsigned int)json_num(o, "polls");
	job->attempts = (unsigned int)json_num(o, "attempts");
	job->next_at = (time_t)json_num(o, "next_at");
	job->created_at = (time_t)json_num(o, "created_at");
	job->updated_at = (time_t)json_num(o, "updated_at_s");
	free(der);
	free(data);
	cJSON_Delete(o);
	return job;
bad:
	sg_error("job file %s is unreadable; left as it is", path);
	free(der);
	free(data);
	cJSON_Delete(o);
	gw_job_free(job);
	return NULL;
}

void
gw_job_load_all(struct gw_jobs *j)
{
	DIR *d = opendir(j->dir);
	struct dirent *de;
	char path[4096];
	struct job *job;
	size_t len;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && j->n_jobs < MAX_JOBS) {
		len = strlen(de->d_name);
		if (len != GW_JOB_ID_LEN + 5 || strcmp(de->d_name + GW_JOB_ID_LEN, ".json") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", j->dir, de->d_name) >= (int)sizeof(path) ||
		    (job = gw_job_load(path)) == NULL)
			continue;
		if (!gw_job_terminal(job) && job->step == STEP_SIGN_NEW_SENT) {
			/* Sent, answer lost: the transfer credentials are
			 * single-use, so never send it again. */
			gw_job_put_state(job, "failed");
			gw_job_set_detail(j, job, "SignNewCertificate was sent but its answer was lost in a "
			    "restart; it is never sent again: ask the authority for new transfer "
			    "credentials and enrol again");
			gw_job_save(j, job);
		} else if (gw_job_parked(job)) {
			sg_info("job %s (enroll %s) waits for an officer to resume the collection of "
			    "retrieval id %s", job->id, job->identity, job->retrieval_id);
		} else if (!gw_job_terminal(job)) {
			sg_info("job %s (%s %s) resumes at step %s", job->id,
			    job->renew ? "renew" : "enroll", job->identity, step_names[job->step]);
		}
		j->jobs[j->n_jobs++] = job;
	}
	closedir(d);
}

/* --- the audit --- */

/* The job's entry in the audit log. 0 when durable: a job starts only
 * after its first entry is (see gw_jobs_enroll), as a signature leaves
 * only after its own. */
int
gw_job_audit_by(struct gw_jobs *j, const struct job *job, const char *outcome, const char *error,
    const char *client, const char *request_id)
{
	struct sg_audit_entry e;
	const char *keys[] = { "job", "state", "detail", "authority_errors" };
	const char *values[4];
	cJSON *errors = NULL;
	char *errors_text = NULL;
	int r;

	memset(&e, 0, sizeof(e));
	e.type = job->renew ? "renew" : "enroll";
	e.request_id = request_id != NULL && request_id[0] != '\0' ? request_id : NULL;
	e.client = client != NULL && client[0] != '\0' ? client : NULL;
	e.identity = job->identity;
	e.outcome = outcome;
	e.error = error;
	values[0] = job->id;
	values[1] = job->state;
	values[2] = job->detail;
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = 3;
	/* Every ErrorInfo of the last answer, as the job shows them. */
	if (job->n_errors > 0) {
		if ((errors = errors_json(job)) == NULL ||
		    (errors_text = cJSON_PrintUnformatted(errors)) == NULL) {
			cJSON_Delete(errors);
			sg_error("audit: cannot record job %s: out of memory", job->id);
			return SG_ERR_ALLOC;
		}
		values[3] = errors_text;
		e.n_extra = 4;
	}
	if ((r = gw_audit_append(j->gw, &e)) != 0)
		sg_error("audit: cannot record job %s", job->id);
	cJSON_free(errors_text);
	cJSON_Delete(errors);
	return r;
}

int
gw_job_audit(struct gw_jobs *j, const struct job *job, const char *outcome, const char *error)
{
	return gw_job_audit_by(j, job, outcome, error, job->client, job->request_id);
}

/* Drop job i and its file (lock held). */
void
gw_job_forget(struct gw_jobs *j, size_t i)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s.json", j->dir, j->jobs[i]->id) < (int)sizeof(path))
		unlink(path);
	gw_job_free(j->jobs[i]);
	j->jobs[i] = j->jobs[--j->n_jobs];
}
