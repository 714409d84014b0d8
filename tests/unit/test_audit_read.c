/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the auditor's reader: logs are made by the real writer
 * (sg_audit_append, with checkpoints signed here by software EC and RSA
 * keys), then tampered with by plain text edits; each tamper must be found
 * at the right seq with the right reason. Query, counts, times, reader. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sg_audit.h"
#include "sg_audit_read.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_test.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_SERIAL "0A1B2C"
/* ,"prev":"<64>","hash":"<64>"} ends every line. */
#define PREV_FROM_END	140
#define HASH_FROM_END	66
#define HASH_TAG_FROM_END 75

/*
 * Scaffolding: files of a scratch directory (sg_test_tmp) as arrays of
 * lines.
 */

/* dir/audit-NNNNNN.jsonl into buf. */
static const char *
log_path(const struct sg_test_tmp *t, unsigned int number, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/audit-%06u.jsonl", t->dir, number);

	return n < 0 || (size_t)n >= len ? "" : buf;
}

struct lines {
	char **line;	/* without "\n" */
	size_t n;
};

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

static int
lines_load(const char *path, struct lines *l)
{
	char buf[SG_AUDIT_LINE_MAX + 2];
	FILE *f;
	size_t len;

	memset(l, 0, sizeof(*l));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		len = strlen(buf);
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		l->line = realloc(l->line, (l->n + 1) * sizeof(char *));
		l->line[l->n++] = strdup(buf);
	}
	fclose(f);
	return 0;
}

static int
lines_save(const char *path, const struct lines *l)
{
	FILE *f;
	size_t i;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->line[i]);
	return fclose(f) == 0 ? 0 : -1;
}

/* Set a line's prev and recompute its hash by the documented rule, as a
 * forger without the audit key would. */
static void
rehash_line(char *line, const char *prev)
{
	size_t len = strlen(line);
	char hash[65], *canon;

	if (prev != NULL)
		memcpy(line + len - PREV_FROM_END, prev, 64);
	canon = malloc(len);
	memcpy(canon, line, len - HASH_TAG_FROM_END);
	canon[len - HASH_TAG_FROM_END] = '}';
	sg_test_sha256_hex(canon, len - HASH_TAG_FROM_END + 1, hash);
	free(canon);
	memcpy(line + len - HASH_FROM_END, hash, 64);
}

static void
line_hash_of(const char *line, char out[65])
{
	memcpy(out, line + strlen(line) - HASH_FROM_END, 64);
	out[64] = '\0';
}

/* Replace the first "from" in s (same length). */
static int
edit_same_length(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);

	if (p == NULL || strlen(from) != strlen(to))
		return -1;
	memcpy(p, to, strlen(to));
	return 0;
}

/* Re-chain lines from..n-1 with correct hashes, each to the line before
 * it, as a forger without the audit key would. */
static void
rechain_from(struct lines *l, size_t from)
{
	char prev[65];
	size_t i;

	for (i = from; i < l->n; i++) {
		line_hash_of(l->line[i - 1], prev);
		rehash_line(l->line[i], prev);
	}
}

/* Drop line i. */
static void
lines_delete(struct lines *l, size_t i)
{
	free(l->line[i]);
	memmove(&l->line[i], &l->line[i + 1], (l->n - i - 1) * sizeof(char *));
	l->n--;
}

static void
lines_swap(struct lines *l, size_t a, size_t b)
{
	char *keep = l->line[a];

	l->line[a] = l->line[b];
	l->line[b] = keep;
}

/*
 * Keys and logs made by the real writer.
 */

static EVP_PKEY *ec_key, *ec_key_other, *rsa_key;

static EVP_PKEY *
make_key(const char *type)
{
	if (strcmp(type, "EC") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

/* The checkpoint signature: the 32 head bytes signed as a SHA-256 digest,
 * base64 (EVP_EncodeBlock, not the code under test). */
static char *
sign_head(EVP_PKEY *key, const char head_hex[65])
{
	unsigned char head[32], sig[1024];
	size_t sig_len = sizeof(sig), i;
	EVP_PKEY_CTX *ctx;
	char *b64 = NULL;
	unsigned int byte;

	for (i = 0; i < 32; i++) {
		if (sscanf(head_hex + 2 * i, "%2x", &byte) != 1)
			return NULL;
		head[i] = (unsigned char)byte;
	}
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(ctx) == 1 &&
	    (EVP_PKEY_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &sig_len, head, sizeof(head)) == 1 &&
	    (b64 = malloc(4 * ((sig_len + 2) / 3) + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
	EVP_PKEY_CTX_free(ctx);
	return b64;
}

/* Ordinary entry number i (1-based) of every test log. */
static const char *
client_of(unsigned int i)
{
	return i % 3 == 0 ? "other" : "billing";
}

static const char *
identity_of(unsigned int i)
{
	return i % 2 != 0 ? "local-seal" : "ec-seal";
}

static const char *
type_of(unsigned int i)
{
	return i % 5 == 0 ? "stamp" : i % 7 == 0 ? "soap" : "sign";
}

static const char *
outcome_of(unsigned int i)
{
	return i % 4 == 0 ? "error" : "ok";
}

struct log_spec {
	unsigned int entries;		/* ordinary entries */
	unsigned int checkpoint_every;	/* 0: none */
	EVP_PKEY *key;			/* checkpoint signer */
	uint64_t rotate_bytes;		/* 0: default */
	unsigned int replays;		/* extra sign ok entries marked "replay" */
};

/* Entries 1..entries, a checkpoint after every checkpoint_every-th, then
 * the replays. Returns the last seq, 0 on failure. */
static uint64_t
build_log(const struct sg_test_tmp *t, const struct log_spec *spec)
{
	static const char *const ck_keys[] = { "alg", "signature" };
	static const char *const replay_keys[] = { "replay" };
	static const char *const replay_values[] = { "idem-1" };
	struct sg_audit_options opts;
	struct sg_audit_entry e;
	struct sg_audit *a = NULL;
	const char *ck_values[2];
	char head[65], request_id[32], *sig;
	uint64_t seq = 0;
	unsigned int i;
	int n;

	memset(&opts, 0, sizeof(opts));
	opts.rotate_bytes = spec->rotate_bytes;
	if (sg_audit_open(t->dir, &opts, &a) != 0)
		return 0;
	for (i = 1; i <= spec->entries; i++) {
		memset(&e, 0, sizeof(e));
		n = snprintf(request_id, sizeof(request_id), "req-%u", i);
		if (n < 0 || (size_t)n >= sizeof(request_id))
			goto fail;
		e.type = type_of(i);
		e.request_id = request_id;
		e.client = client_of(i);
		e.identity = identity_of(i);
		e.key_id = "a1b2";
		e.digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
		e.outcome = outcome_of(i);
		e.error = strcmp(e.outcome, "error") == 0 ? "forbidden" : NULL;
		if (sg_audit_append(a, &e, &seq, head) != 0)
			goto fail;
		if (spec->checkpoint_every != 0 && i % spec->checkpoint_every == 0) {
			if ((sig = sign_head(spec->key, head)) == NULL)
				goto fail;
			memset(&e, 0, sizeof(e));
			e.type = "checkpoint";
			e.identity = "audit-signer";
			e.key_id = "c0ffee";
			e.cert_serial = AUDIT_SERIAL;
			e.outcome = "ok";
			ck_values[0] = EVP_PKEY_base_id(spec->key) == EVP_PKEY_RSA ?
			    "rsa-pkcs1-sha256" : "ecdsa-sha256";
			ck_values[1] = sig;
			e.extra_keys = ck_keys;
			e.extra_values = ck_values;
			e.n_extra = 2;
			if (sg_audit_append(a, &e, &seq, head) != 0) {
				free(sig);
				goto fail;
			}
			free(sig);
		}
	}
	for (i = 0; i < spec->replays; i++) {
		memset(&e, 0, sizeof(e));
		e.type = "sign";
		e.client = "billing";
		e.identity = "local-seal";
		e.outcome = "ok";
		e.extra_keys = replay_keys;
		e.extra_values = replay_values;
		e.n_extra = 1;
		if (sg_audit_append(a, &e, &seq, head) != 0)
			goto fail;
	}
	sg_audit_close(a);
	return seq;
 fail:
	sg_audit_close(a);
	return 0;
}

/* Verify the directory; -1 when the call itself failed. */
static int
verify_dir(const struct sg_test_tmp *t, EVP_PKEY *key, const char *serial,
    struct sg_audit_verify_result *res)
{
	struct sg_audit_verify_opts vo;
	struct sg_audit_files *files = NULL;
	int r;

	memset(&vo, 0, sizeof(vo));
	vo.checkpoint_key = key;
	vo.checkpoint_serial = serial;
	if (sg_audit_files_dir(t->dir, &files) != 0)
		return -1;
	r = sg_audit_verify(files, &vo, res);
	sg_audit_files_free(files);
	return r == 0 ? 0 : -1;
}

#define EXPECT_BREAK(res, why_, seq_, file_, line_) do { \
	CU_ASSERT_FALSE((res).ok); \
	CU_ASSERT_EQUAL((res).why, (why_)); \
	CU_ASSERT_EQUAL((res).first_bad_seq, (uint64_t)(seq_)); \
	CU_ASSERT_EQUAL((res).bad_file, (size_t)(file_)); \
	CU_ASSERT_EQUAL((res).bad_line, (uint64_t)(line_)); \
} while (0)

/* A fresh single-file log of 30 entries and 3 EC checkpoints (seq 11, 22,
 * 33), loaded as lines for editing. */
static int
tamper_setup(struct sg_test_tmp *t, struct lines *l, char *path, size_t path_len)
{
	struct log_spec spec = { 30, 10, NULL, 0, 0 };

	spec.key = ec_key;
	if (sg_test_tmp_make(t, "sg-auditrd", "log") != 0 || build_log(t, &spec) != 33)
		return -1;
	log_path(t, 1, path, path_len);
	return lines_load(path, l) == 0 && l->n == 33 ? 0 : -1;
}

/*
 * Verify: the intact log.
 */

static void
test_verify_intact(void)
{
	struct log_spec spec = { 30, 10, NULL, 0, 0 };
	struct sg_audit_verify_result res;
	struct sg_test_tmp t;
	char path[256];
	struct lines l;
	char head[65];

	spec.key = ec_key;
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(build_log(&t, &spec) == 33);
	CU_ASSERT_FATAL(lines_load(log_path(&t, 1, path, sizeof(path)), &l) == 0);
	line_hash_of(l.line[32], head);

	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.why, SG_AUDIT_INTACT);
	CU_ASSERT_EQUAL(res.entries, 33);
	CU_ASSERT_EQUAL(res.checkpoints, 3);
	CU_ASSERT_EQUAL(res.sealed_seq, 32);
	CU_ASSERT_EQUAL(res.sealed_by, 33);
	CU_ASSERT_EQUAL(res.last_seq, 33);
	CU_ASSERT_EQUAL(res.first_bad_seq, 0);
	CU_ASSERT_STRING_EQUAL(res.head, head);

	/* No key: checkpoints counted, nothing sealed. */
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.checkpoints, 3);
	CU_ASSERT_EQUAL(res.sealed_seq, 0);

	/* The serial compares as a number: case and leading zeros do not matter. */
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, "000a1b2c", &res), 0);
	CU_ASSERT_TRUE(res.ok);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_verify_rsa_checkpoints(void)
{
	struct log_spec spec = { 12, 4, NULL, 0, 0 };
	struct sg_audit_verify_result res;
	struct sg_test_tmp t;

	spec.key = rsa_key;
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(build_log(&t, &spec) == 15);
	CU_ASSERT_EQUAL(verify_dir(&t, rsa_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.entries, 15);
	CU_ASSERT_EQUAL(res.checkpoints, 3);
	CU_ASSERT_EQUAL(res.sealed_seq, 14);

	/* The wrong kind of key for the algorithm the checkpoint names. */
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_CHECKPOINT_ALG, 5, 0, 5);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why),
	    "checkpoint algorithm does not match the key");
	sg_test_tmp_clean(&t);
}

static void
test_verify_wrong_key_or_serial(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* Another EC key: the first checkpoint's signature fails. */
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key_other, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_SIGNATURE, 11, 0, 11);
	CU_ASSERT_EQUAL(res.entries, 10);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, "0A1B2D", &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_CHECKPOINT_CERT, 11, 0, 11);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why),
	    "checkpoint certificate serial does not match");
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

/*
 * Verify: one case per kind of tampering.
 */

static void
test_tamper_edit_field(void)
{
	struct sg_audit_verify_result res;
	cJSON *still_json;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* Entry 5 (a stamp by billing): another client, still valid JSON. */
	CU_ASSERT_FATAL(edit_same_length(l.line[4], "\"client\":\"billing\"",
	    "\"client\":\"billinG\"") == 0);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	still_json = cJSON_Parse(l.line[4]);
	CU_ASSERT_PTR_NOT_NULL(still_json);
	cJSON_Delete(still_json);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_HASH, 5, 0, 5);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "hash mismatch");
	CU_ASSERT_EQUAL(res.entries, 4);
	CU_ASSERT_EQUAL(res.last_seq, 4);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_edit_seq(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	CU_ASSERT_FATAL(edit_same_length(l.line[19], "{\"seq\":20,", "{\"seq\":29,") == 0);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	/* The seq read from the edited line is what it now claims. */
	EXPECT_BREAK(res, SG_AUDIT_BAD_HASH, 29, 0, 20);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_delete_line(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	lines_delete(&l, 6);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_SEQ_GAP, 8, 0, 7);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "seq gap");
	CU_ASSERT_EQUAL(res.entries, 6);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_delete_first_line(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	lines_delete(&l, 0);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_SEQ_GAP, 2, 0, 1);
	CU_ASSERT_EQUAL(res.entries, 0);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_swap_lines(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	lines_swap(&l, 6, 7);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	/* File order 6, 8, 7: entry 8 is the first out of place. */
	EXPECT_BREAK(res, SG_AUDIT_REORDERED, 8, 0, 7);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "reordered");
	/* Swapped further apart (3 and 9). */
	lines_swap(&l, 6, 7);
	lines_swap(&l, 2, 8);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_REORDERED, 9, 0, 3);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_duplicate_line(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	l.line = realloc(l.line, (l.n + 1) * sizeof(char *));
	memmove(&l.line[5], &l.line[4], (l.n - 4) * sizeof(char *));
	l.line[4] = strdup(l.line[5]);
	l.n++;
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_REORDERED, 5, 0, 6);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_truncate(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct stat st;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	/* Mid-line: the last entry loses its end. */
	CU_ASSERT_FATAL(truncate(path, st.st_size - 40) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_TRUNCATED, 33, 0, 33);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "truncated tail");
	CU_ASSERT_EQUAL(res.entries, 32);
	/* Only the "\n" missing is torn too. */
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_FATAL(truncate(path, st.st_size - 1) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_TRUNCATED, 33, 0, 33);
	/* Whole lines cut from the end leave a valid shorter chain: only a
	 * head kept elsewhere (or the next checkpoint) can tell. */
	CU_ASSERT_FATAL(truncate(path, st.st_size - (off_t)strlen(l.line[32]) - 1) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.entries, 32);
	CU_ASSERT_EQUAL(res.sealed_seq, 21);
	CU_ASSERT_EQUAL(res.sealed_by, 22);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_append_forged(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256], *forged, hash31[65];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* A copy of entry 32 as seq 34, chained to entry 31 (not 33), with a
	 * hash that is right for its bytes. */
	forged = strdup(l.line[31]);
	CU_ASSERT_FATAL(edit_same_length(forged, "{\"seq\":32,", "{\"seq\":34,") == 0);
	line_hash_of(l.line[30], hash31);
	rehash_line(forged, hash31);
	l.line = realloc(l.line, (l.n + 1) * sizeof(char *));
	l.line[l.n++] = forged;
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_PREV, 34, 0, 34);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why),
	    "prev does not match the previous entry");
	CU_ASSERT_EQUAL(res.entries, 33);
	/* The same line with a hash that is not its own. */
	forged[strlen(forged) - 3] = forged[strlen(forged) - 3] == '0' ? '1' : '0';
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_HASH, 34, 0, 34);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_rewrite_chain(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* Edit seq 14 and re-chain everything after it with correct hashes;
	 * the checkpoints keep their (now wrong) signatures. */
	CU_ASSERT_FATAL(edit_same_length(l.line[13], "\"client\":\"billing\"",
	    "\"client\":\"billinG\"") == 0);
	rechain_from(&l, 13);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	/* Without the key the forgery is a perfect chain... */
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.entries, 33);
	/* ...with it, the first checkpoint after the edit fails. */
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_SIGNATURE, 22, 0, 22);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "checkpoint signature invalid");
	CU_ASSERT_EQUAL(res.entries, 21);
	CU_ASSERT_EQUAL(res.sealed_seq, 10);
	CU_ASSERT_EQUAL(res.sealed_by, 11);

	/* The whole chain from the first entry: the first checkpoint fails. */
	CU_ASSERT_FATAL(edit_same_length(l.line[0], "\"client\":\"billing\"",
	    "\"client\":\"billinG\"") == 0);
	rehash_line(l.line[0], NULL);
	rechain_from(&l, 1);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_SIGNATURE, 11, 0, 11);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_checkpoint_form(void)
{
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* An algorithm nobody signs with, re-chained: malformed even without
	 * a key. */
	CU_ASSERT_FATAL(edit_same_length(l.line[10], "\"alg\":\"ecdsa-sha256\"",
	    "\"alg\":\"ecdsa-sha999\"") == 0);
	rechain_from(&l, 10);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_BAD_CHECKPOINT, 11, 0, 11);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_tamper_not_entry(void)
{
	static const char *const bad[] = {
		"not json at all",
		"{\"seq\":5}",
		"",
		"[1,2,3]",
	};
	struct sg_audit_verify_result res;
	struct lines l;
	struct sg_test_tmp t;
	char path[256], *keep;
	size_t i;

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	keep = l.line[4];
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l.line[4] = (char *)bad[i];
		CU_ASSERT_FATAL(lines_save(path, &l) == 0);
		CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
		/* A seq is named only when the line has one. */
		EXPECT_BREAK(res, SG_AUDIT_NOT_ENTRY, i == 1 ? 5 : 0, 0, 5);
	}
	/* Members out of the documented order, hash recomputed. */
	l.line[4] = strdup(keep);
	CU_ASSERT_FATAL(edit_same_length(l.line[4], "\"type\":\"stamp\",\"request_id\"",
	    "\"request_id\":\"stamp\",\"type\"") == 0);
	rehash_line(l.line[4], NULL);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_NOT_ENTRY, 5, 0, 5);
	free(keep);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

/*
 * Verify across files.
 */

struct multi {
	struct sg_test_tmp t;
	unsigned int files;
	uint64_t last_seq;
	uint64_t first_seq[64];	/* by file number */
};

static uint64_t
first_seq_of(const char *path)
{
	struct lines l;
	cJSON *obj;
	uint64_t seq = 0;

	if (lines_load(path, &l) != 0 || l.n == 0)
		return 0;
	if ((obj = cJSON_Parse(l.line[0])) != NULL)
		seq = (uint64_t)cJSON_GetObjectItem(obj, "seq")->valuedouble;
	cJSON_Delete(obj);
	lines_free(&l);
	return seq;
}

static int
multi_setup(struct multi *m)
{
	struct log_spec spec = { 24, 6, NULL, 1500, 0 };
	char path[256];
	unsigned int i;

	memset(m, 0, sizeof(*m));
	spec.key = ec_key;
	if (sg_test_tmp_make(&m->t, "sg-auditrd", "log") != 0 || (m->last_seq = build_log(&m->t, &spec)) != 28)
		return -1;
	for (i = 1; i < 64; i++) {
		if (access(log_path(&m->t, i, path, sizeof(path)), F_OK) != 0)
			break;
		m->first_seq[i] = first_seq_of(path);
		m->files = i;
	}
	return m->files >= 5 ? 0 : -1;
}

static void
test_files_intact(void)
{
	struct sg_audit_verify_result res;
	struct multi m;

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_EQUAL(verify_dir(&m.t, ec_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.entries, 28);
	CU_ASSERT_EQUAL(res.checkpoints, 4);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_missing_middle(void)
{
	struct sg_audit_verify_result res;
	struct multi m;
	char path[256];

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_FATAL(unlink(log_path(&m.t, 2, path, sizeof(path))) == 0);
	CU_ASSERT_EQUAL(verify_dir(&m.t, ec_key, AUDIT_SERIAL, &res), 0);
	/* Reported at the first entry of the file after the hole (index 1 of
	 * the listing: audit-000003.jsonl). */
	EXPECT_BREAK(res, SG_AUDIT_MISSING_FILE, m.first_seq[3], 1, 1);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "missing file");
	CU_ASSERT_EQUAL(res.entries, m.first_seq[2] - 1);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_missing_first(void)
{
	struct sg_audit_verify_result res;
	struct multi m;
	char path[256];

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_FATAL(unlink(log_path(&m.t, 1, path, sizeof(path))) == 0);
	CU_ASSERT_EQUAL(verify_dir(&m.t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_MISSING_FILE, m.first_seq[2], 0, 1);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_gap(void)
{
	struct sg_audit_verify_result res;
	struct multi m;
	char path[256], to[256];
	unsigned int i;

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	/* File 2 removed and the later ones renumbered: no hole in the names,
	 * but file 3 (now 2) does not chain to file 1. */
	CU_ASSERT_FATAL(unlink(log_path(&m.t, 2, path, sizeof(path))) == 0);
	for (i = 3; i <= m.files; i++) {
		log_path(&m.t, i, path, sizeof(path));
		CU_ASSERT_FATAL(rename(path, log_path(&m.t, i - 1, to, sizeof(to))) == 0);
	}
	CU_ASSERT_EQUAL(verify_dir(&m.t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_FILE_GAP, m.first_seq[3], 1, 1);
	CU_ASSERT_STRING_EQUAL(sg_audit_break_text(res.why), "gap between files");
	sg_test_tmp_clean(&m.t);
}

static void
test_files_first_line_deleted(void)
{
	struct sg_audit_verify_result res;
	struct multi m;
	struct lines l;
	char path[256];

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_FATAL(lines_load(log_path(&m.t, 3, path, sizeof(path)), &l) == 0);
	CU_ASSERT_FATAL(l.n >= 2);
	lines_delete(&l, 0);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL(verify_dir(&m.t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_FILE_GAP, m.first_seq[3] + 1, 2, 1);
	lines_free(&l);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_torn_in_middle_file(void)
{
	struct sg_audit_verify_result res;
	struct multi m;
	struct stat st;
	char path[256];

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_FATAL(stat(log_path(&m.t, 2, path, sizeof(path)), &st) == 0);
	CU_ASSERT_FATAL(truncate(path, st.st_size - 10) == 0);
	CU_ASSERT_EQUAL(verify_dir(&m.t, NULL, NULL, &res), 0);
	CU_ASSERT_FALSE(res.ok);
	CU_ASSERT_EQUAL(res.why, SG_AUDIT_TRUNCATED);
	CU_ASSERT_EQUAL(res.first_bad_seq, m.first_seq[3] - 1);
	CU_ASSERT_EQUAL(res.bad_file, 1);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_explicit_list(void)
{
	struct sg_audit_verify_result res;
	struct sg_audit_files *files = NULL;
	struct multi m;
	char p1[256], p2[256], p3[256], copy[256];
	const char *paths[3];
	struct lines l;

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	/* Out of order on the command line: put in number order. */
	paths[0] = log_path(&m.t, 2, p2, sizeof(p2));
	paths[1] = log_path(&m.t, 1, p1, sizeof(p1));
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_paths(paths, 2, &files), 0);
	CU_ASSERT_EQUAL(files->n, 2);
	CU_ASSERT_STRING_EQUAL(files->files[0].name, "audit-000001.jsonl");
	CU_ASSERT_EQUAL(files->files[1].number, 2);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.last_seq, m.first_seq[3] - 1);
	sg_audit_files_free(files);

	/* 1 and 3: the hole is a missing file. */
	paths[1] = log_path(&m.t, 3, p3, sizeof(p3));
	paths[0] = p1;
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_paths(paths, 2, &files), 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_MISSING_FILE, m.first_seq[3], 1, 1);
	sg_audit_files_free(files);

	/* The same file twice. */
	paths[1] = p1;
	CU_ASSERT_EQUAL(sg_audit_files_paths(paths, 2, &files), SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(files);
	/* A copy under another name: order as given, numbering not checked,
	 * so the break is the chain across the files. */
	CU_ASSERT_FATAL(snprintf(copy, sizeof(copy), "%s/copy.jsonl", m.t.root) < (int)sizeof(copy));
	CU_ASSERT_FATAL(lines_load(p3, &l) == 0 && lines_save(copy, &l) == 0);
	lines_free(&l);
	paths[1] = copy;
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_paths(paths, 2, &files), 0);
	CU_ASSERT_EQUAL(files->files[0].number, 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_FILE_GAP, m.first_seq[3], 1, 1);
	sg_audit_files_free(files);
	/* No such file. */
	paths[0] = "/nonexistent/audit-000001.jsonl";
	CU_ASSERT_EQUAL(sg_audit_files_paths(paths, 1, &files), SG_ERR_NOT_FOUND);
	sg_test_tmp_clean(&m.t);
}

static void
test_files_dir_listing(void)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_verify_result res;
	struct sg_test_tmp t;
	char path[256], side[256];
	FILE *f;
	struct log_spec spec = { 5, 0, NULL, 0, 0 };
	uint64_t seq = 0;
	struct sg_audit_entry e;

	CU_ASSERT_EQUAL(sg_audit_files_dir("/nonexistent-sealgate-dir", &files), SG_ERR_NOT_FOUND);
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(mkdir(t.dir, 0700) == 0);
	/* An empty directory is an empty list; verify calls that not found. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	CU_ASSERT_EQUAL(files->n, 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), SG_ERR_NOT_FOUND);
	sg_audit_files_free(files);

	CU_ASSERT_FATAL(build_log(&t, &spec) == 5);
	/* A torn tail that the writer sets aside when it next opens. */
	log_path(&t, 1, path, sizeof(path));
	CU_ASSERT_FATAL((f = fopen(path, "a")) != NULL);
	fputs("{\"seq\":6,\"time\":\"2026-", f);
	fclose(f);
	CU_ASSERT_EQUAL(verify_dir(&t, NULL, NULL, &res), 0);
	EXPECT_BREAK(res, SG_AUDIT_TRUNCATED, 6, 0, 6);
	memset(&e, 0, sizeof(e));
	e.type = "startup";
	e.outcome = "ok";
	CU_ASSERT_EQUAL_FATAL(sg_audit_append_once(t.dir, NULL, &e, &seq), 0);
	CU_ASSERT_EQUAL(seq, 6);
	/* Other names in the directory are not log files. */
	CU_ASSERT_FATAL(snprintf(side, sizeof(side), "%s/notes.txt", t.dir) < (int)sizeof(side));
	CU_ASSERT_FATAL((f = fopen(side, "w")) != NULL);
	fclose(f);
	CU_ASSERT_FATAL(snprintf(side, sizeof(side), "%s/audit-000002.jsonl.bak", t.dir) <
	    (int)sizeof(side));
	CU_ASSERT_FATAL((f = fopen(side, "w")) != NULL);
	fclose(f);

	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	CU_ASSERT_EQUAL(files->n, 1);
	CU_ASSERT_EQUAL(files->n_set_aside, 1);
	if (files->n_set_aside == 1)
		CU_ASSERT_EQUAL(strncmp(files->set_aside[0], "audit-000001.jsonl.torn-6-", 26), 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.entries, 6);
	sg_audit_files_free(files);
	sg_test_tmp_clean(&t);
}

/*
 * The reader.
 */

static void
test_reader(void)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	struct sg_test_tmp t;
	char p1[256], p2[256], p3[256], *big;
	const char *paths[3];
	size_t off, i, n_lines;
	FILE *f;

	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(mkdir(t.dir, 0700) == 0);
	/* File 1: a short line, the longest line allowed, one too long, a torn end. */
	big = malloc(3 * SG_AUDIT_LINE_MAX);
	off = 0;
	memcpy(big + off, "abc\n", 4);
	off += 4;
	memset(big + off, 'x', SG_AUDIT_LINE_MAX - 1);
	off += SG_AUDIT_LINE_MAX - 1;
	big[off++] = '\n';
	memset(big + off, 'y', SG_AUDIT_LINE_MAX);
	off += SG_AUDIT_LINE_MAX;
	big[off++] = '\n';
	memcpy(big + off, "tail", 4);
	off += 4;
	(void)sg_test_write_file(log_path(&t, 1, p1, sizeof(p1)), big, off);
	free(big);
	/* File 2 empty; file 3 many lines over several read chunks. */
	(void)sg_test_write_file(log_path(&t, 2, p2, sizeof(p2)), "", 0);
	CU_ASSERT_FATAL((f = fopen(log_path(&t, 3, p3, sizeof(p3)), "w")) != NULL);
	for (i = 0; i < 300; i++)
		fprintf(f, "%0999zu\n", i);
	fclose(f);
	paths[0] = p1;
	paths[1] = p2;
	paths[2] = p3;
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_paths(paths, 3, &files), 0);
	/* Appended after listing: not read (a consistent prefix). */
	CU_ASSERT_FATAL((f = fopen(p3, "a")) != NULL);
	fputs("late\n", f);
	fclose(f);

	CU_ASSERT_EQUAL_FATAL(sg_audit_reader_open(files, 0, &rd), 0);
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), 1);
	CU_ASSERT_EQUAL(line.len, 3);
	CU_ASSERT_STRING_EQUAL(line.text, "abc");
	CU_ASSERT_EQUAL(line.line_no, 1);
	CU_ASSERT(!line.torn && !line.too_long);
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), 1);
	CU_ASSERT_EQUAL(line.len, SG_AUDIT_LINE_MAX - 1);
	CU_ASSERT(!line.torn && !line.too_long);
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), 1);
	CU_ASSERT_TRUE(line.too_long);
	CU_ASSERT_FALSE(line.torn);
	CU_ASSERT_EQUAL(line.line_no, 3);
	CU_ASSERT_EQUAL(line.text[0], 'y');
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), 1);
	CU_ASSERT_TRUE(line.torn);
	CU_ASSERT_STRING_EQUAL(line.text, "tail");
	CU_ASSERT_EQUAL(line.line_no, 4);
	CU_ASSERT_EQUAL(line.file, 0);
	for (n_lines = 0; sg_audit_reader_next(rd, &line) == 1; n_lines++) {
		CU_ASSERT_EQUAL(line.file, 2);
		CU_ASSERT_EQUAL(line.len, 999);
		CU_ASSERT_EQUAL(line.line_no, n_lines + 1);
		CU_ASSERT_FALSE(line.torn);
	}
	CU_ASSERT_EQUAL(n_lines, 300);
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), 0);
	sg_audit_reader_free(rd);

	/* A file gone between listing and reading. */
	CU_ASSERT_FATAL(unlink(p2) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_reader_open(files, 1, &rd), 0);
	CU_ASSERT_EQUAL(sg_audit_reader_next(rd, &line), SG_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(line.file, 1);
	sg_audit_reader_free(rd);
	CU_ASSERT_EQUAL(sg_audit_reader_open(files, 4, &rd), SG_ERR_INVALID_ARG);
	sg_audit_files_free(files);
	sg_test_tmp_clean(&t);
}

/*
 * Query.
 */

struct collected {
	uint64_t seqs[256];
	size_t n;
};

static int
collect(void *arg, const cJSON *entry, const char *line, size_t len)
{
	struct collected *c = arg;
	cJSON *again;

	/* The line handed over is the entry's own line. */
	again = cJSON_Parse(line);
	CU_ASSERT(again != NULL && strlen(line) == len &&
	    cJSON_GetObjectItem(again, "seq")->valuedouble ==
	    cJSON_GetObjectItem(entry, "seq")->valuedouble);
	cJSON_Delete(again);
	if (c->n < 256)
		c->seqs[c->n++] = (uint64_t)cJSON_GetObjectItem(entry, "seq")->valuedouble;
	return 0;
}

/* Seq of ordinary entry i in a log with a checkpoint every 6. */
static uint64_t
seq_of(unsigned int i)
{
	return i + (i - 1) / 6;
}

static void
test_query_filters(void)
{
	struct sg_audit_filter f;
	struct collected c;
	struct multi m;
	struct sg_audit_files *files = NULL;
	unsigned int i;
	size_t want;

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(m.t.dir, &files), 0);

	/* No filter: everything, in order, across files. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, NULL, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 28);
	for (i = 0; i < c.n; i++)
		CU_ASSERT_EQUAL(c.seqs[i], i + 1);

	/* client */
	sg_audit_filter_init(&f);
	f.client = "other";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	for (want = 0, i = 1; i <= 24; i++) {
		if (strcmp(client_of(i), "other") == 0) {
			CU_ASSERT(want < c.n && c.seqs[want] == seq_of(i));
			want++;
		}
	}
	CU_ASSERT_EQUAL(c.n, want);

	/* identity + type + outcome together */
	sg_audit_filter_init(&f);
	f.identity = "local-seal";
	f.type = "sign";
	f.outcome = "ok";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	for (want = 0, i = 1; i <= 24; i++) {
		if (strcmp(identity_of(i), "local-seal") == 0 && strcmp(type_of(i), "sign") == 0 &&
		    strcmp(outcome_of(i), "ok") == 0) {
			CU_ASSERT(want < c.n && c.seqs[want] == seq_of(i));
			want++;
		}
	}
	CU_ASSERT_EQUAL(c.n, want);
	CU_ASSERT(want > 0);

	/* type checkpoint; outcome error */
	sg_audit_filter_init(&f);
	f.type = "checkpoint";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 4);
	CU_ASSERT_EQUAL(c.seqs[0], 7);
	sg_audit_filter_init(&f);
	f.outcome = "error";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 6);

	/* A client nobody is. */
	sg_audit_filter_init(&f);
	f.client = "nobody";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 0);

	/* after_seq, also past the files it lets the scan skip. */
	sg_audit_filter_init(&f);
	f.after_seq = 20;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 8);
	CU_ASSERT_EQUAL(c.seqs[0], 21);
	f.after_seq = 28;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	sg_audit_files_free(files);
	sg_test_tmp_clean(&m.t);
}

/* Give entry seq (1-based line in a single-file log) another time. The
 * hash breaks, which a query does not care about. */
static void
set_time(struct lines *l, size_t seq, const char *stamp)
{
	char *p = strstr(l->line[seq - 1], "\"time\":\"");

	if (p != NULL && strlen(stamp) == 24)
		memcpy(p + 8, stamp, 24);
}

static void
test_query_time_window(void)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_filter f;
	struct collected c;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];
	size_t i;

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* Entries 1-10 on Nov 1, 11-20 on Nov 15, 21-33 on Dec 1. */
	for (i = 1; i <= 33; i++)
		set_time(&l, i, i <= 10 ? "2026-11-01T10:00:00.000Z" :
		    i <= 20 ? "2026-11-15T23:59:59.999Z" : "2026-12-01T00:00:00.000Z");
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);

	sg_audit_filter_init(&f);
	CU_ASSERT_EQUAL(sg_audit_parse_time("2026-11-15T23:59:59.999Z", &f.from_ms), 0);
	CU_ASSERT_EQUAL(sg_audit_parse_time("2026-12-01T00:00:00Z", &f.to_ms), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	/* from inclusive, to exclusive */
	CU_ASSERT_EQUAL(c.n, 10);
	CU_ASSERT_EQUAL(c.seqs[0], 11);
	CU_ASSERT_EQUAL(c.seqs[9], 20);
	/* An offset names the same instant. */
	CU_ASSERT_EQUAL(sg_audit_parse_time("2026-12-01T02:00:00+02:00", &f.to_ms), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 10);
	/* Only a lower bound. */
	sg_audit_filter_init(&f);
	CU_ASSERT_EQUAL(sg_audit_parse_time("2026-11-16", &f.from_ms), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 13);
	/* Only an upper bound. */
	sg_audit_filter_init(&f);
	CU_ASSERT_EQUAL(sg_audit_parse_time("2026-11-01T10:00:00.001Z", &f.to_ms), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sg_audit_each(files, &f, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 10);
	sg_audit_files_free(files);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

static void
test_query_paging(void)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_filter f;
	struct multi m;
	cJSON *page = NULL, *item;
	uint64_t next, expect = 1;
	unsigned int pages = 0;
	int n;

	CU_ASSERT_FATAL(multi_setup(&m) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(m.t.dir, &files), 0);
	sg_audit_filter_init(&f);
	/* Pages of 5 over 28 entries: 5 5 5 5 5 3, next null on the last. */
	do {
		CU_ASSERT_EQUAL_FATAL(sg_audit_query(files, &f, 5, &page, &next), 0);
		n = cJSON_GetArraySize(page);
		cJSON_ArrayForEach(item, page) {
			CU_ASSERT_EQUAL((uint64_t)cJSON_GetObjectItem(item, "seq")->valuedouble, expect);
			CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItem(item, "hash"));
			expect++;
		}
		CU_ASSERT_EQUAL(n, pages < 5 ? 5 : 3);
		CU_ASSERT_EQUAL(next, pages < 5 ? expect - 1 : 0);
		cJSON_Delete(page);
		f.after_seq = next;
		pages++;
	} while (next != 0 && pages < 10);
	CU_ASSERT_EQUAL(pages, 6);
	CU_ASSERT_EQUAL(expect, 29);

	/* Exactly a page left: no next page. */
	f.after_seq = 23;
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, 5, &page, &next), 0);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(page), 5);
	CU_ASSERT_EQUAL(next, 0);
	cJSON_Delete(page);
	/* Default and maximum limits. */
	f.after_seq = 0;
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, 0, &page, &next), 0);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(page), 28);
	cJSON_Delete(page);
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, SG_AUDIT_QUERY_LIMIT_MAX, &page, &next), 0);
	cJSON_Delete(page);
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, SG_AUDIT_QUERY_LIMIT_MAX + 1, &page, &next),
	    SG_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(page);
	/* Paging with a filter. */
	f.type = "checkpoint";
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, 3, &page, &next), 0);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(page), 3);
	CU_ASSERT_EQUAL(next, 21);
	cJSON_Delete(page);
	f.after_seq = next;
	CU_ASSERT_EQUAL(sg_audit_query(files, &f, 3, &page, &next), 0);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(page), 1);
	CU_ASSERT_EQUAL(next, 0);
	cJSON_Delete(page);
	sg_audit_files_free(files);
	sg_test_tmp_clean(&m.t);
}

/*
 * Counts.
 */

struct tally {
	const char *identity, *client;
	uint64_t stamps, signatures, soap;
};

static void
test_counts(void)
{
	struct log_spec spec = { 60, 10, NULL, 0, 3 };
	struct sg_audit_files *files = NULL;
	struct sg_audit_counts *counts = NULL;
	struct tally want[4];
	const struct sg_audit_count_row *row;
	struct tm tm;
	time_t now = time(NULL);
	struct sg_test_tmp t;
	cJSON *json, *list, *first;
	char *printed;
	unsigned int i, k;
	uint64_t total = 0;
	int year, month;

	spec.key = ec_key;
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(build_log(&t, &spec) == 69);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	gmtime_r(&now, &tm);
	year = tm.tm_year + 1900;
	month = tm.tm_mon + 1;

	/* The expected table, tallied from the generator (sorted: ec-seal
	 * before local-seal, billing before other). */
	memset(want, 0, sizeof(want));
	want[0].identity = want[1].identity = "ec-seal";
	want[2].identity = want[3].identity = "local-seal";
	want[0].client = want[2].client = "billing";
	want[1].client = want[3].client = "other";
	for (i = 1; i <= 60; i++) {
		if (strcmp(outcome_of(i), "ok") != 0)
			continue;
		k = (strcmp(identity_of(i), "ec-seal") == 0 ? 0 : 2) +
		    (strcmp(client_of(i), "billing") == 0 ? 0 : 1);
		if (strcmp(type_of(i), "stamp") == 0)
			want[k].stamps++;
		else if (strcmp(type_of(i), "soap") == 0)
			want[k].soap++;
		else
			want[k].signatures++;
	}
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, year, month, SG_AUDIT_BY_IDENTITY_CLIENT,
	    &counts), 0);
	CU_ASSERT_EQUAL_FATAL(counts->n, 4);
	for (k = 0; k < 4; k++) {
		row = &counts->rows[k];
		CU_ASSERT_STRING_EQUAL(row->identity, want[k].identity);
		CU_ASSERT_STRING_EQUAL(row->client, want[k].client);
		CU_ASSERT_EQUAL(row->stamps, want[k].stamps);
		CU_ASSERT_EQUAL(row->signatures, want[k].signatures);
		CU_ASSERT_EQUAL(row->soap, want[k].soap);
		total += row->stamps + row->signatures + row->soap;
	}
	/* ok entries of stamp/sign/soap among 60, replays not counted again */
	CU_ASSERT_EQUAL(total, 45);
	json = sg_audit_counts_json(counts, SG_AUDIT_BY_IDENTITY_CLIENT);
	CU_ASSERT_FATAL(json != NULL);
	list = cJSON_GetObjectItem(json, "counts");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(list), 4);
	first = cJSON_GetArrayItem(list, 0);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(first, "identity")->valuestring, "ec-seal");
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(first, "signatures")->valuedouble,
	    (double)want[0].signatures);
	printed = cJSON_PrintUnformatted(cJSON_GetObjectItem(json, "month"));
	CU_ASSERT(printed != NULL && strlen(printed) == 9);
	cJSON_free(printed);
	cJSON_Delete(json);
	sg_audit_counts_free(counts);

	/* By identity only. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, year, month, SG_AUDIT_BY_IDENTITY, &counts), 0);
	CU_ASSERT_EQUAL_FATAL(counts->n, 2);
	CU_ASSERT_STRING_EQUAL(counts->rows[0].identity, "ec-seal");
	CU_ASSERT_PTR_NULL(counts->rows[0].client);
	CU_ASSERT_EQUAL(counts->rows[1].signatures, want[2].signatures + want[3].signatures);
	json = sg_audit_counts_json(counts, SG_AUDIT_BY_IDENTITY);
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(json,
	    "counts"), 0), "client"));
	cJSON_Delete(json);
	sg_audit_counts_free(counts);

	/* By client only. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, year, month, SG_AUDIT_BY_CLIENT, &counts), 0);
	CU_ASSERT_EQUAL_FATAL(counts->n, 2);
	CU_ASSERT_STRING_EQUAL(counts->rows[1].client, "other");
	CU_ASSERT_PTR_NULL(counts->rows[1].identity);
	CU_ASSERT_EQUAL(counts->rows[1].stamps, want[1].stamps + want[3].stamps);
	sg_audit_counts_free(counts);

	/* Another month: nothing. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, year - 1, month, SG_AUDIT_BY_IDENTITY_CLIENT,
	    &counts), 0);
	CU_ASSERT_EQUAL(counts->n, 0);
	sg_audit_counts_free(counts);
	CU_ASSERT_EQUAL(sg_audit_counts(files, year, 13, SG_AUDIT_BY_IDENTITY_CLIENT, &counts),
	    SG_ERR_INVALID_ARG);
	sg_audit_files_free(files);
	sg_test_tmp_clean(&t);
}

static void
test_counts_month_edges(void)
{
	struct sg_audit_files *files = NULL;
	struct sg_audit_counts *counts = NULL;
	struct lines l;
	struct sg_test_tmp t;
	char path[256];
	uint64_t sum;
	size_t i;

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	/* The last millisecond of November and the first of December. */
	for (i = 1; i <= 33; i++)
		set_time(&l, i, i <= 16 ? "2026-11-30T23:59:59.999Z" : "2026-12-01T00:00:00.000Z");
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, 2026, 11, SG_AUDIT_BY_CLIENT, &counts), 0);
	for (sum = 0, i = 0; i < counts->n; i++)
		sum += counts->rows[i].stamps + counts->rows[i].signatures + counts->rows[i].soap;
	/* Entries 1-15 (seq 1-10, 12-16: the checkpoint at 11 is not counted)
	 * with outcome ok and a counted type: 1 2 3 5 6 7 9 10 11 13 14 15. */
	CU_ASSERT_EQUAL(sum, 12);
	sg_audit_counts_free(counts);
	CU_ASSERT_EQUAL_FATAL(sg_audit_counts(files, 2026, 12, SG_AUDIT_BY_CLIENT, &counts), 0);
	for (sum = 0, i = 0; i < counts->n; i++)
		sum += counts->rows[i].stamps + counts->rows[i].signatures + counts->rows[i].soap;
	CU_ASSERT_EQUAL(sum, 11);
	sg_audit_counts_free(counts);
	sg_audit_files_free(files);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

/*
 * Times, months, JSON.
 */

static void
test_parse_time(void)
{
	static const struct {
		const char *text;
		int ok;
		int64_t ms;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "1970-01-01T00:00:00.001Z", 1, 1 },
		{ "1969-12-31T23:59:59Z", 1, -1000 },
		{ "2026-11-20T21:40:03.118Z", 1, 1795210803118 },
		{ "2026-11-20T23:40:03.118+02:00", 1, 1795210803118 },
		{ "2026-11-20T20:10:03.118-01:30", 1, 1795210803118 },
		{ "2026-11-20T21:40:03.1189999Z", 1, 1795210803118 },
		{ "2026-11-20t21:40:03.118z", 1, 1795210803118 },
		{ "2026-11-20T21:40:03.1Z", 1, 1795210803100 },
		{ "2026-11-20", 1, 1795132800000 },
		{ "2024-02-29T12:00:00Z", 1, 1709208000000 },
		{ "2000-03-01T00:00:00Z", 1, 951868800000 },
		{ "2026-02-29", 0, 0 },
		{ "2026-13-01", 0, 0 },
		{ "2026-11-31", 0, 0 },
		{ "2026-11-20T24:00:00Z", 0, 0 },
		{ "2026-11-20T21:60:00Z", 0, 0 },
		{ "2026-11-20T21:40:03", 0, 0 },
		{ "2026-11-20T21:40:03.Z", 0, 0 },
		{ "2026-11-20T21:40:03Zx", 0, 0 },
		{ "2026-11-20T21:40:03+0200", 0, 0 },
		{ "2026-11-20T21:40Z", 0, 0 },
		{ "2026-1-20", 0, 0 },
		{ "", 0, 0 },
		{ "yesterday", 0, 0 },
	};
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = 42;
		if (cases[i].ok) {
			CU_ASSERT_EQUAL(sg_audit_parse_time(cases[i].text, &ms), 0);
			CU_ASSERT_EQUAL(ms, cases[i].ms);
		} else
			CU_ASSERT_EQUAL(sg_audit_parse_time(cases[i].text, &ms), SG_ERR_PARSE);
	}
}

static void
test_parse_month(void)
{
	static const char *const bad[] = {
		"2026-1", "2026-00", "2026-13", "2026-11-01", "1969-12", "26-11", "", "2026/11"
	};
	int year = 0, month = 0;
	size_t i;

	CU_ASSERT_EQUAL(sg_audit_parse_month("2026-11", &year, &month), 0);
	CU_ASSERT_EQUAL(year, 2026);
	CU_ASSERT_EQUAL(month, 11);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(sg_audit_parse_month(bad[i], &year, &month), SG_ERR_PARSE);
}

/* The seal: a signed checkpoint, and no entry after it waiting longer
 * than the interval allows. */
static void
test_seal_judge(void)
{
	struct log_spec spec = { 35, 10, NULL, 0, 0 };
	struct sg_audit_verify_result res;
	struct sg_audit_seal seal;
	struct timespec now;
	struct sg_test_tmp t;
	int64_t now_ms;

	spec.key = ec_key;
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(build_log(&t, &spec) == 38);	/* 35 + 3 checkpoints */
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	CU_ASSERT_EQUAL(res.sealed_by, 33);
	CU_ASSERT_EQUAL(res.unsealed, 5);
	CU_ASSERT_TRUE(res.first_unsealed_ms >= now_ms - 1000 && res.first_unsealed_ms <= now_ms + 60000);
	/* Just written: on the way to a seal. */
	sg_audit_seal_judge(&res, 1, 65, res.first_unsealed_ms + 1000, &seal);
	CU_ASSERT_TRUE(seal.sealed);
	CU_ASSERT_PTR_NOT_NULL(strstr(seal.why, "sealed up to seq 32 by the checkpoint at seq 33"));
	/* Later than the interval allows: something stopped sealing, or the
	 * seals were cut out. */
	sg_audit_seal_judge(&res, 1, 65, res.first_unsealed_ms + 66000, &seal);
	CU_ASSERT_FALSE(seal.sealed);
	CU_ASSERT_PTR_NOT_NULL(strstr(seal.why, "the 5 entries after the checkpoint at seq 33 have "
	    "waited 66 s"));
	/* Without the key, no seal is known. */
	sg_audit_seal_judge(&res, 0, 65, res.first_unsealed_ms, &seal);
	CU_ASSERT_FALSE(seal.sealed);
	sg_test_tmp_clean(&t);

	/* Checkpoints none: nothing is sealed, however young. */
	spec.checkpoint_every = 0;
	CU_ASSERT_FATAL(sg_test_tmp_make(&t, "sg-auditrd", "log") == 0);
	CU_ASSERT_FATAL(build_log(&t, &spec) == 35);
	CU_ASSERT_EQUAL(verify_dir(&t, ec_key, AUDIT_SERIAL, &res), 0);
	CU_ASSERT_TRUE(res.ok);
	sg_audit_seal_judge(&res, 1, 65, res.first_unsealed_ms, &seal);
	CU_ASSERT_FALSE(seal.sealed);
	CU_ASSERT_PTR_NOT_NULL(strstr(seal.why, "no checkpoint signed by the audit key"));
	sg_test_tmp_clean(&t);

	/* An empty log is not a sealed one. */
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	sg_audit_seal_judge(&res, 1, 65, now_ms, &seal);
	CU_ASSERT_FALSE(seal.sealed);
	CU_ASSERT_PTR_NOT_NULL(strstr(seal.why, "empty"));
}

static void
test_verify_json(void)
{
	struct sg_audit_seal seal;
	struct sg_audit_verify_result res;
	struct sg_audit_files *files = NULL;
	struct lines l;
	struct sg_test_tmp t;
	char path[256], *text;
	cJSON *obj;

	CU_ASSERT_FATAL(tamper_setup(&t, &l, path, sizeof(path)) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	/* Without the key nothing is known to be sealed: ok only when the
	 * caller accepts that. */
	sg_audit_seal_judge(&res, 0, 65, 0, &seal);
	obj = sg_audit_verify_json(&res, files, &seal, 1);
	text = cJSON_PrintUnformatted(obj);
	CU_ASSERT_STRING_EQUAL(text, "{\"ok\":true,\"entries\":33,\"checkpoints\":3,"
	    "\"first_bad_seq\":null,\"detail\":\"chain intact\",\"sealed\":false,"
	    "\"sealed_seq\":null,\"sealed_by\":null,\"unsealed_entries\":33,"
	    "\"seal_detail\":\"checkpoint signatures not checked: nothing is known to be sealed "
	    "(give the audit certificate)\"}");
	cJSON_free(text);
	cJSON_Delete(obj);
	obj = sg_audit_verify_json(&res, files, &seal, 0);
	CU_ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(obj, "ok")));
	cJSON_Delete(obj);
	sg_audit_files_free(files);

	CU_ASSERT_FATAL(edit_same_length(l.line[8], "\"type\":\"sign\"", "\"type\":\"soap\"") == 0);
	CU_ASSERT_FATAL(lines_save(path, &l) == 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_files_dir(t.dir, &files), 0);
	CU_ASSERT_EQUAL(sg_audit_verify(files, NULL, &res), 0);
	sg_audit_seal_judge(&res, 0, 65, 0, &seal);
	obj = sg_audit_verify_json(&res, files, &seal, 1);
	text = cJSON_PrintUnformatted(obj);
	CU_ASSERT_STRING_EQUAL(text, "{\"ok\":false,\"entries\":8,\"checkpoints\":0,"
	    "\"first_bad_seq\":9,\"detail\":\"hash mismatch\",\"sealed\":false,"
	    "\"sealed_seq\":null,\"sealed_by\":null,\"unsealed_entries\":8,"
	    "\"seal_detail\":\"checkpoint signatures not checked: nothing is known to be sealed "
	    "(give the audit certificate)\",\"file\":\"audit-000001.jsonl\",\"line\":9}");
	cJSON_free(text);
	cJSON_Delete(obj);
	sg_audit_files_free(files);
	lines_free(&l);
	sg_test_tmp_clean(&t);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "verify: intact log, EC checkpoints, serial", test_verify_intact },
		{ "seal: signed checkpoint, unsealed tail's age, none, empty", test_seal_judge },
		{ "verify: RSA checkpoints; key of the wrong kind", test_verify_rsa_checkpoints },
		{ "verify: another key, another serial", test_verify_wrong_key_or_serial },
		{ "tamper: edited field", test_tamper_edit_field },
		{ "tamper: edited seq", test_tamper_edit_seq },
		{ "tamper: deleted line", test_tamper_delete_line },
		{ "tamper: deleted first line", test_tamper_delete_first_line },
		{ "tamper: swapped lines", test_tamper_swap_lines },
		{ "tamper: duplicated line", test_tamper_duplicate_line },
		{ "tamper: truncated tail", test_tamper_truncate },
		{ "tamper: appended forged line", test_tamper_append_forged },
		{ "tamper: chain rewritten without the key", test_tamper_rewrite_chain },
		{ "tamper: malformed checkpoint", test_tamper_checkpoint_form },
		{ "tamper: lines that are not entries", test_tamper_not_entry },
		{ "files: rotated log intact", test_files_intact },
		{ "files: middle file missing", test_files_missing_middle },
		{ "files: first file missing", test_files_missing_first },
		{ "files: renumbered after a removal", test_files_gap },
		{ "files: first line of a file deleted", test_files_first_line_deleted },
		{ "files: torn line in an older file", test_files_torn_in_middle_file },
		{ "files: explicit list", test_files_explicit_list },
		{ "files: directory listing, torn side files", test_files_dir_listing },
		{ "reader: bounded lines, torn end, chunks, snapshot", test_reader },
		{ "query: filters", test_query_filters },
		{ "query: time window", test_query_time_window },
		{ "query: paging", test_query_paging },
		{ "counts: grouped and sorted", test_counts },
		{ "counts: month edges", test_counts_month_edges },
		{ "parse RFC 3339 times", test_parse_time },
		{ "parse months", test_parse_month },
		{ "verify result as JSON", test_verify_json },
		{ NULL, NULL }
	};
	int rc;

	sg_log_init("test_audit_read", SG_LOG_ERROR);
	ec_key = make_key("EC");
	ec_key_other = make_key("EC");
	rsa_key = make_key("RSA");
	if (ec_key == NULL || ec_key_other == NULL || rsa_key == NULL) {
		fprintf(stderr, "cannot make test keys\n");
		return 1;
	}
	rc = sg_test_run("audit_read", cases);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_key_other);
	EVP_PKEY_free(rsa_key);
	return rc;
}
