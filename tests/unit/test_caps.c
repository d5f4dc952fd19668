/*
 * test_caps.c - EHLO capabilities (src/caps.c): keyword syntax, AUTH as a
 * set, SIZE (docs/RULES.md R13, R14), bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps.h"

#define S(lit) lit, sizeof(lit) - 1

static void parse(smtpc__caps *c, const char *text, size_t len)
{
	assert_int_equal(smtpc__caps_parse(c, text, len), 0);
}

/* The capability is listed with these parameters. */
static void has(const smtpc__caps *c, const char *kw, const char *params)
{
	const smtpc__cap *cap = smtpc__caps_find(c, kw);

	assert_non_null(cap);
	assert_string_equal(cap->params, params);
}

static void hasnt(const smtpc__caps *c, const char *kw)
{
	assert_null(smtpc__caps_find(c, kw));
}

/* The i-th capability, in the order of first appearance. */
static void at(const smtpc__caps *c, size_t i, const char *kw, const char *params)
{
	assert_true(i < c->n);
	assert_string_equal(c->cap[i].keyword, kw);
	assert_string_equal(c->cap[i].params, params);
}

/* docs/RULES.md P5, with our stricter results. */
static void test_smtplib_example(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mail.example.com Hello client\n"
	            "size 1000000\n"
	            "8bitmime\n"
	            "Auth PLAIN LOGIN\n"
	            "AUTH=LOGIN CRAM-MD5\n"
	            "X-Custom-Ext param1 param2\n"
	            "help\n"
	            "X_FOO"));
	assert_int_equal(c.n, 5);
	at(&c, 0, "SIZE", "1000000");
	at(&c, 1, "8BITMIME", "");
	at(&c, 2, "AUTH", "PLAIN LOGIN CRAM-MD5"); /* a set, no leading space */
	at(&c, 3, "X-CUSTOM-EXT", "param1 param2");
	at(&c, 4, "HELP", "");
	hasnt(&c, "X"); /* smtplib would list "x" with "_FOO" */
	hasnt(&c, "X_FOO");
	assert_int_equal(c.size_known, 1);
	assert_int_equal(c.size_max, 1000000);
	smtpc__caps_clear(&c);
}

static void test_greeting_line_skipped(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("SIZE 100"));
	assert_int_equal(c.n, 0);
	assert_int_equal(c.size_known, 0);
	parse(&c, S("PIPELINING\n"));
	assert_int_equal(c.n, 0);
	parse(&c, S(""));
	assert_int_equal(c.n, 0);
	assert_int_equal(smtpc__caps_parse(&c, NULL, 0), 0);
	assert_int_equal(c.n, 0);
	parse(&c, S("\nPIPELINING"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "PIPELINING", "");
	smtpc__caps_clear(&c);
}

/* RFC 1869 4.5 keyword syntax, and what may follow it. */
static void test_keyword_syntax(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\n"
	            "X_FOO bar\n"
	            "-DASH\n"
	            "_UNDER\n"
	            " SPACE\n"
	            "SIZE=100\n"
	            "8BITMIME:\n"
	            "DSN.\n"
	            "STARTTLS\n"
	            "X-A-1 p\n"
	            "0K-\n"
	            "\xc3\xa9T\n"
	            "ENHANCEDSTATUSCODES"));
	assert_int_equal(c.n, 4);
	at(&c, 0, "STARTTLS", "");
	at(&c, 1, "X-A-1", "p");
	at(&c, 2, "0K-", "");
	at(&c, 3, "ENHANCEDSTATUSCODES", "");
	hasnt(&c, "X");
	hasnt(&c, "SIZE");
	hasnt(&c, "8BITMIME");
	hasnt(&c, "DSN");
	smtpc__caps_clear(&c);

	/* The last line with no LF is a line. */
	parse(&c, S("mx\n\xc3\xa9T\nENHANCEDSTATUSCODES"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "ENHANCEDSTATUSCODES", "");
	smtpc__caps_clear(&c);
}

static void test_params_trimmed(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\n"
	            "X-A  \t p1 \t\t p2 \t \n"
	            "X-B \n"
	            "X-C \t\n"
	            "X-D p\xff\x80q\n"
	            "X-E a\rb"));
	assert_int_equal(c.n, 5);
	at(&c, 0, "X-A", "p1 \t\t p2");
	at(&c, 1, "X-B", "");
	at(&c, 2, "X-C", "");
	at(&c, 3, "X-D", "p\xff\x80q");
	at(&c, 4, "X-E", "a\rb");
	smtpc__caps_clear(&c);
}

/* R13: tabs and empty lines. */
static void test_tabs_and_empty_lines(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\n"
	            "\n"
	            "\n"
	            "\tSIZE 10\n"
	            "PIPELINING\t\n"
	            "DSN\tX\n"
	            "\t\n"
	            " \n"
	            "8BITMIME\n"
	            "\n"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "8BITMIME", "");
	hasnt(&c, "SIZE");
	hasnt(&c, "PIPELINING");
	hasnt(&c, "DSN");
	smtpc__caps_clear(&c);

	parse(&c, S("\n\n\n\n"));
	assert_int_equal(c.n, 0);
	smtpc__caps_clear(&c);
}

/* A NUL cannot live in a C string parameter: the line is dropped. */
static void test_nul_in_line(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\nSIZE 1\0"
	            "00\nX-\0A\nAUTH PLAIN\0LOGIN\nDSN"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "DSN", "");
	assert_int_equal(c.size_known, 0);
	smtpc__caps_clear(&c);
	parse(&c, S("m\0x\nDSN"));
	assert_int_equal(c.n, 1);
	smtpc__caps_clear(&c);
}

/* A later line with the same keyword replaces the parameters. */
static void test_replace(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\nX-A one\nDSN\nx-a two  three\nX-A\nDSN p"));
	assert_int_equal(c.n, 2);
	at(&c, 0, "X-A", "");
	at(&c, 1, "DSN", "p");
	smtpc__caps_clear(&c);
	parse(&c, S("mx\nX-A\nx-A one\n"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "X-A", "one");
	smtpc__caps_clear(&c);
}

/* R13: AUTH is a set; duplicates, AUTH=, case, order. */
static void test_auth_set(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	parse(&c, S("mx\n"
	            "AUTH plain LOGIN\n"
	            "SIZE\n"
	            "AUTH LOGIN Plain  cram-md5\t\n"
	            "auth=XOAUTH2 login\n"
	            "Auth=\n"
	            "AUTH\n"
	            "AUTH \t \n"
	            "AUTH PLAIN PLAIN plain\n"
	            "AUTH\tDIGEST-MD5\n"
	            "AUTH SCRAM-SHA-256\tSCRAM_X\n"
	            "AUTHX FOO\n"
	            "AUTH- FOO\n"
	            "AUTH =BAD B@D \xc3\xa9 GOOD\n"
	            "SIZE= 5"));
	assert_int_equal(c.n, 4);
	at(&c, 0, "AUTH", "PLAIN LOGIN CRAM-MD5 XOAUTH2 SCRAM-SHA-256 SCRAM_X GOOD");
	at(&c, 1, "SIZE", "");
	at(&c, 2, "AUTHX", "FOO");
	at(&c, 3, "AUTH-", "FOO");
	assert_int_equal(c.size_known, 1);
	assert_int_equal(c.size_max, 0);
	smtpc__caps_clear(&c);

	/* Old style only, and AUTH listed without mechanisms. */
	parse(&c, S("mx\nAUTH=LOGIN PLAIN\nAUTH=LOGIN"));
	assert_int_equal(c.n, 1);
	at(&c, 0, "AUTH", "LOGIN PLAIN");
	smtpc__caps_clear(&c);
	parse(&c, S("mx\nAUTH="));
	assert_int_equal(c.n, 1);
	at(&c, 0, "AUTH", "");
	smtpc__caps_clear(&c);
	parse(&c, S("mx\nAUTH"));
	at(&c, 0, "AUTH", "");
	smtpc__caps_clear(&c);

	/* A prefix of a mechanism is another mechanism. */
	parse(&c, S("mx\nAUTH SCRAM-SHA-1-PLUS SCRAM-SHA-1 SCRAM-SHA\nAUTH SCRAM-SHA-1"));
	at(&c, 0, "AUTH", "SCRAM-SHA-1-PLUS SCRAM-SHA-1 SCRAM-SHA");
	smtpc__caps_clear(&c);
}

/* R13: 60 mechanisms, each twice; more than the set can hold. */
static void test_auth_many(void **state)
{
	smtpc__caps c;
	char text[8192], want[8192];
	size_t tl = 0, wl = 0;
	int i, round;

	(void)state;
	smtpc__caps_init(&c);
	tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "mx\nAUTH");
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 60; i++)
			tl += (size_t)snprintf(text + tl, sizeof(text) - tl, " %s%02d",
			                       round ? "m" : "M", i);
		tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "\nAUTH=");
	}
	for (i = 0; i < 60; i++)
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%sM%02d", i ? " " : "", i);
	parse(&c, text, tl);
	assert_int_equal(c.n, 1);
	at(&c, 0, "AUTH", want);

	/* 100 distinct: the first SMTPC__CAPS_MAX_AUTH are kept. */
	tl = (size_t)snprintf(text, sizeof(text), "mx\nAUTH");
	for (i = 0; i < 100; i++)
		tl += (size_t)snprintf(text + tl, sizeof(text) - tl, " X%03d", i);
	tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "\nAUTH X000 X099 PLAIN\nDSN");
	wl = 0;
	for (i = 0; i < SMTPC__CAPS_MAX_AUTH; i++)
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%sX%03d", i ? " " : "", i);
	parse(&c, text, tl);
	assert_int_equal(c.n, 2);
	at(&c, 0, "AUTH", want);
	at(&c, 1, "DSN", "");
	smtpc__caps_clear(&c);
}

static void size_case(const char *line, int known, uint64_t max)
{
	smtpc__caps c;
	char text[256];
	int n = snprintf(text, sizeof(text), "mx\n%s", line);

	smtpc__caps_init(&c);
	parse(&c, text, (size_t)n);
	assert_non_null(smtpc__caps_find(&c, "SIZE")); /* listed in every case */
	assert_int_equal(c.size_known, known);
	assert_true(c.size_max == max);
	smtpc__caps_clear(&c);
}

/* R14: no overflow; a bad value means unknown. */
static void test_size(void **state)
{
	(void)state;
	size_case("SIZE 10240000", 1, 10240000);
	size_case("SIZE", 1, 0);
	size_case("SIZE ", 1, 0);
	size_case("SIZE 0", 1, 0);
	size_case("size 35882577", 1, 35882577);
	size_case("SIZE \t 100 \t", 1, 100);
	size_case("SIZE 0000000000000000000000000000042", 1, 42);
	size_case("SIZE 18446744073709551615", 1, UINT64_MAX);
	size_case("SIZE 18446744073709551616", 0, 0);
	size_case("SIZE 18446744073709551620", 0, 0);
	size_case("SIZE 99999999999999999999999999", 0, 0);
	size_case("SIZE -1", 0, 0);
	size_case("SIZE +1", 0, 0);
	size_case("SIZE 12abc", 0, 0);
	size_case("SIZE 1 2", 0, 0);
	size_case("SIZE 1.5", 0, 0);
	size_case("SIZE 0x10", 0, 0);
	size_case("SIZE 100\nSIZE 200", 1, 200);
	size_case("SIZE 100\nSIZE bad", 0, 0);
	size_case("SIZE bad\nSIZE 300", 1, 300);
	size_case("SIZE 100\nSIZE", 1, 0);
	size_case("SIZE 5\nSIZE=7\nSIZE\t9", 1, 5);
}

static void test_find_case_insensitive(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	hasnt(&c, "STARTTLS");
	parse(&c, S("mx\nStartTLS\nsmtputf8\nX-Ab-9 q"));
	has(&c, "STARTTLS", "");
	has(&c, "starttls", "");
	has(&c, "StArTtLs", "");
	has(&c, "SMTPUTF8", "");
	has(&c, "x-ab-9", "q");
	hasnt(&c, "STARTTL");
	hasnt(&c, "STARTTLSX");
	hasnt(&c, "");
	hasnt(&c, NULL);
	at(&c, 0, "STARTTLS", "");
	smtpc__caps_clear(&c);
}

static void test_clear(void **state)
{
	smtpc__caps c;

	(void)state;
	smtpc__caps_init(&c);
	smtpc__caps_clear(&c); /* on empty caps */
	parse(&c, S("mx\nSIZE 10\nAUTH PLAIN"));
	assert_int_equal(c.n, 2);
	smtpc__caps_clear(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.buf);
	assert_int_equal(c.size_known, 0);
	assert_true(c.size_max == 0);
	hasnt(&c, "SIZE");
	hasnt(&c, "AUTH");
	smtpc__caps_clear(&c); /* twice */

	/* A new parse replaces everything (and the old storage is freed). */
	parse(&c, S("mx\nSIZE 10\nAUTH PLAIN"));
	parse(&c, S("mx\nDSN"));
	assert_int_equal(c.n, 1);
	hasnt(&c, "SIZE");
	hasnt(&c, "AUTH");
	assert_int_equal(c.size_known, 0);
	smtpc__caps_clear(&c);
}

/* R2: a giant EHLO list stays bounded. */
static void test_many_keywords(void **state)
{
	smtpc__caps c;
	char *text = malloc(200 * 32 + 64);
	size_t tl, i;

	(void)state;
	assert_non_null(text);
	smtpc__caps_init(&c);
	tl = (size_t)snprintf(text, 64, "mx\n");
	for (i = 0; i < 200; i++)
		tl += (size_t)snprintf(text + tl, 32, "K%04zu p%zu\n", i, i);
	/* Lines for keywords already listed still count; new ones do not. */
	tl += (size_t)snprintf(text + tl, 64, "K0005 new\nAUTH PLAIN\nSIZE 10");
	parse(&c, text, tl);
	assert_int_equal(c.n, SMTPC__CAPS_MAX);
	at(&c, 0, "K0000", "p0");
	at(&c, SMTPC__CAPS_MAX - 1, "K0127", "p127");
	has(&c, "K0005", "new");
	hasnt(&c, "K0128");
	hasnt(&c, "K0199");
	hasnt(&c, "AUTH");
	hasnt(&c, "SIZE");
	assert_int_equal(c.size_known, 0);
	smtpc__caps_clear(&c);
	free(text);
}

/* Very long lines: kept whole, within the buffer. */
static void test_long_lines(void **state)
{
	smtpc__caps c;
	size_t n = 60000, i;
	char *text = malloc(n + 64);
	const smtpc__cap *cap;

	(void)state;
	assert_non_null(text);
	smtpc__caps_init(&c);
	memcpy(text, "mx\nX-LONG ", 10);
	memset(text + 10, 'v', n);
	memcpy(text + 10 + n, "\nAUTH", 5);
	parse(&c, text, 10 + n + 5);
	cap = smtpc__caps_find(&c, "X-LONG");
	assert_non_null(cap);
	assert_int_equal(strlen(cap->params), n);
	has(&c, "AUTH", "");
	smtpc__caps_clear(&c);

	/* A long keyword; a long run of AUTH mechanisms of one letter. */
	memcpy(text, "mx\n", 3);
	memset(text + 3, 'K', n);
	parse(&c, text, 3 + n);
	assert_int_equal(c.n, 1);
	assert_int_equal(strlen(c.cap[0].keyword), n);
	smtpc__caps_clear(&c);
	memcpy(text, "mx\nAUTH", 7);
	for (i = 0; i < n / 2; i++)
		memcpy(text + 7 + 2 * i, i % 2 ? " b" : " a", 2);
	parse(&c, text, 7 + n);
	has(&c, "AUTH", "A B");
	smtpc__caps_clear(&c);

	/* Only keywords with no parameters: the worst case for storage. */
	for (i = 0; i < n; i += 2)
		memcpy(text + i, i % 4 ? "B\n" : "A\n", 2);
	parse(&c, text, n);
	assert_int_equal(c.n, 2);
	smtpc__caps_clear(&c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtplib_example),
	    cmocka_unit_test(test_greeting_line_skipped),
	    cmocka_unit_test(test_keyword_syntax),
	    cmocka_unit_test(test_params_trimmed),
	    cmocka_unit_test(test_tabs_and_empty_lines),
	    cmocka_unit_test(test_nul_in_line),
	    cmocka_unit_test(test_replace),
	    cmocka_unit_test(test_auth_set),
	    cmocka_unit_test(test_auth_many),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_find_case_insensitive),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_many_keywords),
	    cmocka_unit_test(test_long_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
