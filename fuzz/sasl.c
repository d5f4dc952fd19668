/*
 * sasl.c - fuzz target for the SASL mechanisms (src/sasl.c,
 * src/sasl_scram.c) fed hostile challenges.
 *
 * Input: byte 0 picks the mechanism (bits 0-2, enum smtpc__sasl_mech),
 * whether the initial response is asked for (bit 3), an authzid (bit 4)
 * and which RFC test nonce SCRAM uses (bit 5: RFC 7677's, else RFC
 * 5802's); the rest is split on 0xFF bytes into the decoded challenges of
 * successive 334 replies (at most 16). Credentials are fixed (user "user",
 * password "pencil", the RFC 5802 / 7677 vectors), so a seed holding the
 * RFC server messages reaches the verified end of a SCRAM exchange.
 * Invariants: new() succeeds; initial() returns 1 exactly for the
 * mechanisms with an initial response; a step returns 0 with a response,
 * or SMTPC_EPROTO / SMTPC_EAUTH / SMTPC_ENOMEM with none; after an
 * SMTPC_EPROTO or SMTPC_EAUTH every step and finish() fail with
 * SMTPC_EAUTH; the remembered server error text
 * holds no control character; no leak (LeakSanitizer).
 *
 * A challenge with an iteration count above 4096 is skipped: up to
 * SMTPC__SASL_SCRAM_MAX_ITER is accepted by design, and a million PBKDF2
 * rounds per input would only slow the fuzzer down.
 */
#include <string.h>

#include "fuzz.h"
#include "sasl.h"
#include "smtpc.h"

#define MAX_ROUNDS 16
#define MAX_ITER   4096

/* 1 when some "i=" in the input is followed by a number above MAX_ITER. */
static int costly(const uint8_t *p, size_t n)
{
	size_t i, j;

	for (i = 0; i + 2 < n; i++) {
		unsigned long v = 0;

		if (p[i] != 'i' || p[i + 1] != '=')
			continue;
		for (j = i + 2; j < n && p[j] >= '0' && p[j] <= '9'; j++) {
			v = v * 10 + (unsigned long)(p[j] - '0');
			if (v > MAX_ITER)
				return 1;
		}
	}
	return 0;
}

static int has_initial(int mech)
{
	return mech != SMTPC__SASL_LOGIN && mech != SMTPC__SASL_CRAM_MD5;
}

static int is_scram(int mech)
{
	return mech == SMTPC__SASL_SCRAM_SHA_1 || mech == SMTPC__SASL_SCRAM_SHA_256;
}

static void check_error_text(const smtpc__sasl *x)
{
	const char *e = smtpc__sasl_error(x);

	if (e == NULL)
		return;
	for (; *e != '\0'; e++)
		FUZZ_CHECK((unsigned char)*e >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smtpc__sasl_creds creds;
	smtpc__sasl *x = NULL;
	unsigned char *out;
	size_t outlen, pos, rounds;
	int mech, rc, failed = 0;

	if (size < 1 || costly(data, size))
		return 0;
	mech = data[0] & 7;
	memset(&creds, 0, sizeof(creds));
	creds.user = "user";
	creds.password = "pencil";
	creds.authzid = data[0] & 0x10 ? "admin" : NULL;
	creds.token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
	creds.host = "mail.example.org";
	creds.port = 587;

	FUZZ_CHECK(smtpc__sasl_name(mech) != NULL);
	FUZZ_CHECK(smtpc__sasl_lookup(smtpc__sasl_name(mech)) == mech);
	rc = smtpc__sasl_new(&x, mech, &creds);
	if (rc == SMTPC_ENOMEM)
		return 0;
	FUZZ_CHECK(rc == 0 && x != NULL);
	if (is_scram(mech)) {
		const char *nonce =
		    data[0] & 0x20 ? "rOprNGfwEbeRWgbNEkqO" : "fyko+d2lbbFgONRv9qkxdawL";

		FUZZ_CHECK(smtpc__sasl_set_nonce(x, nonce) == 0);
	} else {
		FUZZ_CHECK(smtpc__sasl_set_nonce(x, "abc") == SMTPC_EINVAL);
	}

	if (data[0] & 0x08) {
		out = NULL;
		outlen = 0;
		rc = smtpc__sasl_initial(x, &out, &outlen);
		FUZZ_CHECK(rc == (has_initial(mech) ? 1 : 0) || rc == SMTPC_ENOMEM);
		FUZZ_CHECK((rc == 1) == (out != NULL));
		free(out);
		/* At most once. */
		out = NULL;
		FUZZ_CHECK(smtpc__sasl_initial(x, &out, &outlen) == SMTPC_EINVAL && out == NULL);
	}

	pos = 1;
	for (rounds = 0; pos <= size && rounds < MAX_ROUNDS; rounds++) {
		const uint8_t *sep = pos < size ? memchr(data + pos, 0xff, size - pos) : NULL;
		size_t end = sep != NULL ? (size_t)(sep - data) : size;
		char *chal = fuzz_dup(data + pos, end - pos);

		if (chal == NULL)
			break;
		out = (unsigned char *)"not set";
		outlen = 12345;
		rc = smtpc__sasl_step(x, (const unsigned char *)chal, end - pos, &out, &outlen);
		free(chal);
		FUZZ_CHECK(rc == 0 || rc == SMTPC_EPROTO || rc == SMTPC_EAUTH ||
		           rc == SMTPC_ENOMEM);
		if (rc == 0) {
			FUZZ_CHECK(out != NULL);
			free(out);
		} else {
			FUZZ_CHECK(out == NULL);
		}
		if (failed)
			FUZZ_CHECK(rc == SMTPC_EAUTH);
		if (rc == SMTPC_EAUTH || rc == SMTPC_EPROTO)
			failed = 1;
		check_error_text(x);
		pos = end + 1;
	}

	rc = smtpc__sasl_finish(x);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EAUTH);
	if (failed)
		FUZZ_CHECK(rc == SMTPC_EAUTH);
	check_error_text(x);
	smtpc__sasl_free(x);
	return 0;
}
