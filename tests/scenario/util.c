/*
 * util.c - byte buffers and the escaped-string syntax of the case files.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* A repeat may not produce more than this (protects against typos). */
#define SC_MAX_REPEAT_BYTES ((size_t)256 * 1024 * 1024)
#define SC_MAX_REPEAT_DEPTH 8
/* sc_escape() shows at most this many bytes of the start and of the end. */
#define SC_SHOW_HEAD 300
#define SC_SHOW_TAIL 100

void *sc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("scenario-runner: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *sc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("scenario-runner: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *sc_xstrndup(const char *p, size_t n)
{
	char *s = sc_xmalloc(n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void sc_buf_add(sc_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = sc_xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sc_buf_addc(sc_buf *b, char ch)
{
	sc_buf_add(b, &ch, 1);
}

void sc_buf_addf(sc_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp)) {
		char *big = sc_xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sc_buf_add(b, big, (size_t)n);
		free(big);
		return;
	}
	sc_buf_add(b, tmp, (size_t)n);
}

void sc_buf_free(sc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int unescape_at(const char *s, size_t n, int stop, sc_buf *out, size_t *used, int depth,
                       char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		char ch = s[i];

		if (stop >= 0 && (unsigned char)ch == (unsigned)stop) {
			*used = i;
			return 0;
		}
		if (ch == '\\') {
			char e;

			if (i + 1 >= n) {
				snprintf(err, errlen, "backslash at the end of the string");
				return -1;
			}
			e = s[i + 1];
			i += 2;
			switch (e) {
			case 'r':
				sc_buf_addc(out, '\r');
				break;
			case 'n':
				sc_buf_addc(out, '\n');
				break;
			case 't':
				sc_buf_addc(out, '\t');
				break;
			case '0':
				sc_buf_addc(out, '\0');
				break;
			case '\\':
			case '"':
			case '{':
			case '}':
			case '*':
				sc_buf_addc(out, e);
				break;
			case 'x': {
				int hi = i < n ? hexval(s[i]) : -1;
				int lo = i + 1 < n ? hexval(s[i + 1]) : -1;

				if (hi < 0 || lo < 0) {
					snprintf(err, errlen, "\\x needs two hex digits");
					return -1;
				}
				sc_buf_addc(out, (char)(hi * 16 + lo));
				i += 2;
				break;
			}
			default:
				snprintf(err, errlen, "unknown escape \\%c", e);
				return -1;
			}
			continue;
		}
		if (ch == '{') {
			sc_buf inner = {0};
			size_t u = 0, j, count = 0, k;

			if (depth >= SC_MAX_REPEAT_DEPTH) {
				snprintf(err, errlen, "repeats nested too deep");
				return -1;
			}
			if (unescape_at(s + i + 1, n - i - 1, '*', &inner, &u, depth + 1, err,
			                errlen) < 0) {
				sc_buf_free(&inner);
				return -1;
			}
			j = i + 1 + u + 1; /* after the '*' */
			if (j >= n || s[j] < '0' || s[j] > '9') {
				sc_buf_free(&inner);
				snprintf(err, errlen, "repeat {TEXT*N}: N missing");
				return -1;
			}
			while (j < n && s[j] >= '0' && s[j] <= '9') {
				count = count * 10 + (size_t)(s[j] - '0');
				if (count > SC_MAX_REPEAT_BYTES) {
					sc_buf_free(&inner);
					snprintf(err, errlen, "repeat count too large");
					return -1;
				}
				j++;
			}
			if (j >= n || s[j] != '}') {
				sc_buf_free(&inner);
				snprintf(err, errlen, "repeat {TEXT*N}: '}' missing");
				return -1;
			}
			if (inner.len && count > SC_MAX_REPEAT_BYTES / inner.len) {
				sc_buf_free(&inner);
				snprintf(err, errlen, "repeat produces too many bytes");
				return -1;
			}
			for (k = 0; k < count; k++)
				sc_buf_add(out, inner.p, inner.len);
			sc_buf_free(&inner);
			i = j + 1;
			continue;
		}
		sc_buf_addc(out, ch);
		i++;
	}
	if (stop >= 0) {
		snprintf(err, errlen, "missing closing '%c'", stop);
		return -1;
	}
	*used = i;
	return 0;
}

int sc_unescape(const char *s, size_t n, int stop, sc_buf *out, size_t *used, char *err,
                size_t errlen)
{
	size_t dummy = 0;

	if (!out->p)
		sc_buf_add(out, "", 0);
	return unescape_at(s, n, stop, out, used ? used : &dummy, 0, err, errlen);
}

static void escape_range(sc_buf *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];

		switch (ch) {
		case '\r':
			sc_buf_add(out, "\\r", 2);
			break;
		case '\n':
			sc_buf_add(out, "\\n", 2);
			break;
		case '\t':
			sc_buf_add(out, "\\t", 2);
			break;
		case '\\':
			sc_buf_add(out, "\\\\", 2);
			break;
		case '"':
			sc_buf_add(out, "\\\"", 2);
			break;
		default:
			if (ch < 0x20 || ch >= 0x7f)
				sc_buf_addf(out, "\\x%02x", ch);
			else
				sc_buf_addc(out, (char)ch);
		}
	}
}

void sc_escape_full(sc_buf *out, const char *p, size_t n)
{
	sc_buf_addc(out, '"');
	escape_range(out, (const unsigned char *)p, n);
	sc_buf_addc(out, '"');
}

void sc_escape(sc_buf *out, const char *p, size_t n)
{
	if (n <= SC_SHOW_HEAD + SC_SHOW_TAIL + 40) {
		sc_escape_full(out, p, n);
		return;
	}
	sc_buf_addc(out, '"');
	escape_range(out, (const unsigned char *)p, SC_SHOW_HEAD);
	sc_buf_addf(out, "\"[... %zu bytes ...]\"", n - SC_SHOW_HEAD - SC_SHOW_TAIL);
	escape_range(out, (const unsigned char *)p + n - SC_SHOW_TAIL, SC_SHOW_TAIL);
	sc_buf_addf(out, "\" (%zu bytes)", n);
}
