/* SPDX-License-Identifier: Apache-2.0 */
/* GET /console/ and its two files (GET /console redirects there): the auditor's console, static bytes of
 * gateway/console/ compiled into the daemon. Open, like /v1/openapi.json:
 * the page holds no data; it asks the auditor's endpoints, which check
 * the credential. Its Content-Security-Policy lets it load only itself. */
#include "config.h"

#include <string.h>

#include "console_files.h"
#include "gw_error.h"
#include "gw_request.h"
#include "routes.h"
#include "sg_buf.h"
#include "sg_err.h"

/* Scripts, styles and requests from this origin only; no inline script
 * or style, no plugin, no frame, no form posted anywhere. */
#define CONSOLE_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'"

static const struct console_file {
	const char *name;		/* "" for /console/ itself */
	const char *content_type;
	const unsigned char *data;
	const size_t *len;
} files[] = {
	{ "", "text/html; charset=utf-8", gw_console_html, &gw_console_html_len },
	{ "console.css", "text/css; charset=utf-8", gw_console_css, &gw_console_css_len },
	{ "console.js", "text/javascript; charset=utf-8", gw_console_js, &gw_console_js_len },
};

void
gw_route_console(struct gw_request *req, struct gw_response *resp)
{
	size_t i;

	if (strcmp(req->path, "/console") == 0) {
		/* The page's relative links need the slash. */
		sg_buf_reset(&resp->body);
		resp->status = 308;
		resp->content_type = "text/plain; charset=utf-8";
		resp->location = "/console/";
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i].name, req->path_arg) != 0)
			continue;
		sg_buf_reset(&resp->body);
		if (sg_buf_append(&resp->body, files[i].data, *files[i].len) != 0) {
			gw_error_r(resp, SG_ERR_ALLOC, "out of memory");
			return;
		}
		resp->status = 200;
		resp->content_type = files[i].content_type;
		resp->csp = CONSOLE_CSP;
		/* Fetched again on every load: a new daemon's page is never
		 * mixed with an old one's script. */
		resp->cache_control = "no-cache";
		return;
	}
	gw_error_r(resp, SG_ERR_NOT_FOUND, "no such file in the console");
}
