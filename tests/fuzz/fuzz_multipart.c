/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: multipart/form-data bodies of POST
 * /v1/stamp?format=asice (gw_multipart.c). The input is a Content-Type
 * line, then the body; the body is put in a memory file, as the gateway
 * keeps it in a temporary one. The contract, when the body is accepted:
 * 1 to 15 files, each a range inside the body whose SHA-256 is the one
 * reported, no range overlapping the next, every name safe
 * (gw_asic_name_check) and distinct ignoring case, every media type
 * non-empty. A refusal always says why. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gw_asic.h"
#include "gw_multipart.h"
#include "sg_err.h"
#include "sg_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_multipart_file files[GW_MULTIPART_FILES_MAX];
	const uint8_t *nl = memchr(data, '\n', size);
	unsigned char sha256[32];
	char content_type[512], why[256] = "";
	const uint8_t *body;
	size_t ct_len, body_len, n = 0, i, k;
	unsigned long long prev_end = 0;
	int fd, r;

	if (nl == NULL || (ct_len = (size_t)(nl - data)) >= sizeof(content_type) ||
	    memchr(data, '\0', ct_len) != NULL)
		return 0;
	memcpy(content_type, data, ct_len);
	content_type[ct_len] = '\0';
	body = nl + 1;
	body_len = size - ct_len - 1;
	if ((fd = memfd_create("fuzz_multipart", MFD_CLOEXEC)) < 0)
		abort();
	if (sg_file_write_all(fd, body, body_len) != 0)
		abort();
	r = gw_multipart_files(fd, content_type, files, GW_MULTIPART_FILES_MAX, &n, why, sizeof(why));
	if (r != 0) {
		if (n != 0 || (r != SG_ERR_IO && why[0] == '\0'))
			abort();
		close(fd);
		return 0;
	}
	if (n == 0 || n > GW_MULTIPART_FILES_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (files[i].length <= 0 || files[i].offset < prev_end ||
		    files[i].offset + (unsigned long long)files[i].length > body_len)
			abort();
		prev_end = files[i].offset + (unsigned long long)files[i].length;
		if (EVP_Digest(body + files[i].offset, (size_t)files[i].length, sha256, NULL,
		    EVP_sha256(), NULL) != 1 || memcmp(sha256, files[i].sha256, 32) != 0)
			abort();
		if (gw_asic_name_check(files[i].name, NULL, 0) != 0 || files[i].media_type[0] == '\0')
			abort();
		for (k = 0; k < i; k++) {
			if (strcasecmp(files[k].name, files[i].name) == 0)
				abort();
		}
	}
	close(fd);
	return 0;
}
