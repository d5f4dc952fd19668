/* Unit tests of the command writer (src/command.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "smtpc.h"

static void build_ok(const char *verb, const char *const *args, size_t n, const char *want)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(smtpc__cmd_build(&line, &len, verb, args, n, 0), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
	free(line);
}

static void build_refused(const char *verb, const char *const *args, size_t n, int allow_8bit)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(smtpc__cmd_build(&line, &len, verb, args, n, allow_8bit), SMTPC_EINVAL);
	assert_null(line);
}

static void test_lines(void **state)
{
	const char *mail[] = {"FROM:<a@b.example>", "SIZE=10", "BODY=8BITMIME"};
	const char *skip[] = {NULL, "", "x"};

	(void)state;
	build_ok("NOOP", NULL, 0, "NOOP\r\n");
	build_ok("MAIL", mail, 3, "MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME\r\n");
	build_ok("HELP", skip, 3, "HELP x\r\n");
}

static void test_control_characters_refused(void **state)
{
	static const char *bad[] = {"a\rb",  "a\nb", "a\r\nRCPT TO:<x>", "\x01",
	                            "a\x7f", "\t",   "\x1b[2J"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = {"ok", bad[i]};

		build_refused("VRFY", args, 2, 0);
		build_refused("VRFY", args, 2, 1);
		build_refused(bad[i], NULL, 0, 1);
	}
	build_refused("", NULL, 0, 0);
}

static void test_8bit(void **state)
{
	const char *args[] = {"TO:<j\xc3\xb6rg@example.org>"};
	char *line = NULL;
	size_t len = 0;

	(void)state;
	build_refused("RCPT", args, 1, 0);
	assert_int_equal(smtpc__cmd_build(&line, &len, "RCPT", args, 1, 1), 0);
	free(line);
	/* the verb itself is always ASCII */
	build_refused("R\xc3\xa9", NULL, 0, 1);
}

static void test_embedded_nul(void **state)
{
	(void)state;
	/* A (pointer, length) argument with a NUL inside is refused, not truncated. */
	assert_int_equal(smtpc__arg_check("ab\0cd", 5, 0), SMTPC_EINVAL);
	assert_int_equal(smtpc__arg_check("abcd", 4, 0), 0);
}

static void test_bounded(void **state)
{
	size_t big = SMTPC__MAX_CMDLINE;
	char *arg = malloc(big + 1);
	const char *args[1] = {arg};

	(void)state;
	memset(arg, 'a', big);
	arg[big] = '\0';
	build_refused("NOOP", args, 1, 0);
	arg[big - 100] = '\0';
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(smtpc__cmd_build(&line, &len, "NOOP", args, 1, 0), 0);
	assert_int_equal(len, 4 + 1 + big - 100 + 2);
	free(line);
	free(arg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),   cmocka_unit_test(test_control_characters_refused),
	    cmocka_unit_test(test_8bit),    cmocka_unit_test(test_embedded_nul),
	    cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
