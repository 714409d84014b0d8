/* SPDX-License-Identifier: Apache-2.0 */
/* multipart/form-data bodies (RFC 7578) read from the temporary file a
 * document body was kept in: each part that names a filename is one file,
 * found as an offset and length in that file and hashed on the way, so
 * nothing of the body is held in memory but a 64 KiB window. */
#ifndef GW_MULTIPART_H
#define GW_MULTIPART_H

#include <stddef.h>

#include "documents/gw_asic.h"
#include "gw_xmldsig.h"

/* The most files one request carries: one Reference each, and one for
 * the XAdES SignedProperties. */
#define GW_MULTIPART_FILES_MAX		(GW_XMLDSIG_MAX_REFS - 1)
#define GW_MULTIPART_MEDIA_TYPE_MAX	127

struct gw_multipart_file {
	char name[GW_ASIC_NAME_MAX + 1];	/* gw_asic_name_check holds */
	char media_type[GW_MULTIPART_MEDIA_TYPE_MAX + 1];
	unsigned char sha256[32];
	unsigned long long offset;		/* of its first byte in the body */
	long long length;
};

/* 1 when content_type (may be NULL) is multipart/form-data. */
int gw_multipart_is(const char *content_type);

/* The type/subtype of content_type, lower-cased, without parameters, into
 * out; "" when content_type is NULL. SG_ERR_INVALID_ARG when it is not
 * one (RFC 9110 tokens) or does not fit. */
int gw_multipart_media_type(const char *content_type, char *out, size_t outlen);

/*
 * Read the multipart/form-data body in fd (from offset 0 to its end) whose
 * Content-Type, with its boundary, is content_type: every part must carry
 * Content-Disposition form-data with a filename; its Content-Type is the
 * file's media type (application/octet-stream when absent). Names must be
 * safe (gw_asic_name_check) and distinct ignoring case; at least one file,
 * at most max; no empty file. files[0..*np-1] get them.
 * SG_ERR_INVALID_ARG (why says what, for the client), SG_ERR_IO.
 */
int gw_multipart_files(int fd, const char *content_type, struct gw_multipart_file *files,
    size_t max, size_t *np, char *why, size_t whylen);

#endif
