/* SPDX-License-Identifier: Apache-2.0 */
/* Secret handling (see sg_secret.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sg_err.h"
#include "sg_secret.h"

void
sg_memzero(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	OPENSSL_cleanse(p, n);
#endif
}

void
sg_free_secret_str(char *s)
{
	if (s == NULL)
		return;
	sg_memzero(s, strlen(s));
	free(s);
}

int
sg_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

static size_t
strip_line_end(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r')
			break;
	}
	return i;
}

int
sg_secret_read_file(const char *path, char **secretp)
{
	char raw[SG_SECRET_MAX + 2];
	struct stat st;
	size_t got = 0, len;
	ssize_t n;
	char *secret = NULL;
	int fd, r = SG_ERR_INTERNAL;

	*secretp = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == EACCES ? SG_ERR_PERMISSION :
		    errno == ENOENT ? SG_ERR_NOT_FOUND : SG_ERR_IO;
	if (fstat(fd, &st) != 0) {
		r = SG_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = SG_ERR_PERMISSION;
		goto out;
	}
	while (got < sizeof(raw)) {
		n = read(fd, raw + got, sizeof(raw) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = SG_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	len = strip_line_end(raw, got);
	if (len > SG_SECRET_MAX) {
		r = SG_ERR_TOO_LARGE;
		goto out;
	}
	if (len == 0 || memchr(raw, '\0', len) != NULL) {
		r = SG_ERR_PARSE;
		goto out;
	}
	if ((secret = malloc(len + 1)) == NULL) {
		r = SG_ERR_ALLOC;
		goto out;
	}
	memcpy(secret, raw, len);
	secret[len] = '\0';
	*secretp = secret;
	r = 0;
 out:
	sg_memzero(raw, sizeof(raw));
	close(fd);
	return r;
}

int
sg_secret_take_env(const char *name, char **secretp)
{
	char *v = getenv(name);
	size_t len;

	*secretp = NULL;
	if (v == NULL || *v == '\0')
		return SG_ERR_NOT_FOUND;
	if ((len = strlen(v)) > SG_SECRET_MAX)
		return SG_ERR_TOO_LARGE;
	if ((*secretp = strdup(v)) == NULL)
		return SG_ERR_ALLOC;
	/* The value of a variable the process started with lives in the
	 * block /proc/PID/environ shows: wipe it there, then drop the name. */
	sg_memzero(v, len);
	unsetenv(name);
	return 0;
}
