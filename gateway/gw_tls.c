/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS on the listener (see gw_tls.h): GnuTLS credentials loaded with
 * each configuration snapshot and owned by it (reference-counted, as a
 * token recovery's snapshot shares them), handed to each new handshake as
 * copies that GnuTLS frees, and the client certificate checks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "gw.h"
#include "gw_request.h"
#include "gw_snapshot.h"
#include "gw_tls.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"
#include "sg_secret.h"

/* Certificate, key, CA and CRL files larger than this are refused. */
#define TLS_FILE_MAX (1024 * 1024)
#define CHAIN_MAX 16

struct gw_tls {
	int refs;			/* atomic */
	gnutls_x509_crt_t chain[CHAIN_MAX];
	unsigned int n_chain;
	gnutls_x509_privkey_t key;
	gnutls_x509_trust_list_t clients;	/* NULL: no client CA */
	char *client_ca_pem;
	char *priorities;
	char subject[GW_CERT_NAME_MAX];
	char serial[GW_CERT_SERIAL_MAX];
	time_t not_after;
};

/* The daemon whose snapshots the certificate callback reads. */
static struct gw *callback_gw;

static void
tls_free(struct gw_tls *tls)
{
	unsigned int i;

	for (i = 0; i < tls->n_chain; i++)
		gnutls_x509_crt_deinit(tls->chain[i]);
	if (tls->key != NULL)
		gnutls_x509_privkey_deinit(tls->key);
	if (tls->clients != NULL)
		gnutls_x509_trust_list_deinit(tls->clients, 1);
	free(tls->client_ca_pem);
	free(tls->priorities);
	free(tls);
}

struct gw_tls *
gw_tls_ref(struct gw_tls *tls)
{
	if (tls != NULL)
		__atomic_add_fetch(&tls->refs, 1, __ATOMIC_RELAXED);
	return tls;
}

void
gw_tls_unref(struct gw_tls *tls)
{
	if (tls != NULL && __atomic_sub_fetch(&tls->refs, 1, __ATOMIC_ACQ_REL) == 0)
		tls_free(tls);
}

const char *gw_tls_subject(const struct gw_tls *tls) { return tls->subject; }
const char *gw_tls_serial(const struct gw_tls *tls) { return tls->serial; }
time_t gw_tls_not_after(const struct gw_tls *tls) { return tls->not_after; }
const char *gw_tls_client_ca_pem(const struct gw_tls *tls) { return tls->client_ca_pem; }
const char *gw_tls_priorities(const struct gw_tls *tls) { return tls->priorities; }

/* A certificate's serial as upper-case hex without leading zero bytes. */
static void
serial_hex(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char raw[64];
	size_t len = sizeof(raw), i, skip = 0, n = 0;

	out[0] = '\0';
	if (gnutls_x509_crt_get_serial(crt, raw, &len) < 0)
		return;
	while (skip + 1 < len && raw[skip] == 0)
		skip++;
	for (i = skip; i < len && n + 3 <= outlen; i++) {
		out[n++] = digits[raw[i] >> 4];
		out[n++] = digits[raw[i] & 0xf];
	}
	out[n] = '\0';
}

/* A distinguished name as an RFC 4514 string; "" when it cannot be had
 * or does not fit. */
static void
dn_text(gnutls_x509_crt_t crt, int issuer, char *out, size_t outlen)
{
	gnutls_datum_t dn = { NULL, 0 };
	int ret = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) :
	    gnutls_x509_crt_get_dn3(crt, &dn, 0);

	out[0] = '\0';
	if (ret >= 0 && dn.size < outlen) {
		memcpy(out, dn.data, dn.size);
		out[dn.size] = '\0';
	}
	gnutls_free(dn.data);
}

static int
read_file(const char *member, const char *path, unsigned char **datap, size_t *lenp,
    char *err, size_t errlen)
{
	int r;

	if ((r = sg_file_read(path, TLS_FILE_MAX, datap, lenp)) != 0)
		sg_msg(err, errlen, "$.listen.tls.%s: %s: %s", member, path, sg_strerror(r));
	return r != 0 ? SG_ERR_CONFIG : 0;
}

static int
load_chain(struct gw_tls *tls, const char *path, char *err, size_t errlen)
{
	gnutls_x509_crt_t *list = NULL;
	unsigned char *pem = NULL;
	gnutls_datum_t d;
	unsigned int n = 0, i;
	size_t len;
	int ret, r;

	if ((r = read_file("cert_file", path, &pem, &len, err, errlen)) != 0)
		return r;
	d.data = pem;
	d.size = (unsigned int)len;
	ret = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM,
	    GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	free(pem);
	if (ret < 0 || n == 0) {
		sg_msg(err, errlen, "$.listen.tls.cert_file: %s: %s", path, ret < 0 ?
		    gnutls_strerror(ret) : "no certificate");
		return SG_ERR_CONFIG;
	}
	for (i = 0; i < n; i++) {
		if (tls->n_chain < CHAIN_MAX)
			tls->chain[tls->n_chain++] = list[i];
		else
			gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	if (n > CHAIN_MAX) {
		sg_msg(err, errlen, "$.listen.tls.cert_file: %s: more than %d certificates", path,
		    CHAIN_MAX);
		return SG_ERR_CONFIG;
	}
	tls->not_after = gnutls_x509_crt_get_expiration_time(tls->chain[0]);
	serial_hex(tls->chain[0], tls->serial, sizeof(tls->serial));
	dn_text(tls->chain[0], 0, tls->subject, sizeof(tls->subject));
	if (tls->not_after < time(NULL)) {
		sg_msg(err, errlen, "$.listen.tls.cert_file: %s: the certificate (serial %s) has "
		    "expired", path, tls->serial);
		return SG_ERR_CONFIG;
	}
	return 0;
}

static int
load_key(struct gw_tls *tls, const char *path, char *err, size_t errlen)
{
	unsigned char *pem = NULL, key_id[64], cert_id[64];
	size_t len = 0, key_id_len = sizeof(key_id), cert_id_len = sizeof(cert_id);
	gnutls_datum_t d;
	int ret, r;

	if ((r = read_file("key_file", path, &pem, &len, err, errlen)) != 0)
		return r;
	d.data = pem;
	d.size = (unsigned int)len;
	if ((ret = gnutls_x509_privkey_init(&tls->key)) >= 0)
		ret = gnutls_x509_privkey_import2(tls->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	sg_memzero(pem, len);
	free(pem);
	if (ret < 0) {
		sg_msg(err, errlen, "$.listen.tls.key_file: %s: %s", path, gnutls_strerror(ret));
		return SG_ERR_CONFIG;
	}
	if (gnutls_x509_privkey_get_key_id(tls->key, GNUTLS_KEYID_USE_SHA256, key_id,
	    &key_id_len) < 0 ||
	    gnutls_x509_crt_get_key_id(tls->chain[0], GNUTLS_KEYID_USE_SHA256, cert_id,
	    &cert_id_len) < 0 || key_id_len != cert_id_len ||
	    memcmp(key_id, cert_id, key_id_len) != 0) {
		sg_msg(err, errlen, "$.listen.tls.key_file: %s is not the key of the certificate "
		    "in cert_file", path);
		return SG_ERR_CONFIG;
	}
	return 0;
}

static int
load_clients(struct gw_tls *tls, const struct sg_config_tls *cfg, char *err, size_t errlen)
{
	gnutls_x509_crl_t *crls = NULL;
	gnutls_x509_crt_t *cas = NULL;
	unsigned char *pem = NULL;
	unsigned int n_crls = 0, n_cas = 0, i, status;
	gnutls_datum_t d;
	size_t len;
	int ret, r;

	if ((r = read_file("client_ca_file", cfg->client_ca_file, &pem, &len, err, errlen)) != 0)
		return r;
	tls->client_ca_pem = (char *)pem;
	d.data = pem;
	d.size = (unsigned int)len;
	if ((ret = gnutls_x509_trust_list_init(&tls->clients, 0)) < 0)
		return SG_ERR_ALLOC;
	if ((ret = gnutls_x509_trust_list_add_trust_mem(tls->clients, &d, NULL,
	    GNUTLS_X509_FMT_PEM, 0, 0)) <= 0) {
		sg_msg(err, errlen, "$.listen.tls.client_ca_file: %s: %s", cfg->client_ca_file,
		    ret < 0 ? gnutls_strerror(ret) : "no certificate");
		return SG_ERR_CONFIG;
	}
	if (cfg->crl_file == NULL)
		return 0;
	if ((r = read_file("crl_file", cfg->crl_file, &pem, &len, err, errlen)) != 0)
		return r;
	d.data = pem;
	d.size = (unsigned int)len;
	ret = gnutls_x509_crl_list_import2(&crls, &n_crls, &d, GNUTLS_X509_FMT_PEM, 0);
	free(pem);
	if (ret < 0 || n_crls == 0) {
		sg_msg(err, errlen, "$.listen.tls.crl_file: %s: %s", cfg->crl_file,
		    ret < 0 ? gnutls_strerror(ret) : "no CRL");
		return SG_ERR_CONFIG;
	}
	/* Each CRL is checked against the client CAs here, not with
	 * GNUTLS_TL_VERIFY_CRL: GnuTLS 3.7 drops a CRL that fails that check
	 * without freeing it. The list takes the CRLs only when all passed. */
	d.data = (unsigned char *)tls->client_ca_pem;
	d.size = (unsigned int)strlen(tls->client_ca_pem);
	if (gnutls_x509_crt_list_import2(&cas, &n_cas, &d, GNUTLS_X509_FMT_PEM, 0) < 0)
		n_cas = 0;
	for (i = 0; i < n_crls && ret >= 0; i++) {
		if ((ret = gnutls_x509_crl_verify(crls[i], cas, n_cas, 0, &status)) >= 0 &&
		    status != 0)
			ret = GNUTLS_E_CERTIFICATE_ERROR;
	}
	for (i = 0; i < n_cas; i++)
		gnutls_x509_crt_deinit(cas[i]);
	gnutls_free(cas);
	if (ret >= 0)
		ret = gnutls_x509_trust_list_add_crls(tls->clients, crls, n_crls, 0, 0);
	else {
		for (i = 0; i < n_crls; i++)
			gnutls_x509_crl_deinit(crls[i]);
	}
	gnutls_free(crls);
	if (ret < 0 || (unsigned int)ret != n_crls) {
		sg_msg(err, errlen, "$.listen.tls.crl_file: %s: a CRL not signed by a CA of "
		    "client_ca_file%s%s", cfg->crl_file,
		    ret < 0 && ret != GNUTLS_E_CERTIFICATE_ERROR ? ": " : "",
		    ret < 0 && ret != GNUTLS_E_CERTIFICATE_ERROR ? gnutls_strerror(ret) : "");
		return SG_ERR_CONFIG;
	}
	return 0;
}

/* The priority string must parse and enable TLS 1.2 or 1.3 and nothing
 * older. */
static int
check_priorities(const char *priorities, char *err, size_t errlen)
{
	gnutls_priority_t prio = NULL;
	const unsigned int *protos = NULL;
	const char *pos = NULL;
	int ret, n, i, modern = 0, old = 0;

	if ((ret = gnutls_priority_init2(&prio, priorities, &pos, 0)) < 0) {
		sg_msg(err, errlen, "$.listen.tls.priorities: %s at character %ld",
		    gnutls_strerror(ret), pos != NULL && pos >= priorities ?
		    (long)(pos - priorities) : 0L);
		return SG_ERR_CONFIG;
	}
	n = gnutls_priority_protocol_list(prio, &protos);
	for (i = 0; i < n; i++) {
		if (protos[i] == GNUTLS_TLS1_2 || protos[i] == GNUTLS_TLS1_3)
			modern = 1;
		else if (protos[i] == GNUTLS_SSL3 || protos[i] == GNUTLS_TLS1_0 ||
		    protos[i] == GNUTLS_TLS1_1)
			old = 1;
	}
	gnutls_priority_deinit(prio);
	if (old || !modern) {
		sg_msg(err, errlen, "$.listen.tls.priorities: %s", old ?
		    "enables TLS 1.1 or older; the listener speaks TLS 1.2 and 1.3 only" :
		    "enables neither TLS 1.2 nor TLS 1.3");
		return SG_ERR_CONFIG;
	}
	return 0;
}

int
gw_tls_load(const struct sg_config_tls *cfg, struct gw_tls **tlsp, char *err, size_t errlen)
{
	struct gw_tls *tls = NULL;
	int r;

	*tlsp = NULL;
	if ((tls = calloc(1, sizeof(*tls))) == NULL)
		return SG_ERR_ALLOC;
	tls->refs = 1;
	if ((tls->priorities = strdup(cfg->priorities)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((r = check_priorities(cfg->priorities, err, errlen)) != 0 ||
	    (r = load_chain(tls, cfg->cert_file, err, errlen)) != 0 ||
	    (r = load_key(tls, cfg->key_file, err, errlen)) != 0 ||
	    (cfg->client_ca_file != NULL && (r = load_clients(tls, cfg, err, errlen)) != 0))
		goto out;
	*tlsp = tls;
	tls = NULL;
	r = 0;
 out:
	if (tls != NULL)
		tls_free(tls);
	return r;
}

/* GnuTLS frees what this hands over (GNUTLS_CERT_RETR_DEINIT_ALL), so a
 * handshake never holds on to a snapshot that a reload has replaced. */
static int
retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
    gnutls_pcert_st **certsp, unsigned int *n_certsp, gnutls_ocsp_data_st **ocspp,
    unsigned int *n_ocspp, gnutls_privkey_t *keyp, unsigned int *flags)
{
	struct gw_snapshot *snap = gw_snapshot_get(callback_gw);
	const struct gw_tls *tls = snap->tls;
	gnutls_pcert_st *certs = NULL;
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t key = NULL;
	unsigned int n = 0;
	int ret = -1;

	(void)session;
	(void)info;
	*certsp = NULL;
	*n_certsp = 0;
	*ocspp = NULL;
	*n_ocspp = 0;
	*keyp = NULL;
	*flags = GNUTLS_CERT_RETR_DEINIT_ALL;
	if (tls == NULL ||
	    (certs = gnutls_calloc(tls->n_chain, sizeof(*certs))) == NULL)
		goto out;
	for (n = 0; n < tls->n_chain; n++) {
		if (gnutls_pcert_import_x509(&certs[n], tls->chain[n], 0) < 0)
			goto out;
	}
	if (gnutls_x509_privkey_init(&xkey) < 0 || gnutls_x509_privkey_cpy(xkey, tls->key) < 0 ||
	    gnutls_privkey_init(&key) < 0 ||
	    gnutls_privkey_import_x509(key, xkey, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0)
		goto out;
	xkey = NULL;	/* key has it */
	*certsp = certs;
	*n_certsp = n;
	*keyp = key;
	certs = NULL;
	key = NULL;
	ret = 0;
 out:
	if (ret != 0)
		sg_error("TLS: cannot hand the server certificate to a handshake");
	while (certs != NULL && n > 0)
		gnutls_pcert_deinit(&certs[--n]);
	gnutls_free(certs);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	if (key != NULL)
		gnutls_privkey_deinit(key);
	gw_snapshot_put(callback_gw, snap);
	return ret;
}

gnutls_certificate_retrieve_function3 *
gw_tls_cert_callback(struct gw *gw)
{
	callback_gw = gw;
	return retrieve;
}

/* Why verification failed, in words an operator can act on. */
static const char *
status_text(unsigned int status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return "revoked";
	if (status & GNUTLS_CERT_EXPIRED)
		return "expired";
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return "not yet valid";
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		return "not issued by the client CA";
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		return "not for TLS client authentication";
	if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
		return "signed with an insecure algorithm";
	if (status & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)
		return "revocation data superseded";
	return "invalid";
}

void
gw_tls_client_cert(const struct gw_tls *tls, void *session, struct gw_client_cert *out)
{
	gnutls_x509_crt_t crts[CHAIN_MAX];
	const gnutls_datum_t *peers;
	gnutls_typed_vdata_st purpose;
	unsigned int n_peers = 0, n = 0, status = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (tls == NULL || tls->clients == NULL || session == NULL ||
	    (peers = gnutls_certificate_get_peers(session, &n_peers)) == NULL || n_peers == 0)
		return;
	out->presented = 1;
	for (n = 0; n < n_peers && n < CHAIN_MAX; n++) {
		if (gnutls_x509_crt_init(&crts[n]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[n], &peers[n], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[n]);
			break;
		}
	}
	if (n == 0) {
		(void)sg_strfit(out->why, sizeof(out->why), "not a readable X.509 certificate");
		return;
	}
	len = sizeof(out->sha256);
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &peers[0], out->sha256, &len) < 0 ||
	    len != sizeof(out->sha256)) {
		(void)sg_strfit(out->why, sizeof(out->why), "no fingerprint");
		goto out;
	}
	dn_text(crts[0], 0, out->subject, sizeof(out->subject));
	dn_text(crts[0], 1, out->issuer, sizeof(out->issuer));
	serial_hex(crts[0], out->serial, sizeof(out->serial));
	memset(&purpose, 0, sizeof(purpose));
	purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
	purpose.data = (void *)GNUTLS_KP_TLS_WWW_CLIENT;
	if (gnutls_x509_trust_list_verify_crt2(tls->clients, crts, n, &purpose, 1, 0, &status,
	    NULL) < 0)
		(void)sg_strfit(out->why, sizeof(out->why), "cannot be verified");
	else if (status != 0)
		(void)sg_strfit(out->why, sizeof(out->why), status_text(status));
	else
		out->valid = 1;
 out:
	while (n > 0)
		gnutls_x509_crt_deinit(crts[--n]);
}
