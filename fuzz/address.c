/*
 * address.c - fuzz target for the RFC 5321 path extractor (src/address.c)
 * and smtpc_quoteaddr() (smtplib's quoteaddr) built on it.
 *
 * Input: an address string (a NUL-terminated copy; an embedded NUL ends
 * it, as for any C string argument). Invariants: smtpc__addr_extract()
 * returns -1, 0 or 1; on 1 the address is no longer than the input and
 * holds no control character but TAB (docs/RULES.md I1/I3: "bob@x\r\n
 * RCPT TO:<evil>" must not yield "bob@x"), and extracting it again gives
 * it back. smtpc__addr_path() (what MAIL and RCPT send, issue 9): at most
 * one path, never the input kept: no control character, no '<' or '>', no
 * blank outside the quoted local part; bracketed it reads back as itself;
 * nothing when the extractor found nothing (but the null path "" / "<>").
 * smtpc_quoteaddr() is that path between angle brackets, or NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"
#include "smtpc.h"

/* The property of a path on a command line: one token. */
static void check_path(const char *path)
{
	size_t len = strlen(path);
	const char *close = path[0] == '"' ? strrchr(path, '"') : path;
	char *bracketed = malloc(len + 3);
	char *again = NULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		FUZZ_CHECK(c != '<' && c != '>');
		if (c == ' ')
			FUZZ_CHECK(path[0] == '"' && path + i < close);
	}
	FUZZ_CHECK(bracketed != NULL);
	bracketed[0] = '<';
	memcpy(bracketed + 1, path, len);
	memcpy(bracketed + 1 + len, ">", 2);
	FUZZ_CHECK(smtpc__addr_path(bracketed, 1, &again) == 1);
	FUZZ_CHECK(strcmp(again, path) == 0);
	free(again);
	free(bracketed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strdup(data, size);
	char *out = NULL;
	char *path = NULL;
	char *q;
	int rc, prc;

	if (in == NULL)
		return 0;
	rc = smtpc__addr_extract(in, &out);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	prc = smtpc__addr_path(in, 1, &path);
	FUZZ_CHECK(prc >= -1 && prc <= 1);
	q = smtpc_quoteaddr(in);
	if (rc == 1) {
		size_t i, len;
		char *again = NULL;

		FUZZ_CHECK(out != NULL);
		len = strlen(out);
		FUZZ_CHECK(len <= strlen(in));
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];

			/* TAB is let through inside quoted strings (RFC 5322 FWS);
			 * the path check refuses it. Every other control character
			 * means "no address". */
			FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f);
		}
		/* An extracted address is a fixed point. */
		if (smtpc__addr_extract(out, &again) == 1) {
			FUZZ_CHECK(strcmp(again, out) == 0);
			free(again);
		}
		if (prc == 1)
			FUZZ_CHECK(strcmp(path, out) == 0); /* the path is what was found */
		free(out);
	}
	if (prc == 1) {
		check_path(path);
		if (q != NULL) {
			size_t len = strlen(path);

			FUZZ_CHECK(strlen(q) == len + 2);
			FUZZ_CHECK(q[0] == '<' && q[len + 1] == '>');
			FUZZ_CHECK(memcmp(q + 1, path, len) == 0);
		}
		/* nothing found but the null path */
		FUZZ_CHECK(rc == 1 || path[0] == '\0');
	} else if (prc == 0) {
		FUZZ_CHECK(q == NULL); /* never the input kept */
	}
	free(path);
	free(q);
	free(in);
	return 0;
}
