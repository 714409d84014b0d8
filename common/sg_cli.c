/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "sg_cli.h"
#include "sg_log.h"

int
sg_cli_vfail(char *line, size_t linelen, const char *what, const char *why_fmt, va_list ap)
{
	char why[512];

	if (vsnprintf(why, sizeof(why), why_fmt, ap) < 0)
		why[0] = '\0';
	fprintf(stderr, "%s: %s: %s\n", sg_log_progname(), what, why);
	if (line != NULL && linelen > 0 &&
	    snprintf(line, linelen, "%s: %s", what, why) >= (int)linelen)
		line[linelen - 1] = '\0';
	return SG_EXIT_FAIL;
}

int
sg_cli_fail(const char *what, const char *why_fmt, ...)
{
	va_list ap;

	va_start(ap, why_fmt);
	(void)sg_cli_vfail(NULL, 0, what, why_fmt, ap);
	va_end(ap);
	return SG_EXIT_FAIL;
}

int
sg_cli_usage(const char *why_fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, why_fmt);
	if (vsnprintf(why, sizeof(why), why_fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
	fprintf(stderr, "%s: usage: %s (see --help)\n", sg_log_progname(), why);
	return SG_EXIT_USAGE;
}
