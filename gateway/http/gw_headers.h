/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of a request the gateway reads itself rather than through
 * libmicrohttpd: media types, the SOAP 1.2 action parameter, SOAPAction,
 * X-Request-Id and the percent-decoding of path and query. Pure functions
 * over NUL-terminated text (tests/fuzz/fuzz_headers links them alone).
 * Idempotency-Key is checked by gw_idem_key_valid (gw_idem.h). */
#ifndef GW_HEADERS_H
#define GW_HEADERS_H

#include <stddef.h>

/* 1 when content_type's media type is type (case-insensitive), with or
 * without parameters; 0 otherwise and for NULL. */
int gw_media_type_is(const char *content_type, const char *type);

/* Content-Type ct must be the media type want and nothing else but
 * parameters (RFC 9110 §8.3: token=token or token="quoted-string"); a
 * charset must be UTF-8; the value of an action parameter (SOAP 1.2,
 * RFC 3902) is copied into action, "" when there is none. A value holding
 * a control character is refused. 0, or -1 when ct is not that (action is
 * then "" or whatever it was cut at: do not use it). */
int gw_content_type_parse(const char *ct, const char *want, char *action, size_t action_len);

/* The SOAPAction header's value (SOAP 1.1 §6.1.1) without surrounding
 * whitespace and quotes into action; "" for a NULL header. -1 when it does
 * not fit in action_len or holds a control character. */
int gw_soap_action_value(const char *h, char *action, size_t action_len);

/* 1 when id may be kept as a client's request id: 1 to GW_REQUEST_ID_MAX
 * of A-Z a-z 0-9 - _ . : (nothing a log line or header could trip on). */
int gw_request_id_valid(const char *id);

/* libmicrohttpd's unescape callback: %HH decoded in place, except %00
 * (a NUL decoded into a path would cut it short: "/v1/sign%00.json" would
 * be routed as "/v1/sign"). Returns the new length; s never grows. */
size_t gw_percent_decode(char *s);

#endif
