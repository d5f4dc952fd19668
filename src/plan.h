/*
 * plan.h - the commands of one transaction, decided from what the server
 * offers and what the caller asked for: SMTPUTF8, BODY=, SIZE=, DSN
 * parameters, PIPELINING, CHUNKING, then every command line of the envelope.
 * Pure: no session, no I/O, nothing sent; tests/unit/test_plan.c tests it
 * alone. Internal.
 */
#ifndef SMTPC_PLAN_H
#define SMTPC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "smtpc.h"

/** What the server's EHLO offered that a transaction uses (all 0 after HELO). */
typedef struct smtpc__offer {
	unsigned esmtp : 1, pipelining : 1, chunking : 1, binarymime : 1, eightbitmime : 1,
	    smtputf8 : 1, dsn : 1, size : 1;
	uint64_t size_limit; /* SIZE's limit, 0: none given */
} smtpc__offer;

/** One message, as the session knows it before the plan. */
typedef struct smtpc__plan_in {
	const char *from; /* the paths (smtpc__addr_path: one each, checked, no brackets) */
	const char *const *to;
	size_t nto;
	const smtpc_send_options *o;
	int64_t size;  /* CRLF-normalised size for SIZE=, -1 unknown */
	int64_t raw;   /* bytes as the source gives them (BINARYMIME's size), -1 unknown */
	int has_8bit;  /* 1, 0, -1 unknown (streamed) */
	int want_utf8; /* SMTPUTF8 needed: non-ASCII envelope or headers */
} smtpc__plan_in;

typedef struct smtpc__plan {
	int pipelined;   /* the envelope goes in flights */
	int bdat;        /* CHUNKING: BDAT, no DATA line */
	int refuse_8bit; /* the body must turn out 7-bit (no 8BITMIME, policy refuse) */
	char **lines;    /* MAIL, one RCPT per recipient, then DATA unless bdat */
	size_t *lens;
	size_t nlines;
	/* When smtpc__plan_make fails: */
	const char *command; /* "MAIL" or "RCPT" */
	char why[200];
	int too_big; /* over the server's SIZE limit: as permanent as its 552 5.3.4 would be */
} smtpc__plan;

/**
 * Decides and builds. Returns 0, or the kind of the failure with p->command
 * and p->why set: SMTPC_ENOTSUPPORTED (SMTPUTF8, DSN, BINARYMIME or 8BITMIME
 * needed and not offered), SMTPC_EDATA (too_big), SMTPC_EINVAL (a line the
 * command writer refuses), SMTPC_ENOMEM. Free p with smtpc__plan_free either way.
 */
int smtpc__plan_make(const smtpc__offer *offer, const smtpc__plan_in *in, smtpc__plan *p);
void smtpc__plan_free(smtpc__plan *p);

/** 1 when one of the n options has this keyword ("SIZE" matches "SIZE" and "size=75"). */
int smtpc__has_keyword(const char *const *opts, size_t n, const char *keyword);
/** smtpc__has_keyword over the caller's MAIL (RCPT) parameters. */
int smtpc__has_mail_option(const smtpc_send_options *o, const char *keyword);
int smtpc__has_rcpt_option(const smtpc_send_options *o, const char *keyword);

#endif
