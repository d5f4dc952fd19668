/*
 * test_helpers.c - the public helpers smtpc_quoteaddr(), smtpc_quotedata()
 * and smtpc_base64_encode() (src/helpers.c), against docs/RULES.md
 * P7, P8 and P14.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "smtpc.h"

/* ---------------------------------------------------------------- quoteaddr */

struct qa_case {
	const char *in;
	const char *want;
};

static const struct qa_case qa_cases[] = {
    /* docs/RULES.md P7 */
    {"bob@example.com", "<bob@example.com>"},
    {"<bob@example.com>", "<bob@example.com>"},
    {"Bob Example <bob@example.com>", "<bob@example.com>"},
    {"<>", "<>"},
    {"", "<>"},
    {"  ", "<>"},
    {" <> ", "<>"},
    {"\t<>", "<>"},
    {"(comment) a@b.com", "<a@b.com>"},
    {"a@b.com (Bob)", "<a@b.com>"},
    {"<@relay:bob@x.com>", "<bob@x.com>"},
    {"bob", "<bob>"},
    /* more parsed forms */
    {"\"Bob, Jr.\" <bob@x.com>", "<bob@x.com>"},
    {"\"a b\"@x.com", "<\"a b\"@x.com>"},
    {"<@relay1,@relay2:bob@x.com>", "<bob@x.com>"},
    {"j\xc3\xb6rg@x.com", "<j\xc3\xb6rg@x.com>"},
    {"postmaster", "<postmaster>"},
    /* not exactly one address: refused (smtplib keeps the string, parameters and all) */
    {"a@b.com, c@d.com", NULL},
    {"bob@x.com>", NULL},
    {" <bob@x.com", NULL},
    {"victim@example.org> NOTIFY=SUCCESS", NULL},
    {"<me@example.org> RET=HDRS ENVID=inj", NULL},
    {"<a@example.org> NOTIFY=SUCCESS ORCPT=rfc822;spy@evil.example", NULL},
    {"a@example.org NOTIFY=SUCCESS", NULL},
    {"\"x> NOTIFY=SUCCESS\"@y.org", NULL},
    {"a.\"b c\"@x.com", NULL}, /* not an RFC 5321 local part */
    {"a@x=y.org", NULL},
    /* CR/LF is never cut, never kept */
    {"bob@x.com\r\nRCPT TO:<evil@x>", NULL},
    {"<bob@x.com>\r\nRSET", NULL},
};

static void test_quoteaddr(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(qa_cases) / sizeof(qa_cases[0]); i++) {
		char *r = smtpc_quoteaddr(qa_cases[i].in);

		if (qa_cases[i].want == NULL) {
			if (r != NULL)
				print_error("case %zu \"%s\": got \"%s\"\n", i, qa_cases[i].in, r);
			assert_null(r);
			continue;
		}
		assert_non_null(r);
		if (strcmp(r, qa_cases[i].want) != 0)
			print_error("case %zu \"%s\": got \"%s\"\n", i, qa_cases[i].in, r);
		assert_string_equal(r, qa_cases[i].want);
		free(r);
	}
	assert_null(smtpc_quoteaddr(NULL));
}

/* ---------------------------------------------------------------- quotedata */

static void check_quotedata(const char *in, size_t len, const char *want, size_t wantlen)
{
	char *out = NULL;
	size_t outlen = 12345;

	assert_int_equal(smtpc_quotedata(in, len, &out, &outlen), SMTPC_OK);
	assert_non_null(out);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[outlen], '\0');
	free(out);
}

/* in and want are string literals (may hold NUL bytes). */
#define CHECK_QD(in, want) check_quotedata(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_quotedata(void **state)
{
	char *out = (char *)1;
	size_t outlen = 1;
	static const char nul_in[] = "a\0\n.\0";

	(void)state;
	/* docs/RULES.md P8 */
	CHECK_QD("abc\n.jkl\rfoo\r\n..blue", "abc\r\n..jkl\r\nfoo\r\n...blue");
	CHECK_QD("", "");
	check_quotedata(NULL, 0, "", 0);
	CHECK_QD(".", "..");
	CHECK_QD("a\r", "a\r\n");
	CHECK_QD("\r\r\n", "\r\n\r\n");
	CHECK_QD("a\r.\rb", "a\r\n..\r\nb");
	CHECK_QD(nul_in, "a\0\r\n..\0");

	assert_int_equal(smtpc_quotedata(NULL, 1, &out, &outlen), SMTPC_EINVAL);
	assert_null(out);
	assert_int_equal(outlen, 0);
	assert_int_equal(smtpc_quotedata("a", 1, NULL, &outlen), SMTPC_EINVAL);
	assert_int_equal(smtpc_quotedata("a", 1, &out, NULL), SMTPC_EINVAL);
	/* Size arithmetic: refused before reading or allocating anything. */
	assert_int_equal(smtpc_quotedata("a", SIZE_MAX, &out, &outlen), SMTPC_ENOMEM);
	assert_null(out);
	assert_int_equal(smtpc_quotedata("a", SIZE_MAX / 2, &out, &outlen), SMTPC_ENOMEM);
}

/* ---------------------------------------------------------------- base64 */

static void test_base64_smtplib(void **state)
{
	char *r;
	char x60[60];

	(void)state;
	/* docs/RULES.md P14 */
	r = smtpc_base64_encode("\0tim\0tanstaaftanstaaf", 21, 76, NULL);
	assert_non_null(r);
	assert_string_equal(r, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n");
	free(r);
	memset(x60, 'x', sizeof(x60));
	r = smtpc_base64_encode(x60, 60, 76, "\n");
	assert_non_null(r);
	assert_string_equal(r, "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	                       "eHh4eHh4eHh4\neHh4\n");
	free(r);
	r = smtpc_base64_encode(x60, 60, 76, "");
	assert_non_null(r);
	assert_string_equal(r, "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	                       "eHh4eHh4eHh4eHh4");
	free(r);
	r = smtpc_base64_encode(x60, 60, 76, "\r\n");
	assert_non_null(r);
	assert_string_equal(r, "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	                       "eHh4eHh4eHh4\r\neHh4\r\n");
	free(r);
	/* 0: one unbroken line, still followed by eol */
	r = smtpc_base64_encode(x60, 60, 0, NULL);
	assert_non_null(r);
	assert_int_equal(strlen(r), 81);
	assert_string_equal(r + 80, "\n");
	free(r);
	/* empty input: "" without eol */
	r = smtpc_base64_encode("", 0, 76, NULL);
	assert_non_null(r);
	assert_string_equal(r, "");
	free(r);
	r = smtpc_base64_encode(NULL, 0, 76, "\r\n");
	assert_non_null(r);
	assert_string_equal(r, "");
	free(r);
	assert_null(smtpc_base64_encode(NULL, 1, 76, NULL));
	/* size arithmetic */
	assert_null(smtpc_base64_encode("a", SIZE_MAX, 76, NULL));
	assert_null(smtpc_base64_encode("a", SIZE_MAX / 4 * 3, 0, ""));
}

static void test_base64_rounding(void **state)
{
	char *r;

	(void)state;
	/* 75 rounds down to 72 characters (54 bytes); padding only at the end */
	r = smtpc_base64_encode("fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba"
	                        "fooba",
	                        60, 75, NULL);
	assert_non_null(r);
	assert_int_equal(strchr(r, '\n') - r, 72);
	assert_null(strchr(r, '='));
	free(r);
	/* 1 to 3 cannot hold a group: 4 characters per line */
	r = smtpc_base64_encode("foobar", 6, 3, NULL);
	assert_non_null(r);
	assert_string_equal(r, "Zm9v\nYmFy\n");
	free(r);
	r = smtpc_base64_encode("fooba", 5, 4, "|");
	assert_non_null(r);
	assert_string_equal(r, "Zm9v|YmE=|");
	free(r);
	r = smtpc_base64_encode("fooba", 5, 7, "|");
	assert_non_null(r);
	assert_string_equal(r, "Zm9v|YmE=|");
	free(r);
	r = smtpc_base64_encode("fooba", 5, 8, "|");
	assert_non_null(r);
	assert_string_equal(r, "Zm9vYmE=|");
	free(r);
}

/*
 * Every length up to 200 and every maxlinelen up to 90: lines of at most
 * the rounded limit, each followed by eol, decoding back to the input.
 */
static void test_base64_lines(void **state)
{
	unsigned char in[200];
	size_t len, max, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len <= sizeof(in); len++) {
		for (max = 0; max <= 90; max++) {
			const char *eol = max % 2 ? "\r\n" : "\n";
			size_t eollen = strlen(eol);
			size_t limit = max == 0 ? SIZE_MAX : max < 4 ? 4 : max / 4 * 4;
			char *r = smtpc_base64_encode(in, len, max, eol);
			char *joined;
			unsigned char *dec;
			size_t jlen = 0;
			size_t n;
			const char *p;

			assert_non_null(r);
			if (len == 0) {
				assert_string_equal(r, "");
				free(r);
				continue;
			}
			joined = malloc(strlen(r) + 1);
			assert_non_null(joined);
			for (p = r; *p != '\0';) {
				const char *e = strstr(p, eol);

				assert_non_null(e);
				assert_true((size_t)(e - p) <= limit);
				assert_true(e - p > 0 && (e - p) % 4 == 0);
				memcpy(joined + jlen, p, (size_t)(e - p));
				jlen += (size_t)(e - p);
				p = e + eollen;
			}
			assert_int_equal(jlen, SMTPC__B64_LEN(len));
			dec = malloc(jlen / 4 * 3);
			assert_non_null(dec);
			n = smtpc__b64_decode(joined, jlen, dec);
			assert_int_equal(n, len);
			assert_memory_equal(dec, in, len);
			free(dec);
			free(joined);
			free(r);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quoteaddr),      cmocka_unit_test(test_quotedata),
	    cmocka_unit_test(test_base64_smtplib), cmocka_unit_test(test_base64_rounding),
	    cmocka_unit_test(test_base64_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
