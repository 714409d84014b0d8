/* SPDX-License-Identifier: Apache-2.0 */
/* Error answers: the one function that turns an SG_ERR_* into an HTTP
 * status and error code, and the JSON bodies of every answer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gw.h"
#include "gw_error.h"
#include "gw_request.h"
#include "sg_err.h"

int
gw_err_status(int r, const char **codep)
{
	switch (r) {
	case SG_ERR_INVALID_ARG:
	case SG_ERR_PARSE:
		*codep = "invalid_request";
		return 400;
	case SG_ERR_HEADERS_TOO_LARGE:
		*codep = "invalid_request";
		return 431;
	case SG_ERR_UNAUTHORIZED:
		*codep = "unauthorized";
		return 401;
	case SG_ERR_FORBIDDEN:
		*codep = "forbidden";
		return 403;
	case SG_ERR_NOT_FOUND:
	case SG_ERR_KEY_NOT_FOUND:
		*codep = "not_found";
		return 404;
	case SG_ERR_METHOD_NOT_ALLOWED:
		*codep = "method_not_allowed";
		return 405;
	case SG_ERR_CONFLICT:
	case SG_ERR_EXISTS:
		*codep = "conflict";
		return 409;
	case SG_ERR_CERT_EXPIRED:
		*codep = "certificate_expired";
		return 409;
	case SG_ERR_TOO_LARGE:
		*codep = "payload_too_large";
		return 413;
	case SG_ERR_MEDIA_TYPE:
		*codep = "unsupported_media_type";
		return 415;
	case SG_ERR_AUDIT:
		*codep = "audit_unavailable";
		return 503;
	case SG_ERR_TOKEN:
	case SG_ERR_TOKEN_LOST:
	case SG_ERR_TOKEN_NOT_FOUND:
	case SG_ERR_MODULE_LOAD:
	case SG_ERR_NOT_LOGGED_IN:
	case SG_ERR_PIN_INCORRECT:
	case SG_ERR_PIN_LOCKED:
	case SG_ERR_PIN_FINAL_TRY:
	case SG_ERR_BUSY:
		*codep = "token_unavailable";
		return 503;
	case SG_ERR_TIMEOUT:
		*codep = "authority_timeout";
		return 504;
	case SG_ERR_AUTHORITY:
		*codep = "authority_error";
		return 502;
	case SG_ERR_UNAVAILABLE:
		*codep = "authority_unavailable";
		return 503;
	default:
		*codep = "internal";
		return 500;
	}
}

void
gw_json(struct gw_response *resp, int status, cJSON *doc)
{
	char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	sg_buf_reset(&resp->body);
	if (text == NULL || sg_buf_append_str(&resp->body, text) != 0 ||
	    sg_buf_append(&resp->body, "\n", 1) != 0) {
		cJSON_free(text);
		sg_buf_reset(&resp->body);
		(void)sg_buf_append_str(&resp->body,
		    "{\"error\":\"internal\",\"error_description\":\"out of memory\"}\n");
		resp->status = 500;
		resp->content_type = "application/json";
		return;
	}
	cJSON_free(text);
	resp->status = status;
	resp->content_type = "application/json";
}

void
gw_error_r(struct gw_response *resp, int r, const char *fmt, ...)
{
	const char *code;
	int status = gw_err_status(r, &code);
	char description[512];
	cJSON *doc = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(description, sizeof(description), fmt, ap) < 0)
		description[0] = '\0';
	va_end(ap);
	cJSON_AddStringToObject(doc, "error", code);
	cJSON_AddStringToObject(doc, "error_description", description);
	gw_json(resp, status, doc);
}
