/* SPDX-License-Identifier: Apache-2.0 */
/* Scaffolding every CUnit suite shares (tests/unit/sg_test.c, linked into
 * each unit test through UNIT_LIBS): the main() that fails the build on any
 * failure, scratch directories under /tmp, whole files in and out, and a
 * SHA-256 hex oracle computed with EVP alone (independent of the product's
 * hashing code). Nothing here asserts: a helper reports, the test checks. */
#ifndef SG_TEST_H
#define SG_TEST_H

#include <stddef.h>

#include <CUnit/Basic.h>

struct sg_test_case {
	const char *name;
	void (*fn)(void);
};

/* Registers cases (ended by a { NULL, NULL } entry) as one suite named
 * suite_name, runs it verbosely and prints "<n> passed, <m> failed".
 * Returns 0 when every test passed, 1 on a failure, 2 when CUnit could not
 * be set up (CU_basic_run_tests alone does not fail the build). */
int sg_test_run(const char *suite_name, const struct sg_test_case *cases);

/* A scratch directory: root is made by sg_test_tmp_make as
 * /tmp/<name>-XXXXXX; dir is the path of root/<sub>, which is not made (the
 * code under test makes it). */
struct sg_test_tmp {
	char root[64];
	char dir[128];
};

/* Makes t->root and sets t->dir. 0, or -1 (mkdtemp failed, name too long). */
int sg_test_tmp_make(struct sg_test_tmp *t, const char *name, const char *sub);

/* Makes t->dir searchable again (a test may have taken its permissions
 * away) and removes t->root with all below it. */
void sg_test_tmp_clean(struct sg_test_tmp *t);

/* Removes path and, when it is a directory, all below it; best effort (a
 * path that is not there is no error). */
void sg_test_rm_rf(const char *path);

/* dir/name into out. 0, or -1 when it does not fit in size. */
int sg_test_path(char *out, size_t size, const char *dir, const char *name);

/* Replaces path's contents with len bytes of data (creating it with the
 * umask's mode). 0, or -1 when it could not be opened or fully written. */
int sg_test_write_file(const char *path, const void *data, size_t len);

/* The whole of path, NUL-terminated (the NUL not counted in *lenp), for the
 * caller to free; NULL (and *lenp 0) when it cannot be read. */
char *sg_test_read_file(const char *path, size_t *lenp);

/* Lower-case hex SHA-256 of n bytes at p into out. */
void sg_test_sha256_hex(const void *p, size_t n, char out[65]);

#endif
