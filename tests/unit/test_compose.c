/*
 * test_compose.c - the message builder (src/mime.c) and its encoders
 * (src/mimeenc.c): quoted-printable, base64 lines, encoded words, RFC 2231
 * parameters, boundaries, line lengths, sizes, rewind, and that no input
 * can add a header line. Properties run over seeded random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64.h"
#include "mime.h"
#include "mimeenc.h"

static uint32_t rnd_state = 2026;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random UTF-8: ASCII letters, blanks, "=", "?", line breaks (when allowed), 2-4 byte chars. */
static size_t random_text(char *out, size_t max, int breaks)
{
	static const char *const PIECES[] = {"a", "Z", " ", "=", "?", "=?", "é", "€", "😀",
	                                     ".", "-", "--=_smtpc_", "\t", "\n", "\r\n", "\r"};
	size_t n = 0, npieces = breaks ? 16 : 12;

	for (;;) {
		const char *p = PIECES[rnd() % npieces];
		size_t len = strlen(p);

		if (rnd() % 50 == 0 && n + 120 < max) { /* now and then a long word */
			size_t w = 100 + rnd() % 20;

			memset(out + n, 'w', w);
			n += w;
			continue;
		}
		if (n + len + 1 > max)
			break;
		memcpy(out + n, p, len);
		n += len;
	}
	out[n] = '\0';
	return n;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* A strict decoder for the test: quoted-printable with CRLF lines of at most 76 characters. */
static size_t qp_decode(const char *in, size_t len, char *out)
{
	size_t i = 0, n = 0, col = 0;

	while (i < len) {
		if (in[i] == '\r') {
			assert_int_equal(in[i + 1], '\n');
			out[n++] = '\r';
			out[n++] = '\n';
			i += 2;
			col = 0;
			continue;
		}
		assert_true(++col <= 76);
		if (in[i] == '=' && in[i + 1] == '\r') {
			assert_int_equal(in[i + 2], '\n');
			i += 3;
			col = 0;
		} else if (in[i] == '=') {
			assert_true(col + 2 <= 76);
			out[n++] = (char)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
			i += 3;
			col += 2;
		} else {
			assert_true(in[i] != '\n' && (unsigned char)in[i] < 0x7f);
			/* no blank before a line break */
			assert_false((in[i] == ' ' || in[i] == '\t') && (i + 1 == len || in[i + 1] == '\r'));
			out[n++] = in[i++];
		}
	}
	return n;
}

/* The text with every line ending made CRLF. */
static size_t crlf(const char *in, size_t len, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
		} else {
			out[n++] = in[i];
		}
	}
	return n;
}

static void test_qp_vectors(void **state)
{
	smtpc__buf b = {0};
	char line[200];

	(void)state;
	smtpc__qp_encode(&b, "a=b\ntrail \nt\t", 13);
	assert_string_equal(b.p, "a=3Db\r\ntrail=20\r\nt=09");
	smtpc__buf_free(&b);
	memset(line, 'x', 80);
	smtpc__qp_encode(&b, line, 80);
	assert_string_equal(b.p + 75, "=\r\nxxxxx"); /* 75 characters and the "=" */
	smtpc__buf_free(&b);
	memset(line, 'x', 76);
	smtpc__qp_encode(&b, line, 76); /* a last line may use all 76 columns */
	assert_int_equal(b.len, 76);
	smtpc__buf_free(&b);
	memset(line, 'x', 74);
	memcpy(line + 74, "\xc3\xa9", 2);
	smtpc__qp_encode(&b, line, 76); /* "=C3" does not fit: broken before it, not inside */
	assert_string_equal(b.p + 74, "=\r\n=C3=A9");
	smtpc__buf_free(&b);
}

static void test_qp_property(void **state)
{
	static char text[3000], want[6000], got[6000];
	int round;

	(void)state;
	for (round = 0; round < 500; round++) {
		size_t len = random_text(text, 1 + rnd() % sizeof(text), 1), n;
		smtpc__buf b = {0};

		smtpc__qp_encode(&b, text, len);
		assert_false(b.oom);
		n = qp_decode(b.p ? b.p : "", b.len, got);
		assert_int_equal(n, crlf(text, len, want));
		assert_memory_equal(got, want, n);
		smtpc__buf_free(&b);
	}
}

static void test_b64_lines(void **state)
{
	static unsigned char in[600];
	static char out[1000], joined[1000];
	unsigned char dec[800];
	size_t len;

	(void)state;
	for (len = 0; len < sizeof(in); len++) {
		int first = 1;
		size_t n, i, j = 0, col = 0;

		in[len] = (unsigned char)rnd();
		n = smtpc__b64_lines(in, len, out, &first);
		assert_int_equal(n, smtpc__b64_lines_size(len));
		assert_true(n <= smtpc__b64_lines_room(len));
		for (i = 0; i < n; i++) {
			if (out[i] == '\r') {
				assert_int_equal(out[++i], '\n');
				assert_int_equal(col, 76); /* every line but the last is full */
				col = 0;
				continue;
			}
			assert_true(++col <= 76);
			joined[j++] = out[i];
		}
		assert_int_equal(smtpc__b64_decode(joined, j, dec), len);
		assert_memory_equal(dec, in, len);
	}
}

/* Checks encoded words: each at most 75 characters, whole UTF-8 characters, joined = text. */
static void check_words(const char *enc, const char *text, size_t room)
{
	char got[4000];
	size_t n = 0, line = 76 - room;
	const char *p = enc;

	while (*p) {
		const char *end;
		unsigned char dec[200];
		size_t k;

		if (p[0] == '\r') {
			assert_memory_equal(p, "\r\n ", 3);
			p += 3;
			line = 1;
			continue;
		}
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		end = strstr(p + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - p <= 75);
		line += (size_t)(end + 2 - p);
		assert_true(line <= 76);
		k = smtpc__b64_decode(p + 10, (size_t)(end - p - 10), dec);
		assert_true(k != (size_t)-1);
		assert_true(smtpc__utf8_valid((char *)dec, k));
		memcpy(got + n, dec, k);
		n += k;
		p = end + 2;
	}
	assert_int_equal(n, strlen(text));
	assert_memory_equal(got, text, n);
}

static void test_words_property(void **state)
{
	static char text[1500];
	int round;

	(void)state;
	for (round = 0; round < 500; round++) {
		size_t len = random_text(text, 1 + rnd() % sizeof(text), 0);
		size_t room = 10 + rnd() % 67;
		smtpc__buf b = {0};

		smtpc__mime_words(&b, text, len, room);
		check_words(b.p ? b.p : "", text, room);
		smtpc__buf_free(&b);
	}
}

static void test_param(void **state)
{
	smtpc__buf b = {0};
	const char *name = "r\xc3\xa9sum\xc3\xa9 \"2026\".pdf";
	char got[300];
	size_t n = 0;
	const char *p;

	(void)state;
	smtpc__mime_param(&b, "filename", "a \"b\" \\c.txt");
	assert_string_equal(b.p, ";\r\n filename=\"a \\\"b\\\" \\\\c.txt\"");
	smtpc__buf_free(&b);
	smtpc__mime_param(&b, "filename", name);
	assert_non_null(strstr(b.p, "filename*0*=utf-8''r%C3%A9sum%C3%A9%20%222026%22.pdf"));
	smtpc__buf_free(&b);
	/* A long name: sections of at most 60 characters, never cut inside a %XX. */
	smtpc__mime_param(&b, "filename",
	                  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	for (p = strstr(b.p, "*="); p != NULL; p = strstr(p, "*=")) {
		const char *v = p + 2, *e;

		if (strncmp(v, "utf-8''", 7) == 0)
			v += 7;
		e = strstr(v, ";\r\n");
		e = e ? e : v + strlen(v);
		assert_true(e - v <= 60);
		for (; v < e; v += 3) {
			assert_int_equal(*v, '%');
			got[n++] = (char)(hexval(v[1]) << 4 | hexval(v[2]));
		}
		p = e;
	}
	assert_int_equal(n, 36);
	assert_memory_equal(got, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
	assert_non_null(strstr(b.p, "filename*1*="));
	smtpc__buf_free(&b);
}

static void test_unstructured(void **state)
{
	static char v[1300];
	smtpc__buf b = {0};
	const char *p;

	(void)state;
	smtpc__buf_str(&b, "Subject: ");
	for (size_t i = 0; i < 60; i++)
		memcpy(v + 5 * i, "word ", 5);
	v[299] = '\0'; /* no blank at the end */
	smtpc__mime_unstructured(&b, v, 0);
	for (p = b.p; (p = strstr(p, "\r\n")) != NULL; p += 2)
		assert_int_equal(p[2], ' '); /* folded before a blank */
	assert_null(strstr(b.p, "=?"));
	smtpc__buf_free(&b);
	/* A word too long for a 998-octet line, after others: all encoded from the start. */
	memcpy(v, "a b ", 4);
	memset(v + 4, 'x', 1200);
	v[1204] = '\0';
	smtpc__buf_str(&b, "Subject: ");
	smtpc__mime_unstructured(&b, v, 0);
	assert_memory_equal(b.p, "Subject: =?UTF-8?B?", 19);
	smtpc__buf_free(&b);
	/* Raw UTF-8 only with SMTPUTF8. */
	smtpc__mime_unstructured(&b, "Gr\xc3\xbc\xc3\x9f""e", 1);
	assert_string_equal(b.p, "Gr\xc3\xbc\xc3\x9f""e");
	smtpc__buf_free(&b);
	smtpc__mime_phrase(&b, "Doe, \"J\"", 0);
	assert_string_equal(b.p, "\"Doe, \\\"J\\\"\"");
	smtpc__buf_free(&b);
}

/* ---------------------------------------------------------------- whole messages */

static char *read_message(const smtpc_source *src, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = malloc(cap);
	long r;

	for (;;) {
		if (cap - n < 1024) {
			cap *= 2;
			p = realloc(p, cap);
			assert_non_null(p);
		}
		r = src->read(p + n, 1 + rnd() % 1000, src->read_user);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r < 0) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

static smtpc_mime *new_message(void)
{
	smtpc_mime *m = smtpc_mime_new();
	smtpc_address from = {"", "a@example.com", NULL};

	assert_non_null(m);
	assert_int_equal(smtpc_mime_set_from(m, &from), 0);
	return m;
}

/* Every line ends in CRLF and is at most 998 octets; returns the number of lines. */
static size_t check_lines(const char *msg, size_t len)
{
	size_t i, col = 0, lines = 0;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\n')
			fail_msg("bare LF at %zu", i);
		if (msg[i] == '\r') {
			assert_int_equal(msg[i + 1], '\n');
			i++;
			col = 0;
			lines++;
			continue;
		}
		assert_true(++col <= 998);
	}
	return lines;
}

/* Lines of msg equal to "--" b or "--" b "--". */
static size_t delimiters(const char *msg, const char *b)
{
	size_t n = 0, blen = strlen(b);
	const char *p = msg;

	while ((p = strstr(p, b)) != NULL) {
		if (p - msg >= 4 && memcmp(p - 4, "\r\n--", 4) == 0 &&
		    (memcmp(p + blen, "\r\n", 2) == 0 || memcmp(p + blen, "--\r\n", 4) == 0))
			n++;
		p += blen;
	}
	return n;
}

/* A random source that repeats two candidates, so boundaries collide with the content. */
static void two_candidates(unsigned char *buf, size_t len, void *user)
{
	int *calls = user;

	memset(buf, (*calls)++ % 2 == 0 ? 0x00 : 0x11, len);
	if (*calls > 2)
		memset(buf, 0x20 + *calls, len);
}

static void test_boundaries_avoid_content(void **state)
{
	static char text[4000];
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		smtpc_mime *m = new_message();
		smtpc_mime_part part = SMTPC_MIME_PART_INIT;
		smtpc_source src;
		int calls = 0;
		size_t len = random_text(text, sizeof(text) / 2, 1), mlen;
		char *msg;
		const char *p;

		/* Both first candidates in the text, at line starts. */
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "\n--=_smtpc_000000000000000000000000\n"
		                        "--=_smtpc_111111111111111111111111--\n");
		smtpc__mime_set_random(m, two_candidates, &calls);
		assert_int_equal(smtpc_mime_set_8bit(m, 1), 0); /* the text as it is: 8bit */
		assert_int_equal(smtpc_mime_set_text(m, text, len), 0);
		assert_int_equal(smtpc_mime_set_html(m, text, len), 0);
		part.source.data = text;
		part.source.len = len;
		assert_int_equal(smtpc_mime_attach(m, &part), 0);
		assert_int_equal(smtpc_mime_source(m, &src), 0);
		msg = read_message(&src, &mlen);
		assert_non_null(msg);
		check_lines(msg, mlen);
		/* mixed (2 parts) and alternative (2 parts): 3 delimiter lines each. */
		for (p = strstr(msg, "boundary=\""); p != NULL; p = strstr(p + 1, "boundary=\"")) {
			char b[64];
			size_t blen = strcspn(p + 10, "\"");

			assert_true(blen < sizeof(b));
			memcpy(b, p + 10, blen);
			b[blen] = '\0';
			assert_int_equal(delimiters(msg, b), 3);
			assert_null(strstr(text, b));
		}
		free(msg);
		smtpc_mime_free(m);
	}
}

static void test_lines_size_rewind(void **state)
{
	static char text[5000], subject[1500];
	int round;

	(void)state;
	for (round = 0; round < 100; round++) {
		smtpc_mime *m = new_message();
		smtpc_mime_part part = SMTPC_MIME_PART_INIT;
		smtpc_address to = {subject, "b@example.org", NULL};
		smtpc_source src;
		size_t len = random_text(text, 1 + rnd() % sizeof(text), 1), l1, l2;
		char *one, *two;

		random_text(subject, 1 + rnd() % 1000, 0); /* file names: at most 1000 */
		assert_int_equal(smtpc_mime_set_8bit(m, (int)(rnd() % 2)), 0);
		assert_int_equal(smtpc_mime_set_subject(m, subject), 0);
		assert_int_equal(smtpc_mime_add_to(m, &to), 0);
		assert_int_equal(smtpc_mime_add_header(m, "X-Random", subject), 0);
		assert_int_equal(smtpc_mime_set_text(m, text, len), 0);
		part.source.data = text;
		part.source.len = len;
		part.filename = subject;
		assert_int_equal(smtpc_mime_attach(m, &part), 0);
		assert_int_equal(smtpc_mime_source(m, &src), 0);
		one = read_message(&src, &l1);
		assert_int_equal(smtpc_mime_rewind(m), 0);
		two = read_message(&src, &l2);
		assert_non_null(one);
		assert_non_null(two);
		check_lines(one, l1);
		assert_int_equal(src.size, (int64_t)l1);
		assert_int_equal(l1, l2);
		assert_memory_equal(one, two, l1);
		free(one);
		free(two);
		smtpc_mime_free(m);
	}
}

/* The names of the header fields of the message, in order, ", "-separated. */
static void header_names(const char *msg, char *out, size_t room)
{
	const char *p = msg;

	out[0] = '\0';
	while (*p && !(p[0] == '\r' && p[1] == '\n')) {
		const char *end = strstr(p, "\r\n");

		assert_non_null(end);
		if (*p != ' ' && *p != '\t') {
			strncat(out, p, (size_t)(strchr(p, ':') - p));
			strncat(out, ",", room - strlen(out) - 1);
		}
		p = end + 2;
	}
}

/* Any value with a CR or LF is refused; without, the header fields stay the same. */
static void test_no_header_injection(void **state)
{
	static char value[400];
	int round;

	(void)state;
	for (round = 0; round < 1000; round++) {
		smtpc_mime *m = new_message();
		smtpc_mime_part part = SMTPC_MIME_PART_INIT;
		smtpc_address to = {value, "b@example.org", NULL};
		size_t len = random_text(value, 1 + rnd() % 300, 0), mlen;
		int where = (int)(rnd() % 4), bad = rnd() % 2, rc;
		smtpc_source src;
		char names[300], *msg;

		if (bad) {
			static const char *const BREAKS[] = {"\r\n", "\n", "\r", "\r\nBcc: x@y\r\n",
			                                     "\0"};

			const char *b = BREAKS[rnd() % 4];
			size_t at = rnd() % (len + 1);

			memmove(value + at + strlen(b), value + at, len - at + 1);
			memcpy(value + at, b, strlen(b));
		}
		part.source.data = "x";
		part.source.len = 1;
		part.filename = where == 2 ? value : "f";
		rc = where == 0   ? smtpc_mime_set_subject(m, value)
		     : where == 1 ? smtpc_mime_add_header(m, "X-Value", value)
		     : where == 2 ? smtpc_mime_attach(m, &part)
		                  : smtpc_mime_add_to(m, &to);
		if (bad) {
			assert_int_equal(rc, SMTPC_EINVAL);
			smtpc_mime_free(m);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(smtpc_mime_source(m, &src), 0);
		msg = read_message(&src, &mlen);
		header_names(msg, names, sizeof(names));
		/* An empty text (Content-Transfer-Encoding), or the attachment in a multipart. */
		assert_string_equal(names, where == 0 ? "From,Subject,Date,Message-ID,MIME-Version,"
		                                        "Content-Type,Content-Transfer-Encoding,"
		                           : where == 1 ? "From,Date,Message-ID,X-Value,MIME-Version,"
		                                          "Content-Type,Content-Transfer-Encoding,"
		                           : where == 2 ? "From,Date,Message-ID,MIME-Version,Content-Type,"
		                                        : "From,To,Date,Message-ID,MIME-Version,"
		                                          "Content-Type,Content-Transfer-Encoding,");
		free(msg);
		smtpc_mime_free(m);
	}
}

static void test_refusals(void **state)
{
	smtpc_mime *m = smtpc_mime_new();
	smtpc_mime_part part = SMTPC_MIME_PART_INIT;
	smtpc_address bad[] = {{"", "a@b>, c@d", NULL}, {"", "", NULL}, {"", "a@b", "group"},
	                       {"x\ny", "a@b", NULL},   {"", "<a@b>", NULL}};
	smtpc_source src;
	size_t i;

	(void)state;
	assert_int_equal(smtpc_mime_source(m, &src), SMTPC_EINVAL); /* no From */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(smtpc_mime_add_to(m, &bad[i]), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_add_header(m, "Content-Type", "x/y"), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_add_header(m, "bcc", "x@y"), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_add_header(m, "A B", "v"), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_add_header(m, "A:B", "v"), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_add_header(m, "Date", "d\xc3\xa9"), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_set_subject(m, "\xc3"), SMTPC_EINVAL); /* not UTF-8 */
	assert_int_equal(smtpc_mime_set_text(m, "a\0b", 3), SMTPC_EINVAL);
	part.source.data = "x";
	part.source.len = 1;
	part.type = "message/rfc822";
	assert_int_equal(smtpc_mime_attach(m, &part), SMTPC_EINVAL);
	part.type = "text/plain;charset=x";
	assert_int_equal(smtpc_mime_attach(m, &part), SMTPC_EINVAL);
	part.type = NULL;
	part.content_id = "no-at-sign";
	assert_int_equal(smtpc_mime_attach(m, &part), SMTPC_EINVAL);
	part.content_id = NULL;
	part.source.fd = 0; /* data and fd both */
	assert_int_equal(smtpc_mime_attach(m, &part), SMTPC_EINVAL);
	assert_int_equal(smtpc_mime_rewind(m), SMTPC_EINVAL); /* not finished */
	assert_int_equal(smtpc_mime_set_from(m, &(smtpc_address){"", "j\xc3\xb6@x", NULL}), 0);
	assert_int_equal(smtpc_mime_source(m, &src), SMTPC_EINVAL); /* non-ASCII without utf8 */
	assert_int_equal(smtpc_mime_set_utf8(m, 1), 0);
	assert_int_equal(smtpc_mime_source(m, &src), 0);
	assert_int_equal(smtpc_mime_set_subject(m, "late"), SMTPC_EINVAL);
	smtpc_mime_free(m);
}

static long once(void *buf, size_t len, void *user)
{
	int *done = user;

	if (*done || len < 3)
		return 0;
	*done = 1;
	memcpy(buf, "abc", 3);
	return 3;
}

/* A one-pass callback cannot be read twice; a file that changes size fails the read. */
static void test_one_pass_and_changed_size(void **state)
{
	smtpc_mime *m = new_message();
	smtpc_mime_part part = SMTPC_MIME_PART_INIT;
	char path[] = "/tmp/test_compose.XXXXXX";
	int done = 0, fd = mkstemp(path);
	smtpc_source src;
	size_t len;
	char *msg;

	(void)state;
	part.source.read = once;
	part.source.read_user = &done;
	assert_int_equal(smtpc_mime_attach(m, &part), 0);
	assert_int_equal(smtpc_mime_source(m, &src), 0);
	assert_int_equal(src.size, -1); /* the callback's size is unknown */
	msg = read_message(&src, &len);
	assert_non_null(strstr(msg, "YWJj"));
	free(msg);
	assert_int_equal(smtpc_mime_rewind(m), SMTPC_EINVAL);
	smtpc_mime_free(m);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2); /* read from its offset when attached */
	m = new_message();
	part = (smtpc_mime_part)SMTPC_MIME_PART_INIT;
	part.source.fd = fd;
	assert_int_equal(smtpc_mime_attach(m, &part), 0);
	assert_int_equal(smtpc_mime_source(m, &src), 0);
	msg = read_message(&src, &len);
	assert_non_null(strstr(msg, "\r\n\r\nMjM0NTY3ODk=\r\n")); /* base64 of "23456789" */
	assert_int_equal(src.size, (int64_t)len);
	free(msg);
	assert_int_equal(ftruncate(fd, 5), 0);
	assert_int_equal(smtpc_mime_rewind(m), 0);
	assert_null(read_message(&src, &len));
	assert_non_null(strstr(smtpc_mime_error(m), "changed size"));
	smtpc_mime_free(m);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qp_vectors),
	    cmocka_unit_test(test_qp_property),
	    cmocka_unit_test(test_b64_lines),
	    cmocka_unit_test(test_words_property),
	    cmocka_unit_test(test_param),
	    cmocka_unit_test(test_unstructured),
	    cmocka_unit_test(test_boundaries_avoid_content),
	    cmocka_unit_test(test_lines_size_rewind),
	    cmocka_unit_test(test_no_header_injection),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_one_pass_and_changed_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
