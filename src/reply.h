/*
 * reply.h - incremental SMTP reply parser (RFC 5321 section 4.2), no I/O.
 *
 * Feed any split of bytes; the parser stops right after one complete reply
 * and leaves the rest of the input to the caller, so bytes that follow a
 * reply (pipelined replies, plaintext after STARTTLS) are never swallowed.
 * Strict syntax: three digits, the first 2-5, then SP (last line), "-"
 * (continuation) or the line end (last line, empty text); every line of a
 * reply carries the same code. Lines end in LF, optionally preceded by CR.
 * Bounded: SMTPC_MAX_REPLY_LINE, SMTPC_MAX_REPLY_LINES, SMTPC_MAX_REPLY_BYTES.
 * The parser never allocates: its buffer is part of the struct.
 */
#ifndef SMTPC_REPLY_H
#define SMTPC_REPLY_H

#include <stddef.h>

#include "smtpc.h"

enum smtpc__rp_status {
	SMTPC__RP_MORE = 0,          /* need more bytes */
	SMTPC__RP_DONE = 1,          /* a complete reply is ready */
	SMTPC__RP_ERR_SYNTAX = -1,   /* bad code, bad separator, NUL in code ... */
	SMTPC__RP_ERR_MISMATCH = -2, /* continuation line with another code */
	SMTPC__RP_ERR_TOO_LONG = -3, /* a line over SMTPC_MAX_REPLY_LINE */
	SMTPC__RP_ERR_TOO_MANY = -4, /* over SMTPC_MAX_REPLY_LINES or SMTPC_MAX_REPLY_BYTES */
};

typedef struct smtpc__reply_parser {
	int status;        /* last status returned; errors are sticky until reset */
	int code;          /* code of the first line, 0 before it is known */
	int line_code;     /* internal: digits of the current line's code so far */
	size_t nlines;     /* complete lines so far */
	size_t line_len;   /* bytes of the current line seen so far (with CR/LF) */
	size_t text_len;   /* bytes used in text[] */
	size_t line_start; /* offset in text[] where the current line's text starts */
	int line_state;    /* internal: position within the current line */
	int last;          /* internal: current line is the last one */
	char enhanced[16]; /* enhanced status code of the reply, "" if none */
	char text[SMTPC_MAX_REPLY_BYTES + 1]; /* texts joined by '\n', NUL-terminated */
} smtpc__reply_parser;

/** Makes the parser ready for a new reply (also after an error). */
void smtpc__rp_reset(smtpc__reply_parser *rp);

/**
 * Feeds bytes. *consumed is set to the number of bytes used; when the
 * status is SMTPC__RP_DONE, the bytes after *consumed belong to whatever
 * comes next. Returns an smtpc__rp_status. After SMTPC__RP_DONE or an
 * error, further calls return the same status without consuming anything
 * until smtpc__rp_reset().
 */
int smtpc__rp_feed(smtpc__reply_parser *rp, const char *buf, size_t len, size_t *consumed);

/**
 * The complete reply (valid after SMTPC__RP_DONE until the next reset;
 * before that, or after an error, code 0 and an empty text).
 * The enhanced status code (RFC 3463 "class.subject.detail", class equal to
 * the first digit of the reply code, followed by a space or the line end)
 * is taken from the first line and stripped from every line starting with
 * it; the text then has the lines' texts joined by "\n".
 */
void smtpc__rp_reply(const smtpc__reply_parser *rp, smtpc_reply *out);

/** A one-line description of an error status. */
const char *smtpc__rp_strerror(int status);

#endif
