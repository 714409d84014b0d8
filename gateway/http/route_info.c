/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics (Prometheus text, role monitor) and GET /v1/identities
 * (the identities the caller may use, with their certificates). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_token.h"
#include "routes.h"
#include "sg_err.h"

void
gw_route_metrics(struct gw_request *req, struct gw_response *resp)
{
	struct gw_snapshot *snap = req->snap;
	struct gw_metrics_gauges g;
	struct gw_metrics_cert_expiry *expiry = NULL;
	struct sg_audit_stats st;
	time_t now = time(NULL);
	size_t i, n = 0;

	memset(&g, 0, sizeof(g));
	sg_audit_stats(req->gw->audit, &st);
	g.audit_entries = st.entries;
	g.last_good_signature = sgp11_last_good_signature(req->gw->token);
	g.token_available = gw_token_up(req->gw);
	g.token_refused = gw_token_refused(req->gw);
	if ((expiry = calloc(snap->n_ids + 1, sizeof(*expiry))) == NULL) {
		gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
		return;
	}
	for (i = 0; i < snap->n_ids; i++) {
		if (snap->ids[i].cert == NULL)
			continue;
		expiry[n].identity = snap->ids[i].cfg->name;
		expiry[n].seconds = (int64_t)(snap->ids[i].not_after - now);
		n++;
	}
	g.cert_expiry = expiry;
	g.n_cert_expiry = n;
	sg_buf_reset(&resp->body);
	if (gw_metrics_render(req->gw->metrics, &g, &resp->body) != 0)
		gw_error_r(resp, SG_ERR_INTERNAL, "metrics could not be rendered");
	else {
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	}
	free(expiry);
}

static void
add_time(cJSON *obj, const char *name, const ASN1_TIME *t)
{
	struct tm tm;
	char text[32];

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) == 1 && strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		cJSON_AddStringToObject(obj, name, text);
	else
		cJSON_AddNullToObject(obj, name);
}

static void
add_name(cJSON *obj, const char *member, const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(bio, &data)) >= 0) {
		char *copy = strndup(data, (size_t)len);

		cJSON_AddStringToObject(obj, member, copy != NULL ? copy : "");
		free(copy);
	} else
		cJSON_AddNullToObject(obj, member);
	BIO_free(bio);
}

static cJSON *
identity_json(const struct gw_identity *id, time_t now)
{
	cJSON *o = cJSON_CreateObject(), *uses = cJSON_AddArrayToObject(o, "uses"), *c;

	cJSON_AddStringToObject(o, "name", id->cfg->name);
	cJSON_AddStringToObject(o, "key_label", id->cfg->key_label);
	if (id->key != NULL)
		cJSON_AddStringToObject(o, "key_type", id->key_type);
	else
		cJSON_AddNullToObject(o, "key_type");
	if (id->cfg->uses & SG_USE_STAMP)
		cJSON_AddItemToArray(uses, cJSON_CreateString("stamp"));
	if (id->cfg->uses & SG_USE_SOAP)
		cJSON_AddItemToArray(uses, cJSON_CreateString("soap"));
	if (id->cfg->uses & SG_USE_SIGN)
		cJSON_AddItemToArray(uses, cJSON_CreateString("sign"));
	if (id->cfg->authority != NULL)
		cJSON_AddStringToObject(o, "authority", id->cfg->authority->name);
	else
		cJSON_AddNullToObject(o, "authority");
	if (id->cert == NULL) {
		cJSON_AddNullToObject(o, "certificate");
		return o;
	}
	c = cJSON_AddObjectToObject(o, "certificate");
	add_name(c, "subject", X509_get_subject_name(id->cert));
	add_name(c, "issuer", X509_get_issuer_name(id->cert));
	cJSON_AddStringToObject(c, "serial", id->cert_serial);
	add_time(c, "not_before", X509_get0_notBefore(id->cert));
	add_time(c, "not_after", X509_get0_notAfter(id->cert));
	cJSON_AddNumberToObject(c, "days_left", (double)((id->not_after - now) / 86400));
	return o;
}

void
gw_route_identities(struct gw_request *req, struct gw_response *resp)
{
	const struct gw_snapshot *snap = req->snap;
	cJSON *list = cJSON_CreateArray();
	time_t now = time(NULL);
	size_t i;
	/* Services see what they are granted; officers and auditors see all. */
	int all = (req->client->roles & (SG_ROLE_OFFICER | SG_ROLE_AUDITOR)) != 0;

	for (i = 0; i < snap->n_ids; i++) {
		if (all || sg_client_may_use(req->client, snap->ids[i].cfg))
			cJSON_AddItemToArray(list, identity_json(&snap->ids[i], now));
	}
	gw_json(resp, 200, list);
}
