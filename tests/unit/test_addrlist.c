/*
 * test_addrlist.c - smtpc_parse_addresses() (src/addrlist.c): a corpus of
 * address lists with the items and skipped counts expected, every prefix of
 * each, long and hostile inputs, random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc.h"

#define MAX_ITEMS 6

struct item {
	const char *name;
	const char *address; /* NULL ends the list */
	const char *group;
};

struct list_case {
	const char *in;
	size_t len;
	size_t skipped;
	struct item want[MAX_ITEMS];
};

/* The input with its length, so that it may hold NUL bytes. */
#define IN(s) s, sizeof(s) - 1

static const struct list_case corpus[] = {
    /* plain lists */
    {IN("john@example.com"), 0, {{"", "john@example.com", NULL}}},
    {IN("John <john@example.com>"), 0, {{"John", "john@example.com", NULL}}},
    {IN("John Smith <john@example.com>"), 0, {{"John Smith", "john@example.com", NULL}}},
    {IN("  John    Q.   Smith   <john@example.com>  "),
     0,
     {{"John Q. Smith", "john@example.com", NULL}}},
    {IN("John<j@x.com>"), 0, {{"John", "j@x.com", NULL}}},
    {IN("<j@x.com>"), 0, {{"", "j@x.com", NULL}}},
    {IN("a@x.com, b@y.com"), 0, {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}}},
    {IN("a@x.com,b@y.com,c@z.com"),
     0,
     {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}, {"", "c@z.com", NULL}}},
    {IN("John <j@x.com>, \"Doe, Jane\" <jane@x.com>, k@z.com"),
     0,
     {{"John", "j@x.com", NULL}, {"Doe, Jane", "jane@x.com", NULL}, {"", "k@z.com", NULL}}},
    {IN("bob+tag@x.com"), 0, {{"", "bob+tag@x.com", NULL}}},
    {IN("!#$%&'*+-/=?^_`{|}~@x.com"), 0, {{"", "!#$%&'*+-/=?^_`{|}~@x.com", NULL}}},
    {IN("postmaster"), 0, {{"", "postmaster", NULL}}},
    {IN("<postmaster>"), 0, {{"", "postmaster", NULL}}},
    {IN("\"a@b.com\" (Bob), c@d.com"), 1, {{"", "c@d.com", NULL}}},
    {IN("\"John Doe\""), 1, {{NULL, NULL, NULL}}},
    {IN("<\"quoted\">"), 1, {{NULL, NULL, NULL}}},
    {IN("A.B.C <abc@x.com>"), 0, {{"A.B.C", "abc@x.com", NULL}}},
    {IN("Dr. Who <who@x.com>"), 0, {{"Dr. Who", "who@x.com", NULL}}},
    {IN("'Bob' <b@x.com>"), 0, {{"'Bob'", "b@x.com", NULL}}},
    /* empty lists and empty elements */
    {IN(""), 0, {{NULL, NULL, NULL}}},
    {IN("   \t "), 0, {{NULL, NULL, NULL}}},
    {IN(",,, ,  ,"), 0, {{NULL, NULL, NULL}}},
    {IN("(just a comment)"), 0, {{NULL, NULL, NULL}}},
    {IN("a@x.com,,b@y.com"), 0, {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}}},
    {IN(", a@x.com ,"), 0, {{"", "a@x.com", NULL}}},
    {IN("(a) , b@c.com"), 0, {{"", "b@c.com", NULL}}},
    /* ';' outside a group separates (the Outlook habit) */
    {IN("a@x.com;"), 0, {{"", "a@x.com", NULL}}},
    {IN("a@x.com; b@y.com"), 0, {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}}},
    {IN("Bob <b@x.com>;Carol <c@x.com>"),
     0,
     {{"Bob", "b@x.com", NULL}, {"Carol", "c@x.com", NULL}}},
    /* quoted display names */
    {IN("\"Smith, John\" <john@example.com>"), 0, {{"Smith, John", "john@example.com", NULL}}},
    {IN("\"John \\\"Jack\\\" Smith\" <j@x.com>"), 0, {{"John \"Jack\" Smith", "j@x.com", NULL}}},
    {IN("\"a\\\\b\" <j@x.com>"), 0, {{"a\\b", "j@x.com", NULL}}},
    {IN("John \"Q.\" Smith <j@x.com>"), 0, {{"John Q. Smith", "j@x.com", NULL}}},
    {IN("\"\" <j@x.com>"), 0, {{"", "j@x.com", NULL}}},
    {IN("\"Bob\"<b@x.com>"), 0, {{"Bob", "b@x.com", NULL}}},
    {IN("\"Bob\" \"Smith\" <b@x.com>"), 0, {{"Bob Smith", "b@x.com", NULL}}},
    {IN("\" two  blanks \" <b@x.com>"), 0, {{" two  blanks ", "b@x.com", NULL}}},
    {IN("\"\\\"Quoted\\\" Name\" <q@x.com>"), 0, {{"\"Quoted\" Name", "q@x.com", NULL}}},
    {IN("\"Doe, John\" <john.doe@x.com>, \"Roe, Richard\" <rr@x.com>"),
     0,
     {{"Doe, John", "john.doe@x.com", NULL}, {"Roe, Richard", "rr@x.com", NULL}}},
    {IN("\"<evil@y.com>\" <b@x.com>"), 0, {{"<evil@y.com>", "b@x.com", NULL}}},
    {IN("\"'john@example.com'\" <john@example.com>"),
     0,
     {{"'john@example.com'", "john@example.com", NULL}}},
    {IN("\"john@example.com\" <evil@attacker.example>"),
     0,
     {{"john@example.com", "evil@attacker.example", NULL}}},
    /* an unquoted comma splits the name, as in Python's getaddresses */
    {IN("Smith, John <j@x.com>"), 0, {{"", "Smith", NULL}, {"John", "j@x.com", NULL}}},
    /* comments: the name of an element without a phrase */
    {IN("a@b.com (Bob)"), 0, {{"Bob", "a@b.com", NULL}}},
    {IN("a@b.com (Bob) (Smith)"), 0, {{"Bob Smith", "a@b.com", NULL}}},
    {IN("(Bob) a@b.com"), 0, {{"Bob", "a@b.com", NULL}}},
    {IN("a@b.com (  Bob   Smith  )"), 0, {{"Bob Smith", "a@b.com", NULL}}},
    {IN("a@b.com (Bob (the builder))"), 0, {{"Bob (the builder)", "a@b.com", NULL}}},
    {IN("a@b.com (a \\) b)"), 0, {{"a ) b", "a@b.com", NULL}}},
    {IN("a@b.com ()"), 0, {{"", "a@b.com", NULL}}},
    {IN("Bob (work) <b@x.com> (old)"), 0, {{"Bob", "b@x.com", NULL}}},
    {IN("<b@x.com> (Bob)"), 0, {{"Bob", "b@x.com", NULL}}},
    {IN("(Bob) <b@x.com>"), 0, {{"Bob", "b@x.com", NULL}}},
    {IN("a(1)@(2)b.com(3)"), 0, {{"1 2 3", "a@b.com", NULL}}},
    {IN("<(in)b@x.com(side)>"), 0, {{"in side", "b@x.com", NULL}}},
    {IN("a@b.com (x, y), c@d.com"), 0, {{"x, y", "a@b.com", NULL}, {"", "c@d.com", NULL}}},
    {IN("a@b.com ((((((deep))))))"), 0, {{"(((((deep)))))", "a@b.com", NULL}}},
    {IN("Bob (comment, with comma) <b@x.com>, c@d.com"),
     0,
     {{"Bob", "b@x.com", NULL}, {"", "c@d.com", NULL}}},
    {IN("Bob (x <evil@y.com>) <b@x.com>"), 0, {{"Bob", "b@x.com", NULL}}},
    {IN("a@x.com (Bob) , (Carol) c@x.com"),
     0,
     {{"Bob", "a@x.com", NULL}, {"Carol", "c@x.com", NULL}}},
    /* groups */
    {IN("undisclosed-recipients:;"), 0, {{"", "", "undisclosed-recipients"}}},
    {IN("undisclosed-recipients: (none) ;"), 0, {{"", "", "undisclosed-recipients"}}},
    {IN("team: a@x.com, b@y.com;"), 0, {{"", "a@x.com", "team"}, {"", "b@y.com", "team"}}},
    {IN("team: a@x.com, b@y.com; c@z.com"),
     0,
     {{"", "a@x.com", "team"}, {"", "b@y.com", "team"}, {"", "c@z.com", NULL}}},
    {IN("team: a@x.com, b@y.com;, c@z.com"),
     0,
     {{"", "a@x.com", "team"}, {"", "b@y.com", "team"}, {"", "c@z.com", NULL}}},
    {IN("A Team: Alice <a@x.com>, \"Bob, B\" <b@x.com>;"),
     0,
     {{"Alice", "a@x.com", "A Team"}, {"Bob, B", "b@x.com", "A Team"}}},
    {IN("\"The: Team\": a@x.com;"), 0, {{"", "a@x.com", "The: Team"}}},
    {IN("team: a@x.com"), 0, {{"", "a@x.com", "team"}}},
    {IN("team:"), 0, {{"", "", "team"}}},
    {IN("g1:;, g2: a@x.com;"), 0, {{"", "", "g1"}, {"", "a@x.com", "g2"}}},
    {IN("team (the group): a@x.com (Al);"), 0, {{"Al", "a@x.com", "team"}}},
    {IN("team: , ,a@x.com,, ;"), 0, {{"", "a@x.com", "team"}}},
    {IN(": a@x.com;"), 0, {{"", "a@x.com", ""}}},
    {IN("Bcc: secret@x.com"), 0, {{"", "secret@x.com", "Bcc"}}},
    {IN("g: h: a@x.com;;"), 1, {{"", "", "g"}}},
    {IN("g: <<bad, b@x.com;"), 1, {{"", "b@x.com", "g"}}},
    {IN("g: a@x.com junk, b@x.com;"), 1, {{"", "b@x.com", "g"}}},
    {IN("g: \"open;"), 1, {{"", "", "g"}}},
    /* angle addresses and obsolete routes (RFC 5322 4.4) */
    {IN("<@relay1,@relay2:bob@x.com>"), 0, {{"", "bob@x.com", NULL}}},
    {IN("Bob <@a.example, @b.example : bob@x.com>"), 0, {{"Bob", "bob@x.com", NULL}}},
    {IN("<@relay,,@relay2:bob@x.com>, c@d.com"),
     0,
     {{"", "bob@x.com", NULL}, {"", "c@d.com", NULL}}},
    {IN("<@[192.0.2.1]:bob@x.com>"), 0, {{"", "bob@x.com", NULL}}},
    {IN("< bob @ x . com >"), 0, {{"", "bob@x.com", NULL}}},
    {IN("<b@x.com>, <c@x.com>"), 0, {{"", "b@x.com", NULL}, {"", "c@x.com", NULL}}},
    {IN("<@relay bob@x.com>"), 1, {{NULL, NULL, NULL}}},
    {IN("<@relay:>"), 1, {{NULL, NULL, NULL}}},
    {IN("<>"), 1, {{NULL, NULL, NULL}}},
    {IN("Bob <>, c@d.com"), 1, {{"", "c@d.com", NULL}}},
    {IN("Bob <b@x.com> <c@x.com>"), 1, {{NULL, NULL, NULL}}},
    {IN("<b@x.com> Bob"), 1, {{NULL, NULL, NULL}}},
    {IN("Bob@x.com <b@x.com>"), 1, {{NULL, NULL, NULL}}},
    /* obsolete local parts and domains: CFWS around the dots */
    {IN("john . doe @ example . com"), 0, {{"", "john.doe@example.com", NULL}}},
    {IN("john.\"q\".doe@x.com"), 0, {{"", "john.\"q\".doe@x.com", NULL}}},
    {IN("\"john doe\"@x.com"), 0, {{"", "\"john doe\"@x.com", NULL}}},
    {IN("\"john\\\"doe\"@x.com"), 0, {{"", "\"john\\\"doe\"@x.com", NULL}}},
    {IN("\"a,b\"@x.com, c@d.com"), 0, {{"", "\"a,b\"@x.com", NULL}, {"", "c@d.com", NULL}}},
    {IN("\"a\tb\"@x.com"), 0, {{"", "\"a\tb\"@x.com", NULL}}},
    {IN("john (c) . (d) doe@x.com"), 0, {{"c d", "john.doe@x.com", NULL}}},
    {IN("a..b@x.com"), 0, {{"", "a..b@x.com", NULL}}},
    {IN("a@x..com"), 1, {{NULL, NULL, NULL}}},
    {IN("a@.x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com."), 1, {{NULL, NULL, NULL}}},
    {IN("a@"), 1, {{NULL, NULL, NULL}}},
    {IN("@x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("a b@x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("a\tb@x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("John Smith"), 1, {{NULL, NULL, NULL}}},
    {IN("a@b@c"), 1, {{NULL, NULL, NULL}}},
    /* domain literals */
    {IN("bob@[192.0.2.1]"), 0, {{"", "bob@[192.0.2.1]", NULL}}},
    {IN("bob@[IPv6:2001:db8::1]"), 0, {{"", "bob@[IPv6:2001:db8::1]", NULL}}},
    {IN("Bob <bob@[ 192.0.2.1 ]>"), 0, {{"Bob", "bob@[192.0.2.1]", NULL}}},
    {IN("bob@[1,2], c@d.com"), 0, {{"", "bob@[1,2]", NULL}, {"", "c@d.com", NULL}}},
    {IN("bob@[1.2.3.4, c@d.com"), 1, {{"", "c@d.com", NULL}}},
    {IN("bob@[a\\]b]"), 1, {{NULL, NULL, NULL}}},
    {IN("bob@[]"), 1, {{NULL, NULL, NULL}}},
    {IN("bob@[\xc3\xa9]"), 1, {{NULL, NULL, NULL}}},
    /* folded lines */
    {IN("John\r\n Smith <j@x.com>"), 0, {{"John Smith", "j@x.com", NULL}}},
    {IN("a@x.com,\r\n b@y.com,\r\n\tc@z.com"),
     0,
     {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}, {"", "c@z.com", NULL}}},
    {IN("\"John\r\n Smith\" <j@x.com>"), 0, {{"John Smith", "j@x.com", NULL}}},
    {IN("\"a\r\n b\"@x.com"), 0, {{"", "\"a b\"@x.com", NULL}}},
    {IN("a@x.com (Bob\r\n Smith)"), 0, {{"Bob Smith", "a@x.com", NULL}}},
    {IN("a@x.com,\n b@y.com"), 0, {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}}},
    {IN("a@x.com\r\n"), 0, {{"", "a@x.com", NULL}}},
    {IN("Mary Smith\r\n  \r\n <mary@example.net>"), 0, {{"Mary Smith", "mary@example.net", NULL}}},
    /* line breaks that are not folding are control characters */
    {IN("a@x.com\r\nBcc: evil@y.com"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com\r\nBcc: x@y.com, b@z.com"), 1, {{"", "b@z.com", NULL}}},
    {IN("a@x.com,\r\n\r\n b@y.com"), 1, {{"", "a@x.com", NULL}}},
    {IN("a@x.com\r"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com\rb@y.com"), 1, {{NULL, NULL, NULL}}},
    {IN("\"a\nb\"@x.com, c@d.com"), 1, {{"", "c@d.com", NULL}}},
    {IN("a@x.com (x\ny), c@d.com"), 1, {{"", "c@d.com", NULL}}},
    /* other control characters */
    {IN("a@x.com\0, b@y.com"), 1, {{"", "b@y.com", NULL}}},
    {IN("a\0@x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("\"Bo\x01b\" <b@x.com>, c@y.com"), 1, {{"", "c@y.com", NULL}}},
    {IN("a@x.com (x\x7fy)"), 1, {{NULL, NULL, NULL}}},
    {IN("Bob <b@x.com\x1b>"), 1, {{NULL, NULL, NULL}}},
    {IN("\"a\\\x01\"@x.com"), 1, {{NULL, NULL, NULL}}},
    {IN("\x7f"), 1, {{NULL, NULL, NULL}}},
    /* UTF-8 (RFC 6532) passes through */
    {IN("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
        "cher.de>"),
     0,
     {{"J\xc3\xb6rg",
       "j\xc3\xb6rg@b\xc3\xbc"
       "cher.de",
       NULL}}},
    {IN("\"M\xc3\xbcller, Hans\" <hans@x.de>"), 0, {{"M\xc3\xbcller, Hans", "hans@x.de", NULL}}},
    {IN("\xe6\x97\xa5\xe6\x9c\xac <user@\xe4\xbe\x8b\xe3\x81\x88.jp>"),
     0,
     {{"\xe6\x97\xa5\xe6\x9c\xac", "user@\xe4\xbe\x8b\xe3\x81\x88.jp", NULL}}},
    {IN("\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae@\xcf\x80\xce\xb1\xcf\x81.\xce\xb4"),
     0,
     {{"", "\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae@\xcf\x80\xce\xb1\xcf\x81.\xce\xb4",
       NULL}}},
    {IN("a@b.com (J\xc3\xb6rg)"), 0, {{"J\xc3\xb6rg", "a@b.com", NULL}}},
    {IN("\xff\xfe <a@b.com>"), 0, {{"\xff\xfe", "a@b.com", NULL}}},
    /* RFC 2047 encoded words stay as they are */
    {IN("=?UTF-8?B?SsO2cmc=?= <j@x.com>"), 0, {{"=?UTF-8?B?SsO2cmc=?=", "j@x.com", NULL}}},
    {IN("=?utf-8?q?J=C3=B6rg?= =?utf-8?q?_Smith?= <j@x.com>"),
     0,
     {{"=?utf-8?q?J=C3=B6rg?= =?utf-8?q?_Smith?=", "j@x.com", NULL}}},
    {IN("\"=?utf-8?q?Smith=2C_J?=\" <j@x.com>"), 0, {{"=?utf-8?q?Smith=2C_J?=", "j@x.com", NULL}}},
    {IN("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
     0,
     {{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "keld@dkuug.dk", NULL}}},
    {IN("=?utf-8?q?a?= <a@x.com>,=?utf-8?q?b?= <b@x.com>"),
     0,
     {{"=?utf-8?q?a?=", "a@x.com", NULL}, {"=?utf-8?q?b?=", "b@x.com", NULL}}},
    /* unbalanced quotes, comments, brackets; trailing garbage */
    {IN("\"Bob <b@x.com>, c@y.com"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com, \"Bob <b@x.com>, c@y.com"), 1, {{"", "a@x.com", NULL}}},
    {IN("a@x.com (Bob, c@y.com"), 1, {{NULL, NULL, NULL}}},
    {IN("Bob <b@x.com, c@y.com"), 1, {{"", "c@y.com", NULL}}},
    {IN("Bob b@x.com>, c@y.com"), 1, {{"", "c@y.com", NULL}}},
    {IN("a@x.com), b@y.com"), 1, {{"", "b@y.com", NULL}}},
    {IN("<<<a@x.com>>>"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com]"), 1, {{NULL, NULL, NULL}}},
    {IN("<a@x.com, <b@y.com>"), 1, {{"", "b@y.com", NULL}}},
    {IN("a@x.com, <b@y.com"), 1, {{"", "a@x.com", NULL}}},
    {IN("<a, <b, <c, d@x.com"), 3, {{"", "d@x.com", NULL}}},
    {IN("Bob \\ <b@x.com>"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com extra"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com <b@y.com>"), 1, {{NULL, NULL, NULL}}},
    {IN("John <j@x.com> trailing, k@x.com"), 1, {{"", "k@x.com", NULL}}},
    {IN("a@x.com: junk"), 1, {{NULL, NULL, NULL}}},
    {IN("\"unterminated"), 1, {{NULL, NULL, NULL}}},
    {IN("(unterminated"), 1, {{NULL, NULL, NULL}}},
    {IN("(a (b) c"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com\\"), 1, {{NULL, NULL, NULL}}},
    {IN("\"a\\"), 1, {{NULL, NULL, NULL}}},
    {IN("a@x.com, ), b@y.com, ]"), 2, {{"", "a@x.com", NULL}, {"", "b@y.com", NULL}}},
    /* RFC 5322 appendix A */
    {IN("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
     0,
     {{"Mary Smith", "mary@x.test", NULL},
      {"", "jdoe@example.org", NULL},
      {"Who?", "one@y.test", NULL}}},
    {IN("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
     0,
     {{"", "boss@nil.test", NULL}, {"Giant; \"Big\" Box", "sysservices@example.net", NULL}}},
    {IN("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
     0,
     {{"Ed Jones", "c@a.test", "A Group"},
      {"", "joe@where.test", "A Group"},
      {"John", "jdoe@one.test", "A Group"}}},
    {IN("Undisclosed recipients:;"), 0, {{"", "", "Undisclosed recipients"}}},
    {IN("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
     0,
     {{"Pete", "pete@silly.test", NULL}}},
    {IN("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
        "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of "
        "the group)"),
     0,
     {{"Chris Jones", "c@public.example", "A Group"},
      {"", "joe@example.org", "A Group"},
      {"John", "jdoe@one.test", "A Group"}}},
    {IN("Joe Q. Public <john.q.public@example.com>"),
     0,
     {{"Joe Q. Public", "john.q.public@example.com", NULL}}},
    {IN("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"),
     0,
     {{"Mary Smith", "mary@example.net", NULL}, {"", "jdoe@test.example", NULL}}},
    {IN("John Doe <jdoe@machine(comment).  example>"),
     0,
     {{"John Doe", "jdoe@machine.example", NULL}}},
};

static void check_string(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		assert_false(c < 0x20 && c != '\t');
		assert_int_not_equal(c, 0x7f);
	}
}

/* What every list must satisfy: no CR, LF, NUL, control in any string. */
static void check_list(const smtpc_address_list *list)
{
	size_t i;

	assert_non_null(list);
	if (list->n == 0)
		assert_null(list->items);
	for (i = 0; i < list->n; i++) {
		assert_non_null(list->items[i].name);
		assert_non_null(list->items[i].address);
		check_string(list->items[i].name);
		check_string(list->items[i].address);
		if (list->items[i].group != NULL)
			check_string(list->items[i].group);
		else
			assert_true(list->items[i].address[0] != '\0');
		/* no blank or special outside quoted strings and domain literals */
		if (strpbrk(list->items[i].address, "\"[") == NULL)
			assert_null(strpbrk(list->items[i].address, " \t<>,;()"));
	}
}

static void print_case(size_t k, const struct list_case *c, const smtpc_address_list *list,
                       size_t skipped)
{
	size_t i;

	print_message("case %zu: skipped %zu n %zu\n", k, skipped, list->n);
	for (i = 0; i < list->n; i++)
		print_message("  [%s] [%s] [%s]\n", list->items[i].name, list->items[i].address,
		              list->items[i].group != NULL ? list->items[i].group : "(null)");
	(void)c;
}

static void test_corpus(void **state)
{
	size_t k;
	size_t i;
	size_t n;
	size_t skipped;
	smtpc_address_list *list;

	assert_true(sizeof(corpus) / sizeof(corpus[0]) >= 100);
	for (k = 0; k < sizeof(corpus) / sizeof(corpus[0]); k++) {
		const struct list_case *c = &corpus[k];

		for (n = 0; n < MAX_ITEMS && c->want[n].address != NULL; n++)
			;
		skipped = 12345;
		assert_int_equal(smtpc_parse_addresses(c->in, c->len, &list, &skipped), 0);
		check_list(list);
		if (list->n != n || skipped != c->skipped)
			print_case(k, c, list, skipped);
		assert_int_equal(list->n, n);
		assert_int_equal(skipped, c->skipped);
		for (i = 0; i < n; i++) {
			if (strcmp(list->items[i].name, c->want[i].name) != 0 ||
			    strcmp(list->items[i].address, c->want[i].address) != 0)
				print_case(k, c, list, skipped);
			assert_string_equal(list->items[i].name, c->want[i].name);
			assert_string_equal(list->items[i].address, c->want[i].address);
			if (c->want[i].group == NULL) {
				assert_null(list->items[i].group);
			} else {
				assert_non_null(list->items[i].group);
				assert_string_equal(list->items[i].group, c->want[i].group);
			}
		}
		smtpc_address_list_free(list);
		/* skipped may be NULL */
		assert_int_equal(smtpc_parse_addresses(c->in, c->len, &list, NULL), 0);
		assert_int_equal(list->n, n);
		smtpc_address_list_free(list);
	}
}

/* Every prefix of every case: no crash, no leak, the invariants hold. */
static void test_prefixes(void **state)
{
	size_t k;
	size_t len;
	char *copy;
	smtpc_address_list *list;

	for (k = 0; k < sizeof(corpus) / sizeof(corpus[0]); k++) {
		for (len = 0; len <= corpus[k].len; len++) {
			/* an exact-size copy, so that ASan sees any read past len */
			copy = malloc(len > 0 ? len : 1);
			assert_non_null(copy);
			memcpy(copy, corpus[k].in, len);
			assert_int_equal(smtpc_parse_addresses(copy, len, &list, NULL), 0);
			check_list(list);
			smtpc_address_list_free(list);
			free(copy);
		}
	}
}

static void test_args(void **state)
{
	smtpc_address_list *list = (smtpc_address_list *)&list;
	size_t skipped = 7;

	assert_int_equal(smtpc_parse_addresses(NULL, 0, &list, &skipped), SMTPC_EINVAL);
	assert_null(list);
	assert_int_equal(skipped, 0);
	assert_int_equal(smtpc_parse_addresses("a@b", 3, NULL, &skipped), SMTPC_EINVAL);
	assert_int_equal(smtpc_parse_addresses("a@b", 3, NULL, NULL), SMTPC_EINVAL);
	smtpc_address_list_free(NULL);

	/* len, not strlen: bytes after len are not read */
	assert_int_equal(smtpc_parse_addresses("a@b.com, c@d.com", 7, &list, NULL), 0);
	assert_int_equal(list->n, 1);
	assert_string_equal(list->items[0].address, "a@b.com");
	smtpc_address_list_free(list);
	assert_int_equal(smtpc_parse_addresses("a@b.com", 0, &list, NULL), 0);
	assert_int_equal(list->n, 0);
	assert_null(list->items);
	smtpc_address_list_free(list);
}

/* Builds a string of n copies of unit (plus a tail); returns its length. */
static char *repeat(const char *unit, size_t n, const char *tail, size_t *len)
{
	size_t ul = strlen(unit);
	size_t tl = strlen(tail);
	char *s = malloc(ul * n + tl + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * n, tail, tl + 1);
	*len = ul * n + tl;
	return s;
}

static void test_long_lists(void **state)
{
	size_t len;
	size_t skipped;
	size_t i;
	char *s;
	smtpc_address_list *list;

	/* 100 KB of addresses */
	s = repeat("\"Doe, J.\" <user@example.com>,\r\n ", 3200, "last@example.com", &len);
	assert_true(len > 100000);
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(list->n, 3201);
	for (i = 0; i < 3200; i++) {
		assert_string_equal(list->items[i].name, "Doe, J.");
		assert_string_equal(list->items[i].address, "user@example.com");
	}
	assert_string_equal(list->items[3200].address, "last@example.com");
	smtpc_address_list_free(list);
	free(s);

	/* 100 KB of empty groups: more items than bytes / 3 */
	s = repeat("g:;", 40000, "", &len);
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(list->n, 40000);
	assert_string_equal(list->items[39999].group, "g");
	assert_string_equal(list->items[39999].address, "");
	smtpc_address_list_free(list);
	free(s);

	/* one 100 KB display name, one 100 KB local part */
	s = repeat("x", 100000, "\" <a@b.com>", &len);
	s[0] = '"';
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(list->n, 1);
	assert_int_equal(strlen(list->items[0].name), 99999);
	smtpc_address_list_free(list);
	free(s);
	s = repeat("x.", 50000, "x@b.com", &len);
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(list->n, 1);
	assert_int_equal(strlen(list->items[0].address), len);
	smtpc_address_list_free(list);
	free(s);
}

static void test_deep_comments(void **state)
{
	size_t depth = 100000;
	size_t len = 2 * depth + 1 + 8;
	char *s = malloc(len);
	smtpc_address_list *list;
	size_t skipped;
	size_t i;

	assert_non_null(s);
	memset(s, '(', depth);
	s[depth] = 'x';
	memset(s + depth + 1, ')', depth);
	memcpy(s + 2 * depth + 1, " a@b.com", 8);
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(list->n, 1);
	assert_string_equal(list->items[0].address, "a@b.com");
	assert_int_equal(strlen(list->items[0].name), 2 * depth - 1);
	smtpc_address_list_free(list);

	/* never closed: one skipped element, the rest of the input inside it */
	for (i = depth; i < len; i++)
		s[i] = i % 2 ? ',' : '(';
	assert_int_equal(smtpc_parse_addresses(s, len, &list, &skipped), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(list->n, 0);
	smtpc_address_list_free(list);
	free(s);
}

/*
 * Hostile repetitions, 200 KB each: the work must stay linear (a quadratic
 * parser would take minutes here under the sanitizers, past the test's
 * timeout).
 */
static void test_hostile(void **state)
{
	static const char *const units[] = {
	    "<,",   "<a,", "(,",     "\",",   "[,",   "<@a,",   "a ",     "g:",  "g:h:",
	    ",",    ";",   "<@a,@a", "x <",   ">",    "\\",     "\r\n",   "a@b", ")",
	    "<<",   "a.",  "=?",     "\"a\"", "[a]",  "<a@b> ", "a@b ,",  "(a)", ":;",
	    "<@a:", "@",   "<>,",    "a<b>,", "]",    "\n ",    "\0",     "a@[", "a:b,c;",
	    "<,>,", "<;",  "\"\\\"", "((a)",  "a@b.", "<a@b",   "g:<a,;", "@a,", "\xc3\xa9",
	};
	size_t k;
	size_t len;
	size_t unit_len;
	size_t i;
	char *s;
	smtpc_address_list *list;

	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		unit_len = units[k][0] == '\0' ? 1 : strlen(units[k]);
		len = 200000 / unit_len * unit_len;
		s = malloc(len);
		assert_non_null(s);
		for (i = 0; i < len; i += unit_len)
			memcpy(s + i, units[k], unit_len);
		assert_int_equal(smtpc_parse_addresses(s, len, &list, NULL), 0);
		check_list(list);
		smtpc_address_list_free(list);
		/* also behind a valid element, and inside a group */
		memcpy(s, "x@y, g: ", 8);
		assert_int_equal(smtpc_parse_addresses(s, len, &list, NULL), 0);
		check_list(list);
		smtpc_address_list_free(list);
		free(s);
	}
}

static uint32_t rnd(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

/* Random strings over the bytes that matter: no crash, no leak, invariants. */
static void test_random(void **state)
{
	static const char alphabet[] = "ab.@<>,;:()\"\\[] \t\r\n\0\x01\x7f\xc3\xa9=?";
	uint32_t st = 0x2545f491;
	char buf[64];
	size_t round;
	size_t len;
	size_t i;
	smtpc_address_list *list;
	size_t skipped;

	for (round = 0; round < 100000; round++) {
		len = rnd(&st) % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = alphabet[rnd(&st) % (sizeof(alphabet) - 1)];
		assert_int_equal(smtpc_parse_addresses(buf, len, &list, &skipped), 0);
		check_list(list);
		assert_true(list->n + skipped <= len + 1);
		smtpc_address_list_free(list);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),        cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_args),          cmocka_unit_test(test_long_lists),
	    cmocka_unit_test(test_deep_comments), cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
