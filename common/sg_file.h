/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a size cap, and atomic writes (temporary file in
 * the same directory, fsync, rename, fsync of the directory) so a reader
 * never sees half a file. */
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

/* A new temporary file for reading and writing, already unlinked, in
 * $TMPDIR (else /tmp), mode 0600: *fdp is the caller's to close.
 * SG_ERR_IO. */
int sg_file_temp(int *fdp);

#endif
