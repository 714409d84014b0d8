/* SPDX-License-Identifier: Apache-2.0 */
/* What a PDF's cross-reference sections declare, read before qpdf reads
 * the file. qpdf keeps an entry in memory for every object number a
 * section declares, so a few kilobytes of compressed xref stream claiming
 * millions of objects would cost hundreds of megabytes; the declared
 * counts are checked first, on the file's own bytes. */
#ifndef GW_PDF_XREF_H
#define GW_PDF_XREF_H

#include <stddef.h>
#include <stdint.h>

/* Entries the sections of one PDF may declare in all: a floor for small
 * files, then one per GW_PDF_XREF_BYTES_PER_ENTRY bytes of the file, and
 * never more than GW_PDF_XREF_ENTRIES_MAX. */
#define GW_PDF_XREF_ENTRIES_FLOOR	65536
#define GW_PDF_XREF_BYTES_PER_ENTRY	2
#define GW_PDF_XREF_ENTRIES_MAX		2097152
/* Sections followed through /Prev and /XRefStm. */
#define GW_PDF_XREF_SECTIONS_MAX	1024

/*
 * Follow the chain from the section at startxref (a table or an xref
 * stream) through every /Prev and /XRefStm, and add up what each
 * declares: a table's subsection counts, a stream's /Size or /Index
 * counts, whichever is larger. fd is read with pread only. 0 when the
 * total fits the bounds above; else SG_ERR_PARSE with why: a section that
 * cannot be read, too many sections, or more entries declared than the
 * file's size allows (a section named twice is read once).
 */
int gw_pdf_xref_check(int fd, uint64_t size, uint64_t startxref, char *why, size_t whylen);

#endif
