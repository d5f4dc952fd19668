/*
 * dkim.h - DKIM canonicalisation (RFC 6376 3.4), no I/O and no OpenSSL:
 * the body streamed piece by piece, a header field in memory. Both read
 * line endings as the DATA encoder writes them (CRLF, bare LF, bare CR all
 * end a line; see dataenc.c), so what is hashed is what the verifier gets.
 */
#ifndef SMTPC_DKIM_H
#define SMTPC_DKIM_H

#include <stddef.h>
#include <stdint.h>

/** Where the canonical bytes go (the SHA-256 context, or a test's buffer). */
typedef void (*smtpc__dkim_sink)(const char *p, size_t n, void *user);

/** Streaming body canonicaliser; the output never depends on where the input is split. */
typedef struct smtpc__dkim_body {
	int relaxed;    /* 1: relaxed (3.4.4), 0: simple (3.4.3) */
	int held_cr;    /* the last byte was a CR: an LF right after it ends no other line */
	int wsp;        /* relaxed: a run of WSP read on this line, not written yet */
	int any;        /* a byte other than a line ending was written */
	uint64_t blank; /* line endings held back: written only if more text follows */
	size_t outlen;  /* bytes in out */
	char out[1024]; /* output gathered before it goes to the sink */
	smtpc__dkim_sink sink;
	void *user;
} smtpc__dkim_body;

void smtpc__dkim_body_init(smtpc__dkim_body *b, int relaxed, smtpc__dkim_sink sink, void *user);
void smtpc__dkim_body_update(smtpc__dkim_body *b, const char *p, size_t n);
/** Writes what the end of the body adds (3.4.3, 3.4.4) and flushes to the sink. */
void smtpc__dkim_body_finish(smtpc__dkim_body *b);

/**
 * Canonical form of one header field (RFC 6376 3.4.1, 3.4.2): f holds the
 * field without its final line ending; folds inside it are CRLF followed
 * by WSP. out (room for n bytes: the result is never longer) receives the
 * field without a final CRLF. Returns the length written.
 */
size_t smtpc__dkim_canon_header(const char *f, size_t n, int relaxed, char *out);

#endif
