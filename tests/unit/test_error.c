/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the one SG_ERR_* -> HTTP mapping (gw_err_status): every
 * (status, "error") pair the gateway answers, and the body gw_error_r
 * makes from it. */
#include "config.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "gw_error.h"
#include "gw_request.h"
#include "sg_err.h"
#include "sg_test.h"

static const struct {
	int r;
	int status;
	const char *code;
} pairs[] = {
	{ SG_ERR_INVALID_ARG, 400, "invalid_request" },
	{ SG_ERR_PARSE, 400, "invalid_request" },
	{ SG_ERR_UNAUTHORIZED, 401, "unauthorized" },
	{ SG_ERR_FORBIDDEN, 403, "forbidden" },
	{ SG_ERR_NOT_FOUND, 404, "not_found" },
	{ SG_ERR_KEY_NOT_FOUND, 404, "not_found" },
	{ SG_ERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed" },
	{ SG_ERR_CONFLICT, 409, "conflict" },
	{ SG_ERR_EXISTS, 409, "conflict" },
	{ SG_ERR_CERT_EXPIRED, 409, "certificate_expired" },
	{ SG_ERR_TOO_LARGE, 413, "payload_too_large" },
	{ SG_ERR_MEDIA_TYPE, 415, "unsupported_media_type" },
	{ SG_ERR_HEADERS_TOO_LARGE, 431, "invalid_request" },
	{ SG_ERR_ALLOC, 500, "internal" },
	{ SG_ERR_INTERNAL, 500, "internal" },
	{ SG_ERR_IO, 500, "internal" },
	{ SG_ERR_AUTHORITY, 502, "authority_error" },
	{ SG_ERR_AUDIT, 503, "audit_unavailable" },
	{ SG_ERR_TOKEN, 503, "token_unavailable" },
	{ SG_ERR_TOKEN_LOST, 503, "token_unavailable" },
	{ SG_ERR_PIN_LOCKED, 503, "token_unavailable" },
	{ SG_ERR_BUSY, 503, "token_unavailable" },
	{ SG_ERR_TIMEOUT, 504, "authority_timeout" },
};

static void
test_mapping(void)
{
	const char *code;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		code = NULL;
		CU_ASSERT_EQUAL(gw_err_status(pairs[i].r, &code), pairs[i].status);
		CU_ASSERT_PTR_NOT_NULL_FATAL(code);
		CU_ASSERT_STRING_EQUAL(code, pairs[i].code);
	}
}

static void
test_error_body(void)
{
	struct gw_response resp;
	cJSON *doc;

	memset(&resp, 0, sizeof(resp));
	sg_buf_init(&resp.body, 4096);
	gw_error_r(&resp, SG_ERR_MEDIA_TYPE, "send %s", "text/xml");
	CU_ASSERT_EQUAL(resp.status, 415);
	CU_ASSERT_STRING_EQUAL(resp.content_type, "application/json");
	doc = cJSON_ParseWithLength((const char *)resp.body.data, resp.body.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "error")),
	    "unsupported_media_type");
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "error_description")),
	    "send text/xml");
	cJSON_Delete(doc);
	sg_buf_free(&resp.body);
}

int
main(void)
{
	static const struct sg_test_case cases[] = {
		{ "SG_ERR to status and code", test_mapping },
		{ "the error body", test_error_body },
		{ NULL, NULL }
	};

	return sg_test_run("error mapping", cases);
}
