/*
 * test_address.c - smtpc__addr_extract() and smtpc__addr_path() (src/address.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

struct addr_case {
	const char *in;
	const char *want; /* NULL: no single address (0) */
};

static const struct addr_case cases[] = {
    /* plain addr-spec */
    {"bob@x.com", "bob@x.com"},
    {"  bob@x.com  ", "bob@x.com"},
    {"\tbob@x.com", "bob@x.com"},
    {"bob", "bob"},
    {"first.last@sub.example.org", "first.last@sub.example.org"},
    {"a+tag@x.com", "a+tag@x.com"},
    {"!#$%&'*+-/=?^_`{|}~@x.com", "!#$%&'*+-/=?^_`{|}~@x.com"},
    {"bob@[192.0.2.1]", "bob@[192.0.2.1]"},
    {"bob@[IPv6:2001:db8::1]", "bob@[IPv6:2001:db8::1]"},
    {"bob @ x.com", "bob@x.com"},
    /* angle-addr and display names */
    {"<bob@x.com>", "bob@x.com"},
    {" < bob@x.com > ", "bob@x.com"},
    {"Bob Example <bob@x.com>", "bob@x.com"},
    {"Bob J. Example <bob@x.com>", "bob@x.com"},
    {"\"Bob, Jr.\" <bob@x.com>", "bob@x.com"},
    {"\"Bob <evil@y>\" <bob@x.com>", "bob@x.com"},
    {"\"Bob \\\"the\\\" builder\" <bob@x.com>", "bob@x.com"},
    {"Bob<bob@x.com>", "bob@x.com"},
    {"<postmaster>", "postmaster"},
    {"=?utf-8?q?J=C3=B6rg?= <j@x.com>", "j@x.com"},
    /* comments */
    {"(comment) a@b.com", "a@b.com"},
    {"a@b.com (Bob)", "a@b.com"},
    {"a@b.com (Bob (nested) x)", "a@b.com"},
    {"a(c)@(d)b.com", "a@b.com"},
    {"a@b.com (a \\) quoted paren)", "a@b.com"},
    {"(x) Bob (y) <bob@x.com> (z)", "bob@x.com"},
    {"<(inside)bob@x.com(inside)>", "bob@x.com"},
    {"a@b.com ((((deep))))", "a@b.com"},
    /* source routes (RFC 5322 4.4 obs-route) are dropped */
    {"<@relay1,@relay2:bob@x.com>", "bob@x.com"},
    {"<@relay:bob@x.com>", "bob@x.com"},
    {"Bob <@a.example, @b.example : bob@x.com>", "bob@x.com"},
    {"<@relay,,@relay2:bob@x.com>", "bob@x.com"},
    /* quoted local parts are kept as written */
    {"\"a b\"@x.com", "\"a b\"@x.com"},
    {"<\"a b\"@x.com>", "\"a b\"@x.com"},
    {"\"a\\\"b\"@x.com", "\"a\\\"b\"@x.com"},
    {"\"a\".b@x.com", "\"a\".b@x.com"},
    {"a.\"b c\"@x.com", "a.\"b c\"@x.com"},
    {"\"\"@x.com", "\"\"@x.com"},
    /* UTF-8 is kept as it is */
    {"j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example"},
    {"J\xc3\xb6rg <j\xc3\xb6rg@x.com>", "j\xc3\xb6rg@x.com"},
    /* nothing, or not a single address */
    {"", NULL},
    {"   ", NULL},
    {"\t", NULL},
    {"(just a comment)", NULL},
    {"<>", NULL},
    {" <> ", NULL},
    {"Bob <>", NULL},
    {"a@b.com, c@d.com", NULL},
    {"a@b.com,", NULL},
    {",a@b.com", NULL},
    {"a@b.com c@d.com", NULL},
    {"<a@b.com> <c@d.com>", NULL},
    {"a@b.com <c@d.com>", NULL},
    {"<a@b.com>, c@d.com", NULL},
    {"Bob bob@x.com", NULL},
    {"Bob Example", NULL},
    /* stray or unbalanced brackets */
    {"bob@x.com>", NULL},
    {">bob@x.com", NULL},
    {"<bob@x.com", NULL},
    {"<<bob@x.com>>", NULL},
    {"<bob@x.com>>", NULL},
    {"Bob <bob@x.com", NULL},
    {"<bob@x.com> x", NULL},
    /* unterminated quote, comment or literal */
    {"\"bob@x.com", NULL},
    {"\"Bob <bob@x.com>", NULL},
    {"\"a\\\"@x.com", NULL},
    {"a@b.com (Bob", NULL},
    {"a@b.com (Bob (nested)", NULL},
    {"a@b.com (trailing backslash \\", NULL},
    {"a@b.com )", NULL},
    {"bob@[1.2.3.4", NULL},
    {"bob@1.2.3.4]", NULL},
    {"bob@[1.2.3.4 ]", NULL},
    {"bob@[1.2\\.3.4]", NULL},
    {"bob@[1.2.3.4\xc3\xa9]", NULL},
    {"bob@[a[b]", NULL},
    /* group syntax */
    {"undisclosed-recipients:;", NULL},
    {"friends: a@b.com, c@d.com;", NULL},
    {"friends: a@b.com;", NULL},
    {"a@b.com;", NULL},
    /* bad routes and domains */
    {"<@relay bob@x.com>", NULL},
    {"<@:bob@x.com>", NULL},
    {"@relay:bob@x.com", NULL},
    {"bob@", NULL},
    {"@x.com", NULL},
    {"bob@x..com", NULL},
    {"bob@.x.com", NULL},
    {"bob@x.com.", NULL},
    {"bob@x@y.com", NULL},
    {"bob@\"x\".com", NULL},
    {"<bob@x.com (unclosed>", NULL},
    {"a\\b@x.com", NULL},
    /* control characters: CR, LF, other C0, DEL (smuggled commands) */
    {"bob@x.com\r\nRCPT TO:<evil@x>", NULL},
    {"<bob@x.com>\r\nRCPT TO:<evil@x>", NULL},
    {"bob@x.com\n", NULL},
    {"bob@x.com\r", NULL},
    {"\"a\rb\"@x.com", NULL},
    {"a@b.com (\n)", NULL},
    {"bob\x01@x.com", NULL},
    {"bob@x.com\x7f", NULL},
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = (char *)1;
		int rc = smtpc__addr_extract(cases[i].in, &out);

		if (cases[i].want == NULL) {
			if (rc != 0)
				print_error("case %zu \"%s\": got \"%s\"\n", i, cases[i].in,
				            rc > 0 ? out : "(error)");
			assert_int_equal(rc, 0);
			assert_null(out);
		} else {
			if (rc != 1)
				print_error("case %zu \"%s\": got nothing\n", i, cases[i].in);
			assert_int_equal(rc, 1);
			assert_non_null(out);
			if (strcmp(out, cases[i].want) != 0)
				print_error("case %zu \"%s\": got \"%s\"\n", i, cases[i].in, out);
			assert_string_equal(out, cases[i].want);
			free(out);
		}
	}
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
}

static void test_null(void **state)
{
	char *out = (char *)1;

	(void)state;
	assert_int_equal(smtpc__addr_extract(NULL, &out), 0);
	assert_null(out);
}

/* Every prefix of every case: never crashes, never reads past the end. */
static void test_prefixes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		size_t n;

		for (n = 0; n <= len; n++) {
			char *in = malloc(n + 1);
			char *out = NULL;
			int rc;

			assert_non_null(in);
			memcpy(in, cases[i].in, n);
			in[n] = '\0';
			rc = smtpc__addr_extract(in, &out);
			assert_true(rc == 0 || rc == 1);
			if (rc == 1) {
				assert_non_null(out);
				assert_true(strlen(out) <= n);
				free(out);
			} else {
				assert_null(out);
			}
			free(in);
		}
	}
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	size_t i;

	assert_non_null(s);
	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

static void expect(const char *in, const char *want)
{
	char *out = NULL;
	int rc = smtpc__addr_extract(in, &out);

	if (want == NULL) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, 1);
	assert_string_equal(out, want);
	free(out);
}

/* Deep nesting and long inputs: no recursion, no quadratic blow-up. */
static void test_long_inputs(void **state)
{
	enum { N = 200000 };
	char *s;
	char *t;

	(void)state;
	s = repeat("a@b.com ", "(", N, "");
	t = repeat(s, ")", N, "");
	expect(t, "a@b.com");
	free(t);
	t = repeat(s, ")", N - 1, "");
	expect(t, NULL);
	free(t);
	free(s);

	s = repeat("", "a", N, "@x.com");
	t = repeat("", "a", N, "@x.com");
	expect(s, t);
	free(s);
	free(t);

	s = repeat("", "word ", N, "<bob@x.com>");
	expect(s, "bob@x.com");
	free(s);
	s = repeat("<", "@r.example,", N, ":bob@x.com>");
	expect(s, "bob@x.com");
	free(s);
	s = repeat("", "a@b.com, ", N, "");
	expect(s, NULL);
	free(s);
	s = repeat("", "<", N, "bob@x.com>");
	expect(s, NULL);
	free(s);
	s = repeat("\"", "x", N, "");
	expect(s, NULL);
	free(s);
}

/* Random strings over the syntax characters: never crashes, sane results. */
static void test_random(void **state)
{
	static const char alphabet[] = "ab.@<>()\",:;[]\\ \t\xc3";
	uint64_t x = 88172645463325252u;
	char in[33];
	int iter;

	(void)state;
	for (iter = 0; iter < 100000; iter++) {
		size_t len, i;
		char *out = NULL;
		int rc;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % 33);
		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		in[len] = '\0';
		rc = smtpc__addr_extract(in, &out);
		assert_true(rc == 0 || rc == 1);
		if (rc == 1) {
			/* A found address never holds what separates addresses. */
			assert_true(strlen(out) > 0 && strlen(out) <= len);
			/* Outside quoted strings: no blanks, controls or brackets. */
			if (strchr(out, '"') == NULL && strchr(out, '[') == NULL) {
				assert_null(strchr(out, ' '));
				assert_null(strchr(out, '\t'));
				assert_null(strchr(out, '<'));
				assert_null(strchr(out, '>'));
				assert_null(strchr(out, ','));
			}
			assert_true(out[0] != ' ' && out[strlen(out) - 1] != ' ');
			/* A domain literal holds only RFC 5321 dcontent. */
			if (out[strlen(out) - 1] == ']') {
				const char *lit = strrchr(out, '[');

				assert_non_null(lit);
				assert_null(strchr(lit, '\xc3'));
				assert_null(strchr(lit, ' '));
				assert_null(strchr(lit, '\t'));
			}
			free(out);
		}
	}
}

/* ---------------------------------------------------------------- paths */

/* Hostile inputs for MAIL/RCPT (issue 9): each gives one path (want) or nothing (NULL). */
static const struct addr_case path_cases[] = {
    {"me@example.org", "me@example.org"},
    {"Me <me@example.org>", "me@example.org"},
    {"\"a b\"@x.org", "\"a b\"@x.org"},
    {"\"a\\\"b\"@x.org", "\"a\\\"b\"@x.org"},
    {"postmaster", "postmaster"},
    {"\"q@x\"", "\"q@x\""},
    {"\"q@x\"@example.org", "\"q@x\"@example.org"},
    {"\"q@x\"@y@z", NULL},
    {"bob@[192.0.2.1]", "bob@[192.0.2.1]"},
    {"j\xc3\xb6rg@b\xc3\xbc.example", "j\xc3\xb6rg@b\xc3\xbc.example"},
    {"a_b@mail_1.example", "a_b@mail_1.example"},
    /* parameters smuggled inside the address */
    {"<me@example.org> RET=HDRS ENVID=inj", NULL},
    {"<a@example.org> NOTIFY=SUCCESS ORCPT=rfc822;spy@evil.example", NULL},
    {"victim@example.org> NOTIFY=SUCCESS", NULL},
    {"me@example.org RET=HDRS", NULL},
    {"me@example.org\tRET=HDRS", NULL},
    {"<me@example.org>RET=HDRS", NULL},
    {"<me@example.org> (c) RET=HDRS", NULL},
    {"\"x> NOTIFY=SUCCESS\"@y.org", NULL},
    {"\"x<y\"@y.org", NULL},
    {"\"!\\)\\< \"", NULL}, /* found by fuzz/address: an escaped '<' */
    {"\"a\\>\"@y.org", NULL},
    {"<<me@example.org>>", NULL},
    {"<me@example.org", NULL},
    /* not an RFC 5321 path */
    {"a.\"b c\"@x.org", NULL},
    {"\"a\".b@x.org", NULL},
    {"a@x=y.org", NULL},
    {"a@x!y.org", NULL},
    {"a@x..org", NULL},
    {"bob@[27.00>1]", NULL}, /* found by fuzz/address: dcontent allows '>' */
    {"bob@[1.2.3.4] x", NULL},
    {"bob@[]", NULL},
    {"\"a\\\xc3\"@x.org", NULL},
    {"a@b.org, c@d.org", NULL},
    {"a@b.org c@d.org", NULL},
    {"group: a@b.org;", NULL},
    {"", NULL}, /* the null path only where allowed (MAIL) */
    {"<>", NULL},
    {"a@b.org\r\nRSET", NULL},
    {"a@b.org\x00", "a@b.org"}, /* C string: ends at the NUL */
};

static void test_path_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		char *out = (char *)1;
		int rc = smtpc__addr_path(path_cases[i].in, 0, &out);

		if (path_cases[i].want == NULL) {
			if (rc != 0)
				print_error("path case %zu \"%s\": got \"%s\"\n", i, path_cases[i].in,
				            rc > 0 ? out : "(error)");
			assert_int_equal(rc, 0);
			assert_null(out);
			continue;
		}
		if (rc != 1)
			print_error("path case %zu \"%s\": got nothing\n", i, path_cases[i].in);
		assert_int_equal(rc, 1);
		assert_string_equal(out, path_cases[i].want);
		free(out);
	}
}

static void test_path_null(void **state)
{
	static const char *const nulls[] = {"", "<>", " <> ", "\t", "  "};
	char *out = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		assert_int_equal(smtpc__addr_path(nulls[i], 1, &out), 1);
		assert_string_equal(out, "");
		free(out);
		assert_int_equal(smtpc__addr_path(nulls[i], 0, &out), 0);
		assert_null(out);
	}
	assert_int_equal(smtpc__addr_path("< >x", 1, &out), 0);
	assert_int_equal(smtpc__addr_path("<> RET=HDRS", 1, &out), 0);
	assert_int_equal(smtpc__addr_path(NULL, 1, &out), 0);
}

/* A 10 KB address of parameters: refused, whatever the length. */
static void test_path_long(void **state)
{
	char *s = repeat("<a@example.org>", " NOTIFY=SUCCESS", 700, "");
	char *out = NULL;

	(void)state;
	assert_true(strlen(s) > 10000);
	assert_int_equal(smtpc__addr_path(s, 0, &out), 0);
	free(s);
	s = repeat("", "a", 10000, "@example.org");
	assert_int_equal(smtpc__addr_path(s, 0, &out), 1);
	assert_string_equal(out, s);
	free(out);
	free(s);
}

/*
 * The property (issue 9): whatever the input, a path that is found is one
 * token on the command line: no control character, no '<' or '>', no blank
 * outside the quoted local part; and it reads back as itself.
 */
static void test_path_random(void **state)
{
	static const char alphabet[] = "ab.@<>()\",:;[]\\ \t=\xc3\r\n";
	uint64_t x = 0x9e3779b97f4a7c15u;
	char in[41];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len, i;
		char *out = NULL;
		char *again = NULL;
		char *bracketed;
		int rc;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % 41);
		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		in[len] = '\0';
		rc = smtpc__addr_path(in, 1, &out);
		assert_true(rc == 0 || rc == 1);
		if (rc == 0) {
			assert_null(out);
			continue;
		}
		int quoted = out[0] == '"';
		const char *end_of_local = quoted ? strrchr(out, '"') : out;

		for (i = 0; out[i] != '\0'; i++) {
			unsigned char c = (unsigned char)out[i];

			assert_true(c >= 0x20 && c != 0x7f);
			assert_true(c != '<' && c != '>');
			if (c == ' ' || c == '\t')
				assert_true(quoted && out + i < end_of_local);
		}
		bracketed = repeat("<", "", 0, out);
		bracketed = realloc(bracketed, strlen(bracketed) + 2);
		assert_non_null(bracketed);
		strcat(bracketed, ">");
		assert_int_equal(smtpc__addr_path(bracketed, 1, &again), 1);
		assert_string_equal(again, out);
		free(again);
		free(bracketed);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),    cmocka_unit_test(test_null),
	    cmocka_unit_test(test_prefixes), cmocka_unit_test(test_long_inputs),
	    cmocka_unit_test(test_random),   cmocka_unit_test(test_path_table),
	    cmocka_unit_test(test_path_null), cmocka_unit_test(test_path_long),
	    cmocka_unit_test(test_path_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
