/*
 * mimeenc.c - the encodings of a composed message, no I/O:
 * quoted-printable (RFC 2045 6.7), base64 lines (RFC 2045 6.8, RFC 4648 4),
 * encoded words (RFC 2047 2, 4.1, 5), parameter values (RFC 2231 3, 4) and
 * the header values that use them (RFC 5322 3.2.5 phrases, unstructured text).
 *
 * Every encoder here writes printable ASCII (raw UTF-8 too in header values
 * when SMTPUTF8 is in use), with CRLF where a line breaks: whatever the
 * input, no output line can start a header or a boundary line (their first
 * characters are "=", "%", base64 or a blank).
 */
#include "mimeenc.h"

#include "body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HEX[] = "0123456789ABCDEF";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void smtpc__buf_add(smtpc__buf *b, const void *p, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	char *q;

	if (b->oom || n == 0)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void smtpc__buf_str(smtpc__buf *b, const char *s)
{
	smtpc__buf_add(b, s, strlen(s));
}

void smtpc__buf_free(smtpc__buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

size_t smtpc__buf_column(const smtpc__buf *b)
{
	size_t i = b->len;

	while (i > 0 && b->p[i - 1] != '\n')
		i--;
	return b->len - i;
}

/* Length of the UTF-8 sequence at p (at most len bytes), or 0 when it is malformed. */
static size_t utf8_char(const unsigned char *p, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points beyond U+10FFFF (RFC 3629 3). */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int smtpc__utf8_valid(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_char(u + i, len - i);

		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

void smtpc__qp_encode(smtpc__buf *out, const char *text, size_t len)
{
	size_t col = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		int eol = i + 1 == len || text[i + 1] == '\r' || text[i + 1] == '\n';
		char enc[3] = {(char)c, 0, 0};
		size_t n = 1;

		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			smtpc__buf_add(out, "\r\n", 2);
			col = 0;
			continue;
		}
		/* A blank is literal only inside a line: trailing blanks may be lost in transit. */
		if (!((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol))) {
			enc[0] = '=';
			enc[1] = HEX[c >> 4];
			enc[2] = HEX[c & 15];
			n = 3;
		}
		/* 76 characters a line, the "=" of a soft break included (6.7 rule 5). */
		if (col + n > (eol ? 76u : 75u)) {
			smtpc__buf_add(out, "=\r\n", 3);
			col = 0;
		}
		smtpc__buf_add(out, enc, n);
		col += n;
	}
}

uint64_t smtpc__b64_lines_size(uint64_t n)
{
	uint64_t chars = (n + 2) / 3 * 4;
	uint64_t lines = (chars + 75) / 76;

	return lines == 0 ? 0 : chars + 2 * (lines - 1);
}

/*
 * The two characters of every 12-bit value, computed by the compiler: a
 * 3-byte group is two lookups instead of four (twice the speed of
 * smtpc__b64_encode() on big attachments; bench/README.md).
 */
#define B64_CHAR(x)                                                                                \
	(char)((x) < 26    ? 'A' + (x)                                                             \
	       : (x) < 52  ? 'a' + (x)-26                                                          \
	       : (x) < 62  ? '0' + (x)-52                                                          \
	       : (x) == 62 ? '+'                                                                   \
	                   : '/')
#define PAIR(i)                                                                                    \
	{                                                                                          \
		B64_CHAR((i) >> 6), B64_CHAR((i)&63)                                               \
	}
#define PAIR4(i)   PAIR(i), PAIR((i) + 1), PAIR((i) + 2), PAIR((i) + 3)
#define PAIR16(i)  PAIR4(i), PAIR4((i) + 4), PAIR4((i) + 8), PAIR4((i) + 12)
#define PAIR64(i)  PAIR16(i), PAIR16((i) + 16), PAIR16((i) + 32), PAIR16((i) + 48)
#define PAIR256(i) PAIR64(i), PAIR64((i) + 64), PAIR64((i) + 128), PAIR64((i) + 192)
static const char B64_PAIRS[4096][2] = {PAIR256(0),    PAIR256(256),  PAIR256(512),  PAIR256(768),
                                        PAIR256(1024), PAIR256(1280), PAIR256(1536), PAIR256(1792),
                                        PAIR256(2048), PAIR256(2304), PAIR256(2560), PAIR256(2816),
                                        PAIR256(3072), PAIR256(3328), PAIR256(3584), PAIR256(3840)};

/* One line: len (at most 57) bytes. Whole 3-byte groups, then the padded end. */
static char *b64_line(const unsigned char *in, size_t len, char *o)
{
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		memcpy(o, B64_PAIRS[v >> 12], 2);
		memcpy(o + 2, B64_PAIRS[v & 4095], 2);
		o += 4;
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		o[0] = B64[v >> 18];
		o[1] = B64[(v >> 12) & 63];
		o[2] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	return o;
}

size_t smtpc__b64_lines(const unsigned char *in, size_t len, char *out, int *first)
{
	char *o = out;
	size_t i;

	for (i = 0; i < len; i += SMTPC__B64_LINE_IN) {
		size_t n = len - i < SMTPC__B64_LINE_IN ? len - i : SMTPC__B64_LINE_IN;

		if (!*first) {
			o[0] = '\r';
			o[1] = '\n';
			o += 2;
		}
		*first = 0;
		o = b64_line(in + i, n, o);
	}
	return (size_t)(o - out);
}

#define WORD_OPEN  "=?UTF-8?B?"
#define WORD_MAX   75 /* RFC 2047 2 */
#define WORD_EXTRA 12 /* "=?UTF-8?B?" and "?=" */

/*
 * The bytes of text (whole characters) whose base64 fits in `chars`
 * characters; cut after a blank when there is one, as some decoders (Python
 * 3.11's address parser) keep the folding blank between two encoded words.
 */
static size_t word_take(const unsigned char *text, size_t len, size_t chars)
{
	size_t max = chars / 4 * 3, n = 0, after_blank = 0;

	while (n < len) {
		size_t c = utf8_char(text + n, len - n);

		if (c == 0)
			c = 1; /* the callers check UTF-8; never loop on a bad byte */
		if (n + c > max)
			return after_blank > 0 ? after_blank : n;
		n += c;
		if (text[n - 1] == ' ')
			after_blank = n;
	}
	return n;
}

void smtpc__mime_words(smtpc__buf *out, const char *text, size_t len, size_t room)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t done = 0;
	char enc[WORD_MAX];
	int first = 1;

	/* At least 8 base64 characters (one 4-byte character) in the first word. */
	if (room < WORD_EXTRA + 8) {
		smtpc__buf_add(out, "\r\n ", 3);
		room = WORD_MAX;
	}
	room = room < WORD_MAX ? room : WORD_MAX;
	while (done < len) {
		size_t n = word_take(t + done, len - done, (first ? room : WORD_MAX) - WORD_EXTRA);
		int f = 1;

		if (!first)
			smtpc__buf_add(out, "\r\n ", 3);
		smtpc__buf_str(out, WORD_OPEN);
		smtpc__buf_add(out, enc, smtpc__b64_lines(t + done, n, enc, &f));
		smtpc__buf_add(out, "?=", 2);
		done += n;
		first = 0;
	}
}

/* RFC 2231 7 attribute-char: what a percent-encoded value keeps as it is. */
static int attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

#define PARAM_QUOTED_MAX 60 /* a quoted value longer than this is continued */
#define PARAM_CHUNK      60 /* characters of one RFC 2231 section */

static int quotable(const char *v)
{
	size_t n = strlen(v), i;

	if (n > PARAM_QUOTED_MAX || strstr(v, "=?") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	}
	return 1;
}

static void param_quoted(smtpc__buf *out, const char *name, const char *v)
{
	smtpc__buf_add(out, ";\r\n ", 4);
	smtpc__buf_str(out, name);
	smtpc__buf_add(out, "=\"", 2);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			smtpc__buf_add(out, "\\", 1);
		smtpc__buf_add(out, v, 1);
	}
	smtpc__buf_add(out, "\"", 1);
}

/* The start of section `k`: ";" CRLF SP name*k*= (with the charset in the first). */
static void section(smtpc__buf *out, const char *name, unsigned k)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "*%u*=", k);

	smtpc__buf_add(out, ";\r\n ", 4);
	smtpc__buf_str(out, name);
	smtpc__buf_add(out, num, (size_t)n);
	if (k == 0)
		smtpc__buf_str(out, "utf-8''");
}

void smtpc__mime_param(smtpc__buf *out, const char *name, const char *value)
{
	const unsigned char *v = (const unsigned char *)value;
	size_t col = PARAM_CHUNK;
	unsigned k = 0;

	if (quotable(value)) {
		param_quoted(out, name, value);
		return;
	}
	for (; *v; v++) {
		char enc[3] = {(char)*v, 0, 0};
		size_t n = 1;

		if (!attr_char(*v)) {
			enc[0] = '%';
			enc[1] = HEX[*v >> 4];
			enc[2] = HEX[*v & 15];
			n = 3;
		}
		/* A section ends between two triplets, never inside one (RFC 2231 4.1). */
		if (col + n > PARAM_CHUNK) {
			section(out, name, k++);
			col = 0;
		}
		smtpc__buf_add(out, enc, n);
		col += n;
	}
}

/* ---------------------------------------------------------------- header values */

/* The text must go out as encoded words: 8-bit (without SMTPUTF8), or text that a reader
 * would take for encoded words or lose (blanks at the ends are dropped when unfolding). */
static int needs_words(const char *v, size_t len, int utf8)
{
	return (!utf8 && smtpc__has_8bit(v, len)) || strstr(v, "=?") != NULL ||
	       (len > 0 && (v[0] == ' ' || v[len - 1] == ' '));
}

/*
 * Unstructured text after "Name: ", folded before blanks to stay under 78
 * columns; as encoded words when it must be or when a word would make a
 * line over 998 octets.
 */
void smtpc__mime_unstructured(smtpc__buf *out, const char *v, int utf8)
{
	size_t len = strlen(v), start = out->len, col = smtpc__buf_column(out), i = 0;
	int words = needs_words(v, len, utf8);

	while (!words && i < len) {
		size_t w = strcspn(v + i + 1, " ") + 1; /* a word and the blank before it */

		if (i > 0 && w > 1 && col + w > SMTPC__FOLD_AT) {
			smtpc__buf_add(out, "\r\n", 2);
			col = 0;
		}
		if (col + w > SMTPC__LINE_MAX)
			break;
		smtpc__buf_add(out, v + i, w);
		col += w;
		i += w;
	}
	if (i == len)
		return;
	/* A word too long for a line: the whole value as encoded words instead. */
	out->len = start;
	if (out->p != NULL)
		out->p[start] = '\0';
	smtpc__mime_words(out, v, len, 76 - smtpc__buf_column(out));
}

/* A display name: atoms, a quoted string, or encoded words (RFC 5322 3.2.5, RFC 2047 5). */
void smtpc__mime_phrase(smtpc__buf *out, const char *name, int utf8)
{
	static const char SPECIALS[] = "()<>[]:;@\\,.\"";
	size_t len = strlen(name), i;
	int quote = strstr(name, "  ") != NULL;

	if (needs_words(name, len, utf8) || len > 70) {
		smtpc__mime_words(out, name, len, 76 - smtpc__buf_column(out));
		return;
	}
	for (i = 0; i < len; i++)
		quote |= strchr(SPECIALS, name[i]) != NULL;
	if (quote)
		smtpc__buf_add(out, "\"", 1);
	for (i = 0; i < len; i++) {
		if (quote && (name[i] == '"' || name[i] == '\\'))
			smtpc__buf_add(out, "\\", 1);
		smtpc__buf_add(out, name + i, 1);
	}
	if (quote)
		smtpc__buf_add(out, "\"", 1);
}
