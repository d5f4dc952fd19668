/*
 * dataenc.h - streaming DATA encoder (RFC 5321 4.5.2, 2.3.8), no I/O.
 *
 * Every line ending of the input (CRLF, bare LF, bare CR) becomes CRLF; a
 * "." at the start of a line is doubled; at the end the body is closed by
 * CRLF (unless it already ends with one; an empty body becomes one CRLF) and
 * ".\r\n". The output is the same whatever the chunking of the input, and
 * no input can produce the terminator before the real end.
 */
#ifndef SMTPC_DATAENC_H
#define SMTPC_DATAENC_H

#include <stddef.h>

typedef struct smtpc__dataenc {
	int state;   /* internal */
	int started; /* any byte seen */
	int stuff;   /* 1: DATA (dot-stuffing, terminator); 0: BDAT (line endings only) */
} smtpc__dataenc;

/** Output needed for `inlen` input bytes, worst case. */
#define SMTPC__DATAENC_MAX_OUT(inlen) (2 * (inlen) + 2)
/** Output of smtpc__dataenc_finish(), worst case. */
#define SMTPC__DATAENC_FINISH_MAX 5

void smtpc__dataenc_init(smtpc__dataenc *e);
/**
 * For BDAT (RFC 3030): line endings made CRLF and the body closed by CRLF,
 * but no dot-stuffing and no terminator (BDAT counts bytes instead).
 */
void smtpc__dataenc_init_bdat(smtpc__dataenc *e);

/**
 * Encodes `inlen` bytes into `out`, which has room for at least
 * SMTPC__DATAENC_MAX_OUT(inlen) bytes; returns the bytes written. A CR at
 * the end of the input is held until the next byte is known.
 */
size_t smtpc__dataenc_update(smtpc__dataenc *e, const char *in, size_t inlen, char *out);

/**
 * Ends the data. terminate != 0: writes what is pending, the closing CRLF
 * when needed and ".\r\n" (at most SMTPC__DATAENC_FINISH_MAX bytes).
 * terminate == 0 (quotedata): writes only what is pending (a held CR
 * becomes CRLF). Returns the bytes written.
 */
size_t smtpc__dataenc_finish(smtpc__dataenc *e, char *out, int terminate);

#endif
