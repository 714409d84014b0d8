/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a hard cap fixed at creation, for anything
 * that holds outside input: appending past the cap fails, nothing is
 * truncated silently. The buffer owns its bytes. */
#ifndef SG_BUF_H
#define SG_BUF_H

#include <stddef.h>

struct sg_buf {
	unsigned char *data;
	size_t len;
	size_t alloc;
	size_t cap;		/* hard upper bound on len */
	int secret;		/* wipe on free and on growth */
};

/* Initialise an empty buffer that may hold at most cap bytes. */
void sg_buf_init(struct sg_buf *b, size_t cap);
/* Like sg_buf_init; the contents are wiped whenever they are released. */
void sg_buf_init_secret(struct sg_buf *b, size_t cap);
/* Append n bytes. SG_ERR_TOO_LARGE past the cap, SG_ERR_ALLOC; on error
 * the buffer is unchanged. */
int sg_buf_append(struct sg_buf *b, const void *p, size_t n);
int sg_buf_append_str(struct sg_buf *b, const char *s);
int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Keep storage, drop contents (wiped for secret buffers). */
void sg_buf_reset(struct sg_buf *b);
/* NUL-terminated view of the contents (the NUL is not counted in len). */
const char *sg_buf_str(struct sg_buf *b);
/* Hand the bytes over to the caller (free with free(), or sg_free_secret
 * for secret buffers); the buffer is left empty. NUL-terminated. */
unsigned char *sg_buf_steal(struct sg_buf *b, size_t *lenp);
void sg_buf_free(struct sg_buf *b);

#endif
