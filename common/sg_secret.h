/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets: wiping, constant-time comparison, and reading PINs and tokens
 * from files (refusing group/world-readable ones) or the environment. */
#ifndef SG_SECRET_H
#define SG_SECRET_H

#include <stddef.h>

/* Longest secret accepted from a file or the environment. */
#define SG_SECRET_MAX 256

/* Overwrite n bytes in a way the compiler cannot drop. */
void sg_memzero(void *p, size_t n);
/* Wipe a NUL-terminated string and free it; NULL is fine. */
void sg_free_secret_str(char *s);
/* 1 when a and b (n bytes each) are equal; time independent of contents. */
int sg_ct_equal(const void *a, const void *b, size_t n);

/* Read a secret from path: the first line, without its line end. The file
 * must be a regular file not readable or writable by group or others
 * (SG_ERR_PERMISSION), at most SG_SECRET_MAX bytes (SG_ERR_TOO_LARGE) and
 * not empty (SG_ERR_PARSE). *secretp is a new string; free it with
 * sg_free_secret_str. */
int sg_secret_read_file(const char *path, char **secretp);
/* Take the secret in environment variable name (SG_ERR_NOT_FOUND if unset
 * or empty): a copy in *secretp, the value wiped where it was (so that
 * /proc/PID/environ no longer shows it) and the variable unset. */
int sg_secret_take_env(const char *name, char **secretp);

#endif
