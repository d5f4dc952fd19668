/*
 * dataenc.c - streaming DATA encoder, no I/O.
 *
 * RFC 5321 2.3.8: a client MUST NOT send a bare CR or a bare LF, so every line
 * ending of the input (CRLF, bare LF, bare CR) becomes CRLF; "\r\r\n" is a
 * lone CR followed by CRLF and becomes "\r\n\r\n".
 * RFC 5321 4.5.2: a "." at the start of a line is doubled (transparency).
 * RFC 5321 4.1.1.4: the data ends with CRLF "." CRLF, where the first CRLF
 * ends the last line of the message.
 *
 * Normalising first and stuffing after (on our own CRLFs) is what closes
 * SMTP smuggling: "\r.\r" or "\n.\n" can never reach the wire as a line
 * holding a single dot, because the dot is doubled at every line start of
 * the output, whichever line ending of the input made that line start.
 *
 * The encoder has three states: at the start of a line (nothing emitted for
 * the current line yet), inside a line, and "CR held": the input's last byte
 * was a CR whose meaning (CRLF or bare CR) depends on the next byte, which
 * may come in the next call. A held CR is always emitted as CRLF; the next
 * byte only decides whether it is consumed (LF) or starts the next line. So
 * the output never depends on where the input is split.
 *
 * Worst-case output of smtpc__dataenc_update() (SMTPC__DATAENC_MAX_OUT):
 * charge each input byte with the output it causes:
 *   - CR: 2 ("\r\n", written when the next byte is seen or at finish);
 *   - LF right after a CR: 0 (the CR's CRLF already covers it);
 *   - any other LF: 2 ("\r\n");
 *   - "." at the start of a line: 2 ("..");
 *   - any other byte: 1.
 * Every byte is charged at most 2. One call writes the charges of its own
 * bytes (except a CR at its very end, which is held: 0 now) plus at most the
 * 2 bytes of a CR held by the previous call. Hence at most 2 * inlen + 2.
 * The worst case is reached: a held CR then ".\r.\r..." gives "\r\n.." for
 * the first byte and 2 for each further byte except a final held CR.
 * smtpc__dataenc_finish() writes at most a held CR ("\r\n") or the closing
 * CRLF (never both: a held CR leaves the output at a line start), then
 * ".\r\n": at most 5 bytes (SMTPC__DATAENC_FINISH_MAX).
 */
#include "dataenc.h"

#include <string.h>

enum {
	ENC_BOL = 0, /* at the start of a line: a "." here is doubled */
	ENC_MID = 1, /* inside a line */
	ENC_CR = 2,  /* a CR was read, its CRLF is not written yet */
};

void smtpc__dataenc_init(smtpc__dataenc *e)
{
	e->state = ENC_BOL;
	e->started = 0;
	e->stuff = 1;
}

void smtpc__dataenc_init_bdat(smtpc__dataenc *e)
{
	smtpc__dataenc_init(e);
	e->stuff = 0;
}

/*
 * The next CR or LF at or after p, or end. *cr and *lf cache the last
 * memchr() results (NULL: not searched yet; end: there is none) so that
 * text with many LFs and no CR (or the other way round) is not rescanned
 * to its end for every line.
 */
static const char *next_eol(const char *p, const char *end, const char **cr, const char **lf)
{
	if (*cr == NULL || *cr < p) {
		*cr = memchr(p, '\r', (size_t)(end - p));
		if (*cr == NULL)
			*cr = end;
	}
	if (*lf == NULL || *lf < p) {
		*lf = memchr(p, '\n', (size_t)(end - p));
		if (*lf == NULL)
			*lf = end;
	}
	return *cr < *lf ? *cr : *lf;
}

size_t smtpc__dataenc_update(smtpc__dataenc *e, const char *in, size_t inlen, char *out)
{
	const char *p = in;
	const char *end = in + inlen;
	const char *cr = NULL;
	const char *lf = NULL;
	char *o = out;

	if (inlen == 0)
		return 0;
	e->started = 1;

	while (p < end) {
		const char *q;

		if (e->state == ENC_CR) {
			/* The held CR ends a line whatever follows. */
			*o++ = '\r';
			*o++ = '\n';
			e->state = ENC_BOL;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		if (e->state == ENC_BOL && *p == '.' && e->stuff)
			*o++ = '.'; /* RFC 5321 4.5.2; the dot itself is copied below */

		q = next_eol(p, end, &cr, &lf);
		if (q > p) {
			memcpy(o, p, (size_t)(q - p));
			o += q - p;
			e->state = ENC_MID;
		}
		if (q == end)
			break;
		if (*q == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			e->state = ENC_BOL;
		} else {
			e->state = ENC_CR;
		}
		p = q + 1;
	}
	return (size_t)(o - out);
}

size_t smtpc__dataenc_finish(smtpc__dataenc *e, char *out, int terminate)
{
	char *o = out;

	if (e->state == ENC_CR) {
		*o++ = '\r';
		*o++ = '\n';
		e->state = ENC_BOL;
	}
	if (!terminate)
		return (size_t)(o - out);
	/* In ENC_BOL after some input the output already ends with CRLF. */
	if (e->state != ENC_BOL || !e->started) {
		*o++ = '\r';
		*o++ = '\n';
	}
	if (e->stuff) {
		*o++ = '.';
		*o++ = '\r';
		*o++ = '\n';
		smtpc__dataenc_init(e); /* ready for the next message */
	} else {
		smtpc__dataenc_init_bdat(e);
	}
	return (size_t)(o - out);
}
