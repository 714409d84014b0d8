/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: one line per event on stderr (or a file), with level, source
 * place and the request id of the calling thread. Format-checked. */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>

/* SG_LOG_QUIET: command-line tools print their own one-line errors. */
enum sg_log_level { SG_LOG_QUIET = -1, SG_LOG_ERROR = 0, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

/* Program name shown in each line (borrowed; must outlive logging). */
void sg_log_init(const char *progname, enum sg_log_level level);
const char *sg_log_progname(void);
void sg_log_set_level(enum sg_log_level level);
enum sg_log_level sg_log_get_level(void);
/* Request id for lines logged by this thread; NULL clears it. Copied. */
void sg_log_set_request_id(const char *request_id);
const char *sg_log_request_id(void);

void sg_log_emit(enum sg_log_level level, const char *file, const char *func,
    int line, int r, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define SG_LOG_(lvl, r, ...) do { \
	if ((lvl) <= sg_log_get_level()) \
		sg_log_emit((lvl), __FILE__, __func__, __LINE__, (r), __VA_ARGS__); \
} while (0)

/* r == 1 means "no error code": the _r variants append sg_strerror(r). */
#define sg_error(...)	SG_LOG_(SG_LOG_ERROR, 1, __VA_ARGS__)
#define sg_warn(...)	SG_LOG_(SG_LOG_WARN, 1, __VA_ARGS__)
#define sg_info(...)	SG_LOG_(SG_LOG_INFO, 1, __VA_ARGS__)
#define sg_debug(...)	SG_LOG_(SG_LOG_DEBUG, 1, __VA_ARGS__)
#define sg_error_r(r, ...)	SG_LOG_(SG_LOG_ERROR, (r), __VA_ARGS__)
#define sg_warn_r(r, ...)	SG_LOG_(SG_LOG_WARN, (r), __VA_ARGS__)
#define sg_info_r(r, ...)	SG_LOG_(SG_LOG_INFO, (r), __VA_ARGS__)
#define sg_debug_r(r, ...)	SG_LOG_(SG_LOG_DEBUG, (r), __VA_ARGS__)

#endif
