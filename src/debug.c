/*
 * debug.c - the debug transcript (smtplib's set_debuglevel): one line per
 * event through the caller's callback, standard error by default. Bytes
 * that are not printable ASCII are escaped, so server text can never drive
 * the caller's terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "session.h"

#define DEBUG_LINE_MAX 1024

static void emit(smtpc *s, const char *line, size_t len)
{
	if (s->debug_fn != NULL) {
		s->debug_fn(line, len, s->debug_user);
		return;
	}
	fprintf(stderr, "%.*s\n", (int)len, line);
}

/* Writes the level-2 timestamp prefix; returns its length. */
static size_t stamp(smtpc *s, char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;

	if (s->debuglevel < 2)
		return 0;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	int n = snprintf(buf, size, "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 (long)tv.tv_usec);
	return n > 0 ? (size_t)n : 0;
}

/* Appends data escaped; stops (with "...") when the line is full. */
static size_t escape_into(char *buf, size_t pos, size_t size, const unsigned char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		if (pos + 8 >= size) {
			memcpy(buf + pos, "...", 3);
			return pos + 3;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			buf[pos++] = (char)p[i];
		} else if (p[i] == '\r') {
			buf[pos++] = '\\';
			buf[pos++] = 'r';
		} else if (p[i] == '\n') {
			buf[pos++] = '\\';
			buf[pos++] = 'n';
		} else if (p[i] == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = '\\';
		} else {
			buf[pos++] = '\\';
			buf[pos++] = 'x';
			buf[pos++] = hex[p[i] >> 4];
			buf[pos++] = hex[p[i] & 15];
		}
	}
	return pos;
}

void smtpc__debug(smtpc *s, const char *prefix, const void *data, size_t len)
{
	char line[DEBUG_LINE_MAX];
	size_t pos;

	if (s->debuglevel <= 0)
		return;
	pos = stamp(s, line, sizeof(line));
	pos = escape_into(line, pos, sizeof(line), (const unsigned char *)prefix, strlen(prefix));
	pos = escape_into(line, pos, sizeof(line), data, len);
	line[pos] = '\0';
	emit(s, line, pos);
}

void smtpc__debugf(smtpc *s, const char *fmt, ...)
{
	char text[DEBUG_LINE_MAX];
	va_list ap;
	int n;

	if (s->debuglevel <= 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	smtpc__debug(s, "", text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

void smtpc__debug_reply(smtpc *s, const smtpc_reply *r)
{
	const char *p = r->text, *end = r->text + r->text_len;
	size_t i = 0;

	if (s->debuglevel <= 0)
		return;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		char prefix[48];

		snprintf(prefix, sizeof(prefix), "reply: %d%c%s%s", r->code,
		         i + 1 < r->nlines ? '-' : ' ', r->enhanced,
		         r->enhanced[0] && eol > p ? " " : "");
		smtpc__debug(s, prefix, p, (size_t)(eol - p));
		if (nl == NULL)
			break;
		p = nl + 1;
		i++;
	}
}
