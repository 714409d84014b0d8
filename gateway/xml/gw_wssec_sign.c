/* SPDX-License-Identifier: Apache-2.0 */
/* WS-Security headers added to a caller's envelope and signed on the
 * token; see gw_wssec_sign.h. The document is built with libxml2 and the
 * signature by gw_xmldsig (exclusive C14N, the profile's algorithms). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "gw_soapenv.h"
#include "gw_wssec_sign.h"
#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

#define ID_MAX		48	/* "X509-" and 32 hex digits */
#define URN_UUID_MAX	48

/* Signed parts found in the WS-Addressing namespace. */
static const char *const wsa_parts[] = {
	"MessageID", "Action", "To", "From", "ReplyTo", "FaultTo", "RelatesTo", NULL
};

/* What one signing builds up. */
struct build {
	struct gw_soapenv env;
	const struct sg_wssec_settings *profile;
	xmlNodePtr security, timestamp, token;
	char token_id[ID_MAX];
	struct gw_xmldsig_ref refs[GW_XMLDSIG_MAX_REFS];
	char uris[GW_XMLDSIG_MAX_REFS][ID_MAX + 1];
	size_t n_refs;
	char *why;
	size_t whylen;
};

static int
signs_part(const struct sg_wssec_settings *p, const char *part)
{
	size_t i;

	for (i = 0; i < p->n_sign_parts; i++) {
		if (strcmp(p->sign_parts[i], part) == 0)
			return 1;
	}
	return 0;
}

static int
is_wsa_part(const char *part)
{
	size_t i;

	for (i = 0; wsa_parts[i] != NULL; i++) {
		if (strcmp(wsa_parts[i], part) == 0)
			return 1;
	}
	return 0;
}

/* An id that is unique in the document: prefix and 128 random bits. */
static int
new_id(struct build *b, const char *prefix, char out[ID_MAX])
{
	unsigned char rnd[16];
	char *hex = NULL;
	int n;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return SG_ERR_CRYPTO;
	if (sg_hex_encode(rnd, sizeof(rnd), &hex) != 0)
		return SG_ERR_ALLOC;
	n = snprintf(out, ID_MAX, "%s-%s", prefix, hex);
	free(hex);
	if (n < 0 || n >= ID_MAX)
		return SG_ERR_INTERNAL;
	return xmlGetID(b->env.doc, BAD_CAST out) == NULL ? 0 : SG_ERR_INTERNAL;
}

/* urn:uuid: and a random (version 4) UUID. */
static int
new_message_id(char out[URN_UUID_MAX])
{
	unsigned char u[16];
	int n;

	if (RAND_bytes(u, sizeof(u)) != 1)
		return SG_ERR_CRYPTO;
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	n = snprintf(out, URN_UUID_MAX, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
	    u[10], u[11], u[12], u[13], u[14], u[15]);
	return n > 0 && n < URN_UUID_MAX ? 0 : SG_ERR_INTERNAL;
}

/* An element of its own namespace (declared on it) with text, appended
 * to parent. */
static xmlNodePtr
add_element(xmlNodePtr parent, const char *href, const char *prefix, const char *name,
    const char *text)
{
	xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, BAD_CAST name, NULL);
	xmlNsPtr ns;

	if (n == NULL)
		return NULL;
	if ((ns = xmlNewNs(n, BAD_CAST href, BAD_CAST prefix)) == NULL) {
		xmlFreeNode(n);
		return NULL;
	}
	xmlSetNs(n, ns);
	if (text != NULL)
		xmlNodeAddContent(n, BAD_CAST text);
	if (xmlAddChild(parent, n) == NULL) {
		xmlFreeNode(n);
		return NULL;
	}
	return n;
}

/* A child of parent in namespace ns (in scope there), with text. */
static xmlNodePtr
add_child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST name, NULL);

	if (n != NULL && text != NULL)
		xmlNodeAddContent(n, BAD_CAST text);
	return n;
}

/* The trimmed text of an element (new), or NULL when out of memory. */
static char *
element_text(xmlNodePtr n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *out;
	size_t start = 0, end;

	if (t == NULL)
		return strdup("");
	end = strlen((const char *)t);
	while (start < end && strchr(" \t\r\n", t[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", t[end - 1]) != NULL)
		end--;
	out = strndup((const char *)t + start, end - start);
	xmlFree(t);
	return out;
}

/* An action goes into an HTTP header: printable, no quote or backslash. */
static int
action_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\')
			return 0;
	}
	return i > 0 && i <= GW_WSSEC_ACTION_MAX;
}

static int
header_child(struct build *b, const char *ns, const char *name, xmlNodePtr *foundp)
{
	if (gw_xml_child(b->env.header, ns, name, foundp) != 0)
		return sg_why(SG_ERR_PARSE, b->why, b->whylen, "the Header holds more than one %s",
		    name);
	return 0;
}

/* wsa:Action: from the caller's header, else from HTTP; added when the
 * profile signs it. The two must agree when both are given. */
static int
settle_action(struct build *b, const char *http_action, char **actionp)
{
	xmlNodePtr el;
	char *given = NULL;
	int r;

	*actionp = NULL;
	if (http_action != NULL && http_action[0] == '\0')
		http_action = NULL;
	if ((r = header_child(b, GW_WSA_NS, "Action", &el)) != 0)
		return r;
	if (el != NULL && (given = element_text(el)) == NULL)
		return SG_ERR_ALLOC;
	if (given != NULL && given[0] == '\0') {
		free(given);
		return sg_why(SG_ERR_PARSE, b->why, b->whylen, "the wsa:Action header is empty");
	}
	if (given != NULL && http_action != NULL && strcmp(given, http_action) != 0) {
		r = sg_why(SG_ERR_PARSE, b->why, b->whylen,
		    "wsa:Action \"%.100s\" differs from the HTTP action \"%.100s\"", given,
		    http_action);
		free(given);
		return r;
	}
	if (given == NULL && http_action != NULL && (given = strdup(http_action)) == NULL)
		return SG_ERR_ALLOC;
	if (given != NULL && !action_ok(given)) {
		free(given);
		return sg_why(SG_ERR_PARSE, b->why, b->whylen, "the action must be 1 to %d "
		    "printable ASCII characters without quotes or backslashes",
		    GW_WSSEC_ACTION_MAX);
	}
	if (el == NULL && signs_part(b->profile, "Action")) {
		if (given == NULL)
			return sg_why(SG_ERR_PARSE, b->why, b->whylen, "this authority signs "
			    "wsa:Action: give it as a wsa:Action header, as SOAPAction (SOAP "
			    "1.1) or as the action parameter of Content-Type (SOAP 1.2)");
		if (add_element(b->env.header, GW_WSA_NS, "wsa", "Action", given) == NULL) {
			free(given);
			return SG_ERR_ALLOC;
		}
	}
	*actionp = given;
	return 0;
}

/* wsa:MessageID: the caller's, else a new one when the profile signs it. */
static int
settle_message_id(struct build *b, char **midp)
{
	xmlNodePtr el;
	char fresh[URN_UUID_MAX];
	int r;

	*midp = NULL;
	if ((r = header_child(b, GW_WSA_NS, "MessageID", &el)) != 0)
		return r;
	if (el != NULL)
		return (*midp = element_text(el)) != NULL ? 0 : SG_ERR_ALLOC;
	if (!signs_part(b->profile, "MessageID"))
		return 0;
	if ((r = new_message_id(fresh)) != 0)
		return r;
	if (add_element(b->env.header, GW_WSA_NS, "wsa", "MessageID", fresh) == NULL)
		return SG_ERR_ALLOC;
	return (*midp = strdup(fresh)) != NULL ? 0 : SG_ERR_ALLOC;
}

/* The profile's configured headers the caller did not give. */
static int
add_profile_headers(struct build *b)
{
	const struct sg_wssec_settings *p = b->profile;
	xmlNodePtr el;
	size_t i;
	int r;

	for (i = 0; i < p->n_headers; i++) {
		if ((r = header_child(b, p->header_namespace, p->headers[i].name, &el)) != 0)
			return r;
		if (el == NULL && add_element(b->env.header, p->header_namespace, "h",
		    p->headers[i].name, p->headers[i].value) == NULL)
			return SG_ERR_ALLOC;
	}
	return 0;
}

static int
format_time(time_t t, long ms, char *out, size_t outlen)
{
	struct tm tm;
	char base[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return SG_ERR_INTERNAL;
	return snprintf(out, outlen, "%s.%03ldZ", base, ms) < (int)outlen ? 0 : SG_ERR_INTERNAL;
}

/* wsse:Security as the Header's first child: Timestamp and token. */
static int
add_security(struct build *b, const char *cert_b64)
{
	xmlNodePtr sec, first;
	xmlNsPtr wsse, wsu, soap;
	struct timespec now;
	char created[40], expires[40], ts_id[ID_MAX];
	int r;

	if ((sec = xmlNewDocNode(b->env.doc, NULL, BAD_CAST "Security", NULL)) == NULL)
		return SG_ERR_ALLOC;
	first = gw_xml_element(b->env.header->children);
	if ((first != NULL ? xmlAddPrevSibling(first, sec) :
	    xmlAddChild(b->env.header, sec)) == NULL) {
		xmlFreeNode(sec);
		return SG_ERR_ALLOC;
	}
	b->security = sec;
	if ((wsse = xmlNewNs(sec, BAD_CAST GW_WSSE_NS, BAD_CAST "wsse")) == NULL ||
	    (wsu = xmlNewNs(sec, BAD_CAST GW_WSU_NS, BAD_CAST "wsu")) == NULL)
		return SG_ERR_ALLOC;
	xmlSetNs(sec, wsse);
	if ((soap = gw_soapenv_ns_for(sec, gw_soapenv_ns(b->env.version), "soap")) == NULL ||
	    xmlNewNsProp(sec, soap, BAD_CAST "mustUnderstand", BAD_CAST "1") == NULL)
		return SG_ERR_ALLOC;

	clock_gettime(CLOCK_REALTIME, &now);
	if ((r = format_time(now.tv_sec, now.tv_nsec / 1000000, created, sizeof(created))) != 0 ||
	    (r = format_time(now.tv_sec + (time_t)b->profile->timestamp_ttl_s,
	    now.tv_nsec / 1000000, expires, sizeof(expires))) != 0 ||
	    (r = new_id(b, "TS", ts_id)) != 0 || (r = new_id(b, "X509", b->token_id)) != 0)
		return r;
	if ((b->timestamp = add_child(sec, wsu, "Timestamp", NULL)) == NULL ||
	    xmlNewNsProp(b->timestamp, wsu, BAD_CAST "Id", BAD_CAST ts_id) == NULL ||
	    add_child(b->timestamp, wsu, "Created", created) == NULL ||
	    add_child(b->timestamp, wsu, "Expires", expires) == NULL)
		return SG_ERR_ALLOC;
	if ((b->token = add_child(sec, wsse, "BinarySecurityToken", cert_b64)) == NULL ||
	    xmlNewProp(b->token, BAD_CAST "ValueType", BAD_CAST GW_WSS_X509V3) == NULL ||
	    xmlNewProp(b->token, BAD_CAST "EncodingType", BAD_CAST GW_WSS_BASE64) == NULL ||
	    xmlNewNsProp(b->token, wsu, BAD_CAST "Id", BAD_CAST b->token_id) == NULL)
		return SG_ERR_ALLOC;
	return 0;
}

/* The element a signed part names. */
static int
find_part(struct build *b, const char *part, xmlNodePtr *nodep)
{
	const char *ns;
	int r;

	*nodep = NULL;
	if (strcmp(part, "Body") == 0)
		*nodep = b->env.body;
	else if (strcmp(part, "Timestamp") == 0)
		*nodep = b->timestamp;
	else if (strcmp(part, "BinarySecurityToken") == 0)
		*nodep = b->token;
	else {
		ns = is_wsa_part(part) ? GW_WSA_NS : b->profile->header_namespace;
		if (ns == NULL)
			return SG_ERR_INVALID_ARG;	/* the config loader prevents it */
		if ((r = header_child(b, ns, part, nodep)) != 0)
			return r;
		if (*nodep == NULL)
			return sg_why(SG_ERR_PARSE, b->why, b->whylen, "this authority signs the "
			    "%s%s header, but the envelope has none", is_wsa_part(part) ? "wsa:" : "",
			    part);
	}
	return 0;
}

/* A Reference to node by its wsu:Id (one is given when it has none). */
static int
add_ref(struct build *b, xmlNodePtr node)
{
	xmlChar *have = xmlGetNsProp(node, BAD_CAST "Id", BAD_CAST GW_WSU_NS);
	char id[ID_MAX];
	xmlNsPtr wsu;
	int r, n;
	size_t i;

	for (i = 0; i < b->n_refs; i++) {
		if (b->refs[i].node == node) {
			xmlFree(have);
			return 0;
		}
	}
	if (b->n_refs == GW_XMLDSIG_MAX_REFS) {
		xmlFree(have);
		return SG_ERR_INVALID_ARG;
	}
	if (have != NULL) {
		n = snprintf(b->uris[b->n_refs], sizeof(b->uris[0]), "#%s", (const char *)have);
		xmlFree(have);
		if (n < 0 || n >= (int)sizeof(b->uris[0]))
			return sg_why(SG_ERR_PARSE, b->why, b->whylen,
			    "a wsu:Id of a signed part is longer than %d characters", ID_MAX - 1);
	} else {
		if ((r = new_id(b, "id", id)) != 0)
			return r;
		if ((wsu = gw_soapenv_ns_for(node, GW_WSU_NS, "wsu")) == NULL ||
		    xmlNewNsProp(node, wsu, BAD_CAST "Id", BAD_CAST id) == NULL)
			return SG_ERR_ALLOC;
		if (snprintf(b->uris[b->n_refs], sizeof(b->uris[0]), "#%s", id) >=
		    (int)sizeof(b->uris[0]))
			return SG_ERR_INTERNAL;
	}
	b->refs[b->n_refs].node = node;
	b->refs[b->n_refs].uri = b->uris[b->n_refs];
	b->refs[b->n_refs].enveloped = 0;
	b->n_refs++;
	return 0;
}

/* KeyInfo: a SecurityTokenReference to the BinarySecurityToken. */
static int
add_key_info(struct build *b, xmlNodePtr sig)
{
	xmlNodePtr key_info = gw_xmldsig_key_info(sig), str, ref;
	xmlNsPtr wsse = b->security->ns;
	char uri[ID_MAX + 1];

	if (key_info == NULL || snprintf(uri, sizeof(uri), "#%s", b->token_id) >= (int)sizeof(uri))
		return SG_ERR_INTERNAL;
	if ((str = add_child(key_info, wsse, "SecurityTokenReference", NULL)) == NULL ||
	    (ref = add_child(str, wsse, "Reference", NULL)) == NULL ||
	    xmlNewProp(ref, BAD_CAST "URI", BAD_CAST uri) == NULL ||
	    xmlNewProp(ref, BAD_CAST "ValueType", BAD_CAST GW_WSS_X509V3) == NULL)
		return SG_ERR_ALLOC;
	return 0;
}

int
gw_wssec_sign(const void *envelope, size_t len, const struct sg_wssec_settings *profile,
    struct sgp11_key *key, const char *cert_b64, const char *http_action, size_t max_bytes,
    struct gw_wssec_signed *out, char *why, size_t whylen)
{
	struct build *b;
	xmlNodePtr existing, part, sig;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	sg_buf_init(&out->wire, max_bytes);
	why[0] = '\0';
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return SG_ERR_ALLOC;
	b->profile = profile;
	b->why = why;
	b->whylen = whylen;
	if ((r = gw_soapenv_parse(envelope, len, profile->soap_version, &b->env, why,
	    whylen)) != 0 || (r = gw_soapenv_register_ids(&b->env, why, whylen)) != 0)
		goto out;
	if (b->env.header == NULL) {
		b->env.header = xmlNewDocNode(b->env.doc, b->env.envelope->ns, BAD_CAST "Header",
		    NULL);
		if (b->env.header == NULL) {
			r = SG_ERR_ALLOC;
			goto out;
		}
		if (xmlAddPrevSibling(b->env.body, b->env.header) == NULL) {
			xmlFreeNode(b->env.header);
			b->env.header = NULL;
			r = SG_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = gw_xml_child(b->env.header, GW_WSSE_NS, "Security", &existing)) != 0 ||
	    existing != NULL) {
		r = sg_why(SG_ERR_PARSE, why, whylen,
		    "the envelope already has a wsse:Security header; send it unsigned");
		goto out;
	}
	if ((r = settle_action(b, http_action, &out->action)) != 0 ||
	    (r = settle_message_id(b, &out->message_id)) != 0 ||
	    (r = add_profile_headers(b)) != 0 ||
	    (r = add_security(b, cert_b64)) != 0)
		goto out;
	for (i = 0; i < profile->n_sign_parts; i++) {
		if ((r = find_part(b, profile->sign_parts[i], &part)) != 0 ||
		    (r = add_ref(b, part)) != 0)
			goto out;
	}
	if ((r = gw_xmldsig_sign(b->security, b->refs, b->n_refs, profile->signature,
	    profile->digest, key, &sig)) != 0)
		goto out;
	if ((r = add_key_info(b, sig)) != 0 || (r = gw_xml_serialise(b->env.doc, &out->wire)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0 && r != SG_ERR_PARSE)
		why[0] = '\0';
	gw_soapenv_free(&b->env);
	free(b);
	if (r != 0)
		gw_wssec_signed_free(out);
	return r;
}

void
gw_wssec_signed_free(struct gw_wssec_signed *out)
{
	if (out == NULL)
		return;
	sg_buf_free(&out->wire);
	free(out->action);
	free(out->message_id);
	memset(out, 0, sizeof(*out));
}
