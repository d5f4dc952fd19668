/*
 * input.h - the message to send, streamed from FILE or standard input in
 * bounded memory: a smtpc_source whose callback reads the file descriptor
 * (so that a read error is told apart from a network error), after a prefix
 * of smtpc's own (the fields the sendmail mode adds) and the bytes read ahead.
 */
#ifndef SMTPC_CLI_INPUT_H
#define SMTPC_CLI_INPUT_H

#include "smtpc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** What cli_input_scan_headers() finds in the header block. */
struct cli_headers {
	int has_headers;              /* the message starts with a header field */
	int crlf;                     /* its first line ends with CRLF */
	int has_resent;               /* a Resent- field */
	int has_date, has_message_id; /* a Date field, a Message-ID field */
	const char *from, *sender;    /* the value of the first From / Sender field (folded
	                                 lines kept; in the bytes read ahead), NULL: none */
	size_t from_len, sender_len;
};

struct cli_input {
	const char *path; /* as given; NULL: standard input */
	int fd;
	int owned;   /* 1: fd is ours to close */
	char *ahead; /* bytes read ahead of the source (header scan), replayed first */
	size_t ahead_len, ahead_pos;
	char *prefix; /* bytes sent before the message (malloc'd) */
	size_t prefix_len, prefix_pos;
	int64_t size; /* bytes the source will give, -1: unknown */
	off_t start;  /* the offset of a regular file at open */
	int err;      /* errno of a failed read, 0 */
	int scanned;  /* the header block was read ahead: headers holds what it has */
	struct cli_headers headers;
};

/**
 * Opens path (NULL or "-": standard input) for reading. A directory or an
 * unreadable file is reported on standard error ("smtpc: cannot read ...").
 * Returns 0 or EX_NOINPUT.
 */
int cli_input_open(struct cli_input *in, const char *path);

/**
 * When the input is not a regular file (a pipe, a terminal), copies it to
 * an unlinked temporary file in $TMPDIR (default /tmp) and reads from that,
 * so that the connection never waits on a slow writer. Errors are reported.
 * Returns 0, EX_NOINPUT (reading), EX_CANTCREAT or EX_IOERR (the copy).
 */
int cli_input_spool(struct cli_input *in);

/**
 * Reads the header block ahead (at most 1 MiB; it is sent all the same)
 * and tells what it holds (*h points into the input: valid until
 * cli_input_close()). Returns 0 or EX_NOINPUT / EX_OSERR (reported).
 */
int cli_input_scan_headers(struct cli_input *in, struct cli_headers *h);

/**
 * Forgets the bytes read ahead when the input is a regular file, and goes
 * back to where it started (so the library reads the file itself: an exact
 * SIZE= and BODY=). The headers found are forgotten too. Returns 0, or
 * EX_NOINPUT (reported).
 */
int cli_input_rewind(struct cli_input *in);

/** Sets the bytes sent before the message (takes a malloc'd copy). Returns 0 or EX_OSERR. */
int cli_input_set_prefix(struct cli_input *in, const char *p, size_t len);

/** The source to give the library: a callback over the prefix, the bytes ahead and fd. */
void cli_input_source(struct cli_input *in, smtpc_source *src);

/** "standard input" or the path, for messages. */
const char *cli_input_name(const struct cli_input *in);

void cli_input_close(struct cli_input *in);

#endif /* SMTPC_CLI_INPUT_H */
