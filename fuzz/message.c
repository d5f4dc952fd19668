/*
 * message.c - fuzz target for the header block scanning of send_message
 * (src/message.c): smtpc__msg_header_end() and smtpc__msg_envelope().
 *
 * Input: the start of a message. Invariants:
 * - smtpc__msg_header_end() at every prefix length (as the bytes arrive
 *   from a stream): 0 (need more), (size_t)-1 (no header block) or a
 *   length within the prefix; once it is not 0 it stays the same for every
 *   longer prefix; with at_eof it agrees with the answer without at_eof,
 *   when that one is not 0;
 * - smtpc__msg_envelope() on the block (the whole input when there is no
 *   block): 0, SMTPC_EINVAL or SMTPC_ENOMEM; the headers it keeps are
 *   NUL-terminated, no longer than the block, and have no Bcc or
 *   Resent-Bcc field left (docs/RULES.md I5: Bcc is never
 *   transmitted) as the server reads them: the kept block is run through
 *   the DATA encoder and its CRLF lines are scanned (a bare CR or LF is a
 *   line break there, issue 9); every address is a non-empty string
 *   without CR or LF; a block with NUL or another control character but
 *   HTAB, CR, LF is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "dataenc.h"
#include "fuzz.h"
#include "message.h"

static int is_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Lower-cased field name of a line that opens a field ("name *WSP :"), or 0. */
static size_t field_name(const char *p, const char *end, char *name, size_t cap)
{
	const char *q = p;
	size_t n, i;

	while (q < end && is_name_char((unsigned char)*q))
		q++;
	n = (size_t)(q - p);
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (n == 0 || q == end || *q != ':')
		return 0;
	for (i = 0; i < n && i + 1 < cap; i++) {
		char c = p[i];

		name[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	name[i] = '\0';
	return n;
}

/*
 * No line of the header part (up to the empty line) opens a Bcc field, as
 * the server sees it: the kept block after the DATA encoder, dot-stuffing
 * undone.
 */
static void check_no_bcc(const char *h, size_t len)
{
	smtpc__dataenc enc;
	char *wire = malloc(SMTPC__DATAENC_MAX_OUT(len) + SMTPC__DATAENC_FINISH_MAX);
	size_t n;
	const char *p;
	const char *end;

	FUZZ_CHECK(wire != NULL);
	smtpc__dataenc_init(&enc);
	n = smtpc__dataenc_update(&enc, h, len, wire);
	n += smtpc__dataenc_finish(&enc, wire + n, 1);
	p = wire;
	end = wire + n;
	while (p < end) {
		const char *crlf = memchr(p, '\n', (size_t)(end - p));
		const char *eol = crlf != NULL ? crlf + 1 : end;
		char name[16];
		size_t k;

		FUZZ_CHECK(crlf != NULL && crlf > p && crlf[-1] == '\r'); /* only CRLF */
		if (eol - p == 2)
			break; /* the empty line: the body follows */
		if (p[0] == '.' && p[1] == '.')
			p++; /* the server removes the stuffed dot */
		k = field_name(p, eol, name, sizeof(name));
		if (k == 3 || k == 10) {
			FUZZ_CHECK(strcmp(name, "bcc") != 0);
			FUZZ_CHECK(strcmp(name, "resent-bcc") != 0);
		}
		p = eol;
	}
	free(wire);
}

static int has_control(const char *h, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return 1;
	}
	return 0;
}

static void check_address(const char *a)
{
	FUZZ_CHECK(a != NULL);
	FUZZ_CHECK(a[0] != '\0');
	FUZZ_CHECK(strchr(a, '\r') == NULL && strchr(a, '\n') == NULL);
}

static void check_header_end(const char *buf, size_t size)
{
	size_t found = 0; /* the first answer that is not 0 */
	size_t n;

	for (n = 0; n <= size; n++) {
		size_t r = smtpc__msg_header_end(buf, n, 0);
		size_t e = smtpc__msg_header_end(buf, n, 1);

		FUZZ_CHECK(r == 0 || r == (size_t)-1 || (r >= 1 && r <= n));
		FUZZ_CHECK(e == (size_t)-1 || (e >= 1 && e <= n));
		if (r != 0)
			FUZZ_CHECK(e == r);
		if (found != 0)
			FUZZ_CHECK(r == found);
		else
			found = r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);
	smtpc__envelope env;
	size_t blen, i;
	int rc;

	if (buf == NULL)
		return 0;
	check_header_end(buf, size);

	blen = smtpc__msg_header_end(buf, size, 1);
	if (blen == (size_t)-1)
		blen = size;
	rc = smtpc__msg_envelope(buf, blen, SMTPC__ENV_FROM | SMTPC__ENV_TO, &env);
	if (has_control(buf, blen))
		FUZZ_CHECK(rc == SMTPC_EINVAL);
	FUZZ_CHECK(rc == 0 || rc == SMTPC_EINVAL || rc == SMTPC_ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(env.headers != NULL);
		FUZZ_CHECK(env.headers_len <= blen);
		FUZZ_CHECK(env.headers[env.headers_len] == '\0');
		check_no_bcc(env.headers, env.headers_len);
		if (env.from != NULL)
			check_address(env.from);
		FUZZ_CHECK(env.nto == 0 || env.to != NULL);
		for (i = 0; i < env.nto; i++)
			check_address(env.to[i]);
		FUZZ_CHECK(env.resent == 0 || env.resent == 1);
		smtpc__envelope_free(&env);
	} else {
		/* On failure nothing is left to free. */
		FUZZ_CHECK(env.headers == NULL && env.from == NULL && env.to == NULL);
	}
	free(buf);
	return 0;
}
