/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648 standard and URL-safe alphabets) and hex. Decoders are
 * strict: no whitespace, exact padding, so two encodings never decode to
 * the same bytes. Output buffers are malloc'ed and handed to the caller. */
#ifndef SG_CODEC_H
#define SG_CODEC_H

#include <stddef.h>

enum sg_b64_alphabet { SG_B64_STD = 0, SG_B64_URL_NOPAD = 1 };

/* Encode n bytes; *outp gets a NUL-terminated string (caller frees). */
int sg_b64_encode(const void *in, size_t n, enum sg_b64_alphabet alpha, char **outp);
/* Decode a string of len characters; *outp (caller frees) and *outlenp.
 * SG_ERR_PARSE for anything that is not canonical base64. */
int sg_b64_decode(const char *in, size_t len, enum sg_b64_alphabet alpha,
    unsigned char **outp, size_t *outlenp);
/* Lower-case hex of n bytes into a new string (caller frees). */
int sg_hex_encode(const void *in, size_t n, char **outp);
/* The value of one hex digit (either case), or -1. */
int sg_hex_digit(char c);
/* 1 for a control character (C0 or DEL), which no header, log line or
 * name the gateway passes on may hold. */
int sg_is_ctl(char c);
/* Hex (either case) of len characters; SG_ERR_PARSE on odd length or a
 * non-hex character. */
int sg_hex_decode(const char *in, size_t len, unsigned char **outp, size_t *outlenp);

#endif
