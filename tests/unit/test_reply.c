/*
 * test_reply.c - the incremental reply parser (src/reply.c).
 *
 * Every input is fed three ways (whole, one byte per call, split in two at
 * every point) and the three must agree (docs/RULES.md R8). Covers the
 * hostile replies R1-R6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reply.h"

/* A string literal and its length (it may hold NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

struct outcome {
	int status;
	size_t consumed; /* bytes used by the calls that returned MORE or DONE */
	smtpc_reply r;
	char *text; /* copy of r.text, NUL included */
};

static smtpc__reply_parser *new_parser(void)
{
	smtpc__reply_parser *rp = malloc(sizeof(*rp));

	assert_non_null(rp);
	/* Garbage in the struct must not matter after a reset. */
	memset(rp, 0xa5, sizeof(*rp));
	smtpc__rp_reset(rp);
	return rp;
}

/*
 * Feeds in[0..len) in pieces ending at the offsets ends[0..nends) (the
 * last one is len); stops at the first status other than MORE.
 */
static void run(smtpc__reply_parser *rp, const char *in, size_t len, const size_t *ends,
                size_t nends, struct outcome *o)
{
	size_t pos = 0, i, used;
	int st = SMTPC__RP_MORE;

	smtpc__rp_reset(rp);
	o->consumed = 0;
	for (i = 0; i < nends; i++) {
		used = (size_t)-1;
		st = smtpc__rp_feed(rp, in + pos, ends[i] - pos, &used);
		assert_true(used <= ends[i] - pos);
		if (st == SMTPC__RP_MORE)
			assert_int_equal(used, ends[i] - pos); /* MORE eats everything */
		if (st != SMTPC__RP_ERR_SYNTAX && st != SMTPC__RP_ERR_MISMATCH &&
		    st != SMTPC__RP_ERR_TOO_LONG && st != SMTPC__RP_ERR_TOO_MANY)
			o->consumed += used;
		if (st != SMTPC__RP_MORE)
			break;
		pos = ends[i];
	}
	o->status = st;
	smtpc__rp_reply(rp, &o->r);
	assert_non_null(o->r.text);
	assert_int_equal(o->r.text[o->r.text_len], '\0');
	o->text = malloc(o->r.text_len + 1);
	assert_non_null(o->text);
	memcpy(o->text, o->r.text, o->r.text_len + 1);
	o->r.text = o->text; /* the parser is freed before the result is checked */
}

static void same(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->r.code, b->r.code);
	assert_string_equal(a->r.enhanced, b->r.enhanced);
	assert_int_equal(a->r.nlines, b->r.nlines);
	assert_int_equal(a->r.text_len, b->r.text_len);
	assert_memory_equal(a->text, b->text, a->r.text_len + 1);
	if (a->status == SMTPC__RP_DONE || a->status == SMTPC__RP_MORE)
		assert_int_equal(a->consumed, b->consumed);
}

/*
 * Feeds the input whole, byte by byte and split at every point; asserts the
 * results are identical and returns the whole-feed one (o->text to free).
 */
static void feed3(const char *in, size_t len, struct outcome *o)
{
	smtpc__reply_parser *rp = new_parser();
	size_t *ends = malloc((len + 1) * sizeof(*ends));
	struct outcome b;
	size_t i;

	assert_non_null(ends);
	ends[0] = len;
	run(rp, in, len, ends, 1, o);

	for (i = 0; i < len; i++)
		ends[i] = i + 1;
	run(rp, in, len, ends, len, &b);
	same(o, &b);
	free(b.text);

	for (i = 0; i <= len; i++) {
		size_t two[2];

		two[0] = i; /* the first part may be empty, so may the second */
		two[1] = len;
		run(rp, in, len, two, 2, &b);
		same(o, &b);
		free(b.text);
	}
	free(ends);
	free(rp);
}

static void expect_reply(const char *in, size_t len, size_t consumed, int code, const char *enh,
                         const char *text, size_t text_len, size_t nlines)
{
	struct outcome o;

	feed3(in, len, &o);
	assert_int_equal(o.status, SMTPC__RP_DONE);
	assert_int_equal(o.consumed, consumed);
	assert_int_equal(o.r.code, code);
	assert_string_equal(o.r.enhanced, enh);
	assert_int_equal(o.r.text_len, text_len);
	assert_memory_equal(o.r.text, text, text_len);
	assert_int_equal(o.r.nlines, nlines);
	free(o.text);
}

/* The whole input is one reply. */
#define REPLY(in, code, enh, text, nlines)                                                         \
	expect_reply(S(in), sizeof(in) - 1, code, enh, S(text), nlines)

static void expect_status(const char *in, size_t len, int status)
{
	struct outcome o;

	feed3(in, len, &o);
	assert_int_equal(o.status, status);
	if (status != SMTPC__RP_DONE) {
		/* No half reply leaks out. */
		assert_int_equal(o.r.code, 0);
		assert_int_equal(o.r.text_len, 0);
		assert_string_equal(o.r.enhanced, "");
	}
	free(o.text);
}

#define STATUS(in, st) expect_status(S(in), st)

/* "NNN<sep>" + n copies of `fill` + tail, in a malloc'd buffer. */
static char *line_of(const char *head, size_t n, char fill, const char *tail, size_t *len)
{
	size_t h = strlen(head), t = strlen(tail);
	char *p = malloc(h + n + t + 1);

	assert_non_null(p);
	memcpy(p, head, h);
	memset(p + h, fill, n);
	memcpy(p + h + n, tail, t + 1);
	*len = h + n + t;
	return p;
}

/* ---------------------------------------------------------------- basics */

static void test_single_line(void **state)
{
	(void)state;
	REPLY("250 OK\r\n", 250, "", "OK", 1);
	REPLY("250 OK\n", 250, "", "OK", 1);
	REPLY("220 mail.example.com ESMTP ready\r\n", 220, "", "mail.example.com ESMTP ready", 1);
	REPLY("554 \r\n", 554, "", "", 1);
	REPLY("421 4.3.2 Service shutting down\r\n", 421, "4.3.2", "Service shutting down", 1);
	REPLY("334 \r\n", 334, "", "", 1);
	REPLY("334 VXNlcm5hbWU6\r\n", 334, "", "VXNlcm5hbWU6", 1);
}

static void test_multi_line(void **state)
{
	(void)state;
	REPLY("250-mail.example.com Hello\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 HELP\r\n",
	      250, "", "mail.example.com Hello\nSIZE 10240000\n8BITMIME\nHELP", 4);
	REPLY("250-a\n250-b\r\n250 c\n", 250, "", "a\nb\nc", 3);
	REPLY("220-first\r\n220-second\r\n220 third\r\n", 220, "", "first\nsecond\nthird", 3);
}

static void test_bare_code(void **state)
{
	(void)state;
	REPLY("250\r\n", 250, "", "", 1);
	REPLY("250\n", 250, "", "", 1);
	REPLY("250-a\r\n250\r\n", 250, "", "a\n", 2);
	REPLY("354\r\n", 354, "", "", 1);
}

static void test_empty_continuations(void **state)
{
	(void)state;
	REPLY("250-\r\n250-\r\n250 last\r\n", 250, "", "\n\nlast", 3);
	REPLY("250-first\r\n250-\r\n250 last\r\n", 250, "", "first\n\nlast", 3);
	REPLY("250-\n250\n", 250, "", "\n", 2);
	REPLY("250-\r\n250 \r\n", 250, "", "\n", 2);
}

static void test_text_kept_as_sent(void **state)
{
	(void)state;
	REPLY("250  two spaces \t\r\n", 250, "", " two spaces \t", 1);
	REPLY("250 a\rb\r\n", 250, "", "a\rb", 1);
	REPLY("250 a\r\r\n", 250, "", "a\r", 1);
	REPLY("250 \r\r\r\n", 250, "", "\r\r", 1);
	REPLY("250-\r\r\n250 \r\n", 250, "", "\r\n", 2);
	REPLY("250 -dash\r\n", 250, "", "-dash", 1);
	REPLY("250--dash\r\n250 x\r\n", 250, "", "-dash\nx", 2);
	REPLY("250 250 nested\r\n", 250, "", "250 nested", 1);
}

/* ---------------------------------------------------------------- enhanced codes */

static void test_enhanced(void **state)
{
	(void)state;
	REPLY("250 2.1.5 Ok\r\n", 250, "2.1.5", "Ok", 1);
	REPLY("550-5.1.1 No such user\r\n550 5.1.1 here\r\n", 550, "5.1.1", "No such user\nhere",
	      2);
	REPLY("250 2.999.999 max\r\n", 250, "2.999.999", "max", 1);
	/* Absent. */
	REPLY("250 Ok\r\n", 250, "", "Ok", 1);
	REPLY("250 2 Ok\r\n", 250, "", "2 Ok", 1);
	/* Class not equal to the first digit: not taken. */
	REPLY("250 5.1.1 x\r\n", 250, "", "5.1.1 x", 1);
	REPLY("550 2.0.0 x\r\n", 550, "", "2.0.0 x", 1);
	/* Alone, and followed by more than one space (only one is removed). */
	REPLY("250 2.0.0\r\n", 250, "2.0.0", "", 1);
	REPLY("250 2.0.0  x\r\n", 250, "2.0.0", " x", 1);
	/* Malformed: not taken. */
	REPLY("250 2.0.0x\r\n", 250, "", "2.0.0x", 1);
	REPLY("250 2.0.0\tx\r\n", 250, "", "2.0.0\tx", 1);
	REPLY("250 2.1000.0 x\r\n", 250, "", "2.1000.0 x", 1);
	REPLY("250 2.0.1000 x\r\n", 250, "", "2.0.1000 x", 1);
	REPLY("250 2..0 x\r\n", 250, "", "2..0 x", 1);
	REPLY("250 2.0. x\r\n", 250, "", "2.0. x", 1);
	REPLY("250 2.0\r\n", 250, "", "2.0", 1);
	REPLY("250 22.0.0 x\r\n", 250, "", "22.0.0 x", 1);
	REPLY("250 2.0.0.1 x\r\n", 250, "", "2.0.0.1 x", 1);
	REPLY("250  2.0.0 x\r\n", 250, "", " 2.0.0 x", 1);
	/* On some lines only; other codes on later lines are kept. */
	REPLY("250-2.0.0 first\r\n250-second\r\n250-2.0.0\r\n250-2.0.00 z\r\n250 2.0.1 other\r\n",
	      250, "2.0.0", "first\nsecond\n\n2.0.00 z\n2.0.1 other", 5);
	/* Only the first line decides. */
	REPLY("250-hello\r\n250 2.0.0 ok\r\n", 250, "", "hello\n2.0.0 ok", 2);
	REPLY("250-2.0.0\r\n250 2.0.0 ok\r\n", 250, "2.0.0", "\nok", 2);
	REPLY("354 3.0.0 go ahead\r\n", 354, "3.0.0", "go ahead", 1);
}

/* ---------------------------------------------------------------- framing */

static void test_two_replies_in_one_buffer(void **state)
{
	static const char two[] = "250 first\r\n354 second\r\n";
	smtpc__reply_parser *rp = new_parser();
	smtpc_reply r;
	size_t used;

	(void)state;
	/* The first DONE consumes exactly the first reply, however it is split. */
	expect_reply(S(two), 11, 250, "", S("first"), 1);
	expect_reply(S("250-a\r\n250 b\r\n250 c\r\n"), 14, 250, "", S("a\nb"), 2);
	expect_reply(S("250 ok\r\n25"), 8, 250, "", S("ok"), 1);
	expect_reply(S("250 ok\n\n"), 7, 250, "", S("ok"), 1);

	/* The caller feeds the rest to get the second. */
	assert_int_equal(smtpc__rp_feed(rp, S(two), &used), SMTPC__RP_DONE);
	assert_int_equal(used, 11);
	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, two + 11, sizeof(two) - 1 - 11, &used), SMTPC__RP_DONE);
	assert_int_equal(used, sizeof(two) - 1 - 11);
	smtpc__rp_reply(rp, &r);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.text, "second");
	free(rp);
}

static void test_incomplete(void **state)
{
	(void)state;
	STATUS("", SMTPC__RP_MORE);
	STATUS("2", SMTPC__RP_MORE);
	STATUS("25", SMTPC__RP_MORE);
	STATUS("250", SMTPC__RP_MORE);
	STATUS("250\r", SMTPC__RP_MORE);
	STATUS("250 ok", SMTPC__RP_MORE);
	STATUS("250 ok\r", SMTPC__RP_MORE);
	/* R7: the close after a "250-" line is the caller's business. */
	STATUS("250-ok\r\n", SMTPC__RP_MORE);
	STATUS("250-ok\r\n250", SMTPC__RP_MORE);
}

/* ---------------------------------------------------------------- hostile replies */

/* R1: endless lines, lines at and over the limit. */
static void test_r1_line_limit(void **state)
{
	const size_t max = SMTPC_MAX_REPLY_LINE;
	char *p, *q;
	size_t len, qlen;
	struct outcome o;

	(void)state;
	/* Exactly the limit with CRLF, and with LF alone: accepted. */
	p = line_of("250 ", max - 6, 'x', "\r\n", &len);
	assert_int_equal(len, max);
	expect_reply(p, len, len, 250, "", p + 4, max - 6, 1);
	free(p);
	p = line_of("250 ", max - 5, 'x', "\n", &len);
	assert_int_equal(len, max);
	expect_reply(p, len, len, 250, "", p + 4, max - 5, 1);
	free(p);
	/* Text ending in CR at the limit, LF alone after it. */
	p = line_of("250 ", max - 6, 'x', "\r\n", &len);
	p[len - 3] = '\r';
	expect_reply(p, len, len, 250, "", p + 4, max - 6, 1);
	free(p);

	/* One byte over: error. */
	p = line_of("250 ", max - 5, 'x', "\r\n", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);
	p = line_of("250 ", max - 4, 'x', "\n", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);
	p = line_of("250-", max - 5, 'x', "\r\n250 x\r\n", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);

	/* Detected at the limit: no LF needed, never split into two replies. */
	p = line_of("250 ", max - 4, 'x', "", &len);
	assert_int_equal(len, max);
	expect_status(p, len, SMTPC__RP_MORE);
	free(p);
	p = line_of("250 ", max - 3, 'x', "", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);
	p = line_of("250 ", max - 4, 'x', "\r", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);
	p = line_of("250 ", 3 * max, 'x', "\r\n", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);
	p = line_of("250 ", 2 * max, '\r', "\r\n", &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_LONG);
	free(p);

	/* The error is reported where the limit is passed, whatever follows. */
	{
		smtpc__reply_parser *rp = new_parser();
		size_t used;

		p = line_of("250 ", 1000000, 'x', "", &len);
		assert_int_equal(smtpc__rp_feed(rp, p, len, &used), SMTPC__RP_ERR_TOO_LONG);
		assert_int_equal(used, max + 1);
		free(p);
		free(rp);
	}

	/* A continuation line at the limit followed by a last line. */
	p = line_of("250-", max - 6, 'y', "\r\n250 end\r\n", &len);
	feed3(p, len, &o);
	assert_int_equal(o.status, SMTPC__RP_DONE);
	assert_int_equal(o.r.text_len, max - 6 + 4);
	q = line_of("", max - 6, 'y', "\nend", &qlen);
	assert_memory_equal(o.r.text, q, qlen);
	free(q);
	free(o.text);
	free(p);
}

/* Builds n lines "250-<fill...>" of `w` text bytes, then "250 <last>". */
static char *many_lines(size_t n, size_t w, size_t lastw, size_t *len)
{
	size_t per = 4 + w + 2;
	char *p = malloc(n * per + 4 + lastw + 2 + 1), *q;
	size_t i;

	assert_non_null(p);
	q = p;
	for (i = 0; i < n; i++) {
		memcpy(q, "250-", 4);
		memset(q + 4, 'a' + (char)(i % 26), w);
		memcpy(q + 4 + w, "\r\n", 2);
		q += per;
	}
	memcpy(q, "250 ", 4);
	memset(q + 4, 'z', lastw);
	memcpy(q + 4 + lastw, "\r\n", 3);
	*len = (size_t)(q - p) + 4 + lastw + 2;
	return p;
}

/* R2: endless multi-line replies, bounded lines and bytes. */
static void test_r2_bounds(void **state)
{
	struct outcome o;
	char *p;
	size_t len;

	(void)state;
	/* SMTPC_MAX_REPLY_LINES lines: accepted; one more: error. */
	p = many_lines(SMTPC_MAX_REPLY_LINES - 1, 3, 3, &len);
	feed3(p, len, &o);
	assert_int_equal(o.status, SMTPC__RP_DONE);
	assert_int_equal(o.r.nlines, SMTPC_MAX_REPLY_LINES);
	assert_int_equal(o.r.text_len, SMTPC_MAX_REPLY_LINES * 4 - 1);
	free(o.text);
	free(p);
	p = many_lines(SMTPC_MAX_REPLY_LINES, 3, 3, &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_MANY);
	free(p);
	p = many_lines(SMTPC_MAX_REPLY_LINES, 0, 0, &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_MANY);
	free(p);

	/* Text of exactly SMTPC_MAX_REPLY_BYTES: 8 lines of 8180, joins, 88. */
	assert_int_equal(8 * 8180 + 8 + 88, SMTPC_MAX_REPLY_BYTES);
	p = many_lines(8, 8180, 88, &len);
	feed3(p, len, &o);
	assert_int_equal(o.status, SMTPC__RP_DONE);
	assert_int_equal(o.r.text_len, SMTPC_MAX_REPLY_BYTES);
	assert_int_equal(o.r.nlines, 9);
	assert_int_equal(o.r.text[SMTPC_MAX_REPLY_BYTES - 1], 'z');
	free(o.text);
	free(p);
	/* One byte more: error. */
	p = many_lines(8, 8180, 89, &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_MANY);
	free(p);
	/* Too large by a CR that turns out to be text, at the bound. */
	p = many_lines(8, 8180, 89, &len);
	p[len - 3] = '\r';
	expect_status(p, len, SMTPC__RP_ERR_TOO_MANY);
	free(p);
	/* Many lines of empty text still count the joins. */
	p = many_lines(9, 8180, 0, &len);
	expect_status(p, len, SMTPC__RP_ERR_TOO_MANY);
	free(p);
}

/* R3: continuation lines with different codes. */
static void test_r3_mismatch(void **state)
{
	(void)state;
	STATUS("250-a\r\n251 b\r\n", SMTPC__RP_ERR_MISMATCH);
	STATUS("250-a\r\n550 b\r\n", SMTPC__RP_ERR_MISMATCH);
	STATUS("250-a\r\n250-b\r\n350 c\r\n", SMTPC__RP_ERR_MISMATCH);
	STATUS("250-a\r\n251", SMTPC__RP_ERR_MISMATCH);
	STATUS("250-a\r\n25", SMTPC__RP_MORE);
	/* Syntax first, then the comparison. */
	STATUS("250-a\r\n35x b\r\n", SMTPC__RP_ERR_SYNTAX);
}

/* R4: malformed codes and separators; never read past the bytes given. */
static void test_r4_syntax(void **state)
{
	(void)state;
	STATUS("25\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("25\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("2500 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("25a x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("+250 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS(" 250 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250OK\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250\tx\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250_x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250\rx\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250\r\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("2 50 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("abc\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("\0"
	       "50 x\r\n",
	       SMTPC__RP_ERR_SYNTAX);
	STATUS("2\0"
	       "0 x\r\n",
	       SMTPC__RP_ERR_SYNTAX);
	STATUS("250\0x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("\xb2"
	       "50 x\r\n",
	       SMTPC__RP_ERR_SYNTAX);
	STATUS("\xef\xbc\x92"
	       "50 x\r\n",
	       SMTPC__RP_ERR_SYNTAX); /* fullwidth 2 */
	/* The same on a continuation line. */
	STATUS("250-a\r\n25\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\n\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\n 250 b\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\n2500 b\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\n250+b\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\nxyz\r\n", SMTPC__RP_ERR_SYNTAX);
}

/* R5: first digit not 2-5. */
static void test_r5_first_digit(void **state)
{
	(void)state;
	STATUS("050 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("150 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("199 no hello for you!\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("600 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("700 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("800 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("999 x\r\n", SMTPC__RP_ERR_SYNTAX);
	STATUS("250-a\r\n150 b\r\n", SMTPC__RP_ERR_SYNTAX);
	/* Every first digit, second and third digits free. */
	REPLY("200 x\r\n", 200, "", "x", 1);
	REPLY("299 x\r\n", 299, "", "x", 1);
	REPLY("300 x\r\n", 300, "", "x", 1);
	REPLY("499 x\r\n", 499, "", "x", 1);
	REPLY("500 x\r\n", 500, "", "x", 1);
	REPLY("599 x\r\n", 599, "", "x", 1);
}

/* R6: NUL and 8-bit bytes are carried with their length. */
static void test_r6_nul_8bit(void **state)
{
	(void)state;
	REPLY("250 a\0b\xff\x80"
	      "c\r\n",
	      250, "",
	      "a\0b\xff\x80"
	      "c",
	      1);
	REPLY("250-\0\r\n250 \0\0\r\n", 250, "", "\0\n\0\0", 2);
	REPLY("250 \xc3\xa9t\xc3\xa9\r\n", 250, "", "\xc3\xa9t\xc3\xa9", 1);
	REPLY("250 2.0.0 \0x\r\n", 250, "2.0.0", "\0x", 1);
	REPLY("250 2.0.0\0x\r\n", 250, "", "2.0.0\0x", 1);
	REPLY("250 \x1b[31m\x7f\r\n", 250, "", "\x1b[31m\x7f", 1);
}

/* ---------------------------------------------------------------- state */

static void test_reuse_after_reset(void **state)
{
	smtpc__reply_parser *rp = new_parser();
	smtpc_reply r;
	size_t used;

	(void)state;
	assert_int_equal(
	    smtpc__rp_feed(rp, S("550-5.1.1 long first reply\r\n550 5.1.1 x\r\n"), &used),
	    SMTPC__RP_DONE);
	smtpc__rp_reset(rp);
	smtpc__rp_reply(rp, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.text_len, 0);
	assert_int_equal(smtpc__rp_feed(rp, S("250 ok\r\n"), &used), SMTPC__RP_DONE);
	smtpc__rp_reply(rp, &r);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.enhanced, "");
	assert_int_equal(r.text_len, 2);
	assert_string_equal(r.text, "ok");
	assert_int_equal(r.nlines, 1);

	/* After an error too, mid-line. */
	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, S("250-abc\r\n25x"), &used), SMTPC__RP_ERR_SYNTAX);
	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, S("221 2.0.0 Bye\r\n"), &used), SMTPC__RP_DONE);
	smtpc__rp_reply(rp, &r);
	assert_int_equal(r.code, 221);
	assert_string_equal(r.enhanced, "2.0.0");
	assert_string_equal(r.text, "Bye");
	assert_int_equal(r.nlines, 1);
	free(rp);
}

static void test_sticky(void **state)
{
	smtpc__reply_parser *rp = new_parser();
	smtpc_reply r;
	size_t used;

	(void)state;
	assert_int_equal(smtpc__rp_feed(rp, S("2x"), &used), SMTPC__RP_ERR_SYNTAX);
	used = 99;
	assert_int_equal(smtpc__rp_feed(rp, S("250 ok\r\n"), &used), SMTPC__RP_ERR_SYNTAX);
	assert_int_equal(used, 0);
	assert_int_equal(smtpc__rp_feed(rp, NULL, 0, &used), SMTPC__RP_ERR_SYNTAX);
	smtpc__rp_reply(rp, &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.text, "");

	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, S("250-a\r\n251"), &used), SMTPC__RP_ERR_MISMATCH);
	assert_int_equal(smtpc__rp_feed(rp, S(" b\r\n"), &used), SMTPC__RP_ERR_MISMATCH);
	assert_int_equal(used, 0);

	/* DONE is sticky as well: nothing more is consumed. */
	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, S("250 a\r\n"), &used), SMTPC__RP_DONE);
	used = 99;
	assert_int_equal(smtpc__rp_feed(rp, S("250 b\r\n"), &used), SMTPC__RP_DONE);
	assert_int_equal(used, 0);
	smtpc__rp_reply(rp, &r);
	assert_string_equal(r.text, "a");

	/* Empty feeds change nothing; code known after three digits only. */
	smtpc__rp_reset(rp);
	assert_int_equal(smtpc__rp_feed(rp, NULL, 0, &used), SMTPC__RP_MORE);
	assert_int_equal(used, 0);
	assert_int_equal(smtpc__rp_feed(rp, S("25"), NULL), SMTPC__RP_MORE);
	assert_int_equal(rp->code, 0);
	assert_int_equal(smtpc__rp_feed(rp, S("0"), NULL), SMTPC__RP_MORE);
	assert_int_equal(rp->code, 250);
	free(rp);
}

static void test_strerror(void **state)
{
	static const int all[] = {SMTPC__RP_MORE,         SMTPC__RP_DONE,
	                          SMTPC__RP_ERR_SYNTAX,   SMTPC__RP_ERR_MISMATCH,
	                          SMTPC__RP_ERR_TOO_LONG, SMTPC__RP_ERR_TOO_MANY};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *m = smtpc__rp_strerror(all[i]);

		assert_non_null(m);
		assert_true(strlen(m) > 0);
		assert_null(strchr(m, '\n'));
		for (j = 0; j < i; j++)
			assert_string_not_equal(m, smtpc__rp_strerror(all[j]));
	}
	assert_non_null(smtpc__rp_strerror(12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_line),
	    cmocka_unit_test(test_multi_line),
	    cmocka_unit_test(test_bare_code),
	    cmocka_unit_test(test_empty_continuations),
	    cmocka_unit_test(test_text_kept_as_sent),
	    cmocka_unit_test(test_enhanced),
	    cmocka_unit_test(test_two_replies_in_one_buffer),
	    cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_r1_line_limit),
	    cmocka_unit_test(test_r2_bounds),
	    cmocka_unit_test(test_r3_mismatch),
	    cmocka_unit_test(test_r4_syntax),
	    cmocka_unit_test(test_r5_first_digit),
	    cmocka_unit_test(test_r6_nul_8bit),
	    cmocka_unit_test(test_reuse_after_reset),
	    cmocka_unit_test(test_sticky),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
