/*
 * message.h - RFC 5322 header block scanning for send_message, no I/O:
 * the envelope from the headers (smtplib's send_message rules) and the
 * header block to transmit without Bcc / Resent-Bcc.
 */
#ifndef SMTPC_MESSAGE_H
#define SMTPC_MESSAGE_H

#include <stddef.h>

#include "smtpc.h"

/** Largest header block send_message reads (the body is streamed, never held). */
#define SMTPC__MAX_HEADER_BLOCK (1024 * 1024)

/**
 * Length of the header block at the start of buf: up to and including the
 * empty line that ends it (CRLF CRLF, LF LF, also mixed). Returns the
 * length, 0 when the end is not in buf yet (need more), or (size_t)-1 when
 * buf does not start like a header block (no "name:" on the first line:
 * then the whole message is body, and there are no headers).
 * A message that ends without the empty line: the caller passes at_eof=1
 * and gets len (all of buf is the header block).
 */
size_t smtpc__msg_header_end(const char *buf, size_t len, int at_eof);

typedef struct smtpc__envelope {
	char *from; /* envelope sender (malloc'd), or NULL when none found */
	char **to;  /* recipients, in order To, Bcc, Cc (first field of each) */
	size_t nto;
	int resent;    /* 1 when the Resent-* fields were used */
	char *headers; /* the header block without Bcc and Resent-Bcc fields (with their
	                  continuation lines); otherwise byte for byte; malloc'd */
	size_t headers_len;
	char why[400]; /* on SMTPC_EINVAL: what was refused, bytes escaped */
} smtpc__envelope;

/**
 * Scans a header block (as delimited by smtpc__msg_header_end; a line ends
 * with CRLF, a bare LF or a bare CR, as the DATA encoder reads it); the
 * address fields only as `need` asks (SMTPC__ENV_FROM, SMTPC__ENV_TO):
 * - refuses NUL and the control characters other than HTAB, CR and LF;
 * - count Resent-Date fields: 0 → plain fields; 1 → Resent- fields;
 *   more → SMTPC_EINVAL (several resent blocks are ambiguous, as smtplib);
 * - from: the first Sender field (Resent-Sender) if any, else the first
 *   From (Resent-From); its first address;
 * - to: every address of every To, then Bcc, then Cc field (with the
 *   Resent- prefix in resent mode); group names and display names dropped;
 *   duplicates kept;
 * - an element of these fields that does not parse is SMTPC_EINVAL (never
 *   a recipient left out);
 * - headers: the block with every Bcc and Resent-Bcc field removed
 *   (whatever the mode), every other byte unchanged.
 * Field names are matched case-insensitively; folded lines are unfolded
 * for parsing. Returns 0, SMTPC_EINVAL (env->why says why) or SMTPC_ENOMEM.
 */
int smtpc__msg_envelope(const char *hdr, size_t len, unsigned need, smtpc__envelope *env);

/* What smtpc__msg_envelope() reads of the address fields (the rest: given by the caller). */
#define SMTPC__ENV_FROM 1u /* the sender: Sender or From */
#define SMTPC__ENV_TO   2u /* the recipients: To, Bcc, Cc */

void smtpc__envelope_free(smtpc__envelope *env);

#endif
