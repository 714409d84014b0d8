/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for sealgate-token's CSR subjects: the KEY=VALUE parser with
 * its escapes and refusals, and the vero, oces3 and dvv-interface
 * profiles with the key types and customer ids each accepts. */
#include "config.h"

#include <string.h>

#include "sg_err.h"
#include "sg_test.h"
#include "tk_subject.h"

#define EQ_OR_NULL(got, want) do { \
	if ((want) == NULL) { \
		CU_ASSERT_PTR_NULL(got); \
	} else { \
		CU_ASSERT_PTR_NOT_NULL_FATAL(got); \
		CU_ASSERT_STRING_EQUAL(got, want); \
	} \
} while (0)

static void
test_parse_good(void)
{
	static const struct {
		const char *text, *c, *o, *ou, *cn, *sn, *oi;
	} cases[] = {
		{ "C=FI,O=Example Oy,CN=1234567-8", "FI", "Example Oy", NULL, "1234567-8", NULL, NULL },
		{ "CN=a", NULL, NULL, NULL, "a", NULL, NULL },
		{ "O=A\\, B, OU=x\\\\y", NULL, "A, B", "x\\y", NULL, NULL, NULL },
		{ "organizationIdentifier=NTRDK-12345678,serialNumber=7", NULL, NULL, NULL, NULL, "7",
		  "NTRDK-12345678" },
	};
	struct tk_subject s;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(tk_subject_parse(cases[i].text, &s, &why), 0);
		EQ_OR_NULL(s.fields.c, cases[i].c);
		EQ_OR_NULL(s.fields.o, cases[i].o);
		EQ_OR_NULL(s.fields.ou, cases[i].ou);
		EQ_OR_NULL(s.fields.cn, cases[i].cn);
		EQ_OR_NULL(s.fields.serial_number, cases[i].sn);
		EQ_OR_NULL(s.fields.organization_identifier, cases[i].oi);
		tk_subject_free(&s);
	}
}

static void
test_parse_bad(void)
{
	static const char *bad[] = {
		"", "CN", "CN=", "XX=1", "CN=a,CN=b", "CN=a,", ",CN=a", "cn=a", "C=FI,,O=x",
	};
	struct tk_subject s;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(tk_subject_parse(bad[i], &s, &why), SG_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NOT_NULL(why);
		CU_ASSERT_PTR_NULL(s.storage);
	}
}

static void
test_profiles(void)
{
	static const struct sgp11_keyspec rsa2048 = { SGP11_RSA, 2048, 0 },
	    rsa3072 = { SGP11_RSA, 3072, 0 }, p256 = { SGP11_EC, 256, 415 };
	struct tk_subject s;
	const char *why;

	CU_ASSERT_EQUAL_FATAL(tk_subject_profile("vero", "1234567-8", "Example Oy", &rsa2048, &s,
	    &why), 0);
	CU_ASSERT_STRING_EQUAL(s.fields.c, "FI");
	CU_ASSERT_STRING_EQUAL(s.fields.o, "Example Oy");
	CU_ASSERT_STRING_EQUAL(s.fields.cn, "1234567-8");
	CU_ASSERT_PTR_NULL(s.fields.serial_number);
	CU_ASSERT_PTR_NULL(s.fields.organization_identifier);
	tk_subject_free(&s);

	CU_ASSERT_EQUAL_FATAL(tk_subject_profile("oces3", "12345678", "Skole A/S", &rsa3072, &s,
	    &why), 0);
	CU_ASSERT_STRING_EQUAL(s.fields.c, "DK");
	CU_ASSERT_STRING_EQUAL(s.fields.organization_identifier, "NTRDK-12345678");
	tk_subject_free(&s);

	CU_ASSERT_EQUAL_FATAL(tk_subject_profile("dvv-interface", "7654321-0", "Kunta", &p256, &s,
	    &why), 0);
	CU_ASSERT_STRING_EQUAL(s.fields.serial_number, "7654321-0");
	CU_ASSERT_STRING_EQUAL(s.fields.c, "FI");
	tk_subject_free(&s);

	CU_ASSERT_EQUAL(tk_subject_profile("vero", "1234567-8", "X", &rsa3072, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("vero", "1234567-8", "X", &p256, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("vero", "12345678", "X", &rsa2048, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("vero", "1234567-8", "", &rsa2048, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("oces3", "1234567", "X", &rsa3072, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("oces3", "12345678", "X", &rsa2048, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("dvv-interface", "abc", "X", &p256, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tk_subject_profile("nosuch", "1234567-8", "X", &rsa2048, &s, &why),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "subject strings parse", test_parse_good },
		{ "bad subject strings refused", test_parse_bad },
		{ "profiles", test_profiles },
		{ NULL, NULL }
	};

	return sg_test_run("tk_subject", cases);
}
