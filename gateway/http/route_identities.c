/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/identities: the identities the caller may use, with their keys,
 * uses, authority and certificate, read from the request's snapshot
 * (services see what they are granted; officers and auditors see all). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_request.h"
#include "routes.h"

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
