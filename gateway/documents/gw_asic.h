/* SPDX-License-Identifier: Apache-2.0 */
/* ASiC-E containers (ETSI EN 319 162-1) written with libzip: "mimetype"
 * first, stored, no extra field, holding application/vnd.etsi.asic-e+zip;
 * the data objects; META-INF/manifest.xml as ODF lays it out; the XAdES
 * signature as META-INF/signatures0.xml. The bytes of the data objects
 * are read from files and the container is written to one, so memory
 * stays bounded whatever their size. No network, no token. */
#ifndef GW_ASIC_H
#define GW_ASIC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GW_ASIC_MEDIA_TYPE	"application/vnd.etsi.asic-e+zip"
#define GW_ASIC_NAME_MAX	255

/* One data object. */
struct gw_asic_object {
	const char *name;		/* gw_asic_name_check says it is safe */
	const char *media_type;
	int fd;				/* the file its bytes are in (borrowed) */
	unsigned long long offset;	/* where they begin in it */
	long long length;		/* how many there are; -1: to the end */
};

/*
 * 0 when name may be a data object's name in a container: 1 to
 * GW_ASIC_NAME_MAX bytes of UTF-8 with no control character, no '/' or
 * '\', not "." or "..", not "mimetype" and not beginning with "META-INF"
 * (in any case: both are the container's own). Otherwise SG_ERR_INVALID_ARG
 * with why saying what is wrong.
 */
int gw_asic_name_check(const char *name, char *why, size_t whylen);

/*
 * Write the container of objects[0..n-1] (borrowed; names checked and
 * distinct, ignoring case) with signature (signature_len bytes, the
 * XAdESSignatures document) as META-INF/signatures0.xml, every entry
 * dated mtime. The container is made in tmp_dir and handed over as an
 * open, already unlinked, file: *fdp (close it), *lenp its size.
 * SG_ERR_INVALID_ARG (names), SG_ERR_IO (writing), SG_ERR_ALLOC.
 */
int gw_asic_write(const char *tmp_dir, const struct gw_asic_object *objects, size_t n,
    const void *signature, size_t signature_len, time_t mtime, int *fdp, size_t *lenp);

#endif
