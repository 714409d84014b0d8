/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying the audit log (see sg_audit_read.h): every line's hash, every
 * link, the numbering of entries and files, and the checkpoint
 * signatures against the audit identity's certificate. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "sg_audit.h"
#include "sg_audit_entry.h"
#include "sg_audit_read.h"
#include "sg_codec.h"
#include "sg_err.h"

#define HASH_TAG	",\"hash\":\""
/* ,"hash":"<64 hex>"} at the end of every line (without "\n"). */
#define HASH_SUFFIX_LEN	(sizeof(HASH_TAG) - 1 + SG_AUDIT_HASH_HEX_LEN + 2)
#define ALG_RSA		"rsa-pkcs1-sha256"
#define ALG_ECDSA	"ecdsa-sha256"

static const char zero_hash[SG_AUDIT_HASH_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The members every line starts with, in order (sg_audit.h). */
static const char *const fixed_members[] = {
	"seq", "time", "type", "request_id", "client", "identity", "key_id",
	"cert_serial", "digest", "authority", "authority_ref", "outcome", "error"
};
#define N_FIXED	(sizeof(fixed_members) / sizeof(fixed_members[0]))

static int
is_hex_lower(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

static int
str_or_null(const cJSON *item)
{
	return cJSON_IsString(item) || cJSON_IsNull(item);
}

static int
is_fixed_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_FIXED; i++) {
		if (strcmp(fixed_members[i], name) == 0)
			return 1;
	}
	return strcmp(name, "prev") == 0 || strcmp(name, "hash") == 0;
}

/* The shape sg_audit.h promises: fixed members in order with the right
 * types, then extras (string or null, new names), then prev and hash, the
 * hash being the one at the end of the line. */
static int
entry_shape_ok(const cJSON *obj, const char *hash_hex)
{
	const cJSON *item = obj->child, *first_extra, *extra;
	const char *outcome;
	size_t i, n_extra = 0;

	for (i = 0; i < N_FIXED; i++, item = item->next) {
		if (item == NULL || item->string == NULL ||
		    strcmp(item->string, fixed_members[i]) != 0)
			return 0;
	}
	if (sg_audit_entry_seq(obj) == 0 || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "time")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "type")))
		return 0;
	outcome = sg_audit_entry_str(obj, "outcome");
	if (outcome == NULL || (strcmp(outcome, "ok") != 0 && strcmp(outcome, "error") != 0))
		return 0;
	for (i = 3; i < N_FIXED; i++) {
		if (!str_or_null(cJSON_GetObjectItemCaseSensitive(obj, fixed_members[i])))
			return 0;
	}
	for (first_extra = item; item != NULL && item->string != NULL &&
	    strcmp(item->string, "prev") != 0; item = item->next) {
		if (++n_extra > SG_AUDIT_EXTRA_MAX || is_fixed_name(item->string) ||
		    !str_or_null(item))
			return 0;
		for (extra = first_extra; extra != item; extra = extra->next) {
			if (strcmp(extra->string, item->string) == 0)
				return 0;
		}
	}
	if (item == NULL || !cJSON_IsString(item) || strlen(item->valuestring) != SG_AUDIT_HASH_HEX_LEN ||
	    !is_hex_lower(item->valuestring, SG_AUDIT_HASH_HEX_LEN))
		return 0;
	item = item->next;
	if (item == NULL || item->next != NULL || item->string == NULL ||
	    strcmp(item->string, "hash") != 0 || !cJSON_IsString(item) ||
	    strcmp(item->valuestring, hash_hex) != 0)
		return 0;
	return 1;
}

/* The 64 hex digits at the end of line (copied to out) when the line ends
 * the documented way, else 0. */
static int
line_hash(const struct sg_audit_line *line, char out[SG_AUDIT_HASH_HEX_LEN + 1])
{
	const char *tag;

	if (line->len <= HASH_SUFFIX_LEN + 1 || line->text[0] != '{')
		return 0;
	tag = line->text + line->len - HASH_SUFFIX_LEN;
	if (memcmp(tag, HASH_TAG, sizeof(HASH_TAG) - 1) != 0 ||
	    memcmp(tag + sizeof(HASH_TAG) - 1 + SG_AUDIT_HASH_HEX_LEN, "\"}", 2) != 0 ||
	    !is_hex_lower(tag + sizeof(HASH_TAG) - 1, SG_AUDIT_HASH_HEX_LEN))
		return 0;
	memcpy(out, tag + sizeof(HASH_TAG) - 1, SG_AUDIT_HASH_HEX_LEN);
	out[SG_AUDIT_HASH_HEX_LEN] = '\0';
	return 1;
}

/* SHA-256 of the canonical form: the line without ,"hash":"<64 hex>"
 * before its final "}". */
static int
canonical_hash(const struct sg_audit_line *line, char out[SG_AUDIT_HASH_HEX_LEN + 1])
{
	return sg_audit_canonical_hash(line->text, line->len - HASH_SUFFIX_LEN, out);
}

/*
 * Verify.
 */

const char *
sg_audit_break_text(enum sg_audit_break why)
{
	switch (why) {
	case SG_AUDIT_INTACT: return "chain intact";
	case SG_AUDIT_BAD_HASH: return "hash mismatch";
	case SG_AUDIT_BAD_PREV: return "prev does not match the previous entry";
	case SG_AUDIT_SEQ_GAP: return "seq gap";
	case SG_AUDIT_REORDERED: return "reordered";
	case SG_AUDIT_BAD_SIGNATURE: return "checkpoint signature invalid";
	case SG_AUDIT_BAD_CHECKPOINT_ALG: return "checkpoint algorithm does not match the key";
	case SG_AUDIT_BAD_CHECKPOINT_CERT: return "checkpoint certificate serial does not match";
	case SG_AUDIT_BAD_CHECKPOINT: return "checkpoint malformed";
	case SG_AUDIT_TRUNCATED: return "truncated tail";
	case SG_AUDIT_FILE_GAP: return "gap between files";
	case SG_AUDIT_MISSING_FILE: return "missing file";
	case SG_AUDIT_NOT_ENTRY: return "not an audit entry";
	case SG_AUDIT_LINE_TOO_LONG: return "line too long";
	}
	return "unknown";
}

struct verifier {
	const struct sg_audit_files *files;
	const struct sg_audit_verify_opts *opts;
	struct sg_audit_verify_result *res;
	BIGNUM *want_serial;		/* from opts, or NULL */
	size_t missing_before;		/* first file after a numbering gap; n: none */
	size_t last_file;		/* file of the last entry that verified */
	int have_entry;
	/* An entry whose seq jumps ahead: a deleted entry, or the first of two
	 * swapped ones. The next entry tells which. */
	int pending;
	uint64_t pending_seq, pending_line;
	size_t pending_file;
};

static int
verdict(struct verifier *v, enum sg_audit_break why, uint64_t seq, size_t file,
    uint64_t line_no)
{
	v->res->ok = 0;
	v->res->why = why;
	v->res->first_bad_seq = seq;
	v->res->bad_file = file;
	v->res->bad_line = line_no;
	return 1;
}

/* File numbering: audit-000001.jsonl first, then +1. The index of the
 * first file that breaks it, or n. Lists without numbers are not checked. */
static size_t
first_numbering_gap(const struct sg_audit_files *files)
{
	size_t i;

	for (i = 0; i < files->n; i++) {
		if (files->files[i].number == 0)
			return files->n;
	}
	for (i = 0; i < files->n; i++) {
		if (files->files[i].number != (i == 0 ? 1 : files->files[i - 1].number + 1))
			return i;
	}
	return files->n;
}

/* 1 when hex is a serial number equal to want. */
static int
serial_matches(const char *hex, const BIGNUM *want)
{
	BIGNUM *bn = NULL;
	size_t i, len;
	int same;

	if (hex == NULL || (len = strlen(hex)) == 0 || len > 256)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f') ||
		    (hex[i] >= 'A' && hex[i] <= 'F')))
			return 0;
	}
	if (BN_hex2bn(&bn, hex) != (int)len)
		same = 0;
	else
		same = BN_cmp(bn, want) == 0;
	BN_free(bn);
	return same;
}

/* Check a checkpoint: its form always; its algorithm and signature when
 * the options give a key, its certificate serial when they give one. */
static enum sg_audit_break
check_checkpoint(struct verifier *v, const cJSON *obj, const char *prev, int *signedp)
{
	EVP_PKEY *key = v->opts != NULL ? v->opts->checkpoint_key : NULL;
	const char *alg = sg_audit_entry_str(obj, "alg"), *sig_b64 = sg_audit_entry_str(obj, "signature");
	unsigned char *sig = NULL, *head = NULL;
	size_t sig_len = 0, head_len = 0;
	EVP_PKEY_CTX *ctx = NULL;
	enum sg_audit_break why = SG_AUDIT_BAD_CHECKPOINT;
	int key_type, want_rsa;

	*signedp = 0;
	if (alg == NULL || sig_b64 == NULL ||
	    (strcmp(alg, ALG_RSA) != 0 && strcmp(alg, ALG_ECDSA) != 0) ||
	    sg_b64_decode(sig_b64, strlen(sig_b64), SG_B64_STD, &sig, &sig_len) != 0 ||
	    sig_len == 0 ||
	    sg_hex_decode(prev, strlen(prev), &head, &head_len) != 0 || head_len != 32)
		goto out;
	if (key != NULL) {
		want_rsa = strcmp(alg, ALG_RSA) == 0;
		key_type = EVP_PKEY_base_id(key);
		if ((want_rsa && key_type != EVP_PKEY_RSA) ||
		    (!want_rsa && key_type != EVP_PKEY_EC)) {
			why = SG_AUDIT_BAD_CHECKPOINT_ALG;
			goto out;
		}
		/* The token signed the 32 head bytes as a SHA-256 digest: PKCS#1
		 * v1.5 with DigestInfo, or ECDSA (openssl pkeyutl digest:sha256). */
		why = SG_AUDIT_BAD_SIGNATURE;
		if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
		    (want_rsa && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_verify(ctx, sig, sig_len, head, head_len) != 1) {
			ERR_clear_error();
			goto out;
		}
	}
	if (v->want_serial != NULL &&
	    !serial_matches(sg_audit_entry_str(obj, "cert_serial"), v->want_serial)) {
		why = SG_AUDIT_BAD_CHECKPOINT_CERT;
		goto out;
	}
	*signedp = key != NULL;
	why = SG_AUDIT_INTACT;
 out:
	EVP_PKEY_CTX_free(ctx);
	free(sig);
	free(head);
	return why;
}

/* Settle an earlier seq jump: reordered when this entry's seq (0: none)
 * goes back below it, else a gap. */
static int
settle_pending(struct verifier *v, uint64_t seq)
{
	return verdict(v, seq != 0 && seq < v->pending_seq ? SG_AUDIT_REORDERED : SG_AUDIT_SEQ_GAP,
	    v->pending_seq, v->pending_file, v->pending_line);
}

/* One line: 0 to go on, 1 when a verdict was reached, or an error. */
static int
verify_line(struct verifier *v, const struct sg_audit_line *line)
{
	struct sg_audit_verify_result *res = v->res;
	char hash[SG_AUDIT_HASH_HEX_LEN + 1], want[SG_AUDIT_HASH_HEX_LEN + 1];
	const char *prev;
	enum sg_audit_break why;
	cJSON *obj = NULL;
	uint64_t seq = 0;
	int boundary, is_signed, r;

	if (line->file >= v->missing_before) {
		obj = sg_audit_entry_object(line);
		seq = obj != NULL ? sg_audit_entry_seq(obj) : 0;
		cJSON_Delete(obj);
		if (v->pending)
			return settle_pending(v, seq);
		return verdict(v, SG_AUDIT_MISSING_FILE, line->file == v->missing_before ? seq : 0,
		    v->missing_before, line->file == v->missing_before ? line->line_no : 0);
	}
	if (line->torn) {
		if (v->pending)
			return settle_pending(v, 0);
		return verdict(v, SG_AUDIT_TRUNCATED, res->last_seq + 1, line->file, line->line_no);
	}
	if (line->too_long) {
		if (v->pending)
			return settle_pending(v, 0);
		return verdict(v, SG_AUDIT_LINE_TOO_LONG, 0, line->file, line->line_no);
	}
	if ((obj = sg_audit_entry_object(line)) == NULL || !line_hash(line, hash) ||
	    !entry_shape_ok(obj, hash)) {
		seq = obj != NULL ? sg_audit_entry_seq(obj) : 0;
		r = v->pending ? settle_pending(v, 0) :
		    verdict(v, SG_AUDIT_NOT_ENTRY, seq, line->file, line->line_no);
		goto out;
	}
	seq = sg_audit_entry_seq(obj);
	if ((r = canonical_hash(line, want)) != 0)
		goto out;
	if (strcmp(want, hash) != 0) {
		r = v->pending ? settle_pending(v, 0) :
		    verdict(v, SG_AUDIT_BAD_HASH, seq, line->file, line->line_no);
		goto out;
	}
	if (v->pending) {
		r = settle_pending(v, seq);
		goto out;
	}
	prev = sg_audit_entry_str(obj, "prev");
	boundary = v->have_entry && line->file != v->last_file;
	if (seq != res->last_seq + 1 || strcmp(prev, res->head) != 0) {
		if (boundary)
			r = verdict(v, SG_AUDIT_FILE_GAP, seq, line->file, line->line_no);
		else if (seq <= res->last_seq)
			r = verdict(v, SG_AUDIT_REORDERED, seq, line->file, line->line_no);
		else if (seq == res->last_seq + 1)
			r = verdict(v, SG_AUDIT_BAD_PREV, seq, line->file, line->line_no);
		else {
			v->pending = 1;
			v->pending_seq = seq;
			v->pending_file = line->file;
			v->pending_line = line->line_no;
			r = 0;
		}
		goto out;
	}
	if (strcmp(sg_audit_entry_str(obj, "type"), "checkpoint") == 0 &&
	    strcmp(sg_audit_entry_str(obj, "outcome"), "ok") == 0) {
		if ((why = check_checkpoint(v, obj, prev, &is_signed)) != SG_AUDIT_INTACT) {
			r = verdict(v, why, seq, line->file, line->line_no);
			goto out;
		}
		res->checkpoints++;
		if (is_signed) {
			res->sealed_seq = seq - 1;
			res->sealed_by = seq;
			res->unsealed = 0;
			res->first_unsealed_ms = 0;
			goto counted;
		}
	}
	if (res->unsealed++ == 0 && !sg_audit_entry_time(obj, &res->first_unsealed_ms))
		res->first_unsealed_ms = 0;
 counted:
	res->entries++;
	res->last_seq = seq;
	memcpy(res->head, hash, sizeof(hash));
	v->last_file = line->file;
	v->have_entry = 1;
	r = 0;
 out:
	cJSON_Delete(obj);
	return r;
}

int
sg_audit_verify(const struct sg_audit_files *files, const struct sg_audit_verify_opts *opts,
    struct sg_audit_verify_result *res)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	struct verifier v;
	int r;

	if (res == NULL)
		return SG_ERR_INVALID_ARG;
	memset(res, 0, sizeof(*res));
	memcpy(res->head, zero_hash, sizeof(zero_hash));
	if (files == NULL)
		return SG_ERR_INVALID_ARG;
	if (files->n == 0)
		return SG_ERR_NOT_FOUND;
	memset(&v, 0, sizeof(v));
	v.files = files;
	v.opts = opts;
	v.res = res;
	res->ok = 1;
	if (opts != NULL && opts->checkpoint_serial != NULL &&
	    BN_hex2bn(&v.want_serial, opts->checkpoint_serial) !=
	    (int)strlen(opts->checkpoint_serial)) {
		r = SG_ERR_INVALID_ARG;
		goto out;
	}
	v.missing_before = first_numbering_gap(files);
	if ((r = sg_audit_reader_open(files, 0, &rd)) != 0)
		goto out;
	while ((r = sg_audit_reader_next(rd, &line)) == 1) {
		if ((r = verify_line(&v, &line)) != 0)
			break;
	}
	if (r < 0) {
		res->ok = 0;
		res->bad_file = line.file;
		goto out;
	}
	if (r == 0) {
		/* The end of the files settles what is still open. */
		if (v.pending)
			settle_pending(&v, 0);
		else if (v.missing_before < files->n)
			verdict(&v, SG_AUDIT_MISSING_FILE, 0, v.missing_before, 0);
	}
	r = 0;
 out:
	if (r != 0)
		res->ok = 0;
	sg_audit_reader_free(rd);
	BN_free(v.want_serial);
	return r;
}

void
sg_audit_seal_judge(const struct sg_audit_verify_result *res, int key_given, unsigned int max_age_s,
    int64_t now_ms, struct sg_audit_seal *seal)
{
	int64_t waited_s;

	memset(seal, 0, sizeof(*seal));
	if (!key_given) {
		sg_msg(seal->why, sizeof(seal->why), "checkpoint signatures not checked: "
		    "nothing is known to be sealed (give the audit certificate)");
		return;
	}
	if (res->entries == 0) {
		sg_msg(seal->why, sizeof(seal->why), "the log is empty: nothing is sealed");
		return;
	}
	if (res->sealed_by == 0) {
		sg_msg(seal->why, sizeof(seal->why), "no checkpoint signed by the audit key: "
		    "nothing is sealed");
		return;
	}
	waited_s = res->unsealed > 0 ? (now_ms - res->first_unsealed_ms) / 1000 : 0;
	if (res->unsealed > 0 && (res->first_unsealed_ms == 0 || waited_s > (int64_t)max_age_s)) {
		sg_msg(seal->why, sizeof(seal->why), "the %" PRIu64 " entries after the checkpoint "
		    "at seq %" PRIu64 " have waited %" PRId64 " s for a seal (at most %u s allowed)",
		    res->unsealed, res->sealed_by, waited_s, max_age_s);
		return;
	}
	seal->sealed = 1;
	if (res->unsealed == 0)
		sg_msg(seal->why, sizeof(seal->why), "sealed to the end by the checkpoint at seq %"
		    PRIu64, res->sealed_by);
	else
		sg_msg(seal->why, sizeof(seal->why), "sealed up to seq %" PRIu64 " by the checkpoint "
		    "at seq %" PRIu64 "; the %" PRIu64 " entries after it are at most %" PRId64
		    " s old, on their way to a seal", res->sealed_seq, res->sealed_by, res->unsealed,
		    waited_s);
}

cJSON *
sg_audit_verify_json(const struct sg_audit_verify_result *res, const struct sg_audit_files *files,
    const struct sg_audit_seal *seal, int accept_unsealed)
{
	cJSON *obj;
	int ok = 1;

	if (res == NULL || seal == NULL || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	ok &= cJSON_AddBoolToObject(obj, "ok", res->ok && (seal->sealed || accept_unsealed)) !=
	    NULL;
	ok &= cJSON_AddNumberToObject(obj, "entries", (double)res->entries) != NULL;
	ok &= cJSON_AddNumberToObject(obj, "checkpoints", (double)res->checkpoints) != NULL;
	if (!res->ok && res->first_bad_seq != 0)
		ok &= cJSON_AddNumberToObject(obj, "first_bad_seq", (double)res->first_bad_seq) != NULL;
	else
		ok &= cJSON_AddNullToObject(obj, "first_bad_seq") != NULL;
	ok &= cJSON_AddStringToObject(obj, "detail",
	    sg_audit_break_text(res->ok ? SG_AUDIT_INTACT : res->why)) != NULL;
	ok &= cJSON_AddBoolToObject(obj, "sealed", seal->sealed) != NULL;
	if (res->sealed_by != 0) {
		ok &= cJSON_AddNumberToObject(obj, "sealed_seq", (double)res->sealed_seq) != NULL;
		ok &= cJSON_AddNumberToObject(obj, "sealed_by", (double)res->sealed_by) != NULL;
	} else {
		ok &= cJSON_AddNullToObject(obj, "sealed_seq") != NULL;
		ok &= cJSON_AddNullToObject(obj, "sealed_by") != NULL;
	}
	ok &= cJSON_AddNumberToObject(obj, "unsealed_entries", (double)res->unsealed) != NULL;
	ok &= cJSON_AddStringToObject(obj, "seal_detail", seal->why) != NULL;
	if (!res->ok && files != NULL && res->bad_file < files->n) {
		ok &= cJSON_AddStringToObject(obj, "file", files->files[res->bad_file].name) != NULL;
		ok &= cJSON_AddNumberToObject(obj, "line", (double)res->bad_line) != NULL;
	}
	if (!ok) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}
