/* SPDX-License-Identifier: Apache-2.0 */
/* Shared main() for the CUnit suites: register, run, and exit non-zero on
 * any failure (CU_basic_run_tests alone does not fail the build). */
#ifndef SG_TEST_H
#define SG_TEST_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

struct sg_test_case {
	const char *name;
	void (*fn)(void);
};

static inline int
sg_test_run(const char *suite_name, const struct sg_test_case *cases)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if ((suite = CU_add_suite(suite_name, NULL, NULL)) == NULL)
		return 2;
	for (; cases->name != NULL; cases++) {
		if (CU_add_test(suite, cases->name, cases->fn) == NULL)
			return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	printf("%u passed, %u failed\n",
	    CU_get_number_of_tests_run() - CU_get_number_of_tests_failed(),
	    CU_get_number_of_tests_failed());
	CU_cleanup_registry();
	return failures != 0 ? 1 : 0;
}

#endif
