/* SPDX-License-Identifier: Apache-2.0 */
/* xmldsig-probe: drives the gateway's XML signature modules for
 * xmldsig.sh. "sign" signs an XML document from stdin with a key on the
 * token (gw_xmldsig.c) and writes the serialised result; "verify" checks a
 * document's first ds:Signature (gw_xmlverify.c). Test infrastructure,
 * never installed. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_xml.h"
#include "gw_xmldsig.h"
#include "gw_xmlverify.h"
#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_secret.h"
#include "sgp11.h"

#define PROG "xmldsig-probe"
#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define PROBE_MAX_INPUT ((size_t)16 * 1024 * 1024)

static const char usage_text[] =
"usage: xmldsig-probe sign --key LABEL [--alg A] [--digest D] [--ref ID]...\n"
"                          [--parent NAME] [--pin-file F]  < in.xml > out.xml\n"
"       (token: $SEALGATE_PKCS11_MODULE, $SEALGATE_TOKEN_LABEL)\n"
"       xmldsig-probe verify --ca FILE [--allow-sha1]  < in.xml\n"
"sign: without --ref, an enveloped signature (URI=\"\") as the root's last\n"
"child; with --ref, one Reference per wsu:Id given, the signature appended\n"
"to the first element named NAME (default: the root). KeyInfo holds the\n"
"key's certificate (X509Data). A: rsa-sha1|rsa-sha256|rsa-sha384|\n"
"rsa-sha512|ecdsa-sha256|ecdsa-sha384; D: sha1|sha256|sha384|sha512.\n"
"verify: the signer is the X509Certificate in KeyInfo, which must chain to\n"
"FILE; prints the local names of the referenced elements, one a line.\n";

struct settings {
	const char *key, *pin_file, *ca, *parent;
	const char *refs[GW_XMLDSIG_MAX_REFS];
	size_t n_refs;
	enum sg_xmlsig_alg alg;
	enum sg_xmldigest_alg digest;
	int allow_sha1;
};

static int
fail(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	return 1;
}

static xmlDocPtr
read_doc(void)
{
	struct sg_buf in;
	char chunk[65536];
	size_t n;
	xmlDocPtr doc = NULL;

	sg_buf_init(&in, PROBE_MAX_INPUT);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (sg_buf_append(&in, chunk, n) != 0)
			goto out;
	}
	doc = xmlReadMemory((const char *)in.data, (int)in.len, NULL, NULL, XML_PARSE_NONET);
out:
	sg_buf_free(&in);
	return doc;
}

/* Register every wsu:Id as an ID so "#id" references resolve. */
static int
register_ids(xmlDocPtr doc, xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		xmlAttrPtr a;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (a = n->properties; a != NULL; a = a->next) {
			xmlChar *v;

			if (a->ns == NULL || !xmlStrEqual(a->ns->href, BAD_CAST WSU_NS) ||
			    !xmlStrEqual(a->name, BAD_CAST "Id"))
				continue;
			v = xmlNodeGetContent((xmlNodePtr)a);
			if (v == NULL || xmlAddID(NULL, doc, v, a) == NULL) {
				xmlFree(v);
				return -1;
			}
			xmlFree(v);
		}
		if (register_ids(doc, n->children) != 0)
			return -1;
	}
	return 0;
}

static xmlNodePtr
find_element(xmlNodePtr n, const char *name)
{
	xmlNodePtr found;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, BAD_CAST name))
			return n;
		if ((found = find_element(n->children, name)) != NULL)
			return found;
	}
	return NULL;
}

static int
sign(const struct settings *s)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	struct gw_xmldsig_ref refs[GW_XMLDSIG_MAX_REFS];
	char uris[GW_XMLDSIG_MAX_REFS][80];
	struct sg_buf out;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, parent, sig;
	char *pin = NULL;
	size_t i, n = 0;
	int r, ret = 1;

	sg_buf_init(&out, PROBE_MAX_INPUT * 2);
	if ((doc = read_doc()) == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
		ret = fail("stdin", "not an XML document");
		goto out;
	}
	if (register_ids(doc, root) != 0) {
		ret = fail("stdin", "duplicate wsu:Id");
		goto out;
	}
	parent = s->parent != NULL ? find_element(root, s->parent) : root;
	if (parent == NULL) {
		ret = fail(s->parent, "no such element");
		goto out;
	}
	if (s->n_refs == 0) {
		refs[n++] = (struct gw_xmldsig_ref){ root, "", 1 };
	}
	for (i = 0; i < s->n_refs; i++) {
		xmlAttrPtr id = xmlGetID(doc, BAD_CAST s->refs[i]);

		if (id == NULL) {
			ret = fail(s->refs[i], "no element has this wsu:Id");
			goto out;
		}
		snprintf(uris[n], sizeof(uris[n]), "#%s", s->refs[i]);
		refs[n] = (struct gw_xmldsig_ref){ id->parent, uris[n], 0 };
		n++;
	}
	if ((r = s->pin_file != NULL ? sg_secret_read_file(s->pin_file, &pin) :
	    sg_secret_take_env("SEALGATE_PIN", &pin)) != 0) {
		ret = fail("user PIN", sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_open(getenv("SEALGATE_PKCS11_MODULE"), getenv("SEALGATE_TOKEN_LABEL"),
	    &ctx)) != 0 || (r = sgp11_login(ctx, pin)) != 0 ||
	    (r = sgp11_key_find(ctx, s->key, &key)) != 0) {
		ret = fail("token", sg_strerror(r));
		goto out;
	}
	if (sgp11_key_get0_cert(key) == NULL) {
		ret = fail(s->key, "no certificate next to the key");
		goto out;
	}
	if ((r = gw_xmldsig_sign(parent, refs, n, s->alg, s->digest, key, &sig)) != 0) {
		ret = fail("sign", sg_strerror(r));
		goto out;
	}
	if (gw_xmldsig_key_info_cert(sig, sgp11_key_get0_cert(key)) != 0 || gw_xml_serialise(doc, &out) != 0) {
		ret = fail("output", "cannot serialise");
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		ret = fail("stdout", "write failed");
		goto out;
	}
	ret = 0;
out:
	sg_free_secret_str(pin);
	sg_buf_free(&out);
	sgp11_key_free(key);
	sgp11_close(ctx);
	xmlFreeDoc(doc);
	return ret;
}

static xmlNodePtr
find_ds(xmlNodePtr n, const char *name)
{
	xmlNodePtr found;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns != NULL && xmlStrEqual(n->ns->href, BAD_CAST GW_DSIG_NS) &&
		    xmlStrEqual(n->name, BAD_CAST name))
			return n;
		if ((found = find_ds(n->children, name)) != NULL)
			return found;
	}
	return NULL;
}

static X509 *
key_info_cert(xmlNodePtr sig)
{
	return gw_xml_cert(find_ds(sig->children, "X509Certificate"));
}

static int
verify(const struct settings *s)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr sig, refs[GW_XMLDSIG_MAX_REFS];
	X509_STORE *store = NULL;
	X509 *cert = NULL;
	char why[256];
	size_t i, n = 0;
	int ret = 1;

	if (gw_xmlverify_global_init() != 0)
		return fail("xmlsec", "cannot initialise");
	if ((doc = read_doc()) == NULL || register_ids(doc, xmlDocGetRootElement(doc)) != 0) {
		ret = fail("stdin", "not an XML document with unique wsu:Ids");
		goto out;
	}
	if ((sig = find_ds(xmlDocGetRootElement(doc), "Signature")) == NULL) {
		ret = fail("stdin", "no ds:Signature");
		goto out;
	}
	if ((cert = key_info_cert(sig)) == NULL) {
		ret = fail("KeyInfo", "no X509Certificate");
		goto out;
	}
	if (gw_xmlverify_load_ca(s->ca, &store) != 0) {
		ret = fail(s->ca, "no CA certificate");
		goto out;
	}
	if (gw_xmlverify_chain(cert, NULL, store, time(NULL), why, sizeof(why)) != 0 ||
	    gw_xmlverify(sig, cert, s->allow_sha1, refs, GW_XMLDSIG_MAX_REFS, &n, why, sizeof(why)) != 0) {
		ret = fail("verify", why);
		goto out;
	}
	for (i = 0; i < n; i++)
		printf("%s\n", (const char *)refs[i]->name);
	ret = 0;
out:
	X509_free(cert);
	X509_STORE_free(store);
	xmlFreeDoc(doc);
	gw_xmlverify_global_cleanup();
	return ret;
}

static int
parse_alg(const char *s, enum sg_xmlsig_alg *alg)
{
	static const struct { const char *name; enum sg_xmlsig_alg alg; } t[] = {
		{ "rsa-sha1", SG_XMLSIG_RSA_SHA1 }, { "rsa-sha256", SG_XMLSIG_RSA_SHA256 },
		{ "rsa-sha384", SG_XMLSIG_RSA_SHA384 }, { "rsa-sha512", SG_XMLSIG_RSA_SHA512 },
		{ "ecdsa-sha256", SG_XMLSIG_ECDSA_SHA256 }, { "ecdsa-sha384", SG_XMLSIG_ECDSA_SHA384 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i].name) == 0) {
			*alg = t[i].alg;
			return 0;
		}
	}
	return -1;
}

static int
parse_digest(const char *s, enum sg_xmldigest_alg *d)
{
	static const struct { const char *name; enum sg_xmldigest_alg d; } t[] = {
		{ "sha1", SG_XMLDIGEST_SHA1 }, { "sha256", SG_XMLDIGEST_SHA256 },
		{ "sha384", SG_XMLDIGEST_SHA384 }, { "sha512", SG_XMLDIGEST_SHA512 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i].name) == 0) {
			*d = t[i].d;
			return 0;
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	enum { OPT_KEY = 256, OPT_ALG, OPT_DIGEST, OPT_REF, OPT_PARENT, OPT_PIN_FILE, OPT_CA,
	    OPT_SHA1 };
	static const struct option opts[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "alg", required_argument, NULL, OPT_ALG },
		{ "digest", required_argument, NULL, OPT_DIGEST },
		{ "ref", required_argument, NULL, OPT_REF },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "allow-sha1", no_argument, NULL, OPT_SHA1 },
		{ NULL, 0, NULL, 0 }
	};
	struct settings s = { .alg = SG_XMLSIG_RSA_SHA256, .digest = SG_XMLDIGEST_SHA256 };
	int c, ret;

	sg_log_init(PROG, SG_LOG_QUIET);
	if (argc < 2 || (strcmp(argv[1], "sign") != 0 && strcmp(argv[1], "verify") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY: s.key = optarg; break;
		case OPT_ALG:
			if (parse_alg(optarg, &s.alg) != 0)
				return fail("--alg", "unknown algorithm");
			break;
		case OPT_DIGEST:
			if (parse_digest(optarg, &s.digest) != 0)
				return fail("--digest", "unknown digest");
			break;
		case OPT_REF:
			if (s.n_refs == GW_XMLDSIG_MAX_REFS)
				return fail("--ref", "too many");
			s.refs[s.n_refs++] = optarg;
			break;
		case OPT_PARENT: s.parent = optarg; break;
		case OPT_PIN_FILE: s.pin_file = optarg; break;
		case OPT_CA: s.ca = optarg; break;
		case OPT_SHA1: s.allow_sha1 = 1; break;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	xmlInitParser();
	if (strcmp(argv[1], "sign") == 0)
		ret = s.key != NULL ? sign(&s) : fail("sign", "--key is required");
	else
		ret = s.ca != NULL ? verify(&s) : fail("verify", "--ca is required");
	xmlCleanupParser();
	return ret;
}
