/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the ASiC-E pieces: container names (gw_asic_name_check),
 * multipart/form-data bodies read from a file (gw_multipart_files: table
 * cases, and parts whose closing boundary straddles the 64 KiB window),
 * and the XAdES seal job (a value that does not verify is refused;
 * prepared again, it signs anew). Digests are checked against EVP. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_asic.h"
#include "gw_multipart.h"
#include "gw_xades.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_test.h"

static void
test_names(void)
{
	static const struct { const char *name; int ok; } cases[] = {
		{ "decision.txt", 1 }, { "p\xc3\xa4\xc3\xa4t\xc3\xb6s.txt", 1 }, { "a b", 1 },
		{ "mimetype.txt", 1 }, { "...", 1 }, { "x\xf0\x9f\x98\x80", 1 },
		{ "", 0 }, { "a/b", 0 }, { "a\\b", 0 }, { ".", 0 }, { "..", 0 },
		{ "mimetype", 0 }, { "MimeType", 0 }, { "META-INF", 0 }, { "meta-inf.txt", 0 },
		{ "a\x01" "b", 0 }, { "a\x7f", 0 }, { "tab\there", 0 }, { "a\xff", 0 },
		{ "\xc0\xaf", 0 }, { "\xed\xa0\x80", 0 }, { "\xc2\x85", 0 }, { "\xe2\x82", 0 },
	};
	char long_name[GW_ASIC_NAME_MAX + 2], why[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		r = gw_asic_name_check(cases[i].name, why, sizeof(why));
		if (r != (cases[i].ok ? 0 : SG_ERR_INVALID_ARG))
			fprintf(stderr, "name case %zu: r=%d\n", i, r);
		CU_ASSERT_EQUAL(r, cases[i].ok ? 0 : SG_ERR_INVALID_ARG);
		CU_ASSERT(cases[i].ok || why[0] != '\0');
	}
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[GW_ASIC_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(gw_asic_name_check(long_name, NULL, 0), 0);
	long_name[GW_ASIC_NAME_MAX] = 'a';
	long_name[GW_ASIC_NAME_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(gw_asic_name_check(long_name, NULL, 0), SG_ERR_INVALID_ARG);
}

static int
body_fd(const void *body, size_t len)
{
	int fd = memfd_create("test_asic", MFD_CLOEXEC);

	if (fd >= 0 && sg_file_write_all(fd, body, len) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Each file's digest is EVP's over its range of the body. */
static int
ranges_hold(const char *body, size_t len, const struct gw_multipart_file *f, size_t n)
{
	unsigned char md[32];
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].offset + (unsigned long long)f[i].length > len ||
		    EVP_Digest(body + f[i].offset, (size_t)f[i].length, md, NULL, EVP_sha256(),
		    NULL) != 1 || memcmp(md, f[i].sha256, 32) != 0)
			return 0;
	}
	return 1;
}

#define CT	"multipart/form-data; boundary=XyZ"
#define PART(name) "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"" name "\"\r\n"

static void
test_multipart_cases(void)
{
	static const struct {
		const char *what, *content_type, *body;
		int r;
		size_t n;
		const char *first_name, *first_type, *first_bytes;
	} cases[] = {
		{ "one file", CT, PART("a.txt") "Content-Type: text/plain\r\n\r\nabc\r\n--XyZ--\r\n",
		  0, 1, "a.txt", "text/plain", "abc" },
		{ "two files, the second typed by default", CT,
		  PART("a.txt") "\r\nabc\r\n" PART("b.bin") "\r\n\r\n--X\r\n--XyZ--", 0, 2, "a.txt",
		  "application/octet-stream", "abc" },
		{ "quoted boundary and escaped filename", "multipart/form-data; boundary=\"q b\"",
		  "--q b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"p\\\"q\"\r\n\r\nx\r\n--q b--",
		  0, 1, "p\"q", "application/octet-stream", "x" },
		{ "header names in any case", CT, "--XyZ\r\ncontent-disposition: form-data; "
		  "FILENAME=a.txt\r\nCONTENT-TYPE: Text/Plain\r\n\r\nabc\r\n--XyZ--", 0, 1, "a.txt",
		  "text/plain", "abc" },
		{ "no boundary", "multipart/form-data", PART("a") "\r\nx\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a boundary of 71", "multipart/form-data; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "no file", CT, "--XyZ--\r\n", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a preamble", CT, "hello\r\n" PART("a") "\r\nx\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "no closing boundary", CT, PART("a") "\r\nabc", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a part without filename", CT, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
		  "\r\nx\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a part without headers", CT, "--XyZ\r\n\r\nx\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "not form-data", CT, "--XyZ\r\nContent-Disposition: attachment; filename=a\r\n\r\nx\r\n--XyZ--",
		  SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "an empty file", CT, PART("a") "\r\n\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "an unsafe name", CT, PART("../a") "\r\nx\r\n--XyZ--", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a duplicate name", CT, PART("a.txt") "\r\nx\r\n" PART("A.TXT") "\r\ny\r\n--XyZ--",
		  SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "an unterminated filename", CT, "--XyZ\r\nContent-Disposition: form-data; filename=\"a\r\n\r\nx\r\n--XyZ--",
		  SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "a bad part Content-Type", CT, PART("a") "Content-Type: text\r\n\r\nx\r\n--XyZ--",
		  SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
		{ "junk after a boundary", CT, "--XyZjunk\r\n", SG_ERR_INVALID_ARG, 0, NULL, NULL, NULL },
	};
	struct gw_multipart_file files[GW_MULTIPART_FILES_MAX];
	char why[256];
	size_t i, n;
	int fd, r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].body);

		why[0] = '\0';
		n = 99;
		CU_ASSERT_FATAL((fd = body_fd(cases[i].body, len)) >= 0);
		r = gw_multipart_files(fd, cases[i].content_type, files, GW_MULTIPART_FILES_MAX, &n,
		    why, sizeof(why));
		close(fd);
		if (r != cases[i].r || (r == 0 && n != cases[i].n) || (r != 0 && why[0] == '\0'))
			fprintf(stderr, "case \"%s\": r=%d n=%zu why=%s\n", cases[i].what, r, n, why);
		CU_ASSERT_EQUAL(r, cases[i].r);
		if (r != 0) {
			CU_ASSERT(n == 0 && why[0] != '\0');
			continue;
		}
		CU_ASSERT_EQUAL(n, cases[i].n);
		CU_ASSERT_STRING_EQUAL(files[0].name, cases[i].first_name);
		CU_ASSERT_STRING_EQUAL(files[0].media_type, cases[i].first_type);
		CU_ASSERT(files[0].length == (long long)strlen(cases[i].first_bytes) &&
		    memcmp(cases[i].body + files[0].offset, cases[i].first_bytes,
		    strlen(cases[i].first_bytes)) == 0);
		CU_ASSERT(ranges_hold(cases[i].body, len, files, n));
	}
}

/* Parts sized so the delimiter begins on every byte around the window's
 * edge, with a near-miss of the delimiter inside. */
static void
test_multipart_window(void)
{
	static const char head1[] = PART("a.bin") "\r\n";
	static const char mid[] = "\r\n" PART("b.bin") "\r\n";
	static const char tail[] = "\r\n--XyZ--\r\n";
	struct gw_multipart_file files[GW_MULTIPART_FILES_MAX];
	size_t size, len, n, bad = 0;
	char why[256], *body;
	int fd;

	CU_ASSERT_FATAL((body = malloc(3 * 65536 + 1024)) != NULL);
	for (size = 65536 - 80; size < 65536 + 16; size++) {
		len = 0;
		memcpy(body, head1, sizeof(head1) - 1);
		len += sizeof(head1) - 1;
		memset(body + len, 'x', size);
		memcpy(body + len + size / 2, "\r\n--XyY", 7);
		len += size;
		memcpy(body + len, mid, sizeof(mid) - 1);
		len += sizeof(mid) - 1;
		memset(body + len, 'y', 65536 + 7);
		len += 65536 + 7;
		memcpy(body + len, tail, sizeof(tail) - 1);
		len += sizeof(tail) - 1;
		if ((fd = body_fd(body, len)) < 0 ||
		    gw_multipart_files(fd, CT, files, GW_MULTIPART_FILES_MAX, &n, why,
		    sizeof(why)) != 0 || n != 2 || files[0].length != (long long)size ||
		    files[1].length != 65536 + 7 || !ranges_hold(body, len, files, n))
			bad++;
		if (fd >= 0)
			close(fd);
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(body);
}

static EVP_PKEY *
ec_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (c == NULL || n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"stamp", -1,
	    -1, 0) != 1 || X509_set_subject_name(c, n) != 1 || X509_set_issuer_name(c, n) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(c), 4711) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(c), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c), 3600) == NULL || X509_set_pubkey(c, key) != 1 ||
	    X509_sign(c, key, EVP_sha256()) <= 0) {
		X509_free(c);
		c = NULL;
	}
	X509_NAME_free(n);
	return c;
}

static int
sign_tbs(EVP_PKEY *key, const unsigned char *tbs, unsigned int tbs_len, unsigned char *sig,
    size_t *sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, sig_len, tbs, tbs_len) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
test_xades_job(void)
{
	struct gw_xades_object obj = { "a.txt", "text/plain", { 0 } };
	struct gw_xades_job j;
	EVP_PKEY *key = ec_key(), *other = ec_key();
	X509 *cert = key != NULL ? self_signed(key) : NULL;
	STACK_OF(X509) *rest = sk_X509_new_null();
	unsigned char tbs[EVP_MAX_MD_SIZE], tbs2[EVP_MAX_MD_SIZE], sig[256], dgst[EVP_MAX_MD_SIZE];
	unsigned int tbs_len = 0, tbs2_len = 0, dgst_len = 0;
	size_t sig_len = sizeof(sig);
	struct sg_buf xml;

	CU_ASSERT_FATAL(key != NULL && other != NULL && cert != NULL && rest != NULL);
	sg_buf_init(&xml, 1 << 20);
	CU_ASSERT_EQUAL(gw_xades_job_init(&j, &obj, 0, 1700000000), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_xades_job_init(&j, &obj, 1, 1700000000), 0);
	CU_ASSERT_EQUAL(gw_xades_serialise(&j, &xml), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(j.job.prepare(&j.job, cert, rest, tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(tbs_len, 32);
	/* A value by another key is the service's fault. */
	CU_ASSERT(sign_tbs(other, tbs, tbs_len, sig, &sig_len));
	CU_ASSERT_EQUAL(j.job.finish(&j.job, sig, sig_len), SG_ERR_CRYPTO);
	CU_ASSERT_EQUAL(gw_xades_signature_value_digest(&j, EVP_sha256(), dgst, &dgst_len),
	    SG_ERR_INVALID_ARG);
	/* Prepared again (the service asked again): the same bytes to sign. */
	CU_ASSERT_EQUAL(j.job.prepare(&j.job, cert, rest, tbs2, &tbs2_len), 0);
	CU_ASSERT(tbs2_len == tbs_len && memcmp(tbs, tbs2, tbs_len) == 0);
	sig_len = sizeof(sig);
	CU_ASSERT(sign_tbs(key, tbs2, tbs2_len, sig, &sig_len));
	CU_ASSERT_EQUAL(j.job.finish(&j.job, sig, sig_len), 0);
	CU_ASSERT_EQUAL(j.job.finish(&j.job, sig, sig_len), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(gw_xades_signature_value_digest(&j, EVP_sha256(), dgst, &dgst_len), 0);
	CU_ASSERT_EQUAL(gw_xades_add_timestamp(&j, (const unsigned char *)"\x30\x00", 2), 0);
	CU_ASSERT_EQUAL(gw_xades_serialise(&j, &xml), 0);
	CU_ASSERT(strstr(sg_buf_str(&xml), "<xades:EncapsulatedTimeStamp>MAA=<") != NULL);
	CU_ASSERT(strstr(sg_buf_str(&xml), "URI=\"a.txt\"") != NULL);
	gw_xades_job_clear(&j);
	sg_buf_free(&xml);
	sk_X509_free(rest);
	X509_free(cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "container names", test_names },
		{ "multipart/form-data: cases", test_multipart_cases },
		{ "multipart/form-data: boundaries at the window's edge", test_multipart_window },
		{ "XAdES job: refused value, prepared again, finished", test_xades_job },
		{ NULL, NULL }
	};

	return sg_test_run("asic", cases);
}
