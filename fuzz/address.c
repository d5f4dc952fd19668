/*
 * address.c - fuzz target for the RFC 5321 path extractor (src/address.c)
 * and smtpc_quoteaddr() (smtplib's quoteaddr) built on it.
 *
 * Input: an address string (a NUL-terminated copy; an embedded NUL ends
 * it, as for any C string argument). Invariants: smtpc__addr_extract()
 * returns -1, 0 or 1; on 1 the address is no longer than the input and
 * holds no control character but TAB (security-cases.md I1/I3: "bob@x\r\n
 * RCPT TO:<evil>" must not yield "bob@x"), and extracting it again gives
 * it back; smtpc_quoteaddr() then returns it between angle brackets.
 */
#include <string.h>

#include "address.h"
#include "fuzz.h"
#include "smtpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strdup(data, size);
	char *out = NULL;
	char *q;
	int rc;

	if (in == NULL)
		return 0;
	rc = smtpc__addr_extract(in, &out);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
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
			 * the command writer refuses it later (RFC 5321 has no TAB in
			 * a path). Every other control character means "no address". */
			FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f);
		}
		/* An extracted path is a fixed point. */
		if (smtpc__addr_extract(out, &again) == 1) {
			FUZZ_CHECK(strcmp(again, out) == 0);
			free(again);
		}
		if (q != NULL) {
			FUZZ_CHECK(strlen(q) == len + 2);
			FUZZ_CHECK(q[0] == '<' && q[len + 1] == '>');
			FUZZ_CHECK(memcmp(q + 1, out, len) == 0);
		}
		free(out);
	} else if (q != NULL) {
		/* smtplib: no address found, the string is kept (bracketed unless it
		 * already starts with '<'): never shorter than the input. */
		FUZZ_CHECK(strlen(q) >= strlen(in));
		FUZZ_CHECK(q[0] == '<' || strcmp(q, in) == 0);
	}
	free(q);
	free(in);
	return 0;
}
