/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded reads and atomic durable writes (see sg_file.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_buf.h"
#include "sg_err.h"
#include "sg_file.h"

static int
errno_to_err(int e)
{
	return e == ENOENT ? SG_ERR_NOT_FOUND : e == EACCES || e == EPERM ? SG_ERR_PERMISSION :
	    e == ENOMEM ? SG_ERR_ALLOC : SG_ERR_IO;
}

int
sg_file_read(const char *path, size_t cap, unsigned char **datap, size_t *lenp)
{
	struct sg_buf b;
	char chunk[16384];
	ssize_t n;
	int fd, r = 0;

	*datap = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno_to_err(errno);
	sg_buf_init(&b, cap);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EISDIR ? SG_ERR_INVALID_ARG : SG_ERR_IO;
			break;
		}
		if (n == 0 || (r = sg_buf_append(&b, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
	if (r == 0 && (*datap = sg_buf_steal(&b, lenp)) == NULL)
		r = SG_ERR_ALLOC;
	sg_buf_free(&b);
	return r;
}

static int
fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (copy == NULL)
		return SG_ERR_ALLOC;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = errno_to_err(errno);
	else {
		if (fsync(fd) != 0)
			r = SG_ERR_IO;
		close(fd);
	}
	free(copy);
	return r;
}

int
sg_file_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno != ENOSPC ? errno_to_err(errno) : SG_ERR_IO;
		done += (size_t)n;
	}
	return 0;
}

const char *
sg_file_tmp_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir != NULL && dir[0] == '/' ? dir : "/tmp";
}

int
sg_file_tmp(int *fdp)
{
	char path[4096];
	int fd;

	*fdp = -1;
#ifdef O_TMPFILE
	if ((fd = open(sg_file_tmp_dir(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
		*fdp = fd;
		return 0;
	}
#endif
	/* File systems without O_TMPFILE: a named file, unlinked at once. */
	if (snprintf(path, sizeof(path), "%s/sealgate-XXXXXX", sg_file_tmp_dir()) >=
	    (int)sizeof(path))
		return SG_ERR_INVALID_ARG;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return errno_to_err(errno);
	(void)unlink(path);
	*fdp = fd;
	return 0;
}

int
sg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	ssize_t n;
	int fd, r;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return SG_ERR_INVALID_ARG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		return errno_to_err(errno);
	if ((r = sg_file_write_all(fd, data, len)) != 0)
		goto fail;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		r = SG_ERR_IO;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = SG_ERR_IO;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = errno_to_err(errno);
		goto fail;
	}
	return fsync_dir_of(path);
 fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

/* pread or pwrite until len bytes are done. */
static int
transfer_all(int fd, uint64_t off, unsigned char *rbuf, const unsigned char *wbuf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = rbuf != NULL ? pread(fd, rbuf + done, len - done, (off_t)(off + done)) :
		    pwrite(fd, wbuf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SG_ERR_IO;
		done += (size_t)n;
	}
	return 0;
}

int
sg_file_pread_all(int fd, uint64_t off, void *buf, size_t len)
{
	return transfer_all(fd, off, buf, NULL, len);
}

int
sg_file_pwrite_all(int fd, uint64_t off, const void *buf, size_t len)
{
	return transfer_all(fd, off, NULL, buf, len);
}
