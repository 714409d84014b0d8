/* SPDX-License-Identifier: Apache-2.0 */
/* What the gateway reads from a request's header lines and URL itself
 * (gw_headers.h has the contracts). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gw.h"
#include "gw_headers.h"
#include "gw_wssec_sign.h"
#include "sg_codec.h"

int
gw_media_type_is(const char *content_type, const char *type)
{
	size_t n = strlen(type);

	return content_type != NULL && strncasecmp(content_type, type, n) == 0 &&
	    (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ' ||
	    content_type[n] == '\t');
}

static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int
token_char(char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* A control character other than HTAB (RFC 9110 §5.5: not field text). */
static int
ctl(char c)
{
	return sg_is_ctl(c) && c != '\t';
}

int
gw_content_type_parse(const char *ct, const char *want, char *action, size_t action_len)
{
	size_t n = strlen(want), len;
	char name[32], value[GW_WSSEC_ACTION_MAX + 1];

	action[0] = '\0';
	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return -1;
	ct = skip_ows(ct + n);
	while (*ct == ';') {
		ct = skip_ows(ct + 1);
		for (len = 0; token_char(ct[len]); len++)
			;
		if (len == 0 || len >= sizeof(name) || ct[len] != '=')
			return -1;
		memcpy(name, ct, len);
		name[len] = '\0';
		ct += len + 1;
		len = 0;
		if (*ct == '"') {
			for (ct++; *ct != '"'; ct++) {
				if (*ct == '\\' && ct[1] != '\0')
					ct++;
				if (*ct == '\0' || ctl(*ct) || len + 1 >= sizeof(value))
					return -1;
				value[len++] = *ct;
			}
			ct++;
		} else {
			for (; token_char(*ct); ct++) {
				if (len + 1 >= sizeof(value))
					return -1;
				value[len++] = *ct;
			}
		}
		value[len] = '\0';
		if (strcasecmp(name, "charset") == 0 && strcasecmp(value, "utf-8") != 0)
			return -1;
		if (strcasecmp(name, "action") == 0 &&
		    snprintf(action, action_len, "%s", value) >= (int)action_len)
			return -1;
		ct = skip_ows(ct);
	}
	return *ct == '\0' ? 0 : -1;
}

int
gw_soap_action_value(const char *h, char *action, size_t action_len)
{
	size_t i, len;

	action[0] = '\0';
	if (h == NULL)
		return 0;
	h = skip_ows(h);
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len >= 2 && h[0] == '"' && h[len - 1] == '"') {
		h++;
		len -= 2;
	}
	if (len >= action_len)
		return -1;
	for (i = 0; i < len; i++) {
		if (ctl(h[i]))
			return -1;
	}
	memcpy(action, h, len);
	action[len] = '\0';
	return 0;
}

int
gw_request_id_valid(const char *id)
{
	size_t i, n;

	if (id == NULL || (n = strlen(id)) == 0 || n > GW_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

size_t
gw_percent_decode(char *s)
{
	char *out = s;
	const char *in = s;
	int hi, lo;

	while (*in != '\0') {
		if (in[0] == '%' && (hi = sg_hex_digit(in[1])) >= 0 && (lo = sg_hex_digit(in[2])) >= 0 &&
		    (hi | lo) != 0) {
			*out++ = (char)(hi << 4 | lo);
			in += 3;
		} else
			*out++ = *in++;
	}
	*out = '\0';
	return (size_t)(out - s);
}
