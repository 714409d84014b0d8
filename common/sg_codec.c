/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 and hex codecs (see sg_codec.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sg_codec.h"
#include "sg_err.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
sg_b64_encode(const void *in, size_t n, enum sg_b64_alphabet alpha, char **outp)
{
	const unsigned char *p = in;
	const char *tab = alpha == SG_B64_URL_NOPAD ? b64_url : b64_std;
	size_t i, o = 0;
	char *out;

	*outp = NULL;
	if (n > ((size_t)-1) / 4 * 3 - 3)
		return SG_ERR_TOO_LARGE;
	if ((out = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = tab[p[i] >> 2];
		out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = tab[p[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = tab[p[i] >> 2];
		if (i + 1 < n) {
			out[o++] = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			out[o++] = tab[(p[i + 1] & 15) << 2];
		} else
			out[o++] = tab[(p[i] & 3) << 4];
		if (alpha == SG_B64_STD) {
			while (o % 4 != 0)
				out[o++] = '=';
		}
	}
	out[o] = '\0';
	*outp = out;
	return 0;
}

static int
b64_value(char c, enum sg_b64_alphabet alpha)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (alpha == SG_B64_STD)
		return c == '+' ? 62 : c == '/' ? 63 : -1;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int
sg_b64_decode(const char *in, size_t len, enum sg_b64_alphabet alpha,
    unsigned char **outp, size_t *outlenp)
{
	unsigned char *out;
	size_t i, o = 0, data_len = len, rem;
	unsigned int acc = 0;
	int v, bits = 0;

	*outp = NULL;
	*outlenp = 0;
	if (alpha == SG_B64_STD) {
		if (len % 4 != 0)
			return SG_ERR_PARSE;
		while (data_len > 0 && len - data_len < 2 && in[data_len - 1] == '=')
			data_len--;
	}
	rem = data_len % 4;
	if (rem == 1)
		return SG_ERR_PARSE;
	if ((out = malloc(data_len / 4 * 3 + 3)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < data_len; i++) {
		if ((v = b64_value(in[i], alpha)) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two strings decode alike. */
	if (acc != 0)
		goto bad;
	*outp = out;
	*outlenp = o;
	return 0;
 bad:
	free(out);
	return SG_ERR_PARSE;
}

int
sg_hex_encode(const void *in, size_t n, char **outp)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;
	char *out;
	size_t i;

	*outp = NULL;
	if (n > ((size_t)-1) / 2 - 1)
		return SG_ERR_TOO_LARGE;
	if ((out = malloc(n * 2 + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	*outp = out;
	return 0;
}

int
sg_is_ctl(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

int
sg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
sg_hex_decode(const char *in, size_t len, unsigned char **outp, size_t *outlenp)
{
	unsigned char *out;
	size_t i;
	int hi, lo;

	*outp = NULL;
	*outlenp = 0;
	if (len % 2 != 0)
		return SG_ERR_PARSE;
	if ((out = malloc(len / 2 + 1)) == NULL)
		return SG_ERR_ALLOC;
	for (i = 0; i < len / 2; i++) {
		if ((hi = sg_hex_digit(in[2 * i])) < 0 || (lo = sg_hex_digit(in[2 * i + 1])) < 0) {
			free(out);
			return SG_ERR_PARSE;
		}
		out[i] = (unsigned char)((hi << 4) | lo);
	}
	*outp = out;
	*outlenp = len / 2;
	return 0;
}
