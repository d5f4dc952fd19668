/*
 * dkim_canon.c - DKIM canonicalisation, RFC 6376 3.4 (see dkim.h).
 *
 * Body (3.4.3 simple, 3.4.4 relaxed). The input is read with the DATA
 * encoder's line rules (CRLF, bare LF and bare CR each end one line; a CR
 * at the end of a piece waits for the next byte), so the lines hashed are
 * the lines sent. Empty lines at the end are dropped: every line ending is
 * held back (counted in `blank`) and written only when more text follows.
 * At the end, simple writes one CRLF whatever the body (an empty body is
 * one CRLF, a last line without ending gets one); relaxed writes one only
 * when the body had text (an empty body hashes as "", 3.4.4 and errata
 * 1384). Relaxed also drops WSP at the end of a line and turns every other
 * run of WSP into one SP: a run is remembered (`wsp`) and written as one
 * SP only when text follows it on the same line.
 *
 * Header (3.4.1 simple, 3.4.2 relaxed): simple keeps the field as it is;
 * relaxed lower-cases the name, unfolds, turns WSP runs into one SP and
 * drops WSP around the colon and at the end of the value.
 */
#include "dkim.h"

#include <string.h>

void smtpc__dkim_body_init(smtpc__dkim_body *b, int relaxed, smtpc__dkim_sink sink, void *user)
{
	memset(b, 0, sizeof(*b));
	b->relaxed = relaxed;
	b->sink = sink;
	b->user = user;
}

static void flush(smtpc__dkim_body *b)
{
	if (b->outlen > 0)
		b->sink(b->out, b->outlen, b->user);
	b->outlen = 0;
}

static void put(smtpc__dkim_body *b, char c)
{
	if (b->outlen == sizeof(b->out))
		flush(b);
	b->out[b->outlen++] = c;
}

/* Text follows: the line endings held back were not at the end after all. */
static void release_blank(smtpc__dkim_body *b)
{
	for (; b->blank > 0; b->blank--) {
		put(b, '\r');
		put(b, '\n');
	}
}

static void text(smtpc__dkim_body *b, char c)
{
	release_blank(b);
	if (b->wsp)
		put(b, ' ');
	b->wsp = 0;
	b->any = 1;
	put(b, c);
}

static void end_line(smtpc__dkim_body *b)
{
	b->wsp = 0; /* relaxed: WSP at the end of a line is dropped */
	b->blank++;
}

void smtpc__dkim_body_update(smtpc__dkim_body *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\n' && b->held_cr) {
			b->held_cr = 0; /* the LF of a CRLF already counted */
			continue;
		}
		b->held_cr = c == '\r';
		if (c == '\r' || c == '\n')
			end_line(b);
		else if (b->relaxed && (c == ' ' || c == '\t'))
			b->wsp = 1;
		else
			text(b, c);
	}
}

void smtpc__dkim_body_finish(smtpc__dkim_body *b)
{
	if (!b->relaxed || b->any) {
		put(b, '\r');
		put(b, '\n');
	}
	b->blank = 0;
	b->wsp = 0;
	b->held_cr = 0;
	flush(b);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t smtpc__dkim_canon_header(const char *f, size_t n, int relaxed, char *out)
{
	const char *colon = memchr(f, ':', n);
	size_t o = 0, i, name, value;
	int wsp = 0;

	if (!relaxed || colon == NULL) {
		memcpy(out, f, n);
		return n;
	}
	for (name = (size_t)(colon - f); name > 0 && is_wsp(f[name - 1]); name--)
		;
	for (i = 0; i < name; i++)
		out[o++] = lower(f[i]);
	out[o++] = ':';
	value = o;
	/* The value: folds removed (their CRLF only: the WSP after them is a run like any). */
	for (i = (size_t)(colon - f) + 1; i < n; i++) {
		char c = f[i];

		if (c == '\r' || c == '\n' || is_wsp(c)) {
			wsp = wsp || is_wsp(c);
			continue;
		}
		if (wsp && o > value)
			out[o++] = ' ';
		wsp = 0;
		out[o++] = c;
	}
	return o;
}
