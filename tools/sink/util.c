/*
 * smtpc-sink: small helpers (buffers, strings, diagnostics, the transcript).
 */
#include "sink.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sink_die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("smtpc-sink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void sink_warn(const struct sink *s, const char *fmt, ...)
{
	va_list ap;

	if (s->cfg.quiet)
		return;
	fputs("smtpc-sink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A test server has nothing sensible to do without memory: stop with a clear message. */
void *sink_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		sink_die(SINK_EX_OSERR, "out of memory");
	return p;
}

void *sink_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		sink_die(SINK_EX_OSERR, "out of memory");
	return q;
}

char *sink_xstrndup(const char *s, size_t n)
{
	char *p = sink_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void buf_reserve(struct buf *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len >= n)
		return;
	if (n > SIZE_MAX / 2 - b->len)
		sink_die(SINK_EX_OSERR, "out of memory");
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	b->p = sink_xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_addc(struct buf *b, char ch)
{
	buf_reserve(b, 1);
	b->p[b->len++] = ch;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

void strvec_push(struct strvec *v, const char *s, size_t n)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 4;
		v->v = sink_xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = sink_xstrndup(s, n);
}

void strvec_free(struct strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
	v->cap = 0;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Whether a[0..alen) equals the NUL-terminated b, ignoring ASCII case. */
bool sink_ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (b[i] == '\0' ||
		    ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	}
	return b[i] == '\0';
}

/* One transcript line: "<conn-id> C: text" or "<conn-id> S: text". */
void sink_log(struct sink *s, unsigned long id, char dir, const char *p, size_t n)
{
	if (!s->log)
		return;
	if (n > INT32_MAX)
		n = INT32_MAX;
	fprintf(s->log, "%lu %c: %.*s\n", id, dir, (int)n, p);
}
