/* SPDX-License-Identifier: Apache-2.0 */
/* The logger behind sg_log.h. Each line is written with one write(2) so
 * lines from concurrent threads never interleave. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sg_err.h"
#include "sg_log.h"

#define LOG_LINE_MAX 2048
#define REQUEST_ID_MAX 64

static const char *log_progname = "sealgate";
static volatile int log_level = SG_LOG_INFO;
static __thread char log_request_id[REQUEST_ID_MAX + 1];

void
sg_log_init(const char *progname, enum sg_log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = level;
}

const char *
sg_log_progname(void)
{
	return log_progname;
}

void
sg_log_set_level(enum sg_log_level level)
{
	log_level = level;
}

enum sg_log_level
sg_log_get_level(void)
{
	return (enum sg_log_level)log_level;
}

void
sg_log_set_request_id(const char *request_id)
{
	if (request_id == NULL) {
		log_request_id[0] = '\0';
		return;
	}
	/* A request id that does not fit is left out, never cut. */
	(void)sg_strfit(log_request_id, sizeof(log_request_id), request_id);
}

const char *
sg_log_request_id(void)
{
	return log_request_id;
}

static const char *
level_name(enum sg_log_level level)
{
	switch (level) {
	case SG_LOG_ERROR: return "error";
	case SG_LOG_WARN: return "warn";
	case SG_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Append text to out (holding len bytes, size bytes in all) with every
 * control character written as \xNN, so that a value from outside (a
 * path, an authority's error text) can never start a line of its own or
 * hide in the terminal. Returns the new length; out stays NUL-terminated. */
static size_t
append_escaped(char *out, size_t size, size_t len, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0' && len + 1 < size; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			out[len++] = (char)*p;
			continue;
		}
		if (len + 4 >= size)
			break;
		out[len++] = '\\';
		out[len++] = 'x';
		out[len++] = hex[*p >> 4];
		out[len++] = hex[*p & 0xf];
	}
	out[len] = '\0';
	return len;
}

void
sg_log_emit(enum sg_log_level level, const char *file, const char *func,
    int line, int r, const char *fmt, ...)
{
	char out[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	char stamp[32];
	struct timespec now;
	struct tm tm;
	size_t len;
	int n;
	va_list ap;
	const char *base = strrchr(file, '/');

	base = base != NULL ? base + 1 : file;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	n = snprintf(out, sizeof(out), "%s.%03ldZ %s[%ld] %s %s:%s:%d%s%s%s ",
	    stamp, now.tv_nsec / 1000000L, log_progname, (long)getpid(),
	    level_name(level), base, func, line,
	    log_request_id[0] != '\0' ? " [" : "", log_request_id,
	    log_request_id[0] != '\0' ? "]" : "");
	if (n < 0)
		return;
	len = (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0)
		len = append_escaped(out, sizeof(out), len, msg);
	if (r != 1 && len < sizeof(out) - 1) {
		n = snprintf(out + len, sizeof(out) - len, ": %s", sg_strerror(r));
		if (n > 0)
			len += (size_t)n < sizeof(out) - len ? (size_t)n : sizeof(out) - len - 1;
	}
	/* A truncated line still ends with a newline. */
	if (len >= sizeof(out) - 1)
		len = sizeof(out) - 2;
	out[len++] = '\n';
	(void)!write(STDERR_FILENO, out, len);
}
