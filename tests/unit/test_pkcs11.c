/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the token layer's pure helpers (no token): key specs,
 * CK_RV names, their translation to SG_ERR_* codes and the recovery level
 * each calls for, and PKCS#11 URIs: checking, naming the bad attribute,
 * and matching a token. */
#include "config.h"

#include <string.h>

#include <openssl/objects.h>

#include "sg_err.h"
#include "sg_test.h"
#include "sgp11_internal.h"

static void
test_keyspec_roundtrip(void)
{
	static const char *names[] = { "rsa:2048", "rsa:3072", "rsa:4096", "ec:p256", "ec:p384" };
	struct sgp11_keyspec spec;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(sgp11_keyspec_parse(names[i], &spec), 0);
		CU_ASSERT_STRING_EQUAL(sgp11_keyspec_name(&spec), names[i]);
	}
	CU_ASSERT_EQUAL(sgp11_keyspec_parse("ec:p256", &spec), 0);
	CU_ASSERT_EQUAL(spec.kind, SGP11_EC);
	CU_ASSERT_EQUAL(spec.curve_nid, NID_X9_62_prime256v1);
	CU_ASSERT_EQUAL(sgp11_keyspec_parse("rsa:3072", &spec), 0);
	CU_ASSERT_EQUAL(spec.kind, SGP11_RSA);
	CU_ASSERT_EQUAL(spec.bits, 3072);
}

static void
test_keyspec_rejects(void)
{
	static const char *bad[] = { "rsa:1024", "RSA:2048", "rsa:2048 ", "ec:p521", "ec", "", "dsa:2048" };
	struct sgp11_keyspec spec = { SGP11_RSA, 1, 0 }, unknown = { SGP11_RSA, 1024, 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(sgp11_keyspec_parse(bad[i], &spec), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sgp11_keyspec_parse(NULL, &spec), SG_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(sgp11_keyspec_name(&unknown), "unknown");
}

static void
test_ckr_translation(void)
{
	static const struct { CK_RV rv; int err; int lost; } cases[] = {
		{ CKR_OK, 0, 0 },
		{ CKR_PIN_INCORRECT, SG_ERR_PIN_INCORRECT, 0 },
		{ CKR_PIN_LOCKED, SG_ERR_PIN_LOCKED, 0 },
		{ CKR_PIN_LEN_RANGE, SG_ERR_PIN_INVALID, 0 },
		{ CKR_HOST_MEMORY, SG_ERR_ALLOC, 0 },
		{ CKR_MECHANISM_INVALID, SG_ERR_UNSUPPORTED, 0 },
		{ CKR_DATA_LEN_RANGE, SG_ERR_INVALID_ARG, 0 },
		{ CKR_SESSION_HANDLE_INVALID, SG_ERR_TOKEN_LOST, 1 },
		{ CKR_DEVICE_REMOVED, SG_ERR_TOKEN_LOST, 1 },
		{ CKR_TOKEN_NOT_PRESENT, SG_ERR_TOKEN_LOST, 1 },
		{ CKR_USER_NOT_LOGGED_IN, SG_ERR_TOKEN_LOST, 1 },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, SG_ERR_TOKEN_LOST, 1 },
		{ CKR_FUNCTION_FAILED, SG_ERR_TOKEN, 0 },
		{ CKR_SIGNATURE_INVALID, SG_ERR_TOKEN, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(sgp11_ckr_to_err(cases[i].rv), cases[i].err);
		CU_ASSERT_EQUAL(sgp11_last_ckr(), cases[i].rv);
		CU_ASSERT_EQUAL(sgp11_ckr_is_lost(cases[i].rv), cases[i].lost);
	}
}

static void
test_ckr_names(void)
{
	CU_ASSERT_STRING_EQUAL(sgp11_ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	CU_ASSERT_STRING_EQUAL(sgp11_ckr_name(CKR_OK), "CKR_OK");
	CU_ASSERT_STRING_EQUAL(sgp11_ckr_name(0x80001234UL), "CKR_0x80001234");
}

/* Where recovery starts for what the module answered. */
static void
test_recovery_levels(void)
{
	static const struct { CK_RV rv; enum sgp11_recovery level; const char *name; } cases[] = {
		{ CKR_KEY_HANDLE_INVALID, SGP11_RECOVER_FIND_KEYS, "find_keys" },
		{ CKR_OBJECT_HANDLE_INVALID, SGP11_RECOVER_FIND_KEYS, "find_keys" },
		{ CKR_SESSION_HANDLE_INVALID, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_SESSION_CLOSED, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_USER_NOT_LOGGED_IN, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_TOKEN_NOT_PRESENT, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_DEVICE_ERROR, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_GENERAL_ERROR, SGP11_RECOVER_LOGIN, "login" },
		{ CKR_DEVICE_REMOVED, SGP11_RECOVER_REOPEN, "reopen" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, SGP11_RECOVER_REOPEN, "reopen" },
		{ CKR_SLOT_ID_INVALID, SGP11_RECOVER_REOPEN, "reopen" },
		{ CKR_TOKEN_NOT_RECOGNIZED, SGP11_RECOVER_REOPEN, "reopen" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(sgp11_recovery_for(cases[i].rv), cases[i].level);
		CU_ASSERT_STRING_EQUAL(sgp11_recovery_name(sgp11_recovery_for(cases[i].rv)),
		    cases[i].name);
	}
	CU_ASSERT_STRING_EQUAL(sgp11_recovery_name(SGP11_RECOVER_NONE), "none");
	CU_ASSERT_STRING_EQUAL(sgp11_recovery_name((enum sgp11_recovery)42), "none");
	/* Levels are ordered: climbing is adding one. */
	CU_ASSERT(SGP11_RECOVER_FIND_KEYS < SGP11_RECOVER_LOGIN);
	CU_ASSERT(SGP11_RECOVER_LOGIN < SGP11_RECOVER_REOPEN);
}

static void
test_uri_check(void)
{
	static const char *good[] = {
		"sealgate", "a label;with=odd chars", "pkcs11:", "pkcs11:token=sealgate",
		"pkcs11:token=sealgate;object=k;type=private", "pkcs11:id=%01%02",
		"pkcs11:serial=abc;manufacturer=SoftHSM%20project;model=SoftHSM%20v2",
		"pkcs11:object=k?module-path=/usr/lib/softhsm/libsofthsm2.so",
		"pkcs11:object=k?pin-source=file:/etc/pin&module-name=softhsm2",
	};
	static const struct { const char *uri, *attr; } bad[] = {
		{ "pkcs11:colour=blue", "colour" },
		{ "pkcs11:token=sealgate;flavour=x", "flavour" },
		{ "pkcs11:id=%zz", "id" },
		{ "pkcs11:object=k;type=nonsense", "type" },
		{ "pkcs11:token=a;serial=%4", "serial" },
		{ "pkcs11:object=k?pin-value=1234", "pin-value" },
		{ "pkcs11:object=k?module-path=/x&foo=bar", "foo" },
		{ "pkcs11:token", "token" },
		{ "pkcs11:=x", "(empty attribute)" },
		{ "pkcs11:slot-id=1", "slot-id" },
	};
	char attr[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(sgp11_uri_check(good[i], attr, sizeof(attr)), 0);
		CU_ASSERT_STRING_EQUAL(attr, "");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(sgp11_uri_check(bad[i].uri, attr, sizeof(attr)), SG_ERR_PARSE);
		CU_ASSERT_STRING_EQUAL(attr, bad[i].attr);
	}
	CU_ASSERT_TRUE(sgp11_uri_is("pkcs11:object=k"));
	CU_ASSERT_FALSE(sgp11_uri_is("pkcs11"));
	CU_ASSERT_FALSE(sgp11_uri_is("PKCS11:object=k"));
	CU_ASSERT_FALSE(sgp11_uri_is(NULL));
}

static void
test_uri_token_match(void)
{
	static const struct { const char *uri; int want; } cases[] = {
		{ "pkcs11:", 1 },
		{ "pkcs11:token=sealgate", 1 },
		{ "pkcs11:token=sealgate;serial=0a1b2c;manufacturer=SoftHSM%20project", 1 },
		{ "pkcs11:model=SoftHSM%20v2", 1 },
		{ "pkcs11:token=sealgate?module-path=/lib/mod.so", 1 },
		{ "pkcs11:token=other", 0 },
		{ "pkcs11:token=sealgate;serial=ffff", 0 },
		{ "pkcs11:manufacturer=Other", 0 },
		{ "pkcs11:token=sealgat", 0 },
		{ "pkcs11:token=sealgate?module-path=/lib/other.so", SG_ERR_INVALID_ARG },
		{ "pkcs11:token=sealgate?module-name=mod", 1 },
		{ "pkcs11:token=sealgate?module-name=mo", SG_ERR_INVALID_ARG },
		{ "pkcs11:token=sealgate?module-name=other", SG_ERR_INVALID_ARG },
		{ "pkcs11:token=sealgate;bogus=1", SG_ERR_INVALID_ARG },
	};
	struct sgp11_ctx ctx;
	PKCS11_TOKEN t;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	memset(&t, 0, sizeof(t));
	ctx.module_path = (char *)"/lib/mod.so";
	t.label = (char *)"sealgate";
	t.manufacturer = (char *)"SoftHSM project";
	t.model = (char *)"SoftHSM v2";
	t.serialnr = (char *)"0a1b2c";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(sgp11_uri_token_matches(&ctx, cases[i].uri, &t), cases[i].want);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "key specs round-trip", test_keyspec_roundtrip },
		{ "key specs reject the rest", test_keyspec_rejects },
		{ "CK_RV to SG_ERR", test_ckr_translation },
		{ "CK_RV names", test_ckr_names },
		{ "recovery levels", test_recovery_levels },
		{ "PKCS#11 URIs checked, naming the attribute", test_uri_check },
		{ "PKCS#11 URIs matched against a token", test_uri_token_match },
		{ NULL, NULL }
	};

	return sg_test_run("pkcs11", cases);
}
