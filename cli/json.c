/*
 * json.c - JSON string writer (RFC 8259 section 7; UTF-8 per RFC 3629).
 */
#include "json.h"

#include <string.h>

/* smtpc_reply.enhanced is a char[16]: never read past it. */
#define JSON_ENHANCED_MAX 16

static const char HEX[] = "0123456789abcdef";

static int in_range(const char *p, size_t i, unsigned lo, unsigned hi)
{
	unsigned char c = (unsigned char)p[i];

	return c >= lo && c <= hi;
}

/*
 * Length of the valid UTF-8 sequence at p (at most len bytes), or 0. The
 * table of RFC 3629 section 4: no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
static size_t utf8_length(const char *p, size_t len)
{
	unsigned char c = (unsigned char)p[0];
	size_t need, i;
	unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len < need || !in_range(p, 1, lo, hi))
		return 0;
	for (i = 2; i < need; i++) {
		if (!in_range(p, i, 0x80, 0xbf))
			return 0;
	}
	return need;
}

static void put_u00(FILE *f, unsigned char c)
{
	fputs("\\u00", f);
	putc(HEX[c >> 4], f);
	putc(HEX[c & 0x0f], f);
}

/* The code point of the valid UTF-8 sequence of n bytes at p. */
static unsigned decode(const char *p, size_t n)
{
	static const unsigned char LEAD_MASK[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = (unsigned char)p[0] & LEAD_MASK[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | ((unsigned char)p[i] & 0x3f);
	return cp;
}

/*
 * Characters that are valid but never written raw: the C1 controls
 * (U+0080-U+009F: U+009B is CSI, a terminal escape of its own), the line
 * and paragraph separators (U+2028, U+2029) and the bidirectional
 * formatting characters that reorder what a terminal shows (U+061C,
 * U+200E, U+200F, U+202A-U+202E, U+2066-U+2069; "Trojan Source").
 */
static int never_raw(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static void put_u(FILE *f, unsigned cp)
{
	fputs("\\u", f);
	for (int shift = 12; shift >= 0; shift -= 4)
		putc(HEX[(cp >> shift) & 0x0f], f);
}

/* Writes the byte at p[0] (and its UTF-8 continuation); returns the bytes used. */
static size_t put_char(FILE *f, const char *p, size_t len)
{
	unsigned char c = (unsigned char)p[0];
	size_t n;

	switch (c) {
	case '"':
		fputs("\\\"", f);
		return 1;
	case '\\':
		fputs("\\\\", f);
		return 1;
	case '\n':
		fputs("\\n", f);
		return 1;
	case '\r':
		fputs("\\r", f);
		return 1;
	case '\t':
		fputs("\\t", f);
		return 1;
	default:
		break;
	}
	if (c >= 0x20 && c < 0x7f) {
		putc(c, f);
		return 1;
	}
	n = c >= 0x80 ? utf8_length(p, len) : 0;
	if (n == 0) {
		put_u00(f, c);
		return 1;
	}
	if (never_raw(decode(p, n)))
		put_u(f, decode(p, n));
	else
		fwrite(p, 1, n, f);
	return n;
}

int json_utf8_clean(const char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : utf8_length(s + i, len - i);

		if (n == 0 || (n > 1 && never_raw(decode(s + i, n))))
			return 0;
		i += n;
	}
	return 1;
}

void json_string(FILE *f, const char *p, size_t len)
{
	size_t i = 0;

	putc('"', f);
	while (i < len)
		i += put_char(f, p + i, len - i);
	putc('"', f);
}

void json_cstring(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		json_string(f, s, strlen(s));
}

void json_key(FILE *f, const char *key)
{
	json_cstring(f, key);
	putc(':', f);
}

void json_reply(FILE *f, int code, const char *enhanced, const char *text, size_t len)
{
	fprintf(f, "{\"code\":%d,", code);
	json_key(f, "enhanced");
	json_string(f, enhanced ? enhanced : "",
	            enhanced ? strnlen(enhanced, JSON_ENHANCED_MAX) : 0);
	putc(',', f);
	json_key(f, "text");
	json_string(f, text ? text : "", text ? len : 0);
	putc('}', f);
}
