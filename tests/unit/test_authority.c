/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the authority ops table (gateway/authorities/authority.h):
 * one row per configured type, each offering the entry points of the use
 * it serves and no others, and the table's calls refusing what a type
 * does not offer before they reach a backend. No token, no network. */
#include "config.h"

#include <string.h>

#include "authority.h"
#include "gw_cms.h"
#include "sg_err.h"
#include "sg_test.h"

static const struct {
	enum sg_authority_type type;
	const char *name;
	unsigned int use;
} types[] = {
	{ SG_AUTHORITY_CSC_V2, "csc-v2", SG_USE_STAMP },
	{ SG_AUTHORITY_VERO_CERTSERVICE, "vero-certservice", 0 },
	{ SG_AUTHORITY_WSSEC_SOAP, "wssec-soap", SG_USE_SOAP },
};

static void
test_one_row_per_type(void)
{
	const struct gw_authority_ops *ops;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ops = gw_authority_ops_find(types[i].type);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
		CU_ASSERT_EQUAL(ops->type, types[i].type);
		CU_ASSERT_STRING_EQUAL(ops->name, types[i].name);
		CU_ASSERT_EQUAL(ops->use, types[i].use);
		CU_ASSERT_PTR_NOT_NULL(ops->open);
		CU_ASSERT_PTR_NOT_NULL(ops->close);
		/* A type an identity names for a use says what is off
		 * without a certificate; an issuer is never opened so. */
		CU_ASSERT_EQUAL(ops->without_cert != NULL, ops->use != 0);
		CU_ASSERT_EQUAL(ops->seal != NULL, ops->use == SG_USE_STAMP);
		CU_ASSERT_EQUAL(ops->call != NULL, ops->use == SG_USE_SOAP);
		CU_ASSERT_EQUAL(ops->sign_new != NULL, ops->use == 0);
		CU_ASSERT_EQUAL(ops->renew != NULL, ops->use == 0);
		CU_ASSERT_EQUAL(ops->get != NULL, ops->use == 0);
	}
	CU_ASSERT_PTR_NULL(gw_authority_ops_find((enum sg_authority_type)0));
	CU_ASSERT_PTR_NULL(gw_authority_ops_find((enum sg_authority_type)99));
}

static void
test_open_refusals(void)
{
	struct gw_authority *auth = (struct gw_authority *)&auth;
	struct sg_authority a;
	char why[64] = "stale";

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(gw_authority_open(NULL, NULL, NULL, NULL, &auth, why, sizeof(why)),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(auth);
	CU_ASSERT_STRING_EQUAL(why, "");
	a.type = (enum sg_authority_type)99;
	CU_ASSERT_EQUAL(gw_authority_open(&a, NULL, NULL, NULL, &auth, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(auth);
	/* The backends' own checks: stamping and SOAP need the key and
	 * certificate; nothing is left open. */
	a.type = SG_AUTHORITY_CSC_V2;
	CU_ASSERT_EQUAL(gw_authority_open(&a, NULL, NULL, NULL, &auth, why, sizeof(why)),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(auth);
	a.type = SG_AUTHORITY_WSSEC_SOAP;
	CU_ASSERT_EQUAL(gw_authority_open(&a, NULL, NULL, NULL, &auth, why, sizeof(why)),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(auth);
	gw_authority_close(NULL);
}

/* An adapter with no state: the calls must refuse before using it. */
static void
test_entry_points_a_type_lacks(void)
{
	struct gw_authority csc = { &gw_authority_csc_ops, NULL };
	struct gw_authority soap = { &gw_authority_soap_ops, NULL };
	struct gw_authority vero = { &gw_authority_vero_ops, NULL };
	struct gw_cms_job cms_job;
	struct gw_seal_job *job = &cms_job.job;
	struct gw_soap_result soap_res;
	const unsigned char digest[32] = { 0 };
	char why[64];

	CU_ASSERT_EQUAL(gw_cms_job_init(&cms_job, EVP_sha256(), digest, sizeof(digest), 0), 0);
	CU_ASSERT_EQUAL(gw_cms_job_init(&cms_job, EVP_sha256(), digest, 20, 0), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_cms_job_init(&cms_job, EVP_sha256(), digest, sizeof(digest), 0), 0);
	memset(&soap_res, 0, sizeof(soap_res));
	CU_ASSERT_EQUAL(gw_authority_seal(&soap, &job, 1, "r", why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_seal(&vero, &job, 1, "r", why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_call(&csc, "<e/>", 4, NULL, NULL, "r", &soap_res, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_call(&vero, "<e/>", 4, NULL, NULL, "r", &soap_res, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_sign_new(&csc, NULL, "id", "pw", NULL, NULL, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_renew(&soap, NULL, NULL, NULL, NULL, NULL, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	CU_ASSERT_EQUAL(gw_authority_get(&csc, NULL, "rid", NULL, why, sizeof(why)),
	    SG_ERR_UNSUPPORTED);
	/* The results release what they hold, empty or not. */
	gw_cms_job_clear(&cms_job);
	gw_soap_result_clear(&soap_res);
	CU_ASSERT_PTR_NULL(cms_job.cms);
	CU_ASSERT_PTR_NULL(soap_res.content_type);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "one row per type", test_one_row_per_type },
		{ "open refusals", test_open_refusals },
		{ "entry points a type lacks", test_entry_points_a_type_lacks },
		{ NULL, NULL }
	};

	return sg_test_run("authority", cases);
}
