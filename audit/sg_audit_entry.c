/* SPDX-License-Identifier: Apache-2.0 */
/* One audit line as the readers see it (see sg_audit_entry.h): its JSON
 * object and members, and RFC 3339 times. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_audit.h"
#include "sg_audit_entry.h"
#include "sg_audit_read.h"
#include "sg_err.h"

/* The line as a JSON object, or NULL (not JSON, an embedded NUL, not an
 * object, or out of memory). */
cJSON *
sg_audit_entry_object(const struct sg_audit_line *line)
{
	cJSON *obj;

	if (line->too_long || line->torn || strlen(line->text) != line->len)
		return NULL;
	if ((obj = cJSON_ParseWithOpts(line->text, NULL, 1)) == NULL)
		return NULL;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* An entry's seq, or 0 when it has none that is an integer in 1..2^53. */
uint64_t
sg_audit_entry_seq(const cJSON *obj)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	double v;

	if (!cJSON_IsNumber(item))
		return 0;
	v = item->valuedouble;
	if (!(v >= 1 && v <= SG_AUDIT_SEQ_MAX) || (double)(uint64_t)v != v)
		return 0;
	return (uint64_t)v;
}

/* The string value of member name, or NULL (absent, null or not a string). */
const char *
sg_audit_entry_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* 1 and the entry's time in Unix ms, or 0 when it has none that parses. */
int
sg_audit_entry_time(const cJSON *obj, int64_t *msp)
{
	const char *t = sg_audit_entry_str(obj, "time");

	return t != NULL && sg_audit_parse_time(t, msp) == 0;
}

/*
 * Times.
 */

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * sg_audit_days_from_civil): no timegm, no TZ, no locale. */
int64_t
sg_audit_days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static unsigned int
days_in_month(int64_t y, unsigned int m)
{
	static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* n decimal digits at *sp into *vp; advances *sp. */
static int
take_digits(const char **sp, int n, unsigned int *vp)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*sp)[i] < '0' || (*sp)[i] > '9')
			return 0;
		v = v * 10 + (unsigned int)((*sp)[i] - '0');
	}
	*sp += n;
	*vp = v;
	return 1;
}

static int
take_char(const char **sp, const char *allowed)
{
	if (**sp == '\0' || strchr(allowed, **sp) == NULL)
		return 0;
	(*sp)++;
	return 1;
}

int
sg_audit_parse_time(const char *s, int64_t *msp)
{
	unsigned int year, month, day, hour = 0, min = 0, sec = 0, ms = 0, oh, om, digit;
	int64_t offset_s = 0, sign;
	int frac_digits = 0;

	if (s == NULL || msp == NULL)
		return SG_ERR_INVALID_ARG;
	if (!take_digits(&s, 4, &year) || !take_char(&s, "-") || !take_digits(&s, 2, &month) ||
	    !take_char(&s, "-") || !take_digits(&s, 2, &day) ||
	    month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return SG_ERR_PARSE;
	if (*s != '\0') {
		if (!take_char(&s, "Tt ") || !take_digits(&s, 2, &hour) || !take_char(&s, ":") ||
		    !take_digits(&s, 2, &min) || !take_char(&s, ":") ||
		    !take_digits(&s, 2, &sec) || hour > 23 || min > 59 || sec > 60)
			return SG_ERR_PARSE;
		if (take_char(&s, ".")) {
			while (take_digits(&s, 1, &digit)) {
				if (++frac_digits <= 3)
					ms = ms * 10 + digit;
			}
			if (frac_digits == 0)
				return SG_ERR_PARSE;
			for (; frac_digits < 3; frac_digits++)
				ms *= 10;
		}
		if (take_char(&s, "Zz"))
			offset_s = 0;
		else if (*s == '+' || *s == '-') {
			sign = *s == '-' ? -1 : 1;
			s++;
			if (!take_digits(&s, 2, &oh) || !take_char(&s, ":") ||
			    !take_digits(&s, 2, &om) || oh > 23 || om > 59)
				return SG_ERR_PARSE;
			offset_s = sign * (int64_t)(oh * 3600 + om * 60);
		} else
			return SG_ERR_PARSE;
		if (*s != '\0')
			return SG_ERR_PARSE;
	}
	*msp = ((sg_audit_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec) -
	    offset_s) * 1000 + ms;
	return 0;
}

int
sg_audit_parse_month(const char *s, int *yearp, int *monthp)
{
	unsigned int year, month;

	if (s == NULL || yearp == NULL || monthp == NULL)
		return SG_ERR_INVALID_ARG;
	if (!take_digits(&s, 4, &year) || !take_char(&s, "-") || !take_digits(&s, 2, &month) ||
	    *s != '\0' || year < 1970 || month < 1 || month > 12)
		return SG_ERR_PARSE;
	*yearp = (int)year;
	*monthp = (int)month;
	return 0;
}
