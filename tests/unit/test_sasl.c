/*
 * test_sasl.c - the SASL step functions (src/sasl.c, src/sasl_scram.c).
 *
 * Every challenge goes in as the session hands it over: the text of a 334
 * decoded from base64 with smtpc__b64_decode() into a heap block of exactly
 * the decoded size (ASan sees any read beyond it), and every response is
 * checked either byte for byte or as the base64 line the session would send.
 *
 * Vectors: docs/RULES.md P11 (tim / tanstaaftanstaaf for PLAIN,
 * LOGIN and CRAM-MD5, the latter from RFC 2195 2), RFC 5802 5 (SCRAM-SHA-1),
 * RFC 7677 3 (SCRAM-SHA-256), Google's XOAUTH2 protocol page, RFC 7628 4.1
 * and 4.3 (OAUTHBEARER). The SCRAM vector with an authzid, escaped user name
 * and UTF-8 password was computed independently with Python's hashlib.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "sasl.h"
#include "smtpc.h"

/* ------------------------------------------------------------ helpers */

static smtpc__sasl *mk(int mech, const smtpc__sasl_creds *c)
{
	smtpc__sasl *x = NULL;

	assert_int_equal(smtpc__sasl_new(&x, mech, c), 0);
	assert_non_null(x);
	return x;
}

static smtpc__sasl_creds tim(void)
{
	smtpc__sasl_creds c = {0};

	c.user = "tim";
	c.password = "tanstaaftanstaaf";
	return c;
}

static smtpc__sasl_creds pencil(void)
{
	smtpc__sasl_creds c = {0};

	c.user = "user";
	c.password = "pencil";
	return c;
}

/* Raw challenge bytes, copied into a block of exactly len bytes. */
static int step_raw(smtpc__sasl *x, const void *chal, size_t len, unsigned char **out,
                    size_t *outlen)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, chal, len);
	/* An empty challenge arrives as a pointer to nothing. */
	rc = smtpc__sasl_step(x, copy, len, out, outlen);
	free(copy);
	if (rc != 0) {
		assert_null(*out);
		assert_int_equal(*outlen, 0);
	} else {
		assert_non_null(*out);
	}
	return rc;
}

static int step_str(smtpc__sasl *x, const char *chal, unsigned char **out, size_t *outlen)
{
	return step_raw(x, chal, strlen(chal), out, outlen);
}

/* base64 of a response, as the session puts it on the line. */
static char *to_b64(const unsigned char *p, size_t len)
{
	char *s = malloc(SMTPC__B64_LEN(len) + 1);

	assert_non_null(s);
	smtpc__b64_encode(p, len, s);
	return s;
}

/*
 * One 334 round as the session does it: the text of "334 <b64>" decoded,
 * stepped, the response encoded. Returns the step's code; on success
 * checks the response line against want_b64.
 */
static int round_b64(smtpc__sasl *x, const char *chal_b64, const char *want_b64)
{
	size_t len = strlen(chal_b64), n;
	unsigned char *chal = malloc(len / 4 * 3 + 1), *dec, *out = NULL;
	size_t outlen = 0;
	int rc;

	assert_non_null(chal);
	n = smtpc__b64_decode(chal_b64, len, chal);
	assert_true(n != (size_t)-1);
	dec = malloc(n > 0 ? n : 1);
	assert_non_null(dec);
	if (n > 0)
		memcpy(dec, chal, n);
	free(chal);
	rc = smtpc__sasl_step(x, dec, n, &out, &outlen);
	free(dec);
	if (rc == 0) {
		char *line = to_b64(out, outlen);

		assert_string_equal(line, want_b64);
		free(line);
		free(out);
	} else {
		assert_null(out);
	}
	return rc;
}

static void assert_bytes(const unsigned char *got, size_t got_len, const void *want,
                         size_t want_len)
{
	assert_int_equal(got_len, want_len);
	if (want_len > 0)
		assert_memory_equal(got, want, want_len);
}

#define ASSERT_BYTES(got, got_len, lit) assert_bytes(got, got_len, lit, sizeof(lit) - 1)

/* The initial response must exist and equal want (len bytes). */
static void initial_is(smtpc__sasl *x, const void *want, size_t len)
{
	unsigned char *out = NULL;
	size_t outlen = 99;

	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), 1);
	assert_non_null(out);
	assert_bytes(out, outlen, want, len);
	free(out);
}

#define INITIAL_IS(x, lit) initial_is(x, lit, sizeof(lit) - 1)

static void initial_b64(smtpc__sasl *x, const char *want_b64)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	char *line;

	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), 1);
	line = to_b64(out, outlen);
	assert_string_equal(line, want_b64);
	free(line);
	free(out);
}

static void no_initial(smtpc__sasl *x)
{
	unsigned char *out = (unsigned char *)"x";
	size_t outlen = 5;

	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), 0);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

/*
 * The step fails with kind (SMTPC_EPROTO: a malformed challenge or one too many;
 * SMTPC_EAUTH: the server refused or did not prove itself) and the exchange stays failed.
 */
static void step_fails(smtpc__sasl *x, const void *chal, size_t len, int kind)
{
	unsigned char *out = NULL;
	size_t outlen = 0;

	assert_int_equal(step_raw(x, chal, len, &out, &outlen), kind);
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), SMTPC_EAUTH);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
	static const char *const names[] = {"EXTERNAL", "SCRAM-SHA-256", "SCRAM-SHA-1",
	                                    "CRAM-MD5", "PLAIN",         "LOGIN",
	                                    "XOAUTH2",  "OAUTHBEARER"};
	int m;

	(void)state;
	assert_int_equal(SMTPC__SASL_COUNT, 8);
	for (m = 0; m < SMTPC__SASL_COUNT; m++) {
		assert_string_equal(smtpc__sasl_name(m), names[m]);
		assert_int_equal(smtpc__sasl_lookup(names[m]), m);
	}
	assert_int_equal(smtpc__sasl_lookup("scram-sha-256"), SMTPC__SASL_SCRAM_SHA_256);
	assert_int_equal(smtpc__sasl_lookup("Scram-Sha-1"), SMTPC__SASL_SCRAM_SHA_1);
	assert_int_equal(smtpc__sasl_lookup("cram-md5"), SMTPC__SASL_CRAM_MD5);
	assert_int_equal(smtpc__sasl_lookup("xOAuth2"), SMTPC__SASL_XOAUTH2);
	assert_int_equal(smtpc__sasl_lookup("plain"), SMTPC__SASL_PLAIN);
	assert_int_equal(smtpc__sasl_lookup("PLAI"), -1);
	assert_int_equal(smtpc__sasl_lookup("PLAINX"), -1);
	assert_int_equal(smtpc__sasl_lookup("PLAIN "), -1);
	assert_int_equal(smtpc__sasl_lookup("SCRAM-SHA-256-PLUS"), -1);
	assert_int_equal(smtpc__sasl_lookup("DIGEST-MD5"), -1);
	assert_int_equal(smtpc__sasl_lookup(""), -1);
	assert_int_equal(smtpc__sasl_lookup(NULL), -1);
	assert_null(smtpc__sasl_name(-1));
	assert_null(smtpc__sasl_name(SMTPC__SASL_COUNT));
}

/* ------------------------------------------------------------ argument checks */

static void test_new_refuses(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = (smtpc__sasl *)&c;
	int m;

	(void)state;
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_PLAIN, NULL), SMTPC_EINVAL);
	assert_null(x);
	assert_int_equal(smtpc__sasl_new(&x, -1, &c), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_COUNT, &c), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_new(NULL, SMTPC__SASL_PLAIN, &c), SMTPC_EINVAL);

	/* Password mechanisms: user (not empty) and password. */
	for (m = 0; m < SMTPC__SASL_COUNT; m++) {
		if (m != SMTPC__SASL_PLAIN && m != SMTPC__SASL_LOGIN && m != SMTPC__SASL_CRAM_MD5 &&
		    m != SMTPC__SASL_SCRAM_SHA_1 && m != SMTPC__SASL_SCRAM_SHA_256)
			continue;
		c = tim();
		c.user = NULL;
		assert_int_equal(smtpc__sasl_new(&x, m, &c), SMTPC_EINVAL);
		c.user = "";
		assert_int_equal(smtpc__sasl_new(&x, m, &c), SMTPC_EINVAL);
		c = tim();
		c.password = NULL;
		assert_int_equal(smtpc__sasl_new(&x, m, &c), SMTPC_EINVAL);
		assert_null(x);
	}

	/* OAuth: a token of printable ASCII, no blanks; no 0x01 in the names. */
	c = tim();
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_XOAUTH2, &c), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.token = "";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_XOAUTH2, &c), SMTPC_EINVAL);
	c.token = "abc def";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_XOAUTH2, &c), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.token = "abc\001def";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.token = "abc\xc3\xa9";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.token = "ya29.abc";
	c.user = "a\001auth=Bearer evil";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_XOAUTH2, &c), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.user = NULL;
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_XOAUTH2, &c), SMTPC_EINVAL);
	c.user = "u";
	c.host = "mx\001.example";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.host = "";
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.host = "mx.example";
	c.port = -1;
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.port = 65536;
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), SMTPC_EINVAL);
	c.port = 65535;
	assert_int_equal(smtpc__sasl_new(&x, SMTPC__SASL_OAUTHBEARER, &c), 0);
	smtpc__sasl_free(x);
	smtpc__sasl_free(NULL);
}

static void test_misuse(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_PLAIN, &c);
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(smtpc__sasl_step(x, NULL, 3, &out, &outlen), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_step(x, NULL, 0, NULL, &outlen), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_initial(x, NULL, &outlen), SMTPC_EINVAL);
	/* A NULL empty challenge is an empty challenge. */
	assert_int_equal(smtpc__sasl_step(x, NULL, 0, &out, &outlen), 0);
	free(out);
	/* Too late for the initial response. */
	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), SMTPC_EINVAL);
	assert_null(out);
	smtpc__sasl_free(x);

	x = mk(SMTPC__SASL_PLAIN, &c);
	initial_b64(x, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), SMTPC_EINVAL);
	smtpc__sasl_free(x);

	x = mk(SMTPC__SASL_LOGIN, &c);
	no_initial(x);
	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), SMTPC_EINVAL);
	smtpc__sasl_free(x);
}

static void test_challenge_bound(void **state)
{
	smtpc__sasl_creds c = tim();
	size_t big = SMTPC__SASL_MAX_CHALLENGE + 1;
	unsigned char *chal = malloc(big), *out = NULL;
	size_t outlen = 0;
	smtpc__sasl *x;

	(void)state;
	assert_non_null(chal);
	memset(chal, 'A', big);
	x = mk(SMTPC__SASL_LOGIN, &c);
	assert_int_equal(step_raw(x, chal, big, &out, &outlen), SMTPC_EPROTO);
	smtpc__sasl_free(x);
	/* The limit itself is fine. */
	x = mk(SMTPC__SASL_CRAM_MD5, &c);
	assert_int_equal(step_raw(x, chal, big - 1, &out, &outlen), 0);
	assert_int_equal(outlen, 3 + 1 + 32);
	free(out);
	smtpc__sasl_free(x);
	free(chal);
}

/* ------------------------------------------------------------ PLAIN */

static void test_plain_initial(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_PLAIN, &c);

	(void)state;
	/* C: AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm  S: 235 */
	initial_b64(x, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	assert_int_equal(smtpc__sasl_finish(x), 0);
	assert_null(smtpc__sasl_error(x));
	smtpc__sasl_free(x);
}

static void test_plain_no_initial(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_PLAIN, &c);

	(void)state;
	/* C: AUTH PLAIN  S: 334  C: AHRpbQB0YW5zdGFhZnRhbnN0YWFm  S: 235 */
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH); /* nothing sent yet */
	assert_int_equal(round_b64(x, "", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	/* A second 334 is more than PLAIN has to say. */
	assert_int_equal(round_b64(x, "", NULL), SMTPC_EPROTO);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	smtpc__sasl_free(x);

	/* PLAIN's server sends nothing: a non-empty first challenge is wrong. */
	x = mk(SMTPC__SASL_PLAIN, &c);
	step_fails(x, "hello", 5, SMTPC_EPROTO);
	smtpc__sasl_free(x);
}

static void test_plain_initial_not_sent(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_PLAIN, &c);

	(void)state;
	/* The session built the initial response but sent plain "AUTH PLAIN". */
	initial_b64(x, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	assert_int_equal(round_b64(x, "", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), 0);
	assert_int_equal(round_b64(x, "", NULL), SMTPC_EPROTO);
	smtpc__sasl_free(x);

	/* After the initial response went out, any 334 is wrong. */
	x = mk(SMTPC__SASL_PLAIN, &c);
	initial_b64(x, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	step_fails(x, "x", 1, SMTPC_EPROTO);
	smtpc__sasl_free(x);
}

static void test_plain_authzid_utf8(void **state)
{
	smtpc__sasl_creds c = {0};
	smtpc__sasl *x;

	(void)state;
	c.authzid = "admin";
	c.user = "j\xc3\xbcrgen";
	c.password = "p\xc3\xa4ss w0rd";
	x = mk(SMTPC__SASL_PLAIN, &c);
	INITIAL_IS(x, "admin\0j\xc3\xbcrgen\0p\xc3\xa4ss w0rd");
	smtpc__sasl_free(x);

	/* An empty password is still sent (the server decides). */
	c.authzid = NULL;
	c.password = "";
	x = mk(SMTPC__SASL_PLAIN, &c);
	INITIAL_IS(x, "\0j\xc3\xbcrgen\0");
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ LOGIN */

static void test_login(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_LOGIN, &c);

	(void)state;
	/* C: AUTH LOGIN  S: 334 VXNlcm5hbWU6  C: dGlt  S: 334 UGFzc3dvcmQ6
	 * C: dGFuc3RhYWZ0YW5zdGFhZg==  S: 235 */
	no_initial(x);
	assert_int_equal(round_b64(x, "VXNlcm5hbWU6", "dGlt"), 0);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH); /* password not sent yet */
	assert_int_equal(round_b64(x, "UGFzc3dvcmQ6", "dGFuc3RhYWZ0YW5zdGFhZg=="), 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	/* A third prompt: LOGIN has nothing more. */
	assert_int_equal(round_b64(x, "UGFzc3dvcmQ6", NULL), SMTPC_EPROTO);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	smtpc__sasl_free(x);
}

static void test_login_prompts_ignored(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_LOGIN, &c);
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	/* The prompt text is never looked at, not even when it asks for the password first. */
	assert_int_equal(step_str(x, "Password:", &out, &outlen), 0);
	ASSERT_BYTES(out, outlen, "tim");
	free(out);
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), 0);
	ASSERT_BYTES(out, outlen, "tanstaaftanstaaf");
	free(out);
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ CRAM-MD5 */

static void test_cram_md5(void **state)
{
	smtpc__sasl_creds c = tim();
	smtpc__sasl *x = mk(SMTPC__SASL_CRAM_MD5, &c);
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	/* RFC 2195 2 and P11 */
	no_initial(x);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	assert_int_equal(round_b64(x, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
	                           "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
	                 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	assert_int_equal(
	    round_b64(x, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", NULL),
	    SMTPC_EPROTO);
	smtpc__sasl_free(x);

	/* The same, as raw bytes. */
	x = mk(SMTPC__SASL_CRAM_MD5, &c);
	assert_int_equal(step_str(x, "<1896.697170952@postoffice.reston.mci.net>", &out, &outlen),
	                 0);
	ASSERT_BYTES(out, outlen, "tim b913a602c7eda7a495b4e6e7334d3890");
	free(out);
	smtpc__sasl_free(x);

	/* CRAM-MD5 needs a challenge. */
	x = mk(SMTPC__SASL_CRAM_MD5, &c);
	step_fails(x, "", 0, SMTPC_EPROTO);
	smtpc__sasl_free(x);

	/* An empty password is an empty HMAC key (checked with Python's hmac). */
	c.password = "";
	x = mk(SMTPC__SASL_CRAM_MD5, &c);
	assert_int_equal(step_str(x, "<x@y>", &out, &outlen), 0);
	ASSERT_BYTES(out, outlen, "tim 71990acc3a54f7d01feeb843a4e99c22");
	free(out);
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ SCRAM */

#define RFC5802_FIRST  "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define RFC5802_SFIRST "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define RFC5802_FINAL                                                                              \
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define RFC5802_SFINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

#define RFC7677_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC7677_SFIRST                                                                             \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC7677_FINAL                                                                              \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                             \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC7677_SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* A SCRAM exchange with the nonce set, its client-first sent as the initial response. */
static smtpc__sasl *scram_started(int mech, const char *nonce, const char *want_first)
{
	smtpc__sasl_creds c = pencil();
	smtpc__sasl *x = mk(mech, &c);

	assert_int_equal(smtpc__sasl_set_nonce(x, nonce), 0);
	initial_is(x, want_first, strlen(want_first));
	return x;
}

static smtpc__sasl *rfc5802(void)
{
	return scram_started(SMTPC__SASL_SCRAM_SHA_1, "fyko+d2lbbFgONRv9qkxdawL", RFC5802_FIRST);
}

static smtpc__sasl *rfc7677(void)
{
	return scram_started(SMTPC__SASL_SCRAM_SHA_256, "rOprNGfwEbeRWgbNEkqO", RFC7677_FIRST);
}

/* Runs server-first and server-final of a started exchange to a verified end. */
static void scram_finish_ok(smtpc__sasl *x, const char *sfirst, const char *want_final,
                            const char *sfinal)
{
	unsigned char *out = NULL;
	size_t outlen = 0;

	assert_int_equal(step_str(x, sfirst, &out, &outlen), 0);
	assert_bytes(out, outlen, want_final, strlen(want_final));
	free(out);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH); /* not verified yet */
	assert_int_equal(step_str(x, sfinal, &out, &outlen), 0);
	assert_int_equal(outlen, 0); /* SMTP needs a line: an empty one */
	free(out);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	/* Nothing more to say after the server-final. */
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), SMTPC_EPROTO);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
}

static void test_scram_sha1_rfc5802(void **state)
{
	smtpc__sasl *x = rfc5802();

	(void)state;
	scram_finish_ok(x, RFC5802_SFIRST, RFC5802_FINAL, RFC5802_SFINAL);
	smtpc__sasl_free(x);
}

static void test_scram_sha256_rfc7677(void **state)
{
	smtpc__sasl *x = rfc7677();

	(void)state;
	scram_finish_ok(x, RFC7677_SFIRST, RFC7677_FINAL, RFC7677_SFINAL);
	smtpc__sasl_free(x);
}

/* The same exchange as the session runs it: base64 lines both ways. */
static void test_scram_sha256_b64(void **state)
{
	smtpc__sasl_creds c = pencil();
	smtpc__sasl *x = mk(SMTPC__SASL_SCRAM_SHA_256, &c);
	char *sfirst = to_b64((const unsigned char *)RFC7677_SFIRST, strlen(RFC7677_SFIRST));
	char *final = to_b64((const unsigned char *)RFC7677_FINAL, strlen(RFC7677_FINAL));
	char *sfinal = to_b64((const unsigned char *)RFC7677_SFINAL, strlen(RFC7677_SFINAL));

	(void)state;
	assert_int_equal(smtpc__sasl_set_nonce(x, "rOprNGfwEbeRWgbNEkqO"), 0);
	/* No initial response: C: AUTH SCRAM-SHA-256  S: 334 */
	assert_int_equal(round_b64(x, "", "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="), 0);
	assert_int_equal(round_b64(x, sfirst, final), 0);
	assert_int_equal(round_b64(x, sfinal, ""), 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	free(sfirst);
	free(final);
	free(sfinal);
	smtpc__sasl_free(x);
}

/* An authzid, a user name that needs escaping and a UTF-8 password (Python-computed). */
static void test_scram_escaping(void **state)
{
	smtpc__sasl_creds c = {0};
	smtpc__sasl *x;
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	c.user = "a=b,c";
	c.password = "p\xc3\xa4ss";
	c.authzid = "ad,min";
	x = mk(SMTPC__SASL_SCRAM_SHA_256, &c);
	assert_int_equal(smtpc__sasl_set_nonce(x, "abc"), 0);
	INITIAL_IS(x, "n,a=ad=2Cmin,n=a=3Db=2Cc,r=abc");
	assert_int_equal(step_str(x, "r=abcdef,s=c2FsdA==,i=1", &out, &outlen), 0);
	ASSERT_BYTES(out, outlen,
	             "c=bixhPWFkPTJDbWluLA==,r=abcdef,"
	             "p=uep/e+J4s2+yrlsIt1z8C08Srea7gR5S1ei7bhAiscI=");
	free(out);
	assert_int_equal(
	    step_str(x, "v=zbOJbD0vG8DacQ4EyKMpPI03O/t1KlPwNuPTKLvcCjg=", &out, &outlen), 0);
	free(out);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	smtpc__sasl_free(x);
}

static void test_scram_random_nonce(void **state)
{
	smtpc__sasl_creds c = pencil();
	smtpc__sasl *x = mk(SMTPC__SASL_SCRAM_SHA_1, &c);
	smtpc__sasl *y = mk(SMTPC__SASL_SCRAM_SHA_1, &c);
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0, i;

	(void)state;
	assert_int_equal(smtpc__sasl_initial(x, &a, &alen), 1);
	assert_int_equal(smtpc__sasl_initial(y, &b, &blen), 1);
	/* "n,,n=user,r=" and 24 random bytes as 32 base64 characters. */
	assert_int_equal(alen, 12 + 32);
	assert_int_equal(blen, 12 + 32);
	assert_memory_equal(a, "n,,n=user,r=", 12);
	for (i = 12; i < alen; i++)
		assert_true(a[i] > 0x20 && a[i] < 0x7f && a[i] != ',' && a[i] != '=');
	assert_memory_not_equal(a + 12, b + 12, 32);
	free(a);
	free(b);
	/* The nonce is fixed once the first message exists. */
	assert_int_equal(smtpc__sasl_set_nonce(x, "abc"), SMTPC_EINVAL);
	smtpc__sasl_free(x);
	smtpc__sasl_free(y);
}

static void test_scram_set_nonce(void **state)
{
	smtpc__sasl_creds c = pencil();
	smtpc__sasl *x = mk(SMTPC__SASL_SCRAM_SHA_256, &c);
	char big[SMTPC__SASL_MAX_NONCE + 2];

	(void)state;
	assert_int_equal(smtpc__sasl_set_nonce(x, ""), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_set_nonce(x, "a,b"), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_set_nonce(x, "a b"), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_set_nonce(x, "a\x7f"), SMTPC_EINVAL);
	assert_int_equal(smtpc__sasl_set_nonce(x, NULL), SMTPC_EINVAL);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(smtpc__sasl_set_nonce(x, big), SMTPC_EINVAL);
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(smtpc__sasl_set_nonce(x, big), 0);
	smtpc__sasl_free(x);

	c = tim();
	x = mk(SMTPC__SASL_PLAIN, &c);
	assert_int_equal(smtpc__sasl_set_nonce(x, "abc"), SMTPC_EINVAL);
	smtpc__sasl_free(x);
}

/* The client-first repeated when the session did not send the initial response. */
static void test_scram_initial_not_sent(void **state)
{
	smtpc__sasl *x = rfc5802();
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), 0);
	ASSERT_BYTES(out, outlen, RFC5802_FIRST);
	free(out);
	scram_finish_ok(x, RFC5802_SFIRST, RFC5802_FINAL, RFC5802_SFINAL);
	smtpc__sasl_free(x);

	/* Only once: an empty server-first is wrong. */
	x = rfc5802();
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), 0);
	free(out);
	step_fails(x, "", 0, SMTPC_EPROTO);
	smtpc__sasl_free(x);

	/* A non-empty first challenge without client-first is wrong. */
	{
		smtpc__sasl_creds c = pencil();

		x = mk(SMTPC__SASL_SCRAM_SHA_1, &c);
		step_fails(x, RFC5802_SFIRST, strlen(RFC5802_SFIRST), SMTPC_EPROTO);
		smtpc__sasl_free(x);
	}
}

static void test_scram_bad_server_first(void **state)
{
	static const char *const bad[] = {
	    /* nonce not extending ours */
	    "r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfc\x7fNHYJ,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfc NHYJ,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfc\xc3\xa9,s=QSXCR+Q6sek8bf92,i=4096",
	    /* iteration counts */
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=0",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=04096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=-1",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=+4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096x",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i= 4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=1000001",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4294967297",
	    ("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
	     "i=99999999999999999999999999999999999999999"),
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,",
	    /* salts */
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR*Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s====,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXC R+Q6sek8bf92,i=4096",
	    /* order, mandatory extensions, garbage */
	    "s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096,s=QSXCR+Q6sek8bf92",
	    "m=foo,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	    ",r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	    "R=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096x=1",
	    "hello",
	    "r",
	    "=",
	    ",,,",
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtpc__sasl *x = rfc5802();

		print_message("bad server-first %zu\n", i);
		step_fails(x, bad[i], strlen(bad[i]), SMTPC_EPROTO);
		smtpc__sasl_free(x);
	}
	/* Empty, and a NUL inside. */
	{
		static const char nul[] = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+"
		                          "Q6sek8bf92,i=4096,x=a\0b";
		smtpc__sasl *x = rfc5802();
		unsigned char *out = NULL;
		size_t outlen = 0;

		/* The first empty challenge repeats client-first; the next is bad. */
		assert_int_equal(step_raw(x, "", 0, &out, &outlen), 0);
		free(out);
		step_fails(x, "", 0, SMTPC_EPROTO);
		smtpc__sasl_free(x);
		x = rfc5802();
		step_fails(x, nul, sizeof(nul) - 1, SMTPC_EPROTO);
		smtpc__sasl_free(x);
	}
}

static void test_scram_server_first_accepts(void **state)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	smtpc__sasl *x;

	(void)state;
	/* Extensions after the iteration count are ignored (but are in the AuthMessage). */
	x = rfc5802();
	assert_int_equal(step_str(x, RFC5802_SFIRST ",x=ext", &out, &outlen), 0);
	assert_memory_equal(out, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=", 54);
	/* The proof covers the extension: it differs from the RFC's. */
	assert_int_not_equal(memcmp(out, RFC5802_FINAL, outlen), 0);
	free(out);
	/* ... so the RFC's server signature does not verify here. */
	step_fails(x, RFC5802_SFINAL, strlen(RFC5802_SFINAL), SMTPC_EAUTH);
	smtpc__sasl_free(x);

	/* The highest iteration count accepted. */
	x = rfc5802();
	assert_int_equal(
	    step_str(x, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=1000000",
	             &out, &outlen),
	    0);
	free(out);
	smtpc__sasl_free(x);
}

/* A server nonce as long as a challenge may be: bounded work, no overflow. */
static void test_scram_long_nonce(void **state)
{
	static const char head[] = "r=fyko+d2lbbFgONRv9qkxdawL";
	static const char tail[] = ",s=QSXCR+Q6sek8bf92,i=1";
	size_t len = SMTPC__SASL_MAX_CHALLENGE,
	       fill = len - (sizeof(head) - 1) - (sizeof(tail) - 1);
	char *m = malloc(len);
	unsigned char *out = NULL;
	size_t outlen = 0;
	smtpc__sasl *x;

	(void)state;
	assert_non_null(m);
	memcpy(m, head, sizeof(head) - 1);
	memset(m + sizeof(head) - 1, 'Z', fill);
	memcpy(m + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	x = rfc5802();
	assert_int_equal(step_raw(x, m, len, &out, &outlen), 0);
	/* "c=biws,r=" nonce ",p=" 28 base64 characters */
	assert_int_equal(outlen, 9 + (sizeof(head) - 3) + fill + 3 + 28);
	free(out);
	smtpc__sasl_free(x);
	free(m);
}

/* Every prefix of a good server-first: parsed within bounds, 0 or SMTPC_EPROTO. */
static void test_scram_server_first_prefixes(void **state)
{
	size_t len = strlen(RFC5802_SFIRST), i;

	(void)state;
	for (i = 1; i <= len; i++) {
		smtpc__sasl *x = rfc5802();
		unsigned char *out = NULL;
		size_t outlen = 0;
		int rc = step_raw(x, RFC5802_SFIRST, i, &out, &outlen);

		/* Only cutting digits off "i=4096" still leaves a valid message. */
		if (i >= len - 3)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, SMTPC_EPROTO);
		free(out);
		smtpc__sasl_free(x);
	}
}

static void test_scram_bad_server_final(void **state)
{
	static const char *const bad[] = {
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ",  /* no padding */
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKA=", /* one bit off: SMTPC_EAUTH (does not verify) */
	    "v=smF9pqV8S7suAoZWja4dJRkFsKQ=", /* SMTPC_EAUTH too; the others are malformed */
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=rmF9",
	    "v=rmF9pqV8S7suAoZWja4dJRkFsK==",
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ*",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", /* SHA-256's, wrong length */
	    "v=",
	    "v",
	    "V=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	    " v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	    "x=1,v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	    "garbage",
	    "",
	};
	unsigned char *out = NULL;
	size_t outlen = 0, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtpc__sasl *x = rfc5802();

		print_message("bad server-final %zu\n", i);
		assert_int_equal(step_str(x, RFC5802_SFIRST, &out, &outlen), 0);
		free(out);
		step_fails(x, bad[i], strlen(bad[i]),
		           i == 1 || i == 2 ? SMTPC_EAUTH : SMTPC_EPROTO);
		assert_null(smtpc__sasl_error(x));
		smtpc__sasl_free(x);
	}

	/* Every tampered byte of a good server-final. */
	for (i = 2; i < strlen(RFC5802_SFINAL) - 1; i++) {
		char m[] = RFC5802_SFINAL;
		smtpc__sasl *x = rfc5802();

		m[i] = m[i] == 'A' ? 'B' : 'A';
		assert_int_equal(step_str(x, RFC5802_SFIRST, &out, &outlen), 0);
		free(out);
		step_fails(x, m, strlen(m), SMTPC_EAUTH);
		smtpc__sasl_free(x);
	}

	/* Extensions after the verifier are ignored. */
	{
		smtpc__sasl *x = rfc5802();

		scram_finish_ok(x, RFC5802_SFIRST, RFC5802_FINAL, RFC5802_SFINAL ",x=1");
		smtpc__sasl_free(x);
	}
}

static void test_scram_server_error(void **state)
{
	smtpc__sasl *x = rfc7677();
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(step_str(x, RFC7677_SFIRST, &out, &outlen), 0);
	free(out);
	step_fails(x, "e=invalid-proof", 15, SMTPC_EAUTH);
	assert_string_equal(smtpc__sasl_error(x), "invalid-proof");
	smtpc__sasl_free(x);

	/* An error instead of the server-first, with control characters in it. */
	x = rfc7677();
	step_fails(x, "e=unknown-user\r\n\033[2J,x", 22, SMTPC_EAUTH);
	assert_string_equal(smtpc__sasl_error(x), "unknown-user  ?[2J");
	smtpc__sasl_free(x);
}

/* A 235 straight after client-final (or earlier) proves nothing. */
static void test_scram_unverified_success(void **state)
{
	smtpc__sasl *x = rfc5802();
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	smtpc__sasl_free(x);
	x = rfc5802();
	assert_int_equal(step_str(x, RFC5802_SFIRST, &out, &outlen), 0);
	free(out);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ XOAUTH2 */

#define GOOGLE_XOAUTH2_B64                                                                         \
	"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhk" \
	"SFJoZG1semRHRXVZMjl0Q2cBAQ=="

static smtpc__sasl *google(void)
{
	smtpc__sasl_creds c = {0};

	c.user = "someuser@example.com";
	c.token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
	return mk(SMTPC__SASL_XOAUTH2, &c);
}

static void test_xoauth2(void **state)
{
	smtpc__sasl *x = google();

	(void)state;
	INITIAL_IS(x, "user=someuser@example.com\001auth=Bearer "
	              "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001");
	assert_int_equal(smtpc__sasl_finish(x), 0);
	assert_null(smtpc__sasl_error(x));
	smtpc__sasl_free(x);

	/* The same, as the base64 line of Google's page. */
	x = google();
	initial_b64(x, GOOGLE_XOAUTH2_B64);
	smtpc__sasl_free(x);

	/* Without an initial response: C: AUTH XOAUTH2  S: 334 */
	x = google();
	assert_int_equal(round_b64(x, "", GOOGLE_XOAUTH2_B64), 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	smtpc__sasl_free(x);
}

static void test_xoauth2_error(void **state)
{
	smtpc__sasl *x = google();

	(void)state;
	/* S: 334 <base64 JSON>  C: (empty line)  S: 535 */
	initial_b64(x, GOOGLE_XOAUTH2_B64);
	assert_int_equal(
	    round_b64(x,
	              "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoi"
	              "aHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K",
	              ""),
	    0);
	assert_string_equal(smtpc__sasl_error(x), "{\"status\":\"401\",\"schemes\":\"bearer mac\","
	                                          "\"scope\":\"https://mail.google.com/\"} ");
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	/* Another 334: bounded. */
	assert_int_equal(round_b64(x, "e30=", NULL), SMTPC_EPROTO);
	smtpc__sasl_free(x);

	/* A non-empty first challenge without the initial response is wrong. */
	x = google();
	step_fails(x, "{}", 2, SMTPC_EPROTO);
	assert_null(smtpc__sasl_error(x));
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ OAUTHBEARER */

static void test_oauthbearer_rfc7628(void **state)
{
	smtpc__sasl_creds c = {0};
	smtpc__sasl *x;
	unsigned char *out = NULL;
	size_t outlen = 0;
	static const char err[] =
	    "{\"status\":\"invalid_token\",\"scope\":\"example_scope\",\"openid-configuration\":"
	    "\"https://example.com/.well-known/openid-configuration\"}";

	(void)state;
	/* RFC 7628 4.1 */
	c.user = "user@example.com";
	c.host = "server.example.com";
	c.port = 143;
	c.token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	INITIAL_IS(x, "n,a=user@example.com,\001host=server.example.com\001port=143\001"
	              "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001");
	assert_int_equal(smtpc__sasl_finish(x), 0);
	smtpc__sasl_free(x);

	/* RFC 7628 4.3: the error, answered with a lone 0x01. */
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	assert_int_equal(smtpc__sasl_initial(x, &out, &outlen), 1);
	free(out);
	assert_int_equal(step_raw(x, err, sizeof(err) - 1, &out, &outlen), 0);
	ASSERT_BYTES(out, outlen, "\001");
	free(out);
	assert_string_equal(smtpc__sasl_error(x), err);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	step_fails(x, "{}", 2, SMTPC_EPROTO);
	smtpc__sasl_free(x);
}

static void test_oauthbearer_variants(void **state)
{
	smtpc__sasl_creds c = {0};
	smtpc__sasl *x;
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	/* No name, host nor port. */
	c.token = "mF_9.B5f-4.1JqM";
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	INITIAL_IS(x, "n,,\001auth=Bearer mF_9.B5f-4.1JqM\001\001");
	smtpc__sasl_free(x);

	/* The authzid wins over the user name and is escaped; port alone. */
	c.user = "ignored";
	c.authzid = "a=b,c";
	c.port = 587;
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	INITIAL_IS(x, "n,a=a=3Db=2Cc,\001port=587\001auth=Bearer mF_9.B5f-4.1JqM\001\001");
	smtpc__sasl_free(x);

	/* Host alone; no initial response, then the empty 334. */
	c.authzid = NULL;
	c.user = "user";
	c.port = 0;
	c.host = "127.0.0.1";
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	assert_int_equal(step_raw(x, "", 0, &out, &outlen), 0);
	ASSERT_BYTES(out, outlen,
	             "n,a=user,\001host=127.0.0.1\001auth=Bearer mF_9.B5f-4.1JqM\001\001");
	free(out);
	smtpc__sasl_free(x);

	/* Port digits at the edges. */
	c.host = NULL;
	c.port = 1;
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	INITIAL_IS(x, "n,a=user,\001port=1\001auth=Bearer mF_9.B5f-4.1JqM\001\001");
	smtpc__sasl_free(x);
	c.port = 65535;
	x = mk(SMTPC__SASL_OAUTHBEARER, &c);
	INITIAL_IS(x, "n,a=user,\001port=65535\001auth=Bearer mF_9.B5f-4.1JqM\001\001");
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ EXTERNAL */

static void test_external(void **state)
{
	smtpc__sasl_creds c = {0};
	smtpc__sasl *x = mk(SMTPC__SASL_EXTERNAL, &c);
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	/* C: AUTH EXTERNAL =  S: 235 */
	INITIAL_IS(x, "");
	assert_int_equal(smtpc__sasl_finish(x), 0);
	/* A 334 anyway: an empty answer, once. */
	assert_int_equal(step_str(x, "what?", &out, &outlen), 0);
	assert_int_equal(outlen, 0);
	free(out);
	step_fails(x, "", 0, SMTPC_EPROTO);
	smtpc__sasl_free(x);

	c.authzid = "postmaster@example.org";
	x = mk(SMTPC__SASL_EXTERNAL, &c);
	INITIAL_IS(x, "postmaster@example.org");
	assert_int_equal(step_str(x, "x", &out, &outlen), 0);
	assert_int_equal(outlen, 0);
	free(out);
	smtpc__sasl_free(x);

	/* Without an initial response: C: AUTH EXTERNAL  S: 334  C: <authzid> */
	x = mk(SMTPC__SASL_EXTERNAL, &c);
	assert_int_equal(smtpc__sasl_finish(x), SMTPC_EAUTH);
	assert_int_equal(round_b64(x, "", "cG9zdG1hc3RlckBleGFtcGxlLm9yZw=="), 0);
	assert_int_equal(smtpc__sasl_finish(x), 0);
	smtpc__sasl_free(x);
}

/* ------------------------------------------------------------ all of them */

/* A hostile server answering every response with yet another 334 is stopped. */
static void test_endless_334(void **state)
{
	smtpc__sasl_creds c = tim();
	int m;

	(void)state;
	c.token = "tok";
	for (m = 0; m < SMTPC__SASL_COUNT; m++) {
		smtpc__sasl *x = mk(m, &c);
		unsigned char *out = NULL;
		size_t outlen = 0;
		int rounds = 0, rc;

		if (smtpc__sasl_initial(x, &out, &outlen) == 1)
			free(out);
		for (;;) {
			rc = step_str(x, "<1.2@x>", &out, &outlen);
			if (rc != 0)
				break;
			free(out);
			rounds++;
			assert_true(rounds <= 3);
		}
		assert_int_equal(rc, SMTPC_EPROTO);
		smtpc__sasl_free(x);
	}
}

/* One table: every mechanism listed once, found by its name in any case, in login()'s order. */
static void test_mechanism_table(void **state)
{
	static const char *const over_tls[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN",
	                                       "CRAM-MD5"};
	static const char *const in_clear[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN",
	                                       "LOGIN"};
	int order[SMTPC__SASL_COUNT];
	smtpc_sasl_needs needs;
	const char *name;
	size_t i, n;

	(void)state;
	for (i = 0; (name = smtpc_sasl_mechanism(i, &needs)) != NULL; i++) {
		char lower[32];
		size_t k;

		assert_int_equal(smtpc__sasl_lookup(name), (int)i);
		for (k = 0; name[k] != '\0' && k + 1 < sizeof(lower); k++)
			lower[k] =
			    (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
		lower[k] = '\0';
		assert_int_equal(smtpc__sasl_lookup(lower), (int)i);
		assert_int_equal(needs, strcmp(name, "EXTERNAL") == 0 ? SMTPC_SASL_NEEDS_NOTHING
		                        : strstr(name, "OAUTH") != NULL
		                            ? SMTPC_SASL_NEEDS_TOKEN
		                            : SMTPC_SASL_NEEDS_PASSWORD);
		/* A 535 may mean "no stored secret" only where the server keeps one. */
		assert_int_equal(smtpc__sasl_stored_secret((int)i),
		                 strncmp(name, "SCRAM", 5) == 0 || strcmp(name, "CRAM-MD5") == 0);
	}
	assert_int_equal(i, SMTPC__SASL_COUNT);
	assert_null(smtpc_sasl_mechanism(i, NULL));
	n = smtpc__sasl_login_order(1, order);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(smtpc__sasl_name(order[i]), over_tls[i]);
	n = smtpc__sasl_login_order(0, order);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(smtpc__sasl_name(order[i]), in_clear[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_new_refuses),
	    cmocka_unit_test(test_misuse),
	    cmocka_unit_test(test_challenge_bound),
	    cmocka_unit_test(test_plain_initial),
	    cmocka_unit_test(test_plain_no_initial),
	    cmocka_unit_test(test_plain_initial_not_sent),
	    cmocka_unit_test(test_plain_authzid_utf8),
	    cmocka_unit_test(test_login),
	    cmocka_unit_test(test_login_prompts_ignored),
	    cmocka_unit_test(test_cram_md5),
	    cmocka_unit_test(test_scram_sha1_rfc5802),
	    cmocka_unit_test(test_scram_sha256_rfc7677),
	    cmocka_unit_test(test_scram_sha256_b64),
	    cmocka_unit_test(test_scram_escaping),
	    cmocka_unit_test(test_scram_random_nonce),
	    cmocka_unit_test(test_scram_set_nonce),
	    cmocka_unit_test(test_scram_initial_not_sent),
	    cmocka_unit_test(test_scram_bad_server_first),
	    cmocka_unit_test(test_scram_server_first_accepts),
	    cmocka_unit_test(test_scram_long_nonce),
	    cmocka_unit_test(test_scram_server_first_prefixes),
	    cmocka_unit_test(test_scram_bad_server_final),
	    cmocka_unit_test(test_scram_server_error),
	    cmocka_unit_test(test_scram_unverified_success),
	    cmocka_unit_test(test_xoauth2),
	    cmocka_unit_test(test_xoauth2_error),
	    cmocka_unit_test(test_oauthbearer_rfc7628),
	    cmocka_unit_test(test_oauthbearer_variants),
	    cmocka_unit_test(test_external),
	    cmocka_unit_test(test_endless_334),
	    cmocka_unit_test(test_mechanism_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
