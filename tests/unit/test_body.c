/* Unit tests of the message sources (src/body.c): memory, fd, callback, 8-bit, sizes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "body.h"

/* Reads everything the body hands out. */
static char *drain(smtpc__body *b, size_t *len, int *rc)
{
	char *all = NULL;
	const char *p;
	size_t n;

	*len = 0;
	while ((*rc = smtpc__body_next(b, &p, &n)) > 0) {
		char *bigger = realloc(all, *len + n + 1);

		assert_non_null(bigger);
		all = bigger;
		memcpy(all + *len, p, n);
		*len += n;
	}
	return all;
}

static void test_memory_segments(void **state)
{
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body b;
	size_t len;
	int rc;

	(void)state;
	src.data = "body";
	src.len = 4;
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	b.seg[0] = "head:";
	b.seglen[0] = 5;
	char *all = drain(&b, &len, &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(len, 9);
	assert_memory_equal(all, "head:body", 9);
	assert_int_equal(b.consumed, 9);
	free(all);
	smtpc__body_free(&b);
}

static void test_big_memory_in_pieces(void **state)
{
	size_t big = 3 * SMTPC__BODY_CHUNK + 17;
	char *data = malloc(big);
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body b;
	const char *p;
	size_t n, total = 0;

	(void)state;
	memset(data, 'x', big);
	src.data = data;
	src.len = big;
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	while (smtpc__body_next(&b, &p, &n) > 0) {
		assert_true(n <= SMTPC__BODY_CHUNK);
		assert_ptr_equal(p, data + total); /* no copy of the caller's bytes */
		total += n;
	}
	assert_int_equal(total, big);
	smtpc__body_free(&b);
	free(data);
}

static void test_fd(void **state)
{
	char path[] = "/tmp/smtpc-body-XXXXXX";
	int fd = mkstemp(path);
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body b;
	size_t len;
	int rc;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	lseek(fd, 2, SEEK_SET);
	src.fd = fd;
	int64_t size, raw;
	int has_8bit;

	smtpc__source_info(&src, &size, &has_8bit, &raw);
	assert_int_equal(raw, 8);
	assert_int_equal(size, 10); /* "23456789" from the offset, plus the final CRLF */
	assert_int_equal(has_8bit, 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 2); /* read ahead without moving */
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	char *all = drain(&b, &len, &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(len, 8);
	assert_memory_equal(all, "23456789", 8);
	free(all);
	smtpc__body_free(&b);
	close(fd);
}

static void test_pipe_size_unknown(void **state)
{
	int fds[2];
	smtpc_source src = SMTPC_SOURCE_INIT;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	int64_t size, raw;
	int has_8bit;

	src.fd = fds[0];
	smtpc__source_info(&src, &size, &has_8bit, &raw);
	assert_int_equal(size, -1);
	assert_int_equal(has_8bit, -1);
	src.size = 1234;
	smtpc__source_info(&src, &size, &has_8bit, &raw);
	assert_int_equal(size, 1234);
	close(fds[0]);
	close(fds[1]);
}

typedef struct feed {
	const char *text;
	size_t pos;
	int fail_at_end;
} feed;

static long feed_read(void *buf, size_t len, void *user)
{
	feed *f = user;
	size_t left = strlen(f->text) - f->pos;
	size_t n = left < 3 ? left : 3; /* small pieces */

	if (n > len)
		n = len;
	if (n == 0)
		return f->fail_at_end ? -1 : 0;
	memcpy(buf, f->text + f->pos, n);
	f->pos += n;
	return (long)n;
}

static void test_callback(void **state)
{
	feed f = {"hello, world", 0, 0};
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body b;
	size_t len;
	int rc;

	(void)state;
	src.read = feed_read;
	src.read_user = &f;
	int64_t size, raw;
	int has_8bit;

	smtpc__source_info(&src, &size, &has_8bit, &raw);
	assert_int_equal(size, -1);
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	char *all = drain(&b, &len, &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(len, 12);
	assert_memory_equal(all, "hello, world", 12);
	free(all);
	smtpc__body_free(&b);

	/* A failing source is an error, never a short message. */
	feed g = {"abc", 0, 1};

	src.read_user = &g;
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	all = drain(&b, &len, &rc);
	assert_int_equal(rc, SMTPC_EIO);
	free(all);
	smtpc__body_free(&b);
}

static void test_8bit(void **state)
{
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc__body b;
	const char *p;
	size_t n;

	(void)state;
	assert_false(smtpc__has_8bit("plain ascii text, long enough for words", 39));
	assert_true(smtpc__has_8bit("plain ascii text\xc3\xa9", 18));
	for (size_t at = 0; at < 20; at++) {
		char buf[20];

		memset(buf, 'a', sizeof(buf));
		buf[at] = (char)0x80;
		assert_true(smtpc__has_8bit(buf, sizeof(buf)));
	}
	src.data = "caf\xc3\xa9";
	src.len = 5;
	assert_int_equal(smtpc__body_init(&b, &src), 0);
	b.refuse_8bit = 1;
	assert_int_equal(smtpc__body_next(&b, &p, &n), SMTPC_ENOTSUPPORTED);
	smtpc__body_free(&b);
}

static void test_wire_size(void **state)
{
	(void)state;
	assert_int_equal(smtpc__wire_size("", 0), 2);
	assert_int_equal(smtpc__wire_size("a", 1), 3);
	assert_int_equal(smtpc__wire_size("a\r\n", 3), 3);
	assert_int_equal(smtpc__wire_size("a\n", 2), 3);
	assert_int_equal(smtpc__wire_size("a\r", 2), 3);
	assert_int_equal(smtpc__wire_size("a\nb\rc\r\n", 7), 9);
	assert_int_equal(smtpc__wire_size("\r\r\n", 3), 4);
}

/* Byte by byte, as RFC 1870 counts: every line ending becomes CRLF, and a last line gets one. */
static uint64_t reference_wire_size(const char *p, size_t len)
{
	uint64_t size = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue; /* counted with its LF */
		size += p[i] == '\r' || p[i] == '\n' ? 2 : 1;
	}
	if (len == 0 || (p[len - 1] != '\n' && p[len - 1] != '\r'))
		size += 2;
	return size;
}

/*
 * The piecewise counter agrees with the one-piece size and with the byte-by-byte reference at
 * every split of every input.
 */
static void test_wire_counter_splits(void **state)
{
	static const char alphabet[] = "\r\n.a";
	unsigned seed = 7;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		char buf[24];
		size_t len = (size_t)(round % 24);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % 4];
		}
		for (size_t cut = 0; cut <= len; cut++) {
			smtpc__wire w;

			smtpc__wire_init(&w);
			smtpc__wire_add(&w, buf, cut);
			smtpc__wire_add(&w, buf + cut, len - cut);
			assert_int_equal(smtpc__wire_total(&w), smtpc__wire_size(buf, len));
			assert_int_equal(smtpc__wire_total(&w), reference_wire_size(buf, len));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory_segments),
	    cmocka_unit_test(test_big_memory_in_pieces),
	    cmocka_unit_test(test_fd),
	    cmocka_unit_test(test_pipe_size_unknown),
	    cmocka_unit_test(test_callback),
	    cmocka_unit_test(test_8bit),
	    cmocka_unit_test(test_wire_size),
	    cmocka_unit_test(test_wire_counter_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
