/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded buffers (see sg_buf.h). Growth doubles up to the cap; one spare
 * byte is always kept for a terminating NUL. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_err.h"
#include "sg_secret.h"

static const unsigned char empty_str[1];

void
sg_buf_init(struct sg_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
sg_buf_init_secret(struct sg_buf *b, size_t cap)
{
	sg_buf_init(b, cap);
	b->secret = 1;
}

static int
reserve(struct sg_buf *b, size_t need)
{
	size_t alloc;
	unsigned char *p;

	if (need > b->cap)
		return SG_ERR_TOO_LARGE;
	if (need + 1 <= b->alloc)
		return 0;
	alloc = b->alloc != 0 ? b->alloc : 64;
	while (alloc < need + 1)
		alloc = alloc > ((size_t)-1) / 2 ? need + 1 : alloc * 2;
	if (b->cap < ((size_t)-1) && alloc > b->cap + 1)
		alloc = b->cap + 1;
	if (b->secret) {
		/* Never leave a copy of a secret behind in freed memory. */
		if ((p = malloc(alloc)) == NULL)
			return SG_ERR_ALLOC;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			sg_memzero(b->data, b->alloc);
			free(b->data);
		}
	} else if ((p = realloc(b->data, alloc)) == NULL)
		return SG_ERR_ALLOC;
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int
sg_buf_append(struct sg_buf *b, const void *p, size_t n)
{
	int r;

	if (n > b->cap || b->len > b->cap - n)
		return SG_ERR_TOO_LARGE;
	if ((r = reserve(b, b->len + n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
sg_buf_append_str(struct sg_buf *b, const char *s)
{
	return sg_buf_append(b, s, strlen(s));
}

int
sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;
	size_t room;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return SG_ERR_INTERNAL;
	if ((size_t)n > b->cap || b->len > b->cap - (size_t)n)
		return SG_ERR_TOO_LARGE;
	if ((r = reserve(b, b->len + (size_t)n)) != 0)
		return r;
	room = b->alloc - b->len;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return SG_ERR_INTERNAL;
	b->len += (size_t)n;
	return 0;
}

void
sg_buf_reset(struct sg_buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			sg_memzero(b->data, b->alloc);
		b->data[0] = '\0';
	}
	b->len = 0;
}

const char *
sg_buf_str(struct sg_buf *b)
{
	return b->data != NULL ? (const char *)b->data : (const char *)empty_str;
}

unsigned char *
sg_buf_steal(struct sg_buf *b, size_t *lenp)
{
	unsigned char *p;

	if (b->data == NULL && reserve(b, 0) != 0)
		return NULL;
	b->data[b->len] = '\0';
	p = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

void
sg_buf_free(struct sg_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL && b->secret)
		sg_memzero(b->data, b->alloc);
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}
