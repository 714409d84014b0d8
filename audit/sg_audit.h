/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log appender: hash-chained JSON lines, made durable before the
 * request they record is answered (group commit, fail-closed), shared with
 * the officer tool under a file lock. Verification lives elsewhere. */
#ifndef SG_AUDIT_H
#define SG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * On-disk format (the contract auditors rely on; README.md, "The audit
 * log format", describes it for them)
 * ----------------------------------------------------------------------
 * Files audit-NNNNNN.jsonl (six digits, from audit-000001.jsonl) in the
 * audit directory. One JSON object per line, UTF-8, each line ended by
 * one "\n", compact (no whitespace outside strings), members always
 * present and always in this order:
 *
 *   seq, time, type, request_id, client, identity, key_id, cert_serial,
 *   digest, authority, authority_ref, outcome, error,
 *   <extra members, in the order given>, prev, hash
 *
 *   seq      integer, 1 for the first entry ever, +1 per entry across files
 *   time     RFC 3339 UTC with milliseconds: "2026-11-20T21:40:03.118Z"
 *   outcome  "ok" or "error"
 *   others   JSON strings, or null when absent (the member stays)
 *   extras   string (or null) members such as "signature" or "detail";
 *            names match [a-z0-9_]{1,32} and never repeat a fixed name
 *   prev     the previous entry's hash; 64 "0" for seq 1
 *   hash     lower-case hex SHA-256, defined below
 *
 * Strings are escaped as cJSON prints them (\" \\ \b \f \n \r \t, other
 * control characters as \u00XX, everything else as UTF-8 bytes). Bytes that
 * are not valid UTF-8 are replaced by U+FFFD before escaping.
 *
 * Canonical form for hash: take the line as written, without its "\n"; it
 * ends with ,"hash":"<64 hex>"} — remove that ,"hash":"<64 hex>" so the
 * line ends with the "prev" member followed by "}". hash is SHA-256 of
 * exactly those bytes. An auditor recomputes one line with
 *
 *   sed -E 's/,"hash":"[0-9a-f]{64}"\}$/}/' | tr -d '\n' | sha256sum
 *
 * A new file's first entry has prev = hash of the last entry of the file
 * before it. A torn last line found after a crash is moved, byte for byte,
 * to audit-NNNNNN.jsonl.torn-<seq it would have had>-<unix time> (".N"
 * appended if that name exists) and the log is cut back to its last
 * complete line; audit.lock in the same directory serialises writers.
 */

/* The canonical hash above: lower-case hex SHA-256 of the len bytes of a
 * line up to (not including) its ,"hash":"..." member, followed by "}".
 * The one definition the writer and every verifier use. SG_ERR_ALLOC,
 * SG_ERR_CRYPTO. */
int sg_audit_canonical_hash(const void *prefix, size_t len, char out[65]);

/* Longest line accepted (bytes, "\n" included); longer: SG_ERR_TOO_LARGE. */
#define SG_AUDIT_LINE_MAX 16384
/* Most extra members one entry may carry. */
#define SG_AUDIT_EXTRA_MAX 8
/* Longest wait for the log's lock (held by another writer's batch or a
 * reader listing the files) before a write fails. */
#define SG_AUDIT_LOCK_WAIT_MS 2000
/* rotate_bytes used when the options say 0. */
#define SG_AUDIT_ROTATE_DEFAULT (64ULL * 1024 * 1024)

struct sg_audit;

/* What one entry records. Every string is borrowed for the duration of
 * the call and may be NULL (written as null) except type and outcome.
 * type is one of sg_audit.c's entry_types; outcome is "ok" or "error".
 * There is deliberately no member for PINs, passwords, tokens or
 * document bytes: digest carries "sha256:<hex>" of what was signed. */
struct sg_audit_entry {
	const char *type;
	const char *request_id;
	const char *client;
	const char *identity;
	const char *key_id;
	const char *cert_serial;
	const char *digest;
	const char *authority;
	const char *authority_ref;
	const char *outcome;
	const char *error;
	const char *const *extra_keys;		/* n_extra names */
	const char *const *extra_values;	/* n_extra values (NULL → null) */
	size_t n_extra;
	/* Checkpoints: when seal is set, the writer calls it with the prev
	 * hash this entry gets, at the moment the line is formatted, and adds
	 * the extras "alg" (seal_alg) and "signature" (what seal returns in
	 * *sig_b64p, new, free()) after the others. A seal that fails drops
	 * this entry only (SG_ERR_CRYPTO to its caller). seal_arg is passed
	 * through; it must stay valid until sg_audit_append returns. */
	const char *seal_alg;
	int (*seal)(void *seal_arg, const char prev_hex[65], char **sig_b64p);
	void *seal_arg;
	/* Set when this append is the one a caller announced with
	 * sg_audit_expect: it ends that announcement, whatever the outcome. */
	int expected;
};

struct sg_audit_options {
	/* Start the next file rather than let the current one grow past this
	 * many bytes (a single line longer than that still gets its own
	 * file). 0 means SG_AUDIT_ROTATE_DEFAULT. */
	uint64_t rotate_bytes;
	/* Group commit: how long (microseconds) the writer, holding entries
	 * to sync, waits for entries announced with sg_audit_expect before
	 * it syncs without them. 0: never wait. Bounded by the caller
	 * (sealgated: audit.group_commit_us, at most 100 ms). */
	unsigned int group_commit_us;
};

/* Counters for /metrics; all since sg_audit_open. */
struct sg_audit_stats {
	uint64_t entries;	/* entries made durable by this handle */
	uint64_t syncs;		/* successful fdatasync calls on log files */
	uint64_t failures;	/* batches that failed (write, sync or lock) */
	uint64_t last_sync_ns;	/* duration of the most recent fdatasync */
	uint64_t sync_ns_total;	/* sum of all fdatasync durations */
	uint64_t announced;	/* now: sg_audit_expect calls not yet ended */
};

/* Open the log in dir (created 0750 if missing; its parent must exist),
 * recover a torn last line (see sg_audit_recovered), check the last
 * entry's hash and start the writer thread. opts may be NULL. *ap gets a
 * new handle to release with sg_audit_close.
 * SG_ERR_AUDIT when the directory or files cannot be used or the last
 * entry does not verify (the reason is logged), SG_ERR_INVALID_ARG,
 * SG_ERR_ALLOC. */
int sg_audit_open(const char *dir, const struct sg_audit_options *opts,
    struct sg_audit **ap);

/* Append one entry and return once it is durable (written and
 * fdatasync'ed). Safe to call from many threads at once; concurrent calls
 * share one sync. On success *seqp (may be NULL) gets the entry's seq and
 * head_hash_hex (may be NULL) its hash, the chain head right after it.
 * SG_ERR_INVALID_ARG for a malformed entry, SG_ERR_TOO_LARGE for a line
 * over SG_AUDIT_LINE_MAX, SG_ERR_AUDIT when the entry could not be made
 * durable: nothing of it remains claimed in the log and the chain head is
 * unchanged; a later call tries the disk again. */
int sg_audit_append(struct sg_audit *a, const struct sg_audit_entry *e,
    uint64_t *seqp, char head_hash_hex[65]);

/* Announce an append that is on its way: the caller is doing work (a
 * token signature) whose entry follows. While announced entries are
 * outstanding, the writer holds what is queued for up to group_commit_us
 * so that they share its fdatasync; nothing is answered before its own
 * entry is durable, so the wait changes latency, never durability. Each
 * call is ended by exactly one sg_audit_append with e->expected set or by
 * one sg_audit_expect_cancel. NULL is fine. */
void sg_audit_expect(struct sg_audit *a);
void sg_audit_expect_cancel(struct sg_audit *a);

/* 0 when the most recent write attempt succeeded, else SG_ERR_AUDIT
 * (the gateway answers 503 audit_unavailable meanwhile). */
int sg_audit_healthy(struct sg_audit *a);

/* Name (within the audit directory) of the file a torn last line was
 * moved to when this handle was opened, or NULL. get0: owned by a, valid
 * until sg_audit_close. The daemon mentions it in its startup entry. */
const char *sg_audit_recovered(struct sg_audit *a);

/* Copy the counters into *st. */
void sg_audit_stats(struct sg_audit *a, struct sg_audit_stats *st);

/* Write what is queued, stop the writer and release a. No append may be
 * in progress or start afterwards. NULL is fine. */
void sg_audit_close(struct sg_audit *a);

/* For short-lived tools (the officer CLI): open dir, take the lock,
 * recover and check the tail, append e, fdatasync, close. No thread.
 * *seqp (may be NULL) gets the entry's seq. Errors as sg_audit_open and
 * sg_audit_append. */
int sg_audit_append_once(const char *dir, const struct sg_audit_options *opts,
    const struct sg_audit_entry *e, uint64_t *seqp);

#endif
