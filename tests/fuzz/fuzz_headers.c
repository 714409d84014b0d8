/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness: the header values and URL parts the gateway reads
 * itself (gw_headers.c, and gw_idem_key_valid). The input is one header
 * value; each parser sees it. The contract:
 *  - Content-Type: a value that passes starts with the media type asked
 *    for, and the action it yields is shorter than its buffer, holds no
 *    control character and appears in the value (escapes aside, it is
 *    never longer than the value);
 *  - SOAPAction: what passes holds no control character and is no longer
 *    than the value;
 *  - X-Request-Id and Idempotency-Key: what passes is 1 to the maximum of
 *    characters that cannot break a log line or a header;
 *  - percent-decoding never grows the text, never puts a NUL inside it,
 *    and leaves text without '%' as it was. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw.h"
#include "gw_headers.h"
#include "gw_idem.h"
#include "gw_wssec_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A control character other than HTAB (field text may hold a tab). */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 1;
	}
	return 0;
}

static void
content_type(const char *v, const char *want)
{
	char action[GW_WSSEC_ACTION_MAX + 1];

	if (gw_content_type_parse(v, want, action, sizeof(action)) != 0)
		return;
	if (strncasecmp(v, want, strlen(want)) != 0 || !gw_media_type_is(v, want) ||
	    memchr(action, '\0', sizeof(action)) == NULL || has_ctl(action) ||
	    strlen(action) > strlen(v))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v, *copy, action[GW_WSSEC_ACTION_MAX + 1];
	size_t n, len;

	/* A header value is text: libmicrohttpd hands over NUL-terminated
	 * strings, so an input's NUL ends it there. */
	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	len = strlen(v);

	content_type(v, "application/soap+xml");
	content_type(v, "text/xml");
	if (gw_media_type_is(v, "application/json") && strncasecmp(v, "application/json", 16) != 0)
		abort();

	if (gw_soap_action_value(v, action, sizeof(action)) == 0) {
		n = strlen(action);
		if (has_ctl(action) || n > len)
			abort();
	}

	if (gw_request_id_valid(v) &&
	    (len < 1 || len > GW_REQUEST_ID_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_.:") != len))
		abort();
	if (gw_idem_key_valid(v) && (len < 1 || len > GW_IDEM_KEY_MAX || has_ctl(v) ||
	    strpbrk(v, " \t\x7f") != NULL))
		abort();

	if ((copy = strdup(v)) != NULL) {
		n = gw_percent_decode(copy);
		if (n > len || strlen(copy) != n ||
		    (strchr(v, '%') == NULL && strcmp(copy, v) != 0))
			abort();
		free(copy);
	}
	free(v);
	return 0;
}
