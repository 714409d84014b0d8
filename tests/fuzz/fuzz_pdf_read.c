/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: a PDF as POST /v1/stamp?format=pades reads it,
 * through gw_pades_begin (gw_pdf_read over qpdf, then the incremental
 * update written after it and the byte ranges hashed), in a memfd as the
 * route's temporary file. Seeds: PDFs from ghostscript, qpdf (object
 * streams, linearized), one with a form, one with a looping page tree,
 * one whose page sits 70 levels deep.
 * The contract on every input:
 *  - it is sealable (0) or refused as SG_ERR_PARSE, SG_ERR_TOO_LARGE or
 *    SG_ERR_IO with a reason free of control characters;
 *  - when sealable, the original bytes are still the file's prefix and
 *    the /Contents placeholder lies inside the update. */
#define _GNU_SOURCE
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gw_pades.h"
#include "sg_err.h"
#include "sg_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_pades p;
	char why[256];
	unsigned char *back;
	const char *c;
	int fd, r;

	if ((fd = memfd_create("fuzz_pdf_read", MFD_CLOEXEC)) < 0)
		abort();
	if (size > 0 && sg_file_pwrite_all(fd, 0, data, size) != 0)
		abort();
	why[0] = '\0';
	r = gw_pades_begin(&p, fd, size, (time_t)1767225600, why, sizeof(why));
	if (r != 0 && r != SG_ERR_PARSE && r != SG_ERR_TOO_LARGE && r != SG_ERR_IO)
		abort();
	for (c = why; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	}
	if (r != 0 && why[0] == '\0')
		abort();
	if (r == 0) {
		if (p.total_size <= size || p.contents_at < size || p.contents_at >= p.total_size)
			abort();
		if ((back = malloc(size + 1)) == NULL)
			abort();
		if (sg_file_pread_all(fd, 0, back, size) != 0 || memcmp(back, data, size) != 0)
			abort();
		free(back);
	}
	gw_pades_clear(&p);
	close(fd);
	return 0;
}
