/* SPDX-License-Identifier: Apache-2.0 */
/* pades-probe: seals a PDF with gw_pades and a key from a PEM file, the
 * seal service's part done locally, so pades.sh can check the PDF side
 * (readers, hostile inputs, byte ranges) on its own. Exit 3 and one line
 * on stderr when the PDF is refused. Test infrastructure, never installed. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gw_pades.h"
#include "sg_err.h"

#define EXIT_USAGE 2
#define EXIT_REFUSED 3

static int
copy_file(const char *from, int to, uint64_t *sizep)
{
	unsigned char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY);

	*sizep = 0;
	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(to, buf, (size_t)n) != n) {
			close(in);
			return -1;
		}
		*sizep += (uint64_t)n;
	}
	close(in);
	return n < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct gw_pades p;
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	X509 *cert = NULL;
	FILE *f;
	unsigned char tbs[EVP_MAX_MD_SIZE], sig[1024];
	unsigned int tbs_len = 0;
	size_t sig_len = sizeof(sig);
	uint64_t size;
	char why[256] = "";
	int fd, r, rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: pades-probe IN.pdf OUT.pdf KEY.pem CERT.pem\n");
		return EXIT_USAGE;
	}
	memset(&p, 0, sizeof(p));
	if ((f = fopen(argv[3], "r")) == NULL || (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		return EXIT_USAGE;
	fclose(f);
	if ((f = fopen(argv[4], "r")) == NULL || (cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		return EXIT_USAGE;
	fclose(f);
	if ((fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 || copy_file(argv[1], fd, &size) != 0)
		return EXIT_USAGE;
	if ((r = gw_pades_begin(&p, fd, size, time(NULL), why, sizeof(why))) != 0) {
		fprintf(stderr, "pades-probe: %s: %s\n", sg_strerror(r), why);
		rc = r == SG_ERR_PARSE ? EXIT_REFUSED : 1;
		goto out;
	}
	if ((r = p.cms.job.prepare(&p.cms.job, cert, NULL, tbs, &tbs_len)) != 0 ||
	    (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(ctx, sig, &sig_len, tbs, tbs_len) != 1 ||
	    (r = p.cms.job.finish(&p.cms.job, sig, sig_len)) != 0 ||
	    (r = gw_pades_embed(&p, p.cms.cms, p.cms.cms_len)) != 0) {
		fprintf(stderr, "pades-probe: sealing failed: %s\n", sg_strerror(r));
		goto out;
	}
	rc = 0;
 out:
	gw_pades_clear(&p);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	X509_free(cert);
	close(fd);
	return rc;
}
