/* SPDX-License-Identifier: Apache-2.0 */
/* multipart/form-data from a file through a fixed window; see
 * gw_multipart.h. The body is read once, front to back: a part's bytes
 * are hashed as the window slides over them, so their size does not
 * matter, only that of a part's headers (8 KiB at most). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gw_multipart.h"
#include "sg_codec.h"
#include "sg_err.h"

#define WINDOW		((size_t)64 * 1024)
#define HEADERS_MAX	((size_t)8 * 1024)
#define BOUNDARY_MAX	70		/* RFC 2046 section 5.1.1 */

struct reader {
	int fd;
	unsigned char buf[WINDOW];
	size_t len, pos;		/* buf[pos..len) is unread */
	unsigned long long base;	/* the body offset of buf[0] */
	int eof;
};

static int
fail(char *why, size_t whylen, const char *what)
{
	return sg_why(SG_ERR_INVALID_ARG, why, whylen, "multipart/form-data: %s", what);
}

/* Slide the window so that at least n bytes are unread, unless the body
 * ends first. */
static int
need(struct reader *rd, size_t n)
{
	ssize_t got;

	if (rd->len - rd->pos >= n || rd->eof)
		return 0;
	memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
	rd->base += rd->pos;
	rd->len -= rd->pos;
	rd->pos = 0;
	while (rd->len < WINDOW && !rd->eof) {
		got = read(rd->fd, rd->buf + rd->len, WINDOW - rd->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return SG_ERR_IO;
		if (got == 0)
			rd->eof = 1;
		rd->len += (size_t)got;
	}
	return 0;
}

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
gw_multipart_is(const char *content_type)
{
	char mt[GW_MULTIPART_MEDIA_TYPE_MAX + 1];

	return gw_multipart_media_type(content_type, mt, sizeof(mt)) == 0 &&
	    strcmp(mt, "multipart/form-data") == 0;
}

int
gw_multipart_media_type(const char *content_type, char *out, size_t outlen)
{
	size_t i = 0, slash = 0, o = 0;

	if (outlen == 0)
		return SG_ERR_INVALID_ARG;
	out[0] = '\0';
	if (content_type == NULL)
		return 0;
	while (content_type[i] == ' ' || content_type[i] == '\t')
		i++;
	for (; content_type[i] != '\0' && content_type[i] != ';' && content_type[i] != ' ' &&
	    content_type[i] != '\t'; i++) {
		unsigned char c = (unsigned char)content_type[i];

		if (c == '/' && slash == 0 && o > 0)
			slash = o;
		else if (!is_tchar(c))
			return SG_ERR_INVALID_ARG;
		if (o + 1 >= outlen)
			return SG_ERR_INVALID_ARG;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[o] = '\0';
	if (slash == 0 || slash + 1 == o) {
		out[0] = '\0';
		return SG_ERR_INVALID_ARG;
	}
	return 0;
}

/*
 * The value of parameter name in a header value's "; name=value" list
 * (token or quoted-string, RFC 9110 section 5.6.6) into out; 0 when found,
 * 1 when absent, SG_ERR_INVALID_ARG when malformed or too long.
 */
static int
param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), o;
	const char *k;
	int match;

	while ((v = strchr(v, ';')) != NULL) {
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		k = v;
		while (is_tchar((unsigned char)*v))
			v++;
		if (*v != '=')
			return SG_ERR_INVALID_ARG;
		match = (size_t)(v - k) == nlen && strncasecmp(k, name, nlen) == 0;
		v++;
		o = 0;
		if (*v == '"') {
			for (v++; *v != '"'; v++) {
				if (*v == '\0')
					return SG_ERR_INVALID_ARG;
				if (*v == '\\' && v[1] != '\0')
					v++;
				if (match && o + 1 >= outlen)
					return SG_ERR_INVALID_ARG;
				if (match)
					out[o++] = *v;
			}
			v++;
		} else {
			for (; is_tchar((unsigned char)*v); v++) {
				if (match && o + 1 >= outlen)
					return SG_ERR_INVALID_ARG;
				if (match)
					out[o++] = *v;
			}
		}
		if (match) {
			out[o] = '\0';
			return 0;
		}
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ';' && *v != '\0')
			return SG_ERR_INVALID_ARG;
	}
	return 1;
}

/* One part's header block (NUL-terminated, CRLF-separated lines). */
static int
part_headers(char *block, struct gw_multipart_file *f, char *why, size_t whylen)
{
	char *line = block, *end, *value;
	int has_disposition = 0, r;

	f->name[0] = '\0';
	f->media_type[0] = '\0';
	for (; *line != '\0'; line = end + 2) {
		if ((end = strstr(line, "\r\n")) == NULL)
			break;	/* the block ends in CRLF: not reached */
		*end = '\0';
		if ((value = strchr(line, ':')) == NULL)
			return fail(why, whylen, "a part header without ':'");
		*value++ = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcasecmp(line, "Content-Disposition") == 0) {
			if (strncasecmp(value, "form-data", 9) != 0 ||
			    (value[9] != ';' && value[9] != '\0' && value[9] != ' '))
				return fail(why, whylen, "a part's Content-Disposition is not form-data");
			if (has_disposition++)
				return fail(why, whylen, "a part has two Content-Disposition headers");
			r = param(value, "filename", f->name, sizeof(f->name));
			if (r == 1)
				return fail(why, whylen, "a part has no filename (each part is a file)");
			if (r != 0)
				return fail(why, whylen, "a part's filename is malformed or too long");
		} else if (strcasecmp(line, "Content-Type") == 0) {
			if (gw_multipart_media_type(value, f->media_type, sizeof(f->media_type)) != 0)
				return fail(why, whylen, "a part's Content-Type is no media type");
		}
	}
	if (!has_disposition)
		return fail(why, whylen, "a part without Content-Disposition");
	if (f->media_type[0] == '\0')
		return sg_strfit(f->media_type, sizeof(f->media_type), "application/octet-stream");
	return 0;
}

/* The part's bytes up to the next delimiter, hashed; pos is left on it. */
static int
part_content(struct reader *rd, const char *delim, size_t dlen, struct gw_multipart_file *f,
    char *why, size_t whylen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const unsigned char *hit;
	unsigned long long total = 0;
	size_t avail, n;
	int r = SG_ERR_ALLOC;

	f->offset = rd->base + rd->pos;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		if ((r = need(rd, dlen)) != 0)
			goto out;
		avail = rd->len - rd->pos;
		hit = memmem(rd->buf + rd->pos, avail, delim, dlen);
		if (hit == NULL && rd->eof) {
			r = fail(why, whylen, "the body ends inside a part (no closing boundary)");
			goto out;
		}
		n = hit != NULL ? (size_t)(hit - (rd->buf + rd->pos)) : avail - (dlen - 1);
		if (EVP_DigestUpdate(md, rd->buf + rd->pos, n) != 1) {
			r = SG_ERR_ALLOC;
			goto out;
		}
		total += n;
		rd->pos += n;
		if (hit != NULL)
			break;
	}
	r = SG_ERR_ALLOC;
	if (EVP_DigestFinal_ex(md, f->sha256, NULL) != 1)
		goto out;
	f->length = (long long)total;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* After a delimiter: 1 at the closing one, 0 before a part's headers. */
static int
after_delimiter(struct reader *rd, char *why, size_t whylen)
{
	int r;

	if ((r = need(rd, 2)) != 0)
		return r;
	if (rd->len - rd->pos >= 2 && memcmp(rd->buf + rd->pos, "--", 2) == 0)
		return 1;
	while ((r = need(rd, 2)) == 0 && rd->len - rd->pos >= 1 &&
	    (rd->buf[rd->pos] == ' ' || rd->buf[rd->pos] == '\t'))
		rd->pos++;
	if (r != 0)
		return r;
	if (rd->len - rd->pos < 2 || memcmp(rd->buf + rd->pos, "\r\n", 2) != 0)
		return fail(why, whylen, "a boundary line is not followed by CRLF");
	rd->pos += 2;
	return 0;
}

static int
boundary_of(const char *content_type, char *delim, size_t delimlen, size_t *dlenp, char *why,
    size_t whylen)
{
	char boundary[BOUNDARY_MAX + 2];
	size_t blen;
	int r;

	r = param(content_type, "boundary", boundary, sizeof(boundary));
	if (r != 0 || (blen = strlen(boundary)) == 0 || blen > BOUNDARY_MAX)
		return fail(why, whylen, "Content-Type has no boundary of 1 to 70 characters");
	/* "\r\n--" + boundary: what ends a part's content. */
	if (snprintf(delim, delimlen, "\r\n--%s", boundary) >= (int)delimlen)
		return SG_ERR_INTERNAL;
	*dlenp = blen + 4;
	return 0;
}

int
gw_multipart_files(int fd, const char *content_type, struct gw_multipart_file *files,
    size_t max, size_t *np, char *why, size_t whylen)
{
	struct reader *rd = NULL;
	char delim[BOUNDARY_MAX + 8], headers[HEADERS_MAX + 1], name_why[128];
	const unsigned char *end;
	size_t dlen = 0, n = 0, k, hlen;
	int r;

	*np = 0;
	if ((r = boundary_of(content_type, delim, sizeof(delim), &dlen, why, whylen)) != 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return SG_ERR_IO;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return SG_ERR_ALLOC;
	rd->fd = fd;
	/* The body opens with the first boundary line (no preamble). */
	if ((r = need(rd, dlen - 2)) != 0)
		goto out;
	if (rd->len - rd->pos < dlen - 2 || memcmp(rd->buf, delim + 2, dlen - 2) != 0) {
		r = fail(why, whylen, "the body does not begin with the boundary");
		goto out;
	}
	rd->pos += dlen - 2;
	while ((r = after_delimiter(rd, why, whylen)) == 0) {
		if (n == max) {
			r = sg_why(SG_ERR_INVALID_ARG, why, whylen,
			    "at most %zu files in one container", max);
			goto out;
		}
		if ((r = need(rd, HEADERS_MAX)) != 0)
			goto out;
		if (rd->len - rd->pos >= 2 && memcmp(rd->buf + rd->pos, "\r\n", 2) == 0) {
			r = fail(why, whylen, "a part has no headers");
			goto out;
		}
		hlen = rd->len - rd->pos < HEADERS_MAX ? rd->len - rd->pos : HEADERS_MAX;
		if ((end = memmem(rd->buf + rd->pos, hlen, "\r\n\r\n", 4)) == NULL) {
			r = fail(why, whylen, "a part's headers are unterminated or longer than 8 KiB");
			goto out;
		}
		hlen = (size_t)(end - (rd->buf + rd->pos)) + 2;
		if (memchr(rd->buf + rd->pos, '\0', hlen) != NULL) {
			r = fail(why, whylen, "a part's headers hold a NUL byte");
			goto out;
		}
		memcpy(headers, rd->buf + rd->pos, hlen);
		headers[hlen] = '\0';
		rd->pos += hlen + 2;
		if ((r = part_headers(headers, &files[n], why, whylen)) != 0)
			goto out;
		if (gw_asic_name_check(files[n].name, name_why, sizeof(name_why)) != 0) {
			r = sg_why(SG_ERR_INVALID_ARG, why, whylen, "filename: %s", name_why);
			goto out;
		}
		for (k = 0; k < n; k++) {
			if (strcasecmp(files[k].name, files[n].name) == 0) {
				r = sg_why(SG_ERR_INVALID_ARG, why, whylen, "two files are named "
				    "\"%s\" (names are compared ignoring case)", files[n].name);
				goto out;
			}
		}
		if ((r = part_content(rd, delim, dlen, &files[n], why, whylen)) != 0)
			goto out;
		if (files[n].length == 0) {
			r = sg_why(SG_ERR_INVALID_ARG, why, whylen, "file \"%s\" is empty", files[n].name);
			goto out;
		}
		n++;
		rd->pos += dlen;
	}
	if (r < 0)
		goto out;
	if (n == 0) {
		r = fail(why, whylen, "no file in the body");
		goto out;
	}
	*np = n;
	r = 0;
out:
	free(rd);
	return r;
}
