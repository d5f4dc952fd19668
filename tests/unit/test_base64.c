/*
 * test_base64.c - smtpc__b64_encode() and the strict smtpc__b64_decode()
 * (src/base64.c). Buffers are heap blocks of exactly the documented size so
 * that ASan catches any write or read beyond them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

#define BAD ((size_t)-1)

static char *encode(const void *in, size_t len, size_t *outlen)
{
	void *copy = malloc(len ? len : 1);
	char *out = malloc(SMTPC__B64_LEN(len) + 1);

	assert_non_null(copy);
	assert_non_null(out);
	if (len > 0)
		memcpy(copy, in, len);
	*outlen = smtpc__b64_encode(copy, len, out);
	assert_int_equal(*outlen, SMTPC__B64_LEN(len));
	assert_int_equal(out[*outlen], '\0');
	free(copy);
	return out;
}

/* Decodes s (not NUL-terminated in a heap copy) into len / 4 * 3 bytes. */
static size_t decode(const char *s, size_t len, unsigned char **out)
{
	char *copy = malloc(len ? len : 1);
	size_t room = len / 4 * 3;
	size_t n;

	*out = malloc(room > 0 ? room : 1);
	assert_non_null(copy);
	assert_non_null(*out);
	if (len > 0)
		memcpy(copy, s, len);
	n = smtpc__b64_decode(copy, len, *out);
	free(copy);
	return n;
}

static void check_vector(const char *plain, const char *b64)
{
	size_t n;
	char *e = encode(plain, strlen(plain), &n);
	unsigned char *d;

	assert_string_equal(e, b64);
	free(e);
	n = decode(b64, strlen(b64), &d);
	assert_int_equal(n, strlen(plain));
	assert_memory_equal(d, plain, n);
	free(d);
}

/* RFC 4648 section 10 */
static void test_rfc4648_vectors(void **state)
{
	(void)state;
	check_vector("", "");
	check_vector("f", "Zg==");
	check_vector("fo", "Zm8=");
	check_vector("foo", "Zm9v");
	check_vector("foob", "Zm9vYg==");
	check_vector("fooba", "Zm9vYmE=");
	check_vector("foobar", "Zm9vYmFy");
}

static void test_all_bytes(void **state)
{
	unsigned char in[256];
	unsigned char *d;
	size_t i, n;
	char *e;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	e = encode(in, 256, &n);
	assert_memory_equal(e, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss", 60);
	assert_string_equal(e + n - 8, "/P3+/w==");
	n = decode(e, n, &d);
	assert_int_equal(n, 256);
	assert_memory_equal(d, in, 256);
	free(d);
	free(e);
	check_vector("\xfb\xff", "+/8=");
}

static void expect_bad(const char *s)
{
	unsigned char *d;
	size_t n = decode(s, strlen(s), &d);

	if (n != BAD)
		print_error("\"%s\" decoded to %zu bytes\n", s, n);
	assert_int_equal(n, BAD);
	free(d);
}

static void test_decode_strict(void **state)
{
	(void)state;
	/* length not a multiple of 4, missing padding */
	expect_bad("Z");
	expect_bad("Zg");
	expect_bad("Zg=");
	expect_bad("Zm9vY");
	expect_bad("Zm9vYg");
	expect_bad("Zm9vYmE");
	/* padding in the wrong place */
	expect_bad("====");
	expect_bad("Z===");
	expect_bad("=Zg=");
	expect_bad("Z=g=");
	expect_bad("Zg=a");
	expect_bad("Zg==Zg==");
	expect_bad("Zm8=Zm9v");
	expect_bad("Zm9v====");
	/* outside the alphabet */
	expect_bad("Zm9v\n");
	expect_bad("Zm9v\r\nZm9v");
	expect_bad("Zm 9v");
	expect_bad(" Zm9v   ");
	expect_bad("Zm9-");
	expect_bad("Zm9_");
	expect_bad("Zm9.");
	expect_bad("Zm9\x80");
	expect_bad("Zm9\xff");
	expect_bad("Zg=\xff");
	expect_bad("Zm9v*AAA");
}

static void test_decode_edge(void **state)
{
	unsigned char *d;
	size_t n;
	unsigned char out[3];

	(void)state;
	/* empty input: 0 bytes, nothing written */
	n = smtpc__b64_decode("", 0, out);
	assert_int_equal(n, 0);
	/* Non-zero bits before the padding carry no data and are ignored. */
	n = decode("Zh==", 4, &d);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 'f');
	free(d);
	n = decode("Zm9=", 4, &d);
	assert_int_equal(n, 2);
	assert_memory_equal(d, "fo", 2);
	free(d);
	/* embedded NUL is not the end */
	n = decode("AA\0A", 4, &d);
	assert_int_equal(n, BAD);
	free(d);
	n = decode("AAAA", 4, &d);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "\0\0\0", 3);
	free(d);
}

/* Round trips of every length up to 300, pseudo-random bytes. */
static void test_round_trip(void **state)
{
	unsigned char in[300];
	uint32_t x = 2463534242u;
	size_t len, i;

	(void)state;
	for (len = 0; len <= sizeof(in); len++) {
		unsigned char *d;
		size_t n;
		char *e;

		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			in[i] = (unsigned char)x;
		}
		e = encode(in, len, &n);
		for (i = 0; i < n; i++)
			assert_non_null(
			    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			           "0123456789+/=",
			           e[i]));
		n = decode(e, n, &d);
		assert_int_equal(n, len);
		if (len > 0)
			assert_memory_equal(d, in, len);
		free(d);
		/* One byte changed to a bad character: always refused. */
		if (len > 0) {
			size_t elen = strlen(e);

			e[(size_t)x % elen] = '!';
			n = decode(e, elen, &d);
			assert_int_equal(n, BAD);
			free(d);
		}
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_all_bytes),
	    cmocka_unit_test(test_decode_strict),   cmocka_unit_test(test_decode_edge),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
