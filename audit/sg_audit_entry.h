/* SPDX-License-Identifier: Apache-2.0 */
/* One audit line's members as the readers (sg_audit_verify.c,
 * sg_audit_query.c) take them; internal to audit/. */
#ifndef SG_AUDIT_ENTRY_H
#define SG_AUDIT_ENTRY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "sg_audit_read.h"

#define SG_AUDIT_HASH_HEX_LEN	64
#define SG_AUDIT_SEQ_MAX	9007199254740992.0	/* 2^53: exact in a double */

/* The line as a JSON object (cJSON_Delete), or NULL (not JSON, an
 * embedded NUL, not an object, or out of memory). */
cJSON *sg_audit_entry_object(const struct sg_audit_line *line);
/* An entry's seq, or 0 when it has none that is an integer in 1..2^53. */
uint64_t sg_audit_entry_seq(const cJSON *obj);
/* The string value of member name, or NULL (absent, null or not a string). */
const char *sg_audit_entry_str(const cJSON *obj, const char *name);
/* 1 and the entry's time in Unix ms, or 0 when it has none that parses. */
int sg_audit_entry_time(const cJSON *obj, int64_t *msp);
/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
int64_t sg_audit_days_from_civil(int64_t y, unsigned int m, unsigned int d);

#endif
