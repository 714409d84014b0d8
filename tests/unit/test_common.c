/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/: error texts, bounded buffers, codecs, secrets. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_buf.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_secret.h"
#include "sg_test.h"

static void
test_strerror_covers_every_code(void)
{
	int r;

	for (r = 0; r > SG_ERR_LAST_; r--)
		CU_ASSERT_STRING_NOT_EQUAL(sg_strerror(r), "unknown error");
	CU_ASSERT_STRING_EQUAL(sg_strerror(SG_ERR_LAST_), "unknown error");
	CU_ASSERT_STRING_EQUAL(sg_strerror(5), "unknown error");
	CU_ASSERT_STRING_EQUAL(sg_strerror(SG_ERR_PIN_LOCKED), "PIN locked");
}

static void
test_why(void)
{
	char why[16] = "old";

	CU_ASSERT_EQUAL(sg_why(SG_ERR_PARSE, why, sizeof(why), "bad %s", "input"), SG_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(why, "bad input");
	/* Cut to the buffer, still a string. */
	CU_ASSERT_EQUAL(sg_why(SG_ERR_CRYPTO, why, sizeof(why), "%s", "a rather long reason"),
	    SG_ERR_CRYPTO);
	CU_ASSERT_STRING_EQUAL(why, "a rather long r");
	CU_ASSERT_EQUAL(sg_why(SG_ERR_IO, NULL, 0, "nowhere"), SG_ERR_IO);
}

/* A message may be cut; a name never is: it fits whole or is left empty. */
static void
test_msg_and_strfit(void)
{
	char small[8], fit[6];

	sg_msg(small, sizeof(small), "%s %d", "count", 12345);
	CU_ASSERT_STRING_EQUAL(small, "count 1");
	sg_msg(NULL, 0, "nowhere");
	CU_ASSERT_EQUAL(sg_strfit(fit, sizeof(fit), "abcde"), 0);
	CU_ASSERT_STRING_EQUAL(fit, "abcde");
	CU_ASSERT_EQUAL(sg_strfit(fit, sizeof(fit), "abcdef"), SG_ERR_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(fit, "");
	CU_ASSERT_EQUAL(sg_strfit(fit, sizeof(fit), NULL), 0);
	CU_ASSERT_STRING_EQUAL(fit, "");
	CU_ASSERT_EQUAL(sg_strfit(fit, 0, "x"), SG_ERR_TOO_LARGE);
}

static void
test_buf_cap(void)
{
	struct sg_buf b;

	sg_buf_init(&b, 8);
	CU_ASSERT_EQUAL(sg_buf_append(&b, "abcd", 4), 0);
	CU_ASSERT_EQUAL(sg_buf_append(&b, "efgh", 4), 0);
	CU_ASSERT_EQUAL(sg_buf_append(&b, "i", 1), SG_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_STRING_EQUAL(sg_buf_str(&b), "abcdefgh");
	CU_ASSERT_EQUAL(sg_buf_printf(&b, "%d", 1), SG_ERR_TOO_LARGE);
	sg_buf_reset(&b);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(sg_buf_printf(&b, "%s-%d", "ab", 42), 0);
	CU_ASSERT_STRING_EQUAL(sg_buf_str(&b), "ab-42");
	/* An overflowing length never wraps around the cap check. */
	CU_ASSERT_EQUAL(sg_buf_append(&b, "x", (size_t)-1), SG_ERR_TOO_LARGE);
	sg_buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
	sg_buf_free(NULL);
}

static void
test_buf_grow_and_steal(void)
{
	struct sg_buf b;
	unsigned char *p;
	size_t len, i;
	char chunk[100];

	memset(chunk, 'z', sizeof(chunk));
	sg_buf_init_secret(&b, 10000);
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL_FATAL(sg_buf_append(&b, chunk, sizeof(chunk)), 0);
	CU_ASSERT_EQUAL(sg_buf_append(&b, "z", 1), SG_ERR_TOO_LARGE);
	p = sg_buf_steal(&b, &len);
	CU_ASSERT_EQUAL(len, 10000);
	CU_ASSERT_EQUAL(p[9999], 'z');
	CU_ASSERT_EQUAL(p[10000], '\0');
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_PTR_NULL(b.data);
	free(p);
	CU_ASSERT_STRING_EQUAL(sg_buf_str(&b), "");
	sg_buf_free(&b);
}

/* RFC 4648 section 10 test vectors. */
static const struct { const char *plain, *std, *url; } b64_vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
	{ "\xfb\xff", "+/8=", "-_8" },
};

static void
test_b64_vectors(void)
{
	size_t i, n;
	char *enc;
	unsigned char *dec;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		const char *plain = b64_vectors[i].plain;

		CU_ASSERT_EQUAL_FATAL(sg_b64_encode(plain, strlen(plain), SG_B64_STD, &enc), 0);
		CU_ASSERT_STRING_EQUAL(enc, b64_vectors[i].std);
		free(enc);
		CU_ASSERT_EQUAL_FATAL(sg_b64_encode(plain, strlen(plain), SG_B64_URL_NOPAD, &enc), 0);
		CU_ASSERT_STRING_EQUAL(enc, b64_vectors[i].url);
		free(enc);
		CU_ASSERT_EQUAL_FATAL(sg_b64_decode(b64_vectors[i].std, strlen(b64_vectors[i].std),
		    SG_B64_STD, &dec, &n), 0);
		CU_ASSERT_EQUAL(n, strlen(plain));
		CU_ASSERT(memcmp(dec, plain, n) == 0);
		free(dec);
		CU_ASSERT_EQUAL_FATAL(sg_b64_decode(b64_vectors[i].url, strlen(b64_vectors[i].url),
		    SG_B64_URL_NOPAD, &dec, &n), 0);
		CU_ASSERT_EQUAL(n, strlen(plain));
		CU_ASSERT(memcmp(dec, plain, n) == 0);
		free(dec);
	}
}

static void
test_b64_rejects(void)
{
	static const char *bad_std[] = {
		"Zg=", "Zg", "Z===", "Zm9v\n", "Zm 9", "Zh==", "Zm9=", "-_8=", "====", "Zg==Zg==",
	};
	static const char *bad_url[] = { "Z", "Zg==", "+/8", "Zh" };
	unsigned char *dec = (unsigned char *)"untouched";
	size_t i, n = 99;

	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
		CU_ASSERT_EQUAL(sg_b64_decode(bad_std[i], strlen(bad_std[i]), SG_B64_STD, &dec, &n),
		    SG_ERR_PARSE);
		CU_ASSERT_PTR_NULL(dec);
		CU_ASSERT_EQUAL(n, 0);
	}
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
		CU_ASSERT_EQUAL(sg_b64_decode(bad_url[i], strlen(bad_url[i]), SG_B64_URL_NOPAD,
		    &dec, &n), SG_ERR_PARSE);
}

static void
test_hex(void)
{
	char *enc;
	unsigned char *dec;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(sg_hex_encode("\x00\x9f\xff", 3, &enc), 0);
	CU_ASSERT_STRING_EQUAL(enc, "009fff");
	free(enc);
	CU_ASSERT_EQUAL_FATAL(sg_hex_decode("009FfF", 6, &dec, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(memcmp(dec, "\x00\x9f\xff", 3) == 0);
	free(dec);
	CU_ASSERT_EQUAL(sg_hex_decode("abc", 3, &dec, &n), SG_ERR_PARSE);
	CU_ASSERT_EQUAL(sg_hex_decode("zz", 2, &dec, &n), SG_ERR_PARSE);
	CU_ASSERT_EQUAL(sg_hex_decode("0g", 2, &dec, &n), SG_ERR_PARSE);
	CU_ASSERT_EQUAL(sg_hex_decode("", 0, &dec, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(dec);
}

static void
test_memzero_and_ct_equal(void)
{
	char secret[16] = "correct horse";
	size_t i;
	int all_zero = 1;

	CU_ASSERT_TRUE(sg_ct_equal("abcd", "abcd", 4));
	CU_ASSERT_FALSE(sg_ct_equal("abcd", "abce", 4));
	CU_ASSERT_FALSE(sg_ct_equal("\x00" "bcd", "\x01" "bcd", 4));
	CU_ASSERT_TRUE(sg_ct_equal("", "", 0));
	sg_memzero(secret, sizeof(secret));
	for (i = 0; i < sizeof(secret); i++)
		all_zero &= secret[i] == 0;
	CU_ASSERT_TRUE(all_zero);
	sg_memzero(NULL, 10);
	sg_free_secret_str(NULL);
}

static char *
write_temp(const char *content, size_t len, mode_t mode)
{
	char tmpl[] = "/tmp/sg-secret-XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return NULL;
	if (write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		close(fd);
		return NULL;
	}
	close(fd);
	return strdup(tmpl);
}

static void
test_secret_file(void)
{
	static const struct {
		const char *content;
		mode_t mode;
		int expect;
		const char *value;
	} cases[] = {
		{ "1234\n", 0600, 0, "1234" },
		{ "1234", 0400, 0, "1234" },
		{ "12 34\r\nignored", 0600, 0, "12 34" },
		{ "1234\n", 0640, SG_ERR_PERMISSION, NULL },
		{ "1234\n", 0604, SG_ERR_PERMISSION, NULL },
		{ "\n", 0600, SG_ERR_PARSE, NULL },
		{ "", 0600, SG_ERR_PARSE, NULL },
	};
	size_t i;
	char *path, *secret, big[SG_SECRET_MAX + 10];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = write_temp(cases[i].content, strlen(cases[i].content), cases[i].mode);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_EQUAL(sg_secret_read_file(path, &secret), cases[i].expect);
		if (cases[i].value != NULL) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(secret);
			CU_ASSERT_STRING_EQUAL(secret, cases[i].value);
		} else
			CU_ASSERT_PTR_NULL(secret);
		sg_free_secret_str(secret);
		unlink(path);
		free(path);
	}
	memset(big, 'x', sizeof(big));
	path = write_temp(big, sizeof(big), 0600);
	CU_ASSERT_EQUAL(sg_secret_read_file(path, &secret), SG_ERR_TOO_LARGE);
	unlink(path);
	free(path);
	CU_ASSERT_EQUAL(sg_secret_read_file("/nonexistent/sg-pin", &secret), SG_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(sg_secret_read_file("/tmp", &secret), SG_ERR_PERMISSION);
}

static void
test_secret_env(void)
{
	char *secret;

	unsetenv("SG_TEST_SECRET");
	CU_ASSERT_EQUAL(sg_secret_take_env("SG_TEST_SECRET", &secret), SG_ERR_NOT_FOUND);
	setenv("SG_TEST_SECRET", "", 1);
	CU_ASSERT_EQUAL(sg_secret_take_env("SG_TEST_SECRET", &secret), SG_ERR_NOT_FOUND);
	setenv("SG_TEST_SECRET", "987654", 1);
	CU_ASSERT_EQUAL_FATAL(sg_secret_take_env("SG_TEST_SECRET", &secret), 0);
	CU_ASSERT_STRING_EQUAL(secret, "987654");
	CU_ASSERT_PTR_NULL(getenv("SG_TEST_SECRET"));	/* taken */
	sg_free_secret_str(secret);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "strerror covers every code", test_strerror_covers_every_code },
		{ "why: a reason and the code", test_why },
		{ "messages are cut, names fit whole or not at all", test_msg_and_strfit },
		{ "buffer cap", test_buf_cap },
		{ "buffer growth and steal", test_buf_grow_and_steal },
		{ "base64 RFC 4648 vectors", test_b64_vectors },
		{ "base64 rejects non-canonical input", test_b64_rejects },
		{ "hex", test_hex },
		{ "memzero and constant-time equal", test_memzero_and_ct_equal },
		{ "secret from file", test_secret_file },
		{ "secret from environment", test_secret_env },
		{ NULL, NULL }
	};

	return sg_test_run("common", cases);
}
