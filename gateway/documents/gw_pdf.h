/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a PDF (through qpdf) for what an incremental update must know:
 * the last cross-reference section, the catalog, the first page and the
 * interactive form. Encrypted and damaged files are refused. */
#ifndef GW_PDF_H
#define GW_PDF_H

#include <stddef.h>
#include <stdint.h>

/* An indirect object: number and generation. */
struct gw_pdf_ref {
	int num, gen;
};

/*
 * Dictionaries are kept as PDF text (qpdf's unparsing, references as
 * "N G R") with the keys the update replaces taken out and the closing
 * ">>" left off, so the writer appends its own keys and closes them.
 */
struct gw_pdf {
	uint64_t size;			/* bytes in the file */
	uint64_t startxref;		/* where the last cross-reference section starts */
	int xref_stream;		/* it is an xref stream (PDF 1.5), not a table */
	int next_num;			/* the trailer's /Size: the first unused number */
	struct gw_pdf_ref root, page;
	/* The form's own object; num 0 when the form is direct in the
	 * catalog or absent (then root_text lacks /AcroForm and the form
	 * goes into the catalog again). */
	struct gw_pdf_ref form;
	char *root_text;		/* catalog, without /AcroForm unless form.num */
	char *page_text;		/* first page, without /Annots */
	char *annots;			/* its annotations, space separated, or "" */
	char *form_text;		/* form without /Fields and /SigFlags ("<<" when none) */
	char *fields;			/* the form's fields, space separated, or "" */
	char *trailer_extra;		/* "/Info N G R /ID [...]" as the trailer had them, or "" */
};

#define GW_PDF_WHY_MAX 256

/*
 * Read the PDF of size bytes in the file fd (borrowed; read with pread,
 * its offset untouched, and reopened through /proc/self/fd for qpdf).
 * *pdfp is new (gw_pdf_free). Errors: SG_ERR_PARSE (not a PDF, damaged,
 * encrypted: why says which), SG_ERR_ALLOC, SG_ERR_IO.
 */
int gw_pdf_read(int fd, uint64_t size, struct gw_pdf **pdfp, char *why, size_t whylen);

/* Release what gw_pdf_read made; accepts NULL. */
void gw_pdf_free(struct gw_pdf *pdf);

#endif
