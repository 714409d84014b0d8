/* SPDX-License-Identifier: Apache-2.0 */
/* The PDF reader an incremental update needs, over qpdf's C API: qpdf
 * parses objects and walks the page tree, with recovery off so a damaged
 * file is refused rather than silently rebuilt; the position of the last
 * cross-reference section is read from the file's own "startxref". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qpdf/qpdf-c.h>

#include "gw_pdf.h"
#include "gw_pdf_xref.h"
#include "sg_file.h"
#include "sg_err.h"
#include "sg_log.h"

/* The spec's "startxref" is in the last 1024 bytes (ISO 32000-1 7.5.5,
 * and readers look no further). */
#define TAIL_BYTES 1024
/* Object numbers an xref stream with 4-byte offsets can carry, and more
 * than any real document uses. */
#define OBJ_NUM_MAX 8388607
/* The page tree is walked here, not by qpdf, whose walk recurses once per
 * level and visits every node: a few megabytes of nested /Pages would
 * overflow the thread's stack. Real trees are a handful of levels deep. */
#define PAGE_TREE_DEPTH_MAX 64
#define PAGE_TREE_NODES_MAX 65536

/* why = prefix and text, with anything unprintable (qpdf quotes the
 * file's own bytes in its messages) as '?'. Returns r. */
static int
fail2(char *why, size_t whylen, int r, const char *prefix, const char *text)
{
	size_t i = 0;
	const char *parts[2] = { prefix, text };
	int k;

	if (whylen == 0)
		return r;
	for (k = 0; k < 2; k++) {
		for (const char *c = parts[k]; c != NULL && *c != '\0' && i + 1 < whylen; c++)
			why[i++] = (unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f ? '?' : *c;
	}
	why[i] = '\0';
	return r;
}

static int
fail(char *why, size_t whylen, int r, const char *text)
{
	return fail2(why, whylen, r, text, NULL);
}

/* An error or warning qpdf recorded: the file is damaged (or encrypted). */
static int
qpdf_failed(qpdf_data q, char *why, size_t whylen)
{
	qpdf_error e;
	const char *detail;

	if (qpdf_has_error(q)) {
		e = qpdf_get_error(q);
		if (qpdf_get_error_code(q, e) == qpdf_e_password)
			return fail(why, whylen, SG_ERR_PARSE, "the PDF is encrypted");
		detail = qpdf_get_error_message_detail(q, e);
		return fail2(why, whylen, SG_ERR_PARSE, "the PDF is damaged: ", detail);
	}
	if (qpdf_more_warnings(q)) {
		e = qpdf_next_warning(q);
		detail = qpdf_get_error_message_detail(q, e);
		return fail2(why, whylen, SG_ERR_PARSE, "the PDF is damaged: ", detail);
	}
	return 0;
}

/* The last "startxref N" of the file, and what N points at. */
static int
find_last_xref(int fd, struct gw_pdf *pdf, char *why, size_t whylen)
{
	char tail[TAIL_BYTES + 1], head[32], *p, *end;
	size_t len = pdf->size < TAIL_BYTES ? (size_t)pdf->size : TAIL_BYTES;
	unsigned long long off;
	int r;

	if ((r = sg_file_pread_all(fd, pdf->size - len, tail, len)) != 0)
		return r;
	tail[len] = '\0';
	/* The tail may hold NUL bytes: search backwards by hand. */
	for (p = NULL, end = tail + len; end - tail >= 9; end--) {
		if (memcmp(end - 9, "startxref", 9) == 0) {
			p = end;
			break;
		}
	}
	if (p == NULL)
		return fail(why, whylen, SG_ERR_PARSE, "the PDF has no startxref at its end");
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	errno = 0;
	off = strtoull(p, &end, 10);
	if (end == p || errno != 0 || off >= pdf->size)
		return fail(why, whylen, SG_ERR_PARSE, "the PDF's startxref points outside the file");
	pdf->startxref = off;
	memset(head, 0, sizeof(head));
	len = pdf->size - off < sizeof(head) - 1 ? (size_t)(pdf->size - off) : sizeof(head) - 1;
	if ((r = sg_file_pread_all(fd, off, head, len)) != 0)
		return r;
	if (strncmp(head, "xref", 4) == 0)
		pdf->xref_stream = 0;
	else if (head[0] >= '1' && head[0] <= '9' && strstr(head, "obj") != NULL)
		pdf->xref_stream = 1;
	else
		return fail(why, whylen, SG_ERR_PARSE,
		    "the PDF's startxref does not point at a cross-reference section");
	return 0;
}

/* A dictionary as text, without the given keys and its closing ">>".
 * Removing the keys changes only qpdf's copy in memory. */
static int
dict_text(qpdf_data q, qpdf_oh dict, const char *const *drop, char **textp)
{
	const char *text;
	size_t len;
	char *copy;

	*textp = NULL;
	for (; drop != NULL && *drop != NULL; drop++)
		qpdf_oh_remove_key(q, dict, *drop);
	if ((text = qpdf_oh_unparse_resolved(q, dict)) == NULL || qpdf_has_error(q))
		return SG_ERR_PARSE;
	len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	if (len < 4 || strncmp(text, "<<", 2) != 0 || strncmp(text + len - 2, ">>", 2) != 0)
		return SG_ERR_PARSE;
	len -= 2;
	if ((copy = strndup(text, len)) == NULL)
		return SG_ERR_ALLOC;
	*textp = copy;
	return 0;
}

/* The items of an array (direct or not) as text, space separated. */
static int
items_text(qpdf_data q, qpdf_oh array, char **textp)
{
	char *out = NULL, *grown;
	size_t len = 0, n;
	const char *item;
	int i, count;

	*textp = NULL;
	count = qpdf_oh_is_array(q, array) ? qpdf_oh_get_array_n_items(q, array) : 0;
	if ((out = strdup("")) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < count; i++) {
		item = qpdf_oh_unparse(q, qpdf_oh_get_array_item(q, array, i));
		if (item == NULL || qpdf_has_error(q)) {
			free(out);
			return SG_ERR_PARSE;
		}
		n = strlen(item);
		if ((grown = realloc(out, len + n + 2)) == NULL) {
			free(out);
			return SG_ERR_ALLOC;
		}
		out = grown;
		memcpy(out + len, item, n);
		out[len + n] = ' ';
		out[len + n + 1] = '\0';
		len += n + 1;
	}
	*textp = out;
	return 0;
}

/* "/Info N G R /ID [...]" from the trailer, for the update's own trailer. */
static int
trailer_extra(qpdf_data q, qpdf_oh trailer, char **textp)
{
	const char *info = NULL, *id = NULL;
	char *info_copy = NULL, *out;
	size_t len;

	*textp = NULL;
	if (qpdf_oh_has_key(q, trailer, "/Info")) {
		if ((info = qpdf_oh_unparse(q, qpdf_oh_get_key(q, trailer, "/Info"))) == NULL)
			return SG_ERR_PARSE;
		if ((info_copy = strdup(info)) == NULL)
			return SG_ERR_ALLOC;
	}
	if (qpdf_oh_has_key(q, trailer, "/ID") &&
	    (id = qpdf_oh_unparse_resolved(q, qpdf_oh_get_key(q, trailer, "/ID"))) == NULL) {
		free(info_copy);
		return SG_ERR_PARSE;
	}
	len = 16 + (info_copy != NULL ? strlen(info_copy) : 0) + (id != NULL ? strlen(id) : 0);
	if ((out = malloc(len)) == NULL) {
		free(info_copy);
		return SG_ERR_ALLOC;
	}
	if (snprintf(out, len, "%s%s%s%s", info_copy != NULL ? "/Info " : "",
	    info_copy != NULL ? info_copy : "", id != NULL ? " /ID " : "", id != NULL ? id : "") >=
	    (int)len) {
		free(out);
		free(info_copy);
		return SG_ERR_INTERNAL;
	}
	free(info_copy);
	*textp = out;
	return 0;
}

/*
 * The first page (ISO 32000-1 7.7.3): the first leaf of the page tree in
 * document order, found depth first with an explicit stack, so a deep or
 * looping tree costs bounded stack and time and is refused.
 */
static int
first_page(qpdf_data q, qpdf_oh root, qpdf_oh *pagep, char *why, size_t whylen)
{
	struct {
		qpdf_oh node;
		int next, count;
	} stack[PAGE_TREE_DEPTH_MAX];
	qpdf_oh node, kids;
	int depth = 0, visited = 0;

	node = qpdf_oh_get_key(q, root, "/Pages");
	for (;;) {
		if (qpdf_has_error(q))
			return qpdf_failed(q, why, whylen);
		if (!qpdf_oh_is_indirect(q, node) || !qpdf_oh_is_dictionary(q, node))
			return fail(why, whylen, SG_ERR_PARSE,
			    "the PDF is damaged: a page tree node is not an indirect dictionary");
		if (++visited > PAGE_TREE_NODES_MAX)
			return fail(why, whylen, SG_ERR_PARSE,
			    "the PDF's page tree has too many nodes before its first page");
		kids = qpdf_oh_get_key(q, node, "/Kids");
		if (!qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, node, "/Type"), "/Pages") &&
		    !qpdf_oh_is_array(q, kids)) {
			if (depth == 0)
				return fail(why, whylen, SG_ERR_PARSE,
				    "the PDF is damaged: its catalog's /Pages is not a page tree");
			*pagep = node;
			return 0;
		}
		if (depth == PAGE_TREE_DEPTH_MAX)
			return fail(why, whylen, SG_ERR_PARSE,
			    "the PDF's page tree loops or is too deep");
		stack[depth].node = node;
		stack[depth].next = 0;
		stack[depth].count = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;
		depth++;
		/* The next kid not yet tried, climbing out of exhausted nodes. */
		while (depth > 0 && stack[depth - 1].next >= stack[depth - 1].count)
			depth--;
		if (depth == 0)
			return fail(why, whylen, SG_ERR_PARSE, "the PDF has no pages");
		kids = qpdf_oh_get_key(q, stack[depth - 1].node, "/Kids");
		node = qpdf_oh_get_array_item(q, kids, stack[depth - 1].next++);
	}
}

static int
objects(qpdf_data q, struct gw_pdf *pdf, char *why, size_t whylen)
{
	static const char *const no_form[] = { "/AcroForm", NULL };
	static const char *const no_annots[] = { "/Annots", NULL };
	static const char *const no_fields[] = { "/Fields", "/SigFlags", NULL };
	qpdf_oh trailer, root, page = 0, annots, form;
	long long size;
	int r;

	trailer = qpdf_get_trailer(q);
	root = qpdf_get_root(q);
	if (qpdf_has_error(q) || !qpdf_oh_is_dictionary(q, trailer) ||
	    !qpdf_oh_is_indirect(q, root) || !qpdf_oh_is_dictionary(q, root))
		return fail(why, whylen, SG_ERR_PARSE, "the PDF is damaged: its document catalog cannot be read");
	size = qpdf_oh_is_integer(q, qpdf_oh_get_key(q, trailer, "/Size")) ?
	    qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, trailer, "/Size")) : 0;
	if (size < 1 || size > OBJ_NUM_MAX - 4)
		return fail(why, whylen, SG_ERR_PARSE, "the PDF trailer's /Size is not usable");
	pdf->next_num = (int)size;
	pdf->root.num = qpdf_oh_get_object_id(q, root);
	pdf->root.gen = qpdf_oh_get_generation(q, root);
	if ((r = first_page(q, root, &page, why, whylen)) != 0)
		return r;
	pdf->page.num = qpdf_oh_get_object_id(q, page);
	pdf->page.gen = qpdf_oh_get_generation(q, page);
	if (pdf->page.num >= pdf->next_num || pdf->root.num >= pdf->next_num)
		return fail(why, whylen, SG_ERR_PARSE, "the PDF trailer's /Size is too small");
	if (pdf->page.num == pdf->root.num)
		return fail(why, whylen, SG_ERR_PARSE, "the PDF's first page is its catalog");

	annots = qpdf_oh_get_key(q, page, "/Annots");
	if ((r = items_text(q, annots, &pdf->annots)) != 0 ||
	    (r = dict_text(q, page, no_annots, &pdf->page_text)) != 0)
		goto bad;

	form = qpdf_oh_get_key(q, root, "/AcroForm");
	if (qpdf_oh_is_dictionary(q, form)) {
		if (qpdf_oh_is_indirect(q, form)) {
			pdf->form.num = qpdf_oh_get_object_id(q, form);
			pdf->form.gen = qpdf_oh_get_generation(q, form);
			/* The update writes each object once, under a number
			 * the file has. */
			if (pdf->form.num >= pdf->next_num || pdf->form.num == pdf->root.num ||
			    pdf->form.num == pdf->page.num)
				return fail(why, whylen, SG_ERR_PARSE,
				    "the PDF's form is not an object of its own");
		}
		if ((r = items_text(q, qpdf_oh_get_key(q, form, "/Fields"), &pdf->fields)) != 0 ||
		    (r = dict_text(q, form, no_fields, &pdf->form_text)) != 0)
			goto bad;
	} else if ((pdf->fields = strdup("")) == NULL || (pdf->form_text = strdup("<<")) == NULL) {
		return SG_ERR_ALLOC;
	}
	if ((r = dict_text(q, root, pdf->form.num != 0 ? NULL : no_form, &pdf->root_text)) != 0 ||
	    (r = trailer_extra(q, trailer, &pdf->trailer_extra)) != 0)
		goto bad;
	return qpdf_failed(q, why, whylen);
 bad:
	if (r == SG_ERR_PARSE && qpdf_failed(q, why, whylen) == 0)
		fail(why, whylen, r, "the PDF's catalog, first page or form could not be read");
	return r;
}

int
gw_pdf_read(int fd, uint64_t size, struct gw_pdf **pdfp, char *why, size_t whylen)
{
	struct gw_pdf *pdf = NULL;
	qpdf_data q = NULL;
	char path[64], head[8];
	int r;

	*pdfp = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if (size < 32 || sg_file_pread_all(fd, 0, head, 5) != 0 || memcmp(head, "%PDF-", 5) != 0)
		return fail(why, whylen, SG_ERR_PARSE, "the document is not a PDF (no %PDF- header)");
	if ((pdf = calloc(1, sizeof(*pdf))) == NULL)
		return SG_ERR_ALLOC;
	pdf->size = size;
	if ((r = find_last_xref(fd, pdf, why, whylen)) != 0 ||
	    (r = gw_pdf_xref_check(fd, size, pdf->startxref, why, whylen)) != 0)
		goto out;
	if (snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) >= (int)sizeof(path)) {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	if ((q = qpdf_init()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	qpdf_set_attempt_recovery(q, QPDF_FALSE);
	if ((qpdf_read(q, path, NULL) & QPDF_ERRORS) != 0 || qpdf_has_error(q)) {
		r = qpdf_failed(q, why, whylen);
		if (r == 0)
			r = fail(why, whylen, SG_ERR_PARSE, "the PDF could not be read");
		goto out;
	}
	if (qpdf_is_encrypted(q)) {
		r = fail(why, whylen, SG_ERR_PARSE, "the PDF is encrypted");
		goto out;
	}
	if ((r = objects(q, pdf, why, whylen)) != 0)
		goto out;
	*pdfp = pdf;
	pdf = NULL;
	r = 0;
 out:
	if (q != NULL) {
		/* Taken, so qpdf does not print an unhandled one on cleanup. */
		while (qpdf_has_error(q))
			(void)qpdf_get_error(q);
		qpdf_cleanup(&q);
	}
	gw_pdf_free(pdf);
	return r;
}

void
gw_pdf_free(struct gw_pdf *pdf)
{
	if (pdf == NULL)
		return;
	free(pdf->root_text);
	free(pdf->page_text);
	free(pdf->annots);
	free(pdf->form_text);
	free(pdf->fields);
	free(pdf->trailer_extra);
	free(pdf);
}
