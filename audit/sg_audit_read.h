/* SPDX-License-Identifier: Apache-2.0 */
/* The auditor's side of the audit log (format in sg_audit.h): which files
 * make up a log, a bounded line reader over them, and verify, query and
 * monthly counts built on that reader. Read-only, no token, no network. */
#ifndef SG_AUDIT_READ_H
#define SG_AUDIT_READ_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

/*
 * Files
 * -----
 * A log is the files audit-NNNNNN.jsonl of one directory, oldest first.
 * Side files holding a torn line the writer set aside at recovery
 * (audit-NNNNNN.jsonl.torn-*) are not part of the chain; they are listed
 * so a report can name them. Each file's size is taken when it is listed
 * and the reader never reads past it: the files are append-only, so a log
 * being written gives a consistent prefix. sg_audit_files_dir takes
 * audit.lock shared while it lists (when the lock file can be opened
 * read-only; a copied directory without one is fine), so the sizes it
 * records end on a whole line even while the daemon writes. That waits
 * for at most one writer batch (a write and an fdatasync).
 */

struct sg_audit_file {
	char *path;		/* as opened: dir/name, or as the caller gave it */
	const char *name;	/* last component of path (points into it) */
	unsigned int number;	/* NNNNNN of audit-NNNNNN.jsonl; 0 for another name */
	uint64_t size;		/* bytes the reader reads: the size when listed */
};

struct sg_audit_files {
	struct sg_audit_file *files;	/* oldest first */
	size_t n;
	char **set_aside;		/* torn-line side files, by name, sorted */
	size_t n_set_aside;
};

/* The log files of dir. *filesp gets a new list (sg_audit_files_free);
 * a directory without any log file gives an empty list, not an error.
 * SG_ERR_NOT_FOUND (no such directory), SG_ERR_PERMISSION, SG_ERR_IO,
 * SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int sg_audit_files_dir(const char *dir, struct sg_audit_files **filesp);

/* The files named by paths[0..n-1] (copied). When every name is an
 * audit-NNNNNN.jsonl they are put in number order (the same number twice:
 * SG_ERR_INVALID_ARG); otherwise the given order is kept and numbering is
 * not checked. Names of torn-line side files go to set_aside unread.
 * Errors as sg_audit_files_dir, for the first path that fails. */
int sg_audit_files_paths(const char *const *paths, size_t n,
    struct sg_audit_files **filesp);

/* NULL is fine. */
void sg_audit_files_free(struct sg_audit_files *files);

/*
 * Reader
 * ------
 * Lines one at a time, through a fixed buffer: memory does not grow with
 * the log, and a line longer than SG_AUDIT_LINE_MAX ("\n" included) is
 * reported as too_long with its first bytes, the rest skipped.
 */

struct sg_audit_reader;

struct sg_audit_line {
	const char *text;	/* get0: the line without "\n", NUL-terminated
				 * (may hold a NUL: compare strlen with len);
				 * valid until the next call on the reader */
	size_t len;
	size_t file;		/* index in the sg_audit_files */
	uint64_t line_no;	/* 1-based within that file */
	int torn;		/* the file ends inside this line (no "\n") */
	int too_long;		/* text holds only the first bytes */
};

/* A reader over files->files[first_file..] (files is borrowed and must
 * outlive the reader). *rp gets a new reader (sg_audit_reader_free).
 * SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int sg_audit_reader_open(const struct sg_audit_files *files, size_t first_file,
    struct sg_audit_reader **rp);

/* 1 and *line for the next line, 0 at the end of the last file, or
 * SG_ERR_NOT_FOUND / SG_ERR_PERMISSION / SG_ERR_IO when a file cannot be
 * opened or read (line->file says which). Empty files give no line. */
int sg_audit_reader_next(struct sg_audit_reader *rd, struct sg_audit_line *line);

/* NULL is fine. */
void sg_audit_reader_free(struct sg_audit_reader *rd);

/*
 * Verify
 * ------
 * Every line is checked in file order: its shape (sg_audit.h: members in
 * the fixed order, hash last), its hash by the documented canonical form,
 * seq (1 first, then +1), prev (64 "0" first, then the hash before it),
 * file numbering without gaps starting at audit-000001.jsonl, and the
 * last line of the last file being whole. A checkpoint is an entry of
 * type "checkpoint" with outcome "ok" and the extras "alg"
 * ("rsa-pkcs1-sha256" or "ecdsa-sha256") and "signature" (standard base64;
 * DER for ECDSA) over the digest made of the 32 bytes of its own prev:
 *
 *   openssl pkeyutl -verify -pubin -inkey audit-pub.pem -sigfile sig.bin \
 *       -in head.bin -pkeyopt digest:sha256       (head.bin: prev, unhexed)
 *
 * Its signature seals every entry before it: a chain rewritten without the
 * audit key fails at the first checkpoint after the rewrite. Entries after
 * the last checkpoint are chained but not sealed (sealed_seq says how far
 * the seal reaches), and dropping whole lines from the very end leaves
 * nothing to detect without an outside copy of the head.
 *
 * Verification stops at the first break. first_bad_seq is the seq of the
 * first entry, in file order, that does not follow from the one before:
 * the edited entry, the entry after a deleted one, the first of two
 * swapped ones, the first entry of the file after a gap, the checkpoint
 * whose signature fails. A torn last line gives the seq it would have had;
 * a line that is not an entry gives 0. bad_file and bad_line always say
 * where (bad_line 0 when the break is the end of the files).
 */

enum sg_audit_break {
	SG_AUDIT_INTACT = 0,
	SG_AUDIT_BAD_HASH,		/* "hash mismatch" */
	SG_AUDIT_BAD_PREV,		/* "prev does not match the previous entry" */
	SG_AUDIT_SEQ_GAP,		/* "seq gap" */
	SG_AUDIT_REORDERED,		/* "reordered" */
	SG_AUDIT_BAD_SIGNATURE,		/* "checkpoint signature invalid" */
	SG_AUDIT_BAD_CHECKPOINT_ALG,	/* "checkpoint algorithm does not match the key" */
	SG_AUDIT_BAD_CHECKPOINT_CERT,	/* "checkpoint certificate serial does not match" */
	SG_AUDIT_BAD_CHECKPOINT,	/* "checkpoint malformed" */
	SG_AUDIT_TRUNCATED,		/* "truncated tail" */
	SG_AUDIT_FILE_GAP,		/* "gap between files" */
	SG_AUDIT_MISSING_FILE,		/* "missing file" */
	SG_AUDIT_NOT_ENTRY,		/* "not an audit entry" */
	SG_AUDIT_LINE_TOO_LONG		/* "line too long" */
};

/* The one-line text above; "chain intact" for SG_AUDIT_INTACT. Static. */
const char *sg_audit_break_text(enum sg_audit_break why);

struct sg_audit_verify_opts {
	EVP_PKEY *checkpoint_key;	/* get0; NULL: checkpoints counted, not checked */
	const char *checkpoint_serial;	/* hex (either case, any leading zeros),
					 * the audit certificate's; NULL: not checked */
};

struct sg_audit_verify_result {
	int ok;			/* 1: no break */
	uint64_t entries;	/* entries that verified (before any break) */
	uint64_t checkpoints;	/* checkpoints among them */
	uint64_t sealed_seq;	/* last seq sealed by a checkpoint whose signature
				 * verified (0: none, or no key given) */
	uint64_t sealed_by;	/* seq of that checkpoint (0: none) */
	uint64_t unsealed;	/* entries after it (all of them when none) */
	int64_t first_unsealed_ms;	/* time of the first of those (0: none) */
	uint64_t last_seq;	/* seq of the last entry that verified (0: none) */
	char head[65];		/* its hash; 64 "0" when none */
	enum sg_audit_break why;
	uint64_t first_bad_seq;	/* 0 when ok or when the break has no seq */
	size_t bad_file;	/* index in the sg_audit_files; when !ok */
	uint64_t bad_line;	/* 1-based line in that file; when !ok */
};

/* Verify files; opts may be NULL. Returns 0 whenever the files could be
 * read to a verdict (which is in *res, ok or not); SG_ERR_NOT_FOUND for an
 * empty list, SG_ERR_PERMISSION / SG_ERR_IO when a file cannot be read
 * (res->bad_file says which), SG_ERR_INVALID_ARG, SG_ERR_ALLOC. */
int sg_audit_verify(const struct sg_audit_files *files,
    const struct sg_audit_verify_opts *opts, struct sg_audit_verify_result *res);

/*
 * The seal: an intact chain says nothing of a log rewritten from top to
 * bottom, or with its checkpoints cut out; only checkpoints signed by the
 * audit key do. A log is sealed when a checkpoint signed by the key (so
 * verified with one) exists and no entry after it has waited longer than
 * max_age_s for the next one (the daemon writes one at least every
 * audit.checkpoint_every_seconds while there are new entries, and at every
 * clean stop). Entries younger than that are on their way to a seal.
 */
struct sg_audit_seal {
	int sealed;		/* 1: as above */
	char why[200];		/* when not: in words; else how far it reaches */
};
#define SG_AUDIT_SEAL_SLACK_S	5	/* added to the checkpoint interval */
#define SG_AUDIT_DEFAULT_CHECKPOINT_S	60	/* audit.checkpoint_every_seconds' default */
void sg_audit_seal_judge(const struct sg_audit_verify_result *res, int key_given,
    unsigned int max_age_s, int64_t now_ms, struct sg_audit_seal *seal);

/* GET /v1/audit/verify's object: {"ok","entries","checkpoints",
 * "first_bad_seq": null|N, "detail", "sealed", "sealed_seq": null|N,
 * "sealed_by": null|N, "unsealed_entries", "seal_detail"}, plus "file" and
 * "line" when the chain breaks (files may be NULL to leave them out). "ok"
 * is the chain intact and, unless accept_unsealed, sealed. New object
 * (cJSON_Delete), or NULL when out of memory. */
cJSON *sg_audit_verify_json(const struct sg_audit_verify_result *res,
    const struct sg_audit_files *files, const struct sg_audit_seal *seal, int accept_unsealed);

/*
 * Query
 * -----
 * Entries that match every filter given, in log order. Lines that are not
 * entries are skipped: this is a view, sg_audit_verify is the judge.
 */

#define SG_AUDIT_QUERY_LIMIT_DEFAULT	100u
#define SG_AUDIT_QUERY_LIMIT_MAX	1000u
#define SG_AUDIT_TIME_OPEN_FROM		INT64_MIN
#define SG_AUDIT_TIME_OPEN_TO		INT64_MAX

struct sg_audit_filter {
	int64_t from_ms;	/* time >= from_ms (Unix ms); SG_AUDIT_TIME_OPEN_FROM */
	int64_t to_ms;		/* time < to_ms; SG_AUDIT_TIME_OPEN_TO */
	const char *client;	/* exact; NULL: any (borrowed, like the rest) */
	const char *identity;
	const char *type;
	const char *outcome;
	uint64_t after_seq;	/* seq > after_seq; 0: from the start */
};

/* Every filter open. */
void sg_audit_filter_init(struct sg_audit_filter *f);

/* RFC 3339 date-time ("2026-11-20T21:40:03.118Z", "...+02:00", any
 * fraction, kept to the millisecond) or a full-date ("2026-11-20",
 * midnight UTC) to Unix milliseconds. SG_ERR_PARSE otherwise. */
int sg_audit_parse_time(const char *s, int64_t *msp);

/* Called once per matching entry; entry and line (without "\n") are
 * borrowed for the call. Return 0 to go on, 1 to stop, or a negative
 * SG_ERR_* to stop with that error. */
typedef int (*sg_audit_each_fn)(void *arg, const cJSON *entry,
    const char *line, size_t len);

/* Call fn for every entry matching f (NULL: all), oldest first, without
 * holding more than one line. Files wholly before after_seq are skipped
 * unread but for their first line. 0, fn's error, or the reader's. */
int sg_audit_each(const struct sg_audit_files *files,
    const struct sg_audit_filter *f, sg_audit_each_fn fn, void *arg);

/* GET /v1/audit/entries: up to limit (0: SG_AUDIT_QUERY_LIMIT_DEFAULT;
 * above SG_AUDIT_QUERY_LIMIT_MAX: SG_ERR_INVALID_ARG) matching entries.
 * *entriesp gets a new cJSON array of entry objects (cJSON_Delete).
 * *next_after_seqp gets the seq to pass as after_seq for the next page
 * when at least one more entry matches, else 0 (the API's null). */
int sg_audit_query(const struct sg_audit_files *files,
    const struct sg_audit_filter *f, unsigned int limit, cJSON **entriesp,
    uint64_t *next_after_seqp);

/*
 * Counts
 * ------
 * Per month (UTC, by each entry's time): stamps (type stamp, outcome ok),
 * signatures (sign, ok), soap (soap, ok), timestamps (timestamp, ok: RFC
 * 3161 tokens, which have no identity). An entry carrying an extra
 * member "replay" that is not null records a repeat answered from the
 * idempotency cache and is not counted again. Rows only for groups with
 * something counted, sorted by identity then client (null first).
 */

enum sg_audit_group {
	SG_AUDIT_BY_IDENTITY_CLIENT = 0,
	SG_AUDIT_BY_IDENTITY,
	SG_AUDIT_BY_CLIENT
};

struct sg_audit_count_row {
	char *identity;		/* NULL: grouped by client only, or the entry had none */
	char *client;		/* NULL: grouped by identity only, or none */
	uint64_t stamps;
	uint64_t signatures;
	uint64_t soap;
	uint64_t timestamps;
};

struct sg_audit_counts {
	int year, month;
	struct sg_audit_count_row *rows;
	size_t n;
};

/* "YYYY-MM" (month 01-12, year 1970-9999). SG_ERR_PARSE otherwise. */
int sg_audit_parse_month(const char *s, int *yearp, int *monthp);

/* Count the month year-month over files. *countsp gets a new result
 * (sg_audit_counts_free). SG_ERR_INVALID_ARG, SG_ERR_TOO_LARGE (more than
 * 100000 groups), the reader's errors, SG_ERR_ALLOC. */
int sg_audit_counts(const struct sg_audit_files *files, int year, int month,
    enum sg_audit_group by, struct sg_audit_counts **countsp);

/* GET /v1/audit/counts's object: {"month":"YYYY-MM","counts":[{"identity",
 * "client","stamps","signatures","soap","timestamps"}]}; a member grouped away is left
 * out. New object (cJSON_Delete), or NULL when out of memory. */
cJSON *sg_audit_counts_json(const struct sg_audit_counts *counts,
    enum sg_audit_group by);

/* NULL is fine. */
void sg_audit_counts_free(struct sg_audit_counts *counts);

#endif
