/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the audit log reader (sg_audit_read.c) on a log made
 * of the input. The input is split at form feeds (which a written line
 * never holds raw) into audit-000001.jsonl, audit-000002.jsonl, ... in a
 * fresh directory under TMPDIR; the reader, verify (with and without a
 * checkpoint key), query, counts and the time and month parsers run over
 * it; the directory is removed before the next input (run-fuzzers points
 * TMPDIR at a tmpfs when there is one: this harness is bound by file
 * creation). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/pem.h>

#include "sg_audit.h"
#include "sg_audit_read.h"
#include "sg_err.h"

#define FILES_MAX 4

/* The public half of a throwaway P-256 key: the corpus holds a checkpoint
 * it signed, so verify reaches a good signature as well as bad ones. */
static const char checkpoint_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFQFdb8BXHM/jryJRNj3WhDIC8HDf\n"
    "7cZ1BZHloa2HRsvvMtRvwXhOTkf734jSqTU4x/H8w/afTQTOAMmrNZvuqg==\n"
    "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *
checkpoint_key(void)
{
	BIO *bio = BIO_new_mem_buf(checkpoint_pub_pem, -1);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return pkey;
}

/* Write data as up to FILES_MAX log files in dir; the number written. */
static size_t
write_log(const char *dir, const uint8_t *data, size_t size, char paths[FILES_MAX][4096])
{
	size_t n = 0, start = 0, end;
	FILE *f;

	while (n < FILES_MAX && start <= size) {
		end = start;
		while (end < size && (data[end] != '\f' || n == FILES_MAX - 1))
			end++;
		if (snprintf(paths[n], sizeof(paths[n]), "%s/audit-%06zu.jsonl", dir, n + 1) >=
		    (int)sizeof(paths[n]) || (f = fopen(paths[n], "wb")) == NULL)
			abort();
		if ((end > start && fwrite(data + start, 1, end - start, f) != end - start) ||
		    fclose(f) != 0)
			abort();
		n++;
		start = end + 1;
	}
	return n;
}

static void
read_lines(const struct sg_audit_files *files)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	int64_t ms;
	int year, month, r;

	if (sg_audit_reader_open(files, 0, &rd) != 0)
		abort();
	while ((r = sg_audit_reader_next(rd, &line)) == 1) {
		if (line.len >= SG_AUDIT_LINE_MAX || line.text[line.len] != '\0' ||
		    line.file >= files->n || line.line_no == 0)
			abort();
		/* Query parameters reach these parsers from the outside too. */
		(void)sg_audit_parse_time(line.text, &ms);
		(void)sg_audit_parse_month(line.text, &year, &month);
	}
	if (r != 0)
		abort();
	sg_audit_reader_free(rd);
}

static void
verify(const struct sg_audit_files *files, const struct sg_audit_verify_opts *opts)
{
	struct sg_audit_verify_result res;
	struct sg_audit_seal seal;
	cJSON *doc;

	if (sg_audit_verify(files, opts, &res) != 0)
		abort();
	if (res.ok != (res.why == SG_AUDIT_INTACT) || (res.ok && res.first_bad_seq != 0) ||
	    res.checkpoints > res.entries || (!res.ok && res.bad_file >= files->n) ||
	    sg_audit_break_text(res.why) == NULL)
		abort();
	/* The seal's verdict follows from the result alone. */
	sg_audit_seal_judge(&res, opts != NULL && opts->checkpoint_key != NULL, 65,
	    res.first_unsealed_ms + 1000, &seal);
	if (seal.sealed && (res.sealed_by == 0 || res.entries == 0))
		abort();
	if ((doc = sg_audit_verify_json(&res, files, &seal, 0)) == NULL)
		abort();
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "ok")) != (res.ok && seal.sealed))
		abort();
	cJSON_Delete(doc);
}

/* One query and one count per input; which filter and grouping comes
 * from the input's size, so a reproduced input takes the same path. */
static void
query_and_count(const struct sg_audit_files *files, size_t variant)
{
	struct sg_audit_filter f;
	struct sg_audit_counts *counts = NULL;
	enum sg_audit_group by = (enum sg_audit_group)(variant % 3);
	cJSON *entries = NULL, *doc;
	uint64_t next = 0;

	sg_audit_filter_init(&f);
	if (variant % 2 == 1) {
		f.after_seq = 1;
		f.type = "sign";
		f.outcome = "ok";
		f.from_ms = 1735689600000;	/* 2025-01-01 */
		f.to_ms = 1830297600000;	/* 2028-01-01 */
	}
	if (sg_audit_query(files, &f, variant % 2 == 1 ? 2 : SG_AUDIT_QUERY_LIMIT_MAX, &entries,
	    &next) != 0)
		abort();
	cJSON_Delete(entries);
	if (sg_audit_counts(files, 2026, 11, by, &counts) != 0 ||
	    (doc = sg_audit_counts_json(counts, by)) == NULL)
		abort();
	cJSON_Delete(doc);
	sg_audit_counts_free(counts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[4096], paths[FILES_MAX][4096];
	const char *tmp = getenv("TMPDIR");
	struct sg_audit_files *files = NULL;
	struct sg_audit_verify_opts opts;
	size_t i, n;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (snprintf(dir, sizeof(dir), "%s/sg-fuzz-audit.XXXXXX", tmp) >= (int)sizeof(dir) ||
	    mkdtemp(dir) == NULL)
		abort();
	n = write_log(dir, data, size, paths);
	if (sg_audit_files_dir(dir, &files) != 0 || files->n != n)
		abort();
	read_lines(files);
	verify(files, NULL);
	memset(&opts, 0, sizeof(opts));
	if ((opts.checkpoint_key = checkpoint_key()) == NULL)
		abort();
	opts.checkpoint_serial = "01";
	verify(files, &opts);
	EVP_PKEY_free(opts.checkpoint_key);
	query_and_count(files, size);
	sg_audit_files_free(files);
	for (i = 0; i < n; i++)
		unlink(paths[i]);
	rmdir(dir);
	return 0;
}
