/*
 * test_message.c - header scanning for send_message (src/message.c):
 * smtpc__msg_header_end() fed whole and at every split point, and
 * smtpc__msg_envelope() with smtplib's rules (docs/RULES.md P10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "message.h"

#define NONE ((size_t)-1)

/* ---------------------------------------------------------------- header_end */

struct end_case {
	const char *msg;
	size_t want;  /* at EOF with the whole message; NONE: no header block */
	int need_eof; /* no empty line: without at_eof, 0 (need more) */
};

static const struct end_case end_cases[] = {
    {"A: b\r\nC: d\r\n\r\nbody\r\n", 14, 0},
    {"A: b\nC: d\n\nbody\n", 11, 0},
    {"A: b\r\nC: d\n\r\nbody", 13, 0},
    {"A: b\nC: d\r\n\nbody", 12, 0},
    {"A: b\r\n\r\n", 8, 0},
    {"A: b\n\n", 6, 0},
    {"Subject: x\r\n folded\r\n\tagain\r\n\r\nbody", 31, 0},
    {"Subject : obsolete blank\r\n\r\n", 28, 0},
    {"X:\r\n\r\n", 6, 0},
    {"A: b\r\n\r\n\r\nbody", 8, 0},
    {"A: b\r\nno colon here\r\n\r\nbody", 23, 0},
    {"A: b\r\n \r\n\r\n", 11, 0},
    {"A: b\r\r\n\r\n", 7, 0}, /* a bare CR ends a line, as in the DATA encoder */
    {"A: b\rC: d\r\rbody", 11, 0},
    {"A: b\n\rbody", 6, 0},
    /* no empty line: all of it, at EOF */
    {"A: b\r\nC: d\r\n", 12, 1},
    {"A: b", 4, 1},
    {"A: b\r\n\r", 7, 1},
    {"A: b\r\n \r\n", 9, 1},
    /* no header block */
    {"body text\r\n\r\n", NONE, 0},
    {"\r\nbody", NONE, 0},
    {"\nbody", NONE, 0},
    {" cont: x\r\n\r\n", NONE, 0},
    {":x\r\n\r\n", NONE, 0},
    {"From foo@bar.com Mon Jan 1\r\nA: b\r\n\r\n", NONE, 0},
    {"Sub ject: x\r\n\r\n", NONE, 0},
    {"\xc3\xa9: x\r\n\r\n", NONE, 0},
    {"Subject", NONE, 1},
    {"Subject  ", NONE, 1},
    {"", NONE, 1},
};

static void test_header_end_whole(void **state)
{
	size_t k;

	for (k = 0; k < sizeof(end_cases) / sizeof(end_cases[0]); k++) {
		const struct end_case *c = &end_cases[k];
		size_t len = strlen(c->msg);
		size_t got = smtpc__msg_header_end(c->msg, len, 1);

		if (got != c->want)
			print_message("case %zu: %zu\n", k, got);
		assert_int_equal(got, c->want);
		got = smtpc__msg_header_end(c->msg, len, 0);
		assert_int_equal(got, c->need_eof ? 0 : c->want);
	}
}

/*
 * Every split point: a prefix gives 0 (need more) until the empty line is
 * in it, then its length; a message without headers gives 0 until the
 * first line says so, then NONE.
 */
static void test_header_end_splits(void **state)
{
	size_t k;
	size_t n;
	size_t got;
	int none_seen;

	for (k = 0; k < sizeof(end_cases) / sizeof(end_cases[0]); k++) {
		const struct end_case *c = &end_cases[k];
		size_t len = strlen(c->msg);
		char *copy;

		none_seen = 0;
		for (n = 0; n <= len; n++) {
			copy = malloc(n > 0 ? n : 1); /* exact size for ASan */
			assert_non_null(copy);
			memcpy(copy, c->msg, n);
			got = smtpc__msg_header_end(copy, n, 0);
			free(copy);
			if (c->want == NONE) {
				assert_true(got == 0 || got == NONE);
				if (none_seen)
					assert_int_equal(got, NONE);
				none_seen = got == NONE;
			} else if (c->need_eof || n < c->want ||
			           (n == c->want && c->msg[n - 1] == '\r')) {
				/* (a CR last: CRLF or a bare CR, the next byte tells) */
				assert_int_equal(got, 0);
			} else {
				assert_int_equal(got, c->want);
			}
		}
	}
}

static void test_header_end_big(void **state)
{
	size_t lines = 20000;
	size_t len = lines * 16 + 2 + 4;
	char *m = malloc(len);
	size_t i;

	assert_non_null(m);
	for (i = 0; i < lines; i++)
		memcpy(m + i * 16, i % 2 ? "X-Aaa: b\r\n\tc d\r\n" : "X-Bbb: c\n  \r\n\tz\n", 16);
	memcpy(m + lines * 16, "\r\n", 2);
	memcpy(m + lines * 16 + 2, "body", 4);
	assert_int_equal(smtpc__msg_header_end(m, len, 0), lines * 16 + 2);
	assert_int_equal(smtpc__msg_header_end(m, lines * 16 + 1, 0), 0);
	free(m);
}

/* ---------------------------------------------------------------- envelope */

static void expect_to(const smtpc__envelope *env, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL) {
		assert_true(n < env->nto);
		assert_string_equal(env->to[n], want[n]);
		n++;
	}
	assert_int_equal(env->nto, n);
}

static void expect_headers(const smtpc__envelope *env, const char *want)
{
	assert_non_null(env->headers);
	assert_int_equal(env->headers_len, strlen(want));
	assert_memory_equal(env->headers, want, env->headers_len);
	assert_int_equal(env->headers[env->headers_len], '\0');
}

/* Runs the envelope over an exact-size copy (ASan sees any read past len). */
static int envelope(const char *hdr, smtpc__envelope *env)
{
	size_t len = strlen(hdr);
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, hdr, len);
	rc = smtpc__msg_envelope(copy, len, SMTPC__ENV_FROM | SMTPC__ENV_TO, env);
	free(copy);
	return rc;
}

/* P10, the example: To, Bcc, Cc order; no Bcc sent. */
static const char smtplib_example[] = "From: foo@bar.com\r\n"
                                      "To: John <john@example.com>\r\n"
                                      "CC: Sally <sally@example.com>, fred@example.com\r\n"
                                      "Bcc: John Root <root@localhost>, \"Dinsdale\" "
                                      "<warped@silly.walks.com>\r\n"
                                      "Subject: test\r\n"
                                      "\r\n";

static void test_smtplib_example(void **state)
{
	static const char *const want[] = {"john@example.com",       "root@localhost",
	                                   "warped@silly.walks.com", "sally@example.com",
	                                   "fred@example.com",       NULL};
	const char *body = "Hello\r\nBcc: not a header\r\n";
	size_t hlen = strlen(smtplib_example);
	char *msg = malloc(hlen + strlen(body));
	smtpc__envelope env;

	assert_non_null(msg);
	memcpy(msg, smtplib_example, hlen);
	memcpy(msg + hlen, body, strlen(body));
	assert_int_equal(smtpc__msg_header_end(msg, hlen + strlen(body), 1), hlen);
	assert_int_equal(smtpc__msg_envelope(msg, hlen, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env), 0);
	free(msg);
	assert_string_equal(env.from, "foo@bar.com");
	expect_to(&env, want);
	assert_int_equal(env.resent, 0);
	expect_headers(&env, "From: foo@bar.com\r\n"
	                     "To: John <john@example.com>\r\n"
	                     "CC: Sally <sally@example.com>, fred@example.com\r\n"
	                     "Subject: test\r\n"
	                     "\r\n");
	smtpc__envelope_free(&env);
	assert_null(env.headers);
	assert_null(env.to);
	smtpc__envelope_free(&env); /* twice is harmless */
}

static void test_resent_block(void **state)
{
	static const char *const want[] = {"my_mom@great.cooker.com", "Jeff", "doe@losthope.net",
	                                   NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("From: foo@bar.com\r\n"
	                          "To: John <john@example.com>\r\n"
	                          "CC: Sally <sally@example.com>, fred@example.com\r\n"
	                          "Bcc: John Root <root@localhost>\r\n"
	                          "Resent-Date: Thu, 1 Jan 1970 17:42:00 +0000\r\n"
	                          "Resent-From: holy@grail.net\r\n"
	                          "Resent-To: Martha <my_mom@great.cooker.com>, Jeff\r\n"
	                          "Resent-Bcc: doe@losthope.net\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	assert_int_equal(env.resent, 1);
	assert_string_equal(env.from, "holy@grail.net");
	expect_to(&env, want);
	expect_headers(&env, "From: foo@bar.com\r\n"
	                     "To: John <john@example.com>\r\n"
	                     "CC: Sally <sally@example.com>, fred@example.com\r\n"
	                     "Resent-Date: Thu, 1 Jan 1970 17:42:00 +0000\r\n"
	                     "Resent-From: holy@grail.net\r\n"
	                     "Resent-To: Martha <my_mom@great.cooker.com>, Jeff\r\n"
	                     "\r\n");
	smtpc__envelope_free(&env);

	/* Resent-Sender wins over Resent-From; plain Sender ignored in resent mode */
	assert_int_equal(envelope("Sender: plain@x.com\r\n"
	                          "RESENT-DATE: now\r\n"
	                          "Resent-From: a@x.com, b@x.com\r\n"
	                          "resent-sender: s@x.com\r\n"
	                          "To: ignored@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	assert_int_equal(env.resent, 1);
	assert_string_equal(env.from, "s@x.com");
	assert_int_equal(env.nto, 0);
	smtpc__envelope_free(&env);
}

static void test_two_resent_blocks(void **state)
{
	smtpc__envelope env;

	memset(&env, 0x55, sizeof(env));
	assert_int_equal(envelope("Resent-Date: one\r\n"
	                          "Resent-From: a@x.com\r\n"
	                          "Resent-To: b@x.com\r\n"
	                          "Resent-Date: two\r\n"
	                          "Resent-From: c@x.com\r\n"
	                          "From: d@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 SMTPC_EINVAL);
	assert_null(env.from);
	assert_null(env.to);
	assert_null(env.headers);
	assert_int_equal(env.nto, 0);
	smtpc__envelope_free(&env);
}

static void test_sender_over_from(void **state)
{
	static const char *const want[] = {"t@x.com", NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("From: Alice <a@x.com>, Bob <b@y.com>\r\n"
	                          "Sender: Secretary <s@z.com>\r\n"
	                          "To: t@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	assert_string_equal(env.from, "s@z.com");
	expect_to(&env, want);
	smtpc__envelope_free(&env);

	/* without Sender: the first address of From */
	assert_int_equal(envelope("From: Alice <a@x.com>, Bob <b@y.com>\r\n\r\n", &env), 0);
	assert_string_equal(env.from, "a@x.com");
	assert_int_equal(env.nto, 0);
	smtpc__envelope_free(&env);

	/* From starting with an empty group, then c@x.com */
	assert_int_equal(envelope("From: nobody:;, c@x.com\r\n\r\n", &env), 0);
	assert_string_equal(env.from, "c@x.com");
	smtpc__envelope_free(&env);
	/* ... and a malformed element: refused, never skipped (issue 9) */
	assert_int_equal(envelope("From: nobody:;, <<x, c@x.com\r\n\r\n", &env), SMTPC_EINVAL);
	assert_string_equal(env.why, "From: \"<<x\" is not an address");
	assert_null(env.from);

	/* a Sender field without an address: none, as smtplib (no fallback to From) */
	assert_int_equal(envelope("From: a@x.com\r\nSender: \r\n\r\n", &env), 0);
	assert_null(env.from);
	smtpc__envelope_free(&env);

	/* no From at all */
	assert_int_equal(envelope("To: a@x.com\r\n\r\n", &env), 0);
	assert_null(env.from);
	smtpc__envelope_free(&env);
}

static void test_bcc_folded(void **state)
{
	static const char *const want[] = {"a@x.com", "one@x.com", "two@x.com", "three@x.com",
	                                   NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("To: a@x.com\r\n"
	                          "Bcc: One <one@x.com>,\r\n"
	                          " two@x.com,\r\n"
	                          "\t\"Th\r\n ree\" <three@x.com>\r\n"
	                          "Subject: hi\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	expect_to(&env, want);
	expect_headers(&env, "To: a@x.com\r\nSubject: hi\r\n\r\n");
	smtpc__envelope_free(&env);

	/* LF endings, the Bcc first, last and as the only field */
	assert_int_equal(envelope("bcc: x@y.com,\n  z@y.com\nTo: a@x.com\nBCC: q@y.com\n\n", &env),
	                 0);
	expect_headers(&env, "To: a@x.com\n\n");
	assert_int_equal(env.nto, 4); /* every Bcc field: none is skipped */
	assert_string_equal(env.to[1], "x@y.com");
	assert_string_equal(env.to[2], "z@y.com");
	assert_string_equal(env.to[3], "q@y.com");
	smtpc__envelope_free(&env);
	assert_int_equal(envelope("Bcc: x@y.com\r\n\r\n", &env), 0);
	expect_headers(&env, "\r\n");
	smtpc__envelope_free(&env);

	/* the last field without its line ending (a message without a body) */
	assert_int_equal(envelope("To: a@x.com\r\nBcc: b@x.com,\r\n c@x.com", &env), 0);
	expect_headers(&env, "To: a@x.com\r\n");
	assert_int_equal(env.nto, 3);
	smtpc__envelope_free(&env);
}

static void test_resent_bcc_plain_mode(void **state)
{
	static const char *const want[] = {"a@x.com", "c@x.com", NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("To: a@x.com\n"
	                          "Resent-Bcc: hidden@x.com\n"
	                          "\tmore@x.com\n"
	                          "Cc: c@x.com\n"
	                          "Resent-bcc: again@x.com\n"
	                          "Subject: s\n"
	                          "\n",
	                          &env),
	                 0);
	assert_int_equal(env.resent, 0);
	expect_to(&env, want);
	expect_headers(&env, "To: a@x.com\nCc: c@x.com\nSubject: s\n\n");
	smtpc__envelope_free(&env);
}

static void test_field_matching(void **state)
{
	static const char *const want[] = {"t1@x.com", "t2@x.com",     "b1@x.com", "b2@x.com",
	                                   "obsolete@x.com", "c1@x.com", "c2@x.com", NULL};
	smtpc__envelope env;

	/* every field of each name, To, Bcc, Cc in that order (no recipient skipped) */
	assert_int_equal(envelope("tO: t1@x.com\r\n"
	                          "To: t2@x.com\r\n"
	                          "bcc: b1@x.com\r\n"
	                          "Bcc: b2@x.com\r\n"
	                          "cc: c1@x.com\r\n"
	                          "CC: c2@x.com\r\n"
	                          "X-Bcc: keep@x.com\r\n"
	                          "Bccx: keep@x.com\r\n"
	                          "Resent-Bcc-X: keep@x.com\r\n"
	                          "Bcc : obsolete@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	expect_to(&env, want);
	expect_headers(&env, "tO: t1@x.com\r\n"
	                     "To: t2@x.com\r\n"
	                     "cc: c1@x.com\r\n"
	                     "CC: c2@x.com\r\n"
	                     "X-Bcc: keep@x.com\r\n"
	                     "Bccx: keep@x.com\r\n"
	                     "Resent-Bcc-X: keep@x.com\r\n"
	                     "\r\n");
	smtpc__envelope_free(&env);
}

static void test_groups_names_dupes(void **state)
{
	static const char *const want[] = {"a@x.com", "b@y.com", "a@x.com", "d@x.com", NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("To: team: Al <a@x.com>, (c) b@y.com;, undisclosed:;\r\n"
	                          "Cc: \"A, L\" <a@x.com>, broken <, d@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 SMTPC_EINVAL);
	assert_string_equal(env.why, "Cc: \"broken <\" is not an address");
	assert_int_equal(envelope("To: team: Al <a@x.com>, (c) b@y.com;, undisclosed:;\r\n"
	                          "Cc: \"A, L\" <a@x.com>,, d@x.com\r\n"
	                          "\r\n",
	                          &env),
	                 0);
	expect_to(&env, want);
	smtpc__envelope_free(&env);
}

/* A line that is neither a field nor a continuation belongs to the field before it. */
static void test_stray_lines(void **state)
{
	static const char *const want[] = {"c@z.com", "a@x.com", "b@y.com", NULL};
	smtpc__envelope env;

	assert_int_equal(
	    envelope("Bcc: a@x.com,\nb@y.com\nTo: c@z.com\nSubject: s\nno colon\n\n", &env), 0);
	expect_to(&env, want);
	expect_headers(&env, "To: c@z.com\nSubject: s\nno colon\n\n");
	smtpc__envelope_free(&env);
	/* in an address field, a stray line that is not an address is an error */
	assert_int_equal(envelope("To: c@z.com\nno colon\n\n", &env), SMTPC_EINVAL);
	assert_string_equal(env.why, "To: \"no colon\" is not an address");

	/* a bare CR ends the line: what follows is a stray line of the Bcc field, removed */
	assert_int_equal(envelope("Bcc: a@x.com\rRCPT TO:<e@x.com>, b@y.com\r\n\r\n", &env), 0);
	assert_int_equal(env.nto, 3);
	assert_string_equal(env.to[0], "a@x.com");
	assert_string_equal(env.to[1], "e@x.com");
	assert_string_equal(env.to[2], "b@y.com");
	expect_headers(&env, "\r\n");
	smtpc__envelope_free(&env);
}

static void test_line_endings_kept(void **state)
{
	const char *in = "From: a@x.com\n"
	                 "To: b@x.com\r\n"
	                 "Bcc: c@x.com,\n"
	                 " d@x.com\r\n"
	                 "Subject: x\r\n"
	                 " y\n"
	                 "\r\n";
	smtpc__envelope env;

	assert_int_equal(envelope(in, &env), 0);
	expect_headers(&env, "From: a@x.com\n"
	                     "To: b@x.com\r\n"
	                     "Subject: x\r\n"
	                     " y\n"
	                     "\r\n");
	smtpc__envelope_free(&env);

	/* no Bcc: byte for byte, also what follows the empty line */
	in = "A: b\r\nC: d\n\r\nBcc: in the body\r\n";
	assert_int_equal(envelope(in, &env), 0);
	expect_headers(&env, in);
	smtpc__envelope_free(&env);
}

/* Non-ASCII addresses are kept as they are; the header text is not their business. */
static void test_utf8(void **state)
{
	(void)state;
	smtpc__envelope env;

	assert_int_equal(
	    envelope("From: a@x.com\r\nTo: J\xc3\xb6rg <j\xc3\xb6rg@x.com>\r\n\r\n", &env), 0);
	assert_string_equal(env.to[0], "j\xc3\xb6rg@x.com");
	smtpc__envelope_free(&env);
	assert_int_equal(envelope("From: a@x.com\r\nSubject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n", &env), 0);
	assert_string_equal(env.from, "a@x.com");
	smtpc__envelope_free(&env);
}

/*
 * A bare CR ends a line, as the DATA encoder reads it (issue 9): the Bcc
 * after it is a field, removed, and its address is a recipient.
 */
static void test_bare_cr(void **state)
{
	(void)state;
	static const char *const want[] = {"a@x.org", "boss@example.org", NULL};
	static const char *const want2[] = {"a@x.org", "b@x.org", NULL};
	smtpc__envelope env;

	assert_int_equal(envelope("To: a@x.org\r\nSubject: report\rBcc: boss@example.org\r\n\r\n",
	                          &env),
	                 0);
	expect_to(&env, want);
	expect_headers(&env, "To: a@x.org\r\nSubject: report\r\r\n");
	smtpc__envelope_free(&env);
	/* CR everywhere, and "\r\r" as the empty line */
	assert_int_equal(envelope("To: a@x.org\rBcc: boss@example.org\r\r", &env), 0);
	expect_to(&env, want);
	expect_headers(&env, "To: a@x.org\r\r");
	smtpc__envelope_free(&env);
	/* a folded To over bare CRs: the continuation is unfolded */
	assert_int_equal(envelope("To: a@x.org,\r b@x.org\r\r", &env), 0);
	expect_to(&env, want2);
	smtpc__envelope_free(&env);
	/* a stray line after a CR is a new element of the field */
	assert_int_equal(envelope("To: a@x.org\rb@x.org\n\n", &env), 0);
	expect_to(&env, want2);
	smtpc__envelope_free(&env);
	/* the header end agrees: "\r\r" ends the block, a CR at the end of a read waits */
	assert_int_equal(smtpc__msg_header_end("A: b\r\rbody", 10, 0), 6);
	assert_int_equal(smtpc__msg_header_end("A: b\r\r", 6, 0), 0);
	assert_int_equal(smtpc__msg_header_end("A: b\r\r", 6, 1), 6);
	assert_int_equal(smtpc__msg_header_end("A: b\r\r\nbody", 11, 0), 7);
	assert_int_equal(smtpc__msg_header_end("A: b\n\r\nbody", 11, 0), 7);
}

/* Nothing is skipped: a malformed element names its field (issue 9). */
static void test_strict_elements(void **state)
{
	static const char *const both[] = {"a@x.org", "b@x.org", "c@x.org", NULL};
	smtpc__envelope env;
	char nul[] = "To: a@x.org\r\nCc: b\0c@x.org\r\n\r\n";

	(void)state;
	assert_int_equal(envelope("To: x@x.org\r\nCc: alice@example.org bob@example.org\r\n\r\n",
	                          &env),
	                 SMTPC_EINVAL);
	assert_string_equal(env.why, "Cc: \"alice@example.org bob@example.org\" is not an address");
	assert_null(env.to);
	assert_int_equal(env.nto, 0);
	assert_null(env.headers);
	assert_int_equal(envelope("To: a@x.org, <b@x.org\r\n\r\n", &env), SMTPC_EINVAL);
	assert_string_equal(env.why, "To: \"<b@x.org\" is not an address");
	assert_int_equal(envelope("bcc: a@x.org, (x, y@z\r\n\r\n", &env), SMTPC_EINVAL);
	assert_int_equal(envelope("To: a b, c d\r\n\r\n", &env), SMTPC_EINVAL);
	assert_string_equal(env.why, "To: \"a b\" is not an address (nor are others)");
	/* a NUL: the block is refused whatever field it is in */
	assert_int_equal(smtpc__msg_envelope(nul, sizeof(nul) - 1, SMTPC__ENV_TO, &env),
	                 SMTPC_EINVAL);
	assert_string_equal(env.why, "the header block holds the control character \\x00 (byte 19)");
	assert_int_equal(envelope("Subject: a\x0b" "Bcc: b@x.org\r\n\r\n", &env), SMTPC_EINVAL);
	assert_int_equal(envelope("Subject: a\x1b$B\r\n\r\n", &env), SMTPC_EINVAL);
	/* what is not read is not judged: the envelope given, only Bcc goes */
	assert_int_equal(smtpc__msg_envelope("To: a b\r\nBcc: c d\r\n\r\n", 21, 0, &env), 0);
	assert_null(env.from);
	assert_int_equal(env.nto, 0);
	expect_headers(&env, "To: a b\r\n\r\n");
	smtpc__envelope_free(&env);
	assert_int_equal(smtpc__msg_envelope("From: a b\r\nTo: c@x.org\r\n\r\n", 26, SMTPC__ENV_TO,
	                                     &env),
	                 0);
	assert_null(env.from);
	smtpc__envelope_free(&env);
	/* a second To field is read too, not skipped */
	assert_int_equal(envelope("To: a@x.org\r\nSubject: s\r\nTo: b@x.org\r\nCc: c@x.org\r\n\r\n",
	                          &env),
	                 0);
	expect_to(&env, both);
	smtpc__envelope_free(&env);
}

static void test_empty_and_args(void **state)
{
	smtpc__envelope env;

	assert_int_equal(smtpc__msg_envelope(NULL, 0, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env), 0);
	assert_null(env.from);
	assert_int_equal(env.nto, 0);
	expect_headers(&env, "");
	smtpc__envelope_free(&env);
	assert_int_equal(smtpc__msg_envelope(NULL, 3, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env), SMTPC_EINVAL);
	assert_int_equal(smtpc__msg_envelope("A: b", 4, SMTPC__ENV_FROM, NULL), SMTPC_EINVAL);
	smtpc__envelope_free(NULL);

	/* the caller's length, not strlen */
	assert_int_equal(smtpc__msg_envelope("To: a@x.com\r\nBcc: b@x.com\r\n", 13, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env), 0);
	expect_headers(&env, "To: a@x.com\r\n");
	assert_int_equal(env.nto, 1);
	smtpc__envelope_free(&env);

	/* a block that does not start with a field */
	assert_int_equal(envelope("no field\r\nBcc: b@x.com\r\n\r\n", &env), 0);
	expect_headers(&env, "no field\r\n\r\n");
	smtpc__envelope_free(&env);
}

/* Many recipients and a long folded field. */
static void test_many(void **state)
{
	size_t n = 5000;
	size_t unit = 13; /* "a@x.com,\r\n  " */
	size_t len = 4 + n * unit + 2 + 2;
	char *h = malloc(len);
	smtpc__envelope env;
	size_t i;

	assert_non_null(h);
	memcpy(h, "To: ", 4);
	for (i = 0; i < n; i++)
		memcpy(h + 4 + i * unit, "a@x.com,\r\n   ", unit);
	memcpy(h + 4 + n * unit, "\r\n\r\n", 4);
	/* the last unit's CRLF + blanks then CRLF CRLF: blanks line is a continuation */
	assert_int_equal(smtpc__msg_envelope(h, len, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env), 0);
	assert_int_equal(env.nto, n);
	assert_string_equal(env.to[n - 1], "a@x.com");
	assert_int_equal(env.headers_len, len);
	smtpc__envelope_free(&env);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_end_whole),      cmocka_unit_test(test_header_end_splits),
	    cmocka_unit_test(test_header_end_big),        cmocka_unit_test(test_smtplib_example),
	    cmocka_unit_test(test_resent_block),          cmocka_unit_test(test_two_resent_blocks),
	    cmocka_unit_test(test_sender_over_from),      cmocka_unit_test(test_bcc_folded),
	    cmocka_unit_test(test_resent_bcc_plain_mode), cmocka_unit_test(test_field_matching),
	    cmocka_unit_test(test_groups_names_dupes),    cmocka_unit_test(test_stray_lines),
	    cmocka_unit_test(test_line_endings_kept),     cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_bare_cr),               cmocka_unit_test(test_strict_elements),
	    cmocka_unit_test(test_empty_and_args),        cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
