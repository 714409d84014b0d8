/* SPDX-License-Identifier: Apache-2.0 */
/* The PAdES incremental update (ISO 32000-1 7.5.6 and 12.8, ETSI EN
 * 319 142-1): written after the original bytes with a fixed-width
 * /ByteRange and a zero-filled /Contents, hashed around the placeholder,
 * and filled with the CMS once the seal service has signed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "gw_pades.h"
#include "gw_pdf.h"
#include "sg_buf.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

/* The update is a few objects; a first page or form with more text than
 * this is no page anyone seals. */
#define UPDATE_MAX (16u * 1024 * 1024)
#define HASH_CHUNK 65536
/* "[0 a b c]" with ten digits each: patched in place once sizes are known. */
#define BYTE_RANGE_TEMPLATE "[0 0000000000 0000000000 0000000000]"
#define OFFSET_MAX 4294967295ULL	/* 4-byte offsets in the xref stream */

/* The objects the update holds, in the order they are written. */
struct update_obj {
	int num, gen;
	uint64_t at;
};

static int
begin_obj(struct sg_buf *b, uint64_t base, struct update_obj *o, int num, int gen)
{
	o->num = num;
	o->gen = gen;
	o->at = base + b->len;
	return sg_buf_printf(b, "%d %d obj\n", num, gen);
}

static int
cmp_obj(const void *a, const void *b)
{
	const struct update_obj *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

/* A classic cross-reference section and trailer (ISO 32000-1 7.5.4-5). */
static int
xref_table(struct sg_buf *b, uint64_t base, const struct gw_pdf *pdf, struct update_obj *objs,
    size_t n, int size)
{
	uint64_t at = base + b->len;
	size_t i;
	int r;

	qsort(objs, n, sizeof(*objs), cmp_obj);
	if ((r = sg_buf_append_str(b, "xref\n")) != 0)
		return r;
	for (i = 0; i < n; i++) {
		/* Each entry is exactly 20 bytes, ending in CR LF. */
		if ((r = sg_buf_printf(b, "%d 1\n%010llu %05d n\r\n", objs[i].num,
		    (unsigned long long)objs[i].at, objs[i].gen)) != 0)
			return r;
	}
	return sg_buf_printf(b, "trailer\n<< /Size %d /Root %d %d R %s /Prev %llu >>\n"
	    "startxref\n%llu\n%%%%EOF\n", size, pdf->root.num, pdf->root.gen, pdf->trailer_extra,
	    (unsigned long long)pdf->startxref, (unsigned long long)at);
}

/* A cross-reference stream (ISO 32000-1 7.5.8), uncompressed, W [1 4 2]. */
static int
xref_stream(struct sg_buf *b, uint64_t base, const struct gw_pdf *pdf, struct update_obj *objs,
    size_t n, int num)
{
	unsigned char row[7];
	size_t i;
	int r;

	if ((r = begin_obj(b, base, &objs[n], num, 0)) != 0)
		return r;
	n++;
	qsort(objs, n, sizeof(*objs), cmp_obj);
	if ((r = sg_buf_printf(b, "<< /Type /XRef /Size %d /Index [", num + 1)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = sg_buf_printf(b, "%d 1 ", objs[i].num)) != 0)
			return r;
	}
	if ((r = sg_buf_printf(b, "] /W [1 4 2] /Root %d %d R %s /Prev %llu /Length %zu >>\n"
	    "stream\n", pdf->root.num, pdf->root.gen, pdf->trailer_extra,
	    (unsigned long long)pdf->startxref, n * sizeof(row))) != 0)
		return r;
	for (i = 0; i < n; i++) {
		row[0] = 1;
		row[1] = (unsigned char)(objs[i].at >> 24);
		row[2] = (unsigned char)(objs[i].at >> 16);
		row[3] = (unsigned char)(objs[i].at >> 8);
		row[4] = (unsigned char)objs[i].at;
		row[5] = (unsigned char)(objs[i].gen >> 8);
		row[6] = (unsigned char)objs[i].gen;
		if ((r = sg_buf_append(b, row, sizeof(row))) != 0)
			return r;
	}
	for (i = 0; i < n && objs[i].num != num; i++)
		;
	return sg_buf_printf(b, "\nendstream\nendobj\nstartxref\n%llu\n%%%%EOF\n",
	    (unsigned long long)objs[i].at);
}

/*
 * The update's text. Object sig_num is the signature dictionary, sig_num
 * + 1 the merged field and widget; the first page and the form (or the
 * catalog holding it) get new versions under their own numbers.
 */
static int
build_update(struct sg_buf *b, const struct gw_pdf *pdf, time_t when, size_t *contents_off,
    size_t *range_off)
{
	struct update_obj objs[6];
	size_t n = 0, i;
	int sig_num = pdf->next_num, field_num = pdf->next_num + 1, r;
	uint64_t base = pdf->size;
	char date[32];
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL || strftime(date, sizeof(date), "D:%Y%m%d%H%M%S+00'00'",
	    &tm) == 0)
		return SG_ERR_INTERNAL;
	/* A file need not end in an end-of-line; the update starts on its own. */
	if ((r = sg_buf_append_str(b, "\n")) != 0 ||
	    (r = begin_obj(b, base, &objs[n++], sig_num, 0)) != 0 ||
	    (r = sg_buf_append_str(b, "<< /Type /Sig /Filter /Adobe.PPKLite "
	    "/SubFilter /ETSI.CAdES.detached /ByteRange ")) != 0)
		return r;
	*range_off = b->len;
	if ((r = sg_buf_append_str(b, BYTE_RANGE_TEMPLATE " /Contents ")) != 0)
		return r;
	*contents_off = b->len;
	if ((r = sg_buf_append_str(b, "<")) != 0)
		return r;
	for (i = 0; i < 2 * GW_PADES_CONTENTS_MAX; i++) {
		if ((r = sg_buf_append(b, "0", 1)) != 0)
			return r;
	}
	if ((r = sg_buf_printf(b, "> /M (%s) >>\nendobj\n", date)) != 0)
		return r;
	/* F 132: Print and Locked; an empty /Rect keeps the widget invisible. */
	if ((r = begin_obj(b, base, &objs[n++], field_num, 0)) != 0 ||
	    (r = sg_buf_printf(b, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Seal %d) "
	    "/V %d 0 R /F 132 /Rect [0 0 0 0] /P %d %d R >>\nendobj\n", sig_num, sig_num,
	    pdf->page.num, pdf->page.gen)) != 0)
		return r;
	if ((r = begin_obj(b, base, &objs[n++], pdf->page.num, pdf->page.gen)) != 0 ||
	    (r = sg_buf_printf(b, "%s /Annots [%s%d 0 R] >>\nendobj\n", pdf->page_text,
	    pdf->annots, field_num)) != 0)
		return r;
	if (pdf->form.num != 0) {
		if ((r = begin_obj(b, base, &objs[n++], pdf->form.num, pdf->form.gen)) != 0 ||
		    (r = sg_buf_printf(b, "%s /Fields [%s%d 0 R] /SigFlags 3 >>\nendobj\n",
		    pdf->form_text, pdf->fields, field_num)) != 0)
			return r;
	} else {
		if ((r = begin_obj(b, base, &objs[n++], pdf->root.num, pdf->root.gen)) != 0 ||
		    (r = sg_buf_printf(b, "%s /AcroForm %s /Fields [%s%d 0 R] /SigFlags 3 >> >>\n"
		    "endobj\n", pdf->root_text, pdf->form_text, pdf->fields, field_num)) != 0)
			return r;
	}
	if (pdf->xref_stream)
		return xref_stream(b, base, pdf, objs, n, field_num + 1);
	return xref_table(b, base, pdf, objs, n, pdf->next_num + 2);
}

static int
hash_range(int fd, EVP_MD_CTX *ctx, uint64_t from, uint64_t to, unsigned char *chunk)
{
	size_t want;
	ssize_t n;

	while (from < to) {
		want = to - from < HASH_CHUNK ? (size_t)(to - from) : HASH_CHUNK;
		n = pread(fd, chunk, want, (off_t)from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SG_ERR_IO;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
			return SG_ERR_CRYPTO;
		from += (uint64_t)n;
	}
	return 0;
}

int
gw_pades_begin(struct gw_pades *p, int fd, uint64_t size, time_t when, char *why,
    size_t whylen)
{
	struct gw_pdf *pdf = NULL;
	struct sg_buf update;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *chunk = NULL;
	char range[sizeof(BYTE_RANGE_TEMPLATE) + 32];
	size_t contents_off = 0, range_off = 0;
	uint64_t gap_end;
	int r;

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	sg_buf_init(&update, UPDATE_MAX);
	if ((r = gw_pdf_read(fd, size, &pdf, why, whylen)) != 0)
		goto out;
	if ((r = build_update(&update, pdf, when, &contents_off, &range_off)) != 0)
		goto out;
	if (size + update.len > OFFSET_MAX) {
		r = SG_ERR_TOO_LARGE;
		goto out;
	}
	p->original_size = size;
	p->total_size = size + update.len;
	p->contents_at = size + contents_off;
	gap_end = p->contents_at + 2 * GW_PADES_CONTENTS_MAX + 2;
	if (snprintf(range, sizeof(range), "[0 %010llu %010llu %010llu]",
	    (unsigned long long)p->contents_at, (unsigned long long)gap_end,
	    (unsigned long long)(p->total_size - gap_end)) != (int)strlen(BYTE_RANGE_TEMPLATE)) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	memcpy(update.data + range_off, range, strlen(range));
	if ((r = sg_file_pwrite_all(fd, size, update.data, update.len)) != 0)
		goto out;
	r = SG_ERR_ALLOC;
	if ((ctx = EVP_MD_CTX_new()) == NULL || (chunk = malloc(HASH_CHUNK)) == NULL)
		goto out;
	r = SG_ERR_CRYPTO;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	if ((r = hash_range(fd, ctx, 0, p->contents_at, chunk)) != 0 ||
	    (r = hash_range(fd, ctx, gap_end, p->total_size, chunk)) != 0)
		goto out;
	if (EVP_DigestFinal_ex(ctx, p->digest, &p->digest_len) != 1)
		goto out;
	r = gw_cms_job_init_pades(&p->cms, EVP_sha256(), p->digest, p->digest_len);
 out:
	if (r == SG_ERR_TOO_LARGE && whylen > 0)
		sg_msg(why, whylen, "a sealed PDF is limited to 4 GiB");
	else if (r != 0 && r != SG_ERR_PARSE && whylen > 0 && why[0] == '\0')
		sg_msg(why, whylen, "the update could not be written: %s", sg_strerror(r));
	free(chunk);
	EVP_MD_CTX_free(ctx);
	sg_buf_free(&update);
	gw_pdf_free(pdf);
	return r;
}

int
gw_pades_embed(struct gw_pades *p, const unsigned char *cms, size_t cms_len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *text;
	size_t i;
	int r;

	if (cms_len > GW_PADES_CONTENTS_MAX)
		return SG_ERR_TOO_LARGE;
	if ((text = malloc(2 * cms_len)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < cms_len; i++) {
		text[2 * i] = hex[cms[i] >> 4];
		text[2 * i + 1] = hex[cms[i] & 0x0f];
	}
	/* After the "<"; the zeros left over pad the DER, as readers expect. */
	r = sg_file_pwrite_all(p->fd, p->contents_at + 1, text, 2 * cms_len);
	free(text);
	return r;
}

void
gw_pades_clear(struct gw_pades *p)
{
	gw_cms_job_clear(&p->cms);
}
