/* SPDX-License-Identifier: Apache-2.0 */
/* docs/openapi.json as bytes, compiled in at build time (the generated
 * openapi_doc.c, from scripts/embed-file). */
#ifndef GW_OPENAPI_DOC_H
#define GW_OPENAPI_DOC_H

#include <stddef.h>

extern const unsigned char gw_openapi_doc[];
extern const size_t gw_openapi_doc_len;

#endif
