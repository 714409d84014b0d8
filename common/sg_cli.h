/* SPDX-License-Identifier: Apache-2.0 */
/* How the command-line tools (sealgate-token, sealgate-audit, the
 * benchmark) report a failure: one line on stderr, named by the program
 * (sg_log_init's name), and an exit status. */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stdarg.h>
#include <stddef.h>

#define SG_EXIT_OK	0
#define SG_EXIT_FAIL	1	/* the command failed */
#define SG_EXIT_USAGE	2	/* the command line is wrong */

/* Print "<prog>: <what>: <why>" on stderr; returns SG_EXIT_FAIL. */
int sg_cli_fail(const char *what, const char *why_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same; line (when not NULL) also gets "<what>: <why>", cut to
 * linelen with its NUL. */
int sg_cli_vfail(char *line, size_t linelen, const char *what, const char *why_fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));
/* Print "<prog>: usage: <why> (see --help)"; returns SG_EXIT_USAGE. */
int sg_cli_usage(const char *why_fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
