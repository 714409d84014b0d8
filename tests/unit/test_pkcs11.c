/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the token layer's pure helpers (no token): key specs,
 * CK_RV names, their translation to SG_ERR_* codes and the recovery level
 * each calls for. */
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

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "key specs round-trip", test_keyspec_roundtrip },
		{ "key specs reject the rest", test_keyspec_rejects },
		{ "CK_RV to SG_ERR", test_ckr_translation },
		{ "CK_RV names", test_ckr_names },
		{ "recovery levels", test_recovery_levels },
		{ NULL, NULL }
	};

	return sg_test_run("pkcs11", cases);
}
