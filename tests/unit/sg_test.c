/* SPDX-License-Identifier: Apache-2.0 */
/* The unit tests' shared scaffolding (contracts in sg_test.h): the suite
 * runner, scratch directories and files, and the SHA-256 oracle. Built
 * once into tests/unit/libsgtest.la, which UNIT_LIBS links into every unit
 * test. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sg_test.h"

int
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

int
sg_test_tmp_make(struct sg_test_tmp *t, const char *name, const char *sub)
{
	int n;

	n = snprintf(t->root, sizeof(t->root), "/tmp/%s-XXXXXX", name);
	if (n < 0 || (size_t)n >= sizeof(t->root) || mkdtemp(t->root) == NULL)
		return -1;
	return sg_test_path(t->dir, sizeof(t->dir), t->root, sub);
}

void
sg_test_tmp_clean(struct sg_test_tmp *t)
{
	chmod(t->dir, 0700);
	sg_test_rm_rf(t->root);
}

void
sg_test_rm_rf(const char *path)
{
	char sub[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(path)) == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (sg_test_path(sub, sizeof(sub), path, de->d_name) != 0)
			continue;
		if (de->d_type == DT_DIR)
			sg_test_rm_rf(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

int
sg_test_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
sg_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = len == 0 || fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

char *
sg_test_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	*lenp = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = (size_t)len;
	fclose(f);
	return buf;
}

void
sg_test_sha256_hex(const void *p, size_t n, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	memset(md, 0, sizeof(md));
	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}
