/* Unit tests of the transaction plan (src/plan.c): parameters and lines from offers and options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "plan.h"

static const char *const one_rcpt[] = {"c@d.example"};

/* A message to one recipient, 7-bit, 100 bytes. */
static smtpc__plan_in message(const smtpc_send_options *o)
{
	smtpc__plan_in in = {"a@b.example", one_rcpt, 1, o, 100, 98, 0, 0};

	return in;
}

/* Everything a modern server offers. */
static smtpc__offer full_offer(void)
{
	smtpc__offer f = {0};

	f.esmtp = f.pipelining = f.chunking = f.binarymime = f.eightbitmime = 1;
	f.smtputf8 = f.dsn = f.size = 1;
	return f;
}

/* Line k of the plan, without its CRLF (checked). */
static char *line(const smtpc__plan *p, size_t k)
{
	static char buf[512];

	assert_true(k < p->nlines);
	assert_true(p->lens[k] >= 2 && p->lens[k] < sizeof(buf));
	assert_memory_equal(p->lines[k] + p->lens[k] - 2, "\r\n", 2);
	memcpy(buf, p->lines[k], p->lens[k] - 2);
	buf[p->lens[k] - 2] = '\0';
	return buf;
}

static void test_helo_server(void **state)
{
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = {0};
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	in.has_8bit = 1;
	o.eight_bit = SMTPC_8BIT_SEND;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_int_equal(p.nlines, 3);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example>");
	assert_string_equal(line(&p, 1), "RCPT TO:<c@d.example>");
	assert_string_equal(line(&p, 2), "DATA");
	assert_false(p.pipelined);
	assert_false(p.bdat);
	smtpc__plan_free(&p);
}

static void test_full_offer(void **state)
{
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_true(p.pipelined);
	assert_true(p.bdat);
	assert_int_equal(p.nlines, 2); /* BDAT: no DATA line */
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example> SIZE=100");
	smtpc__plan_free(&p);

	/* 8-bit, or unknown content, asks for 8BITMIME; switched off, DATA and lock-step. */
	in.has_8bit = -1;
	o.no_chunking = o.no_pipelining = 1;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_false(p.pipelined);
	assert_false(p.bdat);
	assert_int_equal(p.nlines, 3);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME");
	smtpc__plan_free(&p);
}

static void test_size_limit(void **state)
{
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	f.size_limit = 100;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0); /* exactly the limit */
	smtpc__plan_free(&p);
	in.size = 101;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), SMTPC_EDATA);
	assert_true(p.too_big);
	assert_string_equal(p.command, "MAIL");
	assert_non_null(strstr(p.why, "101"));
	assert_int_equal(p.nlines, 0);
	smtpc__plan_free(&p);
	/* Unknown size: no SIZE=, nothing refused. */
	in.size = -1;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example>");
	smtpc__plan_free(&p);
}

static void test_utf8(void **state)
{
	static const char *const caller[] = {"SMTPUTF8"};
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	in.want_utf8 = 1;
	in.from = "j\xc3\xb6rg@b.example";
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0),
	                    "MAIL FROM:<j\xc3\xb6rg@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8");
	smtpc__plan_free(&p);
	/* The caller's own SMTPUTF8 is not sent twice. */
	o.mail_options = caller;
	o.nmail_options = 1;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0),
	                    "MAIL FROM:<j\xc3\xb6rg@b.example> SIZE=100 SMTPUTF8 BODY=8BITMIME");
	smtpc__plan_free(&p);
	f.smtputf8 = 0;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), SMTPC_ENOTSUPPORTED);
	assert_string_equal(p.command, "MAIL");
	smtpc__plan_free(&p);
}

static void test_dsn(void **state)
{
	static const char *const two[] = {"c@d.example", "e@f.example"};
	static const unsigned per_rcpt[] = {0, SMTPC_DSN_NEVER};
	static const char *const orcpt[] = {"x+y=z@d.example", NULL};
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	in.to = two;
	in.nto = 2;
	o.dsn_ret = SMTPC_DSN_RET_HDRS;
	o.dsn_envid = "a+b=c d";
	o.dsn_notify = SMTPC_DSN_SUCCESS | SMTPC_DSN_FAILURE;
	o.dsn_notify_rcpt = per_rcpt;
	o.dsn_orcpt = orcpt;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0),
	                    "MAIL FROM:<a@b.example> SIZE=100 RET=HDRS ENVID=a+2Bb+3Dc+20d");
	assert_string_equal(
	    line(&p, 1),
	    "RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By+3Dz@d.example");
	assert_string_equal(line(&p, 2), "RCPT TO:<e@f.example> NOTIFY=NEVER");
	smtpc__plan_free(&p);
	f.dsn = 0;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), SMTPC_ENOTSUPPORTED);
	smtpc__plan_free(&p);
}

static void test_eight_bit_policy(void **state)
{
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	f.eightbitmime = 0;
	in.has_8bit = 1;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), SMTPC_ENOTSUPPORTED);
	smtpc__plan_free(&p);
	/* Unknown content: decided while streaming. */
	in.has_8bit = -1;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_true(p.refuse_8bit);
	smtpc__plan_free(&p);
	o.eight_bit = SMTPC_8BIT_SEND;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_false(p.refuse_8bit);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example> SIZE=100");
	smtpc__plan_free(&p);
}

static void test_caller_parameters_win(void **state)
{
	static const char *const mine[] = {"SIZE=5", "BODY=7BIT"};
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	in.has_8bit = 1;
	o.mail_options = mine;
	o.nmail_options = 2;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example> SIZE=5 BODY=7BIT");
	smtpc__plan_free(&p);
	/* A HELO server gets no parameter at all, the caller's neither. */
	memset(&f, 0, sizeof(f));
	o.eight_bit = SMTPC_8BIT_SEND;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example>");
	smtpc__plan_free(&p);
}

static void test_binarymime(void **state)
{
	smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
	smtpc__offer f = full_offer();
	smtpc__plan_in in = message(&o);
	smtpc__plan p;

	(void)state;
	o.binarymime = 1;
	o.no_chunking = 1; /* BINARYMIME needs BDAT whatever no_chunking says */
	assert_int_equal(smtpc__plan_make(&f, &in, &p), 0);
	assert_true(p.bdat);
	/* SIZE= counts the bytes as they are: no line ending is converted. */
	assert_string_equal(line(&p, 0), "MAIL FROM:<a@b.example> SIZE=98 BODY=BINARYMIME");
	smtpc__plan_free(&p);
	f.binarymime = 0;
	assert_int_equal(smtpc__plan_make(&f, &in, &p), SMTPC_ENOTSUPPORTED);
	smtpc__plan_free(&p);
}

/* Over random offers and options: well-formed lines, one per command, no keyword twice. */
static void test_property(void **state)
{
	static const char *const rcpts[] = {"r1@x.example", "r2@x.example", "r3@x.example"};
	static const char *const mopts[] = {"SIZE=1", "BODY=8BITMIME", "SMTPUTF8", "MT-PRIORITY=3"};
	unsigned seed = 11;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		smtpc_send_options o = SMTPC_SEND_OPTIONS_INIT;
		smtpc__offer f = {0};
		smtpc__plan_in in = message(&o);
		smtpc__plan p;
		unsigned r;
		int rc;

		seed = seed * 1103515245u + 12345u;
		r = seed >> 8;
		f.esmtp = r & 1;
		f.pipelining = f.esmtp && (r >> 1 & 1);
		f.chunking = f.esmtp && (r >> 2 & 1);
		f.binarymime = f.esmtp && (r >> 3 & 1);
		f.eightbitmime = f.esmtp && (r >> 4 & 1);
		f.smtputf8 = f.esmtp && (r >> 5 & 1);
		f.dsn = f.esmtp && (r >> 6 & 1);
		f.size = f.esmtp && (r >> 7 & 1);
		f.size_limit = (r >> 8 & 1) ? 150 : 0;
		in.nto = 1 + (r >> 9) % 3;
		in.to = rcpts;
		in.size = (r >> 11 & 1) ? 200 : 100;
		in.has_8bit = (int)((r >> 12) % 3) - 1;
		in.want_utf8 = r >> 14 & 1;
		o.binarymime = r >> 15 & 1;
		o.dsn_ret = (r >> 16 & 1) ? SMTPC_DSN_RET_FULL : SMTPC_DSN_RET_DEFAULT;
		o.mail_options = mopts + ((r >> 17) % 4);
		o.nmail_options = (r >> 19) % 2;
		if (o.binarymime && o.nmail_options > 0 &&
		    strncmp(o.mail_options[0], "BODY", 4) == 0)
			continue; /* BODY twice is refused before the plan (check_envelope) */
		rc = smtpc__plan_make(&f, &in, &p);
		if (rc != 0) {
			assert_non_null(p.command);
			assert_true(p.why[0] != '\0');
			smtpc__plan_free(&p);
			continue;
		}
		assert_int_equal(p.nlines, in.nto + 1 + !p.bdat);
		for (size_t k = 0; k < p.nlines; k++) {
			char *l = line(&p, k), *tok, *save = NULL;
			char seen[8][32];
			size_t nseen = 0;

			assert_null(strpbrk(l, "\r\n"));
			if (!f.esmtp) /* the verb and its path, nothing more */
				assert_true(strchr(l, ' ') == NULL ||
				            strchr(strchr(l, ' ') + 1, ' ') == NULL);
			strtok_r(l, " ", &save);    /* the verb */
			strtok_r(NULL, " ", &save); /* FROM:<...> / TO:<...> */
			while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
				size_t kl = strcspn(tok, "=");

				for (size_t i = 0; i < nseen; i++)
					assert_false(strlen(seen[i]) == kl &&
					             strncasecmp(seen[i], tok, kl) == 0);
				assert_true(nseen < 8 && kl < sizeof(seen[0]));
				memcpy(seen[nseen], tok, kl);
				seen[nseen++][kl] = '\0';
			}
		}
		smtpc__plan_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helo_server),
	    cmocka_unit_test(test_full_offer),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_dsn),
	    cmocka_unit_test(test_eight_bit_policy),
	    cmocka_unit_test(test_caller_parameters_win),
	    cmocka_unit_test(test_binarymime),
	    cmocka_unit_test(test_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
