/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the audit log for auditors (see sg_audit_read.h): file lists,
 * the bounded line reader, and verify, query and counts on top of it.
 * Nothing here writes to the log directory or keeps more than one line. */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "sg_audit.h"
#include "sg_audit_read.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_log.h"

static int entry_time(const cJSON *obj, int64_t *msp);

#define LOCK_NAME	"audit.lock"
#define LOG_NAME_LEN	18		/* audit-NNNNNN.jsonl */
#define TORN_TAG	".torn-"
#define HASH_HEX_LEN	64
#define HASH_TAG	",\"hash\":\""
/* ,"hash":"<64 hex>"} at the end of every line (without "\n"). */
#define HASH_SUFFIX_LEN	(sizeof(HASH_TAG) - 1 + HASH_HEX_LEN + 2)
#define READ_CHUNK	65536
#define SEQ_MAX		9007199254740992.0	/* 2^53: exact in a double */
#define COUNT_ROWS_MAX	100000
#define ALG_RSA		"rsa-pkcs1-sha256"
#define ALG_ECDSA	"ecdsa-sha256"

static const char zero_hash[HASH_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The members every line starts with, in order (sg_audit.h). */
static const char *const fixed_members[] = {
	"seq", "time", "type", "request_id", "client", "identity", "key_id",
	"cert_serial", "digest", "authority", "authority_ref", "outcome", "error"
};
#define N_FIXED	(sizeof(fixed_members) / sizeof(fixed_members[0]))

static int
err_from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return SG_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return SG_ERR_PERMISSION;
	case ENOMEM:
		return SG_ERR_ALLOC;
	default:
		return SG_ERR_IO;
	}
}

/*
 * File lists.
 */

/* 1 and *nump for "audit-NNNNNN.jsonl" (NNNNNN > 0) at the start of name,
 * with exactly rest after it ("" for a log file). */
static int
log_name_number(const char *name, unsigned int *nump)
{
	unsigned int num = 0;
	size_t i;

	if (strncmp(name, "audit-", 6) != 0)
		return 0;
	for (i = 6; i < 12; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		num = num * 10 + (unsigned int)(name[i] - '0');
	}
	if (strncmp(name + 12, ".jsonl", 6) != 0 || num == 0)
		return 0;
	*nump = num;
	return 1;
}

static int
is_log_name(const char *name, unsigned int *nump)
{
	return strlen(name) == LOG_NAME_LEN && log_name_number(name, nump);
}

static int
is_torn_name(const char *name)
{
	unsigned int num;

	return strlen(name) > LOG_NAME_LEN + sizeof(TORN_TAG) - 1 &&
	    log_name_number(name, &num) &&
	    strncmp(name + LOG_NAME_LEN, TORN_TAG, sizeof(TORN_TAG) - 1) == 0;
}

void
sg_audit_files_free(struct sg_audit_files *files)
{
	size_t i;

	if (files == NULL)
		return;
	for (i = 0; i < files->n; i++)
		free(files->files[i].path);
	for (i = 0; i < files->n_set_aside; i++)
		free(files->set_aside[i]);
	free(files->files);
	free(files->set_aside);
	free(files);
}

static int
add_file(struct sg_audit_files *files, size_t *alloc, const char *dir,
    const char *name, unsigned int number, uint64_t size)
{
	struct sg_audit_file *grown, *f;
	size_t len;
	char *path;
	int n;

	if (files->n == *alloc) {
		*alloc = *alloc == 0 ? 16 : *alloc * 2;
		if ((grown = reallocarray(files->files, *alloc, sizeof(*grown))) == NULL)
			return SG_ERR_ALLOC;
		files->files = grown;
	}
	if (dir != NULL) {
		len = strlen(dir) + 1 + strlen(name) + 1;
		if ((path = malloc(len)) == NULL)
			return SG_ERR_ALLOC;
		n = snprintf(path, len, "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= len) {
			free(path);
			return SG_ERR_INTERNAL;
		}
	} else if ((path = strdup(name)) == NULL)
		return SG_ERR_ALLOC;
	f = &files->files[files->n++];
	f->path = path;
	f->name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	f->number = number;
	f->size = size;
	return 0;
}

static int
add_set_aside(struct sg_audit_files *files, size_t *alloc, const char *name)
{
	char **grown;

	if (files->n_set_aside == *alloc) {
		*alloc = *alloc == 0 ? 4 : *alloc * 2;
		if ((grown = reallocarray(files->set_aside, *alloc, sizeof(*grown))) == NULL)
			return SG_ERR_ALLOC;
		files->set_aside = grown;
	}
	if ((files->set_aside[files->n_set_aside] = strdup(name)) == NULL)
		return SG_ERR_ALLOC;
	files->n_set_aside++;
	return 0;
}

static int
cmp_file_number(const void *a, const void *b)
{
	const struct sg_audit_file *fa = a, *fb = b;

	return fa->number < fb->number ? -1 : fa->number > fb->number;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sg_audit_files_dir(const char *dir, struct sg_audit_files **filesp)
{
	struct sg_audit_files *files = NULL;
	size_t alloc = 0, alloc_aside = 0, dir_len;
	struct dirent *de;
	struct stat st;
	unsigned int number;
	char *clean_dir = NULL;
	DIR *d = NULL;
	int dirfd = -1, listfd = -1, lockfd = -1, r = SG_ERR_INTERNAL;

	if (filesp == NULL)
		return SG_ERR_INVALID_ARG;
	*filesp = NULL;
	if (dir == NULL || *dir == '\0')
		return SG_ERR_INVALID_ARG;
	/* "dir/" names its files "dir/audit-...", not "dir//audit-...". */
	if ((clean_dir = strdup(dir)) == NULL)
		return SG_ERR_ALLOC;
	for (dir_len = strlen(clean_dir); dir_len > 1 && clean_dir[dir_len - 1] == '/'; dir_len--)
		clean_dir[dir_len - 1] = '\0';
	if ((files = calloc(1, sizeof(*files))) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	if ((dirfd = open(clean_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = err_from_errno(errno);
		goto out;
	}
	/* Shared with other readers, exclusive of a writer's batch: the sizes
	 * below then end on whole lines. Never created here. */
	if ((lockfd = openat(dirfd, LOCK_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		while (flock(lockfd, LOCK_SH) != 0 && errno == EINTR)
			;
	}
	if ((listfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(listfd)) == NULL) {
		r = err_from_errno(errno);
		goto out;
	}
	listfd = -1;	/* owned by d */
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (is_log_name(de->d_name, &number)) {
			if (fstatat(dirfd, de->d_name, &st, 0) != 0) {
				r = err_from_errno(errno);
				goto out;
			}
			if (!S_ISREG(st.st_mode)) {
				sg_debug("audit: %s/%s is not a regular file", clean_dir, de->d_name);
				r = SG_ERR_IO;
				goto out;
			}
			if ((r = add_file(files, &alloc, clean_dir, de->d_name, number,
			    (uint64_t)st.st_size)) != 0)
				goto out;
		} else if (is_torn_name(de->d_name)) {
			if ((r = add_set_aside(files, &alloc_aside, de->d_name)) != 0)
				goto out;
		}
	}
	if (errno != 0) {
		r = err_from_errno(errno);
		goto out;
	}
	if (files->n > 1)
		qsort(files->files, files->n, sizeof(files->files[0]), cmp_file_number);
	if (files->n_set_aside > 1)
		qsort(files->set_aside, files->n_set_aside, sizeof(char *), cmp_str);
	*filesp = files;
	files = NULL;
	r = 0;
 out:
	if (d != NULL)
		closedir(d);
	if (listfd >= 0)
		close(listfd);
	if (lockfd >= 0)
		close(lockfd);	/* releases the shared lock */
	if (dirfd >= 0)
		close(dirfd);
	free(clean_dir);
	sg_audit_files_free(files);
	return r;
}

int
sg_audit_files_paths(const char *const *paths, size_t n, struct sg_audit_files **filesp)
{
	struct sg_audit_files *files = NULL;
	size_t alloc = 0, alloc_aside = 0, i;
	const char *name;
	struct stat st;
	unsigned int number;
	int all_numbered = 1, r;

	if (filesp == NULL)
		return SG_ERR_INVALID_ARG;
	*filesp = NULL;
	if (paths == NULL && n > 0)
		return SG_ERR_INVALID_ARG;
	if ((files = calloc(1, sizeof(*files))) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if (paths[i] == NULL || *paths[i] == '\0') {
			r = SG_ERR_INVALID_ARG;
			goto out;
		}
		name = strrchr(paths[i], '/') != NULL ? strrchr(paths[i], '/') + 1 : paths[i];
		if (is_torn_name(name)) {
			if ((r = add_set_aside(files, &alloc_aside, name)) != 0)
				goto out;
			continue;
		}
		if (stat(paths[i], &st) != 0) {
			r = err_from_errno(errno);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			r = S_ISDIR(st.st_mode) ? SG_ERR_INVALID_ARG : SG_ERR_IO;
			goto out;
		}
		if (!is_log_name(name, &number)) {
			number = 0;
			all_numbered = 0;
		}
		if ((r = add_file(files, &alloc, NULL, paths[i], number, (uint64_t)st.st_size)) != 0)
			goto out;
	}
	if (all_numbered && files->n > 1) {
		qsort(files->files, files->n, sizeof(files->files[0]), cmp_file_number);
		for (i = 1; i < files->n; i++) {
			if (files->files[i].number == files->files[i - 1].number) {
				r = SG_ERR_INVALID_ARG;
				goto out;
			}
		}
	} else if (!all_numbered) {
		/* Numbers of a partly numbered list mean nothing: none checked. */
		for (i = 0; i < files->n; i++)
			files->files[i].number = 0;
	}
	if (files->n_set_aside > 1)
		qsort(files->set_aside, files->n_set_aside, sizeof(char *), cmp_str);
	*filesp = files;
	files = NULL;
	r = 0;
 out:
	sg_audit_files_free(files);
	return r;
}

/*
 * The line reader.
 */

struct sg_audit_reader {
	const struct sg_audit_files *files;
	size_t next_file;		/* the next one to open */
	size_t cur;			/* the open one */
	int fd;
	uint64_t left;			/* bytes of cur not read yet */
	uint64_t line_no;
	size_t chunk_pos, chunk_len;
	unsigned char chunk[READ_CHUNK];
	char line[SG_AUDIT_LINE_MAX];	/* at most LINE_MAX - 1 bytes and a NUL */
};

int
sg_audit_reader_open(const struct sg_audit_files *files, size_t first_file,
    struct sg_audit_reader **rp)
{
	struct sg_audit_reader *rd;

	if (rp == NULL)
		return SG_ERR_INVALID_ARG;
	*rp = NULL;
	if (files == NULL || first_file > files->n)
		return SG_ERR_INVALID_ARG;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return SG_ERR_ALLOC;
	rd->files = files;
	rd->next_file = first_file;
	rd->fd = -1;
	*rp = rd;
	return 0;
}

void
sg_audit_reader_free(struct sg_audit_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd);
}

static int
reader_open_next(struct sg_audit_reader *rd)
{
	const struct sg_audit_file *f = &rd->files->files[rd->next_file];

	rd->cur = rd->next_file++;
	if ((rd->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_from_errno(errno);
	rd->left = f->size;
	rd->line_no = 0;
	rd->chunk_pos = rd->chunk_len = 0;
	return 0;
}

/* More bytes of the current file into chunk: 1, 0 at its (listed) end. */
static int
reader_fill(struct sg_audit_reader *rd)
{
	size_t want;
	ssize_t got;

	if (rd->left == 0)
		return 0;
	want = rd->left < READ_CHUNK ? (size_t)rd->left : READ_CHUNK;
	while ((got = read(rd->fd, rd->chunk, want)) < 0) {
		if (errno != EINTR)
			return err_from_errno(errno);
	}
	if (got == 0) {
		rd->left = 0;	/* shorter than listed: what is there is read */
		return 0;
	}
	rd->chunk_pos = 0;
	rd->chunk_len = (size_t)got;
	rd->left -= (uint64_t)got;
	return 1;
}

int
sg_audit_reader_next(struct sg_audit_reader *rd, struct sg_audit_line *line)
{
	const size_t room_max = sizeof(rd->line) - 1;
	const unsigned char *start, *nl;
	size_t len, take, room;
	int ended, too_long, r;

	if (rd == NULL || line == NULL)
		return SG_ERR_INVALID_ARG;
	memset(line, 0, sizeof(*line));
	for (;;) {
		if (rd->fd < 0) {
			if (rd->next_file >= rd->files->n)
				return 0;
			if ((r = reader_open_next(rd)) != 0) {
				line->file = rd->cur;
				return r;
			}
		}
		len = 0;
		ended = too_long = 0;
		while (!ended) {
			if (rd->chunk_pos == rd->chunk_len) {
				if ((r = reader_fill(rd)) < 0) {
					line->file = rd->cur;
					return r;
				}
				if (r == 0)
					break;
			}
			start = rd->chunk + rd->chunk_pos;
			nl = memchr(start, '\n', rd->chunk_len - rd->chunk_pos);
			take = nl != NULL ? (size_t)(nl - start) : rd->chunk_len - rd->chunk_pos;
			room = room_max - len;
			if (take > room)
				too_long = 1;
			memcpy(rd->line + len, start, take < room ? take : room);
			len += take < room ? take : room;
			rd->chunk_pos += take;
			if (nl != NULL) {
				rd->chunk_pos++;
				ended = 1;
			}
		}
		if (!ended) {
			close(rd->fd);
			rd->fd = -1;
			if (len == 0 && !too_long)
				continue;	/* the file ended on a line end */
		}
		rd->line[len] = '\0';
		line->text = rd->line;
		line->len = len;
		line->file = rd->cur;
		line->line_no = ++rd->line_no;
		line->torn = !ended;
		line->too_long = too_long;
		return 1;
	}
}

/*
 * Entries.
 */

/* The line as a JSON object, or NULL (not JSON, an embedded NUL, not an
 * object, or out of memory). */
static cJSON *
parse_object(const struct sg_audit_line *line)
{
	cJSON *obj;

	if (line->too_long || line->torn || strlen(line->text) != line->len)
		return NULL;
	if ((obj = cJSON_ParseWithOpts(line->text, NULL, 1)) == NULL)
		return NULL;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* An entry's seq, or 0 when it has none that is an integer in 1..2^53. */
static uint64_t
entry_seq(const cJSON *obj)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	double v;

	if (!cJSON_IsNumber(item))
		return 0;
	v = item->valuedouble;
	if (!(v >= 1 && v <= SEQ_MAX) || (double)(uint64_t)v != v)
		return 0;
	return (uint64_t)v;
}

/* The string value of member name, or NULL (absent, null or not a string). */
static const char *
entry_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

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
	if (entry_seq(obj) == 0 || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "time")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "type")))
		return 0;
	outcome = entry_str(obj, "outcome");
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
	if (item == NULL || !cJSON_IsString(item) || strlen(item->valuestring) != HASH_HEX_LEN ||
	    !is_hex_lower(item->valuestring, HASH_HEX_LEN))
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
line_hash(const struct sg_audit_line *line, char out[HASH_HEX_LEN + 1])
{
	const char *tag;

	if (line->len <= HASH_SUFFIX_LEN + 1 || line->text[0] != '{')
		return 0;
	tag = line->text + line->len - HASH_SUFFIX_LEN;
	if (memcmp(tag, HASH_TAG, sizeof(HASH_TAG) - 1) != 0 ||
	    memcmp(tag + sizeof(HASH_TAG) - 1 + HASH_HEX_LEN, "\"}", 2) != 0 ||
	    !is_hex_lower(tag + sizeof(HASH_TAG) - 1, HASH_HEX_LEN))
		return 0;
	memcpy(out, tag + sizeof(HASH_TAG) - 1, HASH_HEX_LEN);
	out[HASH_HEX_LEN] = '\0';
	return 1;
}

/* SHA-256 of the canonical form: the line without ,"hash":"<64 hex>"
 * before its final "}". */
static int
canonical_hash(const struct sg_audit_line *line, char out[HASH_HEX_LEN + 1])
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
	const char *alg = entry_str(obj, "alg"), *sig_b64 = entry_str(obj, "signature");
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
	    !serial_matches(entry_str(obj, "cert_serial"), v->want_serial)) {
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
	char hash[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];
	const char *prev;
	enum sg_audit_break why;
	cJSON *obj = NULL;
	uint64_t seq = 0;
	int boundary, is_signed, r;

	if (line->file >= v->missing_before) {
		obj = parse_object(line);
		seq = obj != NULL ? entry_seq(obj) : 0;
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
	if ((obj = parse_object(line)) == NULL || !line_hash(line, hash) ||
	    !entry_shape_ok(obj, hash)) {
		seq = obj != NULL ? entry_seq(obj) : 0;
		r = v->pending ? settle_pending(v, 0) :
		    verdict(v, SG_AUDIT_NOT_ENTRY, seq, line->file, line->line_no);
		goto out;
	}
	seq = entry_seq(obj);
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
	prev = entry_str(obj, "prev");
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
	if (strcmp(entry_str(obj, "type"), "checkpoint") == 0 &&
	    strcmp(entry_str(obj, "outcome"), "ok") == 0) {
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
	if (res->unsealed++ == 0 && !entry_time(obj, &res->first_unsealed_ms))
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

/*
 * Times.
 */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil): no timegm, no TZ, no locale. */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static unsigned int
days_in_month(int64_t y, unsigned int m)
{
	static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* n decimal digits at *sp into *vp; advances *sp. */
static int
take_digits(const char **sp, int n, unsigned int *vp)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*sp)[i] < '0' || (*sp)[i] > '9')
			return 0;
		v = v * 10 + (unsigned int)((*sp)[i] - '0');
	}
	*sp += n;
	*vp = v;
	return 1;
}

static int
take_char(const char **sp, const char *allowed)
{
	if (**sp == '\0' || strchr(allowed, **sp) == NULL)
		return 0;
	(*sp)++;
	return 1;
}

int
sg_audit_parse_time(const char *s, int64_t *msp)
{
	unsigned int year, month, day, hour = 0, min = 0, sec = 0, ms = 0, oh, om, digit;
	int64_t offset_s = 0, sign;
	int frac_digits = 0;

	if (s == NULL || msp == NULL)
		return SG_ERR_INVALID_ARG;
	if (!take_digits(&s, 4, &year) || !take_char(&s, "-") || !take_digits(&s, 2, &month) ||
	    !take_char(&s, "-") || !take_digits(&s, 2, &day) ||
	    month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return SG_ERR_PARSE;
	if (*s != '\0') {
		if (!take_char(&s, "Tt ") || !take_digits(&s, 2, &hour) || !take_char(&s, ":") ||
		    !take_digits(&s, 2, &min) || !take_char(&s, ":") ||
		    !take_digits(&s, 2, &sec) || hour > 23 || min > 59 || sec > 60)
			return SG_ERR_PARSE;
		if (take_char(&s, ".")) {
			while (take_digits(&s, 1, &digit)) {
				if (++frac_digits <= 3)
					ms = ms * 10 + digit;
			}
			if (frac_digits == 0)
				return SG_ERR_PARSE;
			for (; frac_digits < 3; frac_digits++)
				ms *= 10;
		}
		if (take_char(&s, "Zz"))
			offset_s = 0;
		else if (*s == '+' || *s == '-') {
			sign = *s == '-' ? -1 : 1;
			s++;
			if (!take_digits(&s, 2, &oh) || !take_char(&s, ":") ||
			    !take_digits(&s, 2, &om) || oh > 23 || om > 59)
				return SG_ERR_PARSE;
			offset_s = sign * (int64_t)(oh * 3600 + om * 60);
		} else
			return SG_ERR_PARSE;
		if (*s != '\0')
			return SG_ERR_PARSE;
	}
	*msp = ((days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec) -
	    offset_s) * 1000 + ms;
	return 0;
}

int
sg_audit_parse_month(const char *s, int *yearp, int *monthp)
{
	unsigned int year, month;

	if (s == NULL || yearp == NULL || monthp == NULL)
		return SG_ERR_INVALID_ARG;
	if (!take_digits(&s, 4, &year) || !take_char(&s, "-") || !take_digits(&s, 2, &month) ||
	    *s != '\0' || year < 1970 || month < 1 || month > 12)
		return SG_ERR_PARSE;
	*yearp = (int)year;
	*monthp = (int)month;
	return 0;
}

/*
 * Query.
 */

void
sg_audit_filter_init(struct sg_audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->from_ms = SG_AUDIT_TIME_OPEN_FROM;
	f->to_ms = SG_AUDIT_TIME_OPEN_TO;
}

static int
str_matches(const cJSON *obj, const char *name, const char *want)
{
	const char *have;

	if (want == NULL)
		return 1;
	have = entry_str(obj, name);
	return have != NULL && strcmp(have, want) == 0;
}

/* 1 and the entry's time in Unix ms, or 0 when it has none that parses. */
static int
entry_time(const cJSON *obj, int64_t *msp)
{
	const char *t = entry_str(obj, "time");

	return t != NULL && sg_audit_parse_time(t, msp) == 0;
}

static int
filter_matches(const struct sg_audit_filter *f, const cJSON *obj, uint64_t seq)
{
	int64_t ms;

	if (f == NULL)
		return 1;
	if (seq <= f->after_seq)
		return 0;
	if (!str_matches(obj, "client", f->client) || !str_matches(obj, "identity", f->identity) ||
	    !str_matches(obj, "type", f->type) || !str_matches(obj, "outcome", f->outcome))
		return 0;
	if (f->from_ms != SG_AUDIT_TIME_OPEN_FROM || f->to_ms != SG_AUDIT_TIME_OPEN_TO) {
		if (!entry_time(obj, &ms) || ms < f->from_ms || ms >= f->to_ms)
			return 0;
	}
	return 1;
}

/* *seqp: seq of the first entry of files->files[i], 0 when it has none. */
static int
first_seq(const struct sg_audit_files *files, size_t i, uint64_t *seqp)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	cJSON *obj;
	int r;

	*seqp = 0;
	if ((r = sg_audit_reader_open(files, i, &rd)) != 0)
		return r;
	if ((r = sg_audit_reader_next(rd, &line)) == 1 && line.file == i &&
	    (obj = parse_object(&line)) != NULL) {
		*seqp = entry_seq(obj);
		cJSON_Delete(obj);
	}
	sg_audit_reader_free(rd);
	return r < 0 ? r : 0;
}

/* Seqs only grow along the files: every file before the last one that
 * starts at or below after_seq + 1 holds nothing past after_seq. */
static int
start_file(const struct sg_audit_files *files, uint64_t after_seq, size_t *startp)
{
	uint64_t seq;
	size_t i;
	int r;

	*startp = 0;
	if (after_seq == 0)
		return 0;
	for (i = 1; i < files->n; i++) {
		if ((r = first_seq(files, i, &seq)) != 0)
			return r;
		if (seq == 0 || seq > after_seq + 1)
			break;
		*startp = i;
	}
	return 0;
}

int
sg_audit_each(const struct sg_audit_files *files, const struct sg_audit_filter *f,
    sg_audit_each_fn fn, void *arg)
{
	struct sg_audit_reader *rd = NULL;
	struct sg_audit_line line;
	size_t start;
	uint64_t seq;
	cJSON *obj;
	int r;

	if (files == NULL || fn == NULL)
		return SG_ERR_INVALID_ARG;
	if ((r = start_file(files, f != NULL ? f->after_seq : 0, &start)) != 0 ||
	    (r = sg_audit_reader_open(files, start, &rd)) != 0)
		goto out;
	while ((r = sg_audit_reader_next(rd, &line)) == 1) {
		if ((obj = parse_object(&line)) == NULL)
			continue;
		if ((seq = entry_seq(obj)) != 0 && filter_matches(f, obj, seq))
			r = fn(arg, obj, line.text, line.len);
		else
			r = 0;
		cJSON_Delete(obj);
		if (r != 0)
			break;
	}
	if (r > 0)
		r = 0;
 out:
	sg_audit_reader_free(rd);
	return r;
}

struct query_page {
	cJSON *entries;
	unsigned int limit, taken;
	uint64_t last_seq;
	uint64_t next_after_seq;
};

static int
collect_entry(void *arg, const cJSON *entry, const char *line, size_t len)
{
	struct query_page *page = arg;
	cJSON *copy;

	if (page->taken == page->limit) {
		/* One more matches: there is a next page. */
		page->next_after_seq = page->last_seq;
		return 1;
	}
	if ((copy = cJSON_Duplicate(entry, 1)) == NULL)
		return SG_ERR_ALLOC;
	cJSON_AddItemToArray(page->entries, copy);
	page->taken++;
	page->last_seq = entry_seq(entry);
	return 0;
}

int
sg_audit_query(const struct sg_audit_files *files, const struct sg_audit_filter *f,
    unsigned int limit, cJSON **entriesp, uint64_t *next_after_seqp)
{
	struct query_page page;
	int r;

	if (entriesp == NULL || next_after_seqp == NULL)
		return SG_ERR_INVALID_ARG;
	*entriesp = NULL;
	*next_after_seqp = 0;
	if (limit > SG_AUDIT_QUERY_LIMIT_MAX || files == NULL)
		return SG_ERR_INVALID_ARG;
	memset(&page, 0, sizeof(page));
	page.limit = limit == 0 ? SG_AUDIT_QUERY_LIMIT_DEFAULT : limit;
	if ((page.entries = cJSON_CreateArray()) == NULL)
		return SG_ERR_ALLOC;
	if ((r = sg_audit_each(files, f, collect_entry, &page)) != 0) {
		cJSON_Delete(page.entries);
		return r;
	}
	*entriesp = page.entries;
	*next_after_seqp = page.next_after_seq;
	return 0;
}

/*
 * Counts.
 */

void
sg_audit_counts_free(struct sg_audit_counts *counts)
{
	size_t i;

	if (counts == NULL)
		return;
	for (i = 0; i < counts->n; i++) {
		free(counts->rows[i].identity);
		free(counts->rows[i].client);
	}
	free(counts->rows);
	free(counts);
}

/* NULL sorts first. */
static int
cmp_nullable(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

struct counter {
	struct sg_audit_counts *counts;
	size_t alloc;
	enum sg_audit_group by;
};

/* The row for (identity, client), inserted in order when new. */
static int
count_row(struct counter *c, const char *identity, const char *client,
    struct sg_audit_count_row **rowp)
{
	struct sg_audit_counts *counts = c->counts;
	struct sg_audit_count_row *grown, fresh;
	size_t lo = 0, hi = counts->n, mid;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = cmp_nullable(counts->rows[mid].identity, identity);
		if (cmp == 0)
			cmp = cmp_nullable(counts->rows[mid].client, client);
		if (cmp == 0) {
			*rowp = &counts->rows[mid];
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (counts->n >= COUNT_ROWS_MAX)
		return SG_ERR_TOO_LARGE;
	if (counts->n == c->alloc) {
		c->alloc = c->alloc == 0 ? 16 : c->alloc * 2;
		if ((grown = reallocarray(counts->rows, c->alloc, sizeof(*grown))) == NULL)
			return SG_ERR_ALLOC;
		counts->rows = grown;
	}
	memset(&fresh, 0, sizeof(fresh));
	if ((identity != NULL && (fresh.identity = strdup(identity)) == NULL) ||
	    (client != NULL && (fresh.client = strdup(client)) == NULL)) {
		free(fresh.identity);
		return SG_ERR_ALLOC;
	}
	memmove(&counts->rows[lo + 1], &counts->rows[lo], (counts->n - lo) * sizeof(fresh));
	counts->rows[lo] = fresh;
	counts->n++;
	*rowp = &counts->rows[lo];
	return 0;
}

static int
count_entry(void *arg, const cJSON *entry, const char *line, size_t len)
{
	struct counter *c = arg;
	struct sg_audit_count_row *row;
	const char *type = entry_str(entry, "type");
	const cJSON *replay = cJSON_GetObjectItemCaseSensitive(entry, "replay");
	int r;

	/* The filter took outcome ok and the month. */
	if (type == NULL || (replay != NULL && !cJSON_IsNull(replay)))
		return 0;
	if (strcmp(type, "stamp") != 0 && strcmp(type, "sign") != 0 && strcmp(type, "soap") != 0)
		return 0;
	if ((r = count_row(c, c->by == SG_AUDIT_BY_CLIENT ? NULL : entry_str(entry, "identity"),
	    c->by == SG_AUDIT_BY_IDENTITY ? NULL : entry_str(entry, "client"), &row)) != 0)
		return r;
	if (strcmp(type, "stamp") == 0)
		row->stamps++;
	else if (strcmp(type, "sign") == 0)
		row->signatures++;
	else
		row->soap++;
	return 0;
}

int
sg_audit_counts(const struct sg_audit_files *files, int year, int month,
    enum sg_audit_group by, struct sg_audit_counts **countsp)
{
	struct sg_audit_filter f;
	struct counter c;
	int r;

	if (countsp == NULL)
		return SG_ERR_INVALID_ARG;
	*countsp = NULL;
	if (files == NULL || year < 1970 || year > 9999 || month < 1 || month > 12 ||
	    (by != SG_AUDIT_BY_IDENTITY_CLIENT && by != SG_AUDIT_BY_IDENTITY &&
	    by != SG_AUDIT_BY_CLIENT))
		return SG_ERR_INVALID_ARG;
	memset(&c, 0, sizeof(c));
	c.by = by;
	if ((c.counts = calloc(1, sizeof(*c.counts))) == NULL)
		return SG_ERR_ALLOC;
	c.counts->year = year;
	c.counts->month = month;
	sg_audit_filter_init(&f);
	f.outcome = "ok";
	f.from_ms = days_from_civil(year, (unsigned int)month, 1) * 86400 * 1000;
	f.to_ms = (month == 12 ? days_from_civil(year + 1, 1, 1) :
	    days_from_civil(year, (unsigned int)month + 1, 1)) * 86400 * 1000;
	if ((r = sg_audit_each(files, &f, count_entry, &c)) != 0)
		goto out;
	*countsp = c.counts;
	c.counts = NULL;
	r = 0;
 out:
	sg_audit_counts_free(c.counts);
	return r;
}

static int
add_nullable(cJSON *obj, const char *name, const char *value)
{
	if (value == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL;
	return cJSON_AddStringToObject(obj, name, value) != NULL;
}

cJSON *
sg_audit_counts_json(const struct sg_audit_counts *counts, enum sg_audit_group by)
{
	const struct sg_audit_count_row *row;
	cJSON *obj = NULL, *list, *item;
	char month[16];
	size_t i;
	int n, ok = 1;

	if (counts == NULL)
		return NULL;
	n = snprintf(month, sizeof(month), "%04d-%02d", counts->year, counts->month);
	if (n < 0 || (size_t)n >= sizeof(month) || (obj = cJSON_CreateObject()) == NULL)
		return NULL;
	ok &= cJSON_AddStringToObject(obj, "month", month) != NULL;
	if ((list = cJSON_AddArrayToObject(obj, "counts")) == NULL)
		goto fail;
	for (i = 0; i < counts->n && ok; i++) {
		row = &counts->rows[i];
		if ((item = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(list, item);
		if (by != SG_AUDIT_BY_CLIENT)
			ok &= add_nullable(item, "identity", row->identity);
		if (by != SG_AUDIT_BY_IDENTITY)
			ok &= add_nullable(item, "client", row->client);
		ok &= cJSON_AddNumberToObject(item, "stamps", (double)row->stamps) != NULL;
		ok &= cJSON_AddNumberToObject(item, "signatures", (double)row->signatures) != NULL;
		ok &= cJSON_AddNumberToObject(item, "soap", (double)row->soap) != NULL;
	}
	if (ok)
		return obj;
 fail:
	cJSON_Delete(obj);
	return NULL;
}
