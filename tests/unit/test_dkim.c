/*
 * test_dkim.c - DKIM canonicalisation and signing (src/dkim_canon.c,
 * src/dkim.c).
 *
 * The canonical forms against RFC 6376 3.4.6 and our own vectors, the body
 * fed whole, one byte per call and split at every point; the body hashes of
 * empty bodies; what the signature field looks like (tags, folding, h=);
 * every input that could inject a tag refused. The signatures themselves
 * are checked by independent verifiers in tests/dkim/verify.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "smtpc.h"

struct buf {
	char p[8192];
	size_t len;
};

static void collect(const char *p, size_t n, void *user)
{
	struct buf *b = user;

	assert_true(b->len + n <= sizeof(b->p));
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The body's canonical form, the input given in pieces of at most `step` bytes (0: whole). */
static void canon_body(const char *in, size_t len, int relaxed, size_t step, struct buf *out)
{
	smtpc__dkim_body b;

	out->len = 0;
	smtpc__dkim_body_init(&b, relaxed, collect, out);
	for (size_t i = 0; i < len; i += step ? step : len)
		smtpc__dkim_body_update(&b, in + i, step && len - i > step ? step : len - i);
	smtpc__dkim_body_finish(&b);
}

/* Whole, byte by byte and split at every point: all must give `want`. */
static void check_body(const char *in, int relaxed, const char *want)
{
	size_t len = strlen(in);
	struct buf out;
	smtpc__dkim_body b;

	canon_body(in, len, relaxed, 0, &out);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.p, want, out.len);
	canon_body(in, len, relaxed, 1, &out);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.p, want, out.len);
	for (size_t cut = 0; cut <= len; cut++) {
		out.len = 0;
		smtpc__dkim_body_init(&b, relaxed, collect, &out);
		smtpc__dkim_body_update(&b, in, cut);
		smtpc__dkim_body_update(&b, in + cut, len - cut);
		smtpc__dkim_body_finish(&b);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.p, want, out.len);
	}
}

static void check_header(const char *in, int relaxed, const char *want)
{
	char out[256];
	size_t n = smtpc__dkim_canon_header(in, strlen(in), relaxed, out);

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

/* RFC 6376 3.4.6: the example, header and body, both canonicalisations. */
static void test_rfc_example(void **state)
{
	static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";

	(void)state;
	check_header("A: X", 1, "a:X");
	check_header("B : Y\t\r\n\tZ  ", 1, "b:Y Z");
	check_header("A: X", 0, "A: X");
	check_header("B : Y\t\r\n\tZ  ", 0, "B : Y\t\r\n\tZ  ");
	check_body(body, 1, " C\r\nD E\r\n");
	check_body(body, 0, " C \r\nD \t E\r\n");
}

static void test_relaxed_header(void **state)
{
	(void)state;
	check_header("SUBJECT:   a:  b ", 1, "subject:a: b");
	check_header("To:\r\n  x@y,\r\n\t z@w", 1, "to:x@y, z@w");
	check_header("X-Empty:", 1, "x-empty:");
	check_header("X-Empty:  \t ", 1, "x-empty:");
	check_header("Subject: caf\xc3\xa9", 1, "subject:caf\xc3\xa9");
}

/* Empty bodies (3.4.3, 3.4.4): simple is one CRLF, relaxed nothing. */
static void test_empty_bodies(void **state)
{
	(void)state;
	check_body("", 0, "\r\n");
	check_body("", 1, "");
	check_body("\r\n\r\n\n\r", 0, "\r\n");
	check_body("\r\n  \r\n\t\r\n", 1, "");
	check_body("  \r\n", 0, "  \r\n");
}

/* Lines end as the DATA encoder ends them: CRLF, bare LF, bare CR; "\r\r\n" is two. */
static void test_line_endings(void **state)
{
	(void)state;
	check_body("a\nb\rc\r\nd", 0, "a\r\nb\r\nc\r\nd\r\n");
	check_body("a\r\r\nb", 0, "a\r\n\r\nb\r\n");
	check_body("a\n\n\n", 0, "a\r\n");
	check_body("a \t\n\n b  c \r", 1, "a\r\n\r\n b c\r\n");
	check_body(".\r\n..\r\n", 0, ".\r\n..\r\n");
	check_body("x\n\r\n\r", 1, "x\r\n");
}

/* A long run of blank lines is held, then written when text follows. */
static void test_many_blank_lines(void **state)
{
	static char in[3000];
	struct buf out;

	(void)state;
	memset(in, '\n', sizeof(in) - 2);
	in[sizeof(in) - 2] = 'z';
	canon_body(in, sizeof(in) - 1, 0, 7, &out);
	assert_int_equal(out.len, 2 * (sizeof(in) - 2) + 3);
	assert_memory_equal(out.p + out.len - 3, "z\r\n", 3);
}

/* ---------------------------------------------------------------- signing */

static smtpc_dkim_key *keygen(const char *type, size_t bits)
{
	EVP_PKEY *pk =
	    bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) : EVP_PKEY_Q_keygen(NULL, NULL, type);
	BIO *bio = BIO_new(BIO_s_mem());
	smtpc_dkim_key *key = NULL;
	char *pem;
	long len;

	assert_non_null(pk);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(smtpc_dkim_key_load(pem, (size_t)len, &key),
	                 bits && bits < 1024 ? SMTPC_EINVAL : 0);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return key;
}

static int sign_mem(const smtpc_dkim_key *key, const smtpc_dkim_options *o, const char *msg,
                    smtpc_dkim_signed **sig)
{
	smtpc_source src = SMTPC_SOURCE_INIT;

	src.data = msg;
	src.len = strlen(msg);
	return smtpc_dkim_sign(key, o, &src, sig);
}

/* The field unfolded: a fold after a tag's ';' stands for the space between tags. */
static void unfold(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 1 < cap; in++) {
		if (strncmp(in, "\r\n\t", 3) == 0) {
			if (o > 0 && out[o - 1] == ';')
				out[o++] = ' ';
			in += 2;
			continue;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
}

static void test_signature_field(void **state)
{
	smtpc_dkim_key *key = keygen("RSA", 2048);
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_dkim_signed *sig;
	const char *msg = "From: a@example.org\r\nTo: b@x\nTo: c@y\r\nSubject: s\r\n"
	                  "X-Other: o\r\n\r\n";
	char flat[2048];
	const char *h, *line;
	size_t len;

	(void)state;
	o.domain = "example.org";
	o.selector = "sel-2026";
	o.timestamp = 1700000000;
	o.expire = 3600;
	o.identity = "news@mail.example.org";
	assert_int_equal(sign_mem(key, &o, msg, &sig), 0);
	h = smtpc_dkim_header(sig, &len);
	assert_int_equal(strlen(h), len);
	assert_memory_equal(h + len - 2, "\r\n", 2);
	for (line = h; line < h + len; line = strstr(line, "\r\n") + 2)
		assert_true(strstr(line, "\r\n") - line <= 78);
	unfold(h, flat, sizeof(flat));
	assert_non_null(strstr(flat, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
	                             "d=example.org; s=sel-2026;"));
	assert_non_null(strstr(flat, " t=1700000000;"));
	assert_non_null(strstr(flat, " x=1700003600;"));
	assert_non_null(strstr(flat, " i=news@mail.example.org;"));
	/* Two To: both signed; From once more than present; X-Other not in the list. */
	assert_non_null(strstr(flat, " h=From:From:To:To:Subject;"));
	/* Relaxed empty body: SHA-256 of "" (RFC 6376 3.4.4). */
	assert_non_null(strstr(flat, " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"));
	assert_int_equal(smtpc_dkim_source(sig)->size, (int64_t)(len + strlen(msg)));
	smtpc_dkim_signed_free(sig);

	o.simple_body = 1;
	o.simple_header = 1;
	o.timestamp = -1;
	o.expire = 0;
	o.identity = NULL;
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\n", &sig), 0);
	unfold(smtpc_dkim_header(sig, NULL), flat, sizeof(flat));
	assert_non_null(strstr(flat, " c=simple/simple;"));
	assert_null(strstr(flat, " t="));
	/* Simple empty body: SHA-256 of CRLF (RFC 6376 3.4.3). */
	assert_non_null(strstr(flat, " bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=;"));
	smtpc_dkim_signed_free(sig);
	smtpc_dkim_key_free(key);
}

/* What the source gives: the field, then the message byte for byte. */
static void test_signed_source(void **state)
{
	smtpc_dkim_key *key = keygen("ED25519", 0);
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_dkim_signed *sig;
	const smtpc_source *src;
	const char *msg = "From: a@b\nSubject: x\n\nbody\n.\n";
	char out[2048];
	size_t len = 0, hlen;
	long got;

	(void)state;
	o.domain = "b";
	o.selector = "s";
	assert_int_equal(sign_mem(key, &o, msg, &sig), 0);
	src = smtpc_dkim_source(sig);
	while ((got = src->read(out + len, 5, src->read_user)) > 0)
		len += (size_t)got;
	assert_int_equal(got, 0);
	smtpc_dkim_header(sig, &hlen);
	assert_int_equal(len, hlen + strlen(msg));
	assert_memory_equal(out, smtpc_dkim_header(sig, NULL), hlen);
	assert_memory_equal(out + hlen, msg, strlen(msg));
	assert_non_null(strstr(out, "a=ed25519-sha256;"));
	smtpc_dkim_signed_free(sig);
	smtpc_dkim_key_free(key);
}

struct drip {
	const char *p;
	size_t len, pos;
};

static long drip(void *buf, size_t len, void *user)
{
	struct drip *d = user;

	(void)len;
	if (d->pos == d->len)
		return 0;
	memcpy(buf, d->p + d->pos++, 1);
	return 1;
}

static const char *bh_of(const smtpc_dkim_signed *sig, char *flat, size_t cap)
{
	unfold(smtpc_dkim_header(sig, NULL), flat, cap);
	return strstr(flat, " bh=");
}

/* The message in 1-byte reads (copied to a temporary file) hashes as in memory. */
static void test_split_reads(void **state)
{
	smtpc_dkim_key *key = keygen("ED25519", 0);
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_source src = SMTPC_SOURCE_INIT;
	smtpc_dkim_signed *a, *b;
	static const char msg[] = "From: a@b\r\nSubject: x\r\r\n\r\n  line  one \r\n\r"
	                          "\nline\ttwo\r\r\n\n\n\r\n";
	struct drip d = {msg, sizeof(msg) - 1, 0};
	char fa[2048], fb[2048], out[2048];
	long got;
	size_t len = 0;

	(void)state;
	o.domain = "b";
	o.selector = "s";
	o.timestamp = 1;
	for (int simple = 0; simple < 2; simple++) {
		o.simple_body = simple;
		d.pos = 0;
		src.read = drip;
		src.read_user = &d;
		assert_int_equal(sign_mem(key, &o, msg, &a), 0);
		assert_int_equal(smtpc_dkim_sign(key, &o, &src, &b), 0);
		assert_string_equal(bh_of(a, fa, sizeof(fa)), bh_of(b, fb, sizeof(fb)));
		assert_int_equal(smtpc_dkim_source(b)->size, smtpc_dkim_source(a)->size);
		/* Ed25519 is deterministic: the same bytes signed give the same field. */
		assert_string_equal(smtpc_dkim_header(a, NULL), smtpc_dkim_header(b, NULL));
		len = 0;
		while ((got = smtpc_dkim_source(b)->read(out + len, sizeof(out) - len,
		                                         smtpc_dkim_source(b)->read_user)) > 0)
			len += (size_t)got;
		assert_int_equal((int64_t)len, smtpc_dkim_source(b)->size);
		assert_memory_equal(out + len - (sizeof(msg) - 1), msg, sizeof(msg) - 1);
		smtpc_dkim_signed_free(a);
		smtpc_dkim_signed_free(b);
	}
	smtpc_dkim_key_free(key);
}

/* Nothing that could end a tag or a line reaches the field. */
static void test_injection_refused(void **state)
{
	static const char *const bad[] = {"a;b", "a\r\nb", "a b", "a=b", "", ".a", "a..b", "a\n"};
	static const char *const no_from[] = {"To", "Subject"};
	static const char *const bad_name[] = {"From", "Sub:ject"};
	static const char *const bad_name2[] = {"From", "X Y"};
	smtpc_dkim_key *key = keygen("ED25519", 0);
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_dkim_signed *sig = NULL;
	const char *msg = "From: a@example.org\r\n\r\nx\r\n";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.domain = bad[i];
		o.selector = "s";
		assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
		o.domain = "example.org";
		o.selector = bad[i];
		assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
		assert_null(sig);
	}
	o.selector = "s";
	o.identity = "a;b@example.org";
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.identity = "a@example.org.evil";
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.identity = "a@badexample.org";
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.identity = "@sub.example.org";
	assert_int_equal(sign_mem(key, &o, msg, &sig), 0);
	smtpc_dkim_signed_free(sig);
	o.identity = NULL;
	o.headers = no_from;
	o.nheaders = 2;
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.headers = bad_name;
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.headers = bad_name2;
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.headers = NULL;
	o.nheaders = 0;
	o.algorithm = SMTPC_DKIM_RSA_SHA256; /* not what the key is for */
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.algorithm = SMTPC_DKIM_FROM_KEY;
	o.expire = INT64_MAX; /* t= + x= would overflow */
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.expire = 0;
	o.timestamp = -2;
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	o.timestamp = 0;
	/* Messages that cannot be signed: no From, no header block, a line without a colon,
	 * WSP before a colon. */
	assert_int_equal(sign_mem(key, &o, "To: b@x\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "no header\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\nnot a field\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From : a@b\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\nX\t: y\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\nX Y: z\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\n: z\r\n\r\n", &sig), SMTPC_EINVAL);
	assert_int_equal(sign_mem(key, &o, "From: a@b\r\nX\x01: z\r\n\r\n", &sig), SMTPC_EINVAL);
	smtpc_dkim_key_free(key);
}

static void test_keys_refused(void **state)
{
	static const char garbage[] =
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	smtpc_dkim_key *key = NULL;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long len;

	(void)state;
	assert_null(keygen("RSA", 512)); /* under 1024 bits (RFC 8301 3.2) */
	assert_int_equal(smtpc_dkim_key_load(garbage, sizeof(garbage) - 1, &key), SMTPC_EINVAL);
	assert_int_equal(smtpc_dkim_key_load("", 0, &key), SMTPC_EINVAL);
	/* An encrypted key: refused, no passphrase asked for. */
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, pk, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret"),
	    1);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(smtpc_dkim_key_load(pem, (size_t)len, &key), SMTPC_EINVAL);
	assert_null(key);
	BIO_free(bio);
	/* A public key is no private key. */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(smtpc_dkim_key_load(pem, (size_t)len, &key), SMTPC_EINVAL);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

/* The header block is held up to 1 MiB; the body is not held at all. */
static void test_sizes(void **state)
{
	smtpc_dkim_key *key = keygen("ED25519", 0);
	smtpc_dkim_options o = SMTPC_DKIM_OPTIONS_INIT;
	smtpc_dkim_signed *sig;
	size_t big = 1024 * 1024 + 100;
	char *msg = malloc(big + 64);
	size_t n;

	(void)state;
	o.domain = "b";
	o.selector = "s";
	assert_non_null(msg);
	/* A header block over the limit. */
	n = (size_t)snprintf(msg, 64, "From: a@b\r\nX: ");
	memset(msg + n, 'x', big - n);
	memcpy(msg + big, "\r\n\r\nbody\r\n", 11);
	assert_int_equal(sign_mem(key, &o, msg, &sig), SMTPC_EINVAL);
	/* The same bytes as a body: fine. */
	memcpy(msg + n - 3, "\r\n\r\n", 4);
	assert_int_equal(sign_mem(key, &o, msg, &sig), 0);
	assert_int_equal(smtpc_dkim_source(sig)->size,
	                 (int64_t)(strlen(smtpc_dkim_header(sig, NULL)) + strlen(msg)));
	smtpc_dkim_signed_free(sig);
	free(msg);
	smtpc_dkim_key_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_example),
	    cmocka_unit_test(test_relaxed_header),
	    cmocka_unit_test(test_empty_bodies),
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_many_blank_lines),
	    cmocka_unit_test(test_signature_field),
	    cmocka_unit_test(test_signed_source),
	    cmocka_unit_test(test_split_reads),
	    cmocka_unit_test(test_injection_refused),
	    cmocka_unit_test(test_keys_refused),
	    cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
