/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/sg_config: the full example loads field by
 * field, defaults apply, and every bad configuration is refused with the
 * JSON path of the problem. Files live in a fresh temporary directory. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sg_config.h"
#include "sg_err.h"
#include "sg_test.h"

/* SHA-256 of "billing-token", "auditor-token", "officer-token" and
 * "prometheus-token" (sha256sum), so lookups can start from the tokens. */
#define HASH_BILLING	"a351b85dde0cfbe62345dd4f3e362b0e61535e7df62a2f0e1f1615240b0b54fd"
#define HASH_AUDITOR	"ba1315421b7c58d465abec0bd552af5ff314ed8f9c5c0a7b7a6a6ecbac9bcbe5"
#define HASH_OFFICER	"3e4f1189ca4e64f6981981adad73798a940b771ae89bf869c31af1d0ac2bd4c9"
#define HASH_MONITOR	"78402532f9418180afc7d6f22578b95beccb176d527ce952b66a8fe6ba310ce3"

/* The full example: every section and authority type, with real hashes. */
static const char full_config[] =
"{\n"
"  \"listen\": { \"address\": \"127.0.0.1\", \"port\": 8440, \"threads\": 8,\n"
"              \"tls\": null },\n"
"  \"token\": { \"module\": \"/usr/lib/softhsm/libsofthsm2.so\", \"label\": \"sealgate\",\n"
"             \"pin_file\": \"pin\", \"max_sessions\": 16 },\n"
"  \"audit\": { \"dir\": \"audit\", \"checkpoint_identity\": \"audit-signer\",\n"
"             \"checkpoint_every_entries\": 1000, \"checkpoint_every_seconds\": 60,\n"
"             \"rotate_bytes\": 268435456, \"group_commit_us\": 2000 },\n"
"  \"limits\": { \"max_document_bytes\": 67108864, \"max_json_bytes\": 1048576,\n"
"              \"max_soap_bytes\": 4194304, \"request_timeout_ms\": 30000 },\n"
"  \"authorities\": {\n"
"    \"dvv-stamp\": { \"type\": \"csc-v2\", \"url\": \"https://127.0.0.1:8451/csc/v2/\",\n"
"                   \"ca_file\": \"sim/ca.pem\", \"credential_id\": \"org-stamp-1\",\n"
"                   \"sign_request_body\": true, \"timeout_ms\": 10000, \"retries\": 2 },\n"
"    \"vero\":      { \"type\": \"vero-certservice\", \"url\": \"https://127.0.0.1:8452/2017/10/CertificateServices\",\n"
"                   \"ca_file\": \"sim/ca.pem\", \"response_signer_ca_file\": \"sim/vero-services-ca.pem\",\n"
"                   \"environment\": \"TEST\", \"renewal_window_days\": 60, \"poll_interval_s\": 30, \"poll_max\": 10 },\n"
"    \"stil-bpi\":  { \"type\": \"wssec-soap\", \"url\": \"https://127.0.0.1:8453/bpi/wsiinst/6\",\n"
"                   \"ca_file\": \"sim/ca.pem\", \"soap_version\": \"1.2\",\n"
"                   \"signature\": \"rsa-sha256\", \"digest\": \"sha256\",\n"
"                   \"sign_parts\": [\"Body\", \"Timestamp\", \"MessageID\", \"UdbydersystemId\", \"Action\"],\n"
"                   \"timestamp_ttl_s\": 300, \"headers\": { \"UdbydersystemId\": \"12345\" },\n"
"                   \"verify_response\": true, \"response_signer_ca_file\": \"sim/stil-ca.pem\" },\n"
"    \"dvv-tsa\":   { \"type\": \"rfc3161\", \"url\": \"https://127.0.0.1:8454/tsa\",\n"
"                   \"ca_file\": \"sim/ca.pem\", \"tsa_ca_file\": \"sim/tsa-ca.pem\",\n"
"                   \"policy\": \"1.2.246.517.1\", \"timeout_ms\": 5000 }\n"
"  },\n"
"  \"identities\": [\n"
"    { \"name\": \"dvv-interface\", \"key_label\": \"dvv-interface\", \"authority\": \"dvv-stamp\", \"uses\": [\"stamp\"],\n"
"      \"timestamp_authority\": \"dvv-tsa\" },\n"
"    { \"name\": \"vero-ws\", \"key_label\": \"vero-ws\", \"issuer\": \"vero\", \"uses\": [],\n"
"      \"customer_id\": \"0123456-7\", \"customer_name\": \"Example Oy\", \"auto_renew\": true },\n"
"    { \"name\": \"stil-system\", \"key_label\": \"stil-oces3\", \"authority\": \"stil-bpi\", \"uses\": [\"soap\"] },\n"
"    { \"name\": \"local-seal\", \"key_label\": \"local-seal\", \"uses\": [\"sign\"] },\n"
"    { \"name\": \"audit-signer\", \"key_label\": \"audit-signer\", \"uses\": [] }\n"
"  ],\n"
"  \"clients\": [\n"
"    { \"name\": \"billing\", \"token_sha256\": \"" HASH_BILLING "\", \"roles\": [\"stamp\"],\n"
"      \"identities\": [\"dvv-interface\", \"stil-system\", \"local-seal\"] },\n"
"    { \"name\": \"auditor\", \"token_sha256\": \"" HASH_AUDITOR "\", \"roles\": [\"auditor\"] },\n"
"    { \"name\": \"officer\", \"token_sha256\": \"" HASH_OFFICER "\", \"roles\": [\"officer\"] },\n"
"    { \"name\": \"prometheus\", \"token_sha256\": \"" HASH_MONITOR "\", \"roles\": [\"monitor\"] }\n"
"  ]\n"
"}\n";

/* The fixture directory (absolute, symlinks resolved). */
static char fixture_dir[PATH_MAX];

static int
fixture_path(const char *name, char *out, size_t outlen)
{
	return sg_test_path(out, outlen, fixture_dir, name);
}

static int
write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char path[PATH_MAX];

	if (fixture_path(name, path, sizeof(path)) != 0 ||
	    sg_test_write_file(path, content, len) != 0 || chmod(path, mode) != 0)
		return -1;
	return 0;
}

static int
fixture_setup(void)
{
	char tmpl[] = "/tmp/sg-config-XXXXXX";

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, fixture_dir) == NULL)
		return -1;
	if (write_file("pin", "1234\n", 5, 0600) != 0 ||
	    write_file("pin-open", "1234\n", 5, 0644) != 0)
		return -1;
	return 0;
}

static void
fixture_teardown(void)
{
	if (fixture_dir[0] != '\0')
		sg_test_rm_rf(fixture_dir);
}

/* base with its single occurrence of find replaced by repl, or cut just
 * before find when repl is NULL. NULL when find is not there exactly once. */
static char *
mutate(const char *base, const char *find, const char *repl)
{
	const char *at = strstr(base, find);
	size_t head, flen = strlen(find), rlen = repl != NULL ? strlen(repl) : 0;
	char *out;

	if (at == NULL || strstr(at + 1, find) != NULL)
		return NULL;
	head = (size_t)(at - base);
	if (repl == NULL)
		return strndup(base, head);
	if ((out = malloc(strlen(base) - flen + rlen + 1)) == NULL)
		return NULL;
	memcpy(out, base, head);
	memcpy(out + head, repl, rlen);
	memcpy(out + head + rlen, at + flen, strlen(at + flen) + 1);
	return out;
}

static struct sg_config *
load_full_from_file(void)
{
	struct sg_config *cfg = NULL;
	char path[PATH_MAX], err[512];
	int r;

	if (write_file("sealgate.json", full_config, strlen(full_config), 0644) != 0 ||
	    fixture_path("sealgate.json", path, sizeof(path)) != 0)
		return NULL;
	r = sg_config_load_file(path, &cfg, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "load failed (%d): %s\n", r, err);
	return cfg;
}

static void
expect_fixture_path(const char *got, const char *rel)
{
	char want[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(fixture_path(rel, want, sizeof(want)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void
test_full_example(void)
{
	struct sg_config *cfg = load_full_from_file();
	const struct sg_authority *a;
	const struct sg_identity *id;
	const struct sg_client *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->listen.address, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg->listen.port, 8440);
	CU_ASSERT_EQUAL(cfg->listen.threads, 8);
	CU_ASSERT_EQUAL(cfg->listen.max_connections_per_peer, 256);
	/* An absolute module path is kept; the others are the fixture's. */
	CU_ASSERT_STRING_EQUAL(cfg->token.module, "/usr/lib/softhsm/libsofthsm2.so");
	CU_ASSERT_STRING_EQUAL(cfg->token.label, "sealgate");
	expect_fixture_path(cfg->token.pin_file, "pin");
	CU_ASSERT_EQUAL(cfg->token.max_sessions, 16);
	expect_fixture_path(cfg->audit.dir, "audit");
	CU_ASSERT_PTR_EQUAL(cfg->audit.checkpoint_identity, &cfg->identities[4]);
	CU_ASSERT_EQUAL(cfg->audit.checkpoint_every_entries, 1000);
	CU_ASSERT_EQUAL(cfg->audit.checkpoint_every_seconds, 60);
	CU_ASSERT_EQUAL(cfg->audit.rotate_bytes, 268435456);
	CU_ASSERT_EQUAL(cfg->audit.group_commit_us, 2000);
	CU_ASSERT_EQUAL(cfg->limits.max_document_bytes, 67108864);
	CU_ASSERT_EQUAL(cfg->limits.max_json_bytes, 1048576);
	CU_ASSERT_EQUAL(cfg->limits.max_soap_bytes, 4194304);
	CU_ASSERT_EQUAL(cfg->limits.request_timeout_ms, 30000);

	CU_ASSERT_EQUAL_FATAL(cfg->n_authorities, 4);
	a = &cfg->authorities[0];
	CU_ASSERT_STRING_EQUAL(a->name, "dvv-stamp");
	CU_ASSERT_EQUAL(a->type, SG_AUTHORITY_CSC_V2);
	CU_ASSERT_STRING_EQUAL(a->url, "https://127.0.0.1:8451/csc/v2/");
	expect_fixture_path(a->ca_file, "sim/ca.pem");
	CU_ASSERT_STRING_EQUAL(a->csc.credential_id, "org-stamp-1");
	CU_ASSERT_EQUAL(a->csc.sign_request_body, 1);
	CU_ASSERT_EQUAL(a->csc.timeout_ms, 10000);
	CU_ASSERT_EQUAL(a->csc.retries, 2);
	CU_ASSERT_PTR_NULL(a->vero.response_signer_ca_file);
	CU_ASSERT_PTR_NULL(a->wssec.sign_parts);

	a = &cfg->authorities[1];
	CU_ASSERT_STRING_EQUAL(a->name, "vero");
	CU_ASSERT_EQUAL(a->type, SG_AUTHORITY_VERO_CERTSERVICE);
	CU_ASSERT_STRING_EQUAL(a->url, "https://127.0.0.1:8452/2017/10/CertificateServices");
	expect_fixture_path(a->ca_file, "sim/ca.pem");
	expect_fixture_path(a->vero.response_signer_ca_file, "sim/vero-services-ca.pem");
	CU_ASSERT_EQUAL(a->vero.environment, SG_VERO_TEST);
	CU_ASSERT_EQUAL(a->vero.renewal_window_days, 60);
	CU_ASSERT_EQUAL(a->vero.poll_interval_s, 30);
	CU_ASSERT_EQUAL(a->vero.poll_max, 10);
	CU_ASSERT_PTR_NULL(a->csc.credential_id);

	a = &cfg->authorities[3];
	CU_ASSERT_STRING_EQUAL(a->name, "dvv-tsa");
	CU_ASSERT_EQUAL(a->type, SG_AUTHORITY_RFC3161);
	CU_ASSERT_STRING_EQUAL(a->url, "https://127.0.0.1:8454/tsa");
	expect_fixture_path(a->ca_file, "sim/ca.pem");
	expect_fixture_path(a->tsa.tsa_ca_file, "sim/tsa-ca.pem");
	CU_ASSERT_STRING_EQUAL(a->tsa.policy, "1.2.246.517.1");
	CU_ASSERT_EQUAL(a->tsa.timeout_ms, 5000);
	CU_ASSERT_PTR_NULL(a->wssec.sign_parts);

	a = &cfg->authorities[2];
	CU_ASSERT_STRING_EQUAL(a->name, "stil-bpi");
	CU_ASSERT_EQUAL(a->type, SG_AUTHORITY_WSSEC_SOAP);
	CU_ASSERT_STRING_EQUAL(a->url, "https://127.0.0.1:8453/bpi/wsiinst/6");
	CU_ASSERT_PTR_NULL(a->wssec.preset);
	CU_ASSERT_EQUAL(a->wssec.soap_version, SG_SOAP_12);
	CU_ASSERT_EQUAL(a->wssec.signature, SG_XMLSIG_RSA_SHA256);
	CU_ASSERT_EQUAL(a->wssec.digest, SG_XMLDIGEST_SHA256);
	CU_ASSERT_EQUAL_FATAL(a->wssec.n_sign_parts, 5);
	CU_ASSERT_STRING_EQUAL(a->wssec.sign_parts[0], "Body");
	CU_ASSERT_STRING_EQUAL(a->wssec.sign_parts[3], "UdbydersystemId");
	CU_ASSERT_STRING_EQUAL(a->wssec.sign_parts[4], "Action");
	CU_ASSERT_EQUAL(a->wssec.timestamp_ttl_s, 300);
	CU_ASSERT_EQUAL_FATAL(a->wssec.n_headers, 1);
	CU_ASSERT_STRING_EQUAL(a->wssec.headers[0].name, "UdbydersystemId");
	CU_ASSERT_STRING_EQUAL(a->wssec.headers[0].value, "12345");
	CU_ASSERT_EQUAL(a->wssec.verify_response, 1);
	expect_fixture_path(a->wssec.response_signer_ca_file, "sim/stil-ca.pem");
	/* UdbydersystemId without header_namespace: UNI-Login's namespace. */
	CU_ASSERT_STRING_EQUAL(a->wssec.header_namespace,
	    "https://brugerdatabasen.stil.dk/bpi/common/3");
	CU_ASSERT_EQUAL(a->wssec.timeout_ms, 10000);
	CU_ASSERT_EQUAL(a->wssec.retries, 2);

	CU_ASSERT_EQUAL_FATAL(cfg->n_identities, 5);
	id = &cfg->identities[0];
	CU_ASSERT_STRING_EQUAL(id->name, "dvv-interface");
	CU_ASSERT_STRING_EQUAL(id->key_label, "dvv-interface");
	CU_ASSERT_PTR_EQUAL(id->authority, &cfg->authorities[0]);
	CU_ASSERT_PTR_NULL(id->issuer);
	CU_ASSERT_EQUAL(id->uses, SG_USE_STAMP);
	CU_ASSERT_PTR_EQUAL(id->timestamp_authority, &cfg->authorities[3]);
	CU_ASSERT_EQUAL(id->index, 0);
	id = &cfg->identities[1];
	CU_ASSERT_STRING_EQUAL(id->name, "vero-ws");
	CU_ASSERT_PTR_NULL(id->authority);
	CU_ASSERT_PTR_EQUAL(id->issuer, &cfg->authorities[1]);
	CU_ASSERT_EQUAL(id->uses, 0);
	CU_ASSERT_STRING_EQUAL(id->customer_id, "0123456-7");
	CU_ASSERT_STRING_EQUAL(id->customer_name, "Example Oy");
	CU_ASSERT_EQUAL(id->auto_renew, 1);
	id = &cfg->identities[2];
	CU_ASSERT_STRING_EQUAL(id->key_label, "stil-oces3");
	CU_ASSERT_PTR_EQUAL(id->authority, &cfg->authorities[2]);
	CU_ASSERT_EQUAL(id->uses, SG_USE_SOAP);
	id = &cfg->identities[3];
	CU_ASSERT_STRING_EQUAL(id->name, "local-seal");
	CU_ASSERT_PTR_NULL(id->authority);
	CU_ASSERT_EQUAL(id->uses, SG_USE_SIGN);
	CU_ASSERT_PTR_NULL(id->customer_id);
	CU_ASSERT_EQUAL(id->auto_renew, 0);
	id = &cfg->identities[4];
	CU_ASSERT_STRING_EQUAL(id->name, "audit-signer");
	CU_ASSERT_EQUAL(id->uses, 0);
	CU_ASSERT_EQUAL(id->index, 4);

	CU_ASSERT_EQUAL_FATAL(cfg->n_clients, 4);
	c = &cfg->clients[0];
	CU_ASSERT_STRING_EQUAL(c->name, "billing");
	CU_ASSERT_EQUAL(c->token_sha256[0], 0xa3);
	CU_ASSERT_EQUAL(c->token_sha256[31], 0xfd);
	CU_ASSERT_EQUAL(c->roles, SG_ROLE_STAMP);
	CU_ASSERT_EQUAL_FATAL(c->n_identities, 3);
	CU_ASSERT_EQUAL(c->identities[0], 0);
	CU_ASSERT_EQUAL(c->identities[1], 2);
	CU_ASSERT_EQUAL(c->identities[2], 3);
	CU_ASSERT_EQUAL(cfg->clients[1].roles, SG_ROLE_AUDITOR);
	CU_ASSERT_EQUAL(cfg->clients[1].n_identities, 0);
	CU_ASSERT_PTR_NULL(cfg->clients[1].identities);
	CU_ASSERT_EQUAL(cfg->clients[2].roles, SG_ROLE_OFFICER);
	CU_ASSERT_EQUAL(cfg->clients[3].roles, SG_ROLE_MONITOR);
	CU_ASSERT_STRING_EQUAL(cfg->clients[3].name, "prometheus");
	sg_config_free(cfg);
}

static void
test_defaults(void)
{
	static const char minimal[] =
	    "{\"token\": {\"label\": \"t\"}, \"audit\": {\"dir\": \"/var/lib/sealgate/audit\"}}";
	struct sg_config *cfg = NULL;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(sg_config_load_string(minimal, strlen(minimal), "/etc/sealgate",
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(cfg->listen.address, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg->listen.port, 8440);
	CU_ASSERT_EQUAL(cfg->listen.threads, 8);
	CU_ASSERT_EQUAL(cfg->listen.max_connections_per_peer, 256);
	CU_ASSERT_PTR_NULL(cfg->token.module);
	CU_ASSERT_PTR_NULL(cfg->token.pin_file);
	CU_ASSERT_EQUAL(cfg->token.max_sessions, 16);
	CU_ASSERT_STRING_EQUAL(cfg->audit.dir, "/var/lib/sealgate/audit");
	CU_ASSERT_PTR_NULL(cfg->audit.checkpoint_identity);
	CU_ASSERT_EQUAL(cfg->audit.checkpoint_every_entries, 1000);
	CU_ASSERT_EQUAL(cfg->audit.checkpoint_every_seconds, 60);
	CU_ASSERT_EQUAL(cfg->audit.rotate_bytes, 268435456);
	CU_ASSERT_EQUAL(cfg->audit.group_commit_us, 0);
	CU_ASSERT_EQUAL(cfg->limits.max_document_bytes, 64 * 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->limits.max_json_bytes, 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->limits.max_soap_bytes, 4 * 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->limits.request_timeout_ms, 30000);
	CU_ASSERT_EQUAL(cfg->n_authorities, 0);
	CU_ASSERT_EQUAL(cfg->n_identities, 0);
	CU_ASSERT_EQUAL(cfg->n_clients, 0);
	sg_config_free(cfg);
}

/* Per-type defaults, a preset filling the WS-Security profile, port 0,
 * a partial limits object, null as "not set". */
/* Two public key pins (base64 of 32 bytes). */
#define PIN_A "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN_B "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="

static void
test_type_defaults_and_preset(void)
{
	static const char json[] =
	    "{\"listen\": {\"port\": 0, \"tls\": null},"
	    " \"token\": {\"label\": \"t\", \"module\": \"lib/p11.so\", \"pin_file\": null},"
	    " \"audit\": {\"dir\": \"audit/\"},"
	    " \"limits\": {\"max_json_bytes\": 2048},"
	    " \"authorities\": {"
	    "  \"csc\": {\"type\": \"csc-v2\", \"url\": \"https://x/\", \"ca_file\": \"/ca.pem\","
	    "           \"credential_id\": \"c\"},"
	    "  \"v\": {\"type\": \"vero-certservice\", \"url\": \"https://v/\", \"ca_file\": \"ca\","
	    "         \"response_signer_ca_file\": \"rs\", \"environment\": \"PRODUCTION\"},"
	    "  \"ipl\": {\"type\": \"wssec-soap\", \"url\": \"https://i/\", \"ca_file\": \"ca\","
	    "           \"preset\": \"stil-ipl\"},"
	    "  \"veu\": {\"type\": \"wssec-soap\", \"url\": \"https://i/services/VEU/{operation}/v1\","
	    "           \"ca_file\": \"ca\", \"preset\": \"stil-ipl\", \"verify_response\": true,"
	    "           \"response_signer_ca_file\": \"rs\","
	    "           \"operations\": [\"HentUdbud\", \"HentOptagedePladser\"],"
	    "           \"server_pins\": [\"sha256//" PIN_A "\", \"sha256//" PIN_B "\"]},"
	    "  \"bpi0\": {\"type\": \"wssec-soap\", \"url\": \"https://b/\", \"ca_file\": \"ca\","
	    "           \"preset\": \"stil-bpi\", \"verify_response\": false},"
	    "  \"bpi\": {\"type\": \"wssec-soap\", \"url\": \"https://b/\", \"ca_file\": \"ca\","
	    "           \"preset\": \"stil-bpi\", \"digest\": \"sha512\","
	    "           \"response_signer_ca_file\": \"rs\"}},"
	    " \"identities\": [{\"name\": \"v1\", \"key_label\": \"v1\", \"issuer\": \"v\","
	    "   \"uses\": [\"soap\"], \"authority\": \"bpi\", \"customer_id\": \"1234567-8\"}]}";
	struct sg_config *cfg = NULL;
	const struct sg_authority *a;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(sg_config_load_string(json, strlen(json), "/cfg", &cfg, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg->listen.port, 0);
	CU_ASSERT_STRING_EQUAL(cfg->token.module, "/cfg/lib/p11.so");
	CU_ASSERT_PTR_NULL(cfg->token.pin_file);
	CU_ASSERT_STRING_EQUAL(cfg->audit.dir, "/cfg/audit/");
	CU_ASSERT_EQUAL(cfg->limits.max_json_bytes, 2048);
	CU_ASSERT_EQUAL(cfg->limits.max_soap_bytes, 4 * 1024 * 1024);

	a = sg_config_authority(cfg, "csc");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->ca_file, "/ca.pem");
	/* Ours, not CSC's: off unless configured. */
	CU_ASSERT_EQUAL(a->csc.sign_request_body, 0);
	CU_ASSERT_EQUAL(a->csc.request_id_header, 0);
	CU_ASSERT_PTR_NULL(a->csc.authorization_file);
	CU_ASSERT_EQUAL(a->csc.timeout_ms, 10000);
	CU_ASSERT_EQUAL(a->csc.retries, 2);

	a = sg_config_authority(cfg, "v");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->vero.environment, SG_VERO_PRODUCTION);
	CU_ASSERT_STRING_EQUAL(a->vero.response_signer_ca_file, "/cfg/rs");
	CU_ASSERT_EQUAL(a->vero.renewal_window_days, 60);
	CU_ASSERT_EQUAL(a->vero.poll_interval_s, 30);
	CU_ASSERT_EQUAL(a->vero.poll_max, 10);

	a = sg_config_authority(cfg, "ipl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->wssec.preset, "stil-ipl");
	CU_ASSERT_EQUAL(a->wssec.soap_version, SG_SOAP_12);
	CU_ASSERT_EQUAL(a->wssec.signature, SG_XMLSIG_RSA_SHA1);
	CU_ASSERT_EQUAL(a->wssec.digest, SG_XMLDIGEST_SHA1);
	CU_ASSERT_EQUAL_FATAL(a->wssec.n_sign_parts, 2);
	CU_ASSERT_STRING_EQUAL(a->wssec.sign_parts[0], "Body");
	CU_ASSERT_STRING_EQUAL(a->wssec.sign_parts[1], "Timestamp");
	CU_ASSERT_EQUAL(a->wssec.timestamp_ttl_s, 300);
	CU_ASSERT_EQUAL(a->wssec.verify_response, 0);
	CU_ASSERT_PTR_NULL(a->wssec.response_signer_ca_file);
	CU_ASSERT_EQUAL(a->wssec.n_headers, 0);
	CU_ASSERT_PTR_NULL(a->wssec.header_namespace);
	CU_ASSERT_EQUAL(a->wssec.url_per_operation, 0);
	CU_ASSERT_PTR_NULL(a->wssec.operations);
	CU_ASSERT_PTR_NULL(a->wssec.server_pins);
	CU_ASSERT_EQUAL(sg_wssec_operation_check(&a->wssec, "HentUdbud"), 0);

	/* verify_response set against the preset's default, both ways; one
	 * URL per operation with an allow-list. */
	a = sg_config_authority(cfg, "veu");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->wssec.verify_response, 1);
	CU_ASSERT_STRING_EQUAL(a->wssec.response_signer_ca_file, "/cfg/rs");
	CU_ASSERT_EQUAL(a->wssec.url_per_operation, 1);
	CU_ASSERT_EQUAL_FATAL(a->wssec.n_operations, 2);
	CU_ASSERT_STRING_EQUAL(a->wssec.operations[1], "HentOptagedePladser");
	CU_ASSERT_EQUAL(sg_wssec_operation_check(&a->wssec, "HentUdbud"), 0);
	CU_ASSERT_EQUAL(sg_wssec_operation_check(&a->wssec, "HentTilmeldingerVeuInteressenter"),
	    SG_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(sg_wssec_operation_check(&a->wssec, "../HentUdbud"), SG_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(a->wssec.server_pins, "sha256//" PIN_A ";sha256//" PIN_B);
	a = sg_config_authority(cfg, "bpi0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->wssec.verify_response, 0);
	CU_ASSERT_PTR_NULL(a->wssec.response_signer_ca_file);

	/* An explicit field wins over the preset. */
	a = sg_config_authority(cfg, "bpi");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->wssec.signature, SG_XMLSIG_RSA_SHA256);
	CU_ASSERT_EQUAL(a->wssec.digest, SG_XMLDIGEST_SHA512);
	CU_ASSERT_EQUAL(a->wssec.n_sign_parts, 5);
	CU_ASSERT_EQUAL(a->wssec.verify_response, 1);
	CU_ASSERT_STRING_EQUAL(a->wssec.header_namespace,
	    "https://brugerdatabasen.stil.dk/bpi/common/3");

	/* Issued by Vero and used for SOAP: both references. */
	CU_ASSERT_PTR_EQUAL(cfg->identities[0].issuer, sg_config_authority(cfg, "v"));
	CU_ASSERT_PTR_EQUAL(cfg->identities[0].authority, sg_config_authority(cfg, "bpi"));
	CU_ASSERT_EQUAL(cfg->identities[0].auto_renew, 0);
	CU_ASSERT_PTR_NULL(cfg->identities[0].customer_name);
	sg_config_free(cfg);
}

static void
test_relative_to_config_dir(void)
{
	static const char json[] =
	    "{\"token\": {\"label\": \"t\", \"pin_file\": \"pin\", \"module\": \"m.so\"},"
	    " \"audit\": {\"dir\": \"../audit\"}}";
	struct sg_config *cfg = NULL;
	char cwd[PATH_MAX], err[512], want[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(write_file("sealgate.json", json, strlen(json), 0600), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	/* Loaded by a relative name from elsewhere: paths must still be the
	 * config directory's, and absolute. */
	CU_ASSERT_EQUAL_FATAL(chdir(fixture_dir), 0);
	CU_ASSERT_EQUAL(sg_config_load_file("./sealgate.json", &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	expect_fixture_path(cfg->token.pin_file, "pin");
	expect_fixture_path(cfg->token.module, "m.so");
	expect_fixture_path(cfg->audit.dir, "../audit");
	sg_config_free(cfg);

	/* Without a base directory, relative paths stay as written. */
	CU_ASSERT_EQUAL_FATAL(chdir(fixture_dir), 0);
	CU_ASSERT_EQUAL(sg_config_load_string(json, strlen(json), NULL, &cfg, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->token.pin_file, "pin");
	sg_config_free(cfg);

	/* From the load_file path, a relative base is the config's directory
	 * even when the working directory is somewhere else. */
	CU_ASSERT_EQUAL_FATAL(fixture_path("sealgate.json", want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(sg_config_load_file(want, &cfg, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	expect_fixture_path(cfg->token.module, "m.so");
	sg_config_free(cfg);
}

struct bad_case {
	const char *what;
	const char *find;
	const char *repl;	/* NULL: cut the text just before find */
	int expect;
	const char *path;	/* the message must start with "<path>: " */
	const char *why;	/* and contain this, when not NULL */
};

static const struct bad_case bad_cases[] = {
	{ "unknown top-level key", "\"listen\": {", "\"listne\": {}, \"listen\": {",
	  SG_ERR_CONFIG, "$.listne", "unknown key" },
	{ "unknown nested key", "\"threads\": 8,", "\"threads\": 8, \"thread\": 8,",
	  SG_ERR_CONFIG, "$.listen.thread", "unknown key" },
	{ "typo in identities[1]", "\"key_label\": \"vero-ws\"", "\"key_lable\": \"vero-ws\"",
	  SG_ERR_CONFIG, "$.identities[1].key_lable", "unknown key" },
	{ "unknown key for the authority's type", "\"retries\": 2",
	  "\"retries\": 2, \"environment\": \"TEST\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-stamp'].environment", "for a csc-v2 authority" },
	{ "rfc3161 without tsa_ca_file", "\"tsa_ca_file\": \"sim/tsa-ca.pem\",", "",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].tsa_ca_file", "required" },
	{ "rfc3161 policy that is no OID", "\"1.2.246.517.1\"", "\"1.2.x\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].policy", "dotted OID" },
	{ "rfc3161 policy with a leading zero", "\"1.2.246.517.1\"", "\"1.02\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].policy", "dotted OID" },
	{ "rfc3161 policy of one arc", "\"1.2.246.517.1\"", "\"1\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].policy", "dotted OID" },
	{ "rfc3161 over plain http", "\"https://127.0.0.1:8454/tsa\"", "\"http://127.0.0.1:8454/tsa\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].url", "https://" },
	{ "rfc3161 with a member of another type", "\"timeout_ms\": 5000 }",
	  "\"timeout_ms\": 5000, \"credential_id\": \"x\" }",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].credential_id", "for a rfc3161 authority" },
	{ "rfc3161 timeout_ms of 0", "\"timeout_ms\": 5000 }", "\"timeout_ms\": 0 }",
	  SG_ERR_CONFIG, "$.authorities['dvv-tsa'].timeout_ms", NULL },
	{ "identity naming an rfc3161 authority", "\"authority\": \"dvv-stamp\"",
	  "\"authority\": \"dvv-tsa\"",
	  SG_ERR_CONFIG, "$.identities[0].authority", "rfc3161" },
	{ "timestamp_authority that is not rfc3161", "\"timestamp_authority\": \"dvv-tsa\"",
	  "\"timestamp_authority\": \"dvv-stamp\"",
	  SG_ERR_CONFIG, "$.identities[0].timestamp_authority", "must be rfc3161" },
	{ "timestamp_authority unknown", "\"timestamp_authority\": \"dvv-tsa\"",
	  "\"timestamp_authority\": \"nosuch\"",
	  SG_ERR_CONFIG, "$.identities[0].timestamp_authority", "no authority named" },
	{ "timestamp_authority on an identity that does not stamp", "\"uses\": [\"sign\"] }",
	  "\"uses\": [\"sign\"], \"timestamp_authority\": \"dvv-tsa\" }",
	  SG_ERR_CONFIG, "$.identities[3].timestamp_authority", "use \"stamp\"" },
	{ "duplicate key", "\"port\": 8440,", "\"port\": 8440, \"port\": 1,",
	  SG_ERR_CONFIG, "$.listen.port", "duplicate key" },
	{ "duplicate authority", "\"vero\":      {", "\"stil-bpi\": {",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi']", "duplicate key" },
	{ "broken authority reference", "\"authority\": \"stil-bpi\"",
	  "\"authority\": \"stil-bpj\"",
	  SG_ERR_CONFIG, "$.identities[2].authority", "no authority named \"stil-bpj\"" },
	{ "sign identity with an authority", "{ \"name\": \"local-seal\",",
	  "{ \"authority\": \"dvv-stamp\", \"name\": \"local-seal\",",
	  SG_ERR_CONFIG, "$.identities[3].authority", "\"sign\"" },
	{ "stamp identity with a wssec-soap authority", "\"authority\": \"dvv-stamp\"",
	  "\"authority\": \"stil-bpi\"",
	  SG_ERR_CONFIG, "$.identities[0].authority", "needs csc-v2" },
	{ "soap identity with a csc-v2 authority", "\"authority\": \"stil-bpi\"",
	  "\"authority\": \"dvv-stamp\"",
	  SG_ERR_CONFIG, "$.identities[2].authority", "needs wssec-soap" },
	{ "stamp identity without an authority", "\"authority\": \"dvv-stamp\", ", "",
	  SG_ERR_CONFIG, "$.identities[0].uses", "needs an authority of type csc-v2" },
	{ "vero authority named as authority", "\"uses\": [],\n      \"customer_id\"",
	  "\"uses\": [], \"authority\": \"vero\",\n      \"customer_id\"",
	  SG_ERR_CONFIG, "$.identities[1].authority", "issuer" },
	{ "issuer of the wrong type", "\"issuer\": \"vero\"", "\"issuer\": \"dvv-stamp\"",
	  SG_ERR_CONFIG, "$.identities[1].issuer", "vero-certservice" },
	{ "enrolment data without an issuer", "\"uses\": [\"sign\"]",
	  "\"uses\": [\"sign\"], \"customer_id\": \"1\"",
	  SG_ERR_CONFIG, "$.identities[3].customer_id", "issuer" },
	{ "client references a missing identity", "\"local-seal\"] }",
	  "\"local-sael\"] }",
	  SG_ERR_CONFIG, "$.clients[0].identities[2]", "no identity named \"local-sael\"" },
	{ "client lists an identity twice", "\"stil-system\", \"local-seal\"]",
	  "\"stil-system\", \"stil-system\"]",
	  SG_ERR_CONFIG, "$.clients[0].identities[2]", "twice" },
	{ "bad role", "\"roles\": [\"officer\"]", "\"roles\": [\"oficer\"]",
	  SG_ERR_CONFIG, "$.clients[2].roles[0]", "unknown role \"oficer\"" },
	{ "no role", "\"roles\": [\"auditor\"]", "\"roles\": []",
	  SG_ERR_CONFIG, "$.clients[1].roles", "at least one role" },
	{ "bad use", "\"uses\": [\"soap\"]", "\"uses\": [\"soap\", \"sing\"]",
	  SG_ERR_CONFIG, "$.identities[2].uses[1]", "unknown use \"sing\"" },
	{ "use listed twice", "\"uses\": [\"sign\"]", "\"uses\": [\"sign\", \"sign\"]",
	  SG_ERR_CONFIG, "$.identities[3].uses[1]", "twice" },
	{ "bad hex token", HASH_OFFICER,
	  "3e4f1189ca4e64f6981981adad73798a940b771ae89bf869c31af1d0ac2bd4cg",
	  SG_ERR_CONFIG, "$.clients[2].token_sha256", "64 hex digits" },
	{ "short token", HASH_OFFICER,
	  "3e4f1189ca4e64f6981981adad73798a940b771ae89bf869c31af1d0ac2bd4c",
	  SG_ERR_CONFIG, "$.clients[2].token_sha256", "64 hex digits" },
	{ "same token twice", HASH_MONITOR, HASH_AUDITOR,
	  SG_ERR_CONFIG, "$.clients[3].token_sha256", "$.clients[1]" },
	{ "duplicate identity name", "\"name\": \"audit-signer\", \"key_label\"",
	  "\"name\": \"local-seal\", \"key_label\"",
	  SG_ERR_CONFIG, "$.identities[4].name", "also $.identities[3]" },
	{ "two identities on one key", "\"key_label\": \"local-seal\"",
	  "\"key_label\": \"dvv-interface\"",
	  SG_ERR_CONFIG, "$.identities[3].key_label", "$.identities[0]" },
	{ "duplicate client name", "\"name\": \"prometheus\"", "\"name\": \"officer\"",
	  SG_ERR_CONFIG, "$.clients[3].name", "also $.clients[2]" },
	{ "name unusable in a URL", "\"name\": \"local-seal\"", "\"name\": \"../seal\"",
	  SG_ERR_CONFIG, "$.identities[3].name", "not a valid name" },
	{ "checkpoint identity missing", "\"checkpoint_identity\": \"audit-signer\"",
	  "\"checkpoint_identity\": \"nobody\"",
	  SG_ERR_CONFIG, "$.audit.checkpoint_identity", "no identity named \"nobody\"" },
	{ "checkpoint identity clients can sign with",
	  "\"checkpoint_identity\": \"audit-signer\"",
	  "\"checkpoint_identity\": \"local-seal\"",
	  SG_ERR_CONFIG, "$.audit.checkpoint_identity", "none of them" },
	{ "checkpoint identity with an issuer",
	  "\"checkpoint_identity\": \"audit-signer\"",
	  "\"checkpoint_identity\": \"vero-ws\"",
	  SG_ERR_CONFIG, "$.audit.checkpoint_identity", "issuer" },
	{ "checkpoint identity on a stamp interface key",
	  "\"checkpoint_identity\": \"audit-signer\"",
	  "\"checkpoint_identity\": \"dvv-interface\"",
	  SG_ERR_CONFIG, "$.audit.checkpoint_identity", "none of them" },
	{ "sign on an identity with an issuer", "\"issuer\": \"vero\", \"uses\": []",
	  "\"issuer\": \"vero\", \"uses\": [\"sign\"]",
	  SG_ERR_CONFIG, "$.identities[1].uses", "not allowed on an identity with an \"issuer\"" },
	{ "sign beside stamp on an authority's identity", "\"uses\": [\"stamp\"]",
	  "\"uses\": [\"stamp\", \"sign\"]",
	  SG_ERR_CONFIG, "$.identities[0].authority", "never sign arbitrary digests" },
	{ "a label renewal stages its new key under", "\"key_label\": \"local-seal\"",
	  "\"key_label\": \"vero-ws.next\"",
	  SG_ERR_CONFIG, "$.identities[3].key_label", "reserved" },
	{ "a label renewal retires an old key under", "\"key_label\": \"local-seal\"",
	  "\"key_label\": \"vero-ws.retired-20260101T000000Z\"",
	  SG_ERR_CONFIG, "$.identities[3].key_label", "reserved" },
	{ "group commit over 100 ms", "\"group_commit_us\": 2000", "\"group_commit_us\": 100001",
	  SG_ERR_CONFIG, "$.audit.group_commit_us", "from 0 to 100000" },
	{ "port out of range", "\"port\": 8440", "\"port\": 65536",
	  SG_ERR_CONFIG, "$.listen.port", "from 0 to 65535" },
	{ "port negative", "\"port\": 8440", "\"port\": -1",
	  SG_ERR_CONFIG, "$.listen.port", "from 0 to 65535" },
	{ "port not an integer", "\"port\": 8440", "\"port\": 8440.5",
	  SG_ERR_CONFIG, "$.listen.port", "integer" },
	{ "port as a string", "\"port\": 8440", "\"port\": \"8440\"",
	  SG_ERR_CONFIG, "$.listen.port", "not a string" },
	{ "threads zero", "\"threads\": 8", "\"threads\": 0",
	  SG_ERR_CONFIG, "$.listen.threads", "from 1 to 1024" },
	{ "no connection for a peer", "\"threads\": 8", "\"threads\": 8, \"max_connections_per_peer\": 0",
	  SG_ERR_CONFIG, "$.listen.max_connections_per_peer", "from 1 to 1024" },
	{ "max_sessions too large", "\"max_sessions\": 16", "\"max_sessions\": 1025",
	  SG_ERR_CONFIG, "$.token.max_sessions", "from 1 to 1024" },
	{ "limit zero", "\"max_json_bytes\": 1048576", "\"max_json_bytes\": 0",
	  SG_ERR_CONFIG, "$.limits.max_json_bytes", "from 1 to" },
	{ "tls unknown member", "\"tls\": null", "\"tls\": {\"cert\": \"c.pem\"}",
	  SG_ERR_CONFIG, "$.listen.tls.cert", "unknown key" },
	{ "tls not an object", "\"tls\": null", "\"tls\": true",
	  SG_ERR_CONFIG, "$.listen.tls", "object or null" },
	{ "tls without a key", "\"tls\": null", "\"tls\": {\"cert_file\": \"c.pem\"}",
	  SG_ERR_CONFIG, "$.listen.tls.key_file", "missing" },
	{ "tls key others may read", "\"tls\": null",
	  "\"tls\": {\"cert_file\": \"c.pem\", \"key_file\": \"pin-open\"}",
	  SG_ERR_CONFIG, "$.listen.tls.key_file", "chmod 600" },
	{ "tls CRL without a client CA", "\"tls\": null",
	  "\"tls\": {\"cert_file\": \"c.pem\", \"key_file\": \"pin\", \"crl_file\": \"c.crl\"}",
	  SG_ERR_CONFIG, "$.listen.tls.crl_file", "client_ca_file" },
	{ "plain HTTP off loopback", "\"address\": \"127.0.0.1\"", "\"address\": \"10.1.2.3\"",
	  SG_ERR_CONFIG, "$.listen.address", "not a loopback address" },
	{ "plain HTTP on every IPv6 address", "\"address\": \"127.0.0.1\"", "\"address\": \"::\"",
	  SG_ERR_CONFIG, "$.listen.address", "set $.listen.tls" },
	{ "a client known by nothing", "\"token_sha256\": \"" HASH_BILLING "\", ", "",
	  SG_ERR_CONFIG, "$.clients[0]", "needs token_sha256" },
	{ "a certificate client without a client CA", "\"token_sha256\": \"" HASH_BILLING "\", ",
	  "\"cert_sha256\": \"" HASH_AUDITOR "\", ",
	  SG_ERR_CONFIG, "$.clients[0].cert_sha256", "client_ca_file" },
	{ "missing required key", "\"label\": \"sealgate\",", "",
	  SG_ERR_CONFIG, "$.token.label", "missing" },
	{ "required key null", "\"label\": \"sealgate\"", "\"label\": null",
	  SG_ERR_CONFIG, "$.token.label", "null" },
	{ "empty string", "\"label\": \"sealgate\"", "\"label\": \"\"",
	  SG_ERR_CONFIG, "$.token.label", "empty" },
	{ "wrong type for an array", "\"uses\": [\"stamp\"]", "\"uses\": \"stamp\"",
	  SG_ERR_CONFIG, "$.identities[0].uses", "must be an array, not a string" },
	{ "wrong type for a section",
	  "\"limits\": { \"max_document_bytes\": 67108864, \"max_json_bytes\": 1048576,\n"
	  "              \"max_soap_bytes\": 4194304, \"request_timeout_ms\": 30000 }",
	  "\"limits\": [30000]",
	  SG_ERR_CONFIG, "$.limits", "must be an object, not an array" },
	{ "wrong type for a map", "{ \"UdbydersystemId\": \"12345\" }", "[\"12345\"]",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].headers", "must be an object" },
	{ "boolean as a string", "\"sign_request_body\": true", "\"sign_request_body\": \"yes\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-stamp'].sign_request_body", "true or false" },
	{ "oauth2_token_url without oauth2_client_id", "\"sign_request_body\": true",
	  "\"sign_request_body\": true, \"oauth2_token_url\": \"https://127.0.0.1:8451/token\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-stamp']", "go together" },
	{ "oauth2_token_url over plain http", "\"sign_request_body\": true",
	  "\"sign_request_body\": true, \"oauth2_token_url\": \"http://127.0.0.1:8451/token\", "
	  "\"oauth2_client_id\": \"gw\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-stamp']", "must be https://" },
	{ "plain http authority", "\"url\": \"https://127.0.0.1:8451/csc/v2/\"",
	  "\"url\": \"http://127.0.0.1:8451/csc/v2/\"",
	  SG_ERR_CONFIG, "$.authorities['dvv-stamp'].url", "https://" },
	{ "vero without environment", "\"environment\": \"TEST\", ", "",
	  SG_ERR_CONFIG, "$.authorities.vero.environment", "missing" },
	{ "vero bad environment", "\"environment\": \"TEST\"", "\"environment\": \"test\"",
	  SG_ERR_CONFIG, "$.authorities.vero.environment", "\"PRODUCTION\", \"TEST\"" },
	{ "unknown soap version", "\"soap_version\": \"1.2\"", "\"soap_version\": \"1.3\"",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].soap_version", "\"1.1\", \"1.2\"" },
	{ "soap version as a number", "\"soap_version\": \"1.2\"", "\"soap_version\": 1.2",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].soap_version", "not a number" },
	{ "sign_parts without Body", "[\"Body\", \"Timestamp\",", "[\"Timestamp\",",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].sign_parts", "Body" },
	{ "verify_response without a CA", ", \"response_signer_ca_file\": \"sim/stil-ca.pem\"",
	  "", SG_ERR_CONFIG, "$.authorities['stil-bpi'].response_signer_ca_file", "missing" },
	{ "stil-ipl asked to verify answers without a CA",
	  ", \"response_signer_ca_file\": \"sim/stil-ca.pem\"", ", \"preset\": \"stil-ipl\"",
	  SG_ERR_CONFIG,
	  "$.authorities['stil-bpi'].response_signer_ca_file", "missing" },
	{ "{operation} in the host", "https://127.0.0.1:8453/bpi/wsiinst/6",
	  "https://{operation}.example/bpi", SG_ERR_CONFIG, "$.authorities['stil-bpi'].url",
	  "once, in its path" },
	{ "{operation} twice", "https://127.0.0.1:8453/bpi/wsiinst/6",
	  "https://127.0.0.1:8453/{operation}/{operation}", SG_ERR_CONFIG,
	  "$.authorities['stil-bpi'].url", "once, in its path" },
	{ "another mark in the url", "https://127.0.0.1:8453/bpi/wsiinst/6",
	  "https://127.0.0.1:8453/{op}/v1", SG_ERR_CONFIG, "$.authorities['stil-bpi'].url",
	  "{operation}" },
	{ "{operation} with a query", "https://127.0.0.1:8453/bpi/wsiinst/6",
	  "https://127.0.0.1:8453/{operation}?v=1", SG_ERR_CONFIG, "$.authorities['stil-bpi'].url",
	  "query" },
	{ "operations without {operation} in the url", "\"timestamp_ttl_s\": 300,",
	  "\"timestamp_ttl_s\": 300, \"operations\": [\"hentInstitution\"],", SG_ERR_CONFIG,
	  "$.authorities['stil-bpi'].operations", "needs {operation} in the url" },
	{ "an operation that is a path", "https://127.0.0.1:8453/bpi/wsiinst/6\",",
	  "https://127.0.0.1:8453/VEU/{operation}/v1\", \"operations\": [\"HentUdbud\", \"../x\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].operations[1]", "not a valid operation name" },
	{ "an operation with a dot", "https://127.0.0.1:8453/bpi/wsiinst/6\",",
	  "https://127.0.0.1:8453/VEU/{operation}/v1\", \"operations\": [\"Hent.Udbud\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].operations[0]", "not a valid operation name" },
	{ "an operation listed twice", "https://127.0.0.1:8453/bpi/wsiinst/6\",",
	  "https://127.0.0.1:8453/VEU/{operation}/v1\", \"operations\": [\"HentUdbud\", \"HentUdbud\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].operations[1]", "listed twice" },
	{ "a server pin without sha256//", "\"timestamp_ttl_s\": 300,",
	  "\"timestamp_ttl_s\": 300, \"server_pins\": [\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].server_pins[0]", "not a valid pin name" },
	{ "a server pin of the wrong length", "\"timestamp_ttl_s\": 300,",
	  "\"timestamp_ttl_s\": 300, \"server_pins\": [\"sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF=\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].server_pins[0]", "SubjectPublicKeyInfo" },
	{ "a server pin with a separator in it", "\"timestamp_ttl_s\": 300,",
	  "\"timestamp_ttl_s\": 300, \"server_pins\": [\"sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NM;JWZG3hSuFU=\"],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].server_pins[0]", "not a valid pin name" },
	{ "an empty operations list", "https://127.0.0.1:8453/bpi/wsiinst/6\",",
	  "https://127.0.0.1:8453/VEU/{operation}/v1\", \"operations\": [],",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].operations", "1 to 64" },
	{ "header value not a string", "{ \"UdbydersystemId\": \"12345\" }",
	  "{ \"UdbydersystemId\": 12345 }",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].headers.UdbydersystemId", "string" },
	{ "unknown preset", "\"soap_version\": \"1.2\"", "\"preset\": \"stil\"",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].preset", "unknown preset" },
	{ "a header of unknown namespace", "{ \"UdbydersystemId\": \"12345\" }",
	  "{ \"UdbydersystemId\": \"12345\", \"Tenant\": \"7\" }",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].header_namespace", "\"Tenant\"" },
	{ "a header value with a line break", "{ \"UdbydersystemId\": \"12345\" }",
	  "{ \"UdbydersystemId\": \"12\\n345\" }",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].headers.UdbydersystemId", "control characters" },
	{ "soap retries above the forwarder's limit", "\"timestamp_ttl_s\": 300,",
	  "\"timestamp_ttl_s\": 300, \"retries\": 6,",
	  SG_ERR_CONFIG, "$.authorities['stil-bpi'].retries", "5" },
	{ "pin file mode 0644", "\"pin_file\": \"pin\"", "\"pin_file\": \"pin-open\"",
	  SG_ERR_CONFIG, "$.token.pin_file", "mode 0644" },
	{ "pin file missing", "\"pin_file\": \"pin\"", "\"pin_file\": \"no-such-pin\"",
	  SG_ERR_CONFIG, "$.token.pin_file", "No such file" },
	{ "pin file a directory", "\"pin_file\": \"pin\"", "\"pin_file\": \".\"",
	  SG_ERR_CONFIG, "$.token.pin_file", "not a regular file" },
	{ "truncated JSON", "  \"clients\": [", NULL,
	  SG_ERR_PARSE, "$", "unexpected end of input" },
	{ "trailing garbage", "  ]\n}\n", "  ]\n}\n}",
	  SG_ERR_PARSE, "$", "invalid JSON at byte" },
	{ "syntax error", "\"threads\": 8,", "\"threads\": 8,,",
	  SG_ERR_PARSE, "$", "line 2, column" },
};

static void
test_bad_configs(void)
{
	struct sg_config *cfg;
	size_t i, plen;
	char *json, err[512];
	int r;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];

		json = mutate(full_config, bc->find, bc->repl);
		if (json == NULL) {
			fprintf(stderr, "\n  case \"%s\": find string not unique\n", bc->what);
			CU_FAIL("mutation does not apply");
			continue;
		}
		cfg = (struct sg_config *)&cfg;	/* must be reset to NULL */
		memset(err, 'x', sizeof(err));
		r = sg_config_load_string(json, strlen(json), fixture_dir, &cfg, err, sizeof(err));
		plen = strlen(bc->path);
		if (r != bc->expect || strncmp(err, bc->path, plen) != 0 ||
		    strncmp(err + plen, ": ", 2) != 0 ||
		    (bc->why != NULL && strstr(err, bc->why) == NULL) || strchr(err, '\n') != NULL)
			fprintf(stderr, "\n  case \"%s\": r=%d, message \"%s\"\n", bc->what, r,
			    r != 0 ? err : "");
		CU_ASSERT_EQUAL(r, bc->expect);
		CU_ASSERT_PTR_NULL(cfg);
		CU_ASSERT_NSTRING_EQUAL(err, bc->path, plen);
		CU_ASSERT_NSTRING_EQUAL(err + plen, ": ", 2);
		if (bc->why != NULL)
			CU_ASSERT_PTR_NOT_NULL(strstr(err, bc->why));
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		if (cfg != (struct sg_config *)&cfg)
			sg_config_free(cfg);
		free(json);
	}
}

/* HTTPS with client certificates: the members land where they should. */
static void
test_tls_clients(void)
{
	struct sg_config *cfg = NULL;
	const struct sg_client *c;
	unsigned char fp[32] = { 0 };
	char *json, *json2, err[512];
	int r;

	json = mutate(full_config, "\"tls\": null", "\"tls\": {\"cert_file\": \"s.pem\", "
	    "\"key_file\": \"pin\", \"client_ca_file\": \"ca.pem\", \"crl_file\": \"ca.crl\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	json2 = mutate(json, "\"token_sha256\": \"" HASH_AUDITOR "\", ",
	    "\"token_sha256\": \"" HASH_AUDITOR "\", \"cert_subject\": \"CN=a,O=b\", "
	    "\"cert_issuer\": \"CN=ca\", ");
	free(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json2);
	json = mutate(json2, "\"token_sha256\": \"" HASH_MONITOR "\", ",
	    "\"cert_sha256\": \"" HASH_OFFICER "\", ");
	free(json2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	r = sg_config_load_string(json, strlen(json), fixture_dir, &cfg, err, sizeof(err));
	free(json);
	if (r != 0)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->listen.tls);
	CU_ASSERT_STRING_EQUAL(cfg->listen.tls->priorities, SG_TLS_DEFAULT_PRIORITIES);
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg->listen.tls->crl_file, "/ca.crl"));
	c = sg_config_client_by_cert(cfg, fp, "CN=a,O=b", "CN=ca");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->name, "auditor");
	CU_ASSERT(c->has_token && sg_client_has_cert(c));
	CU_ASSERT_PTR_NULL(sg_config_client_by_cert(cfg, fp, "CN=a,O=b", "CN=other ca"));
	c = sg_config_client_by_name(cfg, "prometheus");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT(!c->has_token && c->has_cert_sha256);
	CU_ASSERT_EQUAL(c->cert_sha256[0], 0x3e);
	CU_ASSERT_PTR_EQUAL(sg_config_client_by_cert(cfg, c->cert_sha256, NULL, NULL), c);
	/* A client without a token is never found by one. */
	memset(fp, 0, sizeof(fp));
	CU_ASSERT_PTR_NULL(sg_config_client_by_token(cfg, fp));
	CU_ASSERT(sg_client_same(c, c));
	CU_ASSERT(!sg_client_same(c, sg_config_client_by_name(cfg, "auditor")));
	sg_config_free(cfg);
}

/* The whole example survives every mutation harness check above only if
 * the harness itself finds nothing wrong with the unmutated text. */
static void
test_example_from_string(void)
{
	struct sg_config *cfg = NULL;
	char err[512];

	CU_ASSERT_EQUAL(sg_config_load_string(full_config, strlen(full_config), fixture_dir,
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(cfg);
	sg_config_free(cfg);
}

static void
test_parse_offset(void)
{
	static const char json[] = "{\"token\": {\"label\": tru}}";
	struct sg_config *cfg = NULL;
	char *cut, err[256], want[128];
	size_t cut_len;

	CU_ASSERT_EQUAL(sg_config_load_string(json, strlen(json), NULL, &cfg, err,
	    sizeof(err)), SG_ERR_PARSE);
	/* cJSON stops at the start of the value it could not read. */
	CU_ASSERT_STRING_EQUAL(err, "$: invalid JSON at byte 20 (line 1, column 21)");

	cut = mutate(full_config, "  \"clients\": [", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
	cut_len = strlen(cut);
	CU_ASSERT_EQUAL(sg_config_load_string(cut, cut_len, fixture_dir, &cfg, err,
	    sizeof(err)), SG_ERR_PARSE);
	CU_ASSERT(snprintf(want, sizeof(want), "$: invalid JSON at byte %zu ", cut_len) > 0);
	CU_ASSERT_NSTRING_EQUAL(err, want, strlen(want));
	free(cut);

	CU_ASSERT_EQUAL(sg_config_load_string("", 0, NULL, &cfg, err, sizeof(err)), SG_ERR_PARSE);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(sg_config_load_string("{} \0 {}", 7, NULL, &cfg, err, sizeof(err)),
	    SG_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(err, "$: invalid JSON at byte 3: NUL byte");
	CU_ASSERT_EQUAL(sg_config_load_string("[]", 2, NULL, &cfg, err, sizeof(err)),
	    SG_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "$: must be an object, not an array");
	/* A JSON text need not be NUL-terminated: only len bytes are read. */
	CU_ASSERT_EQUAL(sg_config_load_string("{}garbage", 2, NULL, &cfg, err, sizeof(err)),
	    SG_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err, "$.token: missing (required)");
}

static void
test_file_errors(void)
{
	struct sg_config *cfg = NULL;
	char path[PATH_MAX], err[512], small[24], *big;
	size_t big_len = SG_CONFIG_MAX_BYTES + 1;

	CU_ASSERT_EQUAL(sg_config_load_file("/nonexistent/sealgate.json", &cfg, err,
	    sizeof(err)), SG_ERR_IO);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/sealgate.json: No such file or directory");
	CU_ASSERT_EQUAL(sg_config_load_file(fixture_dir, &cfg, err, sizeof(err)), SG_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));

	/* One byte over the cap is refused, from a file and from memory. */
	big = malloc(big_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', big_len);
	big[0] = '{';
	big[big_len - 1] = '}';
	CU_ASSERT_EQUAL_FATAL(write_file("big.json", big, big_len, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_path("big.json", path, sizeof(path)), 0);
	CU_ASSERT_EQUAL(sg_config_load_file(path, &cfg, err, sizeof(err)), SG_ERR_TOO_LARGE);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than 1048576 bytes"));
	CU_ASSERT_EQUAL(sg_config_load_string(big, big_len, NULL, &cfg, err, sizeof(err)),
	    SG_ERR_TOO_LARGE);
	free(big);

	/* A message cut to the caller's buffer says so. */
	CU_ASSERT_EQUAL(sg_config_load_string("[]", 2, NULL, &cfg, small, sizeof(small)),
	    SG_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(small, "$: must be an object...");
	/* No buffer at all is fine. */
	CU_ASSERT_EQUAL(sg_config_load_string("[]", 2, NULL, &cfg, NULL, 0), SG_ERR_CONFIG);
	sg_config_free(NULL);
}

static void
test_hostile_names_in_messages(void)
{
	static const char json[] =
	    "{\"token\": {\"label\": \"t\"}, \"audit\": {\"dir\": \"a\"},"
	    " \"authorities\": {\"a\\nb'c\": {}}}";
	static const char want[] = "$.authorities['a\\x0ab\\'c']: not a valid authority name";
	struct sg_config *cfg = NULL;
	char err[512];

	/* Control characters never reach the one-line message raw. */
	CU_ASSERT_EQUAL(sg_config_load_string(json, strlen(json), NULL, &cfg, err,
	    sizeof(err)), SG_ERR_CONFIG);
	CU_ASSERT_NSTRING_EQUAL(err, want, strlen(want));
}

static void
sha256(const char *s, unsigned char out[32])
{
	unsigned int n = 0;

	CU_ASSERT_FATAL(EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) == 1);
	CU_ASSERT_EQUAL(n, 32);
}

static void
test_lookups(void)
{
	struct sg_config *cfg = load_full_from_file();
	const struct sg_identity *stamp, *vero, *seal, *audit;
	const struct sg_client *billing, *auditor;
	unsigned char h[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_PTR_EQUAL(sg_config_authority(cfg, "vero"), &cfg->authorities[1]);
	CU_ASSERT_PTR_NULL(sg_config_authority(cfg, "VERO"));
	CU_ASSERT_PTR_NULL(sg_config_authority(NULL, "vero"));
	stamp = sg_config_identity(cfg, "dvv-interface");
	vero = sg_config_identity(cfg, "vero-ws");
	seal = sg_config_identity(cfg, "local-seal");
	audit = sg_config_identity(cfg, "audit-signer");
	CU_ASSERT_PTR_EQUAL(stamp, &cfg->identities[0]);
	CU_ASSERT_PTR_EQUAL(seal, &cfg->identities[3]);
	CU_ASSERT_PTR_NULL(sg_config_identity(cfg, "nobody"));
	CU_ASSERT_PTR_NULL(sg_config_identity(cfg, NULL));

	sha256("billing-token", h);
	billing = sg_config_client_by_token(cfg, h);
	CU_ASSERT_PTR_EQUAL(billing, &cfg->clients[0]);
	sha256("auditor-token", h);
	auditor = sg_config_client_by_token(cfg, h);
	CU_ASSERT_PTR_EQUAL(auditor, &cfg->clients[1]);
	sha256("prometheus-token", h);
	CU_ASSERT_PTR_EQUAL(sg_config_client_by_token(cfg, h), &cfg->clients[3]);
	h[31] ^= 1;
	CU_ASSERT_PTR_NULL(sg_config_client_by_token(cfg, h));
	sha256("billing-token ", h);
	CU_ASSERT_PTR_NULL(sg_config_client_by_token(cfg, h));
	CU_ASSERT_PTR_NULL(sg_config_client_by_token(NULL, h));

	CU_ASSERT_TRUE(sg_client_may_use(billing, stamp));
	CU_ASSERT_TRUE(sg_client_may_use(billing, seal));
	CU_ASSERT_TRUE(sg_client_may_use(billing, sg_config_identity(cfg, "stil-system")));
	CU_ASSERT_FALSE(sg_client_may_use(billing, vero));
	CU_ASSERT_FALSE(sg_client_may_use(billing, audit));
	CU_ASSERT_FALSE(sg_client_may_use(auditor, stamp));
	CU_ASSERT_FALSE(sg_client_may_use(NULL, stamp));
	CU_ASSERT_FALSE(sg_client_may_use(billing, NULL));
	sg_config_free(cfg);
}

/* Identities granted to a client without the stamp role give it nothing. */
static void
test_may_use_needs_stamp_role(void)
{
	static const char json[] =
	    "{\"token\": {\"label\": \"t\"}, \"audit\": {\"dir\": \"a\"},"
	    " \"identities\": [{\"name\": \"s\", \"key_label\": \"s\", \"uses\": [\"sign\"]}],"
	    " \"clients\": [{\"name\": \"o\", \"token_sha256\": \"" HASH_OFFICER "\","
	    "   \"roles\": [\"officer\", \"monitor\"], \"identities\": [\"s\"]},"
	    "  {\"name\": \"p\", \"token_sha256\": \"" HASH_BILLING "\","
	    "   \"roles\": [\"stamp\", \"auditor\"], \"identities\": [\"s\"]}]}";
	struct sg_config *cfg = NULL;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(sg_config_load_string(json, strlen(json), NULL, &cfg, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg->clients[0].roles, SG_ROLE_OFFICER | SG_ROLE_MONITOR);
	CU_ASSERT_EQUAL(cfg->clients[1].roles, SG_ROLE_STAMP | SG_ROLE_AUDITOR);
	CU_ASSERT_FALSE(sg_client_may_use(&cfg->clients[0], &cfg->identities[0]));
	CU_ASSERT_TRUE(sg_client_may_use(&cfg->clients[1], &cfg->identities[0]));
	sg_config_free(cfg);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "the full example, every field", test_full_example },
		{ "the full example from a string", test_example_from_string },
		{ "defaults", test_defaults },
		{ "authority defaults and presets", test_type_defaults_and_preset },
		{ "paths relative to the config directory", test_relative_to_config_dir },
		{ "bad configurations name their JSON path", test_bad_configs },
		{ "JSON syntax errors give the byte offset", test_parse_offset },
		{ "file errors and size cap", test_file_errors },
		{ "hostile names are escaped in messages", test_hostile_names_in_messages },
		{ "lookups", test_lookups },
		{ "HTTPS and client certificates", test_tls_clients },
		{ "may_use needs the stamp role", test_may_use_needs_stamp_role },
		{ NULL, NULL }
	};
	int rc;

	if (fixture_setup() != 0) {
		fprintf(stderr, "test_config: cannot create the fixture directory\n");
		fixture_teardown();
		return 2;
	}
	rc = sg_test_run("config", cases);
	fixture_teardown();
	return rc;
}
