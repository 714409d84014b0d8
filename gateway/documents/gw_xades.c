/* SPDX-License-Identifier: Apache-2.0 */
/* The XAdES-B signature of an ASiC-E container as a seal job; see
 * gw_xades.h. The document is laid out as DigiDoc/BDOC containers lay
 * theirs: every namespace declared on asic:XAdESSignatures, one
 * ds:Signature, the qualifying properties in a ds:Object. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gw_xades.h"
#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

#define SIG_ID		"S0"
#define SIGNED_PROPS_ID	SIG_ID "-SignedProperties"
#define SHA256_URI	"http://www.w3.org/2001/04/xmlenc#sha256"
#define SIGNED_PROPS_TYPE "http://uri.etsi.org/01903#SignedProperties"

static int prepare(struct gw_seal_job *job, X509 *stamp, STACK_OF(X509) *rest,
    unsigned char *tbs, unsigned int *tbs_len);
static int finish(struct gw_seal_job *job, const unsigned char *sig, size_t sig_len);

int
gw_xades_job_init(struct gw_xades_job *j, const struct gw_xades_object *objects,
    size_t n_objects, time_t signing_time)
{
	memset(j, 0, sizeof(*j));
	if (objects == NULL || n_objects == 0 || n_objects >= GW_XMLDSIG_MAX_REFS)
		return SG_ERR_INVALID_ARG;
	j->job.md = EVP_sha256();
	j->job.prepare = prepare;
	j->job.finish = finish;
	j->job.arg = j;
	j->objects = objects;
	j->n_objects = n_objects;
	j->signing_time = signing_time;
	return 0;
}

void
gw_xades_job_clear(struct gw_xades_job *j)
{
	if (j == NULL)
		return;
	xmlFreeDoc(j->doc);
	X509_free(j->stamp_cert);
	memset(j, 0, sizeof(*j));
}

/* An element child in namespace ns with text (NULL: none). */
static xmlNodePtr
child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	return xmlNewTextChild(parent, ns, BAD_CAST name, text != NULL ? BAD_CAST text : NULL);
}

static xmlNodePtr
child_alg(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *algorithm)
{
	xmlNodePtr n = child(parent, ns, name, NULL);

	if (n != NULL && xmlNewProp(n, BAD_CAST "Algorithm", BAD_CAST algorithm) == NULL)
		return NULL;
	return n;
}

static xmlNodePtr
child_b64(xmlNodePtr parent, xmlNsPtr ns, const char *name, const unsigned char *p, size_t len)
{
	char *b64 = NULL;
	xmlNodePtr n;

	if (sg_b64_encode(p, len, SG_B64_STD, &b64) != 0)
		return NULL;
	n = child(parent, ns, name, b64);
	free(b64);
	return n;
}

static int
set_id(xmlNodePtr n, const char *id)
{
	xmlAttrPtr a = xmlNewProp(n, BAD_CAST "Id", BAD_CAST id);

	/* Registered as an ID, so the document resolves "#id" as a
	 * verifier does. */
	return a != NULL && xmlAddID(NULL, n->doc, BAD_CAST id, a) != NULL ? 0 : SG_ERR_ALLOC;
}

/*
 * RFC 5035 IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber
 * CertificateSerialNumber }, DER: the content of xades:IssuerSerialV2.
 */
static int
issuer_serial_der(X509 *cert, unsigned char **derp, size_t *lenp)
{
	GENERAL_NAMES *names = NULL;
	GENERAL_NAME *gn = NULL;
	X509_NAME *issuer = NULL;
	unsigned char *names_der = NULL, *serial_der = NULL, *der = NULL, *p;
	int names_len, serial_len, r = SG_ERR_ALLOC;
	size_t body, head, i;

	*derp = NULL;
	*lenp = 0;
	if ((names = sk_GENERAL_NAME_new_null()) == NULL || (gn = GENERAL_NAME_new()) == NULL ||
	    (issuer = X509_NAME_dup(X509_get_issuer_name(cert))) == NULL)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, issuer);
	issuer = NULL;
	if (sk_GENERAL_NAME_push(names, gn) <= 0)
		goto out;
	gn = NULL;
	r = SG_ERR_CRYPTO;
	if ((names_len = i2d_GENERAL_NAMES(names, &names_der)) <= 0 ||
	    (serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial_der)) <= 0)
		goto out;
	body = (size_t)names_len + (size_t)serial_len;
	head = body < 0x80 ? 2 : body < 0x100 ? 3 : body < 0x10000 ? 4 : 0;
	if (head == 0)
		goto out;	/* an issuer name of 64 KiB is no certificate's */
	r = SG_ERR_ALLOC;
	if ((der = malloc(head + body)) == NULL)
		goto out;
	p = der;
	*p++ = 0x30;
	if (head > 2)
		*p++ = (unsigned char)(0x80 | (head - 2));
	for (i = head - 2; i > 0; i--)
		*p++ = (unsigned char)(body >> (8 * (i - 1)));
	if (head == 2)
		*p++ = (unsigned char)body;
	memcpy(p, names_der, (size_t)names_len);
	memcpy(p + names_len, serial_der, (size_t)serial_len);
	*derp = der;
	*lenp = head + body;
	der = NULL;
	r = 0;
out:
	free(der);
	OPENSSL_free(names_der);
	OPENSSL_free(serial_der);
	X509_NAME_free(issuer);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return r;
}

/* xades:SignedProperties: SigningTime, SigningCertificateV2 and one
 * DataObjectFormat per data object. */
static int
add_signed_properties(struct gw_xades_job *j, xmlNodePtr qualifying, xmlNsPtr xades,
    xmlNsPtr ds, xmlNodePtr *propsp)
{
	xmlNodePtr props, ssp, cert, digest, sdop, dof;
	unsigned char cert_sha256[32], *issuer_serial = NULL;
	unsigned int cert_sha256_len = 0;
	size_t issuer_serial_len = 0, i;
	char when[32], ref[32];
	struct tm tm;
	int r;

	if (gmtime_r(&j->signing_time, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return SG_ERR_INVALID_ARG;
	if (X509_digest(j->stamp_cert, EVP_sha256(), cert_sha256, &cert_sha256_len) != 1)
		return SG_ERR_CRYPTO;
	if ((r = issuer_serial_der(j->stamp_cert, &issuer_serial, &issuer_serial_len)) != 0)
		return r;
	r = SG_ERR_ALLOC;
	if ((props = child(qualifying, xades, "SignedProperties", NULL)) == NULL ||
	    set_id(props, SIGNED_PROPS_ID) != 0 ||
	    (ssp = child(props, xades, "SignedSignatureProperties", NULL)) == NULL ||
	    child(ssp, xades, "SigningTime", when) == NULL ||
	    (cert = child(child(ssp, xades, "SigningCertificateV2", NULL), xades, "Cert",
	    NULL)) == NULL ||
	    (digest = child(cert, xades, "CertDigest", NULL)) == NULL ||
	    child_alg(digest, ds, "DigestMethod", SHA256_URI) == NULL ||
	    child_b64(digest, ds, "DigestValue", cert_sha256, cert_sha256_len) == NULL ||
	    child_b64(cert, xades, "IssuerSerialV2", issuer_serial, issuer_serial_len) == NULL ||
	    (sdop = child(props, xades, "SignedDataObjectProperties", NULL)) == NULL)
		goto out;
	for (i = 0; i < j->n_objects; i++) {
		if (snprintf(ref, sizeof(ref), "#%s-RefId%zu", SIG_ID, i) >= (int)sizeof(ref) ||
		    (dof = child(sdop, xades, "DataObjectFormat", NULL)) == NULL ||
		    xmlNewProp(dof, BAD_CAST "ObjectReference", BAD_CAST ref) == NULL ||
		    child(dof, xades, "MimeType", j->objects[i].media_type) == NULL)
			goto out;
	}
	*propsp = props;
	r = 0;
out:
	free(issuer_serial);
	return r;
}

/* A Reference's URI for a container name: RFC 3986 percent-encoding of
 * everything but the unreserved characters, so a verifier that resolves
 * it as a relative URI finds exactly that name. */
static int
name_uri(const char *name, char **urip)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(name), i, o = 0;
	char *uri;

	*urip = NULL;
	if ((uri = malloc(3 * len + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			uri[o++] = (char)c;
		} else {
			uri[o++] = '%';
			uri[o++] = hex[c >> 4];
			uri[o++] = hex[c & 15];
		}
	}
	uri[o] = '\0';
	*urip = uri;
	return 0;
}

static int
add_object_reference(struct gw_xades_job *j, size_t i, xmlNsPtr ds)
{
	xmlNodePtr ref;
	char id[32], *uri = NULL;
	int r;

	if (snprintf(id, sizeof(id), "%s-RefId%zu", SIG_ID, i) >= (int)sizeof(id))
		return SG_ERR_INTERNAL;
	if ((r = name_uri(j->objects[i].name, &uri)) != 0)
		return r;
	r = SG_ERR_ALLOC;
	if ((ref = child(j->signed_info, ds, "Reference", NULL)) == NULL ||
	    xmlNewProp(ref, BAD_CAST "Id", BAD_CAST id) == NULL ||
	    xmlNewProp(ref, BAD_CAST "URI", BAD_CAST uri) == NULL ||
	    child_alg(ref, ds, "DigestMethod", SHA256_URI) == NULL ||
	    child_b64(ref, ds, "DigestValue", j->objects[i].sha256, 32) == NULL)
		goto out;
	r = 0;
out:
	free(uri);
	return r;
}

static int
add_properties_reference(struct gw_xades_job *j, xmlNsPtr ds, xmlNodePtr props)
{
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dgst_len = 0;
	xmlNodePtr ref, transforms;
	int r;

	if ((r = gw_xml_c14n_digest(props, NULL, EVP_sha256(), dgst, &dgst_len)) != 0)
		return r;
	if ((ref = child(j->signed_info, ds, "Reference", NULL)) == NULL ||
	    xmlNewProp(ref, BAD_CAST "Id", BAD_CAST SIG_ID "-RefId-SignedProperties") == NULL ||
	    xmlNewProp(ref, BAD_CAST "Type", BAD_CAST SIGNED_PROPS_TYPE) == NULL ||
	    xmlNewProp(ref, BAD_CAST "URI", BAD_CAST "#" SIGNED_PROPS_ID) == NULL ||
	    (transforms = child(ref, ds, "Transforms", NULL)) == NULL ||
	    child_alg(transforms, ds, "Transform", GW_EXC_C14N) == NULL ||
	    child_alg(ref, ds, "DigestMethod", SHA256_URI) == NULL ||
	    child_b64(ref, ds, "DigestValue", dgst, dgst_len) == NULL)
		return SG_ERR_ALLOC;
	return 0;
}

static int
add_key_info(struct gw_xades_job *j, xmlNsPtr ds, STACK_OF(X509) *rest)
{
	xmlNodePtr data;
	unsigned char *der = NULL;
	int i, len, r = SG_ERR_ALLOC;

	if ((data = child(child(j->signature, ds, "KeyInfo", NULL), ds, "X509Data", NULL)) == NULL)
		return SG_ERR_ALLOC;
	for (i = -1; i < sk_X509_num(rest); i++) {
		X509 *c = i < 0 ? j->stamp_cert : sk_X509_value(rest, i);

		if ((len = i2d_X509(c, &der)) <= 0)
			return SG_ERR_CRYPTO;
		if (child_b64(data, ds, "X509Certificate", der, (size_t)len) == NULL)
			goto out;
		OPENSSL_free(der);
		der = NULL;
	}
	r = 0;
out:
	OPENSSL_free(der);
	return r;
}

static int
prepare(struct gw_seal_job *job, X509 *stamp, STACK_OF(X509) *rest, unsigned char *tbs,
    unsigned int *tbs_len)
{
	struct gw_xades_job *j = job->arg;
	EVP_PKEY *pub = X509_get0_pubkey(stamp);
	xmlNodePtr root, object, qualifying, props = NULL;
	xmlNsPtr asic, ds, xades;
	const char *sig_uri;
	size_t i;
	int r = SG_ERR_ALLOC;

	*tbs_len = 0;
	if (pub == NULL || j->finished)
		return SG_ERR_INVALID_ARG;
	/* Prepared again when the service is asked again (after the token
	 * came back): the document is built anew. */
	xmlFreeDoc(j->doc);
	j->doc = NULL;
	X509_free(j->stamp_cert);
	j->stamp_cert = NULL;
	if (EVP_PKEY_is_a(pub, "RSA"))
		sig_uri = gw_xmldsig_sig_uri(SG_XMLSIG_RSA_SHA256);
	else if (EVP_PKEY_is_a(pub, "EC"))
		sig_uri = gw_xmldsig_sig_uri(SG_XMLSIG_ECDSA_SHA256);
	else
		return SG_ERR_UNSUPPORTED;
	if (!X509_up_ref(stamp))
		return SG_ERR_CRYPTO;
	j->stamp_cert = stamp;
	if ((j->doc = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
	    (root = xmlNewDocNode(j->doc, NULL, BAD_CAST "XAdESSignatures", NULL)) == NULL)
		goto out;
	xmlDocSetRootElement(j->doc, root);
	if ((asic = xmlNewNs(root, BAD_CAST GW_ASIC_NS, BAD_CAST "asic")) == NULL ||
	    (ds = xmlNewNs(root, BAD_CAST GW_DSIG_NS, BAD_CAST "ds")) == NULL ||
	    (xades = xmlNewNs(root, BAD_CAST GW_XADES_NS, BAD_CAST "xades")) == NULL)
		goto out;
	xmlSetNs(root, asic);
	if ((j->signature = child(root, ds, "Signature", NULL)) == NULL ||
	    set_id(j->signature, SIG_ID) != 0 ||
	    (j->signed_info = child(j->signature, ds, "SignedInfo", NULL)) == NULL ||
	    child_alg(j->signed_info, ds, "CanonicalizationMethod", GW_EXC_C14N) == NULL ||
	    child_alg(j->signed_info, ds, "SignatureMethod", sig_uri) == NULL ||
	    (j->signature_value = child(j->signature, ds, "SignatureValue", NULL)) == NULL ||
	    set_id(j->signature_value, SIG_ID "-SIG") != 0)
		goto out;
	if ((r = add_key_info(j, ds, rest)) != 0)
		goto out;
	r = SG_ERR_ALLOC;
	if ((object = child(j->signature, ds, "Object", NULL)) == NULL ||
	    (qualifying = child(object, xades, "QualifyingProperties", NULL)) == NULL ||
	    xmlNewProp(qualifying, BAD_CAST "Target", BAD_CAST "#" SIG_ID) == NULL)
		goto out;
	if ((r = add_signed_properties(j, qualifying, xades, ds, &props)) != 0)
		goto out;
	for (i = 0; i < j->n_objects; i++) {
		if ((r = add_object_reference(j, i, ds)) != 0)
			goto out;
	}
	if ((r = add_properties_reference(j, ds, props)) != 0)
		goto out;
	if ((r = gw_xml_c14n_digest(j->signed_info, NULL, job->md, tbs, tbs_len)) != 0)
		goto out;
	memcpy(j->tbs, tbs, *tbs_len);
	j->tbs_len = *tbs_len;
	r = 0;
out:
	return r;
}

static int
finish(struct gw_seal_job *job, const unsigned char *sig, size_t sig_len)
{
	struct gw_xades_job *j = job->arg;
	EVP_PKEY_CTX *vctx = NULL;
	EVP_PKEY *pub;
	unsigned char raw[2 * 66];
	size_t raw_len = sizeof(raw);
	char *b64 = NULL;
	int r;

	if (j->doc == NULL || j->finished || sig == NULL || sig_len == 0)
		return SG_ERR_INVALID_ARG;
	pub = X509_get0_pubkey(j->stamp_cert);
	/* The value is checked before it goes in: a service that signed
	 * something else is the service's fault, not a container's. */
	r = SG_ERR_ALLOC;
	if ((vctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_verify_init(vctx) != 1 || EVP_PKEY_CTX_set_signature_md(vctx, job->md) != 1 ||
	    EVP_PKEY_verify(vctx, sig, sig_len, j->tbs, j->tbs_len) != 1) {
		sg_error("the seal service's signature does not verify over the SignedInfo");
		r = SG_ERR_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		if ((r = gw_xmldsig_ecdsa_raw(sig, sig_len, EVP_PKEY_get_bits(pub), raw,
		    &raw_len)) != 0)
			goto out;
		r = sg_b64_encode(raw, raw_len, SG_B64_STD, &b64);
	} else {
		r = sg_b64_encode(sig, sig_len, SG_B64_STD, &b64);
	}
	if (r != 0)
		goto out;
	xmlNodeSetContent(j->signature_value, BAD_CAST b64);
	j->finished = 1;
	r = 0;
out:
	ERR_clear_error();
	free(b64);
	EVP_PKEY_CTX_free(vctx);
	return r;
}

int
gw_xades_signature_value_digest(const struct gw_xades_job *j, const EVP_MD *md,
    unsigned char *out, unsigned int *out_len)
{
	*out_len = 0;
	if (!j->finished)
		return SG_ERR_INVALID_ARG;
	return gw_xml_c14n_digest(j->signature_value, NULL, md, out, out_len);
}

int
gw_xades_add_timestamp(struct gw_xades_job *j, const unsigned char *token, size_t len)
{
	xmlNodePtr qualifying = NULL, object = NULL, ts;
	xmlNsPtr xades, ds;

	if (!j->finished || token == NULL || len == 0 ||
	    gw_xml_child(j->signature, GW_DSIG_NS, "Object", &object) != 0 ||
	    gw_xml_child(object, GW_XADES_NS, "QualifyingProperties", &qualifying) != 0 ||
	    qualifying == NULL)
		return SG_ERR_INVALID_ARG;
	xades = qualifying->ns;
	ds = j->signature->ns;
	if ((ts = child(child(child(qualifying, xades, "UnsignedProperties", NULL), xades,
	    "UnsignedSignatureProperties", NULL), xades, "SignatureTimeStamp", NULL)) == NULL ||
	    set_id(ts, SIG_ID "-T0") != 0 ||
	    child_alg(ts, ds, "CanonicalizationMethod", GW_EXC_C14N) == NULL ||
	    child_b64(ts, xades, "EncapsulatedTimeStamp", token, len) == NULL)
		return SG_ERR_ALLOC;
	return 0;
}

int
gw_xades_serialise(const struct gw_xades_job *j, struct sg_buf *out)
{
	if (!j->finished)
		return SG_ERR_INVALID_ARG;
	return gw_xml_serialise(j->doc, out);
}
