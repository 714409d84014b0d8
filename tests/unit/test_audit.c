/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the audit appender: each line is checked by the documented
 * rule with code independent of sg_audit.c (string ops, EVP, cJSON), plus
 * group commit, rotation, torn-tail recovery, fail-closed and locking. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "sg_audit.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_test.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static const char *const fixed_order[] = {
	"seq", "time", "type", "request_id", "client", "identity", "key_id",
	"cert_serial", "digest", "authority", "authority_ref", "outcome", "error"
};
#define N_FIXED (sizeof(fixed_order) / sizeof(fixed_order[0]))

/* Scratch directories (sg_test_tmp) hold the audit dir "log", which open
 * creates; path_in names a file in it. */
static char *
path_in(const struct sg_test_tmp *t, const char *name)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s/%s", t->dir, name);

	return n < 0 || (size_t)n >= sizeof(buf) ? NULL : strdup(buf);
}

static int
append_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, p, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/*
 * The documented rule, applied literally: drop ,"hash":"<64 hex>" before
 * the final "}", SHA-256 the rest. Returns 0 and the recomputed hash, or -1
 * when the line does not end the documented way.
 */
static int
recompute_hash(const char *line, size_t len, char out[65])
{
	static const char tag[] = ",\"hash\":\"";
	size_t taglen = strlen(tag), cut, i;
	char *canon;

	if (len < taglen + 64 + 2 + 1)
		return -1;
	cut = len - (taglen + 64 + 2);
	if (memcmp(line + cut, tag, taglen) != 0 || strncmp(line + len - 2, "\"}", 2) != 0)
		return -1;
	for (i = cut + taglen; i < len - 2; i++) {
		if (strchr("0123456789abcdef", line[i]) == NULL || line[i] == '\0')
			return -1;
	}
	if ((canon = malloc(cut + 1)) == NULL)
		return -1;
	memcpy(canon, line, cut);
	canon[cut] = '}';
	sg_test_sha256_hex(canon, cut + 1, out);
	free(canon);
	return 0;
}

struct log_check {
	uint64_t lines;
	unsigned int files;
	int bad;		/* lines that failed a check */
	char head[65];		/* hash of the last line */
	char last_line[SG_AUDIT_LINE_MAX];	/* copy of the last line */
};

static int
is_log_name(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return len == 18 && strncmp(de->d_name, "audit-", 6) == 0 &&
	    strcmp(de->d_name + 12, ".jsonl") == 0;
}

static int
check_one(const char *line, size_t len, struct log_check *lc)
{
	char want[65], *copy, *again = NULL;
	cJSON *obj = NULL, *m;
	size_t i;
	int ok = 0;

	if (recompute_hash(line, len, want) != 0 || (copy = strndup(line, len)) == NULL)
		return -1;
	if ((obj = cJSON_Parse(copy)) == NULL)
		goto out;
	/* Fixed members first, in order; prev and hash last. */
	for (i = 0, m = obj->child; i < N_FIXED; i++, m = m->next) {
		if (m == NULL || strcmp(m->string, fixed_order[i]) != 0)
			goto out;
	}
	while (m != NULL && m->next != NULL && m->next->next != NULL)
		m = m->next;	/* skip extras */
	if (m == NULL || strcmp(m->string, "prev") != 0 || m->next == NULL ||
	    strcmp(m->next->string, "hash") != 0)
		goto out;
	if (!cJSON_IsString(m) || strcmp(m->valuestring, lc->lines == 0 &&
	    lc->head[0] == '\0' ? ZERO_HASH : lc->head) != 0)
		goto out;
	if (!cJSON_IsString(m->next) || strcmp(m->next->valuestring, want) != 0)
		goto out;
	m = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	if (!cJSON_IsNumber(m) || (uint64_t)m->valuedouble != lc->lines + 1)
		goto out;
	m = cJSON_GetObjectItemCaseSensitive(obj, "time");
	if (!cJSON_IsString(m) || strlen(m->valuestring) != 24 || m->valuestring[10] != 'T' ||
	    m->valuestring[19] != '.' || m->valuestring[23] != 'Z')
		goto out;
	m = cJSON_GetObjectItemCaseSensitive(obj, "outcome");
	if (!cJSON_IsString(m) || (strcmp(m->valuestring, "ok") != 0 &&
	    strcmp(m->valuestring, "error") != 0))
		goto out;
	/* Compact and canonically escaped: cJSON prints the same bytes back. */
	if ((again = cJSON_PrintUnformatted(obj)) == NULL || strcmp(again, copy) != 0)
		goto out;
	ok = 1;
 out:
	cJSON_free(again);
	cJSON_Delete(obj);
	free(copy);
	if (!ok)
		return -1;
	lc->lines++;
	memcpy(lc->head, want, sizeof(want));
	return 0;
}

/* Walk every audit-*.jsonl of dir in order, checking each line. */
static void
check_log(const char *dir, struct log_check *lc)
{
	struct dirent **names = NULL;
	char path[512];
	size_t len, start, i;
	char *data;
	int n, k;

	memset(lc, 0, sizeof(*lc));
	n = scandir(dir, &names, is_log_name, alphasort);
	if (n < 0) {
		lc->bad++;
		return;
	}
	for (k = 0; k < n; k++) {
		lc->files++;
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[k]->d_name) >=
		    (int)sizeof(path) || (data = sg_test_read_file(path, &len)) == NULL) {
			lc->bad++;
			continue;
		}
		if (len > 0 && data[len - 1] != '\n')
			lc->bad++;
		for (start = 0, i = 0; i < len; i++) {
			if (data[i] != '\n')
				continue;
			if (check_one(data + start, i - start, lc) != 0) {
				fprintf(stderr, "bad line in %s: %.*s\n", path,
				    (int)(i - start), data + start);
				lc->bad++;
			} else if (i - start >= sizeof(lc->last_line))
				lc->bad++;
			else {
				memcpy(lc->last_line, data + start, i - start);
				lc->last_line[i - start] = '\0';
			}
			start = i + 1;
		}
		free(data);
	}
	for (k = 0; k < n; k++)
		free(names[k]);
	free(names);
}

/* The log in dir checks out line by line by the documented rule and holds
 * n lines (check_log into lc, which the caller may look at further). */
#define EXPECT_GOOD_LOG(dir, lc, n) do { \
	check_log((dir), &(lc)); \
	CU_ASSERT_EQUAL((lc).bad, 0); \
	CU_ASSERT_EQUAL((lc).lines, (n)); \
} while (0)

static struct sg_audit_entry
sample_entry(const char *request_id)
{
	struct sg_audit_entry e;

	memset(&e, 0, sizeof(e));
	e.type = "stamp";
	e.request_id = request_id;
	e.client = "billing";
	e.identity = "dvv-interface";
	e.key_id = "a1b2c3";
	e.digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	e.authority = "dvv-stamp";
	e.outcome = "ok";
	return e;
}

static void
test_append_and_verify(void)
{
	static const char *const keys[] = { "detail", "signature" };
	static const char *const values[] = { "first checkpoint", NULL };
	struct sg_audit *a = NULL;
	struct sg_audit_entry e;
	struct log_check lc;
	struct sg_audit_stats st;
	struct sg_test_tmp t;
	char head[65], want[65];
	uint64_t seq = 0;
	int i;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_PTR_NULL(sg_audit_recovered(a));
	CU_ASSERT_EQUAL(sg_audit_healthy(a), 0);
	for (i = 1; i <= 5; i++) {
		e = sample_entry(i == 2 ? NULL : "req-1");
		if (i == 3) {
			e.type = "checkpoint";
			e.extra_keys = keys;
			e.extra_values = values;
			e.n_extra = 2;
		}
		if (i == 4) {
			e.outcome = "error";
			e.error = "authority_timeout";
		}
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), 0);
		CU_ASSERT_EQUAL(seq, (uint64_t)i);
		EXPECT_GOOD_LOG(t.dir, lc, (uint64_t)i);
		/* The returned head is this entry's hash, recomputed from disk. */
		CU_ASSERT_STRING_EQUAL(head, lc.head);
		CU_ASSERT_EQUAL(recompute_hash(lc.last_line, strlen(lc.last_line), want), 0);
		CU_ASSERT_STRING_EQUAL(want, head);
		if (i == 1)
			CU_ASSERT_PTR_NOT_NULL(strstr(lc.last_line, "\"prev\":\"" ZERO_HASH "\""));
		if (i == 2)
			CU_ASSERT_PTR_NOT_NULL(strstr(lc.last_line,
			    ",\"type\":\"stamp\",\"request_id\":null,\"client\":\"billing\","));
		if (i == 3)
			CU_ASSERT_PTR_NOT_NULL(strstr(lc.last_line,
			    ",\"outcome\":\"ok\",\"error\":null,\"detail\":\"first checkpoint\","
			    "\"signature\":null,\"prev\":\""));
		if (i == 4)
			CU_ASSERT_PTR_NOT_NULL(strstr(lc.last_line,
			    "\"outcome\":\"error\",\"error\":\"authority_timeout\",\"prev\""));
	}
	CU_ASSERT_EQUAL(lc.files, 1);
	CU_ASSERT_EQUAL(strncmp(lc.last_line, "{\"seq\":5,\"time\":\"", 17), 0);
	sg_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.entries, 5);
	CU_ASSERT_EQUAL(st.syncs, 5);
	CU_ASSERT_EQUAL(st.failures, 0);
	sg_audit_close(a);
	sg_audit_close(NULL);
	sg_test_tmp_clean(&t);
}

/* A seal callback that "signs" by returning base64 of the prev it is
 * given, so the test can see it got exactly the line's prev. */
static int seal_calls;

static int
fake_seal(void *arg, const char prev_hex[65], char **sig_b64p)
{
	const char *mode = arg;
	unsigned char raw[32];
	char *b64 = NULL;
	int i;

	seal_calls++;
	if (strcmp(mode, "fail") == 0)
		return -1;
	for (i = 0; i < 32; i++) {
		unsigned int v;

		if (sscanf(prev_hex + 2 * i, "%2x", &v) != 1)
			return -1;
		raw[i] = (unsigned char)v;
	}
	if (sg_b64_encode(raw, sizeof(raw), SG_B64_STD, &b64) != 0)
		return -1;
	*sig_b64p = b64;
	return 0;
}

static void
test_seal(void)
{
	static const char *const keys[] = { "detail" };
	static const char *const values[] = { "cp" };
	struct sg_audit *a = NULL;
	struct sg_audit_entry e;
	struct log_check lc;
	struct sg_test_tmp t;
	char head[65], prev_seen[65], *b64 = NULL, want[128];
	unsigned char raw[32];
	uint64_t seq = 0;
	int i;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	e = sample_entry("r1");
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), 0);
	memcpy(prev_seen, head, sizeof(head));
	e = sample_entry("r2");
	e.type = "checkpoint";
	e.extra_keys = keys;
	e.extra_values = values;
	e.n_extra = 1;
	e.seal = fake_seal;
	e.seal_arg = (void *)"ok";
	e.seal_alg = "ecdsa-sha256";
	seal_calls = 0;
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), 0);
	CU_ASSERT_EQUAL(seal_calls, 1);
	check_log(t.dir, &lc);
	CU_ASSERT_EQUAL(lc.bad, 0);
	for (i = 0; i < 32; i++) {
		unsigned int v;

		CU_ASSERT_EQUAL(sscanf(prev_seen + 2 * i, "%2x", &v), 1);
		raw[i] = (unsigned char)v;
	}
	CU_ASSERT_EQUAL_FATAL(sg_b64_encode(raw, sizeof(raw), SG_B64_STD, &b64), 0);
	snprintf(want, sizeof(want), "\"detail\":\"cp\",\"alg\":\"ecdsa-sha256\",\"signature\":\"%s\",\"prev\":\"%s\"",
	    b64, prev_seen);
	CU_ASSERT_PTR_NOT_NULL(strstr(lc.last_line, want));
	free(b64);
	/* A failing seal drops that entry only; the chain goes on. */
	e.seal_arg = (void *)"fail";
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), SG_ERR_CRYPTO);
	e = sample_entry("r3");
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), 0);
	CU_ASSERT_EQUAL(seq, 3);
	EXPECT_GOOD_LOG(t.dir, lc, 3);
	/* A sealed entry may not carry its own alg or signature extras. */
	e = sample_entry("r4");
	e.seal = fake_seal;
	e.seal_arg = (void *)"ok";
	e.seal_alg = "ecdsa-sha256";
	{
		static const char *const bad_keys[] = { "signature" };

		e.extra_keys = bad_keys;
		e.extra_values = values;
		e.n_extra = 1;
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), SG_ERR_INVALID_ARG);
	}
	e.n_extra = 0;
	e.seal_alg = "Bad Alg";
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), SG_ERR_INVALID_ARG);
	sg_audit_close(a);
	sg_test_tmp_clean(&t);
}

/* A tampered line fails the independent check: the checker can fail. */
static void
test_checker_detects_tampering(void)
{
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-t");
	struct log_check lc;
	struct sg_test_tmp t;
	char *path, *data, *p;
	size_t len;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	sg_audit_close(a);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	data = sg_test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_PTR_NOT_NULL_FATAL((p = strstr(data, "billing")));
	p[0] = 'B';	/* first line: its hash no longer matches */
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
	/* Line 1 no longer matches its hash; line 2's prev no longer matches
	 * the recomputed hash of line 1. */
	check_log(t.dir, &lc);
	CU_ASSERT_EQUAL(lc.bad, 2);
	free(data);
	free(path);
	sg_test_tmp_clean(&t);
}

static void
test_reopen_continues(void)
{
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-r");
	struct log_check lc;
	struct sg_test_tmp t;
	char head[65], head2[65];
	uint64_t seq = 0;
	int round, i;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	for (round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
		CU_ASSERT_PTR_NULL(sg_audit_recovered(a));
		for (i = 0; i < 3; i++)
			CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head), 0);
		CU_ASSERT_EQUAL(seq, (uint64_t)(round * 3 + 3));
		sg_audit_close(a);
	}
	/* The one-shot path continues the same chain. */
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, &seq), 0);
	CU_ASSERT_EQUAL(seq, 10);
	EXPECT_GOOD_LOG(t.dir, lc, 10);
	CU_ASSERT_EQUAL(lc.files, 1);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, head2), 0);
	CU_ASSERT_EQUAL(seq, 11);
	sg_audit_close(a);
	check_log(t.dir, &lc);
	CU_ASSERT_EQUAL(lc.bad, 0);
	CU_ASSERT_STRING_EQUAL(lc.head, head2);
	sg_test_tmp_clean(&t);
}

#define N_THREADS 8
#define N_PER_THREAD 200

struct worker {
	struct sg_audit *a;
	int id;
	int failures;
	uint64_t seqs[N_PER_THREAD];
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct sg_audit_entry e;
	char rid[32];
	int i, n;

	for (i = 0; i < N_PER_THREAD; i++) {
		n = snprintf(rid, sizeof(rid), "t%d-%d", w->id, i);
		if (n < 0 || (size_t)n >= sizeof(rid)) {
			w->failures++;
			continue;
		}
		e = sample_entry(rid);
		e.type = i % 2 ? "sign" : "stamp";
		if (sg_audit_append(w->a, &e, &w->seqs[i], NULL) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_threads_group_commit(void)
{
	static struct worker workers[N_THREADS];
	static unsigned char seen[N_THREADS * N_PER_THREAD + 1];
	pthread_t tids[N_THREADS];
	struct sg_audit *a = NULL;
	struct sg_audit_stats st;
	struct log_check lc;
	struct sg_test_tmp t;
	int i, j, failures = 0, dup = 0, started = 0;

	memset(seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	for (i = 0; i < N_THREADS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].a = a;
		workers[i].id = i;
		if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) == 0)
			started++;
	}
	CU_ASSERT_EQUAL_FATAL(started, N_THREADS);
	for (i = 0; i < N_THREADS; i++) {
		pthread_join(tids[i], NULL);
		failures += workers[i].failures;
		for (j = 0; j < N_PER_THREAD; j++) {
			uint64_t s = workers[i].seqs[j];

			if (s < 1 || s > N_THREADS * N_PER_THREAD || seen[s])
				dup++;
			else
				seen[s] = 1;
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(dup, 0);	/* 1600 distinct seqs in 1..1600: contiguous */
	sg_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.entries, N_THREADS * N_PER_THREAD);
	CU_ASSERT(st.syncs > 0);
	CU_ASSERT(st.syncs < st.entries);
	printf("\n    group commit: %" PRIu64 " entries, %" PRIu64 " syncs (%.2f entries/sync), "
	    "last sync %.3f ms ", st.entries, st.syncs,
	    st.syncs ? (double)st.entries / (double)st.syncs : 0.0,
	    (double)st.last_sync_ns / 1e6);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, N_THREADS * N_PER_THREAD);
	sg_test_tmp_clean(&t);
}

/* Group commit with announcements: entries announced before they are
 * appended share one fdatasync, however their threads are scheduled. */
#define N_ANNOUNCED 6

struct announced {
	struct sg_audit *a;
	int id;
	int r;
};

static void *
announced_main(void *arg)
{
	struct announced *w = arg;
	struct sg_audit_entry e;
	char rid[32];

	(void)snprintf(rid, sizeof(rid), "announced-%d", w->id);
	e = sample_entry(rid);
	e.expected = 1;
	w->r = sg_audit_append(w->a, &e, NULL, NULL);
	return NULL;
}

/* Start n appenders of announced entries and wait for them; 0 when every
 * one of them was made durable. */
static int
run_announced(struct sg_audit *a, int n)
{
	struct announced w[N_ANNOUNCED];
	pthread_t tids[N_ANNOUNCED];
	int i, started = 0, failures = 0;

	for (i = 0; i < n; i++) {
		w[i].a = a;
		w[i].id = i;
		w[i].r = -1;
		if (pthread_create(&tids[i], NULL, announced_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		failures += w[i].r != 0;
	}
	return started == n && failures == 0 ? 0 : -1;
}

#define EXPECT_COUNTS(a, st, n_entries, n_syncs, n_announced) do { \
	sg_audit_stats((a), &(st)); \
	CU_ASSERT_EQUAL((st).entries, (n_entries)); \
	CU_ASSERT_EQUAL((st).syncs, (n_syncs)); \
	CU_ASSERT_EQUAL((st).announced, (n_announced)); \
} while (0)

static void
test_announced_group_commit(void)
{
	struct sg_audit_options opts = { .group_commit_us = 100000 };	/* 100 ms: audit.group_commit_us's most */
	struct sg_audit *a = NULL;
	struct sg_audit_stats st;
	struct sg_audit_entry e;
	struct log_check lc;
	struct sg_test_tmp t;
	int i;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, &opts, &a), 0);

	/* Six announced, six appended from their own threads: one sync. */
	for (i = 0; i < N_ANNOUNCED; i++)
		sg_audit_expect(a);
	EXPECT_COUNTS(a, st, 0, 0, N_ANNOUNCED);
	CU_ASSERT_EQUAL(run_announced(a, N_ANNOUNCED), 0);
	EXPECT_COUNTS(a, st, N_ANNOUNCED, 1, 0);

	/* Four announced, one cancelled, one ended by an append that is
	 * refused (malformed): the other two still share one sync and
	 * nothing stays announced. */
	for (i = 0; i < 4; i++)
		sg_audit_expect(a);
	sg_audit_expect_cancel(a);
	e = sample_entry("refused");
	e.outcome = "maybe";
	e.expected = 1;
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), SG_ERR_INVALID_ARG);
	EXPECT_COUNTS(a, st, N_ANNOUNCED, 1, 2);
	CU_ASSERT_EQUAL(run_announced(a, 2), 0);
	EXPECT_COUNTS(a, st, N_ANNOUNCED + 2, 2, 0);

	/* Nothing announced: an entry is synced alone, at once. A cancel
	 * with nothing announced changes nothing. */
	sg_audit_expect_cancel(a);
	e = sample_entry("alone");
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	EXPECT_COUNTS(a, st, N_ANNOUNCED + 3, 3, 0);

	/* An announcement never ended holds a batch for the group commit's
	 * time at most: the entry is still made durable. */
	sg_audit_expect(a);
	e = sample_entry("late");
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	EXPECT_COUNTS(a, st, N_ANNOUNCED + 4, 4, 1);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, N_ANNOUNCED + 4);

	/* Without a group commit an announcement is not even counted. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	sg_audit_expect(a);
	sg_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.announced, 0);
	e = sample_entry("off");
	e.expected = 1;
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, N_ANNOUNCED + 5);
	sg_test_tmp_clean(&t);
}

static void
test_rotation(void)
{
	struct sg_audit_options opts = { .rotate_bytes = 1200 };
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-rot");
	struct log_check lc;
	struct sg_test_tmp t;
	struct stat sb;
	char *path;
	uint64_t seq = 0;
	mode_t um = umask(022);
	int i;

	umask(um);

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, &opts, &a), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	sg_audit_close(a);
	/* Reopen picks the newest file; the one-shot path rotates too. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, &opts, &a), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	sg_audit_close(a);
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, &opts, &e, &seq), 0);
	CU_ASSERT_EQUAL(seq, 14);
	EXPECT_GOOD_LOG(t.dir, lc, 14);
	CU_ASSERT(lc.files >= 4);
	/* No file grows past rotate_bytes (every line is far smaller). */
	for (i = 1; i <= (int)lc.files; i++) {
		char name[32];

		CU_ASSERT(snprintf(name, sizeof(name), "audit-%06d.jsonl", i) < (int)sizeof(name));
		path = path_in(&t, name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_EQUAL(stat(path, &sb), 0);
		CU_ASSERT(sb.st_size > 0 && sb.st_size <= 1200);
		CU_ASSERT_EQUAL(sb.st_mode & 0777, 0640 & ~um);
		free(path);
	}
	sg_test_tmp_clean(&t);
}

/* A crash right after rotation leaves an empty newest file: the chain
 * continues from the file before it. */
static void
test_empty_newest_file(void)
{
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-e");
	struct log_check lc;
	struct sg_test_tmp t;
	char *path;
	uint64_t seq = 0;
	int fd;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, &seq), 0);
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, &seq), 0);
	path = path_in(&t, "audit-000002.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 3);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 3);
	CU_ASSERT_EQUAL(lc.files, 2);
	free(path);
	/* A gap in the numbering leaves the head unknown: refuse. */
	path = path_in(&t, "audit-000004.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(sg_audit_open(t.dir, NULL, &a), SG_ERR_AUDIT);
	CU_ASSERT_PTR_NULL(a);
	free(path);
	sg_test_tmp_clean(&t);
}

static void
test_torn_tail(void)
{
	static const char torn[] = "{\"seq\":4,\"time\":\"2026-11-20T21:40:03.1";
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-torn");
	struct log_check lc;
	struct sg_test_tmp t;
	const char *rec;
	char *path, *data, prefix[64];
	size_t len, before;
	uint64_t seq = 0;
	int i, n;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	sg_audit_close(a);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	free(sg_test_read_file(path, &before));
	CU_ASSERT_EQUAL_FATAL(append_bytes(path, torn, sizeof(torn) - 1), 0);

	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	rec = sg_audit_recovered(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	n = snprintf(prefix, sizeof(prefix), "audit-000001.jsonl.torn-4-");
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(prefix));
	CU_ASSERT_EQUAL(strncmp(rec, prefix, (size_t)n), 0);
	CU_ASSERT(strlen(rec) > (size_t)n && strspn(rec + n, "0123456789") == strlen(rec + n));
	/* The torn bytes, exactly, in the side file; the log cut back. */
	free(path);
	path = path_in(&t, rec);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	data = sg_test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL(len, sizeof(torn) - 1);
	CU_ASSERT(memcmp(data, torn, sizeof(torn) - 1) == 0);
	free(data);
	free(path);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	free(sg_test_read_file(path, &len));
	CU_ASSERT_EQUAL(len, before);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 4);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 4);

	/* A torn line alone in a fresh log, recovered by the one-shot path. */
	free(path);
	sg_test_tmp_clean(&t);
	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(t.dir, 0750), 0);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);

		CU_ASSERT(fd >= 0 && write(fd, "{\"seq\":1,", 9) == 9);
		close(fd);
	}
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	EXPECT_GOOD_LOG(t.dir, lc, 1);
	free(path);
	sg_test_tmp_clean(&t);
}

/* Another writer died mid-line while we were open: the next batch sees
 * the size change, sets the torn bytes aside and chains past them. */
static void
test_torn_tail_while_open(void)
{
	static const char torn[] = "{\"seq\":3,\"ti";
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-tw");
	struct log_check lc;
	struct dirent **names = NULL;
	struct sg_test_tmp t;
	char *path, *data;
	size_t len;
	uint64_t seq = 0;
	int n, k;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL_FATAL(append_bytes(path, torn, sizeof(torn) - 1), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 3);
	CU_ASSERT_PTR_NULL(sg_audit_recovered(a));	/* only set at open */
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 3);
	n = scandir(t.dir, &names, NULL, alphasort);
	CU_ASSERT_FATAL(n > 0);
	for (k = 0; k < n; k++) {
		if (strncmp(names[k]->d_name, "audit-000001.jsonl.torn-3-", 26) == 0) {
			free(path);
			path = path_in(&t, names[k]->d_name);
			CU_ASSERT_PTR_NOT_NULL_FATAL(path);
			data = sg_test_read_file(path, &len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(data);
			CU_ASSERT(len == sizeof(torn) - 1 && memcmp(data, torn, len) == 0);
			free(data);
			seq = 0;	/* found */
		}
		free(names[k]);
	}
	free(names);
	CU_ASSERT_EQUAL(seq, 0);
	free(path);
	sg_test_tmp_clean(&t);
}

static void
test_corrupt_last_line(void)
{
	static const char *const bad_tails[] = {
		"not json at all\n",
		"{\"seq\":4}\n",
		"\n",
	};
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-c");
	struct sg_test_tmp t;
	char *path, *data, *p;
	size_t len, i;
	uint64_t seq = 0;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	sg_audit_close(a);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	data = sg_test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	/* Change one byte of the last line's content, keep its hash. */
	p = strstr(strchr(data, '\n'), "dvv-interface");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[0] = 'D';
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
	CU_ASSERT_EQUAL(sg_audit_open(t.dir, NULL, &a), SG_ERR_AUDIT);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, &seq), SG_ERR_AUDIT);
	/* Nothing was written or set aside by the refusals. */
	free(sg_test_read_file(path, &i));
	CU_ASSERT_EQUAL(i, len);
	/* Other malformed last lines are refused as well. */
	for (i = 0; i < sizeof(bad_tails) / sizeof(bad_tails[0]); i++) {
		p[0] = 'd';	/* the real entries are fine again */
		f = fopen(path, "wb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
		CU_ASSERT_EQUAL(fwrite(bad_tails[i], 1, strlen(bad_tails[i]), f),
		    strlen(bad_tails[i]));
		fclose(f);
		CU_ASSERT_EQUAL(sg_audit_open(t.dir, NULL, &a), SG_ERR_AUDIT);
		CU_ASSERT_PTR_NULL(a);
	}
	free(data);
	free(path);
	sg_test_tmp_clean(&t);
}

static void
test_unusable_dir(void)
{
	struct sg_audit *a = (struct sg_audit *)1;
	struct sg_audit_entry e = sample_entry("req-u");
	struct sg_test_tmp t;
	char *probe;
	int fd;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	/* A regular file where the directory should be: fails even as root. */
	fd = open(t.dir, O_WRONLY | O_CREAT | O_EXCL, 0640);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(sg_audit_open(t.dir, NULL, &a), SG_ERR_AUDIT);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, NULL), SG_ERR_AUDIT);
	unlink(t.dir);
	/* Parent missing: no recursive creation. */
	CU_ASSERT_EQUAL(sg_audit_open("/nonexistent-sg/audit", NULL, &a), SG_ERR_AUDIT);
	CU_ASSERT_EQUAL(sg_audit_open(NULL, NULL, &a), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sg_audit_open("", NULL, &a), SG_ERR_INVALID_ARG);

	/* Unwritable directory: only meaningful where chmod binds. */
	CU_ASSERT_EQUAL_FATAL(mkdir(t.dir, 0500), 0);
	probe = path_in(&t, "probe");
	CU_ASSERT_PTR_NOT_NULL_FATAL(probe);
	if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0) {
		close(fd);
		unlink(probe);
		printf("\n    (running as root: unwritable-dir case skipped) ");
	} else {
		CU_ASSERT_EQUAL(sg_audit_open(t.dir, NULL, &a), SG_ERR_AUDIT);
		CU_ASSERT_PTR_NULL(a);
	}
	free(probe);
	sg_test_tmp_clean(&t);
}

static void
test_escaping(void)
{
	static const struct {
		const char *in, *parsed;
	} cases[] = {
		{ "quote \" and backslash \\", NULL },
		{ "line1\nline2\r\ttab", NULL },
		{ "ctl \x01\x1f del \x7f", NULL },
		{ "Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x94\x8f \xe2\x80\xa8", NULL },
		{ "</script>{\"hash\":\"x\"}", NULL },
		/* Ill-formed UTF-8 becomes U+FFFD, one per bad byte. */
		{ "bad \xff end", "bad \xef\xbf\xbd end" },
		{ "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd" },
	};
	static const char *const keys[] = { "detail" };
	struct sg_audit *a = NULL;
	struct sg_audit_entry e;
	struct log_check lc;
	struct sg_test_tmp t;
	const char *values[1];
	char *path, *data, *line, *nl, *copy;
	cJSON *obj;
	size_t i, len;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = sample_entry(cases[i].in);
		e.client = cases[i].in;
		values[0] = cases[i].in;
		e.extra_keys = keys;
		e.extra_values = values;
		e.n_extra = 1;
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	}
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, sizeof(cases) / sizeof(cases[0]));
	/* Each entry is one line and reads back as the (cleaned) input. */
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	data = sg_test_read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (i = 0, line = data; i < sizeof(cases) / sizeof(cases[0]); i++, line = nl + 1) {
		const char *want = cases[i].parsed != NULL ? cases[i].parsed : cases[i].in;

		nl = strchr(line, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		copy = strndup(line, (size_t)(nl - line));
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		obj = cJSON_Parse(copy);
		CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
		CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(obj, "client")->valuestring, want);
		CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(obj, "request_id")->valuestring, want);
		CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(obj, "detail")->valuestring, want);
		cJSON_Delete(obj);
		free(copy);
	}
	CU_ASSERT_EQUAL((size_t)(line - data), len);
	free(data);
	free(path);
	sg_test_tmp_clean(&t);
}

static void
test_bad_entries(void)
{
	static const char *const key_hash[] = { "hash" };
	static const char *const key_upper[] = { "Detail" };
	static const char *const key_dup[] = { "detail", "detail" };
	static const char *const key_null[] = { NULL };
	static const char *const vals[] = { "v", "v" };
	static const char *const many[SG_AUDIT_EXTRA_MAX + 1] = {
		"a", "b", "c", "d", "e", "f", "g", "h", "i"
	};
	struct sg_audit *a = NULL;
	struct sg_audit_entry e;
	struct log_check lc;
	struct sg_test_tmp t;
	char *big;
	uint64_t seq = 0;
	size_t i;
	struct {
		const char *type, *outcome;
		const char *const *keys, *const *vals;
		size_t n;
		int expect;
	} cases[] = {
		{ NULL, "ok", NULL, NULL, 0, SG_ERR_INVALID_ARG },
		{ "stomp", "ok", NULL, NULL, 0, SG_ERR_INVALID_ARG },
		{ "", "ok", NULL, NULL, 0, SG_ERR_INVALID_ARG },
		{ "sign", NULL, NULL, NULL, 0, SG_ERR_INVALID_ARG },
		{ "sign", "maybe", NULL, NULL, 0, SG_ERR_INVALID_ARG },
		{ "sign", "ok", key_hash, vals, 1, SG_ERR_INVALID_ARG },
		{ "sign", "ok", key_upper, vals, 1, SG_ERR_INVALID_ARG },
		{ "sign", "ok", key_dup, vals, 2, SG_ERR_INVALID_ARG },
		{ "sign", "ok", key_null, vals, 1, SG_ERR_INVALID_ARG },
		{ "sign", "ok", NULL, vals, 1, SG_ERR_INVALID_ARG },
		{ "sign", "ok", many, many, SG_AUDIT_EXTRA_MAX + 1, SG_ERR_INVALID_ARG },
		{ "sign", "ok", many, many, SG_AUDIT_EXTRA_MAX, 0 },
	};

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = sample_entry("req-b");
		e.type = cases[i].type;
		e.outcome = cases[i].outcome;
		e.extra_keys = cases[i].keys;
		e.extra_values = cases[i].vals;
		e.n_extra = cases[i].n;
		CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), cases[i].expect);
		CU_ASSERT_EQUAL(sg_audit_append_once(t.dir, NULL, &e, NULL), cases[i].expect);
	}
	/* Too long for one line, even though each string is acceptable alone. */
	big = malloc(SG_AUDIT_LINE_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', SG_AUDIT_LINE_MAX - 1);
	big[SG_AUDIT_LINE_MAX - 1] = '\0';
	e = sample_entry("req-big");
	e.error = big;
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), SG_ERR_TOO_LARGE);
	big[SG_AUDIT_LINE_MAX - 1000] = '\0';
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 3);	/* refusals consumed no seq */
	CU_ASSERT_EQUAL(sg_audit_append(a, NULL, NULL, NULL), SG_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sg_audit_healthy(a), 0);
	sg_audit_close(a);
	/* The long line is still found as the tail on reopen. */
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 4);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 4);
	free(big);
	sg_test_tmp_clean(&t);
}

/* Disk failure without test hooks: RLIMIT_FSIZE makes write(2) fail with
 * EFBIG part-way through a line, as a full disk would. */
static void
test_fail_closed(void)
{
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-f");
	struct sg_audit_stats st;
	struct log_check lc;
	struct rlimit old, lim;
	struct sg_test_tmp t;
	char *path;
	size_t good, now;
	uint64_t seq = 0;
	int r;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, NULL, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	path = path_in(&t, "audit-000001.jsonl");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	free(sg_test_read_file(path, &good));
	CU_ASSERT_FATAL(good > 0);

	signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = good + 50;	/* half a line fits, then EFBIG */
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = sg_audit_append(a, &e, &seq, NULL);
	CU_ASSERT_EQUAL(r, SG_ERR_AUDIT);
	CU_ASSERT_EQUAL(sg_audit_healthy(a), SG_ERR_AUDIT);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), SG_ERR_AUDIT);
	/* No torn or unsynced line is left behind. */
	free(sg_test_read_file(path, &now));
	CU_ASSERT_EQUAL(now, good);
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	/* The disk is back: the next append retries and the chain goes on. */
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 3);
	CU_ASSERT_EQUAL(sg_audit_healthy(a), 0);
	sg_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.failures, 2);
	CU_ASSERT_EQUAL(st.entries, 3);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 3);
	free(path);
	sg_test_tmp_clean(&t);
}

#define CHILD_APPENDS 60
#define PARENT_THREADS 4
#define PARENT_APPENDS 60

struct parent_worker {
	struct sg_audit *a;
	int failures;
};

static void *
parent_main(void *arg)
{
	struct parent_worker *w = arg;
	struct sg_audit_entry e = sample_entry("req-parent");
	int i;

	for (i = 0; i < PARENT_APPENDS; i++) {
		if (sg_audit_append(w->a, &e, NULL, NULL) != 0)
			w->failures++;
	}
	return NULL;
}

/* The officer tool, as another process, appends while the daemon runs. */
static void
test_cross_process(void)
{
	struct sg_audit_options opts = { .rotate_bytes = 20000 };
	struct parent_worker workers[PARENT_THREADS];
	pthread_t tids[PARENT_THREADS];
	struct sg_audit *a = NULL;
	struct sg_audit_entry e = sample_entry("req-first");
	struct log_check lc;
	struct sg_test_tmp t;
	pid_t pid;
	int i, status = -1, failures = 0;

	CU_ASSERT_EQUAL_FATAL(sg_test_tmp_make(&t, "sg-audit", "log"), 0);
	CU_ASSERT_EQUAL_FATAL(sg_audit_open(t.dir, &opts, &a), 0);
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct sg_audit_entry ce = sample_entry("req-officer");
		int bad = 0;

		ce.type = "keygen";
		for (i = 0; i < CHILD_APPENDS; i++)
			bad |= sg_audit_append_once(t.dir, &opts, &ce, NULL) != 0;
		_exit(bad);
	}
	CU_ASSERT_FATAL(pid > 0);
	for (i = 0; i < PARENT_THREADS; i++) {
		workers[i].a = a;
		workers[i].failures = 0;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tids[i], NULL, parent_main, &workers[i]), 0);
	}
	for (i = 0; i < PARENT_THREADS; i++) {
		pthread_join(tids[i], NULL);
		failures += workers[i].failures;
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(failures, 0);
	/* One more from the daemon after the officer's last entry. */
	CU_ASSERT_EQUAL(sg_audit_append(a, &e, NULL, NULL), 0);
	sg_audit_close(a);
	EXPECT_GOOD_LOG(t.dir, lc, 2 + CHILD_APPENDS + PARENT_THREADS * PARENT_APPENDS);
	CU_ASSERT(lc.files > 1);
	sg_test_tmp_clean(&t);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "append, hashes by the documented rule, prev, seq", test_append_and_verify },
		{ "the line checker detects tampering", test_checker_detects_tampering },
		{ "reopen and one-shot continue the chain", test_reopen_continues },
		{ "8 threads x 200: contiguous, chained, group commit", test_threads_group_commit },
		{ "announced entries share one sync; cancel and leaks", test_announced_group_commit },
		{ "rotation chains across files", test_rotation },
		{ "empty newest file after rotation; numbering gap", test_empty_newest_file },
		{ "torn tail set aside and chain continues", test_torn_tail },
		{ "torn tail left by another writer while open", test_torn_tail_while_open },
		{ "corrupt last line refused", test_corrupt_last_line },
		{ "unusable directory", test_unusable_dir },
		{ "escaping of quotes, controls, unicode", test_escaping },
		{ "malformed entries refused", test_bad_entries },
		{ "fail-closed on write failure, then recovery", test_fail_closed },
		{ "officer process appends under the lock", test_cross_process },
		{ "checkpoint seal sees the line's prev", test_seal },
		{ NULL, NULL }
	};

	sg_log_init("test_audit", SG_LOG_WARN);
	return sg_test_run("audit", cases);
}
