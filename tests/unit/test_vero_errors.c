/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gw_vero_errors_text (gateway/authorities/
 * authority_vero_answer.h): every ErrorInfo of an answer in one line, in
 * order, those past GW_VERO_ERRORS_MAX counted, always terminated within
 * the buffer. Reading the answers themselves needs signed XML: the
 * simulator's, in tests/integration/vero_collect.sh and the fuzz seeds. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "authority_vero_answer.h"
#include "sg_test.h"

static void
put(struct gw_vero_result *res, const char *code, const char *message)
{
	snprintf(res->errors[res->n_errors].code, sizeof(res->errors[0].code), "%s", code);
	snprintf(res->errors[res->n_errors].message, sizeof(res->errors[0].message), "%s", message);
	res->n_errors++;
	res->n_errors_total++;
}

static void
test_every_error_in_order(void)
{
	struct gw_vero_result res;
	char out[200];

	memset(&res, 0, sizeof(res));
	gw_vero_errors_text(&res, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "no ErrorInfo");
	put(&res, "PKI020", "first");
	gw_vero_errors_text(&res, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "PKI020: first");
	put(&res, "PKI021", "second; with a separator");
	put(&res, "PKI022", "third");
	gw_vero_errors_text(&res, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "PKI020: first; PKI021: second; with a separator; PKI022: third");
}

static void
test_more_than_kept_are_counted(void)
{
	struct gw_vero_result res;
	char out[1024];
	size_t i;

	memset(&res, 0, sizeof(res));
	for (i = 0; i < GW_VERO_ERRORS_MAX; i++)
		put(&res, "PKI001", "x");
	res.n_errors_total = GW_VERO_ERRORS_MAX + 3;
	gw_vero_errors_text(&res, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "PKI001: x; PKI001: x"));
	CU_ASSERT(strlen(out) > 6 && strcmp(out + strlen(out) - 8, "; 3 more") == 0);
}

static void
test_cut_to_fit(void)
{
	struct gw_vero_result res;
	char out[16];
	size_t n;

	memset(&res, 0, sizeof(res));
	put(&res, "PKI020", "a message longer than the buffer");
	put(&res, "PKI021", "another");
	for (n = 1; n <= sizeof(out); n++) {
		memset(out, 'x', sizeof(out));
		gw_vero_errors_text(&res, out, n);
		CU_ASSERT_PTR_NOT_NULL(memchr(out, '\0', n));
		CU_ASSERT(strncmp(out, "PKI020: a message", n - 1) == 0);
		if (n < sizeof(out))
			CU_ASSERT_EQUAL(out[n], 'x');
	}
	gw_vero_errors_text(&res, out, 0);	/* nothing written, no crash */
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "every error in order", test_every_error_in_order },
		{ "more than kept are counted", test_more_than_kept_are_counted },
		{ "cut to fit", test_cut_to_fit },
		{ NULL, NULL }
	};

	return sg_test_run("vero_errors", cases);
}
