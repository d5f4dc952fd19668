/*
 * test_dataenc.c - the streaming DATA encoder (src/dataenc.c).
 *
 * Every input is encoded whole, one byte per call and split at every point
 * into two parts; all must give the expected bytes. Every update() writes
 * into a heap buffer of exactly SMTPC__DATAENC_MAX_OUT(inlen) bytes and
 * finish() into one of SMTPC__DATAENC_FINISH_MAX bytes, so that ASan catches
 * any write beyond the declared bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataenc.h"

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* One update() into an exact-size heap buffer, checking the bound. */
static void feed(smtpc__dataenc *e, const char *in, size_t n, struct buf *b)
{
	size_t max = SMTPC__DATAENC_MAX_OUT(n);
	char *tmp = malloc(max ? max : 1);
	char *copy = malloc(n ? n : 1);
	size_t w;

	assert_non_null(tmp);
	assert_non_null(copy);
	/* A heap copy of the input, so that reading past it is caught too. */
	if (n > 0)
		memcpy(copy, in, n);
	w = smtpc__dataenc_update(e, copy, n, tmp);
	assert_true(w <= max);
	buf_add(b, tmp, w);
	free(copy);
	free(tmp);
}

static void finish(smtpc__dataenc *e, int terminate, struct buf *b)
{
	char *tmp = malloc(SMTPC__DATAENC_FINISH_MAX);
	size_t w;

	assert_non_null(tmp);
	w = smtpc__dataenc_finish(e, tmp, terminate);
	assert_true(w <= SMTPC__DATAENC_FINISH_MAX);
	buf_add(b, tmp, w);
	free(tmp);
}

/* Encodes in, cut at the given offsets (ascending, each <= len). */
static struct buf encode_cuts(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                              int terminate)
{
	struct buf b = {NULL, 0, 0};
	smtpc__dataenc e;
	size_t prev = 0;
	size_t i;

	smtpc__dataenc_init(&e);
	for (i = 0; i < ncuts; i++) {
		feed(&e, in + prev, cuts[i] - prev, &b);
		prev = cuts[i];
	}
	feed(&e, in + prev, len - prev, &b);
	finish(&e, terminate, &b);
	return b;
}

static void assert_same(const struct buf *b, const char *exp, size_t explen, const char *how,
                        size_t at)
{
	if (b->len != explen || (explen > 0 && memcmp(b->p, exp, explen) != 0)) {
		size_t i;

		print_error("%s (at %zu): got %zu bytes \"", how, at, b->len);
		for (i = 0; i < b->len; i++)
			print_error(b->p[i] == '\r'   ? "\\r"
			            : b->p[i] == '\n' ? "\\n"
			                              : "%c",
			            b->p[i]);
		print_error("\", want %zu bytes\n", explen);
		fail();
	}
}

/* Whole, byte by byte, and split at every point: all equal to exp. */
static void check_n(const char *in, size_t len, const char *exp, size_t explen, int terminate)
{
	struct buf b;
	size_t *cuts = malloc((len ? len : 1) * sizeof(*cuts));
	size_t i;

	assert_non_null(cuts);
	b = encode_cuts(in, len, NULL, 0, terminate);
	assert_same(&b, exp, explen, "whole", 0);
	free(b.p);

	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	b = encode_cuts(in, len, cuts, len > 0 ? len - 1 : 0, terminate);
	assert_same(&b, exp, explen, "byte by byte", 0);
	free(b.p);

	for (i = 0; i <= len; i++) {
		b = encode_cuts(in, len, &i, 1, terminate);
		assert_same(&b, exp, explen, "split", i);
		free(b.p);
	}
	/* Empty updates between bytes change nothing. */
	for (i = 0; i < len; i++) {
		cuts[i] = i;
	}
	if (len > 0) {
		b = encode_cuts(in, len, cuts, len, terminate);
		assert_same(&b, exp, explen, "with empty updates", 0);
		free(b.p);
	}
	free(cuts);
}

static void check(const char *in, const char *exp)
{
	check_n(in, strlen(in), exp, strlen(exp), 1);
}

static void check_q(const char *in, const char *exp)
{
	check_n(in, strlen(in), exp, strlen(exp), 0);
}

/* ---------------------------------------------------------------- examples */

static void test_smtplib_examples(void **state)
{
	(void)state;
	/* docs/RULES.md P8 */
	check(".first\r\n.\r\n..two\r\nx.y\r\n.last",
	      "..first\r\n..\r\n...two\r\nx.y\r\n..last\r\n.\r\n");
	check("a\nb\rc\r\n.d\n", "a\r\nb\r\nc\r\n..d\r\n.\r\n");
	/* quotedata */
	check_q("abc\n.jkl\rfoo\r\n..blue", "abc\r\n..jkl\r\nfoo\r\n...blue");
	check("abc\n.jkl\rfoo\r\n..blue", "abc\r\n..jkl\r\nfoo\r\n...blue\r\n.\r\n");
}

static void test_endings(void **state)
{
	(void)state;
	check("", "\r\n.\r\n");
	check("a", "a\r\n.\r\n");
	check(".", "..\r\n.\r\n");
	check("a.", "a.\r\n.\r\n");
	check("a\r\n.", "a\r\n..\r\n.\r\n");
	check("\r", "\r\n.\r\n");
	check("a\r", "a\r\n.\r\n");
	check("\n", "\r\n.\r\n");
	check("a\n", "a\r\n.\r\n");
	check("\r\n", "\r\n.\r\n");
	check("a\r\n", "a\r\n.\r\n");
	check("a\r\n\r\n", "a\r\n\r\n.\r\n");
	check("a\n\n", "a\r\n\r\n.\r\n");
	check("a\r\r", "a\r\n\r\n.\r\n");
	check(".\r", "..\r\n.\r\n");
	check(".\n", "..\r\n.\r\n");
	check(".\r\n", "..\r\n.\r\n");

	check_q("", "");
	check_q("a", "a");
	check_q(".", "..");
	check_q("\r", "\r\n");
	check_q("\n", "\r\n");
	check_q("a\r", "a\r\n");
	check_q("a\r\n", "a\r\n");
	check_q("\r\r\n", "\r\n\r\n");
}

static void test_dots(void **state)
{
	(void)state;
	check("..", "...\r\n.\r\n");
	check("a.b\r\n.b.", "a.b\r\n..b.\r\n.\r\n");
	check(" .\r\n", " .\r\n.\r\n"); /* not at a line start */
	check("x\n..\n...\n", "x\r\n...\r\n....\r\n.\r\n");
	check_q(".a\n.b\r.c\r\n.d", "..a\r\n..b\r\n..c\r\n..d");
}

/* docs/RULES.md, "M: message data (SMTP smuggling)", M1-M5 */
static void test_smuggling_m1(void **state)
{
	(void)state;
	check_q("a\n.\nb", "a\r\n..\r\nb");
	check_q("a\n.\r\nb", "a\r\n..\r\nb");
	check("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
	check("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
	check("\n.\n", "\r\n..\r\n.\r\n");
	check("a\n.\n", "a\r\n..\r\n.\r\n");
	check("a\r\n.\nMAIL FROM:<x@y>\r\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n");
}

static void test_smuggling_m2(void **state)
{
	(void)state;
	check_q("a\r.\rb", "a\r\n..\r\nb");
	check_q("a\r\n.\rb", "a\r\n..\r\nb");
	check("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
	check("a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
	check("a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
	check("\r.\r", "\r\n..\r\n.\r\n");
	check("a\r.\r\nRCPT TO:<evil@x>\r\n", "a\r\n..\r\nRCPT TO:<evil@x>\r\n.\r\n");
}

static void test_smuggling_m3(void **state)
{
	(void)state;
	check("a\r\n\r\n.\r\nb", "a\r\n\r\n..\r\nb\r\n.\r\n");
	check("\r\n\r\n.", "\r\n\r\n..\r\n.\r\n");
	check("a\n\n\n.x", "a\r\n\r\n\r\n..x\r\n.\r\n");
	check("a\r\r\r.x", "a\r\n\r\n\r\n..x\r\n.\r\n");
	check("a\r\n\n\r.\r\n", "a\r\n\r\n\r\n..\r\n.\r\n");
}

static void test_smuggling_m4(void **state)
{
	(void)state;
	check_q("\r\r\n", "\r\n\r\n");
	check("\r\r\n", "\r\n\r\n.\r\n");
	check("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
	check("\r\r\r\n", "\r\n\r\n\r\n.\r\n");
	check("a\r\r\n.\r\r\n", "a\r\n\r\n..\r\n\r\n.\r\n");
	check("\n\r", "\r\n\r\n.\r\n");
	check("\n\r\n\r", "\r\n\r\n\r\n.\r\n");
}

/* M5: every check() above is also fed byte by byte and at every split. */
static void test_smuggling_m5(void **state)
{
	struct buf b;
	size_t cuts[2];

	(void)state;
	/* CR at the end of one chunk, LF or "." at the start of the next. */
	cuts[0] = 2;
	b = encode_cuts("a\r\n.\r\nb", 7, cuts, 1, 1);
	assert_same(&b, "a\r\n..\r\nb\r\n.\r\n", 13, "cr|lf", 0);
	free(b.p);
	cuts[0] = 2;
	cuts[1] = 3;
	b = encode_cuts("a\r.\rb", 5, cuts, 2, 1);
	assert_same(&b, "a\r\n..\r\nb\r\n.\r\n", 13, "cr|.|", 0);
	free(b.p);
	/* Body ending in ".", "\r", nothing, with the terminator always right. */
	check("x\r\n.", "x\r\n..\r\n.\r\n");
	check("x\r", "x\r\n.\r\n");
	check("x", "x\r\n.\r\n");
	check("x\r\n.\r", "x\r\n..\r\n.\r\n");
}

static void test_embedded_nul_and_8bit(void **state)
{
	static const char in[] = "a\0b\r\xff.\n\0";
	static const char exp[] = "a\0b\r\n\xff.\r\n\0\r\n.\r\n";

	(void)state;
	check_n(in, sizeof(in) - 1, exp, sizeof(exp) - 1, 1);
}

/* The encoder is ready for a new message after finish(). */
static void test_reuse(void **state)
{
	smtpc__dataenc e;
	char out[64];
	size_t n;

	(void)state;
	smtpc__dataenc_init(&e);
	n = smtpc__dataenc_update(&e, "a\r", 2, out);
	n += smtpc__dataenc_finish(&e, out + n, 1);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "a\r\n.\r\n", 6);
	n = smtpc__dataenc_update(&e, ".", 1, out);
	n += smtpc__dataenc_finish(&e, out + n, 1);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "..\r\n.\r\n", 7);
}

/* ---------------------------------------------------------------- bounds */

/*
 * "\r.\r.\r." repeated: every CR is held and every "." starts a line, the
 * worst case of the proof in dataenc.c. The bound must hold for every
 * chunking, and be reached exactly with a held CR before ".\r.\r.".
 */
static void test_worst_case_bound(void **state)
{
	enum { N = 3000 };
	char *in = malloc(N);
	char *exp = malloc(4 * N + 8);
	size_t explen = 0;
	size_t i;
	size_t chunk;
	smtpc__dataenc e;
	char *out;
	size_t w;

	(void)state;
	assert_non_null(in);
	assert_non_null(exp);
	for (i = 0; i < N; i++)
		in[i] = i % 2 == 0 ? '\r' : '.';
	/* Expected: "\r\n.." for every "\r." pair, then the terminator. */
	for (i = 0; i < N / 2; i++) {
		memcpy(exp + explen, "\r\n..", 4);
		explen += 4;
	}
	memcpy(exp + explen, "\r\n.\r\n", 5);
	explen += 5;
	/* Every chunk size from 1 to 40, and a few large ones. */
	for (chunk = 1; chunk <= 40; chunk++) {
		struct buf b = {NULL, 0, 0};

		smtpc__dataenc_init(&e);
		for (i = 0; i < N; i += chunk)
			feed(&e, in + i, N - i < chunk ? N - i : chunk, &b);
		finish(&e, 1, &b);
		assert_same(&b, exp, explen, "chunk", chunk);
		free(b.p);
	}
	/* A short prefix, at every split point too. */
	memcpy(exp + 80, "\r\n.\r\n", 5);
	check_n(in, 40, exp, 85, 1);
	free(in);
	free(exp);

	/* Tight: held CR, then ".\r.\r." -> "\r\n.." "\r\n.." "\r\n.." = 2 * 5 + 2. */
	smtpc__dataenc_init(&e);
	out = malloc(SMTPC__DATAENC_MAX_OUT(5));
	assert_non_null(out);
	w = smtpc__dataenc_update(&e, "x\r", 2, out);
	assert_int_equal(w, 1);
	w = smtpc__dataenc_update(&e, ".\r.\r.", 5, out);
	assert_int_equal(w, SMTPC__DATAENC_MAX_OUT(5));
	assert_memory_equal(out, "\r\n..\r\n..\r\n..", 12);
	free(out);
	out = malloc(SMTPC__DATAENC_FINISH_MAX);
	assert_non_null(out);
	w = smtpc__dataenc_finish(&e, out, 1);
	assert_int_equal(w, 5);
	assert_memory_equal(out, "\r\n.\r\n", 5);
	/* A held CR at finish: "\r\n" then ".\r\n", still 5. */
	smtpc__dataenc_init(&e);
	w = smtpc__dataenc_update(&e, "\r", 1, out);
	assert_int_equal(w, 0);
	w = smtpc__dataenc_finish(&e, out, 1);
	assert_int_equal(w, 5);
	assert_memory_equal(out, "\r\n.\r\n", 5);
	free(out);
}

/* ---------------------------------------------------------------- property */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure is reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717u) >> 32);
}

/* The reference: line endings made CRLF, as smtplib does for text. */
static struct buf normalise(const char *in, size_t len)
{
	struct buf b = {NULL, 0, 0};
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r') {
			buf_add(&b, "\r\n", 2);
			if (i + 1 < len && in[i + 1] == '\n')
				i++;
		} else if (in[i] == '\n') {
			buf_add(&b, "\r\n", 2);
		} else {
			buf_add(&b, in + i, 1);
		}
	}
	return b;
}

/*
 * Checks one encoder output against the properties (a) no "\r\n.\r\n"
 * before the end (and no line holding a single "." but the last), (b) no
 * bare CR or LF, (c) removing the terminator and one leading dot from every
 * line that starts with one gives the normalised input plus the closing
 * CRLF.
 */
static void check_properties(const char *in, size_t len, const struct buf *o)
{
	struct buf norm = normalise(in, len);
	struct buf dec = {NULL, 0, 0};
	size_t i;
	size_t line;

	/* The output ends with CRLF "." CRLF, or is exactly it for "". */
	assert_true(o->len >= 5);
	assert_memory_equal(o->p + o->len - 5, "\r\n.\r\n", 5);
	/* (a) */
	for (i = 0; i + 5 < o->len; i++)
		assert_false(memcmp(o->p + i, "\r\n.\r\n", 5) == 0);
	assert_false(o->len > 5 && memcmp(o->p, ".\r\n", 3) == 0);
	/* (b) */
	for (i = 0; i < o->len; i++) {
		if (o->p[i] == '\r')
			assert_true(i + 1 < o->len && o->p[i + 1] == '\n');
		if (o->p[i] == '\n')
			assert_true(i > 0 && o->p[i - 1] == '\r');
	}
	/* (c) un-stuff the lines before the final ".\r\n" */
	line = 0;
	for (i = 0; i < o->len - 3; i++) {
		if (o->p[i] == '\r') {
			size_t s = line;

			if (o->p[s] == '.') {
				/* A stuffed line starts with two dots. */
				assert_true(i - s >= 2 && o->p[s + 1] == '.');
				s++;
			}
			buf_add(&dec, o->p + s, i + 2 - s);
			line = i + 2;
			i++;
		}
	}
	assert_int_equal(line, o->len - 3);
	if (norm.len < 2 || memcmp(norm.p + norm.len - 2, "\r\n", 2) != 0)
		buf_add(&norm, "\r\n", 2);
	assert_int_equal(dec.len, norm.len);
	assert_memory_equal(dec.p, norm.p, norm.len);
	free(norm.p);
	free(dec.p);
}

static void test_random_property(void **state)
{
	static const char alphabet[4] = {'\r', '\n', '.', 'a'};
	char in[40];
	size_t cuts[40];
	int iter;

	(void)state;
	for (iter = 0; iter < 5000; iter++) {
		size_t len = rnd() % 41;
		size_t ncuts = 0;
		size_t i;
		struct buf whole;
		struct buf q;
		int k;

		for (i = 0; i < len; i++)
			in[i] = alphabet[rnd() % 4];
		whole = encode_cuts(in, len, NULL, 0, 1);
		check_properties(in, len, &whole);
		/* (d) random chunkings, with and without empty chunks */
		for (k = 0; k < 8; k++) {
			struct buf b;
			size_t pos = 0;

			ncuts = 0;
			while (pos < len && ncuts < 40) {
				pos += rnd() % 4; /* 0: an empty update */
				if (pos > len)
					pos = len;
				cuts[ncuts++] = pos;
			}
			b = encode_cuts(in, len, cuts, ncuts, 1);
			assert_same(&b, whole.p, whole.len, "random chunks", (size_t)iter);
			free(b.p);
		}
		/* quotedata mode: the same bytes without the closing part. */
		q = encode_cuts(in, len, NULL, 0, 0);
		assert_true(q.len <= whole.len);
		assert_memory_equal(q.p ? q.p : "", whole.p, q.len);
		if (len > 0 && (in[len - 1] == '\r' || in[len - 1] == '\n'))
			assert_int_equal(q.len + 3, whole.len);
		else
			assert_int_equal(q.len + 5, whole.len);
		free(q.p);
		free(whole.p);
	}
}

/* Long runs of one line ending with none of the other (memchr caching). */
static void test_long_runs(void **state)
{
	enum { N = 100000 };
	char *in = malloc(N);
	struct buf b;
	size_t i;

	(void)state;
	assert_non_null(in);
	memset(in, '\n', N);
	b = encode_cuts(in, N, NULL, 0, 1);
	assert_int_equal(b.len, 2 * N + 3);
	for (i = 0; i < 2 * N; i += 2)
		assert_memory_equal(b.p + i, "\r\n", 2);
	free(b.p);
	memset(in, '\r', N);
	in[N - 1] = 'z';
	b = encode_cuts(in, N, NULL, 0, 1);
	assert_int_equal(b.len, 2 * (N - 1) + 1 + 5);
	free(b.p);
	for (i = 0; i < N; i++)
		in[i] = i % 80 == 79 ? '\n' : (i % 80 == 0 ? '.' : 'x');
	b = encode_cuts(in, N, NULL, 0, 1);
	/* 1250 lines of 80: one stuffed dot and one CR more each, then ".\r\n". */
	assert_int_equal(b.len, N + 1250 + 1250 + 3);
	free(b.p);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtplib_examples),
	    cmocka_unit_test(test_endings),
	    cmocka_unit_test(test_dots),
	    cmocka_unit_test(test_smuggling_m1),
	    cmocka_unit_test(test_smuggling_m2),
	    cmocka_unit_test(test_smuggling_m3),
	    cmocka_unit_test(test_smuggling_m4),
	    cmocka_unit_test(test_smuggling_m5),
	    cmocka_unit_test(test_embedded_nul_and_8bit),
	    cmocka_unit_test(test_reuse),
	    cmocka_unit_test(test_worst_case_bound),
	    cmocka_unit_test(test_random_property),
	    cmocka_unit_test(test_long_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
