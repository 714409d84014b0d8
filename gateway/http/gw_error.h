/* SPDX-License-Identifier: Apache-2.0 */
/* The one place an SG_ERR_* becomes an HTTP status, and the
 * {"error","error_description"} body every refusal carries. */
#ifndef GW_ERROR_H
#define GW_ERROR_H

#include "gw_request.h"

/* The HTTP status for r (an SG_ERR_*), and in *codep the "error" string
 * the answer carries (static storage). A code without a row of its own is
 * 500 "internal". */
int gw_err_status(int r, const char **codep);
/* Fill resp with {"error","error_description"}: status and "error" from
 * gw_err_status(r), the description formatted from fmt (cut at 511
 * characters). Every refusal the gateway answers is made here. */
void gw_error_r(struct gw_response *resp, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* resp gets the JSON text of a cJSON document (consumed). */
struct cJSON;
void gw_json(struct gw_response *resp, int status, struct cJSON *doc);

#endif
