/* SPDX-License-Identifier: Apache-2.0 */
/* The sealgate-token commands. Each opens what it needs, does one thing on
 * the token, prints a short result (or JSON with --json) and returns an
 * exit code; errors go to stderr as one line through tk_fail. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sg_cli.h"
#include "sg_codec.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_secret.h"
#include "tk_cli.h"
#include "tk_pin.h"
#include "tk_subject.h"

#define CERT_FILE_MAX (1024 * 1024)
#define SIGN_INPUT_MAX ((size_t)1 << 30)

static int
print_json(cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);

	cJSON_Delete(doc);
	if (text == NULL)
		return tk_fail("output", "out of memory");
	puts(text);
	cJSON_free(text);
	return TK_EXIT_OK;
}

static int
need_label(const struct tk_opts *o)
{
	if (o->label == NULL || *o->label == '\0')
		return sg_cli_usage("%s needs --label", o->command);
	return 0;
}

/* Write bytes to --out (atomically) or stdout. */
static int
emit(const struct tk_opts *o, const void *data, size_t len, const char *what)
{
	int r;

	if (o->out_file != NULL) {
		if ((r = sg_file_write_atomic(o->out_file, data, len, 0644)) != 0)
			return tk_fail(o->out_file, "cannot write %s: %s", what, sg_strerror(r));
		return TK_EXIT_OK;
	}
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return tk_fail("stdout", "cannot write %s", what);
	return TK_EXIT_OK;
}

int
tk_cmd_init(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	const char *module = tk_module(o), *why;
	char *so_pin = NULL, *user_pin = NULL;
	int r, ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if (strlen(o->label) > 32)
		return sg_cli_usage("a token label has at most 32 characters");
	tk_audit_begin("token_init", o->label);
	if ((r = sgp11_open(module, NULL, &ctx)) != 0)
		return tk_fail("open module", "%s: %s", module, sg_strerror(r));
	if (tk_pin_get(o->so_pin_file, "SEALGATE_SO_PIN", "New SO PIN: ", 1, &so_pin, &why) != 0) {
		ret = tk_fail("SO PIN", "%s", why);
		goto out;
	}
	if (tk_pin_get(o->pin_file, "SEALGATE_PIN", "New user PIN: ", 1, &user_pin, &why) != 0) {
		ret = tk_fail("user PIN", "%s", why);
		goto out;
	}
	if ((r = sgp11_token_init(ctx, o->label, so_pin, user_pin)) != 0) {
		ret = tk_fail("init", "%s", r == SG_ERR_EXISTS ?
		    "a token with this label already exists" : r == SG_ERR_NOT_FOUND ?
		    "no slot with an uninitialised token" : sg_strerror(r));
		goto out;
	}
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "token", o->label);
		cJSON_AddBoolToObject(doc, "initialized", 1);
		ret = print_json(doc);
	} else {
		printf("initialised token \"%s\"\n", o->label);
		ret = TK_EXIT_OK;
	}
 out:
	sg_free_secret_str(so_pin);
	sg_free_secret_str(user_pin);
	sgp11_close(ctx);
	return ret;
}

int
tk_cmd_slots(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_slot_info *slots = NULL;
	const char *module = tk_module(o);
	cJSON *doc = NULL;
	size_t n = 0, i, f;
	int r;

	if ((r = sgp11_open(module, NULL, &ctx)) != 0)
		return tk_fail("open module", "%s: %s", module, sg_strerror(r));
	if ((r = sgp11_slots(ctx, &slots, &n)) != 0) {
		sgp11_close(ctx);
		return tk_fail("slots", "%s", sg_strerror(r));
	}
	if (o->json)
		doc = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		const struct sgp11_slot_info *s = &slots[i];

		if (doc != NULL) {
			cJSON *js = cJSON_CreateObject(), *flags = cJSON_CreateArray();

			cJSON_AddNumberToObject(js, "slot_id", (double)s->slot_id);
			cJSON_AddStringToObject(js, "description", s->description);
			cJSON_AddBoolToObject(js, "token_present", s->token_present);
			if (s->token_present) {
				cJSON_AddStringToObject(js, "label", s->label);
				cJSON_AddStringToObject(js, "manufacturer", s->manufacturer);
				cJSON_AddStringToObject(js, "model", s->model);
				cJSON_AddStringToObject(js, "serial", s->serial);
				for (f = 0; f < s->n_flags; f++)
					cJSON_AddItemToArray(flags, cJSON_CreateString(s->flags[f]));
			}
			cJSON_AddItemToObject(js, "flags", flags);
			cJSON_AddItemToArray(doc, js);
			continue;
		}
		printf("slot %lu: %s\n", s->slot_id, s->description);
		if (!s->token_present) {
			printf("  no token\n");
			continue;
		}
		printf("  token: \"%s\" (%s %s, serial %s)\n  flags:", s->label, s->manufacturer,
		    s->model, s->serial);
		for (f = 0; f < s->n_flags; f++)
			printf(" %s", s->flags[f]);
		printf("\n");
	}
	free(slots);
	sgp11_close(ctx);
	return doc != NULL ? print_json(doc) : TK_EXIT_OK;
}

static const char *
tristate(int v)
{
	return v < 0 ? "unknown" : v ? "yes" : "no";
}

static void
add_tristate(cJSON *obj, const char *name, int v)
{
	if (v < 0)
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddBoolToObject(obj, name, v);
}

static void
format_time(time_t t, char out[32])
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		sg_msg(out, 32, "-");
}

int
tk_cmd_keys(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_object_info *objs = NULL;
	cJSON *doc = NULL;
	size_t n = 0, i;
	time_t now = time(NULL);
	char nb[32], na[32], *uri = NULL;
	int r, ret;

	if ((ret = tk_open(o, 1, &ctx)) != 0)
		return ret;
	if ((r = sgp11_objects(ctx, &objs, &n)) != 0) {
		sgp11_close(ctx);
		return tk_fail("keys", "%s", sg_strerror(r));
	}
	if (o->json)
		doc = cJSON_CreateArray();
	else
		printf("%-24s %-10s %-8s %-9s %-11s %-20s %s\n", "LABEL", "TYPE", "PRIVATE",
		    "SENSITIVE", "EXTRACTABLE", "NOT_AFTER", "SUBJECT");
	for (i = 0; i < n; i++) {
		const struct sgp11_object_info *k = &objs[i];
		const char *type = k->spec.kind != 0 ? sgp11_keyspec_name(&k->spec) : "-";

		format_time(k->not_before, nb);
		format_time(k->not_after, na);
		if (doc == NULL) {
			printf("%-24s %-10s %-8s %-9s %-11s %-20s %s\n", k->label, type,
			    k->has_private ? "yes" : "no",
			    k->has_private ? tristate(k->sensitive) : "-",
			    k->has_private ? tristate(k->extractable) : "-", k->has_cert ? na : "-",
			    k->cert_subject != NULL ? k->cert_subject : "-");
			if (k->has_private && sgp11_object_uri(ctx, k->label, k->id_hex, &uri) == 0) {
				printf("  uri: %s\n", uri);
				free(uri);
				uri = NULL;
			}
			continue;
		}
		cJSON *jk = cJSON_CreateObject();

		cJSON_AddStringToObject(jk, "label", k->label);
		cJSON_AddStringToObject(jk, "id", k->id_hex);
		if (k->has_private && sgp11_object_uri(ctx, k->label, k->id_hex, &uri) == 0) {
			cJSON_AddStringToObject(jk, "uri", uri);
			free(uri);
			uri = NULL;
		}
		if (k->spec.kind != 0)
			cJSON_AddStringToObject(jk, "type", type);
		else
			cJSON_AddNullToObject(jk, "type");
		cJSON_AddBoolToObject(jk, "private_key", k->has_private);
		cJSON_AddBoolToObject(jk, "public_key", k->has_public);
		add_tristate(jk, "sensitive", k->sensitive);
		add_tristate(jk, "extractable", k->extractable);
		add_tristate(jk, "always_sensitive", k->always_sensitive);
		add_tristate(jk, "never_extractable", k->never_extractable);
		if (k->has_cert) {
			cJSON *jc = cJSON_AddObjectToObject(jk, "certificate");

			cJSON_AddStringToObject(jc, "subject", k->cert_subject ? k->cert_subject : "");
			cJSON_AddStringToObject(jc, "issuer", k->cert_issuer ? k->cert_issuer : "");
			cJSON_AddStringToObject(jc, "serial", k->cert_serial ? k->cert_serial : "");
			cJSON_AddStringToObject(jc, "not_before", nb);
			cJSON_AddStringToObject(jc, "not_after", na);
			cJSON_AddNumberToObject(jc, "days_left",
			    (double)((k->not_after - now) / 86400));
		} else
			cJSON_AddNullToObject(jk, "certificate");
		cJSON_AddItemToArray(doc, jk);
	}
	sgp11_objects_free(objs, n);
	sgp11_close(ctx);
	return doc != NULL ? print_json(doc) : TK_EXIT_OK;
}

int
tk_cmd_keygen(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	struct sgp11_keyspec spec;
	unsigned char *id = NULL;
	size_t id_len = 0;
	int r, ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if (o->type == NULL || sgp11_keyspec_parse(o->type, &spec) != 0)
		return sg_cli_usage("--type is one of rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384");
	if (o->id_hex != NULL && (sg_hex_decode(o->id_hex, strlen(o->id_hex), &id, &id_len) != 0 ||
	    id_len == 0 || id_len > 64)) {
		free(id);
		return sg_cli_usage("--id is 1 to 64 bytes in hex");
	}
	tk_audit_begin("keygen", o->label);
	sg_msg(tk_record.detail, sizeof(tk_record.detail), "%s", o->type);
	if ((ret = tk_open(o, 1, &ctx)) != 0) {
		free(id);
		return ret;
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "generating %s key \"%s\" on the token...\n", o->type, o->label);
	if ((r = sgp11_keygen(ctx, o->label, id, id_len, &spec)) != 0) {
		ret = tk_fail("keygen", "%s", r == SG_ERR_EXISTS ?
		    "a key or certificate with this label already exists" : sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_key_find(ctx, o->label, &key)) != 0) {
		ret = tk_fail("keygen", "generated key not found: %s", sg_strerror(r));
		goto out;
	}
	(void)sg_strfit(tk_record.key_id, sizeof(tk_record.key_id), sgp11_key_id_hex(key));
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "label", o->label);
		cJSON_AddStringToObject(doc, "id", sgp11_key_id_hex(key));
		cJSON_AddStringToObject(doc, "type", sgp11_keyspec_name(sgp11_key_spec(key)));
		ret = print_json(doc);
	} else {
		printf("generated %s key \"%s\" (id %s)\n", sgp11_keyspec_name(sgp11_key_spec(key)),
		    o->label, sgp11_key_id_hex(key));
		ret = TK_EXIT_OK;
	}
 out:
	free(id);
	sgp11_key_free(key);
	sgp11_close(ctx);
	return ret;
}

static int
find_key(struct sgp11_ctx *ctx, const char *label, struct sgp11_key **keyp)
{
	char bad[64];
	int r;

	*keyp = NULL;
	if (sgp11_uri_check(label, bad, sizeof(bad)) != 0)
		return tk_fail(label, "bad PKCS#11 URI: attribute %s", bad);
	r = sgp11_key_find(ctx, label, keyp);
	if (r == SG_ERR_KEY_NOT_FOUND && sgp11_uri_is(label))
		return tk_fail(label, "no private key on the token matches this PKCS#11 URI");
	if (r == SG_ERR_CONFLICT && sgp11_uri_is(label))
		return tk_fail(label, "more than one private key matches this PKCS#11 URI");
	if (r == SG_ERR_INVALID_ARG && sgp11_uri_is(label))
		return tk_fail(label, "PKCS#11 URI names another module or a non-private object");
	if (r == SG_ERR_KEY_NOT_FOUND)
		return tk_fail(label, "no key with this label on the token");
	if (r != 0)
		return tk_fail(label, "%s", sg_strerror(r));
	return 0;
}

/* The audit entry of a CSR names what was asked for: its subject and the
 * SHA-256 of its DER encoding. */
static void
record_csr(X509_REQ *req)
{
	unsigned char *der = NULL, md[32];
	char *hex = NULL, *subject;
	int len;

	if ((len = i2d_X509_REQ(req, &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) == 1 &&
	    sg_hex_encode(md, sizeof(md), &hex) == 0)
		if (snprintf(tk_record.digest, sizeof(tk_record.digest), "sha256:%s", hex) >=
		    (int)sizeof(tk_record.digest))
			tk_record.digest[0] = '\0';
	if ((subject = X509_NAME_oneline(X509_REQ_get_subject_name(req), NULL, 0)) != NULL)
		sg_msg(tk_record.detail, sizeof(tk_record.detail), "%s", subject);
	OPENSSL_free(subject);
	OPENSSL_free(der);
	free(hex);
}

int
tk_cmd_csr(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	struct tk_subject subject;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	const char *why;
	char *data;
	long len;
	int r, ret;

	memset(&subject, 0, sizeof(subject));
	if ((ret = need_label(o)) != 0)
		return ret;
	if ((o->subject == NULL) == (o->profile == NULL))
		return sg_cli_usage("csr needs exactly one of --subject and --profile");
	if (o->subject != NULL && tk_subject_parse(o->subject, &subject, &why) != 0)
		return sg_cli_usage("--subject: %s", why);
	tk_audit_begin("csr", o->label);
	if ((ret = tk_open(o, 1, &ctx)) != 0 || (ret = find_key(ctx, o->label, &key)) != 0)
		goto out;
	(void)sg_strfit(tk_record.key_id, sizeof(tk_record.key_id), sgp11_key_id_hex(key));
	if (o->profile != NULL && (r = tk_subject_profile(o->profile, o->customer_id,
	    o->customer_name, sgp11_key_spec(key), &subject, &why)) != 0) {
		ret = r == SG_ERR_INVALID_ARG ? tk_fail("csr", "%s", why) :
		    tk_fail("csr", "%s", sg_strerror(r));
		goto out;
	}
	if ((r = sgp11_csr_make(key, &subject.fields, &req)) != 0) {
		ret = tk_fail("csr", "%s", r == SG_ERR_INVALID_ARG ?
		    "a subject field was refused (C must be two letters)" : sg_strerror(r));
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    (o->der ? i2d_X509_REQ_bio(bio, req) : PEM_write_bio_X509_REQ(bio, req)) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		ret = tk_fail("csr", "cannot encode the request");
		goto out;
	}
	record_csr(req);
	ret = emit(o, data, (size_t)len, "the request");
 out:
	BIO_free(bio);
	X509_REQ_free(req);
	tk_subject_free(&subject);
	sgp11_key_free(key);
	sgp11_close(ctx);
	return ret;
}

/* Certificates from a PEM (one or more) or DER file; *certsp is new. */
static int
read_certs(const char *path, STACK_OF(X509) **certsp)
{
	STACK_OF(X509) *certs = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	size_t len;
	BIO *bio = NULL;
	X509 *x;
	int r;

	*certsp = NULL;
	if ((r = sg_file_read(path, CERT_FILE_MAX, &data, &len)) != 0)
		return tk_fail(path, "%s", sg_strerror(r));
	if ((certs = sk_X509_new_null()) == NULL) {
		free(data);
		return tk_fail(path, "out of memory");
	}
	if (len > 0 && data[0] == 0x30) {
		p = data;
		if ((x = d2i_X509(NULL, &p, (long)len)) != NULL)
			sk_X509_push(certs, x);
	} else if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL) {
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
			sk_X509_push(certs, x);
		BIO_free(bio);
	}
	ERR_clear_error();
	free(data);
	if (sk_X509_num(certs) == 0) {
		sk_X509_free(certs);
		return tk_fail(path, "no X.509 certificate in PEM or DER form");
	}
	*certsp = certs;
	return 0;
}

static void
record_cert(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *subject;

	if (hex != NULL)
		(void)sg_strfit(tk_record.cert_serial, sizeof(tk_record.cert_serial), hex);
	if ((subject = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0)) != NULL)
		sg_msg(tk_record.detail, sizeof(tk_record.detail), "%s", subject);
	OPENSSL_free(subject);
	OPENSSL_free(hex);
	BN_free(bn);
}

int
tk_cmd_import_cert(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	int r, ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if (o->cert_file == NULL)
		return sg_cli_usage("import-cert needs --cert FILE");
	if ((ret = read_certs(o->cert_file, &certs)) != 0)
		return ret;
	if (sk_X509_num(certs) != 1) {
		ret = tk_fail(o->cert_file, "holds %d certificates; put the chain in --chain",
		    sk_X509_num(certs));
		goto out;
	}
	if (o->chain_file != NULL && (ret = read_certs(o->chain_file, &chain)) != 0)
		goto out;
	tk_audit_begin("cert_import", o->label);
	record_cert(sk_X509_value(certs, 0));
	if ((ret = tk_open(o, 1, &ctx)) != 0)
		goto out;
	r = sgp11_cert_import(ctx, o->label, sk_X509_value(certs, 0), chain);
	if (r == SG_ERR_KEY_MISMATCH)
		ret = tk_fail("import-cert", "the certificate's public key is not the public key of \"%s\"",
		    o->label);
	else if (r == SG_ERR_KEY_NOT_FOUND)
		ret = tk_fail(o->label, "no key with this label on the token");
	else if (r == SG_ERR_EXISTS)
		ret = tk_fail("import-cert", "\"%s\" already has a certificate", o->label);
	else if (r != 0)
		ret = tk_fail("import-cert", "%s", sg_strerror(r));
	else if (o->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "label", o->label);
		cJSON_AddNumberToObject(doc, "chain_certificates", chain ? sk_X509_num(chain) : 0);
		ret = print_json(doc);
	} else
		printf("imported certificate for \"%s\"%s\n", o->label, chain ? " with its chain" : "");
 out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	sgp11_close(ctx);
	return ret;
}

int
tk_cmd_change_pin(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	char *old_pin = NULL, *new_pin = NULL;
	const char *why;
	int r, ret;

	tk_audit_begin("pin_change", NULL);
	sg_msg(tk_record.detail, sizeof(tk_record.detail), "%s PIN", o->so ? "SO" : "user");
	if ((ret = tk_open(o, 0, &ctx)) != 0)
		return ret;
	if (tk_pin_get(o->so ? o->so_pin_file : o->pin_file,
	    o->so ? "SEALGATE_SO_PIN" : "SEALGATE_PIN",
	    o->so ? "Current SO PIN: " : "Current user PIN: ", 0, &old_pin, &why) != 0) {
		ret = tk_fail("current PIN", "%s", why);
		goto out;
	}
	if (tk_pin_get(o->new_pin_file, "SEALGATE_NEW_PIN", "New PIN: ", 1, &new_pin, &why) != 0) {
		ret = tk_fail("new PIN", "%s", why);
		goto out;
	}
	if ((r = sgp11_change_pin(ctx, o->so, old_pin, new_pin)) != 0) {
		ret = tk_fail("change-pin", "%s", sg_strerror(r));
		goto out;
	}
	printf(o->json ? "{\"changed\":\"%s\"}\n" : "changed the %s PIN\n", o->so ? "so" : "user");
 out:
	sg_free_secret_str(old_pin);
	sg_free_secret_str(new_pin);
	sgp11_close(ctx);
	return ret;
}

static int
confirm_retire(const char *label)
{
	char answer[160];
	size_t len;

	if (!isatty(STDIN_FILENO))
		return sg_cli_usage("retire deletes the key for good: add --yes");
	fprintf(stderr, "Retiring deletes key \"%s\" and its certificate. Type the label to confirm: ",
	    label);
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return tk_fail("retire", "not confirmed");
	len = strcspn(answer, "\r\n");
	answer[len] = '\0';
	if (strcmp(answer, label) != 0)
		return tk_fail("retire", "not confirmed");
	return 0;
}

int
tk_cmd_retire(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	int r, ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if (!o->yes && (ret = confirm_retire(o->label)) != 0)
		return ret;
	tk_audit_begin("key_retire", o->label);
	if ((ret = tk_open(o, 1, &ctx)) != 0)
		return ret;
	if ((r = sgp11_key_retire(ctx, o->label)) == SG_ERR_KEY_NOT_FOUND)
		ret = tk_fail(o->label, "nothing on the token under this label");
	else if (r != 0)
		ret = tk_fail("retire", "%s", sg_strerror(r));
	else
		printf(o->json ? "{\"retired\":\"%s\"}\n" : "retired \"%s\"\n", o->label);
	sgp11_close(ctx);
	return ret;
}

int
tk_cmd_pubkey(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	int ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if ((ret = tk_open(o, 1, &ctx)) != 0 || (ret = find_key(ctx, o->label, &key)) != 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, sgp11_key_get0_public(key)) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		ret = tk_fail("pubkey", "cannot encode the public key");
		goto out;
	}
	ret = emit(o, data, (size_t)len, "the public key");
 out:
	BIO_free(bio);
	sgp11_key_free(key);
	sgp11_close(ctx);
	return ret;
}

/* The keys the gateway alone signs with: the audit checkpoint key and
 * every authority's credential (with the keys a renewal stages and
 * retires beside it). A signature by one of them made here could re-seal
 * a rewritten audit log or speak to an authority for the organisation. */
static int
gateway_key_fail(const struct sg_config *cfg, const struct sg_identity *id, const char *label)
{
	return tk_fail("sign", "key \"%s\" belongs to identity %s, %s: only the gateway "
	    "signs with it", label, id->name, cfg->audit.checkpoint_identity == id ?
	    "the audit checkpoint key" : id->issuer != NULL ?
	    "whose certificate the issuer renews" : "an authority's credential");
}

static int
gateway_identity(const struct sg_config *cfg, const struct sg_identity *id)
{
	return cfg->audit.checkpoint_identity == id || id->authority != NULL || id->issuer != NULL;
}

static int
refuse_gateway_key(const struct sg_config *cfg, const char *label)
{
	size_t i, n;

	for (i = 0; i < cfg->n_identities; i++) {
		const struct sg_identity *id = &cfg->identities[i];

		if (!gateway_identity(cfg, id))
			continue;
		n = strlen(id->key_label);
		if (strcmp(label, id->key_label) != 0 &&
		    (strncmp(label, id->key_label, n) != 0 || label[n] != '.'))
			continue;
		return gateway_key_fail(cfg, id, label);
	}
	return 0;
}

/* The same once the key is found: by the object's own label, and against
 * the gateway's keys the configuration names by PKCS#11 URI. */
static int
refuse_gateway_key_found(struct sgp11_ctx *ctx, const struct sg_config *cfg,
    const struct sgp11_key *key, const char *name)
{
	struct sgp11_key *other = NULL;
	size_t i;
	int same, ret;

	if ((ret = refuse_gateway_key(cfg, sgp11_key_label(key))) != 0)
		return ret;
	for (i = 0; i < cfg->n_identities; i++) {
		const struct sg_identity *id = &cfg->identities[i];

		if (!gateway_identity(cfg, id) || !sgp11_uri_is(id->key_label) ||
		    sgp11_key_find(ctx, id->key_label, &other) != 0)
			continue;
		same = sgp11_key_same(key, other);
		sgp11_key_free(other);
		other = NULL;
		if (same)
			return gateway_key_fail(cfg, id, name);
	}
	return 0;
}

int
tk_cmd_sign(const struct tk_opts *o)
{
	struct sgp11_ctx *ctx = NULL;
	struct sgp11_key *key = NULL;
	const char *alg = o->digest_alg != NULL ? o->digest_alg : "sha256";
	const EVP_MD *md = NULL;
	unsigned char *input = NULL, *sig = NULL, dgst[EVP_MAX_MD_SIZE];
	unsigned int dgst_len = 0;
	size_t input_len = 0, sig_len = 0;
	char *hex = NULL;
	int r, ret;

	if ((ret = need_label(o)) != 0)
		return ret;
	if (o->in_file == NULL)
		return sg_cli_usage("sign needs --in FILE");
	/* Every signature is audited: without the configuration there is
	 * no log to write to, and no way to know the gateway's own keys. */
	if (tk_config() == NULL)
		return tk_fail("sign", "needs the gateway's configuration (--config or SEALGATE_CONFIG): "
		    "each signature goes into its audit log");
	if (strcmp(alg, "sha256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "sha384") == 0)
		md = EVP_sha384();
	else if (strcmp(alg, "sha512") == 0)
		md = EVP_sha512();
	else
		return sg_cli_usage("--digest is sha256, sha384 or sha512");
	tk_audit_begin("officer_sign", o->label);
	if ((ret = refuse_gateway_key(tk_config(), o->label)) != 0)
		return ret;
	if ((r = sg_file_read(o->in_file, SIGN_INPUT_MAX, &input, &input_len)) != 0)
		return tk_fail(o->in_file, "%s", sg_strerror(r));
	if (EVP_Digest(input, input_len, dgst, &dgst_len, md, NULL) != 1) {
		ret = tk_fail("sign", "cannot digest the input");
		goto out;
	}
	if (sg_hex_encode(dgst, dgst_len, &hex) == 0)
		if (snprintf(tk_record.digest, sizeof(tk_record.digest), "%s:%s", alg, hex) >=
		    (int)sizeof(tk_record.digest))
			tk_record.digest[0] = '\0';
	sg_msg(tk_record.detail, sizeof(tk_record.detail), "%s", o->pss ? "pss" : "default padding");
	if ((ret = tk_open(o, 1, &ctx)) != 0 || (ret = find_key(ctx, o->label, &key)) != 0 ||
	    (ret = refuse_gateway_key_found(ctx, tk_config(), key, o->label)) != 0)
		goto out;
	(void)sg_strfit(tk_record.key_id, sizeof(tk_record.key_id), sgp11_key_id_hex(key));
	if ((r = sgp11_sign_digest(key, EVP_MD_get_type(md), o->pss ? SGP11_PAD_PSS :
	    SGP11_PAD_DEFAULT, dgst, dgst_len, &sig, &sig_len)) != 0) {
		ret = tk_fail("sign", "%s", r == SG_ERR_INVALID_ARG && o->pss ?
		    "--pss needs an RSA key" : sg_strerror(r));
		goto out;
	}
	/* Durable in the log before anyone sees the signature. */
	if ((ret = tk_audit_commit(TK_EXIT_OK)) != TK_EXIT_OK)
		goto out;
	ret = emit(o, sig, sig_len, "the signature");
 out:
	free(hex);
	free(input);
	OPENSSL_free(sig);
	sgp11_key_free(key);
	sgp11_close(ctx);
	return ret;
}
