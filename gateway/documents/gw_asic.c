/* SPDX-License-Identifier: Apache-2.0 */
/* ASiC-E containers through libzip; see gw_asic.h. libzip writes beside
 * the target and renames into place on zip_close, so the target lives in
 * a directory of its own until the container is open and unlinked. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <zip.h>

#include "gw_asic.h"
#include "sg_err.h"
#include "sg_log.h"

#define MANIFEST_NS	"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"

static int
why_set(char *why, size_t whylen, const char *what)
{
	return sg_why(SG_ERR_INVALID_ARG, why, whylen, "%s", what);
}

/* 1 when s is well-formed UTF-8 (no overlong forms, no surrogates). */
static int
utf8_valid(const unsigned char *s)
{
	while (*s != '\0') {
		size_t n, i;
		unsigned int cp;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 1;
			cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2;
			cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3;
			cp = *s & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return 0;
		s += n + 1;
	}
	return 1;
}

int
gw_asic_name_check(const char *name, char *why, size_t whylen)
{
	size_t len, i;

	if (name == NULL || (len = strlen(name)) == 0)
		return why_set(why, whylen, "a file name is empty");
	if (len > GW_ASIC_NAME_MAX)
		return why_set(why, whylen, "a file name is longer than 255 bytes");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f)
			return why_set(why, whylen, "a file name holds a control character");
		if (c == '/' || c == '\\')
			return why_set(why, whylen, "a file name holds '/' or '\\' (no folders)");
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return why_set(why, whylen, "a file name is \".\" or \"..\"");
	if (!utf8_valid((const unsigned char *)name))
		return why_set(why, whylen, "a file name is not UTF-8");
	if (strcasecmp(name, "mimetype") == 0 || strncasecmp(name, "META-INF", 8) == 0)
		return why_set(why, whylen, "\"mimetype\" and \"META-INF\" are the container's own");
	return 0;
}

/* META-INF/manifest.xml: the container itself ("/") and each object. */
static int
manifest(const struct gw_asic_object *objects, size_t n, xmlChar **xmlp, int *lenp)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, entry;
	xmlNsPtr ns;
	size_t i;
	int r = SG_ERR_ALLOC;

	*xmlp = NULL;
	if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
	    (root = xmlNewDocNode(doc, NULL, BAD_CAST "manifest", NULL)) == NULL)
		goto out;
	xmlDocSetRootElement(doc, root);
	if ((ns = xmlNewNs(root, BAD_CAST MANIFEST_NS, BAD_CAST "manifest")) == NULL)
		goto out;
	xmlSetNs(root, ns);
	if (xmlNewNsProp(root, ns, BAD_CAST "version", BAD_CAST "1.2") == NULL)
		goto out;
	for (i = 0; i <= n; i++) {
		if ((entry = xmlNewChild(root, ns, BAD_CAST "file-entry", NULL)) == NULL ||
		    xmlNewNsProp(entry, ns, BAD_CAST "full-path",
		    BAD_CAST (i == 0 ? "/" : objects[i - 1].name)) == NULL ||
		    xmlNewNsProp(entry, ns, BAD_CAST "media-type",
		    BAD_CAST (i == 0 ? GW_ASIC_MEDIA_TYPE : objects[i - 1].media_type)) == NULL)
			goto out;
	}
	xmlDocDumpMemoryEnc(doc, xmlp, lenp, "UTF-8");
	if (*xmlp != NULL && *lenp > 0)
		r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* Add a copy of len bytes at p as name; the entry's index in *idxp. */
static int
add_bytes(zip_t *za, const char *name, const void *p, size_t len, time_t mtime, int store)
{
	zip_source_t *src;
	zip_int64_t idx;

	if ((src = zip_source_buffer(za, p, len, 0)) == NULL)
		return SG_ERR_ALLOC;
	if ((idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(src);
		return SG_ERR_IO;
	}
	if (zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0 ||
	    (store && zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0))
		return SG_ERR_IO;
	return 0;
}

/* A data object's bytes for libzip, read with pread: objects share one
 * file, and each keeps its own place in it. */
struct object_source {
	int fd;
	unsigned long long offset, length, done;
	time_t mtime;
	zip_error_t error;
};

static zip_int64_t
object_source_cb(void *userdata, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct object_source *os = userdata;
	zip_stat_t *st;
	ssize_t n;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		os->done = 0;
		return 0;
	case ZIP_SOURCE_READ:
		if (len > os->length - os->done)
			len = os->length - os->done;
		if (len == 0)
			return 0;
		do
			n = pread(os->fd, data, (size_t)len, (off_t)(os->offset + os->done));
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			zip_error_set(&os->error, ZIP_ER_READ, n < 0 ? errno : EIO);
			return -1;
		}
		os->done += (unsigned long long)n;
		return n;
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT:
		if ((st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &os->error)) == NULL)
			return -1;
		zip_stat_init(st);
		st->size = os->length;
		st->mtime = os->mtime;
		st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
		return sizeof(*st);
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&os->error, data, len);
	case ZIP_SOURCE_FREE:
		zip_error_fini(&os->error);
		free(os);
		return 0;
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
		    ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
	default:
		zip_error_set(&os->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

static int
add_object(zip_t *za, const struct gw_asic_object *o, time_t mtime)
{
	struct object_source *os;
	zip_source_t *src;
	zip_int64_t idx;
	struct stat st;

	if ((os = calloc(1, sizeof(*os))) == NULL)
		return SG_ERR_ALLOC;
	os->fd = o->fd;
	os->offset = o->offset;
	os->mtime = mtime;
	zip_error_init(&os->error);
	if (o->length >= 0) {
		os->length = (unsigned long long)o->length;
	} else if (fstat(o->fd, &st) == 0 && (unsigned long long)st.st_size >= o->offset) {
		os->length = (unsigned long long)st.st_size - o->offset;
	} else {
		free(os);
		return SG_ERR_IO;
	}
	/* From here the source owns os (ZIP_SOURCE_FREE). */
	if ((src = zip_source_function(za, object_source_cb, os)) == NULL) {
		free(os);
		return SG_ERR_ALLOC;
	}
	if ((idx = zip_file_add(za, o->name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(src);
		return SG_ERR_IO;
	}
	if (zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0)
		return SG_ERR_IO;
	return 0;
}

int
gw_asic_write(const char *tmp_dir, const struct gw_asic_object *objects, size_t n,
    const void *signature, size_t signature_len, time_t mtime, int *fdp, size_t *lenp)
{
	static const char mimetype[] = GW_ASIC_MEDIA_TYPE;
	char dir[4096], path[4096 + 16];
	xmlChar *manifest_xml = NULL;
	int manifest_len = 0, fd = -1, zerr = 0, r = SG_ERR_IO;
	zip_t *za = NULL;
	struct stat st;
	size_t i, k;

	*fdp = -1;
	*lenp = 0;
	if (n == 0 || signature == NULL)
		return SG_ERR_INVALID_ARG;
	for (i = 0; i < n; i++) {
		if (gw_asic_name_check(objects[i].name, NULL, 0) != 0)
			return SG_ERR_INVALID_ARG;
		for (k = 0; k < i; k++) {
			if (strcasecmp(objects[i].name, objects[k].name) == 0)
				return SG_ERR_INVALID_ARG;
		}
	}
	if (snprintf(dir, sizeof(dir), "%s/sealgate-asic-XXXXXX", tmp_dir) >= (int)sizeof(dir))
		return SG_ERR_INVALID_ARG;
	if (mkdtemp(dir) == NULL) {
		sg_error("mkdtemp %s: %s", dir, strerror(errno));
		return SG_ERR_IO;
	}
	if (snprintf(path, sizeof(path), "%s/c.asice", dir) >= (int)sizeof(path)) {
		r = SG_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = manifest(objects, n, &manifest_xml, &manifest_len)) != 0)
		goto out;
	r = SG_ERR_IO;
	if ((za = zip_open(path, ZIP_CREATE | ZIP_EXCL, &zerr)) == NULL) {
		sg_error("zip_open %s: libzip error %d", path, zerr);
		goto out;
	}
	/* mimetype first and stored, so a reader finds the media type at
	 * byte 38 of the file (EN 319 162-1 A.1). */
	if ((r = add_bytes(za, "mimetype", mimetype, sizeof(mimetype) - 1, mtime, 1)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = add_object(za, &objects[i], mtime)) != 0)
			goto out;
	}
	if ((r = add_bytes(za, "META-INF/manifest.xml", manifest_xml, (size_t)manifest_len,
	    mtime, 0)) != 0 ||
	    (r = add_bytes(za, "META-INF/signatures0.xml", signature, signature_len, mtime, 0)) != 0)
		goto out;
	if (zip_close(za) != 0) {
		sg_error("zip_close %s: %s", path, zip_strerror(za));
		r = SG_ERR_IO;
		goto out;
	}
	za = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		sg_error("open %s: %s", path, strerror(errno));
		r = SG_ERR_IO;
		goto out;
	}
	*fdp = fd;
	*lenp = (size_t)st.st_size;
	fd = -1;
	r = 0;
out:
	if (za != NULL)
		zip_discard(za);
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	if (rmdir(dir) != 0)
		sg_warn("rmdir %s: %s", dir, strerror(errno));
	xmlFree(manifest_xml);
	return r;
}
