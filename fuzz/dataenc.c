/*
 * dataenc.c - fuzz target for the DATA / BDAT encoder (src/dataenc.c) and
 * smtpc_quotedata().
 *
 * Input: byte 0 picks the mode (bit 0: BDAT), bytes 1..8 the sizes of the
 * pieces the body is cut into (used in turn; 0 is an empty update), the
 * rest is the message body. Properties (docs/RULES.md M1-M5):
 * - DATA: the output ends with CRLF "." CRLF, which occurs nowhere else
 *   (no line before the last one is a lone "."); no bare CR or LF; every
 *   line that starts with "." has it doubled; removing the doubled dots and
 *   the terminator gives the body with every line ending (CRLF, LF, CR)
 *   made CRLF and a final CRLF added when missing (an empty body is one
 *   CRLF);
 * - BDAT: exactly that normalised body, no stuffing, no terminator;
 * - the output does not depend on the cutting: one-piece encoding (with
 *   the same encoder, which finish() made ready again) gives the same
 *   bytes; no update writes more than SMTPC__DATAENC_MAX_OUT, nor finish
 *   more than SMTPC__DATAENC_FINISH_MAX (each writes into a block of
 *   exactly that size);
 * - smtpc_quotedata() (no terminator) equals the DATA output without its
 *   final CRLF rule and terminator.
 */
#include <string.h>

#include "dataenc.h"
#include "fuzz.h"
#include "smtpc.h"

typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static void put(buf *b, const char *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap * 2 + n;
		char *grown = realloc(b->p, cap);

		if (grown == NULL)
			abort();
		b->p = grown;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Encodes body in the pieces given by sizes (nsizes 0: one piece). */
static void encode(smtpc__dataenc *e, const uint8_t *body, size_t len, const uint8_t *sizes,
                   size_t nsizes, int terminate, buf *out)
{
	size_t pos = 0, k = 0;
	char *o;
	size_t n;

	out->len = 0;
	/* Sizes that are all 0 would never get anywhere: one piece then. */
	for (k = 0; k < nsizes && sizes[k] % 64 == 0; k++)
		;
	if (k == nsizes)
		nsizes = 0;
	k = 0;
	for (;;) {
		size_t piece = nsizes == 0 ? len - pos : sizes[k++ % nsizes] % 64;
		char *in;

		if (piece > len - pos)
			piece = len - pos;
		in = fuzz_dup(body + pos, piece);
		o = malloc(SMTPC__DATAENC_MAX_OUT(piece));
		if (in == NULL || o == NULL)
			abort();
		n = smtpc__dataenc_update(e, in, piece, o);
		FUZZ_CHECK(n <= SMTPC__DATAENC_MAX_OUT(piece));
		put(out, o, n);
		free(o);
		free(in);
		pos += piece;
		if (pos == len && (nsizes == 0 || k >= nsizes))
			break;
	}
	o = malloc(SMTPC__DATAENC_FINISH_MAX);
	if (o == NULL)
		abort();
	n = smtpc__dataenc_finish(e, o, terminate);
	FUZZ_CHECK(n <= SMTPC__DATAENC_FINISH_MAX);
	put(out, o, n);
	free(o);
}

/* The reference: line endings made CRLF, then (close) a final CRLF rule. */
static void normalise(const uint8_t *in, size_t len, int close, buf *out)
{
	size_t i;

	out->len = 0;
	for (i = 0; i < len; i++) {
		if (in[i] == '\r') {
			put(out, "\r\n", 2);
			if (i + 1 < len && in[i + 1] == '\n')
				i++;
		} else if (in[i] == '\n') {
			put(out, "\r\n", 2);
		} else {
			put(out, (const char *)&in[i], 1);
		}
	}
	if (close && (out->len < 2 || out->p[out->len - 2] != '\r' || out->p[out->len - 1] != '\n'))
		put(out, "\r\n", 2);
}

/* Every CR is followed by LF and every LF follows a CR. */
static void check_no_bare(const buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\r')
			FUZZ_CHECK(i + 1 < b->len && b->p[i + 1] == '\n');
		if (b->p[i] == '\n')
			FUZZ_CHECK(i > 0 && b->p[i - 1] == '\r');
	}
}

/*
 * DATA output: checks the terminator and the stuffing, and un-stuffs it into
 * plain (without the terminator line).
 */
static void check_data(const buf *b, buf *plain)
{
	size_t pos = 0;

	FUZZ_CHECK(b->len >= 5);
	FUZZ_CHECK(memcmp(b->p + b->len - 5, "\r\n.\r\n", 5) == 0);
	check_no_bare(b);
	plain->len = 0;
	/* Lines: [pos, CRLF); the last one is the lone "." of the terminator. */
	while (pos < b->len) {
		const char *crlf = memchr(b->p + pos, '\n', b->len - pos);
		size_t eol = (size_t)(crlf - b->p) + 1; /* after the LF */
		size_t n = eol - 2 - pos;               /* without CRLF */
		const char *line = b->p + pos;

		if (eol == b->len) {
			FUZZ_CHECK(n == 1 && line[0] == '.'); /* the terminator */
			break;
		}
		FUZZ_CHECK(!(n == 1 && line[0] == '.')); /* no early end of data */
		if (n > 0 && line[0] == '.') {
			FUZZ_CHECK(n >= 2 && line[1] == '.'); /* stuffed */
			line++;
			n--;
		}
		put(plain, line, n);
		put(plain, "\r\n", 2);
		pos = eol;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtpc__dataenc e;
	buf chunked = {0}, whole = {0}, want = {0}, plain = {0};
	const uint8_t *sizes, *body;
	size_t nsizes, len;
	int bdat, need_crlf;
	char *q = NULL;
	size_t qlen = 0;

	if (size < 1)
		return 0;
	bdat = data[0] & 1;
	nsizes = size - 1 < 8 ? size - 1 : 8;
	sizes = data + 1;
	body = data + 1 + nsizes;
	len = size - 1 - nsizes;

	if (bdat)
		smtpc__dataenc_init_bdat(&e);
	else
		smtpc__dataenc_init(&e);
	encode(&e, body, len, sizes, nsizes, 1, &chunked);
	/* finish() left the encoder ready for the next message, in the same mode. */
	encode(&e, body, len, NULL, 0, 1, &whole);
	FUZZ_CHECK(chunked.len == whole.len);
	FUZZ_CHECK(chunked.len == 0 || memcmp(chunked.p, whole.p, chunked.len) == 0);

	normalise(body, len, 1, &want);
	if (bdat) {
		check_no_bare(&chunked);
		FUZZ_CHECK(chunked.len == want.len && memcmp(chunked.p, want.p, want.len) == 0);
	} else {
		check_data(&chunked, &plain);
		FUZZ_CHECK(plain.len == want.len && memcmp(plain.p, want.p, want.len) == 0);

		/* quotedata: the stuffed body, no final CRLF rule, no terminator. */
		FUZZ_CHECK(smtpc_quotedata(body, len, &q, &qlen) == 0);
		FUZZ_CHECK(q[qlen] == '\0');
		normalise(body, len, 0, &want);
		need_crlf = want.len < 2 || memcmp(want.p + want.len - 2, "\r\n", 2) != 0;
		/* The DATA output is the quotedata output, the closing CRLF when the
		 * body lacks one, and ".\r\n". */
		FUZZ_CHECK(qlen + (need_crlf ? 2 : 0) + 3 == chunked.len);
		FUZZ_CHECK(qlen == 0 || memcmp(q, chunked.p, qlen) == 0);
		/* ... and the same encoder, not terminating, gives it too. */
		smtpc__dataenc_init(&e);
		encode(&e, body, len, sizes, nsizes, 0, &whole);
		FUZZ_CHECK(whole.len == qlen && (qlen == 0 || memcmp(whole.p, q, qlen) == 0));
		free(q);
	}
	free(chunked.p);
	free(whole.p);
	free(want.p);
	free(plain.p);
	return 0;
}
