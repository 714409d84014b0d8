/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log's files for auditors (see sg_audit_read.h): which files a
 * directory or a list of paths holds, in order, and the bounded line
 * reader over them. Nothing here writes to the log directory or keeps more
 * than one line. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_audit.h"
#include "sg_audit_entry.h"
#include "sg_audit_read.h"
#include "sg_err.h"
#include "sg_log.h"

#define LOCK_NAME	"audit.lock"
#define LOG_NAME_LEN	18		/* audit-NNNNNN.jsonl */
#define TORN_TAG	".torn-"
#define READ_CHUNK	65536

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
