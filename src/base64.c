/*
 * base64.c - RFC 4648 section 4 base64, no I/O.
 *
 * The decoder is strict (RFC 4648 3.3, 3.5): only the standard alphabet,
 * no blanks or line breaks, "=" padding required and only at the end, the
 * length a multiple of 4. Non-zero bits in the last character before the
 * padding are accepted, as Python's b64decode (smtplib's AUTH) does: they
 * carry no data and rejecting them would only break interoperability.
 */
#include "base64.h"

#include <stdint.h>

static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t smtpc__b64_encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	char *o = out;
	size_t i;

	for (i = 0; len - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 0x3f];
		*o++ = b64_alphabet[(v >> 6) & 0x3f];
		*o++ = b64_alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 0x3f];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 0x3f];
		*o++ = b64_alphabet[(v >> 6) & 0x3f];
		*o++ = '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}

/* The value of one alphabet character, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t smtpc__b64_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned char *o = out;
	size_t i;

	if (len % 4 != 0)
		return (size_t)-1;
	for (i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int a = b64_value((unsigned char)in[i]);
		int b = b64_value((unsigned char)in[i + 1]);
		int c = b64_value((unsigned char)in[i + 2]);
		int d = b64_value((unsigned char)in[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0)
			return (size_t)-1;
		if (c < 0 || d < 0) {
			/* Only "xx==" or "xxx=" in the last quantum. */
			if (!last || in[i + 3] != '=' || (c < 0 && in[i + 2] != '='))
				return (size_t)-1;
		}
		v = (uint32_t)a << 18 | (uint32_t)b << 12;
		*o++ = (unsigned char)(v >> 16);
		if (c < 0)
			break;
		v |= (uint32_t)c << 6;
		*o++ = (unsigned char)(v >> 8);
		if (d < 0)
			break;
		v |= (uint32_t)d;
		*o++ = (unsigned char)v;
	}
	return (size_t)(o - out);
}
