/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration snapshots: a loaded config with its identities' keys found
 * on the token, reference-counted so that a reload (SIGHUP) or a token
 * recovery publishes a new one while requests finish on the old. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "authorities/authority.h"
#include "gw.h"
#include "gw_audit.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_tls.h"
#include "gw_token.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"

/* Discovery reuses what an adapter learned no longer ago than this. */
#define DISCOVER_MAX_AGE_S	(24 * 3600)

static time_t
cert_not_after(X509 *cert)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void
cert_serial_hex(X509 *cert, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	if (hex == NULL || snprintf(out, outlen, "%s", hex) >= (int)outlen)
		out[0] = '\0';
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The certificate as answers carry it (base64 of its DER), encoded once:
 * it is the key's and stays the same for the snapshot's life. */
static int
cert_base64(X509 *cert, char **b64p)
{
	unsigned char *der = NULL;
	int der_len, r;

	*b64p = NULL;
	if ((der_len = i2d_X509(cert, &der)) <= 0)
		return SG_ERR_CRYPTO;
	r = sg_b64_encode(der, (size_t)der_len, SG_B64_STD, b64p);
	OPENSSL_free(der);
	return r;
}

static void
snapshot_free(struct gw_snapshot *snap)
{
	size_t i;

	if (snap == NULL)
		return;
	for (i = 0; i < snap->n_ids; i++) {
		/* The adapter's connections hold the key: it goes first. */
		gw_authority_close(snap->ids[i].authority);
		sgp11_key_free(snap->ids[i].key);
		free(snap->ids[i].cert_b64);
		pthread_mutex_destroy(&snap->ids[i].ready_lock);
	}
	free(snap->ids);
	gw_tls_unref(snap->tls);
	for (i = 0; i < snap->n_tsas; i++)
		gw_authority_close(snap->tsas[i].authority);
	free(snap->tsas);
	sg_config_free(snap->cfg);
	free(snap);
}

/* The time-stamp authorities need no token and no identity: one adapter
 * each, whether the token is there or not. */
static int
open_tsas(struct gw_snapshot *snap, char *err, size_t errlen)
{
	const struct sg_config *cfg = snap->cfg;
	char why[256];
	size_t i, n = 0;
	int r;

	for (i = 0; i < cfg->n_authorities; i++)
		n += cfg->authorities[i].type == SG_AUTHORITY_RFC3161;
	if (n == 0)
		return 0;
	if ((snap->tsas = calloc(n, sizeof(*snap->tsas))) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < cfg->n_authorities; i++) {
		const struct sg_authority *a = &cfg->authorities[i];
		struct gw_tsa_slot *slot = &snap->tsas[snap->n_tsas];

		if (a->type != SG_AUTHORITY_RFC3161)
			continue;
		slot->cfg = a;
		if ((r = gw_authority_open(a, NULL, NULL, NULL, &slot->authority, why,
		    sizeof(why))) != 0) {
			sg_msg(err, errlen, "$.authorities['%s']: %s", a->name,
			    why[0] != '\0' ? why : sg_strerror(r));
			return r;
		}
		snap->n_tsas++;
	}
	return 0;
}

/* A snapshot of cfg (taken over, freed on failure too) with every
 * identity's key found on the token, and its TLS files read (or tls_from's
 * shared, when the files were read for the same text). */
static int
snapshot_build(struct gw *gw, struct sg_config *cfg, int strict, struct gw_tls *tls_from,
    struct gw_snapshot **snapp, char *err, size_t errlen)
{
	const struct gw_authority_ops *ops;
	struct gw_snapshot *snap = NULL;
	char why[256], bad[64];
	size_t i, j;
	int r;

	if ((snap = calloc(1, sizeof(*snap))) == NULL) {
		sg_config_free(cfg);
		return SG_ERR_ALLOC;
	}
	snap->refs = 1;
	snap->cfg = cfg;
	if ((snap->ids = calloc(cfg->n_identities + 1, sizeof(*snap->ids))) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	snap->n_ids = cfg->n_identities;
	for (i = 0; i < snap->n_ids; i++)
		pthread_mutex_init(&snap->ids[i].ready_lock, NULL);
	if (cfg->listen.tls != NULL && tls_from != NULL)
		snap->tls = gw_tls_ref(tls_from);
	else if (cfg->listen.tls != NULL &&
	    (r = gw_tls_load(cfg->listen.tls, &snap->tls, err, errlen)) != 0)
		goto out;
	if ((r = open_tsas(snap, err, errlen)) != 0)
		goto out;
	if (gw->token == NULL) {
		r = 0;
		goto done;
	}
	snap->token_generation = sgp11_generation(gw->token);
	for (i = 0; i < snap->n_ids; i++) {
		struct gw_identity *id = &snap->ids[i];

		id->cfg = &snap->cfg->identities[i];
		if (sgp11_uri_check(id->cfg->key_label, bad, sizeof(bad)) != 0) {
			sg_msg(err, errlen, "$.identities[%zu].key_label: bad PKCS#11 URI \"%s\": "
			    "attribute %s", i, id->cfg->key_label, bad);
			r = SG_ERR_CONFIG;
			goto out;
		}
		r = sgp11_key_find(gw->token, id->cfg->key_label, &id->key);
		if (r != 0) {
			/* An identity with an issuer gets its key when it is
			 * enrolled (POST /v1/identities/NAME/enroll). */
			if ((strict && id->cfg->issuer == NULL) || r != SG_ERR_KEY_NOT_FOUND) {
				sg_msg(err, errlen, "$.identities[%zu].key_label: key \"%s\": %s%s%s", i,
				    id->cfg->key_label, sg_strerror(r), sgp11_last_ckr() != 0 ? ", " : "",
				    sgp11_last_ckr() != 0 ? sgp11_ckr_name(sgp11_last_ckr()) : "");
				goto out;
			}
			if (id->cfg->issuer != NULL)
				sg_info("identity %s: not enrolled yet (no key \"%s\")", id->cfg->name,
				    id->cfg->key_label);
			else
				sg_warn("identity %s: key \"%s\" not on the token", id->cfg->name,
				    id->cfg->key_label);
			continue;
		}
		/* One key, one identity, whatever names it: a label and a
		 * PKCS#11 URI may both reach one object. */
		for (j = 0; j < i; j++) {
			if (snap->ids[j].key != NULL && sgp11_key_same(snap->ids[j].key, id->key)) {
				sg_msg(err, errlen, "$.identities[%zu].key_label: key \"%s\" is the key "
				    "of $.identities[%zu] (\"%s\"); one key, one identity", i,
				    id->cfg->key_label, j, snap->ids[j].cfg->key_label);
				r = SG_ERR_CONFIG;
				goto out;
			}
		}
		(void)sg_strfit(id->key_type, sizeof(id->key_type),
		    sgp11_keyspec_name(sgp11_key_spec(id->key)));	/* "rsa:4096" at most */
		if ((id->cert = sgp11_key_get0_cert(id->key)) != NULL) {
			id->not_after = cert_not_after(id->cert);
			cert_serial_hex(id->cert, id->cert_serial, sizeof(id->cert_serial));
			if ((r = cert_base64(id->cert, &id->cert_b64)) != 0) {
				sg_msg(err, errlen, "$.identities[%zu]: cannot encode the certificate "
				    "of key \"%s\": %s", i, id->cfg->key_label, sg_strerror(r));
				goto out;
			}
		}
		/* The identity's authority serves its use through the adapter
		 * its type's row opens. */
		ops = id->cfg->authority != NULL ? gw_authority_ops_find(id->cfg->authority->type) :
		    NULL;
		if (ops == NULL || (id->cfg->uses & ops->use) == 0)
			continue;
		if (id->cert == NULL)
			sg_warn("identity %s: %s", id->cfg->name, ops->without_cert);
		else if ((r = gw_authority_open(id->cfg->authority, gw->token, id->key, id->cert,
		    &id->authority, why, sizeof(why))) != 0) {
			sg_msg(err, errlen, "$.identities[%zu]: authority %s: %s", i,
			    id->cfg->authority->name, why[0] != '\0' ? why : sg_strerror(r));
			goto out;
		}
	}
 done:
	for (i = 0; i < snap->n_ids; i++)
		snap->ids[i].cfg = &snap->cfg->identities[i];
	*snapp = snap;
	snap = NULL;
	r = 0;
 out:
	snapshot_free(snap);
	return r;
}

int
gw_snapshot_load(struct gw *gw, const char *path, int strict, struct gw_snapshot **snapp,
    char *err, size_t errlen)
{
	struct sg_config *cfg = NULL;
	int r;

	*snapp = NULL;
	err[0] = '\0';
	if ((r = sg_config_load_file(path, &cfg, err, errlen)) != 0)
		return r;
	return snapshot_build(gw, cfg, strict, NULL, snapp, err, errlen);
}

int
gw_snapshot_rebuild(struct gw *gw, const struct gw_snapshot *from, struct gw_snapshot **snapp,
    char *err, size_t errlen)
{
	struct gw_snapshot *snap = NULL;
	struct sg_config *cfg = NULL;
	size_t i;
	int r;

	*snapp = NULL;
	err[0] = '\0';
	if ((r = sg_config_load_string(from->cfg->source, from->cfg->source_len,
	    from->cfg->base_dir, &cfg, err, errlen)) != 0 ||
	    (r = snapshot_build(gw, cfg, 0, from->tls, &snap, err, errlen)) != 0)
		return r;
	/* Same text, same identities in the same order. */
	for (i = 0; i < from->n_ids && i < snap->n_ids; i++) {
		if (from->ids[i].key != NULL && snap->ids[i].key == NULL) {
			sg_msg(err, errlen, "the key \"%s\" of identity %s is not on the token",
			    from->ids[i].cfg->key_label, from->ids[i].cfg->name);
			snapshot_free(snap);
			return SG_ERR_KEY_NOT_FOUND;
		}
	}
	*snapp = snap;
	return 0;
}

struct gw_snapshot *
gw_snapshot_get(struct gw *gw)
{
	struct gw_snapshot *snap;

	pthread_mutex_lock(&gw->snap_lock);
	snap = gw->snap;
	snap->refs++;
	pthread_mutex_unlock(&gw->snap_lock);
	return snap;
}

void
gw_snapshot_put(struct gw *gw, struct gw_snapshot *snap)
{
	int last;

	if (snap == NULL)
		return;
	pthread_mutex_lock(&gw->snap_lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&gw->snap_lock);
	if (last)
		snapshot_free(snap);
}

void
gw_snapshot_publish(struct gw *gw, struct gw_snapshot *snap)
{
	struct gw_snapshot *old;

	pthread_mutex_lock(&gw->snap_lock);
	old = gw->snap;
	gw->snap = snap;
	pthread_mutex_unlock(&gw->snap_lock);
	gw_snapshot_put(gw, old);
}

const struct gw_tsa_slot *
gw_snapshot_tsa(const struct gw_snapshot *snap, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < snap->n_tsas; i++) {
		if (strcmp(snap->tsas[i].cfg->name, name) == 0)
			return &snap->tsas[i];
	}
	return NULL;
}

const struct gw_identity *
gw_snapshot_identity(const struct gw_snapshot *snap, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < snap->n_ids; i++) {
		if (strcmp(snap->ids[i].cfg->name, name) == 0)
			return &snap->ids[i];
	}
	return NULL;
}

int
gw_identity_refusal(struct gw *gw, const struct gw_identity *id, int64_t window_ms,
    struct gw_response *resp)
{
	if (id->cert != NULL && id->not_after < time(NULL)) {
		gw_error_r(resp, SG_ERR_CERT_EXPIRED, "the certificate of %s has expired",
		    id->cfg->name);
		return 1;
	}
	if (gw_audit_failing(gw, window_ms)) {
		gw_error_r(resp, SG_ERR_AUDIT, "the audit log cannot be written");
		return 1;
	}
	return 0;
}

/* Settings a reload cannot change take effect only on restart. */
static void
warn_fixed_settings(const struct sg_config *old, const struct sg_config *new)
{
	if (strcmp(old->token.label, new->token.label) != 0 ||
	    (old->token.module == NULL) != (new->token.module == NULL) ||
	    (old->token.module != NULL && strcmp(old->token.module, new->token.module) != 0))
		sg_warn("token settings changed: they take effect on restart");
	if (strcmp(old->audit.dir, new->audit.dir) != 0)
		sg_warn("audit.dir changed: it takes effect on restart");
	if (strcmp(old->listen.address, new->listen.address) != 0 ||
	    old->listen.port != new->listen.port || old->listen.threads != new->listen.threads ||
	    old->listen.max_connections_per_peer != new->listen.max_connections_per_peer)
		sg_warn("listen settings changed: they take effect on restart");
	if ((old->listen.tls == NULL) != (new->listen.tls == NULL) ||
	    (old->listen.tls != NULL &&
	    (strcmp(old->listen.tls->priorities, new->listen.tls->priorities) != 0 ||
	    (old->listen.tls->client_ca_file == NULL) != (new->listen.tls->client_ca_file == NULL))))
		sg_warn("listen.tls: turning HTTPS or client certificates on or off, and the "
		    "priorities, take effect on restart");
}

/* After the token refused the PIN, a reload is the operator's way to give
 * another one: log in with the PIN the new configuration names (the
 * token layer will not present the refused one again). 1 when it took. */
static int
login_again(struct gw *gw, const struct sg_config *cfg)
{
	char *pin = NULL;
	int r;

	if (cfg->token.pin_file == NULL) {
		sg_error("the token refused the PIN; SEALGATE_PIN is read at start only: "
		    "restart, or name a token.pin_file");
		return 0;
	}
	if ((r = sg_secret_read_file(cfg->token.pin_file, &pin)) != 0) {
		sg_error_r(r, "%s", cfg->token.pin_file);
		return 0;
	}
	r = sgp11_login(gw->token, pin);
	sg_free_secret_str(pin);
	if (r != 0) {
		sg_error_r(r, "logging in with %s", cfg->token.pin_file);
		return 0;
	}
	sg_info("logged in with the PIN from %s", cfg->token.pin_file);
	return 1;
}

/* gw_reload with reload_lock held. */
static int
reload_locked(struct gw *gw, const char *reason)
{
	struct gw_snapshot *snap = NULL, *cur;
	struct sg_audit_entry e;
	char err[512];
	const char *extra_keys[] = { "detail" };
	const char *extra_values[1];
	char detail[700];
	int r;

	r = gw_snapshot_load(gw, gw->config_path, 0, &snap, err, sizeof(err));
	if (r == 0 && gw->token != NULL && sgp11_pin_refused(gw->token) &&
	    login_again(gw, snap->cfg)) {
		/* The keys are found again under the new login. */
		snapshot_free(snap);
		snap = NULL;
		r = gw_snapshot_load(gw, gw->config_path, 0, &snap, err, sizeof(err));
	}
	memset(&e, 0, sizeof(e));
	e.type = "config_load";
	e.outcome = r == 0 ? "ok" : "error";
	e.error = r == 0 ? NULL : "invalid_config";
	if (snprintf(detail, sizeof(detail), "%s: %s%s%s", reason, gw->config_path,
	    r == 0 ? "" : ": ", r == 0 ? "" : err) >= (int)sizeof(detail))
		detail[sizeof(detail) - 1] = '\0';
	extra_values[0] = detail;
	e.extra_keys = extra_keys;
	e.extra_values = extra_values;
	e.n_extra = 1;
	if (sg_audit_append(gw->audit, &e, NULL, NULL) != 0)
		sg_error("audit: cannot record the configuration load");
	if (r != 0) {
		gw_metrics_config_load(gw->metrics, "error");
		sg_error("reload (%s) refused, keeping the running configuration: %s", reason, err);
		goto out;
	}
	cur = gw_snapshot_get(gw);
	warn_fixed_settings(cur->cfg, snap->cfg);
	/* The listener serves HTTPS as it started: handshakes go on with
	 * the certificate they have until a restart turns HTTPS off. */
	if (snap->tls == NULL && cur->tls != NULL)
		snap->tls = gw_tls_ref(cur->tls);
	if (snap->tls != NULL && snap->tls != cur->tls)
		sg_info("listen.tls: the next handshakes present %s (serial %s)",
		    gw_tls_subject(snap->tls), gw_tls_serial(snap->tls));
	gw_snapshot_put(gw, cur);
	gw_snapshot_publish(gw, snap);
	snap = NULL;
	/* The reload may have brought the token back (a new PIN): find out
	 * before the load is counted, so what follows it sees the result. */
	gw_token_probe_locked(gw);
	gw_metrics_config_load(gw->metrics, "ok");
	sg_info("configuration loaded (%s)", reason);
 out:
	snapshot_free(snap);
	return r;
}

int
gw_reload(struct gw *gw, const char *reason)
{
	int r;

	pthread_mutex_lock(&gw->reload_lock);
	r = reload_locked(gw, reason);
	pthread_mutex_unlock(&gw->reload_lock);
	if (r == 0)
		gw_snapshot_discover(gw);
	return r;
}

void
gw_snapshot_discover(struct gw *gw)
{
	struct gw_snapshot *snap = gw_snapshot_get(gw);
	char why[256];
	size_t i;

	for (i = 0; i < snap->n_ids; i++) {
		const struct gw_identity *id = &snap->ids[i];

		if (id->authority != NULL &&
		    gw_authority_ready(id->authority, DISCOVER_MAX_AGE_S, why, sizeof(why)) != 0 &&
		    why[0] != '\0')
			sg_warn("identity %s: authority %s cannot stamp yet: %s", id->cfg->name,
			    id->cfg->authority->name, why);
	}
	gw_snapshot_put(gw, snap);
}
