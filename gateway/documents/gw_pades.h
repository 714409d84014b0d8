/* SPDX-License-Identifier: Apache-2.0 */
/* PAdES baseline signatures (ETSI EN 319 142-1) added to a PDF as an
 * incremental update: every original byte stays, in order, as the prefix;
 * the update holds the signature dictionary, a signature field with an
 * invisible widget on the first page, the form, and a cross-reference
 * section of the kind the file already ends with. */
#ifndef GW_PADES_H
#define GW_PADES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gw_cms.h"

/* Bytes reserved for the CMS in /Contents (written as twice as many hex
 * digits): the signer's chain and a time-stamp token fit. */
#define GW_PADES_CONTENTS_MAX 24576

struct gw_pades {
	int fd;				/* borrowed: the PDF, then PDF and update */
	uint64_t original_size;
	uint64_t total_size;		/* with the update */
	uint64_t contents_at;		/* offset of /Contents' "<" */
	unsigned char digest[EVP_MAX_MD_SIZE];	/* SHA-256 over the byte ranges */
	unsigned int digest_len;
	/* The seal job (cms.job) over digest, and after it ran the CMS
	 * (cms.cms) and the stamp certificate (cms.stamp_cert). */
	struct gw_cms_job cms;
};

/*
 * Read the PDF of size bytes in fd (borrowed; a regular file opened for
 * reading and writing), append the update with a /Contents placeholder
 * and signing time when (/M), and hash the byte ranges into p->digest.
 * p is the caller's (cleared here). Errors: SG_ERR_PARSE (not a PDF,
 * damaged or encrypted: why says which), SG_ERR_TOO_LARGE (4 GiB or
 * more), SG_ERR_IO, SG_ERR_ALLOC.
 */
int gw_pades_begin(struct gw_pades *p, int fd, uint64_t size, time_t when, char *why,
    size_t whylen);


/*
 * Write cms (borrowed; p->cms.cms or a version carrying a time-stamp) into
 * the /Contents placeholder. SG_ERR_TOO_LARGE when it does not fit,
 * SG_ERR_IO.
 */
int gw_pades_embed(struct gw_pades *p, const unsigned char *cms, size_t cms_len);

/* Release what p holds (not its fd); accepts a cleared p. */
void gw_pades_clear(struct gw_pades *p);

#endif
