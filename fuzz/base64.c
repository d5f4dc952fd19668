/*
 * base64.c - fuzz target for the strict base64 decoder and the encoder
 * (src/base64.c), which carry every SASL challenge and response.
 *
 * Input: text claimed to be base64 (a 334 challenge). The decoder writes
 * into a block of exactly len / 4 * 3 bytes. Invariants: on success the
 * decoded length is len / 4 * 3 minus the padding, and encoding it gives
 * the input back, except for the bits of the last character before the
 * padding that carry no data (accepted, as Python's b64decode does); that
 * re-encoding decodes to the same bytes. Also: encoding the raw input and
 * decoding it gives the input back (SMTPC__B64_LEN is the exact length).
 */
#include <string.h>

#include "base64.h"
#include "fuzz.h"

static int value(char c)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

static void check_roundtrip_decoded(const char *in, size_t len, const unsigned char *dec, size_t n)
{
	char *enc = malloc(SMTPC__B64_LEN(n) + 1);
	size_t elen, pad = 0, i;

	if (enc == NULL)
		abort();
	elen = smtpc__b64_encode(dec, n, enc);
	FUZZ_CHECK(elen == SMTPC__B64_LEN(n));
	FUZZ_CHECK(enc[elen] == '\0');
	FUZZ_CHECK(elen == len);
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	for (i = 0; i < len; i++) {
		if (pad > 0 && i == len - pad - 1) {
			/* Same data bits: 4 (for "==") or 2 (for "=") low bits are free. */
			int mask = pad == 2 ? 0x30 : 0x3c;

			FUZZ_CHECK(value(in[i]) >= 0 && value(enc[i]) >= 0);
			FUZZ_CHECK((value(in[i]) & mask) == (value(enc[i]) & mask));
			FUZZ_CHECK((value(enc[i]) & ~mask) == 0); /* the encoder writes zeros */
		} else {
			FUZZ_CHECK(in[i] == enc[i]);
		}
	}
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_dup(data, size);
	unsigned char *dec = malloc(size / 4 * 3 > 0 ? size / 4 * 3 : 1);
	char *enc = malloc(SMTPC__B64_LEN(size) + 1);
	size_t n, elen;

	if (in == NULL || dec == NULL || enc == NULL)
		abort();
	n = smtpc__b64_decode(in, size, dec);
	if (n != (size_t)-1) {
		size_t pad = 0;

		FUZZ_CHECK(size % 4 == 0);
		if (size > 0 && in[size - 1] == '=')
			pad = size > 1 && in[size - 2] == '=' ? 2 : 1;
		FUZZ_CHECK(n == size / 4 * 3 - pad);
		check_roundtrip_decoded(in, size, dec, n);
	}

	/* The other way: any bytes survive encode + decode. */
	elen = smtpc__b64_encode(data, size, enc);
	FUZZ_CHECK(elen == SMTPC__B64_LEN(size) && enc[elen] == '\0');
	free(dec);
	dec = malloc(elen / 4 * 3 > 0 ? elen / 4 * 3 : 1);
	if (dec == NULL)
		abort();
	n = smtpc__b64_decode(enc, elen, dec);
	FUZZ_CHECK(n == size);
	FUZZ_CHECK(size == 0 || memcmp(dec, data, size) == 0);
	free(enc);
	free(dec);
	free(in);
	return 0;
}
