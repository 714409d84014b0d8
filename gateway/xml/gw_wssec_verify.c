/* SPDX-License-Identifier: Apache-2.0 */
/* A signed SOAP response checked before it is handed to the caller; see
 * gw_wssec_verify.h. Signature verification itself is gw_xmlverify's
 * (xmlsec); this file finds the parts and judges what was covered. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gw_soapenv.h"
#include "gw_wssec_verify.h"
#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_err.h"

/* n digits at s, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* xs:dateTime in UTC: YYYY-MM-DDThh:mm:ss[.fraction]Z (whitespace around
 * it allowed, as XML Schema collapses it). Seconds, fraction dropped. */
static int
parse_utc(const xmlChar *text, time_t *tp)
{
	const char *s = (const char *)text;
	struct tm tm;
	size_t len;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	len = strcspn(s, " \t\r\n");
	if (s[len] != '\0' && s[len + strspn(s + len, " \t\r\n")] != '\0')
		return -1;
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[len - 1] != 'Z')
		return -1;
	if (len > 20 && (s[19] != '.' || len == 21 || strspn(s + 20, "0123456789") != len - 21))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	*tp = timegm(&tm);
	return 0;
}

static int
check_timestamp(xmlNodePtr ts, time_t now, char *why, size_t whylen)
{
	xmlNodePtr created = NULL, expires = NULL;
	xmlChar *c_text = NULL, *e_text = NULL;
	time_t c = 0, e = 0;
	int r;

	if (gw_xml_child(ts, GW_WSU_NS, "Created", &created) != 0 ||
	    gw_xml_child(ts, GW_WSU_NS, "Expires", &expires) != 0 || created == NULL ||
	    expires == NULL)
		return sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response Timestamp needs one Created and one Expires");
	c_text = xmlNodeGetContent(created);
	e_text = xmlNodeGetContent(expires);
	if (parse_utc(c_text, &c) != 0 || parse_utc(e_text, &e) != 0)
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response Timestamp is not in UTC (YYYY-MM-DDThh:mm:ssZ)");
	else if (e < c)
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response Timestamp expires before it was created");
	else if (e <= now)
		r = sg_why(SG_ERR_CRYPTO, why, whylen, "the response Timestamp expired %lld s ago",
		    (long long)(now - e));
	else if (c > now + GW_WSSEC_FUTURE_SKEW_S)
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response Timestamp was created %lld s in the future",
		    (long long)(c - now));
	else
		r = 0;
	xmlFree(c_text);
	xmlFree(e_text);
	return r;
}

/* The certificate of the BinarySecurityToken that sig's KeyInfo names;
 * the token must be a child of sec. */
static int
signer_certificate(xmlNodePtr sig, xmlNodePtr sec, X509 **certp, char *why, size_t whylen)
{
	xmlNodePtr key_info = gw_xmldsig_key_info(sig), str = NULL, ref = NULL, token;
	xmlChar *uri = NULL, *type = NULL, *text = NULL;
	xmlAttrPtr id;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	int r = SG_ERR_CRYPTO;

	*certp = NULL;
	if (gw_xml_child(key_info, GW_WSSE_NS, "SecurityTokenReference", &str) != 0 ||
	    str == NULL || gw_xml_child(str, GW_WSSE_NS, "Reference", &ref) != 0 ||
	    ref == NULL || (uri = xmlGetProp(ref, BAD_CAST "URI")) == NULL || uri[0] != '#') {
		r = sg_why(SG_ERR_CRYPTO, why, whylen, "the response signature's KeyInfo is not a "
		    "SecurityTokenReference to a BinarySecurityToken");
		goto out;
	}
	if ((id = xmlGetID(sig->doc, uri + 1)) == NULL || (token = id->parent) == NULL ||
	    !gw_xml_is(token, GW_WSSE_NS, "BinarySecurityToken") || token->parent != sec) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response signature's KeyInfo does not point at a "
		    "BinarySecurityToken of its Security header");
		goto out;
	}
	type = xmlGetProp(token, BAD_CAST "ValueType");
	if (type == NULL || !xmlStrEqual(type, BAD_CAST GW_WSS_X509V3)) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response's BinarySecurityToken is not an X509v3 token");
		goto out;
	}
	text = xmlNodeGetContent(token);
	if (gw_xml_base64_decode(text, &der, &der_len) != 0) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response's BinarySecurityToken is not base64");
		goto out;
	}
	p = der;
	if ((*certp = d2i_X509(NULL, &p, (long)der_len)) == NULL || p != der + der_len) {
		X509_free(*certp);
		*certp = NULL;
		ERR_clear_error();
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response's BinarySecurityToken is not a DER certificate");
		goto out;
	}
	r = 0;
 out:
	free(der);
	xmlFree(uri);
	xmlFree(type);
	xmlFree(text);
	return r;
}

int
gw_wssec_verify(const void *data, size_t len, enum sg_soap_version version,
    X509_STORE *signer_ca, int allow_sha1, time_t now, char *why, size_t whylen)
{
	struct gw_soapenv env;
	xmlNodePtr sec = NULL, sig = NULL, ts = NULL, refs[GW_XMLDSIG_MAX_REFS];
	char inner[GW_SOAP_WHY_MAX];
	X509 *signer = NULL;
	size_t i, n_refs = 0;
	int r, body_signed = 0, ts_signed = 0;

	why[0] = '\0';
	if ((r = gw_soapenv_parse(data, len, version, &env, inner, sizeof(inner))) != 0 ||
	    (r = gw_soapenv_register_ids(&env, inner, sizeof(inner))) != 0) {
		if (r == SG_ERR_PARSE)
			r = sg_why(SG_ERR_CRYPTO, why, whylen, "the response: %s", inner);
		goto out;
	}
	if (gw_xml_child(env.header, GW_WSSE_NS, "Security", &sec) != 0) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response has more than one wsse:Security header");
		goto out;
	}
	if (sec == NULL) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response is not signed (no wsse:Security header)");
		goto out;
	}
	if (gw_xml_child(sec, GW_DSIG_NS, "Signature", &sig) != 0 || sig == NULL ||
	    gw_xml_child(sec, GW_WSU_NS, "Timestamp", &ts) != 0 || ts == NULL) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response's Security header needs one ds:Signature and "
		    "one wsu:Timestamp");
		goto out;
	}
	if ((r = signer_certificate(sig, sec, &signer, why, whylen)) != 0 ||
	    (r = gw_xmlverify_chain(signer, NULL, signer_ca, now, inner, sizeof(inner))) != 0) {
		if (r == SG_ERR_CRYPTO && why[0] == '\0')
			sg_why(SG_ERR_CRYPTO, why, whylen, "the response: %s", inner);
		goto out;
	}
	if ((r = gw_xmlverify(sig, signer, allow_sha1, refs, GW_XMLDSIG_MAX_REFS, &n_refs, inner,
	    sizeof(inner))) != 0) {
		if (r == SG_ERR_CRYPTO)
			sg_why(SG_ERR_CRYPTO, why, whylen, "the response: %s", inner);
		goto out;
	}
	/* By node, not by name: a signed copy elsewhere proves nothing. */
	for (i = 0; i < n_refs; i++) {
		body_signed |= refs[i] == env.body;
		ts_signed |= refs[i] == ts;
	}
	if (!body_signed || !ts_signed) {
		r = sg_why(SG_ERR_CRYPTO, why, whylen,
		    "the response signature does not cover the %s",
		    !body_signed ? "Envelope's Body" : "Security header's Timestamp");
		goto out;
	}
	r = check_timestamp(ts, now, why, whylen);
 out:
	X509_free(signer);
	gw_soapenv_free(&env);
	return r;
}
