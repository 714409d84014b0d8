/* SPDX-License-Identifier: Apache-2.0 */
/* Enrolment and renewal jobs: persisted state machines run by one worker
 * thread, and the auto_renew scheduler. See gw_jobs.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "authorities/authority_vero.h"
#include "gw.h"
#include "gw_admit.h"
#include "gw_audit.h"
#include "gw_jobs.h"
#include "gw_metrics.h"
#include "gw_snapshot.h"
#include "gw_token.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"
#include "sg_secret.h"

#define JOB_FILE_MAX	(64 * 1024)
#define MAX_JOBS	1024
#define LABEL_MAX	(SG_CONFIG_NAME_MAX + 32)
#define DAY		86400
/* A certificate's notBefore may be this far ahead of our clock. */
#define CLOCK_SKEW_S	300
/* Renewal attempts that did not reach the authority, before giving up. */
#define RENEW_ATTEMPTS	5

enum job_step {
	STEP_START = 0,		/* nothing sent yet */
	STEP_SIGN_NEW_SENT,	/* SignNew persisted as sent: never send again */
	STEP_POLLING,		/* GetCertificate until the certificate comes */
	STEP_SWITCHING,		/* renewal: certificate checked, moving labels */
	STEP_FINISHED
};

static const char *const step_names[] = { "start", "sign_new_sent", "polling", "switching",
	"finished" };

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

static int
terminal(const struct job *job)
{
	return strcmp(job->state, "done") == 0 || strcmp(job->state, "failed") == 0;
}

static void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->csr_b64);
	X509_free(job->cert);
	free(job->transfer_id);
	sg_free_secret_str(job->transfer_password);
	free(job);
}

/* state is one of the names in struct job's comment, all shorter than
 * the field; with j->lock held, or before anyone else sees the job. */
static void
put_state(struct job *job, const char *state)
{
	size_t n = strlen(state);

	if (n >= sizeof(job->state))
		n = sizeof(job->state) - 1;
	memcpy(job->state, state, n);
	job->state[n] = '\0';
}

/* The worker changes a running job's state under the lock: request
 * threads read it (active_job, gw_jobs_failures). */
static void
set_state(struct gw_jobs *j, struct job *job, const char *state)
{
	pthread_mutex_lock(&j->lock);
	put_state(job, state);
	pthread_mutex_unlock(&j->lock);
}

/* Readers (GET /v1/jobs, /readyz) copy the detail under j->lock; it is
 * written there too, whole. */
static void __attribute__((format(printf, 3, 4)))
set_detail(struct gw_jobs *j, struct job *job, const char *fmt, ...)
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

static time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* --- persistence --- */

static cJSON *
job_json(const struct job *job, int for_api)
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
	if (job->cert != NULL && (c = cJSON_AddObjectToObject(o, "certificate")) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(job->cert), name, sizeof(name));
		cJSON_AddStringToObject(c, "subject", name);
		X509_NAME_oneline(X509_get_issuer_name(job->cert), name, sizeof(name));
		cJSON_AddStringToObject(c, "issuer", name);
		if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(job->cert), NULL)) != NULL &&
		    (serial = BN_bn2hex(bn)) != NULL)
			cJSON_AddStringToObject(c, "serial", serial);
		time_text(asn1_time_t(X509_get0_notBefore(job->cert)), t, sizeof(t));
		cJSON_AddStringToObject(c, "not_before", t);
		time_text(asn1_time_t(X509_get0_notAfter(job->cert)), t, sizeof(t));
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
static int
job_save(struct gw_jobs *j, struct job *job)
{
	char path[4096];
	cJSON *o;
	char *text;
	int r;

	job->updated_at = time(NULL);
	if ((o = job_json(job, 0)) == NULL || (text = cJSON_PrintUnformatted(o)) == NULL) {
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

static struct job *
job_load(const char *path)
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
	job_free(job);
	return NULL;
}

static void
load_all(struct gw_jobs *j)
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
		    (job = job_load(path)) == NULL)
			continue;
		if (!terminal(job) && job->step == STEP_SIGN_NEW_SENT) {
			/* Sent, answer lost: the transfer credentials are
			 * single-use, so never send it again. */
			put_state(job, "failed");
			set_detail(j, job, "SignNewCertificate was sent but its answer was lost in a "
			    "restart; it is never sent again: ask the authority for new transfer "
			    "credentials and enrol again");
			job_save(j, job);
		} else if (!terminal(job)) {
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
static int
audit_job(struct gw_jobs *j, const struct job *job, const char *outcome, const char *error)
{
	struct sg_audit_entry e;
	const char *keys[] = { "job", "detail" };
	const char *values[2];
	int r;

	memset(&e, 0, sizeof(e));
	e.type = job->renew ? "renew" : "enroll";
	e.request_id = job->request_id[0] != '\0' ? job->request_id : NULL;
	e.client = job->client[0] != '\0' ? job->client : NULL;
	e.identity = job->identity;
	e.outcome = outcome;
	e.error = error;
	values[0] = job->id;
	values[1] = job->detail;
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = 2;
	if ((r = gw_audit_append(j->gw, &e)) != 0)
		sg_error("audit: cannot record job %s", job->id);
	return r;
}
/* --- steps --- */

/* What a step needs from the current configuration and token. */
struct step_ctx {
	struct gw_snapshot *snap;
	const struct gw_identity *id;
	struct gw_vero *vero;
};

static void
step_ctx_free(struct gw_jobs *j, struct step_ctx *c)
{
	gw_vero_free(c->vero);
	if (c->snap != NULL)
		gw_snapshot_put(j->gw, c->snap);
	memset(c, 0, sizeof(*c));
}

static int
step_ctx_get(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->snap = gw_snapshot_get(j->gw);
	if ((c->id = gw_snapshot_identity(c->snap, job->identity)) == NULL ||
	    c->id->cfg->issuer == NULL) {
		set_detail(j, job, "identity %s is no longer configured with an issuer", job->identity);
		return SG_ERR_NOT_FOUND;
	}
	if ((r = gw_vero_new(c->id->cfg->issuer, &c->vero)) != 0) {
		set_detail(j, job, "the %s adapter cannot be set up: %s", c->id->cfg->issuer->name,
		    sg_strerror(r));
		return r;
	}
	return 0;
}

static void
job_fail(struct gw_jobs *j, struct job *job, const char *error)
{
	set_state(j, job, "failed");
	job->step = STEP_FINISHED;
	sg_error("job %s (%s %s) failed: %s", job->id, job->renew ? "renew" : "enroll",
	    job->identity, job->detail);
	job_save(j, job);
	audit_job(j, job, "error", error);
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
			set_detail(j, job, "no RSA-2048 key could be made under %s: %s", label,
			    sg_strerror(r));
			return r;
		}
		sg_info("job %s: generated RSA-2048 key %s on the token", job->id, label);
		return 0;
	}
	if (r != 0) {
		set_detail(j, job, "key %s: %s", label, sg_strerror(r));
		return r;
	}
	if (strcmp(sgp11_keyspec_name(sgp11_key_spec(*keyp)), "rsa:2048") != 0 ||
	    sgp11_key_get0_cert(*keyp) != NULL) {
		set_detail(j, job, "key %s is not a fresh RSA-2048 key (the service takes only those)",
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
		set_detail(j, job, "the CSR could not be signed on the token: %s", sg_strerror(r));
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

static void
wait_authority(struct gw_jobs *j, struct job *job, unsigned int interval_s)
{
	unsigned int factor = job->polls < 3 ? job->polls + 1 : 3;

	set_state(j, job, "waiting_authority");
	job->next_at = time(NULL) + (time_t)interval_s * factor;
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
		set_detail(j, job, "%s", waiting);
		job_save(j, job);
	}
}

/* The answer to SignNew or Renew: a RetrievalId to poll, or the end. */
static void
await_certificate(struct gw_jobs *j, struct job *job, const struct step_ctx *c,
    const struct gw_vero_result *res, const char *operation)
{
	if (!res->ok || res->retrieval_id[0] == '\0') {
		set_detail(j, job, "%s refused: %s%s%s", operation, res->ok ? "no RetrievalId" :
		    res->error_code, res->ok ? "" : ": ", res->ok ? "" : res->error_message);
		job_fail(j, job, "authority_error");
		return;
	}
	memcpy(job->retrieval_id, res->retrieval_id, sizeof(job->retrieval_id));
	job->step = STEP_POLLING;
	job->polls = 0;
	set_detail(j, job, "waiting for the certificate (retrieval id %s)", job->retrieval_id);
	wait_authority(j, job, c->id->cfg->issuer->vero.poll_interval_s);
	job_save(j, job);
}

/* SignNewCertificate, once. */
static void
step_enroll_start(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	struct sgp11_key *key = NULL;
	struct gw_vero_result res;
	X509_REQ *csr = NULL;
	char why[300];
	int r;

	memset(&res, 0, sizeof(res));
	if (job->transfer_password == NULL) {
		set_detail(j, job, "the transfer credentials are gone (restart before sending); enrol "
		    "again");
		job_fail(j, job, "invalid_request");
		goto out;
	}
	if ((r = new_key(j, job, job->new_label, &key)) != 0 ||
	    (r = make_csr(j, job, c->id->cfg, key, &csr)) != 0) {
		if (r == SG_ERR_TOKEN_LOST)
			wait_token(j, job, c, r);
		else
			job_fail(j, job, "token_unavailable");
		goto out;
	}
	/* Persisted as sent before it is: never sent twice. */
	job->step = STEP_SIGN_NEW_SENT;
	set_detail(j, job, "SignNewCertificate sent");
	if (job_save(j, job) != 0) {
		set_detail(j, job, "the job could not be saved; nothing was sent");
		job_fail(j, job, "internal");
		goto out;
	}
	r = gw_vero_sign_new(c->vero, c->id->cfg, job->transfer_id, job->transfer_password, csr,
	    &res, why, sizeof(why));
	sg_free_secret_str(job->transfer_password);
	job->transfer_password = NULL;
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r != 0) {
		set_detail(j, job, "%s; SignNewCertificate is never resent: ask for new transfer "
		    "credentials", why);
		job_fail(j, job, r == SG_ERR_TIMEOUT ? "authority_timeout" : "authority_error");
		goto out;
	}
	await_certificate(j, job, c, &res, "SignNewCertificate");
out:
	gw_vero_result_free(&res);
	X509_REQ_free(csr);
	sgp11_key_free(key);
}

/* RenewCertificate: new key under the staged label, signed with the
 * current one. Sent again after a failure (it carries no secret). */
static void
step_renew_start(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	struct sgp11_key *key = NULL;
	struct gw_vero_result res;
	X509_REQ *csr = NULL;
	char why[300];
	int r;

	memset(&res, 0, sizeof(res));
	if (c->id->key == NULL || c->id->cert == NULL) {
		set_detail(j, job, "identity %s has no key with a certificate to renew", job->identity);
		job_fail(j, job, "conflict");
		goto out;
	}
	if (c->id->not_after <= time(NULL)) {
		set_detail(j, job, "the certificate has expired; only a new enrolment helps");
		job_fail(j, job, "certificate_expired");
		goto out;
	}
	if ((r = new_key(j, job, job->new_label, &key)) != 0 ||
	    (r = make_csr(j, job, c->id->cfg, key, &csr)) != 0) {
		if (r == SG_ERR_TOKEN_LOST)
			wait_token(j, job, c, r);
		else
			job_fail(j, job, "token_unavailable");
		goto out;
	}
	job_save(j, job);
	r = gw_vero_renew(c->vero, c->id->cfg, csr, c->id->key, c->id->cert, &res, why, sizeof(why));
	if (r == SG_ERR_TOKEN_LOST) {
		/* The request was not signed, so nothing was sent. */
		wait_token(j, job, c, r);
		goto out;
	}
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r != 0) {
		if (++job->attempts >= RENEW_ATTEMPTS) {
			set_detail(j, job, "%s (gave up after %u attempts)", why, job->attempts);
			job_fail(j, job, "authority_error");
			goto out;
		}
		set_detail(j, job, "%s; trying again", why);
		set_state(j, job, "waiting_authority");
		job->next_at = time(NULL) + (time_t)c->id->cfg->issuer->vero.poll_interval_s *
		    (1 << job->attempts);
		job_save(j, job);
		goto out;
	}
	await_certificate(j, job, c, &res, "RenewCertificate");
out:
	gw_vero_result_free(&res);
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
		set_detail(j, job, "the issued certificate is not for the new key");
		return SG_ERR_KEY_MISMATCH;
	}
	if (job->renew && id->cert != NULL &&
	    X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_issuer_name(id->cert)) != 0) {
		set_detail(j, job, "the issued certificate comes from another issuer than the current one");
		return SG_ERR_CRYPTO;
	}
	if (asn1_time_t(X509_get0_notBefore(cert)) > now + CLOCK_SKEW_S ||
	    asn1_time_t(X509_get0_notAfter(cert)) <= now) {
		set_detail(j, job, "the issued certificate is not valid now");
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
	set_detail(j, job, "%s", what);
	job->step = STEP_FINISHED;
	set_state(j, job, "done");
	job_save(j, job);
	audit_job(j, job, "ok", NULL);
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
		set_detail(j, job, "switching keys failed: %s (resumed at the next start)",
		    sg_strerror(r));
		sg_error("job %s: %s", job->id, job->detail);
		job->next_at = time(NULL) + 60;
		job_save(j, job);
		return;
	}
	finish(j, job, "renewed: the new key and certificate are in use; the old key is kept "
	    "under its retired label until an officer retires it");
}

static void
step_poll(struct gw_jobs *j, struct job *job, struct step_ctx *c)
{
	const struct sg_vero_settings *vs = &c->id->cfg->issuer->vero;
	struct sgp11_key *key = NULL;
	struct gw_vero_result res;
	char why[300];
	int r;

	memset(&res, 0, sizeof(res));
	r = gw_vero_get(c->vero, c->id->cfg, job->retrieval_id, &res, why, sizeof(why));
	gw_metrics_authority(j->gw->metrics, c->id->cfg->issuer->name, r == 0 && res.ok ? "ok" :
	    "error");
	if (r == 0 && !res.ok) {
		set_detail(j, job, "GetCertificate refused: %s: %s", res.error_code, res.error_message);
		job_fail(j, job, "authority_error");
		goto out;
	}
	if (r != 0 || res.certificate == NULL) {
		if (++job->polls >= vs->poll_max) {
			set_detail(j, job, "no certificate after %u polls%s%s", job->polls,
			    r != 0 ? ": " : "", r != 0 ? why : "");
			job_fail(j, job, "authority_timeout");
			goto out;
		}
		set_detail(j, job, "certificate not ready yet (poll %u of %u)%s%s", job->polls,
		    vs->poll_max, r != 0 ? ": " : "", r != 0 ? why : "");
		wait_authority(j, job, vs->poll_interval_s);
		job_save(j, job);
		goto out;
	}
	if ((r = sgp11_key_find(j->gw->token, job->new_label, &key)) != 0) {
		set_detail(j, job, "the new key %s is gone: %s", job->new_label, sg_strerror(r));
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
			set_detail(j, job, "the certificate could not be stored on the token: %s",
			    sg_strerror(r));
			job_fail(j, job, "token_unavailable");
			goto out;
		}
		finish(j, job, "enrolled: the certificate is stored next to its key");
		goto out;
	}
	job->step = STEP_SWITCHING;
	set_state(j, job, "running");
	set_detail(j, job, "switching to the new key");
	job_save(j, job);
	step_switch(j, job, c->id);
out:
	gw_vero_result_free(&res);
	sgp11_key_free(key);
}

static void
run_step(struct gw_jobs *j, struct job *job)
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
		set_state(j, job, "running");
		if (job->renew)
			step_renew_start(j, job, &c);
		else
			step_enroll_start(j, job, &c);
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

/* --- queueing --- */

static struct job *
active_job(struct gw_jobs *j, const char *identity)
{
	size_t i;

	for (i = 0; i < j->n_jobs; i++) {
		if (!terminal(j->jobs[i]) && strcmp(j->jobs[i]->identity, identity) == 0)
			return j->jobs[i];
	}
	return NULL;
}

/* Drop job i and its file (lock held). */
static void
forget(struct gw_jobs *j, size_t i)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s.json", j->dir, j->jobs[i]->id) < (int)sizeof(path))
		unlink(path);
	job_free(j->jobs[i]);
	j->jobs[i] = j->jobs[--j->n_jobs];
}

/* Drop the oldest finished job (memory and file) to make room. */
static int
make_room(struct gw_jobs *j)
{
	size_t i, oldest = MAX_JOBS;

	if (j->n_jobs < MAX_JOBS)
		return 0;
	for (i = 0; i < j->n_jobs; i++) {
		if (terminal(j->jobs[i]) && (oldest == MAX_JOBS ||
		    j->jobs[i]->updated_at < j->jobs[oldest]->updated_at))
			oldest = i;
	}
	if (oldest == MAX_JOBS)
		return SG_ERR_BUSY;
	forget(j, oldest);
	return 0;
}

/* Make a job's first entry durable before it may run; when the log does
 * not take it, the job never was (lock held, job the newest queued). */
static int
audit_start(struct gw_jobs *j, struct job *job, char *why, size_t whylen)
{
	if (audit_job(j, job, "ok", NULL) == 0)
		return 0;
	forget(j, j->n_jobs - 1);
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
	put_state(job, "queued");
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
		job_free(job);
		return SG_ERR_TOO_LARGE;
	}
	job->created_at = job->next_at = now;
	if ((r = job_save(j, job)) != 0) {
		job_free(job);
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
		put_state(job, "failed");
		sg_msg(job->detail, sizeof(job->detail), "out of memory");	/* lock held */
		job_save(j, job);
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
	    (job = job_load(path)) != NULL)
		o = job_json(job, 1);
	job_free(job);
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

			if (terminal(job))
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
		run_step(j, due);
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
	load_all(j);
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
		job_free(j->jobs[i]);
	free(j->dir);
	free(j);
}
