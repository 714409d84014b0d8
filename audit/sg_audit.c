/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log appender (format in sg_audit.h). Callers format the members
 * they know; one writer thread assigns seq, time, prev and hash in queue
 * order, writes a batch, syncs once and wakes that batch's callers. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "sg_audit.h"
#include "sg_buf.h"
#include "sg_clock.h"
#include "sg_err.h"
#include "sg_log.h"

#define LOCK_NAME	"audit.lock"
#define FILE_INDEX_MAX	999999u
#define FILE_NAME_LEN	96
#define HASH_HEX_LEN	64
#define HASH_TAG	",\"hash\":\""
/* ,"hash":"<64 hex>"} at the end of every line (without "\n"). */
#define HASH_SUFFIX_LEN	(sizeof(HASH_TAG) - 1 + HASH_HEX_LEN + 2)
/* Bytes a line adds around the caller's members, at most: {"seq":<20
 * digits>,"time":"<24>", ... ,"prev":"<64>","hash":"<64>"}\n */
#define LINE_OVERHEAD	212
/* A torn tail is shorter than one line, so the last complete line and
 * whatever follows it always fit in this many bytes from the end. */
#define TAIL_WINDOW	(2 * SG_AUDIT_LINE_MAX)
/* Entries per batch: bounds the batch buffer, not the waiting callers. */
#define BATCH_MAX	256
#define EXTRA_KEY_MAX	32

/* One caller's entry, on the caller's stack while it waits. */
struct audit_req {
	struct audit_req *next;
	char *body;		/* members type..extras, printed by cJSON, no braces */
	size_t body_len;
	uint64_t batch;		/* generation of the batch that took it; 0 while queued */
	int done;		/* under mu: its batch is written (r is final) */
	pthread_cond_t done_cv;	/* signalled once, by the writer, when done is set */
	int r;
	uint64_t seq;		/* 0 until a line was formatted for it */
	char hash[HASH_HEX_LEN + 1];
	const char *seal_alg;	/* see struct sg_audit_entry */
	int (*seal)(void *, const char *, char **);
	void *seal_arg;
};

struct sg_audit {
	/* Owned by the writer thread once open returns. */
	int dirfd, lockfd, fd;	/* fd: the newest log file */
	unsigned int idx;	/* its number */
	off_t offset;		/* its durable size as we last saw it; -1 unknown */
	uint64_t rotate_bytes;
	uint64_t head_seq;	/* last durable entry (0: empty log) */
	char head_hash[HASH_HEX_LEN + 1];
	char *recovered;	/* torn-line file set aside at open, or NULL */

	/* Shared with callers, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	int sync_init;
	struct audit_req *queue_head, *queue_tail;
	size_t queue_len;
	unsigned int expected;	/* announced appends not yet queued */
	uint64_t group_commit_ns;
	uint64_t taken_gen;
	int stopping, healthy, threaded;
	pthread_t writer;
	struct sg_audit_stats stats;
};

static const char *const entry_types[] = {
	"sign", "stamp", "timestamp", "soap", "enroll", "renew", "token_init", "keygen", "csr",
	"cert_import", "key_retire", "pin_change", "officer_sign", "auth_failure", "config_load",
	"startup", "shutdown", "checkpoint", "token_lost", "token_recovered", NULL
};

/* Member names an extra may not reuse: the shape of a line is fixed. */
static const char *const fixed_members[] = {
	"seq", "time", "type", "request_id", "client", "identity", "key_id",
	"cert_serial", "digest", "authority", "authority_ref", "outcome", "error",
	"prev", "hash", NULL
};

static void
log_sys(const char *what, const char *name, int e)
{
	char text[128];

	/* GNU strerror_r (config.h brings _GNU_SOURCE): thread-safe. */
	sg_error("audit: %s %s: %s", what, name, strerror_r(e, text, sizeof(text)));
}

static int
file_name(unsigned int idx, char *name, size_t len)
{
	int n = snprintf(name, len, "audit-%06u.jsonl", idx);

	return n < 0 || (size_t)n >= len ? SG_ERR_INTERNAL : 0;
}

/* 1 and *idxp for "audit-NNNNNN.jsonl" exactly; 0 for any other name. */
static int
parse_file_name(const char *name, unsigned int *idxp)
{
	unsigned int idx = 0;
	size_t i;

	if (strlen(name) != 18 || strncmp(name, "audit-", 6) != 0 ||
	    strcmp(name + 12, ".jsonl") != 0)
		return 0;
	for (i = 6; i < 12; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		idx = idx * 10 + (unsigned int)(name[i] - '0');
	}
	if (idx == 0)
		return 0;
	*idxp = idx;
	return 1;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *cp = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, cp, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		cp += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
pread_all(int fd, void *p, size_t n, off_t off)
{
	unsigned char *cp = p;
	ssize_t got;

	while (n > 0) {
		if ((got = pread(fd, cp, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0) {
			errno = EIO;	/* shrank under us: another writer broke the lock */
			return -1;
		}
		cp += got;
		n -= (size_t)got;
		off += got;
	}
	return 0;
}

static int
data_sync(int fd)
{
#ifdef HAVE_FDATASYNC
	return fdatasync(fd);
#else
	return fsync(fd);
#endif
}

static uint64_t
elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	int64_t ns = (int64_t)(t1->tv_sec - t0->tv_sec) * 1000000000 +
	    (t1->tv_nsec - t0->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

/* flock, not fcntl locks: per open file description, so two handles in one
 * process (daemon and a one-shot append) exclude each other too. The wait
 * is bounded: a reader or tool that keeps the lock makes writes fail (and
 * signing answer 503 audit_unavailable) instead of freezing them. */
static int
lock_log(struct sg_audit *a)
{
	struct timespec t0, now, pause = { 0, 1000000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (flock(a->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_sys("cannot lock", LOCK_NAME, errno);
			return SG_ERR_AUDIT;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (elapsed_ns(&t0, &now) >= (uint64_t)SG_AUDIT_LOCK_WAIT_MS * 1000000) {
			sg_error("audit: %s is held by another process for over %d ms; "
			    "not writing", LOCK_NAME, SG_AUDIT_LOCK_WAIT_MS);
			return SG_ERR_AUDIT;
		}
		/* 1 ms, doubling to 16 ms: a batch of the other writer is short. */
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 16000000)
			pause.tv_nsec *= 2;
	}
	return 0;
}

static void
unlock_log(struct sg_audit *a)
{
	(void)flock(a->lockfd, LOCK_UN);
}

int
sg_audit_canonical_hash(const void *prefix, size_t len, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	int r = SG_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return SG_ERR_ALLOC;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prefix, len) != 1 || EVP_DigestUpdate(ctx, "}", 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 != HASH_HEX_LEN)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[HASH_HEX_LEN] = '\0';
	r = 0;
 out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/*
 * Entry formatting (caller's thread).
 */

/* Length (1..4) of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. Reads no
 * byte past a NUL. */
static size_t
utf8_seq_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		    (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* The log is UTF-8 for every JSON reader; cJSON passes bytes through, so
 * ill-formed input (a client's header, say) becomes U+FFFD here rather
 * than costing the record. *cleanp is NULL when s is already fine. */
static int
utf8_clean(const char *s, char **cleanp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n, o = 0;
	char *clean;

	*cleanp = NULL;
	if (len > SG_AUDIT_LINE_MAX)
		return SG_ERR_TOO_LARGE;
	for (n = 0; p[n] != '\0'; n += utf8_seq_len(p + n)) {
		if (utf8_seq_len(p + n) == 0)
			break;
	}
	if (p[n] == '\0')
		return 0;
	if ((clean = malloc(len * 3 + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (n = 0; p[n] != '\0';) {
		size_t k = utf8_seq_len(p + n);

		if (k == 0) {
			memcpy(clean + o, "\xef\xbf\xbd", 3);
			o += 3;
			n++;
		} else {
			memcpy(clean + o, p + n, k);
			o += k;
			n += k;
		}
	}
	clean[o] = '\0';
	*cleanp = clean;
	return 0;
}

static int
add_member(cJSON *obj, const char *name, const char *value)
{
	char *clean = NULL;
	int r;

	if (value == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL ? 0 : SG_ERR_ALLOC;
	if ((r = utf8_clean(value, &clean)) != 0)
		return r;
	r = cJSON_AddStringToObject(obj, name, clean != NULL ? clean : value) != NULL ?
	    0 : SG_ERR_ALLOC;
	free(clean);
	return r;
}

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return 1;
	}
	return 0;
}

static int
valid_extra_key(const char *key)
{
	size_t i;

	for (i = 0; key[i] != '\0'; i++) {
		if (i >= EXTRA_KEY_MAX || !((key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= '0' && key[i] <= '9') || key[i] == '_'))
			return 0;
	}
	return i > 0 && !in_list(fixed_members, key);
}

static int
check_entry(const struct sg_audit_entry *e)
{
	size_t i, j;

	if (e->type == NULL || !in_list(entry_types, e->type)) {
		sg_error("audit: entry type %s is not a known one (entry_types)",
		    e->type != NULL ? e->type : "(null)");
		return SG_ERR_INVALID_ARG;
	}
	if (e->outcome == NULL ||
	    (strcmp(e->outcome, "ok") != 0 && strcmp(e->outcome, "error") != 0))
		return SG_ERR_INVALID_ARG;
	if (e->n_extra > SG_AUDIT_EXTRA_MAX ||
	    (e->n_extra > 0 && (e->extra_keys == NULL || e->extra_values == NULL)))
		return SG_ERR_INVALID_ARG;
	for (i = 0; i < e->n_extra; i++) {
		if (e->extra_keys[i] == NULL || !valid_extra_key(e->extra_keys[i]))
			return SG_ERR_INVALID_ARG;
		for (j = 0; j < i; j++) {
			if (strcmp(e->extra_keys[i], e->extra_keys[j]) == 0)
				return SG_ERR_INVALID_ARG;
		}
		/* A sealed entry's own extras must not collide with the seal's. */
		if (e->seal != NULL && (strcmp(e->extra_keys[i], "alg") == 0 ||
		    strcmp(e->extra_keys[i], "signature") == 0))
			return SG_ERR_INVALID_ARG;
	}
	if (e->seal != NULL && (e->seal_alg == NULL || e->seal_alg[0] == '\0' ||
	    strspn(e->seal_alg, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(e->seal_alg)))
		return SG_ERR_INVALID_ARG;
	return 0;
}

/* The members from type to the last extra, comma-separated, as cJSON
 * prints them. *bodyp is freed with cJSON_free. */
static int
format_body(const struct sg_audit_entry *e, char **bodyp, size_t *lenp)
{
	const char *const names[] = {
		"type", "request_id", "client", "identity", "key_id", "cert_serial",
		"digest", "authority", "authority_ref", "outcome", "error"
	};
	const char *const values[] = {
		e->type, e->request_id, e->client, e->identity, e->key_id,
		e->cert_serial, e->digest, e->authority, e->authority_ref,
		e->outcome, e->error
	};
	cJSON *obj = NULL;
	char *printed = NULL;
	size_t i, len;
	int r;

	*bodyp = NULL;
	*lenp = 0;
	if ((r = check_entry(e)) != 0)
		return r;
	if ((obj = cJSON_CreateObject()) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	/* cJSON keeps members in insertion order: that is the line's order. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((r = add_member(obj, names[i], values[i])) != 0)
			goto out;
	}
	for (i = 0; i < e->n_extra; i++) {
		if ((r = add_member(obj, e->extra_keys[i], e->extra_values[i])) != 0)
			goto out;
	}
	if ((printed = cJSON_PrintUnformatted(obj)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	len = strlen(printed);
	if (len < 2 || printed[0] != '{' || printed[len - 1] != '}') {
		r = SG_ERR_INTERNAL;
		goto out;
	}
	len -= 2;
	if (len + LINE_OVERHEAD > SG_AUDIT_LINE_MAX) {
		r = SG_ERR_TOO_LARGE;
		goto out;
	}
	memmove(printed, printed + 1, len);
	printed[len] = '\0';
	*bodyp = printed;
	*lenp = len;
	printed = NULL;
	r = 0;
 out:
	cJSON_free(printed);
	cJSON_Delete(obj);
	return r;
}

/*
 * Reading the tail of a log file (writer side, lock held).
 */

struct tail {
	unsigned char *buf;	/* the last bytes of the file */
	size_t len;
	off_t start;		/* file offset of buf[0] */
	off_t size;		/* file size */
	off_t complete_end;	/* just past the last "\n"; 0 when there is none */
	const char *line;	/* last complete line (in buf, no "\n"), or NULL */
	size_t line_len;
};

static void
tail_free(struct tail *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static int
read_tail(int fd, const char *name, struct tail *t)
{
	struct stat st;
	unsigned char *nl, *prev_nl;
	size_t want;
	int r = SG_ERR_AUDIT;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st) != 0) {
		log_sys("cannot stat", name, errno);
		return SG_ERR_AUDIT;
	}
	if (!S_ISREG(st.st_mode)) {
		sg_error("audit: %s is not a regular file", name);
		return SG_ERR_AUDIT;
	}
	t->size = st.st_size;
	want = st.st_size < TAIL_WINDOW ? (size_t)st.st_size : TAIL_WINDOW;
	t->start = st.st_size - (off_t)want;
	if ((t->buf = malloc(want + 1)) == NULL)
		return SG_ERR_ALLOC;
	t->len = want;
	if (pread_all(fd, t->buf, want, t->start) != 0) {
		log_sys("cannot read", name, errno);
		goto out;
	}
	if ((nl = memrchr(t->buf, '\n', want)) == NULL) {
		if (t->start != 0) {
			sg_error("audit: %s: no line end in its last %zu bytes", name, want);
			goto out;
		}
		/* Nothing complete: empty, or a lone torn first line. */
		t->complete_end = 0;
		r = 0;
		goto out;
	}
	t->complete_end = t->start + (nl - t->buf) + 1;
	if ((prev_nl = memrchr(t->buf, '\n', (size_t)(nl - t->buf))) != NULL)
		t->line = (const char *)prev_nl + 1;
	else if (t->start == 0)
		t->line = (const char *)t->buf;
	else {
		sg_error("audit: %s: last line longer than %d bytes", name, SG_AUDIT_LINE_MAX);
		goto out;
	}
	t->line_len = (size_t)((const char *)nl - t->line);
	if (t->line_len == 0) {
		sg_error("audit: %s: empty line at offset %lld", name,
		    (long long)(t->complete_end - 1));
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		tail_free(t);
	return r;
}

/* Check one complete line by the documented rule and take its seq and
 * hash: the chain is only continued from an entry that verifies. */
static int
check_line(const char *name, const char *line, size_t len, uint64_t *seqp,
    char hash[HASH_HEX_LEN + 1])
{
	const char *tag, *hex;
	char want[HASH_HEX_LEN + 1], *copy = NULL;
	cJSON *obj = NULL, *item;
	double seq;
	size_t i;
	int r = SG_ERR_AUDIT;

	if (len <= HASH_SUFFIX_LEN + 1 || line[0] != '{')
		goto bad;
	tag = line + len - HASH_SUFFIX_LEN;
	hex = tag + sizeof(HASH_TAG) - 1;
	if (memcmp(tag, HASH_TAG, sizeof(HASH_TAG) - 1) != 0 ||
	    memcmp(hex + HASH_HEX_LEN, "\"}", 2) != 0)
		goto bad;
	for (i = 0; i < HASH_HEX_LEN; i++) {
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			goto bad;
	}
	if ((r = sg_audit_canonical_hash(line, (size_t)(tag - line), want)) != 0)
		goto out;
	r = SG_ERR_AUDIT;
	if (memcmp(want, hex, HASH_HEX_LEN) != 0) {
		sg_error("audit: %s: last entry does not match its hash (%.*s, "
		    "content gives %s); refusing to continue the chain", name,
		    HASH_HEX_LEN, hex, want);
		goto out;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	if ((obj = cJSON_ParseWithOpts(copy, NULL, 1)) == NULL || !cJSON_IsObject(obj))
		goto bad;
	item = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	if (!cJSON_IsNumber(item))
		goto bad;
	/* JSON numbers are doubles to cJSON: exact up to 2^53, plenty. */
	seq = item->valuedouble;
	if (!(seq >= 1 && seq <= 9007199254740992.0) || (double)(uint64_t)seq != seq)
		goto bad;
	item = cJSON_GetObjectItemCaseSensitive(obj, "hash");
	if (!cJSON_IsString(item) || strlen(item->valuestring) != HASH_HEX_LEN ||
	    memcmp(item->valuestring, hex, HASH_HEX_LEN) != 0)
		goto bad;
	*seqp = (uint64_t)seq;
	memcpy(hash, want, sizeof(want));
	r = 0;
	goto out;
 bad:
	sg_error("audit: %s: last line is not an audit entry; refusing to continue "
	    "the chain", name);
	r = SG_ERR_AUDIT;
 out:
	cJSON_Delete(obj);
	free(copy);
	return r;
}

/* Chain head when the newest file holds no complete line: the last entry
 * of the newest older file that has one. A gap in the numbering leaves
 * the head unknown, and the chain is never restarted silently. */
static int
head_from_older(struct sg_audit *a, unsigned int idx, uint64_t *seqp,
    char hash[HASH_HEX_LEN + 1])
{
	char name[FILE_NAME_LEN];
	struct tail t;
	int fd, r;

	memset(&t, 0, sizeof(t));
	for (; idx > 1; idx--) {
		if ((r = file_name(idx - 1, name, sizeof(name))) != 0)
			return r;
		if ((fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
			log_sys("cannot open (the chain head is unknown)", name, errno);
			return SG_ERR_AUDIT;
		}
		r = read_tail(fd, name, &t);
		close(fd);
		if (r != 0)
			return r;
		if (t.complete_end != t.size) {
			sg_error("audit: %s ends with a torn line but is not the newest "
			    "file", name);
			r = SG_ERR_AUDIT;
		} else if (t.line != NULL)
			r = check_line(name, t.line, t.line_len, seqp, hash);
		else {
			tail_free(&t);
			continue;	/* empty: a crash right after rotation */
		}
		tail_free(&t);
		return r;
	}
	*seqp = 0;
	memset(hash, '0', HASH_HEX_LEN);
	hash[HASH_HEX_LEN] = '\0';
	return 0;
}

/* Copy the torn bytes to a new file, durably, before the log is cut. */
static int
set_aside(struct sg_audit *a, const struct tail *t, uint64_t next_seq,
    char **namep)
{
	char base[FILE_NAME_LEN], name[FILE_NAME_LEN + 8];
	const unsigned char *torn = t->buf + (t->complete_end - t->start);
	size_t torn_len = (size_t)(t->size - t->complete_end);
	int fd = -1, n, i, r = SG_ERR_AUDIT;

	*namep = NULL;
	n = snprintf(base, sizeof(base), "audit-%06u.jsonl.torn-%" PRIu64 "-%lld",
	    a->idx, next_seq, (long long)time(NULL));
	if (n < 0 || (size_t)n >= sizeof(base))
		return SG_ERR_INTERNAL;
	/* Never overwrite: an earlier copy may be all that is left of it. */
	for (i = 0; i < 100 && fd < 0; i++) {
		n = i == 0 ? snprintf(name, sizeof(name), "%s", base) :
		    snprintf(name, sizeof(name), "%s.%d", base, i);
		if (n < 0 || (size_t)n >= sizeof(name))
			return SG_ERR_INTERNAL;
		fd = openat(a->dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0 && errno != EEXIST) {
			log_sys("cannot create", name, errno);
			return SG_ERR_AUDIT;
		}
	}
	if (fd < 0) {
		sg_error("audit: no free name for %s", base);
		return SG_ERR_AUDIT;
	}
	if (write_all(fd, torn, torn_len) != 0 || fsync(fd) != 0) {
		log_sys("cannot write", name, errno);
		goto out;
	}
	if (fsync(a->dirfd) != 0) {
		log_sys("cannot sync the directory for", name, errno);
		goto out;
	}
	if ((*namep = strdup(name)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	r = 0;
 out:
	close(fd);
	return r;
}

/* Take the chain head from the newest file (a->fd): verify its last
 * entry, set a torn tail aside and cut it off. */
static int
load_head(struct sg_audit *a, int at_open)
{
	char name[FILE_NAME_LEN], hash[HASH_HEX_LEN + 1], *torn_name = NULL;
	struct tail t;
	uint64_t seq = 0;
	int r;

	if ((r = file_name(a->idx, name, sizeof(name))) != 0)
		return r;
	if ((r = read_tail(a->fd, name, &t)) != 0)
		return r;
	if (t.line != NULL)
		r = check_line(name, t.line, t.line_len, &seq, hash);
	else
		r = head_from_older(a, a->idx, &seq, hash);
	if (r != 0)
		goto out;
	if (t.complete_end != t.size) {
		if ((r = set_aside(a, &t, seq + 1, &torn_name)) != 0)
			goto out;
		sg_warn("audit: %s ended with a torn line (%lld bytes, after seq %"
		    PRIu64 "), moved to %s", name, (long long)(t.size - t.complete_end),
		    seq, torn_name);
		if (ftruncate(a->fd, t.complete_end) != 0 || data_sync(a->fd) != 0) {
			log_sys("cannot cut the torn line off", name, errno);
			r = SG_ERR_AUDIT;
			goto out;
		}
		if (at_open) {
			a->recovered = torn_name;
			torn_name = NULL;
		}
	}
	a->offset = t.complete_end;
	a->head_seq = seq;
	memcpy(a->head_hash, hash, sizeof(hash));
	r = 0;
 out:
	free(torn_name);
	tail_free(&t);
	return r;
}

/* Catch up with other writers (lock held): follow their rotations, and
 * re-read the head when the file changed size since our last write. */
static int
follow_log(struct sg_audit *a)
{
	char name[FILE_NAME_LEN];
	struct stat st;
	int fd, r;

	for (;;) {
		if (a->idx >= FILE_INDEX_MAX)
			break;
		if ((r = file_name(a->idx + 1, name, sizeof(name))) != 0)
			return r;
		fd = openat(a->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			break;
		if (fd < 0) {
			log_sys("cannot open", name, errno);
			return SG_ERR_AUDIT;
		}
		close(a->fd);
		a->fd = fd;
		a->idx++;
		a->offset = -1;
	}
	if (fstat(a->fd, &st) != 0) {
		log_sys("cannot stat", file_name(a->idx, name, sizeof(name)) == 0 ?
		    name : "the log file", errno);
		return SG_ERR_AUDIT;
	}
	if (st.st_size != a->offset)
		return load_head(a, 0);
	return 0;
}

static int
create_file(struct sg_audit *a, unsigned int idx)
{
	char name[FILE_NAME_LEN];
	int fd, r;

	if (idx > FILE_INDEX_MAX) {
		sg_error("audit: out of file numbers");
		return SG_ERR_AUDIT;
	}
	if ((r = file_name(idx, name, sizeof(name))) != 0)
		return r;
	fd = openat(a->dirfd, name,
	    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		log_sys("cannot create", name, errno);
		return SG_ERR_AUDIT;
	}
	/* The new name must survive a crash before entries are put in it. */
	if (fsync(a->dirfd) != 0) {
		log_sys("cannot sync the directory after creating", name, errno);
		close(fd);
		return SG_ERR_AUDIT;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	a->idx = idx;
	a->offset = 0;
	return 0;
}

/*
 * Writing a batch (writer thread, or the one-shot caller).
 */

static int
format_time(char *out, size_t len)
{
	struct timespec now;
	struct tm tm;
	char base[32];
	int n;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 || gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return SG_ERR_INTERNAL;
	n = snprintf(out, len, "%s.%03dZ", base, (int)(now.tv_nsec / 1000000));
	return n < 0 || (size_t)n >= len ? SG_ERR_INTERNAL : 0;
}

/* One complete line for q into line (reset first); q->hash gets its hash. */
static int
format_line(const struct audit_req *q, uint64_t seq, const char *prev,
    struct sg_buf *line, char hash[HASH_HEX_LEN + 1])
{
	char stamp[32];
	int r;

	char *sig = NULL;

	sg_buf_reset(line);
	if ((r = format_time(stamp, sizeof(stamp))) != 0 ||
	    (r = sg_buf_printf(line, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",", seq, stamp)) != 0 ||
	    (r = sg_buf_append(line, q->body, q->body_len)) != 0)
		return r;
	if (q->seal != NULL) {
		/* The signature seals the prev this very line gets. Both values
		 * are plain ASCII (the alg is the caller's constant, the
		 * signature base64), so they need no escaping. */
		if (q->seal(q->seal_arg, prev, &sig) != 0 || sig == NULL ||
		    strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
		    strlen(sig)) {
			free(sig);
			return SG_ERR_CRYPTO;
		}
		r = sg_buf_printf(line, ",\"alg\":\"%s\",\"signature\":\"%s\"", q->seal_alg, sig);
		free(sig);
		if (r != 0)
			return r;
	}
	if ((r = sg_buf_printf(line, ",\"prev\":\"%s\"", prev)) != 0 ||
	    (r = sg_audit_canonical_hash(line->data, line->len, hash)) != 0 ||
	    (r = sg_buf_printf(line, HASH_TAG "%s\"}\n", hash)) != 0)
		return r;
	return 0;
}

/* Write out and sync what is buffered for the current file; on success the
 * entries from..to (exclusive) are durable and (seq, hash) is the head. On
 * failure cut the file back to its last durable size, so no torn or
 * unsynced line stays claimed; if even that fails the next batch re-reads
 * the tail and sets aside whatever is there. */
static int
flush_segment(struct sg_audit *a, struct sg_buf *out, struct audit_req *from,
    struct audit_req *to, uint64_t seq, const char *hash, struct sg_audit_stats *d)
{
	char name[FILE_NAME_LEN];
	struct timespec t0, t1;
	struct audit_req *q;
	int e, r = SG_ERR_AUDIT;

	if (file_name(a->idx, name, sizeof(name)) != 0)
		name[0] = '\0';
	if (write_all(a->fd, out->data, out->len) != 0) {
		e = errno;
		log_sys("cannot write", name, e);
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (data_sync(a->fd) != 0) {
		e = errno;
		log_sys("cannot sync", name, e);
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d->syncs++;
	d->last_sync_ns = elapsed_ns(&t0, &t1);
	d->sync_ns_total += d->last_sync_ns;
	a->offset += (off_t)out->len;
	a->head_seq = seq;
	memcpy(a->head_hash, hash, HASH_HEX_LEN + 1);
	for (q = from; q != to; q = q->next) {
		if (q->seq != 0) {
			q->r = 0;
			d->entries++;
		}
	}
	r = 0;
	goto out;
 fail:
	if (ftruncate(a->fd, a->offset) != 0 || data_sync(a->fd) != 0) {
		log_sys("cannot cut back to the last durable entry", name, errno);
		a->offset = -1;
	}
 out:
	sg_buf_reset(out);
	return r;
}

/* Write the batch in queue order. Every q->r ends 0 (durable) or an
 * error; returns SG_ERR_AUDIT when the disk failed. */
static int
commit_batch(struct sg_audit *a, struct audit_req *batch, struct sg_audit_stats *d)
{
	struct sg_buf out, line;
	struct audit_req *q, *seg;
	uint64_t seq;
	char prev[HASH_HEX_LEN + 1];
	int r, locked = 0;

	memset(d, 0, sizeof(*d));
	sg_buf_init(&out, (size_t)BATCH_MAX * SG_AUDIT_LINE_MAX);
	sg_buf_init(&line, SG_AUDIT_LINE_MAX);
	for (q = batch; q != NULL; q = q->next) {
		q->r = SG_ERR_AUDIT;
		q->seq = 0;
	}
	if ((r = lock_log(a)) != 0)
		goto out;
	locked = 1;
	if ((r = follow_log(a)) != 0)
		goto out;
	seq = a->head_seq;
	memcpy(prev, a->head_hash, sizeof(prev));
	for (seg = q = batch; q != NULL; q = q->next) {
		if ((r = format_line(q, seq + 1, prev, &line, q->hash)) != 0) {
			/* Only this entry fails (memory); the chain goes on without it. */
			q->r = r;
			continue;
		}
		if ((uint64_t)a->offset + out.len + line.len > a->rotate_bytes &&
		    (uint64_t)a->offset + out.len > 0) {
			if (out.len > 0 &&
			    (r = flush_segment(a, &out, seg, q, seq, prev, d)) != 0)
				goto out;
			if ((r = create_file(a, a->idx + 1)) != 0)
				goto out;
			seg = q;
		}
		if ((r = sg_buf_append(&out, line.data, line.len)) != 0) {
			q->r = r;
			continue;
		}
		q->seq = ++seq;
		memcpy(prev, q->hash, sizeof(prev));
	}
	if (out.len > 0 && (r = flush_segment(a, &out, seg, NULL, seq, prev, d)) != 0)
		goto out;
	r = 0;
 out:
	if (locked)
		unlock_log(a);
	if (r != 0) {
		r = SG_ERR_AUDIT;
		d->failures++;
	}
	sg_buf_free(&out);
	sg_buf_free(&line);
	return r;
}

static void
apply_result(struct sg_audit *a, int r, const struct sg_audit_stats *d)
{
	a->stats.entries += d->entries;
	a->stats.syncs += d->syncs;
	a->stats.failures += d->failures;
	a->stats.sync_ns_total += d->sync_ns_total;
	if (d->syncs > 0)
		a->stats.last_sync_ns = d->last_sync_ns;
	a->healthy = r == 0;
}

/* Group commit, with mu held and entries queued: while appends announced
 * with sg_audit_expect are still on their way, wait for them (each one
 * queued, or cancelled, wakes us once none is left), for a full batch,
 * or until group_commit_ns has passed, whichever comes first. Waiting
 * only on announced work keeps a lone caller from waiting at all. */
static void
gather(struct sg_audit *a)
{
	struct timespec deadline;

	if (a->group_commit_ns == 0 || a->expected == 0 || a->stopping)
		return;
	sg_monotonic_deadline(&deadline, a->group_commit_ns);
	while (a->expected > 0 && a->queue_len < BATCH_MAX && !a->stopping) {
		if (pthread_cond_timedwait(&a->work_cv, &a->mu, &deadline) == ETIMEDOUT)
			break;
	}
}

static void *
writer_main(void *arg)
{
	struct sg_audit *a = arg;
	struct sg_audit_stats d;
	struct audit_req *batch, *last, *q, *next;
	uint64_t gen;
	size_t n;
	int r;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->queue_head == NULL && !a->stopping)
			pthread_cond_wait(&a->work_cv, &a->mu);
		if (a->queue_head == NULL)
			break;		/* stopping, and everything queued is written */
		gather(a);
		gen = ++a->taken_gen;
		batch = last = a->queue_head;
		last->batch = gen;
		for (n = 1; n < BATCH_MAX && last->next != NULL; n++) {
			last = last->next;
			last->batch = gen;
		}
		a->queue_head = last->next;
		if (a->queue_head == NULL)
			a->queue_tail = NULL;
		last->next = NULL;
		a->queue_len -= n;
		pthread_mutex_unlock(&a->mu);

		r = commit_batch(a, batch, &d);

		/* Each caller of the batch is woken alone (no other waiter
		 * stirs). A caller may free its entry once it sees done, which
		 * it can only do after mu is released: next is read first. */
		pthread_mutex_lock(&a->mu);
		apply_result(a, r, &d);
		for (q = batch; q != NULL; q = next) {
			next = q->next;
			q->done = 1;
			pthread_cond_signal(&q->done_cv);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/*
 * Opening and closing.
 */

static int
newest_index(struct sg_audit *a, unsigned int *idxp)
{
	struct dirent *de;
	DIR *dir;
	unsigned int idx;
	int fd;

	*idxp = 0;
	if ((fd = openat(a->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dir = fdopendir(fd)) == NULL) {
		log_sys("cannot list", "the audit directory", errno);
		if (fd >= 0)
			close(fd);
		return SG_ERR_AUDIT;
	}
	while ((de = readdir(dir)) != NULL) {
		if (parse_file_name(de->d_name, &idx) && idx > *idxp)
			*idxp = idx;
	}
	closedir(dir);
	return 0;
}

static int
audit_open(const char *dir, const struct sg_audit_options *opts, int threaded,
    struct sg_audit **ap)
{
	struct sg_audit *a = NULL;
	char name[FILE_NAME_LEN];
	pthread_condattr_t cattr;
	sigset_t all, old;
	unsigned int idx;
	int r = SG_ERR_INTERNAL, locked = 0;

	*ap = NULL;
	if (dir == NULL || *dir == '\0')
		return SG_ERR_INVALID_ARG;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SG_ERR_ALLOC;
	a->dirfd = a->lockfd = a->fd = -1;
	a->healthy = 1;
	a->rotate_bytes = opts != NULL && opts->rotate_bytes != 0 ?
	    opts->rotate_bytes : SG_AUDIT_ROTATE_DEFAULT;
	if (opts != NULL)
		a->group_commit_ns = (uint64_t)opts->group_commit_us * 1000u;
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		goto out;
	/* The group commit's deadline is on the monotonic clock. */
	if (pthread_condattr_init(&cattr) != 0) {
		pthread_mutex_destroy(&a->mu);
		goto out;
	}
	if (pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&a->work_cv, &cattr) != 0) {
		pthread_condattr_destroy(&cattr);
		pthread_mutex_destroy(&a->mu);
		goto out;
	}
	pthread_condattr_destroy(&cattr);
	a->sync_init = 1;

	r = SG_ERR_AUDIT;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_sys("cannot create directory", dir, errno);
		goto out;
	}
	if ((a->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_sys("cannot open directory", dir, errno);
		goto out;
	}
	a->lockfd = openat(a->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (a->lockfd < 0) {
		log_sys("cannot open", LOCK_NAME, errno);
		goto out;
	}
	if ((r = lock_log(a)) != 0)
		goto out;
	locked = 1;
	if ((r = newest_index(a, &idx)) != 0)
		goto out;
	if (idx == 0) {
		/* A fresh log: the only case where the chain starts at zeros. */
		if ((r = create_file(a, 1)) != 0)
			goto out;
		a->head_seq = 0;
		memset(a->head_hash, '0', HASH_HEX_LEN);
	} else {
		if ((r = file_name(idx, name, sizeof(name))) != 0)
			goto out;
		a->fd = openat(a->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (a->fd < 0) {
			log_sys("cannot open", name, errno);
			r = SG_ERR_AUDIT;
			goto out;
		}
		a->idx = idx;
		if ((r = load_head(a, 1)) != 0)
			goto out;
	}
	unlock_log(a);
	locked = 0;

	if (threaded) {
		/* The writer never runs signal handlers: they stay with the
		 * daemon's own threads. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&a->writer, NULL, writer_main, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0) {
			sg_error("audit: cannot start the writer thread");
			r = SG_ERR_INTERNAL;
			goto out;
		}
		a->threaded = 1;
	}
	sg_debug("audit: %s: file %06u, head seq %" PRIu64, dir, a->idx, a->head_seq);
	*ap = a;
	a = NULL;
	r = 0;
 out:
	if (locked)
		unlock_log(a);
	sg_audit_close(a);
	return r;
}

int
sg_audit_open(const char *dir, const struct sg_audit_options *opts, struct sg_audit **ap)
{
	if (ap == NULL)
		return SG_ERR_INVALID_ARG;
	return audit_open(dir, opts, 1, ap);
}

void
sg_audit_close(struct sg_audit *a)
{
	if (a == NULL)
		return;
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->stopping = 1;
		pthread_cond_signal(&a->work_cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->writer, NULL);
	}
	if (a->fd >= 0)
		close(a->fd);
	if (a->lockfd >= 0)
		close(a->lockfd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	if (a->sync_init) {
		pthread_cond_destroy(&a->work_cv);
		pthread_mutex_destroy(&a->mu);
	}
	free(a->recovered);
	free(a);
}

int
sg_audit_append(struct sg_audit *a, const struct sg_audit_entry *e, uint64_t *seqp,
    char head_hash_hex[65])
{
	struct audit_req req;
	int r;

	memset(&req, 0, sizeof(req));
	if (a == NULL || e == NULL || !a->threaded)
		return SG_ERR_INVALID_ARG;
	if ((r = format_body(e, &req.body, &req.body_len)) != 0) {
		if (e->expected)
			sg_audit_expect_cancel(a);
		return r;
	}
	req.seal = e->seal;
	req.seal_arg = e->seal_arg;
	req.seal_alg = e->seal_alg;
	pthread_cond_init(&req.done_cv, NULL);	/* default attributes: cannot fail */
	pthread_mutex_lock(&a->mu);
	if (e->expected && a->expected > 0)
		a->expected--;
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		r = SG_ERR_AUDIT;
		goto out;
	}
	/* The writer needs waking when it has nothing (it waits for work),
	 * when the last announced entry arrives, or when a batch is full;
	 * otherwise it is gathering and would only go back to sleep. */
	if (a->queue_head == NULL || a->expected == 0 || a->queue_len + 1 >= BATCH_MAX)
		pthread_cond_signal(&a->work_cv);
	if (a->queue_tail != NULL)
		a->queue_tail->next = &req;
	else
		a->queue_head = &req;
	a->queue_tail = &req;
	a->queue_len++;
	/* Woken by the writer once our batch is synced (or failed). */
	while (!req.done)
		pthread_cond_wait(&req.done_cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	if ((r = req.r) != 0)
		goto out;
	if (seqp != NULL)
		*seqp = req.seq;
	if (head_hash_hex != NULL)
		memcpy(head_hash_hex, req.hash, HASH_HEX_LEN + 1);
 out:
	pthread_cond_destroy(&req.done_cv);
	cJSON_free(req.body);
	return r;
}

/* Without a group commit nothing is announced and nothing waits. */
static int
announces(const struct sg_audit *a)
{
	return a != NULL && a->threaded && a->group_commit_ns != 0;
}

void
sg_audit_expect(struct sg_audit *a)
{
	if (!announces(a))
		return;
	pthread_mutex_lock(&a->mu);
	a->expected++;
	pthread_mutex_unlock(&a->mu);
}

void
sg_audit_expect_cancel(struct sg_audit *a)
{
	if (!announces(a))
		return;
	pthread_mutex_lock(&a->mu);
	if (a->expected > 0 && --a->expected == 0)
		pthread_cond_signal(&a->work_cv);
	pthread_mutex_unlock(&a->mu);
}

int
sg_audit_healthy(struct sg_audit *a)
{
	int healthy;

	if (a == NULL)
		return SG_ERR_AUDIT;
	pthread_mutex_lock(&a->mu);
	healthy = a->healthy;
	pthread_mutex_unlock(&a->mu);
	return healthy ? 0 : SG_ERR_AUDIT;
}

const char *
sg_audit_recovered(struct sg_audit *a)
{
	return a != NULL ? a->recovered : NULL;
}

void
sg_audit_stats(struct sg_audit *a, struct sg_audit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	*st = a->stats;
	st->announced = a->expected;
	pthread_mutex_unlock(&a->mu);
}

int
sg_audit_append_once(const char *dir, const struct sg_audit_options *opts,
    const struct sg_audit_entry *e, uint64_t *seqp)
{
	struct sg_audit *a = NULL;
	struct sg_audit_stats d;
	struct audit_req req;
	int r;

	memset(&req, 0, sizeof(req));
	if (e == NULL)
		return SG_ERR_INVALID_ARG;
	/* A malformed entry is refused before the log is touched. */
	if ((r = format_body(e, &req.body, &req.body_len)) != 0)
		goto out;
	req.seal = e->seal;
	req.seal_arg = e->seal_arg;
	req.seal_alg = e->seal_alg;
	if ((r = audit_open(dir, opts, 0, &a)) != 0)
		goto out;
	if ((r = commit_batch(a, &req, &d)) != 0 || (r = req.r) != 0)
		goto out;
	if (seqp != NULL)
		*seqp = req.seq;
	r = 0;
 out:
	sg_audit_close(a);
	cJSON_free(req.body);
	return r;
}
