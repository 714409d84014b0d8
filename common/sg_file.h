/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a size cap, atomic writes (temporary file in
 * the same directory, fsync, rename, fsync of the directory) so a reader
 * never sees half a file, and unlinked temporary files for bodies too
 * large to hold in memory. */
#ifndef SG_FILE_H
#define SG_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read path into a new NUL-terminated buffer (free()); SG_ERR_TOO_LARGE
 * past cap bytes, SG_ERR_NOT_FOUND, SG_ERR_PERMISSION, SG_ERR_IO. */
int sg_file_read(const char *path, size_t cap, unsigned char **datap, size_t *lenp);
/* Replace path with data, durably, with the given mode. On error the old
 * file (if any) is untouched and no temporary file is left. */
int sg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Read or write exactly len bytes at offset off of fd (its own offset
 * untouched), retrying short transfers: 0, or SG_ERR_IO (also for end of
 * file before len bytes). */
int sg_file_pread_all(int fd, uint64_t off, void *buf, size_t len);
int sg_file_pwrite_all(int fd, uint64_t off, const void *buf, size_t len);

/* Write all len bytes of data to fd (retrying short writes and EINTR).
 * SG_ERR_IO (disk full, I/O error), SG_ERR_PERMISSION. */
int sg_file_write_all(int fd, const void *data, size_t len);
/* Where temporary files go: $TMPDIR when it is an absolute path, else
 * /tmp. get0 (static or the environment's). */
const char *sg_file_tmp_dir(void);
/* A new read-write temporary file in sg_file_tmp_dir() that has no name
 * (gone when *fdp is closed), mode 0600. SG_ERR_IO, SG_ERR_PERMISSION. */
int sg_file_tmp(int *fdp);

#endif
