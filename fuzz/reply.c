/*
 * reply.c - fuzz target for the incremental reply parser (src/reply.c).
 *
 * Input: byte 0 picks the feed chunk size (1..256, as hiredis'
 * reply_reader_fuzzer), the rest is what a server sends. The bytes are fed
 * in chunks, replies are pulled out one after the other (reset after each
 * DONE) until the input ends or the parser reports an error. The same bytes
 * fed in one piece must give the same sequence of replies and the same end
 * (docs/RULES.md R8). Invariants of every reply: code 200..599, at
 * least one line and at most SMTPC_MAX_REPLY_LINES, text NUL-terminated at
 * text_len <= SMTPC_MAX_REPLY_BYTES, one '\n' between lines and none
 * inside them, enhanced code of the reply's class; consumed never exceeds
 * what was fed, and a parser that needs more always takes at least one byte.
 */
#include <string.h>

#include "fuzz.h"
#include "reply.h"

typedef struct summary {
	int code;
	char enhanced[16];
	size_t nlines;
	size_t text_len;
	uint64_t text_hash;
	size_t end; /* offset in the input just after the reply */
} summary;

typedef struct run {
	summary *replies;
	size_t cap; /* a reply takes at least 4 bytes ("250\n") */
	size_t n;
	int last_status; /* SMTPC__RP_MORE at the end of the input, or the error */
} run;

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void check_reply(const smtpc__reply_parser *rp, summary *s)
{
	smtpc_reply r;
	size_t i, nl = 0;
	size_t elen;

	smtpc__rp_reply(rp, &r);
	FUZZ_CHECK(r.code >= 200 && r.code <= 599);
	FUZZ_CHECK(r.nlines >= 1 && r.nlines <= SMTPC_MAX_REPLY_LINES);
	FUZZ_CHECK(r.text != NULL);
	FUZZ_CHECK(r.text_len <= SMTPC_MAX_REPLY_BYTES);
	FUZZ_CHECK(r.text[r.text_len] == '\0');
	for (i = 0; i < r.text_len; i++)
		nl += r.text[i] == '\n';
	FUZZ_CHECK(nl == r.nlines - 1);
	elen = strnlen(r.enhanced, sizeof(r.enhanced));
	FUZZ_CHECK(elen < sizeof(r.enhanced));
	if (elen > 0) {
		FUZZ_CHECK(elen >= 5);
		FUZZ_CHECK(r.enhanced[0] == (char)('0' + r.code / 100));
		FUZZ_CHECK(r.enhanced[1] == '.');
	}
	s->code = r.code;
	memcpy(s->enhanced, r.enhanced, sizeof(s->enhanced));
	s->nlines = r.nlines;
	s->text_len = r.text_len;
	s->text_hash = fnv1a(r.text, r.text_len);
}

/*
 * Feeds buf[0..len) in pieces of `chunk` bytes (0: all at once) and records
 * every reply. Each piece is a separate heap block of exactly its size, so
 * that a read past what was fed is seen by AddressSanitizer.
 */
static void parse_all(smtpc__reply_parser *rp, const uint8_t *buf, size_t len, size_t chunk,
                      run *out)
{
	size_t pos = 0;
	int st = SMTPC__RP_MORE;

	out->n = 0;
	smtpc__rp_reset(rp);
	while (pos < len) {
		size_t n = chunk == 0 || len - pos < chunk ? len - pos : chunk;
		char *piece = fuzz_dup(buf + pos, n);
		size_t off = 0;

		if (piece == NULL)
			abort();
		while (off < n) {
			size_t used = (size_t)-1;
			smtpc_reply r;

			st = smtpc__rp_feed(rp, piece + off, n - off, &used);
			FUZZ_CHECK(used <= n - off);
			FUZZ_CHECK(st == SMTPC__RP_MORE || st == SMTPC__RP_DONE ||
			           (st <= SMTPC__RP_ERR_SYNTAX && st >= SMTPC__RP_ERR_TOO_MANY));
			FUZZ_CHECK(rp->text_len <= SMTPC_MAX_REPLY_BYTES);
			off += used;
			if (st == SMTPC__RP_MORE) {
				/* All of it was taken: nothing is left behind unparsed. */
				FUZZ_CHECK(off == n);
				continue;
			}
			if (st < 0) {
				/* Errors are sticky and show no half-parsed reply. */
				size_t again = (size_t)-1;

				FUZZ_CHECK(smtpc__rp_feed(rp, "2", 1, &again) == st);
				FUZZ_CHECK(again == 0);
				smtpc__rp_reply(rp, &r);
				FUZZ_CHECK(r.code == 0 && r.text_len == 0 && r.nlines == 0);
				free(piece);
				out->last_status = st;
				return;
			}
			/* DONE: the parser was reset before this call, so the reply's
			 * last byte at least was taken now. */
			FUZZ_CHECK(used > 0);
			FUZZ_CHECK(out->n < out->cap);
			check_reply(rp, &out->replies[out->n]);
			out->replies[out->n].end = pos + off;
			out->n++;
			smtpc__rp_reset(rp);
		}
		free(piece);
		pos += n;
	}
	out->last_status = st == SMTPC__RP_DONE ? SMTPC__RP_MORE : st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static smtpc__reply_parser rp; /* 64 KiB: not on the stack */
	run whole, chunked;
	size_t chunk, i;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;

	whole.cap = chunked.cap = size / 4 + 1;
	whole.replies = calloc(whole.cap, sizeof(summary));
	chunked.replies = calloc(chunked.cap, sizeof(summary));
	if (whole.replies == NULL || chunked.replies == NULL)
		abort();

	parse_all(&rp, data, size, 0, &whole);
	parse_all(&rp, data, size, chunk, &chunked);

	FUZZ_CHECK(whole.n == chunked.n);
	FUZZ_CHECK(whole.last_status == chunked.last_status);
	for (i = 0; i < whole.n; i++) {
		const summary *a = &whole.replies[i];
		const summary *b = &chunked.replies[i];

		FUZZ_CHECK(a->code == b->code);
		FUZZ_CHECK(strcmp(a->enhanced, b->enhanced) == 0);
		FUZZ_CHECK(a->nlines == b->nlines);
		FUZZ_CHECK(a->text_len == b->text_len);
		FUZZ_CHECK(a->text_hash == b->text_hash);
		FUZZ_CHECK(a->end == b->end);
		FUZZ_CHECK(i == 0 || a->end > whole.replies[i - 1].end);
	}
	free(whole.replies);
	free(chunked.replies);
	return 0;
}
