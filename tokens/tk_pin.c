/* SPDX-License-Identifier: Apache-2.0 */
/* PIN sources for sealgate-token (see tk_pin.h). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sg_err.h"
#include "sg_secret.h"
#include "tk_pin.h"

static int
prompt_tty(const char *prompt, char **pinp)
{
	char line[SG_SECRET_MAX + 2];
	struct termios saved, quiet;
	size_t len = 0;
	ssize_t n;
	char c;
	int fd, r = SG_ERR_IO;

	*pinp = NULL;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return SG_ERR_NOT_FOUND;
	if (tcgetattr(fd, &saved) != 0) {
		close(fd);
		return SG_ERR_NOT_FOUND;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto out;
	while ((n = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r') {
		if (len >= SG_SECRET_MAX) {
			r = SG_ERR_TOO_LARGE;
			goto restore;
		}
		line[len++] = c;
	}
	if (n < 0)
		goto restore;
	line[len] = '\0';
	if (len == 0) {
		r = SG_ERR_PARSE;
		goto restore;
	}
	if ((*pinp = strdup(line)) == NULL) {
		r = SG_ERR_ALLOC;
		goto restore;
	}
	r = 0;
 restore:
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	(void)!write(fd, "\n", 1);
 out:
	sg_memzero(line, sizeof(line));
	close(fd);
	return r;
}

int
tk_pin_get(const char *file, const char *env_name, const char *prompt, int confirm,
    char **pinp, const char **why)
{
	char *again = NULL;
	int r;

	*pinp = NULL;
	*why = NULL;
	if (file != NULL) {
		if ((r = sg_secret_read_file(file, pinp)) != 0)
			*why = r == SG_ERR_PERMISSION ?
			    "PIN file must be a regular file readable by its owner only" :
			    r == SG_ERR_NOT_FOUND ? "PIN file not found" :
			    r == SG_ERR_PARSE ? "PIN file is empty" : sg_strerror(r);
		return r;
	}
	if (env_name != NULL && (r = sg_secret_take_env(env_name, pinp)) != SG_ERR_NOT_FOUND) {
		/* Child processes need not inherit it. */
		unsetenv(env_name);
		if (r != 0)
			*why = sg_strerror(r);
		return r;
	}
	if ((r = prompt_tty(prompt, pinp)) != 0) {
		*why = r == SG_ERR_NOT_FOUND ? "no PIN file, no environment variable and no terminal" :
		    sg_strerror(r);
		return r;
	}
	if (!confirm)
		return 0;
	if ((r = prompt_tty("Repeat: ", &again)) != 0 || strcmp(*pinp, again) != 0) {
		*why = r != 0 ? sg_strerror(r) : "the two entries differ";
		sg_free_secret_str(*pinp);
		*pinp = NULL;
		sg_free_secret_str(again);
		return r != 0 ? r : SG_ERR_PIN_INVALID;
	}
	sg_free_secret_str(again);
	return 0;
}
