/* SPDX-License-Identifier: Apache-2.0 */
/* The declared size of a PDF's cross-reference chain (gw_pdf_xref.h),
 * read with a small tokenizer over the file's bytes (ISO 32000-1 7.2
 * lexical conventions, 7.5.4 tables, 7.5.8 streams): only the keys that
 * name sections and their sizes are read, everything else is skipped. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gw_pdf_xref.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

/* A section's dictionary must start and end within this many bytes. */
#define WINDOW		65536
/* Subsection headers of one table followed before giving up. */
#define SUBSECTIONS_MAX	100000
/* A table entry is exactly 20 bytes (7.5.4). */
#define ENTRY_BYTES	20

struct scan {
	const unsigned char *p, *end;
};

/* What a section's dictionary says about the chain. -1: absent. */
struct xref_dict {
	long long size, prev, xrefstm, index_total;
};

static int
is_space(int c)
{
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static int
is_delim(int c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
	    c == '{' || c == '}' || c == '/' || c == '%';
}

static void
skip_space(struct scan *s)
{
	while (s->p < s->end) {
		if (*s->p == '%') {
			while (s->p < s->end && *s->p != '\n' && *s->p != '\r')
				s->p++;
		} else if (is_space(*s->p))
			s->p++;
		else
			break;
	}
}

static int
at(const struct scan *s, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(s->end - s->p) >= n && memcmp(s->p, word, n) == 0;
}

/* A non-negative integer token; -1 when there is none. */
static long long
integer(struct scan *s)
{
	long long v = 0;
	const unsigned char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < 18)
		v = v * 10 + (*s->p++ - '0');
	if (s->p == start || (s->p < s->end && !is_space(*s->p) && !is_delim(*s->p)))
		return -1;
	return v;
}

/* A name after its '/', #xx escapes decoded, into out (truncated: a key
 * this reader wants is short). */
static int
hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
name(struct scan *s, char *out, size_t outlen)
{
	size_t n = 0;
	int c;

	while (s->p < s->end && !is_space(*s->p) && !is_delim(*s->p)) {
		c = *s->p++;
		if (c == '#' && s->end - s->p >= 2 && hex_digit(s->p[0]) >= 0 &&
		    hex_digit(s->p[1]) >= 0) {
			c = hex_digit(s->p[0]) * 16 + hex_digit(s->p[1]);
			s->p += 2;
		}
		if (n + 1 < outlen)
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

static int skip_object(struct scan *s, int depth);

/* Past a literal string "(...)" with nested parentheses and escapes. */
static int
skip_string(struct scan *s)
{
	int nest = 0;

	for (; s->p < s->end; s->p++) {
		if (*s->p == '\\')
			s->p++;
		else if (*s->p == '(')
			nest++;
		else if (*s->p == ')' && --nest == 0) {
			s->p++;
			return 0;
		}
	}
	return SG_ERR_PARSE;
}

/* Past the items of an array or dictionary up to the closing token. */
static int
skip_until(struct scan *s, const char *close, int depth)
{
	int r;

	for (;;) {
		skip_space(s);
		if (s->p >= s->end)
			return SG_ERR_PARSE;
		if (at(s, close)) {
			s->p += strlen(close);
			return 0;
		}
		if ((r = skip_object(s, depth + 1)) != 0)
			return r;
	}
}

/* Past one object (or one token of one: "12 0 R" is three). */
static int
skip_object(struct scan *s, int depth)
{
	char ignored[2];

	if (depth > 32)
		return SG_ERR_PARSE;
	skip_space(s);
	if (s->p >= s->end)
		return SG_ERR_PARSE;
	if (at(s, "<<")) {
		s->p += 2;
		return skip_until(s, ">>", depth);
	}
	if (*s->p == '[') {
		s->p++;
		return skip_until(s, "]", depth);
	}
	if (*s->p == '(')
		return skip_string(s);
	if (*s->p == '<') {
		while (s->p < s->end && *s->p != '>')
			s->p++;
		if (s->p >= s->end)
			return SG_ERR_PARSE;
		s->p++;
		return 0;
	}
	if (*s->p == '/') {
		s->p++;
		name(s, ignored, sizeof(ignored));
		return 0;
	}
	if (is_delim(*s->p))		/* ')', '>', ']', '{', '}' out of place */
		return SG_ERR_PARSE;
	while (s->p < s->end && !is_space(*s->p) && !is_delim(*s->p))
		s->p++;
	return 0;
}

/* A direct non-negative integer value: an indirect one ("12 0 R") is
 * refused, as 7.5.8.2 says a stream's /Size and /Index are direct. */
static int
direct_integer(struct scan *s, long long *vp)
{
	const unsigned char *after;

	skip_space(s);
	if ((*vp = integer(s)) < 0)
		return SG_ERR_PARSE;
	after = s->p;
	skip_space(s);
	if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		return SG_ERR_PARSE;
	s->p = after;
	return 0;
}

/* The dictionary at s (its "<<"): /Size, /Prev, /XRefStm and /Index. */
static int
section_dict(struct scan *s, struct xref_dict *d)
{
	char key[16];
	long long first, count;
	int r;

	d->size = d->prev = d->xrefstm = -1;
	d->index_total = 0;
	skip_space(s);
	if (!at(s, "<<"))
		return SG_ERR_PARSE;
	s->p += 2;
	for (;;) {
		skip_space(s);
		if (at(s, ">>"))
			return 0;
		if (s->p >= s->end || *s->p != '/')
			return SG_ERR_PARSE;
		s->p++;
		name(s, key, sizeof(key));
		if (strcmp(key, "Size") == 0)
			r = direct_integer(s, &d->size);
		else if (strcmp(key, "Prev") == 0)
			r = direct_integer(s, &d->prev);
		else if (strcmp(key, "XRefStm") == 0)
			r = direct_integer(s, &d->xrefstm);
		else if (strcmp(key, "Index") == 0) {
			skip_space(s);
			if (s->p >= s->end || *s->p != '[')
				return SG_ERR_PARSE;
			s->p++;
			for (;;) {
				skip_space(s);
				if (s->p < s->end && *s->p == ']') {
					s->p++;
					break;
				}
				if ((first = integer(s)) < 0)
					return SG_ERR_PARSE;
				skip_space(s);
				if ((count = integer(s)) < 0)
					return SG_ERR_PARSE;
				d->index_total += count;
				if (d->index_total > GW_PDF_XREF_ENTRIES_MAX)
					return SG_ERR_TOO_LARGE;
			}
			r = 0;
		} else {
			/* One value, however many tokens ("12 0 R"): up to
			 * the next key or the end. */
			do {
				r = skip_object(s, 0);
				skip_space(s);
			} while (r == 0 && s->p < s->end && *s->p != '/' && *s->p != '>');
		}
		if (r != 0)
			return r;
	}
}

/* The bytes at off (up to WINDOW, fewer at the end), as a scan. */
static int
window(int fd, uint64_t size, uint64_t off, unsigned char *buf, struct scan *s)
{
	size_t len = size - off < WINDOW ? (size_t)(size - off) : WINDOW;
	int r;

	if ((r = sg_file_pread_all(fd, off, buf, len)) != 0)
		return r;
	s->p = buf;
	s->end = buf + len;
	return 0;
}

/* A table at off ("xref", subsections, "trailer" and its dictionary):
 * the entries its subsections declare, and the trailer. */
static int
table_section(int fd, uint64_t size, uint64_t off, unsigned char *buf, long long *entries,
    struct xref_dict *d)
{
	uint64_t pos = off + 4;
	long long first, count;
	struct scan s;
	int i, r;

	*entries = 0;
	for (i = 0; i < SUBSECTIONS_MAX; i++) {
		if (pos >= size || (r = window(fd, size, pos, buf, &s)) != 0)
			return SG_ERR_PARSE;
		skip_space(&s);
		if (at(&s, "trailer")) {
			pos += (uint64_t)(s.p - buf) + 7;
			if (pos >= size || window(fd, size, pos, buf, &s) != 0)
				return SG_ERR_PARSE;
			return section_dict(&s, d);
		}
		if ((first = integer(&s)) < 0)
			return SG_ERR_PARSE;
		skip_space(&s);
		if ((count = integer(&s)) < 0)
			return SG_ERR_PARSE;
		skip_space(&s);
		pos += (uint64_t)(s.p - buf);
		if ((uint64_t)count > (size - pos) / ENTRY_BYTES)
			return SG_ERR_PARSE;	/* a table longer than the file */
		pos += (uint64_t)count * ENTRY_BYTES;
		*entries += count;
		if (*entries > GW_PDF_XREF_ENTRIES_MAX)
			return SG_ERR_TOO_LARGE;
	}
	return SG_ERR_PARSE;
}

/* An xref stream at off ("N G obj" and its dictionary). */
static int
stream_section(int fd, uint64_t size, uint64_t off, unsigned char *buf, long long *entries,
    struct xref_dict *d)
{
	struct scan s;
	int r;

	if ((r = window(fd, size, off, buf, &s)) != 0)
		return r;
	if (integer(&s) < 0)
		return SG_ERR_PARSE;
	skip_space(&s);
	if (integer(&s) < 0)
		return SG_ERR_PARSE;
	skip_space(&s);
	if (!at(&s, "obj"))
		return SG_ERR_PARSE;
	s.p += 3;
	if ((r = section_dict(&s, d)) != 0)
		return r;
	*entries = d->index_total;
	return 0;
}

static int
refuse(char *why, size_t whylen, int r, const char *text)
{
	sg_msg(why, whylen, "%s", text);
	return r;
}

int
gw_pdf_xref_check(int fd, uint64_t size, uint64_t startxref, char *why, size_t whylen)
{
	uint64_t todo[GW_PDF_XREF_SECTIONS_MAX], seen[GW_PDF_XREF_SECTIONS_MAX], off;
	unsigned char *buf;
	struct xref_dict d;
	long long entries, total = 0, limit;
	size_t n_todo = 0, n_seen = 0, i;
	int r = 0;

	limit = (long long)(size / GW_PDF_XREF_BYTES_PER_ENTRY);
	if (limit < GW_PDF_XREF_ENTRIES_FLOOR)
		limit = GW_PDF_XREF_ENTRIES_FLOOR;
	if (limit > GW_PDF_XREF_ENTRIES_MAX)
		limit = GW_PDF_XREF_ENTRIES_MAX;
	if ((buf = malloc(WINDOW)) == NULL)
		return SG_ERR_ALLOC;
	todo[n_todo++] = startxref;
	while (n_todo > 0) {
		off = todo[--n_todo];
		for (i = 0; i < n_seen; i++)
			if (seen[i] == off)
				break;
		if (i < n_seen)
			continue;	/* a /Prev and a /XRefStm may name one section */
		if (n_seen == GW_PDF_XREF_SECTIONS_MAX) {
			r = refuse(why, whylen, SG_ERR_PARSE,
			    "the PDF's cross-reference chain has too many sections");
			goto out;
		}
		seen[n_seen++] = off;
		if (off + 4 >= size) {
			r = refuse(why, whylen, SG_ERR_PARSE,
			    "a cross-reference section of the PDF lies outside the file");
			goto out;
		}
		if ((r = sg_file_pread_all(fd, off, buf, 4)) != 0)
			goto out;
		d.size = d.prev = d.xrefstm = -1;
		r = memcmp(buf, "xref", 4) == 0 ? table_section(fd, size, off, buf, &entries, &d) :
		    stream_section(fd, size, off, buf, &entries, &d);
		if (r == SG_ERR_TOO_LARGE)
			entries = GW_PDF_XREF_ENTRIES_MAX + 1LL;
		else if (r != 0) {
			r = refuse(why, whylen, SG_ERR_PARSE,
			    "a cross-reference section of the PDF cannot be read");
			goto out;
		}
		if (d.size > entries)
			entries = d.size;
		total += entries;
		if (r == SG_ERR_TOO_LARGE || total > limit) {
			sg_msg(why, whylen, "the PDF's cross-references declare more objects "
			    "than a file of its size can hold (at most %lld)", limit);
			r = SG_ERR_PARSE;
			goto out;
		}
		if (n_todo + 2 > GW_PDF_XREF_SECTIONS_MAX) {
			r = refuse(why, whylen, SG_ERR_PARSE,
			    "the PDF's cross-reference chain has too many sections");
			goto out;
		}
		if (d.prev >= 0)
			todo[n_todo++] = (uint64_t)d.prev;
		if (d.xrefstm >= 0)
			todo[n_todo++] = (uint64_t)d.xrefstm;
	}
 out:
	free(buf);
	return r;
}
